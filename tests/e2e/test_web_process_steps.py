"""The Stödprocess's later steps through the pages only, in a real headless Chromium.

Alva has an individual team and a first joint Behovskompass. Her Barnkontakt appoints a
support coordinator with a deputy from the child's page; the coordinator, on a phone,
holds the follow-up and sees the new compass beside the first, then hands the role over
with a reason; the Barnkontakt keeps a conversation from the guardians; the BVC nurse, on
a phone, records a home visit. Every page is screenshotted and checked with axe-core, and
the phone's pages fit its width.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import family, register_child
from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, RATED_AT_TEN, card_payload, conversation_payload, staff

TEAM = ["skola-ostra", "elevhalsa-ostra", "soc-ystad"]
PHONE_WIDTH = 390
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


def alva_with_a_team(hub: ServedHub) -> UUID:
    """Alva, discovered by her teacher and by the BVC, with the principal as Barnkontakt, an
    individual team and a first joint Behovskompass (Trygghet 2), a month ago."""
    core, bk = hub.runtime.hub, staff("rektor.ostra")
    child_id = register_child(hub.runtime)
    assert isinstance(child_id, UUID)
    core.submit_discovery_card(staff("larare.ostra"), child_id, **card_payload("skola-ostra"))
    core.submit_discovery_card(staff("sjukskoterska.bvc"), child_id, **card_payload("skola-ostra"))
    core.assign_barnkontakt(bk, child_id, staff_id="rektor.ostra")
    core.hold_conversation(bk, child_id, **conversation_payload())
    consent_id = core.request_consent(
        bk, child_id, recipients=[{"unit_kind": "pupil_health"}, {"unit_id": "soc-ystad"}],
        categories=["identity", "needs", "conversations", "team", "ratings", "plan"], purpose="Barnteam kring rasterna",
    )
    core.grant_consent(family(hub.runtime, GUARDIAN_1_PNR), child_id, consent_id)
    core.grant_consent(family(hub.runtime, GUARDIAN_2_PNR), child_id, consent_id)
    core.decide_team(bk, child_id, decision="individual_team", family_informed=True, member_unit_ids=TEAM)
    core.submit_rating(bk, child_id, scores=[{"area": "trygghet", "indicator": RATED_AT_TEN["trygghet"], "score": 2}])
    core.hold_team_meeting(bk, child_id, participant_unit_ids=TEAM)
    hub.clock.set(hub.clock() + timedelta(days=30))
    return child_id


def sign_in_staff(browser: Browser, hub: ServedHub, name: str, *, phone: bool = False) -> Page:
    page = new_page(browser, phone=phone)
    page.goto(hub.url + "/sign-in")
    page.get_by_role("button", name=name).click()
    return page


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width} px wide on a {PHONE_WIDTH} px phone"


def no_ids(page: Page) -> None:
    text = page.locator("main").inner_text()
    assert not UUID_TEXT.search(text), page.url


def test_the_later_steps_of_the_process_in_the_browser_on_desktop_and_phone(hub: ServedHub, browser: Browser) -> None:
    shots = Shots("process-steps")
    child_id = alva_with_a_team(hub)
    child_page = f"{hub.url}/staff/children/{child_id}"

    # the Barnkontakt appoints the coordinator and a deputy, from the child's page
    bk = sign_in_staff(browser, hub, "Rektor Ostra")
    bk.goto(child_page)
    bk.get_by_role("link", name="Stödsamordnare: utse eller lämna över").click()
    expect(bk.get_by_role("heading", level=1)).to_have_text("Stödsamordnare")
    shots.visit(bk, "appoint the coordinator")
    bk.get_by_label("Stödsamordnare", exact=True).select_option(label="Kurator Ostra, Elevhalsa Ostra")
    bk.get_by_label("Ersättare (om det finns någon)").select_option(label="Socsek Ystad, Soc Ystad")
    bk.get_by_role("button", name="Utse").click()
    expect(bk.get_by_role("status")).to_contain_text("Kurator Ostra, Elevhalsa Ostra är nu barnets stödsamordnare.")
    expect(bk.get_by_role("status")).to_contain_text("Socsek Ystad, Soc Ystad är ersättare")
    no_ids(bk)
    shots.visit(bk, "coordinator appointed")

    # the coordinator, on a phone, holds the follow-up and sees it beside the first compass
    hub.clock.set(hub.clock() + timedelta(minutes=5))
    coordinator = sign_in_staff(browser, hub, "Kurator Ostra", phone=True)
    coordinator.goto(child_page + "/follow-up")
    shots.visit(coordinator, "follow-up form (phone)")
    fits_the_phone(coordinator)
    coordinator.locator("#score-trygghet-4").check()
    coordinator.get_by_label("Vad ni kom överens om vid uppföljningen").fill("Tryggare på rasterna, fortsätt med rastvärden")
    coordinator.get_by_role("button", name="Spara uppföljningen").click()
    expect(coordinator.get_by_role("status")).to_contain_text("Uppföljningen är sparad")
    comparison = coordinator.get_by_role("table", name="Per område: förut, nu och förändringen")
    expect(comparison.get_by_role("row", name=re.compile("Trygghet"))).to_contain_text("Bättre med 2,0")
    no_ids(coordinator)
    shots.visit(coordinator, "follow-up compared with the first (phone)")
    fits_the_phone(coordinator)

    # the coordinator hands the role over, with a reason
    coordinator.goto(child_page + "/coordinator")
    coordinator.get_by_label("Ny stödsamordnare").select_option(label="Socsek Ystad, Soc Ystad")
    coordinator.get_by_label("Varför rollen som stödsamordnare lämnas över").fill("Stödet flyttar till socialtjänsten")
    shots.visit(coordinator, "hand over the role (phone)")
    coordinator.get_by_role("button", name="Lämna över rollen").click()
    expect(coordinator.get_by_role("status")).to_contain_text("till Socsek Ystad, Soc Ystad")
    shots.visit(coordinator, "role handed over (phone)")
    fits_the_phone(coordinator)

    # the Barnkontakt keeps the conversation from the guardians
    bk.goto(child_page + "/withhold")
    shots.visit(bk, "secrecy towards the guardians")
    bk.get_by_label(re.compile(r"^Samtal, ")).check()
    bk.get_by_label("Varför uppgifterna hålls hemliga för vårdnadshavarna").fill("Alva berättade i förtroende")
    bk.get_by_role("button", name="Sekretessbelägg mot vårdnadshavarna").click()
    expect(bk.get_by_role("status")).to_contain_text("hålls nu hemliga för vårdnadshavarna")
    no_ids(bk)
    shots.visit(bk, "kept from the guardians")

    # the BVC nurse, on a phone, records a home visit
    nurse = sign_in_staff(browser, hub, "Sjukskoterska Bvc", phone=True)
    nurse.goto(child_page + "/home-visits")
    shots.visit(nurse, "home visits (phone)")
    fits_the_phone(nurse)
    nurse.get_by_label("1. Att ta emot sitt barn").check()
    nurse.get_by_label("Dag för besöket").fill((hub.clock().date() - timedelta(days=2)).isoformat())
    nurse.get_by_label("Anteckningar från besöket").fill("Familjen har kommit till ro")
    nurse.get_by_role("button", name="Spara besöket").click()
    expect(nurse.get_by_role("status")).to_have_text("Hembesök 1 är registrerat.")
    expect(nurse.get_by_role("row", name=re.compile("Att ta emot sitt barn"))).not_to_contain_text("Inte ännu")
    no_ids(nurse)
    shots.visit(nurse, "home visit recorded (phone)")
    fits_the_phone(nurse)
