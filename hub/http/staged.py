"""A start in two stages: the server listens at once, and the hub takes over once built.

Importing the hub and building it and its application (the routes, the stores' pools and
tables, the keys) takes the better part of two seconds of CPU, which a liveness probe must
not wait for. :class:`StagedApp` is what the server serves from its first moment: it builds
the hub in a thread of its own and, until that is done, answers from the event loop:

- ``/health`` 200 ``{"status": "starting"}``: the process is up (liveness);
- ``/ready`` and every other request 503 problem+json with ``Retry-After``: not ready yet,
  never a hang and never a 500.

Once built, the hub's own application takes over every request (its ``/health`` then says
``ok``, its ``/ready`` whether its views have caught up). A build that fails turns
``/health`` to 503 and stops the server through ``on_failure``; the failure is kept in
:attr:`StagedApp.failure` for the caller to report.

Nothing here imports the hub or the web framework: that is what the build does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Built = tuple[ASGIApp, Callable[[], None]]
"""The hub's application, and what closes the hub behind it."""

STARTING = "the hub is starting; try again shortly"
FAILED = "the hub could not start"
RETRY_AFTER = 2
"""Seconds a caller is asked to wait while the hub starts."""
LIFESPAN_DEADLINE = 30.0
"""Seconds the hub's application may take to start up or shut down."""

log = logging.getLogger("hub.http")


def _routed(path: str) -> str:
    """The path as the router matches it (``/health/`` reaches ``/health``)."""
    return "/" + "/".join(part for part in path.split("/") if part)


def _answer(status: int, body: dict[str, Any], content_type: str, retry: bool) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    data = json.dumps(body).encode()
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    if retry:
        headers.append((b"retry-after", str(RETRY_AFTER).encode()))
    return data, headers


def _problem(detail: str, kind: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = {"type": f"urn:backa:problem:{kind}", "title": "Service unavailable", "status": 503, "detail": detail, "errors": []}
    return _answer(503, body, "application/problem+json", retry=True)


ALIVE = _answer(200, {"status": "starting"}, "application/json", retry=False)
NOT_YET = _problem(STARTING, "starting")
BROKEN = _problem(FAILED, "start-failed")


class _Lifespan:
    """The hub's application's own lifespan, driven from here: the server has already
    started (and will shut down) the staged application only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.said: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Future[None] | None = None

    async def _send(self, message: Message) -> None:
        await self.said.put(message)

    async def _step(self, ask: str) -> None:
        await self.inbox.put({"type": f"lifespan.{ask}"})
        message = await asyncio.wait_for(self.said.get(), LIFESPAN_DEADLINE)
        if message["type"] != f"lifespan.{ask}.complete":
            raise RuntimeError(f"the hub's application failed to {ask}: {message.get('message', '')}")

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self.task = asyncio.ensure_future(self.app(scope, self.inbox.get, self._send))
        await self._step("startup")

    async def shutdown(self) -> None:
        if self.task is None or self.task.done():
            return
        await self._step("shutdown")
        await asyncio.wait_for(self.task, LIFESPAN_DEADLINE)


class StagedApp:
    """Serves the start while ``build`` runs in a thread, then hands every request to what
    it built. ``build`` returns the hub's application and what closes the hub."""

    def __init__(
        self, build: Callable[[], Built], *, on_failure: Callable[[], None] | None = None, build_at_startup: bool = True
    ) -> None:
        """``build_at_startup`` false leaves the build to :meth:`start`, for a server that
        calls it once its socket is bound: the build's imports then do not share the
        interpreter with the server's own start."""
        self.build = build
        self.on_failure = on_failure
        self.build_at_startup = build_at_startup
        self.failure: BaseException | None = None
        self._app: ASGIApp | None = None
        self._close: Callable[[], None] | None = None
        self._lifespan: _Lifespan | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closing = False
        self._stopping = False

    @property
    def ready(self) -> bool:
        """Whether the hub's application has taken over."""
        return self._app is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app
        if app is not None and scope["type"] != "lifespan":
            await app(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan_of_server(receive, send)
        elif scope["type"] == "http":
            await self._meanwhile(scope, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1013})  # try again later

    async def _meanwhile(self, scope: Scope, send: Send) -> None:
        health = _routed(str(scope.get("path", ""))) == "/health" and scope.get("method") in {"GET", "HEAD"}
        if self.failure is not None:
            body, headers = BROKEN
        elif health:
            body, headers = ALIVE
        else:
            body, headers = NOT_YET
        status = 200 if body is ALIVE[0] else 503
        with contextlib.suppress(OSError):  # a caller already gone
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})

    async def _lifespan_of_server(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.build_at_startup:
                    self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start(self) -> None:
        """Begin building, on the running loop's behalf; called at the server's start."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._build, name="backa-start", daemon=True)
        self._thread.start()

    def _build(self) -> None:
        try:
            app, close = self.build()
        except BaseException as e:  # noqa: BLE001 - kept for the caller, the server stopped
            self._failed(e)
            return
        with self._lock:
            if self._closing:
                close()  # the server stopped while the hub was being built
                return
            self._close = close
        try:
            taken = asyncio.run_coroutine_threadsafe(self._take_over(app), cast(asyncio.AbstractEventLoop, self._loop))
        except RuntimeError:
            return  # the loop has closed: the server stopped meanwhile; close() closes the hub
        try:
            taken.result(LIFESPAN_DEADLINE + 5)
        except BaseException as e:  # noqa: BLE001 - the application did not start up
            self._failed(e)

    async def _take_over(self, app: ASGIApp) -> None:
        if self._stopping:
            return  # the server is shutting down: close() closes the hub
        lifespan = _Lifespan(app)
        await lifespan.startup()
        self._lifespan = lifespan
        self._app = app
        log.info("the hub is built and serves every request")

    def _failed(self, error: BaseException) -> None:
        self.failure = error
        log.error("the hub could not start: %s", type(error).__name__)
        if self.on_failure is not None:
            self.on_failure()

    async def _shutdown(self) -> None:
        self._stopping = True
        if self._lifespan is not None:
            try:
                await self._lifespan.shutdown()
            except Exception as e:  # noqa: BLE001 - the hub is closed below all the same
                log.warning("the hub's application did not shut down cleanly: %s", type(e).__name__)
        self._app = None
        await asyncio.to_thread(self.close)

    def close(self, wait: float = LIFESPAN_DEADLINE) -> None:
        """Close the hub if it was built; a build still running closes it when done."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(wait)
        with self._lock:
            self._closing = True
            close, self._close = self._close, None
        if close is not None:
            close()


__all__ = ["StagedApp"]
