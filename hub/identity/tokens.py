"""Bearer tokens: verify them against trusted issuers; issue them only in demo mode.

Checks, each refusing with a reason that names the claim and never echoes its value:
the algorithm is on the issuer's allow-list (RFC 8725 3.1, so ``none`` and HMAC
confusion are refused), the signature verifies with a key the issuer published
(RFC 7515 5.2), ``iss`` and ``aud`` match (RFC 7519 4.1.1, 4.1.3), ``exp`` and
``nbf`` hold against the hub's clock within a clock skew (RFC 7519 4.1.4, 4.1.5), an
``iat`` no later than now plus that skew and a lifetime (``exp`` less ``iat``, or less
now without ``iat``) no longer than the hub accepts (RFC 8725 3.10 asks for bounded
lifetimes; RFC 9068 4 and OpenID Connect Core 3.1.3.7 steps 9-10 for ``exp`` and ``iat``),
and tenant, unit and roles name things the directory knows. Times are compared as
numbers, so a year-9999 ``exp`` is refused as too long-lived, never an overflow.

A token that verified is kept for at most :data:`KEEP_VERIFIED` (bounded in number), so
a caller's next requests skip the signature check and the claims mapping: its times are
checked again on every use, so an expired token is refused as before, and a token whose
issuer the hub no longer trusts is verified afresh.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.vocabulary import SWEDISH_TIME, Role
from consent import ViewerKind

from hub.runtime.clock import Clock
from hub.identity.directory import Directory
from hub.errors import NotAuthenticatedError
from hub.identity.personnummer import BlindIndex, parse_identity_number
from hub.identity.principals import Principal

if TYPE_CHECKING:
    from hub.identity.oidc_client import OidcClient

DEMO_ISSUER = "https://demo.backa.invalid/issuer"
LEEWAY = timedelta(seconds=30)
"""The default clock skew allowed between the hub and an issuer (``token_clock_skew_seconds``)."""
MAX_LIFETIME = timedelta(hours=12)
KEEP_VERIFIED = timedelta(seconds=60)
"""How long a verified token is taken without checking its signature again: what a key
withdrawn by its issuer, or a unit removed from the directory, may still let through."""
KEEP_AT_MOST = 4096
"""Verified tokens kept at once; past it the oldest go."""
"""The default longest lifetime of a token the hub accepts (``token_max_lifetime_hours``)."""

log = logging.getLogger("backa.tokens")

_MISSING = object()


@dataclass(frozen=True)
class ClaimMapping:
    """Where an issuer puts what the hub needs. The defaults are the demo issuer's claim
    names; a real issuer's configuration names its own (see :mod:`hub.identity.issuers`)."""

    tenant_claim: str | None = "tenant"
    tenant: str | None = None
    """A fixed cooperation area, for an issuer that serves only one."""
    unit_claim: str | None = "unit"
    roles_claim: str = "roles"
    role_map: Mapping[str, Role] | None = None
    """The issuer's role or group values and the hub role each means; values not in it
    are ignored. None: the claim holds the hub's role names themselves."""
    subject_claim: str = "sub"
    """Staff: the user id. Families: the personal identity number."""
    kind_claim: str | None = "kind"
    kind: Literal["staff", "guardian", "child"] | None = None
    """A fixed kind, for an issuer whose tokens all sign in one kind of person."""
    kind_map: Mapping[str, str] | None = None
    """The issuer's values of ``kind_claim`` and the kind each means."""
    roles_from: Literal["claims", "directory"] = "claims"
    """Where a staff member's unit and roles come from: the token's claims (an issuers file
    that maps ``roles_claim`` or ``role_map``, and the demo issuer), or else the directory,
    where the area's administrator gives them; the token then only says who signs in."""


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (``realm_access.roles``)."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


