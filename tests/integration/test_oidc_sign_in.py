"""Signing in on the pages through OpenID Connect, against a real OpenID provider.

Two providers run beside the hub: the organisation's for staff and an e-ID broker for
guardians. The person's part at the provider (choosing who signs in) is a form post to
the provider's authorization endpoint; everything else is what a browser and the hub do.
"""

from __future__ import annotations

import hashlib
import html
import re
import socket
import time
from base64 import b64encode, urlsafe_b64encode
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.identity.oidc import OidcSignIn
from hub.identity.sessions import cookie_names
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import GUARDIAN_1_PNR, TENANT, directory
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, issuers_file, path_and_query, query, running_provider

BASE_URL = "https://testserver.local"
COOKIES = cookie_names(secure=True)
pytestmark = [  # the provider's own use of Authlib
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
]
STAFF = {"tenant": TENANT, "unit": "skola-ostra", "roles": ["barnkontakt", "team_member"]}


@pytest.fixture(scope="module")
def staff_idp() -> Iterator[Provider]:
    with running_provider() as provider:
        provider.user("rektor.ostra", **STAFF)
        yield provider


@pytest.fixture(scope="module")
def eid() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


def hub(tmp_path: Path, staff_idp: Provider, eid: Provider, **settings: Any) -> Runtime:
    clock = SettableClock(datetime.now(UTC))
    return bootstrap(
        Settings(store="memory", demo_mode=False, issuers_file=issuers_file(tmp_path, staff_idp, eid), **settings),
        clock=clock, directory=directory(),
    )


