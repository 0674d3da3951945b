"""Samverkansområdet (the cooperation area) as the directory keeps it: one aggregate per area,
holding its units, its staff and their roles, delegations and each unit's subscription.

Verb methods check what the directory allows (``check_*``), then append a past-tense fact
from :mod:`contracts.directory`. Who may call a verb is :mod:`consent.permissions`'s, asked
by the application. A closed unit and a removed staff member stay known by name, so the
access log and old records still say who did what; they only stop counting as present.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from contracts.directory import (
    AreaOpened,
    DelegationGranted,
    DelegationRevoked,
    DirectoryFact,
    StaffAdded,
    StaffChanged,
    StaffRemoved,
    Subscription,
    SubscriptionChosen,
    UnitAdded,
    UnitClosed,
    UnitRenamed,
    UnsuppressedFiguresViewed,
)
from contracts.upcasting import UnknownSchemaVersionError
from contracts.vocabulary import Role, UnitKind
from hub.errors import ConflictError, OutOfOrderError, UnknownStaffError, UnknownUnitError

AREA_NAMESPACE = UUID("6f1d4c57-3f55-4a8e-9b8e-2d0a4d1c9a01")
FACT_TYPES: dict[str, type[DirectoryFact]] = {
    cls.__name__: cls
    for cls in (
        AreaOpened,
        UnitAdded,
        UnitRenamed,
        UnitClosed,
        StaffAdded,
        StaffChanged,
        StaffRemoved,
        DelegationGranted,
        DelegationRevoked,
        SubscriptionChosen,
        UnsuppressedFiguresViewed,
    )
}


def area_id(tenant_id: str) -> UUID:
    """The area's stream id: one stream per tenant, found by its id alone."""
    return uuid5(AREA_NAMESPACE, tenant_id)


@dataclass(frozen=True)
class UnitEntry:
    unit_id: str
    kind: UnitKind
    name: str
    closed: bool = False
    subscription: Subscription = Subscription()


@dataclass(frozen=True)
class StaffEntry:
    user_id: str
    unit_id: str | None
    roles: frozenset[Role]
    name: str
    title: str = ""
    removed: bool = False


@dataclass(frozen=True)
class Delegation:
    delegation_id: UUID
    from_user_id: str
    to_user_id: str
    role: Role
    starts_on: date
    ends_on: date
    revoked: bool = False

    def in_force(self, day: date) -> bool:
        return not self.revoked and self.starts_on <= day <= self.ends_on


