"""The hub's client registration in the issuers file: read when given, every mistake refused
at start with the field named, and the secret never taken from the file itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.identity.issuers import IssuerConfigError, parse_issuers
from hub.runtime.clock import SettableClock
from tests.factories import START

STAFF = {
    "issuer": "https://login.ystad.se/realms/staff",
    "kind": "staff",
    "jwks_uri": "https://login.ystad.se/realms/staff/certs",
    "client_id": "backa-hub",
    "client_secret_file": "secret.txt",
    "slug": "ystad",
    "claims": {"tenant": "ystad"},
}


def parse(tmp_path: Path, *entries: dict[str, Any], environ: dict[str, str] | None = None) -> list[Any]:
    (tmp_path / "secret.txt").write_text("the-secret\n")
    return parse_issuers({"issuer": list(entries)}, SettableClock(START), base=tmp_path, environ=environ or {})


def refused(tmp_path: Path, entry: dict[str, Any], field: str, words: str, environ: dict[str, str] | None = None) -> None:
    with pytest.raises(IssuerConfigError) as e:
        parse(tmp_path, entry, environ=environ)
    assert f": {field}: " in str(e.value) and words in str(e.value), str(e.value)
    assert "the-secret" not in str(e.value)


def test_a_client_is_read_with_its_secret_from_a_file_and_the_client_id_as_audience(tmp_path: Path) -> None:
    (issuer,) = parse(tmp_path, {**STAFF, "display_name": "Ystads kommun", "scopes": ["openid", "profile"]})

    assert issuer.oidc is not None
    assert (issuer.oidc.slug, issuer.oidc.display_name, issuer.oidc.client_id) == ("ystad", "Ystads kommun", "backa-hub")
    assert issuer.oidc.client_secret == "the-secret" and "the-secret" not in repr(issuer)
    assert issuer.oidc.scopes == ("openid", "profile") and issuer.audience == "backa-hub"


def test_the_secret_can_come_from_the_environment(tmp_path: Path) -> None:
    entry = {k: v for k, v in STAFF.items() if k != "client_secret_file"} | {"client_secret_env": "YSTAD_SECRET"}
    (issuer,) = parse(tmp_path, entry, environ={"YSTAD_SECRET": "from-env"})
    assert issuer.oidc.client_secret == "from-env"
    refused(tmp_path, entry, "client_secret_env", "YSTAD_SECRET is not set")


def test_an_issuer_without_a_client_offers_no_sign_in_button(tmp_path: Path) -> None:
    entry = {k: v for k, v in STAFF.items() if k not in ("client_id", "client_secret_file", "slug")} | {"audience": "backa-hub"}
    (issuer,) = parse(tmp_path, entry)
    assert issuer.oidc is None


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"client_secret": "in-the-file"}, "client_secret", "never written in the issuers file"),
        ({"client_secret_env": "X"}, "client_secret_file", "exactly one of"),
        ({"client_secret_file": "missing.txt"}, "client_secret_file", "cannot be read"),
        ({"slug": "Ystad Kommun"}, "slug", "lower-case"),
        ({"slug": None}, "slug", "missing"),
        ({"scopes": ["profile"]}, "scopes", "must include 'openid'"),
        ({"scopes": "openid"}, "scopes", "list of scope names"),
        ({"redirect_uri": "http://hub.example.se/sign-in/callback"}, "redirect_uri", "https"),
        ({"redirect_uri": "https://hub.example.se/elsewhere"}, "redirect_uri", "/sign-in/callback"),
        ({"post_logout_redirect_uri": "http://evil.example/"}, "post_logout_redirect_uri", "https"),
        ({"issuer": "http://login.ystad.se"}, "issuer", "https"),
        ({"client_ids": "typo"}, "client_ids", "unknown field"),
    ],
)
def test_a_misconfigured_client_is_refused_naming_the_field(tmp_path: Path, changes: dict[str, Any], field: str, words: str) -> None:
    entry = {k: v for k, v in {**STAFF, **changes}.items() if v is not None}
    refused(tmp_path, entry, field, words)


def test_client_fields_without_a_client_id_are_refused(tmp_path: Path) -> None:
    entry = {k: v for k, v in STAFF.items() if k != "client_id"} | {"audience": "backa-hub"}
    refused(tmp_path, entry, "client_secret_file", "goes with client_id")


def test_two_issuers_cannot_share_a_slug(tmp_path: Path) -> None:
    other = {**STAFF, "issuer": "https://eid.example.se", "kind": "family", "claims": {"tenant": "ystad", "kind": "guardian"}}
    with pytest.raises(IssuerConfigError, match="slug: 'ystad' is used by another issuer"):
        parse(tmp_path, STAFF, other)


def test_a_secret_file_in_the_demo_folder_is_refused(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "secret.txt").write_text("x")
    with pytest.raises(IssuerConfigError, match="client_secret_file: lies in"):
        parse_issuers(
            {"issuer": [{**STAFF, "client_secret_file": "demo/secret.txt"}]}, SettableClock(START), base=tmp_path,
            forbidden_folder=demo.resolve(), environ={},
        )
