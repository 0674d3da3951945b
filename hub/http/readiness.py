"""Readiness (``/ready``): whether this process should be sent requests now.

Liveness (``/health``) says the process is up; readiness also asks the store and the
views. The store is asked in a thread of its own with a deadline, never on the event
loop, and one question at a time: while an earlier one is still unanswered (a database
that stalls) the next probe waits for that one within its own deadline. The views are
ready once each has caught up with the log as it was when the hub started
(:meth:`hub.runtime.follower.LogFollower.hold_reads`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from litestar import HttpMethod, route
from litestar.handlers import HTTPRouteHandler

from hub.errors import StoreUnavailableError, ViewsCatchingUpError
from hub.http.problems import problem_responses
from hub.http.schemas import Health
from hub.runtime.bootstrap import Runtime

STORE_DEADLINE = 2.0
"""Seconds the store may take to answer a readiness probe before the hub is not ready."""


class StoreProbe:
    """Asks the store one cheap question in a daemon thread: a stalled database holds
    one thread, never the event loop or the request threads. Probes that come while a
    question is out wait for its answer."""

    def __init__(self, ask: Callable[[], Any], deadline: float) -> None:
        self.ask = ask
        self.deadline = deadline
        self._lock = threading.Lock()
        self._asking = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]]] = []

    async def answers(self) -> bool:
        """Whether the store answered within the deadline."""
        loop = asyncio.get_running_loop()
        waiter = (loop, loop.create_future())
        with self._lock:
            self._waiters.append(waiter)
            start, self._asking = not self._asking, True
        if start:
            threading.Thread(target=self._run, name="backa-ready", daemon=True).start()
        try:
            return await asyncio.wait_for(waiter[1], self.deadline)
        except TimeoutError:
            return False
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _run(self) -> None:
        try:
            self.ask()
            answered = True
        except Exception:  # noqa: BLE001 - any failure to reach the store means not ready
            answered = False
        with self._lock:
            waiters, self._waiters, self._asking = self._waiters, [], False
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(_settle, future, answered)
            except RuntimeError:
                pass  # that probe's loop has closed


def _settle(future: asyncio.Future[bool], answered: bool) -> None:
    if not future.done():
        future.set_result(answered)


def ready_route(runtime: Runtime) -> HTTPRouteHandler:
    """``GET /ready``: 200 when the store answers and the views have caught up, else 503
    problem+json with ``Retry-After``."""
    probe = StoreProbe(runtime.hub.log_length, STORE_DEADLINE)

    @route(
        "/ready",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        summary="Is the hub ready for requests: its store answers and its views have caught up",
        tags=["system"],
        responses=problem_responses(503, authenticated=False),
    )
    async def ready() -> Health:
        if not await probe.answers():
            runtime.hub.on_store_error()
            raise StoreUnavailableError("the event store cannot be reached")
        if not runtime.hub.follower.ready:
            raise runtime.hub.follower.refusal()
        if runtime.versions is not None and runtime.versions.lost:
            raise ViewsCatchingUpError()
        return Health(status="ready")

    return ready


__all__ = ["STORE_DEADLINE", "StoreProbe", "ready_route"]