@dataclass
class AreaState:
    """What the area's facts add up to; the same whether built by a command or a reader."""

    tenant_id: str = ""
    name: str = ""
    retention: tuple[Any, ...] = ()
    disclosure: Any = None
    units: dict[str, UnitEntry] = field(default_factory=dict)
    staff: dict[str, StaffEntry] = field(default_factory=dict)
    delegations: dict[UUID, Delegation] = field(default_factory=dict)

    def apply(self, fact: DirectoryFact) -> None:  # noqa: C901 - one branch per fact type
        if isinstance(fact, AreaOpened):
            self.tenant_id, self.name, self.retention = fact.tenant_id, fact.name, fact.retention
            self.disclosure = fact.disclosure
        elif isinstance(fact, UnitAdded):
            self.units[fact.unit_id] = UnitEntry(fact.unit_id, fact.kind, fact.name)
        elif isinstance(fact, UnitRenamed):
            self.units[fact.unit_id] = replace(self.units[fact.unit_id], name=fact.name)
        elif isinstance(fact, UnitClosed):
            self.units[fact.unit_id] = replace(self.units[fact.unit_id], closed=True)
        elif isinstance(fact, SubscriptionChosen):
            self.units[fact.unit_id] = replace(self.units[fact.unit_id], subscription=fact.subscription)
        elif isinstance(fact, StaffAdded):  # and StaffChanged, its subclass
            self.staff[fact.user_id] = StaffEntry(fact.user_id, fact.unit_id, frozenset(fact.roles), fact.name, fact.title)
            if isinstance(fact, StaffChanged):
                self._end_delegations_outgrown(self.staff[fact.user_id])
        elif isinstance(fact, StaffRemoved):
            self.staff[fact.user_id] = replace(self.staff[fact.user_id], removed=True)
            for d in self.delegations.values():
                if fact.user_id in (d.from_user_id, d.to_user_id):
                    self.delegations[d.delegation_id] = replace(d, revoked=True)
        elif isinstance(fact, DelegationGranted):
            self.delegations[fact.delegation_id] = Delegation(
                fact.delegation_id, fact.from_user_id, fact.to_user_id, fact.role, fact.starts_on, fact.ends_on
            )
        elif isinstance(fact, DelegationRevoked):
            self.delegations[fact.delegation_id] = replace(self.delegations[fact.delegation_id], revoked=True)


    def _end_delegations_outgrown(self, now: StaffEntry) -> None:
        """A delegation ends for good when its giver no longer holds the role or either person
        moves to another unit: it would otherwise come back to life, unasked, if the role or
        the unit came back, and nobody could revoke it meanwhile (the giver no longer holds
        what was handed on)."""
        for d in list(self.delegations.values()):
            if d.revoked or now.user_id not in (d.from_user_id, d.to_user_id):
                continue
            giver, taker = self.staff.get(d.from_user_id), self.staff.get(d.to_user_id)
            if giver is None or taker is None or d.role not in giver.roles or giver.unit_id != taker.unit_id:
                self.delegations[d.delegation_id] = replace(d, revoked=True)

    def administrators(self, *, changed: str | None = None, to: frozenset[Role] | None = None) -> set[str]:
        """The area's present administrators; with ``changed``, as they would be were that
        person's roles ``to`` (None: were they removed)."""
        out = {s.user_id for s in self.staff.values() if not s.removed and Role.TENANT_ADMIN in s.roles}
        if changed is not None:
            out.discard(changed)
            if to is not None and Role.TENANT_ADMIN in to:
                out.add(changed)
        return out


def fact_from_json(data: dict[str, Any]) -> DirectoryFact:
    """A stored fact read back: its type from the ``type`` key, validated as written. A type
    or version this release does not know (a later release's) fails closed, naming the type
    and version only."""
    name = data.get("type")
    kind = FACT_TYPES.get(name) if isinstance(name, str) else None
    version = data.get("schema_version")
    if kind is None or version != 1:
        shown = name if isinstance(name, str) and name.isidentifier() else "?"
        raise UnknownSchemaVersionError(
            f"a directory fact {shown} of version {version!r} cannot be read by this release",
            type_name=f"backa.v1.directory.{shown}", version=version, current=1,
        )
    return kind.model_validate({k: v for k, v in data.items() if k != "type"})


def fact_to_json(fact: DirectoryFact) -> dict[str, Any]:
    return {"type": type(fact).__name__, **fact.model_dump(mode="json")}