@pytest.fixture
def rt(tmp_path: Path, staff_idp: Provider, eid: Provider, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("BACKA_TEST_EID_SECRET", "another-secret")
    runtime = hub(tmp_path, staff_idp, eid)
    yield runtime
    runtime.close()


@pytest.fixture
def browser(rt: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(rt), base_url=BASE_URL) as c:
        yield c


def begin(browser: TestClient[Any], slug: str, next_page: str | None = None) -> str:
    answer = browser.get(f"/sign-in/oidc/{slug}" + (f"?next={next_page}" if next_page else ""), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def sign_in(browser: TestClient[Any], provider: Provider, slug: str, sub: str) -> Any:
    back = provider.authorize(begin(browser, slug), sub)
    return browser.get(path_and_query(back), follow_redirects=False)


def current(browser: TestClient[Any]) -> Any:
    return browser.get("/api/v1/sessions/current")


def test_a_member_of_staff_signs_in_at_the_organisations_provider(browser: TestClient[Any], staff_idp: Provider) -> None:
    page = sign_in(browser, staff_idp, "ystad", "rektor.ostra")

    assert page.status_code == 200 and 'http-equiv="refresh" content="0;url=/staff"' in page.text
    session = current(browser).json()
    assert (session["kind"], session["tenant_id"], session["user_id"], session["unit_id"]) == ("staff", TENANT, "rektor.ostra", "skola-ostra")
    assert set(session["roles"]) == {"barnkontakt", "team_member"}
    assert browser.get("/staff").status_code == 200


def test_a_guardian_signs_in_with_e_id_and_reaches_the_family_pages(browser: TestClient[Any], eid: Provider) -> None:
    page = sign_in(browser, eid, "e-legitimation", GUARDIAN_1_PNR)

    assert page.status_code == 200 and "url=/family" in page.text
    session = current(browser).json()
    assert session["kind"] == "guardian" and session["roles"] == ["guardian"] and session["unit_id"] is None
    assert GUARDIAN_1_PNR not in session["user_id"], "a guardian is known by a blind index, never the number"
    assert browser.get("/family").status_code == 200


def test_the_provider_is_asked_with_state_nonce_and_an_s256_challenge(browser: TestClient[Any], staff_idp: Provider) -> None:
    asked = query(begin(browser, "ystad"))

    assert asked["client_id"] == CLIENT_ID and asked["response_type"] == "code"
    assert asked["scope"] == "openid profile"
    assert asked["redirect_uri"] == f"{BASE_URL}/sign-in/callback"
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 43 and len(asked["nonce"]) >= 43 and asked["state"] != asked["nonce"]
    cookie = browser.cookies.get(COOKIES.sign_in)
    assert cookie, "the answer is bound to this browser by a pre-session cookie"


def test_the_code_is_exchanged_with_the_client_secret_and_the_verifier_of_its_challenge(rt: Runtime, staff_idp: Provider) -> None:
    sent: list[httpx.Request] = []

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return super().handle_request(request)

    flow = OidcSignIn(rt.verifier, rt.hub.clock, transport=Recording())
    begun = flow.begin("ystad", f"{BASE_URL}/sign-in/callback", None)
    back = staff_idp.authorize(begun.authorization_url, "rektor.ostra")

    signed_in = flow.finish(query(back), begun.browser_cookie)

    assert signed_in.principal.user_id == "rektor.ostra"
    exchange = next(r for r in sent if r.url.path == "/oauth2/token")
    body = dict(parse_qsl(exchange.content.decode()))
    challenge = urlsafe_b64encode(hashlib.sha256(body["code_verifier"].encode()).digest()).rstrip(b"=").decode()
    assert challenge == query(begun.authorization_url)["code_challenge"]
    assert exchange.headers["authorization"] == "Basic " + b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


def test_an_answer_with_a_forged_state_starts_no_session(browser: TestClient[Any], staff_idp: Provider) -> None:
    back = staff_idp.authorize(begin(browser, "ystad"), "rektor.ostra")
    forged = back.replace(f"state={query(back)['state']}", "state=made-up-by-an-attacker")

    page = browser.get(path_and_query(forged), follow_redirects=False)

    assert page.status_code == 401 and COOKIES.session not in browser.cookies
    assert current(browser).status_code == 401


def test_a_replayed_answer_is_refused_the_second_time(browser: TestClient[Any], staff_idp: Provider) -> None:
    back = staff_idp.authorize(begin(browser, "ystad"), "rektor.ostra")
    assert browser.get(path_and_query(back), follow_redirects=False).status_code == 200
    browser.cookies.clear()

    replayed = browser.get(path_and_query(back), follow_redirects=False)

    assert replayed.status_code == 401 and "redan använd" in replayed.text
    assert current(browser).status_code == 401


def test_an_answer_planted_in_another_browser_starts_no_session(browser: TestClient[Any], staff_idp: Provider) -> None:
    """Login CSRF through the callback: the attacker's own answer, opened in the victim's browser."""
    back = staff_idp.authorize(begin(browser, "ystad"), "rektor.ostra")
    with TestClient(browser.app, base_url=BASE_URL) as victim:
        page = victim.get(path_and_query(back), follow_redirects=False)

        assert page.status_code == 401 and "en annan webbläsare" in page.text
        assert COOKIES.session not in victim.cookies
    assert browser.get(path_and_query(back), follow_redirects=False).status_code == 200, "the planting spent nothing"


def test_an_id_token_for_another_sign_in_is_refused_by_its_nonce(browser: TestClient[Any], staff_idp: Provider) -> None:
    asked = begin(browser, "ystad")
    tampered = asked.replace(f"nonce={query(asked)['nonce']}", "nonce=the-nonce-of-another-sign-in")
    back = staff_idp.authorize(tampered, "rektor.ostra")

    page = browser.get(path_and_query(back), follow_redirects=False)

    assert page.status_code == 401 and "nonce skiljer sig" in page.text
    assert current(browser).status_code == 401


def test_an_id_token_for_another_audience_is_refused(browser: TestClient[Any], staff_idp: Provider) -> None:
    staff_idp.user("someone.else", **STAFF, aud="another-application")
    back = staff_idp.authorize(begin(browser, "ystad"), "someone.else")

    page = browser.get(path_and_query(back), follow_redirects=False)

    assert page.status_code == 401 and "en annan mottagare" in page.text
    assert current(browser).status_code == 401


def test_a_code_issued_to_another_client_is_refused(browser: TestClient[Any], staff_idp: Provider) -> None:
    asked = begin(browser, "ystad")
    back = staff_idp.authorize(asked.replace(f"client_id={CLIENT_ID}", "client_id=another-application"), "rektor.ostra")

    page = browser.get(path_and_query(back), follow_redirects=False)

    assert page.status_code == 401 and current(browser).status_code == 401


def test_an_id_token_from_the_other_trusted_provider_is_refused(browser: TestClient[Any], staff_idp: Provider, eid: Provider) -> None:
    """Mix-up: the answer names the e-ID broker, though the sign-in went to the staff provider."""
    back = staff_idp.authorize(begin(browser, "ystad"), "rektor.ostra")

    page = browser.get(path_and_query(back) + f"&iss={eid.issuer}", follow_redirects=False)

    assert page.status_code == 401 and current(browser).status_code == 401


def test_a_staff_provider_cannot_sign_in_a_guardian(browser: TestClient[Any], staff_idp: Provider) -> None:
    staff_idp.user(GUARDIAN_1_PNR, tenant=TENANT, kind="guardian")

    page = sign_in(browser, staff_idp, "ystad", GUARDIAN_1_PNR)

    assert page.status_code == 401 and "personalkatalog" in page.text  # a person the directory does not know
    assert current(browser).status_code == 401


def test_sign_in_returns_to_the_page_that_asked_and_never_to_another_site(browser: TestClient[Any], staff_idp: Provider) -> None:
    back = staff_idp.authorize(begin(browser, "ystad", "/staff/cards/new"), "rektor.ostra")
    assert "url=/staff/cards/new" in browser.get(path_and_query(back), follow_redirects=False).text

    back = staff_idp.authorize(begin(browser, "ystad", "//evil.example/x"), "rektor.ostra")
    assert "url=/staff\"" in browser.get(path_and_query(back), follow_redirects=False).text


@pytest.mark.parametrize("control", ["%09", "%0A", "%0D"])
def test_a_next_page_hiding_a_second_slash_behind_a_control_character_never_leads_to_another_site(
    browser: TestClient[Any], staff_idp: Provider, control: str
) -> None:
    """A browser drops tabs and line breaks from a URL, so ``/<tab>/evil.example`` in the
    page that moves on by itself would be ``//evil.example``: another site."""
    back = staff_idp.authorize(begin(browser, "ystad", f"/{control}/evil.example/x"), "rektor.ostra")
    page = browser.get(path_and_query(back), follow_redirects=False)

    assert page.status_code == 200 and 'content="0;url=/staff"' in page.text
    assert "evil.example" not in page.text


def test_signing_in_again_through_a_provider_ends_the_session_the_browser_held(
    browser: TestClient[Any], staff_idp: Provider
) -> None:
    """The provider's answer arrives by a navigation from its site, which a browser sends
    without the ``SameSite=Strict`` session cookie; the earlier session must end all the same."""
    sign_in(browser, staff_idp, "ystad", "rektor.ostra")
    earlier = browser.cookies[COOKIES.session]

    asked = begin(browser, "ystad")
    browser.cookies.delete(COOKIES.session)  # as the browser sends the provider's redirect back
    assert browser.get(path_and_query(staff_idp.authorize(asked, "rektor.ostra")), follow_redirects=False).status_code == 200

    assert browser.cookies[COOKIES.session] != earlier
    assert current(browser).status_code == 200
    with TestClient(browser.app, base_url=BASE_URL) as thief:
        thief.cookies.set(COOKIES.session, earlier)
        assert current(thief).status_code == 401, "the earlier session still answers"


def test_another_site_s_page_that_loads_the_sign_in_address_ends_no_session(browser: TestClient[Any], staff_idp: Provider) -> None:
    sign_in(browser, staff_idp, "ystad", "rektor.ostra")

    for site in ("same-site", "cross-site"):  # e.g. an <img> on a sibling host's page
        browser.get("/sign-in/oidc/ystad", headers={"Sec-Fetch-Site": site}, follow_redirects=False)

    assert current(browser).status_code == 200


def test_a_person_who_declines_at_the_provider_is_not_signed_in(browser: TestClient[Any], staff_idp: Provider) -> None:
    asked = begin(browser, "ystad")
    declined = httpx.post(asked, data={"action": "deny"}, timeout=5, follow_redirects=False)
    assert query(declined.headers["location"])["error"] == "access_denied"
    back = f"/sign-in/callback?error=access_denied&state={query(asked)['state']}"

    page = browser.get(back, follow_redirects=False)

    assert page.status_code == 401 and "loggade inte in dig" in page.text
    assert current(browser).status_code == 401


def test_an_id_token_issued_in_the_future_is_refused(browser: TestClient[Any], staff_idp: Provider) -> None:
    staff_idp.user("early.bird", **STAFF, iat=int(datetime.now(UTC).timestamp()) + 3600)

    page = sign_in(browser, staff_idp, "ystad", "early.bird")

    assert page.status_code == 401 and "utfärdad i framtiden" in page.text


def test_an_id_token_that_lives_until_the_year_9999_is_refused_not_a_500(browser: TestClient[Any], staff_idp: Provider) -> None:
    staff_idp.user("for.ever", **STAFF, exp=253402300799)

    page = sign_in(browser, staff_idp, "ystad", "for.ever")

    assert page.status_code == 401 and "gäller längre än tjänsten godtar" in page.text


def test_a_provider_that_is_down_gives_a_problem_page_not_a_500(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, eid: Provider) -> None:
    monkeypatch.setenv("BACKA_TEST_EID_SECRET", "another-secret")
    with running_provider() as gone:
        down = gone
    runtime = hub(tmp_path, down, eid, oidc_timeout_seconds=2)
    try:
        with TestClient(create_app(runtime), base_url=BASE_URL) as c:
            page = c.get("/sign-in/oidc/ystad", follow_redirects=False)

            assert page.status_code == 503 and "inloggningstjänsten går inte att nå" in page.text.lower()
            assert COOKIES.sign_in not in c.cookies
    finally:
        runtime.close()


def test_an_unknown_sign_in_service_is_refused(browser: TestClient[Any]) -> None:
    assert browser.get("/sign-in/oidc/nowhere", follow_redirects=False).status_code == 401


def test_signing_out_signs_out_at_the_provider_too(browser: TestClient[Any], staff_idp: Provider) -> None:
    sign_in(browser, staff_idp, "ystad", "rektor.ostra")
    csrf = current(browser).json()["csrf_token"]

    out = browser.post("/sign-out", data={"csrf_token": csrf}, follow_redirects=False)

    assert out.status_code == 200 and COOKIES.session not in browser.cookies
    found = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', out.text)
    assert found is not None
    location = html.unescape(found.group(1))
    assert location.startswith(f"{staff_idp.issuer}/oauth2/end_session?")
    asked = query(location)
    assert asked["post_logout_redirect_uri"] == f"{BASE_URL}/sign-in?signed_out=1" and asked["client_id"] == CLIENT_ID
    assert jwt.decode(asked["id_token_hint"], options={"verify_signature": False})["sub"] == "rektor.ostra"
    assert current(browser).status_code == 401


def test_the_sign_in_page_offers_each_service_and_no_token_box(browser: TestClient[Any]) -> None:
    page = browser.get("/sign-in").text

    assert 'href="/sign-in/oidc/ystad"' in page and "Logga in via Ystads kommun" in page
    assert 'href="/sign-in/oidc/e-legitimation"' in page and "Logga in med e-legitimation via E-legitimation" in page
    assert "/sign-in/token" not in page and "<textarea" not in page
    english = browser.get("/sign-in?lang=en").text
    assert "Sign in through Ystads kommun" in english



def test_the_provider_timeout_setting_bounds_how_long_a_silent_provider_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, eid: Provider
) -> None:
    """A provider that accepts the connection and never answers: a 503 page after the timeout."""
    monkeypatch.setenv("BACKA_TEST_EID_SECRET", "another-secret")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = Provider(f"http://localhost:{silent.getsockname()[1]}", None)  # type: ignore[arg-type]
        waited = {}
        for seconds in (0.5, 2.0):
            runtime = hub(tmp_path, mute, eid, oidc_timeout_seconds=seconds)
            try:
                with TestClient(create_app(runtime), base_url=BASE_URL) as c:
                    began = time.monotonic()
                    page = c.get("/sign-in/oidc/ystad", follow_redirects=False)
                    waited[seconds] = time.monotonic() - began
                    assert page.status_code == 503
            finally:
                runtime.close()
    assert waited[0.5] < 1.5 <= 2.0 <= waited[2.0] < 4


def logout(browser: TestClient[Any], slug: str, token: str) -> Any:
    return browser.post(f"/sign-in/backchannel-logout/{slug}", data={"logout_token": token}, follow_redirects=False)


def test_the_provider_ends_a_persons_sessions_by_back_channel_logout(browser: TestClient[Any], staff_idp: Provider) -> None:
    sign_in(browser, staff_idp, "ystad", "rektor.ostra")
    assert current(browser).status_code == 200

    with TestClient(browser.app, base_url=BASE_URL) as provider_side:
        answer = logout(provider_side, "ystad", staff_idp.logout_token(sub="rektor.ostra"))

    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert current(browser).status_code == 401
    assert browser.get("/staff", follow_redirects=False).headers["location"].startswith("/sign-in")


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"sub": "rektor.ostra", "events": None}, "event"),
        ({"sub": "rektor.ostra", "nonce": "an-id-token-is-not-a-logout-token"}, "not one"),
        ({"sub": None}, "neither a session nor a subject"),
        ({"sub": "rektor.ostra", "aud": "another-application"}, "another audience"),
        ({"sub": "rektor.ostra", "jti": None}, "jti"),
    ],
)
def test_a_logout_token_that_is_not_right_ends_nothing(
    browser: TestClient[Any], staff_idp: Provider, claims: dict[str, Any], why: str
) -> None:
    sign_in(browser, staff_idp, "ystad", "rektor.ostra")
    with TestClient(browser.app, base_url=BASE_URL) as provider_side:
        answer = logout(provider_side, "ystad", staff_idp.logout_token(**claims))

    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    assert why in answer.json()["error_description"]
    assert current(browser).status_code == 200


