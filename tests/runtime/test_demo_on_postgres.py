"""``backa demo`` loads into PostgreSQL when it is given a database URL, by flag or by
``BACKA_DATABASE_URL``, and refuses a schema that already holds a hub's log."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from hub.cli import main
from tests.conftest import POSTGRES_URL, postgres_url

CHILDREN = "3"


def facts_in(schema: str) -> int:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        found = db.execute("SELECT to_regclass(%s)", (sql.Identifier(schema, "backa_events").as_string(db),)).fetchone()
        if found is None or found[0] is None:
            return 0
        row = db.execute(sql.SQL("SELECT count(*) FROM {0}").format(sql.Identifier(schema, "backa_events"))).fetchone()
        return int(row[0]) if row else 0


def view_rows_in(schema: str) -> int:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        row = db.execute(sql.SQL("SELECT count(*) FROM {0}").format(sql.Identifier(schema, "cases"))).fetchone()
        return int(row[0]) if row else 0


@pytest.mark.parametrize("given_by", ["flag", "variable"])
def test_the_demo_loads_into_the_postgresql_schema_it_is_given(
    given_by: str, pg_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BACKA_STORE", raising=False)
    url = postgres_url(pg_schema)
    args = ["demo", "--load-only", "--children", CHILDREN, "--data-dir", str(tmp_path / "demo")]
    if given_by == "flag":
        monkeypatch.delenv("BACKA_DATABASE_URL", raising=False)
        args += ["--database-url", url]
    else:
        monkeypatch.setenv("BACKA_DATABASE_URL", url)

    assert main(args) == 0

    assert facts_in(pg_schema) > 0, "the demo's facts are in the schema's log"
    assert view_rows_in(pg_schema) > 0, "and its views were built there"
    assert not list((tmp_path / "demo").glob("*.sqlite")), "nothing of the log or the views in SQLite files"
    assert (tmp_path / "demo" / "directory.json").exists(), "the demo's directory and users stay in the folder"


def test_the_demo_leaves_a_schema_that_holds_a_log_untouched(pg_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BACKA_STORE", raising=False)
    monkeypatch.delenv("BACKA_DATABASE_URL", raising=False)
    url = postgres_url(pg_schema)
    assert main(["demo", "--load-only", "--children", "1", "--data-dir", str(tmp_path / "first"), "--database-url", url]) == 0
    before = facts_in(pg_schema)

    refused = main(["demo", "--load-only", "--children", "1", "--data-dir", str(tmp_path / "second"), "--database-url", url])

    assert refused != 0
    assert facts_in(pg_schema) == before
