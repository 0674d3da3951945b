"""A view whose columns change is rebuilt in the background on start, beside the old one:
the release raises the view's version, its hub builds that version's tables from the log
next to the old version's (reads of that view answer 503 meanwhile, never old rows), while
a hub of the old release on the same database goes on answering from the old tables. The
old tables go once the new version has caught up and nobody has used them for the grace
period, and not before."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from hub.demo import demo_directory
from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from projections.base import PageProjection, View
from projections.caselist import CaseListView
from tests.conftest import POSTGRES_URL
from tests.runtime.starts import END, a_long_log, eventually, settings_for, staff_headers

CASE_LIST = "/api/v1/case-list?scope=unit"
HOUR = timedelta(hours=1)


class CaseListWithShorterTenants(CaseListView):
    """The case list as a later release keeps it: a column of another type."""

    view_version = 2
    table_statements = (
        "CREATE TABLE IF NOT EXISTS cases (child_id TEXT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, doc TEXT NOT NULL)",
        *CaseListView.table_statements[1:],
    )


def start(settings: Settings, clock: SettableClock) -> Runtime:
    return bootstrap(settings, clock=clock, directory=demo_directory())


def tables(settings: Settings, schema: str | None) -> set[str]:
    """The tables the case list's database holds, whatever their version."""
    if schema is None:
        with sqlite3.connect(settings.data_dir / "view_case_list.sqlite") as db:
            return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    with psycopg.connect(POSTGRES_URL, connect_timeout=5) as db:
        rows = db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
        return {r[0] for r in rows}


def tenant_column(settings: Settings, schema: str | None, table: str) -> str:
    """The type a stored table of the case list gives its tenant column."""
    if schema is None:
        with sqlite3.connect(settings.data_dir / "view_case_list.sqlite") as db:
            return next(str(r[2]) for r in db.execute(f"PRAGMA table_info({table})") if r[1] == "tenant_id")
    with psycopg.connect(POSTGRES_URL, connect_timeout=5) as db:
        row = db.execute(
            "SELECT character_maximum_length FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s AND column_name = 'tenant_id'",
            (schema, table),
        ).fetchone()
    assert row is not None, f"no table {table}"
    return "TEXT" if row[0] is None else f"VARCHAR({row[0]})"


@contextmanager
def version_held_back(monkeypatch: pytest.MonkeyPatch, version: int) -> Iterator[threading.Event]:
    """Views at ``version`` apply nothing until the event is set (the others go on): the
    test decides when the new version has caught up."""
    release = threading.Event()
    original = PageProjection.process_page

    def held(self: PageProjection[Any], *args: Any, **kwargs: Any) -> None:
        if self.view.view_version == version:
            release.wait(120)
        original(self, *args, **kwargs)

    monkeypatch.setattr(PageProjection, "process_page", held)
    try:
        yield release
    finally:
        release.set()


