"""The child's record view (:func:`projections.record.visible_items`) shows another unit's
items only while the case is open or a later consent allows it, and only within the
retention period; the unit's own items stay. The clock is the parameter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from consent import ChildFacts, ConsentState, GuardianFact, PolicyRules, Viewer, ViewerKind
from consent.retention import DEFAULT_DAYS
from contracts.vocabulary import Category, PartyKind, Role, UnitKind
from projections.record import RecordItem, visible_items

CHILD = UUID("00000000-0000-4000-8000-0000000c1053")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLOSED = T0 + timedelta(days=30)
BUP = Viewer(ViewerKind.STAFF, "ystad", "psykolog", frozenset({Role.TEAM_MEMBER}), "bup-ystad", UnitKind.BUP)


def item(category: Category, unit: str, at: datetime) -> RecordItem:
    return RecordItem(
        child_id=CHILD, position=1, event_id=uuid4(), event_type="backa.v1.PlanUpdated", category=category,
        origin_unit_id=unit, sent_to_unit_id=None, occurred_at=at, actor_id="x", actor_role="team_member",
        withheld_from_guardians=False, fields={},
    )


PLAN = item(Category.PLAN, "skola-ostra", T0)
OWN = item(Category.HEALTH, "bup-ystad", T0)
GRANTED = ConsentState(
    consent_id=uuid4(), requested_by_unit_id="skola-ostra", recipient_unit_ids=frozenset({"bup-ystad"}),
    recipient_unit_kinds=frozenset(), categories=frozenset({Category.PLAN}), purpose="Stöd", valid_from=T0,
    valid_until=T0 + timedelta(days=5000), granted=frozenset({(PartyKind.GUARDIAN, "g1")}),
)
OPEN = ChildFacts(
    tenant_id="ystad", child_id=CHILD, birth_date=date(2025, 1, 10), guardians=(GuardianFact("g1", True, confirmed=True),),
    consents=(GRANTED,), last_entry_at=T0,
)
CLOSED_CASE = replace(OPEN, closed_at=CLOSED, last_entry_at=CLOSED)
BUP_DAYS = DEFAULT_DAYS[UnitKind.BUP]


@pytest.mark.parametrize(
    ("facts", "at", "shown"),
    [
        (OPEN, T0 + timedelta(days=1), {PLAN, OWN}),
        (CLOSED_CASE, CLOSED - timedelta(minutes=1), {PLAN, OWN}),
        (CLOSED_CASE, CLOSED + timedelta(minutes=1), {OWN}),
        (OPEN, T0 + timedelta(days=BUP_DAYS - 1), {PLAN, OWN}),
        (OPEN, T0 + timedelta(days=BUP_DAYS), {OWN}),
    ],
    ids=["open case", "just before closure", "just after closure", "last day of BUP's period", "BUP's period over"],
)
def test_the_record_view_shows_shared_items_only_while_open_and_within_the_period(
    facts: ChildFacts, at: datetime, shown: set[RecordItem]
) -> None:
    visible = visible_items(BUP, facts, [PLAN, OWN], at, PolicyRules())
    assert set(visible.items) == shown
