"""``backa serve`` answers from the moment it listens, before the hub is built: ``/health``
says the process is up and starting, ``/ready`` and every other request are answered 503
problem+json with ``Retry-After``; once built the hub takes over, says it is not ready
while its views catch up, and answers in full once they have.

A real server process on a log whose views are empty, on SQLite and on PostgreSQL. Its
build and its views are held by the test (:mod:`tests.runtime.held_start`), so each stage
is seen however fast the machine is; nothing is timed."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.demo import demo_directory
from hub.identity.tokens import DemoIssuer
from hub.runtime.clock import system_clock
from tests.nats_server import free_port
from tests.runtime.starts import BARNKONTAKT, a_long_log, empty_the_views, eventually, settings_for

ROOT = Path(__file__).resolve().parents[2]
CHILDREN = 20
CASE_LIST = "/api/v1/case-list?scope=unit"
STAGE = 60.0
"""Seconds a stage may take to be seen before the test fails (rather than hangs)."""


@contextmanager
def held_server(hold: Path, env: dict[str, str]) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BACKA_", "OTEL_"))}
    process = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "tests.runtime.held_start", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env={**clean, **env, "HELD_START_DIR": str(hold)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as http:
            yield http, process
    finally:
        (hold / "build").touch()
        (hold / "views").touch()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


def answer(http: httpx.Client, path: str, **kwargs: Any) -> httpx.Response | None:
    try:
        return http.get(path, **kwargs)
    except httpx.TransportError:
        return None


def listening(http: httpx.Client, process: subprocess.Popen[bytes]) -> httpx.Response:
    """The first answer to ``/health``; fails if the process exits or never answers."""
    got: list[httpx.Response] = []

    def health() -> bool:
        assert process.poll() is None, "the server exited"
        found = answer(http, "/health")
        got[:] = [found] if found is not None else []
        return bool(got)

    eventually(health, STAGE, "an answer to /health")
    return got[0]


def assert_refused(response: httpx.Response | None, kind: str) -> None:
    assert response is not None
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"] == f"urn:backa:problem:{kind}"


def _env(store: str, settings: Any) -> dict[str, str]:
    env = {"BACKA_DATA_DIR": str(settings.data_dir), "BACKA_DEMO_MODE": "true", "BACKA_VIEWS_WAIT_SECONDS": "0"}
    if store == "postgres":
        env["BACKA_DATABASE_URL"] = str(settings.database_url)
    else:
        env["BACKA_STORE"] = "sqlite"
    return env


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_serve_says_it_is_alive_at_once_and_serves_in_full_once_built_and_caught_up(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    schema = request.getfixturevalue("pg_schema") if store == "postgres" else None
    settings = settings_for(store, tmp_path, schema)
    before = a_long_log(settings, CHILDREN)
    empty_the_views(store, settings, schema)
    demo_directory().save(settings.data_dir / "directory.json")
    issuer = DemoIssuer.from_folder(settings.data_dir / "demo", settings.audience, system_clock)
    user, unit, roles = BARNKONTAKT
    staff = {"Authorization": f"Bearer {issuer.staff_token('ystad', user, unit, roles)}"}
    hold = tmp_path / "hold"
    hold.mkdir()

    with held_server(hold, _env(store, settings)) as (http, process):
        health = listening(http, process)  # while the hub is not yet built
        assert health.status_code == 200
        assert health.json() == {"status": "starting"}
        assert_refused(answer(http, "/ready"), "starting")
        assert_refused(answer(http, CASE_LIST, headers=staff), "starting")
        assert_refused(http.post("/api/v1/children", json={}, headers=staff), "starting")

        (hold / "build").touch()  # the hub is built; its views still hold nothing
        eventually(lambda: (a := answer(http, "/health")) is not None and a.json() == {"status": "ok"}, STAGE, "the hub taking over")
        assert_refused(answer(http, "/ready"), "views-catching-up")
        assert_refused(answer(http, CASE_LIST, headers=staff), "views-catching-up")
        unauthenticated = answer(http, CASE_LIST)
        assert unauthenticated is not None and unauthenticated.status_code == 401

        (hold / "views").touch()  # the views catch up
        eventually(lambda: (a := answer(http, "/ready")) is not None and a.status_code == 200, STAGE * 2, "the views catching up")
        cases = answer(http, CASE_LIST, headers=staff)
        assert cases is not None
        assert cases.status_code == 200, cases.text
        assert len(cases.json()) > 0 and before["cases"]
        process.terminate()
        process.wait(timeout=30)  # and it stops when asked, the hub closed behind it


def test_a_build_that_fails_stops_the_server_and_says_why(tmp_path: Path) -> None:
    """Outside demo mode without a key-encryption key the hub refuses to start: it was
    alive meanwhile, and then exits refused, naming the setting."""
    hold = tmp_path / "hold"
    hold.mkdir()
    (tmp_path / "witness").mkdir()
    env = {
        "BACKA_DATA_DIR": str(tmp_path / "data"), "BACKA_STORE": "sqlite",
        "BACKA_CHECKPOINT_KEY_FILE": str(tmp_path / "keys" / "transparency.key"), "BACKA_WITNESS_DIR": str(tmp_path / "witness"),
    }
    with held_server(hold, env) as (http, process):
        health = listening(http, process)
        assert health.status_code == 200 and health.json() == {"status": "starting"}
        (hold / "build").touch()
        assert process.wait(timeout=STAGE) == 2
        assert process.stderr is not None
        assert "BACKA_KEK_FILE" in process.stderr.read().decode()


def test_a_start_key_is_never_echoed(tmp_path: Path) -> None:
    """A key given in the environment stays out of what a failed start says."""
    hold = tmp_path / "hold"
    hold.mkdir()
    kek = secrets.token_hex(31)  # one byte short: refused
    env = {"BACKA_DATA_DIR": str(tmp_path / "data"), "BACKA_STORE": "sqlite", "BACKA_KEK": kek}
    with held_server(hold, env) as (http, process):
        listening(http, process)
        (hold / "build").touch()
        assert process.wait(timeout=STAGE) == 2
        assert process.stderr is not None
        assert kek not in process.stderr.read().decode()
