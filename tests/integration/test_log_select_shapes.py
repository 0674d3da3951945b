"""The log on PostgreSQL reads a child's events with statements it renders once per shape:
every shape (after a version, up to one, newest first, a limit) answers as the library's own
query does, in two schemas side by side without one's text reaching the other's table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder

from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import postgres_url, register_child
from tests.factories import directory


def test_every_shape_of_a_read_answers_as_the_library_does(
    pg_schemas: Callable[[], str], clock: SettableClock, tmp_path: Path
) -> None:
    runtimes = [
        bootstrap(Settings(store="postgres", database_url=postgres_url(pg_schemas()), data_dir=tmp_path / n, demo_mode=True),
                  clock=clock, directory=directory())
        for n in ("a", "b")
    ]
    try:
        children = [UUID(str(register_child(rt))) for rt in runtimes]
        shapes = [
            {}, {"gt": 1}, {"lte": 1}, {"desc": True}, {"limit": 1}, {"gt": 0, "lte": 5, "desc": True, "limit": 2},
        ]
        for _ in range(2):  # the second round reads with the texts the first rendered
            for rt, child in zip(runtimes, children, strict=True):
                recorder = rt.hub.recorder
                for shape in shapes:
                    ours = recorder.select_events(child, **shape)
                    theirs = PostgresApplicationRecorder.select_events.__wrapped__(recorder, child, **shape)
                    assert ours == theirs, shape
                assert recorder.select_events(child) != [], "each schema reads its own table"
    finally:
        for rt in runtimes:
            rt.close()


def test_an_append_notifies_the_log_channel_for_other_processes(pg_schema: str, clock: SettableClock, tmp_path: Path) -> None:
    import psycopg
    from psycopg import sql

    from tests.conftest import POSTGRES_URL

    rt = bootstrap(Settings(store="postgres", database_url=postgres_url(pg_schema), data_dir=tmp_path, demo_mode=True),
                   clock=clock, directory=directory())
    try:
        channel = rt.hub.recorder.channel_name
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as listener:
            listener.execute(sql.SQL("LISTEN {0}").format(sql.Identifier(channel)))
            register_child(rt)
            heard = list(listener.notifies(timeout=10, stop_after=1))
        assert [n.channel for n in heard] == [channel]
    finally:
        rt.close()
