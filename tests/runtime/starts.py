"""A hub on a long log whose views are empty or old: what the start tests share."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from hub.demo import demo_directory, load_demo
from hub.demo.directory import TENANT_ID
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from projections.base import PageProjection
from tests.conftest import POSTGRES_URL, postgres_url

END = datetime(2026, 6, 1, 12, tzinfo=UTC)
BARNKONTAKT = ("lisa.andersson", "skola-norreport", ["barnkontakt", "discoverer", "team_member"])
"""A Barnkontakt of the demo, whose case list reads the case list view."""


def settings_for(store: str, tmp_path: Path, schema: str | None, **more: Any) -> Settings:
    if store == "postgres":
        assert schema is not None
        return Settings(store="postgres", database_url=postgres_url(schema), data_dir=tmp_path / "data", demo_mode=True, **more)
    return Settings(store=store, data_dir=tmp_path / "data", demo_mode=True, **more)


def start(settings: Settings) -> Runtime:
    return bootstrap(settings, clock=SettableClock(END), directory=demo_directory())


def what_the_views_hold(rt: Runtime) -> dict[str, Any]:
    """The views' contents as readers see them: every case, every child, the newest record item."""
    views = rt.hub.views
    return {
        "cases": views.cases.documents(TENANT_ID),
        "children": views.record.count_children(TENANT_ID),
        "record": views.record.version(),
        "reads": len(views.access.search(TENANT_ID, limit=100_000)),
    }


def a_long_log(settings: Settings, children: int) -> dict[str, Any]:
    """The demo's stories for ``children`` children in the settings' store (a few thousand
    facts for a couple of hundred); what its views held, and how many facts."""
    rt = start(settings)
    try:
        load_demo(rt, children=children, until=END)
        rt.hub.refresh_views()
        held = what_the_views_hold(rt)
        held["facts"] = rt.hub.log_length()
        return held
    finally:
        rt.close()


def empty_the_views(store: str, settings: Settings, schema: str | None) -> None:
    """Take away every view's tables and position, leaving the log: what a hub finds after
    a release that rebuilds its views, or on a new database restored from the log."""
    if store == "sqlite":
        for path in settings.data_dir.glob("view_*.sqlite*"):
            path.unlink()
        return
    names = ["view_versions", "view_builds"]
    rt = start(settings)
    try:
        for view in rt.hub.views.all():
            names += [*view.tables, f"{view.name}_tracking"]
    finally:
        rt.close()
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as db:
        for name in names:
            db.execute(sql.SQL("DROP TABLE IF EXISTS {0}.{1}").format(sql.Identifier(schema or ""), sql.Identifier(name)))


@contextmanager
def views_held_back(monkeypatch: pytest.MonkeyPatch, *, only: type | None = None) -> Iterator[threading.Event]:
    """The views (or those of one projection) apply nothing until the event is set: the
    test decides when they have caught up, so nothing depends on how fast they are."""
    release = threading.Event()
    original = PageProjection.process_page

    def held(self: PageProjection[Any], *args: Any, **kwargs: Any) -> None:
        if only is None or isinstance(self, only):
            release.wait(120)
        original(self, *args, **kwargs)

    monkeypatch.setattr(PageProjection, "process_page", held)
    try:
        yield release
    finally:
        release.set()


def started_within(settings: Settings, seconds: float) -> Runtime:
    """The hub from ``bootstrap``, which must return within ``seconds`` (it used to wait for its views)."""
    made: list[Runtime] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            made.append(start(settings))
        except BaseException as e:  # noqa: BLE001 - reported below
            failed.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if failed:
        raise failed[0]
    assert made, f"bootstrap did not return within {seconds} s: it waits for the views"
    return made[0]


def eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Polls ``check`` until true; fails (rather than hangs) after ``seconds``."""
    import time

    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.05)


def staff_headers(rt: Runtime) -> dict[str, str]:
    assert rt.demo_issuer is not None
    user, unit, roles = BARNKONTAKT
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(TENANT_ID, user, unit, roles)}"}
