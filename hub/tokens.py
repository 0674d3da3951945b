"""Bearer tokens: verify them against trusted issuers; issue them only in demo mode.

Checks, each refusing with a reason that names the claim and never echoes its value:
the algorithm is on the issuer's allow-list (RFC 8725 3.1, so ``none`` and HMAC
confusion are refused), the signature verifies with a key the issuer published
(RFC 7515 5.2), ``iss`` and ``aud`` match (RFC 7519 4.1.1, 4.1.3), ``exp`` and
``nbf`` hold against the hub's clock (RFC 7519 4.1.4, 4.1.5), and tenant, unit and
roles name things the directory knows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.vocabulary import Role
from consent import ViewerKind

from hub.clock import Clock
from hub.directory import Directory
from hub.errors import NotAuthenticatedError
from hub.identity import BlindIndex, parse_identity_number
from hub.principals import Principal

DEMO_ISSUER = "https://demo.backa.invalid/issuer"
LEEWAY = timedelta(seconds=30)


@dataclass(frozen=True)
class TrustedIssuer:
    issuer: str
    audience: str
    keys: tuple[Any, ...]
    algorithms: tuple[str, ...] = ("EdDSA",)
    kind: Literal["staff", "family", "any"] = "any"


@dataclass
class TokenVerifier:
    issuers: list[TrustedIssuer]
    directory: Directory
    blind_index: BlindIndex
    clock: Clock

    def verify(self, token: str) -> Principal:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise NotAuthenticatedError("the bearer token is not a well-formed JWT") from None
        issuer = next((i for i in self.issuers if i.issuer == unverified.get("iss")), None)
        if issuer is None:
            raise NotAuthenticatedError("the token's issuer is not trusted")
        if header.get("alg") not in issuer.algorithms:
            raise NotAuthenticatedError("the token's signing algorithm is not allowed")
        claims = self._verified_claims(token, issuer)
        self._check_times(claims)
        return self._principal(claims, issuer)

    def _verified_claims(self, token: str, issuer: TrustedIssuer) -> dict[str, Any]:
        for key in issuer.keys:
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=list(issuer.algorithms),
                    audience=issuer.audience,
                    issuer=issuer.issuer,
                    options={
                        "require": ["exp", "iss", "aud", "sub"],
                        "verify_exp": False,
                        "verify_nbf": False,
                        "verify_iat": False,
                    },
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.InvalidAudienceError:
                raise NotAuthenticatedError("the token is for another audience") from None
            except jwt.MissingRequiredClaimError as e:
                raise NotAuthenticatedError(f"the token lacks the {e.claim} claim") from None
            except jwt.PyJWTError:
                raise NotAuthenticatedError("the token could not be verified") from None
        raise NotAuthenticatedError("the token's signature does not verify with the issuer's keys")

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self.clock()
        try:
            exp = datetime.fromtimestamp(float(claims["exp"]), now.tzinfo)
            nbf = datetime.fromtimestamp(float(claims["nbf"]), now.tzinfo) if "nbf" in claims else None
        except (TypeError, ValueError, OverflowError):
            raise NotAuthenticatedError("the token's time claims are malformed") from None
        if now >= exp + LEEWAY:
            raise NotAuthenticatedError("the token has expired")
        if nbf is not None and now + LEEWAY < nbf:
            raise NotAuthenticatedError("the token is not valid yet")

    def _principal(self, claims: dict[str, Any], issuer: TrustedIssuer) -> Principal:
        tenant_id = claims.get("tenant")
        if not isinstance(tenant_id, str) or tenant_id not in self.directory.tenants:
            raise NotAuthenticatedError("the token names no cooperation area this hub serves")
        kind = claims.get("kind", "staff")
        if kind in ("guardian", "child"):
            if issuer.kind == "staff":
                raise NotAuthenticatedError("this issuer may not sign in families")
            try:
                number = parse_identity_number(str(claims["sub"]), field="sub")
            except Exception:
                raise NotAuthenticatedError("the token's subject is not an identity number") from None
            if kind == "guardian":
                party = self.blind_index.guardian_id(tenant_id, number)
                return Principal(ViewerKind.GUARDIAN, tenant_id, party, frozenset({Role.GUARDIAN}), party_id=party)
            child = str(self.blind_index.child_id(tenant_id, number))
            return Principal(ViewerKind.CHILD, tenant_id, child, frozenset({Role.CHILD}), party_id=child)
        if kind != "staff" or issuer.kind == "family":
            raise NotAuthenticatedError("the token's kind is not accepted from this issuer")
        try:
            roles = frozenset(Role(r) for r in claims.get("roles", []))
        except ValueError:
            raise NotAuthenticatedError("the token names an unknown role") from None
        if roles & {Role.GUARDIAN, Role.CHILD} or not roles:
            raise NotAuthenticatedError("a staff token needs staff roles")
        unit_id = claims.get("unit")
        tenant = self.directory.tenants[tenant_id]
        if unit_id is not None and unit_id not in tenant.units:
            raise NotAuthenticatedError("the token names a unit this cooperation area does not have")
        viewer_kind = ViewerKind.AUDITOR if Role.AUDITOR in roles else ViewerKind.STAFF
        return Principal(viewer_kind, tenant_id, str(claims["sub"]), roles, unit_id=unit_id)


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
