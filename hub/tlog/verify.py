"""Auditing the stored log against what was signed (``backa audit verify``, the auditors' page).

**Naming the first difference.** ``backa audit verify`` recomputes the tree from the
database and compares it with the latest signed checkpoint. When they differ, the leaf
record names the first differing position: it is trusted only up to the largest signed
checkpoint whose root it reproduces (so altering it gains nothing), and
:meth:`hub.tlog.merkle.MerkleLog.first_difference` finds the first differing leaf in O(log n)
comparisons of subtree hashes. Storing the leaf hashes costs 40 bytes per fact; searching
with the checkpoints' roots alone could only narrow a difference down to the stretch
between two checkpoints, never to one position.

"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from hub.tlog.checkpoint import NoteError, VerifierKey
from hub.tlog.leaves import READ_BATCH, UnreadableRecordError, read_log
from hub.tlog.merkle import Frontier, MerkleLog, verify_consistency
from hub.tlog.store import (
    CHECKPOINTS_FILE,
    LEAVES_FILE,
    SignedCheckpoint,
    open_checkpoint,
    read_leaf_record,
)
from hub.tlog.witness import WITNESS_LOST, WITNESSED_FILE, Witnessed, read_pinned_log_key, read_witnessed


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class AuditReport:
    """What ``backa audit verify`` found: what holds, what does not, and where it first broke."""

    holds: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    first_bad_position: int | None = None
    first_bad_leaf: int | None = None
    latest: SignedCheckpoint | None = None
    """The latest checkpoint the whole log was found to match, when it was."""

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
        report.problems.append(f"the leaf record ({LEAVES_FILE}) matches no signed checkpoint")
        _narrow(report, db, db_positions, checkpoints, 0)
        return
    prefix = MerkleLog(reference.leaf_hashes()[: trusted.size])
    index = db.first_difference(prefix)
    if index is None or index >= trusted.size:  # the stored log holds the trusted prefix intact
        if broken.size > trusted.size and db.size >= trusted.size:  # after what the leaf record can show
            _narrow(report, db, db_positions, checkpoints, trusted.size)
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


def _narrow(
    report: AuditReport,
    db: MerkleLog,
    db_positions: Sequence[int],
    checkpoints: Sequence[SignedCheckpoint],
    trusted: int,
) -> None:
    """Where the leaf record cannot name the first differing leaf, the checkpoints bound it:
    it lies after the largest checkpoint the stored log still matches and within the next
    one. Checkpoints signed every few seconds make that a short stretch; a stretch of one
    leaf names it exactly, and so does a log that matches a checkpoint of exactly its own
    size but not a later one: its tail was cut, and the first missing fact is the next."""
    matched = max(
        (c.size for c in checkpoints if c.size <= db.size and db.root(c.size) == c.root_hash), default=0
    )
    matched = max(matched, trusted)
    above = [c.size for c in checkpoints if c.size > matched]
    if matched == db.size and above:
        missing = db_positions[-1] + 1 if db_positions else 1
        report.first_bad_leaf = db.size
        report.first_bad_position = missing
        report.problems.append(
            f"first difference at log position {missing} (leaf {db.size}): the log ends there; "
            f"{max(above) - db.size} signed facts from there on are missing"
        )
        return
    end = min(min(above, default=db.size), db.size)
    if end - matched == 1:
        report.first_bad_leaf = matched
        report.first_bad_position = db_positions[matched]
        report.problems.append(
            f"first difference at log position {db_positions[matched]} (leaf {matched}): the stored fact there "
            "is not the one that was signed"
        )
        return
    if end > matched:
        report.problems.append(
            f"the first difference lies between log positions {db_positions[matched]} and {db_positions[end - 1]} "
            f"(leaves {matched} to {end - 1}): the log matches the checkpoint of size {matched} and not the next, "
            "and the leaf record cannot say which"
        )
        return
    report.problems.append("the first differing position cannot be named from what was kept; compare the database with a backup")


def _with_witnessed(
    report: AuditReport,
    stored: list[SignedCheckpoint],
    witness: tuple[Path, VerifierKey | None] | None,
    key: VerifierKey,
) -> list[SignedCheckpoint]:
    """The data folder's checkpoints and the witness's, in order of size, each size once.

    The witness's record is kept where a writer of the log cannot rewrite it
    (:mod:`hub.tlog.witness`), so a witnessed checkpoint newer than the data folder's
    latest means the data folder's record was rolled back with the log. A witness that
    holds nothing while the data folder holds checkpoints has lost its record (its own
    key, None here, may be gone with it)."""
    if witness is None:
        return stored
    folder, witness_key = witness
    pinned = read_pinned_log_key(folder)
    if pinned is not None and pinned != key:
        report.problems.append("the witness pinned another log key than the one checked with: the key was replaced")
    if witness_key is None:
        record = folder / WITNESSED_FILE
        if record.exists() and record.stat().st_size > 0:
            report.problems.append(f"the witness in {folder} holds a record but not its verifier key, so it cannot be checked")
            return stored
        witnessed: list[Witnessed] = []
    else:
        witnessed, problems = read_witnessed(folder, key, witness_key)
        report.problems.extend(problems)
    if not witnessed or witness_key is None:
        if stored:
            report.problems.append(f"{WITNESS_LOST} (the witness in {folder} holds no checkpoint of this log)")
        else:
            report.problems.append(f"the witness in {folder} holds no checkpoint of this log")
        return stored
    newest = witnessed[-1]
    report.holds.append(
        f"the witness {witness_key.name}+{witness_key.key_id.hex()} cosigned {len(witnessed)} checkpoints, "
        f"the newest of size {newest.size}"
    )
    latest = stored[-1].size if stored else 0
    if newest.size > latest:
        report.problems.append(
            f"the witness holds a checkpoint of size {newest.size} but the data folder's record ends at size {latest}: "
            "the record of checkpoints was rolled back"
        )
    by_size = {c.size: c for c in stored}
    for w in witnessed:
        mine = by_size.get(w.size)
        if mine is not None and mine.root_hash != w.root_hash:
            report.problems.append(f"the witness and the data folder hold checkpoints of size {w.size} with different roots")
        by_size.setdefault(w.size, w.checkpoint)
    return [by_size[size] for size in sorted(by_size)]


def audit(
    recorder: Any,
    folder: Path,
    key: VerifierKey,
    kept: Sequence[tuple[str, str]] = (),
    witness: tuple[Path, VerifierKey | None] | None = None,
) -> AuditReport:
    """Recompute the tree from the stored log and check it against every signed checkpoint.

    ``witness`` is the witness's folder and key: its newest cosigned checkpoint is checked
    like the data folder's, so a tail cut together with the data folder's record is caught.
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
    except UnreadableRecordError as e:  # a column rewritten into something the store cannot read
        report.problems.append(e.detail)
        report.first_bad_leaf = len(positions)
        report.first_bad_position = e.position
        return report
    report.holds.append(f"the log holds {db.size} facts; their tree's root is {_b64(db.root())}")

    in_folder = _stored_checkpoints(folder, key, report)
    record_latest = in_folder[-1] if in_folder else None
    stored = _with_witnessed(report, in_folder, witness, key)
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
            report.latest = latest
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
        hubs = record_latest or latest
        if mine.size > hubs.size:
            report.problems.append(
                f"kept checkpoint {name} (size {mine.size}) is newer than the hub's latest (size {hubs.size}): "
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


# --- the latest checkpoint against the stored log, for the auditors' page -------------


class Mismatch(str, Enum):
    SIGNATURE = "signature"
    """The checkpoint's signature does not hold with the verifier key."""
    SHORT = "short"
    """The log holds fewer facts than the checkpoint signed."""
    CHANGED = "changed"
    """The first ``size`` stored facts hash to another root."""


@dataclass(frozen=True)
class LatestVerdict:
    """Whether the stored log still hashes to the latest checkpoint's root; sizes only, never data."""

    mismatch: Mismatch | None = None
    stored: int | None = None
    """With :attr:`Mismatch.SHORT`: how many facts the log holds."""

    @property
    def verifies(self) -> bool:
        return self.mismatch is None


def verify_latest(recorder: Any, latest: SignedCheckpoint, key: VerifierKey) -> LatestVerdict:
    """Check the signature on ``latest`` and recompute its root from the stored records (not
    from the tree the hub keeps in memory, which a changed row would not touch)."""
    try:
        open_checkpoint(latest.note, key)
    except NoteError:
        return LatestVerdict(Mismatch.SIGNATURE)
    tree = MerkleLog()
    try:
        for entry in read_log(recorder):
            if tree.size == latest.size:
                break
            tree.append(entry.leaf_hash())
    except UnreadableRecordError:  # a row rewritten into something the store cannot read
        return LatestVerdict(Mismatch.CHANGED)
    if tree.size < latest.size:
        return LatestVerdict(Mismatch.SHORT, tree.size)
    if tree.root(latest.size) != latest.root_hash:
        return LatestVerdict(Mismatch.CHANGED)
    return LatestVerdict()


class CachedAudit:
    """The auditors' page's check of the latest checkpoint: incremental, and cached per checkpoint.

    It keeps a :class:`~hub.tlog.merkle.Frontier` over the records it re-read from the
    store and the position where it stopped. A visit for a newer checkpoint reads only the
    records stored since (up to the checkpoint's size); a visit for the checkpoint already
    checked answers from the cache and reads nothing. So a visit costs what was appended
    since the last one, never the whole log (at a million facts a full re-read took about
    50 s per visit).

    What it does not do is re-read what it already took in: a row changed after it was
    checked is found by ``backa audit verify``, which re-reads everything, and by the
    hub's refusal to sign or prove over a changed row. Whatever does not match (a short
    log, another root, an unreadable row) is confirmed on a full re-read before it is
    shown, so a mismatch never comes from a stale frontier.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frontier = Frontier()
        self._next = 1
        self._cached: tuple[tuple[int, bytes, str], LatestVerdict] | None = None
        self.leaves_read = 0
        """How many stored records the last visit read: what the page's cost grows with."""

    def verify(self, recorder: Any, latest: SignedCheckpoint, key: VerifierKey) -> LatestVerdict:
        with self._lock:
            self.leaves_read = 0
            try:
                open_checkpoint(latest.note, key)
            except NoteError:
                return LatestVerdict(Mismatch.SIGNATURE)
            slot = (latest.size, latest.root_hash, key.encode())
            if self._cached is not None and self._cached[0] == slot:
                return self._cached[1]
            if latest.size < self._frontier.size:
                self._reset()
            verdict = self._extend(recorder, latest)
            if not verdict.verifies:  # confirm on the whole stored log, never on a stale frontier
                self._reset()
                verdict = self._extend(recorder, latest)
                self._reset()
            self._cached = (slot, verdict)
            return verdict

    def _reset(self) -> None:
        self._frontier = Frontier()
        self._next = 1

    def _extend(self, recorder: Any, latest: SignedCheckpoint) -> LatestVerdict:
        try:
            while self._frontier.size < latest.size:
                wanted = min(READ_BATCH, latest.size - self._frontier.size)
                taken = 0
                for entry in read_log(recorder, self._next, batch=wanted):
                    self._frontier.append(entry.leaf_hash())
                    self._next = entry.position + 1
                    self.leaves_read += 1
                    taken += 1
                    if taken == wanted:
                        break
                if taken == 0:
                    break
        except UnreadableRecordError:
            return LatestVerdict(Mismatch.CHANGED)
        if self._frontier.size < latest.size:
            return LatestVerdict(Mismatch.SHORT, self._frontier.size)
        if self._frontier.root() != latest.root_hash:
            return LatestVerdict(Mismatch.CHANGED)
        return LatestVerdict()
