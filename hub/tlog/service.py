"""The tamper-evident log: a Merkle tree over every stored event, and signed checkpoints of it.

Every stored event is a leaf, in log order (RFC 9162 §2.1, see :mod:`hub.tlog.merkle`;
what a leaf commits to is in :mod:`hub.tlog.leaves`). The hub signs checkpoints (origin,
tree size, root) as C2SP signed notes with an Ed25519 key of its own
(:mod:`hub.tlog.checkpoint`, kept by :mod:`hub.tlog.store`); anyone who holds the verifier
key can check them, and an auditor who kept an earlier checkpoint can demand a proof that
the log only grew since. ``backa audit verify`` checks the stored log against what was
signed (:mod:`hub.tlog.verify`).

**One log for every cooperation area.** A hub serving several areas keeps one log, one
tree and one signing key: checkpoints and consistency proofs (sizes and hashes only) are
shared; inclusion proofs, which show a record's clear columns, are given only within the
asker's area (:mod:`hub.application.proofs`).

**When.** On demand (``backa audit checkpoint``; the API when no checkpoint yet holds a
position asked about) and by the :class:`CheckpointPolicy` checked after every commit
(every N facts or T seconds; the hub's settings make T a few seconds), and by a
background check (:meth:`TransparencyLog.start`) so the last facts before a pause are
signed too. Each checkpoint is handed to the witness, if there is one, with a
consistency proof from the witness's size (:mod:`hub.tlog.witness`); once the log has
signed checkpoints, a witness that holds none has lost its record, and nothing is signed
until ``backa audit witness adopt`` starts it again. The tree takes in the stored log in the
checkpoint thread when the hub starts (never on a command's path, which would wait for the
whole log on a first start) and then incrementally, like the views. The origin, also the key's name, is
``backa.<tenant>/log`` for a hub of one cooperation area and ``backa.hub/log`` otherwise;
it is fixed when the key is made.

"""

from __future__ import annotations

import logging
import threading
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hub.runtime.clock import Clock, system_clock
from hub.tlog.checkpoint import Checkpoint, VerifierKey, sign_checkpoint
from hub.tlog.errors import (
    CheckpointNotFoundError,
    LogIntegrityError,
    PositionNotFoundError,
    TransparencyError,
)
from hub.tlog.leaves import LeafEntry, read_log
from hub.tlog.merkle import MerkleLog
from hub.tlog.store import CheckpointStore, KeySource, SignedCheckpoint
from hub.tlog.verify import CachedAudit
from hub.tlog.witness import FileWitness, WitnessConflictError, WitnessLostError

log = logging.getLogger("backa.transparency")


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
        witness: FileWitness | None = None,
    ) -> None:
        self.recorder = recorder
        self.witness = witness
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
        self._ticker: threading.Thread | None = None
        self.audit = CachedAudit()
        """The auditors' page's incremental, cached check of the latest checkpoint."""
        self._stop = threading.Event()

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
                if added % 10_000 == 0 and self._stop.is_set():
                    break  # closing: what was added stays, the rest is read the next time
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

    def newest(self) -> SignedCheckpoint | None:
        """The larger of the data folder's latest checkpoint and the witness's newest: what
        the log is checked against, so a record rolled back with the log does not hide a cut."""
        mine, witnessed = self.store.latest(), self._witnessed()
        self._check_witness_kept(mine, witnessed)
        if witnessed is not None and (mine is None or witnessed.size > mine.size):
            return witnessed
        return mine

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
            witnessed = self._witnessed()
            self._check_witness_kept(latest, witnessed)
            if witnessed is not None and witnessed.size > self.size:
                self.catch_up()
            with self._entries_lock:
                self._check_extends(latest)
                self._check_extends(witnessed)
                self._unsigned = 0
                self._since = self.clock()
                if latest is not None and latest.size == self.size:
                    signed = latest
                else:
                    checkpoint = Checkpoint(signer.name, self.size, self.tree.root())
                    signed = self.store.accept(
                        sign_checkpoint(checkpoint, signer), signed_at=self._since, leaves=self.leaf_records
                    )
            # Still holding the record: another process that signs next must find this
            # checkpoint with the witness too, or it would take the witness for one that lost its record.
            self._send_to_witness(signed)
        return signed

    # -- the witness --

    def _witnessed(self) -> SignedCheckpoint | None:
        if self.witness is None:
            return None
        found = self.witness.latest(self.verifier())
        return found.checkpoint if found is not None else None

    def _check_witness_kept(self, mine: SignedCheckpoint | None, witnessed: SignedCheckpoint | None) -> None:
        """Refuse when the data folder's record holds checkpoints but the witness holds none:
        handing it one now would start it afresh from whatever the log says today."""
        if self.witness is not None and witnessed is None and mine is not None:
            raise WitnessLostError()

    def _send_to_witness(self, signed: SignedCheckpoint) -> None:
        """Hand ``signed`` to the witness with a consistency proof from the witness's size
        (tlog-witness add-checkpoint); on a conflict, once more from the size it names."""
        if self.witness is None:
            return
        found = self.witness.latest(self.verifier())
        old = found.size if found is not None else 0
        for _ in range(2):
            if old > signed.size:
                return  # another process already had a newer checkpoint witnessed
            with self._entries_lock:
                proof = self.tree.consistency_proof(old, signed.size)
            try:
                self.witness.add_checkpoint(signed.note, old, proof, self.verifier())
                return
            except WitnessConflictError as e:
                old = e.size
        raise LogIntegrityError("the witness kept moving while a checkpoint was handed to it")

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

    def start(self, period: float | None = None) -> None:
        """Check the policy every ``period`` seconds (default: a fifth of its interval, at
        most one second) even when no commit comes, so the last facts written before a
        pause are signed within the interval, not at the next write."""
        if self._ticker is not None:
            return
        try:  # said once at start, not only when the first checkpoint is due
            mine = self.store.latest()
            if mine is not None:  # nothing signed yet: nothing to lose, and the key is made on first use
                self._check_witness_kept(mine, self._witnessed())
        except TransparencyError as e:
            log.error("no checkpoint will be signed: %s", e.detail)
        every = period if period is not None else min(1.0, self.policy.every_seconds / 5)
        self._stop.clear()
        # Held until the tree has taken in the log as it stands (all of it on a first start):
        # meanwhile a commit counts its facts and leaves the signing to this thread, so the
        # first command after a start never waits for a read of the whole log.
        self._lock.acquire()

        def tick() -> None:
            try:
                self.catch_up()
            except Exception as e:  # noqa: BLE001 - tried again at the next checkpoint
                log.error("the tree could not take in the log: %s", type(e).__name__)
            finally:
                self._lock.release()
            while not self._stop.wait(every):
                self.after_commit(0)

        self._ticker = threading.Thread(target=tick, name="backa-checkpoints", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None

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
    key_file: Path | None = None,
    witness: FileWitness | None = None,
) -> TransparencyLog:
    """The log's tree and checkpoints; ``folder`` None keeps everything in memory.
    ``key_file`` is the signing key (default ``transparency.key`` in ``folder``)."""
    keys = KeySource(folder, default_origin(sorted(tenant_ids)), key_file=key_file)
    return TransparencyLog(recorder, CheckpointStore(folder, keys), policy=policy, witness=witness)


# --- opening the store without the hub --------------------------------------------------
