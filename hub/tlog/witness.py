"""A file witness: a record of the log's checkpoints that a writer of the log cannot rewrite.

**Why.** Checkpoints kept beside the log (``transparency.checkpoints`` in the data folder)
can be rolled back by whoever can rewrite the data folder: cut the log's tail, put back an
older record of checkpoints and leaf hashes, and everything left agrees with itself. A
witness keeps its own copy of every checkpoint it accepted, somewhere else, and only ever
moves forward, so the cut is caught by comparing the log with the newest witnessed one.

**Which witness.** A folder of its own (``BACKA_WITNESS_DIR``), meant to sit on another
volume or to be writable only by another account than the data folder (outside demo mode
the hub refuses one inside the data folder). No network is needed: the hub calls the
witness in-process after each checkpoint it signs. The folder holds::

    witness.key          the witness's own Ed25519 key (mode 0600, made on first use)
    witness.pub          its verifier key, for ``backa audit verify``
    log.pub              the log's verifier key, pinned the first time a checkpoint comes
    witness.checkpoints  append-only, one JSON line per cosigned checkpoint
    witness.lock         held while a checkpoint is added

**What it checks** (C2SP tlog-witness, https://c2sp.org/tlog-witness, "add-checkpoint"):
the request carries the size the submitter believes the witness is at (``old``), a
consistency proof from that size, and the signed checkpoint. The witness

1. verifies the log's signature with the pinned key and the origin (tlog-checkpoint);
2. answers a conflict (the spec's 409) naming its own latest size when ``old`` is not it;
3. refuses a checkpoint smaller than its latest (a rollback), or of the same size with
   another root (a fork);
4. verifies the consistency proof from its latest checkpoint to the new one (RFC 9162
   §2.1.4.2), refusing an inconsistent tree;
5. cosigns (C2SP tlog-cosignature, ``cosignature/v1``) and appends the cosigned note.

Every refusal leaves the record as it was.

**A lost record.** A witness that holds nothing would take the first checkpoint it is
handed as given, whatever came before. So once the log has signed checkpoints, a witness
found empty (its folder emptied or gone, a volume not mounted) is not started again by
the hub (:class:`WitnessLostError`); ``backa audit witness adopt`` does it, after the
whole log verifies.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hub.runtime.clock import Clock, system_clock
from hub.tlog.checkpoint import (
    KEY_ID_SIZE,
    NoteError,
    NoteSigner,
    Signature,
    VerifierKey,
    parse_signer_key,
    parse_verifier_key,
    split_note,
)
from hub.tlog.errors import LogIntegrityError, ReplayedCheckpointError, TransparencyError
from hub.tlog.merkle import verify_consistency
from hub.tlog.store import SignedCheckpoint, open_checkpoint

WITNESS_KEY_FILE = "witness.key"
WITNESS_PUB_FILE = "witness.pub"
LOG_PUB_FILE = "log.pub"
WITNESSED_FILE = "witness.checkpoints"
WITNESS_LOCK_FILE = "witness.lock"
WITNESS_NAME = "backa-witness"

COSIGNATURE_V1 = 0x04
"""The signature type of a timestamped Ed25519 cosignature (C2SP tlog-cosignature)."""


class WitnessConflictError(LogIntegrityError):
    """The submitter's idea of the witness's size is not the witness's (tlog-witness: 409 Conflict)."""

    title = "Witness conflict"

    def __init__(self, detail: str, size: int) -> None:
        super().__init__(detail)
        self.size = size


class WitnessConfigError(TransparencyError):
    """The witness folder cannot be used as configured."""

    title = "Witness configuration"


WITNESS_LOST = (
    "the witness has lost its record: the log has signed checkpoints but the witness holds none, so no "
    "checkpoint is signed or handed to it until an operator runs `backa audit witness adopt`"
)


class WitnessLostError(LogIntegrityError):
    """The log has signed checkpoints but the witness holds none: its folder was emptied,
    removed or not mounted. Starting it afresh would trust whatever checkpoint came first."""

    title = "Witness record lost"

    def __init__(self) -> None:
        super().__init__(WITNESS_LOST)


# --- cosignature/v1 (C2SP tlog-cosignature) -------------------------------------------


