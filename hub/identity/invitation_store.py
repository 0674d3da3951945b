"""Where the digital conversation's links and codes are found, shared by every process of a hub.

An invitation (``ConversationInvited``) is a fact in the child's log; the link and the code
handed to the child or guardian are not. What is kept here is a keyed digest of each (the
hub's blind-index key, :meth:`hub.identity.personnummer.BlindIndex.digest`) and which
invitation it opens, so a copy of the table opens nothing and a short code cannot be
guessed offline from it. Whether the invitation still works (answered, withdrawn, ended,
the record erased) is decided by the child's log every time; this table only finds it.

In this process, in ``sessions.sqlite`` beside the log, or in the hub's PostgreSQL schema,
as the web sessions and the sign-ins in flight are (:mod:`hub.identity.sign_in_store`).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from psycopg_pool import ConnectionPool

from hub.identity.pg_tables import PostgresTables, SQLiteTables, iso_utc

TABLE = "conversation_invitations"
MAX_MEMORY = 100_000


@dataclass(frozen=True)
class InvitationEntry:
    """Which invitation a digest opens, and until when it may be looked for."""

    tenant_id: str
    child_id: UUID
    invitation_id: str
    expires_at: datetime


class InvitationStore(Protocol):
    def add(self, digests: tuple[str, ...], entry: InvitationEntry) -> None:
        """Keep each digest as a way to ``entry``."""
        ...

    def find(self, digest: str) -> InvitationEntry | None: ...

    def remove(self, invitation_id: str) -> None:
        """Forget every way to the invitation (answered or withdrawn)."""
        ...

    def sweep(self, at: datetime) -> int:
        """Forget invitations that ended before ``at``; how many digests."""
        ...

    def close(self) -> None: ...


class MemoryInvitationStore:
    """In this process (tests, the in-memory hub)."""

    def __init__(self, size: int = MAX_MEMORY) -> None:
        self._entries: dict[str, InvitationEntry] = {}
        self._lock = threading.Lock()
        self.size = size

    def add(self, digests: tuple[str, ...], entry: InvitationEntry) -> None:
        with self._lock:
            for digest in digests:
                self._entries[digest] = entry
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]

    def find(self, digest: str) -> InvitationEntry | None:
        return self._entries.get(digest)

    def remove(self, invitation_id: str) -> None:
        with self._lock:
            self._entries = {d: e for d, e in self._entries.items() if e.invitation_id != invitation_id}

    def sweep(self, at: datetime) -> int:
        with self._lock:
            before = len(self._entries)
            self._entries = {d: e for d, e in self._entries.items() if e.expires_at > at}
            return before - len(self._entries)

    def close(self) -> None:
        pass





class _SqlInvitationStore(ABC):
    """The same statements on either engine; ``_run`` is the engine's. The table is the
    migrations' (:mod:`hub.runtime.migrations`), applied by the store kit."""

    placeholder = "?"

    @abstractmethod
    def _run(self, query: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        """Run one statement; the rows it returns and how many it changed."""

    def _q(self, template: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        return self._run(template.replace("{p}", self.placeholder), params)

    def add(self, digests: tuple[str, ...], entry: InvitationEntry) -> None:
        for digest in digests:
            self._q(
                "INSERT INTO {t} (digest, tenant_id, child_id, invitation_id, expires_at) VALUES ({p}, {p}, {p}, {p}, {p})",
                (digest, entry.tenant_id, str(entry.child_id), entry.invitation_id, iso_utc(entry.expires_at)),
            )

    def find(self, digest: str) -> InvitationEntry | None:
        rows, _ = self._q("SELECT tenant_id, child_id, invitation_id, expires_at FROM {t} WHERE digest = {p}", (digest,))
        if not rows:
            return None
        tenant_id, child_id, invitation_id, expires_at = rows[0]
        return InvitationEntry(tenant_id, UUID(child_id), invitation_id, datetime.fromisoformat(expires_at))

    def remove(self, invitation_id: str) -> None:
        self._q("DELETE FROM {t} WHERE invitation_id = {p}", (invitation_id,))

    def sweep(self, at: datetime) -> int:
        _, removed = self._q("DELETE FROM {t} WHERE expires_at <= {p}", (iso_utc(at),))
        return removed


class SQLiteInvitationStore(SQLiteTables, _SqlInvitationStore):
    """A table in ``sessions.sqlite``, shared by the processes on this folder."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, {"t": TABLE})


class PostgresInvitationStore(PostgresTables, _SqlInvitationStore):
    """A table in the hub's schema, on the store kit's pool."""

    def __init__(self, pool: ConnectionPool[Any], schema: str) -> None:
        super().__init__(pool, schema, {"t": TABLE}, "invitations' store")


__all__ = [
    "TABLE",
    "InvitationEntry",
    "InvitationStore",
    "MemoryInvitationStore",
    "PostgresInvitationStore",
    "SQLiteInvitationStore",
]
