"""Keeping the directory: the cooperation area's administrator adds and changes units and
staff, sets what each unit is sent, and any staff member hands a role to a colleague for a
period. Each change is a fact on the directory's log (:mod:`hub.application.directory_log`),
in the name of whoever made it, so the auditors can trace who gave whom which access.

Who may is :mod:`consent.permissions`'s (:data:`~consent.permissions.Action.MANAGE_DIRECTORY`,
``DELEGATE_ROLE``, ``READ_DIRECTORY_HISTORY``); what the directory allows (an id used once,
a unit closed only when empty, a role delegated only by its holder at the same unit) is the
:class:`~hub.domain.directory.Area` aggregate's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from consent.permissions import Action, StaffRef, Target
from contracts.bounds import Day
from contracts.directory import (
    IDENTIFIER,
    NAME,
    TITLE,
    USER_ID,
    Cadence,
    Categories,
    DelegationGranted,
    DelegationRevoked,
    DeliveryFormat,
    DigestHour,
    DirectoryFact,
    EventTypes,
    StaffAdded,
    StaffChanged,
    StaffRemoved,
    Subscription,
    SubscriptionChosen,
    UnitAdded,
    UnitClosed,
    UnitRenamed,
    staff_roles,
)
from contracts.vocabulary import SWEDISH_TIME, Role, UnitKind
from hub.application.commands import Command
from hub.application.core import HubCore, _invalid, traced
from hub.application.directory_log import LiveDirectory
from hub.domain.directory import Area
from hub.errors import ConflictError, InvalidInputError, UnknownStaffError
from hub.identity.directory import Tenant
from hub.identity.principals import Principal

Identifier = str
NameText = str


class AddUnit(Command):
    unit_id: Identifier = Field(pattern=IDENTIFIER, max_length=100)
    kind: UnitKind
    name: NameText = Field(min_length=1, max_length=200, pattern=NAME)


class RenameUnit(Command):
    name: NameText = Field(min_length=1, max_length=200, pattern=NAME)


class ChooseSubscription(Command):
    """What a unit is sent: event types and categories (null: all the policy allows), how often."""

    event_types: EventTypes = None
    categories: Categories = None
    cadence: Cadence = Cadence.IMMEDIATE
    digest_hour: DigestHour = 7
    format: DeliveryFormat = DeliveryFormat.BACKA


class StaffFields(Command):
    unit_id: Identifier | None = Field(default=None, pattern=IDENTIFIER, max_length=100)
    roles: tuple[Role, ...] = Field(min_length=1, max_length=8)
    name: NameText = Field(min_length=1, max_length=200, pattern=NAME)
    title: str = Field(default="", max_length=200, pattern=TITLE)

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: tuple[Role, ...], info: ValidationInfo) -> tuple[Role, ...]:
        """A discoverer, Barnkontakt, coordinator or team member acts for a unit, so has one;
        only the administrator and auditors work for the area as a whole."""
        roles = staff_roles(value)
        if "unit_id" in info.data and info.data["unit_id"] is None and set(roles) - AREA_ROLES:
            raise ValueError("a unit's role is held at a unit: give the unit_id")
        return roles


AREA_ROLES = frozenset({Role.TENANT_ADMIN, Role.AUDITOR})
"""The roles held for the whole area rather than at a unit."""


class AddStaff(StaffFields):
    user_id: Identifier = Field(pattern=USER_ID, max_length=100)


class ChangeStaff(StaffFields):
    """The staff member's unit, roles, name and title as they are to be from now on."""


class DelegateRole(Command):
    """Hand ``role`` to a colleague for a period; ``from_user_id`` defaults to the caller."""

    to_user_id: Identifier = Field(pattern=USER_ID, max_length=100)
    role: Role
    starts_on: Day
    ends_on: Day
    from_user_id: Identifier | None = Field(default=None, pattern=USER_ID, max_length=100)


MAX_DELEGATION_DAYS = 366
"""A delegation covers an absence, not a new appointment: a longer one is a change of roles."""


