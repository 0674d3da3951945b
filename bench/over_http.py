"""Measures 2 and 3: commands and audited reads over HTTP.

The hub runs as ``python -m bench.server`` (uvicorn, one worker) on a free loopback
port against its own PostgreSQL schema. The load comes from this process: ``clients``
concurrent ``aiohttp`` connections (:class:`bench.env.LoadClient`), each sending its next request as soon as
the last is answered, for a fixed time after a short warm-up. Both ends share the
machine's cores with PostgreSQL, as they would on a small server.

2. Commands: each client alternately submits a discovery card and records a
   conversation for a child of its own, at 50 and at 200 clients.
3. Reads: each client reads a child's record as its Barnkontakt. The same reads go to
   a server that records each read (the default) and to one started with
   ``BACKA_RECORD_READS=false``; the ratio of their rates is the cost of auditing.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from bench.commands import register_children
from bench.env import (
    BARNKONTAKT,
    DISCOVERER,
    TENANT,
    Answer,
    Database,
    LoadClient,
    LoadError,
    Result,
    card_payload,
    conversation_payload,
    directory,
    fmt_ms,
    fmt_rate,
    percentile,
    principal,
    rate,
    say,
)
from bench.load import Server
from hub.identity.tokens import DemoIssuer
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import system_clock
from hub.runtime.settings import Settings

READ_CHILDREN = 50
"""Children that only the read measure touches, so both servers read the same records."""


@dataclass
class Load:
    ok: int
    seconds: float
    latencies: list[float]
    statuses: Counter[int | str]
    """HTTP status codes, and the names of transport errors for requests that got no answer."""
    client_cpu: float = 0.0
    """The load generator's own CPU, as a share of one core over the whole drive."""

    @property
    def per_second(self) -> float:
        return rate(self.ok, self.seconds)

    def summary(self) -> str:
        failed = sum(n for s, n in self.statuses.items() if not _ok(s))
        text = (
            f"{fmt_rate(self.per_second)}, p50 {fmt_ms(percentile(self.latencies, 50))}, "
            f"p99 {fmt_ms(percentile(self.latencies, 99))}"
        )
        text += f"; the load generator (aiohttp) used {self.client_cpu:.0%} of a core"
        if failed:
            text += f", {failed} failed ({', '.join(f'{s} ×{n}' for s, n in sorted(self.statuses.items(), key=str) if not _ok(s))})"
        return text


def _ok(status: int | str) -> bool:
    return isinstance(status, int) and 200 <= status < 300


Request = Callable[[LoadClient, int, int], Awaitable[Answer]]
"""``request(client, client_index, n)``: send the client's ``n``-th request, return the response."""


async def _drive(base: str, clients: int, seconds: float, warmup: float, request: Request) -> Load:
    async with LoadClient(base, clients) as http:
        began = time.perf_counter()
        measure_from = began + warmup
        deadline = measure_from + seconds
        latencies: list[float] = []
        statuses: Counter[int | str] = Counter()

        async def one_client(i: int) -> None:
            n = 0
            while True:
                sent = time.perf_counter()
                if sent >= deadline:
                    return
                status: int | str
                try:
                    response = await request(http, i, n)
                    status = response.status_code
                except LoadError as e:
                    status = str(e)
                done = time.perf_counter()
                n += 1
                if measure_from <= done <= deadline:  # answers are counted when they arrive inside the window
                    statuses[status] += 1
                    if _ok(status):
                        latencies.append(done - sent)
                if status == 503:
                    await asyncio.sleep(0.01)  # a refused client backs off a little, as in the mixed load

        await asyncio.gather(*(one_client(i) for i in range(clients)))
    ok = sum(n for s, n in statuses.items() if _ok(s))
    return Load(ok, seconds, latencies, statuses)


def drive(base: str, clients: int, seconds: float, warmup: float, request: Request) -> Load:
    cpu, wall = time.process_time(), time.perf_counter()
    load = asyncio.run(_drive(base, clients, seconds, warmup, request))
    load.client_cpu = (time.process_time() - cpu) / max(time.perf_counter() - wall, 1e-9)
    return load


