"""Signing in through real issuers: staff through OpenID Connect, families through e-ID.

The issuers publish their keys as JWKS from a local HTTP server; the hub is configured
from an issuers file and asked through its HTTP API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from litestar.testing import TestClient

from hub.http import create_app
from hub.identity.issuers import IssuerConfigError
from hub.identity.tokens import DEMO_ISSUER, DemoIssuer, TrustedIssuer
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, directory, registration_payload

API = "/api/v1"
STAFF_ISS = "https://login.ystad.se/realms/staff"
EID_ISS = "https://eid.example.se"
DOWN_ISS = "https://down.example.se"
AUDIENCE = "backa-hub"


@dataclass
class Keys:
    rsa1: rsa.RSAPrivateKey
    rsa2: rsa.RSAPrivateKey
    ec1: ec.EllipticCurvePrivateKey
    ec2: ec.EllipticCurvePrivateKey
    never: rsa.RSAPrivateKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    def rsa_key() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(rsa_key(), rsa_key(), ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1()), rsa_key())


def jwk(key: Any, kid: str) -> dict[str, Any]:
    public = key.public_key()
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else jwt.algorithms.ECAlgorithm
    return {**json.loads(algorithm.to_jwk(public)), "kid": kid, "use": "sig"}


@dataclass
class JwksServer:
    """Serves each path's key set; what it publishes can change while the hub runs."""

    published: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fetches: list[str] = field(default_factory=list)
    port: int = 0
    delay: float = 0.0
    """Seconds each answer takes: a slow provider."""

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            state.fetches.append(self.path)
            time.sleep(state.delay)
            if self.path not in state.published:
                self.send_error(404)
                return
            body = json.dumps({"keys": state.published[self.path]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ISSUERS_TOML = """
[[issuer]]
issuer = "{staff_iss}"
audience = "{aud}"
kind = "staff"
algorithms = ["RS256", "ES256"]
jwks_uri = "{staff_uri}"

[issuer.claims]
tenant = "ystad"
unit_claim = "unit"
roles_claim = "realm_access.roles"
subject_claim = "preferred_username"

[issuer.claims.role_map]
backa-barnkontakt = "barnkontakt"
backa-team = "team_member"

[[issuer]]
issuer = "{eid_iss}"
audience = "{aud}"
kind = "family"
algorithms = ["ES256"]
jwks_uri = "{eid_uri}"

[issuer.claims]
tenant_claim = "kommun"
subject_claim = "personal_number"
kind_claim = "acting_as"
kind_map = {{ vh = "guardian", barn = "child" }}

[[issuer]]
issuer = "{down_iss}"
audience = "{aud}"
kind = "staff"
jwks_uri = "{down_uri}"
"""


@pytest.fixture
def issuers_file(tmp_path: Path, jwks_server: JwksServer, keys: Keys) -> Path:
    jwks_server.published["/staff"] = [jwk(keys.rsa1, "rsa-1")]
    jwks_server.published["/eid"] = [jwk(keys.ec1, "ec-1")]
    path = tmp_path / "issuers.toml"
    path.write_text(
        ISSUERS_TOML.format(
            staff_iss=STAFF_ISS,
            eid_iss=EID_ISS,
            down_iss=DOWN_ISS,
            aud=AUDIENCE,
            staff_uri=jwks_server.url("/staff"),
            eid_uri=jwks_server.url("/eid"),
            down_uri=f"http://127.0.0.1:{closed_port()}/jwks",
        )
    )
    return path


@pytest.fixture
def runtime(issuers_file: Path, tmp_path: Path, clock: SettableClock) -> Iterator[Runtime]:
    rt = bootstrap(Settings(store="memory", data_dir=tmp_path / "data", issuers_file=issuers_file), clock=clock, directory=directory())
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(runtime)) as c:
        yield c


def sign(clock: SettableClock, key: Any, kid: str | None, alg: str, claims: dict[str, Any]) -> str:
    now = int(clock().timestamp())
    body = {"aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 600, **claims}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid} if kid else None)


def staff_claims(**over: Any) -> dict[str, Any]:
    return {
        "iss": STAFF_ISS,
        "sub": "5f0c6c1e-5b7e-4a43-9d55-7b9a3f3f7a10",
        "preferred_username": "rektor.ostra",
        "unit": "skola-ostra",
        "realm_access": {"roles": ["backa-barnkontakt", "backa-team", "offline_access"]},
        **over,
    }


def family_claims(personnummer: str, acting_as: str = "vh") -> dict[str, Any]:
    return {"iss": EID_ISS, "sub": "eid-session-4711", "personal_number": personnummer, "kommun": "ystad", "acting_as": acting_as}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], sign_with: bytes | None) -> str:
    """A token PyJWT would refuse to make: ``alg: none``, or HMAC keyed with a public key."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b"" if sign_with is None else hmac.new(sign_with, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def refused(client: TestClient[Any], token: str) -> str:
    response = client.get(f"{API}/case-list", headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["detail"])


def register(client: TestClient[Any], headers: dict[str, str]) -> UUID:
    response = client.post(
        f"{API}/children",
        json=registration_payload(second_guardian_has_custody=False),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["child_id"])


def test_staff_with_mapped_roles_register_and_read_a_child_and_a_guardian_signs_in_with_e_id(
    client: TestClient[Any], runtime: Runtime, clock: SettableClock, keys: Keys
) -> None:
    staff = bearer(sign(clock, keys.rsa1, "rsa-1", "RS256", staff_claims()))
    child_id = register(client, staff)
    assert client.get(f"{API}/children/{child_id}", headers=staff).status_code == 200

    principal = runtime.verifier.verify(sign(clock, keys.rsa1, "rsa-1", "RS256", staff_claims()))
    assert (principal.user_id, principal.unit_id, {r.value for r in principal.roles}) == (
        "rektor.ostra",
        "skola-ostra",
        {"barnkontakt", "team_member"},
    ), "the issuer's groups map to hub roles and unmapped ones are ignored"

    guardian = bearer(sign(clock, keys.ec1, "ec-1", "ES256", family_claims(GUARDIAN_1_PNR)))
    mine = client.get(f"{API}/me/children", headers=guardian)
    assert mine.status_code == 200, mine.text
    assert mine.json() == [{"child_id": str(child_id)}]
    assert client.get(f"{API}/children/{child_id}", headers=guardian).status_code == 200


def test_a_family_token_maps_to_a_guardian_or_a_child_and_never_to_staff(
    client: TestClient[Any], runtime: Runtime, clock: SettableClock, keys: Keys
) -> None:
    as_guardian = runtime.verifier.verify(sign(clock, keys.ec1, "ec-1", "ES256", family_claims(GUARDIAN_1_PNR)))
    as_child = runtime.verifier.verify(sign(clock, keys.ec1, "ec-1", "ES256", family_claims(CHILD_PNR, "barn")))
    assert (as_guardian.kind.value, as_child.kind.value) == ("guardian", "child")
    assert GUARDIAN_1_PNR not in as_guardian.user_id and CHILD_PNR not in as_child.user_id
    assert "kind" in refused(client, sign(clock, keys.ec1, "ec-1", "ES256", family_claims(GUARDIAN_1_PNR, "admin")))
    not_a_number = {**family_claims(GUARDIAN_1_PNR), "personal_number": "19820314"}
    assert refused(client, sign(clock, keys.ec1, "ec-1", "ES256", not_a_number)) == "the token's subject is not an identity number"
    staff_by_eid = {**staff_claims(), "iss": EID_ISS}
    assert refused(client, sign(clock, keys.ec1, "ec-1", "ES256", staff_by_eid)) == "the token names no cooperation area this hub serves"


def test_a_staff_token_without_any_mapped_role_is_refused(client: TestClient[Any], clock: SettableClock, keys: Keys) -> None:
    claims = staff_claims(realm_access={"roles": ["offline_access"]})
    assert refused(client, sign(clock, keys.rsa1, "rsa-1", "RS256", claims)) == "a staff token needs staff roles"


def test_a_rotated_key_is_picked_up_and_refetching_is_rate_limited(
    client: TestClient[Any], jwks_server: JwksServer, clock: SettableClock, keys: Keys
) -> None:
    assert client.get(f"{API}/case-list", headers=bearer(sign(clock, keys.rsa1, "rsa-1", "RS256", staff_claims()))).status_code == 200
    assert jwks_server.fetches == ["/staff"]

    jwks_server.published["/staff"] = [jwk(keys.rsa1, "rsa-1"), jwk(keys.rsa2, "rsa-2")]
    rotated = sign(clock, keys.rsa2, "rsa-2", "RS256", staff_claims())
    assert client.get(f"{API}/case-list", headers=bearer(rotated)).status_code == 200
    assert jwks_server.fetches == ["/staff", "/staff"]

    jwks_server.published["/staff"].append(jwk(keys.ec2, "ec-2"))
    again = sign(clock, keys.ec2, "ec-2", "ES256", staff_claims())
    assert refused(client, again) == "the token's signature does not verify with the issuer's keys"
    assert refused(client, sign(clock, keys.never, "made-up", "RS256", staff_claims())) == (
        "the token's signature does not verify with the issuer's keys"
    )
    assert jwks_server.fetches == ["/staff", "/staff"], "within a minute of the last refetch, unknown kids fetch nothing"

    clock.advance(timedelta(seconds=61))
    again = sign(clock, keys.ec2, "ec-2", "ES256", staff_claims())
    assert client.get(f"{API}/case-list", headers=bearer(again)).status_code == 200
    assert jwks_server.fetches == ["/staff"] * 3

    without_kid = sign(clock, keys.ec2, None, "ES256", staff_claims())
    assert client.get(f"{API}/case-list", headers=bearer(without_kid)).status_code == 200, "without a kid each key is tried"
    assert jwks_server.fetches == ["/staff"] * 3


def test_a_slow_key_fetch_holds_up_no_other_request(client: TestClient[Any], jwks_server: JwksServer, clock: SettableClock, keys: Keys) -> None:
    """Keys are fetched off the event loop: while one token waits for its issuer's keys
    (a token with an unknown ``kid`` makes the hub fetch them), every other request is
    answered (a caller could otherwise stall the hub once a minute)."""
    jwks_server.delay = 1.5
    token = sign(clock, keys.rsa1, "rsa-1", "RS256", staff_claims())
    waiting = threading.Thread(target=lambda: client.get(f"{API}/case-list", headers=bearer(token)))
    waiting.start()
    try:
        deadline = time.monotonic() + 5
        while not jwks_server.fetches and time.monotonic() < deadline:
            time.sleep(0.01)
        assert jwks_server.fetches, "the hub did not fetch the keys"
        began = time.monotonic()
        assert client.get("/health").status_code == 200
        assert time.monotonic() - began < 0.75, "a request waited for another caller's key fetch"
    finally:
        waiting.join(timeout=10)


def test_each_bad_token_is_refused_with_401_naming_what_failed(
    client: TestClient[Any], runtime: Runtime, clock: SettableClock, keys: Keys
) -> None:
    public_pem = keys.rsa1.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    now = int(clock().timestamp())
    timed = {**staff_claims(), "aud": AUDIENCE, "iat": now, "exp": now + 600}
    cases = {
        "never published": (sign(clock, keys.never, "rsa-9", "RS256", staff_claims()), "the token's signature does not verify with the issuer's keys"),
        "published kid, other key": (sign(clock, keys.never, "rsa-1", "RS256", staff_claims()), "the token's signature does not verify with the issuer's keys"),
        "alg none": (hand_made({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, timed, None), "the token's signing algorithm is not allowed"),
        "HS256 keyed with the public key": (
            hand_made({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, timed, public_pem),
            "the token's signing algorithm is not allowed",
        ),
        "published kid, other algorithm": (sign(clock, keys.ec2, "rsa-1", "ES256", staff_claims()), "the token's signature does not verify with the issuer's keys"),
        "alg off the issuer's list": (sign(clock, keys.rsa1, "rsa-1", "RS512", staff_claims()), "the token's signing algorithm is not allowed"),
        "wrong audience": (sign(clock, keys.rsa1, "rsa-1", "RS256", staff_claims(aud="another-service")), "the token is for another audience"),
        "expired": (sign(clock, keys.rsa1, "rsa-1", "RS256", staff_claims(exp=now - 120)), "the token has expired"),
        "not yet valid": (sign(clock, keys.rsa1, "rsa-1", "RS256", staff_claims(nbf=now + 300)), "the token is not valid yet"),
        "unknown issuer": (sign(clock, keys.rsa1, "rsa-1", "RS256", staff_claims(iss="https://evil.example")), "the token's issuer is not trusted"),
        "unit unknown": (sign(clock, keys.rsa1, "rsa-1", "RS256", staff_claims(unit="skola-nowhere")), "the token names a unit this cooperation area does not have"),
    }
    details = {name: refused(client, token) for name, (token, _) in cases.items()}
    assert details == {name: detail for name, (_, detail) in cases.items()}


def test_an_unreachable_jwks_refuses_with_401_and_logs_no_token(
    client: TestClient[Any], clock: SettableClock, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    token = sign(clock, keys.rsa1, "rsa-1", "RS256", staff_claims(iss=DOWN_ISS))
    with caplog.at_level(logging.WARNING, logger="backa.tokens"):
        assert refused(client, token) == "the issuer's keys cannot be fetched"
    assert DOWN_ISS in caplog.text
    assert token not in caplog.text and token.split(".")[1] not in caplog.text
    assert "rektor.ostra" not in caplog.text
    assert refused(client, token) == "the issuer's keys cannot be fetched", "a second try is refused the same way"


def test_a_demo_token_is_refused_outside_demo_mode_even_with_the_demo_key_in_the_data_folder(
    tmp_path: Path, issuers_file: Path, clock: SettableClock
) -> None:
    data = tmp_path / "data"
    demo = DemoIssuer.from_folder(data / "demo", AUDIENCE, clock)
    assert (data / "demo" / "demo-issuer.pem").exists()
    token = demo.staff_token("ystad", "rektor.ostra", "skola-ostra", ["barnkontakt"])
    rt = bootstrap(Settings(store="memory", data_dir=data, issuers_file=issuers_file), clock=clock, directory=directory())
    try:
        assert rt.demo_issuer is None
        with TestClient(create_app(rt)) as c:
            assert refused(c, token) == "the token's issuer is not trusted"
    finally:
        rt.close()


def test_outside_demo_mode_the_hub_refuses_to_start_if_anything_would_trust_the_demo_issuer(
    tmp_path: Path, clock: SettableClock
) -> None:
    data = tmp_path / "data"
    demo = DemoIssuer.from_folder(data / "demo", AUDIENCE, clock)
    settings = Settings(store="memory", data_dir=data)

    with pytest.raises(IssuerConfigError, match="the demo issuer is trusted only in demo mode"):
        bootstrap(settings, clock=clock, extra_issuers=[demo.trusted()])
    renamed = TrustedIssuer("https://renamed.example", AUDIENCE, (demo.public_key,))
    with pytest.raises(IssuerConfigError, match="holds the demo issuer's key"):
        bootstrap(settings, clock=clock, extra_issuers=[renamed])

    listed = tmp_path / "issuers.toml"
    listed.write_text(f'[[issuer]]\nissuer = "{DEMO_ISSUER}"\naudience = "{AUDIENCE}"\nkind = "staff"\njwks_uri = "https://x.example/jwks"\n')
    with pytest.raises(IssuerConfigError, match="the demo issuer is never configured"):
        bootstrap(settings.model_copy(update={"issuers_file": listed}), clock=clock)

    (data / "demo" / "jwks.json").write_text(json.dumps({"keys": [jwk(ec.generate_private_key(ec.SECP256R1()), "k")]}))
    from_demo_folder = tmp_path / "demo-keys.toml"
    from_demo_folder.write_text(
        f'[[issuer]]\nissuer = "https://x.example"\naudience = "{AUDIENCE}"\nkind = "staff"\njwks_file = "{data / "demo" / "jwks.json"}"\n'
    )
    with pytest.raises(IssuerConfigError, match="jwks_file: lies in"):
        bootstrap(settings.model_copy(update={"issuers_file": from_demo_folder}), clock=clock)
    demo_mode = bootstrap(settings.model_copy(update={"issuers_file": from_demo_folder, "demo_mode": True}), clock=clock)
    demo_mode.close()


def test_the_issuers_file_is_named_by_an_environment_variable(issuers_file: Path) -> None:
    assert Settings.from_env({"BACKA_ISSUERS_FILE": str(issuers_file)}).issuers_file == issuers_file
