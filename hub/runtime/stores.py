"""One store kit per store kind: where the log, the views, the children's keys, the web
sessions and the relay's place live, chosen once from the settings.

A hub runs on one kind of store (in memory, SQLite files in the data folder, or a
PostgreSQL schema), and every part that keeps something keeps it there. The kinds differ
only here: the composition root asks its kit for each store and never branches on the
kind itself. The store classes stay where their rules are (:mod:`hub.keys.key_stores`,
:mod:`hub.identity.sessions`, :mod:`adapters.jetstream_relay`, :mod:`projections`).

On PostgreSQL every store of a process shares one connection pool (:mod:`hub.runtime.pg_pool`):
the log through eventsourcing's datastore, which is handed the pool, the views on the same
datastore, and the children's keys, the sessions, the sign-ins, the invitations and the rate
limits on the pool itself. The views seal rows under the children's keys inside their
transactions; those key look-ups borrow the view's connection, so a busy pool can never
wait on itself, and every wait (for a free connection, for an answer) has a deadline past
which the request is answered 503.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import parse_qsl, unquote, urlsplit
from uuid import uuid4

from eventsourcing.persistence import (
    ApplicationRecorder,
    BaseInfrastructureFactory,
    InfrastructureFactory,
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import Environment, get_topic
from limits.storage import Storage
from psycopg import sql as psycopg_sql
from psycopg.rows import dict_row

from adapters.migrations import migrate_postgres, migrate_sqlite
from hub.application import Views
from hub.identity.invitation_store import (
    InvitationStore,
    MemoryInvitationStore,
    PostgresInvitationStore,
    SQLiteInvitationStore,
)
from hub.identity.limit_stores import MemoryLimitStorage, PostgresLimitStorage, SQLiteLimitStorage
from hub.identity.sessions import (
    SESSIONS_DB,
    MemorySessionStore,
    PostgresSessionStore,
    SessionStore,
    SQLiteSessionStore,
)
from hub.identity.sign_in_store import MemorySignInStore, PostgresSignInStore, SignInStore, SQLiteSignInStore
from hub.keys.child_keys import KEYS_DB, ChildKeyStore
from hub.keys.key_stores import MemoryKeyStore, PostgresKeyStore, SQLiteKeyStore
from hub.runtime.clock import Clock
from hub.runtime.delivery_failure_store import FILE as DELIVERY_FAILURES_DB
from hub.runtime.delivery_failure_store import (
    DeliveryFailureStore,
    MemoryDeliveryFailureStore,
    PostgresDeliveryFailureStore,
    SQLiteDeliveryFailureStore,
)
from hub.runtime.migrations import POSTGRES, SQLITE_KEYS, SQLITE_RELAY, SQLITE_REPORTS, SQLITE_SESSIONS
from hub.runtime.pg_pool import HubPool, deadline_connection_class, timed_out
from hub.runtime.settings import Settings
from hub.runtime.store_choice import store_kind
from projections.accesslog import AccessLogView
from projections.base import PostgresViews, RowSealer, memory_db_name
from projections.caselist import CaseListView
from projections.figures import TermFiguresView
from projections.record import ChildRecordView

if TYPE_CHECKING:
    from adapters.relay_store import CommitListener, PositionStore

log = logging.getLogger("backa.store")

APP_NAME = "backa"
"""The application's name: eventsourcing names the log's tables after it (``backa_events``)."""
POSITION_FILE = "relay_position.sqlite"

Unreachable = Callable[[], Exception]


@dataclass(frozen=True)
class PostgresConfig:
    """Where the hub's tables live in PostgreSQL, read from ``BACKA_DATABASE_URL``:
    ``postgresql://user[:password]@host[:port]/dbname[?schema=name&...]``.

    Besides ``schema`` (default ``public``) the query may set:

    - the process's one connection pool (:mod:`hub.runtime.pg_pool`): ``pool_size`` and
      ``max_overflow`` (connections kept, and made beyond them under load),
      ``pool_timeout`` (seconds a request waits for a free connection before it is
      answered 503), ``conn_max_age`` (seconds) and ``pre_ping`` (check each connection
      before every use; off by default: it costs a round trip per use, and the first
      failure makes a :class:`PoolChecker` replace the broken connections anyway);
    - the deadlines of every connection: ``connect_timeout`` (whole seconds to connect),
      ``statement_timeout`` (seconds the server lets a statement run; the client gives
      up waiting for any answer ``ANSWER_GRACE`` seconds later and closes the
      connection), ``idle_in_transaction_session_timeout`` (seconds the server keeps a
      session idle inside a transaction), and libpq's TCP settings ``keepalives``
      (1 or 0), ``keepalives_idle``, ``keepalives_interval`` (seconds),
      ``keepalives_count`` and ``tcp_user_timeout`` (milliseconds unacknowledged data
      may wait before the connection is dropped).

    So a database that stops answering costs a request at most about
    ``pool_timeout`` plus ``statement_timeout`` plus ``ANSWER_GRACE`` before it is
    answered 503, never a hang.
    """

    dbname: str
    host: str
    port: int
    user: str
    password: str
    schema: str = "public"
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 5.0
    connect_timeout: int = 5
    conn_max_age: float = 30 * 60.0
    pre_ping: bool = False
    statement_timeout: float = 15.0
    idle_in_transaction_session_timeout: float = 60.0
    keepalives: bool = True
    keepalives_idle: int = 10
    keepalives_interval: int = 5
    keepalives_count: int = 3
    tcp_user_timeout: int = 15_000

    OPTIONS: ClassVar[tuple[str, ...]] = (
        "schema", "pool_size", "max_overflow", "pool_timeout", "connect_timeout", "conn_max_age", "pre_ping",
        "statement_timeout", "idle_in_transaction_session_timeout",
        "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
    )
    ANSWER_GRACE: ClassVar[float] = 2.0
    """Seconds past ``statement_timeout`` the client still waits for the server's answer
    (its own cancellation, normally), before it takes the server for unreachable."""
    _INTS: ClassVar[tuple[str, ...]] = (
        "pool_size", "max_overflow", "connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count",
        "tcp_user_timeout",
    )
    _FLOATS: ClassVar[tuple[str, ...]] = ("pool_timeout", "conn_max_age", "statement_timeout", "idle_in_transaction_session_timeout")
    _POSITIVE: ClassVar[tuple[str, ...]] = (
        "pool_size", "pool_timeout", "connect_timeout", "statement_timeout", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout",
    )

    _MOST: ClassVar[dict[str, int]] = {
        "pool_size": 1000, "max_overflow": 1000, "connect_timeout": 3600,
        "keepalives_idle": 86400, "keepalives_interval": 86400, "keepalives_count": 1000,
    }
    """Ceilings where PostgreSQL sets none that a process could meet: a pool opens
    ``pool_size`` connections at once, and a server allows a few hundred; a keepalive
    of years notices nothing."""

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
            port = parts.port
        except ValueError:
            raise ValueError("the database URL's port must be a number from 1 to 65535") from None
        if port == 0:
            raise ValueError("the database URL's port must be a number from 1 to 65535")
        if parts.fragment or url.endswith("#"):
            raise ValueError("the database URL may not end in a #fragment: it would be ignored")
        values: dict[str, Any] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key not in cls.OPTIONS:
                raise ValueError(f"unknown database URL option {key!r}; known: {', '.join(cls.OPTIONS)}")
            values[key] = value
        for key, value in values.items():
            if key != "schema":
                values[key] = cls._option(key, value)
        schema = values.get("schema", "public")
        if not schema:
            raise ValueError("the database URL's schema is empty")
        if "\x00" in schema or len(schema.encode()) > _PG_MAX_NAME:
            # PostgreSQL cuts a longer name short without a word: two hubs would share one schema
            raise ValueError(f"the database URL's schema must be a name of at most {_PG_MAX_NAME} bytes")
        return cls(
            dbname=dbname,
            host=parts.hostname or "localhost",
            port=port or 5432,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            **values,
        )

    @classmethod
    def _option(cls, key: str, text: str) -> Any:
        """One option's value, or a message naming the option (never the URL's password).
        A number of seconds must be finite and, in milliseconds, neither round to 0 (which
        PostgreSQL and libpq take for "no deadline at all") nor pass PostgreSQL's limit."""
        if key in ("pre_ping", "keepalives"):
            if text.lower() not in _BOOLEANS:  # "yes", "on" or "maybe" are not guessed at
                raise ValueError(f"the database URL option {key} must be 1 or 0 (true or false)")
            return _BOOLEANS[text.lower()]
        written = (_WHOLE if key in cls._INTS else _DECIMAL).fullmatch(text)
        if written is None:  # Python alone would also read "1_0", " 5" and other scripts' digits
            kind = "a whole number" if key in cls._INTS else "a number"
            raise ValueError(f"the database URL option {key} must be {kind}, written in the digits 0 to 9")
        value: float = int(text) if key in cls._INTS else float(text)
        least = 0 if key in ("max_overflow", "idle_in_transaction_session_timeout", "conn_max_age") else 1
        if key in cls._FLOATS:
            if not math.isfinite(value) or not (value >= 0.001 or value == 0 == least):
                zero = "0 or " if least == 0 else ""
                raise ValueError(f"the database URL option {key} must be {zero}a number of seconds of at least 0.001")
            if value * 1000 > _PG_MAX_MS:
                raise ValueError(f"the database URL option {key} may be at most {_PG_MAX_MS // 1000} seconds")
        elif value < least:
            raise ValueError(f"the database URL option {key} must be at least {least}")
        elif key in cls._MOST and value > cls._MOST[key]:
            raise ValueError(f"the database URL option {key} may be at most {cls._MOST[key]}")
        elif value > _PG_MAX_MS:
            raise ValueError(f"the database URL option {key} may be at most {_PG_MAX_MS}")
        return value

    @property
    def answer_timeout(self) -> float:
        """Seconds a connection waits for any answer before it is taken for lost."""
        return self.statement_timeout + self.ANSWER_GRACE

    def connect_kwargs(self) -> dict[str, Any]:
        """libpq's connection parameters, deadlines included."""
        return {
            "dbname": self.dbname,
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password or None,
            "connect_timeout": self.connect_timeout,
            "keepalives": 1 if self.keepalives else 0,
            "keepalives_idle": self.keepalives_idle,
            "keepalives_interval": self.keepalives_interval,
            "keepalives_count": self.keepalives_count,
            "tcp_user_timeout": self.tcp_user_timeout,
            "options": f"-c statement_timeout={_ms(self.statement_timeout)} "
            f"-c idle_in_transaction_session_timeout={_ms(self.idle_in_transaction_session_timeout)}",
        }

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

    def datastore(self) -> PostgresDatastore:
        """eventsourcing's datastore on a new :class:`HubPool` (not opened yet), whose
        connections resolve unqualified names in the schema (the views' tables)."""
        datastore = PostgresDatastore(
            dbname=self.dbname,
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            schema=self.schema,
            pool_size=self.pool_size,
            max_overflow=self.max_overflow,
            connect_timeout=self.pool_timeout,
            conn_max_age=self.conn_max_age,
            pre_ping=self.pre_ping,
            idle_in_transaction_session_timeout=self.idle_in_transaction_session_timeout,
        )
        configure = datastore.after_connect_func()
        set_path = psycopg_sql.SQL("SET search_path TO {0}").format(psycopg_sql.Identifier(datastore.schema))

        def after_connect(conn: Any) -> None:
            configure(conn)
            conn.execute(set_path)

        datastore.pool.close()  # never opened: the datastore's own pool is replaced by the hub's
        datastore.pool = HubPool(  # type: ignore[assignment]  # psycopg's pool; the library types its own subclass
            kwargs={**self.connect_kwargs(), "row_factory": dict_row},
            connection_class=deadline_connection_class(self.answer_timeout),
            min_size=self.pool_size,
            max_size=self.pool_size + self.max_overflow,
            open=False,
            configure=after_connect,
            check=HubPool.check_connection if self.pre_ping else None,
            timeout=self.pool_timeout,
            max_lifetime=self.conn_max_age,
            name="backa",
        )
        return datastore

    def views(self) -> PostgresViews:
        """The views on a pool of their own (tools and benchmarks that build views alone;
        a hub's views share its pool, see :meth:`PostgresKit.views`)."""
        return PostgresViews(self.datastore(), own=True)

    def conninfo(self) -> str:
        """A libpq connection string with the same deadlines, for the relay's own connections."""
        import psycopg.conninfo

        return psycopg.conninfo.make_conninfo(**{k: v for k, v in self.connect_kwargs().items() if v is not None})


