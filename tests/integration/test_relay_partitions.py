"""The relay split by child over several processes, against a real nats-server on SQLite
and PostgreSQL: every fact delivered once, in each child's order, by the one partition
that owns the child; a partition that dies resumes from its own place; a change of the
partition count is refused until the positions are re-partitioned."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import pytest
from nats.js.errors import NotFoundError

from adapters.jetstream_relay import Backoff, JetStreamRelay
from adapters.nats_link import StreamSettings
from adapters.relay_partition import Partition, RelayPartitionError, partition_of
from hub.demo.planner import make_personnummer
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.relay import RelayConfigError, RelayRoot, build_relay, log_reader, repartition, settings_partition
from hub.runtime.settings import Settings
from tests.conftest import postgres_url
from tests.factories import GUARDIAN_1_PNR, START, card_payload, conversation_payload, directory, staff
from tests.nats_server import NatsServer, StoredMessage, keys, nats_server, stored_messages, until

__all__ = ["keys", "nats_server"]

BK = "rektor.ostra"
SHORT_WINDOW = StreamSettings(duplicate_window=0.2)
"""A duplicate window a test can outwait: past it, only the relay's own check stops a resend."""


@pytest.fixture(params=["sqlite", "postgres"])
def hub(request: pytest.FixtureRequest, tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path) -> Iterator[Runtime]:
    if request.param == "postgres":
        store: dict[str, Any] = {"database_url": postgres_url(request.getfixturevalue("pg_schema"))}
    else:
        store = {"store": "sqlite"}
    settings = Settings(**store, data_dir=tmp_path / "data", demo_mode=True, nats_url=nats_server.url, unit_keys_dir=keys)
    runtime = bootstrap(settings, clock=clock, directory=directory())
    yield runtime
    runtime.close()


def relay(rt: Runtime, partition: Partition | None, **options: Any) -> JetStreamRelay:
    return build_relay(
        rt, partition=partition, poll_interval=0.01, backoff=Backoff(0.05, 0.5), reconnect_wait=0.05, publish_timeout=2.0,
        listen=False, **options,
    )


async def pump(rt: Runtime, partition: Partition | None, **options: Any) -> JetStreamRelay:
    r = relay(rt, partition, **options)
    try:
        await r.pump()
    finally:
        await r.close()
        r.positions.close()  # type: ignore[attr-defined]
    return r


