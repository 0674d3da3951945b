"""The relay: follows the hub's log and delivers each committed fact, redacted and sealed,
to the units that may see it, over NATS JetStream.

The log stays the single truth. The relay keeps its own position in it (a
:class:`~adapters.relay_store.PositionStore`) and moves it only after JetStream has acknowledged every
delivery of the facts up to there, so a relay that stops at any point loses nothing:
it starts again from its last recorded position. What it sends again is not stored
twice: each message carries a ``Nats-Msg-Id`` made of the event id and the unit, which
JetStream's duplicate window recognises, and when the relay (re)starts it also reads
what the stream holds beyond the stream sequence it last recorded and skips those
message ids, however long it was away.

On a server that allows it (nats-server 2.12 and later) a batch of many deliveries (a
relay that is behind) is published as one atomic batch: stored all or none, with one
write to disk for the whole batch instead of one per message, which is what bounds the
rate when every write is synced; a batch of a few (a relay that keeps up) goes message by
message, which answers sooner. A batch is sealed while the one before it is sent, but
sent only once that one is stored, so a batch that fails never leaves a later one stored
ahead of it, and a child's messages stay in its order. A batch the stream refuses because
it holds one of its message ids already (stored before the relay's recorded position was
lost) is sent again message by message, where the duplicate window drops what is there.

The relay is not in the command path: commands commit whether NATS is up or not. When
NATS is down the relay retries with growing pauses and catches up when it returns.

An erasure takes the child's messages back: the relay remembers, beside its position,
the stream sequence of every message that carries a child's information, and when it
reads the child's ``RecordErased`` it deletes those from the stream before it moves
past the erasure. What an agency has already fetched is the agency's.

A unit's subscription narrows what it is sent (:mod:`adapters.deliveries`); the relay
asks for the units as the directory has them now before each batch, so a changed choice
holds from the next batch. For a unit that chose a daily digest the relay seals its
deliveries as usual but holds them in its store, in the same transaction that records the
position after them, and once the unit's hour has passed sends them as one message
(:mod:`adapters.digests`); notices always go at once. An erasure also takes the child's
held items back out.

The relay may run as several processes, each owning a partition of the children
(:mod:`adapters.relay_partition`): each reads the whole log, delivers only its own
children's facts and keeps its own position. Only one process may run each partition.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, runtime_checkable
from uuid import UUID

from consent import ChildFacts, PolicyRules
from contracts.events import ConsentWithdrawn, RecordErased
from contracts.upcasting import SchemaVersionError
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import Header, PubAck
from nats.js.errors import APIError, NotFoundError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Tracer

from adapters.cloudevents_codec import encode_sealed
from adapters.deliveries import Delivery, LogEntry, UnitRecipient, is_subject_token, plan_deliveries, split_by_cadence
from adapters.digests import DEFAULT_MAX_BYTES, HeldItem, digest_messages, digest_slot, stored_part
from adapters.fhir.delivery import shaped
from adapters.nats_link import (
    Stopped,
    StreamSettings,
    StreamSetupError,
    close_connection,
    connect,
    ensure_stream,
    unless_stopped,
)
from adapters.relay_partition import Partition, PartitionBusyError, claim
from adapters.relay_store import CommitListener, PositionStore, RelayPosition, wait_or_stop

log = logging.getLogger("backa.relay")

ReadLog = Callable[[int, int], Sequence[LogEntry]]
"""``read_log(after, limit)``: up to ``limit`` committed facts after position ``after``, in order."""

T = TypeVar("T")

FactsFor = Callable[[str, UUID, "int | None"], "ChildFacts | None"]
"""``facts_for(tenant_id, child_id, version)``: the child's facts now (``None``) or as of a version."""


@runtime_checkable
class ChildFactsSource(Protocol):
    """Children's facts that follow the log as the relay reads it, rather than being read
    from the store for every batch."""

    def advance(self, entries: Sequence[LogEntry], *, complete: bool) -> None:
        """Take in a batch of facts read in log order; ``complete`` when it reached the end
        of the log, so that nothing was committed after it when it was read."""

    def facts_for(self, tenant_id: str, child_id: UUID, version: int | None) -> ChildFacts | None:
        """The child's facts now (``None``), or as of one version of its record."""


