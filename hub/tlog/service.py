"""The tamper-evident log: a Merkle tree over every stored event, and signed checkpoints of it.

Every stored event is a leaf, in log order (RFC 9162 §2.1, see :mod:`hub.tlog.merkle`). The hub
signs checkpoints (origin, tree size, root) as C2SP signed notes with an Ed25519 key of
its own (:mod:`hub.tlog.checkpoint`); anyone who holds the verifier key can check them, and an
auditor who kept an earlier checkpoint can demand a proof that the log only grew since.

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

**Where checkpoints are kept.** In the data folder, for every store: the signing key
(``transparency.key``, mode 0600), its verifier key (``transparency.pub``), the signed
checkpoints as JSON lines (``transparency.checkpoints``) and the leaf hashes up to the
latest checkpoint (``transparency.leaves``, 40 bytes per leaf: position and hash). Keeping
them beside the key and apart from the database means that whoever can rewrite the event
table cannot also roll back the record of what was signed, and one code path serves
SQLite and PostgreSQL alike. The in-memory store keeps them in memory.

**Naming the first difference.** ``backa audit verify`` recomputes the tree from the
database and compares it with the latest signed checkpoint. When they differ, the leaf
record names the first differing position: it is trusted only up to the largest signed
checkpoint whose root it reproduces (so altering it gains nothing), and
:meth:`hub.tlog.merkle.MerkleLog.first_difference` finds the first differing leaf in O(log n)
comparisons of subtree hashes. Storing the leaf hashes costs 40 bytes per fact; searching
with the checkpoints' roots alone could only narrow a difference down to the stretch
between two checkpoints, never to one position.

**When.** On demand (``backa audit checkpoint``; the API when no checkpoint yet holds a
position asked about) and by the :class:`CheckpointPolicy` checked after every commit
(every N facts or T seconds). The tree is caught up from the store when first needed and
then incrementally, like the views. The origin, also the key's name, is
``backa.<tenant>/log`` for a hub of one cooperation area and ``backa.hub/log`` otherwise;
it is fixed when the key is made.

**Replays.** The record of checkpoints only moves forward: a checkpoint smaller than the
latest known, or of the same size with another root, is refused, and so is a record that
shrank (an older copy put back) while the hub was running. The hub also refuses to sign
while its tree does not extend the latest checkpoint, so it never signs over a rewritten
history.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import threading
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hub.tlog.checkpoint import (
    Checkpoint,
    NoteError,
    NoteSigner,
    VerifierKey,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    verify_checkpoint,
)
from hub.runtime.clock import Clock, system_clock
from hub.errors import HubError
from hub.tlog.merkle import HASH_SIZE, MerkleLog, leaf_hash, verify_consistency

log = logging.getLogger("backa.transparency")

LEAF_FORMAT = 1
KEY_FILE = "transparency.key"
VERIFIER_FILE = "transparency.pub"
CHECKPOINTS_FILE = "transparency.checkpoints"
LEAVES_FILE = "transparency.leaves"
LOCK_FILE = "transparency.lock"
LEAF_RECORD = 8 + HASH_SIZE
"""Bytes per leaf in the leaf record: the uint64 position and the leaf hash."""
READ_BATCH = 1000


# --- errors -----------------------------------------------------------------------------


class TransparencyError(HubError):
    """A refusal of the tamper-evident log. Messages name sizes and positions, never data."""

    title = "Transparency log"


class LogIntegrityError(TransparencyError):
    """The log, or the record of what was signed, no longer matches a signed checkpoint."""

    title = "Log integrity"


class ReplayedCheckpointError(LogIntegrityError):
    """A checkpoint older than the latest known one was offered or found."""

    title = "Replayed checkpoint"


class CheckpointNotFoundError(TransparencyError):
    title = "No such checkpoint"


class PositionNotFoundError(TransparencyError):
    title = "No such log position"


# --- leaves -----------------------------------------------------------------------------


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


# --- signed checkpoints -----------------------------------------------------------------


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint with the signed note it came in; ``signed_at`` is local bookkeeping, not signed."""

    note: str
    checkpoint: Checkpoint
    signed_at: datetime | None = None

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        return self.checkpoint.root_hash

    def line(self) -> str:
        record = {"note": self.note, "signed_at": self.signed_at.isoformat() if self.signed_at else None}
        return json.dumps(record, separators=(",", ":")) + "\n"


