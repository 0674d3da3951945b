"""The token issuers the hub trusts outside demo mode, read from a TOML file.

Staff sign in through their organisation's OpenID Connect provider, families through
an e-ID issuer. Each issuer is one ``[[issuer]]`` table; the README shows the format.
The file is security configuration, so every mistake is refused when the hub starts,
with a message that names the issuer and the field: an unknown field (a typo would
otherwise silently widen or narrow trust), a symmetric or ``none`` algorithm (RFC 8725
3.1), a key address that is not https (plain http only on the loopback interface),
a role that the hub does not know.

An issuer the pages sign in through (OpenID Connect, see :mod:`hub.identity.oidc`) also
names the hub's client there: ``client_id``, a ``slug`` for its sign-in address, and the
client secret from a file (``client_secret_file``) or an environment variable
(``client_secret_env``), never from the issuers file itself, which is kept with the
deployment's configuration and may be read by more people than the secret should.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt

from contracts.vocabulary import Role

from hub.runtime.clock import Clock
from hub.identity.oidc_client import OidcClient
from hub.identity.tokens import DEMO_ISSUER, ClaimMapping, JwksKeys, TrustedIssuer

DEFAULT_ALGORITHMS = ("RS256", "ES256", "EdDSA")
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K", "EdDSA"}
)
CLIENT_FIELDS = frozenset(
    {"client_id", "client_secret_file", "client_secret_env", "slug", "display_name", "redirect_uri", "post_logout_redirect_uri", "scopes"}
)
ISSUER_FIELDS = frozenset({"issuer", "audience", "kind", "algorithms", "jwks_uri", "jwks_file", "refetch_seconds", "claims"}) | CLIENT_FIELDS
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
CALLBACK_PATH = "/sign-in/callback"
CLAIM_FIELDS = frozenset(
    {"tenant", "tenant_claim", "unit_claim", "roles_claim", "role_map", "subject_claim", "kind", "kind_claim", "kind_map"}
)
FAMILY_KINDS = ("guardian", "child")


class IssuerConfigError(ValueError):
    """The issuers file cannot be trusted as written."""


def load_issuers(path: Path, clock: Clock, *, forbidden_folder: Path | None = None) -> list[TrustedIssuer]:
    """``forbidden_folder``: where no trusted key may come from (the demo folder, outside demo mode)."""
    if forbidden_folder is not None and path.resolve().is_relative_to(forbidden_folder):
        raise IssuerConfigError(f"the issuers file {path} lies in {forbidden_folder}, where no trusted key may come from")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise IssuerConfigError(f"the issuers file {path} cannot be read: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise IssuerConfigError(f"the issuers file {path} is not valid TOML: {e}") from None
    return parse_issuers(document, clock, base=path.parent, source=str(path), forbidden_folder=forbidden_folder)


def parse_issuers(
    document: Mapping[str, Any],
    clock: Clock,
    *,
    base: Path,
    source: str = "the issuers file",
    forbidden_folder: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[TrustedIssuer]:
    """``environ``: where ``client_secret_env`` is looked up (the process's environment)."""
    unknown = set(document) - {"issuer"}
    if unknown:
        raise IssuerConfigError(f"{source}: unknown top-level field {sorted(unknown)[0]!r}; issuers are [[issuer]] tables")
    entries = document.get("issuer", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise IssuerConfigError(f"{source}: issuer: each issuer must be an [[issuer]] table")
    issuers: list[TrustedIssuer] = []
    for n, entry in enumerate(entries, start=1):
        issuer = _Entry(entry, n, source, clock, base, forbidden_folder, os.environ if environ is None else environ).build()
        if any(i.issuer == issuer.issuer for i in issuers):
            raise IssuerConfigError(f"{source}: issuer {n} ({issuer.issuer}): issuer: listed twice")
        if issuer.oidc is not None and any(i.oidc is not None and i.oidc.slug == issuer.oidc.slug for i in issuers):
            raise IssuerConfigError(f"{source}: issuer {n} ({issuer.issuer}): slug: {issuer.oidc.slug!r} is used by another issuer")
        issuers.append(issuer)
    return issuers


class _Entry:
    def __init__(
        self, entry: dict[str, Any], n: int, source: str, clock: Clock, base: Path, forbidden: Path | None, environ: Mapping[str, str]
    ) -> None:
        self.entry = entry
        self.environ = environ
        self.forbidden = forbidden
        self.clock = clock
        self.base = base
        name = entry.get("issuer")
        self.where = f"{source}: issuer {n}" + (f" ({name})" if isinstance(name, str) and name else "")

    def fail(self, field: str, problem: str) -> IssuerConfigError:
        return IssuerConfigError(f"{self.where}: {field}: {problem}")

    def text(self, table: Mapping[str, Any], field: str, label: str, *, required: bool = False) -> str | None:
        value = table.get(field)
        if value is None:
            if required:
                raise self.fail(label, "missing")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(label, "must be a non-empty string")
        return value

    def build(self) -> TrustedIssuer:
        entry = self.entry
        if "client_secret" in entry:
            raise self.fail("client_secret", "is never written in the issuers file; give client_secret_file or client_secret_env")
        unknown = set(entry) - ISSUER_FIELDS
        if unknown:
            raise self.fail(sorted(unknown)[0], f"unknown field; known: {', '.join(sorted(ISSUER_FIELDS))}")
        issuer = self.text(entry, "issuer", "issuer", required=True) or ""
        if issuer == DEMO_ISSUER:
            raise self.fail("issuer", "the demo issuer is never configured; it is trusted only in demo mode")
        client = self.client(issuer)
        audience = self.text(entry, "audience", "audience", required=client is None) or (client.client_id if client else "")
        kind = entry.get("kind")
        if kind not in ("staff", "family"):
            raise self.fail("kind", "must be 'staff' or 'family'")
        algorithms = self.algorithms()
        jwks, keys = self.key_source(issuer)
        return TrustedIssuer(issuer, audience, keys, algorithms, kind, self.claims(kind), jwks, client)

    def client(self, issuer: str) -> OidcClient | None:
        """The hub's registration at this issuer, for signing in on the pages; None without ``client_id``."""
        entry = self.entry
        client_id = self.text(entry, "client_id", "client_id")
        if client_id is None:
            given = sorted(set(entry) & (CLIENT_FIELDS - {"client_id"}))
            if given:
                raise self.fail(given[0], "goes with client_id: only an issuer the pages sign in through has a client")
            return None
        _check_address(issuer, "issuer", self.fail)
        slug = self.text(entry, "slug", "slug", required=True) or ""
        if not SLUG.fullmatch(slug):
            raise self.fail("slug", "must be 1-40 lower-case letters, digits and hyphens, starting with a letter or digit")
        redirect = self.text(entry, "redirect_uri", "redirect_uri")
        if redirect is not None:
            _check_address(redirect, "redirect_uri", self.fail)
            if urlsplit(redirect).path != CALLBACK_PATH:
                raise self.fail("redirect_uri", f"must end in {CALLBACK_PATH}, where the hub takes the answer")
        after = self.text(entry, "post_logout_redirect_uri", "post_logout_redirect_uri")
        if after is not None:
            _check_address(after, "post_logout_redirect_uri", self.fail)
        scopes = entry.get("scopes", ["openid"])
        if not isinstance(scopes, list) or not all(isinstance(x, str) and x and " " not in x for x in scopes):
            raise self.fail("scopes", "must be a list of scope names without spaces")
        if "openid" not in scopes:
            raise self.fail("scopes", "must include 'openid': the hub signs in with the ID token")
        return OidcClient(
            slug=slug,
            display_name=self.text(entry, "display_name", "display_name") or urlsplit(issuer).hostname or slug,
            client_id=client_id,
            client_secret=self.secret(),
            redirect_uri=redirect,
            post_logout_redirect_uri=after,
            scopes=tuple(dict.fromkeys(scopes)),
        )

    def secret(self) -> str:
        file = self.text(self.entry, "client_secret_file", "client_secret_file")
        env = self.text(self.entry, "client_secret_env", "client_secret_env")
        if (file is None) == (env is None):
            raise self.fail("client_secret_file", "give exactly one of client_secret_file and client_secret_env")
        if env is not None:
            value = self.environ.get(env, "").strip()
            if not value:
                raise self.fail("client_secret_env", f"the environment variable {env} is not set or empty")
            return value
        path = Path(file or "")
        path = path if path.is_absolute() else self.base / path
        if self.forbidden is not None and path.resolve().is_relative_to(self.forbidden):
            raise self.fail("client_secret_file", f"lies in {self.forbidden}, where no secret of a real issuer may be kept")
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise self.fail("client_secret_file", f"cannot be read: {e.strerror}") from None
        except UnicodeDecodeError:
            raise self.fail("client_secret_file", "is not text") from None
        if not value:
            raise self.fail("client_secret_file", "is empty")
        return value

    def algorithms(self) -> tuple[str, ...]:
        value = self.entry.get("algorithms", list(DEFAULT_ALGORITHMS))
        if not isinstance(value, list) or not value or not all(isinstance(a, str) for a in value):
            raise self.fail("algorithms", "must be a non-empty list of algorithm names")
        for name in value:
            if name.lower() == "none":
                raise self.fail("algorithms", "'none' is refused: every token must be signed")
            if name.upper().startswith("HS"):
                raise self.fail("algorithms", f"{name!r} is refused: a shared-secret algorithm lets anyone who verifies also sign")
            if name not in ASYMMETRIC_ALGORITHMS:
                raise self.fail("algorithms", f"{name!r} is not an algorithm the hub knows; known: {', '.join(sorted(ASYMMETRIC_ALGORITHMS))}")
        return tuple(dict.fromkeys(value))

    def key_source(self, issuer: str) -> tuple[JwksKeys | None, tuple[Any, ...]]:
        uri = self.text(self.entry, "jwks_uri", "jwks_uri")
        file = self.text(self.entry, "jwks_file", "jwks_file")
        if (uri is None) == (file is None):
            raise self.fail("jwks_uri", "give exactly one of jwks_uri and jwks_file")
        refetch = self.entry.get("refetch_seconds", 60)
        if isinstance(refetch, bool) or not isinstance(refetch, int | float) or not 0 <= refetch <= 86400:
            raise self.fail("refetch_seconds", "must be a number of seconds from 0 to 86400")
        if uri is not None:
            _check_jwks_uri(uri, self.fail)
            return JwksKeys(uri, issuer, self.clock, refetch=timedelta(seconds=refetch)), ()
        path = Path(file or "")
        path = path if path.is_absolute() else self.base / path
        if self.forbidden is not None and path.resolve().is_relative_to(self.forbidden):
            raise self.fail("jwks_file", f"lies in {self.forbidden}, where no trusted key may come from")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise self.fail("jwks_file", f"cannot be read: {e.strerror}") from None
        except (ValueError, UnicodeDecodeError):
            raise self.fail("jwks_file", "is not JSON") from None
        try:
            key_set = jwt.PyJWKSet.from_dict(data)
        except (jwt.PyJWTError, AttributeError, TypeError, KeyError):
            raise self.fail("jwks_file", "is not a JSON Web Key Set with usable public keys") from None
        keys = tuple(k for k in key_set.keys if k.public_key_use in ("sig", None))
        if not keys:
            raise self.fail("jwks_file", "holds no signing keys")
        if any(_is_private(k) for k in keys):
            raise self.fail("jwks_file", "holds a private key; the hub needs only the issuer's public keys")
        return None, keys

    def claims(self, kind: str) -> ClaimMapping:
        table = self.entry.get("claims", {})
        if not isinstance(table, dict):
            raise self.fail("claims", "must be a table")
        unknown = set(table) - CLAIM_FIELDS
        if unknown:
            raise self.fail(f"claims.{sorted(unknown)[0]}", f"unknown field; known: {', '.join(sorted(CLAIM_FIELDS))}")
        names = {f: self.text(table, f, f"claims.{f}") for f in ("tenant", "tenant_claim", "unit_claim", "roles_claim", "subject_claim", "kind", "kind_claim")}
        if names["tenant"] is not None and names["tenant_claim"] is not None:
            raise self.fail("claims.tenant", "give either a fixed tenant or tenant_claim, not both")
        tenant_claim = None if names["tenant"] is not None else names["tenant_claim"] or "tenant"
        fixed_kind, kind_claim, kind_map = self.kinds(kind, names["kind"], names["kind_claim"], table.get("kind_map"))
        return ClaimMapping(
            tenant_claim=tenant_claim,
            tenant=names["tenant"],
            unit_claim=names["unit_claim"] or "unit",
            roles_claim=names["roles_claim"] or "roles",
            role_map=self.role_map(table.get("role_map")),
            subject_claim=names["subject_claim"] or "sub",
            kind_claim=kind_claim,
            kind=fixed_kind,  # type: ignore[arg-type]
            kind_map=kind_map,
            roles_from="claims" if names["roles_claim"] is not None or table.get("role_map") is not None else "directory",
        )

    def kinds(self, kind: str, fixed: str | None, claim: str | None, kind_map: Any) -> tuple[str | None, str | None, dict[str, str] | None]:
        if kind == "staff":
            for field, value in (("kind", fixed), ("kind_claim", claim), ("kind_map", kind_map)):
                if value is not None and not (field == "kind" and value == "staff"):
                    raise self.fail(f"claims.{field}", "a staff issuer signs in staff only")
            return "staff", None, None
        if (fixed is None) == (claim is None):
            raise self.fail("claims.kind", "a family issuer needs either a fixed kind ('guardian' or 'child') or kind_claim")
        if fixed is not None:
            if fixed not in FAMILY_KINDS:
                raise self.fail("claims.kind", "must be 'guardian' or 'child'")
            if kind_map is not None:
                raise self.fail("claims.kind_map", "goes with kind_claim, not a fixed kind")
            return fixed, None, None
        if kind_map is None:
            return None, claim, None
        if not isinstance(kind_map, dict) or not kind_map or not all(isinstance(k, str) for k in kind_map):
            raise self.fail("claims.kind_map", "must be a table from the issuer's values to 'guardian' or 'child'")
        if any(v not in FAMILY_KINDS for v in kind_map.values()):
            raise self.fail("claims.kind_map", "maps only to 'guardian' or 'child'")
        return None, claim, dict(kind_map)

    def role_map(self, value: Any) -> dict[str, Role] | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not value:
            raise self.fail("claims.role_map", "must be a table from the issuer's role values to hub roles")
        known = sorted(r.value for r in Role if r not in (Role.GUARDIAN, Role.CHILD))
        mapped: dict[str, Role] = {}
        for theirs, ours in value.items():
            if not isinstance(ours, str) or ours not in known:
                raise self.fail("claims.role_map", f"maps {theirs!r} to something that is not a staff role; known: {', '.join(known)}")
            mapped[theirs] = Role(ours)
        return mapped


def _check_jwks_uri(uri: str, fail: Any) -> None:
    _check_address(uri, "jwks_uri", fail)


def _check_address(uri: str, field: str, fail: Any) -> None:
    if is_safe_address(uri):
        return
    raise fail(field, "must be an https address (plain http only on the loopback interface)")


def is_safe_address(uri: str) -> bool:
    """https, or plain http on the loopback interface only (a provider run beside the hub)."""
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and bool(parts.hostname) and _loopback(parts.hostname or "")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_private(key: jwt.PyJWK) -> bool:
    return hasattr(key.key, "private_bytes")
