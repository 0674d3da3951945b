"""A hub served by uvicorn on a loopback port, and a hold that stalls one of its calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from tests.nats_server import free_port

STUCK_FOR_EVER = 60.0
"""How long a held call waits for its release: far beyond any of the tests' deadlines."""


@contextmanager
def served(runtime: Runtime) -> Iterator[str]:
    """The hub's app on a free port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(runtime), host="127.0.0.1", port=port, log_level="warning", access_log=False, backlog=512,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="backa-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the hub did not start serving", pytrace=False)
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class Hold:
    """Wraps a call so that it waits until released: a stalled store, seen from the hub.

    Counts the calls inside at once, so a test sees how many requests were let in."""

    def __init__(self, call: Callable[..., Any]) -> None:
        self.call = call
        self.released = threading.Event()
        self.inside = 0
        self.most_inside = 0
        self.entered = 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.inside += 1
            self.entered += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            self.released.wait(STUCK_FOR_EVER)
            return self.call(*args, **kwargs)
        finally:
            with self._lock:
                self.inside -= 1

    def release(self) -> None:
        self.released.set()

    def wait_inside(self, count: int, deadline: float = 10.0) -> None:
        end = time.monotonic() + deadline
        while self.inside < count:
            assert time.monotonic() < end, f"{count} calls never got in (only {self.inside})"
            time.sleep(0.01)