@runtime_checkable
class RecipientSource(Protocol):
    """The units to deliver to as they are now (the directory may change while the relay
    runs), asked once per batch."""

    def current(self) -> tuple[Sequence[UnitRecipient], Mapping[tuple[str, str], X25519PublicKey]]:
        """The units and the public keys known for them; the same objects while neither changed."""


class _ReadEachTime:
    """A plain ``facts_for`` callable as a :class:`ChildFactsSource` that reads every time."""

    def __init__(self, facts_for: FactsFor) -> None:
        self.facts_for = facts_for

    def advance(self, entries: Sequence[LogEntry], *, complete: bool) -> None:
        pass


MAX_SCAN = 100_000

MAX_ATOMIC = 500
"""Messages per atomic batch at most (nats-server refuses batches over 1,000 by default)."""

ATOMIC_FROM = 32
"""Deliveries from which a batch goes as one atomic batch. Staging an atomic batch costs the
server a fixed time (about as much as storing a score of single messages, each synced), so
the few deliveries of a relay that keeps up go one by one, at the lowest latency, and the
many of a relay that is behind go in atomic batches, at the highest rate."""

DUPLICATE_IN_BATCH = 10201
"""JetStream's error code for an atomic batch holding a message id the stream has stored."""


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.2
    maximum: float = 10.0

    def next(self, current: float) -> float:
        return min(current * 2, self.maximum)


@dataclass
class RelayStats:
    facts: int = 0
    published: int = 0
    already_stored: int = 0
    retries: int = 0
    batches: int = 0
    held: int = 0
    """Deliveries held for a daily digest."""
    digests: int = 0
    """Digests sent (or found already stored)."""
    taken_back: int = 0
    """Messages deleted from the stream because their child was erased."""
    errors: Counter[str] = field(default_factory=Counter)
    """Failed attempts by kind of fault."""


class RelayBatchError(Exception):
    """A batch of deliveries was not stored as sent; it is sent again from the recorded position."""


