"""The hub in demo mode on the in-memory store, and a browser-like client of its pages."""

from __future__ import annotations

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
