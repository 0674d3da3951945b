"""A view whose columns change is rebuilt in the background on start: the release raises
the view's version, the hub finds the tables built at the old one, drops them, and fills
the new ones from the log while it serves (reads of that view answer 503 meanwhile); a
start at the same version keeps what is there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from projections.base import View
from projections.caselist import CaseListProjection, CaseListView
from tests.runtime.starts import (
    a_long_log,
    eventually,
    settings_for,
    staff_headers,
    start,
    started_within,
    views_held_back,
)

CASE_LIST = "/api/v1/case-list?scope=unit"


class CaseListWithShorterTenants(CaseListView):
    """The case list as a later release keeps it: a column of another type."""

    view_version = 2
    table_statements = (
        "CREATE TABLE IF NOT EXISTS cases (child_id TEXT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, doc TEXT NOT NULL)",
        *CaseListView.table_statements[1:],
    )


def _one(rt: Runtime, sql: str) -> Any:
    with rt.hub.views.cases.store.transaction(commit=False) as c:
        c.execute(sql)
        row = c.fetchone()
    return None if row is None else next(iter(dict(row).values()))


def tenant_column(rt: Runtime, store: str) -> str:
    """The type the stored ``cases`` table gives its tenant column."""
    if store == "sqlite":
        with rt.hub.views.cases.store.transaction(commit=False) as c:
            c.execute("PRAGMA table_info(cases)")
            return next(str(r["type"]) for r in c.fetchall() if r["name"] == "tenant_id")
    length = _one(
        rt,
        "SELECT character_maximum_length FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'cases' AND column_name = 'tenant_id'",
    )
    return "TEXT" if length is None else f"VARCHAR({length})"


def stale_rows(rt: Runtime) -> int:
    return int(_one(rt, "SELECT COUNT(*) AS n FROM cases WHERE child_id = 'from-before'"))


def test_every_view_names_the_tables_its_statements_create() -> None:
    import re

    for view in View.__subclasses__():
        made = tuple(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", " ".join(view.table_statements)))
        assert view.tables == made, view.__name__
        assert view.view_version >= 1


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_view_whose_columns_change_is_rebuilt_in_the_background_on_start(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = request.getfixturevalue("pg_schema") if store == "postgres" else None
    settings = settings_for(store, tmp_path, schema, views_wait_seconds=0)
    before = a_long_log(settings, 40)

    rt = start(settings)  # the same release again: the view is kept as it is
    try:
        assert not rt.hub.views.cases.rebuilt
        with rt.hub.views.cases.store.transaction(commit=True) as c:
            c.execute("INSERT INTO cases VALUES ('from-before', 'ystad', '{}')")
        assert tenant_column(rt, store) == "TEXT"
    finally:
        rt.close()
    rt = start(settings)
    try:
        assert not rt.hub.views.cases.rebuilt and stale_rows(rt) == 1
    finally:
        rt.close()

    monkeypatch.setattr("hub.runtime.stores.CaseListView", CaseListWithShorterTenants)
    with views_held_back(monkeypatch, only=CaseListProjection) as release:
        rt = started_within(settings, 30)
        try:
            assert rt.hub.views.cases.rebuilt
            assert tenant_column(rt, store) == "VARCHAR(64)"
            eventually(lambda: rt.hub.follower.lagging == ["case_list"], 60, "the unchanged views opening")
            assert rt.hub.views.record.count_children("ystad") == before["children"]  # served meanwhile
            with TestClient(create_app(rt), base_url="https://testserver.local") as client:
                assert client.get("/health").status_code == 200
                refused = client.get("/ready")
                assert refused.status_code == 503 and refused.headers["retry-after"]
                lagging = client.get(CASE_LIST, headers=staff_headers(rt))
                assert lagging.status_code == 503 and lagging.headers["retry-after"]
                assert lagging.json()["type"] == "urn:backa:problem:views-catching-up"

                release.set()
                eventually(lambda: client.get("/ready").status_code == 200, 120, "the case list rebuilt")
                assert client.get(CASE_LIST, headers=staff_headers(rt)).status_code == 200
            assert stale_rows(rt) == 0
            assert rt.hub.views.cases.documents("ystad") == before["cases"]
        finally:
            rt.close()

    rt = start(settings)  # the new release again: built at its version, kept
    try:
        assert not rt.hub.views.cases.rebuilt
        eventually(lambda: rt.hub.follower.ready, 60, "the views opening")
        assert rt.hub.views.cases.documents("ystad") == before["cases"]
    finally:
        rt.close()
