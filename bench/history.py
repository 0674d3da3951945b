"""A year of history per child, and what it does to an audited read.

A year, as :func:`seed_year_of_history` plays it through the hub's own commands: the
child registered, a discovery card from the class teacher to pupil health, the
principal as Barnkontakt, a conversation with the child each quarter, a consent from
the guardian for pupil health, social services and BUP (asked again after six months),
an individual team with a support coordinator, a new version of the plan each month
with last month's action done, a follow-up every other month, and every week a read of
the child's record by the Barnkontakt, the coordinator, social services and the school
nurse, and one by the guardian: about 40 steps and 260 reads a child.

:func:`measure_history` reads year-old children and new ones (registered, discovered,
with a Barnkontakt, a conversation and a consent) in one hub on PostgreSQL, the same
reads by the same consented unit, each recorded, and compares the rates.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.env import (
    BARNKONTAKT,
    DISCOVERER,
    TENANT,
    Database,
    Result,
    card_payload,
    child_personnummer,
    conversation_payload,
    directory,
    fmt_rate,
    guardian_personnummer,
    now_utc,
    principal,
    rate,
    registration,
    say,
)
from contracts.vocabulary import Role
from hub.identity.principals import Principal
from hub.runtime.bootstrap import DEMO_REGISTER_FILE, Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings

COORDINATOR = ("eva.bjork", "elevhalsa-ystad", frozenset({Role.TEAM_MEMBER, Role.SUPPORT_COORDINATOR}))
SOCIAL_SERVICES = ("jonas.wikstrom", "soc-ystad", frozenset({Role.TEAM_MEMBER}))
SCHOOL_NURSE = ("sofia.lund", "elevhalsa-ystad", frozenset({Role.TEAM_MEMBER}))
TEAM = ["skola-vastervang", "elevhalsa-ystad", "soc-ystad"]
CONSENTED = ["identity", "needs", "conversations", "team", "ratings", "plan"]
WEEKS = 52
PURPOSE = "uppföljning av stödet"


def _guardian(runtime: Runtime, i: int) -> Principal:
    """The child's guardian, signed in through the demo issuer as the HTTP layer would."""
    if runtime.demo_issuer is None:
        raise RuntimeError("the history is played in demo mode (its guardians sign in through the demo issuer)")
    token = runtime.demo_issuer.family_token(TENANT, "guardian", guardian_personnummer(i))
    return runtime.verifier.verify(token)


def _consent(runtime: Runtime, child: UUID, guardian: Principal) -> None:
    hub = runtime.hub
    consent = hub.request_consent(
        principal(BARNKONTAKT), child,
        recipients=[{"unit_id": "elevhalsa-ystad"}, {"unit_id": "soc-ystad"}, {"unit_kind": "bup"}],
        categories=CONSENTED, purpose="Barnteam kring stödet i skolan",
    )
    hub.grant_consent(guardian, child, consent)


def _plan(month: int, today: date) -> dict[str, Any]:
    return {
        "goals": [{"area": "trygghet", "goal": f"Känna sig trygg på rasten, steg {month + 1}"}],
        "actions": [
            {"action_id": f"m{month}", "what": f"Rastvärd, månad {month + 1}", "unit_id": "skola-vastervang",
             "responsible_person": "Rektor", "due": (today + timedelta(days=28)).isoformat()},
            {"action_id": f"s{month}", "what": "Samtalsstöd", "unit_id": "elevhalsa-ystad",
             "responsible_person": "Kurator", "due": (today + timedelta(days=28)).isoformat()},
        ],
        "child_view": "Jag vill ha en vuxen på rasten",
        "guardian_view": "Vi vill veta hur det går",
        "next_follow_up": (today + timedelta(days=60)).isoformat(),
    }


def start_year(runtime: Runtime, n: int) -> UUID:
    """A new child, number ``n``: registered by the class teacher, who sends a card to pupil
    health; the principal as Barnkontakt, a conversation and the guardian's consent."""
    hub = runtime.hub
    child = UUID(str(hub.register_child(principal(DISCOVERER), **registration(n))))
    hub.submit_discovery_card(principal(DISCOVERER), child, **card_payload(n))
    hub.assign_barnkontakt(principal(BARNKONTAKT), child, staff_id=BARNKONTAKT[0])
    hub.hold_conversation(principal(BARNKONTAKT), child, **conversation_payload(n))
    _consent(runtime, child, _guardian(runtime, n))
    return child


