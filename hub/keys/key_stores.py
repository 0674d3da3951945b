"""Where the children's wrapped data keys live: in memory, in an SQLite file beside the
log, or in the hub's PostgreSQL schema. Which one a hub uses is chosen once, by its store
kit (:mod:`hub.runtime.stores`); the rules every store keeps are
:class:`hub.keys.child_keys.ChildKeyStore`'s.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import OperationalError
from psycopg import sql
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool, PoolTimeout

from hub.keys.child_keys import DESTROYED, TOMBSTONE, ChildKeyDestroyedError, WrappedKey
from hub.runtime.pg_pool import HubPool


class MemoryKeyStore:
    def __init__(self) -> None:
        self._keys: dict[UUID, WrappedKey] = {}
        self._lock = threading.Lock()

    def get(self, child_id: UUID) -> WrappedKey | None:
        return self._keys.get(child_id)

    def add(self, child_id: UUID, key: WrappedKey) -> WrappedKey:
        with self._lock:
            return self._keys.setdefault(child_id, key)

    def destroy(self, child_id: UUID) -> bool:
        with self._lock:
            old = self._keys.get(child_id)
            self._keys[child_id] = TOMBSTONE
        return old is not None and not old.destroyed

    def kek_ids(self) -> list[str]:
        return sorted({k.kek_id for k in self._keys.values() if not k.destroyed})

    def sample(self, kek_id: str) -> WrappedKey | None:
        return next((k for k in self._keys.values() if k.kek_id == kek_id and not k.destroyed), None)

    def batch(self, after: UUID | None, limit: int) -> list[tuple[UUID, WrappedKey]]:
        with self._lock:
            ids = sorted((c for c in self._keys if after is None or c.bytes > after.bytes), key=lambda c: c.bytes)
            return [(c, self._keys[c]) for c in ids[:limit]]

    def replace(self, rows: Sequence[tuple[UUID, WrappedKey, WrappedKey]]) -> int:
        with self._lock:
            changed = [(c, new) for c, old, new in rows if self._keys.get(c) == old]
            self._keys.update(changed)
        return len(changed)

    def close(self) -> None:
        pass


class SQLiteKeyStore:
    """A ``child_keys`` table in a file beside the log: a copy of the log alone opens nothing.
    The table is the migrations' (:mod:`hub.runtime.migrations`), applied by the store kit."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA secure_delete=ON")  # freed and overwritten bytes are zeroed
        os.chmod(self.path, 0o600)

    def _one(self, query: str, params: tuple[Any, ...]) -> WrappedKey | None:
        with self._lock:
            row = self._db.execute(query, params).fetchone()
        return None if row is None else WrappedKey(row[0], bytes(row[1]))

    def get(self, child_id: UUID) -> WrappedKey | None:
        return self._one("SELECT kek_id, wrapped FROM child_keys WHERE child_id = ?", (child_id.bytes,))

    def add(self, child_id: UUID, key: WrappedKey) -> WrappedKey:
        with self._lock:
            self._db.execute(
                "INSERT INTO child_keys (child_id, kek_id, wrapped) VALUES (?, ?, ?) ON CONFLICT (child_id) DO NOTHING",
                (child_id.bytes, key.kek_id, key.wrapped),
            )
        stored = self.get(child_id)
        if stored is None:  # pragma: no cover - the row was just written or found
            raise ChildKeyDestroyedError(child_id)
        return stored

    def destroy(self, child_id: UUID) -> bool:
        """The tombstone is written with ``secure_delete`` on, and the write-ahead log is
        then checkpointed and truncated, so the wrapped key is left neither in the file's
        free space nor in an old frame of the WAL."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT kek_id FROM child_keys WHERE child_id = ?", (child_id.bytes,)).fetchone()
                self._db.execute(
                    "INSERT INTO child_keys (child_id, kek_id, wrapped) VALUES (?, ?, ?) "
                    "ON CONFLICT (child_id) DO UPDATE SET kek_id = excluded.kek_id, wrapped = excluded.wrapped",
                    (child_id.bytes, DESTROYED, b""),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return row is not None and row[0] != DESTROYED

    def kek_ids(self) -> list[str]:
        with self._lock:
            return [
                r[0]
                for r in self._db.execute(
                    "SELECT DISTINCT kek_id FROM child_keys WHERE kek_id <> ? ORDER BY kek_id", (DESTROYED,)
                )
            ]

    def sample(self, kek_id: str) -> WrappedKey | None:
        if kek_id == DESTROYED:
            return None
        return self._one("SELECT kek_id, wrapped FROM child_keys WHERE kek_id = ? LIMIT 1", (kek_id,))

    def batch(self, after: UUID | None, limit: int) -> list[tuple[UUID, WrappedKey]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT child_id, kek_id, wrapped FROM child_keys WHERE child_id > ? ORDER BY child_id LIMIT ?",
                (after.bytes if after else b"", limit),
            ).fetchall()
        return [(UUID(bytes=bytes(c)), WrappedKey(k, bytes(w))) for c, k, w in rows]

    def replace(self, rows: Sequence[tuple[UUID, WrappedKey, WrappedKey]]) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                changed = 0
                for child_id, old, new in rows:
                    changed += self._db.execute(
                        "UPDATE child_keys SET kek_id = ?, wrapped = ? WHERE child_id = ? AND kek_id = ? AND wrapped = ?",
                        (new.kek_id, new.wrapped, child_id.bytes, old.kek_id, old.wrapped),
                    ).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return changed

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresKeyStore:
    """A ``child_keys`` table in the hub's schema, on the connection pool of its process.

    Connections fail as the log's do (eventsourcing's ``OperationalError``), so a request
    that needs a key while the database is away is answered 503 like any other; a broken
    connection is dropped from the pool, so each costs at most one failed request. A
    look-up made inside a view's transaction (sealing or opening a row) borrows that
    transaction's connection (:meth:`hub.runtime.pg_pool.HubPool.borrow`), so the views
    never wait for a second connection of a pool they may hold all of; writes take a
    connection of their own, committed whatever the caller's transaction does. The pool is
    the kit's: closing the store leaves it open for the other stores on it.
    """

    def __init__(self, pool: ConnectionPool[Any], schema: str) -> None:
        self._pool = pool
        self._table = sql.Identifier(schema, "child_keys")

    @staticmethod
    @contextlib.contextmanager
    def _errors() -> Iterator[None]:
        try:
            yield
        except (psycopg.OperationalError, PoolTimeout) as e:
            raise OperationalError("the key store cannot be reached") from e

    @contextlib.contextmanager
    def _cursor(self, *, read: bool = False) -> Iterator[psycopg.Cursor[tuple[Any, ...]]]:
        pool = self._pool
        with self._errors(), (pool.borrow() if read and isinstance(pool, HubPool) else pool.connection()) as db:
            with db.cursor(row_factory=tuple_row) as cur:
                yield cur

    def _run(self, query: str, params: tuple[Any, ...] = (), *, read: bool = False) -> list[tuple[Any, ...]]:
        with self._cursor(read=read) as cur:
            cur.execute(sql.SQL(query).format(t=self._table), params)
            return cur.fetchall() if cur.description else []

    def get(self, child_id: UUID) -> WrappedKey | None:
        rows = self._run("SELECT kek_id, wrapped FROM {t} WHERE child_id = %s", (child_id,), read=True)
        return WrappedKey(rows[0][0], bytes(rows[0][1])) if rows else None

    def get_many(self, child_ids: Sequence[UUID]) -> dict[UUID, WrappedKey]:
        """The stored keys of these children, in one query (those without one are left out)."""
        rows = self._run("SELECT child_id, kek_id, wrapped FROM {t} WHERE child_id = ANY(%s)", (list(child_ids),))
        return {UUID(str(r[0])): WrappedKey(r[1], bytes(r[2])) for r in rows}

    def add(self, child_id: UUID, key: WrappedKey) -> WrappedKey:
        rows = self._run(
            "INSERT INTO {t} (child_id, kek_id, wrapped) VALUES (%s, %s, %s) ON CONFLICT (child_id) DO NOTHING "
            "RETURNING kek_id, wrapped",
            (child_id, key.kek_id, key.wrapped),
        )
        stored = WrappedKey(rows[0][0], bytes(rows[0][1])) if rows else self.get(child_id)
        if stored is None:  # pragma: no cover - the row was just written or found
            raise ChildKeyDestroyedError(child_id)
        return stored

    def destroy(self, child_id: UUID) -> bool:
        """The old row version stays in the table's file until vacuumed, so the table is
        vacuumed at once; what PostgreSQL's write-ahead log and backups still hold is
        made useless by rotating the KEK (see the README)."""
        with self._cursor() as cur:
            with cur.connection.transaction():
                cur.execute(sql.SQL("SELECT kek_id FROM {t} WHERE child_id = %s FOR UPDATE").format(t=self._table), (child_id,))
                old = cur.fetchone()
                cur.execute(
                    sql.SQL(
                        "INSERT INTO {t} (child_id, kek_id, wrapped) VALUES (%s, %s, %s) ON CONFLICT (child_id) "
                        "DO UPDATE SET kek_id = excluded.kek_id, wrapped = excluded.wrapped"
                    ).format(t=self._table),
                    (child_id, DESTROYED, b""),
                )
            cur.execute(sql.SQL("VACUUM {t}").format(t=self._table))
        return old is not None and old[0] != DESTROYED

    def kek_ids(self) -> list[str]:
        return [
            r[0] for r in self._run("SELECT DISTINCT kek_id FROM {t} WHERE kek_id <> %s ORDER BY kek_id", (DESTROYED,), read=True)
        ]

    def sample(self, kek_id: str) -> WrappedKey | None:
        if kek_id == DESTROYED:
            return None
        rows = self._run("SELECT kek_id, wrapped FROM {t} WHERE kek_id = %s LIMIT 1", (kek_id,), read=True)
        return WrappedKey(rows[0][0], bytes(rows[0][1])) if rows else None

    def batch(self, after: UUID | None, limit: int) -> list[tuple[UUID, WrappedKey]]:
        rows = self._run(
            "SELECT child_id, kek_id, wrapped FROM {t} WHERE child_id > %s ORDER BY child_id LIMIT %s",
            (after or UUID(int=0), limit),
            read=True,
        )
        return [(UUID(str(c)), WrappedKey(k, bytes(w))) for c, k, w in rows]

    def replace(self, rows: Sequence[tuple[UUID, WrappedKey, WrappedKey]]) -> int:
        query = sql.SQL(
            "UPDATE {t} SET kek_id = %s, wrapped = %s WHERE child_id = %s AND kek_id = %s AND wrapped = %s"
        ).format(t=self._table)
        changed = 0
        with self._cursor() as cur, cur.connection.transaction():
            for child_id, old, new in rows:
                cur.execute(query, (new.kek_id, new.wrapped, child_id, old.kek_id, old.wrapped))
                changed += cur.rowcount
        return changed

    def close(self) -> None:
        """Nothing of its own to close: the pool is the store kit's."""


__all__ = ["MemoryKeyStore", "PostgresKeyStore", "SQLiteKeyStore"]
