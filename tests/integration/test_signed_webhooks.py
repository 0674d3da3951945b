"""Signed webhooks over a real nats-server and a real HTTP receiver: each delivery of
`backa subscribe --post` is signed as the Standard Webhooks specification says (checked with
the `standardwebhooks` library at the receiver), a tampered or replayed one is refused, a
receiver that fails for a while gets the event once, and one that never takes it leaves a
dead letter that the replay command delivers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import nats
import pytest
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from adapters.agency_subscriber import AgencySubscriber, ProcessedIds
from adapters.jetstream_relay import Backoff
from adapters.sealed_box import load_private_key
from adapters.signed_webhooks import (
    DeadLetters,
    RetryPolicy,
    SignedWebhookSink,
    WebhookSender,
    load_secrets,
    new_secret,
    signed_headers,
    write_secret,
)
from adapters.webhook_receiver import SeenIds, Verified, WebhookVerifier, asgi_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.relay import build_relay
from hub.runtime.settings import Settings
from tests.conftest import register_child
from tests.factories import START, card_payload, directory, staff
from tests.nats_server import NatsServer, free_port, keys, nats_server, rt

__all__ = ["keys", "nats_server", "rt"]

UNIT = "skola-ostra"
REPO = Path(__file__).resolve().parents[2]


# -- a real receiver on a loopback port ---------------------------------------------------------


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes
    status: int = 0


@dataclass
class Receiver:
    """The receiver helper served by uvicorn, with a record of every request and its answer.
    ``fail_first`` hand-overs fail (the helper answers 503); ``always_fail`` makes all fail."""

    secrets: list[str]
    fail_first: int = 0
    always_fail: bool = False
    clock: Callable[[], datetime] | None = None
    on_failure: Callable[[], None] | None = None
    requests: list[Request] = field(default_factory=list)
    taken: list[Verified] = field(default_factory=list)
    library_checked: list[bytes] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/backa"

    def app(self) -> Callable[..., Awaitable[None]]:
        options: dict[str, Any] = {"seen": SeenIds()}
        if self.clock is not None:
            options["clock"] = self.clock
        verifier = WebhookVerifier(self.secrets, **options)

        async def handler(v: Verified) -> None:
            if self.always_fail or self.fail_first > 0:
                self.fail_first -= 1
                if self.on_failure is not None:
                    self.on_failure()
                raise RuntimeError("the agency's system is down")
            if self.clock is None:  # the specification's own library (on the real clock) agrees
                request = self.requests[-1]
                if not any(_library_verifies(secret, v.body, request.headers) for secret in self.secrets):
                    raise AssertionError("the standardwebhooks library does not verify a delivery the helper took")
                self.library_checked.append(v.body)
            self.taken.append(v)

        inner = asgi_app(verifier, handler)

        async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            body = b""
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            request = Request({k.decode(): v.decode() for k, v in scope["headers"]}, body)
            self.requests.append(request)

            async def replay_body() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def record(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    request.status = message["status"]
                await send(message)

            await inner(scope, replay_body, record)

        return recording


def _library_verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@pytest.fixture
def serve() -> Iterator[Callable[[Receiver], Receiver]]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(receiver: Receiver) -> Receiver:
        server = uvicorn.Server(uvicorn.Config(receiver.app(), host="127.0.0.1", port=receiver.port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.01)
        return receiver

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


# -- the subscriber's side ----------------------------------------------------------------------


async def deliver(rt: Runtime) -> None:
    relay = build_relay(rt, backoff=Backoff(0.05, 0.5), publish_timeout=1.0)
    try:
        await relay.pump()
    finally:
        await relay.close()


def child_with_card(rt: Runtime) -> UUID:
    child = register_child(rt)
    assert isinstance(child, UUID)
    rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload(UNIT))
    return child


class Pauses:
    """An injected sleep: records each back-off pause and does not wait it out."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)
        await asyncio.sleep(0)


