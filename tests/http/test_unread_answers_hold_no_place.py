"""A caller that asks for an answer and never reads it does not keep its place: once the
read's deadline passes, the answer it is not taking is cut off and the place given back,
so callers that read their answers are let in again."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.http.admission import AdmissionLimits, admission

LIMITS = AdmissionLimits(in_flight=1, queue=0, queue_seconds=1.0, deadline_seconds=0.2, retry_after_seconds=1)
HANG_GUARD = 10.0


def _scope() -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/api/v1/case-list", "headers": []}


async def _nothing_more() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _answer(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"a long answer", "more_body": False})


def test_a_read_whose_answer_is_never_taken_gives_its_place_back_after_the_deadline() -> None:
    async def scenario() -> list[Any]:
        gated = admission(LIMITS)(_answer)
        never_read = asyncio.Event()

        async def caller_not_reading(message: Any) -> None:
            if message["type"] == "http.response.body":
                await never_read.wait()  # the connection's buffers are full: the write waits for ever

        await asyncio.wait_for(gated(_scope(), _nothing_more, caller_not_reading), HANG_GUARD)
        for _ in range(5):
            await asyncio.sleep(0)  # the cut-off answer's task ends
        taken: list[Any] = []

        async def caller_reading(message: Any) -> None:
            taken.append(message)

        await asyncio.wait_for(gated(_scope(), _nothing_more, caller_reading), HANG_GUARD)
        return taken

    taken = asyncio.run(scenario())
    assert taken[0]["status"] == 200, taken
    assert taken[-1]["body"] == b"a long answer"
