"""The cooperation areas the hub serves: tenants, their units and their staff.

The directory is configuration, read when the hub is built (a JSON file in the data
folder, written by an administrator or by ``backa demo``). Staff identifiers are
pseudonymous user ids; the names shown here are staff's, not children's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consent.retention import RetentionPeriods, tenant_periods
from contracts.directory import Subscription
from contracts.vocabulary import UNIT_KIND_PRINCIPAL, Principal, Role, UnitKind

from hub.errors import UnknownStaffError, UnknownUnitError


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
                        {"unit_id": u.unit_id, "kind": u.kind.value, "name": u.name} for u in t.units.values()
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
                }
                for t in self.tenants.values()
            ]
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Directory:
        tenants: dict[str, Tenant] = {}
        for t in data.get("tenants", []):
            tid = t["tenant_id"]
            units = {u["unit_id"]: Unit(u["unit_id"], tid, UnitKind(u["kind"]), u["name"]) for u in t["units"]}
            staff = {}
            for s in t["staff"]:
                if s.get("unit_id") is not None and s["unit_id"] not in units:
                    raise UnknownUnitError(s["unit_id"])
                staff[s["user_id"]] = Staff(
                    s["user_id"], tid, s.get("unit_id"), frozenset(Role(r) for r in s["roles"]), s["name"], s.get("title", "")
                )
            tenants[tid] = Tenant(tid, t["name"], units, staff, tenant_periods(t.get("retention", [])))
        return cls(tenants)

    @classmethod
    def load(cls, path: Path) -> Directory:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
