"""Measure 1: the hub's consent-gated commands against the library's raw single saves.

The hub side: ``threads`` threads, each with 32 children of its own (so that a child's
record stays the size of a real one over the run), alternately submit a discovery card
(as a discoverer) and record a conversation (as the child's Barnkontakt) through
``runtime.hub``: every command takes the child as this process last saved it, runs its
guards and appends its fact through the group commit; the views follow in the hub's
background thread, whose work is part of the measured time and CPU.

The library side: the same number of threads on a plain ``eventsourcing`` Application
with a plain Aggregate, each saving one event per ``save`` (the aggregate is held in
memory: no load), in a schema of its own on the same database.

A third figure isolates the group commit itself: the same threads hand already-made
facts straight to the hub's committer (no load, no guards; the views still follow).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.env import (
    BARNKONTAKT,
    DISCOVERER,
    Database,
    Result,
    card_payload,
    conversation_payload,
    directory,
    fmt_ms,
    fmt_rate,
    join_all,
    percentile,
    principal,
    profile_shares,
    rate,
    registration,
    say,
)
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.settings import Settings


class Note(Aggregate):
    """The library's own aggregate: one event per call."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.count = 0

    @event("Noted")
    def note(self, payload: dict[str, Any]) -> None:
        self.count += 1


class RawApp(Application[UUID]):
    name = "rawsaves"


def run_threads(
    threads: int, seconds: float, body: Callable[[int, threading.Event], tuple[int, list[float]]]
) -> tuple[int, float, list[float]]:
    """Run ``body(i, stop)`` in ``threads`` threads for ``seconds``; return (ops, elapsed, latencies)."""
    stop = threading.Event()
    results: list[tuple[int, list[float]]] = [(0, [])] * threads
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            results[i] = body(i, stop)
        except BaseException as e:  # noqa: BLE001 - reported after the run
            errors.append(e)
            stop.set()

    workers = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(threads)]
    began = time.perf_counter()
    for w in workers:
        w.start()
    stop.wait(seconds)
    stop.set()
    join_all(workers, "the measured commands")
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return sum(r[0] for r in results), elapsed, [x for r in results for x in r[1]]


def register_children(runtime: Runtime, first: int, count: int, *, workers: int = 8) -> list[UUID]:
    """Register children ``first .. first+count-1`` by the school's Barnkontakt, who takes the role, through the hub's commands."""
    hub = runtime.hub
    bk = principal(BARNKONTAKT)

    def one(i: int) -> UUID:
        child_id = hub.register_child(bk, **registration(i))  # by staff of the school, who then see the child
        hub.assign_barnkontakt(bk, child_id, staff_id=bk.user_id)
        return child_id

    pool = ThreadPoolExecutor(workers)
    try:
        return list(pool.map(one, range(first, first + count), timeout=60 + count))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def hub_commands(runtime: Runtime, children: list[list[UUID]], seconds: float) -> tuple[int, float, list[float]]:
    hub = runtime.hub
    discoverer, bk = principal(DISCOVERER), principal(BARNKONTAKT)

    def body(i: int, stop: threading.Event) -> tuple[int, list[float]]:
        mine = children[i]
        n, latencies = 0, []
        while not stop.is_set():
            child_id = mine[n % len(mine)]
            began = time.perf_counter()
            if n % 2 == 0:
                hub.submit_discovery_card(discoverer, child_id, **card_payload(n))
            else:
                hub.hold_conversation(bk, child_id, **conversation_payload(n))
            latencies.append(time.perf_counter() - began)
            n += 1
        return n, latencies

    return run_threads(len(children), seconds, body)


COMMAND_PROFILE = (
    ("taking the child from memory (a copy of the cached record)", "hub/application.py", "_cached"),
    ("loading the child from the store (first use, or after a conflict)", "hub/application.py", "_load"),
    ("appending through the group commit", "hub/commit.py", "commit"),
    ("  of which waiting for PostgreSQL (psycopg wait)", "psycopg/connection.py", "wait"),
    ("the command's spans and counters (OpenTelemetry)", "opentelemetry/sdk/trace/__init__.py", "start_span"),
)


def profile_commands(runtime: Runtime, children: list[UUID], seconds: float) -> tuple[int, float, list[tuple[str, float]]]:
    """Commands one after another in this thread under cProfile: where a command's time goes."""
    hub = runtime.hub
    discoverer, bk = principal(DISCOVERER), principal(BARNKONTAKT)

    def loop() -> int:
        end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < end:
            child_id = children[n % len(children)]
            if n % 2 == 0:
                hub.submit_discovery_card(discoverer, child_id, **card_payload(n))
            else:
                hub.hold_conversation(bk, child_id, **conversation_payload(n))
            n += 1
        return n

    n, elapsed, shares, _ = profile_shares(loop, COMMAND_PROFILE)
    return n, elapsed, shares


