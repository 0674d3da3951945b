"""The administrator's page of deliveries that did not arrive: linked from the administration
page, in Swedish, filterable by unit and state, and nobody else's."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.delivery_reports import DeliveryFailed, DeliveryRecovered
from hub.runtime.bootstrap import Runtime
from tests.e2e.swedish_scan import assert_swedish
from tests.web.test_staff_pages import browser

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def report(message_id: str, unit_id: str, reason: str) -> DeliveryFailed:
    return DeliveryFailed(
        tenant_id="ystad", unit_id=unit_id, message_id=message_id, event_type="backa.v1.DiscoveryCardSubmitted",
        reason=reason, attempts=6, at=AT,
    )


def test_the_administrator_finds_the_failed_deliveries_from_the_administration_page_and_filters_them(rt: Runtime) -> None:
    store = rt.hub.delivery_failures
    store.failed(report("e-1", "skola-ostra", "HTTP 410"))
    store.failed(report("e-2", "bvc-ystad", "timeout"))
    store.recovered(DeliveryRecovered(
        tenant_id="ystad", unit_id="bvc-ystad", message_id="e-2", event_type="backa.v1.DiscoveryCardSubmitted", attempts=7, at=AT,
    ))
    admin = browser(rt, "admin.ystad")

    start = admin.get("/administration")
    assert 'href="/administration/deliveries"' in start.text
    assert "Leveranser som inte gick fram" in start.text
    page = admin.get("/administration/deliveries")
    assert page.status_code == 200
    assert "e-1" in page.text and "e-2" in page.text
    assert "Svarade HTTP 410" in page.text and "Inget svar i tid" in page.text
    assert_swedish(page.text, "/administration/deliveries")
    still_open = admin.get("/administration/deliveries?state=open")
    assert "e-1" in still_open.text and "e-2" not in still_open.text
    one_unit = admin.get("/administration/deliveries?unit=bvc-ystad")
    assert "e-2" in one_unit.text and "e-1" not in one_unit.text
    assert "Levererad" in one_unit.text
    assert admin.get("/administration/deliveries?state=gone").status_code in (400, 422)


def test_staff_do_not_get_the_page(rt: Runtime) -> None:
    rt.hub.delivery_failures.failed(report("e-1", "skola-ostra", "HTTP 410"))
    page = browser(rt, "rektor.ostra").get("/administration/deliveries")
    assert page.status_code == 403
    assert "e-1" not in page.text