def children(rt: Runtime, *counts: int) -> list[UUID]:
    """Children taken up by the school's Barnkontakt, enough that every partition of each
    of ``counts`` owns at least two."""
    kids: list[UUID] = []
    for i in range(40):
        child = rt.hub.register_child(
            staff("larare.ostra"), personnummer=make_personnummer(date(2015, 1 + i % 12, 1 + i // 12), 980 + i % 20),
            given_name="Alva", family_name="Lind",
            guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
        )
        assert isinstance(child, UUID)
        rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
        rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
        kids.append(child)
        owned = [Counter(partition_of(k, n) for k in kids) for n in counts]
        if all(len(c) == n and min(c.values()) >= 2 for c, n in zip(owned, counts, strict=True)):
            return kids
    raise AssertionError("the children's ids do not spread over the partitions")


def activity(rt: Runtime, kids: list[UUID], rounds: int = 2) -> None:
    """Conversations with every child in turn, so the children's facts interleave in the log."""
    for r in range(rounds):
        for child in kids:
            rt.hub.hold_conversation(staff(BK), child, **conversation_payload("child" if r % 2 else "guardian"))


def expected(rt: Runtime, tmp_path: Path) -> Counter[tuple[str, str]]:
    """What one relay over the whole log delivers (its position kept apart from the others')."""
    whole = build_relay(rt, position_path=tmp_path / "expected.sqlite", listen=False)
    try:
        return Counter((d.subject, d.msg_id) for d in whole.plan(log_reader(rt.hub)(0, 100_000)))
    finally:
        whole.positions.close()  # type: ignore[attr-defined]


def delivered_once_in_order(rt: Runtime, url: str, tmp_path: Path) -> None:
    stored = asyncio.run(stored_messages(url))
    delivered = Counter((m.subject, m.msg_id) for m in stored)
    assert max(delivered.values()) == 1, "a delivery was stored twice"
    assert delivered == expected(rt, tmp_path)
    where = {e.fact.event_id: (e.fact.child_id, e.position) for e in log_reader(rt.hub)(0, 100_000) if e.fact is not None}
    seen: dict[tuple[str, UUID], list[int]] = defaultdict(list)
    for m in stored:  # in the stream's order
        assert m.msg_id is not None
        child, position = where[UUID(m.msg_id.split(":")[0])]
        seen[(m.unit, child)].append(position)
    for (unit, _), positions in seen.items():
        assert positions == sorted(positions), f"a child's facts reached {unit} out of order"


def test_two_partitions_deliver_every_fact_once_in_each_childs_order_and_share_the_children(
    hub: Runtime, nats_server: NatsServer, tmp_path: Path
) -> None:
    kids = children(hub, 2)
    by_partition: dict[int, set[str]] = {0: set(), 1: set()}

    async def scenario() -> list[JetStreamRelay]:
        relays = [
            relay(hub, Partition(i, 2), on_delivered=lambda d, i=i: by_partition[i].add(str(d.child_id))) for i in range(2)
        ]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(r.run(stop)) for r in relays]
        try:
            for _ in range(2):  # committed while the partitions run
                activity(hub, kids, rounds=1)
                await asyncio.sleep(0.05)
            await until(lambda: all(r.position.position == hub.hub.log_length() for r in relays), timeout=20, what="delivery")
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
            for r in relays:
                r.positions.close()  # type: ignore[attr-defined]
        return relays

    relays = asyncio.run(scenario())

    delivered_once_in_order(hub, nats_server.url, tmp_path)
    assert by_partition[0] and by_partition[1]
    assert not by_partition[0] & by_partition[1], "a child was delivered by both partitions"
    assert by_partition[0] | by_partition[1] == {str(k) for k in kids}
    for i, r in enumerate(relays):
        assert by_partition[i] == {str(k) for k in kids if partition_of(k, 2) == i}
        assert r.stats.facts == sum(1 for e in log_reader(hub.hub)(0, 100_000) if e.fact and partition_of(e.fact.child_id, 2) == i)


class Crash(BaseException):
    """The relay process dies here (not an error it could handle)."""


async def die_mid_stream(rt: Runtime, partition: Partition, **options: Any) -> JetStreamRelay:
    """A partition that records a small batch of its deliveries, has the next acknowledged
    and dies before recording it."""
    r = relay(rt, partition, batch_size=3, read_ahead=3, **options)
    settled = 0
    real_settle = r._settle

    def settle_then_die(entries: Any, acks: list[Any]) -> None:
        nonlocal settled
        if acks:
            if settled >= 1:
                raise Crash
            settled += 1
        real_settle(entries, acks)

    r._settle = settle_then_die  # type: ignore[method-assign]
    try:
        with pytest.raises(Crash):
            await r.pump()
    finally:
        await r.close()
        r.positions.close()  # type: ignore[attr-defined]
    return r


def test_a_partition_killed_mid_stream_resumes_from_its_own_place_without_duplicates_or_loss(
    hub: Runtime, nats_server: NatsServer, tmp_path: Path
) -> None:
    kids = children(hub, 2)
    activity(hub, kids)

    dead = asyncio.run(die_mid_stream(hub, Partition(0, 2), stream=SHORT_WINDOW))
    assert 0 < dead.position.position < hub.hub.log_length(), "it died mid-stream, with some batches recorded"
    other = asyncio.run(pump(hub, Partition(1, 2), stream=SHORT_WINDOW))  # publishes after the dead one's last messages
    assert other.position.position == hub.hub.log_length()
    activity(hub, kids, rounds=1)  # committed while partition 0 is down
    time.sleep(0.3)  # past the stream's duplicate window

    again = asyncio.run(pump(hub, Partition(0, 2), stream=SHORT_WINDOW))
    asyncio.run(pump(hub, Partition(1, 2), stream=SHORT_WINDOW))

    assert again.position.position == hub.hub.log_length()
    assert again.stats.already_stored > 0, "what it published before dying was recognised, not sent again"
    delivered_once_in_order(hub, nats_server.url, tmp_path)


def test_each_partition_keeps_its_own_position(hub: Runtime, tmp_path: Path) -> None:
    kids = children(hub, 2)
    asyncio.run(pump(hub, Partition(0, 2)))
    activity(hub, kids, rounds=1)

    first = relay(hub, Partition(0, 2))
    second = relay(hub, Partition(1, 2))
    try:
        assert first.positions.name != second.positions.name
        assert 0 < first.position.position < hub.hub.log_length()
        assert second.position.position == 0  # it has delivered nothing yet
        assert sorted(first.positions.names()) == ["relay.0of2", "relay.1of2"]  # type: ignore[attr-defined]
    finally:
        first.positions.close()  # type: ignore[attr-defined]
        second.positions.close()  # type: ignore[attr-defined]


def test_an_erasure_takes_back_its_childs_messages_sent_by_its_partition_and_no_other(
    hub: Runtime, nats_server: NatsServer
) -> None:
    kids = children(hub, 2)
    activity(hub, kids, rounds=1)
    for i in range(2):
        asyncio.run(pump(hub, Partition(i, 2)))
    child_of = {str(e.fact.event_id): e.fact.child_id for e in log_reader(hub.hub)(0, 100_000) if e.fact is not None}
    erased = next(k for k in kids if partition_of(k, 2) == 1)
    before = asyncio.run(stored_messages(nats_server.url))
    assert any(child_of[str(m.msg_id).split(":")[0]] == erased for m in before)

    hub.hub.erase_child(staff("admin.ystad"), erased, reason="Registrerad av misstag")
    taken = [asyncio.run(pump(hub, Partition(i, 2))).stats.taken_back for i in range(2)]

    after = asyncio.run(held_messages(nats_server.url))
    notices = [m for m in after if m.event_type == "RecordErasedNotice"]
    kept = [m for m in after if m.event_type != "RecordErasedNotice"]
    assert not [m for m in kept if child_of[str(m.msg_id).split(":")[0]] == erased]
    assert {m.msg_id for m in kept} == {m.msg_id for m in before if child_of[str(m.msg_id).split(":")[0]] != erased}
    assert taken[0] == 0 and taken[1] == len(before) - len(kept)
    assert notices and Counter(m.msg_id for m in notices).most_common(1)[0][1] == 1


def test_a_second_relay_for_the_same_partition_waits_until_the_first_is_gone_and_takes_over_its_place(
    hub: Runtime, nats_server: NatsServer, tmp_path: Path
) -> None:
    kids = children(hub, 2)

    async def scenario() -> tuple[JetStreamRelay, JetStreamRelay]:
        first, standby = relay(hub, Partition(1, 2)), relay(hub, Partition(1, 2))
        stop = asyncio.Event()
        await first.start()
        waiting = asyncio.create_task(standby.run(stop))
        try:
            await first.pump()
            await until(lambda: standby.stats.errors["PartitionBusyError"] >= 1, what="the standby refused")
            assert standby.stats.published == 0
            activity(hub, kids, rounds=1)
            await first.close()  # its process is gone
            await until(lambda: standby.position.position == hub.hub.log_length(), timeout=20, what="the standby took over")
        finally:
            stop.set()
            await asyncio.wait_for(waiting, timeout=10)
            for r in (first, standby):
                r.positions.close()  # type: ignore[attr-defined]
        return first, standby

    first, standby = asyncio.run(scenario())
    assert first.position.position < standby.position.position
    asyncio.run(pump(hub, Partition(0, 2)))
    delivered_once_in_order(hub, nats_server.url, tmp_path)


def test_a_relay_started_with_another_partition_count_is_refused(hub: Runtime, tmp_path: Path) -> None:
    children(hub, 2)
    asyncio.run(pump(hub, Partition(0, 2)))

    for wrong in (Partition(0, 3), None):  # three partitions, or a single relay as before
        with pytest.raises(RelayPartitionError, match=r"stored for 2 partition\(s\).*--repartition"):
            relay(hub, wrong)
    asyncio.run(pump(hub, Partition(1, 2)))  # the right count still starts


def test_a_single_relays_position_is_not_taken_over_by_partitions_started_later(hub: Runtime, tmp_path: Path) -> None:
    children(hub, 2)
    asyncio.run(pump(hub, None))

    with pytest.raises(RelayPartitionError, match=r"stored for 1 partition\(s\), not 2"):
        relay(hub, Partition(1, 2))


def test_repartitioning_hands_every_child_to_its_new_partition_without_loss_order_or_duplicates(
    hub: Runtime, nats_server: NatsServer, tmp_path: Path
) -> None:
    kids = children(hub, 2, 3)
    activity(hub, kids)
    asyncio.run(die_mid_stream(hub, Partition(0, 2), stream=SHORT_WINDOW))
    activity(hub, kids, rounds=1)  # partition 1 of 2 never ran
    time.sleep(0.3)

    at = asyncio.run(repartition(hub, 3, stream=SHORT_WINDOW))

    assert at.position == hub.hub.log_length()
    delivered_once_in_order(hub, nats_server.url, tmp_path)  # everything up to there, by the old partitions
    activity(hub, kids, rounds=1)
    for i in range(3):
        assert asyncio.run(pump(hub, Partition(i, 3), stream=SHORT_WINDOW)).position.position == hub.hub.log_length()
    delivered_once_in_order(hub, nats_server.url, tmp_path)
    with pytest.raises(RelayPartitionError):
        relay(hub, Partition(0, 2))


def test_the_partition_settings_choose_the_children_a_relay_delivers_for(hub: Runtime, nats_server: NatsServer) -> None:
    kids = children(hub, 2)
    settings = Settings.from_env({"BACKA_RELAY_PARTITIONS": "2", "BACKA_RELAY_PARTITION": "1"})
    assert settings_partition(settings) == Partition(1, 2)
    root = replace(RelayRoot.of(hub), settings=hub.settings.model_copy(update={"relay_partitions": 2, "relay_partition": 1}))
    delivered: set[str] = set()
    r = build_relay(root, listen=False, on_delivered=lambda d: delivered.add(str(d.child_id)))

    async def once() -> None:
        try:
            await r.pump()
        finally:
            await r.close()
            r.positions.close()  # type: ignore[attr-defined]

    asyncio.run(once())
    assert r.partition == Partition(1, 2)
    assert delivered == {str(k) for k in kids if partition_of(k, 2) == 1}
    with pytest.raises(RelayConfigError, match="no partition 2 of 2"):
        settings_partition(Settings(relay_partitions=2, relay_partition=2))


# -- the command line ------------------------------------------------------------------------------


def backa(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "relay", *args], cwd=Path(__file__).resolve().parents[2], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def test_backa_relay_runs_as_two_partition_processes_and_refuses_another_count_until_repartitioned(
    nats_server: NatsServer, keys: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    directory().save(data / "directory.json")
    env = {
        **os.environ, "BACKA_DATA_DIR": str(data), "BACKA_NATS_URL": nats_server.url, "BACKA_UNIT_KEYS_DIR": str(keys),
        "BACKA_KEK_FILE": str(data / "kek.key"),
    }
    settings = Settings(store="sqlite", data_dir=data, demo_mode=True, nats_url=nats_server.url, unit_keys_dir=keys)
    runtime = bootstrap(settings, clock=SettableClock(START))
    try:
        activity(runtime, children(runtime, 2), rounds=1)
        wanted = expected(runtime, tmp_path)
    finally:
        runtime.close()

    relays = [backa("--partition", f"{i}/2", env=env) for i in range(2)]
    try:
        deadline = time.monotonic() + 60
        while len(asyncio.run(stored_messages_or_none(nats_server.url))) < sum(wanted.values()):
            assert all(p.poll() is None for p in relays), "a relay stopped early"
            assert time.monotonic() < deadline, "the partitions did not deliver everything"
            time.sleep(0.1)
    finally:
        for p in relays:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=30) for p in relays]
    errors = [p.stderr.read().decode() if p.stderr else "" for p in relays]
    assert codes == [0, 0], errors
    assert "partition 0/2" in errors[0] and "partition 1/2" in errors[1]
    assert Counter((m.subject, m.msg_id) for m in asyncio.run(stored_messages(nats_server.url))) == wanted

    refused = backa("--partition", "0/3", env=env)
    assert refused.wait(timeout=30) == 2
    message = refused.stderr.read().decode() if refused.stderr else ""
    assert "stored for 2 partition(s), not 3" in message and "backa relay --repartition 3" in message

    moved = backa("--repartition", "3", env=env)
    assert moved.wait(timeout=60) == 0, moved.stderr.read().decode() if moved.stderr else ""
    started = backa(env={**env, "BACKA_RELAY_PARTITIONS": "3", "BACKA_RELAY_PARTITION": "2"})
    try:
        deadline = time.monotonic() + 30
        while not (data / "relay_position.sqlite.relay.2of3.lock").exists():  # it holds its partition: it runs
            assert started.poll() is None, started.stderr.read().decode() if started.stderr else ""
            assert time.monotonic() < deadline, "the relay of partition 2/3 did not start"
            time.sleep(0.05)
        assert started.poll() is None
    finally:
        started.send_signal(signal.SIGTERM)
        assert started.wait(timeout=30) == 0
    assert "partition 2/3" in (started.stderr.read().decode() if started.stderr else "")
    assert Counter((m.subject, m.msg_id) for m in asyncio.run(stored_messages(nats_server.url))) == wanted


async def held_messages(url: str) -> list[StoredMessage]:
    """What the stream still holds, passing over the messages deleted from it."""
    nc = await nats.connect(url, allow_reconnect=False)
    try:
        js = nc.jetstream()
        info = await js.stream_info("BACKA")
        out = []
        for seq in range(info.state.first_seq or 1, (info.state.last_seq or 0) + 1):
            try:
                m = await js.get_msg("BACKA", seq=seq)
            except NotFoundError:
                continue
            headers = dict(m.headers or {})
            out.append(StoredMessage(seq, m.subject or "", headers.get("Nats-Msg-Id"), m.data or b"", headers))
        return out
    finally:
        await nc.close()


async def stored_messages_or_none(url: str) -> list[Any]:
    """What the stream holds, or nothing before a relay made it."""
    try:
        return await stored_messages(url)
    except Exception:  # noqa: BLE001 - no stream yet
        return []
