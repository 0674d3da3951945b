"""The relay split by child over several processes, each owning one partition of the children.

A child belongs to partition ``stable_hash(child id) mod N``. The log holds nothing but
children's records (every fact's record is its child's), so every fact belongs to exactly
one partition, read from the stored record id before the fact is opened: a partition
decodes, decides and seals only its own children's facts. Each partition reads the
whole log in order and keeps its own position in it, so a child's facts are delivered in
the child's order by the one process that owns the child, and a partition that stops
resumes from its own place without waiting for the others.

The message ids (``Nats-Msg-Id``, the event id and the unit) need no partition in them:
each fact is delivered by one partition only, so the ids never meet across partitions, and
after a re-partitioning the new owner of a child sends the same ids as the old one did.

The partitioning is stored with the positions: a position's name says which partition of
how many it is (``relay`` alone for one process, as before partitions existed). A relay
refuses to start when positions of another partition count are stored, rather than
deliver a child's facts out of order or twice. Changing the count is
:func:`hub.runtime.relay.repartition`'s (``backa relay --repartition N``, with every
relay stopped): it brings every old partition to the same log position, then replaces
their positions with the new partitions' at that position in one transaction.

Only one relay delivers for a partition at a time: it holds a lock on the partition's
position while it runs (an advisory lock on PostgreSQL, a file lock beside the SQLite
file), released however its process ends. A second relay started for the same partition
waits, retrying, and takes over from the stored position when the first is gone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from adapters.relay_store import RelayPosition

BASE_NAME = "relay"
MOST_PARTITIONS = 1024
"""As many as ``BACKA_RELAY_PARTITIONS`` allows: each partition is a process reading the
whole log, and a re-partitioning writes one position per partition in one transaction."""


class RelayPartitionError(Exception):
    """The partition asked for cannot run against the positions stored."""


class PartitionBusyError(RelayPartitionError):
    """Another relay delivers for the partition now: this one waits, as its standby."""


def partition_of(record_id: UUID | str, count: int) -> int:
    """The partition of a child: a hash of its id that is the same in every process and
    release (not Python's ``hash``), spread evenly whatever kind of UUID the id is."""
    if count == 1:
        return 0
    raw = record_id.bytes if isinstance(record_id, UUID) else UUID(str(record_id)).bytes
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big") % count


@dataclass(frozen=True)
class Partition:
    """Partition ``index`` of ``count`` (numbered from 0)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MOST_PARTITIONS:
            raise RelayPartitionError(f"{self.count} partitions: the count runs from 1 to {MOST_PARTITIONS}")
        if not 0 <= self.index < self.count:
            raise RelayPartitionError(f"no partition {self.index} of {self.count}: the index runs from 0 to the count less one")

    @classmethod
    def parse(cls, text: str) -> Partition:
        """``I/N``: partition ``I`` of ``N``."""
        found = re.fullmatch(r"\s*([0-9]{1,9})\s*/\s*([0-9]{1,9})\s*", text, re.ASCII)
        if not found:
            raise RelayPartitionError(f"a partition is written I/N, e.g. 0/2, not {text!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    def owns(self, record_id: UUID | str) -> bool:
        return self.count == 1 or partition_of(record_id, self.count) == self.index

    def position_name(self, base: str = BASE_NAME) -> str:
        """The name its position is stored under: ``relay`` for a single relay, else
        ``relay.<index>of<count>``."""
        return base if self.count == 1 else f"{base}.{self.index}of{self.count}"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_position_name(name: str, base: str = BASE_NAME) -> Partition | None:
    """The partition a stored position belongs to, or ``None`` for a name of no relay of ``base``."""
    if name == base:
        return Partition()
    found = re.fullmatch(re.escape(base) + r"\.(\d+)of(\d+)", name)
    if not found:
        return None
    try:
        return Partition(int(found.group(1)), int(found.group(2)))
    except RelayPartitionError:
        return None


class PartitionedPositions(Protocol):
    """What partitioning needs of a position store (:mod:`adapters.relay_store`)."""

    name: str
    sent_name: str

    def names(self) -> list[str]: ...

    def create(self, name: str) -> None: ...

    def load(self) -> RelayPosition: ...

    def replace(self, old: Iterable[str], new: Mapping[str, RelayPosition]) -> None: ...


def stored_partitions(store: PartitionedPositions) -> dict[Partition, RelayPosition]:
    """The relay partitions whose positions are stored, with their positions."""
    base = store.sent_name
    out: dict[Partition, RelayPosition] = {}
    keep = store.name
    try:
        for name in store.names():
            partition = parse_position_name(name, base)
            if partition is not None:
                store.name = name
                out[partition] = store.load()
    finally:
        store.name = keep
    return out


def refusal(partition: Partition, counts: Iterable[int]) -> str:
    others = sorted(set(counts))
    stored = " and ".join(str(c) for c in others)
    return (
        f"the relay's positions are stored for {stored} partition(s), not {partition.count}: stop every relay and run "
        f"`backa relay --repartition {partition.count}` first, or start the relays with --partition I/{others[0]}"
    )


def claim(store: PartitionedPositions, partition: Partition) -> RelayPosition:
    """Point the store at the partition's position and return it, refusing when positions of
    another partition count are stored. The partition's own position is stored first (at
    the start of the log when new) and the check made after, so two relays started at
    once with different counts both see the other and both refuse."""
    base = store.sent_name
    own = partition.position_name(base)
    names = store.names()
    if own not in names:
        _refuse_other_counts(partition, names, base)
        store.create(own)
        names = store.names()
    _refuse_other_counts(partition, names, base)
    store.name = own
    return store.load()


def _refuse_other_counts(partition: Partition, names: Iterable[str], base: str) -> None:
    counts = [p.count for n in names if (p := parse_position_name(n, base)) is not None and p.count != partition.count]
    if counts:
        raise RelayPartitionError(refusal(partition, counts))


__all__ = [
    "BASE_NAME",
    "PartitionBusyError",
    "Partition",
    "PartitionedPositions",
    "RelayPartitionError",
    "claim",
    "parse_position_name",
    "partition_of",
    "stored_partitions",
]
