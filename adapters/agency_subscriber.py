"""The agency side: follows one unit's subject, opens each delivery with the unit's private
key, and hands it to the agency's own systems as a JSON line or an HTTP POST.

- A durable pull consumer, created explicitly, keeps the unit's place in the stream
  between runs; what arrived while the subscriber was away is delivered when it returns.
- Every message is acknowledged explicitly: ``ack`` once it is handed over, ``nak`` with
  a growing delay when the hand-over fails for now (the local URL is down), ``term`` when
  it cannot be opened with the unit's key or is not a message from the hub. A
  terminated message is reported (sequence, type, key id), never its content.
- A daily digest (``backa.v1.Digest``) is opened item by item: a JSON-lines output takes
  each item as its own line, a URL takes the digest as one post with its items opened.
- Redelivery is harmless: the ids of handed-over messages are remembered in a small
  SQLite file, and a JSON-lines output also tells which ids it already holds.
- SIGINT or SIGTERM (see ``run``'s ``stop``) stops fetching, hands back what was
  fetched and not yet handled, and drains the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from adapters.cloudevents_codec import CONTENT_TYPE, NotACloudEvent, OpenedEvent, open_event, parse_sealed
from adapters.deliveries import is_subject_token, short_type, unit_filter
from adapters.digests import DIGEST_TYPE
from adapters.migrations import AGENCY, migrate_sqlite
from adapters.nats_link import STREAM_NAME, Stopped, close_connection, connect, unless_stopped
from adapters.sealed_box import SealError, key_id
from contracts.notices import Digest

log = logging.getLogger("backa.subscriber")

RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class SubscriberSetupError(Exception):
    """The unit's consumer cannot be made or bound as asked."""


class TransientDeliveryError(Exception):
    """The local system could not take a message now; it is offered again later."""


# -- remembering what was handed over ---------------------------------------------------------