_PG_MAX_MS = 2_147_483_647
"""The largest number of milliseconds PostgreSQL and libpq take for a timeout."""


_PG_MAX_NAME = 63
"""The longest name PostgreSQL keeps whole (``NAMEDATALEN`` less one), in bytes."""
_BOOLEANS = {"1": True, "true": True, "0": False, "false": False}
_WHOLE = re.compile(r"[-+]?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|inf|nan", re.ASCII)


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _read_retry(read: Callable[..., Any]) -> Callable[..., Any]:
    """Try a read of the log a second time after a connection error (a stale connection,
    after the database came back), but not after a deadline passed: the second try would
    only double the wait of a request that is to be answered 503."""

    @functools.wraps(read)
    def reading(*args: Any, **kwargs: Any) -> Any:
        try:
            return read(*args, **kwargs)
        except (InterfaceError, OperationalError) as e:
            if timed_out(e):
                raise
            time.sleep(0.1)
            return read(*args, **kwargs)

    return reading


def _select_events_sql(base: Any, gt: bool, lte: bool, desc: bool, limit: bool) -> Any:
    """The statement ``PostgresAggregateRecorder.select_events`` composes for this shape."""
    statement = base
    if gt:
        statement += psycopg_sql.SQL(" AND originator_version > %s")
    if lte:
        statement += psycopg_sql.SQL(" AND originator_version <= %s")
    statement += psycopg_sql.SQL(" ORDER BY originator_version")
    statement += psycopg_sql.SQL(" DESC" if desc else " ASC")
    if limit:
        statement += psycopg_sql.SQL(" LIMIT %s")
    return statement


