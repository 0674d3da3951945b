"""Wiring the JetStream relay to its root (:mod:`hub.runtime.relay_root`) or to a hub
built in the same process: the composition root's part of delivery.

The relay (``adapters.jetstream_relay``) knows nothing of the hub. This module hands it
what it needs as plain callables and values: the log, read from the log's recorder; each
child's facts for the policy, kept in memory and brought forward with the facts the relay
reads (:class:`ChildFactsCache`); on PostgreSQL, a listener that wakes the relay on every
commit; the units of the directory as they are now, with their subscriptions and their
public keys from ``unit_keys_dir`` (:class:`DirectoryRecipients`); the clock and the
policy rules.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from adapters.deliveries import Delivery, LogEntry, UnitRecipient
from adapters.jetstream_relay import JetStreamRelay
from adapters.nats_link import StreamSettings
from adapters.relay_partition import Partition, RelayPartitionError, parse_position_name, stored_partitions
from adapters.relay_store import CommitListener, PositionStore, RelayPosition
from adapters.sealed_box import KeyFileError, load_public_key
from consent import ChildFacts
from contracts.events import AccessReviewed, ConsentWithdrawn, ErasedFact, InformationAccessed
from hub.domain.child import Child, Recorded, project_child
from hub.identity.directory import Directory
from hub.runtime.bootstrap import Runtime
from hub.runtime.relay_root import RelayConfigError, RelayRoot, StoredLog, relay_root
from hub.runtime.stores import POSITION_FILE

log = logging.getLogger("backa.relay")


def unit_keys(directory: Directory, keys_dir: Path) -> tuple[list[UnitRecipient], dict[tuple[str, str], X25519PublicKey]]:
    """Every unit of every tenant, and the public key of each that has one:
    ``<keys_dir>/<tenant>/<unit>.pub``, or else ``<keys_dir>/<unit>.pub``."""
    recipients = _recipients(directory)
    keys: dict[tuple[str, str], X25519PublicKey] = {}
    for r in recipients:
        key = _public_key(keys_dir, r.tenant_id, r.unit_id)
        if key is not None:
            keys[(r.tenant_id, r.unit_id)] = key
    return recipients, keys


def _recipients(directory: Directory) -> list[UnitRecipient]:
    return [
        UnitRecipient(tenant.tenant_id, unit.unit_id, unit.kind, unit.subscription)
        for tenant in list(directory.tenants.values())
        for unit in list(tenant.units.values())
    ]


def _public_key(keys_dir: Path, tenant_id: str, unit_id: str) -> X25519PublicKey | None:
    for path in (keys_dir / tenant_id / f"{unit_id}.pub", keys_dir / f"{unit_id}.pub"):
        if path.is_file():
            try:
                return load_public_key(path)
            except KeyFileError as e:
                log.error("unit %s/%s: %s", tenant_id, unit_id, e)
            return None
    return None


DEFAULT_KEY_LOOKUP = timedelta(minutes=5)


class DirectoryRecipients:
    """The relay's units as the directory has them now, read per batch
    (:class:`adapters.jetstream_relay.RecipientSource`). The units are rebuilt only when
    a unit, its kind or its subscription changed; a key once found is kept, and a unit
    without one is looked for again at most every ``key_lookup`` on the clock (or at once
    when the units changed)."""

    def __init__(
        self, directory: Directory, keys_dir: Path, clock: Callable[[], datetime], key_lookup: timedelta = DEFAULT_KEY_LOOKUP
    ) -> None:
        self.directory = directory
        self.keys_dir = keys_dir
        self.clock = clock
        self.key_lookup = key_lookup
        self._shape: tuple[tuple[Any, ...], ...] | None = None
        self._units: tuple[UnitRecipient, ...] = ()
        self._keys: dict[tuple[str, str], X25519PublicKey] = {}
        self._next_lookup: datetime | None = None

    def current(self) -> tuple[Sequence[UnitRecipient], Mapping[tuple[str, str], X25519PublicKey]]:
        shape = tuple(
            (t.tenant_id, u.unit_id, u.kind, u.subscription)
            for t in list(self.directory.tenants.values())
            for u in list(t.units.values())
        )
        changed = shape != self._shape
        if changed:
            self._shape = shape
            self._units = tuple(UnitRecipient(t, u, k, s) for t, u, k, s in shape)
        now = self.clock()
        missing = [(r.tenant_id, r.unit_id) for r in self._units if (r.tenant_id, r.unit_id) not in self._keys]
        if missing and (changed or self._next_lookup is None or now >= self._next_lookup):
            found = {m: k for m in missing if (k := _public_key(self.keys_dir, *m)) is not None}
            if found:
                self._keys = {**self._keys, **found}
            self._next_lookup = now + self.key_lookup
        return self._units, self._keys


def log_reader(hub: StoredLog, partition: Partition | None = None, *, upto: int | None = None) -> Any:
    """``read_log(after, limit)`` on the hub's notification log. Reads, and the facts of
    children of other partitions (known by the record id, before the fact is opened), are
    passed as positions without a fact: they are never delivered, and are not decoded.
    ``upto``: read nothing past this position."""
    skipped = {InformationAccessed.type_name, AccessReviewed.type_name}
    owns = None if partition is None or partition.count == 1 else partition.owns

    def read_log(after: int, limit: int) -> Sequence[LogEntry]:
        out: list[LogEntry] = []
        if upto is not None and after >= upto:
            return out
        for n in hub.recorder.select_notifications(after + 1, limit, stop=upto):
            if n.topic in skipped or (owns is not None and not owns(n.originator_id)):
                out.append(LogEntry(n.id, n.originator_version, None))
                continue
            recorded = hub.mapper.to_domain_event(n)
            if isinstance(recorded.fact, ErasedFact):  # its child was erased: nothing to deliver
                out.append(LogEntry(n.id, n.originator_version, None))
                continue
            out.append(LogEntry(n.id, recorded.originator_version, recorded.fact, recorded.traceparent))
        return out

    return read_log


def facts_reader(hub: StoredLog) -> Any:
    """``facts_for(tenant_id, child_id, version)``: what the policy needs about a child, now
    or as of one version of its record, read from the store on every call."""

    def facts_for(tenant_id: str, child_id: UUID, version: int | None) -> ChildFacts | None:
        child = _load_child(hub, child_id, version)
        if child is None or child.tenant_id != tenant_id:
            return None
        return child.facts()

    return facts_for


def _load_child(hub: StoredLog, child_id: UUID, version: int | None = None) -> Child | None:
    """A child's record replayed from its stored facts, apart from any aggregate the hub
    keeps in memory (the relay brings its copy forward itself)."""
    stored = hub.recorder.select_events(child_id, lte=version)
    child = project_child(None, (hub.mapper.to_domain_event(e) for e in stored))
    return child if isinstance(child, Child) else None


DEFAULT_CACHED_CHILDREN = 10_000


class ChildFactsCache:
    """Each child's facts for the policy, kept in memory and brought forward with every fact
    the relay reads, instead of replaying the child's record from the store for each batch.

    A child is read from the store once: when it is first needed, after it was evicted
    (least recently used beyond ``capacity``), or when the facts read skip a version of
    its record. Each fact read in log order is then applied to the cached record with the
    aggregate's own ``apply``. When a batch did not reach the end of the log
    (``complete=False``), each child in it is also brought forward to what is stored now,
    so the policy always decides with the child's facts as they are now. The facts just
    before each withdrawal read are kept for the batch: its revocation notices need them.
    """

    def __init__(self, hub: StoredLog, capacity: int = DEFAULT_CACHED_CHILDREN) -> None:
        if capacity < 1:
            raise RelayConfigError("the relay must keep at least one child in memory")
        self.hub = hub
        self.capacity = capacity
        self.loads = 0
        """How many times a child's record was replayed from the store."""
        self._children: OrderedDict[UUID, Child] = OrderedDict()
        self._facts: dict[UUID, ChildFacts] = {}
        self._before: dict[tuple[UUID, int], ChildFacts] = {}

    def __len__(self) -> int:
        return len(self._children)

    def advance(self, entries: Sequence[LogEntry], *, complete: bool) -> None:
        """Apply a batch of facts read in log order; see the class docstring."""
        self._before.clear()
        touched: dict[UUID, None] = {}
        for entry in entries:
            fact = entry.fact
            if fact is None:
                continue
            touched[fact.child_id] = None
            child = self._children.get(fact.child_id)
            if child is None or entry.version > child.version + 1:
                self._load(fact.child_id)  # as stored now, which holds this fact too
                continue
            if entry.version <= child.version:
                continue  # already applied: read again after a failed delivery, or brought forward
            if isinstance(fact, ConsentWithdrawn):
                self._before[(child.id, child.version)] = self._facts_of(child)
            self._apply(child, Recorded(child.id, entry.version, fact.occurred_at, fact, entry.traceparent))
        if not complete:
            for child_id in touched:
                self._bring_forward(child_id)

    def facts_for(self, tenant_id: str, child_id: UUID, version: int | None) -> ChildFacts | None:
        """The child's facts now (``version=None``), or as of one version of its record."""
        facts = self._before.get((child_id, version)) if version is not None else None
        if facts is None:
            child = self._children.get(child_id)
            if child is not None:
                self._children.move_to_end(child_id)
            if version is None:
                child = child or self._load(child_id)
                if child is None:
                    return None
                facts = self._facts_of(child)
            elif child is not None and child.version == version:
                facts = self._facts_of(child)
            else:
                past = _load_child(self.hub, child_id, version)
                self.loads += 1
                if past is None:
                    return None
                facts = past.facts()
        return facts if facts.tenant_id == tenant_id else None

    __call__ = facts_for

    def _facts_of(self, child: Child) -> ChildFacts:
        facts = self._facts.get(child.id)
        if facts is None:
            facts = self._facts[child.id] = child.facts()
        return facts

    def _apply(self, child: Child, recorded: Recorded) -> None:
        child.apply(recorded)
        self._facts.pop(child.id, None)
        self._children.move_to_end(child.id)

    def _load(self, child_id: UUID) -> Child | None:
        child = _load_child(self.hub, child_id)
        self.loads += 1
        self._facts.pop(child_id, None)
        if child is None:
            self._children.pop(child_id, None)
            return None
        self._children[child_id] = child
        self._children.move_to_end(child_id)
        while len(self._children) > self.capacity:
            evicted, _ = self._children.popitem(last=False)
            self._facts.pop(evicted, None)
        return child

    def _bring_forward(self, child_id: UUID) -> None:
        child = self._children.get(child_id)
        if child is None:
            return  # evicted within the batch: read as it is now when it is asked for
        for stored in self.hub.recorder.select_events(child_id, gt=child.version):
            self._apply(child, self.hub.mapper.to_domain_event(stored))


