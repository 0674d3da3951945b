"""What the relay makes of an erasure: a notice to every unit of the tenant, with ids only."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from adapters.deliveries import ERASURE_TYPE, LogEntry, UnitRecipient, plan_deliveries
from consent import ChildFacts, PolicyRules
from contracts.events import Actor, RecordErased
from contracts.vocabulary import Role, UnitKind
from tests.factories import OTHER_TENANT, TENANT, UNITS

CHILD = UUID("5b0c1d9e-6f3a-4c2b-8e71-0a9d4f6b2c13")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REASON = "Registrerad av misstag, begäran 2026-114"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def erasure() -> RecordErased:
    return RecordErased(
        event_id=uuid4(),
        tenant_id=TENANT,
        child_id=CHILD,
        occurred_at=NOW,
        actor=Actor(user_id="admin.ystad", role=Role.TENANT_ADMIN),
        reason=REASON,
    )


def plan(fact: RecordErased, units: list[UnitRecipient]) -> list:  # type: ignore[type-arg]
    facts = ChildFacts(TENANT, CHILD, date(2015, 7, 12), erased=True)
    return plan_deliveries(LogEntry(42, 9, fact, TRACEPARENT), units, facts, NOW, PolicyRules())


def test_an_erasure_sends_one_notice_to_every_unit_of_the_tenant_and_none_to_another_tenant() -> None:
    units = [UnitRecipient(TENANT, unit, kind) for unit, kind in UNITS.items()]
    elsewhere = UnitRecipient(OTHER_TENANT, "skola-lidingo", UnitKind.SCHOOL)
    fact = erasure()

    notices = plan(fact, [*units, elsewhere])

    assert sorted(n.unit_id for n in notices) == sorted(UNITS)
    assert {n.tenant_id for n in notices} == {TENANT}
    assert {n.type_name for n in notices} == {ERASURE_TYPE}
    assert all(n.subject == f"backa.v1.{TENANT}.{n.unit_id}.RecordErasedNotice" for n in notices)
    assert len({n.msg_id for n in notices}) == len(notices), "each unit's notice is a message of its own"
    assert {n.traceparent for n in notices} == {TRACEPARENT}, "the notices continue the erasure's trace"


def test_an_erasure_notice_carries_only_ids_and_time_never_the_reason() -> None:
    fact = erasure()

    (notice,) = plan(fact, [UnitRecipient(TENANT, "skola-ostra", UnitKind.SCHOOL)])

    assert notice.body == {
        "schema_version": 1,
        "notice": "record_erased",
        "tenant_id": TENANT,
        "child_id": str(CHILD),
        "erased_at": "2026-03-02T09:00:00Z",
        "erasure_event_id": str(fact.event_id),
    }
    text = json.dumps(notice.body)
    assert REASON not in text and "misstag" not in text
    assert "admin.ystad" not in text, "who erased the record stays in the hub"


def test_a_resent_erasure_gives_the_same_message_ids() -> None:
    """A relay that resends after a crash must be recognised as sending the same notices."""
    fact = erasure()
    units = [UnitRecipient(TENANT, unit, kind) for unit, kind in UNITS.items()]

    assert [n.msg_id for n in plan(fact, units)] == [n.msg_id for n in plan(fact, units)]
    assert {n.msg_id for n in plan(fact, units)}.isdisjoint({n.msg_id for n in plan(erasure(), units)})
