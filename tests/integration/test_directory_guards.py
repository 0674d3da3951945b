"""What the directory's keepers cannot do to it, however they try: leave the area without an
administrator, or keep handing on a role its giver no longer holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.vocabulary import Role
from hub.application.directory_admin import AddStaff, ChangeStaff, DelegateRole
from hub.errors import OutOfOrderError
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.factories import TENANT
from tests.integration.test_directory_log import ADMIN, BARNKONTAKT, two  # noqa: F401 - the two processes' fixture

__all__ = ["two"]


def test_the_last_administrator_can_neither_drop_the_role_nor_be_removed(two: tuple[Runtime, Runtime]) -> None:
    first, second = two
    before = len(first.hub.directory_history(ADMIN))

    with pytest.raises(OutOfOrderError, match="last administrator"):
        first.hub.change_staff(ADMIN, "admin.ystad", ChangeStaff(roles=(Role.AUDITOR,), name="Administratör Ystad"))
    idp_admin = ADMIN.__class__(ADMIN.kind, TENANT, "idp.admin", frozenset({Role.TENANT_ADMIN}))  # an IdP's, not the directory's
    with pytest.raises(OutOfOrderError, match="last administrator"):
        first.hub.remove_staff(idp_admin, "admin.ystad")

    assert len(first.hub.directory_history(ADMIN)) == before
    assert Role.TENANT_ADMIN in second.hub.directory.staff(TENANT, "admin.ystad").roles


def test_an_administrator_steps_down_once_another_is_appointed(two: tuple[Runtime, Runtime]) -> None:
    first, _ = two
    first.hub.add_staff(ADMIN, AddStaff(user_id="admin2.ystad", roles=(Role.TENANT_ADMIN,), name="Ny administratör"))

    first.hub.change_staff(ADMIN, "admin.ystad", ChangeStaff(roles=(Role.AUDITOR,), name="Administratör Ystad"))

    assert first.hub.directory.staff(TENANT, "admin.ystad").roles == {Role.AUDITOR}


def test_a_delegation_ends_for_good_when_its_giver_loses_the_role(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, second = two
    today = clock().date()
    first.hub.delegate_role(
        BARNKONTAKT, DelegateRole(to_user_id="larare.ostra", role=Role.TEAM_MEMBER, starts_on=today, ends_on=today + timedelta(days=30))
    )
    rektor = ChangeStaff(unit_id="skola-ostra", roles=(Role.BARNKONTAKT,), name="Rektor Ostra")
    first.hub.change_staff(ADMIN, "rektor.ostra", rektor)

    first.hub.change_staff(ADMIN, "rektor.ostra", rektor.model_copy(update={"roles": (Role.BARNKONTAKT, Role.TEAM_MEMBER)}))

    assert first.hub.directory.roles_on(TENANT, "larare.ostra", today) == {Role.DISCOVERER}
    assert not [d for d in first.hub.directory.tenants[TENANT].delegations if d.to_user_id == "larare.ostra"]


def test_a_delegation_ends_for_good_when_its_receiver_moves_to_another_unit(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, _ = two
    today = clock().date()
    first.hub.delegate_role(
        BARNKONTAKT, DelegateRole(to_user_id="larare.ostra", role=Role.BARNKONTAKT, starts_on=today, ends_on=today + timedelta(days=30))
    )
    larare = ChangeStaff(unit_id="elevhalsa-ostra", roles=(Role.DISCOVERER,), name="Larare Ostra")
    first.hub.change_staff(ADMIN, "larare.ostra", larare)

    first.hub.change_staff(ADMIN, "larare.ostra", larare.model_copy(update={"unit_id": "skola-ostra"}))

    assert first.hub.directory.roles_on(TENANT, "larare.ostra", today) == {Role.DISCOVERER}


def test_a_delegation_cannot_be_backdated_to_days_already_past(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, _ = two
    today = clock().date()
    before = len(first.hub.directory_history(ADMIN))

    with pytest.raises(OutOfOrderError, match="begins today or later"):
        first.hub.delegate_role(
            BARNKONTAKT,
            DelegateRole(to_user_id="larare.ostra", role=Role.BARNKONTAKT, starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=1)),
        )

    assert len(first.hub.directory_history(ADMIN)) == before
    first.hub.delegate_role(BARNKONTAKT, DelegateRole(to_user_id="larare.ostra", role=Role.BARNKONTAKT, starts_on=today, ends_on=today))
    assert Role.BARNKONTAKT in first.hub.directory.roles_on(TENANT, "larare.ostra", today)
