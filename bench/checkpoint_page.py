"""Measure 6: a visit to the auditors' checkpoint page, incremental and cached, against
recomputing the tree from every stored record per visit (what the page did before).

The log: ``events`` stored records (arbitrary sealed-looking bytes; the check reads the
clear columns and hashes the state, it never decodes) in PostgreSQL, through the hub's
own recorder, and a checkpoint signed over them. Then, per round, ``appended`` more
records and a new checkpoint, as a hub that is being written to signs every few seconds.

Three figures per visit:

- *full*: :func:`hub.tlog.verify.verify_latest`, re-reading every record up to the
  checkpoint (the cost a visit had, growing with the log);
- *incremental*: :class:`hub.tlog.verify.CachedAudit` after the round's new records,
  reading only those;
- *cached*: the same checkpoint visited again, reading nothing.

The ratio is full ÷ incremental: how many times cheaper a visit is, at this log size.
It grows with the log, since the incremental visit's cost does not.

    .venv/bin/python -m bench.checkpoint_page --events 200000        # standalone, on SQLite
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import StoredEvent

from bench.env import Database, Result, say
from hub.runtime.settings import Settings
from hub.runtime.stores import store_kit
from hub.tlog.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from hub.tlog.leaves import read_log
from hub.tlog.merkle import MerkleLog
from hub.tlog.store import SignedCheckpoint, open_checkpoint
from hub.tlog.verify import CachedAudit, LatestVerdict, verify_latest

TOPIC = "contracts.events:InformationAccessed"
BATCH = 5_000
ROUNDS = 5


def _append(recorder: Any, n: int) -> None:
    for start in range(0, n, BATCH):
        events = [
            StoredEvent(originator_id=uuid4(), originator_version=1, topic=TOPIC, state=hashlib.sha256(uuid4().bytes).digest() * 8)
            for _ in range(min(BATCH, n - start))
        ]
        recorder.insert_events(events)


def _sign(recorder: Any, tree: MerkleLog, signer: NoteSigner, after: int) -> tuple[SignedCheckpoint, int]:
    """Take in the records stored after position ``after`` and sign the tree."""
    last = after
    for entry in read_log(recorder, after + 1):
        tree.append(entry.leaf_hash())
        last = entry.position
    note = sign_checkpoint(Checkpoint(signer.name, tree.size, tree.root()), signer)
    return open_checkpoint(note, signer.verifier()), last


def _holds(verdict: LatestVerdict) -> None:
    if not verdict.verifies:
        raise RuntimeError(f"the benchmark's own log does not verify: {verdict.mismatch}")


def measure_on(recorder: Any, *, events: int, appended: int, label: str) -> Result:
    signer = NoteSigner.generate("backa.bench/log")
    key = signer.verifier()
    say(f"[6] storing {events:,} records".replace(",", " "))
    _append(recorder, events)
    tree = MerkleLog()
    latest, last = _sign(recorder, tree, signer, 0)
    audit = CachedAudit()
    _holds(audit.verify(recorder, latest, key))  # the first visit reads the whole log once
    full: list[float] = []
    incremental: list[float] = []
    cached: list[float] = []
    read: list[int] = []
    for _ in range(ROUNDS):
        _append(recorder, appended)
        latest, last = _sign(recorder, tree, signer, last)
        t = time.perf_counter()
        _holds(audit.verify(recorder, latest, key))
        incremental.append(time.perf_counter() - t)
        read.append(audit.leaves_read)
        t = time.perf_counter()
        _holds(audit.verify(recorder, latest, key))
        cached.append(time.perf_counter() - t)
        t = time.perf_counter()
        _holds(verify_latest(recorder, latest, key))
        full.append(time.perf_counter() - t)
    best_full, best_inc, best_cached = min(full), min(incremental), min(cached)
    r = Result(
        key="checkpoint",
        title="The auditors' checkpoint page: incremental and cached, against a full recomputation per visit",
        goal="a visit reads only what was stored since the last (full ÷ incremental ≥ 10 at this size)",
        ratio_label="full recomputation ÷ incremental visit",
    )
    r.add("store", label)
    r.add("log size at the visits", f"{tree.size:,}".replace(",", " "))
    r.add("records stored between visits", f"{appended:,}".replace(",", " "))
    r.add("full recomputation per visit", f"{best_full * 1000:.1f} ms")
    r.add("incremental visit", f"{best_inc * 1000:.2f} ms (read {max(read)} records)")
    r.add("same checkpoint again (cached)", f"{best_cached * 1000:.3f} ms (read 0 records)")
    r.ratio = best_full / best_inc if best_inc > 0 else float("inf")
    r.met = r.ratio >= 10
    r.data.update(full=best_full, incremental=best_inc, cached=best_cached, size=tree.size, read=max(read))
    return r


def measure(db: Database, work: Path, *, events: int, appended: int = 100) -> Result:
    schema = db.schema("checkpoint")
    settings = Settings(database_url=db.hub_url(schema), data_dir=work / "checkpoint")
    kit = store_kit(settings)
    try:
        return measure_on(kit.log_recorder(create=True), events=events, appended=appended, label="PostgreSQL")
    finally:
        kit.close()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.checkpoint_page")
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--appended", type=int, default=100)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="backa-bench-") as work:
        kit = store_kit(Settings(store="sqlite", data_dir=Path(work)))
        try:
            r = measure_on(kit.log_recorder(create=True), events=args.events, appended=args.appended, label="SQLite")
        finally:
            kit.close()
    for label, value in r.lines:
        print(f"{label:40} {value}")
    print(f"{r.ratio_label:40} {r.ratio:.0f}×  ({r.verdict()}: {r.goal})")


if __name__ == "__main__":
    main()