def open_checkpoint(note: str, key: VerifierKey, signed_at: datetime | None = None) -> SignedCheckpoint:
    """The checkpoint in ``note`` once ``key``'s signature on it verifies; the origin is the key's name."""
    return SignedCheckpoint(note, verify_checkpoint(note, key, key.name), signed_at)


class KeySource:
    """The hub's note signing key: a file in the data folder (mode 0600) made on first use,
    or, with no folder, a key that lives as long as the process."""

    def __init__(self, folder: Path | None, default_name: str) -> None:
        self.folder = folder
        self.default_name = default_name
        self._signer: NoteSigner | None = None
        self._lock = threading.Lock()

    @property
    def key_path(self) -> Path | None:
        return self.folder / KEY_FILE if self.folder else None

    def exists(self) -> bool:
        return self._signer is not None or (self.key_path is not None and self.key_path.exists())

    def signer(self) -> NoteSigner:
        with self._lock:
            if self._signer is None:
                self._signer = self._load_or_create()
            return self._signer

    def verifier(self) -> VerifierKey:
        return self.signer().verifier()

    def _load_or_create(self) -> NoteSigner:
        path = self.key_path
        if path is None:
            return NoteSigner.generate(self.default_name)
        if not path.exists() and (path.with_name(CHECKPOINTS_FILE)).exists():
            raise LogIntegrityError(f"{KEY_FILE} is missing although checkpoints were signed with it")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            signer = NoteSigner.generate(self.default_name)
            # Written in full under another name, then linked into place: a second process
            # starting at the same moment either wins the link or reads the finished file.
            temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(signer.encode() + "\n")
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(temp, path)
            except FileExistsError:
                pass
            finally:
                temp.unlink()
        try:
            signer = parse_signer_key(path.read_text(encoding="ascii").strip())
        except (NoteError, UnicodeDecodeError):
            raise LogIntegrityError(f"the signing key in {KEY_FILE} cannot be read") from None
        public = path.with_name(VERIFIER_FILE)
        if not public.exists() or public.read_text(encoding="ascii").strip() != signer.verifier().encode():
            public.write_text(signer.verifier().encode() + "\n", encoding="ascii")
        return signer


def read_verifier_key(folder: Path) -> VerifierKey:
    """The verifier key in a data folder: ``transparency.pub``, or derived from the signing key."""
    public = folder / VERIFIER_FILE
    if public.exists():
        return parse_verifier_key(public.read_text(encoding="ascii").strip())
    private = folder / KEY_FILE
    if private.exists():
        return parse_signer_key(private.read_text(encoding="ascii").strip()).verifier()
    raise FileNotFoundError(f"no {VERIFIER_FILE} or {KEY_FILE} in the data folder")


def read_verifier_arg(text: str) -> VerifierKey:
    """A verifier key given on the command line: the key itself or a file that holds it."""
    path = Path(text)
    if path.exists():
        text = path.read_text(encoding="ascii").strip()
    return parse_verifier_key(text.strip())


