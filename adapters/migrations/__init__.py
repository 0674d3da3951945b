"""Migrations of the durable tables: ordered SQL files applied once per database, under a lock.

Each SQLite file and each PostgreSQL schema keeps one history of what was applied, the
table ``schema_migrations``, written by yoyo-migrations (its psycopg 3 backend on
PostgreSQL, where the connection's ``search_path`` is the schema). yoyo also keeps its own
bookkeeping beside it, renamed here ``schema_migrations_log``, ``_version`` and ``_lock``.
A folder of migrations is read in the order of the file names (``0001_...sql``,
``0002_...``); a file once released is never edited, a change is a new file.

Two processes starting together must not both apply a migration, and a process killed
while migrating must not leave the next start waiting for a lock nobody holds. yoyo's lock
is a row in a table, which a killed process leaves behind; so the runner holds a lock the
operating system or the database lets go with the process: an exclusive ``flock`` on a
lock file beside the SQLite file, or a session advisory lock in PostgreSQL. Under it,
a lock row left by a killed migration is stale by construction and is cleared.

The common case, nothing to apply, costs one query and no lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from yoyo import read_migrations
from yoyo.backends.core.postgresql import PostgresqlPsycopgBackend
from yoyo.backends.core.sqlite3 import SQLiteBackend
from yoyo.connections import DatabaseURI
from yoyo.migrations import MigrationList

log = logging.getLogger("backa.migrations")

MIGRATIONS_TABLE = "schema_migrations"
"""The table in each SQLite file and PostgreSQL schema naming the migrations applied there."""
LOCK_WAIT = 120.0
"""Seconds a start waits for another process's migrations before it gives up."""
AGENCY = Path(__file__).parent / "agency"
"""The agency subscriber's own file: the ids of the messages it handed over."""
WEBHOOKS = Path(__file__).parent / "webhooks"
"""The signed webhook sender's file: the deliveries a receiver never took (the dead letters)."""


class MigrationError(RuntimeError):
    """The durable tables could not be brought up to this release."""


class MigrationLockError(MigrationError):
    """Another process held the migration lock for longer than a start waits."""


class _Names:
    """yoyo's tables, under one name per database."""

    log_table = f"{MIGRATIONS_TABLE}_log"
    lock_table = f"{MIGRATIONS_TABLE}_lock"
    version_table = f"{MIGRATIONS_TABLE}_version"


class _SQLite(_Names, SQLiteBackend):
    """yoyo's SQLite backend on a plain path (its own opens a shared-cache URI, which a
    path with ``?`` or ``#`` in it would break), waiting for a busy file like the stores."""

    def connect(self, dburi: DatabaseURI) -> sqlite3.Connection:
        conn = sqlite3.connect(dburi.database, timeout=30, detect_types=sqlite3.PARSE_DECLTYPES, isolation_level=None)
        return conn


class _Postgres(_Names, PostgresqlPsycopgBackend):
    """yoyo's psycopg 3 backend on a libpq connection string, in one schema."""

    def connect(self, dburi: DatabaseURI) -> psycopg.Connection[Any]:
        args = dict(dburi.args)
        self.schema = args["schema"]  # quoted: yoyo sets ``search_path`` to it as written
        return psycopg.connect(args["conninfo"], autocommit=True, options=f"-c lock_timeout={args['lock_timeout']}")


def _ids(folders: Sequence[Path]) -> list[str]:
    return [m.id for m in read_migrations(*map(str, folders))]


def _apply(backend: Any, folders: Sequence[Path], where: str) -> list[str]:
    """Apply what is missing with ``backend`` (the caller holds the lock); the ids applied."""
    try:
        backend.init_database()
        backend.break_lock()  # a row left by a migration killed halfway: nobody else is here
        migrations = read_migrations(*map(str, folders))
        missing = backend.to_apply(migrations)
        for migration in missing:  # one at a time, so a failure names the one that failed
            try:
                backend.apply_migrations(MigrationList([migration]))
            except (sqlite3.Error, psycopg.Error) as e:
                raise MigrationError(f"the migration {migration.id} of {where} failed and was rolled back: {type(e).__name__}") from e
        if missing:
            log.info("migrations applied: %s", ", ".join(m.id for m in missing))
        return [m.id for m in missing]
    finally:
        backend.connection.close()


