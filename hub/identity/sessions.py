"""Sessions for the web pages: a signed-in caller without a token on every request.

A session starts from a token the verifier accepted (``POST /api/v1/sessions``) and is
then carried by a cookie. The rules are OWASP ASVS 4.0 V3:

- the session id is 256 random bits (V3.2.2) and is never stored: the store keeps its
  SHA-256, so a copy of the store resumes no session (V3.2.3's intent for stored tokens);
- it ends after ``idle`` without use and after ``absolute`` in any case, whatever its use
  (V3.3.2), and when its holder ends it (V3.3.1); an ended session cannot be resumed;
- each session has its own anti-forgery token, which a request that changes something
  must echo in a header (V4.2.2), besides the cookie being ``SameSite=Strict``;
- a session records the issuer whose token started it and whether the hub ran in demo
  mode then: it ends when that issuer is no longer trusted, and a demo session ends when
  the folder is served outside demo mode (V3.3.1: the demo's sign-in needs no credentials);
- a new sign-in from a browser ends the session that browser held before (V3.3.1, V3.2.1);
- a sign-in form carries a token bound to a pre-session cookie (an HMAC of it under the
  hub's key, the "signed double-submit cookie" of the OWASP CSRF cheat sheet), so another
  site cannot sign a browser in under its own account (login CSRF, V3.5 / V4.2.2);
- over HTTPS the cookies are named with the ``__Host-`` prefix (V3.4.4, RFC 6265bis 4.1.3.2):
  a browser takes such a cookie only with ``Secure``, ``Path=/`` and no ``Domain``, so a
  sibling subdomain or a plain-http answer cannot plant a session of its own.

Time is a parameter: every rule takes the moment it decides at. The store is the only
I/O, in memory, in an SQLite file beside the log, or in the hub's PostgreSQL schema, so
every process of a hub on one database honours every session and every logout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from psycopg import sql
from psycopg_pool import ConnectionPool

from consent import ViewerKind
from contracts.vocabulary import Role
from hub.errors import NotAuthenticatedError
from hub.identity.pg_tables import iso_utc, run_on_postgres
from hub.identity.principals import Principal
from hub.runtime.clock import Clock

SESSIONS_DB = "sessions.sqlite"
HOST_PREFIX = "__Host-"
TOUCH_EVERY = timedelta(seconds=30)
"""A session's last use is written at most this often: the idle rule is kept to within
this, and a page that fetches many parts does not write once per part."""


@dataclass(frozen=True)
class CookieNames:
    """The names of the pages' cookies, and whether they are sent over HTTPS only."""

    secure: bool
    session: str
    """Carries the session id."""
    pre_session: str
    """Held by a browser that has opened a sign-in form; the form's token is bound to it."""
    sign_in: str
    """Binds an OpenID Connect provider's answer to the browser that began the sign-in."""


def cookie_names(secure: bool) -> CookieNames:
    """The cookies' names: ``__Host-`` prefixed when they are ``Secure`` (ASVS 4.0 V3.4.4),
    plain otherwise, since a browser refuses a ``__Host-`` cookie without ``Secure``.
    Every such cookie must then be set, and cleared, with ``Secure`` and ``Path=/``."""
    prefix = HOST_PREFIX if secure else ""
    return CookieNames(
        secure=secure,
        session=f"{prefix}backa_session",
        pre_session=f"{prefix}backa_pre_session",
        sign_in=f"{prefix}backa_sign_in",
    )


class SessionEndedError(NotAuthenticatedError):
    """The session is unknown, was ended, or timed out: sign in again. The message never
    says which, so a guessed id learns nothing."""

    def __init__(self) -> None:
        super().__init__("the session has ended; sign in again", field="session")


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=15)
    absolute: timedelta = timedelta(hours=8)

    def __post_init__(self) -> None:
        if self.idle <= timedelta(0) or self.absolute <= timedelta(0):
            raise ValueError("session timeouts must be positive")


@dataclass(frozen=True)
class Session:
    """A session as stored: who, and the moments its rules are decided on."""

    principal: Principal
    csrf_token: str
    started_at: datetime
    last_seen: datetime
    expires_at: datetime
    """The absolute end, fixed at the start."""
    issuer: str = ""
    """The ``iss`` of the token the session started from; empty: not recorded (refused)."""
    demo: bool = True
    """Started while the hub ran in demo mode; a session stored before this was recorded
    counts as one, so it ends outside demo mode."""

    def idle_until(self, policy: SessionPolicy) -> datetime:
        return min(self.last_seen + policy.idle, self.expires_at)

    def csrf_matches(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered.encode(), self.csrf_token.encode())


