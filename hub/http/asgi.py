"""The hub's ASGI application for servers that start it themselves, once per worker process.

    uvicorn --factory hub.http.asgi:staged_app_from_env --workers 4
    granian --interface asgi --factory hub.http.asgi:app_from_env --workers 4

Each worker process calls :func:`app_from_env`, which reads the ``BACKA_*`` variables and
builds a runtime of its own: its own connection pools, its own follower of the views and
its own Merkle tree, all over the one PostgreSQL schema and data folder the processes
share. What must agree between processes is kept where they all see it: the log and the
views in PostgreSQL (a read waits until its views hold every fact committed before it,
by whichever process), sessions, rate limits and sign-ins in PostgreSQL, checkpoints and
the witness behind file locks in the data folder. The runtime is closed when the server
shuts the application down.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from hub.runtime.settings import Settings


class WorkersNeedPostgresError(ValueError):
    """Several worker processes were asked for on a store they cannot share."""


def check_workers(settings: Settings) -> None:
    """Refuse several workers on the memory store (each process would hold a hub of its
    own) or on SQLite (the views' files and the log's writer are per process)."""
    from hub.runtime.store_choice import store_kind

    kind = store_kind(settings)
    if settings.workers > 1 and kind != "postgres":
        raise WorkersNeedPostgresError(
            f"{settings.workers} worker processes need PostgreSQL (BACKA_DATABASE_URL); the {kind} store "
            "is not shared safely between processes: serve it with one worker"
        )


SERVING_LOCK = "serving.lock"
"""Held in the data folder by the one process that serves a SQLite store."""


def serve_alone(settings: Settings) -> Callable[[], None]:
    """Hold the data folder's SQLite store for this process while it serves, and return
    what lets it go.

    ``backa serve --workers N`` refuses several workers on SQLite, but a server started
    by hand (``uvicorn --factory ... --workers 4``, or a second ``backa serve`` on the same
    folder) never passes through that check: each process would then keep a Merkle tree,
    a views' follower and a group commit of its own over one file, and their checkpoints
    would disagree. The lock is taken without waiting, so the second process is refused
    at once rather than queued behind the first. PostgreSQL and the memory store (a hub
    per process, sharing nothing) need none."""
    from hub.runtime.store_choice import store_kind

    if store_kind(settings) != "sqlite":
        return lambda: None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.data_dir / SERVING_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise WorkersNeedPostgresError(
            "another process already serves this data folder's SQLite store; several processes need "
            "PostgreSQL (BACKA_DATABASE_URL)"
        ) from None
    return lambda: os.close(fd)  # closing the descriptor lets the lock go


START_LOCK = "start.lock"
"""Held in the data folder while a process builds its runtime."""


@contextmanager
def one_start_at_a_time(settings: Settings) -> Iterator[None]:
    """Workers started together build their runtimes in turn: the first makes the keys
    (the blind index's, the demo issuer's, the checkpoints'), the tables and the views'
    progress, and the others find them made instead of racing to make their own."""
    from hub.runtime.store_choice import store_kind

    if store_kind(settings) == "memory":
        yield
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.data_dir / START_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def request_threads_of_this_loop(count: int) -> None:
    """Handlers run on ``count`` threads in a worker process too. A worker builds its
    application inside the server's running loop, where the threads of the application
    cannot be set any more, and handlers would run on the loop's default threads (CPUs + 4,
    six on two cores): the loop's default is set to the hub's threads instead."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop yet: the application sets its own threads
    loop.set_default_executor(ThreadPoolExecutor(max_workers=count, thread_name_prefix="backa-request"))


def served_app(settings: Settings) -> tuple[Any, Callable[[], None]]:
    """The application of one serving process and what closes it: the process holds a SQLite
    folder alone (:func:`serve_alone`), builds its runtime in its turn with any others
    starting beside it (:func:`one_start_at_a_time`), and lets both go when it closes."""
    from hub.http.app import create_app
    from hub.runtime.bootstrap import bootstrap

    let_go = serve_alone(settings)
    try:
        with one_start_at_a_time(settings):
            runtime = bootstrap(settings)
    except BaseException:
        let_go()
        raise
    close = in_turn(runtime.close, let_go)
    try:
        return create_app(runtime), close
    except BaseException:
        close()
        raise


def app_from_env(settings: Settings | None = None) -> Any:
    """A Litestar application over a runtime bootstrapped from the environment."""
    settings = settings or Settings.from_env()
    request_threads_of_this_loop(settings.http_threads)
    app, close = served_app(settings)
    app.on_shutdown.append(close)
    return app


def in_turn(first: Callable[[], None], second: Callable[[], None]) -> Callable[[], None]:
    def both() -> None:
        try:
            first()
        finally:
            second()

    return both


def staged_app_from_env() -> Any:
    """:func:`app_from_env` in two stages (:mod:`hub.http.staged`): the worker answers
    ``/health`` from the moment it serves, and ``503`` with ``Retry-After`` to anything else
    until its hub is built in a thread. A worker whose build fails stops itself, to be
    started again by the server's supervisor, as a worker that failed to load would be.

        uvicorn --factory hub.http.asgi:staged_app_from_env --workers 4
    """
    from hub.http.staged import StagedApp

    settings = Settings.from_env()
    request_threads_of_this_loop(settings.http_threads)

    return StagedApp(lambda: served_app(settings), on_failure=_stop_this_worker)


def _stop_this_worker() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


__all__ = [
    "WorkersNeedPostgresError",
    "app_from_env",
    "check_workers",
    "in_turn",
    "one_start_at_a_time",
    "serve_alone",
    "served_app",
    "request_threads_of_this_loop",
    "staged_app_from_env",
]
