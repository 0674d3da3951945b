"""Nothing slow outside the server stalls its event loop: a stalled store (the log or the
sessions) does not hang ``/health``, and an issuer whose key endpoint trickles its answer holds up neither health
nor the callers whose tokens need no fetch; its own callers get 503 with ``Retry-After``
once the token check's deadline passes."""

from __future__ import annotations

import asyncio
import json
import re
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from hub.errors import NotAuthenticatedError
from hub.identity.tokens import JwksKeys
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import TENANT, directory
from tests.http.served import Hold, served
from tests.http.test_admission import ANSWERED_AT_ALL, CASE_LIST, bearer, held_reads

AUDIENCE = "backa-hub"
SLOW_ISS = "https://slow.example.se"
LOCAL_ISS = "https://local.example.se"
SLOW_CALLERS = 10
"""More than the event loop's default thread pool holds on this machine (CPUs + 4)."""


def test_health_answers_while_the_store_is_stalled(clock: SettableClock) -> None:
    rt = bootstrap(Settings(store="memory", demo_mode=True), clock=clock, directory=directory())
    reads = held_reads(rt)
    log_length = Hold(rt.hub.recorder.max_notification_id)
    rt.hub.recorder.max_notification_id = log_length  # type: ignore[method-assign]
    try:
        with served(rt) as url, httpx.Client(base_url=url, timeout=ANSWERED_AT_ALL) as http:
            stuck = threading.Thread(target=lambda: http.get(CASE_LIST, headers=bearer(rt)))
            stuck.start()
            try:
                reads.wait_inside(1)
                asked = log_length.entered  # the views' follower may be held there already
                health = http.get("/health")
                assert health.status_code == 200 and health.json() == {"status": "ok"}
                assert log_length.entered == asked, "liveness does not ask the store"
            finally:
                reads.release()
                log_length.release()
                stuck.join(ANSWERED_AT_ALL)
    finally:
        rt.close()


SIGN_IN_TOKEN = re.compile(r'name="sign_in_token" value="([^"]+)"')


def test_a_page_whose_session_store_is_stalled_does_not_hang_health(clock: SettableClock) -> None:
    """The landing page resumes the visitor's session in a worker thread, not on the loop."""
    rt = bootstrap(Settings(store="memory", demo_mode=True, session_cookie_secure=False), clock=clock, directory=directory())
    try:
        with served(rt) as url, httpx.Client(base_url=url, timeout=ANSWERED_AT_ALL) as http:
            found = SIGN_IN_TOKEN.search(http.get("/sign-in").text)
            assert found
            signed_in = http.post("/sign-in/demo", data={"sign_in_token": found.group(1), "kind": "staff", "user": "rektor.ostra"})
            assert signed_in.status_code == 303, signed_in.text
            assert rt.sessions is not None
            stalled = Hold(rt.sessions.resume)
            rt.sessions.resume = stalled  # type: ignore[method-assign]
            landing = threading.Thread(target=lambda: http.get("/", follow_redirects=False))
            landing.start()
            try:
                stalled.wait_inside(1)
                assert httpx.get(url + "/health", timeout=ANSWERED_AT_ALL).status_code == 200
            finally:
                stalled.release()
                landing.join(ANSWERED_AT_ALL)
    finally:
        rt.close()


@dataclass
class TricklingKeys:
    """A key endpoint that sends its answer a byte at a time: each byte comes well within a
    socket timeout, so only a deadline on the whole check ends the wait."""

    keys: list[dict[str, Any]]
    seconds: float
    port: int = 0
    connections: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks"


@pytest.fixture
def trickling() -> Iterator[TricklingKeys]:
    state = TricklingKeys(keys=[], seconds=60.0)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            state.connections += 1
            self.request.recv(65536)
            body = json.dumps({"keys": state.keys}).encode()
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: ")
            end = time.monotonic() + state.seconds
            while time.monotonic() < end and not state.stop.wait(0.1):
                self.request.sendall(b"a")
            if state.stop.is_set():
                return
            self.request.sendall(f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    state.stop.set()
    server.shutdown()
    server.server_close()


ISSUERS = """
[[issuer]]
issuer = "{slow}"
audience = "{aud}"
kind = "staff"
algorithms = ["ES256"]
jwks_uri = "{slow_uri}"

[[issuer]]
issuer = "{local}"
audience = "{aud}"
kind = "staff"
algorithms = ["ES256"]
jwks_file = "local.json"
"""


@dataclass
class Issuers:
    slow: ec.EllipticCurvePrivateKey
    local: ec.EllipticCurvePrivateKey
    file: Path


def public_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


@pytest.fixture
def issuers(tmp_path: Path, trickling: TricklingKeys) -> Issuers:
    slow, local = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    trickling.keys = [public_jwk(slow, "slow-1")]
    (tmp_path / "local.json").write_text(json.dumps({"keys": [public_jwk(local, "local-1")]}))
    path = tmp_path / "issuers.toml"
    path.write_text(ISSUERS.format(slow=SLOW_ISS, local=LOCAL_ISS, aud=AUDIENCE, slow_uri=trickling.url))
    return Issuers(slow, local, path)


def token(clock: SettableClock, key: ec.EllipticCurvePrivateKey, kid: str, issuer: str) -> dict[str, str]:
    now = int(clock().timestamp())
    claims = {
        "iss": issuer, "aud": AUDIENCE, "sub": "rektor.ostra", "tenant": TENANT, "unit": "skola-ostra",
        "roles": ["barnkontakt", "team_member"], "iat": now, "nbf": now, "exp": now + 600,
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm='ES256', headers={'kid': kid})}"}


