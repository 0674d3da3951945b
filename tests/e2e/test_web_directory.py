"""Done when: an administrator adds a unit and a member of staff in the browser and they can
sign in at once on every process; once removed, they are refused there too.

Two hub processes share one PostgreSQL schema, each served on its own port, and staff sign in
at a real OpenID provider whose issuer maps no roles: who works where, with which roles, is
the directory's, kept by the administrator on the pages of the first process.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import postgres_url
from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import TENANT
from tests.oidc_provider import Provider, issuers_file, running_provider

pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")  # the provider's own use of Authlib

POLL_SECONDS = 0.2


@pytest.fixture(scope="module")
def staff_idp() -> Iterator[Provider]:
    with running_provider() as provider:
        provider.user("admin.ystad", tenant=TENANT)  # no unit, no roles: the directory gives them
        provider.user("pia.pedagog", tenant=TENANT)
        yield provider


@pytest.fixture(scope="module")
def eid() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture
def processes(
    tmp_path: Path, pg_schema: str, staff_idp: Provider, eid: Provider, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ServedHub, ServedHub]]:
    """Two processes of one hub on one PostgreSQL schema, the directory read again every POLL_SECONDS."""
    monkeypatch.setenv("BACKA_TEST_EID_SECRET", "another-secret")
    config = tmp_path / "config"
    config.mkdir()
    (tmp_path / "witness").mkdir()
    settings = {
        "store": "postgres", "database_url": postgres_url(pg_schema), "issuers_file": issuers_file(config, staff_idp, eid),
        "kek": secrets.token_hex(32), "checkpoint_key_file": tmp_path / "keys" / "transparency.key",
        "witness_dir": tmp_path / "witness", "directory_poll_seconds": POLL_SECONDS,
    }
    first = serve(tmp_path / "data", demo_mode=False, **settings)
    second = serve(tmp_path / "data", demo_mode=False, **settings)
    yield first, second
    second.close()
    first.close()


def sign_in(page: Page, hub: ServedHub, provider: Provider, sub: str, wanted: str) -> None:
    page.goto(hub.url + wanted)
    page.get_by_role("link", name="Logga in via Ystads kommun").click()
    expect(page).to_have_url(re.compile(re.escape(f"{provider.issuer}/oauth2/authorize?")))
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_a_unit_and_a_member_of_staff_added_in_the_browser_sign_in_at_once_on_another_process_until_removed(
    processes: tuple[ServedHub, ServedHub], browser: Browser, staff_idp: Provider
) -> None:
    first, second = processes
    shots = Shots("directory")
    admin = new_page(browser)
    sign_in(admin, first, staff_idp, "admin.ystad", "/administration")
    expect(admin).to_have_url(first.url + "/administration")
    admin.get_by_role("link", name="Enheter, medarbetare, roller och delegeringar").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Enheter och medarbetare")
    shots.visit(admin, "directory")

    admin.locator("#unit-name").fill("Förskolan Månen")
    admin.locator("#unit-kind").select_option("preschool")
    admin.locator("#unit-unit_id").fill("forskola-manen")
    admin.get_by_role("button", name="Lägg till enheten").click()
    expect(admin.get_by_role("status")).to_have_text("Enheten lades till.")

    admin.get_by_role("button", name="Lägg till medarbetaren").click()  # nothing filled in: each field says what is missing
    expect(admin.locator("#staff-name-error")).to_be_visible()
    expect(admin.locator("#staff-roles-error")).to_have_text("Kryssa i minst en roll.")
    shots.visit(admin, "add-staff-refused")

    admin.locator("#staff-name").fill("Pia Pedagog")
    admin.locator("#staff-title").fill("Förskollärare")
    admin.locator("#staff-user_id").fill("pia.pedagog")
    admin.locator("#staff-unit_id").select_option("forskola-manen")
    staff_form = admin.locator("form[action='/administration/directory/staff']")
    staff_form.get_by_label("Barnkontakt", exact=True).check()
    staff_form.get_by_label("Upptäckare", exact=True).check()
    admin.get_by_role("button", name="Lägg till medarbetaren").click()
    expect(admin.get_by_role("status")).to_have_text("Medarbetaren lades till.")
    expect(admin.get_by_role("link", name="Pia Pedagog")).to_be_visible()
    shots.visit(admin, "staff-added")

    pia = new_page(browser)
    sign_in(pia, second, staff_idp, "pia.pedagog", "/staff")
    expect(pia).to_have_url(second.url + "/staff")
    expect(pia.get_by_role("heading", level=1)).to_have_text("Ärenden")
    expect(pia.locator(".who")).to_have_text("Pia Pedagog, Förskolan Månen")
    session = pia.context.request.get(second.url + "/api/v1/sessions/current").json()
    assert session["unit_id"] == "forskola-manen" and sorted(session["roles"]) == ["barnkontakt", "discoverer"]
    shots.visit(pia, "new-staff-case-list")

    admin.get_by_role("link", name="Pia Pedagog").click()
    admin.get_by_role("button", name="Ta bort Pia Pedagog").click()
    expect(admin.get_by_role("status")).to_have_text("Medarbetaren togs bort.")
    admin.goto(first.url + "/directory/history")
    expect(admin.get_by_role("row").nth(1)).to_contain_text("Medarbetare borttagen")
    shots.visit(admin, "history")

    deadline = time.monotonic() + 20 * POLL_SECONDS + 10
    while True:  # a fresh browser each time, as the person would try again
        again = new_page(browser)
        sign_in(again, second, staff_idp, "pia.pedagog", "/staff")
        again.wait_for_load_state()
        refused = again.get_by_role("heading", name="Du behöver logga in").count() == 1
        again.context.close()
        if refused:
            break
        assert time.monotonic() < deadline, "the second process still lets a removed member of staff sign in"
        time.sleep(POLL_SECONDS / 2)