class ProcessedIds:
    """The ids of messages already handed over, in a small SQLite file."""

    def __init__(self, path: Path) -> None:
        migrate_sqlite(path, AGENCY)  # its table; the file is the subscriber's alone
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")

    def __contains__(self, msg_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM processed WHERE id = ?", (msg_id,)).fetchone() is not None

    def add(self, msg_id: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO processed (id) VALUES (?)", (msg_id,))

    def add_all(self, ids: Iterable[str]) -> None:
        self._db.executemany("INSERT OR IGNORE INTO processed (id) VALUES (?)", ((i,) for i in ids))

    def close(self) -> None:
        self._db.close()


# -- where opened events go ------------------------------------------------------------------


class Sink(Protocol):
    async def deliver(self, event: OpenedEvent) -> None:
        """Hand one event over; raise :class:`TransientDeliveryError` if it cannot be taken now."""

    def known_ids(self) -> Iterable[str]:
        """Ids the sink already holds (after a stop between hand-over and remembering)."""


class JsonLinesSink:
    """Appends each event as one JSON line to a file (synced) or to standard output; a
    digest's items are written one line each, as if each had come on its own."""

    takes_items = True

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._out: IO[bytes]
        if path is None:
            self._out = sys.stdout.buffer
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._out = open(path, "ab")  # noqa: SIM115 - held open for the subscriber's life

    def known_ids(self) -> Iterable[str]:
        if self.path is None or not self.path.exists():
            return []
        ids = []
        with open(self.path, "rb") as f:
            for line in f:
                try:
                    ids.append(str(json.loads(line)["id"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a stop: its message was not acknowledged
        return ids

    async def deliver(self, event: OpenedEvent) -> None:
        try:
            self._out.write(event.to_json() + b"\n")
            self._out.flush()
            if self.path is not None:
                os.fsync(self._out.fileno())
        except OSError as e:
            raise TransientDeliveryError(f"cannot write the output ({type(e).__name__})") from None

    def close(self) -> None:
        if self.path is not None:
            self._out.close()


class HttpPostSink:
    """POSTs each event as a structured CloudEvent to a local URL; any answer but 2xx, or
    no answer, is a failure for now, so nothing is lost to a misconfigured endpoint. The
    CloudEvent ``id`` is stable across redeliveries: the receiver can deduplicate on it."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def known_ids(self) -> Iterable[str]:
        return []

    def _post(self, body: bytes) -> int:
        request = urllib.request.Request(self.url, data=body, method="POST", headers={"Content-Type": CONTENT_TYPE})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the agency's own URL
            return int(response.status)

    async def deliver(self, event: OpenedEvent) -> None:
        try:
            status = await asyncio.to_thread(self._post, event.to_json())
        except urllib.error.HTTPError as e:
            raise TransientDeliveryError(f"the local URL answered {e.code}") from None
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise TransientDeliveryError(f"the local URL cannot be reached ({type(e).__name__})") from None
        if not 200 <= status < 300:
            raise TransientDeliveryError(f"the local URL answered {status}")

    def close(self) -> None:
        pass


# -- the subscriber ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """A message terminated because it could not be opened: what is reported about it."""

    stream_seq: int
    subject: str
    type: str | None
    kid: str | None
    reason: str


@dataclass
class SubscriberStats:
    delivered: int = 0
    duplicates: int = 0
    retried: int = 0
    rejections: list[Rejection] = field(default_factory=list)


def consumer_name(unit_id: str, tenant_id: str = "*") -> str:
    return f"backa-{unit_id}" if tenant_id == "*" else f"backa-{tenant_id}-{unit_id}"


class AgencySubscriber:
    def __init__(
        self,
        *,
        nats_url: str,
        unit_id: str,
        private_key: X25519PrivateKey,
        sink: Sink,
        processed: ProcessedIds,
        tenant_id: str = "*",
        durable: str | None = None,
        stream: str = STREAM_NAME,
        batch: int = 50,
        fetch_timeout: float = 1.0,
        ack_wait: float = 30.0,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        reconnect_wait: float = 0.5,
    ) -> None:
        if not is_subject_token(unit_id) or not (tenant_id == "*" or is_subject_token(tenant_id)):
            raise SubscriberSetupError("unit and tenant ids are letters, digits, '-' and '_'")
        self.nats_url = nats_url
        self.unit_id = unit_id
        self.tenant_id = tenant_id
        self.private_key = private_key
        self.kid = key_id(private_key.public_key())
        self.sink = sink
        self.processed = processed
        self.durable = durable or consumer_name(unit_id, tenant_id)
        self.stream = stream
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.ack_wait = ack_wait
        self.retry_delays = tuple(retry_delays)
        self.reconnect_wait = reconnect_wait
        self.stats = SubscriberStats()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._sub: JetStreamContext.PullSubscription | None = None
        self.processed.add_all(sink.known_ids())

    def consumer_config(self) -> ConsumerConfig:
        return ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            description=f"Backa deliveries to unit {self.unit_id}",
            filter_subject=unit_filter(self.tenant_id, self.unit_id),
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_deliver=-1,
            max_ack_pending=1000,
        )

    async def start(self) -> None:
        """Connect, create the durable consumer (or check the one there) and bind to it."""
        if self._nc is None or self._nc.is_closed:
            self._nc = await connect(self.nats_url, name=f"backa-subscriber-{self.unit_id}", reconnect_wait=self.reconnect_wait)
            self._js = self._nc.jetstream()
        js = self.js
        wanted = self.consumer_config()
        try:
            info = await js.consumer_info(self.stream, self.durable)
        except NotFoundError:
            await js.add_consumer(self.stream, wanted)
            log.info("created the durable consumer %s for unit %s", self.durable, self.unit_id)
        else:
            if info.config.filter_subject != wanted.filter_subject or info.config.ack_policy != AckPolicy.EXPLICIT:
                raise SubscriberSetupError(
                    f"a consumer {self.durable} exists for other subjects; give this subscriber another --durable"
                )
        self._sub = await js.pull_subscribe_bind(self.durable, stream=self.stream)

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("the subscriber is not connected to NATS")
        return self._js

    async def poll(self, stop: asyncio.Event | None = None) -> int:
        """Fetch what is waiting (up to one batch) and handle it; return how many messages
        were handled. After a hand-over fails, the rest of the batch is handed back and the
        subscriber pauses for the retry delay."""
        if self._sub is None:
            await self.start()
        if self._sub is None:
            raise RuntimeError("the subscriber is not bound to its consumer")
        try:
            msgs = await self._sub.fetch(self.batch, timeout=self.fetch_timeout)
        except TimeoutError:
            return 0
        handled = 0
        for i, msg in enumerate(msgs):
            if stop is not None and stop.is_set():
                await _hand_back(msgs[i:], delay=None)
                break
            pause = await self.handle(msg)
            handled += 1
            if pause:
                await _hand_back(msgs[i + 1 :], delay=pause)
                if stop is not None:
                    await _wait(stop, pause)
                else:
                    await asyncio.sleep(pause)
                break
        return handled

    async def handle(self, msg: Msg) -> float | None:
        """Handle one message; return a pause in seconds when it was offered back for later."""
        seq = msg.metadata.sequence.stream
        if short_type(msg.subject) == short_type(DIGEST_TYPE):
            return await self._handle_digest(msg, seq)
        try:
            received = parse_sealed(msg.data)
        except NotACloudEvent as e:
            return await self._reject(msg, seq, None, None, str(e))
        if received.id in self.processed:
            self.stats.duplicates += 1
            await msg.ack()
            return None
        try:
            opened = open_event(received, msg.subject, self.private_key)
        except SealError as e:
            return await self._reject(msg, seq, received.type, received.sealed.kid, str(e))
        pause = await self._hand_over(msg, seq, received.type, [opened])
        if pause is not None:
            return pause
        self.processed.add(received.id)
        await msg.ack()
        self.stats.delivered += 1
        return None

    async def _hand_over(
        self, msg: Msg, seq: int, type_name: str, events: Sequence[OpenedEvent], *, each: bool = False
    ) -> float | None:
        """Hand events over to the sink (``each``: remembering each once taken, for a digest's
        items); a pause when it could not take one now (the message is offered again later)."""
        beat = asyncio.create_task(_keep_in_progress(msg, self.ack_wait / 3))  # a signed post may retry longer than ack_wait
        try:
            for event in events:
                await self.sink.deliver(event)
                if each:
                    self.processed.add(event.id)
        except TransientDeliveryError as e:
            attempt = max(1, msg.metadata.num_delivered or 1)
            delay = self.retry_delays[min(attempt, len(self.retry_delays)) - 1]
            log.warning("message %d (%s) could not be handed over: %s; offered again in %.1f s", seq, type_name, e, delay)
            self.stats.retried += 1
            await msg.nak(delay=delay)
            return delay
        finally:
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
        return None

    async def _handle_digest(self, msg: Msg, seq: int) -> float | None:
        """A daily digest: each item opened with the unit's key and checked to be sealed for
        this unit's subjects. A JSON-lines output takes the items one line each; a URL takes
        the digest as one post, its items opened."""
        try:
            raw = json.loads(msg.data)
            digest = Digest.model_validate(raw["data"])
            digest_id = str(raw["id"])
        except (ValueError, KeyError, TypeError, ValidationError):
            return await self._reject(msg, seq, DIGEST_TYPE, None, "not a digest this hub sends")
        if digest_id in self.processed:
            self.stats.duplicates += 1
            await msg.ack()
            return None
        own = msg.subject.rsplit(".", 1)[0] + "."
        opened: list[OpenedEvent] = []
        for item in digest.items:
            try:
                if not item.subject.startswith(own) or short_type(item.subject) == short_type(DIGEST_TYPE):
                    raise SealError("an item sealed for another unit's subject")
                received = parse_sealed(json.dumps(item.event).encode())
                opened.append(open_event(received, item.subject, self.private_key))
            except (NotACloudEvent, SealError) as e:
                return await self._reject(msg, seq, DIGEST_TYPE, None, f"an item does not open ({e})")
        each = bool(getattr(self.sink, "takes_items", False))
        if each:
            events = [o for o in opened if o.id not in self.processed]
        else:
            items = [{"subject": i.subject, "event": json.loads(o.to_json())} for i, o in zip(digest.items, opened, strict=True)]
            data = {**digest.body(), "items": items}
            events = [OpenedEvent(digest_id, DIGEST_TYPE, str(raw.get("source", "")), raw.get("time"), self.kid, data)]
        pause = await self._hand_over(msg, seq, DIGEST_TYPE, events, each=each)
        if pause is not None:
            return pause
        self.processed.add(digest_id)
        await msg.ack()
        self.stats.delivered += 1
        return None

    async def _reject(self, msg: Msg, seq: int, type_name: str | None, kid: str | None, reason: str) -> None:
        rejection = Rejection(seq, msg.subject, type_name, kid, reason)
        self.stats.rejections.append(rejection)
        log.error(
            "message %d on %s (%s, sealed to key %s; this unit's key is %s) cannot be opened and is terminated: %s",
            seq, msg.subject, type_name or "unknown type", kid or "unknown", self.kid, reason,
        )
        await msg.term()
        return None

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the unit's subject until ``stop`` is set, then drain."""
        delay = 0.5
        try:
            while not stop.is_set():
                try:
                    if self._sub is None:
                        await unless_stopped(stop, self.start())  # NATS may be away for a while
                    await self.poll(stop)  # a message being handed over is finished, not cut off
                    delay = 0.5
                except Stopped:
                    break
                except asyncio.CancelledError:
                    raise
                except SubscriberSetupError:
                    raise
                except Exception as e:  # noqa: BLE001 - NATS away or the stream not there yet: wait and retry
                    log.warning("subscriber: cannot fetch now (%s); trying again in %.1f s", type(e).__name__, delay)
                    await self._unbind()
                    await _wait(stop, delay)
                    delay = min(delay * 2, 10.0)
        finally:
            await self.close()

    async def _unbind(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception as e:  # noqa: BLE001 - the connection may be down; it is bound again later
                log.debug("unbinding from the consumer: %s", type(e).__name__)

    async def close(self) -> None:
        """Stop fetching, send the acknowledgements still buffered, and close."""
        if self._nc is not None and self._nc.is_connected:
            await self._unbind()  # its inbox may hold pull status replies that nobody will read
        await close_connection(self._nc, f"backa-subscriber-{self.unit_id}")
        self._nc = None
        self._js = None
        self._sub = None


async def _keep_in_progress(msg: Msg, every: float) -> None:
    """Tell the server the message is still being handed over, so it is not sent again meanwhile."""
    while True:
        await asyncio.sleep(every)
        try:
            await msg.in_progress()
        except Exception as e:  # noqa: BLE001 - the connection may be down; redelivery is harmless
            log.debug("telling the server a message is in progress: %s", type(e).__name__)


async def _hand_back(msgs: Sequence[Msg], delay: float | None) -> None:
    for m in msgs:
        await m.nak(delay=delay)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


__all__ = [
    "AgencySubscriber",
    "HttpPostSink",
    "JsonLinesSink",
    "ProcessedIds",
    "Rejection",
    "SubscriberSetupError",
    "SubscriberStats",
    "TransientDeliveryError",
    "consumer_name",
]
