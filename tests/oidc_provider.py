"""A real OpenID Connect provider (the ``oidc-provider-mock`` package: Authlib's server on
Flask) served on a free loopback port in a thread, and the issuers file that trusts it.

The provider is addressed as ``localhost`` while the hub is served on ``127.0.0.1``, so a
browser sees them as two sites, as it does a real provider and the hub. Users are set
with the provider's own ``PUT /users/<sub>``; their claims go into the ID token as they
are, so a test can make the provider sign a token for another audience or nonce.
"""

from __future__ import annotations

import secrets
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import httpx
import jwt
import pytest
import werkzeug.serving
from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():  # the provider still imports authlib.jose
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    import oidc_provider_mock

from tests.factories import TENANT

CLIENT_ID = "backa-hub-pages"
CLIENT_SECRET = "s3cret-from-a-file"


@dataclass
class Provider:
    issuer: str
    server: werkzeug.serving.BaseWSGIServer
    app: Any = None

    def logout_token(self, **claims: Any) -> str:
        """A back-channel logout token signed with the provider's own key, as the provider
        would post it to the hub (this provider signs ID tokens only, so the test sends it)."""
        with self.app.test_request_context():
            self.app.preprocess_request()  # the provider's storage is set per request
            key = flask.g.oidc_provider_mock_storage.jwk
        private = jwt.PyJWK(key.as_dict(is_private=True), algorithm="RS256")
        now = int(time.time())
        body = {
            "iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 120, "jti": secrets.token_hex(8),
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}}, **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, private.key, algorithm="RS256", headers={"kid": key.as_dict()["kid"], "typ": "logout+jwt"})

    def user(self, sub: str, **claims: Any) -> None:
        answer = httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5)
        answer.raise_for_status()

    def authorize(self, authorization_url: str, sub: str) -> str:
        """What the person does at the provider: signs in as ``sub``; the provider's answer
        (the address it sends the browser back to)."""
        answer = httpx.post(authorization_url, data={"sub": sub}, timeout=5, follow_redirects=False)
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["location"]


@contextmanager
def running_provider() -> Iterator[Provider]:
    app = oidc_provider_mock.app(require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="oidc-provider", daemon=True)
    thread.start()
    try:
        provider = Provider(f"http://localhost:{server.server_port}", server, app)
        answer = httpx.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5)
        if answer.status_code != 200:
            pytest.fail("the OpenID provider did not start serving", pytrace=False)
        yield provider
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def issuers_file(folder: Path, staff: Provider, eid: Provider, staff_extra: str = "") -> Path:
    """Staff through their organisation's provider; guardians through an e-ID broker."""
    secret = folder / "client-secret"
    secret.write_text(CLIENT_SECRET + "\n")
    secret.chmod(0o600)
    path = folder / "issuers.toml"
    path.write_text(
        f"""
[[issuer]]
issuer = "{staff.issuer}"
kind = "staff"
algorithms = ["RS256"]
jwks_uri = "{staff.issuer}/jwks"
client_id = "{CLIENT_ID}"
client_secret_file = "client-secret"
slug = "ystad"
display_name = "Ystads kommun"
scopes = ["openid", "profile"]
{staff_extra}

[[issuer]]
issuer = "{eid.issuer}"
kind = "family"
algorithms = ["RS256"]
jwks_uri = "{eid.issuer}/jwks"
client_id = "{CLIENT_ID}"
client_secret_env = "BACKA_TEST_EID_SECRET"
slug = "e-legitimation"
display_name = "E-legitimation"
claims = {{ kind = "guardian", tenant = "{TENANT}" }}
"""
    )
    return path


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
