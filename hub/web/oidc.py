"""The pages' sign-in through OpenID Connect providers (see :mod:`hub.identity.oidc`).

``GET /sign-in/oidc/<slug>`` sends the browser to the provider with a fresh state, nonce
and PKCE challenge, and sets the pre-session cookie that binds the answer to this
browser; ``GET /sign-in/callback`` takes the answer and starts the session as every
sign-in of the pages does (:meth:`Web.start_session`). The pre-session cookie is
``SameSite=Lax``: the answer comes as a top-level navigation from the provider's site,
which a ``Strict`` cookie would not accompany. For the same reason the callback answers
with a page that moves on by itself: the session cookie is ``Strict``, and a redirect
that continues the provider's navigation would arrive without it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Request, get
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from hub.identity.oidc import OidcSignIn
from hub.web.app import Web, _safe_next
from hub.web.session import Visitor, home_of

PRE_SESSION_COOKIE = "backa_sign_in"
CALLBACK = "/sign-in/callback"


def oidc_routes(web: Web) -> list[Any]:
    runtime = web.runtime
    web.oidc = OidcSignIn(runtime.verifier, runtime.hub.clock, timeout=runtime.settings.oidc_timeout_seconds)
    oidc = web.oidc

    def pre_session(value: str, max_age: int) -> Cookie:
        return Cookie(
            key=PRE_SESSION_COOKIE, value=value, path="/sign-in", max_age=max_age, httponly=True,
            secure=runtime.settings.session_cookie_secure, samesite="lax",
        )

    @get("/sign-in/oidc/{slug:str}", sync_to_thread=True, include_in_schema=False)
    def begin(request: Request[Any, Any, Any], slug: FromPath[str], next: FromQuery[str | None] = None) -> Redirect:  # noqa: A002
        callback = str(request.base_url).rstrip("/") + CALLBACK
        begun = oidc.begin(slug, callback, _safe_next(next))
        return Redirect(path=begun.authorization_url, status_code=303, cookies=[pre_session(begun.browser_cookie, 600)])

    @get(CALLBACK, sync_to_thread=True, include_in_schema=False)
    def callback(request: Request[Any, Any, Any]) -> Template:
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        signed_in = oidc.finish(params, request.cookies.get(PRE_SESSION_COOKIE))
        session_id = web.start_session(signed_in.principal)
        oidc.remember(session_id, signed_in)
        who = web.visitor(request)
        to = signed_in.next_page or home_of(signed_in.principal)
        page = web.render(who, "common/signed_in.html", to=to)
        page.set_cookie(web.session_cookie(session_id))
        page.set_cookie(pre_session("", 0))
        return page

    return [begin, callback]


def signing_out_page(web: Web, who: Visitor, provider_url: str, gone: Cookie) -> Template:
    """Signed out here; on to sign out at the provider too. A page that moves on by itself,
    not a redirect: the sign-out form's ``form-action 'self'`` would stop a redirect to
    another site."""
    page = web.render(replace(who, session=None, session_id=None), "common/signing_out.html", to=provider_url)
    page.set_cookie(gone)
    return page
