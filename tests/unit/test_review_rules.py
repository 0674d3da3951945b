"""The loggkontroll rules: named cases, every time given, nothing read from a clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID, uuid4

import pytest

from adapters.deliveries import LogEntry, UnitRecipient, plan_deliveries
from consent import ChildFacts, PolicyRules
from contracts.events import AccessReviewed, Actor
from contracts.vocabulary import Category, LegalBasis, ReviewOutcome, Role, UnitKind
from hub.application.review_rules import (
    BarnkontaktChange,
    ReviewFacts,
    ReviewRules,
    RuleCode,
    TeamChange,
    Withdrawal,
    draw_sample,
    flag,
)
from projections.accesslog import AccessEntry

CHILD = UUID("00000000-0000-4000-8000-000000000001")
MONDAY_NOON = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # 12:00 in Sweden (CET)
NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
UNITS = {"skola": UnitKind.SCHOOL, "elevhalsa": UnitKind.PUPIL_HEALTH, "bup": UnitKind.BUP}

_positions = iter(range(1, 1_000_000))


def read(
    at: datetime = MONDAY_NOON,
    *,
    unit: str | None = "skola",
    accessor: str = "rektor",
    role: Role = Role.BARNKONTAKT,
    bases: tuple[LegalBasis, ...] = (LegalBasis.OWN_RECORD,),
    allowed: bool = True,
    view: str = "unit_view",
    child: UUID = CHILD,
) -> AccessEntry:
    return AccessEntry(
        position=next(_positions),
        event_id=uuid4(),
        tenant_id="ystad",
        child_id=child,
        accessed_at=at,
        accessor_id=accessor,
        accessor_unit_id=unit,
        accessor_role=role,
        view=view,
        purpose="test",
        categories=(Category.NEEDS,) if allowed else (),
        bases=bases if allowed else (),
        denied_categories=() if allowed else (Category.NEEDS,),
        withheld_from_guardians=False,
    )


def rules_of(entries: list[AccessEntry], facts: ReviewFacts | None = None, rules: ReviewRules | None = None, at: datetime = NOW) -> list[set[RuleCode]]:
    found = {f.entry.position: {x.rule for x in f.flags} for f in flag(entries, {CHILD: facts or ReviewFacts(CHILD)}, UNITS, rules or ReviewRules(), at)}
    return [found.get(e.position, set()) for e in entries]


# -- outside_team_or_consent ----------------------------------------------------------

TEAM = ReviewFacts(CHILD, team_changes=(TeamChange(MONDAY_NOON - timedelta(days=1), frozenset({"elevhalsa"})),))

OUTSIDE_TEAM_CASES = {
    "consent read by a unit outside the team": (read(unit="bup", accessor="bup", role=Role.TEAM_MEMBER, bases=(LegalBasis.CONSENT,)), TEAM, True),
    "consent read by a team member": (read(unit="elevhalsa", accessor="kurator", bases=(LegalBasis.CONSENT,)), TEAM, False),
    "own record": (read(bases=(LegalBasis.OWN_RECORD,)), TEAM, False),
    "sent to the unit": (read(bases=(LegalBasis.SENT_TO_UNIT,)), TEAM, False),
    "consent and own record": (read(bases=(LegalBasis.CONSENT, LegalBasis.OWN_RECORD)), TEAM, False),
    "denied attempt": (read(unit="bup", bases=(), allowed=False), TEAM, False),
    "consent read before the unit joined the team": (
        read(MONDAY_NOON - timedelta(days=2), unit="elevhalsa", bases=(LegalBasis.CONSENT,)), TEAM, True
    ),
    "consent read by the coordinator's unit": (
        read(unit="bup", bases=(LegalBasis.CONSENT,)),
        ReviewFacts(CHILD, team_changes=(*TEAM.team_changes, TeamChange(MONDAY_NOON - timedelta(hours=1), frozenset({"bup"}), replaces=False))),
        False,
    ),
}


@pytest.mark.parametrize(("entry", "facts", "flagged"), OUTSIDE_TEAM_CASES.values(), ids=OUTSIDE_TEAM_CASES.keys())
def test_outside_team_or_consent(entry: AccessEntry, facts: ReviewFacts, flagged: bool) -> None:
    assert (RuleCode.OUTSIDE_TEAM_OR_CONSENT in rules_of([entry], facts)[0]) is flagged


# -- after_withdrawal_attempt -----------------------------------------------------------

WITHDRAWN = MONDAY_NOON - timedelta(hours=1)
BY_ID = ReviewFacts(CHILD, withdrawals=(Withdrawal(uuid4(), WITHDRAWN, frozenset({"elevhalsa"})),))
BY_KIND = ReviewFacts(CHILD, withdrawals=(Withdrawal(uuid4(), WITHDRAWN, recipient_unit_kinds=frozenset({UnitKind.BUP})),))

WITHDRAWAL_CASES = {
    "allowed read after withdrawal by a named unit": (read(unit="elevhalsa", bases=(LegalBasis.SENT_TO_UNIT,)), BY_ID, NOW, True),
    "denied attempt after withdrawal by a named unit": (read(unit="elevhalsa", allowed=False), BY_ID, NOW, True),
    "read before the withdrawal": (read(WITHDRAWN - timedelta(minutes=1), unit="elevhalsa"), BY_ID, NOW, False),
    "read by a unit the consent did not name": (read(unit="skola"), BY_ID, NOW, False),
    "read by a unit of a named kind": (read(unit="bup", allowed=False), BY_KIND, NOW, True),
    "withdrawal not yet known at the review": (read(unit="elevhalsa"), BY_ID, WITHDRAWN - timedelta(hours=1), False),
    "read without a unit": (read(unit=None, role=Role.TENANT_ADMIN), BY_ID, NOW, False),
}


@pytest.mark.parametrize(("entry", "facts", "at", "flagged"), WITHDRAWAL_CASES.values(), ids=WITHDRAWAL_CASES.keys())
def test_after_withdrawal_attempt(entry: AccessEntry, facts: ReviewFacts, at: datetime, flagged: bool) -> None:
    assert (RuleCode.AFTER_WITHDRAWAL_ATTEMPT in rules_of([entry], facts, at=at)[0]) is flagged


# -- sent_to_unit_outside_case ----------------------------------------------------------
# The self-granted access of issue 10, case 2: a unit sends a card about a child to itself
# and reads the child's identity on the sent_to_unit basis. Such reads by a unit outside
# the case (not the Barnkontakt's unit, not in the team) are flagged; the case's own units
# reading on that basis are not.

BEFORE = MONDAY_NOON - timedelta(days=1)
AT_SCHOOL = ReviewFacts(CHILD, barnkontakt_changes=(BarnkontaktChange(BEFORE, "skola"),))
HANDED_TO_BUP = ReviewFacts(
    CHILD, barnkontakt_changes=(BarnkontaktChange(MONDAY_NOON - timedelta(hours=1), "bup"), BarnkontaktChange(BEFORE, "skola"))
)
SCHOOL_AND_TEAM = ReviewFacts(
    CHILD,
    team_changes=(TeamChange(BEFORE, frozenset({"elevhalsa"})),),
    barnkontakt_changes=(BarnkontaktChange(BEFORE, "skola"),),
)
SENT = (LegalBasis.SENT_TO_UNIT,)

SENT_TO_UNIT_CASES = {
    "the Barnkontakt's unit reads what was sent to it": (read(bases=SENT), AT_SCHOOL, False),
    "a unit outside the case reads on what it sent itself": (read(unit="bup", accessor="bup", bases=SENT), AT_SCHOOL, True),
    "a unit outside the case reads its own record and what was sent to it": (
        read(unit="bup", accessor="bup", bases=(LegalBasis.OWN_RECORD, LegalBasis.SENT_TO_UNIT)), AT_SCHOOL, True
    ),
    "a unit outside the case reads its own record only": (read(unit="bup", accessor="bup", bases=(LegalBasis.OWN_RECORD,)), AT_SCHOOL, False),
    "a unit outside the case is refused": (read(unit="bup", accessor="bup", allowed=False), AT_SCHOOL, False),
    "a team unit reads on sent_to_unit": (read(unit="elevhalsa", accessor="kurator", bases=SENT), SCHOOL_AND_TEAM, False),
    "the team unit read before it joined the team": (
        read(BEFORE - timedelta(hours=1), unit="elevhalsa", accessor="kurator", bases=SENT), SCHOOL_AND_TEAM, True
    ),
    "the coordinator's unit reads on sent_to_unit": (
        read(unit="bup", accessor="bup", bases=SENT),
        ReviewFacts(CHILD, team_changes=(TeamChange(BEFORE, frozenset({"bup"}), replaces=False),), barnkontakt_changes=AT_SCHOOL.barnkontakt_changes),
        False,
    ),
    "the Barnkontakt's unit read before the role was assigned there": (
        read(BEFORE - timedelta(minutes=1), bases=SENT), AT_SCHOOL, True
    ),
    "the old Barnkontakt unit reads after handing the role over": (read(bases=SENT), HANDED_TO_BUP, True),
    "the new Barnkontakt unit reads after the handover": (read(unit="bup", accessor="bup", bases=SENT), HANDED_TO_BUP, False),
    "a child with no Barnkontakt and no team": (read(bases=SENT), ReviewFacts(CHILD), True),
    "a read without a unit": (read(unit=None, role=Role.TENANT_ADMIN, bases=SENT), ReviewFacts(CHILD), False),
}


@pytest.mark.parametrize(("entry", "facts", "flagged"), SENT_TO_UNIT_CASES.values(), ids=SENT_TO_UNIT_CASES.keys())
def test_sent_to_unit_outside_case(entry: AccessEntry, facts: ReviewFacts, flagged: bool) -> None:
    assert (RuleCode.SENT_TO_UNIT_OUTSIDE_CASE in rules_of([entry], facts)[0]) is flagged


def test_a_read_on_sent_to_unit_of_a_child_the_review_has_no_facts_for_is_flagged() -> None:
    entry = read(unit="bup", accessor="bup", bases=SENT)
    flagged = flag([entry], {}, UNITS, ReviewRules(enabled=frozenset({RuleCode.SENT_TO_UNIT_OUTSIDE_CASE})), NOW)
    assert [(f.entry.position, [x.rule for x in f.flags]) for f in flagged] == [(entry.position, [RuleCode.SENT_TO_UNIT_OUTSIDE_CASE])]
    assert "neither the child's Barnkontakt unit nor in its team" in flagged[0].flags[0].detail


def test_the_barnkontakt_at_a_moment_is_the_last_assignment_or_handover_before_it() -> None:
    assert HANDED_TO_BUP.barnkontakt_at(BEFORE - timedelta(seconds=1)) is None
    assert HANDED_TO_BUP.barnkontakt_at(BEFORE) == "skola"
    assert HANDED_TO_BUP.barnkontakt_at(MONDAY_NOON - timedelta(hours=1, seconds=1)) == "skola"
    assert HANDED_TO_BUP.barnkontakt_at(MONDAY_NOON) == "bup"


# -- unusual_hours ----------------------------------------------------------------------

HOURS_CASES = {
    "weekday noon": (datetime(2026, 3, 2, 11, 0, tzinfo=UTC), ReviewRules(), False),
    "22:00 in Sweden in winter (21:00 UTC)": (datetime(2026, 3, 2, 21, 0, tzinfo=UTC), ReviewRules(), True),
    "21:59 in Sweden": (datetime(2026, 3, 2, 20, 59, tzinfo=UTC), ReviewRules(), False),
    "05:59 in Sweden": (datetime(2026, 3, 3, 4, 59, tzinfo=UTC), ReviewRules(), True),
    "06:00 in Sweden": (datetime(2026, 3, 3, 5, 0, tzinfo=UTC), ReviewRules(), False),
    "22:30 in Sweden in summer (20:30 UTC)": (datetime(2026, 6, 15, 20, 30, tzinfo=UTC), ReviewRules(), True),
    "Saturday noon": (datetime(2026, 3, 7, 11, 0, tzinfo=UTC), ReviewRules(), True),
    "Sunday 00:30 in Sweden, Saturday in UTC": (datetime(2026, 3, 7, 23, 30, tzinfo=UTC), ReviewRules(weekend_days=frozenset()), True),
    "Saturday noon when weekends are not flagged": (datetime(2026, 3, 7, 11, 0, tzinfo=UTC), ReviewRules(weekend_days=frozenset()), False),
    "20:30 with the night from 20:00": (datetime(2026, 3, 2, 19, 30, tzinfo=UTC), ReviewRules(night_starts=time(20, 0)), True),
    "a family's read at night": (None, ReviewRules(), False),
}


@pytest.mark.parametrize(("at", "rules", "flagged"), HOURS_CASES.values(), ids=HOURS_CASES.keys())
def test_unusual_hours(at: datetime | None, rules: ReviewRules, flagged: bool) -> None:
    entry = read(at) if at else read(datetime(2026, 3, 2, 23, 0, tzinfo=UTC), unit=None, accessor="vh", role=Role.GUARDIAN, bases=(LegalBasis.CUSTODY,))
    assert (RuleCode.UNUSUAL_HOURS in rules_of([entry], rules=rules)[0]) is flagged


# -- burst ------------------------------------------------------------------------------


def reads_every(seconds: int, count: int, accessor: str = "rektor") -> list[AccessEntry]:
    return [read(MONDAY_NOON + timedelta(seconds=seconds * n), accessor=accessor) for n in range(count)]


BURST_CASES = {
    "20 reads in ten minutes": (reads_every(30, 20), ReviewRules(), 0),
    "21 reads in ten minutes": (reads_every(29, 21), ReviewRules(), 21),
    "21 reads over exactly ten minutes": (reads_every(30, 21), ReviewRules(), 0),
    "21 reads by two accessors": (reads_every(10, 11) + reads_every(10, 10, accessor="kurator"), ReviewRules(), 0),
    "4 reads in a minute with a limit of 3": (reads_every(15, 4), ReviewRules(burst_reads=3, burst_window=timedelta(minutes=1)), 4),
    "a slow reader with one quick run": (
        reads_every(600, 3) + [read(MONDAY_NOON + timedelta(hours=2, seconds=n)) for n in range(3)],
        ReviewRules(burst_reads=2, burst_window=timedelta(minutes=1)),
        3,
    ),
}


@pytest.mark.parametrize(("entries", "rules", "flagged"), BURST_CASES.values(), ids=BURST_CASES.keys())
def test_burst(entries: list[AccessEntry], rules: ReviewRules, flagged: int) -> None:
    assert sum(RuleCode.BURST in found for found in rules_of(entries, rules=rules)) == flagged


def case_list_opened(at: datetime, children: int = 20, accessor: str = "rektor") -> list[AccessEntry]:
    """What opening the case list records: one read per child shown, all at one instant."""
    return [read(at, accessor=accessor, view="case_list", child=uuid4()) for _ in range(children)]


def test_opening_the_case_list_with_twenty_children_flags_nobody() -> None:
    assert not any(RuleCode.BURST in found for found in rules_of(case_list_opened(MONDAY_NOON, children=25)))


def test_a_case_list_opened_twice_and_a_few_reads_are_no_burst() -> None:
    entries = case_list_opened(MONDAY_NOON) + case_list_opened(MONDAY_NOON + timedelta(minutes=2)) + reads_every(20, 5)
    assert not any(RuleCode.BURST in found for found in rules_of(entries))


def test_opening_the_case_list_over_and_over_is_a_burst_and_flags_every_read_of_those_looks() -> None:
    entries = [e for n in range(21) for e in case_list_opened(MONDAY_NOON + timedelta(seconds=20 * n), children=3)]
    assert sum(RuleCode.BURST in found for found in rules_of(entries)) == 63


# -- the rule set -----------------------------------------------------------------------


def test_a_read_flagged_by_several_rules_names_each_and_an_empty_rule_set_flags_nothing() -> None:
    night_after_withdrawal = read(datetime(2026, 3, 2, 23, 0, tzinfo=UTC), unit="elevhalsa", bases=(LegalBasis.CONSENT,))
    assert rules_of([night_after_withdrawal], BY_ID)[0] == {
        RuleCode.OUTSIDE_TEAM_OR_CONSENT, RuleCode.AFTER_WITHDRAWAL_ATTEMPT, RuleCode.UNUSUAL_HOURS
    }
    assert rules_of([night_after_withdrawal], BY_ID, ReviewRules(enabled=frozenset({RuleCode.UNUSUAL_HOURS})))[0] == {RuleCode.UNUSUAL_HOURS}
    assert flag([night_after_withdrawal], {CHILD: BY_ID}, UNITS, ReviewRules(enabled=frozenset()), NOW) == []


def test_the_flags_come_in_log_order_with_their_details() -> None:
    entries = [read(datetime(2026, 3, 7, 11, 0, tzinfo=UTC)), read(), read(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))]
    flagged = flag(list(reversed(entries)), {}, UNITS, ReviewRules(), NOW)
    assert [f.entry.position for f in flagged] == [entries[0].position, entries[2].position]
    assert [f.flags[0].detail for f in flagged] == ["read on a Saturday", "read at 00:00 Swedish time"]


# -- samples ----------------------------------------------------------------------------

SAMPLE_CASES = {
    "same seed, same sample": (list(range(1, 101)), 10, 42, draw_sample(list(range(1, 101)), 10, 42)),
    "order of the positions does not matter": (list(range(100, 0, -1)), 10, 42, draw_sample(list(range(1, 101)), 10, 42)),
    "more asked than there are": ([3, 5, 9], 10, 1, [3, 5, 9]),
    "nothing to draw from": ([], 5, 1, []),
}


@pytest.mark.parametrize(("positions", "size", "seed", "expected"), SAMPLE_CASES.values(), ids=SAMPLE_CASES.keys())
def test_draw_sample(positions: list[int], size: int, seed: int, expected: list[int]) -> None:
    drawn = draw_sample(positions, size, seed)
    assert drawn == expected
    assert drawn == sorted(drawn) and set(drawn) <= set(positions)


def test_another_seed_draws_another_sample() -> None:
    positions = list(range(1, 1001))
    assert draw_sample(positions, 10, 1) != draw_sample(positions, 10, 2)


# -- findings stay with the auditors ------------------------------------------------------


def test_a_finding_is_never_delivered_to_a_unit() -> None:
    fact = AccessReviewed(
        event_id=uuid4(),
        tenant_id="ystad",
        child_id=CHILD,
        occurred_at=NOW,
        actor=Actor(user_id="granskare", role=Role.AUDITOR),
        withheld_from_guardians=True,
        access_event_ids=(uuid4(),),
        outcome=ReviewOutcome.UNJUSTIFIED,
        note="Ingen grund för läsningen",
    )
    units = [UnitRecipient("ystad", unit, kind) for unit, kind in UNITS.items()]
    facts = ChildFacts("ystad", CHILD, date(2015, 7, 12))

    assert plan_deliveries(LogEntry(10, 1, fact), units, facts, NOW, PolicyRules()) == []
    assert fact.carried_categories() == {Category.ACCESS_LOG}