class CheckpointStore:
    """The record of signed checkpoints; only moves forward.

    With a folder, the record is ``transparency.checkpoints`` (one JSON line per
    checkpoint, each note verified when read) and ``transparency.leaves`` (the leaf hashes
    up to the latest checkpoint); writers take ``transparency.lock`` so a ``backa audit
    checkpoint`` beside a running hub appends safely. Without a folder it is kept in memory.
    """

    def __init__(self, folder: Path | None, keys: KeySource) -> None:
        self.folder = folder
        self.keys = keys
        self._checkpoints: list[SignedCheckpoint] = []
        self._by_size: dict[int, SignedCheckpoint] = {}
        self._highest: SignedCheckpoint | None = None
        self._offset = 0
        self._lines = 0
        self._lock = threading.RLock()
        self._held = False

    # -- reading --

    def latest(self) -> SignedCheckpoint | None:
        with self._lock:
            self.refresh()
            return self._checkpoints[-1] if self._checkpoints else None

    def get(self, size: int) -> SignedCheckpoint | None:
        with self._lock:
            self.refresh()
            return self._by_size.get(size)

    def refresh(self) -> None:
        """Read what other processes appended; refuse a record that shrank or went back."""
        if self.folder is None:
            return
        with self._lock:
            path = self.folder / CHECKPOINTS_FILE
            if not path.exists():
                if self._offset:
                    raise LogIntegrityError(f"{CHECKPOINTS_FILE} is gone although checkpoints were signed")
                return
            with path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                end = f.tell()
                if end < self._offset:
                    raise ReplayedCheckpointError(
                        f"{CHECKPOINTS_FILE} is shorter than before: an older copy was put back or it was cut"
                    )
                if end == self._offset:
                    return
                f.seek(self._offset)
                data = f.read(end - self._offset)
            complete = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
            if not complete:
                return
            for raw in complete.splitlines(keepends=True):
                number = self._lines + 1
                self._remember(self._parse_line(raw, number), f"line {number} of {CHECKPOINTS_FILE}")
                self._offset += len(raw)  # past a line only once it was taken in: a refused one stays refused
                self._lines = number

    def _parse_line(self, raw: bytes, number: int) -> SignedCheckpoint:
        try:
            record = json.loads(raw)
            signed_at = datetime.fromisoformat(record["signed_at"]) if record.get("signed_at") else None
            return open_checkpoint(str(record["note"]), self.keys.verifier(), signed_at)
        except NoteError as e:
            raise LogIntegrityError(f"line {number} of {CHECKPOINTS_FILE} does not verify: {e}") from None
        except (ValueError, KeyError, TypeError):
            raise LogIntegrityError(f"line {number} of {CHECKPOINTS_FILE} is not a checkpoint record") from None

    def _admit(self, signed: SignedCheckpoint, where: str) -> bool:
        """The replay rule; True when ``signed`` is new, False when it repeats the latest."""
        latest = self._highest
        if latest is None:
            return True
        if signed.size < latest.size:
            raise ReplayedCheckpointError(
                f"{where}: a checkpoint of size {signed.size} is older than the latest known, of size {latest.size}"
            )
        if signed.size == latest.size:
            if signed.root_hash != latest.root_hash:
                raise LogIntegrityError(f"{where}: two checkpoints of size {signed.size} with different roots")
            return False
        return True

    def _remember(self, signed: SignedCheckpoint, where: str) -> None:
        if self._admit(signed, where):
            self._checkpoints.append(signed)
            self._by_size[signed.size] = signed
            self._highest = signed

    # -- writing --

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the record for writing, against this process's threads and other processes."""
        with self._lock:
            if self.folder is None or self._held:
                yield
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._held = True
                yield
            finally:
                self._held = False
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def accept(
        self,
        note: str,
        *,
        signed_at: datetime | None = None,
        leaves: Callable[[int, int], Sequence[tuple[int, bytes]]] | None = None,
    ) -> SignedCheckpoint:
        """Record a checkpoint signed by the log's key, refusing one older than the latest known.

        ``leaves(start, end)`` gives (position, leaf hash) of those leaves; with it the leaf
        record is brought up to the new checkpoint. Repeating the latest checkpoint is a no-op.
        """
        try:
            signed = open_checkpoint(note, self.keys.verifier(), signed_at)
        except NoteError as e:
            raise LogIntegrityError(f"the checkpoint is refused: {e}") from None
        with self.exclusive():
            self.refresh()
            if not self._admit(signed, "the checkpoint is refused"):
                return self._checkpoints[-1]
            if self.folder is not None:
                if leaves is not None:
                    self._write_leaves(signed.size, leaves)
                with (self.folder / CHECKPOINTS_FILE).open("ab") as f:
                    line = signed.line().encode("utf-8")
                    f.write(line)
                    f.flush()
                    os.fsync(f.fileno())
                self._offset += len(line)
                self._lines += 1
            self._remember(signed, "the checkpoint is refused")
            return signed

    def _write_leaves(self, size: int, leaves: Callable[[int, int], Sequence[tuple[int, bytes]]]) -> None:
        if self.folder is None:
            return
        path = self.folder / LEAVES_FILE
        previous = self._highest.size if self._highest else 0
        held = path.stat().st_size if path.exists() else 0
        if held == previous * LEAF_RECORD:
            start, mode = previous, "ab"
        else:  # missing, cut short or longer than the last checkpoint: write it whole
            start, mode = 0, "wb"
        with path.open(mode) as f:
            for lo in range(start, size, 10_000):
                f.write(b"".join(p.to_bytes(8, "big") + h for p, h in leaves(lo, min(size, lo + 10_000))))
            f.flush()
            os.fsync(f.fileno())



