"""The relay to agencies over a real nats-server: redaction per unit, exactly-once delivery
across crashes and outages, end-to-end encryption, and the stream it sets up."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import pytest
from nats.js.api import StorageType, StreamConfig

from adapters.cloudevents_codec import OpenedEvent, open_event, parse_sealed
from adapters.deliveries import REVOCATION_TYPE, plan_deliveries
from adapters.jetstream_relay import Backoff, JetStreamRelay
from adapters.nats_link import StreamSettings, StreamSetupError
from adapters.sealed_box import load_private_key
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.relay import build_relay, facts_reader, log_reader, unit_keys
from hub.runtime.settings import Settings
from tests.conftest import family, register_child
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, card_payload, conversation_payload, directory, staff
from tests.nats_server import NatsServer, StoredMessage, keys, nats_server, rt, stored_messages, until

__all__ = ["keys", "nats_server", "rt"]

BK = "rektor.ostra"
MARKER = "markord-7731-hemligt"


def make_relay(rt: Runtime, **options: Any) -> JetStreamRelay:
    return build_relay(
        rt, poll_interval=0.01, backoff=Backoff(0.05, 0.5), reconnect_wait=0.05, publish_timeout=1.0, **options
    )


async def pump_once(rt: Runtime, **options: Any) -> JetStreamRelay:
    relay = make_relay(rt, **options)
    try:
        await relay.pump()
    finally:
        await relay.close()
    return relay


def child_with_barnkontakt(rt: Runtime) -> UUID:
    """A child discovered by the police and taken up by the school's Barnkontakt."""
    child = register_child(rt)
    assert isinstance(child, UUID)
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    return child


def consent_in_effect(rt: Runtime, child: UUID, recipients: list[dict[str, str]], categories: list[str]) -> UUID:
    consent = rt.hub.request_consent(staff(BK), child, recipients=recipients, categories=categories, purpose="Samordning")
    rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    rt.hub.grant_consent(family(rt, GUARDIAN_2_PNR), child, consent)
    return consent


def opened(message: StoredMessage, keys: Path) -> OpenedEvent:
    return open_event(parse_sealed(message.data), message.subject, load_private_key(keys / f"{message.unit}.key"))


# -- what each unit gets ------------------------------------------------------------------------


def test_each_unit_gets_only_the_categories_it_may_see_and_a_unit_without_a_basis_gets_nothing(
    rt: Runtime, nats_server: NatsServer, keys: Path
) -> None:
    hub = rt.hub
    child = child_with_barnkontakt(rt)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    consent = consent_in_effect(rt, child, [{"unit_id": "elevhalsa-ostra"}], ["needs"])
    hub.decide_team(staff(BK), child, decision="own_support", family_informed=True, rationale=f"Behov {MARKER}")
    hub.read_child(staff("kurator.ostra"), child, purpose="Förbereda stöd")

    asyncio.run(pump_once(rt))
    messages = asyncio.run(stored_messages(nats_server.url))

    team = {m.unit: opened(m, keys) for m in messages if m.event_type == "TeamDecided"}
    assert set(team) == {"skola-ostra", "elevhalsa-ostra"}
    own = team["skola-ostra"].data["event"]
    assert own["decision"] == "own_support" and own["rationale"] == f"Behov {MARKER}"
    shared = team["elevhalsa-ostra"].data["event"]
    assert shared["rationale"] == f"Behov {MARKER}"  # the needs part, under the consent
    assert "decision" not in shared and "family_informed" not in shared  # the team part is not consented
    assert (shared["event_id"], shared["child_id"], shared["actor"]) == (own["event_id"], own["child_id"], own["actor"])
    assert team["elevhalsa-ostra"].data["access"] == [{"category": "needs", "basis": "consent", "consent_id": str(consent)}]

    # the conversation is not in the consent: the pupil health unit never gets it
    assert [m.unit for m in messages if m.event_type == "ConversationHeld"] == ["skola-ostra"]
    # the police unit gets back only its own card; a unit with no basis gets nothing at all
    assert {m.subject for m in messages if m.unit == "polis-ystad"} == {"backa.v1.ystad.polis-ystad.DiscoveryCardSubmitted"}
    assert not [m for m in messages if m.unit in ("bup-ystad", "soc-ystad", "forskola-solen")]
    # reads are never delivered
    assert not [m for m in messages if m.event_type == "InformationAccessed"]


