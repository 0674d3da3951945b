"""Measure 4: from a committed fact to its delivery on a unit's NATS subject.

The relay runs in a process of its own (``python -m bench.relay_process``), built by
``hub.runtime.relay.build_relay`` exactly as ``backa relay`` builds it, against a nats-server
this benchmark started (JetStream file storage, ``sync_interval: always``). As built it
keeps the children's facts in memory, brought forward with the facts it reads, and on
PostgreSQL wakes on every commit (LISTEN on the channel the recorder NOTIFYs); the last
run turns the notifications off and polls the log every 10 ms instead. Each run starts a
new relay process, so its first facts for each child read the child from the store.

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
import subprocess
import sys
import threading
import time
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


def one_run(
    runtime: Runtime, children: list[Child], env: dict[str, str], work: Path, nats_url: str, *,
    poll_interval: float | None, per_second: float, seconds: float, producers: int, listen: bool = True,
) -> dict[str, Any]:
    args = [sys.executable, "-m", "bench.relay_process"]
    if poll_interval is not None:
        args += ["--poll-interval", str(poll_interval)]
    if not listen:
        args.append("--no-listen")
    label = ("default" if poll_interval is None else f"poll{poll_interval}") + ("" if listen else "-nolisten")
    with open(work / f"relay-{label}.log", "ab") as log:
        process = subprocess.Popen(
            args, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent
        )
    subscriber = None
    try:
        subscriber = Subscriber(nats_url).start()
        probe = produce(runtime, children[:1], per_second=1, seconds=0.5, producers=1)
        wait_for(subscriber, list(probe), 90)
        if not all(f"{i}:{CARD_TO_UNIT}" in subscriber.arrivals for i in probe):
            raise RuntimeError("the relay delivered nothing within 90 s")
        produce(runtime, children, per_second=per_second, seconds=min(3.0, seconds / 4), producers=producers)  # warm-up
        committed = produce(runtime, children, per_second=per_second, seconds=seconds, producers=producers)
        wait_for(subscriber, list(committed), 30 + len(committed) / 100)
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
            "appended_per_second": rate(len(committed), seconds),
            "delivered": len(latencies),
            "missing": missing,
            "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "max": max(latencies) if latencies else float("nan"),
        }
    finally:
        if subscriber is not None:
            subscriber.stop()
        stop_process(process)


RELAY_PROFILE = (
    ("reading the log and decoding facts (read_log)", "runtime/relay.py", "read_log"),
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
    children: int = 1000, producers: int = 8, low_rate: float = 100.0,
) -> Result:
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
    try:
        say(f"[4] registering {children} children")
        kids = register_quickly(runtime, children)
        runs = {}
        variants = (
            ("goal", per_second, None, True, "relay as built (defaults)"),
            ("low", low_rate, None, True, "relay as built (defaults)"),
            ("low_poll", low_rate, 0.01, False, "relay polling only, poll_interval=10 ms, no commit notifications"),
        )
        for key, target, poll, listen, label in variants:
            say(f"[4] {label}: {target:.0f} facts/s for {seconds:.0f} s")
            r = runs[key] = one_run(
                runtime, kids, env, work, nats_server.url,
                poll_interval=poll, per_second=target, seconds=seconds, producers=producers, listen=listen,
            )
            line = (
                f"p50 {fmt_ms(r['p50'])}, p99 {fmt_ms(r['p99'])}, max {fmt_ms(r['max'])}; "
                f"{fmt_rate(r['appended_per_second'])} appended, {r['delivered']} delivered, {r['missing']} missing"
            )
            if key == "goal":
                line += f"; the relay delivered {fmt_rate(r['relay_per_second'])}"
            result.add(f"{label}, {target:.0f} facts/s asked for {seconds:.0f} s", line)
        say("[4] profiling the relay over a backlog")
        pumped, elapsed, shares = profile_relay(runtime, kids, backlog_seconds=min(3.0, seconds / 3), producers=producers)
        result.add("relay over a backlog, under the profiler", f"{pumped} facts in {elapsed:.1f} s ({fmt_rate(rate(pumped, elapsed))})")
        for label, share in shares:
            result.add(f"profile of the relay: {label}", f"{share:.0%}")
        result.add(
            "profile of the relay: the rest (publishing, awaiting JetStream's acknowledgements, tracing, the event loop)",
            f"{max(0.0, 1 - sum(x for _, x in shares)):.0%}",
        )
    finally:
        runtime.close()
    db.drop(schema)
    main = runs["goal"]
    result.ratio = main["p99"] / 0.050
    result.met = main["p99"] < 0.050 and main["missing"] == 0 and main["appended_per_second"] >= 0.95 * per_second
    result.data = runs
    return result