def read_leaf_record(folder: Path) -> tuple[list[int], list[bytes]]:
    """The positions and leaf hashes written beside the checkpoints (untrusted until a signed root matches)."""
    path = folder / LEAVES_FILE
    if not path.exists():
        return [], []
    data = path.read_bytes()
    count = len(data) // LEAF_RECORD
    positions = [int.from_bytes(data[i * LEAF_RECORD : i * LEAF_RECORD + 8], "big") for i in range(count)]
    hashes = [data[i * LEAF_RECORD + 8 : (i + 1) * LEAF_RECORD] for i in range(count)]
    return positions, hashes


# --- the log --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointPolicy:
    """When the hub signs by itself: after ``every_facts`` new facts, or at the first commit
    ``every_seconds`` after the last checkpoint, whichever comes first.

    Signing is an operational matter, so ``clock`` is the wall clock by default and not the
    hub's: a demo load that moves the hub's clock by days between commits would otherwise
    sign at nearly every commit. Tests pass a clock they move.
    """

    every_facts: int = 1000
    every_seconds: float = 600.0
    clock: Clock = system_clock

    def __post_init__(self) -> None:
        if self.every_facts < 1 or self.every_seconds <= 0:
            raise ValueError("a checkpoint policy needs a positive number of facts and of seconds")


@dataclass(frozen=True)
class InclusionProof:
    position: int
    leaf_index: int
    entry: LeafEntry
    leaf_hash: bytes
    audit_path: list[bytes]
    checkpoint: SignedCheckpoint


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    proof: list[bytes]
    checkpoint: SignedCheckpoint


