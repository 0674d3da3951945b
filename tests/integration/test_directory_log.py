"""The directory as facts on its own log: brought in once from ``directory.json``, changed by
the area's administrator, followed by every process of the hub, and read by sign-in, where a
staff issuer that maps no roles takes a person's unit and roles from it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consent import ViewerKind
from contracts.directory import Cadence, StaffAdded, UnitAdded
from contracts.upcasting import SchemaVersionError
from contracts.vocabulary import Role, UnitKind
from hub.application.directory_admin import AddStaff, AddUnit, ChangeStaff, ChooseSubscription, DelegateRole, RenameUnit
from hub.errors import ConflictError, NotAuthenticatedError, NotPermittedError, OutOfOrderError, UnknownUnitError
from hub.identity.directory import Directory
from hub.identity.principals import Principal
from hub.identity.tokens import ClaimMapping, TrustedIssuer
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import postgres_url
from tests.factories import TENANT, directory

ISSUER = "https://idp.ystad.example"
AUDIENCE = "backa-hub"
KEY = Ed25519PrivateKey.generate()
ADMIN = Principal(ViewerKind.STAFF, TENANT, "admin.ystad", frozenset({Role.TENANT_ADMIN}))
BARNKONTAKT = Principal(ViewerKind.STAFF, TENANT, "rektor.ostra", frozenset({Role.BARNKONTAKT, Role.TEAM_MEMBER}), unit_id="skola-ostra")


def idp(roles_from: str = "directory") -> TrustedIssuer:
    """The area's staff IdP: says who signs in; the directory says as what, unless it maps roles."""
    return TrustedIssuer(ISSUER, AUDIENCE, (KEY.public_key(),), ("EdDSA",), "staff", ClaimMapping(roles_from=roles_from))  # type: ignore[arg-type]


def signed_in(clock: SettableClock, user: str, **claims: Any) -> str:
    now = int(clock().timestamp())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": user, "tenant": TENANT, "iat": now, "exp": now + 600, **claims}
    return jwt.encode(body, KEY, algorithm="EdDSA")


def settings_for(store: str, tmp_path: Path, request: pytest.FixtureRequest, **more: Any) -> Settings:
    url = postgres_url(request.getfixturevalue("pg_schema")) if store == "postgres" else None
    return Settings(store=store, database_url=url, data_dir=tmp_path / "data", demo_mode=True, **more)


