"""Simulated process deaths inside a view's write, shared by the exactly-once tests."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Tracking


class Crash(BaseException):
    """The process dies here: nothing after it runs, not even the follower's own recovery."""


def crash_on_nth_write(view: Any, n: int) -> None:
    """Make the view die inside its n-th write (one page of facts): after its rows,
    before its commit."""
    original = view._insert_tracking
    calls = {"count": 0}

    def insert_tracking(cursor: Any, tracking: Tracking, *args: Any) -> None:
        calls["count"] += 1
        if calls["count"] == n:
            raise Crash
        original(cursor, tracking, *args)

    view._insert_tracking = insert_tracking


class Fault(Exception):
    """A projection that cannot apply one fact (a bug, a value it does not expect)."""


def fail_on_position(projection: Any, position: int) -> None:
    """Make the projection fail on the fact at ``position``, however it is handed it."""
    original = projection.apply

    def apply(cursor: Any, page: Any) -> None:
        if any(p == position for p, _ in page):
            raise Fault
        original(cursor, page)

    projection.apply = apply
