"""The hub in demo mode on the in-memory store, and a browser-like client of its pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import directory

BASE_URL = "https://testserver.local"
"""HTTPS, so that the client keeps the Secure session cookie as a browser does."""


@pytest.fixture
def rt(clock: SettableClock) -> Iterator[Runtime]:
    runtime = bootstrap(Settings(store="memory", demo_mode=True), clock=clock, directory=directory())
    yield runtime
    runtime.close()


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(rt), base_url=BASE_URL) as c:
        yield c


SIGN_IN_TOKEN = re.compile(r'name="sign_in_token" value="([^"]+)"')


def sign_in_token(client: TestClient[Any]) -> str:
    """Opens the sign-in page, as a browser does before it signs in: the client keeps the
    pre-session cookie, and the page's forms carry the token bound to it."""
    page = client.get("/sign-in")
    found = SIGN_IN_TOKEN.search(page.text)
    assert found, "the sign-in page carries no anti-forgery token"
    return found.group(1)


def post_sign_in(client: TestClient[Any], path: str = "/sign-in/demo", **form: str) -> Any:
    """A sign-in form sent from the sign-in page, as a browser sends it."""
    return client.post(path, data={"sign_in_token": sign_in_token(client), **form}, follow_redirects=False)