def committer_only(runtime: Runtime, children: list[list[UUID]], seconds: float) -> tuple[int, float, list[float]]:
    """Facts made in memory by the child aggregate, appended through the hub's group commit."""
    hub = runtime.hub
    from hub.domain.child import project_child

    discoverer = principal(DISCOVERER)
    actor = hub._actor(discoverer)

    def body(i: int, stop: threading.Event) -> tuple[int, list[float]]:
        aggregates = [hub.repository.get(c, projector_func=project_child) for c in children[i]]
        n, latencies = 0, []
        while not stop.is_set():
            child = aggregates[n % len(aggregates)]
            payload = card_payload(n)
            child.submit_discovery_card(actor=actor, at=hub.now(), kind="external", **payload)
            began = time.perf_counter()
            hub.committer.commit(child.collect_events())
            latencies.append(time.perf_counter() - began)
            n += 1
        return n, latencies

    return run_threads(len(children), seconds, body)


def raw_saves(env: dict[str, str], threads: int, seconds: float) -> tuple[int, float, list[float]]:
    app = RawApp(env)
    try:
        payload = card_payload(0)

        def body(i: int, stop: threading.Event) -> tuple[int, list[float]]:
            note = Note(owner=f"thread-{i}")
            app.save(note)
            n, latencies = 0, []
            while not stop.is_set():
                note.note(payload)
                began = time.perf_counter()
                app.save(note)
                latencies.append(time.perf_counter() - began)
                n += 1
            return n, latencies

        return run_threads(threads, seconds, body)
    finally:
        app.close()


def measure(db: Database, work: Path, *, threads: int, seconds: float, children_per_thread: int = 32) -> Result:
    result = Result(
        key="commands",
        title="Consent-gated commands against the library's raw single saves",
        goal="hub ≥ raw single saves (ratio ≥ 1.0)",
        ratio_label="hub commands/s ÷ raw saves/s",
    )
    pool = threads + 2
    hub_schema = db.schema("commands")
    (work / "commands.witness").mkdir()
    runtime = bootstrap(
        Settings(database_url=db.hub_url(hub_schema, pool_size=pool, max_overflow=pool), data_dir=work / "commands", kek=db.kek,
                 checkpoint_key_file=work / "commands.transparency.key", witness_dir=work / "commands.witness"),
        directory=directory(),
    )
    try:
        say(f"[1] registering {threads * children_per_thread} children for {threads} threads")
        ids = register_children(runtime, 0, threads * children_per_thread)
        children = [ids[i::threads] for i in range(threads)]
        hub_commands(runtime, children, min(2.0, seconds / 4))  # warm-up
        say(f"[1] hub commands: {threads} threads for {seconds:.0f} s")
        batches_before = runtime.hub.committer.batches
        n_hub, t_hub, lat_hub = hub_commands(runtime, children, seconds)
        batches = runtime.hub.committer.batches - batches_before
        say(f"[1] hub commands: 1 thread for {seconds / 3:.0f} s")
        n_one, t_one, lat_one = hub_commands(runtime, [children[0]], seconds / 3)
        say(f"[1] profiling commands in one thread for {seconds / 4:.0f} s")
        _, _, shares = profile_commands(runtime, children[1], seconds / 4)
        say(f"[1] group commit alone: {threads} threads for {seconds:.0f} s")
        batches_before = runtime.hub.committer.batches
        n_gc, t_gc, lat_gc = committer_only(runtime, children, seconds)
        gc_batches = runtime.hub.committer.batches - batches_before
    finally:
        runtime.close()
    raw_schema = db.schema("rawsaves")
    say(f"[1] library raw saves: {threads} threads for {seconds:.0f} s")
    raw_saves(db.library_env(raw_schema, pool_size=pool, max_overflow=pool), threads, min(2.0, seconds / 4))  # warm-up
    n_raw, t_raw, lat_raw = raw_saves(db.library_env(raw_schema, pool_size=pool, max_overflow=pool), threads, seconds)
    db.drop(hub_schema)
    db.drop(raw_schema)

    hub_rate, gc_rate, raw_rate = rate(n_hub, t_hub), rate(n_gc, t_gc), rate(n_raw, t_raw)
    result.add("threads", str(threads))
    result.add(
        "hub commands (guards, append; the views follow in the background)",
        f"{fmt_rate(hub_rate)}, p50 {fmt_ms(percentile(lat_hub, 50))}, p99 {fmt_ms(percentile(lat_hub, 99))}, "
        f"{n_hub / max(1, batches):.1f} facts per transaction",
    )
    result.add(
        "hub commands, 1 thread",
        f"{fmt_rate(rate(n_one, t_one))}, p50 {fmt_ms(percentile(lat_one, 50))}, p99 {fmt_ms(percentile(lat_one, 99))}",
    )
    result.add(
        "library raw save, one event per save",
        f"{fmt_rate(raw_rate)}, p50 {fmt_ms(percentile(lat_raw, 50))}, p99 {fmt_ms(percentile(lat_raw, 99))}",
    )
    result.add(
        "hub group commit alone (ready facts)",
        f"{fmt_rate(gc_rate)}, p50 {fmt_ms(percentile(lat_gc, 50))}, p99 {fmt_ms(percentile(lat_gc, 99))}, "
        f"{n_gc / max(1, gc_batches):.1f} facts per transaction",
    )
    result.ratio = hub_rate / raw_rate
    result.met = result.ratio >= 1.0
    result.add("group commit alone ÷ raw saves", f"{gc_rate / raw_rate:.2f}")
    for label, share in shares:
        result.add(f"profile of a command: {label}", f"{share:.0%}")
    result.data = {"hub": hub_rate, "raw": raw_rate, "group_commit": gc_rate, "threads": threads}
    return result