def play_year(runtime: Runtime, child: UUID, n: int, *, week: Callable[[int], None] = lambda w: None) -> None:
    """The child's year after :func:`start_year`, week by week; ``week(w)`` is called before
    week ``w`` (to move a clock)."""
    hub = runtime.hub
    bk, coordinator = principal(BARNKONTAKT), principal(COORDINATOR)
    guardian = _guardian(runtime, n)
    readers = [bk, coordinator, principal(SOCIAL_SERVICES), principal(SCHOOL_NURSE)]
    for w in range(WEEKS):
        week(w)
        if w == 0:
            hub.decide_team(bk, child, decision="individual_team", family_informed=True, member_unit_ids=TEAM)
            hub.assign_support_coordinator(bk, child, staff_id=COORDINATOR[0])
        if w % 4 == 1:
            month = w // 4
            if month:
                hub.complete_plan_action(coordinator, child, action_id=f"m{month - 1}", note="Genomfört")
            hub.update_plan(coordinator, child, **_plan(month, hub.now().date()))
        if w % 13 == 6:
            hub.hold_conversation(bk, child, **conversation_payload(n + w))
        if w % 9 == 8:
            hub.hold_follow_up(coordinator, child, summary=f"Uppföljning vecka {w}: tryggare på rasten")
        if w == 26:
            _consent(runtime, child, guardian)
        for reader in readers:
            hub.read_child(reader, child, purpose=PURPOSE)
        hub.read_child(guardian, child, purpose="Vårdnadshavare ser sitt barns uppgifter", view="family_view")


def prepare_register(data_dir: Path, first: int, children: int) -> None:
    """Name the guardian of children ``first .. first+children-1`` as their custodian in the
    demo's population register (``population.json`` in the data folder), keeping what it
    holds. A hub in demo mode reads that file when it is there at its start, and again
    whenever it changes: call this before ``bootstrap`` for the hub that plays the year."""
    path = data_dir / DEMO_REGISTER_FILE
    known: dict[str, list[str]] = {}
    if path.exists():
        known = {c["personnummer"]: c["custodians"] for c in json.loads(path.read_text(encoding="utf-8"))["children"]}
    for n in range(first, first + children):
        known[child_personnummer(n)] = [guardian_personnummer(n)]
    data_dir.mkdir(parents=True, exist_ok=True)
    body = {"format": "backa-population-register", "version": 1,
            "children": [{"personnummer": k, "custodians": v} for k, v in sorted(known.items())]}
    path.write_text(json.dumps(body), encoding="utf-8")


def seed_year_of_history(runtime: Runtime, children: int, *, first: int = 10_000, workers: int = 8) -> list[UUID]:
    """Register ``children`` children (numbered from ``first``) and give each a year of
    history (see the module). The guardians must be confirmed by the hub's population
    register: in demo mode, the data folder's ``population.json`` is filled here, which the
    hub reads if it found that file at its start (:func:`prepare_register`). A hub whose clock can be set (:class:`SettableClock`) has it
    moved a week at a time over the year, ending a year after where it stood, one child
    after another; with any other clock the children are played side by side by
    ``workers`` threads and the year's facts all carry the clock's time. Returns the ids."""
    prepare_register(runtime.settings.data_dir, first, children)
    clock = runtime.hub.clock
    if isinstance(clock, SettableClock):
        began = clock()
        ids = []
        for n in range(first, first + children):
            clock.set(began)
            ids.append(start_year(runtime, n))
            play_year(runtime, ids[-1], n, week=lambda w: clock.set(began + timedelta(weeks=w, days=1)))
        clock.set(began + timedelta(weeks=WEEKS))
        return ids

    def one(n: int) -> UUID:
        child = start_year(runtime, n)
        play_year(runtime, child, n)
        return child

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(first, first + children), timeout=600 + 60 * children))


def seed_new(runtime: Runtime, children: int, *, first: int = 20_000) -> list[UUID]:
    """Children at the start of their year (:func:`start_year`)."""
    prepare_register(runtime.settings.data_dir, first, children)
    return [start_year(runtime, n) for n in range(first, first + children)]


