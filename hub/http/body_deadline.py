"""A deadline on a request's body: a caller that trickles its body does not keep a place.

Admission control reads the start of a body (``BODY_FIRST_BYTES``) before the request
takes a place, and a command is never cut short once it runs. The rest of a larger body is
read in the request's place: without a bound on it, a few callers sending their bodies a
byte at a time (or never finishing them) would hold every place for as long as they like
and have everyone else refused. The body must have arrived within the read deadline
(``BACKA_REQUEST_DEADLINE_SECONDS``) of the request's admission; otherwise the request is
answered ``408`` problem+json before its handler runs, and its place is free.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from litestar.types import ASGIApp, Receive, ReceiveMessage, Send

from hub.http.strict_json import BodyRefusedError


def body_deadline(seconds: float) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware factory; ``seconds`` from the request's start to its body's end."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Any, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            deadline = asyncio.get_running_loop().time() + seconds
            whole = False

            async def timed_receive() -> ReceiveMessage:
                nonlocal whole
                if whole:  # a wait for the caller to go, after the body: not the body's deadline
                    return await receive()
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    raise BodyRefusedError(
                        408, "body-too-slow", "body", f"the body did not arrive within {seconds:g} seconds"
                    ) from None
                if message["type"] != "http.request" or not message.get("more_body", False):
                    whole = True
                return message

            await app(scope, timed_receive, send)

        return middleware

    return factory


__all__ = ["body_deadline"]
