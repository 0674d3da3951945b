"""The hub's signing key and its record of signed checkpoints and leaf hashes.

**Where checkpoints are kept.** The signing key is a file of its own (mode 0600):
outside demo mode it must lie outside the data folder (``BACKA_CHECKPOINT_KEY_FILE``, see
:mod:`hub.runtime.checkpoints`); in demo mode it is ``transparency.key`` in the data folder.
The data folder holds its verifier key (``transparency.pub``), the signed checkpoints as
JSON lines (``transparency.checkpoints``) and the leaf hashes up to the latest checkpoint
(``transparency.leaves``, 40 bytes per leaf: position and hash), apart from the database,
so one code path serves SQLite and PostgreSQL alike. Whoever can rewrite the data folder
as well as the database could roll this record back with the log; that is what the
witness (:mod:`hub.tlog.witness`), kept elsewhere, is for. The in-memory store keeps them
in memory.

**Replays.** The record of checkpoints only moves forward: a checkpoint smaller than the
latest known, or of the same size with another root, is refused, and so is a record that
shrank (an older copy put back) while the hub was running. The hub also refuses to sign
while its tree does not extend the latest checkpoint, so it never signs over a rewritten
history.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hub.tlog.checkpoint import (
    Checkpoint,
    NoteError,
    NoteSigner,
    VerifierKey,
    parse_signer_key,
    parse_verifier_key,
    verify_checkpoint,
)
from hub.tlog.errors import LogIntegrityError, ReplayedCheckpointError
from hub.tlog.merkle import HASH_SIZE

KEY_FILE = "transparency.key"
VERIFIER_FILE = "transparency.pub"
CHECKPOINTS_FILE = "transparency.checkpoints"
LEAVES_FILE = "transparency.leaves"
LOCK_FILE = "transparency.lock"
LEAF_RECORD = 8 + HASH_SIZE
"""Bytes per leaf in the leaf record: the uint64 position and the leaf hash."""


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

    def __init__(self, folder: Path | None, default_name: str, *, key_file: Path | None = None) -> None:
        self.folder = folder
        self.default_name = default_name
        self.key_file = key_file
        self._signer: NoteSigner | None = None
        self._lock = threading.Lock()

    @property
    def key_path(self) -> Path | None:
        if self.key_file is not None:
            return self.key_file
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
        record = (self.folder or path.parent) / CHECKPOINTS_FILE
        if not path.exists() and record.exists():
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
        # The verifier key is public: kept beside the checkpoints, for `backa audit verify`.
        public = (self.folder or path.parent) / VERIFIER_FILE
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
