"""The pages' sign-in, sign-out, language switch and protective headers, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.identity.sessions import cookie_names
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import GUARDIAN_1_PNR, START, directory
from tests.web.conftest import BASE_URL, post_sign_in, sign_in_token

COOKIES = cookie_names(secure=True)


def sign_in(client: TestClient[Any], **form: str) -> Any:
    return post_sign_in(client, **form)


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
    assert f"{COOKIES.session}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie


def test_over_https_the_session_cookie_is_a_host_cookie_that_no_sibling_site_can_set(client: TestClient[Any]) -> None:
    """ASVS 4.0 V3.4.4: a ``__Host-`` cookie is Secure, Path=/ and has no Domain, so a sibling
    subdomain or a plain-http answer cannot plant a signed-in session in the browser."""
    answer = sign_in(client, kind="staff", user="rektor.ostra")

    set_session = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{COOKIES.session}="))
    name_value, *attributes = [part.strip() for part in set_session.split(";")]
    assert COOKIES.session == "__Host-backa_session" and len(name_value) > len("__Host-backa_session=") + 40
    flags = {a.split("=")[0].lower(): a.partition("=")[2].lower() for a in attributes}
    assert flags.keys() >= {"path", "secure", "httponly", "samesite"} and "domain" not in flags
    assert flags["path"] == "/" and flags["samesite"] == "strict"


def test_a_plainly_named_session_cookie_planted_by_a_sibling_site_signs_no_one_in(rt: Runtime) -> None:
    """A sibling subdomain sets ``backa_session`` for the parent domain, holding a session of
    the attacker's own (login CSRF by cookie injection); the hub reads only its __Host- cookie."""
    with TestClient(create_app(rt), base_url=BASE_URL) as attacker, TestClient(create_app(rt), base_url=BASE_URL) as victim:
        post_sign_in(attacker, kind="staff", user="rektor.ostra")
        attackers_session = attacker.cookies[COOKIES.session]
        assert attacker.get("/api/v1/sessions/current").status_code == 200

        victim.cookies.set("backa_session", attackers_session, domain=".testserver.local", path="/")

        assert victim.get("/api/v1/sessions/current").status_code == 401
        assert victim.get("/staff", follow_redirects=False).headers["location"].startswith("/sign-in")


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
    assert COOKIES.session not in client.cookies


def test_demo_sign_in_is_refused_outside_demo_mode(tmp_path: Any) -> None:
    issuers = tmp_path / "issuers.toml"
    issuers.write_text("")
    runtime = bootstrap(
        Settings(store="memory", demo_mode=False, issuers_file=issuers), clock=SettableClock(START), directory=directory()
    )
    try:
        with TestClient(create_app(runtime), base_url=BASE_URL) as c:
            page = c.get("/sign-in")
            refused = c.post("/sign-in/demo", data={"kind": "staff", "user": "rektor.ostra"}, follow_redirects=False)
            assert refused.status_code in (401, 403) and COOKIES.session not in c.cookies
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


# -- login CSRF: another site's page cannot sign a browser in --------------------------------


EVIL = {"Origin": "https://evil.example"}
CROSS_SITE = {"Sec-Fetch-Site": "cross-site"}


def attackers_token(rt: Runtime) -> str:
    assert rt.demo_issuer is not None
    return rt.demo_issuer.staff_token("ystad", "larare.ostra", "skola-ostra", ["discoverer"])


def assert_not_signed_in(client: TestClient[Any], answer: Any) -> None:
    assert COOKIES.session not in answer.headers.get("set-cookie", "")
    assert COOKIES.session not in client.cookies
    assert client.get("/api/v1/sessions/current").status_code == 401


@pytest.mark.parametrize("headers", [EVIL, CROSS_SITE, {**EVIL, **CROSS_SITE}], ids=["origin", "fetch-site", "both"])
def test_another_sites_form_with_the_attackers_sign_in_is_refused_and_sets_no_session(
    client: TestClient[Any], headers: dict[str, str]
) -> None:
    """The attack replayed: a page on evil.example posts its own sign-in to the hub, without
    the victim's form token, which it cannot read. (Pasted tokens are for the API alone, so
    the demo's form is the one sign-in form left to forge.)"""
    client.get("/sign-in")  # the victim has the sign-in page open, and its pre-session cookie

    answer = client.post("/sign-in/demo", data={"kind": "staff", "user": "larare.ostra"}, headers=headers, follow_redirects=False)

    assert answer.status_code == 403
    assert_not_signed_in(client, answer)


