"""``/ready``: 200 once the store answers and the views hold the log; 503 problem+json with
``Retry-After`` otherwise, answered within its deadline even while the store hangs. A
page that needs a lagging view says so in Swedish."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from litestar.testing import TestClient

from hub.http import create_app, readiness
from hub.runtime.bootstrap import Runtime
from hub.runtime.follower import ViewGate
from tests.e2e.swedish_scan import assert_swedish
from tests.runtime.starts import eventually
from tests.web.conftest import post_sign_in


def test_a_hub_whose_views_hold_the_log_is_ready(client: TestClient[Any]) -> None:
    eventually(lambda: client.get("/ready").status_code == 200, 30, "the hub getting ready")
    assert client.get("/ready").json() == {"status": "ready"}


def test_ready_answers_503_within_its_deadline_while_the_store_hangs(
    rt: Runtime, client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    eventually(lambda: client.get("/ready").status_code == 200, 30, "the hub getting ready")
    monkeypatch.setattr(readiness, "STORE_DEADLINE", 0.2)
    hang = threading.Event()
    asked: list[int] = []

    def stalled() -> int:
        asked.append(1)
        hang.wait(60)
        return 0

    monkeypatch.setattr(rt.hub, "log_length", stalled)
    with TestClient(create_app(rt), base_url="https://testserver.local") as probe:  # made with the deadline above
        try:
            for _ in range(3):
                answer = probe.get("/ready")
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert answer.headers["retry-after"]
                assert answer.json()["type"] == "urn:backa:problem:store-unavailable"
            assert len(asked) == 1  # the later probes wait for the question already out
        finally:
            hang.set()
        eventually(lambda: probe.get("/ready").status_code == 200, 30, "the store answering again")


def test_a_page_that_needs_a_lagging_view_asks_in_swedish_to_try_again_shortly(
    rt: Runtime, client: TestClient[Any]
) -> None:
    assert post_sign_in(client, kind="staff", user="rektor.ostra").status_code == 303
    assert client.get("/staff").status_code == 200
    rt.hub.views.cases.gate = ViewGate(0)  # the case list has not caught up with the log
    page = client.get("/staff")
    assert page.status_code == 503
    assert int(page.headers["retry-after"]) > 0
    assert '<html lang="sv"' in page.text
    assert "försök igen om en stund" in page.text
    assert_swedish(page.text, "/staff while the case list catches up")
