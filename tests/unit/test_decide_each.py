"""``decide_each`` answers as ``decide`` does item by item, while asking the policy once for
items it cannot tell apart: a long record costs a read a few decisions, not one per item."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from consent import ChildFacts, ConsentState, GuardianFact, Information, PolicyRules, Viewer, ViewerKind, decide, decide_each, policy
from contracts.vocabulary import Category, PartyKind, Role, UnitKind

TENANT = "ystad"
CHILD = UUID("00000000-0000-4000-8000-00000000c0de")
START = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
UNITS = [("skola-ostra", UnitKind.SCHOOL), ("bup-ystad", UnitKind.BUP), ("polis-ystad", UnitKind.POLICE),
         ("soc-ystad", UnitKind.SOCIAL_SERVICES), (None, None)]
CONSENT = ConsentState(
    consent_id=UUID("00000000-0000-4000-8000-00000000c001"), requested_by_unit_id="skola-ostra",
    recipient_unit_ids=frozenset({"bup-ystad", "polis-ystad"}), recipient_unit_kinds=frozenset(),
    categories=frozenset({Category.NEEDS, Category.CONVERSATIONS, Category.PLAN}), purpose="Samordnat stöd",
    valid_from=START, valid_until=START + timedelta(days=365), granted=frozenset({(PartyKind.GUARDIAN, "g1")}),
)

days = st.integers(min_value=0, max_value=15).map(lambda n: n * 100)
"""Days from the start, coarse, so recordings, last entries, closures and reads fall on either
side of each other and of the retention periods (one, two, five and ten years)."""
infos = st.builds(
    Information,
    category=st.sampled_from(list(Category)),
    origin_unit_id=st.sampled_from([u for u, _ in UNITS]),
    sent_to_unit_id=st.sampled_from([u for u, _ in UNITS]),
    withheld_from_guardians=st.booleans(),
    recorded_at=st.one_of(st.none(), days.map(lambda d: START + timedelta(days=d))),
)
VIEWERS = [
    *(Viewer(ViewerKind.STAFF, TENANT, "staff", frozenset({Role.TEAM_MEMBER}), unit, kind) for unit, kind in UNITS),
    Viewer(ViewerKind.GUARDIAN, TENANT, "g1", frozenset({Role.GUARDIAN}), party_id="g1"),
    Viewer(ViewerKind.AUDITOR, TENANT, "granskare", frozenset({Role.AUDITOR})),
]


def child_facts(last_entry: int | None, closed: int | None) -> ChildFacts:
    return ChildFacts(
        tenant_id=TENANT, child_id=CHILD, birth_date=date(2014, 3, 10), guardians=(GuardianFact("g1", True, confirmed=True),),
        consents=(CONSENT,), units_sent_to=frozenset({"skola-ostra"}), concern_report_units=frozenset({"soc-ystad"}),
        closed_at=START + timedelta(days=closed) if closed is not None else None,
        last_entry_at=START + timedelta(days=last_entry) if last_entry is not None else None,
    )


@settings(max_examples=500, deadline=None)
@given(
    viewer=st.sampled_from(VIEWERS), items=st.lists(infos, min_size=1, max_size=30), last_entry=st.one_of(st.none(), days),
    closed=st.one_of(st.none(), days), read_on=days,
)
@example(  # recorded after the last entry: retention counts from the recording, still running
    viewer=VIEWERS[0], items=[Information(Category.NEEDS, "bup-ystad", None, False, START + timedelta(days=800))],
    last_entry=10, closed=None, read_on=1000,
)
def test_each_answer_is_the_one_decide_gives(
    viewer: Viewer, items: list[Information], last_entry: int | None, closed: int | None, read_on: int
) -> None:
    facts = child_facts(last_entry, closed)
    at = START + timedelta(days=read_on)
    rules = PolicyRules()
    assert decide_each(viewer, facts, items, at, rules) == [decide(viewer, facts, i, at, rules) for i in items]


def test_items_recorded_before_the_last_entry_are_decided_once(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []
    real = policy.decide

    def counting(*args: object) -> object:
        asked.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(policy, "decide", counting)
    facts = child_facts(last_entry=300, closed=None)
    viewer = Viewer(ViewerKind.STAFF, TENANT, "staff", frozenset({Role.TEAM_MEMBER}), "bup-ystad", UnitKind.BUP)
    record = [Information(Category.PLAN, "skola-ostra", None, False, START + timedelta(days=d)) for d in range(300)]

    decisions = decide_each(viewer, facts, record, START + timedelta(days=301), PolicyRules())

    assert len(decisions) == 300 and all(d.allowed for d in decisions)
    assert len(asked) == 1
