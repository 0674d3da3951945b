"""Signing in on the pages through OpenID Connect: the authorization-code flow with PKCE.

Staff sign in at their organisation's provider, families at an e-ID broker that speaks
OpenID Connect. The hub is a confidential client (OpenID Connect Core 3.1) and checks:

- ``state`` is random, used once, and bound to the browser that started the sign-in by a
  short-lived pre-session cookie, so an answer cannot be replayed or planted in another
  browser (RFC 6749 10.12, RFC 9700 4.7.1);
- PKCE with S256 (RFC 7636 4.2, required by RFC 9700 2.1.1), the verifier kept here;
- ``iss`` in the answer, when the provider sends it, names the provider the sign-in went
  to (RFC 9207, against mix-up);
- the ID token is verified by the :class:`TokenVerifier` against that issuer's keys with
  the client id as audience, within the clock skew and the maximum lifetime, must carry
  ``iat`` and the ``nonce`` sent (OpenID Connect Core 3.1.3.7 steps 2-11), and ``azp``,
  when present, is this client;
- its claims become a :class:`Principal` through the issuer's claim mapping, exactly as a
  bearer token's do.

What a sign-in in flight needs (state, nonce, verifier) is kept in this process for ten
minutes at most: the provider's answer must come back to the process that sent the
browser there (a load balancer keeps a browser on one process, as it must for the
pre-session cookie anyway). Every call to the provider has a timeout.

Signing out: the hub's session ends, and where the provider offers it the browser goes on
to end the provider's session (RP-Initiated Logout 1.0). The other way, a provider ends
the hub's sessions of a person or of one of its sessions with a logout token posted to
``/sign-in/backchannel-logout/<slug>`` (Back-Channel Logout 1.0); it reaches the sessions
this process started.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning

from hub.errors import NotAuthenticatedError, SignInUnavailableError
from hub.identity.oidc_discovery import Discovery, Provider
from hub.identity.principals import Principal
from hub.identity.tokens import TokenVerifier, TrustedIssuer
from hub.runtime.clock import Clock

with warnings.catch_warnings():  # Authlib announces its move to httpx2; httpx is what is installed
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError

log = logging.getLogger("backa.oidc")

PENDING_FOR = timedelta(minutes=10)
"""How long a sign-in may take at the provider before its answer is refused."""
MAX_PENDING = 10_000
"""Sign-ins in flight kept at most; the oldest are forgotten first."""
MAX_SIGNED_IN = 100_000
"""Sessions remembered for signing out at the provider; the oldest are forgotten first."""


@dataclass(frozen=True)
class Pending:
    issuer: TrustedIssuer
    browser: str
    """SHA-256 of the pre-session cookie's value."""
    nonce: str
    verifier: str
    redirect_uri: str
    next_page: str | None
    started_at: datetime


@dataclass(frozen=True)
class Begun:
    authorization_url: str
    browser_cookie: str
    """The pre-session cookie's value: the browser must bring it back with the answer."""


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    issuer: TrustedIssuer
    id_token: str
    next_page: str | None
    subject: str = ""
    """The provider's ``sub`` and ``sid``: what a logout token names."""
    sid: str | None = None


@dataclass(frozen=True)
class Remembered:
    session_id: str
    issuer: TrustedIssuer
    id_token: str
    subject: str
    sid: str | None


BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class OidcSignIn:
    """Begins and finishes sign-ins at the configured providers; ends them there too."""

    def __init__(
        self, verifier: TokenVerifier, clock: Clock, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.verifier = verifier
        self.clock = clock
        self.timeout = timeout
        self.transport = transport
        self.discovery = Discovery(clock, timeout=timeout, transport=transport)
        self._pending: OrderedDict[str, Pending] = OrderedDict()
        self._signed_in: OrderedDict[str, Remembered] = OrderedDict()
        self._logout_ids: OrderedDict[str, datetime] = OrderedDict()
        self._lock = threading.Lock()

    def issuers(self) -> list[TrustedIssuer]:
        """The issuers the pages offer a sign-in button for, in the issuers file's order."""
        return [i for i in self.verifier.issuers if i.oidc is not None]

    def issuer(self, slug: str) -> TrustedIssuer:
        found = next((i for i in self.issuers() if i.oidc is not None and i.oidc.slug == slug), None)
        if found is None:
            raise NotAuthenticatedError("no such sign-in service", field="issuer")
        return found

    # -- the flow ----------------------------------------------------------------------------

    def begin(self, slug: str, callback_uri: str, next_page: str | None) -> Begun:
        """Where to send the browser, and the cookie that binds the answer to it."""
        issuer = self.issuer(slug)
        client = _client_of(issuer)
        provider = self.provider(issuer)
        state, nonce, verifier, browser = generate_token(43), generate_token(43), generate_token(64), secrets.token_urlsafe(32)
        redirect_uri = client.redirect_uri or callback_uri
        with self._oauth(issuer, redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(provider.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce)
        at = self.clock()
        with self._lock:
            self._forget_stale(at)
            self._pending[state] = Pending(issuer, _digest(browser), nonce, verifier, redirect_uri, next_page, at)
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
        return Begun(url, browser)

    def finish(self, params: dict[str, str], browser_cookie: str | None) -> SignedIn:
        """The provider's answer (the callback's query) as a signed-in person, or a refusal.

        The sign-in in flight is taken out once its browser is recognised, before anything
        else is checked, so an answer is acted on once whatever happens (a replayed code or
        state is refused here)."""
        state = params.get("state") or ""
        with self._lock:
            pending = self._pending.get(state)
            if pending is None:
                raise NotAuthenticatedError("this sign-in is unknown, already used or too old; sign in again", field="state")
            if browser_cookie is None or not hmac.compare_digest(_digest(browser_cookie), pending.browser):
                # left in place: another browser that learnt the state cannot spend this sign-in
                raise NotAuthenticatedError("this sign-in was started in another browser; sign in again", field="state")
            del self._pending[state]
        if self.clock() - pending.started_at > PENDING_FOR:
            raise NotAuthenticatedError("this sign-in took too long; sign in again", field="state")
        issuer = pending.issuer
        if "iss" in params and params["iss"] != issuer.issuer:
            raise NotAuthenticatedError("the answer comes from another sign-in service than the one asked", field="iss")
        if params.get("error"):
            raise NotAuthenticatedError("the sign-in service did not sign you in", field="error")
        code = params.get("code")
        if not code:
            raise NotAuthenticatedError("the answer of the sign-in service lacks its code", field="code")
        id_token = self._exchange(pending, code)
        client = _client_of(issuer)
        claims, _ = self.verifier.verified(id_token, issuer=issuer, audience=client.client_id)
        if "iat" not in claims:
            raise NotAuthenticatedError("the ID token lacks the iat claim", field="id_token")
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), pending.nonce.encode()):
            raise NotAuthenticatedError("the ID token was not issued for this sign-in (its nonce differs)", field="id_token")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if (azp is not None or len(audiences) > 1) and azp != client.client_id:
            raise NotAuthenticatedError("the ID token was issued to another client", field="id_token")
        sid = claims.get("sid")
        principal = self.verifier.principal(claims, issuer)
        return SignedIn(principal, issuer, id_token, pending.next_page, str(claims["sub"]), sid if isinstance(sid, str) else None)

    def _exchange(self, pending: Pending, code: str) -> str:
        """The ID token for the code, from the provider's token endpoint (client_secret_basic)."""
        provider = self.provider(pending.issuer)
        try:
            with self._oauth(pending.issuer, pending.redirect_uri) as oauth:
                token = oauth.fetch_token(
                    provider.token_endpoint, grant_type="authorization_code", code=code, code_verifier=pending.verifier
                )
        except OAuthError as e:
            log.info("the provider %s refused a code: %s", pending.issuer.issuer, e.error)
            raise NotAuthenticatedError("the sign-in service refused the sign-in; sign in again", field="code") from None
        except (httpx.HTTPError, ValueError) as e:
            log.warning("the token endpoint of %s failed: %s", pending.issuer.issuer, type(e).__name__)
            raise SignInUnavailableError("the sign-in service cannot be reached just now") from None
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str):
            raise NotAuthenticatedError("the sign-in service sent no ID token", field="id_token")
        return id_token

    def _oauth(self, issuer: TrustedIssuer, redirect_uri: str) -> OAuth2Client:
        client = _client_of(issuer)
        return OAuth2Client(
            client_id=client.client_id,
            client_secret=client.client_secret,
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method's name, not a secret
            scope=" ".join(client.scopes),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout,
            transport=self.transport,
            follow_redirects=False,
        )

    def _forget_stale(self, at: datetime) -> None:
        while self._pending:
            state, oldest = next(iter(self._pending.items()))
            if at - oldest.started_at <= PENDING_FOR:
                break
            del self._pending[state]

    def provider(self, issuer: TrustedIssuer) -> Provider:
        return self.discovery.provider(issuer)

    # -- signing out -------------------------------------------------------------------------

    def remember(self, session_id: str, signed_in: SignedIn) -> None:
        """Keep what signing out at the provider needs (RP-initiated logout's ``id_token_hint``)."""
        with self._lock:
            self._signed_in[_digest(session_id)] = Remembered(
                session_id, signed_in.issuer, signed_in.id_token, signed_in.subject, signed_in.sid
            )
            while len(self._signed_in) > MAX_SIGNED_IN:
                self._signed_in.popitem(last=False)

    def sign_out_url(self, session_id: str, signed_out_uri: str) -> str | None:
        """Where to send the browser to sign out at the provider too (OpenID Connect
        RP-Initiated Logout 1.0, 2), or None: the session was not started here, or the
        provider offers no end-session endpoint, and signing out is this hub's alone."""
        with self._lock:
            known = self._signed_in.pop(_digest(session_id), None)
        if known is None:
            return None
        issuer, id_token = known.issuer, known.id_token
        client = _client_of(issuer)
        try:
            provider = self.provider(issuer)
        except SignInUnavailableError:
            return None
        if provider.end_session_endpoint is None:
            return None
        query = urlencode(
            {
                "id_token_hint": id_token,
                "client_id": client.client_id,
                "post_logout_redirect_uri": client.post_logout_redirect_uri or signed_out_uri,
            }
        )
        separator = "&" if "?" in provider.end_session_endpoint else "?"
        return f"{provider.end_session_endpoint}{separator}{query}"


    def logged_out(self, slug: str, logout_token: str) -> list[str]:
        """The sessions a provider's logout token ends (Back-Channel Logout 1.0, 2.6): it must
        verify as the ID token does, carry ``iat``, ``jti``, the back-channel logout event and
        ``sid`` or ``sub``, carry no ``nonce`` (so an ID token is never taken for one), and
        not have been used before. Returns the ids of the sessions to end."""
        issuer = self.issuer(slug)
        client = _client_of(issuer)
        claims, _ = self.verifier.verified(logout_token, issuer=issuer, audience=client.client_id, subject=False)
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_EVENT), dict):
            raise NotAuthenticatedError("the logout token lacks the back-channel logout event", field="logout_token")
        if "nonce" in claims or "iat" not in claims:
            raise NotAuthenticatedError("the logout token is not one", field="logout_token")
        sid, sub, jti = claims.get("sid"), claims.get("sub"), claims.get("jti")
        if not isinstance(sid, str) and not isinstance(sub, str):
            raise NotAuthenticatedError("the logout token names neither a session nor a subject", field="logout_token")
        if not isinstance(jti, str) or not jti:
            raise NotAuthenticatedError("the logout token lacks the jti claim", field="logout_token")
        at = self.clock()
        with self._lock:
            seen = f"{issuer.issuer} {jti}"
            if seen in self._logout_ids:
                raise NotAuthenticatedError("the logout token was used before", field="logout_token")
            self._logout_ids[seen] = at
            while len(self._logout_ids) > MAX_PENDING:
                self._logout_ids.popitem(last=False)
            ended = [
                key for key, known in self._signed_in.items()
                if known.issuer.issuer == issuer.issuer
                and (known.sid == sid if isinstance(sid, str) else True)
                and (known.subject == sub if isinstance(sub, str) else True)
            ]
            return [self._signed_in.pop(key).session_id for key in ended]


def _client_of(issuer: TrustedIssuer) -> Any:
    if issuer.oidc is None:  # the routes reach only issuers with a client
        raise NotAuthenticatedError("no such sign-in service", field="issuer")
    return issuer.oidc


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


__all__ = ["Begun", "OidcSignIn", "Pending", "SignedIn"]
