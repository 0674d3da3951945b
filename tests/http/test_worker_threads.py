"""A worker process builds its application inside the server's running loop: its handlers
must still run on the hub's request threads, not on the loop's few default ones (CPUs + 4:
six on two cores, where a request mostly waits for the database)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from litestar.concurrency import get_asyncio_executor, set_asyncio_executor, sync_to_thread

from hub.http.asgi import app_from_env
from hub.runtime.settings import Settings

THREADS = 40


@pytest.fixture(autouse=True)
def a_fresh_process() -> Any:
    """As in a worker process just started: no application has set its threads yet."""
    before = get_asyncio_executor()
    set_asyncio_executor(None)
    yield
    set_asyncio_executor(before)


def test_a_worker_built_inside_the_running_loop_runs_handlers_on_the_hub_s_request_threads(tmp_path: Path) -> None:
    async def in_a_worker() -> tuple[list[str], int]:
        app = app_from_env(Settings(store="memory", demo_mode=True, data_dir=tmp_path, http_threads=THREADS))
        try:
            started = threading.Barrier(THREADS, timeout=10)

            def handler() -> str:
                started.wait()  # every one of them at once: as many threads as the setting
                return threading.current_thread().name

            names = await asyncio.gather(*(sync_to_thread(handler) for _ in range(THREADS)))  # as Litestar runs a handler
            return names, len(set(names))
        finally:
            for hook in app.on_shutdown:
                hook()

    names, distinct = asyncio.run(in_a_worker())
    assert distinct == THREADS
    assert all(name.startswith("backa-request") for name in names), names
