"""Table tests for what closure and retention change in :func:`consent.decide`, each row naming
the rule it checks; and the relay's delivery planning, which asks the same policy, stops after
the period."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from adapters.deliveries import LogEntry, UnitRecipient, plan_deliveries
from consent import ChildFacts, ConsentState, GuardianFact, Information, PolicyRules, Reason, Viewer, ViewerKind, decide
from consent.retention import DEFAULT_DAYS, Retention, RetentionPeriods, tenant_periods
from contracts.events import Actor, FollowUpHeld
from contracts.vocabulary import Category, LegalBasis, PartyKind, Role, UnitKind

TENANT = "ystad"
CHILD = UUID("00000000-0000-4000-8000-00000000c105")
PLANNED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLOSED = PLANNED + timedelta(days=40)
AFTER = CLOSED + timedelta(days=1)
POLICE = Viewer(ViewerKind.STAFF, TENANT, "polis", frozenset({Role.TEAM_MEMBER}), "polis-ystad", UnitKind.POLICE)
SOCIAL = Viewer(ViewerKind.STAFF, TENANT, "socsek", frozenset({Role.TEAM_MEMBER}), "soc-ystad", UnitKind.SOCIAL_SERVICES)
GUARDIAN = Viewer(ViewerKind.GUARDIAN, TENANT, "g1", frozenset({Role.GUARDIAN}), party_id="g1")
PARTIES = frozenset({(PartyKind.GUARDIAN, "g1")})
EVERY_UNIT = frozenset({"polis-ystad", "soc-ystad"})


def consent(asked: datetime) -> ConsentState:
    return ConsentState(
        consent_id=uuid4(), requested_by_unit_id="skola-ostra", recipient_unit_ids=EVERY_UNIT, recipient_unit_kinds=frozenset(),
        categories=frozenset({Category.PLAN}), purpose="Stöd", valid_from=asked, valid_until=asked + timedelta(days=1000),
        granted=PARTIES,
    )


BEFORE_CLOSURE = consent(PLANNED)
AFTER_CLOSURE = consent(CLOSED + timedelta(hours=2))
FACTS = ChildFacts(
    tenant_id=TENANT, child_id=CHILD, birth_date=date(2016, 3, 4), guardians=(GuardianFact("g1", True, confirmed=True),),
    consents=(BEFORE_CLOSURE,), last_entry_at=PLANNED,
)
CLOSED_FACTS = replace(FACTS, closed_at=CLOSED, last_entry_at=CLOSED)
PLAN_OF_SCHOOL = Information(Category.PLAN, origin_unit_id="skola-ostra", recorded_at=PLANNED)
OWN_OF_POLICE = Information(Category.POLICE, origin_unit_id="polis-ystad", recorded_at=PLANNED)
REPORT_TO_SOCIAL = Information(Category.CONCERN_REPORT, origin_unit_id="skola-ostra", sent_to_unit_id="soc-ystad", recorded_at=PLANNED)
RULES = PolicyRules()
POLICE_DAYS = DEFAULT_DAYS[UnitKind.POLICE]

ROWS = [
    ("consent shares while the case is open (OSL 12 kap. 2 §, GDPR art. 6.1 a)",
     POLICE, FACTS, PLAN_OF_SCHOOL, AFTER, True, Reason.CONSENT_IN_EFFECT),
    ("closure ends sharing on a consent asked before it (GDPR art. 5.1 b: its purpose is over)",
     POLICE, CLOSED_FACTS, PLAN_OF_SCHOOL, AFTER, False, Reason.CASE_CLOSED),
    ("closure takes effect from its moment, not before",
     POLICE, CLOSED_FACTS, PLAN_OF_SCHOOL, CLOSED - timedelta(seconds=1), True, Reason.CONSENT_IN_EFFECT),
    ("a consent asked for after the closure and granted shares again (the family agreed anew)",
     POLICE, replace(CLOSED_FACTS, consents=(BEFORE_CLOSURE, AFTER_CLOSURE)), PLAN_OF_SCHOOL, AFTER + timedelta(hours=3), True, Reason.CONSENT_IN_EFFECT),
    ("a unit's own record stays its own after closure",
     POLICE, CLOSED_FACTS, OWN_OF_POLICE, AFTER, True, Reason.OWN_RECORD),
    ("a unit's own record stays its own after every period",
     POLICE, CLOSED_FACTS, OWN_OF_POLICE, CLOSED + timedelta(days=100 * 365), True, Reason.OWN_RECORD),
    ("a concern report filed to social services is its received document after closure (SoL 14 kap. 1 §, TF 2 kap. 9 §)",
     SOCIAL, replace(CLOSED_FACTS, concern_report_units=frozenset({"soc-ystad"})), REPORT_TO_SOCIAL, AFTER, True, Reason.STATUTORY_CONCERN_REPORT),
    ("the report is not shown past social services' period (SoL: five years after the last entry)",
     SOCIAL, replace(CLOSED_FACTS, concern_report_units=frozenset({"soc-ystad"})), REPORT_TO_SOCIAL,
     CLOSED + timedelta(days=DEFAULT_DAYS[UnitKind.SOCIAL_SERVICES]), False, Reason.RETENTION_ENDED),
    ("shared information is shown up to the last day of the period",
     POLICE, FACTS, PLAN_OF_SCHOOL, PLANNED + timedelta(days=POLICE_DAYS) - timedelta(seconds=1), True, Reason.CONSENT_IN_EFFECT),
    ("retention: after the police's period nothing shared is shown to it (brottsdatalagen, lag 2018:1693, GDPR art. 5.1 e)",
     POLICE, FACTS, PLAN_OF_SCHOOL, PLANNED + timedelta(days=POLICE_DAYS), False, Reason.RETENTION_ENDED),
    ("retention counts from the case's last entry, not the item's own time (SoL, PDL 3 kap. 17 §)",
     POLICE, replace(FACTS, last_entry_at=PLANNED + timedelta(days=300)), PLAN_OF_SCHOOL, PLANNED + timedelta(days=POLICE_DAYS + 1), True, Reason.CONSENT_IN_EFFECT),
    ("the family sees its child's information after every period (GDPR art. 15)",
     GUARDIAN, CLOSED_FACTS, PLAN_OF_SCHOOL, CLOSED + timedelta(days=100 * 365), True, Reason.GUARDIAN_WITH_CUSTODY),
]


@pytest.mark.parametrize(("rule", "viewer", "facts", "info", "at", "allowed", "reason"), ROWS, ids=[r[0] for r in ROWS])
def test_closure_and_retention(
    rule: str, viewer: Viewer, facts: ChildFacts, info: Information, at: datetime, allowed: bool, reason: Reason
) -> None:
    got = decide(viewer, facts, info, at, RULES)
    assert (got.allowed, got.reason) == (allowed, reason), rule


def test_every_unit_kind_has_a_default_period() -> None:
    assert set(DEFAULT_DAYS) == set(UnitKind)


@pytest.mark.parametrize(
    ("entries", "kind", "category", "days"),
    [
        ([], UnitKind.POLICE, Category.PLAN, DEFAULT_DAYS[UnitKind.POLICE]),
        ([{"unit_kind": "police", "days": 30}], UnitKind.POLICE, Category.PLAN, 30),
        ([{"unit_kind": "police", "days": 30}], UnitKind.SCHOOL, Category.PLAN, DEFAULT_DAYS[UnitKind.SCHOOL]),
        ([{"unit_kind": "police", "days": 30}, {"unit_kind": "police", "category": "needs", "days": 7}], UnitKind.POLICE, Category.NEEDS, 7),
        ([{"unit_kind": "police", "category": "needs", "days": 7}], UnitKind.POLICE, Category.PLAN, DEFAULT_DAYS[UnitKind.POLICE]),
        ([{"unit_kind": "bvc", "days": 100}], UnitKind.BVC, Category.ACCESS_LOG, None),
    ],
    ids=["default", "kind", "another kind untouched", "category over kind", "category only", "no period on the access log"],
)
def test_a_tenants_setting_decides_the_period(entries: list[dict[str, object]], kind: UnitKind, category: Category, days: int | None) -> None:
    assert tenant_periods(entries).days(category, kind) == days


@pytest.mark.parametrize(
    "entries",
    [
        [{"unit_kind": "police", "days": 0}],
        [{"unit_kind": "police", "days": True}],
        [{"unit_kind": "police", "days": "30"}],
        [{"unit_kind": "police", "days": 10**6}],
        [{"unit_kind": "polis", "days": 30}],
        [{"unit_kind": "police", "category": "access_log", "days": 30}],
        [{"unit_kind": "police", "days": 30, "extra": 1}],
    ],
    ids=["zero", "a boolean", "text", "absurdly long", "unknown kind", "the access log", "unknown key"],
)
def test_a_wrong_setting_is_refused_saying_what_is_wrong(entries: list[dict[str, object]]) -> None:
    with pytest.raises(ValueError, match=r"retention\[0\]"):
        tenant_periods(entries)


# -- the relay ---------------------------------------------------------------------------------------


def follow_up(at: datetime) -> FollowUpHeld:
    return FollowUpHeld(
        event_id=uuid4(), tenant_id=TENANT, child_id=CHILD, occurred_at=at,
        actor=Actor(user_id="rektor", unit_id="skola-ostra", role=Role.BARNKONTAKT), summary="Uppföljning", compass=(),
    )


def police_deliveries(at: datetime, rules: PolicyRules, facts: ChildFacts) -> list[object]:
    fact = follow_up(PLANNED)
    needs_consent = replace(BEFORE_CLOSURE, categories=frozenset({Category.CONVERSATIONS, Category.RATINGS}))
    facts = replace(facts, consents=(needs_consent,))
    return list(plan_deliveries(LogEntry(7, 3, fact), [UnitRecipient(TENANT, "polis-ystad", UnitKind.POLICE)], facts, at, rules))


def test_the_relay_delivers_within_the_period_and_stops_after_it() -> None:
    assert police_deliveries(PLANNED + timedelta(days=POLICE_DAYS - 1), RULES, FACTS)
    assert police_deliveries(PLANNED + timedelta(days=POLICE_DAYS), RULES, FACTS) == []


def test_the_relay_follows_the_areas_own_period() -> None:
    rules = PolicyRules(retention=Retention(((TENANT, RetentionPeriods(((UnitKind.POLICE, None, 5),))),)))
    assert police_deliveries(PLANNED + timedelta(days=4), rules, FACTS)
    assert police_deliveries(PLANNED + timedelta(days=5), rules, FACTS) == []


def test_the_relay_stops_delivering_what_was_shared_on_consent_once_the_case_is_closed() -> None:
    assert police_deliveries(AFTER, RULES, CLOSED_FACTS) == []


def test_a_basis_that_is_not_enabled_is_never_reached_by_closure_rules() -> None:
    rules = PolicyRules(bases=frozenset(LegalBasis) - {LegalBasis.CONSENT})
    assert not decide(POLICE, FACTS, PLAN_OF_SCHOOL, AFTER, rules).allowed
