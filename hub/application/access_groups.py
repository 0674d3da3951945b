"""The family's "who has seen" list, grouped as a person reads it: per month, per unit.

A year of a child's support is thousands of reads; the family wants to know which
agencies looked and how often, and only then the single reads. So the reads are grouped
by month (in Swedish time) and by the unit that read, each unit with its principal
(huvudman: the municipality, the region or the police) so the list can be narrowed to one.
The family's own reads (a guardian or the child looking at their own pages) are left out:
they are no news to the family, and they would fill the list.

Pure: the entries the core let the family see, the units' principals and the filters in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from contracts.vocabulary import SWEDISH_TIME, Category, Principal, Role
from hub.application.readmodels import FamilyAccessEntry

FAMILY_ROLES = frozenset({Role.GUARDIAN, Role.CHILD})
"""Reads made by the family itself, left out of the list."""


@dataclass(frozen=True)
class UnitReads:
    """One unit's reads of the child in one month, newest first."""

    unit_id: str | None
    unit_name: str | None
    principal: Principal | None
    reads: tuple[FamilyAccessEntry, ...]

    @property
    def categories(self) -> tuple[Category, ...]:
        """What the unit saw in the month, each category once, in the vocabulary's order."""
        seen = {c for r in self.reads for c in r.categories}
        return tuple(c for c in Category if c in seen)


@dataclass(frozen=True)
class MonthReads:
    """The first day of a month (Swedish time) and the units that read the child in it."""

    month: date
    units: tuple[UnitReads, ...]

    @property
    def count(self) -> int:
        return sum(len(u.reads) for u in self.units)


def local_day(entry: FamilyAccessEntry) -> date:
    return entry.accessed_at.astimezone(SWEDISH_TIME).date()


def group_reads(
    entries: Iterable[FamilyAccessEntry],
    principals: Mapping[str, Principal],
    *,
    principal: Principal | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[MonthReads]:
    """The staff's reads, newest month first; in a month, the unit that read most first.

    ``principal`` keeps one principal's units; ``since`` and ``until`` keep the days from
    the first to the last, both included, in Swedish time.
    """
    months: dict[date, dict[str | None, list[FamilyAccessEntry]]] = defaultdict(lambda: defaultdict(list))
    names: dict[str | None, str | None] = {}
    for e in entries:
        if e.role in FAMILY_ROLES:
            continue
        owner = principals.get(e.unit_id) if e.unit_id else None
        if principal is not None and owner is not principal:
            continue
        day = local_day(e)
        if (since is not None and day < since) or (until is not None and day > until):
            continue
        months[day.replace(day=1)][e.unit_id].append(e)
        names[e.unit_id] = e.unit_name or names.get(e.unit_id)
    out = []
    for month in sorted(months, reverse=True):
        units = [
            UnitReads(
                unit_id,
                names.get(unit_id),
                principals.get(unit_id) if unit_id else None,
                tuple(sorted(reads, key=lambda r: (r.accessed_at, r.position), reverse=True)),
            )
            for unit_id, reads in months[month].items()
        ]
        units.sort(key=lambda u: (-len(u.reads), u.unit_name or ""))
        out.append(MonthReads(month, tuple(units)))
    return out


__all__ = ["FAMILY_ROLES", "MonthReads", "UnitReads", "group_reads", "local_day"]
