"""The log's recorder alone, opened from settings: what ``backa audit`` reads the log as stored with,
without building the hub or its views."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hub.tlog.errors import TransparencyError


@contextmanager
def open_log_recorder(settings: Any) -> Iterator[Any]:
    """The event store's recorder alone, for reading the log as stored (``backa audit``)."""
    from eventsourcing.persistence import InfrastructureFactory
    from eventsourcing.utils import Environment

    from hub.runtime.bootstrap import PostgresConfig, store_kind

    kind = store_kind(settings)
    if kind == "memory":
        raise TransparencyError("the memory store keeps no log between runs; there is nothing to audit")
    if kind == "postgres":
        if not settings.database_url:
            raise TransparencyError("the postgres store needs BACKA_DATABASE_URL")
        env = PostgresConfig.from_url(settings.database_url).log_env()
    else:
        path = settings.data_dir / "events.sqlite"
        if not path.exists():
            raise TransparencyError(f"no log in {settings.data_dir}: events.sqlite is missing")
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path), "SQLITE_LOCK_TIMEOUT": "30"}
    env["CREATE_TABLE"] = "n"
    factory = InfrastructureFactory.construct(Environment("backa", env))
    try:
        yield factory.application_recorder()
    finally:
        factory.close()
