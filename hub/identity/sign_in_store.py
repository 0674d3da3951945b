"""What an OpenID Connect sign-in keeps between requests, shared by every process of a hub.

A sign-in begun on one process may be answered on another, and a provider's logout token
may reach a process that did not start the sessions it ends. So the sign-ins in flight,
the sessions a provider may end and the logout tokens already used live where the web
sessions do: in this process, in ``sessions.sqlite`` beside the log, or in the hub's
PostgreSQL schema (:mod:`hub.identity.sessions`).

Only what must be read back is kept readable. A sign-in in flight is found by the SHA-256
of its ``state`` and taken out by one ``DELETE ... RETURNING``, so of two processes given
the same answer only one gets it (RFC 6749 10.12: the state is used once). A logout
token is remembered by a digest of its issuer and ``jti`` (Back-Channel Logout 1.0, 2.6:
refused when used before), a signed-in session by the SHA-256 of its id; the caller
passes the provider's ``sub`` and ``sid`` as keyed digests and the ID token sealed, so a
copy of the store names nobody.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from hub.identity.pg_tables import PostgresTables, SQLiteTables, iso_utc

PENDING = "oidc_pending"
SIGNED_IN = "oidc_signed_in"
LOGOUT_TOKENS = "oidc_logout_tokens"
TABLES = {"pending": PENDING, "signed_in": SIGNED_IN, "logout": LOGOUT_TOKENS}
"""Its tables, by the names its statements give them."""
MAX_MEMORY = 100_000
"""Entries of each kind a store in memory keeps at most; the oldest are forgotten first."""


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in sent to a provider and not yet answered."""

    issuer: str
    browser: str
    """SHA-256 of the sign-in cookie's value."""
    nonce: str
    verifier: str
    redirect_uri: str
    next_page: str | None
    started_at: datetime


@dataclass(frozen=True)
class SignedInSession:
    """A session a provider started: what signing out there, or its logout token, needs."""

    issuer: str
    sid: str | None
    """Keyed digest of the provider's ``sid``."""
    subject: str
    """Keyed digest of the provider's ``sub``."""
    id_token: str
    """Sealed under a key only the session's id gives."""
    expires_at: datetime


class SignInStore(Protocol):
    def add_pending(self, key: str, pending: PendingSignIn) -> None: ...

    def take_pending(self, key: str, browser: str) -> PendingSignIn | None:
        """The sign-in with this state digest if this browser started it, removed at once:
        of every caller with the same key, one gets it."""
        ...

    def has_pending(self, key: str) -> bool: ...

    def remember(self, session_key: str, session: SignedInSession) -> None: ...

    def forget(self, session_key: str) -> SignedInSession | None:
        """The session's entry, removed."""
        ...

    def logged_out(self, issuer: str, sid: str | None, subject: str | None) -> list[str]:
        """Remove and return the keys of the issuer's sessions with this ``sid`` and/or ``sub``."""
        ...

    def first_use(self, key: str, until: datetime) -> bool:
        """Record a logout token's digest until ``until``; False when it was recorded already."""
        ...

    def sweep(self, at: datetime, pending_since: datetime) -> None:
        """Drop sign-ins begun before ``pending_since``, ended sessions and outlived tokens."""
        ...

    def close(self) -> None: ...


class MemorySignInStore:
    """In this process (tests, the in-memory hub)."""

    def __init__(self, size: int = MAX_MEMORY) -> None:
        self._pending: dict[str, PendingSignIn] = {}
        self._signed_in: dict[str, SignedInSession] = {}
        self._used: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self.size = size

    def _bound(self, entries: dict[str, Any]) -> None:
        while len(entries) > self.size:
            del entries[next(iter(entries))]

    def add_pending(self, key: str, pending: PendingSignIn) -> None:
        with self._lock:
            self._pending[key] = pending
            self._bound(self._pending)

    def take_pending(self, key: str, browser: str) -> PendingSignIn | None:
        with self._lock:
            found = self._pending.get(key)
            if found is None or found.browser != browser:
                return None
            return self._pending.pop(key)

    def has_pending(self, key: str) -> bool:
        return key in self._pending

    def remember(self, session_key: str, session: SignedInSession) -> None:
        with self._lock:
            self._signed_in[session_key] = session
            self._bound(self._signed_in)

    def forget(self, session_key: str) -> SignedInSession | None:
        with self._lock:
            return self._signed_in.pop(session_key, None)

    def logged_out(self, issuer: str, sid: str | None, subject: str | None) -> list[str]:
        with self._lock:
            ended = [
                key for key, s in self._signed_in.items()
                if s.issuer == issuer and (sid is None or s.sid == sid) and (subject is None or s.subject == subject)
            ]
            for key in ended:
                del self._signed_in[key]
        return ended

    def first_use(self, key: str, until: datetime) -> bool:
        with self._lock:
            if key in self._used:
                return False
            self._used[key] = until
            self._bound(self._used)
            return True

    def sweep(self, at: datetime, pending_since: datetime) -> None:
        with self._lock:
            self._pending = {k: p for k, p in self._pending.items() if p.started_at > pending_since}
            self._signed_in = {k: s for k, s in self._signed_in.items() if s.expires_at > at}
            self._used = {k: u for k, u in self._used.items() if u > at}

    def close(self) -> None:
        pass



