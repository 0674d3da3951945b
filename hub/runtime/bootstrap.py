"""The composition root: builds the hub from settings, every part overridable.

Nothing is built at import time. Tests pass an in-memory store, a clock they move and
a directory they make; ``backa serve`` passes what the settings say.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

from consent import PolicyRules
from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic, retry, strtobool
from projections.accesslog import AccessLogView
from projections.base import PostgresViews, memory_db_name
from projections.caselist import CaseListView
from projections.figures import TermFiguresView
from projections.record import ChildRecordView

from hub.application import BackaHub, Views
from hub.runtime.clock import Clock, system_clock
from hub.runtime.commit import GroupCommitter
from hub.identity.directory import Directory
from hub.errors import StoreUnavailableError
from hub.identity.personnummer import BlindIndex
from hub.identity.issuers import IssuerConfigError, load_issuers
from hub.runtime.settings import Settings
from hub.keys.child_keys import KEK_FILE, KEYS_DB, ChildKeySealer, Kek, KekConfigError, Keyring, configured_keks, key_store_for, read_kek_file
from hub.identity.sessions import (
    SESSIONS_DB,
    MemorySessionStore,
    PostgresSessionStore,
    Sessions,
    SessionStore,
    SQLiteSessionStore,
)
from hub.keys.sealing import Sealer
from hub.identity.tokens import DEMO_ISSUER, DemoIssuer, TokenVerifier, TrustedIssuer
from hub.tlog.service import CheckpointPolicy, TransparencyLog, build_transparency


@dataclass
class Runtime:
    """The built hub and what the HTTP layer needs beside it."""

    settings: Settings
    hub: BackaHub
    verifier: TokenVerifier
    demo_issuer: DemoIssuer | None
    transparency: TransparencyLog | None = None
    """The Merkle tree over the log and its signed checkpoints."""
    keys: ChildKeySealer | None = None
    """The children's keys, when ``bootstrap`` built the sealer."""
    sessions: Sessions | None = None
    """The web pages' sessions."""

    def close(self) -> None:
        try:
            self.hub.close()
        finally:
            if self.keys is not None:
                self.keys.close()
            if self.sessions is not None:
                self.sessions.close()


