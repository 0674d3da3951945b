"""The case list in a real Chromium, on a desktop and a phone: Mina barn, Min enhets barn, the
groups, the search and the filters, each page screenshot and checked with axe."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Page, expect

from hub.demo import make_personnummer
from tests.conftest import family
from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, card_payload, conversation_payload, staff

BK, TEACHER, COORDINATOR = "rektor.ostra", "larare.ostra", "kurator.ostra"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


def child(served: ServedHub, n: int, given_name: str) -> UUID:
    hub = served.runtime.hub
    child_id = hub.register_child(
        staff(TEACHER), personnummer=make_personnummer(date(2016, 2, 1) + timedelta(days=n), 980 + n),
        given_name=given_name, family_name="Lind",
        guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
                   {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True}],
    )
    hub.submit_discovery_card(staff(TEACHER), child_id, **card_payload("skola-ostra"))
    return child_id


def cases(served: ServedHub) -> dict[str, UUID]:
    """A new card, feedback owed, a coordinated team with a plan, and a withdrawn consent."""
    hub = served.runtime.hub
    new = child(served, 1, "Nora")
    owed = child(served, 2, "Olle")
    hub.assign_barnkontakt(staff(BK), owed, staff_id=BK)
    team = child(served, 3, "Tea")
    hub.assign_barnkontakt(staff(BK), team, staff_id=BK)
    (card,) = [c for c in hub.cards_sent_by(staff(TEACHER)) if c.child_id == team]
    hub.send_feedback(staff(BK), team, card_id=card.card_id, message="Tack")
    hub.hold_conversation(staff(BK), team, **conversation_payload())
    hub.decide_team(staff(BK), team, decision="individual_team", family_informed=True,
                    member_unit_ids=["skola-ostra", "elevhalsa-ostra"])
    hub.assign_support_coordinator(staff(BK), team, staff_id=COORDINATOR)
    hub.update_plan(
        staff(BK), team, goals=[{"area": "trygghet", "goal": "Trygg på rasten"}],
        actions=[{"action_id": "rast", "what": "Rastvärd varje dag", "unit_id": "skola-ostra",
                  "responsible_person": "Rektor Ostra", "due": hub.now().date() + timedelta(days=10)}],
        child_view="", guardian_view="", next_follow_up=None,
    )
    shared = hub.request_consent(
        staff(BK), team, recipients=[{"unit_id": "elevhalsa-ostra"}], categories=["identity", "plan", "team"], purpose="Barnteam",
    )
    for pnr in (GUARDIAN_1_PNR, GUARDIAN_2_PNR):
        hub.grant_consent(family(served.runtime, pnr), team, shared)
    consent = hub.request_consent(staff(BK), owed, recipients=[{"unit_id": "elevhalsa-ostra"}], categories=["needs"], purpose="Stöd")
    hub.grant_consent(family(served.runtime, GUARDIAN_1_PNR), owed, consent)
    hub.withdraw_consent(family(served.runtime, GUARDIAN_2_PNR), owed, consent)
    return {"new": new, "owed": owed, "team": team}


def sign_in(page: Page, served: ServedHub, name: str) -> None:
    page.goto(served.url + "/sign-in")
    page.get_by_role("button", name=name).click()
    expect(page).to_have_url(served.url + "/staff")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_barnkontakt_works_through_the_case_list_by_group_search_and_filter(
    hub: ServedHub, browser: Browser, phone: bool
) -> None:
    children = cases(hub)
    shots = Shots("case-list-" + ("phone" if phone else "desktop"))
    page = new_page(browser, phone=phone)
    sign_in(page, hub, "Rektor Ostra")

    rows = page.locator("table.case-rows tbody tr")
    expect(rows).to_have_count(3)
    expect(page.get_by_role("link", name="Mina barn")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("Rektor Ostra (Skola Ostra): Rastvärd varje dag, senast")).to_be_visible()
    expect(page.get_by_text("ska ge återkoppling till Larare Ostra (Skola Ostra) senast")).to_be_visible()
    shots.visit(page, "mina-barn")

    page.get_by_role("navigation", name="Det som behöver göras").get_by_role("link", name="Samtycke återkallat").click()
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_text("Olle Lind")
    shots.visit(page, "samtycke-aterkallat")

    page.get_by_label("Sök på namn eller personnummer").fill("tea lind")
    page.get_by_label("Grupp").select_option(label="Alla pågående ärenden")
    page.get_by_role("button", name="Visa").click()
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_text("Tea Lind")
    shots.visit(page, "sokning")

    page.get_by_label("Sök på namn eller personnummer").fill("Te\u202ea")
    page.get_by_role("button", name="Visa").click()
    expect(page.get_by_role("alert")).to_contain_text("Sökningen får bara innehålla bokstäver, siffror och skiljetecken")
    shots.visit(page, "sokning-for-lang")

    if phone:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the list is {width} px wide on a 390 px phone"
    assert str(children["new"]) not in page.content()


def test_the_coordinator_finds_the_child_she_was_just_appointed_to_on_her_phone(hub: ServedHub, browser: Browser) -> None:
    children = cases(hub)
    shots = Shots("case-list-coordinator")
    page = new_page(browser, phone=True)
    sign_in(page, hub, "Kurator Ostra")

    rows = page.locator("table.case-rows tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link")).to_have_text("Tea Lind")
    shots.visit(page, "mina-barn")

    page.get_by_role("link", name="Min enhets barn").click()
    expect(rows).to_have_count(1)
    page.get_by_label("Verksamhet").select_option(label="Skola Ostra")
    page.get_by_role("button", name="Visa").click()
    expect(rows).to_have_count(1)
    shots.visit(page, "min-enhets-barn")
    rows.first.get_by_role("link").click()
    expect(page).to_have_url(f"{hub.url}/staff/children/{children['team']}")