def measure(db: Database, work: Path, *, levels: tuple[int, ...], seconds: float, read_clients: int) -> tuple[Result, Result]:
    commands = Result(
        key="http",
        title="Commands over HTTP",
        goal="",
    )
    reads = Result(
        key="reads",
        title="Audited reads over HTTP against the same reads unrecorded",
        goal="audited cost ≤ 1.5 × unaudited (ratio ≤ 1.5)",
        ratio_label="unaudited reads/s ÷ audited reads/s (= cost of an audited read ÷ unaudited)",
    )
    schema = db.schema("http")
    data_dir = work / "http"
    data_dir.mkdir(parents=True, exist_ok=True)
    directory().save(data_dir / "directory.json")
    url = db.hub_url(schema, pool_size=10, max_overflow=20)
    settings = Settings(database_url=url, data_dir=data_dir, demo_mode=True)
    max_clients = max(levels)

    say(f"[2] registering {max_clients + READ_CHILDREN} children")
    runtime = bootstrap(settings, directory=directory())
    try:
        ids = register_children(runtime, 0, max_clients + READ_CHILDREN)
        command_children, read_children = ids[:max_clients], ids[max_clients:]
        discoverer, bk = principal(DISCOVERER), principal(BARNKONTAKT)
        for n, child_id in enumerate(read_children):
            runtime.hub.submit_discovery_card(discoverer, child_id, **card_payload(n))
            runtime.hub.hold_conversation(bk, child_id, **conversation_payload(n))
    finally:
        runtime.close()

    issuer = DemoIssuer.from_folder(data_dir / "demo", settings.audience, system_clock)
    discoverer_token = issuer.staff_token(TENANT, DISCOVERER[0], DISCOVERER[1], [r.value for r in DISCOVERER[2]])
    bk_token = issuer.staff_token(TENANT, BARNKONTAKT[0], BARNKONTAKT[1], [r.value for r in BARNKONTAKT[2]])
    as_discoverer = {"Authorization": f"Bearer {discoverer_token}"}
    as_bk = {"Authorization": f"Bearer {bk_token}"}
    env = {
        "BACKA_DATABASE_URL": url,
        "BACKA_DATA_DIR": str(data_dir),
        "BACKA_DEMO_MODE": "true",
    }

    async def command(http: LoadClient, i: int, n: int) -> Answer:
        child_id = command_children[i % len(command_children)]
        if n % 2 == 0:
            return await http.post(f"/api/v1/children/{child_id}/discovery-cards", json=card_payload(n), headers=as_discoverer)
        return await http.post(f"/api/v1/children/{child_id}/conversations", json=conversation_payload(n), headers=as_bk)

    async def read(http: LoadClient, i: int, n: int) -> Answer:
        child_id: UUID = read_children[(i + n) % len(read_children)]
        return await http.get(f"/api/v1/children/{child_id}", params={"purpose": "uppföljning"}, headers=as_bk)

    warmup = min(3.0, max(1.0, seconds / 4))
    with Server({**env, "BACKA_RECORD_READS": "true"}, work / "server-audited.log") as server:
        for clients in levels:
            say(f"[2] commands over HTTP: {clients} clients for {seconds:.0f} s")
            load = drive(server.base, clients, seconds, warmup, command)
            commands.add(f"{clients} clients", load.summary())
            commands.data[f"clients_{clients}"] = {
                "per_second": load.per_second,
                "p50_ms": percentile(load.latencies, 50) * 1000,
                "p99_ms": percentile(load.latencies, 99) * 1000,
            }
        say(f"[3] audited reads: {read_clients} clients for {seconds:.0f} s")
        audited = drive(server.base, read_clients, seconds, warmup, read)
    with Server({**env, "BACKA_RECORD_READS": "false"}, work / "server-unaudited.log") as server:
        say(f"[3] unaudited reads: {read_clients} clients for {seconds:.0f} s")
        unaudited = drive(server.base, read_clients, seconds, warmup, read)
    db.drop(schema)

    first, last = commands.data[f"clients_{levels[0]}"], commands.data[f"clients_{levels[-1]}"]
    commands.add(
        f"{levels[-1]} clients ÷ {levels[0]} clients",
        f"{last['per_second'] / first['per_second']:.2f} × the rate, {last['p50_ms'] / first['p50_ms']:.1f} × the p50 latency",
    )
    reads.add("clients", str(read_clients))
    reads.add("audited reads (each appends its access event)", audited.summary())
    reads.add("reads with recording off", unaudited.summary())
    if audited.ok and unaudited.ok:
        reads.ratio = unaudited.per_second / audited.per_second
        reads.met = reads.ratio <= 1.5
        reads.add(
            "p50 latency audited ÷ unaudited",
            f"{percentile(audited.latencies, 50) / percentile(unaudited.latencies, 50):.2f}",
        )
    reads.data = {"audited": audited.per_second, "unaudited": unaudited.per_second}
    return commands, reads
