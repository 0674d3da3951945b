"""Staff and a guardian sign in through the browser at real OpenID providers (the
organisation's and an e-ID broker), land on their pages, and sign out at the provider too.

The providers are addressed as ``localhost`` and the hub as ``127.0.0.1``: to Chromium two
sites, as a real provider and the hub are, so the cookies' SameSite rules are tried as
they will be used.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from hub.identity.sessions import cookie_names
from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import GUARDIAN_1_PNR, TENANT
from tests.oidc_provider import Provider, issuers_file, running_provider

COOKIES = cookie_names(secure=True)  # the served hub sends Secure cookies

pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")  # the provider's own use of Authlib


@pytest.fixture(scope="module")
def staff_idp() -> Iterator[Provider]:
    with running_provider() as provider:
        provider.user("rektor.ostra", tenant=TENANT, unit="skola-ostra", roles=["barnkontakt", "team_member"])
        yield provider


@pytest.fixture(scope="module")
def eid() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture
def hub(tmp_path: Path, staff_idp: Provider, eid: Provider, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedHub]:
    monkeypatch.setenv("BACKA_TEST_EID_SECRET", "another-secret")
    config = tmp_path / "config"
    config.mkdir()
    (tmp_path / "witness").mkdir()
    served = serve(
        tmp_path / "data", demo_mode=False, issuers_file=issuers_file(config, staff_idp, eid), kek=secrets.token_hex(32),
        checkpoint_key_file=tmp_path / "keys" / "transparency.key",  # outside the data folder, as outside demo mode it must be
        witness_dir=tmp_path / "witness",
    )
    yield served
    served.close()


def at_the_provider(page: Page, provider: Provider, sub: str) -> None:
    expect(page).to_have_url(re.compile(re.escape(f"{provider.issuer}/oauth2/authorize?") + ".*code_challenge_method=S256"))
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_a_member_of_staff_signs_in_at_the_organisations_provider_and_out_again(hub: ServedHub, browser: Browser, staff_idp: Provider) -> None:
    shots = Shots("oidc-sign-in")
    page = new_page(browser)
    page.goto(hub.url + "/staff")
    expect(page).to_have_url(hub.url + "/sign-in?next=/staff")
    expect(page.locator("textarea")).to_have_count(0)
    shots.visit(page, "sign-in-services")

    page.get_by_role("link", name="Logga in via Ystads kommun").click()
    at_the_provider(page, staff_idp, "rektor.ostra")

    expect(page).to_have_url(hub.url + "/staff")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies[COOKIES.session]["sameSite"] == "Strict" and cookies[COOKIES.session]["httpOnly"]
    assert COOKIES.sign_in not in cookies, "the pre-session cookie ends with the sign-in"
    shots.take(page, "staff-home")

    page.get_by_role("button", name="Logga ut").click()
    expect(page).to_have_url(re.compile(re.escape(f"{staff_idp.issuer}/oauth2/end_session?") + ".*id_token_hint="))
    page.get_by_role("button", name="End session").click()
    expect(page).to_have_url(hub.url + "/sign-in?signed_out=1")
    page.goto(hub.url + "/staff")
    expect(page).to_have_url(hub.url + "/sign-in?next=/staff")


def test_a_guardian_signs_in_with_e_id_on_a_phone_and_lands_on_the_family_page(hub: ServedHub, browser: Browser, eid: Provider) -> None:
    shots = Shots("oidc-sign-in-phone")
    page = new_page(browser, phone=True)
    page.goto(hub.url + "/sign-in")

    page.get_by_role("link", name="Logga in med e-legitimation via E-legitimation").click()
    at_the_provider(page, eid, GUARDIAN_1_PNR)

    expect(page).to_have_url(hub.url + "/family")
    shots.visit(page, "family-home")
