"""Consent from the decision and its signals, in a real headless Chromium: the Barnkontakt's
request starts from the decision and warns when her own unit is left out; a guardian on a
phone answers with the buttons on the first screen and withdraws through a confirmation
page; the unit that lost sight is told so; near the end the case owner renews in one step.
Every page shown is screenshotted and checked with axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import family
from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, conversation_payload, registration_payload, staff

BK = "rektor.ostra"
PURPOSE = "Teamets arbete med det stöd barnet behöver"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


def sign_in_staff(browser: Browser, hub: ServedHub, name: str) -> Page:
    page = new_page(browser)
    page.goto(hub.url + "/sign-in")
    page.get_by_role("button", name=name).click()
    return page


def sign_in_guardian(browser: Browser, hub: ServedHub, personnummer: str) -> Page:
    page = new_page(browser, phone=True)
    page.goto(hub.url + "/sign-in")
    page.get_by_label("Personnummer").fill(personnummer)
    page.get_by_label("Jag är vårdnadshavare").check()
    page.get_by_role("button", name="Logga in", exact=True).click()
    expect(page).to_have_url(hub.url + "/family")
    return page


def decided(hub: ServedHub) -> UUID:
    rt = hub.runtime
    child_id = rt.hub.register_child(staff(BK), **registration_payload())
    rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)
    rt.hub.hold_conversation(staff(BK), child_id, **conversation_payload())
    rt.hub.decide_team(
        staff(BK), child_id, decision="barnteam", family_informed=True,
        member_unit_ids=["skola-ostra", "bup-ystad"], shared_categories=["needs", "plan"],
    )
    return child_id


def test_consent_from_the_decision_and_its_signals_in_the_browser(hub: ServedHub, browser: Browser) -> None:
    shots = Shots("consent-signals")
    child_id = decided(hub)
    child_url = f"{hub.url}/staff/children/{child_id}"

    # The Barnkontakt: the request starts from the decision; leaving her own unit out is warned about.
    bk = sign_in_staff(browser, hub, "Rektor Ostra")
    bk.goto(child_url + "/consent-request")
    recipients = bk.get_by_role("group", name="Vem som får ta emot uppgifterna")
    expect(recipients.get_by_label("Skola Ostra (din enhet)", exact=True)).to_be_checked()
    expect(recipients.get_by_label("Bup Ystad (i teamet)", exact=True)).to_be_checked()
    shared = bk.get_by_role("group", name="Vad som får delas")
    expect(shared.get_by_label("Behov", exact=True)).to_be_checked()
    expect(bk.get_by_label("Varför uppgifterna ska delas")).to_have_value(PURPOSE)
    shots.visit(bk, "consent-request-prefilled")
    recipients.get_by_label("Skola Ostra (din enhet)", exact=True).uncheck()
    bk.get_by_role("button", name="Skicka begäran").click()
    warning = bk.get_by_role("alert")
    expect(warning).to_contain_text("En enhet i teamet är inte med")
    expect(warning).to_contain_text("Din egen enhet, Skola Ostra")
    shots.visit(bk, "consent-request-warning")
    assert hub.runtime.hub.consent_overview(staff(BK), child_id) == []
    bk.get_by_role("group", name="Vem som får ta emot uppgifterna").get_by_label("Skola Ostra (din enhet)", exact=True).check()
    bk.get_by_role("button", name="Skicka utan enheterna ovan").click()
    expect(bk.get_by_role("heading", level=1)).to_have_text("Begäran om samtycke är skickad")
    shots.visit(bk, "consent-request-sent")
    (consent,) = hub.runtime.hub.consent_overview(staff(BK), child_id)

    # A guardian on a phone: the answer is on the first screen, right after one line.
    g1 = sign_in_guardian(browser, hub, GUARDIAN_1_PNR)
    g1.goto(f"{hub.url}/family/children/{child_id}/consents")
    yes = g1.get_by_role("button", name=re.compile("^Ja, jag samtycker"))
    expect(yes).to_be_in_viewport()
    expect(g1.locator(".consent-summary")).to_contain_text("till och med")
    shots.visit(g1, "guardian-consents-phone")
    yes.click()
    expect(g1.get_by_role("status")).to_have_text("Tack. Ditt ja är sparat.")
    hub.runtime.hub.grant_consent(family(hub.runtime, GUARDIAN_2_PNR), child_id, consent.consent_id)

    # Withdrawing asks first, on a page of its own.
    g1.reload()
    g1.get_by_role("link", name=re.compile("^Ta tillbaka samtycket")).click()
    expect(g1.get_by_role("heading", level=1)).to_have_text("Ta tillbaka samtycket?")
    shots.visit(g1, "guardian-withdraw-confirm-phone")
    g1.get_by_role("button", name="Ja, ta tillbaka samtycket").click()
    expect(g1.get_by_role("status")).to_have_text("Samtycket är taget tillbaka. Det gäller inte längre.")

    # BUP lost sight of everything: it is told when, and what.
    bup = sign_in_staff(browser, hub, "Bup Ystad")
    bup.goto(child_url)
    expect(bup.get_by_role("alert")).to_contain_text("Vårdnadshavaren har återkallat samtycket den")
    expect(bup.get_by_role("alert")).to_contain_text("Du ser inte längre:")
    shots.visit(bup, "lost-sight")

    # A new request, granted; near its end the case owner renews it in one step.
    rt = hub.runtime
    again = rt.hub.request_consent(
        staff(BK), child_id, recipients=[{"unit_id": "bup-ystad"}, {"unit_id": "skola-ostra"}], categories=["needs"],
        purpose="Stöd från BUP",
    )
    for pnr in (GUARDIAN_1_PNR, GUARDIAN_2_PNR):
        rt.hub.grant_consent(family(rt, pnr), child_id, again)
    hub.clock.set(hub.clock() + timedelta(days=350))
    owner = sign_in_staff(browser, hub, "Rektor Ostra")
    owner.goto(child_url)
    expect(owner.get_by_text("Ett samtycke för barnet upphör den")).to_be_visible()
    shots.visit(owner, "child-consent-ending")
    owner.get_by_role("link", name="Förnya samtycket").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Förnya samtycket")
    expect(owner.get_by_label("Varför uppgifterna ska delas")).to_have_value("Stöd från BUP")
    shots.visit(owner, "consent-renewal")
    owner.get_by_role("button", name="Skicka begäran").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Begäran om samtycke är skickad")
    pending = [c for c in rt.hub.consent_overview(staff(BK), child_id) if c.status.value == "pending"]
    assert [c.purpose for c in pending] == ["Stöd från BUP"]
