"""Who is calling, on every request but health and the schema: a bearer token, or a web
session's cookie.

The middleware reads ``Authorization: Bearer <JWT>`` and asks the hub's verifier for
the caller; without that header, it resumes the session named by the session cookie
(``__Host-backa_session`` over HTTPS, see :func:`hub.identity.sessions.cookie_names`),
and a request that changes something must then also carry the session's anti-forgery
token in ``X-CSRF-Token``. The
:class:`~hub.identity.principals.Principal` becomes the connection's user, and the session id (if
any) its ``auth``. It runs before a body is read, so an unauthenticated caller learns
nothing about the request's shape.

A refused token is counted against the caller's address (:mod:`hub.identity.throttle`);
beyond the limit the refusal is ``429`` with ``Retry-After`` instead of ``401``. For a
bearer token the connection's ``auth`` is a :class:`Bearer` naming the token's issuer,
which a session started from it records.

Each check runs in a worker thread with a deadline (``token_check_seconds``): an issuer
slow to publish its keys, or a session store slow to answer, gets that request a ``503``
with ``Retry-After`` and holds up no other request. A bearer token verified a moment ago
is taken from the verifier's memory on the event loop instead (``recall``: no input or
output, its times checked again), sparing a caller's every request the thread's round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from hub.errors import NotAuthenticatedError, NotPermittedError, SignInUnavailableError, StoreUnavailableError
from hub.http.problems import AUTH_FIELD, MissingBearerTokenError
from hub.identity.sessions import Session
from hub.identity.tokens import Verified

T = TypeVar("T")
Verify = Callable[[str], Verified]
Resume = Callable[[str], Session]
Recall = Callable[[str], Verified | None]
Refused = Callable[[str], None]
"""Counts a refused token from an address; raises once they are too many."""

MAX_TOKEN_CHARS = 8192
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    """``verify`` is a plain function, not the verifier itself: Litestar deep-copies a
    router's middleware arguments, and a copied verifier would keep a copied clock.
    ``session_cookie`` names the cookie a session is resumed from; no other name is read."""

    def __init__(
        self,
        app: ASGIApp,
        verify: Verify,
        resume: Resume | None = None,
        refused: Refused | None = None,
        session_cookie: str | None = None,
        deadline: float = 5.0,
        recall: Recall | None = None,
    ) -> None:
        super().__init__(app=app, scopes={ScopeType.HTTP})
        self.verify = verify
        self.resume = resume
        self.refused = refused
        self.session_cookie = session_cookie
        self.deadline = deadline
        self.recall = recall

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        session_id = connection.cookies.get(self.session_cookie) if self.session_cookie else None
        if not header and session_id and self.resume is not None:
            return await _from_session(connection, session_id, self.resume, self.deadline)
        if not header:
            raise MissingBearerTokenError("this needs a bearer token in the Authorization header", field=AUTH_FIELD)
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise MissingBearerTokenError("the Authorization header must read 'Bearer <token>'", field=AUTH_FIELD)
        try:
            if len(token) > MAX_TOKEN_CHARS:
                raise NotAuthenticatedError("the bearer token is too long", field=AUTH_FIELD)
            verified = self.recall(token) if self.recall is not None else None
            if verified is None:
                # off the event loop: verifying may fetch the issuer's keys over the network
                late = SignInUnavailableError("the token could not be checked in time")
                verified = await off_loop(self.verify, token, self.deadline, late)
        except NotAuthenticatedError:
            if self.refused is not None:
                slow = StoreUnavailableError("the refused tokens' count could not be kept in time")
                await off_loop(self.refused, client_address(connection), self.deadline, slow)
            raise
        return AuthenticationResult(user=verified.principal, auth=Bearer(verified.issuer))


@dataclass(frozen=True)
class Bearer:
    """A request signed with a bearer token, and who issued it."""

    issuer: str


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The caller's address as the server saw it (behind a proxy, what the server was told
    to trust of ``X-Forwarded-For``, e.g. uvicorn's ``--forwarded-allow-ips``)."""
    return connection.client.host if connection.client else "unknown"


async def off_loop(check: Callable[[str], T], argument: str, deadline: float, late: Exception) -> T:
    """``check(argument)`` in a worker thread, given at most ``deadline`` seconds; past it
    the request is answered with ``late`` (a 503) and the thread is left to finish alone.

    anyio's own threads rather than the loop's default pool, whose few threads a handful
    of callers waiting for a slow issuer would fill, holding up every other token."""
    try:
        with anyio.fail_after(deadline):
            return await anyio.to_thread.run_sync(check, argument, abandon_on_cancel=True)
    except TimeoutError:
        raise late from None


async def _from_session(
    connection: ASGIConnection[Any, Any, Any, Any], session_id: str, resume: Resume, deadline: float
) -> AuthenticationResult:
    if len(session_id) > MAX_TOKEN_CHARS:
        raise NotAuthenticatedError("the session cookie is too long", field="session")
    session = await off_loop(resume, session_id, deadline, StoreUnavailableError("the session cannot be read in time"))
    if connection.scope.get("method", "GET") not in SAFE_METHODS and not session.csrf_matches(
        connection.headers.get(CSRF_HEADER)
    ):
        raise NotPermittedError(
            f"a request that changes something must carry the session's {CSRF_HEADER} header", field=CSRF_HEADER
        )
    return AuthenticationResult(user=session.principal, auth=session_id)
