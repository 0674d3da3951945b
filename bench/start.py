"""Measure: how soon a hub answers after it starts on a long log whose views are empty.

The log is the one the rebuild measure filled (:class:`RebuiltLog`), or, when that
measure is not run, one filled the same way (:mod:`bench.rebuild`: the demo's stories
copied with fresh ids until it holds ``events`` facts); the views' tables, positions
and versions are then dropped, and ``python -m hub.cli serve`` is started on it. The clock runs from the moment the process
is started: until ``/health`` answers 200 (the hub listens: a liveness probe is
satisfied), and until ``/ready`` answers 200 (its views have caught up with the log and
it may be sent requests). The same start on the same log with its views in place is
measured beside it, so the cost of the empty views shows as a ratio within the run.

``backa serve`` listens before it builds the hub (:mod:`hub.http.staged`): its first
``/health`` says ``starting``, from a process that has imported only its settings and the
server; the hub's imports, its build and its application follow in a thread, and then the
views catch up, which ``/ready`` waits for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast
from uuid import UUID

import httpx
from psycopg import sql

from adapters.population_file import FileRegister, register_text
from bench.env import Database, Result, directory, fmt_rate, free_port, rate, say, stop_process
from bench.rebuild import TEMPLATE_CHILDREN, Template, fill
from contracts.events import ErasedFact, RecordErased
from hub.demo import load_demo
from hub.demo.loader import DEFAULT_SEED, demo_custodians
from hub.domain.child import Recorded
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from projections.accesslog import AccessLogView
from projections.caselist import CaseListView
from projections.figures import TermFiguresView
from projections.record import ChildRecordView

HEALTH_BUDGET = 60.0
"""Seconds a start may take to answer ``/health`` before the measure gives up."""
READY_BUDGET = 1800.0
"""Seconds the views may take to catch up before the measure gives up."""
GOAL_SECONDS = 1.0


@dataclass(frozen=True)
class RebuiltLog:
    """The log the rebuild measure filled (:mod:`bench.rebuild`), kept for this measure: its
    schema and what a hub started on it needs (the same key-encryption key and files)."""

    schema: str
    env: dict[str, str]

    @classmethod
    def find(cls, db: Database, work: Path, schema: str) -> RebuiltLog | None:
        """The rebuild's log in ``schema``, or None when the rebuild left none."""
        if not db.exists(schema):
            return None
        data_dir = work / "rebuild"
        data_dir.mkdir(parents=True, exist_ok=True)
        if not (data_dir / "directory.json").exists():
            directory().save(data_dir / "directory.json")
        return cls(schema, {
            "BACKA_DATABASE_URL": db.hub_url(schema),
            "BACKA_DATA_DIR": str(data_dir),
            "BACKA_KEK": db.kek,
            "BACKA_CHECKPOINT_KEY_FILE": str(work / "rebuild.transparency.key"),
            "BACKA_WITNESS_DIR": str(work / "rebuild.witness"),
        })


VIEW_TABLES = ("view_versions", *(
    t for v in (ChildRecordView, CaseListView, AccessLogView, TermFiguresView)
    for t in (*(s.split("EXISTS", 1)[1].split("(", 1)[0].strip() for s in v.table_statements if " TABLE " in s), f"{v.name}_tracking")
))
"""Every table of the hub's views, their positions (the rebuild's parts' too) and versions."""


def measure_start(
    db: Database, work: Path, events: int, *, ready_budget: float = READY_BUDGET, log: RebuiltLog | None = None
) -> list[Result]:
    """Seconds from process start to ``/health`` and to ``/ready`` on a log of ``events``
    facts (or the rebuild's ``log``) with empty views, and with its views in place."""
    result = Result(
        key="start",
        title="Starting on a long log whose views are empty",
        goal=f"/health within {GOAL_SECONDS:g} s of the process starting",
        ratio_label="seconds from process start to /health, views empty",
    )
    if log is None:
        schema, env = _own_log(db, work, events)
        made = "filled for this measure"
    else:
        schema, env = log.schema, log.env
        made = "the log the rebuild measure filled"
    with db.admin() as conn:
        for table in VIEW_TABLES:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {0}.{1}").format(sql.Identifier(schema), sql.Identifier(table)))
        row = conn.execute(sql.SQL("SELECT count(*) FROM {0}.backa_events").format(sql.Identifier(schema))).fetchone()
    facts = int(row[0]) if row else 0

    say(f"[start] starting the hub on {facts:,} facts with its views empty".replace(",", " "))
    cold_health, cold_ready = _start(env, work / "start-empty.log", ready_budget)
    say("[start] starting it again, its views where the first start left them")
    warm_health, warm_ready = _start(env, work / "start-built.log", ready_budget if cold_ready is not None else 0.0)
    if log is None:
        db.drop(schema)
    imports = _imports()

    result.add("log", f"{facts:,}".replace(",", " ") + f" facts ({made}), views empty")
    result.add("process start → /health 200, views empty", f"{cold_health:.2f} s")
    result.add("process start → /ready 200, views empty", _seconds(cold_ready, ready_budget))
    if cold_ready is not None:
        result.add("views caught up while serving", fmt_rate(rate(facts, cold_ready - cold_health)))
    result.add("process start → /health 200, views in place", f"{warm_health:.2f} s")
    if cold_ready is not None:
        result.add("process start → /ready 200, views in place", _seconds(warm_ready, ready_budget))
    result.add("/health with views empty ÷ with views in place", f"{cold_health / warm_health:.2f}")
    result.add("of which the interpreter and the imports before listening", f"{imports:.2f} s")
    result.notes.append(
        "the time to /health does not grow with the log: the views catch up in the background while the hub "
        "serves, and /ready says when they have"
    )
    result.ratio = cold_health
    result.met = cold_health <= GOAL_SECONDS
    result.figure = f"on {facts:,}".replace(",", " ") + " facts; /ready " + (
        f"after {cold_ready:.0f} s" if cold_ready is not None else f"not within {ready_budget:.0f} s"
    )
    result.data.update(
        facts=facts, imports=imports, health_empty=cold_health, ready_empty=cold_ready, health_built=warm_health, ready_built=warm_ready,
    )
    return [result]