class JwksKeys:
    """The keys an issuer publishes at its JWKS address, fetched with PyJWT's client.

    The key set is cached; a token whose ``kid`` is not in it makes the set be fetched
    again, at most once per ``refetch`` on the hub's clock, so that a rotated key is
    picked up and a stream of made-up kids cannot make the hub hammer the issuer. After
    a failed fetch the hub waits ``retry`` before trying again.

    One fetch at a time: callers that need the keys while they are being fetched wait for
    that fetch (at most ``timeout``) and use what it got, so a slow issuer ties up one
    thread, not one per caller; a token whose key is already held never waits.
    """

    def __init__(
        self,
        uri: str,
        issuer: str,
        clock: Clock,
        *,
        refetch: timedelta = timedelta(seconds=60),
        retry: timedelta = timedelta(seconds=5),
        timeout: float = 5.0,
    ) -> None:
        self.uri = uri
        self.issuer = issuer
        self.clock = clock
        self.refetch = refetch
        self.retry = retry
        self.client = jwt.PyJWKClient(uri, cache_jwk_set=True, lifespan=3600, timeout=timeout, cooldown_duration=0)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._fetching = threading.Lock()
        self._fetches = 0
        self._refetched: datetime | None = None
        self._failed: datetime | None = None

    def keys_for(self, kid: str | None) -> list[Any]:
        keys = self._signing_keys(refresh=False)
        if kid is None:
            return keys
        found = [k for k in keys if k.key_id == kid]
        if found:
            return found
        with self._lock:
            now = self.clock()
            if self._refetched is not None and now - self._refetched < self.refetch:
                return []
            self._refetched = now
        return [k for k in self._signing_keys(refresh=True) if k.key_id == kid]

    def _signing_keys(self, refresh: bool) -> list[Any]:
        if not refresh and self._cached():
            return self._fetch(refresh=False)  # from the cache, no network
        seen = self._fetches
        if not self._fetching.acquire(timeout=self.timeout):
            log.warning("the keys of issuer %s are still being fetched from %s", self.issuer, self.uri)
            raise NotAuthenticatedError("the issuer's keys cannot be fetched")
        try:
            # another caller fetched while this one waited: what it got is as fresh
            return self._fetch(refresh=refresh and self._fetches == seen)
        finally:
            self._fetches += 1
            self._fetching.release()

    def _fetch(self, refresh: bool) -> list[Any]:
        now = self.clock()
        recently_failed = self._failed is not None and now - self._failed < self.retry
        if recently_failed and (refresh or not self._cached()):
            raise NotAuthenticatedError("the issuer's keys cannot be fetched")
        try:
            keys = self.client.get_signing_keys(refresh=refresh)
        except (jwt.PyJWKClientConnectionError, OSError) as e:  # OSError: a connection reset mid-answer
            self._failed = now
            log.warning("the keys of issuer %s cannot be fetched from %s: %s", self.issuer, self.uri, type(e.__cause__ or e).__name__)
            raise NotAuthenticatedError("the issuer's keys cannot be fetched") from None
        except (jwt.PyJWTError, ValueError) as e:  # ValueError: an answer that is not JSON at all
            self._failed = now
            log.warning("the keys issuer %s publishes at %s cannot be read: %s", self.issuer, self.uri, type(e).__name__)
            raise NotAuthenticatedError("the issuer's published keys cannot be read") from None
        self._failed = None
        return keys

    def _cached(self) -> bool:
        cache = self.client.jwk_set_cache
        return cache is not None and cache.get() is not None


@dataclass(frozen=True)
class TrustedIssuer:
    issuer: str
    audience: str
    keys: tuple[Any, ...] = ()
    """Keys the hub holds: raw public keys (tried in turn) or :class:`jwt.PyJWK` (chosen by ``kid``)."""
    algorithms: tuple[str, ...] = ("EdDSA",)
    kind: Literal["staff", "family", "any"] = "any"
    claims: ClaimMapping = ClaimMapping()
    jwks: JwksKeys | None = None
    """Keys the issuer publishes, fetched when needed."""
    oidc: OidcClient | None = None
    """The hub's client registration here, when the pages sign in through this issuer."""

    def keys_for(self, kid: str | None) -> Sequence[Any]:
        held = [k for k in self.keys if kid is None or getattr(k, "key_id", None) in (None, kid)]
        if self.jwks is None:
            return held
        return held + self.jwks.keys_for(kid)


@dataclass(frozen=True)
class Verified:
    """Who a token signs in, and the issuer that vouched for it (what a session records)."""

    principal: Principal
    issuer: str


class KnowsPeople(Protocol):
    """What sign-in asks of the directory (a snapshot, or the live directory that reads its log
    again when a name is not known yet)."""

    @property
    def tenants(self) -> Mapping[str, Any]: ...

    def roles_on(self, tenant_id: str, user_id: str, day: Any) -> frozenset[Role]: ...


