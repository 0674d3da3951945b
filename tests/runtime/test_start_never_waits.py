"""A hub whose views must be rebuilt serves at once: it listens, says it is alive, says it
is not ready until its views hold the log, and answers a read that needs a lagging view
with 503 and ``Retry-After`` (or after waiting for it), never from the lagging view.

The views are held back by the test until it lets them go, so what is checked never
depends on how fast they catch up.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from hub.demo import demo_directory
from hub.http import create_app
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from tests.factories import registration_payload
from tests.runtime.starts import (
    END,
    a_long_log,
    empty_the_views,
    eventually,
    settings_for,
    staff_headers,
    started_within,
    views_held_back,
    what_the_views_hold,
)

CHILDREN = 150
"""About two thousand facts of the demo's stories."""
CASE_LIST = "/api/v1/case-list?scope=unit"


def _schema(store: str, request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("pg_schema") if store == "postgres" else None


def assert_catching_up(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"] == "urn:backa:problem:views-catching-up"


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_hub_with_empty_views_serves_at_once_and_is_ready_once_they_hold_the_log(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = _schema(store, request)
    settings = settings_for(store, tmp_path, schema, views_wait_seconds=0)
    before = a_long_log(settings, CHILDREN)
    assert before["facts"] > 1500 and before["cases"]
    empty_the_views(store, settings, schema)

    with views_held_back(monkeypatch) as release:
        rt = started_within(settings, 30)
        try:
            with TestClient(create_app(rt), base_url="https://testserver.local") as client:
                assert client.get("/health").status_code == 200
                assert_catching_up(client.get("/ready"))
                # a read that needs the lagging views is refused, not answered from them
                assert_catching_up(client.get(CASE_LIST, headers=staff_headers(rt)))

                release.set()
                eventually(lambda: client.get("/ready").status_code == 200, 120, "the views catching up")
                assert client.get("/ready").json() == {"status": "ready"}
                answer = client.get(CASE_LIST, headers=staff_headers(rt))
                assert answer.status_code == 200, answer.text
                assert answer.json()
                after = what_the_views_hold(rt)
                assert after["cases"] == before["cases"]
                assert after["children"] == before["children"]
                assert after["record"] == before["record"]
                assert after["reads"] >= before["reads"]  # and the case list just read
        finally:
            rt.close()


def test_a_read_that_may_wait_waits_for_the_views_and_answers_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for("sqlite", tmp_path, None, views_wait_seconds=60)
    before = a_long_log(settings, 40)
    empty_the_views("sqlite", settings, None)

    with views_held_back(monkeypatch) as release:
        rt = started_within(settings, 30)
        try:
            assert not rt.hub.follower.ready
            threading.Timer(0.3, release.set).start()
            # the read waits (up to the setting's 60 s) for the case list, then reads all of it
            assert rt.hub.views.cases.documents("ystad") == before["cases"]
            assert rt.hub.follower.ready
        finally:
            rt.close()


def test_a_read_after_the_callers_own_command_waits_a_bounded_time_while_the_views_catch_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for("sqlite", tmp_path, None, views_wait_seconds=0.2)
    before = a_long_log(settings, 20)
    empty_the_views("sqlite", settings, None)

    with views_held_back(monkeypatch) as release:
        rt = started_within(settings, 30)
        try:
            with TestClient(create_app(rt), base_url="https://testserver.local") as client:
                headers = staff_headers(rt)
                registered = client.post("/api/v1/children", json=registration_payload(), headers=headers)
                assert registered.status_code == 201, registered.text  # a command does not wait for the views
                answers: list[Any] = []
                reader = threading.Thread(target=lambda: answers.append(client.get(CASE_LIST, headers=headers)))
                reader.start()
                reader.join(30)  # the old follower made such a read wait for the whole log
                assert answers, "the read waited for the whole catch-up"
                assert_catching_up(answers[0])
                release.set()
                eventually(lambda: client.get(CASE_LIST, headers=headers).status_code == 200, 120, "the case list")
                assert rt.hub.views.record.count_children("ystad") == before["children"] + 1  # with the command's child
        finally:
            rt.close()


def test_a_command_that_runs_once_has_the_views_caught_up_before_it_reads(tmp_path: Path) -> None:
    settings = settings_for("sqlite", tmp_path, None, views_wait_seconds=0)
    before = a_long_log(settings, 20)
    empty_the_views("sqlite", settings, None)

    rt = bootstrap(settings, clock=SettableClock(END), directory=demo_directory(), wait_for_views=True)
    try:
        assert rt.hub.follower.ready
        assert what_the_views_hold(rt)["cases"] == before["cases"]
    finally:
        rt.close()
