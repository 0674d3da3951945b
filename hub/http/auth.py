"""Bearer tokens on every request but health and the schema.

The middleware reads ``Authorization: Bearer <JWT>``, asks the hub's verifier for the
caller, and puts the :class:`~hub.principals.Principal` on the connection as its
user. It runs before a body is read, so an unauthenticated caller learns nothing
about the request's shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from hub.errors import NotAuthenticatedError
from hub.http.problems import AUTH_FIELD, MissingBearerTokenError
from hub.principals import Principal

Verify = Callable[[str], Principal]

MAX_TOKEN_CHARS = 8192


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    """``verify`` is a plain function, not the verifier itself: Litestar deep-copies a
    router's middleware arguments, and a copied verifier would keep a copied clock."""

    def __init__(self, app: ASGIApp, verify: Verify) -> None:
        super().__init__(app=app, scopes={ScopeType.HTTP})
        self.verify = verify

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization")
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
