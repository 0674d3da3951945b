"""A guardian on a phone reads "who has seen" after a year of Alva's support: the page
stays within a few screens, and the check of one read works on the phone too. Each page
is screenshotted and checked with axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import GUARDIAN_1_PNR
from tests.history import a_year_of_reads, alva_with_three_cards

PHONE_SCREEN = 844
"""The phone viewport's height in CSS pixels (tests/e2e/browser.py)."""
SCREENS = 4


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


def page_height(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollHeight"))


def test_a_year_of_reads_fits_in_a_few_phone_screens_and_a_read_can_be_checked(hub: ServedHub, browser: Browser) -> None:
    end = hub.clock.now
    hub.clock.set(end - timedelta(days=366))
    child = alva_with_three_cards(hub.runtime.hub)
    reads = a_year_of_reads(hub.runtime, hub.clock, child, start=end - timedelta(days=365))
    hub.clock.set(end)
    assert reads > 400, "a year of a Barnkontakt's case list, the child's page and the senders' looks"

    shots = Shots("family-access-log-phone")
    page = new_page(browser, phone=True)
    page.goto(hub.url + "/sign-in")
    page.get_by_label("Personnummer").fill(GUARDIAN_1_PNR)
    page.get_by_label("Jag är vårdnadshavare").check()
    page.get_by_role("button", name="Logga in", exact=True).click()
    page.goto(f"{hub.url}/family/children/{child}/access-log")

    expect(page.get_by_role("heading", level=1)).to_have_text("Vem har sett mitt barns uppgifter")
    months = page.locator("details.log-month")
    assert 12 <= months.count() <= 13
    newest = months.first
    expect(newest.locator("summary").first).to_contain_text(re.compile(r"\d+ gånger"))
    expect(newest.locator("details.log-unit summary", has_text="Skola Ostra tittade på uppgifter om Alva Lind")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("Vårdnadshavare ser sitt barns uppgifter")
    height = page_height(page)
    assert height < SCREENS * PHONE_SCREEN, f"{height} px is more than {SCREENS} phone screens"
    shots.visit(page, "a-year-collapsed")

    school = newest.locator("details.log-unit", has=page.locator("summary", has_text="Skola Ostra"))
    school.locator("summary").click()
    expect(school.locator("ol.log-reads li").first).to_contain_text("Varför")
    shots.visit(page, "one-unit-opened")

    page.get_by_label("Huvudman").select_option("police")
    page.get_by_role("button", name="Visa", exact=True).click()
    expect(page.locator("details.log-unit summary").first).to_contain_text("Polis Ystad")
    expect(page.locator("main")).not_to_contain_text("Skola Ostra tittade")
    shots.visit(page, "police-only")

    page.locator("details.log-unit summary").first.click()
    page.get_by_role("link", name=re.compile("^Kontrollera")).first.click()
    expect(page.get_by_role("status")).to_contain_text("Kontrollerad.")
    expect(page.get_by_role("link", name="Ladda ner beviset (JSON-fil)")).to_be_visible()
    shots.visit(page, "read-verified")
