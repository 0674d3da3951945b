"""Measure 5: rebuilding the views from a long log, against the library's raw read rate.

The log: the Ystad demo (``hub.demo``) is played through a hub on the in-memory store,
giving a few thousand realistic facts for a couple of hundred children. Those stories
are copied, generation after generation, with new child and event ids, until the log
holds ``events`` facts for many thousands of children; each copy is a fact the hub's
own mapper (``FactMapper``) turns into a ``StoredEvent``, and the stored events go
into PostgreSQL through the hub's recorder in large batches.

The raw rate: the library reads the same notifications with ``recorder.subscribe``
(its subscription: a thread pulling pages of 500 while the caller iterates), and,
for comparison, with ``recorder.select_notifications`` in pages of 500 (what the
hub's follower asks for).

The rebuild: the hub's views (the child record, the case list, the access log, the
figures) emptied and rebuilt from the log by ``hub.runtime.rebuild`` (``backa views
rebuild``), once with one process and once with two, each owning a part of the children;
the hub's own follower is stopped meanwhile. Each run has half the time budget: the
parts stop when it is spent, and the rate counts the facts the slowest part holds. A short
profile of one process's follower then shows where the time goes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from bench.env import Database, Result, directory, fmt_rate, profile_shares, rate, say
from contracts.events import ErasedFact, InformationAccessed, RecordErased
from hub.application import Views
from hub.demo import load_demo
from hub.demo.loader import demo_custodians
from hub.domain.child import Recorded
from hub.runtime.bootstrap import PostgresConfig, Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.follower import LogFollower
from hub.runtime.rebuild import REBUILD_PAGE, Rebuilt, few_collections, rebuild
from hub.runtime.settings import Settings
from projections.accesslog import AccessLogView
from projections.caselist import CaseListView
from projections.figures import TermFiguresView
from projections.record import ChildRecordView

TEMPLATE_CHILDREN = 200
INSERT_BATCH = 5_000
PAGE = 500
DECODE_SAMPLE = 200_000
DEMO_SEED = 2019
PROCESSES = (1, 2)
"""The rebuild is measured with one process and with two, side by side."""


@dataclass(frozen=True)
class Template:
    """One fact of the demo log and whose stream it belongs to."""

    recorded: Recorded
    child_stream: bool
    """True for a child's own facts; a read (``InformationAccessed``) is a stream of its own."""


class _Register:
    """The demo's population register, in memory: the guardians the demo names are confirmed."""

    def __init__(self, custodians: dict[str, set[str]]) -> None:
        self._custodians = custodians

    def custodians(self, child: str) -> set[str]:
        return self._custodians.get(child, set())


def demo_templates(children: int = TEMPLATE_CHILDREN) -> list[Template]:
    end = datetime(2026, 6, 1, 12, tzinfo=UTC)
    where = directory()
    custodians = demo_custodians(where, children=children, seed=DEMO_SEED, until=end)
    runtime = bootstrap(
        Settings(store="memory", demo_mode=True), clock=SettableClock(end), directory=where, register=_Register(custodians)
    )
    try:
        load_demo(runtime, children=children, seed=DEMO_SEED, until=end)
        hub = runtime.hub
        out = []
        for n in hub.recorder.select_notifications(1, 10**7):
            recorded = cast(Recorded, hub.mapper.to_domain_event(n))  # the hub's mapper gives its own facts
            if isinstance(recorded.fact, ErasedFact | RecordErased):
                continue  # the demo's erased child: copying its erasure would erase the copies
            out.append(Template(recorded, UUID(str(n.originator_id)) == recorded.fact.child_id))
        return out
    finally:
        runtime.close()


