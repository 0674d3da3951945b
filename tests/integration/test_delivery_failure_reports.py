"""Webhooks an agency could not hand over reach the area's administrator in the hub, over a
real nats-server, real receivers and the hub's real store: the agency dead-letters a delivery
its receiver refuses and reports it (ids, type, reason; never the body), the relay's intake
keeps the report once, a replay that delivers marks it recovered, and only the area's own
administrator sees the list. A malformed report, or one for a unit of another area, is never kept."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest
import uvicorn
from litestar.testing import TestClient

from adapters.agency_subscriber import AgencySubscriber, ProcessedIds
from adapters.delivery_reports import DeliveryReporter
from adapters.report_intake import ReportIntake
from adapters.sealed_box import load_private_key
from adapters.signed_webhooks import DeadLetters, RetryPolicy, SignedWebhookSink, WebhookSender, load_secrets, replay, write_secret
from consent import ViewerKind
from contracts.delivery_reports import DeliveryFailed, report_subject
from contracts.vocabulary import Role
from hub.errors import NotPermittedError
from hub.http import create_app
from hub.identity.principals import Principal
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.delivery_reports import ReportKeeper, build_report_intake
from hub.runtime.settings import Settings
from tests.conftest import register_child
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, OTHER_TENANT, STAFF, START, TENANT, directory, staff
from tests.integration.test_signed_webhooks import Pauses, backa, child_with_card, deliver
from tests.nats_server import NatsServer, free_port, keys, nats_server, rt, stored_messages

__all__ = ["keys", "nats_server", "rt"]

UNIT = "skola-ostra"
ADMIN = staff("admin.ystad")
PERSONAL = (CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, "Alva", "Lind", "Oro efter rast", "Trygghet och fritid", "Elevhälsan")


@dataclass
class Answering:
    """A bare receiver answering ``status`` to every post."""

    status: int
    seen: int = 0
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def app(self) -> Callable[..., Awaitable[None]]:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return
            more = True
            while more:
                more = (await receive()).get("more_body", False)
            self.seen += 1
            await send({"type": "http.response.start", "status": self.status, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        return app


@pytest.fixture
def serve() -> Iterator[Callable[[Answering], Answering]]:
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(receiver: Answering) -> Answering:
        server = uvicorn.Server(uvicorn.Config(receiver.app(), host="127.0.0.1", port=receiver.port, log_level="warning", lifespan="off"))
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


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "agency" / "webhook.secret"
    write_secret(path)
    return path


def agency(nats_server: NatsServer, keys: Path, folder: Path, url: str, secret_file: Path) -> tuple[AgencySubscriber, SignedWebhookSink]:
    """``backa subscribe --post URL --secret-file F`` as the CLI wires it, reporting to the hub."""
    sender = WebhookSender(load_secrets(secret_file), policy=RetryPolicy(attempts=3), sleep=Pauses(), jitter=lambda: 1.0)
    sink = SignedWebhookSink(url, sender, DeadLetters(folder / "dead-letters.sqlite"))
    sub = AgencySubscriber(
        nats_url=nats_server.url, unit_id=UNIT, tenant_id=TENANT, private_key=load_private_key(keys / f"{UNIT}.key"),
        sink=sink, processed=ProcessedIds(folder / "seen.sqlite"), fetch_timeout=0.3,
    )
    sink.reporter = DeliveryReporter(UNIT, lambda: sub.js)
    return sub, sink


async def take_reports(intake: ReportIntake, handled: int) -> None:
    """Poll the hub's intake until ``handled`` reports were stored or refused."""
    deadline = time.monotonic() + 10
    while intake.stats.stored + intake.stats.refused < handled:
        assert time.monotonic() < deadline, f"only {intake.stats} of {handled} reports arrived"
        await intake.poll()


async def dead_letter_two(rt: Runtime, nats_server: NatsServer, keys: Path, folder: Path, url: str, secret_file: Path) -> SignedWebhookSink:
    await deliver(rt)
    sub, sink = agency(nats_server, keys, folder, url, secret_file)
    try:
        while await sub.poll():
            pass
    finally:
        await sub.close()
        sub.processed.close()
        sink.dead_letters.close()
    return sink