def position_store(root: RelayRoot, path: Path | None = None) -> PositionStore:
    """Where the relay keeps its place: beside the log in PostgreSQL when the hub runs
    there, else in a small file in the data folder (or at ``path``)."""
    return root.kit.position_store(path)


def commit_listener(root: RelayRoot) -> CommitListener | None:
    """On PostgreSQL, a listener to the channel the hub's recorder notifies on every
    commit, so the relay wakes when a fact is committed; elsewhere none (it polls)."""
    return root.kit.commit_listener(root.recorder)


def build_relay(
    root: RelayRoot | Runtime,
    *,
    nats_url: str | None = None,
    keys_dir: Path | None = None,
    position_path: Path | None = None,
    stream: StreamSettings | None = None,
    cached_children: int = DEFAULT_CACHED_CHILDREN,
    listen: bool = True,
    partition: Partition | None = None,
    upto: int | None = None,
    **options: Any,
) -> JetStreamRelay:
    """The relay on the relay's own root (``backa relay``) or on a hub built in this
    process, from its settings unless told otherwise: it delivers for one partition of the
    children (``relay_partition`` of ``relay_partitions``), keeps up to ``cached_children``
    children's facts in memory and, on PostgreSQL unless ``listen`` is false, wakes on
    every commit rather than only polling the log. ``upto``: deliver nothing past this
    log position (for :func:`repartition`)."""
    if isinstance(root, Runtime):
        root = RelayRoot.of(root)
    settings = root.settings
    partition = partition or settings_partition(settings)
    url = nats_url or settings.nats_url
    if not url:
        raise RelayConfigError("no NATS URL: set BACKA_NATS_URL or pass --nats")
    folder = keys_dir or settings.unit_keys_dir
    if folder is None:
        raise RelayConfigError("no folder of unit public keys: set BACKA_UNIT_KEYS_DIR or pass --keys")
    if not Path(folder).is_dir():
        raise RelayConfigError(f"the unit keys folder {folder} does not exist")
    clock, telemetry = root.clock, root.telemetry
    recipients = DirectoryRecipients(root.directory, Path(folder), clock)

    def delivered(delivery: Delivery) -> None:
        lag = (clock() - delivery.occurred_at).total_seconds() * 1000
        telemetry.relay_lag.record(max(lag, 0.0), {"backa.event_type": delivery.type_name})

    options.setdefault("tracer", telemetry.tracer)
    options.setdefault("on_delivered", delivered)
    if listen:
        options.setdefault("listener", commit_listener(root))
    options.setdefault("facts_for", ChildFactsCache(root, cached_children))
    positions = position_store(root, position_path)
    try:
        return JetStreamRelay(
            nats_url=url,
            read_log=log_reader(root, partition, upto=upto),
            recipients=recipients,
            clock=clock,
            rules=root.rules,
            positions=positions,
            stream=stream or StreamSettings(replicas=settings.nats_replicas),
            partition=partition,
            **options,
        )
    except BaseException:
        _close(positions)
        raise


