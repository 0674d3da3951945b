"""Requests that change something come from this site's own pages, or from no page at all.

A browser says where a request comes from: ``Sec-Fetch-Site`` (Fetch Metadata) and
``Origin`` (RFC 6454 7, sent with every POST). A form another site's page posts here, a
sign-in form with the attacker's token above all (login CSRF), says ``cross-site`` or
names the other origin, and is refused before any handler runs (OWASP ASVS 4.0 V4.2.2,
V13.2.3). Only ``same-origin`` and ``none`` (typed or bookmarked by the user) pass;
``same-site`` too is refused, since a sibling host is not this site. A request with
neither header (an API client with a bearer token, an old browser) is let through: the
forms' and sessions' anti-forgery tokens still stand behind this check.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar.types import ASGIApp, Receive, Send

from hub.errors import NotPermittedError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


class CrossSiteRequestError(NotPermittedError):
    """A request that changes something, sent from another site's page."""

    def __init__(self) -> None:
        super().__init__("a request from another site's page may not change anything here", field="Origin")


def cross_site(method: str, host: str | None, origin: str | None, fetch_site: str | None) -> bool:
    """Whether a request is one another site's page made and that must be refused; pure.

    ``host`` is the request's ``Host``. The origin is compared by host and port only: a
    proxy in front that ends TLS makes the scheme the hub sees differ from the browser's."""
    if method.upper() in SAFE_METHODS:
        return False
    if fetch_site is not None:
        return fetch_site.strip().lower() not in ALLOWED_FETCH_SITES
    if origin is not None:
        parts = urlsplit(origin.strip())
        if origin.strip() == "null" or not parts.scheme or not parts.netloc:
            return True
        return host is None or _netloc(parts.scheme, parts.netloc) != _netloc(parts.scheme, host)
    return False


def _netloc(scheme: str, netloc: str) -> str:
    netloc = netloc.strip().lower()
    default = {"http": ":80", "https": ":443"}.get(scheme.lower(), "")
    return netloc[: -len(default)] if default and netloc.endswith(default) else netloc


def same_origin_only(app: ASGIApp) -> ASGIApp:
    """The check as an ASGI middleware, for every route of the app."""

    async def middleware(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers: dict[str, Any] = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if cross_site(scope["method"], headers.get("host"), headers.get("origin"), headers.get("sec-fetch-site")):
                raise CrossSiteRequestError()
        await app(scope, receive, send)

    return middleware


__all__ = ["CrossSiteRequestError", "cross_site", "same_origin_only"]
