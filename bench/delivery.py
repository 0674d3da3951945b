"""Measure 4: from a committed fact to its delivery on a unit's NATS subject.

The relay runs in 1, 2 and 4 processes of its own (``python -m bench.relay_process
--partition I/N``), each built by ``hub.runtime.relay.build_relay`` exactly as ``backa
relay --partition I/N`` builds it and delivering for the children of its partition,
against a nats-server this benchmark started (JetStream file storage, ``sync_interval:
always``). Before each run the positions are re-partitioned for its number of processes
as ``backa relay --repartition N`` does. As built a relay keeps its children's facts in
memory, brought forward with the facts it reads, and on PostgreSQL wakes on every commit
(LISTEN on the channel the recorder NOTIFYs); a last run turns the notifications off and
polls the log every 10 ms instead. Each run starts new relay processes, so their first
facts for each child read the child from the store. Each number of processes is also
timed over a backlog appended while no relay ran: the rate they deliver at together.

The rate each number of processes holds is found on one set of relay processes, with
every child read into their memory first, stepped through 50, 100, 200, 400, 700, 1,000 and
1,500 facts a second, each level after a second's warm-up at its own rate, up to the first
whose p99 is 50 ms or more (or that misses a fact, or that the producers cannot append).

Facts are appended at a steady 1,000 per second: ``producers`` threads, each paced,
make discovery cards with the child aggregate's own verb and append them through the
hub's group commit (the path every command's facts take, without the command's load,
guards and view update, which on this machine cannot run 1,000 times a second). Each
card goes from a school to pupil health, so both units are entitled to it.

The receiving end is a JetStream ordered consumer on pupil health's subjects
(``backa.v1.ystad.elevhalsa-ystad.>``) in this process. A fact's latency is the time
from the return of its commit to the arrival of its message, matched by the message id
the relay sets (``<event id>:<unit>``). Only facts committed inside the measured window
count; after it the benchmark waits for their deliveries and reports any that never came.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
from nats.js.api import DeliverPolicy

from adapters.sealed_box import generate_key_pair
from bench.env import (
    ADMIN,
    CARD_TO_UNIT,
    DISCOVERER,
    TENANT,
    Database,
    NatsServer,
    Result,
    card_payload,
    child_personnummer,
    directory,
    fmt_ms,
    fmt_rate,
    guardian_personnummer,
    join_all,
    percentile,
    principal,
    profile_shares,
    rate,
    say,
    stop_process,
)
from contracts.events import Guardian
from contracts.vocabulary import CardKind
from hub.domain.child import Child
from hub.identity.personnummer import parse_identity_number
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.settings import Settings

SUBJECT = f"backa.v1.{TENANT}.{CARD_TO_UNIT}.>"


def register_quickly(runtime: Runtime, count: int, *, batch: int = 250) -> list[Child]:
    """Children registered with the aggregate's own verb and appended through the group
    commit in batches (the command's guards add nothing here); returned in memory."""
    hub = runtime.hub
    actor = hub._actor(principal(ADMIN))
    children: list[Child] = []
    pending: list[Any] = []
    for i in range(count):
        number = parse_identity_number(child_personnummer(i))
        g_number = parse_identity_number(guardian_personnummer(i))
        child = Child.register(
            child_id=hub.blind_index.child_id(TENANT, number),
            tenant_id=TENANT,
            actor=actor,
            at=hub.now(),
            given_name=f"Barn{i}",
            family_name="Bänkdal",
            personnummer=number.digits,
            birth_date=number.birth_date,
            guardians=[
                Guardian(
                    guardian_id=hub.blind_index.guardian_id(TENANT, g_number),
                    name=f"Förälder{i}",
                    personnummer=g_number.digits,
                    has_custody=True,
                )
            ],
        )
        pending.extend(child.collect_events())
        children.append(child)
        if len(pending) >= batch:
            hub.committer.commit(pending)
            pending = []
    if pending:
        hub.committer.commit(pending)
    return children


class Subscriber:
    """An ordered JetStream consumer on one unit's subjects, in a thread of its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.arrivals: dict[str, float] = {}
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, timeout: float = 30.0) -> Subscriber:
        self._thread.start()
        if not self.ready.wait(timeout):
            self.stop()
            raise RuntimeError(self.error and type(self.error).__name__ or "the subscriber did not start")
        if self.error is not None:
            raise RuntimeError(f"the subscriber failed: {type(self.error).__name__}: {self.error}")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # noqa: BLE001 - reported to the caller
            self.error = e
            self.ready.set()

    async def _main(self) -> None:
        nc = await nats.connect(self.url, name="bench-subscriber")
        try:
            js = nc.jetstream()
            deadline = time.monotonic() + 30
            while True:  # the relay creates the stream when it starts
                try:
                    await js.stream_info("BACKA")
                    break
                except Exception:  # noqa: BLE001 - not there yet
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)

            async def arrived(msg: Any) -> None:
                at = time.perf_counter()
                msg_id = (msg.headers or {}).get("Nats-Msg-Id")
                if msg_id:
                    self.arrivals.setdefault(msg_id, at)

            await js.subscribe(SUBJECT, cb=arrived, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)
            self.ready.set()
            while not self._stop.is_set():  # noqa: ASYNC110 - a threading.Event, set from the measuring thread
                await asyncio.sleep(0.05)
        finally:
            await nc.close()


def produce(runtime: Runtime, children: list[Child], *, per_second: float, seconds: float, producers: int) -> dict[UUID, float]:
    """Append one card per ``1/per_second`` s for ``seconds``; return each fact's commit time."""
    hub = runtime.hub
    actor = hub._actor(principal(DISCOVERER))
    committed: dict[UUID, float] = {}
    interval = producers / per_second
    began = time.perf_counter()
    end = began + seconds
    errors: list[BaseException] = []

    def run(i: int) -> None:
        mine = children[i::producers]
        k = 0
        due = began + i * interval / producers
        try:
            while True:
                now = time.perf_counter()
                if now >= end:
                    return
                if now < due:
                    time.sleep(due - now)
                child = mine[k % len(mine)]
                child.submit_discovery_card(actor=actor, at=hub.now(), kind=CardKind.INTERNAL, **card_payload(k))
                facts = child.collect_events()
                hub.committer.commit(facts)
                done = time.perf_counter()
                for f in facts:
                    committed[f.fact.event_id] = done
                k += 1
                due += interval
        except BaseException as e:  # noqa: BLE001 - reported after the run
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(producers)]
    for t in threads:
        t.start()
    join_all(threads, "the paced appends", grace=seconds + 60)
    if errors:
        raise errors[0]
    return committed


