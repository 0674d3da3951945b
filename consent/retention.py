"""How long a unit may go on seeing what other units shared about a child (gallring).

A period is set per information category and per kind of the unit that looks (the
recipient: what it was given becomes its record under its own law), in days from the last
entry in the child's case, as socialtjänstlagen and patientdatalagen count it. After that,
the policy (:func:`consent.policy.decide`) stops showing the information to every unit but
the one that recorded it, and the relay stops delivering it; the log keeps its place, and
erasure stays the administrator's act. The law behind each default is in docs/retention.md.

The defaults are :data:`DEFAULT_DAYS` and nowhere else; a tenant overrides any of them in
its entry of the directory (``"retention"``), read by :func:`tenant_periods`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts.vocabulary import Category, UnitKind

YEAR = 365
"""A year of days; periods round up a day per leap year they may span."""


def years(n: int) -> int:
    return n * YEAR + (n + 3) // 4


def whole_years(days: int) -> int | None:
    """The period in whole years when it is one (as :func:`years` counts them), else None."""
    n = round(days / 365.25)
    return n if n > 0 and years(n) == days else None


DEFAULT_DAYS: Mapping[UnitKind, int] = {
    UnitKind.SOCIAL_SERVICES: years(5),
    UnitKind.MIDWIFE_CLINIC: years(10),
    UnitKind.BVC: years(10),
    UnitKind.BUP: years(10),
    UnitKind.HAB: years(10),
    UnitKind.FIRST_LINE_PSYCHIATRY: years(10),
    UnitKind.PUPIL_HEALTH: years(5),
    UnitKind.PRESCHOOL: years(2),
    UnitKind.SCHOOL: years(2),
    UnitKind.YOUTH_CENTRE: years(2),
    UnitKind.POLICE: years(1),
}
"""Per kind of the unit that looks, the days it may see another unit's information after
the case's last entry; the same for every category unless a tenant says otherwise.
docs/retention.md names the law behind each; a kind not named here gets the shortest."""

NOT_RETAINED = frozenset({Category.ACCESS_LOG})
"""Categories no period applies to: the access log is the auditors' (PDL 4 kap. 3 §)."""


@dataclass(frozen=True)
class RetentionPeriods:
    """One tenant's periods: its own choices over :data:`DEFAULT_DAYS`."""

    overrides: tuple[tuple[UnitKind, Category | None, int], ...] = ()
    """(unit kind, category or None for every category, days)."""

    def days(self, category: Category, unit_kind: UnitKind | None) -> int | None:
        """Days the unit kind may see ``category`` after the last entry; None: no period."""
        if category in NOT_RETAINED:
            return None
        if unit_kind is None:
            return min(DEFAULT_DAYS.values())
        for kind, cat, days in self.overrides:
            if kind is unit_kind and cat is category:
                return days
        for kind, cat, days in self.overrides:
            if kind is unit_kind and cat is None:
                return days
        return DEFAULT_DAYS.get(unit_kind, min(DEFAULT_DAYS.values()))

    def table(self) -> list[tuple[UnitKind, Category, int, bool]]:
        """Every kind and category with its days and whether the tenant set it."""
        rows: list[tuple[UnitKind, Category, int, bool]] = []
        for kind in UnitKind:
            for category in Category:
                if category in NOT_RETAINED or category is Category.CONSENT:
                    continue
                days = self.days(category, kind)
                if days is not None:
                    rows.append((kind, category, days, days != DEFAULT_DAYS.get(kind, days)))
        return rows


@dataclass(frozen=True)
class Retention:
    """Every tenant's periods; a tenant not named keeps the defaults."""

    tenants: tuple[tuple[str, RetentionPeriods], ...] = ()

    def for_tenant(self, tenant_id: str) -> RetentionPeriods:
        for tid, periods in self.tenants:
            if tid == tenant_id:
                return periods
        return RetentionPeriods()


MAX_DAYS = years(50)
"""The longest period a tenant may set: longer is a typing error, not a choice."""


def tenant_periods(entries: Iterable[Mapping[str, Any]]) -> RetentionPeriods:
    """A tenant's periods from its directory entry: a list of ``{"unit_kind", "days"}``, with
    ``"category"`` to set one category only. Anything else is refused with what is wrong."""
    out = []
    for i, entry in enumerate(entries):
        unknown = set(entry) - {"unit_kind", "category", "days"}
        if unknown:
            raise ValueError(f"retention[{i}]: unknown keys {sorted(unknown)}")
        days = entry.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
            raise ValueError(f"retention[{i}].days: a whole number of days from 1 to {MAX_DAYS}")
        try:
            kind = UnitKind(entry.get("unit_kind"))
            category = Category(entry["category"]) if entry.get("category") is not None else None
        except ValueError as e:
            raise ValueError(f"retention[{i}]: {e}") from None
        if category in NOT_RETAINED:
            raise ValueError(f"retention[{i}].category: no period applies to {category.value}")
        out.append((kind, category, days))
    return RetentionPeriods(tuple(out))
