"""The directory's answers: the caller's cooperation area as it is now, what a change
recorded, and its history. The request bodies are the application's commands
(:mod:`hub.application.directory_admin`); every answer refuses unknown fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from contracts.directory import DirectoryFact, Subscription
from contracts.events import Actor
from contracts.vocabulary import Role, UnitKind
from hub.http.schemas import ReadSchema
from hub.identity.directory import Staff, Tenant, Unit


class UnitOut(ReadSchema):
    unit_id: str
    kind: UnitKind
    name: str
    subscription: Subscription = Field(description="What the unit has chosen to be sent, within what consent allows")

    @classmethod
    def of(cls, unit: Unit) -> UnitOut:
        return cls(unit_id=unit.unit_id, kind=unit.kind, name=unit.name, subscription=unit.subscription)


class StaffOut(ReadSchema):
    user_id: str
    unit_id: str | None = Field(description="Null for the area's administrators and auditors, who work at no unit")
    roles: list[Role]
    name: str
    title: str

    @classmethod
    def of(cls, staff: Staff) -> StaffOut:
        return cls(
            user_id=staff.user_id, unit_id=staff.unit_id, roles=sorted(staff.roles, key=lambda r: r.value),
            name=staff.name, title=staff.title,
        )


class DelegationOut(ReadSchema):
    """A role handed by ``from_user_id`` to ``to_user_id`` for the days from ``starts_on`` to ``ends_on``."""

    delegation_id: UUID
    from_user_id: str
    to_user_id: str
    role: Role
    starts_on: date
    ends_on: date

    @classmethod
    def of(cls, d: Any) -> DelegationOut:
        """``d``: a delegation of :attr:`Tenant.delegations`."""
        return cls(
            delegation_id=d.delegation_id, from_user_id=d.from_user_id, to_user_id=d.to_user_id, role=d.role,
            starts_on=d.starts_on, ends_on=d.ends_on,
        )


class DirectoryOut(ReadSchema):
    """The caller's cooperation area now: its open units, its staff, and the delegations not
    revoked and not yet over."""

    tenant_id: str
    name: str
    units: list[UnitOut]
    staff: list[StaffOut]
    delegations: list[DelegationOut]

    @classmethod
    def of(cls, tenant: Tenant, today: date) -> DirectoryOut:
        return cls(
            tenant_id=tenant.tenant_id,
            name=tenant.name,
            units=[UnitOut.of(u) for u in sorted(tenant.units.values(), key=lambda u: u.unit_id)],
            staff=[StaffOut.of(s) for s in sorted(tenant.staff.values(), key=lambda s: s.user_id)],
            delegations=[DelegationOut.of(d) for d in tenant.delegations if d.ends_on >= today],
        )


class DirectoryChanged(ReadSchema):
    """The change was recorded: the id and type of its fact on the directory's log."""

    event_id: UUID
    type: str = Field(description="The fact's type, e.g. UnitAdded or StaffRemoved")


class DelegationCreated(DirectoryChanged):
    delegation_id: UUID


HISTORY_ENVELOPE = frozenset({"schema_version", "event_id", "tenant_id", "occurred_at", "actor"})


class HistoryEntry(ReadSchema):
    """One change of the directory: what (``type`` and ``change``), who (``actor``) and when."""

    event_id: UUID
    type: str
    occurred_at: datetime
    actor: Actor
    change: dict[str, Any] = Field(description="The fact's own fields (the unit, the staff member, the roles...)")

    @classmethod
    def of(cls, fact: DirectoryFact) -> HistoryEntry:
        return cls(
            event_id=fact.event_id, type=type(fact).__name__, occurred_at=fact.occurred_at, actor=fact.actor,
            change={k: v for k, v in fact.model_dump(mode="json").items() if k not in HISTORY_ENVELOPE},
        )


__all__ = ["DelegationCreated", "DelegationOut", "DirectoryChanged", "DirectoryOut", "HistoryEntry", "StaffOut", "UnitOut"]
