"""An OpenID provider's endpoints, from its discovery document (OpenID Connect Discovery 1.0).

Fetched when first needed, with a timeout, and kept for an hour. A document is refused
when it names another issuer (Discovery 4.3: the issuer must be the one asked), when its
endpoints are not https (plain http only on the loopback interface), or when it publishes
its keys elsewhere than the issuers file says the hub should fetch them from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hub.errors import SignInUnavailableError
from hub.identity.issuers import is_safe_address
from hub.identity.tokens import TrustedIssuer
from hub.runtime.clock import Clock

if TYPE_CHECKING:
    import httpx  # imported at the first fetch: it is slow to import and the hub's start does not need it

log = logging.getLogger("backa.oidc")

DISCOVERY_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Provider:
    authorization_endpoint: str
    token_endpoint: str
    end_session_endpoint: str | None
    fetched_at: datetime


class Discovery:
    def __init__(self, clock: Clock, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None) -> None:
        self.clock = clock
        self.timeout = timeout
        self.transport = transport
        self._providers: dict[str, Provider] = {}

    def provider(self, issuer: TrustedIssuer) -> Provider:
        at = self.clock()
        known = self._providers.get(issuer.issuer)
        if known is not None and at - known.fetched_at < DISCOVERY_TTL:
            return known
        import httpx

        url = issuer.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport, follow_redirects=False) as http:
                answer = http.get(url, headers={"Accept": "application/json"})
            answer.raise_for_status()
            document = answer.json()
        except (httpx.HTTPError, ValueError) as e:
            log.warning("the discovery document of %s cannot be fetched: %s", issuer.issuer, type(e).__name__)
            raise SignInUnavailableError("the sign-in service cannot be reached just now") from None
        provider = _provider(issuer, document, at)
        self._providers[issuer.issuer] = provider
        return provider


def _provider(issuer: TrustedIssuer, document: Any, at: datetime) -> Provider:
    def fail(problem: str) -> SignInUnavailableError:
        log.warning("the discovery document of %s is refused: %s", issuer.issuer, problem)
        return SignInUnavailableError("the sign-in service is not configured as the hub expects")

    if not isinstance(document, dict):
        raise fail("not a JSON object")
    if document.get("issuer") != issuer.issuer:
        raise fail("it names another issuer")
    endpoints: dict[str, str | None] = {}
    for name in ("authorization_endpoint", "token_endpoint", "end_session_endpoint"):
        value = document.get(name)
        if value is None and name == "end_session_endpoint":
            endpoints[name] = None
            continue
        if not isinstance(value, str) or not is_safe_address(value):
            raise fail(f"{name} is missing or not https")
        endpoints[name] = value
    if issuer.jwks is not None and document.get("jwks_uri") != issuer.jwks.uri:
        raise fail("its jwks_uri differs from the issuers file's")
    return Provider(
        authorization_endpoint=str(endpoints["authorization_endpoint"]),
        token_endpoint=str(endpoints["token_endpoint"]),
        end_session_endpoint=endpoints["end_session_endpoint"],
        fetched_at=at,
    )


__all__ = ["DISCOVERY_TTL", "Discovery", "Provider"]