def wait_for(subscriber: Subscriber, ids: list[UUID], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    wanted = [f"{i}:{CARD_TO_UNIT}" for i in ids]
    while time.monotonic() < deadline:
        if all(w in subscriber.arrivals for w in wanted):
            return
        time.sleep(0.05)


def start_relays(
    env: dict[str, str], work: Path, *, processes: int, poll_interval: float | None = None, listen: bool = True
) -> list[subprocess.Popen[bytes]]:
    """``processes`` relay processes, partition ``i`` of ``processes`` each (one: the relay as built)."""
    args = [sys.executable, "-m", "bench.relay_process"]
    if poll_interval is not None:
        args += ["--poll-interval", str(poll_interval)]
    if not listen:
        args.append("--no-listen")
    label = ("default" if poll_interval is None else f"poll{poll_interval}") + ("" if listen else "-nolisten")
    started = []
    for i in range(processes):
        shard = ["--partition", f"{i}/{processes}"] if processes > 1 else []
        with open(work / f"relay-{label}-{i}of{processes}.log", "ab") as log:
            started.append(
                subprocess.Popen(
                    args + shard, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                    cwd=Path(__file__).resolve().parent.parent,
                )
            )
    return started


def partitioned(runtime: Runtime, processes: int) -> None:
    """Store the positions for ``processes`` relays at the log's end, as ``backa relay
    --repartition`` does (what the previous relays left undelivered is delivered first)."""
    from hub.runtime.relay import repartition

    asyncio.run(repartition(runtime, processes))


def one_run(
    runtime: Runtime, children: list[Child], env: dict[str, str], work: Path, nats_url: str, *,
    poll_interval: float | None, per_second: float, seconds: float, producers: int, listen: bool = True, processes: int = 1,
) -> dict[str, Any]:
    partitioned(runtime, processes)
    relays = start_relays(env, work, processes=processes, poll_interval=poll_interval, listen=listen)
    subscriber = None
    try:
        subscriber = Subscriber(nats_url).start()
        probe(runtime, children, subscriber, processes)
        produce(runtime, children, per_second=per_second, seconds=min(3.0, seconds / 4), producers=producers)  # warm-up
        committed = produce(runtime, children, per_second=per_second, seconds=seconds, producers=producers)
        wait_for(subscriber, list(committed), 30 + len(committed) / 100)
        return {**delivered(subscriber, committed), "appended_per_second": rate(len(committed), seconds), "processes": processes}
    finally:
        if subscriber is not None:
            subscriber.stop()
        for process in relays:
            stop_process(process)


def probe(runtime: Runtime, children: list[Child], subscriber: Subscriber, processes: int) -> None:
    """A card for one child of each partition, waited for: every relay process is up."""
    from adapters.relay_partition import partition_of

    firsts = {partition_of(c.id, processes): c for c in reversed(children)}
    if len(firsts) < processes:
        raise RuntimeError("too few children for every partition to own one")
    sent = [i for c in firsts.values() for i in produce(runtime, [c], per_second=1, seconds=0.5, producers=1)]
    wait_for(subscriber, sent, 90)
    if not all(f"{i}:{CARD_TO_UNIT}" in subscriber.arrivals for i in sent):
        raise RuntimeError("the relay processes did not all deliver within 90 s")


def delivered(subscriber: Subscriber, committed: dict[UUID, float]) -> dict[str, Any]:
    """Latency from each commit to its arrival, and the rate the relays delivered at."""
    latencies, missing, last_arrival = [], 0, 0.0
    for event_id, at in committed.items():
        arrived = subscriber.arrivals.get(f"{event_id}:{CARD_TO_UNIT}")
        if arrived is None:
            missing += 1
        else:
            latencies.append(arrived - at)
            last_arrival = max(last_arrival, arrived)
    span = last_arrival - min(committed.values(), default=last_arrival)
    return {
        "relay_per_second": rate(len(latencies), span),
        "delivered": len(latencies),
        "missing": missing,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies) if latencies else float("nan"),
    }


