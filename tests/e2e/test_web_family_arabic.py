"""A guardian who reads Arabic better than Swedish answers a consent request on her phone:
she chooses العربية on the family page, reads the request right to left, says yes, keeps
the receipt with the binding Swedish wording beside it, and takes the yes back. Every page
is screenshotted and checked with axe-core; no page is wider than the phone.

The texts expected are read from the Arabic catalogue itself, so the walk checks the pages
the translators' wording gives, whatever it says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from playwright.sync_api import Browser, Page, expect

from hub.web import i18n
from hub.web.i18n import Catalogue, load_catalogue
from tests.conftest import family
from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR
from tests.web.test_family_pages import PURPOSE, child_with_request

PHONE_WIDTH = 390
"""The phone viewport's width in CSS pixels (tests/e2e/browser.py)."""


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


@pytest.fixture
def arabic() -> Catalogue:
    """The Arabic catalogue the pages read: the family's texts must be there."""
    assert (i18n.LOCALES / "ar" / "consent.po").is_file(), "the Arabic catalogue of the family pages is missing"
    return load_catalogue("ar", i18n.LOCALES)


def fits_the_phone(page: Page) -> None:
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    assert width <= PHONE_WIDTH, f"{page.url} is {width} px wide on a {PHONE_WIDTH} px phone"


def test_a_guardian_answers_and_withdraws_a_consent_in_arabic_on_a_phone(hub: ServedHub, browser: Browser, arabic: Catalogue) -> None:
    t = arabic.gettext
    child, consent = child_with_request(hub.runtime)
    hub.runtime.hub.grant_consent(family(hub.runtime, GUARDIAN_2_PNR), child, consent)  # the other guardian said yes
    shots = Shots("family-arabic-phone")

    page = new_page(browser, phone=True, locale="ar")
    page.goto(hub.url + "/sign-in")
    page.get_by_label("Personnummer").fill(GUARDIAN_1_PNR)
    page.get_by_label("Jag är vårdnadshavare").check()
    page.get_by_role("button", name="Logga in", exact=True).click()
    expect(page).to_have_url(hub.url + "/family")

    page.get_by_role("navigation", name="Språk").get_by_role("link", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("navigation", name=t("Language")).get_by_text("العربية")).to_have_attribute("aria-current", "true")
    fits_the_phone(page)
    shots.visit(page, "children-in-arabic")

    page.get_by_role("link", name=re.compile("^" + re.escape(t("Consent requests")))).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(t("Consent requests"))
    request = page.get_by_role("region", name=t("Request: {purpose}", purpose=PURPOSE))
    expect(request).to_contain_text(t("family:status:pending"))
    heading = page.get_by_role("heading", level=1).bounding_box()
    assert heading is not None and heading["x"] + heading["width"] > PHONE_WIDTH * 0.8, "the heading starts at the right"
    fits_the_phone(page)
    shots.visit(page, "consent-request-in-arabic")

    request.get_by_role("button", name=re.compile("^" + re.escape(t("Yes, I consent")))).click()
    expect(page.get_by_role("status")).to_have_text(t("family:done:granted"))
    expect(request).to_contain_text(t("family:status:in_effect"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    fits_the_phone(page)
    shots.visit(page, "consent-granted-in-arabic")

    receipt_link = request.get_by_role("link", name=re.compile("^" + re.escape(t("Receipt to print or save"))))
    page.goto(hub.url + str(receipt_link.get_attribute("href")))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Receipt of consent"))
    binding = page.locator("section.binding-wording")
    expect(binding).to_have_attribute("lang", "sv")
    expect(binding).to_contain_text("Den svenska texten gäller")
    expect(binding).to_contain_text(PURPOSE)
    answered = page.locator('section[lang="ar"][dir="rtl"]')  # the wording in the language the yes was given in
    expect(answered).to_contain_text(t("What you answered"))
    expect(answered).to_contain_text(PURPOSE)
    fits_the_phone(page)
    shots.visit(page, "receipt-in-arabic-with-swedish")

    page.go_back()
    page.get_by_role("region", name=t("Request: {purpose}", purpose=PURPOSE)).get_by_role(
        "link", name=re.compile("^" + re.escape(t("Withdraw consent")))
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Withdraw the consent?"))
    fits_the_phone(page)
    shots.visit(page, "withdraw-confirm-in-arabic")
    page.get_by_role("button", name=t("Yes, withdraw the consent")).click()
    expect(page.get_by_role("status")).to_have_text(t("family:done:withdrawn"))
    expect(page.get_by_role("region", name=t("Request: {purpose}", purpose=PURPOSE))).to_contain_text(t("family:status:withdrawn"))
    fits_the_phone(page)
    shots.visit(page, "consent-withdrawn-in-arabic")

    gone = hub.runtime.hub.consent_overview(family(hub.runtime, GUARDIAN_1_PNR), UUID(str(child)))
    assert [c.status.value for c in gone if c.consent_id == consent] == ["withdrawn"]
    view = hub.runtime.hub.read_child(family(hub.runtime, GUARDIAN_1_PNR), UUID(str(child)), purpose="Family: consent receipt", view="family_view")
    answers = [(i.type, i.fields.get("language")) for i in view.items if i.type in ("ConsentGranted", "ConsentWithdrawn")]
    assert {("ConsentGranted", "ar"), ("ConsentWithdrawn", "ar")} <= set(answers)  # each of hers records the language read