@pytest.fixture(params=["sqlite", "postgres"])
def two(request: pytest.FixtureRequest, tmp_path: Path, clock: SettableClock) -> Iterator[tuple[Runtime, Runtime]]:
    """Two processes of one hub on one store (poll of the directory: a tenth of a second)."""
    settings = settings_for(request.param, tmp_path, request, directory_poll_seconds=0.1)
    first = bootstrap(settings, clock=clock, directory=directory(), extra_issuers=[idp()])
    second = bootstrap(settings, clock=clock, directory=directory(), extra_issuers=[idp()])
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def eventually(check: Any, seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except (AssertionError, NotAuthenticatedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_a_unit_and_a_person_added_in_one_process_sign_in_at_once_in_another(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, second = two
    first.hub.add_unit(ADMIN, AddUnit(unit_id="skola-norra", kind=UnitKind.SCHOOL, name="Norra skolan"))
    first.hub.add_staff(
        ADMIN, AddStaff(user_id="rektor.norra", unit_id="skola-norra", roles=(Role.BARNKONTAKT,), name="Rektor Norra")
    )

    person = second.verifier.verify(signed_in(clock, "rektor.norra"))  # no waiting: the other process looks again

    assert (person.unit_id, person.roles) == ("skola-norra", frozenset({Role.BARNKONTAKT}))
    assert second.hub.directory.unit(TENANT, "skola-norra").name == "Norra skolan"


def test_the_token_cannot_claim_other_roles_or_another_unit_when_the_directory_gives_them(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, _ = two
    forged = signed_in(clock, "larare.ostra", roles=["tenant_admin"], unit="soc-ystad")

    person = first.verifier.verify(forged)

    assert (person.unit_id, person.roles) == ("skola-ostra", frozenset({Role.DISCOVERER}))


def test_someone_the_directory_does_not_know_is_not_signed_in(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, _ = two
    with pytest.raises(NotAuthenticatedError, match="not in the cooperation area's directory"):
        first.verifier.verify(signed_in(clock, "okand.person", roles=["barnkontakt"], unit="skola-ostra"))


def test_a_person_removed_in_one_process_is_refused_in_another_within_the_poll(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, second = two
    token = signed_in(clock, "larare.ostra")
    assert second.verifier.authenticate(token).principal.user_id == "larare.ostra"  # and remembered

    first.hub.remove_staff(ADMIN, "larare.ostra")

    def refused() -> None:
        try:
            second.verifier.authenticate(token)
        except NotAuthenticatedError:
            return
        raise AssertionError("still signed in")

    eventually(refused)
    assert second.verifier.recall(token) is None


def test_new_roles_take_effect_on_a_remembered_token(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, second = two
    token = signed_in(clock, "larare.ostra")
    assert second.verifier.authenticate(token).principal.roles == {Role.DISCOVERER}

    first.hub.change_staff(
        ADMIN, "larare.ostra", ChangeStaff(unit_id="skola-ostra", roles=(Role.DISCOVERER, Role.BARNKONTAKT), name="Lärare Östra")
    )

    eventually(lambda: _assert_equal(second.verifier.authenticate(token).principal.roles, {Role.DISCOVERER, Role.BARNKONTAKT}))


def _assert_equal(got: Any, want: Any) -> None:
    assert got == want


def test_a_delegated_role_is_held_on_the_days_of_the_delegation_only(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, second = two
    today = clock().date()
    first.hub.delegate_role(
        BARNKONTAKT,
        DelegateRole(to_user_id="larare.ostra", role=Role.BARNKONTAKT, starts_on=today + timedelta(days=1), ends_on=today + timedelta(days=2)),
    )
    assert second.verifier.verify(signed_in(clock, "larare.ostra")).roles == {Role.DISCOVERER}

    clock.advance(timedelta(days=1))
    eventually(lambda: _assert_equal(second.verifier.verify(signed_in(clock, "larare.ostra")).roles, {Role.DISCOVERER, Role.BARNKONTAKT}))

    clock.advance(timedelta(days=2))
    assert second.verifier.verify(signed_in(clock, "larare.ostra")).roles == {Role.DISCOVERER}


def test_a_delegation_goes_to_a_colleague_at_the_same_unit_only(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, _ = two
    today = clock().date()
    with pytest.raises(NotPermittedError):
        first.hub.delegate_role(
            BARNKONTAKT, DelegateRole(to_user_id="kurator.ostra", role=Role.BARNKONTAKT, starts_on=today, ends_on=today)
        )


def test_only_the_areas_administrator_changes_the_directory_and_a_refusal_appends_nothing(two: tuple[Runtime, Runtime]) -> None:
    first, _ = two
    before = len(first.hub.directory_history(ADMIN))

    with pytest.raises(NotPermittedError):
        first.hub.add_unit(BARNKONTAKT, AddUnit(unit_id="egen-enhet", kind=UnitKind.SCHOOL, name="Egen"))
    with pytest.raises(NotPermittedError):
        first.hub.add_staff(BARNKONTAKT, AddStaff(user_id="ny", unit_id="skola-ostra", roles=(Role.TENANT_ADMIN,), name="Ny"))

    assert len(first.hub.directory_history(ADMIN)) == before


def test_the_directory_refuses_what_it_cannot_hold_and_appends_nothing(two: tuple[Runtime, Runtime]) -> None:
    first, _ = two
    before = len(first.hub.directory_history(ADMIN))

    with pytest.raises(ConflictError):
        first.hub.add_unit(ADMIN, AddUnit(unit_id="skola-ostra", kind=UnitKind.SCHOOL, name="Dubblett"))
    with pytest.raises(OutOfOrderError):
        first.hub.close_unit(ADMIN, "skola-ostra")  # staff still work there
    with pytest.raises(UnknownUnitError):
        first.hub.add_staff(ADMIN, AddStaff(user_id="ny.person", unit_id="finns-inte", roles=(Role.DISCOVERER,), name="Ny"))
    with pytest.raises(UnknownUnitError):
        first.hub.rename_unit(ADMIN, "finns-inte", RenameUnit(name="Ingen"))

    assert len(first.hub.directory_history(ADMIN)) == before


def test_every_change_is_in_the_history_with_who_made_it_and_when(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, second = two
    first.hub.add_unit(ADMIN, AddUnit(unit_id="fritids-norra", kind=UnitKind.YOUTH_CENTRE, name="Fritids"))

    last = second.hub.directory_history(ADMIN)[-1]

    assert isinstance(last, UnitAdded)
    assert (last.actor.user_id, last.occurred_at) == ("admin.ystad", clock())
    assert isinstance(second.hub.directory_history(ADMIN)[1], UnitAdded | StaffAdded)  # the import came first


def test_a_closed_unit_is_let_in_nowhere_and_still_named_in_old_records(two: tuple[Runtime, Runtime], clock: SettableClock) -> None:
    first, second = two
    first.hub.add_unit(ADMIN, AddUnit(unit_id="skola-vast", kind=UnitKind.SCHOOL, name="Västra skolan"))
    first.hub.close_unit(ADMIN, "skola-vast")

    eventually(lambda: _assert_equal(set(second.hub.directory.tenants[TENANT].former_units), {"skola-vast"}))
    assert "skola-vast" not in second.hub.directory.tenants[TENANT].units
    assert second.hub.directory.tenants[TENANT].name_of_unit("skola-vast") == "Västra skolan"
    with pytest.raises(UnknownUnitError):
        first.hub.add_staff(ADMIN, AddStaff(user_id="ny.vast", unit_id="skola-vast", roles=(Role.DISCOVERER,), name="Ny"))


def test_a_units_subscription_is_a_fact_every_process_reads(two: tuple[Runtime, Runtime]) -> None:
    first, second = two
    first.hub.choose_subscription(
        ADMIN, "soc-ystad", ChooseSubscription(event_types=("PlanUpdated",), cadence=Cadence.DAILY, digest_hour=8)
    )

    def chosen() -> None:
        unit = second.hub.directory.unit(TENANT, "soc-ystad")
        assert (unit.subscription.event_types, unit.subscription.cadence, unit.subscription.digest_hour) == (("PlanUpdated",), Cadence.DAILY, 8)

    eventually(chosen)


def test_directory_json_is_brought_in_once_and_the_log_wins_after(tmp_path: Path, clock: SettableClock, request: pytest.FixtureRequest) -> None:
    settings = settings_for("sqlite", tmp_path, request)
    first = bootstrap(settings, clock=clock, directory=directory())
    first.hub.add_unit(ADMIN, AddUnit(unit_id="skola-norra", kind=UnitKind.SCHOOL, name="Norra skolan"))
    first.close()
    changed = directory().to_json()
    changed["tenants"][0]["units"][0]["name"] = "Ett annat namn"  # an edited file, copied later

    again = bootstrap(settings, clock=clock, directory=Directory.from_json(changed))
    try:
        units = again.hub.directory.tenants[TENANT].units
        assert "skola-norra" in units and len(units) == len(directory().tenants[TENANT].units) + 1
        assert "Ett annat namn" not in {u.name for u in units.values()}
        assert sum(isinstance(f, UnitAdded) and f.unit_id == "skola-ostra" for f in again.hub.directory_history(ADMIN)) == 1
    finally:
        again.close()


def test_a_poll_setting_decides_how_soon_a_removal_elsewhere_is_seen(tmp_path: Path, clock: SettableClock, request: pytest.FixtureRequest) -> None:
    quick = settings_for("sqlite", tmp_path, request, directory_poll_seconds=0.05)
    slow = quick.model_copy(update={"directory_poll_seconds": 60})
    writer = bootstrap(quick, clock=clock, directory=directory())
    watchers = [bootstrap(s, clock=clock, directory=directory()) for s in (quick, slow)]
    try:
        writer.hub.remove_staff(ADMIN, "larare.ostra")
        time.sleep(0.5)
        seen = ["larare.ostra" not in w.hub.directory.tenants[TENANT].staff for w in watchers]
    finally:
        for rt in (*watchers, writer):
            rt.close()
    assert seen == [True, False]


def test_an_issuer_that_maps_roles_keeps_them_from_claims_but_a_removed_person_stays_out(tmp_path: Path, clock: SettableClock, request: pytest.FixtureRequest) -> None:
    rt = bootstrap(settings_for("sqlite", tmp_path, request), clock=clock, directory=directory(), extra_issuers=[idp("claims")])
    try:
        person = rt.verifier.verify(signed_in(clock, "extern.person", roles=["discoverer"], unit="skola-ostra"))
        assert person.roles == {Role.DISCOVERER}  # the IdP's word, as configured
        rt.hub.remove_staff(ADMIN, "larare.ostra")
        with pytest.raises(NotAuthenticatedError, match="removed"):
            rt.verifier.verify(signed_in(clock, "larare.ostra", roles=["discoverer"], unit="skola-ostra"))
    finally:
        rt.close()


def test_a_directory_fact_of_a_later_release_stops_the_directory_before_it_and_nothing_breaks(
    tmp_path: Path, clock: SettableClock, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    from uuid import uuid4

    from contracts.directory import StaffRemoved
    from hub.application.directory_log import LiveDirectory, import_actor
    from hub.domain.directory import Area, area_id, fact_to_json

    rt = bootstrap(settings_for("sqlite", tmp_path, request), clock=clock, directory=directory(), extra_issuers=[idp()])
    try:
        live = rt.hub.directory
        assert isinstance(live, LiveDirectory)
        area = live.area(TENANT)
        assert area is not None
        later = Area.Noted(  # type: ignore[call-arg]
            originator_id=area_id(TENANT), originator_version=area.version + 1, timestamp=clock(),
            fact={"type": "StaffSuspended", "schema_version": 1, "user_id": "larare.ostra"},
        )
        removal = StaffRemoved(event_id=uuid4(), tenant_id=TENANT, occurred_at=clock(), actor=import_actor(), user_id="rektor.ostra")
        after = Area.Noted(  # type: ignore[call-arg]
            originator_id=area_id(TENANT), originator_version=area.version + 2, timestamp=clock(), fact=fact_to_json(removal)
        )
        live.log.save(later, after)
        with pytest.raises(SchemaVersionError):  # a change is refused, as an unreadable fact, not decided on half a directory
            rt.hub.remove_staff(ADMIN, "rektor.ostra")

        live.refresh()

        assert "cannot be read by this release" in caplog.text and "larare" not in caplog.text
        assert "rektor.ostra" in live.tenants[TENANT].staff  # stopped before, not beyond
        assert rt.verifier.verify(signed_in(clock, "larare.ostra")).roles == {Role.DISCOVERER}
    finally:
        rt.close()


def test_an_open_session_ends_once_its_person_is_removed_and_follows_new_roles_until_then(
    two: tuple[Runtime, Runtime], clock: SettableClock
) -> None:
    from hub.identity.sessions import SessionEndedError

    first, second = two
    assert second.sessions is not None
    person = second.verifier.verify(signed_in(clock, "larare.ostra"))
    session_id, _ = second.sessions.start(person, ISSUER)

    first.hub.change_staff(
        ADMIN, "larare.ostra", ChangeStaff(unit_id="skola-ostra", roles=(Role.DISCOVERER, Role.BARNKONTAKT), name="Lärare Östra")
    )
    eventually(lambda: _assert_equal(second.sessions.resume(session_id).principal.roles, {Role.DISCOVERER, Role.BARNKONTAKT}))  # type: ignore[union-attr]

    first.hub.remove_staff(ADMIN, "larare.ostra")

    def ended() -> None:
        try:
            second.sessions.resume(session_id)  # type: ignore[union-attr]
        except SessionEndedError:
            return
        raise AssertionError("the session still lets the removed person in")

    eventually(ended)


def test_a_path_id_the_directory_could_never_hold_is_a_problem_naming_it_not_an_error(two: tuple[Runtime, Runtime]) -> None:
    from hub.errors import InvalidInputError

    first, _ = two
    with pytest.raises((InvalidInputError, UnknownUnitError)) as refused:
        first.hub.rename_unit(ADMIN, "no such/unit\n", RenameUnit(name="X"))
    assert refused.value.field == "unit_id"
    with pytest.raises(InvalidInputError) as removed:
        first.hub.remove_staff(ADMIN, "bad id with spaces")
    assert removed.value.field == "user_id"


def test_a_member_of_staff_with_a_units_role_is_added_at_a_unit() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="held at a unit"):
        AddStaff(user_id="ny.bk", roles=(Role.BARNKONTAKT,), name="Ny Barnkontakt")
    assert AddStaff(user_id="ny.granskare", roles=(Role.AUDITOR,), name="Ny granskare").unit_id is None