@dataclass(frozen=True)
class DirectoryChange:
    """A change just recorded: its fact's id and type."""

    event_id: UUID
    type: str


class DirectoryKeeping(HubCore):
    """The directory's commands and reads."""

    def _live(self) -> LiveDirectory:
        if not isinstance(self.directory, LiveDirectory):
            raise InvalidInputError("this hub's directory is fixed and cannot be changed")
        return self.directory

    def _fact_envelope(self, p: Principal) -> dict[str, Any]:
        return {"event_id": uuid4(), "tenant_id": p.tenant_id, "occurred_at": self.now(), "actor": self._actor(p)}

    def _change(
        self,
        p: Principal,
        action: Action,
        make: Callable[[], DirectoryFact],
        verb: Callable[[Area, Any], Any],
        target: Target | None = None,
    ) -> DirectoryChange:
        """Ask the policy, then let the area decide on the log's latest state; a change another
        process made meanwhile makes it decide once more on the new state."""
        live = self._live()
        self._permit(p, action, target=target or Target(tenant_id=p.tenant_id))
        for attempt in range(2):
            area = live.area(p.tenant_id)
            if area is None:
                raise InvalidInputError("this cooperation area has no directory yet")
            try:
                fact = make()  # ids from the path are checked here, as the facts' contract says
            except ValidationError as e:
                raise _invalid(e) from None
            verb(area, fact)
            try:
                live.append(area)
            except ConflictError:
                if attempt:
                    raise
                continue
            return DirectoryChange(fact.event_id, type(fact).__name__)
        raise ConflictError("the directory changed meanwhile; try again")  # pragma: no cover - the loop returns or raises

    # -- units --------------------------------------------------------------------------------

    @traced("command")
    def add_unit(self, p: Principal, command: AddUnit) -> DirectoryChange:
        return self._change(
            p, Action.MANAGE_DIRECTORY,
            lambda: UnitAdded(**self._fact_envelope(p), **command.values()),
            Area.add_unit,
        )

    @traced("command")
    def rename_unit(self, p: Principal, unit_id: str, command: RenameUnit) -> DirectoryChange:
        return self._change(
            p, Action.MANAGE_DIRECTORY,
            lambda: UnitRenamed(**self._fact_envelope(p), unit_id=unit_id, name=command.name),
            Area.rename_unit,
        )

    @traced("command")
    def close_unit(self, p: Principal, unit_id: str) -> DirectoryChange:
        return self._change(
            p, Action.MANAGE_DIRECTORY, lambda: UnitClosed(**self._fact_envelope(p), unit_id=unit_id), Area.close_unit
        )

    @traced("command")
    def choose_subscription(self, p: Principal, unit_id: str, command: ChooseSubscription) -> DirectoryChange:
        return self._change(
            p, Action.MANAGE_DIRECTORY,
            lambda: SubscriptionChosen(**self._fact_envelope(p), unit_id=unit_id, subscription=Subscription(**command.values())),
            Area.choose_subscription,
        )

    # -- staff ---------------------------------------------------------------------------------

    @traced("command")
    def add_staff(self, p: Principal, command: AddStaff) -> DirectoryChange:
        return self._change(
            p, Action.MANAGE_DIRECTORY, lambda: StaffAdded(**self._fact_envelope(p), **command.values()), Area.add_staff
        )

    @traced("command")
    def change_staff(self, p: Principal, user_id: str, command: ChangeStaff) -> DirectoryChange:
        return self._change(
            p, Action.MANAGE_DIRECTORY,
            lambda: StaffChanged(**self._fact_envelope(p), user_id=user_id, **command.values()),
            Area.change_staff,
        )

    @traced("command")
    def remove_staff(self, p: Principal, user_id: str) -> DirectoryChange:
        if user_id == p.user_id:
            raise InvalidInputError("administrators do not remove themselves; another administrator does", field="user_id")
        return self._change(
            p, Action.MANAGE_DIRECTORY, lambda: StaffRemoved(**self._fact_envelope(p), user_id=user_id), Area.remove_staff
        )

    # -- delegations ---------------------------------------------------------------------------

    def _staff_ref(self, p: Principal, user_id: str, field: str) -> StaffRef:
        tenant = self._live().tenants.get(p.tenant_id)
        staff = tenant.staff.get(user_id) if tenant else None
        if staff is None:
            raise UnknownStaffError(user_id, field)
        return StaffRef(staff.user_id, staff.unit_id, staff.roles)

    @traced("command")
    def delegate_role(self, p: Principal, command: DelegateRole) -> DirectoryChange:
        today = self.now().date()
        if command.ends_on < command.starts_on:
            raise InvalidInputError("ends_on: comes before starts_on", field="ends_on")
        if command.ends_on < today:
            raise InvalidInputError("ends_on: the period is already over", field="ends_on")
        if (command.ends_on - command.starts_on).days >= MAX_DELEGATION_DAYS:
            raise InvalidInputError(f"ends_on: a delegation lasts at most {MAX_DELEGATION_DAYS} days", field="ends_on")
        giver_id = command.from_user_id or p.user_id
        target = Target(
            tenant_id=p.tenant_id,
            staff=self._staff_ref(p, giver_id, "from_user_id"),
            other_staff=self._staff_ref(p, command.to_user_id, "to_user_id"),
            role=command.role,
        )
        return self._change(
            p, Action.DELEGATE_ROLE,
            lambda: DelegationGranted(
                **self._fact_envelope(p), delegation_id=uuid4(), from_user_id=giver_id, to_user_id=command.to_user_id,
                role=command.role, starts_on=command.starts_on, ends_on=command.ends_on,
            ),
            lambda area, fact: area.delegate(fact, self.now().astimezone(SWEDISH_TIME).date()),
            target,
        )

    @traced("command")
    def revoke_delegation(self, p: Principal, delegation_id: UUID) -> DirectoryChange:
        area = self._live().area(p.tenant_id)
        found = area.delegation(delegation_id) if area is not None else None
        if found is None or found.revoked:
            raise InvalidInputError("no delegation in force by that id", field="delegation_id")
        tenant = self._live().tenants.get(p.tenant_id)
        giver = tenant.staff.get(found.from_user_id) if tenant else None
        target = Target(
            tenant_id=p.tenant_id,
            staff=StaffRef(found.from_user_id, giver.unit_id if giver else None, giver.roles if giver else frozenset()),
            other_staff=StaffRef(found.to_user_id, giver.unit_id if giver else None, frozenset()),
            role=found.role,
        )
        return self._change(
            p, Action.DELEGATE_ROLE,
            lambda: DelegationRevoked(**self._fact_envelope(p), delegation_id=delegation_id),
            Area.revoke_delegation,
            target,
        )

    # -- reads -----------------------------------------------------------------------------------

    def directory_of(self, p: Principal) -> Tenant:
        """The caller's own area as it is now: every staff member and auditor of it sees who
        works where (the pages name colleagues); nobody sees another area's."""
        self._permit(p, Action.READ_DIRECTORY, target=Target(tenant_id=p.tenant_id))
        tenant = self.directory.tenants.get(p.tenant_id)
        if tenant is None:
            raise InvalidInputError("this cooperation area has no directory yet")
        return tenant

    @traced("read")
    def directory_history(self, p: Principal, *, since: date | None = None) -> list[DirectoryFact]:
        """Every change of the caller's area, oldest first (the administrator's and the auditors')."""
        self._permit(p, Action.READ_DIRECTORY_HISTORY, target=Target(tenant_id=p.tenant_id))
        facts = self._live().history(p.tenant_id)
        return [f for f in facts if since is None or f.occurred_at.date() >= since]


__all__ = [
    "AddStaff",
    "AddUnit",
    "ChangeStaff",
    "ChooseSubscription",
    "DelegateRole",
    "DirectoryChange",
    "DirectoryKeeping",
    "RenameUnit",
]