def test_every_view_names_the_tables_its_statements_create() -> None:
    for view in View.__subclasses__():
        made = tuple(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", " ".join(view.table_statements)))
        assert view.tables == made, view.__name__
        assert view.view_version >= 1


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_new_version_is_built_beside_the_old_one_which_serves_the_old_release_until_nobody_uses_it(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = request.getfixturevalue("pg_schema") if store == "postgres" else None
    settings = settings_for(store, tmp_path, schema, views_wait_seconds=0, views_prune_grace_seconds=3600)
    before = a_long_log(settings, 40)
    old_clock, new_clock = SettableClock(END), SettableClock(END)

    old = start(settings, old_clock)  # a process of the release that keeps the case list at version 1
    opened = [old]
    try:
        eventually(lambda: old.hub.follower.ready, 60, "the old release's views opening")
        monkeypatch.setattr("hub.runtime.stores.CaseListView", CaseListWithShorterTenants)
        with (
            version_held_back(monkeypatch, 2) as release,
            TestClient(create_app(old), base_url="https://testserver.local") as old_client,
        ):
            new = start(settings, new_clock)  # the next release, beside it on the same database
            opened.append(new)
            assert new.hub.views.cases.rebuilt
            assert {"cases", "cases_v2", "case_people", "case_people_v2"} <= tables(settings, schema)
            assert tenant_column(settings, schema, "cases") == "TEXT"
            assert tenant_column(settings, schema, "cases_v2") == "VARCHAR(64)"

            with TestClient(create_app(new), base_url="https://testserver.local") as new_client:
                eventually(lambda: new.hub.follower.lagging == ["case_list"], 60, "the unchanged views opening")
                refused = new_client.get("/ready")
                assert refused.status_code == 503 and refused.headers["retry-after"]
                lagging = new_client.get(CASE_LIST, headers=staff_headers(new))
                assert lagging.status_code == 503 and lagging.headers["retry-after"]
                assert lagging.json()["type"] == "urn:backa:problem:views-catching-up"
                assert new.hub.views.record.count_children("ystad") == before["children"]  # the other views serve

                # The old release still answers from its tables while the new ones are built.
                served = old_client.get(CASE_LIST, headers=staff_headers(old))
                assert served.status_code == 200 and served.json()
                assert old.hub.views.cases.documents("ystad") == before["cases"]

                # Long unused or not, the old version stays while the new one has not caught up.
                new_clock.advance(2 * HOUR)
                assert new.versions is not None and new.versions.tick() == {}
                assert "cases" in tables(settings, schema)
                assert old_client.get(CASE_LIST, headers=staff_headers(old)).json() == served.json()

                release.set()
                eventually(lambda: new_client.get("/ready").status_code == 200, 120, "the new case list caught up")
                answered = new_client.get(CASE_LIST, headers=staff_headers(new))
                assert answered.status_code == 200 and answered.json() == served.json()
                assert new.hub.views.cases.documents("ystad") == before["cases"]

                # Caught up, but the old release's process still marks its version in use.
                old_clock.advance(2 * HOUR)
                assert old.versions is not None and old.versions.tick() == {}
                assert new.versions.tick() == {}
                assert "cases" in tables(settings, schema)
                assert old_client.get(CASE_LIST, headers=staff_headers(old)).json() == served.json()
        old.close()

        new_clock.advance(HOUR - timedelta(seconds=1))  # the old version unused for just under the grace period
        assert new.versions.tick() == {}
        assert {"cases", "case_people"} <= tables(settings, schema)
        new_clock.advance(timedelta(seconds=1))
        assert new.versions.tick() == {"case_list": [1]}
        left = tables(settings, schema)
        v1_tracking = "tracking" if schema is None else "case_list_tracking"
        assert not {"cases", "case_people", v1_tracking} & left
        assert {"cases_v2", "case_people_v2"} <= left  # the new version stays, and the unchanged views
        assert new.hub.views.cases.documents("ystad") == before["cases"]
        assert new.hub.views.record.count_children("ystad") == before["children"]
    finally:
        for rt in opened:
            rt.close()

    new = start(settings, new_clock)  # the new release again: its version is kept as it is
    try:
        assert not new.hub.views.cases.rebuilt
        eventually(lambda: new.hub.follower.ready, 60, "the views opening")
        assert new.hub.views.cases.documents("ystad") == before["cases"]
    finally:
        new.close()


@pytest.mark.parametrize(("grace_hours", "dropped"), [(1, True), (3, False)])
def test_the_grace_period_decides_when_an_unused_old_version_is_dropped(
    grace_hours: int, dropped: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for("sqlite", tmp_path, None, views_prune_grace_seconds=grace_hours * 3600)
    before = a_long_log(settings, 5)  # the old release's views, last used at END
    monkeypatch.setattr("hub.runtime.stores.CaseListView", CaseListWithShorterTenants)
    clock = SettableClock(END)
    rt = start(settings, clock)
    try:
        eventually(lambda: rt.hub.follower.ready, 60, "the new case list caught up")
        clock.advance(2 * HOUR)
        assert rt.versions is not None
        assert rt.versions.tick() == ({"case_list": [1]} if dropped else {})
        assert ("cases" in tables(settings, None)) is not dropped
        assert rt.hub.views.cases.documents("ystad") == before["cases"]
    finally:
        rt.close()


def count(settings: Settings, schema: str | None, table: str) -> int:
    if schema is None:
        with sqlite3.connect(settings.data_dir / "view_case_list.sqlite") as db:
            return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 - the test's own names
    with psycopg.connect(POSTGRES_URL, connect_timeout=5) as db:
        found = db.execute(f"SELECT COUNT(*) FROM {schema}.{table}").fetchone()  # noqa: S608
        assert found is not None
        return int(found[0])


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_rebuild_of_the_new_release_writes_its_version_s_tables_and_leaves_the_old_ones(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.runtime.rebuild import rebuild

    schema = request.getfixturevalue("pg_schema") if store == "postgres" else None
    settings = settings_for(store, tmp_path, schema)
    before = a_long_log(settings, 10)
    held = count(settings, schema, "cases")
    assert held > 0

    monkeypatch.setattr("hub.runtime.stores.CaseListView", CaseListWithShorterTenants)
    done = rebuild(settings, processes=1, from_scratch=True)
    assert done.complete
    assert count(settings, schema, "cases_v2") == held
    assert count(settings, schema, "cases") == held  # the old release's rows, as they were
    assert tenant_column(settings, schema, "cases") == "TEXT"
    assert tenant_column(settings, schema, "cases_v2") == "VARCHAR(64)"

    rt = start(settings, SettableClock(END))
    try:
        eventually(lambda: rt.hub.follower.ready, 60, "the rebuilt views opening")
        assert rt.hub.views.cases.documents("ystad") == before["cases"]
    finally:
        rt.close()


def test_backa_views_prune_drops_an_old_version_only_once_it_has_gone_unused_for_the_grace_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hub.cli import main

    settings = settings_for("sqlite", tmp_path, None)
    before = a_long_log(settings, 5)  # the old release's views, last used at END
    monkeypatch.setattr("hub.runtime.stores.CaseListView", CaseListWithShorterTenants)
    monkeypatch.setenv("BACKA_STORE", "sqlite")
    prune = ["views", "prune", "--grace-seconds", "3600", "--data-dir", str(settings.data_dir), "--at"]

    assert main([*prune, (END + 2 * HOUR).isoformat()]) == 0  # nothing newer has caught up yet
    assert "case_list: nothing to drop" in capsys.readouterr().err
    rt = start(settings, SettableClock(END))
    try:
        eventually(lambda: rt.hub.follower.ready, 60, "the new case list caught up")
        assert rt.versions is not None and rt.versions.tick() == {}
    finally:
        rt.close()

    assert main([*prune, (END + HOUR - timedelta(seconds=1)).isoformat()]) == 0
    assert "case_list: nothing to drop" in capsys.readouterr().err
    assert "cases" in tables(settings, None)
    assert main([*prune, (END + HOUR).isoformat()]) == 0
    said = capsys.readouterr().err
    assert "case_list: dropped versions 1" in said and "child_record: nothing to drop" in said
    assert "cases" not in tables(settings, None) and "cases_v2" in tables(settings, None)

    rt = start(settings, SettableClock(END + HOUR))
    try:
        eventually(lambda: rt.hub.follower.ready, 60, "the views opening")
        assert rt.hub.views.cases.documents("ystad") == before["cases"]
    finally:
        rt.close()


def test_a_process_whose_version_was_dropped_while_it_was_cut_off_refuses_that_view_and_is_not_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for("sqlite", tmp_path, None, views_wait_seconds=0)
    a_long_log(settings, 5)
    old_clock, new_clock = SettableClock(END), SettableClock(END)
    old = start(settings, old_clock)
    opened = [old]
    try:
        eventually(lambda: old.hub.follower.ready, 60, "the old release's views opening")
        monkeypatch.setattr("hub.runtime.stores.CaseListView", CaseListWithShorterTenants)
        new = start(settings, new_clock)
        opened.append(new)
        eventually(lambda: new.hub.follower.ready, 60, "the new case list caught up")
        assert new.versions is not None and new.versions.tick() == {}
        new_clock.advance(2 * HOUR)  # the old process marked nothing meanwhile: cut off from the database
        assert new.versions.tick() == {"case_list": [1]}

        with TestClient(create_app(old), base_url="https://testserver.local") as client:
            assert old.versions is not None and old.versions.tick() == {}
            assert old.versions.lost == {"case_list"}
            refused = client.get(CASE_LIST, headers=staff_headers(old))
            assert refused.status_code == 503 and refused.headers["retry-after"]
            assert refused.json()["type"] == "urn:backa:problem:views-catching-up"
            assert client.get("/ready").status_code == 503
            assert old.hub.views.record.count_children("ystad") > 0  # its other views still serve
    finally:
        for rt in opened:
            rt.close()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_every_view_at_a_new_version_holds_what_it_held_in_its_own_tables(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every statement of every view reads and writes its version's tables: each view at
    version 2, built from the log beside version 1, answers as version 1 did."""
    import hub.runtime.stores as stores
    from tests.runtime.starts import what_the_views_hold

    schema = request.getfixturevalue("pg_schema") if store == "postgres" else None
    settings = settings_for(store, tmp_path, schema)
    before = a_long_log(settings, 20)
    clock = SettableClock(END)
    rt = start(settings, clock)
    try:
        figures = rt.hub.views.figures
        assert figures is not None
        counted = figures.counts("ystad")
        assert counted
    finally:
        rt.close()
    for name in ("ChildRecordView", "CaseListView", "AccessLogView", "TermFiguresView"):
        monkeypatch.setattr(stores, name, type(name, (getattr(stores, name),), {"view_version": 2}))
    rt = start(settings, clock)
    try:
        assert all(view.rebuilt for view in rt.hub.views.all())
        eventually(lambda: rt.hub.follower.ready, 120, "every view at version 2 caught up")
        held = what_the_views_hold(rt)
        assert held == {k: v for k, v in before.items() if k != "facts"}
        assert held["cases"] and held["children"] and held["reads"]
        assert rt.hub.views.figures is not None and rt.hub.views.figures.counts("ystad") == counted
    finally:
        rt.close()
    if schema is not None:  # one schema holds every view: both versions of each, side by side
        made = {"record_items", "record_items_v2", "access_log", "access_log_v2", "figure_counts_v2", "child_record_v2_tracking"}
        assert made <= tables(settings, schema)


def test_the_tables_of_a_release_before_versions_were_kept_side_by_side_are_adopted_as_version_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such a release recorded one version per view in ``view_versions``, and its processes
    marked nothing: its tables are version 1's, kept while the new version builds and
    dropped, with that record, once it has caught up and the grace period has passed."""
    settings = settings_for("sqlite", tmp_path, None, views_prune_grace_seconds=3600)
    before = a_long_log(settings, 5)
    with sqlite3.connect(settings.data_dir / "view_case_list.sqlite") as db:  # as that release left it
        db.execute("DROP TABLE view_builds")
        db.execute("INSERT INTO view_versions VALUES ('case_list', 1, 'cases case_people')")
    monkeypatch.setattr("hub.runtime.stores.CaseListView", CaseListWithShorterTenants)
    clock = SettableClock(END)
    rt = start(settings, clock)
    try:
        assert rt.hub.views.cases.rebuilt
        eventually(lambda: rt.hub.follower.ready, 60, "the new case list caught up")
        assert rt.versions is not None and rt.versions.tick() == {}
        assert {"cases", "case_people", "tracking"} <= tables(settings, None)
        clock.advance(HOUR)
        assert rt.versions.tick() == {"case_list": [1]}
        assert not {"cases", "case_people", "tracking"} & tables(settings, None)
        with sqlite3.connect(settings.data_dir / "view_case_list.sqlite") as db:
            assert db.execute("SELECT COUNT(*) FROM view_versions").fetchone() == (0,)
        assert rt.hub.views.cases.documents("ystad") == before["cases"]
    finally:
        rt.close()