class TransparencyLog:
    """The Merkle tree over the hub's log, kept in memory and caught up from the store,
    with the checkpoints signed over it."""

    def __init__(
        self,
        recorder: Any,
        store: CheckpointStore,
        *,
        policy: CheckpointPolicy | None = None,
    ) -> None:
        self.recorder = recorder
        self.store = store
        self.keys = store.keys
        self.policy = policy or CheckpointPolicy()
        self.clock = self.policy.clock
        self.tree = MerkleLog()
        self._positions = array("q")
        self._entries_lock = threading.RLock()
        """Guards the tree; never held while taking the signing lock or the store's."""
        self._lock = threading.Lock()
        self._unsigned = 0
        self._since: datetime | None = None

    # -- the tree --

    @property
    def size(self) -> int:
        return self.tree.size

    def catch_up(self) -> int:
        """Add every record stored since the last one seen; returns how many."""
        with self._entries_lock:
            start = self._positions[-1] + 1 if self._positions else 1
            added = 0
            for entry in read_log(self.recorder, start):
                self.tree.append(entry.leaf_hash())
                self._positions.append(entry.position)
                added += 1
            return added

    def leaf_index(self, position: int) -> int:
        """The leaf of a log position; refuses a position the log does not hold."""
        self.catch_up()
        with self._entries_lock:
            i = bisect_left(self._positions, position)
            if i == len(self._positions) or self._positions[i] != position:
                raise PositionNotFoundError("the log holds no fact at this position", field="position")
            return i

    def leaf_records(self, start: int, end: int) -> list[tuple[int, bytes]]:
        with self._entries_lock:
            return [(self._positions[i], self.tree.leaf_hash(i)) for i in range(start, end)]

    def entry(self, position: int) -> LeafEntry:
        """The stored record at ``position`` as a leaf entry, read from the store now."""
        found = self.recorder.select_notifications(position, 1, stop=position)
        if not found or found[0].id != position:
            raise PositionNotFoundError("the log holds no fact at this position", field="position")
        return LeafEntry.of_notification(found[0])

    # -- checkpoints --

    @property
    def origin(self) -> str:
        return self.keys.signer().name

    def verifier(self) -> VerifierKey:
        return self.keys.verifier()

    def latest(self) -> SignedCheckpoint | None:
        return self.store.latest()

    def checkpoint(self, size: int | None = None, *, field: str = "size") -> SignedCheckpoint:
        """The checkpoint of ``size``, or the latest (signing one if none was signed yet)."""
        if size is None:
            return self.store.latest() or self.checkpoint_now()
        found = self.store.get(size)
        if found is None:
            raise CheckpointNotFoundError("no checkpoint of this size was signed", field=field)
        return found

    def checkpoint_now(self) -> SignedCheckpoint:
        """Sign the log as it stands now (or give the latest checkpoint if nothing was added)."""
        with self._lock:
            return self._sign()

    def _sign(self) -> SignedCheckpoint:
        self.catch_up()
        signer = self.keys.signer()
        with self.store.exclusive():
            latest = self.store.latest()
            if latest is not None and latest.size > self.size:
                self.catch_up()  # another process signed after this one caught up
            with self._entries_lock:
                self._check_extends(latest)
                self._unsigned = 0
                self._since = self.clock()
                if latest is not None and latest.size == self.size:
                    return latest
                checkpoint = Checkpoint(signer.name, self.size, self.tree.root())
            return self.store.accept(sign_checkpoint(checkpoint, signer), signed_at=self._since, leaves=self.leaf_records)

    def _check_extends(self, latest: SignedCheckpoint | None) -> None:
        """Refuse unless the tree (as this process took it in) extends ``latest``."""
        if latest is None:
            return
        if latest.size > self.size:
            raise LogIntegrityError(
                f"the log holds {self.size} facts but a checkpoint of {latest.size} was signed: "
                "facts were removed; nothing is signed or proven until `backa audit verify` is run"
            )
        if self.tree.root(latest.size) != latest.root_hash:
            raise LogIntegrityError(
                f"the log no longer matches the checkpoint of size {latest.size}: "
                "stored facts were changed; nothing is signed or proven until `backa audit verify` is run"
            )

    def covering(self, leaf_index: int) -> SignedCheckpoint:
        """The latest checkpoint if it holds the leaf, else one signed now."""
        latest = self.store.latest()
        if latest is not None and latest.size > leaf_index:
            return latest
        return self.checkpoint_now()

    # -- proofs --

    def inclusion(self, position: int, tree_size: int | None = None) -> InclusionProof:
        """The audit path of the fact at ``position`` to a signed checkpoint (RFC 9162 §2.1.3)."""
        index = self.leaf_index(position)
        if tree_size is None:
            signed = self.covering(index)
        else:
            signed = self.checkpoint(tree_size, field="tree_size")
            if signed.size <= index:
                raise CheckpointNotFoundError(
                    "the checkpoint of this size does not hold the position", field="tree_size"
                )
        entry = self.entry(position)
        with self._entries_lock:
            leaf = self.tree.leaf_hash(index)
            if entry.leaf_hash() != leaf:
                raise LogIntegrityError(
                    f"the stored fact at log position {position} is not the one the log took in; "
                    "nothing is proven until `backa audit verify` is run"
                )
            self._check_extends(signed)
            path = self.tree.inclusion_proof(index, signed.size)
        return InclusionProof(position, index, entry, leaf, path, signed)

    def consistency(self, first: int, second: int | None = None) -> ConsistencyProof:
        """PROOF(first, D[second]) (RFC 9162 §2.1.4) to the signed checkpoint of size ``second``
        (the latest by default)."""
        self.catch_up()
        signed = self.checkpoint(second, field="second")
        if first > signed.size:
            raise TransparencyError("the first size must not be larger than the second", field="first")
        with self._entries_lock:
            self._check_extends(signed)
            proof = self.tree.consistency_proof(first, signed.size)
        return ConsistencyProof(first, signed.size, proof, signed)

    # -- signing at an interval --

    def observing(self, save: Callable[..., Any]) -> Callable[..., Any]:
        """``save`` followed by the policy's check, for the hub's group commit."""

        def save_then_check(*facts: Any, **kwargs: Any) -> Any:
            recordings = save(*facts, **kwargs)
            self.after_commit(len(recordings) if recordings is not None else len(facts))
            return recordings

        return save_then_check

    def due(self) -> bool:
        """Whether the policy asks for a checkpoint now."""
        if self._unsigned >= self.policy.every_facts:
            return True
        if self._unsigned == 0:
            return False
        if self._since is None:
            latest = self.store.latest()
            self._since = latest.signed_at if latest is not None and latest.signed_at else self.clock()
        return self.clock() - self._since >= timedelta(seconds=self.policy.every_seconds)

    def after_commit(self, facts: int) -> None:
        """Count committed facts and sign when the policy says so. Never raises: a fact is
        committed whether or not a checkpoint follows, and the next interval tries again."""
        self._unsigned += facts
        if not self._lock.acquire(blocking=False):
            return  # a checkpoint is being signed right now
        try:
            if self.due():
                self._sign()
        except TransparencyError as e:
            self._unsigned, self._since = 0, self.clock()
            log.error("no checkpoint signed: %s", e.detail)
        except Exception as e:  # noqa: BLE001 - the commit stands; the failure is reported
            self._unsigned, self._since = 0, self.clock()
            log.error("no checkpoint signed: %s", type(e).__name__)
        finally:
            self._lock.release()


