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


def read_log(recorder: Any, start: int = 1, batch: int = READ_BATCH) -> Iterator[LeafEntry]:
    """Every stored record from log position ``start`` on, in log order, as leaf entries."""
    while True:
        notifications = recorder.select_notifications(start, batch)
        if not notifications:
            return
        for n in notifications:
            yield LeafEntry.of_notification(n)
        start = notifications[-1].id + 1
