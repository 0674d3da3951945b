"""The family's reads grouped by month and unit: the family's own reads out, the newest
month first, the unit that read most first, narrowed by principal and days in Swedish time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from contracts.vocabulary import Category, LegalBasis, Principal, Role
from hub.application.access_groups import group_reads
from hub.application.readmodels import FamilyAccessEntry

PRINCIPALS = {"forskola": Principal.MUNICIPALITY, "bvc": Principal.REGION, "polis": Principal.POLICE}
_position = iter(range(1, 10_000))


def read(at: datetime, unit: str | None = "forskola", role: Role = Role.TEAM_MEMBER, *categories: Category) -> FamilyAccessEntry:
    return FamilyAccessEntry(
        event_id=uuid4(), position=next(_position), accessed_at=at, unit_id=unit, unit_name=unit and unit.title(),
        role=role, staff_name=None, purpose="", categories=list(categories or (Category.PLAN,)),
        bases=[LegalBasis.CONSENT], view="unit_view",
    )


def test_a_units_reads_in_a_month_are_one_group_and_the_newest_month_comes_first() -> None:
    reads = [read(datetime(2026, 3, d, 9, tzinfo=UTC)) for d in (2, 3, 4)] + [read(datetime(2026, 4, 1, 9, tzinfo=UTC), "bvc")]
    months = group_reads(reads, PRINCIPALS)
    assert [m.month for m in months] == [date(2026, 4, 1), date(2026, 3, 1)]
    assert [(u.unit_id, len(u.reads)) for u in months[1].units] == [("forskola", 3)]
    assert months[1].count == 3 and months[0].units[0].principal is Principal.REGION


def test_the_familys_own_reads_are_left_out() -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    reads = [read(at, None, Role.GUARDIAN), read(at, None, Role.CHILD), read(at)]
    assert [len(u.reads) for m in group_reads(reads, PRINCIPALS) for u in m.units] == [1]


def test_the_month_is_the_swedish_one_a_read_at_half_past_midnight_on_the_first_belongs_to_the_new_month() -> None:
    late = read(datetime(2026, 3, 31, 22, 30, tzinfo=UTC))  # 00.30 on 1 April in Sweden (CEST)
    assert group_reads([late], PRINCIPALS)[0].month == date(2026, 4, 1)


def test_the_unit_that_read_most_comes_first_and_its_categories_are_listed_once() -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    reads = [read(at, "bvc"), read(at, "polis", Role.TEAM_MEMBER, Category.POLICE), read(at, "polis", Role.TEAM_MEMBER, Category.POLICE, Category.PLAN)]
    units = group_reads(reads, PRINCIPALS)[0].units
    assert [u.unit_id for u in units] == ["polis", "bvc"]
    assert set(units[0].categories) == {Category.POLICE, Category.PLAN} and len(units[0].categories) == 2


def test_a_principal_and_days_narrow_the_list() -> None:
    reads = [read(datetime(2026, 3, 2, 9, tzinfo=UTC), "polis"), read(datetime(2026, 3, 9, 9, tzinfo=UTC), "forskola")]
    police = group_reads(reads, PRINCIPALS, principal=Principal.POLICE)
    assert [u.unit_id for m in police for u in m.units] == ["polis"]
    later = group_reads(reads, PRINCIPALS, since=date(2026, 3, 3), until=date(2026, 3, 9))
    assert [u.unit_id for m in later for u in m.units] == ["forskola"]
    assert group_reads(reads, PRINCIPALS, until=date(2026, 3, 1)) == []