def test_a_logout_token_from_another_provider_or_used_twice_ends_nothing(
    browser: TestClient[Any], staff_idp: Provider, eid: Provider
) -> None:
    sign_in(browser, staff_idp, "ystad", "rektor.ostra")
    with TestClient(browser.app, base_url=BASE_URL) as provider_side:
        assert logout(provider_side, "ystad", eid.logout_token(sub="rektor.ostra")).status_code == 400
        assert current(browser).status_code == 200
        other = staff_idp.logout_token(sub="someone.else")
        assert logout(provider_side, "ystad", other).status_code == 200
        assert current(browser).status_code == 200, "another person's logout ends only their sessions"
        assert logout(provider_side, "ystad", other).status_code == 400


def test_a_provider_whose_discovery_names_other_keys_than_the_issuers_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, staff_idp: Provider, eid: Provider
) -> None:
    monkeypatch.setenv("BACKA_TEST_EID_SECRET", "another-secret")
    path = issuers_file(tmp_path, staff_idp, eid)
    path.write_text(path.read_text().replace(f'jwks_uri = "{staff_idp.issuer}/jwks"', f'jwks_uri = "{eid.issuer}/jwks"'))
    runtime = bootstrap(Settings(store="memory", issuers_file=path), clock=SettableClock(datetime.now(UTC)), directory=directory())
    try:
        with TestClient(create_app(runtime), base_url=BASE_URL) as c:
            page = c.get("/sign-in/oidc/ystad", follow_redirects=False)

            assert page.status_code == 503 and "inte inställd som tjänsten väntar sig" in page.text
    finally:
        runtime.close()
