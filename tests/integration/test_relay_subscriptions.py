"""Subscription choices over a real nats-server, a relay on a SQLite or a PostgreSQL hub, and
the agency's subscriber: a unit gets only the types and categories it chose (and a changed
choice holds without restarting the relay), a unit that chose a daily digest gets one
message a day after its hour with that day's facts while notices still come at once, the
digest survives a relay stopped between holding and sending, and a digest posted as a
signed webhook verifies at the real receiver."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest

from adapters.agency_subscriber import AgencySubscriber, JsonLinesSink, ProcessedIds
from adapters.cloudevents_codec import open_event, parse_sealed
from adapters.deliveries import REVOCATION_TYPE
from adapters.digests import DIGEST_TYPE, digest_msg_id
from adapters.jetstream_relay import Backoff, JetStreamRelay
from adapters.sealed_box import load_private_key
from contracts.directory import Cadence, Subscription
from contracts.vocabulary import SWEDISH_TIME, Category
from hub.identity.directory import Directory
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.relay import build_relay
from hub.runtime.settings import Settings
from tests.conftest import family, postgres_url, register_child
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, TENANT, card_payload, conversation_payload, directory, staff
from tests.integration.test_signed_webhooks import Pauses, Receiver, drain, load_secret_lines, serve, signed_subscriber
from tests.nats_server import NatsServer, StoredMessage, keys, nats_server, stored_messages

__all__ = ["keys", "nats_server", "serve"]

BK = "rektor.ostra"
OWN = "skola-ostra"
SHARED = "elevhalsa-ostra"
MARKER = "markord-5512-hemligt"
DAILY = Subscription(cadence=Cadence.DAILY, digest_hour=7)


def choosing(subscriptions: dict[str, Subscription]) -> Directory:
    """The test area's directory with these units' choices."""
    chosen = directory()
    for tenant in chosen.tenants.values():
        for unit_id, subscription in subscriptions.items():
            if unit_id in tenant.units:
                tenant.units[unit_id] = replace(tenant.units[unit_id], subscription=subscription)
    return chosen


@pytest.fixture(params=["sqlite", "postgres"])
def hub_for(
    request: pytest.FixtureRequest, tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path
) -> Iterator[Callable[[dict[str, Subscription]], Runtime]]:
    """A hub on SQLite or PostgreSQL whose units made the given choices."""
    made: list[Runtime] = []
    schema = request.getfixturevalue("pg_schema") if request.param == "postgres" else None  # dropped after the hubs close

    def make(subscriptions: dict[str, Subscription]) -> Runtime:
        more: dict[str, Any] = {"store": "sqlite"}
        if schema is not None:
            more = {"database_url": postgres_url(schema)}
        settings = Settings(data_dir=tmp_path / "data", demo_mode=True, nats_url=nats_server.url, unit_keys_dir=keys, **more)
        rt = bootstrap(settings, clock=clock, directory=choosing(subscriptions))
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.close()


def make_relay(rt: Runtime) -> JetStreamRelay:
    return build_relay(rt, poll_interval=0.01, backoff=Backoff(0.05, 0.5), reconnect_wait=0.05, publish_timeout=2.0)


async def pump_once(rt: Runtime) -> JetStreamRelay:
    relay = make_relay(rt)
    try:
        await relay.pump()
    finally:
        await relay.close()
        relay.positions.close()  # type: ignore[attr-defined]
    return relay


def shared_child(rt: Runtime) -> tuple[UUID, UUID]:
    """A child whose case the school holds, with a consent that lets pupil health see its needs."""
    hub = rt.hub
    child = register_child(rt)
    assert isinstance(child, UUID)
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload(OWN))
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    consent = hub.request_consent(staff(BK), child, recipients=[{"unit_id": SHARED}], categories=["needs"], purpose="Samordning")
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child, consent)
    hub.decide_team(staff(BK), child, decision="own_support", family_informed=True, rationale=f"Behov {MARKER}")
    return child, consent


def of_unit(messages: list[StoredMessage], unit: str) -> list[StoredMessage]:
    return [m for m in messages if m.unit == unit]


def opened_data(message: StoredMessage, keys: Path) -> dict[str, Any]:
    return open_event(parse_sealed(message.data), message.subject, load_private_key(keys / f"{message.unit}.key")).data


def digest_items(message: StoredMessage, keys: Path) -> list[tuple[str, dict[str, Any]]]:
    """A digest's items opened with its unit's key: (type, data) in order."""
    data = json.loads(message.data)["data"]
    key = load_private_key(keys / f"{message.unit}.key")
    out = []
    for item in data["items"]:
        opened = open_event(parse_sealed(json.dumps(item["event"]).encode()), item["subject"], key)
        out.append((opened.type, opened.data))
    return out


def next_morning(clock: SettableClock, hour: int = 7, minute: int = 5) -> None:
    """Move the clock to ``hour``:``minute`` Swedish time the next day."""
    local = clock().astimezone(SWEDISH_TIME)
    target = (local + timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    clock.advance(target - local)


# -- (a) types and categories ---------------------------------------------------------------------


def test_a_unit_gets_only_the_types_and_categories_it_chose_and_a_unit_with_defaults_everything_consent_allows(
    hub_for: Callable[[dict[str, Subscription]], Runtime], nats_server: NatsServer, keys: Path
) -> None:
    narrow = Subscription(event_types=("TeamDecided", "ConversationHeld"), categories=(Category.NEEDS,))
    rt = hub_for({OWN: narrow})
    shared_child(rt)

    asyncio.run(pump_once(rt))
    messages = asyncio.run(stored_messages(nats_server.url))

    # the school chose team decisions and conversations, needs only: the conversation carries
    # no needs, so only the team decision comes, without the team's part
    own = of_unit(messages, OWN)
    assert [m.event_type for m in own] == ["TeamDecided"]
    decision = opened_data(own[0], keys)
    assert decision["event"]["rationale"] == f"Behov {MARKER}" and "decision" not in decision["event"]
    assert [a["category"] for a in decision["access"]] == ["needs"]
    # pupil health chose nothing: it gets what the consent allows, as before
    shared = of_unit(messages, SHARED)
    assert "TeamDecided" in {m.event_type for m in shared}
    assert [a["category"] for a in opened_data(next(m for m in shared if m.event_type == "TeamDecided"), keys)["access"]] == ["needs"]
    assert [m.event_type for m in of_unit(messages, "polis-ystad")] == ["DiscoveryCardSubmitted"]


def test_a_changed_choice_holds_from_the_next_batch_without_restarting_the_relay(
    hub_for: Callable[[dict[str, Subscription]], Runtime], nats_server: NatsServer
) -> None:
    rt = hub_for({OWN: Subscription(event_types=("TeamDecided",))})
    child, _ = shared_child(rt)
    relay = make_relay(rt)

    async def scenario() -> tuple[list[StoredMessage], list[StoredMessage]]:
        try:
            await relay.pump()
            before = await stored_messages(nats_server.url)
            tenant = rt.hub.directory.tenants[TENANT]
            tenant.units[OWN] = replace(tenant.units[OWN], subscription=Subscription())  # chosen anew while it runs
            rt.hub.hold_conversation(staff(BK), child, **conversation_payload())
            await relay.pump()
            return before, await stored_messages(nats_server.url)
        finally:
            await relay.close()
            relay.positions.close()  # type: ignore[attr-defined]

    before, after = asyncio.run(scenario())

    assert [m.event_type for m in of_unit(before, OWN)] == ["TeamDecided"]
    assert [m.event_type for m in of_unit(after, OWN)] == ["TeamDecided", "ConversationHeld"]


# -- (b) a daily digest ---------------------------------------------------------------------------


def test_a_unit_that_asked_for_a_digest_gets_one_a_day_after_its_hour_and_notices_at_once(
    hub_for: Callable[[dict[str, Subscription]], Runtime], nats_server: NatsServer, keys: Path, clock: SettableClock,
    tmp_path: Path,
) -> None:
    rt = hub_for({SHARED: DAILY})
    child, consent = shared_child(rt)

    asyncio.run(pump_once(rt))
    first = asyncio.run(stored_messages(nats_server.url))
    assert of_unit(first, SHARED) == [], "nothing comes at once to a unit that takes a digest"
    assert of_unit(first, OWN), "a unit that did not ask for one gets its facts as before"

    morning = clock().astimezone(SWEDISH_TIME).date() + timedelta(days=1)
    next_morning(clock, 6, 50)
    asyncio.run(pump_once(rt))
    assert not [m for m in asyncio.run(stored_messages(nats_server.url)) if m.event_type == "Digest"], "not before its hour"
    clock.advance(timedelta(minutes=15))
    asyncio.run(pump_once(rt))
    asyncio.run(pump_once(rt))  # and again: the day's digest is sent once
    messages = of_unit(asyncio.run(stored_messages(nats_server.url)), SHARED)

    digests = [m for m in messages if m.event_type == "Digest"]
    assert len(digests) == 1
    (digest,) = digests
    assert digest.msg_id == digest_msg_id(TENANT, SHARED, morning)
    assert json.loads(digest.data)["data"]["day"] == morning.isoformat()
    items = digest_items(digest, keys)
    decided = [data for type_name, data in items if type_name.endswith("TeamDecided")]
    assert decided and decided[0]["event"]["rationale"] == f"Behov {MARKER}"
    assert MARKER.encode() not in digest.data, "the items stay sealed to the unit's key"

    rt.hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    asyncio.run(pump_once(rt))
    notified = [m for m in of_unit(asyncio.run(stored_messages(nats_server.url)), SHARED) if m.event_type != "Digest"]
    assert [m.event_type for m in notified] == ["ConsentRevoked"], "a notice comes at once, whatever was chosen"

    # the subscriber writes the digest's items as JSON lines, after the notice
    out = tmp_path / "agency" / "pupil-health.jsonl"
    sink = JsonLinesSink(out)
    sub = AgencySubscriber(
        nats_url=nats_server.url, unit_id=SHARED, tenant_id=TENANT, private_key=load_private_key(keys / f"{SHARED}.key"),
        sink=sink, processed=ProcessedIds(tmp_path / "agency" / "seen.sqlite"), fetch_timeout=0.3,
    )

    async def subscribe() -> None:
        try:
            await drain(sub)
        finally:
            await sub.close()
            sub.processed.close()
            sink.close()

    asyncio.run(subscribe())
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["type"] for line in lines] == [*(t for t, _ in items), REVOCATION_TYPE]
    assert lines[-2]["data"]["event"]["rationale"] == f"Behov {MARKER}"


def test_a_consent_withdrawn_before_the_digest_leaves_out_of_it_what_only_that_consent_allowed(
    hub_for: Callable[[dict[str, Subscription]], Runtime], nats_server: NatsServer, keys: Path, clock: SettableClock,
) -> None:
    rt = hub_for({SHARED: DAILY})
    child, consent = shared_child(rt)
    asyncio.run(pump_once(rt))  # held for the morning's digest, under the consent in force now

    rt.hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    asyncio.run(pump_once(rt))
    next_morning(clock, 7, 5)
    asyncio.run(pump_once(rt))

    messages = of_unit(asyncio.run(stored_messages(nats_server.url)), SHARED)
    assert [m.event_type for m in messages if m.event_type != "Digest"] == ["ConsentRevoked"]
    for digest in (m for m in messages if m.event_type == "Digest"):
        opened = json.dumps(digest_items(digest, keys), ensure_ascii=False)
        assert MARKER not in opened, "nothing the withdrawn consent allowed is disclosed after the withdrawal"


# -- (c) through a relay restart ------------------------------------------------------------------


def held_rows(rt: Runtime, tmp_path: Path) -> list[bytes]:
    """The rows the relay holds for digests, as they lie in its store."""
    url = rt.settings.database_url
    if url is None:
        with sqlite3.connect(tmp_path / "data" / "relay_position.sqlite") as db:
            return [json.dumps(r[:-1]).encode() + bytes(r[-1]) for r in db.execute("SELECT * FROM relay_held")]
    import psycopg

    schema = parse_qs(urlsplit(url).query)["schema"][0]
    with psycopg.connect(url.split("?")[0]) as db:
        rows = db.execute(f'SELECT * FROM "{schema}".relay_held').fetchall()
    return [json.dumps([str(c) for c in r[:-1]]).encode() + bytes(r[-1]) for r in rows]


def test_a_digest_survives_relay_restarts_between_holding_and_sending_without_loss_or_duplicate(
    hub_for: Callable[[dict[str, Subscription]], Runtime], nats_server: NatsServer, keys: Path, clock: SettableClock,
    tmp_path: Path,
) -> None:
    rt = hub_for({SHARED: DAILY})
    shared_child(rt)

    asyncio.run(pump_once(rt))  # held, and the relay stops
    rows = held_rows(rt, tmp_path)
    assert rows and not any(MARKER.encode() in r for r in rows), "held items are sealed, never plaintext at rest"

    next_morning(clock)
    relay = make_relay(rt)
    forget = relay.positions.digested

    def stops_before_forgetting(*args: Any) -> None:
        raise ConnectionError("the relay stopped after sending the digest, before forgetting its items")

    relay.positions.digested = stops_before_forgetting  # type: ignore[method-assign]

    async def sent_then_stopped() -> None:
        try:
            with pytest.raises(ConnectionError):
                await relay.pump()
        finally:
            await relay.close()
            relay.positions.digested = forget  # type: ignore[method-assign]
            relay.positions.close()  # type: ignore[attr-defined]

    asyncio.run(sent_then_stopped())
    assert len([m for m in asyncio.run(stored_messages(nats_server.url)) if m.event_type == "Digest"]) == 1
    assert held_rows(rt, tmp_path), "its items are still held"

    again = asyncio.run(pump_once(rt))  # started again, much later than the duplicate window would reach
    messages = asyncio.run(stored_messages(nats_server.url))

    digests = [m for m in messages if m.event_type == "Digest"]
    assert len(digests) == 1, "the digest the stream holds is not sent again"
    assert again.stats.digests == 1
    assert held_rows(rt, tmp_path) == []
    items = digest_items(digests[0], keys)
    assert len({data["event"]["event_id"] for _, data in items}) == len(items) > 0
    assert any(t.endswith("TeamDecided") for t, _ in items)


def test_an_erasure_takes_the_childs_held_items_back_out(
    hub_for: Callable[[dict[str, Subscription]], Runtime], nats_server: NatsServer, clock: SettableClock, tmp_path: Path
) -> None:
    rt = hub_for({SHARED: DAILY})
    child, _ = shared_child(rt)
    asyncio.run(pump_once(rt))
    assert held_rows(rt, tmp_path)

    rt.hub.erase_child(staff("admin.ystad"), child, reason="Registrerad av misstag")
    asyncio.run(pump_once(rt))
    next_morning(clock)
    asyncio.run(pump_once(rt))

    assert held_rows(rt, tmp_path) == []
    shared = of_unit(asyncio.run(stored_messages(nats_server.url)), SHARED)
    assert [m.event_type for m in shared] == ["RecordErasedNotice"], "no digest with the erased child's facts"


# -- (d) a digest as one signed webhook ------------------------------------------------------------


def test_a_digest_posted_as_a_signed_webhook_verifies_at_the_receiver(
    tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path, serve: Callable[[Receiver], Receiver]
) -> None:
    from adapters.signed_webhooks import RetryPolicy, write_secret

    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True, nats_url=nats_server.url, unit_keys_dir=keys)
    rt = bootstrap(settings, clock=clock, directory=choosing({OWN: DAILY}))
    secret_file = tmp_path / "agency" / "webhook.secret"
    write_secret(secret_file)
    receiver = serve(Receiver(load_secret_lines(secret_file)))
    try:
        child = register_child(rt)
        assert isinstance(child, UUID)
        rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload(OWN))
        asyncio.run(pump_once(rt))
        next_morning(clock)
        asyncio.run(pump_once(rt))
        (digest,) = [m for m in asyncio.run(stored_messages(nats_server.url)) if m.event_type == "Digest"]

        async def subscribe() -> None:
            sub, sink = signed_subscriber(nats_server, keys, tmp_path, receiver.url, secret_file, RetryPolicy(attempts=3), Pauses())
            try:
                await drain(sub)
            finally:
                await sub.close()
                sub.processed.close()
                sink.close()

        asyncio.run(subscribe())
    finally:
        rt.close()

    assert [r.status for r in receiver.requests] == [204], "one signed post for the whole digest"
    assert receiver.requests[0].headers["webhook-id"] == digest.msg_id
    assert receiver.library_checked == [v.body for v in receiver.taken]
    posted = json.loads(receiver.taken[0].body)
    assert posted["type"] == DIGEST_TYPE and posted["id"] == digest.msg_id
    types = [item["event"]["type"] for item in posted["data"]["items"]]
    assert types == ["backa.v1.ChildRegistered", "backa.v1.DiscoveryCardSubmitted"]
    assert posted["data"]["items"][0]["event"]["data"]["event"]["child_id"] == str(child), "the items are posted opened"


def test_a_relay_stopped_while_recording_its_position_holds_nothing_and_holds_each_item_once_when_started_again(
    tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path
) -> None:
    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True, nats_url=nats_server.url, unit_keys_dir=keys)
    rt = bootstrap(settings, clock=clock, directory=choosing({SHARED: DAILY}))
    try:
        shared_child(rt)
        relay = make_relay(rt)

        def stops(position: Any) -> None:
            raise ConnectionError("the relay stopped while recording its position")

        relay.positions.save = stops  # type: ignore[method-assign]

        async def stopped() -> None:
            try:
                with pytest.raises(ConnectionError):
                    await relay.pump()
            finally:
                await relay.close()
                relay.positions.close()  # type: ignore[attr-defined]

        asyncio.run(stopped())
        assert held_rows(rt, tmp_path) == [], "the items and the position are stored together or not at all"

        again = asyncio.run(pump_once(rt))
        held = len(held_rows(rt, tmp_path))
        asyncio.run(pump_once(rt))
        next_morning(clock)
        asyncio.run(pump_once(rt))
        (digest,) = [m for m in asyncio.run(stored_messages(nats_server.url)) if m.event_type == "Digest"]
    finally:
        rt.close()

    assert held == again.stats.held > 0
    items = digest_items(digest, keys)
    assert len(items) == held and len({data["event"]["event_id"] for _, data in items}) == held
