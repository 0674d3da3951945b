"""The pages' router, templates and static files, built from the runtime.

Each area of the pages (``hub.web.pages.<area>``) offers ``routes(web)``: its handlers,
made with the :class:`Web` they are given, so nothing is built at import time and every
handler reaches the runtime through one object that Litestar does not copy.
"""

from __future__ import annotations

import errno

import importlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.file_system import BaseLocalFileSystem
from litestar.static_files import create_static_files_router
from litestar.types import PathType
from litestar.types.file_types import FileInfo
from litestar.template.config import TemplateConfig

from hub.errors import ConflictError, HubError, NotAuthenticatedError, NotPermittedError
from hub.http.auth import client_address
from hub.identity.oidc import OidcSignIn
from hub.identity.principals import Principal
from hub.identity.sessions import CookieNames, cookie_names
from hub.identity.tokens import Verified
from hub.application import BackaHub
from hub.runtime.bootstrap import Runtime
from hub.web import filters
from hub.web.i18n import FAMILY_LANGUAGES, LANGUAGE_COOKIE, LANGUAGE_NAMES, Catalogues, offered_languages, text_direction
from hub.web.session import SignInRequiredError, Visitor, home_of, visitor

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
AREAS = (
    "staff", "barnkontakt", "consents", "child", "family", "audit", "followup", "concern", "survey", "process", "closure", "admin",
    "directory", "delegations", "deliveries",
)
"""The page areas, each a module of ``hub.web.pages`` with ``routes(web)``."""

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


FORM_ID_FIELD = "form_id"
SIGN_IN_TOKEN_FIELD = "sign_in_token"  # noqa: S105 - a field name
"""The hidden field of every sign-in form: the token bound to the pre-session cookie."""
PRE_SESSION_LIFETIME = timedelta(hours=2)
"""How long a sign-in page may stay open before its forms are out of date."""
REMEMBERED_FORMS = 10_000


class SubmittedForms:
    """Forms already acted on, by session and form id, with where their answer was.

    A page puts a fresh ``form_id`` in each form it renders; a form sent twice (a double
    click, a reload, a resend after a lost answer) is answered with the first sending's
    result instead of being acted on again. Kept in this process, the most recent
    ``REMEMBERED_FORMS``: a browser's resend comes to the process that answered it.
    """

    def __init__(self, size: int = REMEMBERED_FORMS) -> None:
        self._done: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._busy: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.size = size

    def once(self, session_id: str, form_id: str | None, act: Callable[[], str]) -> str:
        """Run ``act`` (which returns where to go next) once per form; again, the same place."""
        if not form_id:
            return act()
        key = (session_id, form_id[:64])
        with self._lock:
            if key in self._done:
                return self._done[key]
            if key in self._busy:
                raise ConflictError("this form is already being sent; wait for its answer")
            self._busy.add(key)
        try:
            target = act()
        finally:
            with self._lock:
                self._busy.discard(key)
        with self._lock:
            self._done[key] = target
            while len(self._done) > self.size:
                self._done.popitem(last=False)
        return target