def cosignature_key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || 0x04 || public key)[:4] (tlog-cosignature, Format)."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([COSIGNATURE_V1]) + public_key).digest()[:KEY_ID_SIZE]


def _cosigned_message(body: str, timestamp: int) -> bytes:
    """``cosignature/v1``, ``time <seconds>``, then the checkpoint text (tlog-cosignature, Signed message)."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign(note: str, body: str, signer: NoteSigner, timestamp: int) -> str:
    """``note`` with the witness's cosignature line added."""
    raw = timestamp.to_bytes(8, "big") + signer.sign(_cosigned_message(body, timestamp))
    return note + Signature(signer.name, cosignature_key_id(signer.name, signer.public_key), raw).line()


def cosigned_at(note: str, body: str, witness: VerifierKey) -> int | None:
    """The time of ``witness``'s cosignature on ``note`` once it verifies; None when there is none that does."""
    try:
        _, signatures = split_note(note)
    except NoteError:
        return None
    kid = cosignature_key_id(witness.name, witness.public_key)
    for sig in signatures:
        if sig.name != witness.name or sig.key_id != kid or len(sig.signature) != 8 + 64:
            continue
        timestamp = int.from_bytes(sig.signature[:8], "big")
        if witness.verifies(_cosigned_message(body, timestamp), sig.signature[8:]):
            return timestamp
    return None


# --- the witness --------------------------------------------------------------------------


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint the witness cosigned: the log's signed checkpoint and the cosigned note."""

    checkpoint: SignedCheckpoint
    cosigned_note: str
    timestamp: int

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        return self.checkpoint.root_hash


def read_witnessed(folder: Path, log_key: VerifierKey, witness_key: VerifierKey) -> tuple[list[Witnessed], list[str]]:
    """Every line of the witness's record that verifies (the log's signature and the
    witness's cosignature), and a problem for each that does not or that goes back."""
    path = folder / WITNESSED_FILE
    if not path.exists():
        return [], []
    out: list[Witnessed] = []
    problems: list[str] = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            note = str(json.loads(raw)["note"])
            signed = open_checkpoint(note, log_key)
        except NoteError as e:
            problems.append(f"witnessed checkpoint {number} does not verify with the log's key: {e}")
            continue
        except (ValueError, KeyError, TypeError):
            problems.append(f"witnessed checkpoint {number} is not a checkpoint record")
            continue
        at = cosigned_at(note, signed.checkpoint.body(), witness_key)
        if at is None:
            problems.append(f"witnessed checkpoint {number} carries no valid cosignature of {witness_key.name}")
            continue
        if out and signed.size < out[-1].size:
            problems.append(f"witnessed checkpoint {number} (size {signed.size}) goes back from size {out[-1].size}")
            continue
        out.append(Witnessed(signed, note, at))
    return out, problems


