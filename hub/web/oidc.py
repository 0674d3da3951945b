"""The pages' sign-in through OpenID Connect providers (see :mod:`hub.identity.oidc`).

``GET /sign-in/oidc/<slug>`` sends the browser to the provider with a fresh state, nonce
and PKCE challenge, and sets the sign-in cookie that binds the answer to this
browser; ``GET /sign-in/callback`` takes the answer and starts the session as every
sign-in of the pages does (:meth:`Web.open_session`). The sign-in cookie is
``SameSite=Lax``: the answer comes as a top-level navigation from the provider's site,
which a ``Strict`` cookie would not accompany. For the same reason the callback answers
with a page that moves on by itself: the session cookie is ``Strict``, and a redirect
that continues the provider's navigation would arrive without it.
Beginning a sign-in ends the session the browser held: the callback never sees its cookie.
``POST /sign-in/backchannel-logout/<slug>`` is where the provider ends sessions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from hub.errors import NotAuthenticatedError
from hub.http.auth import client_address
from hub.http.origin import cross_site
from hub.identity.oidc import OidcSignIn
from hub.identity.tokens import Verified
from hub.web.app import Form, Web, _safe_next
from hub.web.session import Visitor, home_of

CALLBACK = "/sign-in/callback"
NO_STORE = {"Cache-Control": "no-store"}


def oidc_routes(web: Web) -> list[Any]:
    runtime = web.runtime
    web.oidc = OidcSignIn(
        runtime.verifier, runtime.hub.clock, store=runtime.sign_ins, timeout=runtime.settings.oidc_timeout_seconds
    )
    oidc = web.oidc
    names = web.cookies

    def pre_session(value: str, max_age: int) -> Cookie:
        # Path=/, as a __Host- cookie must have (RFC 6265bis 4.1.3.2)
        return Cookie(
            key=names.sign_in, value=value, path="/", max_age=max_age, httponly=True, secure=names.secure,
            samesite="lax",
        )

    @get("/sign-in/oidc/{slug:str}", sync_to_thread=True, include_in_schema=False)
    def begin(request: Request[Any, Any, Any], slug: FromPath[str], next: FromQuery[str | None] = None) -> Redirect:  # noqa: A002
        if runtime.throttle is not None:  # each begun sign-in is held until answered: counted per address
            runtime.throttle.sign_in(client_address(request))
        callback = str(request.base_url).rstrip("/") + CALLBACK
        begun = oidc.begin(slug, callback, _safe_next(next))
        cookies = [pre_session(begun.browser_cookie, 600)]
        held = request.cookies.get(names.session)
        headers = request.headers
        from_here = not cross_site("POST", headers.get("host"), headers.get("origin"), headers.get("sec-fetch-site"))
        if held and runtime.sessions is not None and from_here:  # not a sibling site's <img>
            # The provider's answer comes by a navigation from its site, without this
            # SameSite=Strict cookie: the session this browser held ends here, not at the
            # callback (ASVS V3.3.1, V3.2.1).
            runtime.sessions.end(held)
            cookies.append(
                Cookie(key=names.session, value="", path="/", max_age=0, httponly=True, secure=names.secure,
                       samesite="strict")
            )
        return Redirect(path=begun.authorization_url, status_code=303, cookies=cookies)

    @get(CALLBACK, sync_to_thread=True, include_in_schema=False)
    def callback(request: Request[Any, Any, Any]) -> Template:
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        signed_in = oidc.finish(params, request.cookies.get(names.sign_in))
        cookies = web.open_session(request, Verified(signed_in.principal, signed_in.issuer.issuer))
        oidc.remember(cookies[0].value or "", signed_in, runtime.settings.session_policy().absolute)
        who = web.visitor(request)
        to = signed_in.next_page or home_of(signed_in.principal)
        page = web.render(who, "common/signed_in.html", to=to)
        for cookie in [*cookies, pre_session("", 0)]:
            page.set_cookie(cookie)
        return page

    @post("/sign-in/backchannel-logout/{slug:str}", sync_to_thread=True, include_in_schema=False)
    def backchannel_logout(slug: FromPath[str], data: Form) -> Response[Any]:
        """The provider ends sessions it started here (Back-Channel Logout 1.0, 2.5, 2.8):
        200 when done, 400 with an OAuth error object when the logout token is refused."""
        token = data.get("logout_token")
        try:
            if not isinstance(token, str) or not token:
                raise NotAuthenticatedError("the request lacks the logout_token", field="logout_token")
            ended = oidc.logged_out(slug, token)
        except NotAuthenticatedError as e:
            return Response({"error": "invalid_request", "error_description": e.detail}, status_code=400, headers=NO_STORE)
        if runtime.sessions is not None:
            for key in ended:
                runtime.sessions.end_by_key(key)
        return Response(b"", status_code=200, headers=NO_STORE)

    return [begin, callback, backchannel_logout]


def signing_out_page(web: Web, who: Visitor, provider_url: str, gone: Cookie) -> Template:
    """Signed out here; on to sign out at the provider too. A page that moves on by itself,
    not a redirect: the sign-out form's ``form-action 'self'`` would stop a redirect to
    another site."""
    page = web.render(replace(who, session=None, session_id=None), "common/signing_out.html", to=provider_url)
    page.set_cookie(gone)
    return page