@dataclass
class Web:
    """What every page handler needs: the runtime, the catalogues, and how to answer."""

    runtime: Runtime
    catalogues: Catalogues = field(default_factory=Catalogues)
    """Read when a language is first shown, not at start."""
    forms: SubmittedForms = field(default_factory=SubmittedForms)
    oidc: OidcSignIn | None = None
    """Sign-in through the configured OpenID providers (see :mod:`hub.web.oidc`)."""

    def act(self, who: Visitor, form: dict[str, Any], act: Callable[[], str]) -> Redirect:
        """Act on a form once, after checking its anti-forgery token; then show where
        ``act`` says (Post/Redirect/Get, so a reload does not send it again)."""
        who.check_form(form)
        form_id = form.get(FORM_ID_FIELD)
        target = self.forms.once(who.session_id or "", form_id if isinstance(form_id, str) else None, act)
        return Redirect(path=target, status_code=303)

    @staticmethod
    def new_form_id() -> str:
        return secrets.token_urlsafe(16)

    @property
    def hub(self) -> BackaHub:
        return self.runtime.hub

    @property
    def cookies(self) -> CookieNames:
        """The cookies' names, ``__Host-`` prefixed over HTTPS (ASVS 4.0 V3.4.4)."""
        return cookie_names(self.runtime.settings.session_cookie_secure)

    def visitor(self, request: Request[Any, Any, Any]) -> Visitor:
        return visitor(request, self.runtime.sessions, self.catalogues, self.cookies)

    def render(self, who: Visitor, template: str, *, status_code: int = 200, **context: Any) -> Template:
        """A page in the visitor's language, with what the layout needs."""
        principal = who.principal
        return Template(
            template_name=template,
            status_code=status_code,
            context={
                "t": who.t,
                "lang": who.language,
                "languages": offered_languages(who.path),
                "language_names": LANGUAGE_NAMES,
                "text_direction": text_direction(who.language),
                "user": principal,
                "user_label": self.person_label(principal),
                **self.directory_names(principal),
                "home": home_of(principal) if principal else "/",
                "csrf_token": who.session.csrf_token if who.session else "",
                "request_path": who.path,
                "form_id": self.new_form_id(),
                "demo": self.runtime.settings.demo_mode,
                **context,
            },
        )

    def directory_names(self, principal: Principal | None) -> dict[str, dict[str, str]]:
        """The names of the signed-in person's area, for the ``person_name`` and
        ``unit_name`` filters: pages name people and units, never their ids."""
        tenant = self.hub.directory.tenants.get(principal.tenant_id) if principal else None
        if tenant is None:
            return {"directory_staff": {}, "directory_units": {}}
        return {"directory_staff": {s.user_id: s.name for s in tenant.staff.values()},
                "directory_units": {u.unit_id: u.name for u in tenant.units.values()}}

    def person_label(self, principal: Principal | None) -> str:
        """How the header names a signed-in member of staff or auditor: name and unit from
        the directory ("Maria Persson, BVC Ystad"), never the user id."""
        if principal is None or principal.kind.value not in ("staff", "auditor"):
            return ""
        tenant = self.hub.directory.tenants.get(principal.tenant_id)
        person = tenant.staff.get(principal.user_id) if tenant else None
        unit = tenant.units.get(principal.unit_id) if tenant and principal.unit_id else None
        return ", ".join(x for x in (person.name if person else "", unit.name if unit else "") if x)

    def sign_in_form(self, request: Request[Any, Any, Any]) -> tuple[str, Cookie | None]:
        """The anti-forgery token for this browser's sign-in forms, and the pre-session
        cookie it is bound to when the browser holds none yet (set it on the page)."""
        sessions = self.runtime.sessions
        if sessions is None:
            return "", None
        held = request.cookies.get(self.cookies.pre_session)
        if held and len(held) <= 64:
            return sessions.sign_in_token(held), None
        fresh = secrets.token_urlsafe(32)
        cookie = Cookie(
            key=self.cookies.pre_session, value=fresh, path="/", max_age=int(PRE_SESSION_LIFETIME.total_seconds()),
            httponly=True, secure=self.cookies.secure, samesite="strict",
        )
        return sessions.sign_in_token(fresh), cookie

    def check_sign_in(self, request: Request[Any, Any, Any], form: dict[str, Any]) -> None:
        """Refuse a sign-in form that does not carry the token of this browser's pre-session
        (login CSRF), then count the attempt against the caller's address."""
        sessions = self.runtime.sessions
        if sessions is None:
            raise NotAuthenticatedError("web sessions are not available")
        offered = form.get(SIGN_IN_TOKEN_FIELD)
        if not sessions.sign_in_token_matches(
            request.cookies.get(self.cookies.pre_session), offered if isinstance(offered, str) else None
        ):
            raise NotPermittedError(
                "the sign-in form is out of date; open the sign-in page again", field=SIGN_IN_TOKEN_FIELD
            )
        if self.runtime.throttle is not None:
            self.runtime.throttle.sign_in(client_address(request))

    def open_session(self, request: Request[Any, Any, Any], verified: Verified) -> list[Cookie]:
        """Every sign-in of the pages starts its session here: counted against the person
        (a limit), ending the session this browser held, bound to the issuer that vouched.
        The cookies to set: the new session's, and the pre-session's removal."""
        sessions = self.runtime.sessions
        if sessions is None:
            raise NotAuthenticatedError("web sessions are not available")
        if self.runtime.throttle is not None:
            self.runtime.throttle.session_for(verified.principal)
        session_id, _ = sessions.start(verified.principal, verified.issuer, replacing=request.cookies.get(self.cookies.session))
        secure = self.cookies.secure
        lifetime = self.runtime.settings.session_policy().absolute
        return [
            Cookie(
                key=self.cookies.session, value=session_id, path="/", max_age=int(lifetime.total_seconds()),
                httponly=True, secure=secure, samesite="strict",
            ),
            Cookie(
                key=self.cookies.pre_session, value="", path="/", max_age=0, httponly=True, secure=secure,
                samesite="strict",
            ),
        ]

    def start_session(self, request: Request[Any, Any, Any], verified: Verified, to: str) -> Redirect:
        """A session for whom ``verified`` signs in, then on to ``to``."""
        return Redirect(path=to, status_code=303, cookies=self.open_session(request, verified))


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site, never another site (an open redirect, ASVS V5.1.5). A
    control character or space is refused as a whole: a browser drops tabs and line breaks
    from a URL (WHATWG URL, basic URL parser), so ``/<tab>/evil.example`` would be ``//evil.example``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in target):
        return None
    return target


