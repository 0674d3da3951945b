"""What the identity stores share on SQL: one text form of a moment, and one way to run a
statement on PostgreSQL that names the store when the database cannot be reached."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
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
