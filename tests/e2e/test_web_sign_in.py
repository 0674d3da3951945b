"""Signing in and out of the pages in a real Chromium, with the accessibility check on each page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from hub.identity.sessions import cookie_names
from tests.e2e.browser import ServedHub, Shots, new_page, serve

COOKIES = cookie_names(secure=True)  # the served hub sends Secure cookies


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


def test_the_start_page_offers_every_demo_role_in_swedish_and_passes_axe(hub: ServedHub, browser: Browser) -> None:
    shots = Shots("sign-in")
    page = new_page(browser)
    page.goto(hub.url + "/")

    expect(page).to_have_url(hub.url + "/sign-in")
    assert page.locator("html").get_attribute("lang") == "sv"
    expect(page.get_by_role("heading", level=1)).to_have_text("Logga in")
    for role in ("Barnkontakt", "Upptäckare", "Loggranskare", "Administratör"):
        expect(page.get_by_role("button", name=role).first).to_be_visible()
    expect(page.get_by_label("Personnummer")).to_be_visible()
    shots.visit(page, "sign-in")

    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    shots.visit(page, "sign-in-english")


def test_a_member_of_staff_signs_in_with_one_click_and_signs_out_again(hub: ServedHub, browser: Browser) -> None:
    page = new_page(browser)
    page.goto(hub.url + "/sign-in")

    page.get_by_role("button", name="Rektor Ostra").click()

    expect(page).to_have_url(hub.url + "/staff")
    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIES.session)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["secure"] and cookie["path"] == "/"
    assert COOKIES.session.startswith("__Host-"), "the browser keeps a __Host- cookie over http://127.0.0.1"
    page.get_by_role("button", name="Logga ut").click()
    expect(page).to_have_url(hub.url + "/sign-in?signed_out=1")
    assert COOKIES.session not in {c["name"] for c in page.context.cookies()}, "signing out drops the cookie"
    page.goto(hub.url + "/staff")
    expect(page).to_have_url(hub.url + "/sign-in?next=/staff")


def test_the_skip_link_is_the_first_stop_of_the_keyboard(hub: ServedHub, browser: Browser) -> None:
    page = new_page(browser)
    page.goto(hub.url + "/sign-in")

    page.keyboard.press("Tab")

    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Hoppa till innehållet"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_a_guardian_signs_in_with_the_demo_e_id_on_a_phone(hub: ServedHub, browser: Browser) -> None:
    shots = Shots("sign-in-phone")
    page = new_page(browser, phone=True)
    page.goto(hub.url + "/sign-in")
    shots.visit(page, "sign-in-phone")

    page.get_by_label("Personnummer").fill("198203142396")
    page.get_by_label("Jag är vårdnadshavare").check()
    page.get_by_role("button", name="Logga in").click()

    expect(page).to_have_url(hub.url + "/family")
