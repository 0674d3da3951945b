"""The area administrator in the browser, on a phone: the administration page counts the
consent reminders due, sends them with one button and says how many went; the retention
periods are one link away. Every page is screenshotted, checked with axe-core and scanned
for anything a Swedish page must not show."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import family
from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import GUARDIAN_1_PNR, conversation_payload, registration_payload, staff


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


def test_the_administrator_sends_the_reminders_due_on_a_phone(hub: ServedHub, browser: Browser) -> None:
    shots = Shots("administration")
    h = hub.runtime.hub
    bk = staff("rektor.ostra")
    child = h.register_child(bk, **registration_payload())
    h.assign_barnkontakt(bk, child, staff_id="rektor.ostra")
    h.hold_conversation(bk, child, **conversation_payload())
    consent = h.request_consent(
        bk, child, recipients=[{"unit_id": "skola-ostra"}, {"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd från BUP",
    )
    h.grant_consent(family(hub.runtime, GUARDIAN_1_PNR), child, consent)
    hub.clock.set(hub.clock() + timedelta(days=8))

    page = new_page(browser, phone=True)
    page.goto(hub.url + "/sign-in")
    page.get_by_role("button", name="Administratör Ystad").click()
    page.get_by_role("link", name="Administration").click()
    expect(page.get_by_text("1 barn har påminnelser att skicka nu.")).to_be_visible()
    shots.visit(page, "administration")
    page.get_by_role("button", name="Skicka påminnelserna").click()
    expect(page.get_by_role("status")).to_contain_text("1 påminnelse skickades.")
    expect(page.get_by_text("0 barn har påminnelser att skicka nu.")).to_be_visible()
    shots.visit(page, "reminders-sent")
    page.get_by_role("link", name="Hur länge delade uppgifter visas").click()
    shots.visit(page, "retention")
