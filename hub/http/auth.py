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
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from hub.errors import NotAuthenticatedError, NotPermittedError
from hub.http.problems import AUTH_FIELD, MissingBearerTokenError
from hub.identity.sessions import Session
from hub.identity.tokens import Verified

Verify = Callable[[str], Verified]
Resume = Callable[[str], Session]
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
    ) -> None:
        super().__init__(app=app, scopes={ScopeType.HTTP})
        self.verify = verify
        self.resume = resume
        self.refused = refused
        self.session_cookie = session_cookie

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        session_id = connection.cookies.get(self.session_cookie) if self.session_cookie else None
        if not header and session_id and self.resume is not None:
            return await _from_session(connection, session_id, self.resume)
        if not header:
            raise MissingBearerTokenError("this needs a bearer token in the Authorization header", field=AUTH_FIELD)
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise MissingBearerTokenError("the Authorization header must read 'Bearer <token>'", field=AUTH_FIELD)
        try:
            if len(token) > MAX_TOKEN_CHARS:
                raise NotAuthenticatedError("the bearer token is too long", field=AUTH_FIELD)
            # off the event loop: verifying may fetch the issuer's keys over the network
            verified = await asyncio.to_thread(self.verify, token)
        except NotAuthenticatedError:
            if self.refused is not None:
                await asyncio.to_thread(self.refused, client_address(connection))
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


async def _from_session(connection: ASGIConnection[Any, Any, Any, Any], session_id: str, resume: Resume) -> AuthenticationResult:
    if len(session_id) > MAX_TOKEN_CHARS:
        raise NotAuthenticatedError("the session cookie is too long", field="session")
    session = await asyncio.to_thread(resume, session_id)
    if connection.scope.get("method", "GET") not in SAFE_METHODS and not session.csrf_matches(
        connection.headers.get(CSRF_HEADER)
    ):
        raise NotPermittedError(
            f"a request that changes something must carry the session's {CSRF_HEADER} header", field=CSRF_HEADER
        )
    return AuthenticationResult(user=session.principal, auth=session_id)