@dataclass(frozen=True)
class PostgresConfig:
    """Where the log and the views live in PostgreSQL, read from ``BACKA_DATABASE_URL``:
    ``postgresql://user[:password]@host[:port]/dbname[?schema=name&...]``.

    Besides ``schema`` (default ``public``) the query may tune the connection pools:
    ``pool_size`` and ``max_overflow`` (the log's pool; the views share one half its
    size), ``connect_timeout`` (whole seconds to wait for a connection before a request is
    answered 503), ``conn_max_age`` (seconds) and ``pre_ping`` (check each connection
    before every use). ``pre_ping`` is off by default: it costs a round trip per use, and
    the hub recovers from an outage without it, because the first failure makes a
    :class:`PoolChecker` replace the broken connections of both pools.
    """

    dbname: str
    host: str
    port: int
    user: str
    password: str
    schema: str = "public"
    pool_size: int = 5
    max_overflow: int = 10
    connect_timeout: int = 5
    conn_max_age: float = 30 * 60.0
    pre_ping: bool = False

    OPTIONS: ClassVar[tuple[str, ...]] = ("schema", "pool_size", "max_overflow", "connect_timeout", "conn_max_age", "pre_ping")

    @classmethod
    def from_url(cls, url: str) -> PostgresConfig:
        """Parse the URL; a message about a bad one names the part, never the password."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("the database URL must start with postgresql://")
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname or "/" in dbname:
            raise ValueError("the database URL must name one database: postgresql://user@host/dbname")
        if not parts.username:
            raise ValueError("the database URL must name a user: postgresql://user@host/dbname")
        try:
            port = parts.port or 5432
        except ValueError:
            raise ValueError("the database URL's port is not a number") from None
        values: dict[str, Any] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key not in cls.OPTIONS:
                raise ValueError(f"unknown database URL option {key!r}; known: {', '.join(cls.OPTIONS)}")
            values[key] = value
        try:
            if "pool_size" in values:
                values["pool_size"] = int(values["pool_size"])
            if "max_overflow" in values:
                values["max_overflow"] = int(values["max_overflow"])
            if "connect_timeout" in values:
                values["connect_timeout"] = int(values["connect_timeout"])
            if "conn_max_age" in values:
                values["conn_max_age"] = float(values["conn_max_age"])
            if "pre_ping" in values:
                values["pre_ping"] = strtobool(values["pre_ping"])
        except ValueError:
            raise ValueError("a database URL option has a value of the wrong kind") from None
        if values.get("pool_size", 1) < 1 or values.get("max_overflow", 0) < 0 or values.get("connect_timeout", 1) <= 0:
            raise ValueError("the database URL's pool options must be positive")
        if not values.get("schema", "public"):
            raise ValueError("the database URL's schema is empty")
        return cls(
            dbname=dbname,
            host=parts.hostname or "localhost",
            port=port,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            **values,
        )

    def log_env(self) -> dict[str, str]:
        """The event store's settings for eventsourcing's PostgreSQL module."""
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": get_topic(LogRecorder),
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_POOL_SIZE": str(self.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.max_overflow),
            "POSTGRES_CONNECT_TIMEOUT": str(self.connect_timeout),
            "POSTGRES_CONN_MAX_AGE": str(self.conn_max_age),
            "POSTGRES_PRE_PING": "y" if self.pre_ping else "n",
        }

    def views(self) -> PostgresViews:
        return PostgresViews(
            dbname=self.dbname,
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            schema=self.schema,
            pool_size=max(1, self.pool_size // 2),
            max_overflow=max(1, self.max_overflow // 2),
            connect_timeout=self.connect_timeout,
            conn_max_age=self.conn_max_age,
            pre_ping=self.pre_ping,
        )


log = logging.getLogger("backa.store")

_READ_RETRY = retry((InterfaceError, OperationalError), max_attempts=2, wait=0.1)


class LogRecorder(PostgresApplicationRecorder):
    """The log on PostgreSQL, failing fast while the database is away.

    The library retries every call ten times; with a pool that waits for a connection,
    a request would hang for a minute before it could be answered 503. Reads here try
    twice. An append is tried once: one retried after its answer was lost may already
    have committed, and would come back as a conflict and be applied a second time.
    """

    insert_events = PostgresApplicationRecorder.insert_events.__wrapped__  # type: ignore[attr-defined]

    @_READ_RETRY
    def select_events(self, *args: Any, **kwargs: Any) -> Sequence[Any]:
        return PostgresApplicationRecorder.select_events.__wrapped__(self, *args, **kwargs)  # type: ignore[attr-defined,no-any-return]

    @_READ_RETRY
    def select_notifications(self, *args: Any, **kwargs: Any) -> Sequence[Notification]:
        return PostgresApplicationRecorder.select_notifications.__wrapped__(self, *args, **kwargs)  # type: ignore[attr-defined,no-any-return]

    @_READ_RETRY
    def max_notification_id(self) -> int | None:
        return PostgresApplicationRecorder.max_notification_id.__wrapped__(self)  # type: ignore[attr-defined,no-any-return]


class PoolChecker:
    """After a connection error, checks the pools' idle connections in the background and
    replaces the broken ones, so that a database that went away and came back costs each
    stale connection at most one failed request, without a ping before every use."""

    def __init__(self, pools: Sequence[Any], min_interval: float = 1.0) -> None:
        self.pools = list(pools)
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._running = False
        self._last = float("-inf")
        self.checks = 0

    def __call__(self) -> None:
        now = time.monotonic()
        with self._lock:
            if self._running or now - self._last < self.min_interval:
                return
            self._running, self._last = True, now
        threading.Thread(target=self._check, name="backa-pool-check", daemon=True).start()

    def _check(self) -> None:
        try:
            for pool in self.pools:
                try:
                    pool.check()
                except Exception:  # noqa: BLE001 - the database may still be away; the next error checks again
                    log.info("connection pool check failed; will check again after the next error")
            self.checks += 1
        finally:
            with self._lock:
                self._running = False


def _read_or_create_key(path: Path) -> bytes:
    if path.exists():
        key = bytes.fromhex(path.read_text().strip())
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
    return key


def encrypts(settings: Settings) -> bool:
    """Whether the log is sealed per child: asked for, or a key-encryption key configured."""
    return settings.encrypt_log or settings.kek_file is not None or settings.kek is not None


def keyring(settings: Settings) -> Keyring:
    """The configured key-encryption keys. Without any, the in-memory store makes one for
    the process and demo mode one in the data folder (``kek.key``, like ``index.key``);
    anywhere else the hub refuses to start rather than keep the key beside the data."""
    keks = configured_keks(settings.kek_file, settings.kek.get_secret_value() if settings.kek else None)
    if not keks:
        if store_kind(settings) == "memory":
            keks = [Kek.of(secrets.token_bytes(32))]
        elif settings.demo_mode:
            path = settings.data_dir / KEK_FILE
            keks = read_kek_file(path) if path.exists() else [Kek.of(_read_or_create_key(path))]
        else:
            raise KekConfigError(
                "no key-encryption key: set BACKA_KEK_FILE to a file holding 64 hex digits "
                "(`backa keys new-kek --out FILE` writes one)"
            )
    return Keyring(keks)


def child_key_sealer(settings: Settings, ring: Keyring | None = None) -> ChildKeySealer:
    """The sealer of the stored log, refusing a KEK that does not open the stored keys."""
    kind = store_kind(settings)
    ring = ring or keyring(settings)
    config = PostgresConfig.from_url(settings.database_url or "") if kind == "postgres" else None
    store = key_store_for(kind, settings.data_dir, config)
    try:
        ring.check(store)
    except BaseException:
        store.close()
        raise
    return ChildKeySealer(store, ring)


def store_kind(settings: Settings) -> str:
    """``postgres``, ``memory`` or ``sqlite``: a database URL means PostgreSQL unless another
    store was asked for by name (``backa demo`` always loads into its own folder)."""
    if settings.store == "postgres" or (settings.database_url is not None and "store" not in settings.model_fields_set):
        return "postgres"
    return settings.store


def bootstrap(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    directory: Directory | None = None,
    index_key: bytes | None = None,
    rules: PolicyRules | None = None,
    sealer: Sealer | None = None,
    extra_issuers: list[TrustedIssuer] | None = None,
    checkpoint_policy: CheckpointPolicy | None = None,
) -> Runtime:
    data_dir = settings.data_dir
    postgres = store_kind(settings) == "postgres"
    if postgres and not settings.database_url:
        raise ValueError("the postgres store needs BACKA_DATABASE_URL")
    memory = settings.store == "memory" and not postgres
    issuers = trusted_issuers(settings, clock, extra_issuers)
    if postgres:
        PostgresConfig.from_url(settings.database_url or "")  # a bad URL is named before a missing key
    ring = keyring(settings) if sealer is None and encrypts(settings) else None
    if sealer is None and ring is None and not memory and not postgres and (data_dir / KEYS_DB).exists():
        raise KekConfigError("this log is sealed per child: set BACKA_KEK_FILE (or BACKA_ENCRYPT_LOG in demo mode)")
    if not memory:
        data_dir.mkdir(parents=True, exist_ok=True)
    if directory is None:
        path = data_dir / "directory.json"
        directory = Directory.load(path) if path.exists() else Directory()
    if index_key is None:
        index_key = secrets.token_bytes(32) if memory else _read_or_create_key(data_dir / "index.key")
    rules = rules or PolicyRules(
        child_consent_age=settings.child_consent_age,
        child_access_age=settings.child_access_age,
        default_validity_days=settings.consent_validity_days,
        staff_names_visible_to_family=settings.staff_names_visible_to_family,
    )
    pools: list[Any] = []
    checker = PoolChecker(pools)

    def _store_unavailable() -> StoreUnavailableError:
        checker()
        return StoreUnavailableError("the store cannot be reached")

    keys = child_key_sealer(settings, ring) if ring is not None else None
    rows = sealer or keys  # view rows are sealed under the same per-child keys as the log
    rows = rows if callable(getattr(rows, "seal_row", None)) else None
    try:
        if postgres:
            config = PostgresConfig.from_url(settings.database_url or "")
            env = config.log_env()
            database = config.views()
            pools.append(database.datastore.pool)
            try:
                database.create_schema()
            except BaseException:
                database.close()
                raise
            views = Views(
                ChildRecordView(database, unreachable=_store_unavailable, rows=rows),
                CaseListView(database, unreachable=_store_unavailable, rows=rows),
                AccessLogView(database, unreachable=_store_unavailable, rows=rows),
                TermFiguresView(database, unreachable=_store_unavailable, rows=rows),
            )
        elif memory:
            env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
            views = Views(
                ChildRecordView(memory_db_name("record"), unreachable=_store_unavailable, rows=rows),
                CaseListView(memory_db_name("cases"), unreachable=_store_unavailable, rows=rows),
                AccessLogView(memory_db_name("access"), unreachable=_store_unavailable, rows=rows),
                TermFiguresView(memory_db_name("figures"), unreachable=_store_unavailable, rows=rows),
            )
        else:
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(data_dir / "events.sqlite"),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
            views = Views(
                ChildRecordView(str(data_dir / "view_child_record.sqlite"), unreachable=_store_unavailable, rows=rows),
                CaseListView(str(data_dir / "view_case_list.sqlite"), unreachable=_store_unavailable, rows=rows),
                AccessLogView(str(data_dir / "view_access_log.sqlite"), unreachable=_store_unavailable, rows=rows),
                TermFiguresView(str(data_dir / "view_term_figures.sqlite"), unreachable=_store_unavailable, rows=rows),
            )
    except BaseException:
        if keys is not None:
            keys.close()
        raise
    env["CREATE_TABLE"] = "y"
    if settings.aggregate_cache:
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache)
    blind_index = BlindIndex(index_key)
    try:
        for view in views.all():
            view.create_table()
        hub = BackaHub(
            env,
            directory=directory,
            clock=clock,
            rules=rules,
            blind_index=blind_index,
            views=views,
            sealer=sealer or keys,
            record_reads=settings.record_reads,
        )
    except BaseException:
        views.close()
        if keys is not None:
            keys.close()
        raise
    if postgres:
        pools.append(hub.recorder.datastore.pool)  # type: ignore[attr-defined]
        hub.on_store_error = checker
    try:
        hub.follower.catch_up()
    except BaseException:
        hub.close()
        if keys is not None:
            keys.close()
        raise
    transparency = build_transparency(
        hub.recorder, None if memory else data_dir, tenant_ids=list(directory.tenants), policy=checkpoint_policy
    )
    hub.transparency = transparency  # type: ignore[attr-defined]  # for the HTTP layer, which is handed the hub
    hub.committer = GroupCommitter(transparency.observing(hub.save), on_commit=hub.follower.remember)
    demo_issuer = None
    if settings.demo_mode:
        demo_issuer = DemoIssuer.from_folder(data_dir / "demo", settings.audience, clock) if not memory else _memory_issuer(settings, clock)
        issuers.append(demo_issuer.trusted())
    verifier = TokenVerifier(issuers, directory, blind_index, clock)
    try:
        sessions = Sessions(session_store(settings, memory, postgres), clock, settings.session_policy())
    except BaseException:
        hub.close()
        if keys is not None:
            keys.close()
        raise
    hub.follower.start(settings.views_poll_seconds)
    return Runtime(settings, hub, verifier, demo_issuer, transparency, keys, sessions)


def session_store(settings: Settings, memory: bool, postgres: bool) -> SessionStore:
    """Sessions where the log is, so every process of the hub shares them."""
    if memory:
        return MemorySessionStore()
    if postgres:
        config = PostgresConfig.from_url(settings.database_url or "")
        return PostgresSessionStore(
            {"dbname": config.dbname, "host": config.host, "port": config.port, "user": config.user,
             "password": config.password, "connect_timeout": config.connect_timeout},
            config.schema,
        )
    return SQLiteSessionStore(settings.data_dir / SESSIONS_DB)


def trusted_issuers(settings: Settings, clock: Clock, extra: list[TrustedIssuer] | None = None) -> list[TrustedIssuer]:
    """The configured issuers. Outside demo mode, refuses to start if anything would
    trust the demo issuer: its key sits in the data folder, readable by whoever can
    read the folder, so a token it signed proves nothing."""
    demo_folder = None if settings.demo_mode else (settings.data_dir / "demo").resolve()
    issuers = list(extra or [])
    if settings.issuers_file is not None:
        issuers += load_issuers(settings.issuers_file, clock, forbidden_folder=demo_folder)
    if demo_folder is not None:
        if any(i.issuer == DEMO_ISSUER for i in issuers):
            raise IssuerConfigError("the demo issuer is trusted only in demo mode; remove it from the trusted issuers")
        demo_key = _demo_public_key(demo_folder / "demo-issuer.pem")
        if demo_key is not None and any(_raw(k) == demo_key for i in issuers for k in i.keys):
            raise IssuerConfigError("a trusted issuer holds the demo issuer's key, which is trusted only in demo mode")
    return issuers


def _demo_public_key(path: Path) -> bytes | None:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    return _raw(key.public_key())


def _raw(key: Any) -> bytes | None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = getattr(key, "key", key)
    if not isinstance(key, Ed25519PublicKey):
        return None
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _memory_issuer(settings: Settings, clock: Clock) -> DemoIssuer:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return DemoIssuer(Ed25519PrivateKey.generate(), settings.audience, clock)