def drain_run(
    runtime: Runtime, children: list[Child], env: dict[str, str], work: Path, nats_url: str, *,
    backlog_seconds: float, producers: int, processes: int,
) -> dict[str, Any]:
    """A backlog appended while the relay processes are paused (SIGSTOP, once each has
    delivered a first fact), then delivered by them together once they go on (SIGCONT):
    the rate they deliver at when nothing else holds them back, their start aside."""
    partitioned(runtime, processes)
    subscriber = Subscriber(nats_url).start()
    relays = start_relays(env, work, processes=processes)
    try:
        probe(runtime, children, subscriber, processes)
        for process in relays:
            process.send_signal(signal.SIGSTOP)
        committed = produce(runtime, children, per_second=5000, seconds=backlog_seconds, producers=producers)
        began = time.perf_counter()
        for process in relays:
            process.send_signal(signal.SIGCONT)
        wait_for(subscriber, list(committed), 60 + len(committed) / 100)
        got = [a for i in committed if (a := subscriber.arrivals.get(f"{i}:{CARD_TO_UNIT}")) is not None]
        return {
            "processes": processes,
            "backlog": len(committed),
            "missing": len(committed) - len(got),
            "drained_per_second": rate(len(got), max(got, default=began) - began),
        }
    finally:
        for process in relays:
            process.send_signal(signal.SIGCONT)
            stop_process(process)
        subscriber.stop()