class SessionStore(Protocol):
    """Sessions by the SHA-256 of their id."""

    def add(self, key: str, session: Session) -> None: ...

    def get(self, key: str) -> Session | None: ...

    def touch(self, key: str, at: datetime) -> None: ...

    def remove(self, key: str) -> None: ...

    def remove_ended(self, at: datetime, idle: timedelta) -> int:
        """Drop sessions past their absolute end or idle longer than ``idle``; how many."""
        ...

    def close(self) -> None: ...


def _trusts_none(issuer: str) -> bool:
    return False


def _as_started(principal: Principal, issuer: str) -> Principal | None:
    return principal


class Sessions:
    """Starts, resumes and ends sessions under one policy.

    ``demo_mode`` is how the hub runs now, ``trusts`` whether it trusts an issuer now (by
    default none: deny unless told), ``form_key`` the key sign-in form tokens are made with;
    every process of a hub on one store must be given the same key."""

    def __init__(
        self,
        store: SessionStore,
        clock: Clock,
        policy: SessionPolicy | None = None,
        *,
        demo_mode: bool = False,
        trusts: Callable[[str], bool] = _trusts_none,
        form_key: bytes | None = None,
        current: Callable[[Principal, str], Principal | None] = _as_started,
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or SessionPolicy()
        self.demo_mode = demo_mode
        self.trusts = trusts
        self.current = current
        """Who the session's person is now (the directory may have moved, re-roled or removed
        them since they signed in), or None when they may no longer be signed in."""
        self._form_key = form_key or secrets.token_bytes(32)

    def start(self, principal: Principal, issuer: str, *, replacing: str | None = None) -> tuple[str, Session]:
        """A new session for ``principal``, signed in by ``issuer``'s token; returns the id for
        the cookie (shown only now). ``replacing`` is the session id the browser sent with
        the sign-in, if any: that session ends now, whoever held it.

        The token it starts from authenticated this moment, as an OpenID Connect ID token
        does: its ``exp`` bounds when the token itself may be accepted, not how long the
        session it opened lasts, which is this policy's (ASVS V3.3.2). An e-ID sign-in's
        token often lives a few minutes; a family must not be signed out with it."""
        at = self.clock()
        if replacing:
            self.store.remove(_key(replacing))
        self.store.remove_ended(at, self.policy.idle)
        session_id = secrets.token_urlsafe(32)
        session = Session(
            principal, secrets.token_urlsafe(32), at, at, at + self.policy.absolute, issuer=issuer, demo=self.demo_mode
        )
        self.store.add(_key(session_id), session)
        return session_id, session

    def resume(self, session_id: str) -> Session:
        """The live session with this id, its use recorded; else :class:`SessionEndedError`."""
        at = self.clock()
        key = _key(session_id)
        session = self.store.get(key)
        if session is None:
            raise SessionEndedError()
        if at >= session.expires_at or at >= session.last_seen + self.policy.idle or not self.honours(session):
            self.store.remove(key)
            raise SessionEndedError()
        now = self.current(session.principal, session.issuer)
        if now is None:
            self.store.remove(key)
            raise SessionEndedError()
        if at - session.last_seen >= TOUCH_EVERY:
            self.store.touch(key, at)
            session = replace(session, last_seen=at)
        return session if now == session.principal else replace(session, principal=now)

    def honours(self, session: Session) -> bool:
        """Whether a session may still be used as the hub runs now: its issuer is trusted,
        and it did not start in demo mode unless the hub is in demo mode."""
        return bool(session.issuer) and self.trusts(session.issuer) and (self.demo_mode or not session.demo)

    def end(self, session_id: str) -> None:
        self.store.remove(_key(session_id))

    def end_by_key(self, key: str) -> None:
        """End the session whose id has this SHA-256 (what a provider's logout reaches:
        the id itself is kept nowhere)."""
        self.store.remove(key)

    def sign_in_token(self, pre_session: str) -> str:
        """The token a sign-in form carries, bound to the browser's pre-session cookie."""
        mac = hmac.new(self._form_key, b"sign-in\x1f" + pre_session.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")

    def sign_in_token_matches(self, pre_session: str | None, offered: str | None) -> bool:
        if not pre_session or not offered:
            return False
        return hmac.compare_digest(self.sign_in_token(pre_session).encode(), offered.encode())

    def close(self) -> None:
        self.store.close()


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


# -- stores ----------------------------------------------------------------------------------


def _principal_json(p: Principal) -> str:
    return json.dumps(
        {
            "kind": p.kind.value,
            "tenant_id": p.tenant_id,
            "user_id": p.user_id,
            "roles": sorted(r.value for r in p.roles),
            "unit_id": p.unit_id,
            "party_id": p.party_id,
        },
        separators=(",", ":"),
    )


def _principal(text: str) -> Principal:
    d = json.loads(text)
    return Principal(
        ViewerKind(d["kind"]), d["tenant_id"], d["user_id"], frozenset(Role(r) for r in d["roles"]),
        unit_id=d["unit_id"], party_id=d["party_id"],
    )



def _row(session: Session) -> tuple[str, str, str, str, str, str, int]:
    return (
        _principal_json(session.principal),
        session.csrf_token,
        iso_utc(session.started_at),
        iso_utc(session.last_seen),
        iso_utc(session.expires_at),
        session.issuer,
        int(session.demo),
    )


def _session(row: Any) -> Session:
    principal, csrf, started, seen, expires, issuer, demo = row
    return Session(
        _principal(principal), csrf, datetime.fromisoformat(started), datetime.fromisoformat(seen),
        datetime.fromisoformat(expires), issuer=issuer, demo=bool(demo),
    )


class MemorySessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def add(self, key: str, session: Session) -> None:
        with self._lock:
            self._sessions[key] = session

    def get(self, key: str) -> Session | None:
        return self._sessions.get(key)

    def touch(self, key: str, at: datetime) -> None:
        with self._lock:
            known = self._sessions.get(key)
            if known is not None:
                self._sessions[key] = replace(known, last_seen=max(known.last_seen, at))

    def remove(self, key: str) -> None:
        with self._lock:
            self._sessions.pop(key, None)

    def remove_ended(self, at: datetime, idle: timedelta) -> int:
        with self._lock:
            ended = [k for k, s in self._sessions.items() if at >= s.expires_at or at >= s.last_seen + idle]
            for k in ended:
                del self._sessions[k]
        return len(ended)

    def close(self) -> None:
        pass


_COLUMNS = "key, principal, csrf, started_at, last_seen, expires_at, issuer, demo"
_SELECT = "SELECT principal, csrf, started_at, last_seen, expires_at, issuer, demo FROM {t} WHERE key = "


class SQLiteSessionStore:
    """A ``web_sessions`` table in ``sessions.sqlite`` beside the log (made by the
    migrations, :mod:`hub.runtime.migrations`, which the store kit applies)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def add(self, key: str, session: Session) -> None:
        self._run(f"INSERT INTO web_sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (key, *_row(session)))  # noqa: S608

    def get(self, key: str) -> Session | None:
        rows = self._run(_SELECT.format(t="web_sessions") + "?", (key,))
        return _session(rows[0]) if rows else None

    def touch(self, key: str, at: datetime) -> None:
        self._run("UPDATE web_sessions SET last_seen = ? WHERE key = ? AND last_seen < ?", (iso_utc(at), key, iso_utc(at)))

    def remove(self, key: str) -> None:
        self._run("DELETE FROM web_sessions WHERE key = ?", (key,))

    def remove_ended(self, at: datetime, idle: timedelta) -> int:
        with self._lock:
            return self._db.execute(
                "DELETE FROM web_sessions WHERE expires_at <= ? OR last_seen <= ?",
                (iso_utc(at), iso_utc(at - idle)),
            ).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresSessionStore:
    """A ``web_sessions`` table in the hub's PostgreSQL schema, on a connection pool the
    store kit shares. Times are stored as UTC ISO text, as in SQLite, so that both compare
    them the same way."""

    def __init__(self, pool: ConnectionPool[Any], schema: str) -> None:
        self._pool = pool
        self._table = sql.Identifier(schema, "web_sessions")

    def _run(self, query: str, params: tuple[Any, ...] = ()) -> tuple[list[Any], int]:
        return run_on_postgres(self._pool, {"t": self._table}, "session store", query, params)

    def add(self, key: str, session: Session) -> None:
        self._run(f"INSERT INTO {{t}} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", (key, *_row(session)))

    def get(self, key: str) -> Session | None:
        rows, _ = self._run(_SELECT + "%s", (key,))
        return _session(rows[0]) if rows else None

    def touch(self, key: str, at: datetime) -> None:
        self._run("UPDATE {t} SET last_seen = %s WHERE key = %s AND last_seen < %s", (iso_utc(at), key, iso_utc(at)))

    def remove(self, key: str) -> None:
        self._run("DELETE FROM {t} WHERE key = %s", (key,))

    def remove_ended(self, at: datetime, idle: timedelta) -> int:
        _, count = self._run(
            "DELETE FROM {t} WHERE expires_at <= %s OR last_seen <= %s", (iso_utc(at), iso_utc(at - idle))
        )
        return count

    def close(self) -> None:
        """Nothing of its own to close: the pool is the store kit's."""


__all__ = [
    "CookieNames",
    "HOST_PREFIX",
    "MemorySessionStore",
    "PostgresSessionStore",
    "SQLiteSessionStore",
    "Session",
    "SessionEndedError",
    "SessionPolicy",
    "SessionStore",
    "Sessions",
    "cookie_names",
]
