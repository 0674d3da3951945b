"""The leaves of the tamper-evident log: what one stored record commits to.

**The leaf.** A leaf is built from the stored record exactly as the database holds it,
never from the decoded fact, so destroying a child's key (which leaves the ciphertext in
place, unreadable) changes no leaf, root or proof. The entry hashed into a leaf is::

    0x01                               format version
    uint64   position                  the notification id (the log position)
    uint16   len || originator id      UTF-8: the UUID as the store reads it (hyphenated, lower case)
    int64    originator version
    uint16   len || topic              UTF-8, as stored
    32 bytes SHA-256(state)            the stored state bytes, exactly

all big-endian; the leaf hash is SHA-256(0x00 || entry). The state enters as its SHA-256,
which commits to the exact bytes just as well, so a proof can show the entry's clear
columns (position, id, version, type) to someone who may not see the state: a family
checks that the leaf at a position is the access-log entry they were shown, by its id.


**Positions and leaves.** The API and the access log speak of *log positions*
(notification ids); the tree of *leaf indices* (0, 1, ...). They differ by one where the
store numbers without gaps; PostgreSQL may leave gaps, so the log keeps the position of
every leaf and each entry carries its own position, which also makes a reordering of rows
change the leaves it touches.

"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import DataError, InterfaceError, PersistenceError, ProgrammingError

from hub.tlog.errors import LogIntegrityError
from hub.tlog.merkle import leaf_hash

LEAF_FORMAT = 1
READ_BATCH = 1000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class LeafEntry:
    """The clear columns of one stored record and the hash of its state: what a leaf commits to."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state_sha256: bytes

    @classmethod
    def of(cls, position: int, originator_id: object, originator_version: int, topic: str | None, state: object) -> LeafEntry:
        if isinstance(state, str):  # a state rewritten as text in the database: its bytes, as UTF-8
            state = state.encode("utf-8", "surrogatepass")
        raw = bytes(state) if isinstance(state, bytes | bytearray | memoryview) else b""
        if topic is not None and not isinstance(topic, str):  # a type name rewritten as bytes or a number
            raise TypeError("a stored record's topic is text")
        return cls(int(position), str(originator_id), int(originator_version), topic or "", hashlib.sha256(raw).digest())

    @classmethod
    def of_notification(cls, n: Any) -> LeafEntry:
        """From an eventsourcing ``Notification``: id, originator, version, topic and state as stored."""
        return cls.of(n.id, n.originator_id, n.originator_version, n.topic, n.state)

    def encode(self) -> bytes:
        oid = self.originator_id.encode("utf-8")
        topic = self.topic.encode("utf-8")
        return b"".join(
            (
                bytes([LEAF_FORMAT]),
                self.position.to_bytes(8, "big"),
                len(oid).to_bytes(2, "big"),
                oid,
                self.originator_version.to_bytes(8, "big", signed=True),
                len(topic).to_bytes(2, "big"),
                topic,
                self.state_sha256,
            )
        )

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.encode())

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "originator_id": self.originator_id,
            "originator_version": self.originator_version,
            "topic": self.topic,
            "state_sha256": _b64(self.state_sha256),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LeafEntry:
        return cls(
            int(data["position"]),
            str(data["originator_id"]),
            int(data["originator_version"]),
            str(data["topic"]),
            base64.b64decode(data["state_sha256"]),
        )


UNREADABLE = (ValueError, TypeError, AttributeError, UnicodeError, LookupError)
"""What a row rewritten into other column types raises when read or hashed (a topic stored
as bytes, an originator id that is no UUID, a version that is no number)."""


class UnreadableRecordError(LogIntegrityError):
    """A stored row cannot be read as a record at all; ``position`` names it when it can be found."""

    def __init__(self, position: int | None, after: int) -> None:
        where = f"log position {position}" if position is not None else f"a record after log position {after}"
        super().__init__(f"{where} cannot be read as a record at all: it was altered")
        self.position = position
        self.after = after


def _entries(recorder: Any, start: int, limit: int, stop: int | None = None) -> list[LeafEntry]:
    """The rows from ``start`` as leaf entries; a row that cannot be read raises."""
    notifications = recorder.select_notifications(start, limit, stop=stop)
    return [LeafEntry.of_notification(n) for n in notifications]


def _readable(recorder: Any, start: int, stop: int) -> bool:
    try:
        _entries(recorder, start, stop - start + 1, stop=stop)
    except (*UNREADABLE, PersistenceError):
        return False
    return True


def locate_unreadable(recorder: Any, after: int) -> int | None:
    """The first position after ``after`` whose row cannot be read, found by halving the
    range ``after+1 .. max position`` (O(log n) reads of at most one batch); None when
    every row reads now, or the store cannot say how far the log goes (it is unreachable)."""
    try:
        highest = int(recorder.max_notification_id() or 0)
    except PersistenceError:
        return None
    lo, hi = after + 1, highest
    if hi < lo or _readable(recorder, lo, hi):
        return None
    while lo < hi:  # the first stop at which reading lo..stop fails
        mid = (lo + hi) // 2
        if _readable(recorder, after + 1, mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


def read_log(recorder: Any, start: int = 1, batch: int = READ_BATCH) -> Iterator[LeafEntry]:
    """Every stored record from log position ``start`` on, in log order, as leaf entries.

    A row that cannot be read (a column rewritten into another type) raises
    :class:`UnreadableRecordError` naming its position, not a store failure: the store
    answers, the row is what was altered. A store that does not answer raises as before.
    """
    after = start - 1
    while True:
        try:
            entries = _entries(recorder, after + 1, batch)
        except (*UNREADABLE, DataError, InterfaceError, ProgrammingError) as e:
            position = locate_unreadable(recorder, after)
            if position is None and isinstance(e, PersistenceError):
                raise
            raise UnreadableRecordError(position, after) from None
        if not entries:
            return
        yield from entries
        after = entries[-1].position
