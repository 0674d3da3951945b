"""What the relay and the agency side share about NATS: connecting, and the stream.

The stream (``BACKA``, subjects ``backa.v1.>``) keeps every delivery in file storage for
``max_age`` whether or not a unit has a consumer yet, so an agency that connects later
still gets what was sent to it. Its duplicate window makes JetStream drop a resend with a
``Nats-Msg-Id`` it has already stored.

With ``allow_atomic`` (nats-server 2.12 and later) the relay stores each batch of
deliveries all or none, with one write to disk for the batch rather than one per message.

Durability of each write to disk is a server setting, not a stream setting: run
nats-server with ``jetstream { sync_interval: always }`` so that a message is on disk
(fsync) before its publish is acknowledged. With replicas > 1 (a cluster), a
message is acknowledged once a majority of the replicas hold it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import NotFoundError

from adapters.deliveries import STREAM_SUBJECTS

log = logging.getLogger("backa.nats")

STREAM_NAME = "BACKA"
ERROR_LOG_INTERVAL = 30.0


class StreamSetupError(Exception):
    """The stream exists with settings the relay cannot work with, or cannot be created."""


@dataclass(frozen=True)
class StreamSettings:
    name: str = STREAM_NAME
    subjects: tuple[str, ...] = (STREAM_SUBJECTS,)
    replicas: int = 1
    duplicate_window: float = 15 * 60
    """Seconds within which a resend with the same message id is dropped. The relay also
    checks what the stream holds after its last recorded position when it starts, so a
    resend after a longer outage is not stored twice either."""
    max_age: float = 30 * 24 * 3600
    """How long a delivery waits for its agency; older ones are removed."""

    def config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            description="Backa barnet: sealed deliveries to units, one subject per unit and event type",
            subjects=list(self.subjects),
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            storage=StorageType.FILE,
            num_replicas=self.replicas,
            duplicate_window=self.duplicate_window,
            max_age=self.max_age,
            allow_direct=True,
            allow_atomic=True,
        )


T = TypeVar("T")


class Stopped(Exception):
    """``stop`` was set before the work finished; the work was cancelled."""


async def unless_stopped(stop: asyncio.Event, work: Awaitable[T]) -> T:
    """Await ``work``, or cancel it and raise :class:`Stopped` as soon as ``stop`` is set
    (connecting to a NATS that is away retries for ever)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task in done:
        return task.result()
    task.cancel()
    try:
        await task
    except BaseException:  # noqa: BLE001 - the cancelled work's own ending does not matter now
        pass
    raise Stopped


async def close_connection(nc: Client | None, name: str) -> None:
    """Drain a connected client (its buffered publishes and acks go out); just close one
    that is away, where draining would wait for nothing."""
    if nc is None or nc.is_closed:
        return
    try:
        if nc.is_connected:
            await nc.drain()
        else:
            await nc.close()
    except Exception as e:  # noqa: BLE001 - closing a connection that may be gone
        log.debug("%s: closing the NATS connection: %s", name, type(e).__name__)


async def connect(url: str, *, name: str, reconnect_wait: float = 0.5, connect_timeout: float = 2.0) -> Client:
    """A connection that reconnects by itself for ever and logs without message content."""

    last_warning = [-ERROR_LOG_INTERVAL]

    async def on_error(e: Exception) -> None:
        # the client retries every reconnect_wait while NATS is away: say so now and then, not each time
        now = time.monotonic()
        if now - last_warning[0] >= ERROR_LOG_INTERVAL:
            last_warning[0] = now
            log.warning("%s: NATS connection error: %s (retrying)", name, type(e).__name__)
        else:
            log.debug("%s: NATS connection error: %s", name, type(e).__name__)

    async def on_disconnected() -> None:
        log.info("%s: disconnected from NATS", name)

    async def on_reconnected() -> None:
        log.info("%s: reconnected to NATS", name)

    return await nats.connect(
        url,
        name=name,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=reconnect_wait,
        connect_timeout=connect_timeout,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
    )


async def ensure_stream(js: JetStreamContext, settings: StreamSettings) -> StreamInfo:
    """Create the stream, or check the one there and bring what can be changed in line."""
    wanted = settings.config()
    try:
        info = await js.stream_info(settings.name)
    except NotFoundError:
        log.info("creating stream %s (file storage, %d replica(s))", settings.name, settings.replicas)
        return await js.add_stream(wanted)
    have = info.config
    if have.storage != StorageType.FILE:
        raise StreamSetupError(f"stream {settings.name} keeps messages in memory; the relay needs file storage")
    if have.retention not in (None, RetentionPolicy.LIMITS):
        raise StreamSetupError(
            f"stream {settings.name} has {RetentionPolicy(have.retention).value} retention; deliveries must wait for "
            "units without a consumer, so it needs limits retention"
        )
    changes: dict[str, Any] = {}
    subjects = list(have.subjects or [])
    if any(s not in subjects for s in settings.subjects):
        changes["subjects"] = sorted(set(subjects) | set(settings.subjects))
    if (have.num_replicas or 1) != settings.replicas:
        changes["num_replicas"] = settings.replicas
    if (have.duplicate_window or 0) < settings.duplicate_window:
        changes["duplicate_window"] = settings.duplicate_window
    if not have.allow_atomic:
        changes["allow_atomic"] = True  # a server before 2.12 ignores it, and the relay publishes one by one
    if not changes:
        return info
    log.info("updating stream %s: %s", settings.name, ", ".join(sorted(changes)))
    for key, value in changes.items():
        setattr(have, key, value)
    return await js.update_stream(have)


__all__ = [
    "STREAM_NAME",
    "StreamSettings",
    "StreamSetupError",
    "Stopped",
    "close_connection",
    "connect",
    "ensure_stream",
    "unless_stopped",
]
