"""A request that meets a stored fact this release cannot read (a later release's, after a
roll-back) is answered a problem+json that says so, naming neither the fact nor the child,
rather than a 500 that says nothing."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from uuid import UUID

import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import register_child
from tests.factories import card_payload, directory, staff
from tests.http.test_admission import bearer

BK = "rektor.ostra"
SECRET = "Hemligt om Alva"


def _with_a_later_fact(settings: Settings, clock: SettableClock) -> UUID:
    """A child whose last fact declares schema version 99, as a later release would write it."""
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        child_id = register_child(rt)
        card = rt.hub.submit_discovery_card(staff("larare.ostra"), child_id, **card_payload())
        rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)
        rt.hub.send_feedback(staff(BK), child_id, card_id=card.card_id, message=SECRET)
        (n,) = rt.hub.recorder.select_notifications(rt.hub.recorder.max_notification_id(), 1)
        later = rt.hub.sealer.seal(child_id, rt.hub.sealer.open(n.state).replace(b'"schema_version":1', b'"schema_version":99'))
    finally:
        rt.close()
    with sqlite3.connect(settings.data_dir / "events.sqlite") as db:
        assert db.execute("UPDATE stored_events SET state = ? WHERE state = ?", (later, bytes(n.state))).rowcount == 1
    return child_id


def test_a_fact_of_a_later_release_is_answered_a_problem_naming_what_is_wrong(
    tmp_path: Path, clock: SettableClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True)
    child_id = _with_a_later_fact(settings, clock)
    caplog.set_level(logging.INFO)
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        with TestClient(create_app(rt)) as http:
            answer = http.get(f"/api/v1/children/{child_id}", headers=bearer(rt, BK))
    finally:
        rt.close()
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["type"] == "urn:backa:problem:unreadable-fact"
    assert "later release" in body["detail"] and "upgraded" in body["detail"]
    assert str(child_id) not in answer.text and SECRET not in answer.text
    logged = caplog.text
    assert "backa.v1.FeedbackSent declares schema version 99" in logged
    assert str(child_id) not in logged and SECRET not in logged


def test_views_that_stop_before_a_later_release_s_fact_say_so_instead_of_catching_up_for_ever(
    tmp_path: Path, clock: SettableClock
) -> None:
    """A hub that must build its views and meets a fact it cannot read is not 'catching up':
    waiting will not help, so readiness and reads say the views stopped and the process must
    be upgraded, without a Retry-After that would have callers try again for ever."""
    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True, views_wait_seconds=0.2)
    child_id = _with_a_later_fact(settings, clock)
    for view in (tmp_path / "data").glob("view_*.sqlite"):
        view.unlink()  # the views are built again from the log when the hub starts
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        with TestClient(create_app(rt)) as http:
            stopped_or_given_up = time.monotonic() + 30
            while rt.hub.follower.stopped_by is None and time.monotonic() < stopped_or_given_up:
                time.sleep(0.05)  # the views' thread meets the fact in the background
            ready = http.get("/ready")
            read = http.get("/api/v1/case-list", headers=bearer(rt, BK))
    finally:
        rt.close()
    for answer in (ready, read):
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"] == "urn:backa:problem:views-stopped"
        assert "upgraded" in answer.json()["detail"]
        assert "retry-after" not in answer.headers
        assert str(child_id) not in answer.text and SECRET not in answer.text