def sign_in_routes(web: Web) -> list[Any]:
    runtime = web.runtime

    @get("/", sync_to_thread=True, include_in_schema=False)
    def landing(request: Request[Any, Any, Any]) -> Redirect:
        """In a thread: resuming the visitor's session reads the session store."""
        who = web.visitor(request)
        if who.principal is not None:
            return Redirect(path=home_of(who.principal), status_code=303)
        return Redirect(path="/sign-in", status_code=303)

    @get("/sign-in", sync_to_thread=True, include_in_schema=False)
    def sign_in_page(request: Request[Any, Any, Any], next: FromQuery[str | None] = None) -> Template:  # noqa: A002 - the query's name
        who = web.visitor(request)
        token, pre_session = web.sign_in_form(request)
        services = web.oidc.issuers() if web.oidc is not None else []
        page = web.render(
            who, "common/sign_in.html", next=_safe_next(next) or "", sign_in_token=token, services=services,
            **_demo_people(runtime),
        )
        if pre_session is not None:
            page.cookies.append(pre_session)
        return page

    def _start(request: Request[Any, Any, Any], token: str, next_page: str | None) -> Redirect:
        verified = runtime.verifier.authenticate(token)
        return web.start_session(request, verified, _safe_next(next_page) or home_of(verified.principal))

    @post("/sign-in/demo", sync_to_thread=True, include_in_schema=False)
    def sign_in_as_demo_user(request: Request[Any, Any, Any], data: Form) -> Redirect:
        """Demo mode only: sign in as a member of staff of the directory, or as a guardian or
        child by personnummer (the demo's stand-in for an e-ID)."""
        issuer = runtime.demo_issuer
        if issuer is None or not runtime.settings.demo_mode:
            raise NotAuthenticatedError("demo sign-in is only offered in demo mode")
        web.check_sign_in(request, data)
        kind = str(data.get("kind", "staff"))
        if kind == "staff":
            staff = _staff(runtime, str(data.get("user", "")))
            token = issuer.staff_token(staff.tenant_id, staff.user_id, staff.unit_id, sorted(r.value for r in staff.roles))
        else:
            tenant = str(data.get("tenant") or next(iter(runtime.hub.directory.tenants)))
            token = issuer.family_token(tenant, "child" if kind == "child" else "guardian", str(data.get("personnummer", "")).strip())
        return _start(request, token, data.get("next"))

    @post("/sign-out", sync_to_thread=True, include_in_schema=False)
    def sign_out(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
        who = web.visitor(request)
        signed_out = "/sign-in?signed_out=1"
        elsewhere = None
        if who.session_id is not None and runtime.sessions is not None:
            who.check_form(data)
            runtime.sessions.end(who.session_id)
            if web.oidc is not None:
                elsewhere = web.oidc.sign_out_url(who.session_id, str(request.base_url).rstrip("/") + signed_out)
        gone = Cookie(
            key=web.cookies.session, value="", path="/", max_age=0, httponly=True, secure=web.cookies.secure,
            samesite="strict",
        )
        if elsewhere is not None:
            from hub.web.oidc import signing_out_page

            return signing_out_page(web, who, elsewhere, gone)
        return Redirect(path=signed_out, status_code=303, cookies=[gone])

    @get("/language/{code:str}", sync_to_thread=False, include_in_schema=False)
    def language(code: FromPath[str], next: FromQuery[str | None] = None) -> Redirect:  # noqa: A002
        chosen = code if code in FAMILY_LANGUAGES else FAMILY_LANGUAGES[0]
        return Redirect(
            path=_without_language(_safe_next(next) or "/"), status_code=303,
            cookies=[Cookie(key=LANGUAGE_COOKIE, value=chosen, path="/", max_age=365 * 24 * 3600, samesite="lax")],
        )

    return [landing, sign_in_page, sign_in_as_demo_user, sign_out, language]


def _without_language(target: str) -> str:
    """The page to return to, without a ``lang`` in its query: it would outweigh the choice
    just made (the family pages carry the language in their links)."""
    path, _, rest = target.partition("?")
    query, hash_mark, fragment = rest.partition("#")
    kept = "&".join(part for part in query.split("&") if part and not part.startswith("lang="))
    return path + (f"?{kept}" if kept else "") + (f"#{fragment}" if hash_mark else "")


def _staff(runtime: Runtime, user_id: str) -> Any:
    for tenant in runtime.hub.directory.tenants.values():
        staff = tenant.staff.get(user_id)
        if staff is not None:
            return staff
    raise NotAuthenticatedError("no such member of staff in the demo")


def _demo_people(runtime: Runtime) -> dict[str, Any]:
    """The demo's people, by role, for the sign-in page."""
    if not runtime.settings.demo_mode:
        return {"staff": [], "families": [], "unit_names": {}}
    staff = [s for t in runtime.hub.directory.tenants.values() for s in t.staff.values()]
    families: list[dict[str, Any]] = []
    try:
        from hub import demo

        users = demo.demo_users(runtime.settings.data_dir)
        families = [
            {"kind": u["kind"], "name": u["name"], "personnummer": u["personnummer"], "tenant": u["tenant"]}
            for u in users.values() if u["kind"] in ("guardian", "child") and u.get("personnummer")
        ][:12]
    except Exception:  # noqa: BLE001 - a hub without the demo's users still offers staff sign-in
        families = []
    unit_names = {t.tenant_id: {u.unit_id: u.name for u in t.units.values()} for t in runtime.hub.directory.tenants.values()}
    return {"staff": sorted(staff, key=lambda s: (s.unit_id or "", s.user_id)), "families": families, "unit_names": unit_names}


class _StaticFiles(BaseLocalFileSystem):
    """The static files: a name the disk cannot look up at all (too long, a loop) is no
    such file, answered 404 like any other, not an internal error."""

    async def info(self, path: PathType, **kwargs: Any) -> FileInfo:
        try:
            return await super().info(path, **kwargs)
        except (FileNotFoundError, PermissionError):
            raise
        except OSError:
            raise FileNotFoundError(errno.ENOENT, "no such static file") from None


class OneAppRouter(Router):
    """A router made for one app and registered on it once. Litestar deep-copies every router
    it registers, so that one router can serve several owners; a router made per app serves
    exactly one, and copying its few hundred handlers was a fifth of making the app."""

    def __deepcopy__(self, memo: dict[int, Any]) -> OneAppRouter:
        return self


def web_router(runtime: Runtime) -> tuple[Router, TemplateConfig[JinjaTemplateEngine], Router]:
    """The pages, the template configuration and the static files."""
    from hub.web.oidc import oidc_routes  # its routes are made with this module's Web

    web = Web(runtime)
    handlers: list[Any] = sign_in_routes(web) + oidc_routes(web)
    for area in AREAS:
        module = importlib.import_module(f"hub.web.pages.{area}")
        handlers.extend(module.routes(web))
    router = OneAppRouter(
        path="/",
        route_handlers=handlers,
        exception_handlers={SignInRequiredError: _to_sign_in, HubError: _page_error(web)},
        include_in_schema=False,
    )
    templates = TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=filters.register)
    static = create_static_files_router(path="/static", directories=[STATIC], file_system=_StaticFiles(), include_in_schema=False)
    return router, templates, static


def _to_sign_in(request: Request[Any, Any, Any], exc: SignInRequiredError) -> Response[Any]:
    return Redirect(path=exc.location, status_code=303)


def _page_error(web: Web) -> Any:
    """A refusal from the core as a page: what happened, in the visitor's language, never
    the data (the core's messages name no person)."""
    from hub.http.problems import _lookup, retry_after

    def handler(request: Request[Any, Any, Any], exc: HubError) -> Template:
        status, kind, fixed = _lookup(exc)
        who = web.visitor(request)
        page = web.render(who, "common/error.html", status_code=status, kind=kind, detail=fixed or exc.detail)
        page.headers.update(retry_after(exc))
        return page

    return handler
