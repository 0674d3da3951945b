"""A release whose migration fails leaves nothing of it applied, names the migration that
failed, and the hub refuses to start with that message rather than a traceback."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

import hub.runtime.stores
from adapters.migrations import MigrationError, migrate_postgres, migrate_sqlite, postgres_applied, sqlite_applied
from hub.cli import main
from hub.runtime.migrations import POSTGRES, SQLITE_KEYS
from tests.conftest import POSTGRES_URL

BROKEN = "0002_broken"
HALF = "CREATE TABLE half_applied (x int);\nINSERT INTO half_applied VALUES (1);\nALTER TABLE no_such_table ADD COLUMN y int;\n"


def _with_broken(tmp_path: Path, real: Path) -> Path:
    folder = tmp_path / f"{real.name}-broken"
    shutil.copytree(real, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / f"{BROKEN}.sql").write_text(HALF, encoding="utf-8")
    return folder


def test_a_failing_sqlite_migration_is_named_and_leaves_nothing_of_itself(tmp_path: Path) -> None:
    path = tmp_path / "child_keys.sqlite"
    with pytest.raises(MigrationError, match=f"the migration {BROKEN} of child_keys.sqlite failed and was rolled back"):
        migrate_sqlite(path, _with_broken(tmp_path, SQLITE_KEYS))
    assert sqlite_applied(path) == {"0001_child_keys"}
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'half_applied'").fetchall() == []


def test_a_failing_postgres_migration_is_named_and_leaves_nothing_of_itself(tmp_path: Path, pg_schema: str) -> None:
    with pytest.raises(MigrationError, match=f"the migration {BROKEN} of the schema failed and was rolled back"):
        migrate_postgres(POSTGRES_URL, pg_schema, _with_broken(tmp_path, POSTGRES))
    with psycopg.connect(POSTGRES_URL) as db:
        assert postgres_applied(db, pg_schema) == {"0001_durable_tables"}
        assert db.execute("SELECT to_regclass(%s)", (sql.Identifier(pg_schema, "half_applied").as_string(db),)).fetchone() == (
            None,
        )


def test_the_cli_refuses_to_start_naming_the_failed_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kek = tmp_path / "kek"
    assert main(["keys", "new-kek", "--out", str(kek)]) == 0
    monkeypatch.setenv("BACKA_KEK_FILE", str(kek))
    monkeypatch.setenv("BACKA_STORE", "sqlite")
    monkeypatch.setattr(hub.runtime.stores, "SQLITE_KEYS", _with_broken(tmp_path, SQLITE_KEYS))
    assert main(["views", "rebuild", "--processes", "1", "--data-dir", str(tmp_path / "data")]) == 2
    said = capsys.readouterr().err
    assert f"backa: the migration {BROKEN} of child_keys.sqlite failed and was rolled back" in said
    assert "Traceback" not in said