def test_a_revocation_names_only_the_categories_no_other_basis_still_allows(rt: Runtime) -> None:
    hub = rt.hub
    child = child_with_barnkontakt(rt)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    by_kind = consent_in_effect(rt, child, [{"unit_kind": "bup"}, {"unit_id": "elevhalsa-ostra"}], ["needs", "conversations"])
    consent_in_effect(rt, child, [{"unit_id": "bup-ystad"}], ["conversations"])
    hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), child, by_kind)

    withdrawal = log_reader(hub)(hub.log_length() - 1, 1)[0]
    facts_for = facts_reader(hub)
    recipients, _ = unit_keys(hub.directory, Path("/nonexistent"))
    notices = plan_deliveries(
        withdrawal, recipients, facts_for("ystad", child, None), hub.now(), hub.rules,
        facts_before=facts_for("ystad", child, withdrawal.version - 1),
    )

    revoked = {d.unit_id: d.body for d in notices if d.type_name == REVOCATION_TYPE}
    assert set(revoked) == {"bup-ystad", "elevhalsa-ostra"}
    assert revoked["bup-ystad"]["categories"] == ["needs"]  # conversations still flow under the other consent
    assert revoked["elevhalsa-ostra"]["categories"] == ["conversations", "needs"]
    assert revoked["elevhalsa-ostra"]["consent_id"] == str(by_kind)
    assert revoked["elevhalsa-ostra"]["child_id"] == str(child)


def test_withdrawing_a_consent_that_never_took_effect_sends_no_notice(rt: Runtime, nats_server: NatsServer) -> None:
    hub = rt.hub
    child = child_with_barnkontakt(rt)
    consent = hub.request_consent(staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Samordning")
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)  # the other guardian never answers
    hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), child, consent)

    asyncio.run(pump_once(rt))

    assert not [m for m in asyncio.run(stored_messages(nats_server.url)) if m.event_type == "ConsentRevoked"]


# -- exactly once ----------------------------------------------------------------------------------


class Crash(BaseException):
    """The relay process dies here (not an error it could handle)."""


def busy_case(rt: Runtime) -> UUID:
    """Facts that go to several units each: the school's own record, and two units by consent."""
    hub = rt.hub
    child = child_with_barnkontakt(rt)
    consent_in_effect(rt, child, [{"unit_id": "elevhalsa-ostra"}, {"unit_kind": "bup"}], ["needs", "conversations"])
    for with_whom in ("child", "guardian", "child"):
        hub.hold_conversation(staff(BK), child, **conversation_payload(with_whom))
    return child


def expected_deliveries(rt: Runtime) -> Counter[tuple[str, str]]:
    relay = make_relay(rt)
    return Counter((d.subject, d.msg_id) for d in relay.plan(log_reader(rt.hub)(0, 100_000)))


