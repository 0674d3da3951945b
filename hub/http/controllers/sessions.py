"""Web sessions: start one with a bearer token, see it, end it (sign out).

The session id travels only in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure``
unless configured off); the answer carries the anti-forgery token the pages must echo.
A start is counted against the caller's address and the person it signs in
(:mod:`hub.identity.throttle`), records the token's issuer, and ends the session the
same browser held before.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete
from litestar.datastructures import Cookie
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from hub.errors import NoSessionError, NotPermittedError
from hub.http.auth import Bearer, client_address
from hub.http.controllers._base import command, query
from hub.http.problems import problem_responses
from hub.http.schemas import SessionOut
from hub.identity.principals import Principal
from hub.identity.sessions import CookieNames, Session, Sessions
from hub.runtime.bootstrap import Runtime


def _out(session: Session, sessions: Sessions) -> SessionOut:
    p = session.principal
    return SessionOut(
        kind=p.kind.value,
        tenant_id=p.tenant_id,
        user_id=p.user_id,
        unit_id=p.unit_id,
        roles=sorted(r.value for r in p.roles),
        started_at=session.started_at,
        expires_at=session.expires_at,
        idle_timeout_seconds=int(sessions.policy.idle.total_seconds()),
        csrf_token=session.csrf_token,
    )


def session_controller(runtime: Runtime, cookies: CookieNames) -> type[Controller]:
    """The controller over this runtime's sessions (a closure: Litestar copies its routers)."""
    if runtime.sessions is None:
        raise ValueError("the runtime has no sessions")
    sessions: Sessions = runtime.sessions

    def cookie(value: str, max_age: int) -> Cookie:
        return Cookie(
            key=cookies.session, value=value, path="/", max_age=max_age, httponly=True, secure=cookies.secure,
            samesite="strict",
        )

    class SessionController(Controller):
        path = "/sessions"
        tags = ["sessions"]

        @command(
            "/",
            summary="Start a web session for the bearer token's holder",
            status_code=HTTP_201_CREATED,
            responses=problem_responses(403, 429),
        )
        def start(self, request: Request[Principal, Any, Any]) -> Response[SessionOut]:
            if not isinstance(request.auth, Bearer):
                raise NotPermittedError("a session is started with a bearer token, not from another session")
            if runtime.throttle is not None:
                runtime.throttle.sign_in(client_address(request))
                runtime.throttle.session_for(request.user)
            replacing = request.cookies.get(cookies.session)
            session_id, session = sessions.start(request.user, request.auth.issuer, replacing=replacing)
            lifetime = int((session.expires_at - session.started_at).total_seconds())
            return Response(_out(session, sessions), status_code=HTTP_201_CREATED, cookies=[cookie(session_id, lifetime)])

        @query("/current", summary="The caller's web session", responses=problem_responses(404))
        def current(self, request: Request[Principal, Any, Any]) -> SessionOut:
            return _out(sessions.resume(_session_id(request)), sessions)

        @delete(
            "/current",
            sync_to_thread=True,
            summary="End the caller's web session (sign out)",
            status_code=HTTP_204_NO_CONTENT,
            responses=problem_responses(403, 404),
        )
        def end(self, request: Request[Principal, Any, Any]) -> Response[None]:
            sessions.end(_session_id(request))
            return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[cookie("", 0)])

    return SessionController


def _session_id(request: Request[Principal, Any, Any]) -> str:
    if not isinstance(request.auth, str):
        raise NoSessionError("this request was signed with a bearer token; it has no session")
    return request.auth