def hub(clock: SettableClock, issuers: Issuers, tmp_path: Path, **settings: Any) -> Runtime:
    return bootstrap(
        Settings(store="memory", data_dir=tmp_path / "data", issuers_file=issuers.file, **settings), clock=clock, directory=directory()
    )


async def slow_and_others(url: str, slow: dict[str, str], local: dict[str, str], trickling: TricklingKeys) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=ANSWERED_AT_ALL, limits=httpx.Limits(max_connections=50)) as http:
        waiting = [asyncio.ensure_future(http.get(CASE_LIST, headers=slow)) for _ in range(SLOW_CALLERS)]
        end = time.monotonic() + ANSWERED_AT_ALL
        while trickling.connections == 0:
            assert time.monotonic() < end, "the hub never asked for the slow issuer's keys"
            await asyncio.sleep(0.02)
        health, other = await asyncio.gather(http.get("/health"), http.get(CASE_LIST, headers=local))
        refused = await asyncio.gather(*waiting)
        return {"health": health, "other": other, "slow": refused, "fetches": trickling.connections}


def test_a_trickling_key_endpoint_holds_up_neither_health_nor_other_callers(
    clock: SettableClock, issuers: Issuers, trickling: TricklingKeys, tmp_path: Path
) -> None:
    rt = hub(clock, issuers, tmp_path, token_check_seconds=1.0)
    try:
        with served(rt) as url:
            slow = token(clock, issuers.slow, "slow-1", SLOW_ISS)
            local = token(clock, issuers.local, "local-1", LOCAL_ISS)
            answers = asyncio.run(slow_and_others(url, slow, local, trickling))
    finally:
        trickling.stop.set()
        rt.close()

    assert answers["health"].status_code == 200
    assert answers["other"].status_code == 200, answers["other"].text
    assert answers["fetches"] == 1, "one fetch at a time: the other callers waited for it"
    for answer in answers["slow"]:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["retry-after"]
        assert answer.json()["type"] == "urn:backa:problem:sign-in-unavailable"


@pytest.mark.parametrize(("deadline", "status"), [(0.5, 503), (20.0, 200)])
def test_the_token_check_deadline_decides_how_long_a_slow_issuer_is_waited_for(
    clock: SettableClock, issuers: Issuers, trickling: TricklingKeys, tmp_path: Path, deadline: float, status: int
) -> None:
    trickling.seconds = 2.0
    rt = hub(clock, issuers, tmp_path, token_check_seconds=deadline)
    try:
        with served(rt) as url:
            answer = httpx.get(url + CASE_LIST, headers=token(clock, issuers.slow, "slow-1", SLOW_ISS), timeout=2 * ANSWERED_AT_ALL)
    finally:
        rt.close()
    assert answer.status_code == status, answer.text



def test_a_key_endpoint_that_answers_no_json_refuses_the_token_and_is_not_asked_again_at_once(clock: SettableClock) -> None:
    """A proxy's error page answered with 200, or an answer cut short: a failed fetch like
    any other, so the token is refused (401, never a 500) and the next caller does not
    hammer the issuer."""
    asked = 0

    class NotJson(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            nonlocal asked
            asked += 1
            self.request.recv(65536)
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\n\r\n<html>down</html>"[:-2])

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), NotJson)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        keys = JwksKeys(f"http://127.0.0.1:{server.server_address[1]}/jwks", SLOW_ISS, clock)
        with pytest.raises(NotAuthenticatedError, match="the issuer's published keys cannot be read"):
            keys.keys_for("slow-1")
        with pytest.raises(NotAuthenticatedError):
            keys.keys_for("slow-1")
    finally:
        server.shutdown()
        server.server_close()
    assert asked == 1