HELD_RATES = (50.0, 100.0, 200.0, 400.0, 700.0, 1000.0, 1500.0)
"""The rates tried in turn, lowest first, for the rate each number of relay processes holds."""

MIN_FACTS = 500
"""Facts a level of the rates measures at least (over at most 10 s), so a low rate's p99 is
not one stray sample."""


def held(r: dict[str, Any], target: float) -> bool:
    """A level is held when every fact arrived, the p99 stayed under 50 ms and the producers
    appended at (nearly) the rate asked for."""
    return r["p99"] < 0.050 and not r["missing"] and r["appended_per_second"] >= 0.95 * target


def touch_all(runtime: Runtime, children: list[Child], *, batch: int = 50) -> list[UUID]:
    """A card for every child, appended in group commits of ``batch``: the relays read each
    child once here, not in the measured window. Returns the cards' event ids."""
    hub = runtime.hub
    actor = hub._actor(principal(DISCOVERER))
    ids: list[UUID] = []
    pending: list[Any] = []
    for k, child in enumerate(children):
        child.submit_discovery_card(actor=actor, at=hub.now(), kind=CardKind.INTERNAL, **card_payload(k))
        pending.extend(child.collect_events())
        if len(pending) >= batch or k == len(children) - 1:
            hub.committer.commit(pending)
            ids.extend(f.fact.event_id for f in pending)
            pending = []
    return ids


def held_rate(
    runtime: Runtime, children: list[Child], env: dict[str, str], work: Path, nats_url: str, *,
    processes: int, ladder: Sequence[float], seconds: float, producers: int, runs: dict[str, Any],
) -> tuple[float, str, list[float]]:
    """The highest rate of ``ladder``, tried lowest first on the same relay processes (started
    once, with every child read into their memory before the first level), whose p99 stays
    under 50 ms; stops at the first that is not held. Returns it, what broke and the rates tried."""
    partitioned(runtime, processes)
    relays = start_relays(env, work, processes=processes)
    subscriber = None
    best, broke, tried = 0.0, "", []
    try:
        subscriber = Subscriber(nats_url).start()
        probe(runtime, children, subscriber, processes)
        wait_for(subscriber, touch_all(runtime, children), 120)  # every child in the relays' memory first
        for target in sorted(ladder):
            say(f"[4] {processes} relay process(es): {target:.0f} facts/s, held under 50 ms?")
            tried.append(target)
            produce(runtime, children, per_second=target, seconds=1.0, producers=producers)  # warm-up at this rate
            window = min(10.0, max(seconds, MIN_FACTS / target))  # a p99 of no fewer than MIN_FACTS facts
            committed = produce(runtime, children, per_second=target, seconds=window, producers=producers)
            wait_for(subscriber, list(committed), 30 + len(committed) / 100)
            r = runs[f"held_{processes}_{target:g}"] = {
                **delivered(subscriber, committed), "appended_per_second": rate(len(committed), window), "processes": processes,
            }
            if not held(r, target):
                broke = f" (at {target:.0f}/s: p99 {fmt_ms(r['p99'])}, {fmt_rate(r['appended_per_second'])} appended)"
                break
            best = target
    finally:
        if subscriber is not None:
            subscriber.stop()
        for process in relays:
            stop_process(process)
    return best, broke, tried


RELAY_PROFILE = (
    ("reading the log and decoding facts (read_log; in a thread of its own beside the sealing, not profiled here)",
     "runtime/relay.py", "read_log"),
    ("bringing each child's facts in memory forward with the facts read (advance)", "runtime/relay.py", "advance"),
    ("the children's facts for the policy, from memory or read once (facts_for)", "runtime/relay.py", "facts_for"),
    ("deciding what each unit may see (plan_deliveries)", "adapters/deliveries.py", "plan_deliveries"),
    ("sealing and encoding each delivery (encode_sealed)", "adapters/cloudevents_codec.py", "encode_sealed"),
    ("recording the position", "adapters/jetstream_relay.py", "record"),
)