def _last_line(path: Path, chunk: int = 4096) -> bytes | None:
    """The last complete line of ``path``, read from the end (a line still being written is
    not one), or None when it holds none."""
    if not path.exists():
        return None
    with path.open("rb") as f:
        pos = f.seek(0, os.SEEK_END)
        data = b""
        while pos > 0:
            step = min(chunk, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
            if data[: data.rfind(b"\n") + 1].count(b"\n") >= 2:
                break
    complete = data[: data.rfind(b"\n") + 1]
    if not complete:
        return None
    return complete[:-1].rsplit(b"\n", 1)[-1] or None


def read_witness_key(folder: Path) -> VerifierKey:
    """The witness's verifier key from its folder."""
    return parse_verifier_key((folder / WITNESS_PUB_FILE).read_text(encoding="ascii").strip())


def read_pinned_log_key(folder: Path) -> VerifierKey | None:
    """The log's key the witness pinned, or None before its first checkpoint."""
    path = folder / LOG_PUB_FILE
    return parse_verifier_key(path.read_text(encoding="ascii").strip()) if path.exists() else None


class FileWitness:
    """The witness over one folder; safe to share between threads and processes (it locks)."""

    def __init__(
        self, folder: Path, *, clock: Clock = system_clock, name: str = WITNESS_NAME, create: bool = True
    ) -> None:
        self.folder = folder
        self.clock = clock
        self.name = name
        self.create = create
        """Whether a missing folder is made (demo mode); otherwise it is refused, since a
        folder missing is more likely a volume not mounted than a witness not yet begun."""
        self._lock = threading.Lock()
        self._signer: NoteSigner | None = None

    # -- keys --

    def signer(self) -> NoteSigner:
        if self._signer is None:
            self._signer = self._load_or_create_key()
        return self._signer

    def verifier(self) -> VerifierKey:
        return self.signer().verifier()

    def _load_or_create_key(self) -> NoteSigner:
        path = self.folder / WITNESS_KEY_FILE
        if not path.exists():
            record = self.folder / WITNESSED_FILE
            if record.exists() and record.stat().st_size > 0:
                raise WitnessConfigError(f"{WITNESS_KEY_FILE} is missing although checkpoints were cosigned with it")
            self._folder()
            signer = NoteSigner.generate(self.name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(signer.encode() + "\n")
            (self.folder / WITNESS_PUB_FILE).write_text(signer.verifier().encode() + "\n", encoding="ascii")
        try:
            return parse_signer_key(path.read_text(encoding="ascii").strip())
        except (NoteError, UnicodeDecodeError):
            raise WitnessConfigError(f"the witness key in {WITNESS_KEY_FILE} cannot be read") from None

    def _folder(self) -> None:
        if self.create:
            self.folder.mkdir(parents=True, exist_ok=True)
        elif not self.folder.is_dir():
            raise WitnessConfigError(f"the witness folder ({self.folder}) does not exist: create or mount it")

    # -- reading --

    def latest(self, log_key: VerifierKey) -> Witnessed | None:
        """The newest checkpoint the witness cosigned: its record's last line, verified.

        Only the last line is read, so adding a checkpoint costs the same however many the
        witness holds; ``backa audit verify`` reads and verifies them all."""
        raw = _last_line(self.folder / WITNESSED_FILE)
        if raw is None:
            return None
        try:
            note = str(json.loads(raw)["note"])
            signed = open_checkpoint(note, log_key)
        except (NoteError, ValueError, KeyError, TypeError):
            raise LogIntegrityError("the witness's newest record is not a checkpoint of this log") from None
        at = cosigned_at(note, signed.checkpoint.body(), self.verifier())
        if at is None:
            raise LogIntegrityError("the witness's newest record does not carry its cosignature")
        return Witnessed(signed, note, at)

    # -- add-checkpoint --

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._lock:
            self._folder()
            fd = os.open(self.folder / WITNESS_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def _pin(self, log_key: VerifierKey) -> None:
        pinned = read_pinned_log_key(self.folder)
        if pinned is None:
            (self.folder / LOG_PUB_FILE).write_text(log_key.encode() + "\n", encoding="ascii")
        elif pinned != log_key:
            raise LogIntegrityError("the witness refuses a checkpoint signed with another key than the log's")

    def add_checkpoint(self, note: str, old_size: int, proof: Sequence[bytes], log_key: VerifierKey) -> Witnessed:
        """Check, cosign and keep ``note``; see the module's list for what is refused."""
        with self._exclusive():
            self._pin(log_key)
            try:
                signed = open_checkpoint(note, log_key)
            except NoteError as e:
                raise LogIntegrityError(f"the witness refuses the checkpoint: {e}") from None
            latest = self.latest(log_key)
            have = latest.size if latest is not None else 0
            if old_size != have:
                raise WitnessConflictError(f"the witness is at size {have}, not {old_size}", have)
            if latest is not None and signed.size < latest.size:
                raise ReplayedCheckpointError(
                    f"the witness refuses a rollback: size {signed.size} is older than its latest, of size {latest.size}"
                )
            if latest is not None:
                verdict = verify_consistency(latest.size, signed.size, proof, latest.root_hash, signed.root_hash)
                if not verdict.ok:
                    raise LogIntegrityError(
                        f"the witness refuses a tree inconsistent with its checkpoint of size {latest.size}: "
                        f"{verdict.clause}: {verdict.detail}"
                    )
                if signed.size == latest.size:
                    return latest
            timestamp = int(self.clock().timestamp())
            cosigned = cosign(note, signed.checkpoint.body(), self.signer(), timestamp)
            line = json.dumps({"note": cosigned}, separators=(",", ":")) + "\n"
            with (self.folder / WITNESSED_FILE).open("ab") as f:
                f.write(line.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            return Witnessed(signed, cosigned, timestamp)