def settings_partition(settings: Any) -> Partition:
    """The partition the settings name (``BACKA_RELAY_PARTITION`` of ``BACKA_RELAY_PARTITIONS``)."""
    try:
        return Partition(settings.relay_partition, settings.relay_partitions)
    except RelayPartitionError as e:
        raise RelayConfigError(str(e)) from None


def _close(positions: Any) -> None:
    close = getattr(positions, "close", None)
    if close is not None:
        close()


async def repartition(root: RelayRoot | Runtime, count: int, *, position_path: Path | None = None, **options: Any) -> RelayPosition:
    """Change how many relay partitions share the delivery, with every relay stopped.

    Every partition of the old count is first brought, in this process, to the log's end
    as it is now (``T``): what it had not delivered yet up to there it delivers, and what
    it had published without recording it the stream recognises by its message id. Then,
    in one transaction, the old positions are replaced by ``count`` new ones, all at
    ``T``. No child's facts are delivered out of order or twice: up to ``T`` each was
    delivered by its old owner, after ``T`` each is delivered by its new one. Returns the
    new partitions' position."""
    if isinstance(root, Runtime):
        root = RelayRoot.of(root)
    try:
        target = Partition(0, count)
    except RelayPartitionError as e:
        raise RelayConfigError(str(e)) from None
    store = position_store(root, position_path)
    try:
        stored = stored_partitions(store)
    finally:
        _close(store)
    counts = {p.count for p in stored} or {1}
    if len(counts) > 1:
        raise RelayConfigError(f"positions of {sorted(counts)} partition counts are stored; the store was changed by hand")
    (old,) = counts
    end = root.recorder.max_notification_id() or 0
    seqs = []
    for index in range(old):
        relay = build_relay(root, partition=Partition(index, old), upto=end, listen=False, position_path=position_path, **options)
        try:
            await relay.start()
            await relay.pump()
        finally:
            await relay.close()
            _close(relay.positions)
        seqs.append(relay.position.stream_seq)
        log.info("relay partition %d/%d brought to log position %d", index, old, end)
    new = RelayPosition(end, max(seqs, default=0))
    store = position_store(root, position_path)
    try:
        names = [n for n in store.names() if parse_position_name(n, store.sent_name) is not None]
        store.replace(names, {Partition(i, target.count).position_name(store.sent_name): new for i in range(count)})
    finally:
        _close(store)
    return new


__all__ = [
    "DEFAULT_CACHED_CHILDREN",
    "POSITION_FILE",
    "ChildFactsCache",
    "DirectoryRecipients",
    "RelayConfigError",
    "RelayRoot",
    "build_relay",
    "repartition",
    "settings_partition",
    "commit_listener",
    "facts_reader",
    "log_reader",
    "relay_root",
    "unit_keys",
]
