"""The agency side over a real nats-server: a unit's durable subscriber opens, hands over and
acknowledges each delivery; refuses what its key does not open; survives redelivery, a
local system that is down, and a stop; and the CLI runs relay and subscriber end to end."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import pytest

from adapters.agency_subscriber import AgencySubscriber, HttpPostSink, JsonLinesSink, ProcessedIds
from adapters.cloudevents_codec import encode_sealed, open_event, parse_sealed
from adapters.deliveries import Delivery
from adapters.jetstream_relay import Backoff
from adapters.sealed_box import SealError, generate_key_pair, key_id, load_private_key, load_public_key
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.relay import build_relay
from hub.runtime.settings import Settings
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, START, card_payload, conversation_payload, directory, staff
from tests.nats_server import NatsServer, free_port, keys, nats_server, rt, stored_messages

__all__ = ["keys", "nats_server", "rt"]

BK = "rektor.ostra"
UNIT = "elevhalsa-ostra"
MARKER = "markord-4410-hemligt"
REPO = Path(__file__).resolve().parents[2]


async def deliver(rt: Runtime) -> None:
    relay = build_relay(rt, backoff=Backoff(0.05, 0.5), publish_timeout=1.0)
    try:
        await relay.pump()
    finally:
        await relay.close()


def subscriber(
    nats_server: NatsServer, key: Path, folder: Path, unit: str = UNIT, **options: Any
) -> tuple[AgencySubscriber, Path]:
    out = folder / f"{unit}.jsonl"
    sub = AgencySubscriber(
        nats_url=nats_server.url,
        unit_id=unit,
        tenant_id="ystad",
        private_key=load_private_key(key),
        sink=options.pop("sink", None) or JsonLinesSink(out),
        processed=ProcessedIds(folder / f"{unit}.seen.sqlite"),
        fetch_timeout=0.3,
        **options,
    )
    return sub, out


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def drain(sub: AgencySubscriber) -> None:
    """Handle everything waiting for the unit now."""
    while await sub.poll():
        pass


def child_with_barnkontakt(rt: Runtime) -> UUID:
    child = register_child(rt)
    assert isinstance(child, UUID)
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    return child


def summary(text: str) -> dict[str, Any]:
    return {**conversation_payload(), "summary": text}


# -- the unit's view over time ----------------------------------------------------------------


def test_a_unit_receives_only_consented_events_then_a_revocation_then_nothing_more_about_the_child(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path
) -> None:
    hub = rt.hub
    g1, g2 = family(rt, GUARDIAN_1_PNR), family(rt, GUARDIAN_2_PNR)

    async def scenario() -> list[dict[str, Any]]:
        sub, out = subscriber(nats_server, keys / f"{UNIT}.key", tmp_path)
        try:
            child = child_with_barnkontakt(rt)
            hub.hold_conversation(staff(BK), child, **summary("före samtycke"))
            consent = hub.request_consent(
                staff(BK), child, recipients=[{"unit_id": UNIT}], categories=["needs", "conversations"], purpose="Samordning"
            )
            hub.grant_consent(g1, child, consent)
            hub.hold_conversation(staff(BK), child, **summary("en vårdnadshavare har svarat"))
            await deliver(rt)
            await drain(sub)
            assert lines(out) == []  # nothing before the consent is in effect

            hub.grant_consent(g2, child, consent)
            hub.hold_conversation(staff(BK), child, **summary(f"efter samtycke {MARKER}"))
            hub.decide_team(staff(BK), child, decision="own_support", family_informed=True, rationale="Rastvärd räcker")
            await deliver(rt)
            await drain(sub)

            hub.withdraw_consent(g1, child, consent)
            await deliver(rt)
            await drain(sub)

            hub.hold_conversation(staff(BK), child, **summary("efter återkallelse"))
            hub.hold_follow_up(staff(BK), child, summary="Uppföljning")
            await deliver(rt)
            await drain(sub)
            assert sub.stats.rejections == []
            return lines(out)
        finally:
            await sub.close()

    received = asyncio.run(scenario())

    # the facts committed while the consent waited for the second guardian were decided when
    # the relay delivered them, and were not the unit's to see then; they are never sent later
    assert [e["type"] for e in received] == ["backa.v1.ConversationHeld", "backa.v1.TeamDecided", "backa.v1.ConsentRevoked"]
    conversation, team, revoked = received
    assert conversation["data"]["event"]["summary"] == f"efter samtycke {MARKER}"
    assert team["data"]["event"]["rationale"] == "Rastvärd räcker" and "decision" not in team["data"]["event"]
    assert {a["category"] for a in team["data"]["access"]} == {"needs"}
    notice = revoked["data"]
    assert notice["categories"] == ["conversations", "needs"]
    assert notice["child_id"] == conversation["data"]["event"]["child_id"]
    assert notice["consent_id"] == team["data"]["access"][0]["consent_id"]
    assert all(e["specversion"] == "1.0" and e["source"] == "urn:backa:hub:ystad" for e in received)


# -- bad input and faults -------------------------------------------------------------------------


def test_a_key_that_does_not_open_a_message_terminates_it_and_reports_it_without_content(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hub = rt.hub
    child = child_with_barnkontakt(rt)
    consent = hub.request_consent(staff(BK), child, recipients=[{"unit_id": UNIT}], categories=["conversations"], purpose="Samordning")
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child, consent)
    hub.hold_conversation(staff(BK), child, **summary(f"Samtal {MARKER}"))
    wrong_key, _ = generate_key_pair(UNIT, tmp_path / "wrong")

    async def scenario() -> tuple[AgencySubscriber, Path, Any, list[dict[str, Any]]]:
        await deliver(rt)
        watcher = await nats.connect(nats_server.url)
        terminated = await watcher.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.BACKA.>")
        sub, out = subscriber(nats_server, wrong_key, tmp_path)
        try:
            with caplog.at_level(logging.INFO):
                await drain(sub)
                await asyncio.sleep(0.3)  # a terminated message must not come back
                await drain(sub)
            info = await sub.js.consumer_info("BACKA", sub.durable)
            advisory = json.loads((await terminated.next_msg(timeout=2)).data)
        finally:
            await sub.close()
            await watcher.close()
        return sub, out, info, [advisory]

    sub, out, info, advisories = asyncio.run(scenario())

    assert lines(out) == []
    assert len(sub.stats.rejections) == 1
    rejection = sub.stats.rejections[0]
    assert rejection.type == "backa.v1.ConversationHeld"
    assert rejection.kid == key_id(load_public_key(keys / f"{UNIT}.pub"))  # sealed to the unit's real key
    assert rejection.kid != sub.kid
    assert info.num_ack_pending == 0 and info.num_pending == 0 and info.num_redelivered == 0
    assert advisories[0]["stream_seq"] == rejection.stream_seq  # terminated, not merely acknowledged
    reported = [r.getMessage() for r in caplog.records if r.name == "backa.subscriber" and r.levelno >= logging.ERROR]
    assert len(reported) == 1 and "cannot be opened" in reported[0]
    assert not [r for r in caplog.records if MARKER in r.getMessage() or str(child) in r.getMessage()]


def test_a_ciphertext_moved_to_another_message_does_not_open_even_with_the_right_key(keys: Path) -> None:
    from datetime import UTC, datetime

    key = load_public_key(keys / f"{UNIT}.pub")
    delivery = Delivery("ystad", UNIT, f"backa.v1.ystad.{UNIT}.ConversationHeld", "e1:" + UNIT, "backa.v1.ConversationHeld",
                        datetime(2026, 3, 2, tzinfo=UTC), {"event": {"summary": MARKER}})
    received = parse_sealed(encode_sealed(delivery, key))
    private = load_private_key(keys / f"{UNIT}.key")

    assert open_event(received, delivery.subject, private).data == {"event": {"summary": MARKER}}
    with pytest.raises(SealError):
        open_event(received, f"backa.v1.ystad.{UNIT}.PlanUpdated", private)
    with pytest.raises(SealError):
        open_event(received, f"backa.v1.ystad.{UNIT}.ConversationHeld", load_private_key(keys / "bup-ystad.key"))


def test_a_unit_without_a_consumer_still_gets_its_delivery_stored_and_a_consumer_made_later_receives_it(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path
) -> None:
    child_with_barnkontakt(rt)  # the school's own facts: ChildRegistered, the card sent to it, BarnkontaktAssigned

    async def scenario() -> tuple[list[str], int, list[dict[str, Any]]]:
        await deliver(rt)
        nc = await nats.connect(nats_server.url)
        consumers = [c.name for c in await nc.jetstream().consumers_info("BACKA")]
        await nc.close()
        stored = [m.subject for m in await stored_messages(nats_server.url) if m.unit == "skola-ostra"]
        sub, out = subscriber(nats_server, keys / "skola-ostra.key", tmp_path, unit="skola-ostra")
        try:
            await drain(sub)
        finally:
            await sub.close()
        return consumers, len(stored), lines(out)

    consumers, stored, received = asyncio.run(scenario())

    assert consumers == []  # nobody listened when the relay published
    assert stored == 3
    assert [e["type"] for e in received] == [
        "backa.v1.ChildRegistered", "backa.v1.DiscoveryCardSubmitted", "backa.v1.BarnkontaktAssigned",
    ]
    assert received[0]["data"]["event"]["given_name"] == "Alva"


def test_a_redelivered_message_is_handed_over_once(rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path) -> None:
    child_with_barnkontakt(rt)

    class Crash(BaseException):
        pass

    async def scenario() -> tuple[list[dict[str, Any]], AgencySubscriber]:
        await deliver(rt)
        first, out = subscriber(nats_server, keys / "skola-ostra.key", tmp_path, unit="skola-ostra", ack_wait=1.0)

        def die_after_writing(msg_id: str) -> None:
            raise Crash  # the line is written; the process dies before remembering or acknowledging

        first.processed.add = die_after_writing  # type: ignore[method-assign]
        try:
            with pytest.raises(Crash):
                await first.poll()
        finally:
            await first.close()
            first.processed.close()
        assert len(lines(out)) == 1

        second, _ = subscriber(nats_server, keys / "skola-ostra.key", tmp_path, unit="skola-ostra", ack_wait=1.0)
        try:
            deadline = time.monotonic() + 5
            while second.stats.delivered < 2 or second.stats.duplicates < 1:
                await second.poll()
                assert time.monotonic() < deadline, "the unacknowledged message did not come back"
        finally:
            await second.close()
        return lines(out), second

    received, second = asyncio.run(scenario())

    assert [e["type"] for e in received] == [
        "backa.v1.ChildRegistered", "backa.v1.DiscoveryCardSubmitted", "backa.v1.BarnkontaktAssigned",
    ]
    assert second.stats.duplicates == 1


class Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_a_local_url_that_is_down_gets_the_event_once_it_is_up(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path
) -> None:
    hub = rt.hub
    child = register_child(rt)
    assert isinstance(child, UUID)
    hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload("skola-ostra"))
    port = free_port()
    Receiver.bodies = []

    async def scenario() -> AgencySubscriber:
        await deliver(rt)
        sink = HttpPostSink(f"http://127.0.0.1:{port}/events", timeout=1.0)
        sub, _ = subscriber(nats_server, keys / "skola-ostra.key", tmp_path, unit="skola-ostra", sink=sink, retry_delays=(0.3,))
        server: HTTPServer | None = None
        try:
            await sub.poll()  # nothing listens at the URL yet
            assert sub.stats.retried == 1 and sub.stats.delivered == 0
            server = HTTPServer(("127.0.0.1", port), Receiver)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            deadline = time.monotonic() + 5
            while sub.stats.delivered < 2:
                await sub.poll()
                assert time.monotonic() < deadline, "the events were not offered again"
        finally:
            await sub.close()
            if server is not None:
                server.shutdown()
                server.server_close()
        return sub

    sub = asyncio.run(scenario())

    posted = [json.loads(b) for b in Receiver.bodies]
    assert [p["type"] for p in posted] == ["backa.v1.ChildRegistered", "backa.v1.DiscoveryCardSubmitted"]
    assert posted[0]["data"]["event"]["child_id"] == str(child)
    assert sub.stats.rejections == []


# -- the command line ------------------------------------------------------------------------------


def backa(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs
    )


def test_keys_generate_writes_a_private_key_only_its_owner_reads_and_never_overwrites(tmp_path: Path) -> None:
    env = {**os.environ}
    first = backa("keys", "generate", "--unit", UNIT, "--out", str(tmp_path / "k"), env=env)
    assert first.wait(timeout=30) == 0
    private = tmp_path / "k" / f"{UNIT}.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert load_private_key(private).public_key().public_bytes_raw() == load_public_key(tmp_path / "k" / f"{UNIT}.pub").public_bytes_raw()
    before = private.read_bytes()

    again = backa("keys", "generate", "--unit", UNIT, "--out", str(tmp_path / "k"), env=env)
    assert again.wait(timeout=30) == 2
    assert private.read_bytes() == before


def test_backa_relay_and_backa_subscribe_deliver_end_to_end_and_stop_cleanly_on_sigterm(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    keys = tmp_path / "hubkeys"
    env = {
        **os.environ, "BACKA_DATA_DIR": str(data), "BACKA_NATS_URL": nats_server.url, "BACKA_UNIT_KEYS_DIR": str(keys),
        "BACKA_KEK_FILE": str(data / "kek.key"),  # the relay opens the children's facts with the hub's key-encryption key
    }
    assert backa("keys", "generate", "--unit", "skola-ostra", "--out", str(tmp_path / "agency"), env=env).wait(timeout=30) == 0
    keys.mkdir()
    (keys / "skola-ostra.pub").write_bytes((tmp_path / "agency" / "skola-ostra.pub").read_bytes())
    data.mkdir()
    directory().save(data / "directory.json")
    # a hub's log, written as `backa serve` would (the relay runs as a process of its own)
    runtime = bootstrap(Settings(store="sqlite", data_dir=data, demo_mode=True), clock=SettableClock(START))
    child = register_child(runtime)
    runtime.close()

    out = tmp_path / "agency" / "events.jsonl"
    relay = backa("relay", env=env)
    sub = backa(
        "subscribe", "--unit", "skola-ostra", "--tenant", "ystad", "--key", str(tmp_path / "agency" / "skola-ostra.key"),
        "--out", str(out), env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while not lines(out):
            assert relay.poll() is None and sub.poll() is None, "a process stopped early"
            assert time.monotonic() < deadline, "no event reached the agency"
            time.sleep(0.05)
    finally:
        for p in (sub, relay):
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=20) for p in (sub, relay)]
        errors = [p.stderr.read().decode() if p.stderr else "" for p in (sub, relay)]

    assert codes == [0, 0], errors
    received = lines(out)
    assert [e["type"] for e in received] == ["backa.v1.ChildRegistered"]
    assert received[0]["data"]["event"]["child_id"] == str(child)
    assert "stopped; 1 handed over" in errors[0]
    assert "stopped at log position 1" in errors[1]