def _reads(runtime: Runtime, children: list[UUID], seconds: float, threads: int) -> tuple[int, float]:
    """Audited reads of ``children`` in turn by social services (a consented team unit), from
    ``threads`` threads for ``seconds``: how many were answered, and over how long."""
    reader = principal(SOCIAL_SERVICES)
    stop = threading.Event()
    counts = [0] * threads

    def body(i: int) -> None:
        k = i
        while not stop.is_set():
            runtime.hub.read_child(reader, children[k % len(children)], purpose=PURPOSE)
            counts[i] += 1
            k += threads

    pool = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(threads)]
    began = time.perf_counter()
    for t in pool:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in pool:
        t.join(timeout=60)
    return sum(counts), time.perf_counter() - began


def measure_history(db: Database, work: Path, *, children: int = 20, seconds: float = 5.0, threads: int = 4) -> list[Result]:
    """Audited reads/s of year-old children against new children, in one hub on PostgreSQL."""
    result = Result(
        key="history",
        title="Audited reads of children with a year of history against new children (in-process)",
        goal="year-old ≥ 0.8 × new (a read costs about the same however long the record)",
        ratio_label="reads/s of year-old children ÷ reads/s of new children",
    )
    schema = db.schema("history")
    data_dir = work / "history"
    data_dir.mkdir(parents=True, exist_ok=True)
    clock = SettableClock(now_utc() - timedelta(weeks=WEEKS))
    prepare_register(data_dir, 10_000, children)
    prepare_register(data_dir, 20_000, children)
    settings = Settings(database_url=db.hub_url(schema, pool_size=threads + 2), data_dir=data_dir, demo_mode=True)
    runtime = bootstrap(settings, clock=clock, directory=directory())
    try:
        say(f"[history] playing a year for {children} children")
        began = time.perf_counter()
        old = seed_year_of_history(runtime, children, first=10_000)
        seeding = time.perf_counter() - began
        new = seed_new(runtime, children, first=20_000)
        facts = runtime.hub.log_length()
        runtime.hub.refresh_views()
        record = runtime.hub.views.record
        rows = {name: sum(len(record.items(c)) for c in ids) / len(ids) for name, ids in (("old", old), ("new", new))}
        for ids in (old, new):
            _reads(runtime, ids, min(1.0, seconds / 4), threads)  # each child's record opened once in this process
        rates = {}
        opened = {}
        for name, ids in (("new", new), ("old", old), ("new again", new)):
            before = record.rows_opened
            say(f"[history] audited reads of {name} children: {threads} threads for {seconds:.0f} s")
            n, took = _reads(runtime, ids, seconds, threads)
            rates[name] = rate(n, took)
            opened[name] = (record.rows_opened - before) / max(n, 1)
    finally:
        runtime.close()
        db.drop(schema)
    new_rate = (rates["new"] + rates["new again"]) / 2
    result.add("children", f"{children} year-old and {children} new; the log holds {facts} facts ({seeding:.0f} s to play the years)")
    result.add("record items per child", f"year-old {rows['old']:.0f}, new {rows['new']:.0f}")
    result.add("new children", f"{fmt_rate(new_rate)} ({opened['new']:.2f} record rows opened a read)")
    result.add("year-old children", f"{fmt_rate(rates['old'])} ({opened['old']:.2f} record rows opened a read)")
    result.ratio = rates["old"] / new_rate if new_rate else None
    result.met = result.ratio is not None and result.ratio >= 0.8
    result.data.update(new=new_rate, old=rates["old"], items_old=rows["old"], items_new=rows["new"], opened=opened)
    return [result]


def _main() -> None:
    """``python -m bench.history [children] [seconds]``: this measure alone, on the bench database."""
    import os
    import sys
    import tempfile

    from bench.env import DEFAULT_DATABASE_URL

    db = Database(os.environ.get("BACKA_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    children = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    try:
        with tempfile.TemporaryDirectory() as work:
            for r in measure_history(db, Path(work), children=children, seconds=seconds):
                print(r.title)
                for label, value in r.lines:
                    print(f"  {label}: {value}")
                print(f"  {r.ratio_label}: {r.ratio:.2f} ({r.verdict()})")
    finally:
        db.drop_all()


if __name__ == "__main__":
    _main()


__all__ = ["measure_history", "play_year", "seed_new", "seed_year_of_history", "start_year"]
