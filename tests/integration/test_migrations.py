"""The durable tables' migrations, on SQLite and PostgreSQL: a database made before there
were migrations (its tables, no ``schema_migrations``) is adopted with its rows as they
were; a later migration is applied once, also when several processes start together; a
start waits for a migrating process only so long, and a lock left by a killed one does
not stop the next."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import shutil
import sqlite3
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from adapters.migrations import (
    MIGRATIONS_TABLE,
    MigrationLockError,
    _lock_key,
    migrate_postgres,
    migrate_sqlite,
    postgres_applied,
    sqlite_applied,
)
from adapters.relay_store import RelayPosition
from hub.keys.child_keys import KEYS_DB, WrappedKey
from hub.runtime import migrations, stores
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from hub.runtime.stores import POSITION_FILE, store_kit
from tests.conftest import POSTGRES_URL, postgres_url
from tests.factories import START

CHILD = UUID("00000000-0000-4000-8000-00000000c0de")
KEY = WrappedKey("kek-1", b"\x01" * 40)

# The tables as the stores made them before there were migrations; web_sessions as a store
# made them before sessions recorded their origin (no issuer, no demo).
BEFORE_SQLITE = {
    KEYS_DB: [
        "CREATE TABLE child_keys (child_id BLOB PRIMARY KEY, kek_id TEXT NOT NULL, wrapped BLOB NOT NULL) WITHOUT ROWID",
        ("INSERT INTO child_keys VALUES (?, ?, ?)", (CHILD.bytes, KEY.kek_id, KEY.wrapped)),
    ],
    "sessions.sqlite": [
        "CREATE TABLE web_sessions (key TEXT PRIMARY KEY, principal TEXT NOT NULL, csrf TEXT NOT NULL, "
        "started_at TEXT NOT NULL, last_seen TEXT NOT NULL, expires_at TEXT NOT NULL)",
        "CREATE TABLE rate_limits (key TEXT PRIMARY KEY, hits BIGINT NOT NULL, ends DOUBLE PRECISION NOT NULL)",
        ("INSERT INTO rate_limits VALUES (?, ?, ?)", ("k", 3, 1e12)),
    ],
    POSITION_FILE: [
        "CREATE TABLE relay_position (name TEXT PRIMARY KEY, position INTEGER NOT NULL, stream_seq INTEGER NOT NULL)",
        "CREATE TABLE relay_sent (name TEXT NOT NULL, child_id TEXT NOT NULL, stream_seq INTEGER NOT NULL, "
        "PRIMARY KEY (name, child_id, stream_seq))",
        ("INSERT INTO relay_position VALUES (?, ?, ?)", ("relay", 41, 17)),
    ],
}
BEFORE_POSTGRES = [
    "CREATE TABLE {s}.child_keys (child_id uuid PRIMARY KEY, kek_id text NOT NULL, wrapped bytea NOT NULL)",
    "CREATE TABLE {s}.web_sessions (key TEXT PRIMARY KEY, principal TEXT NOT NULL, csrf TEXT NOT NULL, "
    "started_at TEXT NOT NULL, last_seen TEXT NOT NULL, expires_at TEXT NOT NULL)",
    "CREATE TABLE {s}.relay_position (name TEXT PRIMARY KEY, position BIGINT NOT NULL, stream_seq BIGINT NOT NULL)",
    "CREATE TABLE {s}.relay_sent (name TEXT NOT NULL, child_id TEXT NOT NULL, stream_seq BIGINT NOT NULL, "
    "PRIMARY KEY (name, child_id, stream_seq))",
]
LATER = "0999_sessions_note"
"""A later release's migration: not idempotent, so a second run would fail."""
RELEASED_POSTGRES = {p.stem for p in migrations.POSTGRES.glob("*.sql")}
"""The migrations of the hub's PostgreSQL schema in this release."""


def _later(tmp_path: Path, real: Path, statement: str) -> Path:
    """``real``'s migrations and a test-local later one, in a folder of their own."""
    folder = tmp_path / f"{real.name}-later"
    shutil.copytree(real, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / f"{LATER}.sql").write_text(statement + ";\n", encoding="utf-8")
    return folder


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