def signed_subscriber(
    nats_server: NatsServer, keys: Path, folder: Path, url: str, secret_file: Path, policy: RetryPolicy, pauses: Pauses
) -> tuple[AgencySubscriber, SignedWebhookSink]:
    sender = WebhookSender(load_secrets(secret_file), policy=policy, sleep=pauses, jitter=lambda: 1.0)
    sink = SignedWebhookSink(url, sender, DeadLetters(folder / "dead-letters.sqlite"))
    sub = AgencySubscriber(
        nats_url=nats_server.url, unit_id=UNIT, tenant_id="ystad", private_key=load_private_key(keys / f"{UNIT}.key"),
        sink=sink, processed=ProcessedIds(folder / "seen.sqlite"), fetch_timeout=0.3,
    )
    return sub, sink


async def drain(sub: AgencySubscriber) -> None:
    while await sub.poll():
        pass


async def consumer_state(url: str, durable: str = "backa-ystad-skola-ostra") -> tuple[int, int]:
    """(messages waiting, messages handed out but not acknowledged) of the unit's consumer."""
    nc = await nats.connect(url, allow_reconnect=False)
    try:
        info = await nc.jetstream().consumer_info("BACKA", durable)
        return info.num_pending or 0, info.num_ack_pending or 0
    finally:
        await nc.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "agency" / "webhook.secret"
    write_secret(path)
    return path


def test_a_delivery_through_the_subscriber_arrives_signed_with_the_event_id_and_verifies(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path, secret_file: Path, serve: Callable[[Receiver], Receiver]
) -> None:
    child = child_with_card(rt)
    receiver = serve(Receiver(load_secret_lines(secret_file)))

    async def scenario() -> tuple[int, int]:
        await deliver(rt)
        sub, sink = signed_subscriber(nats_server, keys, tmp_path, receiver.url, secret_file, RetryPolicy(attempts=3), Pauses())
        try:
            await drain(sub)
        finally:
            await sub.close()
            sub.processed.close()
            sink.close()
        return await consumer_state(nats_server.url)

    pending, unacked = asyncio.run(scenario())

    assert [r.status for r in receiver.requests] == [204, 204]
    events = [json.loads(v.body) for v in receiver.taken]
    assert [e["type"] for e in events] == ["backa.v1.ChildRegistered", "backa.v1.DiscoveryCardSubmitted"]
    assert events[0]["data"]["event"]["child_id"] == str(child)
    # the webhook id is the CloudEvent id: the same event redelivered carries the same id
    assert [r.headers["webhook-id"] for r in receiver.requests] == [e["id"] for e in events]
    assert all(r.headers["webhook-signature"].startswith("v1,") for r in receiver.requests)
    assert receiver.library_checked == [v.body for v in receiver.taken]
    assert (pending, unacked) == (0, 0)  # acknowledged once the receiver took them


def load_secret_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="ascii").split() if line]


# -- what the receiver refuses -----------------------------------------------------------------


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=10)


def test_a_tampered_body_a_tampered_signature_or_a_foreign_secret_is_refused(serve: Callable[[Receiver], Receiver]) -> None:
    secret = new_secret()
    receiver = serve(Receiver([secret]))
    body = b'{"id":"e-1","type":"backa.v1.ChildRegistered","data":{"event":{"given_name":"Alva"}}}'
    now = datetime.now(UTC)
    headers = signed_headers([Webhook(secret)], "e-1", now, body)

    tampered_body = post(receiver.url, body.replace(b"Alva", b"Bert"), headers)
    signature = headers["webhook-signature"]
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    tampered_signature = post(receiver.url, body, {**headers, "webhook-signature": flipped})
    foreign = post(receiver.url, body, signed_headers([Webhook(new_secret())], "e-1", now, body))
    moved_id = post(receiver.url, body, {**headers, "webhook-id": "e-2"})
    unsigned = post(receiver.url, body, {"content-type": "application/json"})
    genuine = post(receiver.url, body, headers)

    assert [tampered_body.status_code, tampered_signature.status_code, foreign.status_code, moved_id.status_code] == [401] * 4
    assert unsigned.status_code == 400
    assert genuine.status_code == 204
    assert [v.body for v in receiver.taken] == [body]  # only the genuine one was handed over
    with pytest.raises(WebhookVerificationError):  # and the specification's library refuses the tampered one too
        Webhook(secret).verify(body.replace(b"Alva", b"Bert"), headers)


