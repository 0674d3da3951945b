"""Where the hub keeps the agencies' reports of webhooks no receiver took: one row per
tenant, unit and message id, so a report delivered twice is kept once and a recovery marks
its row. In this process, in ``delivery_failures.sqlite`` in the data folder, or in the
hub's PostgreSQL schema; the relay writes, the hub's pages and API read (the table is the
migrations', :mod:`hub.runtime.migrations`)."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from contracts.delivery_reports import DeliveryFailed, DeliveryReport
from hub.identity.pg_tables import PostgresTables, SQLiteTables, iso_utc

TABLE = "delivery_failures"
FILE = "delivery_failures.sqlite"
LISTED = 500
"""The most rows a list holds (the newest)."""


class DeliveryState(str, Enum):
    OPEN = "open"
    """Still in the agency's dead-letter file."""
    RECOVERED = "recovered"
    """Replayed and taken by the receiver."""


@dataclass(frozen=True)
class FailedDelivery:
    tenant_id: str
    unit_id: str
    message_id: str
    event_type: str
    reason: str
    attempts: int
    failed_at: datetime
    recovered_at: datetime | None = None

    @property
    def state(self) -> DeliveryState:
        return DeliveryState.OPEN if self.recovered_at is None else DeliveryState.RECOVERED


class DeliveryFailureStore(Protocol):
    def failed(self, report: DeliveryFailed) -> None:
        """Keep a dead letter, once per tenant, unit and message id; a later failure of the
        same delivery (a replay that failed too) replaces it and opens it again."""
        ...

    def recovered(self, report: DeliveryReport) -> None:
        """Mark a dead letter delivered, with when."""
        ...

    def list(self, tenant_id: str, unit_id: str | None = None, state: DeliveryState | None = None) -> list[FailedDelivery]:
        """The area's rows (of one unit, in one state), newest failure first."""
        ...

    def close(self) -> None: ...


def _matches(row: FailedDelivery, tenant_id: str, unit_id: str | None, state: DeliveryState | None) -> bool:
    return row.tenant_id == tenant_id and unit_id in (None, row.unit_id) and state in (None, row.state)


class MemoryDeliveryFailureStore:
    """In this process (tests, the in-memory hub)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], FailedDelivery] = {}
        self._lock = threading.Lock()

    def failed(self, report: DeliveryFailed) -> None:
        key = (report.tenant_id, report.unit_id, report.message_id)
        with self._lock:
            have = self._rows.get(key)
            if have is not None and not (have.failed_at < report.at and (have.recovered_at is None or have.recovered_at < report.at)):
                return  # the same report again, or one older than what is kept
            self._rows[key] = FailedDelivery(*key, report.event_type, report.reason, report.attempts, report.at)

    def recovered(self, report: DeliveryReport) -> None:
        key = (report.tenant_id, report.unit_id, report.message_id)
        with self._lock:
            have = self._rows.get(key)
            if have is None:
                self._rows[key] = FailedDelivery(*key, report.event_type, "", report.attempts, report.at, report.at)
            elif have.recovered_at is None:
                self._rows[key] = replace(have, recovered_at=report.at)

    def list(self, tenant_id: str, unit_id: str | None = None, state: DeliveryState | None = None) -> list[FailedDelivery]:
        rows = [r for r in self._rows.values() if _matches(r, tenant_id, unit_id, state)]
        return sorted(rows, key=lambda r: (r.failed_at, r.message_id), reverse=True)[:LISTED]

    def close(self) -> None:
        pass


class _SqlDeliveryFailureStore(ABC):
    """The same statements on either engine; ``_run`` is the engine's."""

    placeholder = "?"

    @abstractmethod
    def _run(self, query: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]: ...

    def _q(self, template: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        return self._run(template.replace("{p}", self.placeholder), params)

    def failed(self, report: DeliveryFailed) -> None:
        at = iso_utc(report.at)
        self._q(
            "INSERT INTO {t} (tenant_id, unit_id, message_id, event_type, reason, attempts, failed_at) "
            "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (tenant_id, unit_id, message_id) DO UPDATE SET "
            "event_type = excluded.event_type, reason = excluded.reason, attempts = excluded.attempts, "
            "failed_at = excluded.failed_at, recovered_at = NULL "
            "WHERE {t}.failed_at < excluded.failed_at AND ({t}.recovered_at IS NULL OR {t}.recovered_at < excluded.failed_at)",
            (report.tenant_id, report.unit_id, report.message_id, report.event_type, report.reason, report.attempts, at),
        )

    def recovered(self, report: DeliveryReport) -> None:
        at = iso_utc(report.at)
        self._q(
            "INSERT INTO {t} (tenant_id, unit_id, message_id, event_type, reason, attempts, failed_at, recovered_at) "
            "VALUES ({p}, {p}, {p}, {p}, '', {p}, {p}, {p}) ON CONFLICT (tenant_id, unit_id, message_id) DO UPDATE SET "
            "recovered_at = excluded.recovered_at WHERE {t}.recovered_at IS NULL",
            (report.tenant_id, report.unit_id, report.message_id, report.event_type, report.attempts, at, at),
        )

    def list(self, tenant_id: str, unit_id: str | None = None, state: DeliveryState | None = None) -> list[FailedDelivery]:
        where, params = ["tenant_id = {p}"], [tenant_id]
        if unit_id is not None:
            where.append("unit_id = {p}")
            params.append(unit_id)
        if state is DeliveryState.OPEN:
            where.append("recovered_at IS NULL")
        elif state is DeliveryState.RECOVERED:
            where.append("recovered_at IS NOT NULL")
        rows, _ = self._q(
            "SELECT tenant_id, unit_id, message_id, event_type, reason, attempts, failed_at, recovered_at FROM {t} "  # noqa: S608 - fixed clauses; every value is bound
            f"WHERE {' AND '.join(where)} ORDER BY failed_at DESC, message_id DESC LIMIT {LISTED}",
            tuple(params),
        )
        return [
            FailedDelivery(r[0], r[1], r[2], r[3], r[4], int(r[5]), datetime.fromisoformat(r[6]), _moment(r[7])) for r in rows
        ]


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class SQLiteDeliveryFailureStore(SQLiteTables, _SqlDeliveryFailureStore):
    """A table in ``delivery_failures.sqlite``, shared by the processes on the data folder."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, {"t": TABLE})


class PostgresDeliveryFailureStore(PostgresTables, _SqlDeliveryFailureStore):
    """A table in the hub's schema, on the store kit's pool."""

    def __init__(self, pool: ConnectionPool[Any], schema: str) -> None:
        super().__init__(pool, schema, {"t": TABLE}, "delivery failures' store")


__all__ = [
    "FILE",
    "TABLE",
    "DeliveryFailureStore",
    "DeliveryState",
    "FailedDelivery",
    "MemoryDeliveryFailureStore",
    "PostgresDeliveryFailureStore",
    "SQLiteDeliveryFailureStore",
]