def test_a_sign_in_form_without_the_pre_session_token_is_refused(client: TestClient[Any]) -> None:
    """Even where the browser sends neither Origin nor Sec-Fetch-Site."""
    client.get("/sign-in")

    answer = client.post("/sign-in/demo", data={"kind": "staff", "user": "larare.ostra"}, follow_redirects=False)

    assert answer.status_code == 403
    assert "Inloggningsformuläret är inaktuellt" in answer.text
    assert_not_signed_in(client, answer)


def test_the_attackers_own_valid_form_token_does_not_fit_the_victims_browser(rt: Runtime, client: TestClient[Any]) -> None:
    """The token is bound to the pre-session cookie: one fetched by the attacker's browser
    is worthless in the victim's, which holds another pre-session."""
    with TestClient(create_app(rt), base_url=BASE_URL) as attacker:
        stolen = sign_in_token(attacker)
    client.get("/sign-in")

    answer = client.post(
        "/sign-in/demo", data={"kind": "staff", "user": "larare.ostra", "sign_in_token": stolen}, follow_redirects=False
    )

    assert answer.status_code == 403
    assert_not_signed_in(client, answer)


def test_the_sign_in_page_of_this_site_signs_in_and_drops_the_pre_session(client: TestClient[Any]) -> None:
    token = sign_in_token(client)
    assert COOKIES.pre_session in client.cookies

    answer = client.post(
        "/sign-in/demo",
        data={"kind": "staff", "user": "larare.ostra", "sign_in_token": token},
        headers={"Origin": BASE_URL, "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )

    assert answer.status_code == 303 and answer.headers["location"] == "/staff"
    assert COOKIES.session in client.cookies and COOKIES.pre_session not in client.cookies


def test_a_form_from_another_site_cannot_act_in_a_signed_in_session(client: TestClient[Any]) -> None:
    """Every form that changes something is checked for where it came from, before its token."""
    post_sign_in(client, kind="staff", user="rektor.ostra")
    csrf = client.get("/api/v1/sessions/current").json()["csrf_token"]

    refused = client.post("/sign-out", data={"csrf_token": csrf}, headers=CROSS_SITE, follow_redirects=False)

    assert refused.status_code == 403
    assert client.get("/api/v1/sessions/current").status_code == 200


def test_signing_in_again_ends_the_session_the_browser_held_before(rt: Runtime, client: TestClient[Any]) -> None:
    post_sign_in(client, kind="staff", user="rektor.ostra")
    earlier = client.cookies[COOKIES.session]

    post_sign_in(client, kind="guardian", personnummer=GUARDIAN_1_PNR)

    assert client.cookies[COOKIES.session] != earlier
    with TestClient(create_app(rt), base_url=BASE_URL) as elsewhere:
        elsewhere.cookies.set(COOKIES.session, earlier, domain="testserver.local")
        assert elsewhere.get("/api/v1/sessions/current").status_code == 401
    assert client.get("/api/v1/sessions/current").json()["kind"] == "guardian"


# -- limits ---------------------------------------------------------------------------------------


def test_a_burst_of_sign_ins_as_one_person_is_answered_too_many_with_when_to_return(client: TestClient[Any]) -> None:
    """The attack replayed: 300 sign-ins in a burst. The defaults let ten through for one person."""
    answers = [post_sign_in(client, kind="staff", user="rektor.ostra").status_code for _ in range(300)]

    assert answers[:10] == [303] * 10
    assert set(answers[10:]) == {429}
    page = post_sign_in(client, kind="staff", user="rektor.ostra")
    assert page.status_code == 429 and 0 < int(page.headers["retry-after"]) <= 60
    assert "För många inloggningar" in page.text


def test_a_burst_of_sign_ins_from_one_address_is_stopped_whoever_it_names(client: TestClient[Any]) -> None:
    """Guessing people: each attempt names another, and the address's limit (30 a minute) stops it."""
    token = sign_in_token(client)
    answers = [
        client.post("/sign-in/demo", data={"kind": "staff", "user": f"guess-{n}", "sign_in_token": token},
                    follow_redirects=False).status_code
        for n in range(300)
    ]

    assert answers[:30] == [401] * 30
    assert set(answers[30:]) == {429}
