"""Who is calling, on every request but health and the schema: a bearer token, or a web
session's cookie.

The middleware reads ``Authorization: Bearer <JWT>`` and asks the hub's verifier for
the caller; without that header, it resumes the session named by the ``backa_session``
cookie (:mod:`hub.identity.sessions`), and a request that changes something must then also carry
the session's anti-forgery token in ``X-CSRF-Token``. The
:class:`~hub.identity.principals.Principal` becomes the connection's user, and the session id (if
any) its ``auth``. It runs before a body is read, so an unauthenticated caller learns
nothing about the request's shape.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from hub.errors import NotAuthenticatedError, NotPermittedError
from hub.http.problems import AUTH_FIELD, MissingBearerTokenError
from hub.identity.principals import Principal
from hub.identity.sessions import SESSION_COOKIE, Session

Verify = Callable[[str], Principal]
Resume = Callable[[str], Session]

MAX_TOKEN_CHARS = 8192
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    """``verify`` is a plain function, not the verifier itself: Litestar deep-copies a
    router's middleware arguments, and a copied verifier would keep a copied clock."""

    def __init__(self, app: ASGIApp, verify: Verify, resume: Resume | None = None) -> None:
        super().__init__(app=app, scopes={ScopeType.HTTP})
        self.verify = verify
        self.resume = resume

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization")
        session_id = connection.cookies.get(SESSION_COOKIE)
        if not header and session_id and self.resume is not None:
            return await _from_session(connection, session_id, self.resume)
        if not header:
            raise MissingBearerTokenError("this needs a bearer token in the Authorization header", field=AUTH_FIELD)
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise MissingBearerTokenError("the Authorization header must read 'Bearer <token>'", field=AUTH_FIELD)
        if len(token) > MAX_TOKEN_CHARS:
            raise NotAuthenticatedError("the bearer token is too long", field=AUTH_FIELD)
        principal = self.verify(token)
        return AuthenticationResult(user=principal, auth=None)


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