def _own_log(db: Database, work: Path, events: int) -> tuple[str, dict[str, str]]:
    """A log of ``events`` facts filled as the rebuild measure fills its own."""
    schema = db.schema("start")
    folder, witness = work / "start", work / "start.witness"
    folder.mkdir(parents=True, exist_ok=True)
    witness.mkdir(exist_ok=True)
    directory().save(folder / "directory.json")
    env = {
        "BACKA_DATABASE_URL": db.hub_url(schema),
        "BACKA_DATA_DIR": str(folder),
        "BACKA_KEK": db.kek,
        "BACKA_CHECKPOINT_KEY_FILE": str(work / "start.transparency.key"),
        "BACKA_WITNESS_DIR": str(witness),
    }
    settings = Settings(
        database_url=env["BACKA_DATABASE_URL"], data_dir=folder, kek=db.kek,
        checkpoint_key_file=work / "start.transparency.key", witness_dir=witness, views_poll_seconds=60,
    )
    say("[start] playing the demo for template stories")
    templates = demo_templates(work)
    runtime = bootstrap(settings, directory=directory())
    try:
        runtime.hub.follower.stop()  # the views are dropped before the measured start anyway
        say(f"[start] writing {events:,} events into the log".replace(",", " "))
        fill(runtime, templates, events)
    finally:
        runtime.close()
    return schema, env


def demo_templates(work: Path, children: int = TEMPLATE_CHILDREN) -> list[Template]:
    """The demo's facts, played on the in-memory store with the demo's population register
    (so that its guardians are confirmed and its consents asked), to be copied into the log."""
    end = datetime(2026, 6, 1, 12, tzinfo=UTC)
    register = work / "start.population.json"
    register.write_text(register_text(demo_custodians(directory(), children=children, seed=DEFAULT_SEED, until=end)))
    runtime = bootstrap(
        Settings(store="memory", demo_mode=True), clock=SettableClock(end), directory=directory(), register=FileRegister(register)
    )
    try:
        load_demo(runtime, children=children, until=end)
        hub = runtime.hub
        out = []
        for n in hub.recorder.select_notifications(1, 10**7):
            recorded = cast(Recorded, hub.mapper.to_domain_event(n))
            if isinstance(recorded.fact, ErasedFact | RecordErased):
                continue  # copying the demo's erasure would erase the copies
            out.append(Template(recorded, UUID(str(n.originator_id)) == recorded.fact.child_id))
        return out
    finally:
        runtime.close()


def _seconds(value: float | None, budget: float) -> str:
    return f"{value:.2f} s" if value is not None else f"not within the budget of {budget:.0f} s"


def _start(env: dict[str, str], log: Path, ready_budget: float) -> tuple[float, float | None]:
    """Start ``backa serve``; seconds until ``/health`` and until ``/ready`` answer 200."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log, "ab") as out:
        began = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )
    try:
        with httpx.Client(base_url=base, timeout=1.0) as http:
            health = _until_ok(http, "/health", began, HEALTH_BUDGET, process)
            if health is None:
                raise RuntimeError(f"the hub did not answer /health within {HEALTH_BUDGET:.0f} s (see {log})")
            return health, _until_ok(http, "/ready", began, ready_budget, process)
    finally:
        stop_process(process)


def _imports() -> float:
    """Seconds a new interpreter takes to import what ``backa serve`` imports before it
    listens, and no more (the hub itself is imported after, while it already answers)."""
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import hub.cli, hub.http.asgi, hub.http.staged, hub.runtime.store_choice, uvicorn"],
        check=True, cwd=Path(__file__).resolve().parent.parent, timeout=HEALTH_BUDGET,
    )
    return time.perf_counter() - began


def _until_ok(http: httpx.Client, path: str, began: float, budget: float, process: subprocess.Popen[bytes]) -> float | None:
    while time.perf_counter() - began < budget:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited at start (code {process.returncode})")
        try:
            if http.get(path).status_code == 200:
                return time.perf_counter() - began
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    return None


__all__ = ["measure_start"]
