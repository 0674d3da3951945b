"""The hub's registration as an OpenID Connect client at one issuer, as the issuers file gives it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OidcClient:
    slug: str
    """The issuer's part of the sign-in address: ``/sign-in/oidc/<slug>``."""
    display_name: str
    """What the sign-in button names (the organisation or the e-ID service)."""
    client_id: str
    client_secret: str = field(repr=False)
    """From a file or the environment, never the issuers file; never shown or logged."""
    redirect_uri: str | None = None
    """Where the provider sends the browser back; None: this hub's ``/sign-in/callback``
    at the address the browser used."""
    post_logout_redirect_uri: str | None = None
    """Where the provider sends the browser after signing out there (RP-initiated logout)."""
    scopes: tuple[str, ...] = ("openid",)