@pytest.mark.parametrize(
    "crash_point",
    ["after_some_units_were_acknowledged", "after_every_ack_before_the_position_is_recorded", "as_above_past_the_duplicate_window"],
)
def test_a_relay_killed_between_commit_and_publish_delivers_every_event_once_to_each_entitled_unit(
    rt: Runtime, nats_server: NatsServer, crash_point: str
) -> None:
    hub = rt.hub
    child = busy_case(rt)
    stream = StreamSettings(duplicate_window=0.2) if crash_point.startswith("as_above") else None

    async def first_run() -> JetStreamRelay:
        relay = make_relay(rt, stream=stream, atomic_batch=3)
        published = 0
        real_publish, real_send, real_record = relay.publish_one, relay._send_atomic, relay.record

        async def publish_then_die(delivery: Any, *prepared: Any) -> Any:
            nonlocal published
            if crash_point.startswith("after_some") and published >= 3:
                raise Crash
            published += 1
            return await real_publish(delivery, *prepared)

        async def send_then_die(part: Any, prepared: Any) -> Any:
            nonlocal published
            if crash_point.startswith("after_some") and published >= 3:
                raise Crash
            published += len(part)
            return await real_send(part, prepared)

        def die_before_recording(position: Any) -> None:
            if crash_point.startswith("after_some"):
                return real_record(position)
            raise Crash

        relay.publish_one = publish_then_die  # type: ignore[method-assign]
        relay._send_atomic = send_then_die  # type: ignore[method-assign]
        relay.record = die_before_recording  # type: ignore[method-assign]
        try:
            with pytest.raises(Crash):
                await relay.pump()
        finally:
            await relay.close()
        return relay

    dead = asyncio.run(first_run())
    assert dead.position.position == 0  # it died before recording anything
    stored_before = asyncio.run(stored_messages(nats_server.url))
    assert stored_before, "the first run published before it died"

    # facts committed while no relay runs
    hub.hold_conversation(staff(BK), child, **conversation_payload("guardian"))
    hub.decide_team(staff(BK), child, decision="own_support", family_informed=True, rationale="Stöd i skolan")
    if stream is not None:
        import time

        time.sleep(0.3)  # past the stream's duplicate window: JetStream alone would store a resend again

    restarted = asyncio.run(pump_once(rt, stream=stream))

    stored = asyncio.run(stored_messages(nats_server.url))
    delivered = Counter((m.subject, m.msg_id) for m in stored)
    assert max(delivered.values()) == 1, "a delivery was stored twice"
    assert delivered == expected_deliveries(rt)
    assert restarted.position.position == hub.log_length()
    conversations = Counter(m.unit for m in stored if m.event_type == "ConversationHeld")
    assert conversations == {"skola-ostra": 4, "elevhalsa-ostra": 4, "bup-ystad": 4}


def test_commands_succeed_while_nats_is_down_and_delivery_catches_up_with_nothing_lost_or_twice(
    rt: Runtime, nats_server: NatsServer
) -> None:
    hub = rt.hub

    async def scenario() -> JetStreamRelay:
        relay = make_relay(rt)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            child = busy_case(rt)
            await until(lambda: relay.position.position == hub.log_length(), what="the first delivery")

            nats_server.stop()
            before = hub.log_length()
            for with_whom in ("child", "guardian"):
                hub.hold_conversation(staff(BK), child, **conversation_payload(with_whom))
            hub.decide_team(staff(BK), child, decision="own_support", family_informed=True, rationale="Stöd")
            assert hub.log_length() == before + 3  # the commands committed with NATS down
            await until(lambda: relay.stats.retries >= 1, what="a failed delivery attempt")
            assert relay.position.position == before

            nats_server.start()
            await until(lambda: relay.position.position == hub.log_length(), timeout=15, what="catching up")
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
        return relay

    relay = asyncio.run(scenario())

    stored = asyncio.run(stored_messages(nats_server.url))
    delivered = Counter((m.subject, m.msg_id) for m in stored)
    assert max(delivered.values()) == 1
    assert delivered == expected_deliveries(rt)
    assert relay.stats.retries >= 1
    assert Counter(m.unit for m in stored if m.event_type == "ConversationHeld") == {
        "skola-ostra": 5, "elevhalsa-ostra": 5, "bup-ystad": 5,
    }


# -- the broker holds no plaintext ----------------------------------------------------------------


def test_the_broker_never_holds_plaintext(rt: Runtime, nats_server: NatsServer, keys: Path) -> None:
    hub = rt.hub
    child = child_with_barnkontakt(rt)
    consent_in_effect(rt, child, [{"unit_id": "elevhalsa-ostra"}], ["conversations", "identity"])
    hub.hold_conversation(staff(BK), child, **{**conversation_payload(), "summary": f"Samtal {MARKER}"})

    asyncio.run(pump_once(rt))
    stored = asyncio.run(stored_messages(nats_server.url))

    secrets = [MARKER.encode(), CHILD_PNR.encode(), b"Anna Lind", b"Alva", str(child).encode()]
    for m in stored:
        for secret in secrets:
            assert secret not in m.raw, f"plaintext in message {m.seq} on {m.subject}"
    on_disk = b"".join(p.read_bytes() for p in nats_server.store_dir.rglob("*") if p.is_file())
    for secret in secrets:
        assert secret not in on_disk
    # and yet the units got it: their keys open what the broker holds
    summaries = [opened(m, keys).data["event"]["summary"] for m in stored if m.event_type == "ConversationHeld"]
    assert summaries == [f"Samtal {MARKER}", f"Samtal {MARKER}"]
    names = [opened(m, keys).data["event"]["given_name"] for m in stored if m.subject.endswith("elevhalsa-ostra.ChildRegistered")]
    assert names == ["Alva"]


