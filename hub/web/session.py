"""Who is looking at a page: the web session behind the cookie, the language, the
anti-forgery token, and what a page that needs a signed-in user does without one.

A page never takes a bearer token: it is signed in by its session cookie
(:mod:`hub.identity.sessions`), and a form that changes something must carry the session's
anti-forgery token in the hidden ``csrf_token`` field. A request without a live session
is sent to the sign-in page, with the page it wanted kept for afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.exceptions import HTTPException

from consent import ViewerKind
from contracts.vocabulary import Role
from hub.errors import NotAuthenticatedError, NotPermittedError
from hub.identity.principals import Principal
from hub.identity.sessions import CookieNames, Session, Sessions
from hub.web.i18n import LANGUAGE_COOKIE, Catalogue, choose_language, offered_languages

CSRF_FIELD = "csrf_token"


class SignInRequiredError(HTTPException):
    """No live session: the page answers with the way to the sign-in page."""

    status_code = 303

    def __init__(self, wanted: str) -> None:
        super().__init__(detail="sign in first")
        self.location = "/sign-in?next=" + quote(wanted, safe="/")


@dataclass(frozen=True)
class Visitor:
    """The person a page is for: their session (if signed in) and their language."""

    session: Session | None
    session_id: str | None
    catalogue: Catalogue
    path: str = "/"
    """The page asked for, with its query: where the language switch and sign-in return to."""

    @property
    def principal(self) -> Principal | None:
        return self.session.principal if self.session else None

    @property
    def language(self) -> str:
        return self.catalogue.language

    def t(self, msgid: str, **values: Any) -> str:
        return self.catalogue.gettext(msgid, **values)

    def require(self, wanted: str) -> Principal:
        if self.session is None:
            raise SignInRequiredError(wanted)
        return self.session.principal

    def check_form(self, form: dict[str, Any]) -> None:
        """Refuse a form that does not carry this session's anti-forgery token."""
        if self.session is None or not self.session.csrf_matches(_one(form.get(CSRF_FIELD))):
            raise NotPermittedError("the form is out of date; open the page again and send it anew", field=CSRF_FIELD)


def visitor(
    request: Request[Any, Any, Any], sessions: Sessions | None, catalogues: Mapping[str, Catalogue], cookies: CookieNames
) -> Visitor:
    language = choose_language(
        request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE), offered_languages(request.url.path)
    )
    session_id = request.cookies.get(cookies.session)
    session = None
    if session_id and sessions is not None:
        try:
            session = sessions.resume(session_id)
        except NotAuthenticatedError:
            session, session_id = None, None
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Visitor(session, session_id if session else None, catalogues[language], path)


def home_of(p: Principal) -> str:
    """Where each kind of user starts."""
    if p.kind in (ViewerKind.GUARDIAN, ViewerKind.CHILD):
        return "/family"
    if p.kind is ViewerKind.AUDITOR or p.has(Role.AUDITOR):
        return "/audit"
    if p.has(Role.TENANT_ADMIN) and p.unit_id is None:
        return "/follow-up"
    return "/staff"


def _one(value: Any) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value if isinstance(value, str) else None