def default_origin(tenant_ids: Sequence[str]) -> str:
    """``backa.<tenant>/log`` for a hub of one cooperation area, ``backa.hub/log`` otherwise."""
    name = tenant_ids[0] if len(tenant_ids) == 1 else "hub"
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "-" for ch in name) or "hub"
    return f"backa.{safe}/log"


def build_transparency(
    recorder: Any,
    folder: Path | None,
    *,
    tenant_ids: Sequence[str] = (),
    policy: CheckpointPolicy | None = None,
) -> TransparencyLog:
    """The log's tree and checkpoints; ``folder`` None keeps everything in memory."""
    keys = KeySource(folder, default_origin(sorted(tenant_ids)))
    return TransparencyLog(recorder, CheckpointStore(folder, keys), policy=policy)


# --- opening the store without the hub --------------------------------------------------


@contextmanager
def open_log_recorder(settings: Any) -> Iterator[Any]:
    """The event store's recorder alone, for reading the log as stored (``backa audit``)."""
    from eventsourcing.persistence import InfrastructureFactory
    from eventsourcing.utils import Environment

    from hub.runtime.bootstrap import PostgresConfig, store_kind

    kind = store_kind(settings)
    if kind == "memory":
        raise TransparencyError("the memory store keeps no log between runs; there is nothing to audit")
    if kind == "postgres":
        if not settings.database_url:
            raise TransparencyError("the postgres store needs BACKA_DATABASE_URL")
        env = PostgresConfig.from_url(settings.database_url).log_env()
    else:
        path = settings.data_dir / "events.sqlite"
        if not path.exists():
            raise TransparencyError(f"no log in {settings.data_dir}: events.sqlite is missing")
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path), "SQLITE_LOCK_TIMEOUT": "30"}
    env["CREATE_TABLE"] = "n"
    factory = InfrastructureFactory.construct(Environment("backa", env))
    try:
        yield factory.application_recorder()
    finally:
        factory.close()