def stored_rows(rt: Runtime) -> list[tuple[Any, ...]]:
    with sqlite3.connect(rt.settings.data_dir / "delivery_failures.sqlite") as db:
        return db.execute("SELECT * FROM delivery_failures ORDER BY message_id").fetchall()


def test_a_refused_delivery_is_dead_lettered_and_the_administrator_sees_it_without_its_content_until_a_replay_recovers_it(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path, secret_file: Path, serve: Callable[[Answering], Answering]
) -> None:
    child_with_card(rt)
    refusing = serve(Answering(410))
    taking = serve(Answering(204))
    intake, keeper = build_report_intake(rt, fetch_timeout=0.3)

    async def scenario() -> tuple[SignedWebhookSink, list[Any], list[Any]]:
        await intake.start()  # the hub's relay makes the reports stream
        sink = await dead_letter_two(rt, nats_server, keys, tmp_path, refusing.url, secret_file)
        await take_reports(intake, 2)
        failed = rt.hub.failed_deliveries(ADMIN)
        letters = DeadLetters(tmp_path / "dead-letters.sqlite")
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            sender = WebhookSender(load_secrets(secret_file), policy=RetryPolicy(attempts=1))
            outcomes = await replay(letters, sender, url=taking.url, reporter=DeliveryReporter(UNIT, lambda: js))
            assert all(o.accepted for _, o in outcomes)
        finally:
            await nc.close()
            letters.close()
        await take_reports(intake, 4)
        await intake.close()
        delivered = await stored_messages(nats_server.url)
        assert delivered and not [m for m in delivered if ".Delivery" in m.subject]  # the units' stream holds no report
        return sink, failed, rt.hub.failed_deliveries(ADMIN)

    try:
        sink, failed, after = asyncio.run(scenario())
        rows = stored_rows(rt)
    finally:
        keeper.close()

    assert sink.dead_lettered == 2 and refusing.seen == 2  # 410 is final: one attempt each, then the dead-letter file
    assert sorted(r.event_type for r in failed) == ["backa.v1.ChildRegistered", "backa.v1.DiscoveryCardSubmitted"]
    assert {(r.tenant_id, r.unit_id, r.reason, r.attempts, r.state.value) for r in failed} == {(TENANT, UNIT, "HTTP 410", 1, "open")}
    assert {r.message_id for r in after} == {r.message_id for r in failed}
    assert {r.state.value for r in after} == {"recovered"} and all(r.recovered_at is not None for r in after)
    assert rt.hub.failed_deliveries(ADMIN, state="open") == []
    assert len(rt.hub.failed_deliveries(ADMIN, state="recovered", unit_id=UNIT)) == 2
    assert rt.hub.failed_deliveries(ADMIN, unit_id="bvc-ystad") == []
    # what the hub keeps is ids, a type, a reason and moments: nothing of the child, the family or the card
    assert len(rows) == 2 and all(len(row) == 8 for row in rows)
    kept = json.dumps(rows, default=str)
    for personal in PERSONAL:
        assert personal not in kept


def test_a_report_sent_twice_is_kept_once_and_a_report_that_cannot_be_published_loses_no_delivery(
    rt: Runtime, nats_server: NatsServer, keys: Path, tmp_path: Path, secret_file: Path, serve: Callable[[Answering], Answering]
) -> None:
    child_with_card(rt)
    refusing = serve(Answering(500))
    intake, keeper = build_report_intake(rt, fetch_timeout=0.3)

    async def scenario() -> tuple[SignedWebhookSink, int, int]:
        sink = await dead_letter_two(rt, nats_server, keys, tmp_path, refusing.url, secret_file)  # no reports stream yet
        await intake.start()
        report = DeliveryFailed(
            tenant_id=TENANT, unit_id=UNIT, message_id="e-1", event_type="backa.v1.ChildRegistered", reason="timeout",
            attempts=6, at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        )
        nc = await nats.connect(nats_server.url)
        try:
            for n in range(2):  # two ids, so JetStream keeps both: the hub's key is what keeps one row
                await nc.jetstream().publish(report_subject(report), report.model_dump_json().encode(), headers={"Nats-Msg-Id": f"x-{n}"})
        finally:
            await nc.close()
        await take_reports(intake, 2)
        await intake.close()
        waiting = await unit_pending(nats_server.url)
        return sink, waiting, intake.stats.stored

    try:
        sink, waiting, stored = asyncio.run(scenario())
    finally:
        keeper.close()

    assert sink.dead_lettered == 2 and refusing.seen == 6  # 500 is tried again: three attempts each
    assert sink.reporter is not None and (sink.reporter.published, sink.reporter.failed) == (0, 2)
    assert waiting == 0  # both acknowledged: the failed report held nothing up
    assert len(DeadLetters(tmp_path / "dead-letters.sqlite").list()) == 2
    assert stored == 2
    assert [(r.message_id, r.reason, r.attempts) for r in rt.hub.failed_deliveries(ADMIN)] == [("e-1", "timeout", 6)]


