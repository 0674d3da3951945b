"""A page of rows written in one statement lands exactly as the same rows written one by one.

On PostgreSQL a view's many-row ``INSERT`` is one ``unnest`` over an array per column, sent
in binary; on SQLite, one statement per row. Text that needs quoting in an array literal,
missing values and large integers must come out the same either way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import Tracking

from hub.runtime.stores import PostgresConfig
from projections.base import PostgresViews, View, memory_db_name
from tests.conftest import postgres_url


class _Rows(View):
    name = "rows_probe"
    tables = ("probe",)
    table_statements = (
        "CREATE TABLE IF NOT EXISTS probe (k TEXT PRIMARY KEY, a TEXT, n BIGINT, flag INTEGER NOT NULL, b TEXT)",
    )


AWKWARD = ['plain', 'with "quotes"', "back\\slash", "{braces}", "comma, and space", "", "NULL", "åäö ✓", " padded "]
UPSERT = "INSERT INTO probe VALUES (?, ?, ?, ?, ?) ON CONFLICT (k) DO UPDATE SET a = excluded.a, n = excluded.n, flag = excluded.flag"


def _rows(suffix: str) -> list[tuple[Any, ...]]:
    return [
        (f"{word}{suffix}", word if i % 3 else None, (2**40 + i) if i % 2 else None, int(i % 2 == 0), None)
        for i, word in enumerate(AWKWARD)
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        yield memory_db_name("probe")
        return
    schema = request.getfixturevalue("pg_schema")
    database = PostgresConfig.from_url(postgres_url(schema)).views()
    database.create_schema()
    yield database
    database.close()


def _table(view: View) -> list[tuple[Any, ...]]:
    with view.read() as c:
        c.execute("SELECT k, a, n, flag, b FROM probe ORDER BY k")
        return [(r["k"], r["a"], r["n"], r["flag"], r["b"]) for r in c.fetchall()]


def test_a_page_written_at_once_equals_the_rows_written_one_by_one(where: str | PostgresViews) -> None:
    view = _Rows(where)
    view.create_table()
    view.write(Tracking("probe", 1), lambda c: c.executemany(UPSERT, _rows("/page")))
    view.write(Tracking("probe", 2), lambda c: [c.executemany(UPSERT, [row]) for row in _rows("/single")])
    rows = _table(view)
    pages = [r[1:] for r in rows if r[0].endswith("/page")]
    singles = [r[1:] for r in rows if r[0].endswith("/single")]
    assert len(pages) == len(AWKWARD)
    assert pages == singles
    assert sorted(r[0] for r in rows if r[0].endswith("/page")) == sorted(f"{w}/page" for w in AWKWARD)
    assert {r[3] for r in rows} == {0, 1}
    assert max(r[2] or 0 for r in rows) == 2**40 + len(AWKWARD) - 2

    view.write(Tracking("probe", 3), lambda c: c.executemany(UPSERT, [(k, "changed", 7, 0, None) for k, *_ in _rows("/page")]))
    assert {r[1:4] for r in _table(view) if r[0].endswith("/page")} == {("changed", 7, 0)}
    view.close()
