"""``python -m bench``: the whole benchmark in one run; see ``bench/__init__.py``."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.env import DEFAULT_DATABASE_URL, Database, NatsServer, Result, fmt_ms, fmt_rate, machine, now_utc, say

MEASURES = ("commands", "http", "load", "history", "delivery", "rebuild", "start", "checkpoint")
ROOT = Path(__file__).resolve().parent.parent


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description="Backa barnet hub: the side-by-side benchmark.")
    p.add_argument("--database-url", default=os.environ.get("BACKA_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
                   help=f"PostgreSQL to run on (default {DEFAULT_DATABASE_URL}); schemas of this run are dropped after it")
    p.add_argument("--events", type=int, default=None,
                   help="events in the log the rebuild and the start read (default 1 000 000; 50 000 with --quick)")
    p.add_argument("--seconds", type=float, default=None, help="measured seconds per load level (default 10; 4 with --quick)")
    p.add_argument("--threads", type=int, default=16, help="threads for measure 1 (default 16)")
    p.add_argument("--rebuild-budget", type=float, default=None, help="seconds the rebuild may run (default 240; 20 with --quick)")
    p.add_argument("--ready-budget", type=float, default=None,
                   help="seconds a start may wait for /ready while its views catch up (default 300; 60 with --quick)")
    p.add_argument("--rate", type=float, default=1000.0, help="facts per second for the delivery goal (default 1000)")
    p.add_argument("--only", default=",".join(MEASURES), help=f"comma-separated subset of {','.join(MEASURES)}")
    p.add_argument("--quick", action="store_true", help="a short run to check that everything works")
    p.add_argument("--write-docs", nargs="?", const=str(ROOT / "docs" / "benchmarks.md"), default=None, metavar="PATH",
                   help="write the results into docs/benchmarks.md (or PATH)")
    args = p.parse_args(argv)
    args.events = args.events or (50_000 if args.quick else 1_000_000)
    args.seconds = args.seconds or (4.0 if args.quick else 10.0)
    args.rebuild_budget = args.rebuild_budget or (20.0 if args.quick else 240.0)
    args.ready_budget = args.ready_budget or (60.0 if args.quick else 300.0)
    args.only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = set(args.only) - set(MEASURES)
    if unknown:
        p.error(f"unknown measure(s): {', '.join(sorted(unknown))}")
    if args.events < 1 or args.seconds <= 0 or args.threads < 1:
        p.error("--events, --seconds and --threads must be positive")
    return args


def not_measured(key: str, title: str, goal: str, error: BaseException) -> Result:
    r = Result(key=key, title=title, goal=goal)
    r.notes.append(f"not measured: {type(error).__name__}: {error}")
    r.data["measured"] = False
    return r


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>` prints every thread's stack
    # The measures register children that no population register knows: the hub says so once per child.
    logging.getLogger("hub.identity.population").setLevel(logging.ERROR)
    started, began = now_utc(), time.perf_counter()
    db = Database(args.database_url)
    try:
        version = db.check()
    except Exception as e:  # noqa: BLE001 - a missing database ends the run with a clear message
        say(f"bench: PostgreSQL cannot be reached ({type(e).__name__}); start it or pass --database-url")
        return 2
    say(f"bench: run {db.run_id} on PostgreSQL {version}; measures: {', '.join(args.only)}")
    box = machine(db)
    work = Path(tempfile.mkdtemp(prefix="backa-bench-"))
    results: list[Result] = []
    nats: NatsServer | None = None
    nats_error: BaseException | None = None

    def run(key: str, title: str, goal: str, body: Callable[[], list[Result]]) -> None:
        if key not in args.only:
            return
        t = time.perf_counter()
        try:
            results.extend(body())
        except Exception as e:  # noqa: BLE001 - one failed measure is reported, the others still run
            traceback.print_exc(file=sys.stderr)
            results.append(not_measured(key, title, goal, e))
        say(f"bench: {key} took {time.perf_counter() - t:.0f} s")

    try:
        from bench import commands, over_http

        run("commands", "Consent-gated commands against the library's raw single saves", "hub ≥ raw single saves",
            lambda: [commands.measure(db, work, threads=args.threads, seconds=args.seconds * 1.5)])
        run("http", "Commands and audited reads over HTTP", "",
            lambda: list(over_http.measure(db, work, levels=(50, 200), seconds=args.seconds, read_clients=50)))
        run("load", "Mixed load over HTTP at 10, 50 and 200 clients, a trivial endpoint, one and two workers",
            "200 clients ≥ 0.9 × 50; audited reads ≥ 0.1 × trivial; 2 workers ≥ 1.6 × 1",
            lambda: _load(db, work, args))
        run("history", "Audited reads of children with a year of history against new children",
            "year-old ≥ 0.8 × new", lambda: _history(db, work, args))
        if "delivery" in args.only:
            try:
                nats = NatsServer(work / "nats").start()
            except Exception as e:  # noqa: BLE001 - reported as not measured
                nats_error = e
        run("delivery", "From commit to delivery on a unit's NATS subject",
            "p99 < 50 ms at 1,000 events per second, or the rate held at that p99 with 1, 2 and 4 processes",
            lambda: [_delivery(db, work, nats, nats_error, args)])
        if nats is not None:
            nats.stop()
            nats = None
        shared_log = None
        if "rebuild" in args.only and "start" in args.only:
            shared_log = db.keep(REBUILD_LOG)  # the start reads the log the rebuild filled instead of filling another
        run("rebuild", "Rebuilding the views from a long log, against the library's raw read rate",
            "rebuild ≥ 0.5 × raw subscription read rate", lambda: [_rebuild(db, work, args)])
        run("start", "The hub's start on a long log with empty views", "/health within 1 s of starting",
            lambda: _start(db, work, args, shared_log))
        if shared_log is not None:
            db.release(shared_log)
            db.drop(shared_log)
        from bench import checkpoint_page

        run("checkpoint", "The auditors' checkpoint page against a full recomputation per visit",
            "full ÷ incremental ≥ 10", lambda: [checkpoint_page.measure(db, work, events=min(args.events, 200_000))])
    finally:
        if nats is not None:
            nats.stop()
        db.drop_all()
        shutil.rmtree(work, ignore_errors=True)

    from bench.report import markdown, terminal

    elapsed = time.perf_counter() - began
    print(terminal(results), flush=True)
    say(f"bench: done in {elapsed / 60:.1f} min")
    if args.write_docs:
        command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        settings = {
            "events": f"{args.events:,}".replace(",", " "), "seconds per level": f"{args.seconds:g}",
            "threads": args.threads, "rebuild budget": f"{args.rebuild_budget:g} s", "ready budget": f"{args.ready_budget:g} s",
            "delivery rate": f"{args.rate:g}/s",
        }
        path = Path(args.write_docs)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = markdown(results, box, command=command.strip(), started=started, seconds=elapsed, settings=settings)
        path.write_text(text, encoding="utf-8")
        say(f"bench: results written to {path}")
    return 0


def _load(db: Database, work: Path, args: argparse.Namespace) -> list[Result]:
    from bench import load

    return load.measure(db, work, levels=(10, 50, 200), seconds=args.seconds, read_children=10 if args.quick else 50)


def _history(db: Database, work: Path, args: argparse.Namespace) -> list[Result]:
    from bench.history import measure_history

    return measure_history(db, work, children=5 if args.quick else 20, seconds=args.seconds / 2)


REBUILD_LOG = "rebuild_log"
"""The label of the rebuild's schema (``bench.rebuild``), whose log the start measure reads."""