async def unit_pending(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info("BACKA", f"backa-{TENANT}-{UNIT}")
        return (info.num_pending or 0) + (info.num_ack_pending or 0)
    finally:
        await nc.close()


def test_a_malformed_report_or_one_for_a_unit_of_another_area_is_terminated_and_never_kept(rt: Runtime, nats_server: NatsServer) -> None:
    intake, keeper = build_report_intake(rt, fetch_timeout=0.3)
    good = {
        "schema_version": 1, "tenant_id": TENANT, "unit_id": UNIT, "message_id": "e-9", "event_type": "backa.v1.ChildRegistered",
        "attempts": 1, "at": "2026-03-02T09:00:00Z", "report": "delivery_failed", "reason": "HTTP 503",
    }
    subject = f"backa.reports.{TENANT}.{UNIT}.DeliveryFailed"
    bad: list[tuple[str, bytes]] = [
        (subject, b"{not json"),
        (subject, json.dumps({**good, "body": f"Alva Lind {CHILD_PNR}"}).encode()),  # a field the contract has not
        (subject, json.dumps({**good, "reason": "the receiver said Alva Lind is unknown"}).encode()),  # free text as a reason
        (subject, json.dumps({**good, "attempts": "1"}).encode()),  # a number as text
        (f"backa.reports.{TENANT}.bvc-ystad.DeliveryFailed", json.dumps(good).encode()),  # the subject names another unit
        (f"backa.reports.{TENANT}.skola-lidingo.DeliveryFailed", json.dumps({**good, "unit_id": "skola-lidingo"}).encode()),
        (f"backa.reports.{OTHER_TENANT}.{UNIT}.DeliveryFailed", json.dumps({**good, "tenant_id": OTHER_TENANT}).encode()),
        (f"backa.reports.{TENANT}.{UNIT}.Whatever", json.dumps(good).encode()),
    ]

    async def scenario() -> None:
        await intake.start()
        nc = await nats.connect(nats_server.url)
        try:
            for n, (subj, data) in enumerate(bad):
                await nc.jetstream().publish(subj, data, headers={"Nats-Msg-Id": f"bad-{n}"})
        finally:
            await nc.close()
        await take_reports(intake, len(bad))
        await intake.close()

    try:
        asyncio.run(scenario())
    finally:
        keeper.close()

    assert (intake.stats.stored, intake.stats.refused) == (0, len(bad))
    assert rt.hub.failed_deliveries(ADMIN) == []
    assert stored_rows(rt) == []


def test_only_the_areas_own_administrator_sees_the_failed_deliveries_and_staff_get_403_problem_json(rt: Runtime) -> None:
    keeper = ReportKeeper(rt.kit.delivery_failure_store(), rt.hub.directory) if rt.kit else None
    assert keeper is not None
    keeper(DeliveryFailed(
        tenant_id=TENANT, unit_id=UNIT, message_id="e-1", event_type="backa.v1.ChildRegistered", reason="unreachable",
        attempts=6, at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    ))
    keeper.close()
    other_admin = Principal(ViewerKind.STAFF, OTHER_TENANT, "admin.lidingo", frozenset({Role.TENANT_ADMIN}))
    assert demo_token(rt, "admin.ystad")

    with TestClient(create_app(rt)) as client:
        admin = client.get("/api/v1/deliveries/failed", headers=demo_token(rt, "admin.ystad"))
        recovered = client.get("/api/v1/deliveries/failed?state=recovered", headers=demo_token(rt, "admin.ystad"))
        odd = client.get("/api/v1/deliveries/failed?state=gone", headers=demo_token(rt, "admin.ystad"))
        barnkontakt = client.get("/api/v1/deliveries/failed", headers=demo_token(rt, "rektor.ostra"))

    assert admin.status_code == 200
    assert [(d["unit_id"], d["message_id"], d["reason"], d["state"]) for d in admin.json()] == [(UNIT, "e-1", "unreachable", "open")]
    assert recovered.json() == []
    assert odd.status_code == 422 and odd.headers["content-type"].startswith("application/problem+json")
    assert "state" in odd.text
    assert barnkontakt.status_code == 403
    assert barnkontakt.headers["content-type"].startswith("application/problem+json")
    assert "e-1" not in barnkontakt.text
    assert rt.hub.failed_deliveries(other_admin) == []  # another area's administrator sees none of this area's
    with pytest.raises(NotPermittedError):
        rt.hub.failed_deliveries(staff("rektor.ostra"))


def demo_token(rt: Runtime, user_id: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return {"Authorization": "Bearer " + rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}


def test_the_commands_carry_a_dead_letter_and_its_replay_from_backa_subscribe_through_backa_relay_to_the_hubs_list(
    nats_server: NatsServer, tmp_path: Path, serve: Callable[[Answering], Answering]
) -> None:
    data, hubkeys, folder = tmp_path / "data", tmp_path / "hubkeys", tmp_path / "agency"
    env = {
        **os.environ, "BACKA_DATA_DIR": str(data), "BACKA_NATS_URL": nats_server.url, "BACKA_UNIT_KEYS_DIR": str(hubkeys),
        "BACKA_KEK_FILE": str(data / "kek.key"),
    }
    assert backa("keys", "generate", "--unit", UNIT, "--out", str(folder), env=env).wait(timeout=30) == 0
    assert backa("webhooks", "new-secret", "--out", str(folder / "webhook.secret"), env=env).wait(timeout=30) == 0
    hubkeys.mkdir()
    (hubkeys / f"{UNIT}.pub").write_bytes((folder / f"{UNIT}.pub").read_bytes())
    data.mkdir()
    directory().save(data / "directory.json")
    settings = Settings(store="sqlite", data_dir=data, demo_mode=True)
    runtime = bootstrap(settings, clock=SettableClock(START))
    register_child(runtime)
    runtime.close()
    refusing, taking = serve(Answering(410)), serve(Answering(204))
    letters_file = folder / "dead.sqlite"

    relay = backa("relay", env=env)
    sub = None
    try:
        wait_for(lambda: stream_exists(nats_server.url, "BACKA_REPORTS"), "the relay made the reports stream")
        sub = backa(
            "subscribe", "--unit", UNIT, "--tenant", TENANT, "--key", str(folder / f"{UNIT}.key"), "--post", refusing.url,
            "--secret-file", str(folder / "webhook.secret"), "--dead-letters", str(letters_file), "--state", str(folder / "seen.sqlite"),
            env=env,
        )
        wait_for(lambda: len(listed(settings)) == 1, "the hub kept the report of the dead letter")
        failed = listed(settings)
        replayed = backa(
            "webhooks", "dead-letters", "--file", str(letters_file), "--replay", "--secret-file", str(folder / "webhook.secret"),
            "--post", taking.url, "--nats", nats_server.url, "--unit", UNIT, env=env,
        )
        assert replayed.wait(timeout=30) == 0
        wait_for(lambda: [r.state.value for r in listed(settings)] == ["recovered"], "the hub marked it recovered")
    finally:
        for p in (sub, relay):
            if p is not None:
                p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=30) for p in (sub, relay) if p is not None]
    assert codes == [0, 0]
    assert [(r.unit_id, r.event_type, r.reason, r.attempts) for r in failed] == [(UNIT, "backa.v1.ChildRegistered", "HTTP 410", 1)]


def listed(settings: Settings) -> list[Any]:
    runtime = bootstrap(settings, clock=SettableClock(START))
    try:
        return runtime.hub.failed_deliveries(ADMIN)
    finally:
        runtime.close()


def stream_exists(url: str, name: str) -> bool:
    async def ask() -> bool:
        nc = await nats.connect(url, allow_reconnect=False)
        try:
            await nc.jetstream().stream_info(name)
            return True
        except nats.js.errors.NotFoundError:
            return False
        finally:
            await nc.close()

    return asyncio.run(ask())


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not come about in {timeout} s"
        time.sleep(0.1)