@dataclass
class TokenVerifier:
    issuers: list[TrustedIssuer]
    directory: Directory | KnowsPeople
    blind_index: BlindIndex
    clock: Clock

    skew: timedelta = LEEWAY
    max_lifetime: timedelta = MAX_LIFETIME

    def verify(self, token: str) -> Principal:
        return self.authenticate(token).principal

    def trusts(self, issuer: str) -> bool:
        """Whether tokens of ``issuer`` are accepted now (a session it started lives on)."""
        return any(i.issuer == issuer for i in self.issuers)

    _kept: dict[str, tuple[float, dict[str, Any], TrustedIssuer, Verified]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def authenticate(self, token: str) -> Verified:
        """Who the token signs in and the issuer that vouched for it."""
        recalled = self.recall(token)
        if recalled is not None:
            return recalled
        claims, trusted = self.verified(token)
        verified = Verified(self.principal(claims, trusted), trusted.issuer)
        self._keep(token, claims, trusted, verified)
        return verified

    def recall(self, token: str) -> Verified | None:
        """The token as verified within :data:`KEEP_VERIFIED`, its times checked again now
        (raising as :meth:`authenticate` would); None when it must be verified in full.
        No input or output: cheap enough for the event loop."""
        kept = self._kept.get(token)
        if kept is None:
            return None
        until, claims, trusted, verified = kept
        if self.clock().timestamp() >= until or not any(i is trusted for i in self.issuers):
            self._kept.pop(token, None)
            return None
        try:
            self._check_times(claims)
        except NotAuthenticatedError:
            self._kept.pop(token, None)
            raise
        try:  # the directory may have changed since: a removed person, a closed unit, other roles
            still = self.principal(claims, trusted, look_again=False)
        except NotAuthenticatedError:
            still = None
        if still != verified.principal:
            self._kept.pop(token, None)
            return None
        return verified

    def _keep(self, token: str, claims: dict[str, Any], trusted: TrustedIssuer, verified: Verified) -> None:
        kept = self._kept
        while len(kept) >= KEEP_AT_MOST:
            try:
                kept.pop(next(iter(kept)))
            except (KeyError, RuntimeError, StopIteration):  # another thread took it first
                break
        kept[token] = (self.clock().timestamp() + KEEP_VERIFIED.total_seconds(), claims, trusted, verified)

    def verified(
        self, token: str, *, issuer: TrustedIssuer | None = None, audience: str | None = None, subject: bool = True
    ) -> tuple[dict[str, Any], TrustedIssuer]:
        """The token's claims once signature, issuer, audience and times hold, and the issuer
        that signed it. ``issuer``: only this one may have (an OpenID Connect sign-in started
        there); ``audience``: instead of the issuer's (an ID token's is the client id);
        ``subject``: whether ``sub`` is required (a logout token may name a session instead)."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise NotAuthenticatedError("the bearer token is not a well-formed JWT") from None
        trusted = next((i for i in self.issuers if i.issuer == unverified.get("iss")), None)
        if trusted is None or (issuer is not None and trusted.issuer != issuer.issuer):
            raise NotAuthenticatedError("the token's issuer is not trusted")
        if header.get("alg") not in trusted.algorithms:
            raise NotAuthenticatedError("the token's signing algorithm is not allowed")
        kid = header.get("kid")
        required = ["exp", "iss", "aud", "sub"] if subject else ["exp", "iss", "aud"]
        claims = self._verified_claims(token, trusted, kid if isinstance(kid, str) else None, audience or trusted.audience, required)
        self._check_times(claims)
        return claims, trusted

    def _verified_claims(self, token: str, issuer: TrustedIssuer, kid: str | None, audience: str, required: list[str]) -> dict[str, Any]:
        for key in issuer.keys_for(kid):
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=list(issuer.algorithms),
                    audience=audience,
                    issuer=issuer.issuer,
                    options={
                        "require": required,
                        "verify_exp": False,
                        "verify_nbf": False,
                        "verify_iat": False,
                    },
                )
            except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
                continue  # the algorithm is on the allow-list; a published key is bound to one of its own
            except jwt.InvalidAudienceError:
                raise NotAuthenticatedError("the token is for another audience") from None
            except jwt.MissingRequiredClaimError as e:
                raise NotAuthenticatedError(f"the token lacks the {e.claim} claim") from None
            except jwt.PyJWTError:
                raise NotAuthenticatedError("the token could not be verified") from None
        raise NotAuthenticatedError("the token's signature does not verify with the issuer's keys")

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self.clock().timestamp()
        skew = self.skew.total_seconds()
        exp, nbf, iat = (_seconds(claims, name) for name in ("exp", "nbf", "iat"))
        if exp is None:
            raise NotAuthenticatedError("the token lacks the exp claim")
        if now >= exp + skew:
            raise NotAuthenticatedError("the token has expired")
        if nbf is not None and now + skew < nbf:
            raise NotAuthenticatedError("the token is not valid yet")
        if iat is not None and iat > now + skew:
            raise NotAuthenticatedError("the token was issued in the future")
        if exp - (iat if iat is not None else now) > self.max_lifetime.total_seconds() + skew:
            raise NotAuthenticatedError("the token lives longer than this hub accepts")

    def current(self, principal: Principal, issuer: str) -> Principal | None:
        """A signed-in person as the directory has them now, for a session that outlives a
        change: None once removed from the area, or at a unit that closed; with unit and
        roles read again where the issuer leaves them to the directory. No input or output."""
        if principal.kind not in (ViewerKind.STAFF, ViewerKind.AUDITOR):
            return principal
        tenant = self.directory.tenants.get(principal.tenant_id)
        if tenant is None or (principal.user_id in getattr(tenant, "former_staff", {}) and principal.user_id not in tenant.staff):
            return None
        trusted = next((i for i in self.issuers if i.issuer == issuer), None)
        if trusted is not None and trusted.claims.roles_from == "directory":
            staff = tenant.staff.get(principal.user_id)
            if staff is None:
                return None
            roles = self.directory.roles_on(principal.tenant_id, principal.user_id, self.clock().astimezone(SWEDISH_TIME).date())
            if not roles or roles & {Role.GUARDIAN, Role.CHILD}:
                return None
            kind = ViewerKind.AUDITOR if Role.AUDITOR in roles else ViewerKind.STAFF
            return Principal(kind, principal.tenant_id, principal.user_id, roles, unit_id=staff.unit_id)
        if principal.unit_id is not None and principal.unit_id not in tenant.units:
            return None
        return principal

    def _known(self, tenant_id: str, *, unit_id: str | None = None, user_id: str | None = None, look_again: bool = True) -> bool:
        """Whether the directory has the area (and unit, and person) now; a live directory
        reads its log again once for a name it does not know yet."""
        knows = getattr(self.directory, "knows", None)
        if look_again and knows is not None:
            return bool(knows(tenant_id, unit_id=unit_id, user_id=user_id))
        tenant = self.directory.tenants.get(tenant_id)
        return (
            tenant is not None
            and (unit_id is None or unit_id in tenant.units)
            and (user_id is None or user_id in tenant.staff)
        )

    def principal(self, claims: dict[str, Any], issuer: TrustedIssuer, *, look_again: bool = True) -> Principal:
        """Every issuer's claims, the demo issuer's included, are read through its mapping.
        ``look_again``: whether an unknown name may make the directory be read again (not on
        the event loop, where a remembered token is checked)."""
        mapping = issuer.claims
        tenant_id = mapping.tenant if mapping.tenant is not None else _get(claims, mapping.tenant_claim)
        if not isinstance(tenant_id, str) or not self._known(tenant_id, look_again=look_again):
            raise NotAuthenticatedError("the token names no cooperation area this hub serves")
        kind = self._kind(claims, mapping)
        subject = claim(claims, mapping.subject_claim)
        if subject is _MISSING or subject is None or subject == "":
            raise NotAuthenticatedError(f"the token lacks the {mapping.subject_claim} claim")
        if kind in ("guardian", "child"):
            if issuer.kind == "staff":
                raise NotAuthenticatedError("this issuer may not sign in families")
            try:
                number = parse_identity_number(str(subject), field=mapping.subject_claim)
            except Exception:
                raise NotAuthenticatedError("the token's subject is not an identity number") from None
            if kind == "guardian":
                party = self.blind_index.guardian_id(tenant_id, number)
                return Principal(ViewerKind.GUARDIAN, tenant_id, party, frozenset({Role.GUARDIAN}), party_id=party)
            child = str(self.blind_index.child_id(tenant_id, number))
            return Principal(ViewerKind.CHILD, tenant_id, child, frozenset({Role.CHILD}), party_id=child)
        if kind != "staff" or issuer.kind == "family":
            raise NotAuthenticatedError("the token's kind is not accepted from this issuer")
        user_id = str(subject)
        tenant = self.directory.tenants[tenant_id]
        if user_id in getattr(tenant, "former_staff", {}) and user_id not in tenant.staff:
            raise NotAuthenticatedError("the staff member was removed from the cooperation area's directory")
        if mapping.roles_from == "directory":
            if not self._known(tenant_id, user_id=user_id, look_again=look_again):
                raise NotAuthenticatedError("the staff member is not in the cooperation area's directory")
            tenant = self.directory.tenants[tenant_id]
            roles = self.directory.roles_on(tenant_id, user_id, self.clock().astimezone(SWEDISH_TIME).date())
            unit_id = tenant.staff[user_id].unit_id
        else:
            roles = self._roles(claims, mapping)
            unit_id = _get(claims, mapping.unit_claim)
            if unit_id is not None and (
                not isinstance(unit_id, str) or not self._known(tenant_id, unit_id=unit_id, look_again=look_again)
            ):
                raise NotAuthenticatedError("the token names a unit this cooperation area does not have")
        if roles & {Role.GUARDIAN, Role.CHILD} or not roles:
            raise NotAuthenticatedError("a staff token needs staff roles")
        viewer_kind = ViewerKind.AUDITOR if Role.AUDITOR in roles else ViewerKind.STAFF
        return Principal(viewer_kind, tenant_id, user_id, roles, unit_id=unit_id)

    @staticmethod
    def _kind(claims: dict[str, Any], mapping: ClaimMapping) -> Any:
        if mapping.kind is not None:
            return mapping.kind
        value = _get(claims, mapping.kind_claim)
        if value is None:
            return "staff"
        if mapping.kind_map is not None:
            return mapping.kind_map.get(value) if isinstance(value, str) else None
        return value

    @staticmethod
    def _roles(claims: dict[str, Any], mapping: ClaimMapping) -> frozenset[Role]:
        raw = _get(claims, mapping.roles_claim)
        values = [] if raw is None else raw.split() if isinstance(raw, str) else raw
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise NotAuthenticatedError("the token's roles claim is malformed")
        if mapping.role_map is not None:
            return frozenset(mapping.role_map[v] for v in values if v in mapping.role_map)
        try:
            return frozenset(Role(r) for r in values)
        except ValueError:
            raise NotAuthenticatedError("the token names an unknown role") from None


def _seconds(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 2) as seconds; refuses what is not a finite number."""
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value) if abs(value) < 2**53 else math.copysign(math.inf, value)  # far beyond any bound
    raise NotAuthenticatedError("the token's time claims are malformed")