def copies(templates: Sequence[Template], mapper: Any, total: int) -> Any:
    """Batches of stored events: the templates again and again with fresh ids, ``total`` in all."""
    made = 0
    batch: list[StoredEvent] = []
    while made < total:
        children: dict[UUID, UUID] = {}
        events: dict[UUID, UUID] = {}
        for t in templates:
            if made >= total:
                break
            fact = t.recorded.fact
            child_id = children.setdefault(fact.child_id, uuid4())
            event_id = events.setdefault(fact.event_id, uuid4())
            update: dict[str, Any] = {"child_id": child_id, "event_id": event_id}
            ids = getattr(fact, "event_ids", None)
            if ids is not None:
                update["event_ids"] = tuple(events.get(i, i) for i in ids)
            copy = fact.model_copy(update=update)
            if t.child_stream:
                recorded = Recorded(child_id, t.recorded.originator_version, t.recorded.timestamp, copy, t.recorded.traceparent)
            else:
                recorded = Recorded(event_id, 1, t.recorded.timestamp, copy, t.recorded.traceparent)
            batch.append(mapper.to_stored_event(recorded))
            made += 1
            if len(batch) >= INSERT_BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def fill(runtime: Runtime, templates: Sequence[Template], total: int) -> tuple[float, int]:
    """Insert ``total`` stored events through the hub's recorder; mapping and inserting overlap."""
    hub = runtime.hub
    batches: queue.Queue[list[StoredEvent] | None] = queue.Queue(maxsize=4)
    errors: list[BaseException] = []

    def insert() -> None:
        try:
            while (batch := batches.get()) is not None:
                hub.recorder.insert_events(batch)
        except BaseException as e:  # noqa: BLE001 - reported after the fill
            errors.append(e)

    writer = threading.Thread(target=insert, daemon=True)
    began = time.perf_counter()
    writer.start()
    done, said = 0, 0
    for batch in copies(templates, hub.mapper, total):
        if errors:
            break
        batches.put(batch)
        done += len(batch)
        if done - said >= max(100_000, total // 10):
            said = done
            say(f"[5]   {done:,} events written ({time.perf_counter() - began:.0f} s)".replace(",", " "))
    batches.put(None)
    writer.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - began, done


def raw_subscription(runtime: Runtime, last: int) -> float:
    """Seconds for the library's subscription to hand over every notification up to ``last``."""
    began = time.perf_counter()
    count = 0
    with runtime.hub.recorder.subscribe(gt=0) as subscription:
        for n in subscription:
            count += 1
            if n.id >= last:
                break
    return time.perf_counter() - began


def raw_pages(runtime: Runtime, last: int) -> float:
    began = time.perf_counter()
    start = 1
    while start <= last:
        page = runtime.hub.recorder.select_notifications(start, PAGE)
        if not page:
            break
        start = page[-1].id + 1
    return time.perf_counter() - began


def decode_only(runtime: Runtime, last: int) -> tuple[int, float]:
    """The subscription again, each notification decoded by the hub's mapper: the most any
    rebuild that turns every stored event into a fact in one Python process could reach
    (with the rebuild's setting of the garbage collector)."""
    mapper = runtime.hub.mapper
    began = time.perf_counter()
    count = 0
    with few_collections(), runtime.hub.recorder.subscribe(gt=0) as subscription:
        for n in subscription:
            mapper.to_domain_event(n)
            count += 1
            if n.id >= last or count >= DECODE_SAMPLE:
                break
    return count, time.perf_counter() - began


class _Budgeted:
    """The hub's recorder as the follower sees it, with an end that comes when time is up."""

    def __init__(self, recorder: Any, deadline: float) -> None:
        self.recorder = recorder
        self.deadline = deadline

    def select_notifications(self, start: int, limit: int, *args: Any, **kwargs: Any) -> Sequence[Notification]:
        if time.perf_counter() >= self.deadline:
            return []
        return self.recorder.select_notifications(start, limit, *args, **kwargs)  # type: ignore[no-any-return]


class _BudgetedLog:
    """What ``LogFollower`` needs of an application: its name, recorder and mapper."""

    def __init__(self, hub: Any, deadline: float) -> None:
        self.name = hub.name
        self.mapper = hub.mapper
        self.recorder = _Budgeted(hub.recorder, deadline)


def fresh_views(db: Database, schema: str) -> Views:
    database = PostgresConfig.from_url(db.hub_url(schema)).views()
    database.create_schema()
    views = Views(ChildRecordView(database), CaseListView(database), AccessLogView(database), TermFiguresView(database))
    for view in views.all():
        view.create_table()
    return views


PROFILE_GROUPS = (
    ("reading the log (select_notifications)", "eventsourcing/postgres.py", "select_notifications"),
    ("decoding stored events into facts (FactMapper)", "hub/keys/sealing.py", "to_domain_event"),
    ("child record: rows for each fact's categories", "projections/record.py", "apply"),
    ("case list: each child's document read, changed, written", "projections/caselist.py", "apply"),
    ("access log: a row per read", "projections/accesslog.py", "apply"),
    ("figures: counts per child and term", "projections/figures.py", "apply"),
    ("  of all the views' work, waiting for PostgreSQL (psycopg wait)", "psycopg/connection.py", "wait"),
)
"""The profile runs the views in turn in one thread (the profiler sees one thread);
the measured rebuild writes them side by side."""


def _n(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def measure(db: Database, work: Path, *, events: int, budget: float, profile_seconds: float = 8.0) -> Result:
    """The raw rates, then the rebuild with 1 and with 2 processes (``budget`` seconds
    shared between them), then a short profile of one process's follower."""
    result = Result(
        key="rebuild",
        title="Rebuilding the views from a long log, against the library's raw read rate",
        goal="rebuild ≥ 0.5 × raw subscription read rate",
        ratio_label="rebuild facts/s (best of 1 and 2 processes) ÷ subscription notifications/s",
    )
    say(f"[5] playing the demo ({TEMPLATE_CHILDREN} children) for template stories")
    templates = demo_templates()
    child_count = len({t.recorded.fact.child_id for t in templates})
    reads = sum(1 for t in templates if isinstance(t.recorded.fact, InformationAccessed))
    schema = db.schema("rebuild_log")
    views_schema = db.schema("rebuild_views")
    (work / "rebuild.witness").mkdir()
    settings = Settings(
        database_url=db.hub_url(schema), data_dir=work / "rebuild", kek=db.kek, checkpoint_key_file=work / "rebuild.transparency.key",
        witness_dir=work / "rebuild.witness",
    )
    runtime = bootstrap(settings, directory=directory())
    runs: dict[int, Rebuilt] = {}
    try:
        runtime.hub.follower.stop()  # the hub's own views are not followed while the log fills and is read
        say(f"[5] writing {events:,} events into the log".replace(",", " "))
        fill_seconds, written = fill(runtime, templates, events)
        last = runtime.hub.log_length()
        generations = written / len(templates)
        say(f"[5] raw reads of {last:,} notifications".replace(",", " "))
        recorder = runtime.hub.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError("the rebuild is measured on PostgreSQL")
        with db.admin() as conn:
            conn.execute(f'VACUUM ANALYZE "{schema}"."{recorder.events_table_name}"')
        raw_pages(runtime, last)  # warm the cache the same way for both
        sub_seconds = raw_subscription(runtime, last)
        page_seconds = raw_pages(runtime, last)
        sub_rate, page_rate = rate(last, sub_seconds), rate(last, page_seconds)
        decoded, decode_seconds = decode_only(runtime, last)

        for processes in PROCESSES:
            say(f"[5] rebuilding the hub's views from scratch with {processes} process(es) (budget {budget / 2:.0f} s)")
            runs[processes] = rebuild(
                settings, processes=processes, from_scratch=True, upto=last, deadline=time.time() + budget / len(PROCESSES)
            )

        shares: list[tuple[str, float]] = []
        top: list[str] = []
        if profile_seconds > 0:
            say(f"[5] profiling one process's follower for {profile_seconds:.0f} s")
            views = fresh_views(db, views_schema)
            try:
                budgeted = _BudgetedLog(runtime.hub, time.perf_counter() + profile_seconds)
                profiled = LogFollower(budgeted, views.projections(), REBUILD_PAGE)  # type: ignore[arg-type]
                profiled.parallel_from = 10**9
                with few_collections():  # as the rebuild runs
                    _, _, shares, top = profile_shares(profiled.catch_up, PROFILE_GROUPS, top=6)
            finally:
                views.close()
    finally:
        runtime.close()
    for made in [m for m in db.made if m.endswith(("_rebuild_log", "_rebuild_views"))]:
        db.drop(made)

    result.add(
        "log",
        f"{_n(last)} events: the {_n(len(templates))} facts of {child_count} demo children "
        f"({reads} of them reads) copied {generations:.0f} times, for about {_n(child_count * generations)} children",
    )
    result.add("filling the log (mapper + recorder, batches of 5 000)", f"{fmt_rate(rate(written, fill_seconds))} ({fill_seconds:.0f} s)")
    result.add("library subscription (recorder.subscribe)", f"{fmt_rate(sub_rate)} ({sub_seconds:.1f} s for the whole log)")
    result.add("library pages (select_notifications, 500 a page)", f"{fmt_rate(page_rate)} ({page_seconds:.1f} s)")
    decode_rate = rate(decoded, decode_seconds)
    result.add(
        "subscription + decoding each fact (FactMapper), no views",
        f"{fmt_rate(decode_rate)} over {decoded:,} events ({decode_rate / sub_rate:.2f} of the subscription rate)".replace(",", " "),
    )
    rates = {n: rate(r.facts, r.seconds) for n, r in runs.items()}
    for n, r in runs.items():
        whole = "the whole log" if r.complete else f"the first {_n(r.facts)} events (the slowest part)"
        result.add(
            f"rebuild, {n} process{'es' if n > 1 else ''} (4 views, pages of {_n(REBUILD_PAGE)})",
            f"{fmt_rate(rates[n])} over {whole} in {r.seconds:.0f} s, starting the processes included "
            f"({rates[n] / sub_rate:.2f} of the subscription rate)",
        )
    scaling = rates[2] / rates[1] if rates.get(1) else 0.0
    result.add("scaling from 1 to 2 processes", f"{scaling:.2f} ×")
    per_fact = {n: r.cpu / max(r.facts, 1) / n for n, r in runs.items()}
    if per_fact.get(1):
        result.add(
            "CPU per process and fact, 2 processes ÷ 1 process (the hub's processes, not PostgreSQL's)",
            f"{per_fact[2] / per_fact[1]:.2f} ({per_fact[1] * 1e6:.0f} µs per fact with 1 process, "
            f"{per_fact[2] * 1e6:.0f} µs per process with 2)",
        )
    for label, share in shares:
        result.add(f"profile (1 process): {label}", f"{share:.0%}")
    result.notes.extend(f"profile, most own time: {line.strip()}" for line in top)
    best = max(rates.values(), default=0.0)
    result.ratio = best / sub_rate
    result.met = result.ratio >= 0.5
    result.data.update(
        events=last, subscription=sub_rate, pages=page_rate, rebuild=best, rebuild_1=rates.get(1), rebuild_2=rates.get(2),
        scaling=scaling, cpu_per_fact={n: round(v * 1e6, 1) for n, v in per_fact.items()},
        complete=all(r.complete for r in runs.values()), fill=rate(written, fill_seconds), decode=decode_rate,
    )
    return result