class LogRecorder(PostgresApplicationRecorder):
    """The log on PostgreSQL, failing fast while the database is away.

    The library retries every call ten times; with a pool that waits for a connection,
    a request would hang for a minute before it could be answered 503. Reads here try
    twice, unless a deadline passed (:func:`_read_retry`). An append is tried once: one retried after its answer was lost may already
    have committed, and would come back as a conflict and be applied a second time.
    """

    insert_events = PostgresApplicationRecorder.insert_events.__wrapped__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every append runs these; rendered once here, as the library would render them on
        # each call (which cost an audited read's append more than sending them).
        self.insert_events_statement = cast(Any, self.insert_events_statement.as_bytes())
        self.lock_table_statements = [cast(Any, cast(Any, s).as_bytes()) for s in self.lock_table_statements]
        self.max_notification_id_statement = cast(Any, self.max_notification_id_statement.as_bytes())
        self.sql_invoke_pg_function_insert_events = cast(Any, self.sql_invoke_pg_function_insert_events.as_bytes())
        self._notify_statement = psycopg_sql.SQL("NOTIFY {0}").format(psycopg_sql.Identifier(self.channel_name)).as_bytes()

    def _notify_channel(self, curs: Any) -> None:
        curs.execute(self._notify_statement)

    @_read_retry
    def select_events(
        self,
        originator_id: Any,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The library's query, its text rendered once for each shape rather than on every
        call: rendering the composed statement cost a child's read more than running it."""
        shape = (gt is not None, lte is not None, desc, limit is not None)
        params = [originator_id, *(v for v in (gt, lte, limit) if v is not None)]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            text = self._select_texts.get(shape)
            if text is None:
                text = self._select_texts[shape] = _select_events_sql(self.select_events_statement, *shape).as_bytes(conn)
            curs.execute(text, params, prepare=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    @functools.cached_property
    def _select_texts(self) -> dict[tuple[bool, bool, bool, bool], bytes]:
        return {}

    @_read_retry
    def select_notifications(self, *args: Any, **kwargs: Any) -> Sequence[Notification]:
        return PostgresApplicationRecorder.select_notifications.__wrapped__(self, *args, **kwargs)

    @_read_retry
    def max_notification_id(self) -> int | None:
        return PostgresApplicationRecorder.max_notification_id.__wrapped__(self)


class DirectoryRecorder(PostgresApplicationRecorder):
    """The directory's log on PostgreSQL (the library's recorder: no seals, no partitions),
    failing as fast as :class:`LogRecorder` while the database is away: sign-in and the
    administrator's changes read it, and with the library's ten tries each would hang for a
    minute before it could be answered 503."""

    insert_events = PostgresApplicationRecorder.insert_events.__wrapped__
    select_events = _read_retry(PostgresApplicationRecorder.select_events.__wrapped__)
    select_notifications = _read_retry(PostgresApplicationRecorder.select_notifications.__wrapped__)
    max_notification_id = _read_retry(PostgresApplicationRecorder.max_notification_id.__wrapped__)


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


# -- the kits ------------------------------------------------------------------------------


class StoreKit(ABC):
    """Makes every store of one kind. Each ``make`` builds a new store the caller closes;
    what the kit shares between them (a connection pool) it closes itself."""

    kind: ClassVar[str]
    persistent: ClassVar[bool] = True
    """Whether anything outlives the process (the data folder is then made and used)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._factories: list[InfrastructureFactory[Any]] = []
        self._memory_failures: MemoryDeliveryFailureStore | None = None

    @abstractmethod
    def log_env(self) -> dict[str, str]:
        """The event store's environment for eventsourcing (without ``CREATE_TABLE``)."""

    def directory_env(self) -> dict[str, str]:
        """The directory log's environment for eventsourcing: beside the children's log, with
        the library's own recorder (no Merkle tree, no seals, no partitions)."""
        return {k: v for k, v in self.log_env().items() if k != "APPLICATION_RECORDER_TOPIC"}

    def log_recorder(self, *, create: bool = True) -> ApplicationRecorder:
        """The log's recorder alone, without an application (the relay's, ``backa audit``'s),
        closed with the kit; ``create=False`` reads the log as stored and creates nothing."""
        env = Environment(APP_NAME, {**self.log_env(), "CREATE_TABLE": "y" if create else "n"})
        factory = InfrastructureFactory.construct(env)
        self._factories.append(factory)
        return factory.application_recorder()

    @abstractmethod
    def views(self, *, unreachable: Unreachable, rows: RowSealer | None) -> Views:
        """The views, where this kind keeps them."""

    @abstractmethod
    def key_store(self) -> ChildKeyStore:
        """The store of wrapped per-child keys."""

    @abstractmethod
    def session_store(self) -> SessionStore:
        """The web sessions, shared by every process of the hub."""

    def limit_storage(self, clock: Clock) -> Storage:
        """The rate limits' counters, shared as the sessions are (:mod:`hub.identity.limit_stores`)."""
        return MemoryLimitStorage(clock)

    def sign_in_store(self) -> SignInStore:
        """The OpenID Connect sign-ins in flight and the sessions providers may end, shared
        as the sessions are (:mod:`hub.identity.sign_in_store`)."""
        return MemorySignInStore()

    def invitation_store(self) -> InvitationStore:
        """The digital conversation's links and codes, by keyed digest, shared as the
        sessions are (:mod:`hub.identity.invitation_store`)."""
        return MemoryInvitationStore()

    def delivery_failure_store(self) -> DeliveryFailureStore:
        """The agencies' reports of webhooks no receiver took, shared as the sessions are
        (in this process: one store for the kit, so a relay beside the hub feeds the hub's)."""
        if self._memory_failures is None:
            self._memory_failures = MemoryDeliveryFailureStore()
        return self._memory_failures

    def position_store(self, path: Path | None = None) -> PositionStore:
        """Where the relay keeps its place: a small file in the data folder (or ``path``)."""
        from adapters.relay_store import SQLitePositionStore

        return SQLitePositionStore(_migrated(path or self.data_dir / POSITION_FILE, SQLITE_RELAY))

    def commit_listener(self, recorder: Any) -> CommitListener | None:
        """What wakes the relay on every commit; none where it polls the log."""
        return None

    def pools(self) -> list[Any]:
        """The connection pools to check after the store could not be reached."""
        return []

    @contextmanager
    def setting_up(self) -> Iterator[None]:
        """Held while the stores' tables are made (see :meth:`PostgresKit.setting_up`)."""
        yield

    def close(self) -> None:
        for factory in self._factories:
            factory.close()
        self._factories.clear()


class MemoryKit(StoreKit):
    """Everything in this process, gone when it ends (tests, trying the hub out)."""

    kind = "memory"
    persistent = False

    def log_env(self) -> dict[str, str]:
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}

    def views(self, *, unreachable: Unreachable, rows: RowSealer | None) -> Views:
        return _views(lambda name, label: memory_db_name(label), unreachable, rows)

    def key_store(self) -> ChildKeyStore:
        return MemoryKeyStore()

    def session_store(self) -> SessionStore:
        return MemorySessionStore()


class SQLiteKit(StoreKit):
    """SQLite files in the data folder: the log, a file per view, the keys, the sessions."""

    kind = "sqlite"

    def log_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.data_dir / "events.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "30",
        }

    def directory_env(self) -> dict[str, str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return {**self.log_env(), "SQLITE_DBNAME": str(self.data_dir / "directory.sqlite")}

    def views(self, *, unreachable: Unreachable, rows: RowSealer | None) -> Views:
        return _views(lambda name, label: str(self.data_dir / f"view_{name}.sqlite"), unreachable, rows)

    def key_store(self) -> ChildKeyStore:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return SQLiteKeyStore(_migrated(self.data_dir / KEYS_DB, SQLITE_KEYS))

    def session_store(self) -> SessionStore:
        return SQLiteSessionStore(_migrated(self.data_dir / SESSIONS_DB, SQLITE_SESSIONS))

    def limit_storage(self, clock: Clock) -> Storage:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return SQLiteLimitStorage(_migrated(self.data_dir / SESSIONS_DB, SQLITE_SESSIONS), clock)

    def sign_in_store(self) -> SignInStore:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return SQLiteSignInStore(_migrated(self.data_dir / SESSIONS_DB, SQLITE_SESSIONS))

    def invitation_store(self) -> InvitationStore:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return SQLiteInvitationStore(_migrated(self.data_dir / SESSIONS_DB, SQLITE_SESSIONS))

    def delivery_failure_store(self) -> DeliveryFailureStore:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return SQLiteDeliveryFailureStore(_migrated(self.data_dir / DELIVERY_FAILURES_DB, SQLITE_REPORTS))


class PostgresKit(StoreKit):
    """A schema in PostgreSQL. Everything the process keeps there (the log, the views, the
    keys, the sessions, the sign-ins, the invitations, the rate limits) shares the one
    connection pool of one datastore, opened at the first use."""

    kind = "postgres"
    KIT_KEY = "KIT_DATASTORE"
    _datastores: ClassVar[weakref.WeakValueDictionary[str, PostgresDatastore]] = weakref.WeakValueDictionary()

    def __init__(self, data_dir: Path, config: PostgresConfig) -> None:
        super().__init__(data_dir)
        self.config = config
        self._id = uuid4().hex
        self._lock = threading.Lock()
        self._datastore: PostgresDatastore | None = None
        self._setup_lock = threading.RLock()
        self._setup_depth = 0

    @property
    def datastore(self) -> PostgresDatastore:
        """The shared datastore, its pool open and the schema there."""
        with self._lock:
            if self._datastore is None:
                datastore = self.config.datastore()
                try:
                    _open(datastore, self.config)
                except BaseException:
                    datastore.close()
                    raise
                self._datastore = datastore
                self._datastores[self._id] = datastore
            return self._datastore

    @property
    def pool(self) -> HubPool:
        """The process's one connection pool."""
        return cast(HubPool, self.datastore.pool)

    def log_env(self) -> dict[str, str]:
        """The log on the kit's datastore (see :class:`KitFactory`)."""
        self.datastore  # noqa: B018 - opened now, so the hub's factory finds it
        return {**self.config.log_env(), "PERSISTENCE_MODULE": get_topic(KitFactory), self.KIT_KEY: self._id}

    def directory_env(self) -> dict[str, str]:
        """Beside the log, on the kit's pool, with a recorder that fails fast (:class:`DirectoryRecorder`)."""
        return {**self.log_env(), "APPLICATION_RECORDER_TOPIC": get_topic(DirectoryRecorder)}

    def log_recorder(self, *, create: bool = True) -> ApplicationRecorder:
        env = Environment(APP_NAME, {**self.log_env(), "CREATE_TABLE": "y" if create else "n"})
        with self.setting_up():
            return KitFactory(env).application_recorder()

    def views(self, *, unreachable: Unreachable, rows: RowSealer | None) -> Views:
        database = PostgresViews(self.datastore)
        return _views(lambda name, label: database, unreachable, rows)

    def key_store(self) -> ChildKeyStore:
        with self.setting_up():
            return PostgresKeyStore(self.pool, self.config.schema)

    def session_store(self) -> SessionStore:
        with self.setting_up():
            return PostgresSessionStore(self.pool, self.config.schema)

    def limit_storage(self, clock: Clock) -> Storage:
        with self.setting_up():
            return PostgresLimitStorage(self.pool, self.config.schema, clock)

    def sign_in_store(self) -> SignInStore:
        with self.setting_up():
            return PostgresSignInStore(self.pool, self.config.schema)

    def invitation_store(self) -> InvitationStore:
        with self.setting_up():
            return PostgresInvitationStore(self.pool, self.config.schema)

    def delivery_failure_store(self) -> DeliveryFailureStore:
        with self.setting_up():
            return PostgresDeliveryFailureStore(self.pool, self.config.schema)

    def position_store(self, path: Path | None = None) -> PositionStore:
        """Beside the log, so a database restored from backup carries the relay's place."""
        if path is not None:
            return super().position_store(path)
        from adapters.relay_store import PostgresPositionStore

        self.datastore  # noqa: B018 - the schema's tables are migrated there first
        return PostgresPositionStore(
            self.config.conninfo(), self.config.schema, connection_class=deadline_connection_class(self.config.answer_timeout)
        )

    def commit_listener(self, recorder: Any) -> CommitListener | None:
        """A listener to the channel the recorder notifies on every commit."""
        channel = getattr(recorder, "channel_name", None)
        if not channel:
            return None
        from adapters.relay_store import PostgresCommitListener

        return PostgresCommitListener(self.config.conninfo(), channel, answer_timeout=self.config.answer_timeout)

    @contextmanager
    def setting_up(self) -> Iterator[None]:
        """While tables are made: one process at a time per schema, so that processes
        started together on a new schema do not make the same table at once (PostgreSQL
        refuses the loser of such a race). Held on a connection outside the pool, which
        the tables are made on; a nested call holds it already."""
        import psycopg

        with self._setup_lock:
            if self._setup_depth:
                self._setup_depth += 1
                try:
                    yield
                finally:
                    self._setup_depth -= 1
                return
            self.datastore  # noqa: B018 - the schema is there first
            try:
                lock = psycopg.connect(self.config.conninfo(), autocommit=True)
            except psycopg.OperationalError:
                raise OperationalError("the database cannot be reached") from None
            with lock:
                lock.execute("SELECT pg_advisory_lock(hashtext(%s))", (f"backa setup {self.config.schema}",))
                self._setup_depth = 1
                try:
                    yield
                finally:
                    self._setup_depth = 0

    def pools(self) -> list[Any]:
        return [self.datastore.pool]

    def close(self) -> None:
        super().close()
        with self._lock:
            datastore, self._datastore = self._datastore, None
            self._datastores.pop(self._id, None)
        if datastore is not None:
            datastore.close()


class KitFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory on a store kit's datastore instead of one of its
    own, so the hub's log shares the kit's pool; the kit closes it, not the hub."""

    def __init__(self, env: Environment | dict[str, str] | None) -> None:
        BaseInfrastructureFactory.__init__(self, env)
        key = self.env.get(PostgresKit.KIT_KEY)
        datastore = PostgresKit._datastores.get(key or "")
        if datastore is None:
            raise OperationalError("the store kit's database connections were closed")
        self.datastore = datastore

    def close(self) -> None:
        """The datastore is the kit's."""


def _open(datastore: PostgresDatastore, config: PostgresConfig) -> None:
    """Open the pool, failing as the log does when the database cannot be reached, and
    create the schema unless it is there (checked first: a role may own a schema without
    the right to create one; made under a lock, as processes started together may race)."""
    from psycopg import sql
    from psycopg_pool import PoolTimeout

    try:
        datastore.pool.open(wait=True, timeout=config.connect_timeout)
    except PoolTimeout:
        raise OperationalError("the database cannot be reached") from None
    with datastore.get_connection() as conn:
        if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (config.schema,)).fetchone() is None:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"backa schema {config.schema}",))
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(sql.Identifier(config.schema)))
    migrate_postgres(config.conninfo(), config.schema, POSTGRES)  # before any store uses the schema


