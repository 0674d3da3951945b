"""A bearer token verified a moment ago is taken from the verifier's memory, sparing its
signature check and a worker thread; what it may not spare: an expired token is refused
on its next use, one whose issuer is no longer trusted is checked again (and refused), and
after a minute every token is verified in full."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from hub.errors import NotAuthenticatedError
from hub.http import create_app
from hub.identity.tokens import KEEP_VERIFIED, LEEWAY
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import TENANT, directory


@pytest.fixture
def rt(clock: SettableClock) -> Iterator[Runtime]:
    runtime = bootstrap(Settings(store="memory", demo_mode=True), clock=clock, directory=directory())
    yield runtime
    runtime.close()


def token(rt: Runtime, lifetime: timedelta = timedelta(hours=1)) -> str:
    assert rt.demo_issuer is not None
    return rt.demo_issuer.sign(
        {"sub": "rektor.ostra", "tenant": TENANT, "unit": "skola-ostra", "roles": ["barnkontakt"], "kind": "staff"},
        lifetime=lifetime,
    )


def cases(client: TestClient[Any], bearer: str) -> Any:
    return client.get("/api/v1/case-list", headers={"Authorization": f"Bearer {bearer}"})


def test_a_verified_token_is_recalled_without_checking_it_again(rt: Runtime) -> None:
    bearer = token(rt)
    assert rt.verifier.recall(bearer) is None  # never seen: verified in full
    verified = rt.verifier.authenticate(bearer)
    assert rt.verifier.recall(bearer) is verified
    assert rt.verifier.recall(bearer + "x") is None  # another token is another token


def test_a_recalled_token_that_has_expired_is_refused(rt: Runtime, clock: SettableClock) -> None:
    bearer = token(rt, lifetime=timedelta(seconds=20))
    with TestClient(create_app(rt), base_url="https://testserver.local") as client:
        assert cases(client, bearer).status_code == 200
        assert rt.verifier.recall(bearer) is not None
        clock.advance(timedelta(seconds=20) + LEEWAY)  # well inside the time a verified token is kept
        answer = cases(client, bearer)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "expired" in answer.json()["detail"]
    assert rt.verifier.recall(bearer) is None  # forgotten once refused: only a full check would answer now


def test_a_token_of_an_issuer_no_longer_trusted_is_refused_though_it_was_recalled(rt: Runtime) -> None:
    bearer = token(rt)
    with TestClient(create_app(rt), base_url="https://testserver.local") as client:
        assert cases(client, bearer).status_code == 200
        # the issuer's configuration replaced: the same name, but none of its keys held any more
        rt.verifier.issuers = [replace(i, keys=()) for i in rt.verifier.issuers]
        answer = cases(client, bearer)
    assert answer.status_code == 401
    assert rt.verifier.recall(bearer) is None


def test_a_token_is_verified_in_full_again_once_its_time_in_memory_is_over(rt: Runtime, clock: SettableClock) -> None:
    bearer = token(rt)
    rt.verifier.authenticate(bearer)
    clock.advance(KEEP_VERIFIED - timedelta(seconds=1))
    assert rt.verifier.recall(bearer) is not None
    clock.advance(timedelta(seconds=1))
    assert rt.verifier.recall(bearer) is None
    rt.verifier.issuers = [replace(i, keys=()) for i in rt.verifier.issuers]  # so that a full check now fails
    with pytest.raises(NotAuthenticatedError):
        rt.verifier.authenticate(bearer)
