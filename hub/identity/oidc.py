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

What a sign-in in flight needs (state, nonce, verifier) is kept in the hub's
:class:`SignInStore` for ten minutes at most, shared by every process of the hub: the
provider's answer may come back to any of them, and is taken out of the store at once by
whichever gets it. Every call to the provider has a timeout.

Signing out: the hub's session ends, and where the provider offers it the browser goes on
to end the provider's session (RP-Initiated Logout 1.0). The other way, a provider ends
the hub's sessions of a person or of one of its sessions with a logout token posted to
``/sign-in/backchannel-logout/<slug>`` (Back-Channel Logout 1.0); whichever process it
reaches ends the sessions any process started.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.errors import NotAuthenticatedError, SignInUnavailableError
from hub.identity.oidc_discovery import Discovery, Provider
from hub.identity.principals import Principal
from hub.identity.sign_in_store import MemorySignInStore, PendingSignIn, SignedInSession, SignInStore
from hub.identity.tokens import TokenVerifier, TrustedIssuer
from hub.runtime.clock import Clock

if TYPE_CHECKING:
    import httpx
    from authlib.integrations.httpx_client import OAuth2Client


def _authlib() -> Any:
    """Authlib's HTTP client, imported at the first sign-in rather than when the hub starts
    (with httpx it is a tenth of the hub's start-up imports)."""
    from authlib.deprecate import AuthlibDeprecationWarning

    with warnings.catch_warnings():  # Authlib announces its move to httpx2; httpx is what is installed
        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        from authlib.integrations import httpx_client
    return httpx_client


def _random_token(length: int) -> str:
    from authlib.common.security import generate_token

    return str(generate_token(length))

log = logging.getLogger("backa.oidc")

PENDING_FOR = timedelta(minutes=10)
"""How long a sign-in may take at the provider before its answer is refused."""
REMEMBERED_FOR = timedelta(hours=8)
"""How long a signed-in session is remembered for signing out when the caller does not say
(the sessions' default absolute lifetime)."""


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


BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class OidcSignIn:
    """Begins and finishes sign-ins at the configured providers; ends them there too."""

    def __init__(
        self,
        verifier: TokenVerifier,
        clock: Clock,
        *,
        store: SignInStore | None = None,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.verifier = verifier
        self.clock = clock
        self.store: SignInStore = store if store is not None else MemorySignInStore()
        self.timeout = timeout
        self.transport = transport
        self.discovery = Discovery(clock, timeout=timeout, transport=transport)

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
        state, nonce, verifier, browser = _random_token(43), _random_token(43), _random_token(64), secrets.token_urlsafe(32)
        redirect_uri = client.redirect_uri or callback_uri
        with self._oauth(issuer, redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(provider.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce)
        at = self.clock()
        self.store.sweep(at, at - PENDING_FOR)
        self.store.add_pending(
            _digest(state), PendingSignIn(issuer.issuer, _digest(browser), nonce, verifier, redirect_uri, next_page, at)
        )
        return Begun(url, browser)

    def finish(self, params: dict[str, str], browser_cookie: str | None) -> SignedIn:
        """The provider's answer (the callback's query) as a signed-in person, or a refusal.

        The sign-in in flight is taken out once its browser is recognised, before anything
        else is checked, so an answer is acted on once whatever happens (a replayed code or
        state is refused here, by whichever process of the hub it reaches)."""
        key = _digest(params.get("state") or "")
        stored = self.store.take_pending(key, _digest(browser_cookie)) if browser_cookie else None
        if stored is None:
            if self.store.has_pending(key):
                # left in place: another browser that learnt the state cannot spend this sign-in
                raise NotAuthenticatedError("this sign-in was started in another browser; sign in again", field="state")
            raise NotAuthenticatedError("this sign-in is unknown, already used or too old; sign in again", field="state")
        if self.clock() - stored.started_at > PENDING_FOR:
            raise NotAuthenticatedError("this sign-in took too long; sign in again", field="state")
        issuer = next((i for i in self.issuers() if i.issuer == stored.issuer), None)
        if issuer is None:  # no longer configured since the sign-in began
            raise NotAuthenticatedError("this sign-in is unknown, already used or too old; sign in again", field="state")
        pending = Pending(
            issuer, stored.browser, stored.nonce, stored.verifier, stored.redirect_uri, stored.next_page, stored.started_at
        )
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
        import httpx

        provider = self.provider(pending.issuer)
        try:
            with self._oauth(pending.issuer, pending.redirect_uri) as oauth:
                token = oauth.fetch_token(
                    provider.token_endpoint, grant_type="authorization_code", code=code, code_verifier=pending.verifier
                )
        except _authlib().OAuthError as e:
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
        oauth: OAuth2Client = _authlib().OAuth2Client(
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
        return oauth

    def provider(self, issuer: TrustedIssuer) -> Provider:
        return self.discovery.provider(issuer)

    # -- signing out -------------------------------------------------------------------------

    def remember(self, session_id: str, signed_in: SignedIn, lifetime: timedelta = REMEMBERED_FOR) -> None:
        """Keep what signing out at the provider needs (RP-initiated logout's ``id_token_hint``)
        and what a logout token names, for the session's absolute ``lifetime`` at most. The
        store is given the session id's SHA-256, keyed digests of ``sub`` and ``sid``, and
        the ID token sealed under a key only the session id gives."""
        at = self.clock()
        iss = signed_in.issuer.issuer
        self.store.remember(
            _digest(session_id),
            SignedInSession(
                iss,
                None if signed_in.sid is None else self._named("oidc-sid", iss, signed_in.sid),
                self._named("oidc-sub", iss, signed_in.subject),
                _seal(session_id, signed_in.id_token),
                at + lifetime,
            ),
        )

    def _named(self, label: str, issuer: str, value: str) -> str:
        return self.verifier.blind_index.digest(label, issuer, value)

    def sign_out_url(self, session_id: str, signed_out_uri: str) -> str | None:
        """Where to send the browser to sign out at the provider too (OpenID Connect
        RP-Initiated Logout 1.0, 2), or None: the session was not started here, or the
        provider offers no end-session endpoint, and signing out is this hub's alone."""
        known = self.store.forget(_digest(session_id))
        if known is None or known.expires_at <= self.clock():
            return None
        issuer = next((i for i in self.issuers() if i.issuer == known.issuer), None)
        id_token = _unseal(session_id, known.id_token)
        if issuer is None or id_token is None:
            return None
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
        not have been used before by any process of the hub. Returns the SHA-256 of the ids
        of the sessions to end (:meth:`Sessions.end_by_key`)."""
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
        self.store.sweep(at, at - PENDING_FOR)
        # kept while the token could still be accepted: it cannot outlive iat + the maximum lifetime
        until = at + self.verifier.max_lifetime + 2 * self.verifier.skew
        if not self.store.first_use(_digest(f"{issuer.issuer}\x1f{jti}"), until):
            raise NotAuthenticatedError("the logout token was used before", field="logout_token")
        iss = issuer.issuer
        return self.store.logged_out(
            iss,
            self._named("oidc-sid", iss, sid) if isinstance(sid, str) else None,
            self._named("oidc-sub", iss, sub) if isinstance(sub, str) else None,
        )


def _client_of(issuer: TrustedIssuer) -> Any:
    if issuer.oidc is None:  # the routes reach only issuers with a client
        raise NotAuthenticatedError("no such sign-in service", field="issuer")
    return issuer.oidc


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _seal_key(session_id: str) -> bytes:
    """A key apart from the session's stored SHA-256 (its own label), so the store cannot open it."""
    return hashlib.sha256(b"backa oidc id_token\x1f" + session_id.encode()).digest()


def _seal(session_id: str, id_token: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_seal_key(session_id)).encrypt(nonce, id_token.encode(), b"id_token")
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _unseal(session_id: str, sealed: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return AESGCM(_seal_key(session_id)).decrypt(raw[:12], raw[12:], b"id_token").decode()
    except (InvalidTag, ValueError):
        return None


__all__ = ["Begun", "OidcSignIn", "Pending", "SignedIn"]
