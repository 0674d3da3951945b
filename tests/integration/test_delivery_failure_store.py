"""The hub's store of delivery reports on each store kind (memory, SQLite, PostgreSQL): one row
per tenant, unit and message id whatever is sent twice, a recovery marks it, a newer failure
opens it again, and an area's list holds only its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.delivery_reports import DeliveryFailed, DeliveryRecovered
from hub.runtime.bootstrap import Runtime
from hub.runtime.delivery_failure_store import DeliveryState

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def failed(message_id: str, at: datetime, tenant: str = "ystad", reason: str = "HTTP 503") -> DeliveryFailed:
    return DeliveryFailed(
        tenant_id=tenant, unit_id="skola-ostra", message_id=message_id, event_type="backa.v1.ChildRegistered",
        reason=reason, attempts=6, at=at,
    )


def recovered(message_id: str, at: datetime) -> DeliveryRecovered:
    return DeliveryRecovered(
        tenant_id="ystad", unit_id="skola-ostra", message_id=message_id, event_type="backa.v1.ChildRegistered", attempts=7, at=at
    )


def test_a_report_is_kept_once_marked_recovered_and_opened_again_only_by_a_newer_failure(runtime: Runtime) -> None:
    assert runtime.kit is not None
    store = runtime.kit.delivery_failure_store()
    try:
        store.failed(failed("e-1", AT))
        store.failed(failed("e-1", AT))  # redelivered
        store.failed(failed("e-2", AT, tenant="lidingo"))
        assert [(r.message_id, r.state) for r in store.list("ystad")] == [("e-1", DeliveryState.OPEN)]

        store.recovered(recovered("e-1", AT + timedelta(hours=1)))
        store.recovered(recovered("e-1", AT + timedelta(hours=2)))  # a second recovery keeps the first moment
        store.failed(failed("e-1", AT))  # the old failure again: stays recovered
        (row,) = store.list("ystad")
        assert (row.state, row.recovered_at) == (DeliveryState.RECOVERED, AT + timedelta(hours=1))
        assert store.list("ystad", state=DeliveryState.OPEN) == []

        store.failed(failed("e-1", AT + timedelta(days=1), reason="unreachable"))  # failed again after the replay
        (row,) = store.list("ystad", unit_id="skola-ostra", state=DeliveryState.OPEN)
        assert (row.reason, row.failed_at, row.recovered_at) == ("unreachable", AT + timedelta(days=1), None)
        assert [r.message_id for r in store.list("lidingo")] == ["e-2"]
        assert store.list("ystad", unit_id="bvc-ystad") == []
    finally:
        store.close()
