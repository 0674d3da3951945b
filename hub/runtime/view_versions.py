"""The views' versions side by side: marked in use while served, dropped once unused.

A release that changes a view raises its version, and its hubs build that version's
tables from the log beside the old ones (:class:`projections.base.Names`), while the
old release's processes go on serving from theirs. Each process marks the versions it
serves in use every :data:`HEARTBEAT` seconds, and records when they have caught up with
the log; then drops the versions that a newer caught-up version has replaced and that
no process has used for the grace period (:meth:`projections.base.ViewStore.prune`,
also run by ``backa views prune``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError

from hub.errors import ViewsCatchingUpError
from hub.runtime.clock import Clock

log = logging.getLogger("backa.views")

HEARTBEAT = 60.0
"""Seconds between a process's marks of the versions it serves; the grace period before
an unused version is dropped is at least five of them (see the setting)."""
FAILED = (PersistenceError, sqlite3.Error, psycopg.Error, OSError)
"""What a mark or a prune may meet while the database is away: tried again next time."""


class _Lost:
    """The gate of a view whose version was dropped beneath this process (it could not mark
    it in use for the grace period, cut off from the database): its tables are gone, or made
    anew by another process and still filling, so nothing is read from them here again."""

    def hold(self) -> None:
        raise ViewsCatchingUpError()


class VersionKeeper:
    """Marks this process's view versions in use, records when each has caught up, and
    drops the versions nobody needs; every :data:`HEARTBEAT` seconds on a thread of its own."""

    def __init__(
        self, views: Sequence[Any], clock: Clock, grace: float, *, lagging: Callable[[], Sequence[str]] = list
    ) -> None:
        self.views = list(views)
        self.clock = clock
        self.grace = grace
        self.lagging = lagging
        """The views that have not caught up with the log as it was at the start."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: set[str] = set()
        """Views whose version was dropped while this process served it: refused from then
        on, and the process not ready (a new start builds the version again)."""

    def tick(self) -> dict[str, list[int]]:
        """Mark, record and prune once; the versions dropped, by view."""
        now = int(self.clock().timestamp())
        behind = set(self.lagging())
        dropped: dict[str, list[int]] = {}
        for view in self.views:
            try:
                if not view.store.heartbeat(view.name, now, caught_up=view.name not in behind) and view.name not in self.lost:
                    log.error("the view %s's version was dropped while this process served it: restart it", view.name)
                    self.lost.add(view.name)
                    view.gate = _Lost()
                gone = view.store.prune(view.name, now, self.grace)
            except FAILED as e:
                log.warning("the view %s's versions were not kept: %s", view.name, type(e).__name__)
                continue
            if gone:
                dropped[view.name] = gone
                log.info("the view %s's unused versions %s were dropped", view.name, gone)
        return dropped

    def start(self, every: float = HEARTBEAT) -> None:
        self._thread = threading.Thread(target=self._run, args=(every,), name="backa-view-versions", daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


__all__ = ["HEARTBEAT", "VersionKeeper"]