# -- SQLite ------------------------------------------------------------------------------


def sqlite_applied(path: Path) -> set[str]:
    """The migrations applied to the SQLite file at ``path`` (none for a file without the table)."""
    if not path.exists():
        return set()
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        try:
            return {row[0] for row in db.execute(f"SELECT migration_id FROM {MIGRATIONS_TABLE}")}  # noqa: S608 - a constant
        except sqlite3.OperationalError:
            return set()


@contextlib.contextmanager
def _file_lock(path: Path, wait: float) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    raise MigrationLockError(f"another process is migrating {path.name} and did not finish in {wait:.0f} s") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # the lock goes with it


def migrate_sqlite(path: Path, *folders: Path, wait: float = LOCK_WAIT) -> list[str]:
    """Bring the SQLite file at ``path`` (made, private, when missing) up to ``folders``'
    migrations; the ids applied now."""
    path = Path(path)
    if set(_ids(folders)) <= sqlite_applied(path):
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    with _file_lock(path.with_name(f"{path.name}.migrations.lock"), wait):
        uri = DatabaseURI("sqlite", None, None, None, None, str(path), {})
        try:
            return _apply(_SQLite(uri, MIGRATIONS_TABLE), folders, path.name)
        except sqlite3.Error as e:
            raise MigrationError(f"the migrations of {path.name} failed: {type(e).__name__}") from e


# -- PostgreSQL --------------------------------------------------------------------------


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"backa {MIGRATIONS_TABLE} {schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def postgres_applied(db: psycopg.Connection[Any], schema: str) -> set[str]:
    """The migrations applied in ``schema`` (none for a schema without the table)."""
    if db.execute("SELECT to_regclass(%s)", (sql.Identifier(schema, MIGRATIONS_TABLE).as_string(db),)).fetchone() == (None,):
        return set()
    query = sql.SQL("SELECT migration_id FROM {}").format(sql.Identifier(schema, MIGRATIONS_TABLE))
    return {row[0] for row in db.execute(query)}


def migrate_postgres(conninfo: str, schema: str, *folders: Path, wait: float = LOCK_WAIT) -> list[str]:
    """Bring ``schema`` (which must exist) up to ``folders``' migrations; the ids applied now.

    The advisory lock is held on a connection of its own for the whole run, and waits at
    most ``wait`` seconds (``lock_timeout``) for a process migrating the same schema."""
    ids = set(_ids(folders))
    try:
        # no statement waits for ever: the lock waits ``wait`` seconds, anything else half a minute more
        with psycopg.connect(conninfo, autocommit=True, options=f"-c statement_timeout={int((wait + 30) * 1000)}") as db:
            if ids <= postgres_applied(db, schema):
                return []
            lock_timeout = f"{int(wait * 1000)}ms"  # also what a migration's statement waits for a table
            db.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(lock_timeout)))
            try:
                db.execute("SELECT pg_advisory_lock(%s)", (_lock_key(schema),))
            except psycopg.errors.LockNotAvailable:
                raise MigrationLockError(f"another process is migrating the schema and did not finish in {wait:.0f} s") from None
            quoted = sql.Identifier(schema).as_string(db)
            args = {"conninfo": conninfo, "schema": quoted, "lock_timeout": lock_timeout}
            uri = DatabaseURI("postgresql+psycopg", None, None, None, None, None, args)
            applied = _apply(_Postgres(uri, MIGRATIONS_TABLE), folders, "the schema")
            db.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(schema),))
            return applied
    except psycopg.Error as e:
        raise MigrationError(f"the migrations of the schema failed: {type(e).__name__}") from e


__all__ = [
    "AGENCY",
    "WEBHOOKS",
    "LOCK_WAIT",
    "MIGRATIONS_TABLE",
    "MigrationError",
    "MigrationLockError",
    "migrate_postgres",
    "migrate_sqlite",
    "postgres_applied",
    "sqlite_applied",
]
