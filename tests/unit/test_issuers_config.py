"""The trusted-issuers file: what it maps, and every mistake refused at start with the field named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from contracts.vocabulary import Role
from hub.identity.issuers import DEFAULT_ALGORITHMS, IssuerConfigError, load_issuers, parse_issuers
from hub.identity.tokens import DEMO_ISSUER
from hub.runtime.clock import SettableClock
from tests.factories import START

STAFF_ISSUER = {
    "issuer": "https://login.ystad.se/realms/staff",
    "audience": "backa-hub",
    "kind": "staff",
    "jwks_uri": "https://login.ystad.se/realms/staff/certs",
    "claims": {"tenant": "ystad", "roles_claim": "groups", "role_map": {"backa-kontakt": "barnkontakt"}},
}
FAMILY_ISSUER = {
    "issuer": "https://eid.example.se",
    "audience": "backa-hub",
    "kind": "family",
    "jwks_uri": "http://127.0.0.1:8443/jwks",
    "claims": {"tenant_claim": "kommun", "subject_claim": "personal_number", "kind_claim": "acting_as", "kind_map": {"vh": "guardian", "barn": "child"}},
}


def parse(*entries: dict[str, Any], base: Path = Path(".")) -> list[Any]:
    return parse_issuers({"issuer": list(entries)}, SettableClock(START), base=base)


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    entry = {k: v for k, v in base.items() if k not in changes}
    entry.update({k: v for k, v in changes.items() if v is not None})
    return entry


def with_claims(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    claims = {k: v for k, v in base["claims"].items() if k not in changes}
    claims.update({k: v for k, v in changes.items() if v is not None})
    return {**base, "claims": claims}


def test_a_staff_issuer_and_a_family_issuer_are_read_with_their_mappings() -> None:
    staff, family = parse(STAFF_ISSUER, FAMILY_ISSUER)
    assert (staff.issuer, staff.audience, staff.kind, staff.algorithms) == (STAFF_ISSUER["issuer"], "backa-hub", "staff", DEFAULT_ALGORITHMS)
    assert staff.jwks is not None and staff.jwks.uri == STAFF_ISSUER["jwks_uri"]
    assert (staff.claims.tenant, staff.claims.tenant_claim, staff.claims.kind) == ("ystad", None, "staff")
    assert staff.claims.role_map == {"backa-kontakt": Role.BARNKONTAKT}
    assert staff.claims.roles_claim == "groups"
    assert (family.claims.tenant_claim, family.claims.subject_claim, family.claims.kind_claim) == ("kommun", "personal_number", "acting_as")
    assert family.claims.kind_map == {"vh": "guardian", "barn": "child"}


def test_a_jwks_file_is_read_relative_to_the_issuers_file(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    jwks = {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key)), "kid": "r1"}, {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key)), "kid": "e1"}]}
    (tmp_path / "keys.json").write_text(json.dumps(jwks))
    (tmp_path / "issuers.toml").write_text(
        '[[issuer]]\nissuer = "https://eid.example.se"\naudience = "backa-hub"\nkind = "family"\njwks_file = "keys.json"\n'
        'algorithms = ["ES256"]\n[issuer.claims]\ntenant = "ystad"\nkind = "guardian"\n'
    )
    (issuer,) = load_issuers(tmp_path / "issuers.toml", SettableClock(START))
    assert issuer.jwks is None and issuer.algorithms == ("ES256",)
    assert [k.key_id for k in issuer.keys_for("e1")] == ["e1"]
    assert issuer.keys_for("unknown") == []


BAD = {
    "no issuer": (with_(STAFF_ISSUER, issuer=""), "issuer: must be a non-empty string"),
    "missing issuer": ({k: v for k, v in STAFF_ISSUER.items() if k != "issuer"}, "issuer: missing"),
    "missing audience": ({k: v for k, v in STAFF_ISSUER.items() if k != "audience"}, "audience: missing"),
    "demo issuer": (with_(STAFF_ISSUER, issuer=DEMO_ISSUER), "issuer: the demo issuer"),
    "kind": (with_(STAFF_ISSUER, kind="admin"), "kind: must be 'staff' or 'family'"),
    "alg none": (with_(STAFF_ISSUER, algorithms=["RS256", "none"]), "algorithms: 'none' is refused"),
    "alg HS256": (with_(STAFF_ISSUER, algorithms=["HS256"]), "algorithms: 'HS256' is refused"),
    "alg unknown": (with_(STAFF_ISSUER, algorithms=["RSA1_5"]), "algorithms: 'RSA1_5' is not an algorithm"),
    "algs empty": (with_(STAFF_ISSUER, algorithms=[]), "algorithms: must be a non-empty list"),
    "no key source": ({k: v for k, v in STAFF_ISSUER.items() if k != "jwks_uri"}, "jwks_uri: give exactly one"),
    "two key sources": (with_(STAFF_ISSUER, jwks_file="keys.json"), "jwks_uri: give exactly one"),
    "plain http": (with_(STAFF_ISSUER, jwks_uri="http://login.ystad.se/certs"), "jwks_uri: must be an https address"),
    "file uri": (with_(STAFF_ISSUER, jwks_uri="file:///etc/passwd"), "jwks_uri: must be an https address"),
    "missing jwks file": (with_(STAFF_ISSUER, jwks_uri=None, jwks_file="nowhere.json"), "jwks_file: cannot be read"),
    "refetch": (with_(STAFF_ISSUER, refetch_seconds=-1), "refetch_seconds: must be a number"),
    "unknown field": (with_(STAFF_ISSUER, jwks_url="https://x"), "jwks_url: unknown field"),
    "unknown claim field": (with_claims(STAFF_ISSUER, role="x"), "claims.role: unknown field"),
    "tenant twice": (with_claims(STAFF_ISSUER, tenant_claim="kommun"), "claims.tenant: give either"),
    "role map to guardian": (with_claims(STAFF_ISSUER, role_map={"vh": "guardian"}), "claims.role_map: maps 'vh'"),
    "role map to nothing": (with_claims(STAFF_ISSUER, role_map={"x": "boss"}), "claims.role_map: maps 'x'"),
    "staff issuer with family kind": (with_claims(STAFF_ISSUER, kind="guardian"), "claims.kind: a staff issuer"),
    "staff issuer with kind claim": (with_claims(STAFF_ISSUER, kind_claim="acting_as"), "claims.kind_claim: a staff issuer"),
    "family issuer without kind": (with_claims(FAMILY_ISSUER, kind_claim=None, kind_map=None), "claims.kind: a family issuer needs"),
    "family issuer staff kind": (with_claims(FAMILY_ISSUER, kind_claim=None, kind_map=None, kind="staff"), "claims.kind: must be 'guardian' or 'child'"),
    "kind map to staff": (with_claims(FAMILY_ISSUER, kind_map={"x": "staff"}), "claims.kind_map: maps only"),
    "empty claim name": (with_claims(STAFF_ISSUER, roles_claim=""), "claims.roles_claim: must be a non-empty string"),
    "claims not a table": (with_(STAFF_ISSUER, claims="tenant"), "claims: must be a table"),
}


@pytest.mark.parametrize("entry,message", list(BAD.values()), ids=list(BAD))
def test_a_bad_issuer_is_refused_naming_the_field(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(IssuerConfigError) as e:
        parse(entry)
    assert message in str(e.value)
    if entry.get("issuer"):
        assert f"({entry['issuer']})" in str(e.value), "the message names the issuer"


def test_an_issuer_listed_twice_is_refused() -> None:
    with pytest.raises(IssuerConfigError, match=r"issuer 2 \(https://login.ystad.se/realms/staff\): issuer: listed twice"):
        parse(STAFF_ISSUER, STAFF_ISSUER)


@pytest.mark.parametrize("jwks", [{"keys": []}, {"nokeys": 1}, ["not", "a", "set"]], ids=["empty", "no keys", "a list"])
def test_a_jwks_file_without_usable_keys_is_refused(tmp_path: Path, jwks: Any) -> None:
    (tmp_path / "keys.json").write_text(json.dumps(jwks))
    with pytest.raises(IssuerConfigError, match="jwks_file: "):
        parse(with_(STAFF_ISSUER, jwks_uri=None, jwks_file="keys.json"), base=tmp_path)


def test_a_jwks_file_holding_a_private_key_is_refused(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "keys.json").write_text(json.dumps({"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private)), "kid": "r1"}]}))
    with pytest.raises(IssuerConfigError, match="jwks_file: holds a private key"):
        parse(with_(STAFF_ISSUER, jwks_uri=None, jwks_file="keys.json"), base=tmp_path)


@pytest.mark.parametrize("text,message", [("[[issuer]\n", "is not valid TOML"), ("issuers = []\n", "unknown top-level field 'issuers'")])
def test_a_malformed_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "issuers.toml").write_text(text)
    with pytest.raises(IssuerConfigError, match=message):
        load_issuers(tmp_path / "issuers.toml", SettableClock(START))


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IssuerConfigError, match="cannot be read"):
        load_issuers(tmp_path / "issuers.toml", SettableClock(START))
