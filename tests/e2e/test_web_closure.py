"""Closing a case in the browser: the Barnkontakt finds the closing links on the child's page,
is told which overdue actions are open, and the support coordinator, on a phone, records that
the needs are met with a reason for each; the retention periods are listed with their law.
Every page is screenshotted and checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, card_payload, conversation_payload, plan_payload, staff


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


def sign_in_staff(browser: Browser, hub: ServedHub, name: str, *, phone: bool = False) -> Page:
    page = new_page(browser, phone=phone)
    page.goto(hub.url + "/sign-in")
    page.get_by_role("button", name=name).click()
    return page


def planned_child(hub: ServedHub) -> UUID:
    """Alva, with an individual team, a coordinator at pupil health and three plan actions."""
    h = hub.runtime.hub
    bk = staff("rektor.ostra")
    child = UUID(str(h.register_child(
        staff("larare.ostra"), personnummer=CHILD_PNR, given_name="Alva", family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )))
    h.submit_discovery_card(staff("larare.ostra"), child, **card_payload("skola-ostra"))
    h.assign_barnkontakt(bk, child, staff_id="rektor.ostra")
    h.hold_conversation(bk, child, **conversation_payload())
    h.decide_team(bk, child, decision="individual_team", family_informed=True, member_unit_ids=["skola-ostra", "elevhalsa-ostra"])
    h.assign_support_coordinator(bk, child, staff_id="kurator.ostra")
    h.update_plan(staff("kurator.ostra"), child, **plan_payload(hub.clock().date()))
    h.complete_plan_action(staff("kurator.ostra"), child, action_id="a2", note="Klart")
    hub.clock.set(hub.clock() + timedelta(days=20))  # a1 is overdue
    return child


def test_the_case_is_closed_in_the_browser_with_a_reason_for_each_open_action(hub: ServedHub, browser: Browser) -> None:
    shots = Shots("closure")
    child = planned_child(hub)

    bk = sign_in_staff(browser, hub, "Rektor Ostra")
    bk.goto(f"{hub.url}/staff/children/{child}")
    closing = bk.get_by_role("region", name="Avsluta ärendet")
    expect(closing).to_be_visible()
    shots.visit(bk, "child page with the closing links")
    closing.get_by_role("link", name="Avsluta ärendet").click()
    expect(bk.get_by_role("heading", level=1)).to_have_text("Avsluta ärendet")
    expect(bk.get_by_text("försenad")).to_be_visible()
    bk.get_by_role("button", name="Avsluta ärendet").click()  # no reason chosen, none written
    expect(bk.get_by_text("Välj varför ärendet avslutas.").first).to_be_visible()
    shots.visit(bk, "close-case form refused")

    coordinator = sign_in_staff(browser, hub, "Kurator Ostra", phone=True)
    coordinator.goto(f"{hub.url}/staff/children/{child}/needs-met")
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("Behoven är tillgodosedda")
    shots.visit(coordinator, "needs met on a phone")
    coordinator.get_by_label("Trygghet").select_option("5")
    coordinator.get_by_label("Sammanfattning av uppföljningen").fill("Alva känner sig trygg på rasterna.")
    coordinator.get_by_label("Varför åtgärd 1 avslutas utan att vara klar").fill("Behövs inte längre.")
    coordinator.get_by_label("Varför åtgärd 3 avslutas utan att vara klar").fill("Familjen har fått stöd på annat sätt.")
    coordinator.get_by_role("button", name="Registrera att behoven är tillgodosedda och avsluta ärendet").click()
    expect(coordinator.get_by_role("status")).to_contain_text("Ärendet är avslutat")
    expect(coordinator.get_by_role("status")).to_contain_text("Behoven är tillgodosedda")
    width = coordinator.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    shots.visit(coordinator, "case closed on a phone")

    coordinator.get_by_role("link", name="Hur länge delade uppgifter visas").click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("Hur länge delade uppgifter visas")
    expect(coordinator.get_by_text("Patientdatalagen 3 kap. 17 §").first).to_be_visible()
    shots.visit(coordinator, "retention periods on a phone")

    bk.goto(f"{hub.url}/staff/children/{child}/closure")
    expect(bk.get_by_role("status")).to_contain_text("Ärendet är avslutat")
    shots.visit(bk, "closed case for the Barnkontakt")
