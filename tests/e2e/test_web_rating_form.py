"""The rating form and the follow-up figures in a real Chromium, on a phone and a desktop:
a preschool child's form asks no question for older children and explains the scale, the
Barnkontakt is told how many ratings the compass will be drawn from, and the follow-up page
filters its figures. Every page is screenshot and checked with axe."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Page, expect

from contracts.indicators import INDICATORS, Indicator
from contracts.vocabulary import SWEDISH_TIME
from hub.demo.planner import make_personnummer
from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import GUARDIAN_1_PNR, card_payload, conversation_payload, staff

BK = "rektor.ostra"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


def teamed(hub: ServedHub, born: date, name: str) -> UUID:
    core = hub.runtime.hub
    child = core.register_child(
        staff("larare.ostra"), personnummer=make_personnummer(born, 992 if born.year > 2018 else 993),
        given_name=name, family_name="Berg",
        guardians=[{"name": "Anna Berg", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
    )
    assert isinstance(child, UUID)
    core.submit_discovery_card(staff("larare.ostra"), child, **card_payload("skola-ostra"))
    core.assign_barnkontakt(staff(BK), child, staff_id=BK)
    core.hold_conversation(staff(BK), child, **conversation_payload())
    core.decide_team(staff(BK), child, decision="barnteam", family_informed=True, member_unit_ids=["skola-ostra", "elevhalsa-ostra"])
    return child


def signed_in(browser: Browser, hub: ServedHub, name: str, *, phone: bool) -> Page:
    page = new_page(browser, phone=phone)
    page.goto(hub.url + "/sign-in")
    page.get_by_role("button", name=name).click()
    return page


def question(page: Page, indicator: Indicator) -> object:
    return page.get_by_role("group", name=INDICATORS[indicator].statement_sv)


def test_the_rating_form_by_age_and_the_figures_on_a_phone_and_a_desktop(hub: ServedHub, browser: Browser) -> None:
    shots = Shots("rating-form")
    year = hub.clock().astimezone(SWEDISH_TIME).year
    five = teamed(hub, date(year - 5, 1, 1), "Elsa")  # five the whole year, whatever day the test runs
    twelve = teamed(hub, date(year - 12, 1, 1), "Noah")
    hub.runtime.hub.submit_rating(staff("kurator.ostra"), five, scores=[{"area": "halsa", "indicator": "halsa-psykisk", "score": 2}])

    phone = signed_in(browser, hub, "Rektor Ostra", phone=True)
    phone.goto(f"{hub.url}/staff/children/{five}/rating")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Skattningsformulär")
    scale = phone.get_by_role("region", name="Så läser du skalan")
    expect(scale).to_contain_text("Behovet är långt ifrån tillgodosett")
    expect(scale).to_contain_text("Behovet är helt tillgodosett")
    expect(scale).to_contain_text("Vet ej")
    expect(phone.get_by_text("Frågorna är de som gäller barn i åldern 4–6 år.")).to_be_visible()
    for indicator in (Indicator.TRYGGHET_KRIMINELLA_NATVERK, Indicator.TRYGGHET_HEDER, Indicator.ANSVAR_UNDERVISNING):
        expect(question(phone, indicator)).to_have_count(0)  # type: ignore[attr-defined]
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form is {width} px wide on a 390 px phone"
    shots.visit(phone, "rating-five-year-old-phone")

    question(phone, Indicator.TRYGGHET_HEMMA).get_by_label("4", exact=True).check()  # type: ignore[attr-defined]
    question(phone, Indicator.UTVECKLAS_ALDER).get_by_label("2", exact=True).check()  # type: ignore[attr-defined]
    phone.get_by_role("button", name="Skicka skattningen").click()
    expect(phone.get_by_role("status")).to_have_text("Tack, din skattning är registrerad.")
    expect(phone.get_by_text("För Barnkontakten: 2 skattningar har kommit in")).to_be_visible()  # hers and pupil health's
    shots.visit(phone, "compass-count-of-ratings-phone")

    desktop = signed_in(browser, hub, "Rektor Ostra", phone=False)
    desktop.goto(f"{hub.url}/staff/children/{twelve}/rating")
    expect(question(desktop, Indicator.TRYGGHET_KRIMINELLA_NATVERK)).to_have_count(1)  # type: ignore[attr-defined]
    expect(desktop.get_by_text("Frågorna är de som gäller barn i åldern 10–12 år.")).to_be_visible()
    shots.visit(desktop, "rating-twelve-year-old-desktop")
    desktop.get_by_role("button", name="Skicka skattningen").click()
    expect(desktop.get_by_role("alert")).to_contain_text("Ge minst en skattning")
    shots.visit(desktop, "rating-refused-empty")

    phone.goto(f"{hub.url}/follow-up")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Uppföljning")
    phone.get_by_label("Mått", exact=True).select_option(label="Upptäckarkort")
    phone.get_by_role("button", name="Visa siffrorna").click()
    expect(phone.get_by_role("heading", level=2, name="Upptäckarkort")).to_be_visible()
    expect(phone.get_by_role("heading", level=2, name="Hembesök")).to_have_count(0)
    assert "figure=discovery_cards" in str(phone.get_by_role("link", name="Ladda ner siffrorna som CSV").get_attribute("href"))
    shots.visit(phone, "follow-up-filtered-phone")
    phone.context.close()
    desktop.context.close()
