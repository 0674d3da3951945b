"""Web sessions over HTTP: a cookie the pages cannot read, that answers like the token it
was started with, that needs the anti-forgery header to change anything, and that ends
on sign-out and on the idle and absolute timeouts, in every process of the hub."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.identity.sessions import cookie_names
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import GUARDIAN_1_PNR, STAFF, TENANT, directory, registration_payload

API = "/api/v1"
SESSIONS = f"{API}/sessions"
CURRENT = f"{SESSIONS}/current"
COOKIE = cookie_names(secure=True).session
CSRF = "X-CSRF-Token"
BASE_URL = "https://testserver.local"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_staff(rt: Runtime, user_id: str, **kw: Any) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return bearer(rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles), **kw))


def as_guardian(rt: Runtime, personnummer: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    return bearer(rt.demo_issuer.family_token(TENANT, "guardian", personnummer))


def hub_for(clock: SettableClock, **settings: Any) -> Runtime:
    return bootstrap(Settings(store="memory", demo_mode=True, **settings), clock=clock, directory=directory())


def client_for(rt: Runtime) -> TestClient[Any]:
    return TestClient(create_app(rt), base_url=BASE_URL)


@pytest.fixture
def rt(clock: SettableClock) -> Iterator[Runtime]:
    runtime = hub_for(clock)
    yield runtime
    runtime.close()


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient[Any]]:
    with client_for(rt) as c:
        yield c


def sign_in(client: TestClient[Any], headers: dict[str, str]) -> httpx.Response:
    """Starts a session; the client keeps the cookie, as a browser would."""
    response = client.post(SESSIONS, headers=headers)
    assert response.status_code == 201, response.text
    return response


def session_cookie(client: TestClient[Any]) -> str:
    value = client.cookies.get(COOKIE)
    assert value, "the client holds no session cookie"
    return value


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def register(client: TestClient[Any], rt: Runtime, headers: dict[str, str]) -> httpx.Response:
    return client.post(f"{API}/children", json=registration_payload(), headers=headers)


def child_with_barnkontakt(client: TestClient[Any], rt: Runtime) -> UUID:
    """Alva, registered by her school's rektor, who is then her Barnkontakt (with bearer tokens)."""
    rektor = as_staff(rt, "rektor.ostra")
    registered = register(client, rt, rektor)
    assert registered.status_code == 201, registered.text
    child_id = UUID(registered.json()["child_id"])
    assigned = client.post(f"{API}/children/{child_id}/barnkontakt", json={"staff_id": "rektor.ostra"}, headers=rektor)
    assert assigned.status_code in (200, 201), assigned.text
    rt.hub.refresh_views()
    return child_id


# -- starting a session ------------------------------------------------------------------


def test_the_session_cookie_is_http_only_secure_strict_and_lasts_the_absolute_lifetime(
    rt: Runtime, client: TestClient[Any]
) -> None:
    """Scripts on the page cannot read it, it never travels over plain HTTP, and no other
    site's page can send it (ASVS V3.4)."""
    response = sign_in(client, as_staff(rt, "rektor.ostra"))

    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=", 1)[0].lower(): part.strip() for part in cookie.split(";")}
    assert cookie.startswith(f"{COOKIE}=")
    assert "httponly" in attributes
    assert "secure" in attributes
    assert attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/"
    assert attributes["max-age"] == f"Max-Age={8 * 3600}"


