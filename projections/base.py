"""What every view shares: rows and the tracking position commit in one transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder


def memory_db_name(label: str) -> str:
    """A private in-memory SQLite database shared by the pool's connections."""
    return f"file:{label}_{uuid4().hex}?mode=memory&cache=shared"


class SQLiteView(SQLiteTrackingRecorder):
    """A view in SQLite: its tables, and a tracking table that makes each event count once.

    ``write`` runs the rows' statements and records the tracking position in one
    transaction; an event already applied raises :class:`IntegrityError` from the
    tracking insert and rolls its rows back, so a projection that is stopped and
    restarted at any point ends in the same state as one that never stopped.
    """

    table_statements: tuple[str, ...] = ()

    def __init__(self, db_name: str) -> None:
        super().__init__(SQLiteDatastore(db_name, lock_timeout=30))

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.table_statements]

    def write(self, tracking: Tracking, apply: Callable[[SQLiteCursor], None]) -> None:
        with self.datastore.transaction(commit=True) as c:
            apply(c)
            self._insert_tracking(c, tracking)

    @contextmanager
    def read(self) -> Iterator[SQLiteCursor]:
        with self.datastore.transaction(commit=False) as c:
            yield c

    def close(self) -> None:
        self.datastore.close()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def loads(text: str) -> Any:
    return json.loads(text)


__all__ = ["SQLiteView", "memory_db_name", "dumps", "loads", "IntegrityError", "sqlite3"]