class Area(Aggregate):
    """Samverkansområde: one cooperation area's directory."""

    @staticmethod
    def create_id(tenant_id: str) -> UUID:
        return area_id(tenant_id)

    @event("Opened")
    def __init__(self, tenant_id: str, fact: dict[str, Any]) -> None:
        self.state = AreaState()
        self.state.apply(fact_from_json(fact))

    @event("Noted")
    def _note(self, fact: dict[str, Any]) -> None:
        self.state.apply(fact_from_json(fact))

    def record(self, fact: DirectoryFact) -> None:
        """A fact that changes nothing in the area but is kept in its log (a view of the
        unsuppressed figures)."""
        self._note(fact_to_json(fact))

    @classmethod
    def open(cls, fact: AreaOpened) -> Area:
        return cls(tenant_id=fact.tenant_id, fact=fact_to_json(fact))

    # -- guards -------------------------------------------------------------------------

    def check_unit_free(self, unit_id: str) -> None:
        if unit_id in self.state.units:
            raise ConflictError(f"the unit id {unit_id!r} is already used in this cooperation area", field="unit_id")

    def check_open_unit(self, unit_id: str | None, field: str = "unit_id") -> None:
        if unit_id is None:
            return
        unit = self.state.units.get(unit_id)
        if unit is None or unit.closed:
            raise UnknownUnitError(unit_id, field)

    def check_staff_free(self, user_id: str) -> None:
        if user_id in self.state.staff:
            raise ConflictError("the user id is already used in this cooperation area", field="user_id")

    def check_present(self, user_id: str, field: str = "user_id") -> StaffEntry:
        staff = self.state.staff.get(user_id)
        if staff is None or staff.removed:
            raise UnknownStaffError(user_id, field)
        return staff

    def check_keeps_an_administrator(self, user_id: str, roles: frozenset[Role] | None, field: str = "roles") -> None:
        """An area that has an administrator keeps one: the last one is neither removed nor
        stripped of the role until another is appointed, or nobody could keep the directory
        (appoint staff, remove a person who left) any more. ``roles``: the person's roles
        after the change, None when removed."""
        if self.state.administrators() and not self.state.administrators(changed=user_id, to=roles):
            raise OutOfOrderError("the area's last administrator stays until another is appointed", field=field)

    def check_unit_empty(self, unit_id: str) -> None:
        if any(s.unit_id == unit_id and not s.removed for s in self.state.staff.values()):
            raise OutOfOrderError("the unit still has staff: move or remove them first", field="unit_id")

    def check_delegable(self, fact: DelegationGranted) -> None:
        giver = self.check_present(fact.from_user_id, "from_user_id")
        taker = self.check_present(fact.to_user_id, "to_user_id")
        if giver.user_id == taker.user_id:
            raise OutOfOrderError("a role is delegated to someone else", field="to_user_id")

    def check_period(self, fact: DelegationGranted, today: date) -> None:
        """A delegation begins today or later: a role held in the past cannot be given now,
        and a backdated one would tell the auditors that someone held a role they never had."""
        if fact.starts_on < today:
            raise OutOfOrderError("starts_on: a delegation begins today or later", field="starts_on")

    # -- verbs --------------------------------------------------------------------------

    def add_unit(self, fact: UnitAdded) -> None:
        self.check_unit_free(fact.unit_id)
        self._note(fact_to_json(fact))

    def rename_unit(self, fact: UnitRenamed) -> None:
        self.check_open_unit(fact.unit_id)
        self._note(fact_to_json(fact))

    def close_unit(self, fact: UnitClosed) -> None:
        self.check_open_unit(fact.unit_id)
        self.check_unit_empty(fact.unit_id)
        self._note(fact_to_json(fact))

    def choose_subscription(self, fact: SubscriptionChosen) -> None:
        self.check_open_unit(fact.unit_id)
        self._note(fact_to_json(fact))

    def add_staff(self, fact: StaffAdded) -> None:
        self.check_staff_free(fact.user_id)
        self.check_open_unit(fact.unit_id)
        self._note(fact_to_json(fact))

    def change_staff(self, fact: StaffChanged) -> None:
        self.check_present(fact.user_id)
        self.check_keeps_an_administrator(fact.user_id, frozenset(fact.roles))
        self.check_open_unit(fact.unit_id)
        self._note(fact_to_json(fact))

    def remove_staff(self, fact: StaffRemoved) -> None:
        self.check_present(fact.user_id)
        self.check_keeps_an_administrator(fact.user_id, None, "user_id")
        self._note(fact_to_json(fact))

    def delegate(self, fact: DelegationGranted, today: date) -> None:
        self.check_period(fact, today)
        self.check_delegable(fact)
        self._note(fact_to_json(fact))

    def revoke_delegation(self, fact: DelegationRevoked) -> Delegation:
        found = self.state.delegations.get(fact.delegation_id)
        if found is None or found.revoked:
            raise OutOfOrderError("no delegation in force by that id", field="delegation_id")
        self._note(fact_to_json(fact))
        return found

    def delegation(self, delegation_id: UUID) -> Delegation | None:
        return self.state.delegations.get(delegation_id)