# -- SQLite --------------------------------------------------------------------------------


@pytest.fixture
def old_folder(tmp_path: Path) -> Path:
    """A data folder as a hub made it before there were migrations."""
    data = tmp_path / "data"
    data.mkdir()
    for name, statements in BEFORE_SQLITE.items():
        with sqlite3.connect(data / name) as db:
            for statement in statements:
                db.execute(*statement) if isinstance(statement, tuple) else db.execute(statement)
    return data


def test_a_data_folder_made_before_migrations_is_adopted_with_its_rows_and_a_later_migration_applied_once(
    old_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = store_kit(Settings(store="sqlite", data_dir=old_folder))
    keys, sessions, positions = kit.key_store(), kit.session_store(), kit.position_store()
    try:
        assert keys.get(CHILD) == KEY
        assert positions.load() == RelayPosition(41, 17)
        assert kit.limit_storage(SettableClock(START)).get("k") == 3
    finally:
        keys.close(), sessions.close(), positions.close()
        kit.close()
    for name, folder in ((KEYS_DB, migrations.SQLITE_KEYS), ("sessions.sqlite", migrations.SQLITE_SESSIONS),
                         (POSITION_FILE, migrations.SQLITE_RELAY)):
        assert sqlite_applied(old_folder / name) == {p.stem for p in folder.glob("0*")}, name
    with sqlite3.connect(old_folder / "sessions.sqlite") as db:
        assert {"issuer", "demo"} <= _columns(db, "web_sessions")  # the older table gained its origin
        assert {"oidc_pending", "conversation_invitations"} <= {r[0] for r in db.execute("SELECT name FROM sqlite_master")}

    later = _later(tmp_path, migrations.SQLITE_SESSIONS, "ALTER TABLE web_sessions ADD COLUMN note TEXT")
    monkeypatch.setattr(stores, "SQLITE_SESSIONS", later)
    for _ in range(2):  # two starts of the next release
        kit = store_kit(Settings(store="sqlite", data_dir=old_folder))
        kit.session_store().close()
        kit.close()
    with sqlite3.connect(old_folder / "sessions.sqlite") as db:
        assert "note" in _columns(db, "web_sessions")
        assert [r[0] for r in db.execute(f"SELECT migration_id FROM {MIGRATIONS_TABLE} ORDER BY migration_id")] == [
            "0001_sessions", LATER
        ]


def test_a_new_sqlite_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / KEYS_DB
    assert migrate_sqlite(path, migrations.SQLITE_KEYS) == ["0001_child_keys"]
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert migrate_sqlite(path, migrations.SQLITE_KEYS) == []


def test_sqlite_processes_starting_together_apply_a_migration_once(tmp_path: Path) -> None:
    later = _later(tmp_path, migrations.SQLITE_SESSIONS, "ALTER TABLE web_sessions ADD COLUMN note TEXT")
    path = tmp_path / "data" / "sessions.sqlite"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(migrate_sqlite, [(path, later)] * 4)
    assert sorted(map(tuple, results)) == [(), (), (), ("0001_sessions", LATER)]
    assert sqlite_applied(path) == {"0001_sessions", LATER}


def test_a_sqlite_start_waits_for_a_migrating_process_only_so_long(tmp_path: Path) -> None:
    path = tmp_path / "data" / KEYS_DB
    path.parent.mkdir()
    fd = os.open(tmp_path / "data" / f"{KEYS_DB}.migrations.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process, migrating
        with pytest.raises(MigrationLockError, match="did not finish in 0 s"):
            migrate_sqlite(path, migrations.SQLITE_KEYS, wait=0.2)
    finally:
        os.close(fd)
    assert migrate_sqlite(path, migrations.SQLITE_KEYS) == ["0001_child_keys"]


def test_a_lock_row_left_by_a_killed_migration_does_not_stop_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "data" / "sessions.sqlite"
    migrate_sqlite(path, migrations.SQLITE_KEYS)  # yoyo's tables are there
    with sqlite3.connect(path) as db:
        db.execute(f"INSERT INTO {MIGRATIONS_TABLE}_lock (locked, ctime, pid) VALUES (1, '2026-01-01', 999999)")
    assert migrate_sqlite(path, migrations.SQLITE_SESSIONS) == ["0001_sessions"]


# -- PostgreSQL ----------------------------------------------------------------------------


def _tables(schema: str) -> set[str]:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        rows = db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)).fetchall()
    return {r[0] for r in rows}