def _migrated(path: Path, folder: Path) -> Path:
    """``path``, its SQLite file brought up to ``folder``'s migrations first."""
    migrate_sqlite(path, folder)
    return path


def _views(where: Callable[[str, str], Any], unreachable: Unreachable, rows: RowSealer | None) -> Views:
    """The four views, each at ``where(file name, label)``."""
    return Views(
        ChildRecordView(where("child_record", "record"), unreachable=unreachable, rows=rows),
        CaseListView(where("case_list", "cases"), unreachable=unreachable, rows=rows),
        AccessLogView(where("access_log", "access"), unreachable=unreachable, rows=rows),
        TermFiguresView(where("term_figures", "figures"), unreachable=unreachable, rows=rows),
    )


def store_kit(settings: Settings) -> StoreKit:
    """The kit for the settings' store; a bad database URL is named here, before anything is built."""
    kind = store_kind(settings)
    if kind == "postgres":
        if not settings.database_url:
            raise ValueError("the postgres store needs BACKA_DATABASE_URL")
        return PostgresKit(settings.data_dir, PostgresConfig.from_url(settings.database_url))
    if kind == "memory":
        return MemoryKit(settings.data_dir)
    return SQLiteKit(settings.data_dir)


__all__ = [
    "KitFactory",
    "LogRecorder",
    "MemoryKit",
    "PoolChecker",
    "PostgresConfig",
    "PostgresKit",
    "SQLiteKit",
    "StoreKit",
    "store_kind",
    "store_kit",
]
