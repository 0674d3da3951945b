"""The log's recorder alone, opened from settings: what ``backa audit`` reads the log as stored with,
without building the hub or its views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from eventsourcing.persistence import ApplicationRecorder

from hub.runtime.settings import Settings
from hub.runtime.stores import store_kind, store_kit
from hub.tlog.errors import TransparencyError


@contextmanager
def open_log_recorder(settings: Settings) -> Iterator[ApplicationRecorder]:
    """The log's recorder from the settings' store kit, reading the log as stored and
    creating nothing; refused where there is no log to read."""
    if store_kind(settings) == "postgres" and not settings.database_url:
        raise TransparencyError("the postgres store needs BACKA_DATABASE_URL")
    kit = store_kit(settings)
    if not kit.persistent:
        raise TransparencyError("the memory store keeps no log between runs; there is nothing to audit")
    if kit.kind == "sqlite" and not (settings.data_dir / "events.sqlite").exists():
        raise TransparencyError(f"no log in {settings.data_dir}: events.sqlite is missing")
    try:
        yield kit.log_recorder(create=False)
    finally:
        kit.close()