_PENDING_COLUMNS = "issuer, browser, nonce, verifier, redirect_uri, next_page, started_at"
_SIGNED_IN_COLUMNS = "issuer, sid, subject, id_token, expires_at"


def _pending(row: Any) -> PendingSignIn:
    issuer, browser, nonce, verifier, redirect_uri, next_page, started = row
    return PendingSignIn(issuer, browser, nonce, verifier, redirect_uri, next_page, datetime.fromisoformat(started))


def _signed_in(row: Any) -> SignedInSession:
    issuer, sid, subject, id_token, expires = row
    return SignedInSession(issuer, sid, subject, id_token, datetime.fromisoformat(expires))


class _SqlSignInStore(ABC):
    """The same statements on either engine; ``_run`` is the engine's and answers the rows
    a statement returns and how many it changed. The tables are the migrations'
    (:mod:`hub.runtime.migrations`), applied by the store kit."""

    placeholder = "?"

    @abstractmethod
    def _run(self, query: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        """Run one statement on the engine."""

    def _q(self, template: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        return self._run(template.replace("{p}", self.placeholder), params)

    def add_pending(self, key: str, pending: PendingSignIn) -> None:
        self._q(
            f"INSERT INTO {{pending}} (key, {_PENDING_COLUMNS}) VALUES ({{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}}, {{p}})",  # noqa: S608 - fixed columns; values are parameters
            (key, pending.issuer, pending.browser, pending.nonce, pending.verifier, pending.redirect_uri,
             pending.next_page, iso_utc(pending.started_at)),
        )

    def take_pending(self, key: str, browser: str) -> PendingSignIn | None:
        rows, _ = self._q(
            f"DELETE FROM {{pending}} WHERE key = {{p}} AND browser = {{p}} RETURNING {_PENDING_COLUMNS}", (key, browser)  # noqa: S608 - fixed columns; values are parameters
        )
        return _pending(rows[0]) if rows else None

    def has_pending(self, key: str) -> bool:
        rows, _ = self._q("SELECT 1 FROM {pending} WHERE key = {p}", (key,))
        return bool(rows)

    def remember(self, session_key: str, session: SignedInSession) -> None:
        self._q(
            f"INSERT INTO {{signed_in}} (session_key, {_SIGNED_IN_COLUMNS}) "  # noqa: S608 - fixed columns; values are parameters
            "VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (session_key) DO NOTHING",
            (session_key, session.issuer, session.sid, session.subject, session.id_token, iso_utc(session.expires_at)),
        )

    def forget(self, session_key: str) -> SignedInSession | None:
        rows, _ = self._q(
            f"DELETE FROM {{signed_in}} WHERE session_key = {{p}} RETURNING {_SIGNED_IN_COLUMNS}", (session_key,)  # noqa: S608 - fixed columns; values are parameters
        )
        return _signed_in(rows[0]) if rows else None

    def logged_out(self, issuer: str, sid: str | None, subject: str | None) -> list[str]:
        where, params = ["issuer = {p}"], [issuer]
        for column, value in (("sid", sid), ("subject", subject)):
            if value is not None:
                where.append(f"{column} = {{p}}")
                params.append(value)
        rows, _ = self._q(f"DELETE FROM {{signed_in}} WHERE {' AND '.join(where)} RETURNING session_key", tuple(params))  # noqa: S608 - fixed columns; values are parameters
        return [str(row[0]) for row in rows]

    def first_use(self, key: str, until: datetime) -> bool:
        _, added = self._q("INSERT INTO {logout} (key, until) VALUES ({p}, {p}) ON CONFLICT (key) DO NOTHING", (key, iso_utc(until)))
        return added == 1

    def sweep(self, at: datetime, pending_since: datetime) -> None:
        self._q("DELETE FROM {pending} WHERE started_at <= {p}", (iso_utc(pending_since),))
        self._q("DELETE FROM {signed_in} WHERE expires_at <= {p}", (iso_utc(at),))
        self._q("DELETE FROM {logout} WHERE until <= {p}", (iso_utc(at),))


class SQLiteSignInStore(SQLiteTables, _SqlSignInStore):
    """Three tables in ``sessions.sqlite``, shared by the processes on this folder."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, TABLES)


class PostgresSignInStore(PostgresTables, _SqlSignInStore):
    """Three tables in the hub's schema, on the store kit's pool."""

    def __init__(self, pool: ConnectionPool[Any], schema: str) -> None:
        super().__init__(pool, schema, TABLES, "sign-in store")


__all__ = [
    "LOGOUT_TOKENS",
    "PENDING",
    "SIGNED_IN",
    "TABLES",
    "MemorySignInStore",
    "PendingSignIn",
    "PostgresSignInStore",
    "SQLiteSignInStore",
    "SignInStore",
    "SignedInSession",
]