def test_a_replayed_delivery_is_not_taken_again_and_an_old_capture_is_refused(serve: Callable[[Receiver], Receiver]) -> None:
    secret = new_secret()
    clock = SettableClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    receiver = serve(Receiver([secret], clock=clock))
    body = b'{"id":"e-1"}'
    captured = signed_headers([Webhook(secret)], "e-1", clock(), body)

    first = post(receiver.url, body, captured)
    again = post(receiver.url, body, captured)  # the same delivery, replayed within the tolerance
    clock.advance(timedelta(minutes=6))
    later = post(receiver.url, body, captured)  # replayed after the tolerance
    other = signed_headers([Webhook(secret)], "e-2", clock() - timedelta(minutes=6), b'{"id":"e-2"}')
    old = post(receiver.url, b'{"id":"e-2"}', other)  # never seen, but signed too long ago
    future = post(receiver.url, b'{"id":"e-3"}', signed_headers([Webhook(secret)], "e-3", clock() + timedelta(minutes=6), b'{"id":"e-3"}'))

    assert (first.status_code, again.status_code) == (204, 200)
    assert again.text == "already taken"
    assert (later.status_code, old.status_code, future.status_code) == (403, 403, 403)
    assert [v.id for v in receiver.taken] == ["e-1"]  # handed over once


def test_two_secrets_sign_at_once_so_either_end_can_rotate_first(tmp_path: Path, serve: Callable[[Receiver], Receiver]) -> None:
    old, new = new_secret(), new_secret()
    both = tmp_path / "rotating.secret"
    both.write_text(f"# old until every receiver has the new one\n{old}\n{new}\n", encoding="ascii")
    on_old, on_new, on_both = serve(Receiver([old])), serve(Receiver([new])), serve(Receiver([old, new]))
    stranger = serve(Receiver([new_secret()]))
    sender = WebhookSender(load_secrets(both), policy=RetryPolicy(attempts=1))
    only_new = WebhookSender([Webhook(new)], policy=RetryPolicy(attempts=1))

    async def send_all() -> list[bool]:
        results = [await sender.send(r.url, f"e-{i}", b"{}") for i, r in enumerate((on_old, on_new, on_both, stranger))]
        results.append(await only_new.send(on_both.url, "e-9", b"{}"))  # the old secret retired at the sender
        return [o.accepted for o in results]

    assert asyncio.run(send_all()) == [True, True, True, False, True]
    assert [len(r.headers["webhook-signature"].split(" ")) for r in on_both.requests] == [2, 1]
    assert len(on_old.requests[0].headers["webhook-signature"].split(" ")) == 2


# -- retries, back-off and dead letters --------------------------------------------------------


def test_a_receiver_failing_twice_with_503_gets_the_event_on_the_third_attempt_once(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path, secret_file: Path, serve: Callable[[Receiver], Receiver]
) -> None:
    register_child(rt)
    receiver = serve(Receiver(load_secret_lines(secret_file), fail_first=2))
    pauses = Pauses()

    async def scenario() -> tuple[int, int, int]:
        await deliver(rt)
        sub, sink = signed_subscriber(
            nats_server, keys, tmp_path, receiver.url, secret_file, RetryPolicy(attempts=5, base=0.5, cap=60), pauses
        )
        try:
            await drain(sub)
        finally:
            await sub.close()
            sub.processed.close()
            sink.close()
        pending, unacked = await consumer_state(nats_server.url)
        return pending, unacked, len(DeadLetters(tmp_path / "dead-letters.sqlite").list())

    pending, unacked, dead = asyncio.run(scenario())

    assert [r.status for r in receiver.requests] == [503, 503, 204]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # one id for every attempt
    assert len(receiver.taken) == 1
    assert pauses.taken == [0.5, 1.0]  # exponential: base, then twice the base (jitter at its top)
    assert (pending, unacked, dead) == (0, 0, 0)


