"""Simulated process deaths inside a view's write, shared by the exactly-once tests."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Tracking


class Crash(Exception):
    """The process dies here."""


def crash_on_nth_write(view: Any, n: int) -> None:
    """Make the view die inside its n-th write: after its rows, before its commit."""
    original = view._insert_tracking
    calls = {"count": 0}

    def insert_tracking(cursor: Any, tracking: Tracking) -> None:
        calls["count"] += 1
        if calls["count"] == n:
            raise Crash
        original(cursor, tracking)

    view._insert_tracking = insert_tracking
