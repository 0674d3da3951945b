"""A bearer token's times: issued in the future, not yet valid, too long-lived, or ending in
year 9999, each refused with 401 problem+json naming the reason, never a 500. The clock
skew and the maximum lifetime are settings, and each changes what is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import TENANT, directory


def hub_for(clock: SettableClock, **settings: Any) -> Runtime:
    return bootstrap(Settings(store="memory", demo_mode=True, **settings), clock=clock, directory=directory())


@pytest.fixture
def rt(clock: SettableClock) -> Iterator[Runtime]:
    runtime = hub_for(clock)
    yield runtime
    runtime.close()


def token(rt: Runtime, **claims: Any) -> str:
    """A staff token signed by the demo issuer, with its time claims as given (None: left out)."""
    assert rt.demo_issuer is not None
    now = int(rt.hub.clock().timestamp())
    body: dict[str, Any] = {"iat": now, "nbf": now, "exp": now + 3600, **claims}
    signed = rt.demo_issuer.sign(
        {"sub": "rektor.ostra", "tenant": TENANT, "unit": "skola-ostra", "roles": ["barnkontakt"], "kind": "staff", **body}
    )
    if any(v is None for v in body.values()):
        decoded = jwt.decode(signed, options={"verify_signature": False})
        decoded = {k: v for k, v in decoded.items() if v is not None}
        signed = jwt.encode(decoded, rt.demo_issuer.key, algorithm="EdDSA")
    return signed


def ask(rt: Runtime, bearer: str) -> Any:
    with TestClient(create_app(rt), base_url="https://testserver.local") as c:
        return c.post("/api/v1/sessions", headers={"Authorization": f"Bearer {bearer}"})


def refused(answer: Any, reason: str) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert reason in answer.json()["detail"]


def test_a_token_within_its_times_is_accepted(rt: Runtime) -> None:
    assert ask(rt, token(rt)).status_code == 201


def test_a_token_ending_in_the_year_9999_is_refused_as_too_long_lived_not_a_500(rt: Runtime) -> None:
    refused(ask(rt, token(rt, exp=253402300799)), "lives longer")


def test_a_token_with_an_enormous_exp_and_no_iat_is_refused_not_a_500(rt: Runtime) -> None:
    refused(ask(rt, token(rt, iat=None, nbf=None, exp=10**30)), "lives longer")


def test_a_token_issued_a_year_ahead_is_refused(rt: Runtime) -> None:
    ahead = int(rt.hub.clock().timestamp()) + 365 * 86400
    refused(ask(rt, token(rt, iat=ahead, nbf=None, exp=ahead + 3600)), "issued in the future")


def test_a_token_not_valid_yet_is_refused_and_honoured_within_the_skew(rt: Runtime) -> None:
    now = int(rt.hub.clock().timestamp())
    refused(ask(rt, token(rt, nbf=now + 120)), "not valid yet")
    assert ask(rt, token(rt, nbf=now + 20)).status_code == 201


def test_a_token_with_a_lifetime_past_the_maximum_is_refused(rt: Runtime) -> None:
    now = int(rt.hub.clock().timestamp())
    refused(ask(rt, token(rt, exp=now + int(timedelta(hours=13).total_seconds()))), "lives longer")
    refused(ask(rt, token(rt, iat=now - 20 * 3600, exp=now + 60)), "lives longer")


def test_malformed_time_claims_are_refused(rt: Runtime) -> None:
    refused(ask(rt, token(rt, exp="tomorrow")), "malformed")
    refused(ask(rt, token(rt, iat=True)), "malformed")


def test_the_clock_skew_setting_changes_what_is_accepted(clock: SettableClock) -> None:
    strict = hub_for(clock, token_clock_skew_seconds=0)
    try:
        now = int(clock().timestamp())
        refused(ask(strict, token(strict, iat=now + 20, nbf=None)), "issued in the future")
        refused(ask(strict, token(strict, nbf=now + 20)), "not valid yet")
    finally:
        strict.close()
    lenient = hub_for(clock, token_clock_skew_seconds=120)
    try:
        assert ask(lenient, token(lenient, iat=now + 90, nbf=now + 90)).status_code == 201
    finally:
        lenient.close()


def test_the_maximum_lifetime_setting_changes_what_is_accepted(clock: SettableClock) -> None:
    short = hub_for(clock, token_max_lifetime_hours=0.5)
    try:
        refused(ask(short, token(short)), "lives longer")
    finally:
        short.close()
    long = hub_for(clock, token_max_lifetime_hours=20)
    try:
        now = int(clock().timestamp())
        assert ask(long, token(long, exp=now + 19 * 3600)).status_code == 201
    finally:
        long.close()
