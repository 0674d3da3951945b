"""A stored fact of a schema version this release does not know (written by a later
release, then rolled back) stops the views before it: nothing after it is applied, and
the log says so as an error naming the event type and version, never the fact."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from pathlib import Path
from uuid import UUID

import pytest

from adapters.jetstream_relay import Backoff, JetStreamRelay
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.relay import build_relay
from hub.runtime.relay_root import relay_root
from hub.runtime.settings import Settings
from tests.conftest import register_child
from tests.factories import card_payload, directory, staff
from tests.nats_server import NatsServer, keys, nats_server

__all__ = ["keys", "nats_server"]

BK = "rektor.ostra"
SECRET = "Hemligt om Alva"
SAID_AT_ALL = 15.0
"""Generous: how long the follower has to say so; the old one never logs it as an error."""


@pytest.fixture
def forged(tmp_path: Path, clock: SettableClock, nats_server: NatsServer, keys: Path) -> tuple[Settings, UUID, int]:
    """A hub whose last fact (a feedback) declares schema version 99: (settings, child, its position)."""
    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True, nats_url=nats_server.url, unit_keys_dir=keys)
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        child_id = register_child(rt)
        card = rt.hub.submit_discovery_card(staff("larare.ostra"), child_id, **card_payload())
        rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)
        rt.hub.follower.stop()
        rt.hub.send_feedback(staff(BK), child_id, card_id=card.card_id, message=SECRET)
        (n,) = rt.hub.recorder.select_notifications(rt.hub.recorder.max_notification_id(), 1)
        opened = rt.hub.sealer.open(n.state)
        later = rt.hub.sealer.seal(child_id, opened.replace(b'"schema_version":1', b'"schema_version":99'))
    finally:
        rt.close()
    with sqlite3.connect(settings.data_dir / "events.sqlite") as db:
        assert db.execute("UPDATE stored_events SET state = ? WHERE state = ?", (later, bytes(n.state))).rowcount == 1
    return settings, child_id, n.id


def _first_error(caplog: pytest.LogCaptureFixture) -> list[str]:
    end = time.monotonic() + SAID_AT_ALL
    while not (errors := [r for r in caplog.records if r.levelno >= logging.ERROR]) and time.monotonic() < end:
        time.sleep(0.05)
    return [r.getMessage() for r in errors][:1]


def test_a_fact_of_an_unknown_version_stops_the_views_with_an_error_that_shows_no_fact(
    forged: tuple[Settings, UUID, int], clock: SettableClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings, child_id, position = forged
    caplog.set_level(logging.WARNING)
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        assert _first_error(caplog) == [
            "views stopped before a fact this release cannot read: a stored backa.v1.FeedbackSent "
            "declares schema version 99; this release reads versions 1 to 1"
        ]
        assert not rt.hub.follower.ready
        assert max(rt.hub.follower.position(p) for p in rt.hub.follower.projections) < position
        logged = caplog.text
        assert str(child_id) not in logged and SECRET not in logged
    finally:
        rt.close()


def test_a_fact_of_an_unknown_version_stops_the_relay_with_an_error_that_shows_no_fact(
    forged: tuple[Settings, UUID, int], caplog: pytest.LogCaptureFixture
) -> None:
    settings, child_id, position = forged
    root = relay_root(settings, directory=directory())
    caplog.set_level(logging.WARNING)

    async def run() -> JetStreamRelay:
        relay = build_relay(root, poll_interval=0.01, backoff=Backoff(0.05, 0.5), reconnect_wait=0.05, listen=False)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        end = time.monotonic() + SAID_AT_ALL
        while not any(r.levelno >= logging.ERROR for r in caplog.records) and time.monotonic() < end:  # noqa: ASYNC110 - records kept by the logging module
            await asyncio.sleep(0.05)
        stop.set()
        await task
        return relay

    try:
        relay = asyncio.run(run())
        relay.positions.close()  # type: ignore[attr-defined]
    finally:
        root.close()
    assert _first_error(caplog) == [
        "relay: stopped before a fact this release cannot read: a stored backa.v1.FeedbackSent "
        "declares schema version 99; this release reads versions 1 to 1; trying again in 0.1 s"
    ]
    assert relay.position.position < position  # it, and nothing after it, went out
    assert str(child_id) not in caplog.text and SECRET not in caplog.text
