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