class JetStreamRelay:
    """Follows the log and publishes each fact's deliveries; see the module docstring."""

    def __init__(
        self,
        *,
        nats_url: str,
        read_log: ReadLog,
        facts_for: FactsFor | ChildFactsSource,
        recipients: Sequence[UnitRecipient] | RecipientSource,
        keys: Mapping[tuple[str, str], X25519PublicKey] | None = None,
        clock: Callable[[], datetime],
        rules: PolicyRules,
        positions: PositionStore,
        stream: StreamSettings | None = None,
        batch_size: int = 200,
        read_ahead: int = 2000,
        publish_timeout: float = 5.0,
        poll_interval: float = 0.05,
        listener: CommitListener | None = None,
        listening_poll_interval: float = 1.0,
        backoff: Backoff | None = None,
        reconnect_wait: float = 0.5,
        tracer: Tracer | None = None,
        on_delivered: Callable[[Delivery], None] | None = None,
        partition: Partition | None = None,
        in_flight: int = 2,
        atomic_batch: int = MAX_ATOMIC,
        atomic_from: int = ATOMIC_FROM,
        digest_check: timedelta = timedelta(minutes=1),
        digest_grace: timedelta = timedelta(minutes=1),
    ) -> None:
        self.nats_url = nats_url
        self.tracer = tracer or trace.get_tracer("backa.relay")
        self.on_delivered = on_delivered
        self.read_log = read_log
        self.facts = facts_for if isinstance(facts_for, ChildFactsSource) else _ReadEachTime(facts_for)
        self.clock = clock
        self.rules = rules
        self.positions = positions
        self.stream = stream or StreamSettings()
        self.batch_size = batch_size
        self.read_ahead = max(read_ahead, batch_size)
        """Facts read from the log at once and taken into the children's facts before any
        of them is decided: the policy decides with facts that are as new as possible, and
        a relay that is behind rarely needs to read a child's newer facts from the store."""
        self.publish_timeout = publish_timeout
        self.atomic_batch = max(1, min(atomic_batch, MAX_ATOMIC))
        """Messages per atomic batch at most, where the stream takes atomic batches."""
        self.atomic_from = max(1, atomic_from)
        """Deliveries a batch needs to be sent as an atomic batch; fewer are sent one by one."""
        self.in_flight = max(1, in_flight)
        """Batches published at once, awaiting their acknowledgements, while the next is sealed."""
        self.poll_interval = poll_interval
        self.listener = listener
        self.listening_poll_interval = listening_poll_interval
        self.backoff = backoff or Backoff()
        self.reconnect_wait = reconnect_wait
        self.keys: dict[tuple[str, str], X25519PublicKey] = dict(keys or {})
        self.recipients: tuple[UnitRecipient, ...] = ()
        self._source = recipients if isinstance(recipients, RecipientSource) else None
        self._seen: tuple[object, object] | None = None
        if self._source is None:
            self.recipients = self._deliverable(recipients)  # type: ignore[arg-type]
        else:
            self._refresh()
        self.digest_check = digest_check
        """How often (on the clock) the relay looks for digests whose hour has passed."""
        self.digest_grace = digest_grace
        """How long after its hour a digest waits, so that an item another relay partition
        held just before the hour, and was still storing, goes in it too."""
        self._next_digests: datetime | None = None
        self.stats = RelayStats()
        self.partition = partition or Partition()
        """The children this relay delivers for; the others' facts it passes over."""
        self.position = claim(positions, self.partition)
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._already: dict[str, int] = {}
        """Message id to stream sequence of what the stream holds beyond the recorded position."""
        self._ready = False
        self.atomic = False
        """Whether the stream takes atomic batches (known once started)."""
        self._store_thread: ThreadPoolExecutor | None = None

    def _deliverable(self, recipients: Sequence[UnitRecipient]) -> tuple[UnitRecipient, ...]:
        keep, without_key, bad_name = [], [], []
        for r in recipients:
            if not (is_subject_token(r.tenant_id) and is_subject_token(r.unit_id)):
                bad_name.append(f"{r.tenant_id}/{r.unit_id}")
            elif (r.tenant_id, r.unit_id) not in self.keys:
                without_key.append(f"{r.tenant_id}/{r.unit_id}")
            else:
                keep.append(r)
        if without_key:
            log.warning("no public key for %d unit(s); nothing is delivered to them: %s", len(without_key), ", ".join(sorted(without_key)))
        if bad_name:
            log.warning("unit ids that cannot be NATS subject tokens; nothing is delivered to them: %s", ", ".join(sorted(bad_name)))
        return tuple(keep)

    def _refresh(self) -> None:
        """Take the units as the directory has them now; rebuilt only when they changed."""
        if self._source is None:
            return
        units, keys = self._source.current()
        if self._seen is not None and self._seen[0] is units and self._seen[1] is keys:
            return
        self._seen = (units, keys)
        self.keys = dict(keys)
        self.recipients = self._deliverable(units)

    # -- connection and start ------------------------------------------------------------

    async def start(self) -> None:
        """Take the partition's lock and its position, connect, create or check the stream,
        and learn what the stream already holds beyond the last recorded position."""
        if not await asyncio.to_thread(self.positions.hold, self.positions.name):
            raise PartitionBusyError(f"another relay delivers for partition {self.partition} now")
        self.position = self.positions.load()  # as its last holder left it
        if self._nc is None or self._nc.is_closed:
            self._nc = await connect(self.nats_url, name="backa-relay", reconnect_wait=self.reconnect_wait)
            self._js = self._nc.jetstream(timeout=self.publish_timeout)
        info = await ensure_stream(self.js, self.stream)
        self.atomic = bool(info.config.allow_atomic)
        await self._recover()
        self._ready = True

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("the relay is not connected to NATS")
        return self._js

    async def _recover(self) -> None:
        info = await self.js.stream_info(self.stream.name)
        first, last = info.state.first_seq or 1, info.state.last_seq or 0
        recorded = self.position.stream_seq
        begin = first if recorded > last else recorded + 1  # a stream made anew starts again at 1
        begin = max(begin, first, last - MAX_SCAN + 1)
        found: dict[str, int] = {}
        for seq in range(begin, last + 1):
            try:
                msg = await self.js.get_msg(self.stream.name, seq=seq)
            except NotFoundError:
                continue
            msg_id = (msg.headers or {}).get(Header.MSG_ID.value)
            if msg_id:
                found[msg_id] = seq
        if found:
            log.info("the stream already holds %d message(s) after the recorded position; they are not sent again", len(found))
        self._already = found

    async def close(self) -> None:
        self._ready = False
        if self._store_thread is not None:
            self._store_thread.shutdown(wait=True)
            self._store_thread = None
        self.positions.release()
        await close_connection(self._nc, "backa-relay")
        self._nc = None
        self._js = None

    # -- following the log ------------------------------------------------------------------

    async def pump(self) -> int:
        """Deliver everything committed after the recorded position; return how many facts
        were read. Raises when NATS cannot take the deliveries; the position is then where
        it was."""
        if not self._ready:
            await self.start()
        read = 0
        ahead = await asyncio.to_thread(self.read_log, self.position.position, self.read_ahead)
        while ahead:
            await asyncio.to_thread(self._refresh)
            # the next facts are read and opened in a thread while these are sealed and sent
            following = asyncio.ensure_future(asyncio.to_thread(self.read_log, ahead[-1].position, self.read_ahead))
            try:
                await self._deliver(self._own(ahead))
            except BaseException:
                self._ready = False  # started again, it first learns what the stream holds now
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
                raise
            read += len(ahead)
            ahead = await following
        try:
            await self.send_digests()
        except BaseException:
            self._ready = False
            raise
        return read

    async def _deliver(self, ahead: Sequence[LogEntry]) -> None:
        """Deliver facts read at once, batch by batch, ``in_flight`` batches at a time."""
        self.facts.advance(ahead, complete=len(ahead) < self.read_ahead)
        in_flight: list[tuple[Sequence[LogEntry], list[HeldItem], asyncio.Future[list[PubAck]]]] = []
        try:
            for start in range(0, len(ahead), self.batch_size):
                entries = ahead[start : start + self.batch_size]
                previous = in_flight[-1][2] if in_flight else None
                now, held = split_by_cadence(self._decide(entries), self.recipients)
                kept = self._held(entries, held)
                in_flight.append((entries, kept, asyncio.ensure_future(self._publish_all(now, after=previous))))
                if len(in_flight) >= self.in_flight:
                    done, done_held, publishing = in_flight.pop(0)
                    await self._settled(done, publishing, done_held)
            while in_flight:
                done, done_held, publishing = in_flight.pop(0)
                await self._settled(done, publishing, done_held)
        finally:
            for _, _, publishing in in_flight:
                publishing.cancel()
            await asyncio.gather(*(p for _, _, p in in_flight), return_exceptions=True)

    def _held(self, entries: Sequence[LogEntry], held: Sequence[Delivery]) -> list[HeldItem]:
        """Deliveries for units that take a daily digest, sealed to each unit's key as if sent
        now, with the digest each goes out in; none of a child erased in the same batch."""
        if not held:
            return []
        erased = {str(e.fact.child_id) for e in entries if isinstance(e.fact, RecordErased)}
        hours = {(r.tenant_id, r.unit_id): r.subscription.digest_hour for r in self.recipients}
        at = self.clock()
        position = {str(e.fact.event_id): e.position for e in entries if e.fact is not None}
        out = []
        for index, d in enumerate(held):
            if d.child_id in erased:
                continue
            day, due = digest_slot(at, hours[(d.tenant_id, d.unit_id)])
            out.append(
                HeldItem(
                    msg_id=d.msg_id, tenant_id=d.tenant_id, unit_id=d.unit_id, child_id=d.child_id, day=day, due_at=due,
                    position=position.get(d.msg_id.partition(":")[0], 0), index=index, subject=d.subject,
                    event=encode_sealed(d, self.keys[(d.tenant_id, d.unit_id)]),
                )
            )
        return out

    async def send_digests(self) -> int:
        """Send every digest whose hour has passed, each as one message, then forget its
        items. A digest the stream holds already (the relay stopped before forgetting) is
        not sent again. Looks at most every ``digest_check`` on the clock."""
        now = self.clock()
        if self._next_digests is not None and now < self._next_digests:
            return 0
        sent = 0
        for tenant_id, unit_id, day, due_at in await self._in_store(self.positions.due, now - self.digest_grace):
            items = await self._in_store(self.positions.held, tenant_id, unit_id, day)
            items = await asyncio.to_thread(self._as_allowed_now, items)
            if items:
                messages = digest_messages(tenant_id, unit_id, day, due_at, items, max_bytes=self._digest_bytes())
                stored = stored_part(await self._last_msg_id(messages[0].subject), tenant_id, unit_id, day)
                for message in messages[stored:]:
                    await self.js.publish(
                        message.subject, message.payload, timeout=self.publish_timeout, stream=self.stream.name,
                        headers={Header.MSG_ID.value: message.msg_id},
                    )
                sent += 1
                self.stats.digests += 1
            await self._in_store(self.positions.digested, tenant_id, unit_id, day)
        self._next_digests = now + self.digest_check
        return sent

    def _as_allowed_now(self, items: Sequence[HeldItem]) -> list[HeldItem]:
        """Each held item as the consent policy decides it now, when the digest discloses it:
        what a consent withdrawn or ended since it was held no longer allows is left out, and
        an item the unit may see nothing of any more is dropped (GDPR art. 7(3): a withdrawal
        holds from that moment, also for what was only waiting to be sent). The relay has read
        the log to its end before it sends digests, so the children's facts are today's; an
        item whose fact cannot be read again (erased, another partition's) is dropped."""
        out: list[HeldItem] = []
        for item in items:
            entries = [e for e in self._own(self.read_log(item.position - 1, 1)) if e.position == item.position]
            key = (item.tenant_id, item.unit_id)
            now = [d for d in self._decide(entries) if d.msg_id == item.msg_id and (d.tenant_id, d.unit_id) == key]
            if not now or key not in self.keys:
                continue
            out.append(replace(item, subject=now[0].subject, event=encode_sealed(now[0], self.keys[key])))
        return out

    async def _last_msg_id(self, subject: str) -> str | None:
        """The message id of the last message on ``subject``."""
        try:
            last = await self.js.get_last_msg(self.stream.name, subject)
        except NotFoundError:
            return None
        return (last.headers or {}).get(Header.MSG_ID.value)

    def _digest_bytes(self) -> int:
        """The items' size a digest part may hold: well within the broker's message limit."""
        limit = self._nc.max_payload if self._nc is not None and self._nc.max_payload else 1 << 20
        return max(1, min(DEFAULT_MAX_BYTES, limit // 2))

    def _own(self, entries: Sequence[LogEntry]) -> Sequence[LogEntry]:
        """The entries with the facts of other partitions' children passed over (a log
        reader given the partition passes them over before decoding them)."""
        if self.partition.count == 1:
            return entries
        owns = self.partition.owns
        return [e if e.fact is None or owns(e.fact.child_id) else LogEntry(e.position, e.version, None) for e in entries]

    async def _settled(
        self, entries: Sequence[LogEntry], publishing: asyncio.Future[list[PubAck]], held: Sequence[HeldItem] = ()
    ) -> None:
        acks = await publishing
        await self._take_back_erased(entries)
        if held:
            await self._in_store(self._settle_held, entries, acks, held)
        else:
            await self._in_store(self._settle, entries, acks)

    async def _take_back_erased(self, entries: Sequence[LogEntry]) -> None:
        """For each erasure in the batch, delete the child's messages from the stream, so
        that what no agency has fetched yet is never fetched. Done before the position
        moves past the erasure: if it fails, the batch and this are done again."""
        for entry in entries:
            if not isinstance(entry.fact, RecordErased):
                continue
            child_id = str(entry.fact.child_id)
            seqs = await self._in_store(self.positions.sent, child_id)
            for seq in seqs:
                try:
                    await self.js.delete_msg(self.stream.name, seq)
                except NotFoundError:
                    pass  # aged out, or deleted before a restart
            await self._in_store(self.positions.forget, child_id, seqs)
            dropped = await self._in_store(self.positions.drop_held, child_id)
            if dropped:
                log.info("an erasure took %d item(s) held for digests back out", dropped)
            self.stats.taken_back += len(seqs)
            if seqs:
                log.info("an erasure took %d message(s) back out of the stream", len(seqs))

    async def _in_store(self, call: Callable[..., T], *args: Any) -> T:
        """A call to the position store, in its own thread off the event loop, one at a time
        and in the order asked."""
        if self._store_thread is None:
            self._store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backa-relay-store")
        return await asyncio.get_running_loop().run_in_executor(self._store_thread, lambda: call(*args))

    def _settle(self, entries: Sequence[LogEntry], acks: list[PubAck]) -> None:
        """A batch's deliveries are all acknowledged: record the position after it. The next
        batch is sealed and sent meanwhile, but positions are recorded in log order."""
        seq = max([self.position.stream_seq, *(a.seq for a in acks if a.seq)])
        self.record(RelayPosition(entries[-1].position, seq))
        self.stats.facts += sum(1 for e in entries if e.fact is not None)
        self.stats.batches += 1

    def _settle_held(self, entries: Sequence[LogEntry], acks: list[PubAck], held: Sequence[HeldItem]) -> None:
        """As :meth:`_settle`, holding the batch's digest items in the same transaction as
        the position after it: a relay that stops holds each once, whenever it stops."""
        seq = max([self.position.stream_seq, *(a.seq for a in acks if a.seq)])
        position = RelayPosition(entries[-1].position, seq)
        self.positions.keep(held, position)
        self.position = position
        self.stats.held += len(held)
        self.stats.facts += sum(1 for e in entries if e.fact is not None)
        self.stats.batches += 1

    def record(self, position: RelayPosition) -> None:
        """Record the position once every delivery up to it is acknowledged."""
        self.positions.save(position)
        self.position = position

    def plan(self, entries: Sequence[LogEntry], *, complete: bool = False) -> list[Delivery]:
        """Every delivery a batch of facts makes, deciding with the children's facts now.
        ``complete``: the batch reached the end of the log when it was read."""
        entries = self._own(entries)
        self._refresh()
        self.facts.advance(entries, complete=complete)
        return self._decide(entries)

    def _decide(self, entries: Sequence[LogEntry]) -> list[Delivery]:
        at = self.clock()
        now_cache: dict[tuple[str, UUID], ChildFacts | None] = {}
        out: list[Delivery] = []
        by_unit = {(r.tenant_id, r.unit_id): r for r in self.recipients}
        for entry in entries:
            fact = entry.fact
            if fact is None:
                continue
            key = (fact.tenant_id, fact.child_id)
            if key not in now_cache:
                now_cache[key] = self.facts.facts_for(fact.tenant_id, fact.child_id, None)
            facts_now = now_cache[key]
            if facts_now is None:
                log.warning("log position %d: the child's record cannot be read; nothing delivered for it", entry.position)
                continue
            before = None
            if isinstance(fact, ConsentWithdrawn) and entry.version > 1:
                before = self.facts.facts_for(fact.tenant_id, fact.child_id, entry.version - 1)
            planned = plan_deliveries(entry, self.recipients, facts_now, at, self.rules, facts_before=before)
            out.extend(shaped(d, by_unit[(d.tenant_id, d.unit_id)]) for d in planned)  # the format each unit chose
        return out

    async def _publish_all(
        self, deliveries: Sequence[Delivery], *, after: asyncio.Future[list[PubAck]] | None = None
    ) -> list[PubAck]:
        """Publish a batch's deliveries and return their acknowledgements. As an atomic batch,
        its messages are sealed at once but sent only when the batch ``after`` is stored."""
        todo = [d for d in deliveries if d.msg_id not in self._already]
        self.stats.already_stored += len(deliveries) - len(todo)
        stored = [(d.child_id, self._already[d.msg_id]) for d in deliveries if d.child_id and d.msg_id in self._already]
        if self.atomic:
            prepared = self._messages(todo)
            if after is not None:
                await asyncio.wait([after])
                if after.cancelled() or after.exception() is not None:
                    raise RelayBatchError("the batch before was not stored; this one waits for it")
            if len(todo) >= self.atomic_from:
                acks = await self._publish_atomic(todo, prepared)
            else:
                acks = await self._publish_each(todo, prepared)
        elif todo:
            acks = await self._publish_each(todo)
        else:
            acks = []
        sent = stored + [(d.child_id, a.seq) for d, a in zip(todo, acks, strict=True) if d.child_id and a.seq]
        if sent:
            await self._in_store(self.positions.remember, sent)
        self.stats.published += sum(1 for a in acks if not a.duplicate)
        self.stats.already_stored += sum(1 for a in acks if a.duplicate)
        if self.on_delivered is not None:
            for d, a in zip(todo, acks, strict=True):
                if not a.duplicate:
                    self.on_delivered(d)
        return acks

    async def _publish_each(
        self, todo: Sequence[Delivery], prepared: Sequence[tuple[bytes, dict[str, str]]] | None = None
    ) -> list[PubAck]:
        """One message at a time, all sent before their acknowledgements are awaited."""
        sent: list[asyncio.Future[PubAck]] = []
        try:
            async with asyncio.timeout(self.publish_timeout):
                for i, d in enumerate(todo):
                    sent.append(await self.publish_one(d, prepared[i] if prepared is not None else None))
                return list(await asyncio.gather(*sent))
        except TimeoutError:
            raise TimeoutError("JetStream did not acknowledge every delivery of a batch in time") from None
        finally:
            for waiting in sent:
                waiting.cancel()  # no-op once acknowledged; frees the client's slot otherwise

    async def _publish_atomic(self, todo: Sequence[Delivery], prepared: Sequence[tuple[bytes, dict[str, str]]]) -> list[PubAck]:
        """The deliveries in atomic batches of at most ``atomic_batch`` messages, each sent once
        the one before is stored. A batch refused for a message id the stream holds already
        is sent again one message at a time."""
        acks: list[PubAck] = []
        size = self.atomic_batch
        for start in range(0, len(todo), size):
            part = todo[start : start + size]
            try:
                acks.extend(await self._send_atomic(part, prepared[start : start + size]))
            except APIError as e:
                if e.err_code != DUPLICATE_IN_BATCH:
                    raise
                log.info("the stream holds some of a batch already; sending it message by message")
                acks.extend(await self._publish_each(part, prepared[start : start + size]))
        return acks

    async def _send_atomic(self, part: Sequence[Delivery], prepared: Sequence[tuple[bytes, dict[str, str]]]) -> list[PubAck]:
        nc = self._nc
        if nc is None:
            raise RuntimeError("the relay is not connected to NATS")
        batch = uuid.uuid4().hex
        last = len(part)
        try:
            async with asyncio.timeout(self.publish_timeout):
                for k, (d, (payload, headers)) in enumerate(zip(part, prepared, strict=True), 1):
                    headers = {
                        **headers,
                        Header.EXPECTED_STREAM.value: self.stream.name,
                        Header.BATCH_ID.value: batch,
                        Header.BATCH_SEQUENCE.value: str(k),
                    }
                    if k < last:
                        await nc.publish(d.subject, payload, headers=headers)
                    else:
                        headers[Header.BATCH_COMMIT.value] = "1"
                        reply = await nc.request(d.subject, payload, timeout=self.publish_timeout, headers=headers)
        except TimeoutError:
            raise TimeoutError("JetStream did not acknowledge a batch of deliveries in time") from None
        answer = json.loads(reply.data)
        if "error" in answer:
            APIError.from_error(answer["error"])  # raises the error the answer names
        if answer.get("count") != last or not answer.get("seq"):
            raise RelayBatchError("JetStream acknowledged a batch other than the one sent")
        first = int(answer["seq"]) - last + 1
        return [PubAck(stream=answer.get("stream", self.stream.name), seq=first + i) for i in range(last)]

    def _messages(self, deliveries: Sequence[Delivery]) -> list[tuple[bytes, dict[str, str]]]:
        """Each delivery sealed, with its headers; one publishing span for the deliveries of
        one fact rather than one per delivery."""
        out: list[tuple[bytes, dict[str, str]]] = []
        start = 0
        while start < len(deliveries):
            first = deliveries[start]
            key = (first.msg_id.partition(":")[0], first.traceparent, first.type_name)
            end = start + 1
            while end < len(deliveries) and (
                (d := deliveries[end]).msg_id.partition(":")[0], d.traceparent, d.type_name
            ) == key:
                end += 1
            out.extend(self._sealed(deliveries[start:end]))
            start = end
        return out

    def _sealed(self, deliveries: Sequence[Delivery]) -> list[tuple[bytes, dict[str, str]]]:
        """Deliveries of one fact sealed each to its unit's key, with its message id and, in one
        span, the trace of the request that appended the fact (W3C ``traceparent``) in the headers."""
        first = deliveries[0]
        parent = propagate.extract({"traceparent": first.traceparent} if first.traceparent else {})
        with self.tracer.start_as_current_span(
            "backa.relay publish",
            context=parent,
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "nats", "backa.event_type": first.type_name, "messaging.batch.message_count": len(deliveries)},
            record_exception=False,  # an error's message is not the trace's to keep
        ):
            trace_headers: dict[str, str] = {}
            propagate.inject(trace_headers)
            return [
                (encode_sealed(d, self.keys[(d.tenant_id, d.unit_id)]), {Header.MSG_ID.value: d.msg_id, **trace_headers})
                for d in deliveries
            ]

    async def publish_one(
        self, delivery: Delivery, prepared: tuple[bytes, dict[str, str]] | None = None
    ) -> asyncio.Future[PubAck]:
        """Send one delivery on its own with its message id (sealed now unless ``prepared``);
        return its acknowledgement to come. A batch's deliveries are all sent, in order on
        the one connection, before their acknowledgements are awaited together (within
        ``publish_timeout``)."""
        ((payload, headers),) = [prepared] if prepared is not None else self._sealed([delivery])
        return await self.js.publish_async(delivery.subject, payload, stream=self.stream.name, headers=dict(headers))

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Follow the log until ``stop`` is set, retrying with growing pauses when NATS or
        the store is unavailable."""
        stop = stop or asyncio.Event()
        committed = asyncio.Event()
        listening = asyncio.create_task(self.listener.listen(committed, stop)) if self.listener else None
        delay = self.backoff.initial
        try:
            while not stop.is_set():
                try:
                    committed.clear()
                    read = await unless_stopped(stop, self.pump())
                    delay = self.backoff.initial
                    if read == 0:
                        await self._idle(stop, committed)
                except Stopped:
                    break
                except (asyncio.CancelledError, StreamSetupError):
                    raise  # a stream the relay must not use is for its operators to fix
                except SchemaVersionError as e:  # its message names the type and version, never the fact
                    self._ready = False
                    self.stats.retries += 1
                    self.stats.errors[type(e).__name__] += 1
                    log.error("relay: stopped before a fact this release cannot read: %s; trying again in %.1f s", e, delay)
                    await wait_or_stop(stop, delay)
                    delay = self.backoff.next(delay)
                except Exception as e:  # noqa: BLE001 - any fault: wait and try again from the recorded position
                    self._ready = False
                    self.stats.retries += 1
                    self.stats.errors[type(e).__name__] += 1
                    log.warning("relay: cannot deliver now (%s); trying again in %.1f s", type(e).__name__, delay)
                    await wait_or_stop(stop, delay)
                    delay = self.backoff.next(delay)
        finally:
            if listening is not None:
                listening.cancel()
                await asyncio.gather(listening, return_exceptions=True)
            await self.close()

    async def _idle(self, stop: asyncio.Event, committed: asyncio.Event) -> None:
        """Wait for a commit, for ``stop``, or for the poll interval: the short one unless
        the listener is listening."""
        listening = self.listener is not None and self.listener.listening
        timeout = max(self.poll_interval, self.listening_poll_interval) if listening else self.poll_interval
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(committed.wait())]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()



__all__ = [
    "Backoff",
    "ChildFactsSource",
    "JetStreamRelay",
    "RelayBatchError",
    "RecipientSource",
    "RelayStats",
]