# --- auditing the stored log against what was signed -----------------------------------


@dataclass
class AuditReport:
    """What ``backa audit verify`` found: what holds, what does not, and where it first broke."""

    holds: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    first_bad_position: int | None = None
    first_bad_leaf: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _stored_checkpoints(folder: Path, key: VerifierKey, report: AuditReport) -> list[SignedCheckpoint]:
    """Every checkpoint line that verifies, in order; lines that do not, and replays, are problems."""
    path = folder / CHECKPOINTS_FILE
    if not path.exists():
        return []
    out: list[SignedCheckpoint] = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            record = json.loads(raw)
            signed = open_checkpoint(str(record["note"]), key)
        except NoteError as e:
            report.problems.append(f"checkpoint {number} in {CHECKPOINTS_FILE} does not verify: {e}")
            continue
        except (ValueError, KeyError, TypeError):
            report.problems.append(f"checkpoint {number} in {CHECKPOINTS_FILE} is not a checkpoint record")
            continue
        if out and signed.size < out[-1].size:
            report.problems.append(
                f"checkpoint {number} in {CHECKPOINTS_FILE} (size {signed.size}) is older than the one before it "
                f"(size {out[-1].size}): a replayed checkpoint"
            )
            continue
        if out and signed.size == out[-1].size and signed.root_hash != out[-1].root_hash:
            report.problems.append(f"checkpoints of size {signed.size} with different roots: the log was forked")
            continue
        out.append(signed)
    return out


def _name_difference(
    report: AuditReport,
    db: MerkleLog,
    db_positions: Sequence[int],
    checkpoints: Sequence[SignedCheckpoint],
    leaf_positions: Sequence[int],
    leaf_hashes: Sequence[bytes],
    broken: SignedCheckpoint,
) -> None:
    """Name the first leaf where the stored log leaves what ``broken`` signed."""
    reference = MerkleLog(leaf_hashes)
    trusted = next(
        (c for c in sorted(checkpoints, key=lambda c: -c.size) if c.size <= reference.size and reference.root(c.size) == c.root_hash),
        None,
    )
    if trusted is None:
        report.problems.append(
            f"the leaf record ({LEAVES_FILE}) matches no signed checkpoint, so the first differing position "
            "cannot be named; compare the database with a backup"
        )
        return
    prefix = MerkleLog(reference.leaf_hashes()[: trusted.size])
    index = db.first_difference(prefix)
    if index is None or index >= trusted.size:  # the stored log holds the trusted prefix intact
        if broken.size > trusted.size and db.size >= trusted.size:
            report.problems.append(
                f"the difference lies after leaf {trusted.size - 1}, beyond what the leaf record can show "
                f"(it is trusted up to the checkpoint of size {trusted.size})"
            )
        return
    signed_position = leaf_positions[index]
    report.first_bad_leaf = index
    report.first_bad_position = signed_position
    if index >= db.size:
        report.problems.append(
            f"first difference at log position {signed_position} (leaf {index}): the log ends there; "
            f"{trusted.size - db.size} signed facts from there on are missing"
        )
    elif db_positions[index] != signed_position:
        report.problems.append(
            f"first difference at log position {signed_position} (leaf {index}): the database now has log position "
            f"{db_positions[index]} there; the fact signed there was removed or moved"
        )
    else:
        report.problems.append(
            f"first difference at log position {signed_position} (leaf {index}): the stored fact there is not "
            "the one that was signed"
        )


