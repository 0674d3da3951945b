"""The pages' sign-in, sign-out, language switch and protective headers, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import GUARDIAN_1_PNR, START, directory
from tests.web.conftest import BASE_URL


def sign_in(client: TestClient[Any], **form: str) -> Any:
    return client.post("/sign-in/demo", data=form, follow_redirects=False)


def test_the_start_page_sends_a_stranger_to_sign_in_and_a_signed_in_user_home(client: TestClient[Any]) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    sign_in(client, kind="guardian", personnummer=GUARDIAN_1_PNR)
    assert client.get("/", follow_redirects=False).headers["location"] == "/family"


@pytest.mark.parametrize(
    ("user", "home"),
    [("rektor.ostra", "/staff"), ("granskare.ystad", "/audit"), ("admin.ystad", "/follow-up"), ("larare.ostra", "/staff")],
)
def test_each_member_of_staff_lands_on_the_page_of_their_role(client: TestClient[Any], user: str, home: str) -> None:
    answer = sign_in(client, kind="staff", user=user)

    assert answer.status_code == 303 and answer.headers["location"] == home
    cookie = answer.headers["set-cookie"]
    assert "backa_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_sign_in_never_sends_anyone_to_another_site(client: TestClient[Any], target: str) -> None:
    answer = sign_in(client, kind="staff", user="rektor.ostra", next=target)

    assert answer.headers["location"] == "/staff"


def test_sign_in_returns_to_the_page_that_asked_for_it(client: TestClient[Any]) -> None:
    wanted = client.get("/staff/cards/new?child_id=x", follow_redirects=False)
    assert wanted.status_code == 303 and wanted.headers["location"].startswith("/sign-in?next=/staff/cards/new")

    answer = sign_in(client, kind="staff", user="larare.ostra", next="/staff/cards/new?child_id=x")

    assert answer.headers["location"] == "/staff/cards/new?child_id=x"


def test_an_unknown_demo_user_or_a_bad_number_is_not_signed_in(client: TestClient[Any]) -> None:
    assert sign_in(client, kind="staff", user="nobody").status_code == 401
    assert sign_in(client, kind="guardian", personnummer="198203142397").status_code == 401
    assert "backa_session" not in client.cookies


def test_demo_sign_in_is_refused_outside_demo_mode(tmp_path: Any) -> None:
    issuers = tmp_path / "issuers.toml"
    issuers.write_text("")
    runtime = bootstrap(
        Settings(store="memory", demo_mode=False, issuers_file=issuers), clock=SettableClock(START), directory=directory()
    )
    try:
        with TestClient(create_app(runtime), base_url=BASE_URL) as c:
            assert sign_in(c, kind="staff", user="rektor.ostra").status_code == 401
            page = c.get("/sign-in")
            assert page.status_code == 200 and 'action="/sign-in/demo"' not in page.text
            assert "/sign-in/token" not in page.text, "pasted tokens are for the API only"
            assert c.post("/sign-in/token", data={"token": "x"}, follow_redirects=False).status_code in (404, 405)
    finally:
        runtime.close()


def test_signing_out_needs_the_pages_token_and_ends_the_session(client: TestClient[Any]) -> None:
    sign_in(client, kind="staff", user="rektor.ostra")
    session = client.get("/api/v1/sessions/current")
    assert session.status_code == 200

    refused = client.post("/sign-out", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/api/v1/sessions/current").status_code == 200

    out = client.post("/sign-out", data={"csrf_token": session.json()["csrf_token"]}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/sign-in?signed_out=1"
    assert client.get("/staff", follow_redirects=False).headers["location"].startswith("/sign-in")


def test_the_language_switch_remembers_english_and_only_known_languages(client: TestClient[Any]) -> None:
    assert 'lang="sv"' in client.get("/sign-in").text
    switched = client.get("/language/en?next=/sign-in", follow_redirects=False)
    assert switched.headers["location"] == "/sign-in"
    page = client.get("/sign-in")
    assert 'lang="en"' in page.text and "<h1>Sign in</h1>" in page.text
    client.get("/language/xx")
    assert 'lang="sv"' in client.get("/sign-in").text


def test_pages_are_never_cached_framed_or_allowed_scripts_from_elsewhere(client: TestClient[Any]) -> None:
    page = client.get("/sign-in")

    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    style = client.get("/static/site.css")
    assert style.status_code == 200 and style.headers.get("cache-control") != "no-store", "the stylesheet may be cached"
