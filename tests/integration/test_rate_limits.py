"""Rate limits over HTTP (OWASP ASVS V2.2.1): bursts of session starts and of refused
tokens are answered 429 problem+json with ``Retry-After``; the limits are the settings';
and two processes of one hub, on one PostgreSQL or one SQLite folder, count together."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from pydantic import ValidationError

from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import postgres_url
from tests.factories import STAFF, TENANT, directory

SESSIONS = "/api/v1/sessions"
BASE_URL = "https://testserver.local"


def hub(clock: SettableClock, **settings: Any) -> Runtime:
    return bootstrap(Settings(**{"store": "memory", "demo_mode": True, **settings}), clock=clock, directory=directory())


def staff_token(rt: Runtime, user_id: str = "rektor.ostra") -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}"}


@pytest.fixture
def rt(clock: SettableClock) -> Iterator[Runtime]:
    runtime = hub(clock)
    yield runtime
    runtime.close()


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(rt), base_url=BASE_URL) as c:
        yield c


def assert_too_many(response: Any) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(response.headers["retry-after"]) <= 60
    body: dict[str, Any] = response.json()
    assert body["status"] == 429 and body["type"].endswith("too-many-attempts")
    return body


def test_a_burst_of_300_session_starts_is_answered_429_after_the_limit(rt: Runtime, client: TestClient[Any]) -> None:
    """The attack replayed: 300 ``POST /api/v1/sessions`` in a burst, as one person."""
    token = staff_token(rt)
    answers = [client.post(SESSIONS, headers=token) for _ in range(300)]

    assert [a.status_code for a in answers[:10]] == [201] * 10
    for answer in answers[10:]:
        assert_too_many(answer)


def test_the_wait_ends_with_the_window(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    token = staff_token(rt)
    for _ in range(10):
        client.post(SESSIONS, headers=token)
    clock.advance(timedelta(seconds=45))
    refused = client.post(SESSIONS, headers=token)
    assert_too_many(refused)
    assert refused.headers["retry-after"] == "15"

    clock.advance(timedelta(seconds=15))

    assert client.post(SESSIONS, headers=token).status_code == 201


def test_refused_tokens_beyond_the_limit_are_answered_429_and_a_good_token_still_passes(
    rt: Runtime, client: TestClient[Any]
) -> None:
    """Guessing tokens: after 30 refusals a minute from one address, a refusal is a 429."""
    forged = {"Authorization": "Bearer not-a-token"}
    answers = [client.get("/api/v1/case-list", headers=forged) for _ in range(40)]

    assert [a.status_code for a in answers[:30]] == [401] * 30
    for answer in answers[30:]:
        assert_too_many(answer)
    assert client.get("/api/v1/case-list", headers=staff_token(rt)).status_code == 200


def test_a_missing_token_is_not_counted_as_a_refused_one(client: TestClient[Any]) -> None:
    assert {client.get("/api/v1/case-list").status_code for _ in range(40)} == {401}


def test_the_configured_limits_are_the_ones_applied(clock: SettableClock) -> None:
    runtime = hub(clock, sign_in_limit="3/minute", sign_in_subject_limit="100/minute", token_failure_limit="2/minute")
    try:
        with TestClient(create_app(runtime), base_url=BASE_URL) as c:
            starts = [c.post(SESSIONS, headers=staff_token(runtime, user)).status_code
                      for user in ("rektor.ostra", "larare.ostra", "kurator.ostra", "polis.ystad")]
            assert starts == [201, 201, 201, 429]
            forged = [c.get("/api/v1/case-list", headers={"Authorization": "Bearer x"}).status_code for _ in range(3)]
            assert forged == [401, 401, 429]
    finally:
        runtime.close()


def test_the_configured_limit_per_person_is_the_one_applied(clock: SettableClock) -> None:
    runtime = hub(clock, sign_in_subject_limit="2/minute")
    try:
        with TestClient(create_app(runtime), base_url=BASE_URL) as c:
            token = staff_token(runtime)
            assert [c.post(SESSIONS, headers=token).status_code for _ in range(3)] == [201, 201, 429]
            assert c.post(SESSIONS, headers=staff_token(runtime, "larare.ostra")).status_code == 201
    finally:
        runtime.close()


def test_the_limits_are_read_from_the_environment_and_must_be_rates() -> None:
    settings = Settings.from_env({"BACKA_SIGN_IN_LIMIT": "5/hour", "BACKA_TOKEN_FAILURE_LIMIT": "7 per second"})
    assert settings.limit_rules().sign_in_per_client.amount == 5
    assert settings.limit_rules().token_failures_per_client.amount == 7
    for bad in ("lots", "5/fortnight", ""):
        with pytest.raises(ValidationError, match="a rate such as 30/minute"):
            Settings(sign_in_subject_limit=bad)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_two_processes_of_one_hub_share_the_count(
    store: str, tmp_path: Path, clock: SettableClock, request: pytest.FixtureRequest
) -> None:
    """Two app instances on one PostgreSQL (or one folder's SQLite): ten sessions for one
    person between them, and the eleventh is refused by either."""
    url = postgres_url(request.getfixturevalue("pg_schema")) if store == "postgres" else None
    settings = Settings(store=store, database_url=url, data_dir=tmp_path / "data", demo_mode=True)  # type: ignore[arg-type]
    first = bootstrap(settings, clock=clock, directory=directory())
    second = bootstrap(settings, clock=clock, directory=directory())
    try:
        with TestClient(create_app(first), base_url=BASE_URL) as a, TestClient(create_app(second), base_url=BASE_URL) as b:
            token = staff_token(first)
            answers = [(a if n % 2 else b).post(SESSIONS, headers=token).status_code for n in range(10)]
            assert answers == [201] * 10
            assert_too_many(a.post(SESSIONS, headers=token))
            assert_too_many(b.post(SESSIONS, headers=token))
    finally:
        second.close()
        first.close()


def _served(tmp_path: Path, **env_settings: str) -> tuple[subprocess.Popen[bytes], str]:
    """``backa serve`` on a free loopback port outside demo mode, with these ``BACKA_*`` settings."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKA_") and k != "FORWARDED_ALLOW_IPS"}
    env |= {"BACKA_KEK": secrets.token_hex(32), "BACKA_CHECKPOINT_KEY_FILE": str(tmp_path / "keys" / "transparency.key")}
    (tmp_path / "witness").mkdir(exist_ok=True)
    env["BACKA_WITNESS_DIR"] = str(tmp_path / "witness")
    env |= {f"BACKA_{k.upper()}": v for k, v in env_settings.items()}
    server = subprocess.Popen(  # noqa: S603 - our own console script
        [str(Path(sys.executable).parent / "backa"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base}/ready", timeout=2.0).status_code == 200:  # built, its views caught up
                return server, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.kill()
    server.wait(timeout=5)
    raise AssertionError("the server did not answer in time")


def _refusals_each_from_another_claimed_address(tmp_path: Path, **env_settings: str) -> list[int]:
    server, base = _served(tmp_path, token_failure_limit="2/minute", **env_settings)
    try:
        return [
            httpx.get(
                f"{base}/api/v1/case-list",
                headers={"Authorization": "Bearer not.a.token", "X-Forwarded-For": f"198.51.100.{i}"},
                timeout=5.0,
            ).status_code
            for i in range(1, 4)
        ]
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


def test_a_caller_cannot_escape_the_limit_by_claiming_another_address_in_x_forwarded_for(tmp_path: Path) -> None:
    """Served without a proxy the hub was told of, ``X-Forwarded-For`` is the caller's own
    word: the limit counts the connection's address."""
    assert _refusals_each_from_another_claimed_address(tmp_path) == [401, 401, 429]


def test_the_proxies_whose_forwarded_address_is_believed_are_a_setting(tmp_path: Path) -> None:
    """Behind a proxy the hub is told of, each forwarded client is counted on its own."""
    assert _refusals_each_from_another_claimed_address(tmp_path, forwarded_allow_ips="127.0.0.1") == [401, 401, 401]
