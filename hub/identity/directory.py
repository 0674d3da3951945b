"""The cooperation areas the hub serves: tenants, their units and their staff, as they are now.

A :class:`Directory` is one moment's snapshot of the directory's facts (kept on a log of their
own, :mod:`hub.application.directory_log`); ``directory.json`` (the format of
:meth:`Directory.from_json`) is only brought in once, as the first facts. Staff identifiers
are pseudonymous user ids; the names shown here are staff's, not children's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from consent.disclosure import DisclosureRule
from contracts.directory import FigureDisclosure
from consent.retention import RetentionPeriods, tenant_periods
from contracts.directory import Subscription
from hub.domain.directory import Delegation
from contracts.vocabulary import UNIT_KIND_PRINCIPAL, Principal, Role, UnitKind

from hub.errors import InvalidInputError, UnknownStaffError, UnknownUnitError


@dataclass(frozen=True)
class Unit:
    unit_id: str
    tenant_id: str
    kind: UnitKind
    name: str
    subscription: Subscription = Subscription()
    """What the unit has chosen to be sent (within what consent lets it see)."""

    @property
    def principal(self) -> Principal:
        return UNIT_KIND_PRINCIPAL[self.kind]


@dataclass(frozen=True)
class Staff:
    user_id: str
    tenant_id: str
    unit_id: str | None
    roles: frozenset[Role]
    name: str
    title: str = ""


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    name: str
    units: dict[str, Unit] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)
    retention: RetentionPeriods = RetentionPeriods()
    """The area's own retention periods over the defaults (``"retention"`` in its entry)."""
    disclosure: DisclosureRule = DisclosureRule()
    """How the area's figures are published (``"disclosure"`` in its entry: ``threshold``,
    ``rounding``); the default hides counts 1-2 and rounds nothing."""
    former_units: dict[str, Unit] = field(default_factory=dict)
    """Closed units, still named where old facts mention them."""
    former_staff: dict[str, Staff] = field(default_factory=dict)
    """Staff who left, still named in the access log and old records."""
    delegations: tuple[Delegation, ...] = ()
    """Delegations not revoked (some may be over or not begun: see :meth:`Directory.roles_on`)."""

    def name_of_staff(self, user_id: str) -> str:
        found = self.staff.get(user_id) or self.former_staff.get(user_id)
        return found.name if found else ""

    def name_of_unit(self, unit_id: str) -> str:
        found = self.units.get(unit_id) or self.former_units.get(unit_id)
        return found.name if found else ""


def _once(value: Any, seen: set[Any], where: str) -> None:
    if value in seen:
        raise InvalidInputError(f"{where}: the id is given twice in the file", field=where)
    seen.add(value)


@dataclass(frozen=True)
class Directory:
    tenants: dict[str, Tenant] = field(default_factory=dict)

    def unit(self, tenant_id: str, unit_id: str, field: str = "unit_id") -> Unit:
        tenant = self.tenants.get(tenant_id)
        if tenant is None or unit_id not in tenant.units:
            raise UnknownUnitError(unit_id, field)
        return tenant.units[unit_id]

    def staff(self, tenant_id: str, user_id: str, field: str = "staff_id") -> Staff:
        tenant = self.tenants.get(tenant_id)
        if tenant is None or user_id not in tenant.staff:
            raise UnknownStaffError(user_id, field)
        return tenant.staff[user_id]

    def roles_on(self, tenant_id: str, user_id: str, day: date) -> frozenset[Role]:
        """A present staff member's roles on ``day``: their own and those delegated to them
        for that day by a colleague who still holds the role. Nobody else has any."""
        tenant = self.tenants.get(tenant_id)
        staff = tenant.staff.get(user_id) if tenant else None
        if tenant is None or staff is None:
            return frozenset()
        delegated = {
            d.role
            for d in tenant.delegations
            if d.to_user_id == user_id
            and d.in_force(day)
            and d.from_user_id in tenant.staff
            and d.role in tenant.staff[d.from_user_id].roles
            and tenant.staff[d.from_user_id].unit_id == staff.unit_id
        }
        return staff.roles | delegated

    def units_of_kind(self, tenant_id: str, kind: UnitKind) -> list[Unit]:
        tenant = self.tenants.get(tenant_id)
        return [u for u in tenant.units.values() if u.kind is kind] if tenant else []

    def to_json(self) -> dict[str, Any]:
        return {
            "tenants": [
                {
                    "tenant_id": t.tenant_id,
                    "name": t.name,
                    "units": [
                        {
                            "unit_id": u.unit_id,
                            "kind": u.kind.value,
                            "name": u.name,
                            **({"subscription": u.subscription.model_dump(mode="json")} if u.subscription != Subscription() else {}),
                        }
                        for u in t.units.values()
                    ],
                    "staff": [
                        {
                            "user_id": s.user_id,
                            "unit_id": s.unit_id,
                            "roles": sorted(r.value for r in s.roles),
                            "name": s.name,
                            "title": s.title,
                        }
                        for s in t.staff.values()
                    ],
                    **(
                        {
                            "retention": [
                                {"unit_kind": k.value, **({"category": c.value} if c else {}), "days": d}
                                for k, c, d in t.retention.overrides
                            ]
                        }
                        if t.retention.overrides
                        else {}
                    ),
                    **(
                        {"disclosure": {"threshold": t.disclosure.threshold, "rounding": t.disclosure.rounding}}
                        if t.disclosure != DisclosureRule()
                        else {}
                    ),
                }
                for t in self.tenants.values()
            ]
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Directory:
        """The file's areas; an id given twice is refused (naming where, never whom), as one
        of the two would otherwise be dropped without a word."""
        tenants: dict[str, Tenant] = {}
        areas: set[str] = set()
        for i, t in enumerate(data.get("tenants", [])):
            _once(t["tenant_id"], areas, f"tenants[{i}].tenant_id")
            for key, kind in (("unit_id", "units"), ("user_id", "staff")):
                seen: set[str] = set()
                for j, entry in enumerate(t[kind]):
                    _once(entry[key], seen, f"tenants[{i}].{kind}[{j}].{key}")
            tid = t["tenant_id"]
            units = {
                u["unit_id"]: Unit(
                    u["unit_id"], tid, UnitKind(u["kind"]), u["name"], Subscription.model_validate(u.get("subscription") or {})
                )
                for u in t["units"]
            }
            staff = {}
            for s in t["staff"]:
                if s.get("unit_id") is not None and s["unit_id"] not in units:
                    raise UnknownUnitError(s["unit_id"])
                staff[s["user_id"]] = Staff(
                    s["user_id"], tid, s.get("unit_id"), frozenset(Role(r) for r in s["roles"]), s["name"], s.get("title", "")
                )
            tenants[tid] = Tenant(
                tid, t["name"], units, staff, tenant_periods(t.get("retention", [])), disclosure_rule(t.get("disclosure"))
            )
        return cls(tenants)

    @classmethod
    def load(cls, path: Path) -> Directory:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")


def disclosure_rule(entry: Any) -> DisclosureRule:
    """An area's ``"disclosure"`` entry (or fact) as the rule; none is the default rule. A
    wrong entry is refused as the contract refuses it, naming the field."""
    if entry is None:
        return DisclosureRule()
    found = FigureDisclosure.model_validate(entry if isinstance(entry, dict) else entry.model_dump())
    return DisclosureRule(threshold=found.threshold, rounding=found.rounding)