@dataclass
class Scripted:
    """A bare receiver answering the statuses scripted, then 204."""

    answers: list[tuple[int, dict[str, str]]]
    seen: int = 0
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def app(self) -> Callable[..., Awaitable[None]]:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return
            self.seen += 1
            status, headers = self.answers.pop(0) if self.answers else (204, {})
            await send({"type": "http.response.start", "status": status, "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
            await send({"type": "http.response.body", "body": b""})

        return app


@pytest.mark.parametrize(
    ("answers", "accepted", "tries", "pauses"),
    [
        ([(429, {"Retry-After": "7"})], True, 2, [7.0]),  # Retry-After asks for longer than the back-off: honoured
        ([(429, {"Retry-After": "900"})], True, 2, [60.0]),  # ... up to the cap
        ([(408, {}), (500, {})], True, 3, [0.25, 0.5]),  # 408 and 5xx are tried again
        ([(400, {})], False, 1, []),  # a refusal is final: no retry
        ([(410, {})], False, 1, []),
        ([(503, {})] * 5, False, 3, [0.25, 0.5]),  # the last attempt fails: not taken
    ],
)
def test_which_answers_are_tried_again_and_how_long_the_pause_is(
    answers: list[tuple[int, dict[str, str]]], accepted: bool, tries: int, pauses: list[float], serve: Any
) -> None:
    scripted = Scripted(list(answers))
    server = uvicorn.Server(uvicorn.Config(scripted.app(), host="127.0.0.1", port=scripted.port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        recorded = Pauses()
        sender = WebhookSender([Webhook(new_secret())], policy=RetryPolicy(attempts=3, base=0.25), sleep=recorded, jitter=lambda: 1.0)
        outcome = asyncio.run(sender.send(scripted.url, "e-1", b"{}"))
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    assert (outcome.accepted, outcome.attempts, scripted.seen) == (accepted, tries, tries)
    assert recorded.taken == pauses


def test_jitter_spreads_the_pause_between_half_and_all_of_the_back_off() -> None:
    policy = RetryPolicy(base=2.0, cap=60.0)
    assert [policy.delay(3, None, lambda j=j: j) for j in (0.0, 0.5, 1.0)] == [4.0, 6.0, 8.0]
    assert policy.delay(10, None, lambda: 1.0) == 60.0


def test_no_listener_is_tried_again_then_dead_lettered_and_the_message_acknowledged(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path, secret_file: Path
) -> None:
    register_child(rt)
    pauses = Pauses()
    url = f"http://127.0.0.1:{free_port()}/nobody"

    async def scenario() -> tuple[int, int]:
        await deliver(rt)
        sub, sink = signed_subscriber(nats_server, keys, tmp_path, url, secret_file, RetryPolicy(attempts=4, base=0.01), pauses)
        try:
            await drain(sub)
            assert sink.dead_lettered == 1
        finally:
            await sub.close()
            sub.processed.close()
            sink.close()
        return await consumer_state(nats_server.url)

    assert asyncio.run(scenario()) == (0, 0)
    assert len(pauses.taken) == 3
    [letter] = DeadLetters(tmp_path / "dead-letters.sqlite").list()
    assert (letter.url, letter.attempts, letter.reason) == (url, 4, "ConnectError")
    assert json.loads(letter.body)["type"] == "backa.v1.ChildRegistered"


# -- the command line --------------------------------------------------------------------------


def backa(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hub.cli", *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_subscribe_post_refuses_to_post_unsigned_unless_told(tmp_path: Path, keys: Path) -> None:
    common = ["subscribe", "--unit", UNIT, "--key", str(keys / f"{UNIT}.key"), "--nats", "nats://127.0.0.1:1", "--post", "http://127.0.0.1:1/"]
    refused = backa(*common, env={**os.environ})
    assert refused.wait(timeout=30) == 2
    assert b"--secret-file" in (refused.stderr.read() if refused.stderr else b"")
    bad = tmp_path / "bad.secret"
    bad.write_text("not-a-secret\n", encoding="ascii")
    wrong = backa(*common, "--secret-file", str(bad), env={**os.environ})
    assert wrong.wait(timeout=30) == 2
    said = wrong.stderr.read() if wrong.stderr else b""
    assert b"whsec_" in said and b"not-a-secret" not in said  # the secret itself is never repeated


def test_a_receiver_that_never_takes_it_leaves_a_dead_letter_the_replay_command_delivers(
    nats_server: NatsServer, tmp_path: Path, serve: Callable[[Receiver], Receiver]
) -> None:
    data, hubkeys, agency = tmp_path / "data", tmp_path / "hubkeys", tmp_path / "agency"
    env = {
        **os.environ, "BACKA_DATA_DIR": str(data), "BACKA_NATS_URL": nats_server.url, "BACKA_UNIT_KEYS_DIR": str(hubkeys),
        "BACKA_KEK_FILE": str(data / "kek.key"),
    }
    assert backa("keys", "generate", "--unit", UNIT, "--out", str(agency), env=env).wait(timeout=30) == 0
    assert backa("webhooks", "new-secret", "--out", str(agency / "webhook.secret"), env=env).wait(timeout=30) == 0
    hubkeys.mkdir()
    (hubkeys / f"{UNIT}.pub").write_bytes((agency / f"{UNIT}.pub").read_bytes())
    data.mkdir()
    directory().save(data / "directory.json")
    runtime = bootstrap(Settings(store="sqlite", data_dir=data, demo_mode=True), clock=SettableClock(START))
    child = register_child(runtime)
    runtime.close()
    secrets = load_secret_lines(agency / "webhook.secret")
    down = serve(Receiver(secrets, always_fail=True))
    letters_file = agency / "dead.sqlite"

    relay = backa("relay", env=env)
    sub = backa(
        "subscribe", "--unit", UNIT, "--tenant", "ystad", "--key", str(agency / f"{UNIT}.key"), "--post", down.url,
        "--secret-file", str(agency / "webhook.secret"), "--dead-letters", str(letters_file), "--attempts", "2",
        "--state", str(agency / "seen.sqlite"), env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while not (letters_file.exists() and DeadLetters(letters_file).list()):
            assert relay.poll() is None and sub.poll() is None, "a process stopped early"
            assert time.monotonic() < deadline, "nothing was dead-lettered"
            time.sleep(0.05)
    finally:
        for p in (sub, relay):
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=20) for p in (sub, relay)]
        errors = [p.stderr.read().decode() if p.stderr else "" for p in (sub, relay)]
    assert codes == [0, 0], errors
    assert "1 dead-lettered" in errors[0]
    assert [r.status for r in down.requests] == [503, 503]  # --attempts 2
    assert down.taken == []

    listed = backa("webhooks", "dead-letters", "--file", str(letters_file), "--list", env=env)
    assert listed.wait(timeout=30) == 0
    [row] = (listed.stdout.read() if listed.stdout else b"").decode().splitlines()
    letter_id, _, attempts, reason, url = row.split("\t")
    assert (attempts, reason, url) == ("2", "HTTP 503", down.url)
    assert str(child) not in row  # the list names no child

    up = serve(Receiver(secrets))
    replayed = backa(
        "webhooks", "dead-letters", "--file", str(letters_file), "--replay", "--secret-file", str(agency / "webhook.secret"),
        "--post", up.url, env=env,
    )
    assert replayed.wait(timeout=30) == 0, replayed.stderr.read() if replayed.stderr else b""
    assert [r.headers["webhook-id"] for r in up.requests] == [letter_id]  # the event's own id, freshly signed
    [taken] = up.taken
    assert json.loads(taken.body)["data"]["event"]["child_id"] == str(child)
    assert DeadLetters(letters_file).list() == []


def test_a_delivery_that_cannot_even_be_dead_lettered_is_offered_again_not_acknowledged(tmp_path: Path) -> None:
    from adapters.agency_subscriber import TransientDeliveryError
    from adapters.cloudevents_codec import OpenedEvent

    letters = DeadLetters(tmp_path / "dead.sqlite")
    letters.close()  # the file is gone from under it: every write fails
    sender = WebhookSender([Webhook(new_secret())], policy=RetryPolicy(attempts=1))
    sink = SignedWebhookSink(f"http://127.0.0.1:{free_port()}/", sender, letters)
    event = OpenedEvent("e-1:skola-ostra", "backa.v1.ChildRegistered", "urn:backa:hub:ystad", None, "kid", {"event": {}})

    with pytest.raises(TransientDeliveryError):  # the subscriber naks it and tries again later
        asyncio.run(sink.deliver(event))
    assert sink.dead_lettered == 0


def test_the_receiver_runs_as_a_program_and_its_tolerance_is_its_own(tmp_path: Path, secret_file: Path) -> None:
    port, out = free_port(), tmp_path / "taken.jsonl"
    receiver = subprocess.Popen(
        [sys.executable, "-m", "adapters.webhook_receiver", "--secret-file", str(secret_file), "--port", str(port),
         "--out", str(out), "--tolerance", "30"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/"
    hooks = load_secrets(secret_file)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                assert receiver.poll() is None and time.monotonic() < deadline, "the receiver did not start"
                time.sleep(0.05)
        now = datetime.now(UTC)
        fresh = post(url, b'{"id":"e-1"}', signed_headers(hooks, "e-1", now, b'{"id":"e-1"}'))
        # a minute old: inside the default 5 minutes, outside the 30 s given
        stale = post(url, b'{"id":"e-2"}', signed_headers(hooks, "e-2", now - timedelta(minutes=1), b'{"id":"e-2"}'))
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=20)

    assert (fresh.status_code, stale.status_code) == (204, 403)
    assert out.read_text(encoding="utf-8").splitlines() == ['{"id":"e-1"}']


def test_a_stop_during_the_back_off_offers_the_message_again_instead_of_dead_lettering_it(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path, secret_file: Path, serve: Callable[[Receiver], Receiver]
) -> None:
    register_child(rt)
    secrets = load_secret_lines(secret_file)

    async def scenario() -> tuple[Receiver, list[Any], Receiver]:
        await deliver(rt)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        down = serve(Receiver(secrets, always_fail=True, on_failure=lambda: loop.call_soon_threadsafe(stop.set)))
        # an hour's pause after the first failure: only the stop ends it
        sender = WebhookSender(load_secrets(secret_file), policy=RetryPolicy(attempts=3, base=3600, cap=3600))
        sender.stop_on(stop)
        sink = SignedWebhookSink(down.url, sender, DeadLetters(tmp_path / "dead-letters.sqlite"))
        sub = AgencySubscriber(
            nats_url=nats_server.url, unit_id=UNIT, tenant_id="ystad", private_key=load_private_key(keys / f"{UNIT}.key"),
            sink=sink, processed=ProcessedIds(tmp_path / "seen.sqlite"), fetch_timeout=0.3, retry_delays=(0.05,),
        )
        await asyncio.wait_for(sub.run(stop), timeout=30)
        letters = DeadLetters(tmp_path / "dead-letters.sqlite").list()
        sub.processed.close()
        sink.close()

        up = serve(Receiver(secrets))
        again, sink2 = signed_subscriber(nats_server, keys, tmp_path, up.url, secret_file, RetryPolicy(attempts=1), Pauses())
        try:
            deadline = time.monotonic() + 10
            while not up.taken:
                await again.poll()
                assert time.monotonic() < deadline, "the message was not offered again"
        finally:
            await again.close()
            again.processed.close()
            sink2.close()
        return down, letters, up

    down, letters, up = asyncio.run(scenario())

    assert [r.status for r in down.requests] == [503]  # the stop cut the hour's pause short
    assert letters == []  # not dead-lettered: it was not the receiver's last chance
    assert [json.loads(v.body)["type"] for v in up.taken] == ["backa.v1.ChildRegistered"]
