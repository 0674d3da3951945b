"""The staged start's application on its own (:mod:`hub.http.staged`): what it answers
while the hub is built, that the built hub takes over, and that a hub is closed once
whether it was built before the server stopped or only after."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from hub.http.staged import StagedApp


class Hub:
    """A stand-in for the hub's application: answers 204, counts its lifespan and closes."""

    def __init__(self) -> None:
        self.lifespan: list[str] = []
        self.closed = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].removeprefix("lifespan.")
                self.lifespan.append(kind)
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def close(self) -> None:
        self.closed += 1


async def request(app: StagedApp, path: str, method: str = "GET", kind: str = "http") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app({"type": kind, "path": path, "method": method, "headers": []}, receive, send)
    return sent


class Server:
    """The server's side of the staged application's lifespan."""

    def __init__(self, app: StagedApp) -> None:
        self.inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.said: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def send(message: Any) -> None:
            await self.said.put(message)

        self.task = asyncio.ensure_future(app({"type": "lifespan"}, self.inbox.get, send))

    async def step(self, ask: str) -> str:
        await self.inbox.put({"type": f"lifespan.{ask}"})
        return str((await asyncio.wait_for(self.said.get(), 30))["type"])


def staged(release: threading.Event, hub: Hub) -> StagedApp:
    def build() -> Any:
        release.wait(30)
        return hub, hub.close

    return StagedApp(build)


async def until(check: Any) -> None:
    for _ in range(3000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("did not happen within 30 s")


def test_while_building_health_is_alive_however_spelled_and_the_rest_is_asked_to_retry() -> None:
    async def run() -> None:
        release, hub = threading.Event(), Hub()
        app = staged(release, hub)
        server = Server(app)
        assert await server.step("startup") == "lifespan.startup.complete"  # at once, the hub unbuilt
        for path in ("/health", "/health/", "//health"):
            start, body = await request(app, path)
            assert start["status"] == 200 and body["body"] == b'{"status": "starting"}'
        head = await request(app, "/health", "HEAD")
        assert head[0]["status"] == 200 and head[1]["body"] == b""
        for path, method in (("/ready", "GET"), ("/api/v1/case-list", "GET"), ("/api/v1/children", "POST"), ("/healthz", "GET")):
            start, body = await request(app, path, method)
            headers = dict(start["headers"])
            assert start["status"] == 503, path
            assert headers[b"content-type"] == b"application/problem+json"
            assert int(headers[b"retry-after"]) > 0
            assert b"urn:backa:problem:starting" in body["body"]
        assert (await request(app, "/socket", kind="websocket")) == [{"type": "websocket.close", "code": 1013}]

        release.set()
        await until(lambda: app.ready)
        assert hub.lifespan == ["startup"]  # the hub's own start-up ran before it took over
        assert (await request(app, "/ready"))[0]["status"] == 204
        assert (await request(app, "/health"))[0]["status"] == 204
        assert await server.step("shutdown") == "lifespan.shutdown.complete"
        assert hub.lifespan == ["startup", "shutdown"]
        assert hub.closed == 1
        app.close()
        assert hub.closed == 1

    asyncio.run(run())


def test_a_hub_built_after_the_server_began_to_stop_is_closed_and_never_serves() -> None:
    async def run() -> None:
        release, hub = threading.Event(), Hub()
        app = staged(release, hub)
        server = Server(app)
        await server.step("startup")
        stopping = asyncio.ensure_future(server.step("shutdown"))
        await asyncio.sleep(0.05)
        release.set()  # built while the server stops
        assert await stopping == "lifespan.shutdown.complete"
        assert hub.closed == 1
        assert hub.lifespan == []
        assert not app.ready

    asyncio.run(run())


def test_a_build_that_fails_turns_health_to_503_and_asks_the_server_to_stop() -> None:
    async def run() -> None:
        stopped = threading.Event()

        def build() -> Any:
            raise OSError("the store cannot be reached")

        app = StagedApp(build, on_failure=stopped.set)
        server = Server(app)
        await server.step("startup")
        await until(stopped.is_set)
        assert isinstance(app.failure, OSError)
        start, body = await request(app, "/health")
        assert start["status"] == 503 and b"urn:backa:problem:start-failed" in body["body"]
        assert await server.step("shutdown") == "lifespan.shutdown.complete"

    asyncio.run(run())
