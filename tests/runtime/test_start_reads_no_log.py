"""What a start costs does not grow with the log: building the hub and its app reads no
more of the log on a long log than on a short one, and the first command after a start
does not wait while the transparency log's tree takes in the whole log.

Records are counted, never timed: each read of the log is counted on the thread that
made it, so the views catching up in their own thread are not counted against the start.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.sqlite import SQLiteApplicationRecorder

from hub.demo import demo_directory
from hub.demo.directory import TENANT_ID
from hub.http import create_app
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.stores import LogRecorder
from hub.tlog.service import CheckpointPolicy
from tests.factories import registration_payload
from tests.runtime.starts import (
    BARNKONTAKT,
    END,
    a_long_log,
    empty_the_views,
    eventually,
    settings_for,
    start,
)

RECORDERS = (LogRecorder, SQLiteApplicationRecorder)


class LogReads:
    """Records read from the log, by the thread that read them."""

    def __init__(self) -> None:
        self.by_thread: Counter[int] = Counter()
        self.notifications: Counter[int] = Counter()

    def here(self) -> int:
        ident = threading.get_ident()
        return self.by_thread[ident]

    def notifications_here(self) -> int:
        return self.notifications[threading.get_ident()]


@pytest.fixture
def log_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[LogReads]:
    reads = LogReads()
    for cls in RECORDERS:
        for name in ("select_notifications", "select_events"):
            original = getattr(cls, name)

            def counted(self: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Sequence[Any]:
                found = _original(self, *args, **kwargs)
                ident = threading.get_ident()
                reads.by_thread[ident] += len(found)
                if _name == "select_notifications":
                    reads.notifications[ident] += len(found)
                return found

            monkeypatch.setattr(cls, name, counted)
    yield reads


def _schema(store: str, request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("pg_schemas")() if store == "postgres" else None


def _start_reads(settings: Any, log_reads: LogReads) -> int:
    """Records the calling thread reads from the log while the hub and its app are built."""
    before = log_reads.here()
    rt = start(settings)
    try:
        create_app(rt)
        return log_reads.here() - before
    finally:
        rt.close()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_building_the_hub_and_its_app_reads_as_much_of_a_long_log_as_of_a_short_one(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, log_reads: LogReads
) -> None:
    logs = {}
    for children in (1, 20):
        schema = _schema(store, request)
        settings = settings_for(store, tmp_path / str(children), schema)
        logs[children] = (settings, a_long_log(settings, children)["facts"])
        empty_the_views(store, settings, schema)  # as after a release that rebuilds them
    (short, short_facts), (long, long_facts) = logs[1], logs[20]
    assert long_facts > 4 * short_facts

    assert _start_reads(long, log_reads) == _start_reads(short, log_reads)


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_the_first_command_after_a_start_does_not_read_the_whole_log_for_the_transparency_tree(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, log_reads: LogReads
) -> None:
    settings = settings_for(store, tmp_path, _schema(store, request))
    facts = a_long_log(settings, 10)["facts"]
    signing = CheckpointPolicy(every_facts=1)

    rt = bootstrap(settings, clock=SettableClock(END), directory=demo_directory(), checkpoint_policy=signing)
    try:
        assert rt.demo_issuer is not None and rt.transparency is not None
        user, unit, roles = BARNKONTAKT
        caller = rt.verifier.verify(rt.demo_issuer.staff_token(TENANT_ID, user, unit, roles))
        before = log_reads.notifications_here()
        rt.hub.register_child(caller, **registration_payload())  # type: ignore[arg-type]
        written = rt.hub.log_length() - facts
        assert log_reads.notifications_here() - before <= written  # at most the command's own facts
        # and the log is still signed as far as it goes, by the checkpoint thread
        log = rt.transparency
        eventually(lambda: (log.latest() is not None and log.latest().size == rt.hub.log_length()), 120, "a checkpoint of the whole log")
    finally:
        rt.close()
