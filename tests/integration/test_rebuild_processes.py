"""Rebuilding the views with several processes, each owning a part of the children: the
same rows as one process, on SQLite and PostgreSQL, and a part killed half way resumes
without applying anything twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts.events import AccessReviewed, InformationAccessed, RecordErased
from hub.demo import demo_directory, load_demo
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.rebuild import RebuildError, _opened, part_name, rebuild
from hub.runtime.settings import Settings
from tests.conftest import make_settings

UNTIL = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CHILDREN = 20
SEALED = {"fields", "doc", "purpose", "note"}
"""The columns a view seals under the child's key (random nonces: compared opened)."""


@pytest.fixture(params=["sqlite", "postgres"])
def demo_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """A small demo's log (every kind of fact, reads, reviews and an erased child)."""
    settings = make_settings(request.param, tmp_path, request)
    rt = bootstrap(settings, clock=SettableClock(UNTIL), directory=demo_directory())
    try:
        load_demo(rt, children=CHILDREN, until=UNTIL)
    finally:
        rt.close()
    yield settings


def rows(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view's tables, the sealed columns opened; and each view's positions."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with _opened(settings) as opened:
        for view in opened.views.all():
            tables = [s.split("EXISTS", 1)[1].split("(", 1)[0].strip() for s in view.table_statements if " TABLE " in s]
            tracking = str(getattr(view.store.recorder, "tracking_table_name", "tracking"))
            with view.read() as c:
                for table in [*tables, tracking]:
                    c.execute(f"SELECT * FROM {table}")  # noqa: S608 - the views' own tables
                    found = [
                        tuple(sorted((k, repr(view.open(v)) if k in SEALED else repr(v)) for k, v in dict(r).items()))
                        for r in c.fetchall()
                    ]
                    out[f"{view.name}.{table}"] = sorted(found)
    return out


def test_two_processes_give_exactly_the_rows_of_one(demo_log: Settings) -> None:
    one = rebuild(demo_log, processes=1, from_scratch=True)
    single = rows(demo_log)
    two = rebuild(demo_log, processes=2, from_scratch=True)
    assert rows(demo_log) == single
    assert one.complete and two.complete and two.end == one.end > 200
    # the views are not trivially equal: every view holds rows, the erased child's erasure included
    for table in ("child_record.record_items", "case_list.cases", "access_log.access_log", "access_log.access_reviews",
                  "term_figures.figure_counts", "child_record.erased_children"):
        assert single[table], table
    tracked = [repr(r) for table, found in rows(demo_log).items() if table.endswith("tracking") for r in found]
    assert sum(f"'{two.end}'" in r and "'backa'" in r for r in tracked) == 4  # each view at the end, as one process leaves it
    assert not [r for r in tracked if "backa#" in r]  # and no part's position left behind


def test_a_rebuild_killed_part_way_resumes_with_the_same_rows(demo_log: Settings, tmp_path: Path) -> None:
    rebuild(demo_log, processes=1, from_scratch=True)
    single = rows(demo_log)
    env = {
        **os.environ,
        "BACKA_STORE": demo_log.store,
        "BACKA_DATA_DIR": str(demo_log.data_dir),
        "BACKA_DEMO_MODE": "true",
        "BACKA_DATABASE_URL": demo_log.database_url or "",
    }
    command = [sys.executable, "-m", "hub.cli", "views", "rebuild", "--processes", "2", "--page", "1", "--from-scratch"]
    killed = subprocess.Popen(command, env=env, start_new_session=True, stderr=subprocess.DEVNULL)  # noqa: S603
    names = [part_name(k, 2) for k in range(2)]
    try:
        deadline = time.monotonic() + 120  # does not hang: the parts show progress well before
        progress: list[int] = []
        while time.monotonic() < deadline and killed.poll() is None:
            with _opened(demo_log) as opened:
                figures = opened.views.figures
                with figures.read() as c:
                    c.execute(f"SELECT notification_id FROM {getattr(figures.store.recorder, 'tracking_table_name', 'tracking')} "
                              f"WHERE application_name IN (?, ?)", names)
                    progress = [int(r["notification_id"]) for r in c.fetchall()]
            if progress and max(progress) > 50:
                break
            time.sleep(0.05)
    finally:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
    assert progress and max(progress) > 50, "the rebuild was killed before any part wrote a page"
    with _opened(demo_log) as opened:
        end = int(opened.recorder.max_notification_id() or 0)
    assert min(progress) < end, "the rebuild finished before it was killed"
    assert rows(demo_log) != single  # the views were left half built

    with pytest.raises(RebuildError):
        rebuild(demo_log, processes=3)  # a part of the views is held by the parts of two processes
    done = rebuild(demo_log, processes=2)
    assert done.complete
    assert rows(demo_log) == single  # nothing counted twice: the figures, the access log, the cases


def test_the_follower_decodes_only_the_facts_a_view_takes(demo_log: Settings) -> None:
    """A follower of the access log alone opens only reads, reviews and erasures, and builds
    the same access log as a follower of every view."""
    from hub.runtime.follower import LogFollower
    from hub.runtime.rebuild import _Log, empty

    rebuild(demo_log, processes=1, from_scratch=True)
    every = rows(demo_log)
    decoded: list[str] = []
    with _opened(demo_log) as opened:
        access = opened.views.access
        empty(access)
        mapper = opened.mapper
        original = mapper.to_domain_event

        def counting(stored: Any) -> Any:
            decoded.append(stored.topic)
            return original(stored)

        mapper.to_domain_event = counting  # type: ignore[method-assign]
        end = int(opened.recorder.max_notification_id() or 0)
        projections = [p for p in opened.views.projections() if p.view is access]
        follower = LogFollower(_Log(opened.recorder, mapper, end, None), projections)  # type: ignore[arg-type]
        try:
            follower.catch_up()
        finally:
            follower.close()
    assert set(decoded) == {InformationAccessed.type_name, AccessReviewed.type_name, RecordErased.type_name}
    assert len(decoded) < end / 2
    after = rows(demo_log)
    assert {k: v for k, v in after.items() if k.startswith("access_log.")} == {
        k: v for k, v in every.items() if k.startswith("access_log.")
    }


@pytest.mark.parametrize("demo_log", ["postgres"], indirect=True)
def test_the_keys_of_a_page_s_children_are_fetched_in_one_query(demo_log: Settings) -> None:
    """Opening a page of stored facts asks the key store once for every child's key, not
    once per child (the erased child's key, destroyed, is asked for alone: it opens nothing)."""
    with _opened(demo_log, create=False) as opened:
        store = opened.sealer.store
        asked: list[Any] = []
        many: list[int] = []
        get, get_many = store.get, store.get_many
        store.get = lambda child_id: (asked.append(child_id), get(child_id))[1]
        store.get_many = lambda ids: (many.append(len(ids)), get_many(ids))[1]
        stored = opened.recorder.select_notifications(1, 10_000)
        opened.sealer.warm([n.state for n in stored])
        facts = [opened.mapper.to_domain_event(n).fact for n in stored]
    children = {f.child_id for f in facts}
    erased = {f.child_id for f in facts if isinstance(f, RecordErased)}
    assert len(many) == 1 and many[0] >= CHILDREN
    assert set(asked) <= erased and len(children) > CHILDREN


def test_a_hub_s_follower_is_refused_while_parts_rebuild_the_views(demo_log: Settings) -> None:
    """While the parts hold the views, a hub that follows the log (started too early) does not
    write them: its views stall and are retried, and the rebuild ends with the same rows."""
    from hub.runtime.follower import LogFollower, ViewStalledError
    from hub.runtime.rebuild import _Log
    from projections.base import ViewRebuildingError

    rebuild(demo_log, processes=1, from_scratch=True)
    single = rows(demo_log)
    begun = rebuild(demo_log, processes=2, from_scratch=True, deadline=time.time())  # the parts stop at once
    assert not begun.complete
    with _opened(demo_log, create=False) as opened:
        end = int(opened.recorder.max_notification_id() or 0)
        hub = LogFollower(_Log(opened.recorder, opened.mapper, end, None), opened.views.projections())  # type: ignore[arg-type]
        try:
            with pytest.raises(ViewStalledError) as stalled:
                hub.catch_up()
        finally:
            hub.close()
    assert isinstance(stalled.value.__cause__, ViewRebuildingError)
    assert not any(found for table, found in rows(demo_log).items() if not table.endswith("tracking"))
    assert rebuild(demo_log, processes=2).complete
    assert rows(demo_log) == single


@pytest.fixture(params=["sqlite", "postgres"])
def followed_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Settings, dict[str, list[tuple[Any, ...]]]]]:
    """A small demo's log and the views the hub's own follower built from it as the facts
    were committed, page after page, mostly from the facts as committed (not decoded back
    from the log as a rebuild does)."""
    settings = make_settings(request.param, tmp_path, request)
    rt = bootstrap(settings, clock=SettableClock(UNTIL), directory=demo_directory())
    try:
        load_demo(rt, children=CHILDREN, until=UNTIL)
        rt.hub.follower.catch_up()
    finally:
        rt.close()
    yield settings, rows(settings)


def test_a_rebuild_gives_exactly_the_views_the_hub_s_follower_built(
    followed_log: tuple[Settings, dict[str, list[tuple[Any, ...]]]],
) -> None:
    """The rebuild's shortcuts (the stored facts decoded once per page and only for the views
    that take their type, the parts' children told from the sealed bytes) leave the same rows as the follower that built the views while the
    demo ran: the erased child (its key destroyed, its facts unreadable), the facts withheld
    from guardians and the reads and reviews included, with one process and with two."""
    settings, followed = followed_log
    assert followed["child_record.erased_children"] and followed["access_log.access_reviews"]
    assert any(("withheld", "1") in r for r in followed["child_record.record_items"])  # a fact kept from guardians
    for processes in (1, 2):
        done = rebuild(settings, processes=processes, from_scratch=True)
        assert done.complete
        assert rows(settings) == followed