def audit(
    recorder: Any,
    folder: Path,
    key: VerifierKey,
    kept: Sequence[tuple[str, str]] = (),
) -> AuditReport:
    """Recompute the tree from the stored log and check it against every signed checkpoint.

    ``kept`` are (name, note) of checkpoints an auditor kept; each must verify with ``key``
    and be consistent with the hub's latest checkpoint (RFC 9162 §2.1.4), and none may be
    newer than it (which would mean the hub's record of checkpoints was rolled back).
    """
    report = AuditReport()
    positions: list[int] = []
    db = MerkleLog()
    try:
        for entry in read_log(recorder):
            db.append(entry.leaf_hash())
            positions.append(entry.position)
    except (ValueError, TypeError, UnicodeError):  # a column rewritten into something the store cannot read
        after = positions[-1] if positions else 0
        report.problems.append(
            f"a stored record after log position {after} cannot be read as a record at all: it was altered"
        )
        report.first_bad_leaf = len(positions)
        return report
    report.holds.append(f"the log holds {db.size} facts; their tree's root is {_b64(db.root())}")

    stored = _stored_checkpoints(folder, key, report)
    leaf_positions, leaf_hashes = read_leaf_record(folder)
    latest = stored[-1] if stored else None
    if latest is None:
        report.problems.append(f"no signed checkpoint in {folder / CHECKPOINTS_FILE} to check the log against")
    else:
        # The latest first, then every earlier one: each must be a prefix of the stored log.
        for signed in [latest, *reversed(stored[:-1])]:
            if signed.size > db.size:
                report.problems.append(
                    f"the log was cut short: it holds {db.size} facts, the checkpoint of size {signed.size} signed more"
                )
            elif db.root(signed.size) != signed.root_hash:
                report.problems.append(
                    f"the log does not match the checkpoint of size {signed.size}: its first {signed.size} facts "
                    "hash to another root"
                )
            else:
                continue
            _name_difference(report, db, positions, stored, leaf_positions, leaf_hashes, signed)
            break
        else:
            n = len(stored) - 1
            earlier = f" and all {n} earlier ones" if n > 1 else " and the one before it" if n == 1 else ""
            report.holds.append(
                f"the log matches the latest signed checkpoint (size {latest.size}, key {key.name}+{key.key_id.hex()})"
                f"{earlier}"
            )

    for name, note in kept:
        try:
            mine = open_checkpoint(note, key)
        except NoteError as e:
            report.problems.append(f"kept checkpoint {name} is refused: {e}")
            continue
        if latest is None:
            continue
        if mine.size > latest.size:
            report.problems.append(
                f"kept checkpoint {name} (size {mine.size}) is newer than the hub's latest (size {latest.size}): "
                "the hub's record of checkpoints was rolled back"
            )
            if mine.size <= db.size and db.root(mine.size) != mine.root_hash:
                report.problems.append(f"kept checkpoint {name} does not match the stored log")
            continue
        source = db if latest.size <= db.size and db.root(latest.size) == latest.root_hash else MerkleLog(leaf_hashes)
        if source.size < latest.size or source.root(latest.size) != latest.root_hash:
            report.problems.append(f"kept checkpoint {name}: no intact copy of the log to prove consistency from")
            continue
        proof = source.consistency_proof(mine.size, latest.size)
        verdict = verify_consistency(mine.size, latest.size, proof, mine.root_hash, latest.root_hash)
        if verdict.ok:
            report.holds.append(
                f"kept checkpoint {name} (size {mine.size}) is consistent with the latest (size {latest.size}); "
                f"the proof has {len(proof)} hashes"
            )
        else:
            report.problems.append(
                f"kept checkpoint {name} (size {mine.size}) is not consistent with the latest (size {latest.size}): "
                f"{verdict.clause}: {verdict.detail}"
            )
    return report
