"""OpenID Connect sign-in on a hub of several processes: two hubs on one store (the same
PostgreSQL schema, or the same SQLite folder) stand for two processes behind a load
balancer, and a browser's requests land on either. Real OpenID providers answer."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient
from psycopg import sql

from hub.http import create_app
from hub.identity.sessions import cookie_names
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import POSTGRES_URL, postgres_url
from tests.factories import TENANT, directory
from tests.oidc_provider import Provider, issuers_file, path_and_query, query, running_provider

BASE_URL = "https://testserver.local"
COOKIES = cookie_names(secure=True)
SIGN_IN_COOKIE = COOKIES.sign_in
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
def clock() -> SettableClock:
    return SettableClock(datetime.now(UTC))


@pytest.fixture(params=["sqlite", "postgres"])
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, staff_idp: Provider, eid: Provider, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("BACKA_TEST_EID_SECRET", "another-secret")
    config = tmp_path / "config"
    config.mkdir()
    url = postgres_url(request.getfixturevalue("pg_schema")) if request.param == "postgres" else None
    (tmp_path / "witness").mkdir()
    return Settings(
        store=request.param, database_url=url, data_dir=tmp_path / "data", demo_mode=False,
        issuers_file=issuers_file(config, staff_idp, eid), kek=secrets.token_hex(32),
        checkpoint_key_file=tmp_path / "keys" / "transparency.key", witness_dir=tmp_path / "witness",
    )


@pytest.fixture
def processes(settings: Settings, clock: SettableClock) -> Iterator[tuple[TestClient[Any], TestClient[Any]]]:
    """Two processes of one hub, on one store and one clock."""
    first = bootstrap(settings, clock=clock, directory=directory())
    second = bootstrap(settings, clock=clock, directory=directory())
    try:
        with TestClient(create_app(first), base_url=BASE_URL) as a, TestClient(create_app(second), base_url=BASE_URL) as b:
            yield a, b
    finally:
        second.close()
        first.close()


def move(browser: TestClient[Any], to: TestClient[Any]) -> TestClient[Any]:
    """The same browser, its next request landing on another process."""
    to.cookies = browser.cookies
    return to


def begin(on: TestClient[Any]) -> str:
    answer = on.get("/sign-in/oidc/ystad", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def signed_in(on: TestClient[Any]) -> bool:
    return bool(on.get("/api/v1/sessions/current").status_code == 200)


def test_a_sign_in_begun_on_one_process_is_finished_on_another(
    processes: tuple[TestClient[Any], TestClient[Any]], staff_idp: Provider
) -> None:
    a, b = processes
    back = staff_idp.authorize(begin(a), "rektor.ostra")

    page = move(a, b).get(path_and_query(back), follow_redirects=False)

    assert page.status_code == 200 and "url=/staff" in page.text
    assert signed_in(b) and signed_in(move(b, a)), "the session is honoured by both"


def test_an_answer_finished_on_one_process_is_refused_when_replayed_on_the_other(
    processes: tuple[TestClient[Any], TestClient[Any]], staff_idp: Provider
) -> None:
    a, b = processes
    back = staff_idp.authorize(begin(a), "rektor.ostra")
    cookie = a.cookies.get(SIGN_IN_COOKIE)
    assert move(a, b).get(path_and_query(back), follow_redirects=False).status_code == 200

    a.cookies.clear()
    a.cookies.set(SIGN_IN_COOKIE, cookie or "", domain="testserver.local", path="/")
    replayed = a.get(path_and_query(back), follow_redirects=False)

    assert replayed.status_code == 401 and "redan använd" in replayed.text
    assert COOKIES.session not in a.cookies and not signed_in(a)


def test_a_back_channel_logout_received_by_one_process_ends_a_session_started_on_another(
    processes: tuple[TestClient[Any], TestClient[Any]], staff_idp: Provider
) -> None:
    a, b = processes
    back = staff_idp.authorize(begin(a), "rektor.ostra")
    assert a.get(path_and_query(back), follow_redirects=False).status_code == 200 and signed_in(a)
    token = staff_idp.logout_token(sub="rektor.ostra")

    with TestClient(b.app, base_url=BASE_URL) as provider_side:
        answer = provider_side.post("/sign-in/backchannel-logout/ystad", data={"logout_token": token})
    assert answer.status_code == 200
    assert not signed_in(a)

    with TestClient(a.app, base_url=BASE_URL) as provider_side:
        again = provider_side.post("/sign-in/backchannel-logout/ystad", data={"logout_token": token})
    assert again.status_code == 400 and "used before" in again.json()["error_description"], "its jti is spent on every process"


def test_signing_out_on_another_process_signs_out_at_the_provider_too(
    processes: tuple[TestClient[Any], TestClient[Any]], staff_idp: Provider
) -> None:
    a, b = processes
    back = staff_idp.authorize(begin(a), "rektor.ostra")
    assert a.get(path_and_query(back), follow_redirects=False).status_code == 200
    b = move(a, b)
    csrf = b.get("/api/v1/sessions/current").json()["csrf_token"]

    out = b.post("/sign-out", data={"csrf_token": csrf}, follow_redirects=False)

    assert out.status_code == 200 and f"{staff_idp.issuer}/oauth2/end_session?" in out.text
    assert "id_token_hint=" in out.text


def test_a_sign_in_left_pending_longer_than_ten_minutes_is_refused(
    processes: tuple[TestClient[Any], TestClient[Any]], staff_idp: Provider, clock: SettableClock
) -> None:
    a, b = processes
    back = staff_idp.authorize(begin(a), "rektor.ostra")
    clock.advance(timedelta(minutes=10, seconds=1))

    page = move(a, b).get(path_and_query(back), follow_redirects=False)

    assert page.status_code == 401 and "tog för lång tid" in page.text
    assert not signed_in(b)


def test_a_sign_in_answered_within_ten_minutes_is_accepted(
    processes: tuple[TestClient[Any], TestClient[Any]], staff_idp: Provider, clock: SettableClock
) -> None:
    a, b = processes
    back = staff_idp.authorize(begin(a), "rektor.ostra")
    clock.advance(timedelta(minutes=9, seconds=50))

    assert move(a, b).get(path_and_query(back), follow_redirects=False).status_code == 200


def test_the_shared_store_holds_no_state_subject_or_id_token_in_the_clear(
    processes: tuple[TestClient[Any], TestClient[Any]], staff_idp: Provider, settings: Settings
) -> None:
    a, _ = processes
    asked = begin(a)
    pending = stored_rows(settings, "oidc_pending")
    assert len(pending) == 1 and query(asked)["state"] not in str(pending)
    back = staff_idp.authorize(asked, "rektor.ostra")
    page = a.get(path_and_query(back), follow_redirects=False)
    assert page.status_code == 200

    remembered = stored_rows(settings, "oidc_signed_in")
    assert stored_rows(settings, "oidc_pending") == [], "a finished sign-in is gone"
    assert len(remembered) == 1 and "rektor.ostra" not in str(remembered) and "eyJ" not in str(remembered)


def stored_rows(settings: Settings, table: str) -> list[Any]:
    if settings.database_url is None:
        db = sqlite3.connect(settings.data_dir / "sessions.sqlite")
        try:
            return db.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - a fixed table name
        finally:
            db.close()
    schema = settings.database_url.split("schema=")[1].split("&")[0]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        return db.execute(sql.SQL("SELECT * FROM {0}").format(sql.Identifier(schema, table))).fetchall()


@pytest.mark.parametrize("hours", [1, 3])
def test_what_a_provider_may_end_is_forgotten_with_the_sessions_absolute_lifetime(
    settings: Settings, clock: SettableClock, staff_idp: Provider, hours: int
) -> None:
    """``BACKA_SESSION_ABSOLUTE_HOURS`` bounds how long the store remembers a signed-in session."""
    runtime = bootstrap(settings.model_copy(update={"session_absolute_hours": hours}), clock=clock, directory=directory())
    try:
        with TestClient(create_app(runtime), base_url=BASE_URL) as browser:
            back = staff_idp.authorize(begin(browser), "rektor.ostra")
            assert browser.get(path_and_query(back), follow_redirects=False).status_code == 200
            clock.advance(timedelta(hours=2))
            begin(browser)  # each sign-in sweeps what has ended

            assert len(stored_rows(settings, "oidc_signed_in")) == (0 if hours == 1 else 1)
    finally:
        runtime.close()