# -- the stream -----------------------------------------------------------------------------------


def test_the_relay_creates_a_durable_stream_and_widens_a_short_duplicate_window(rt: Runtime, nats_server: NatsServer) -> None:
    async def scenario() -> tuple[Any, Any]:
        relay = make_relay(rt)
        await relay.start()
        created = (await relay.js.stream_info("BACKA")).config
        await relay.js.update_stream(replace(created, duplicate_window=5))
        await relay.close()
        again = make_relay(rt)
        await again.start()
        checked = (await again.js.stream_info("BACKA")).config
        await again.close()
        return created, checked

    created, checked = asyncio.run(scenario())
    assert created.storage == StorageType.FILE
    assert created.subjects == ["backa.v1.>"]
    assert created.num_replicas == 1
    assert created.duplicate_window == StreamSettings().duplicate_window
    assert checked.duplicate_window == StreamSettings().duplicate_window


def test_the_relay_lets_a_stream_made_without_it_take_atomic_batches(rt: Runtime, nats_server: NatsServer) -> None:
    async def scenario() -> tuple[Any, bool]:
        nc = await nats.connect(nats_server.url)
        try:
            await nc.jetstream().add_stream(StreamConfig(name="BACKA", subjects=["backa.v1.>"], storage=StorageType.FILE))
        finally:
            await nc.close()
        relay = make_relay(rt)
        await relay.start()
        config = (await relay.js.stream_info("BACKA")).config
        await relay.close()
        return config, relay.atomic

    config, atomic = asyncio.run(scenario())
    assert config.allow_atomic and atomic


def test_the_relay_refuses_a_stream_that_keeps_deliveries_in_memory(rt: Runtime, nats_server: NatsServer) -> None:
    async def scenario() -> None:
        nc = await nats.connect(nats_server.url)
        await nc.jetstream().add_stream(StreamConfig(name="BACKA", subjects=["backa.v1.>"], storage=StorageType.MEMORY))
        await nc.close()
        relay = make_relay(rt)
        try:
            with pytest.raises(StreamSetupError, match="file storage"):
                await relay.start()
        finally:
            await relay.close()

    asyncio.run(scenario())


# -- tracing ---------------------------------------------------------------------------------------


def test_a_delivery_continues_the_trace_of_the_request_that_appended_the_fact(
    rt: Runtime, nats_server: NatsServer
) -> None:
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from hub.runtime.telemetry import build_telemetry, continued

    spans, metrics = InMemorySpanExporter(), InMemoryMetricReader()
    rt.hub.telemetry = build_telemetry(span_exporter=spans, metric_reader=metrics)
    child = child_with_barnkontakt(rt)
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    with continued({"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"}):
        rt.hub.hold_conversation(staff(BK), child, **conversation_payload())

    asyncio.run(pump_once(rt))
    messages = asyncio.run(stored_messages(nats_server.url))

    conversation = [m for m in messages if m.event_type == "ConversationHeld"]
    assert len(conversation) == 1
    assert conversation[0].headers["traceparent"].split("-")[1] == trace_id
    others = [m for m in messages if m.event_type != "ConversationHeld"]
    assert others and all(m.headers.get("traceparent", "").split("-")[1:2] != [trace_id] for m in others)
    publish = [s for s in spans.get_finished_spans() if s.name == "backa.relay publish"]
    assert any(s.context.trace_id == int(trace_id, 16) for s in publish)
    data = metrics.get_metrics_data()
    lags = [m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics if m.name == "backa.relay.lag"]
    assert lags and sum(p.count for p in lags[0].data.data_points) == len(messages)


