"""Where the rate limits count: ``limits`` storages on the hub's own stores.

The ``limits`` library counts in memory, Redis, Memcached or MongoDB; a hub runs on
SQLite or PostgreSQL and has none of those. So the fixed-window counter it needs
(``incr``/``get``/``get_expiry``, what :class:`limits.strategies.FixedWindowRateLimiter`
calls) is written here on the hub's stores, picked as the sessions' store is: in this
process, in ``sessions.sqlite`` beside the log, or in the hub's PostgreSQL schema, so
every process of a hub on one database counts together. A counter is one row, raised
by one atomic upsert; windows are timed by the hub's clock, not the wall clock.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import abstractmethod
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from limits.storage import Storage
from psycopg import sql
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool, PoolTimeout

from hub.errors import StoreUnavailableError
from hub.runtime.clock import Clock

TABLE = "rate_limits"
PRUNE_EVERY = timedelta(minutes=1)
"""Counters of ended windows are deleted at most this often, by whichever hit comes then."""


class _ClockedStorage(Storage):
    STORAGE_SCHEME = None

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return (sqlite3.Error, psycopg.Error)

    def now(self) -> float:
        return self.clock().timestamp()

    def check(self) -> bool:
        return True

    def close(self) -> None:
        pass


class MemoryLimitStorage(_ClockedStorage):
    """Counters in this process (tests, the in-memory hub)."""

    def __init__(self, clock: Clock, size: int = 100_000) -> None:
        super().__init__(clock)
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self.size = size

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.now()
        with self._lock:
            hits, ends = self._counts.get(key, (0, 0.0))
            if ends <= now:
                hits, ends = 0, now + expiry
            self._counts[key] = (hits + amount, ends)
            if len(self._counts) > self.size:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            return hits + amount

    def get(self, key: str) -> int:
        hits, ends = self._counts.get(key, (0, 0.0))
        return hits if ends > self.now() else 0

    def get_expiry(self, key: str) -> float:
        _, ends = self._counts.get(key, (0, 0.0))
        return max(ends, self.now())

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._counts)
            self._counts.clear()
        return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


_INCR = (
    "INSERT INTO {t} AS cur (key, hits, ends) VALUES ({p}, {p}, {p}) ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN cur.ends <= {p} THEN excluded.hits ELSE cur.hits + excluded.hits END, "
    "ends = CASE WHEN cur.ends <= {p} THEN excluded.ends ELSE cur.ends END "
    "RETURNING hits"
)
_GET = "SELECT hits, ends FROM {t} WHERE key = {p}"
_PRUNE = "DELETE FROM {t} WHERE ends <= {p}"


class _SqlLimitStorage(_ClockedStorage):
    """The same statements on either engine; ``_run`` is the engine's. The table is the
    migrations' (:mod:`hub.runtime.migrations`), applied by the store kit."""

    placeholder = "?"

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self._pruned = float("-inf")

    def _q(self, template: str) -> str:
        return template.replace("{p}", self.placeholder)

    @abstractmethod
    def _run(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Run one statement on the engine; the rows it returns."""

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.now()
        if now - self._pruned >= PRUNE_EVERY.total_seconds():
            self._pruned = now
            self._run(self._q(_PRUNE), (now,))
        rows = self._run(self._q(_INCR), (key, amount, now + expiry, now, now))
        return int(rows[0][0])

    def _window(self, key: str) -> tuple[int, float] | None:
        rows = self._run(self._q(_GET), (key,))
        if not rows or float(rows[0][1]) <= self.now():
            return None
        return int(rows[0][0]), float(rows[0][1])

    def get(self, key: str) -> int:
        window = self._window(key)
        return window[0] if window else 0

    def get_expiry(self, key: str) -> float:
        window = self._window(key)
        return window[1] if window else self.now()

    def reset(self) -> int | None:
        self._run("DELETE FROM {t}")
        return None

    def clear(self, key: str) -> None:
        self._run(self._q("DELETE FROM {t} WHERE key = {p}"), (key,))


class SQLiteLimitStorage(_SqlLimitStorage):
    """A ``rate_limits`` table in ``sessions.sqlite``, shared by the processes on this folder."""

    def __init__(self, path: Path, clock: Clock) -> None:
        super().__init__(clock)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")

    def _run(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(query.format(t=TABLE), params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresLimitStorage(_SqlLimitStorage):
    """A ``rate_limits`` table in the hub's schema, on the store kit's pool."""

    placeholder = "%s"

    def __init__(self, pool: ConnectionPool[Any], schema: str, clock: Clock) -> None:
        super().__init__(clock)
        self._pool = pool
        self._table = sql.Identifier(schema, TABLE)

    def _run(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        try:
            with self._pool.connection() as db, db.cursor(row_factory=tuple_row) as cur:
                cur.execute(sql.SQL(query).format(t=self._table), params)
                return cur.fetchall() if cur.description else []
        except (psycopg.OperationalError, PoolTimeout):
            raise StoreUnavailableError("the rate limits' store cannot be reached") from None

    def close(self) -> None:
        """Nothing of its own to close: the pool is the store kit's."""


__all__ = ["MemoryLimitStorage", "PostgresLimitStorage", "SQLiteLimitStorage"]