def test_a_schema_made_before_migrations_is_adopted_with_its_rows_and_a_later_migration_applied_once(
    pg_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        for statement in BEFORE_POSTGRES:
            db.execute(sql.SQL(statement).format(s=sql.Identifier(pg_schema)))
        db.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(sql.Identifier(pg_schema, "child_keys")),
                   (CHILD, KEY.kek_id, KEY.wrapped))
        db.execute(sql.SQL("INSERT INTO {} VALUES ('relay', 41, 17)").format(sql.Identifier(pg_schema, "relay_position")))
    settings = Settings(store="postgres", database_url=postgres_url(pg_schema), data_dir=tmp_path / "data")

    kit = store_kit(settings)
    positions, keys, sessions = kit.position_store(), kit.key_store(), kit.session_store()
    try:
        assert positions.load() == RelayPosition(41, 17)
        assert keys.get(CHILD) == KEY
    finally:
        positions.close(), keys.close(), sessions.close()  # type: ignore[attr-defined]
        kit.close()
    assert {"conversation_invitations", "oidc_signed_in", "rate_limits", MIGRATIONS_TABLE} <= _tables(pg_schema)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        assert postgres_applied(db, pg_schema) == RELEASED_POSTGRES
        columns = {r[0] for r in db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'web_sessions'",
            (pg_schema,))}
        assert {"issuer", "demo"} <= columns

    later = _later(tmp_path, migrations.POSTGRES, "ALTER TABLE web_sessions ADD COLUMN note TEXT")
    monkeypatch.setattr(stores, "POSTGRES", later)
    for _ in range(2):  # two starts of the next release
        kit = store_kit(settings)
        kit.key_store().close()
        kit.close()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        assert postgres_applied(db, pg_schema) == {*RELEASED_POSTGRES, LATER}
        assert db.execute(sql.SQL("SELECT note FROM {}").format(sql.Identifier(pg_schema, "web_sessions"))).fetchall() == []


def test_a_fresh_schema_gets_every_durable_table_at_the_first_start(pg_schema: str, tmp_path: Path) -> None:
    from hub.runtime.bootstrap import bootstrap
    from tests.factories import directory

    rt = bootstrap(Settings(store="postgres", database_url=postgres_url(pg_schema), data_dir=tmp_path / "data", demo_mode=True),
                   directory=directory())
    rt.close()
    assert {"child_keys", "web_sessions", "oidc_pending", "relay_position", "conversation_invitations", MIGRATIONS_TABLE} <= _tables(pg_schema)


def test_postgres_processes_starting_together_apply_a_migration_once(pg_schema: str, tmp_path: Path) -> None:
    later = _later(tmp_path, migrations.POSTGRES, "SELECT pg_sleep(0.5);\nALTER TABLE web_sessions ADD COLUMN note TEXT")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(migrate_postgres, [(POSTGRES_URL, pg_schema, later)] * 4)
    assert sorted(map(tuple, results)) == [(), (), (), (*sorted(RELEASED_POSTGRES), LATER)]


def test_a_postgres_start_waits_for_a_migrating_process_only_so_long(pg_schema: str) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (_lock_key(pg_schema),))  # another process, migrating
        with pytest.raises(MigrationLockError, match="did not finish in 0 s"):
            migrate_postgres(POSTGRES_URL, pg_schema, migrations.POSTGRES, wait=0.2)
    # the other process died: its lock went with its connection
    assert migrate_postgres(POSTGRES_URL, pg_schema, migrations.POSTGRES) == sorted(RELEASED_POSTGRES)