def _get(claims: Mapping[str, Any], name: str | None) -> Any:
    if name is None:
        return None
    value = claim(claims, name)
    return None if value is _MISSING else value


@dataclass
class DemoIssuer:
    """Signs tokens for demo users. Built only when the hub runs in demo mode."""

    key: Ed25519PrivateKey
    audience: str
    clock: Clock
    lifetime: timedelta = timedelta(hours=8)
    issuer: str = DEMO_ISSUER
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_folder(cls, folder: Path, audience: str, clock: Clock) -> DemoIssuer:
        path = folder / "demo-issuer.pem"
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("the demo issuer key is not an Ed25519 key")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            path.chmod(0o600)
        return cls(key, audience, clock)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.key.public_key()

    def trusted(self) -> TrustedIssuer:
        return TrustedIssuer(self.issuer, self.audience, (self.public_key,), ("EdDSA",), "any")

    def sign(self, claims: dict[str, Any], lifetime: timedelta | None = None) -> str:
        now = self.clock()
        body = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + (lifetime or self.lifetime)).timestamp()),
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="EdDSA")

    def staff_token(self, tenant_id: str, user_id: str, unit_id: str | None, roles: list[str], **kw: Any) -> str:
        return self.sign({"sub": user_id, "tenant": tenant_id, "unit": unit_id, "roles": roles, "kind": "staff"}, **kw)

    def family_token(self, tenant_id: str, kind: Literal["guardian", "child"], personnummer: str, **kw: Any) -> str:
        return self.sign({"sub": personnummer, "tenant": tenant_id, "kind": kind}, **kw)