def profile_relay(
    runtime: Runtime, children: list[Child], *, backlog_seconds: float, producers: int
) -> tuple[int, float, list[tuple[str, float]]]:
    """A backlog appended while no relay runs, then delivered by one ``pump`` of a relay built
    in this process by ``build_relay`` (resuming from the position the relay process kept),
    under cProfile. The relay starts with no child in memory, so ``advance`` includes
    reading each child once. What is not in the listed groups is mostly publishing, waiting
    for JetStream's acknowledgements, tracing and the event loop."""
    from hub.runtime.relay import build_relay

    produce(runtime, children, per_second=5000, seconds=backlog_seconds, producers=producers)
    relay = build_relay(runtime)

    async def pump() -> int:
        try:
            await relay.start()
            return await relay.pump()
        finally:
            await relay.close()

    try:
        pumped, elapsed, shares, _ = profile_shares(lambda: asyncio.run(pump()), RELAY_PROFILE)
    finally:
        close = getattr(relay.positions, "close", None)
        if close is not None:
            close()
    return pumped, elapsed, shares


def measure(
    db: Database, work: Path, nats_server: NatsServer | None, *, per_second: float, seconds: float,
    children: int = 1000, producers: int = 8, low_rate: float = 100.0, processes: Sequence[int] = (1, 2, 4),
    quick: bool = False, held_rates: Sequence[float] | None = None,
) -> Result:
    """The relay with 1, 2 and 4 processes (``processes``) at ``per_second`` side by side,
    each also over a backlog and, unless ``quick``, at the rates of ``held_rates`` (default
    :data:`HELD_RATES`) in turn while the p99 stays under 50 ms; then, unless
    ``quick``, one relay at ``low_rate``, woken on commits and polling, and one relay under
    the profiler."""
    ladder = tuple(held_rates) if held_rates is not None else (() if quick else HELD_RATES)
    result = Result(
        key="delivery",
        title="From commit to delivery on a unit's NATS subject",
        goal="p99 < 50 ms at 1,000 events per second",
        ratio_label="p99 ÷ 50 ms",
    )
    if nats_server is None:
        result.notes.append("not measured: no nats-server could be started")
        return result
    schema = db.schema("delivery")
    data_dir = work / "delivery"
    keys = work / "delivery-keys"
    data_dir.mkdir(parents=True, exist_ok=True)
    area = directory()
    area.save(data_dir / "directory.json")
    for unit in area.tenants[TENANT].units:
        generate_key_pair(unit, keys)
    url = db.hub_url(schema, pool_size=producers + 2, max_overflow=producers)
    key_file = data_dir.parent / "delivery.transparency.key"
    witness = data_dir.parent / "delivery.witness"
    witness.mkdir(exist_ok=True)
    settings = Settings(
        database_url=url, data_dir=data_dir, nats_url=nats_server.url, unit_keys_dir=keys, kek=db.kek, checkpoint_key_file=key_file,
        witness_dir=witness,
    )
    env = {
        "BACKA_DATABASE_URL": url,
        "BACKA_KEK": db.kek,
        "BACKA_CHECKPOINT_KEY_FILE": str(key_file),
        "BACKA_WITNESS_DIR": str(witness),
        "BACKA_DATA_DIR": str(data_dir),
        "BACKA_NATS_URL": nats_server.url,
        "BACKA_UNIT_KEYS_DIR": str(keys),
    }
    runtime = bootstrap(settings, directory=area)
    runs: dict[str, Any] = {}
    try:
        say(f"[4] registering {children} children")
        kids = register_quickly(runtime, children)
        for n in processes:
            say(f"[4] {n} relay process(es): {per_second:.0f} facts/s for {seconds:.0f} s")
            r = runs[f"goal_{n}"] = one_run(
                runtime, kids, env, work, nats_server.url,
                poll_interval=None, per_second=per_second, seconds=seconds, producers=producers, processes=n,
            )
            result.add(
                f"{n} relay process(es), {per_second:.0f} facts/s asked for {seconds:.0f} s",
                f"p50 {fmt_ms(r['p50'])}, p99 {fmt_ms(r['p99'])}, max {fmt_ms(r['max'])}; {fmt_rate(r['appended_per_second'])} "
                f"appended, {r['delivered']} delivered, {r['missing']} missing; delivered {fmt_rate(r['relay_per_second'])}",
            )
        backlog = min(2.0, seconds / 4) if quick else min(5.0, seconds / 2)
        for n in processes:
            say(f"[4] {n} relay process(es) over a backlog")
            d = runs[f"drain_{n}"] = drain_run(
                runtime, kids, env, work, nats_server.url, backlog_seconds=backlog, producers=producers, processes=n
            )
            result.add(
                f"{n} relay process(es) over a backlog of {d['backlog']} facts",
                f"{fmt_rate(d['drained_per_second'])}, {d['missing']} missing",
            )
        for n in processes if ladder else ():
            held, broke, tried = held_rate(
                runtime, kids, env, work, nats_server.url, processes=n, ladder=ladder, seconds=min(seconds, 5.0),
                producers=producers, runs=runs,
            )
            runs[f"held_{n}"] = held
            result.add(
                f"{n} relay process(es): the highest rate of {', '.join(f'{x:.0f}' for x in tried)} facts/s "
                "held with p99 under 50 ms",
                (f"{held:.0f} facts/s" if held else "none") + broke,
            )
        first = processes[0]
        for n in processes[1:]:
            result.add(
                f"{n} processes against {first}: p99 at {per_second:.0f} facts/s, and rate over a backlog",
                f"{runs[f'goal_{n}']['p99'] / runs[f'goal_{first}']['p99']:.2f} × the p99, "
                f"{runs[f'drain_{n}']['drained_per_second'] / max(runs[f'drain_{first}']['drained_per_second'], 1e-9):.2f} × the rate",
            )
        if not quick:
            for key, target, poll, listen, label in (
                ("low", low_rate, None, True, "one relay as built (defaults)"),
                ("low_poll", low_rate, 0.01, False, "one relay polling only, poll_interval=10 ms, no commit notifications"),
            ):
                say(f"[4] {label}: {target:.0f} facts/s for {seconds:.0f} s")
                r = runs[key] = one_run(
                    runtime, kids, env, work, nats_server.url,
                    poll_interval=poll, per_second=target, seconds=seconds, producers=producers, listen=listen,
                )
                result.add(
                    f"{label}, {target:.0f} facts/s asked for {seconds:.0f} s",
                    f"p50 {fmt_ms(r['p50'])}, p99 {fmt_ms(r['p99'])}, max {fmt_ms(r['max'])}; {r['delivered']} delivered, "
                    f"{r['missing']} missing",
                )
            say("[4] profiling one relay over a backlog")
            partitioned(runtime, 1)
            pumped, elapsed, shares = profile_relay(runtime, kids, backlog_seconds=min(3.0, seconds / 3), producers=producers)
            result.add(
                "one relay over a backlog, under the profiler", f"{pumped} facts in {elapsed:.1f} s ({fmt_rate(rate(pumped, elapsed))})"
            )
            for label, share in shares:
                result.add(f"profile of the relay: {label}", f"{share:.0%}")
            result.add(
                "profile of the relay: the rest (publishing, awaiting JetStream's acknowledgements, tracing, the event loop)",
                f"{max(0.0, 1 - sum(x for _, x in shares)):.0%}",
            )
    finally:
        runtime.close()
    db.drop(schema)
    best = min((runs[f"goal_{n}"] for n in processes), key=lambda r: r["p99"])
    result.ratio = best["p99"] / 0.050
    result.met = best["p99"] < 0.050 and best["missing"] == 0 and best["appended_per_second"] >= 0.95 * per_second
    result.data = runs
    return result