def on_postgres(tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path, schema: str) -> Runtime:
    """A hub on PostgreSQL with a relay's settings, its data folder under ``tmp_path``."""
    from tests.conftest import postgres_url

    settings = Settings(
        database_url=postgres_url(schema), data_dir=tmp_path / "pgdata", demo_mode=True,
        nats_url=nats_server.url, unit_keys_dir=keys,
    )
    return bootstrap(settings, clock=clock, directory=directory())


def test_on_postgresql_the_relay_keeps_its_place_beside_the_log(
    tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path, pg_schema: str
) -> None:
    import psycopg

    from tests.conftest import postgres_url

    runtime = on_postgres(tmp_path, clock, nats_server, keys, pg_schema)
    try:
        child_with_barnkontakt(runtime)
        relay = asyncio.run(pump_once(runtime))
        assert relay.position.position == runtime.hub.log_length()
        assert not (tmp_path / "pgdata" / "relay_position.sqlite").exists()
        with psycopg.connect(postgres_url(pg_schema).split("?")[0]) as db:
            stored = db.execute(f'SELECT position FROM "{pg_schema}".relay_position').fetchone()
        assert stored == (runtime.hub.log_length(),)
        again = make_relay(runtime)
        assert again.position.position == runtime.hub.log_length()
        again.positions.close()  # type: ignore[attr-defined]
    finally:
        runtime.close()


def test_on_postgresql_a_commit_wakes_the_relay_without_waiting_for_its_poll(
    tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path, pg_schema: str
) -> None:
    runtime = on_postgres(tmp_path, clock, nats_server, keys, pg_schema)
    hub = runtime.hub

    async def scenario() -> JetStreamRelay:
        relay = build_relay(runtime, poll_interval=600.0, listening_poll_interval=600.0, backoff=Backoff(0.05, 0.5))
        assert relay.listener is not None
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            child = child_with_barnkontakt(runtime)
            await until(lambda: relay.listener.listening and relay.position.position == hub.log_length(), what="listening")
            hub.hold_conversation(staff(BK), child, **conversation_payload())  # only the commit's notice wakes it now
            await until(lambda: relay.position.position == hub.log_length(), what="delivery on commit")
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
        return relay

    try:
        relay = asyncio.run(scenario())
        assert relay.listener is not None and not relay.listener.listening
        relay.positions.close()  # type: ignore[attr-defined]
    finally:
        runtime.close()
    assert build_relay_without_listener_on_sqlite(tmp_path, clock, nats_server, keys) is None


def build_relay_without_listener_on_sqlite(tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path) -> Any:
    runtime = bootstrap(
        Settings(store="sqlite", data_dir=tmp_path / "sqlite", demo_mode=True, nats_url=nats_server.url, unit_keys_dir=keys),
        clock=clock, directory=directory(),
    )
    try:
        relay = build_relay(runtime)
        relay.positions.close()  # type: ignore[attr-defined]
        return relay.listener
    finally:
        runtime.close()


def test_a_card_sent_on_to_the_barnkontakt_reaches_its_discoverer_as_they_sent_it(rt: Runtime) -> None:
    """The preschool named itself; the card went to the school's Barnkontakt. The school gets
    the card as it arrived; the preschool gets its own card with the unit it named, so its
    delivery does not tell where the child's case is held."""
    hub = rt.hub
    child = child_with_barnkontakt(rt)
    hub.submit_discovery_card(staff("forskola.solen"), child, **card_payload("forskola-solen"))

    card = log_reader(hub)(hub.log_length() - 1, 1)[0]
    recipients, _ = unit_keys(hub.directory, Path("/nonexistent"))
    deliveries = plan_deliveries(card, recipients, facts_reader(hub)("ystad", child, None), hub.now(), hub.rules)

    to = {d.unit_id: d.body["event"] for d in deliveries}
    assert to["skola-ostra"]["to_unit_id"] == "skola-ostra" and to["skola-ostra"]["named_unit_id"] == "forskola-solen"
    assert to["forskola-solen"]["to_unit_id"] == "forskola-solen"
    assert "skola-ostra" not in str(to["forskola-solen"])
