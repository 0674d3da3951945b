"""What the hub's small SQL stores share: one text form of a moment, and one way to run a
statement on each engine. On PostgreSQL an unreachable database names the store; on SQLite
the processes on a data folder share one file (WAL), each store with one connection behind a
lock. A store's statements are written once for both, with ``{name}`` for its tables."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool, PoolTimeout

from hub.errors import StoreUnavailableError


def iso_utc(at: datetime) -> str:
    """UTC with a fixed width, so that stored times compare as text in both engines."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def run_on_postgres(
    pool: ConnectionPool[Any], tables: Mapping[str, sql.Identifier], store: str, query: str, params: tuple[Any, ...] = ()
) -> tuple[list[Any], int]:
    """Run ``query`` with its ``{name}`` placeholders filled by ``tables``; its rows and row
    count. An unreachable database is :class:`StoreUnavailableError` naming ``store`` only."""
    try:
        with pool.connection() as db, db.cursor(row_factory=tuple_row) as cur:
            cur.execute(sql.SQL(query).format(**tables), params)
            return (cur.fetchall() if cur.description else []), cur.rowcount
    except (psycopg.OperationalError, PoolTimeout):
        raise StoreUnavailableError(f"the {store} cannot be reached") from None


class SQLiteTables:
    """Tables in one SQLite file shared by the processes on a folder: ``_run`` fills each
    ``{name}`` of a statement with its table (by replacement: other braces stay as written)."""

    def __init__(self, path: Path, tables: Mapping[str, str]) -> None:
        self._tables = dict(tables)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")

    def _run(self, query: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        for name, table in self._tables.items():
            query = query.replace("{" + name + "}", table)
        with self._lock:
            cursor = self._db.execute(query, params)
            return cursor.fetchall(), cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresTables:
    """Tables in the hub's PostgreSQL schema, on the store kit's pool."""

    placeholder = "%s"

    def __init__(self, pool: ConnectionPool[Any], schema: str, tables: Mapping[str, str], store: str) -> None:
        self._pool = pool
        self._tables = {name: sql.Identifier(schema, table) for name, table in tables.items()}
        self._store = store

    def _run(self, query: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        return run_on_postgres(self._pool, self._tables, self._store, query, params)

    def close(self) -> None:
        """Nothing of its own to close: the pool is the store kit's."""