def _rebuild(db: Database, work: Path, args: argparse.Namespace) -> Result:
    from bench import rebuild

    r = rebuild.measure(db, work, events=args.events, budget=args.rebuild_budget, profile_seconds=4.0 if args.quick else 8.0)
    d = r.data
    if d.get("rebuild_1") and d.get("rebuild_2"):
        r.figure = (f"1 → 2 processes {d['scaling']:.2f} × ({fmt_rate(d['rebuild_1'])} → {fmt_rate(d['rebuild_2'])}, "
                    f"raw {fmt_rate(d['subscription'])})")
    return r


def _start(db: Database, work: Path, args: argparse.Namespace, shared_log: str | None) -> list[Result]:
    from bench.start import RebuiltLog, measure_start

    log = RebuiltLog.find(db, work, shared_log) if shared_log is not None else None
    return measure_start(db, work, args.events, ready_budget=args.ready_budget, log=log)


def _delivery(db: Database, work: Path, nats: NatsServer | None, error: BaseException | None, args: argparse.Namespace) -> Result:
    from bench import delivery

    if nats is None:
        r = delivery.measure(db, work, None, per_second=args.rate, seconds=args.seconds, quick=args.quick)
        if error is not None:
            r.notes[:] = [f"not measured: the nats-server could not be started ({type(error).__name__}: {error})"]
        r.data["measured"] = False
        return r
    held = QUICK_HELD_RATES if args.quick else None
    r = delivery.measure(db, work, nats, per_second=args.rate, seconds=args.seconds, quick=args.quick, held_rates=held)
    return _relay_figure(r, args.rate)


QUICK_HELD_RATES = (250.0,)
"""The quick run tries one rate below the goal's for the rate each number of relays holds."""


def _relay_figure(r: Result, per_second: float) -> Result:
    """The goal's other half for the summary: the rates held with p99 under 50 ms, side by side."""
    counts = sorted(int(k.split("_")[1]) for k in r.data if k.startswith("goal_"))
    p99 = " / ".join(fmt_ms(r.data[f"goal_{n}"]["p99"]) for n in counts)
    r.figure = f"p99 at {fmt_rate(per_second)} with {' / '.join(map(str, counts))} processes: {p99}"
    held = [r.data[f"held_{n}"] for n in counts if f"held_{n}" in r.data]
    if len(held) == len(counts) and counts:
        r.figure += f"; held with p99 < 50 ms: {' / '.join(f'{h:.0f}' if h else 'none' for h in held)} facts/s"
        r.reported = True
    return r


if __name__ == "__main__":
    sys.exit(main())
