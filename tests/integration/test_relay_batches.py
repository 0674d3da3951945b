"""The relay's batches over a real nats-server: each of many deliveries stored all or none,
one after the other, so a batch that fails is not recorded as delivered, is delivered again without
duplicates, and never has a later batch stored ahead of it; a batch the stream refuses for
a message id it holds is sent message by message."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from adapters.jetstream_relay import JetStreamRelay
from adapters.relay_store import RelayPosition
from hub.runtime.bootstrap import Runtime
from tests.integration.test_relay_partitions import (
    activity,
    children,
    delivered_once_in_order,
    expected,
    hub,
    relay,
)
from tests.nats_server import NatsServer, keys, nats_server, stored_messages

__all__ = ["hub", "keys", "nats_server"]


class Refused(Exception):
    """The broker did not take a batch (a fault the relay retries after)."""


def failing_once(r: JetStreamRelay, *, fail_at: int) -> list[int]:
    """Make the relay's ``fail_at``-th atomic batch (counting from 1) fail before it is sent;
    return the sizes of the batches sent."""
    real_send = r._send_atomic
    sent: list[int] = []
    calls = 0

    async def send(part: Any, prepared: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == fail_at:
            raise Refused
        sent.append(len(part))
        return await real_send(part, prepared)

    r._send_atomic = send  # type: ignore[method-assign]
    return sent


async def fail_then_pump(r: JetStreamRelay, between: Any) -> None:
    """A pump that fails, what the test checks then, and a pump again, as the relay's loop
    does after a fault: started again from its recorded place."""
    with pytest.raises(Refused):
        await r.pump()
    await between()
    await r.pump()


def test_the_deliveries_of_a_batch_are_stored_as_one_atomic_batch(hub: Runtime, nats_server: NatsServer, tmp_path: Path) -> None:
    kids = children(hub, 1)
    activity(hub, kids, rounds=1)
    r = relay(hub, None, atomic_from=1)
    try:
        asyncio.run(r.pump())
    finally:
        asyncio.run(r.close())
        r.positions.close()  # type: ignore[attr-defined]

    assert r.atomic, "the stream takes atomic batches on this server"
    stored = asyncio.run(stored_messages(nats_server.url))
    assert stored and all(m.headers.get("Nats-Batch-Id") for m in stored), "every message came in an atomic batch"
    assert len({m.headers["Nats-Batch-Id"] for m in stored}) < len(stored), "a batch holds many deliveries"
    delivered_once_in_order(hub, nats_server.url, tmp_path)


def test_a_batch_that_fails_after_part_of_it_was_stored_is_not_recorded_and_is_delivered_again_once(
    hub: Runtime, nats_server: NatsServer, tmp_path: Path
) -> None:
    kids = children(hub, 1)
    activity(hub, kids)
    r = relay(hub, None, atomic_batch=4, atomic_from=1)
    sent = failing_once(r, fail_at=3)

    async def after_the_fault() -> None:
        assert sent == [4, 4], "two parts of the first batch were stored before the third failed"
        assert r.position.position == 0 and r.positions.load() == RelayPosition(), "nothing of the batch is recorded"
        assert len(await stored_messages(nats_server.url)) == 8

    try:
        asyncio.run(fail_then_pump(r, after_the_fault))
    finally:
        asyncio.run(r.close())
        r.positions.close()  # type: ignore[attr-defined]

    assert r.stats.already_stored == 8, "what was stored before the fault was recognised, not sent again"
    assert r.position.position == hub.hub.log_length()
    delivered_once_in_order(hub, nats_server.url, tmp_path)


def test_a_batch_after_one_that_failed_is_not_stored_ahead_of_it(hub: Runtime, nats_server: NatsServer, tmp_path: Path) -> None:
    """Two batches in flight: the second is sealed while the first is sent, but sent only
    once the first is stored, so a child's facts never reach the stream out of order."""
    kids = children(hub, 1)
    activity(hub, kids)
    r = relay(hub, None, batch_size=2, in_flight=2, atomic_from=1)
    sent = failing_once(r, fail_at=1)

    async def after_the_fault() -> None:
        await asyncio.sleep(0.2)  # time enough for a batch sent regardless to be stored
        assert sent == [], "no batch was sent after the first failed"
        assert await stored_messages(nats_server.url) == []
        assert r.positions.load() == RelayPosition()

    try:
        asyncio.run(fail_then_pump(r, after_the_fault))
    finally:
        asyncio.run(r.close())
        r.positions.close()  # type: ignore[attr-defined]
    assert r.stats.batches > 2, "the log took several batches"
    delivered_once_in_order(hub, nats_server.url, tmp_path)


def test_a_batch_refused_for_a_message_id_the_stream_holds_is_sent_message_by_message_and_stored_once(
    hub: Runtime, nats_server: NatsServer, tmp_path: Path
) -> None:
    """The position was lost (a store restored from an older backup) and the stream's
    messages after it are not where the relay looks for them: the stream refuses the
    atomic batch for a message id it holds, and the relay sends it one by one, where the
    duplicate window drops what is there already."""
    kids = children(hub, 1)
    activity(hub, kids, rounds=1)
    first = relay(hub, None, atomic_from=1)
    try:
        asyncio.run(first.pump())
        last = first.position.stream_seq
        first.positions.save(RelayPosition(0, last))  # back to the log's start, the stream's end taken for its place
    finally:
        asyncio.run(first.close())
        first.positions.close()  # type: ignore[attr-defined]

    again = relay(hub, None, atomic_from=1)
    try:
        asyncio.run(again.pump())
    finally:
        asyncio.run(again.close())
        again.positions.close()  # type: ignore[attr-defined]

    total = sum(expected(hub, tmp_path).values())
    assert again.stats.published == 0 and again.stats.already_stored == total
    assert again.position.position == hub.hub.log_length()
    delivered_once_in_order(hub, nats_server.url, tmp_path)
