"""The sender takes a receiver's status and headers and never reads the answer's body: a
receiver (or whatever answers at its address) whose answer never ends neither fills the
subscriber's memory nor holds the delivery until it times out, and a 200 so answered counts
as taken."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook

from adapters.signed_webhooks import RetryPolicy, WebhookSender, new_secret
from tests.integration.test_signed_webhooks import free_port

GUARD_SECONDS = 60
"""Not a measure of speed: only so that a sender stuck reading fails this test instead of hanging the run."""


def endless(status: int, stop: threading.Event) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
        await asyncio.to_thread(stop.wait)  # the rest of the answer never comes
        await send({"type": "http.response.body", "body": b""})

    return app


def deliver(status: int) -> tuple[bool, int, str]:
    port, stop = free_port(), threading.Event()
    server = uvicorn.Server(uvicorn.Config(endless(status, stop), host="127.0.0.1", port=port, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.01)

        async def pause(seconds: float) -> None:
            return None

        sender = WebhookSender([Webhook(new_secret())], policy=RetryPolicy(attempts=2, base=0.01), sleep=pause, jitter=lambda: 1.0)
        outcome = asyncio.run(asyncio.wait_for(sender.send(f"http://127.0.0.1:{port}/", "e-1", b"{}"), GUARD_SECONDS))
        return outcome.accepted, outcome.attempts, outcome.reason
    finally:
        stop.set()
        server.should_exit = True
        thread.join(timeout=10)


def test_an_endless_answer_of_200_is_taken_as_accepted() -> None:
    assert deliver(200) == (True, 1, "accepted")


def test_an_endless_answer_of_503_is_tried_again_and_then_given_up() -> None:
    assert deliver(503) == (False, 2, "HTTP 503")  # the status, not a timeout reading the body