def test_the_session_answer_says_who_and_until_when_but_never_holds_the_session_id(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    """The id lives only in the HttpOnly cookie; a script reading the answer cannot steal it."""
    response = sign_in(client, as_staff(rt, "rektor.ostra"))
    session_id = session_cookie(client)
    body = response.json()

    assert session_id not in response.text
    assert body["kind"] == "staff" and body["user_id"] == "rektor.ostra" and body["unit_id"] == "skola-ostra"
    assert set(body["roles"]) == {r.value for r in STAFF["rektor.ostra"][1]}
    assert body["idle_timeout_seconds"] == 15 * 60
    assert body["csrf_token"]
    current = client.get(CURRENT)
    assert current.status_code == 200, current.text
    assert session_id not in current.text
    assert current.json()["csrf_token"] == body["csrf_token"]
    assert current.json()["expires_at"] == body["expires_at"]


def test_starting_a_session_needs_a_bearer_token(rt: Runtime, client: TestClient[Any]) -> None:
    assert_problem(client.post(SESSIONS), 401)
    assert COOKIE not in client.cookies


def test_starting_a_session_with_an_expired_token_is_refused(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    """A session is only as good as the sign-in it came from."""
    stale = as_staff(rt, "rektor.ostra", lifetime=timedelta(minutes=5))
    clock.advance(timedelta(hours=1))

    assert_problem(client.post(SESSIONS, headers=stale), 401)
    assert COOKIE not in client.cookies


def test_a_session_cannot_start_another_session(rt: Runtime, client: TestClient[Any]) -> None:
    """Re-issuing from a cookie would let a stolen cookie outlive the absolute timeout."""
    csrf = sign_in(client, as_staff(rt, "rektor.ostra")).json()["csrf_token"]
    first = session_cookie(client)

    without_header = client.post(SESSIONS)
    with_header = client.post(SESSIONS, headers={CSRF: csrf})

    assert_problem(without_header, 403)
    assert_problem(with_header, 403)
    assert session_cookie(client) == first


# -- a session reads like its token ------------------------------------------------------


def test_a_barnkontakt_sees_the_same_case_list_through_the_session_as_with_the_token(
    rt: Runtime, client: TestClient[Any]
) -> None:
    child_id = child_with_barnkontakt(client, rt)
    rektor = as_staff(rt, "rektor.ostra")
    with_token = client.get(f"{API}/case-list", headers=rektor)
    sign_in(client, rektor)

    with_cookie = client.get(f"{API}/case-list")

    assert with_token.status_code == 200 and with_cookie.status_code == 200, with_cookie.text
    assert str(child_id) in with_token.text
    assert with_cookie.json() == with_token.json()


def test_a_guardian_finds_the_same_children_through_the_session_as_with_the_token(
    rt: Runtime, client: TestClient[Any]
) -> None:
    child_id = child_with_barnkontakt(client, rt)
    guardian = as_guardian(rt, GUARDIAN_1_PNR)
    with_token = client.get(f"{API}/me/children", headers=guardian)
    sign_in(client, guardian)

    with_cookie = client.get(f"{API}/me/children")

    assert with_cookie.status_code == 200, with_cookie.text
    assert with_token.json() == [{"child_id": str(child_id)}]
    assert with_cookie.json() == with_token.json()


def test_a_guardian_session_does_not_reach_staff_endpoints(rt: Runtime, client: TestClient[Any]) -> None:
    """The session carries the token's principal, not more."""
    child_with_barnkontakt(client, rt)
    sign_in(client, as_guardian(rt, GUARDIAN_1_PNR))

    assert_problem(client.get(f"{API}/case-list"), 403)


# -- changing something needs the anti-forgery header ----------------------------------------


@pytest.mark.parametrize("offered", [None, "", "not-the-token"], ids=["missing", "empty", "wrong"])
def test_a_command_through_the_session_without_the_right_csrf_header_is_refused_and_changes_nothing(
    offered: str | None, rt: Runtime, client: TestClient[Any]
) -> None:
    """A forged request from another page carries the cookie but cannot know the token (ASVS V4.2.2)."""
    sign_in(client, as_staff(rt, "rektor.ostra"))
    before = rt.hub.log_length()

    refused = register(client, rt, {} if offered is None else {CSRF: offered})

    body = assert_problem(refused, 403)
    assert CSRF in body["detail"] or any(e["field"] == CSRF for e in body["errors"])
    assert rt.hub.log_length() == before


def test_another_sessions_csrf_token_does_not_fit(rt: Runtime, clock: SettableClock) -> None:
    with client_for(rt) as mine, client_for(rt) as theirs:
        sign_in(mine, as_staff(rt, "rektor.ostra"))
        their_csrf = sign_in(theirs, as_staff(rt, "rektor.ostra")).json()["csrf_token"]
        before = rt.hub.log_length()

        assert_problem(register(mine, rt, {CSRF: their_csrf}), 403)
        assert rt.hub.log_length() == before


def test_a_command_through_the_session_with_the_right_csrf_header_goes_through(
    rt: Runtime, client: TestClient[Any]
) -> None:
    csrf = sign_in(client, as_staff(rt, "rektor.ostra")).json()["csrf_token"]
    before = rt.hub.log_length()

    done = register(client, rt, {CSRF: csrf})

    assert done.status_code == 201, done.text
    assert rt.hub.log_length() > before
    shown = client.get(f"{API}/children/{done.json()['child_id']}")
    assert shown.status_code == 200
    assert any(i["fields"].get("given_name") == "Alva" for i in shown.json()["items"])


def test_signing_out_needs_the_csrf_header_so_another_site_cannot_sign_you_out(
    rt: Runtime, client: TestClient[Any]
) -> None:
    sign_in(client, as_staff(rt, "rektor.ostra"))

    assert_problem(client.delete(CURRENT), 403)
    assert client.get(CURRENT).status_code == 200


# -- timeouts ------------------------------------------------------------------------------


def test_a_session_ends_after_fifteen_idle_minutes(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    sign_in(client, as_staff(rt, "rektor.ostra"))
    clock.advance(timedelta(minutes=14))
    assert client.get(f"{API}/case-list").status_code == 200
    clock.advance(timedelta(minutes=14))
    assert client.get(f"{API}/case-list").status_code == 200

    clock.advance(timedelta(minutes=15))

    ended = client.get(f"{API}/case-list")
    body = assert_problem(ended, 401)
    assert "session" in body["detail"]
    assert f"{COOKIE}=;" in ended.headers["set-cookie"] and "Max-Age=0" in ended.headers["set-cookie"]
    assert COOKIE not in client.cookies, "the browser is told to drop the cookie"
    assert_problem(client.get(CURRENT), 401)


def test_a_session_ends_after_eight_hours_however_busy(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    sign_in(client, as_staff(rt, "rektor.ostra"))
    for _ in range(8 * 6 - 1):
        clock.advance(timedelta(minutes=10))
        assert client.get(f"{API}/case-list").status_code == 200

    clock.advance(timedelta(minutes=10))

    assert_problem(client.get(f"{API}/case-list"), 401)


def test_configured_timeouts_are_honoured(clock: SettableClock) -> None:
    """An operator may shorten both; the cookie's lifetime and the answer follow."""
    rt = hub_for(clock, session_idle_minutes=2, session_absolute_hours=0.5)
    try:
        with client_for(rt) as idle, client_for(rt) as busy:
            started = sign_in(idle, as_staff(rt, "rektor.ostra"))
            sign_in(busy, as_staff(rt, "rektor.ostra"))
            assert started.json()["idle_timeout_seconds"] == 120
            assert f"Max-Age={30 * 60}" in started.headers["set-cookie"]

            for _ in range(14):
                clock.advance(timedelta(minutes=1, seconds=59))
                assert busy.get(CURRENT).status_code == 200
            clock.advance(timedelta(minutes=2))
            assert_problem(idle.get(CURRENT), 401)
            clock.advance(timedelta(minutes=1, seconds=59))
            assert_problem(busy.get(CURRENT), 401)  # 31.6 minutes after the start, used throughout
    finally:
        rt.close()


def test_without_secure_cookies_configured_the_cookie_lacks_the_secure_flag(clock: SettableClock) -> None:
    """For a demo on plain http to another machine; the default is on."""
    rt = hub_for(clock, session_cookie_secure=False)
    try:
        with client_for(rt) as client:
            cookie = sign_in(client, as_staff(rt, "rektor.ostra")).headers["set-cookie"]
        assert "secure" not in {part.strip().lower() for part in cookie.split(";")}
        assert cookie.startswith("backa_session="), "a browser refuses a __Host- cookie without Secure"
        assert "httponly" in cookie.lower()
    finally:
        rt.close()


def test_a_guessed_a_tampered_and_an_expired_cookie_get_the_same_refusal(
    rt: Runtime, clock: SettableClock
) -> None:
    """The answer does not tell an attacker whether a cookie was ever real."""
    with client_for(rt) as expired, client_for(rt) as other:
        sign_in(expired, as_staff(rt, "rektor.ostra"))
        sign_in(other, as_staff(rt, "rektor.ostra"))
        real = session_cookie(other)
        clock.advance(timedelta(minutes=10))
        assert other.get(f"{API}/case-list").status_code == 200
        clock.advance(timedelta(minutes=5))
        refusals = [expired.get(f"{API}/case-list")]
        for cookie in ("x" * 43, real[:-1] + ("A" if real[-1] != "A" else "B")):
            other.cookies.set(COOKIE, cookie, domain="testserver.local")
            refusals.append(other.get(f"{API}/case-list"))

    bodies = [assert_problem(r, 401) for r in refusals]
    assert all(b == bodies[0] for b in bodies)
    assert len({r.headers["www-authenticate"] for r in refusals}) == 1


# -- signing out -----------------------------------------------------------------------------


def test_after_signing_out_the_old_cookie_is_refused(rt: Runtime, client: TestClient[Any]) -> None:
    """Sign-out ends the session on the server, not only in this browser (ASVS V3.3.1)."""
    csrf = sign_in(client, as_staff(rt, "rektor.ostra")).json()["csrf_token"]
    old = session_cookie(client)

    signed_out = client.delete(CURRENT, headers={CSRF: csrf})

    assert signed_out.status_code == 204
    cleared = signed_out.headers["set-cookie"]
    assert cleared.startswith(f"{COOKIE}=") and "max-age=0" in cleared.lower()
    assert COOKIE not in client.cookies
    client.cookies.set(COOKIE, old, domain="testserver.local")
    assert_problem(client.get(f"{API}/case-list"), 401)
    assert_problem(client.get(CURRENT), 401)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_the_current_session_with_a_bearer_token_is_not_found(
    method: str, rt: Runtime, client: TestClient[Any]
) -> None:
    """A token caller has no session to show or end; signing in with a token ends nothing."""
    sign_in(client, as_staff(rt, "rektor.ostra"))
    cookie_holder = session_cookie(client)

    response = client.request(method, CURRENT, headers=as_staff(rt, "rektor.ostra"))

    body = assert_problem(response, 404)
    assert body["type"].endswith("no-session")
    assert client.get(CURRENT).status_code == 200
    assert session_cookie(client) == cookie_holder


def test_a_sign_out_in_one_process_ends_the_session_in_another(tmp_path: Path, clock: SettableClock) -> None:
    """Two processes of one hub share the sessions beside the log: signing out at one is
    honoured by the other, and a session started at one is known to the other."""
    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True)
    first = bootstrap(settings, clock=clock, directory=directory())
    second = bootstrap(settings, clock=clock, directory=directory())
    try:
        with client_for(first) as a, client_for(second) as b:
            csrf = sign_in(a, as_staff(first, "rektor.ostra")).json()["csrf_token"]
            cookie = session_cookie(a)
            b.cookies.set(COOKIE, cookie, domain="testserver.local")
            assert b.get(CURRENT).json()["user_id"] == "rektor.ostra"
            assert b.get(f"{API}/case-list").status_code == 200

            assert b.delete(CURRENT, headers={CSRF: csrf}).status_code == 204

            assert_problem(a.get(f"{API}/case-list"), 401)
            assert_problem(a.get(CURRENT), 401)
    finally:
        second.close()
        first.close()


# -- bound to the mode and issuer that started them; one per browser -----------------------


def test_sessions_started_in_demo_mode_end_when_the_folder_is_served_outside_demo_mode(
    tmp_path: Path, clock: SettableClock
) -> None:
    """The attack replayed: sessions from the demo (the administrator's, and a guardian's
    from the demo's e-ID form, which needs no credentials) used against ``backa serve`` on
    the same folder."""
    data = tmp_path / "data"
    demo = bootstrap(Settings(store="sqlite", data_dir=data, demo_mode=True), clock=clock, directory=directory())
    try:
        with client_for(demo) as admin, client_for(demo) as family:
            sign_in(admin, as_staff(demo, "admin.ystad"))
            page = family.get("/sign-in")
            token = page.text.split('name="sign_in_token" value="', 1)[1].split('"', 1)[0]
            assert family.post(
                "/sign-in/demo", data={"kind": "guardian", "personnummer": GUARDIAN_1_PNR, "sign_in_token": token},
                follow_redirects=False,
            ).status_code == 303
            cookies = [session_cookie(admin), session_cookie(family)]
            assert admin.get(CURRENT).status_code == 200 and family.get(CURRENT).status_code == 200
    finally:
        demo.close()
    issuers = tmp_path / "issuers.toml"
    issuers.write_text("")
    key = tmp_path / "keys" / "transparency.key"  # served, the checkpoint key and the witness leave the data folder
    key.parent.mkdir()
    (tmp_path / "witness").mkdir()
    served = bootstrap(
        Settings(
            store="sqlite", data_dir=data, demo_mode=False, kek_file=data / "kek.key", issuers_file=issuers,
            checkpoint_key_file=key, witness_dir=tmp_path / "witness",
        ),
        clock=clock, directory=directory(),
    )
    try:
        with client_for(served) as attacker:
            for cookie in cookies:
                attacker.cookies.set(COOKIE, cookie, domain="testserver.local")
                assert_problem(attacker.get(CURRENT), 401)
                assert_problem(attacker.get(f"{API}/case-list"), 401)
                assert attacker.get("/follow-up", follow_redirects=False).headers["location"].startswith("/sign-in")
    finally:
        served.close()


def test_a_new_session_from_the_same_browser_ends_the_one_it_held(rt: Runtime, client: TestClient[Any]) -> None:
    sign_in(client, as_staff(rt, "rektor.ostra"))
    earlier = session_cookie(client)

    sign_in(client, as_guardian(rt, GUARDIAN_1_PNR))

    assert session_cookie(client) != earlier
    assert client.get(CURRENT).json()["kind"] == "guardian"
    with client_for(rt) as other:
        other.cookies.set(COOKIE, earlier, domain="testserver.local")
        assert_problem(other.get(CURRENT), 401)


@pytest.mark.parametrize(
    "headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}]
)
def test_a_command_through_the_session_from_another_sites_page_is_refused_even_with_the_csrf_header(
    rt: Runtime, client: TestClient[Any], headers: dict[str, str]
) -> None:
    csrf = sign_in(client, as_staff(rt, "rektor.ostra")).json()["csrf_token"]

    refused = client.post(f"{API}/children", json=registration_payload(), headers={CSRF: csrf, **headers})

    assert_problem(refused, 403)
    assert client.get(f"{API}/case-list").json() == []
    assert client.post(f"{API}/children", json=registration_payload(), headers={CSRF: csrf, "Sec-Fetch-Site": "same-origin"}).status_code == 201
