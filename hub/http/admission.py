"""Admission control: a bounded amount of work per process, and a deadline on reads.

At most ``in_flight`` requests are handled at once and at most ``queue`` more wait for a
place, each for at most ``queue_seconds``; any other request is answered at once ``503``
problem+json with ``Retry-After``, before its token is checked or the store is asked.
A request that, at the pace places have lately been given back, would wait longer than
that is refused on arrival rather than after waiting. Past that bound more work only
makes every answer slower: refused early, a caller tries again later, and the requests
already accepted keep their latency.

A read (``GET``/``HEAD``) not answered within ``deadline_seconds`` is answered ``503``
the same way. Its handler may still be running in a thread, which cannot be stopped; its
late answer is dropped, and its place is held until it ends, so a stalled store fills the
places and further requests are refused quickly rather than piling up behind it. A read
whose answer was begun but is not taken in time (a caller that does not read it) is
cut off, and its place given back.
Commands are never cut short: a command commits in one atomic append, and a ``503``
sent while it may still commit would tell the caller it failed when it did not; the
store's own deadlines (statement and connection timeouts) bound them instead.

The gate stands in front of the whole application (:func:`in_front`): a refusal is
written before the request is routed, traced or authenticated, so that under a crowd of
callers retrying, refusing them costs the event loop little beside the work admitted.

A body is read before its request takes a place, up to ``BODY_FIRST_BYTES`` (about what
the server buffers for each connection anyway) and within ``deadline_seconds``: a caller
trickling its body, or never finishing it, waits without a place and is answered ``408``,
instead of holding a place that callers with whole requests are refused for.

Exempt: ``/health``, which answers from the event loop (a liveness probe refused under
load would have a busy but healthy process restarted, making the overload worse), and
the static files, read from disk without the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, ReceiveMessage, Send

from hub.http.problems import HTTP_TITLES, PROBLEM_JSON, TYPE_BASE

READS = frozenset({"GET", "HEAD"})
EXEMPT_PATHS = frozenset({"/health", "/ready"})
"""Probes are never refused for load. A liveness probe refused would get a busy process
restarted; a readiness probe refused would take it out of its load balancer and move all
of its load onto the others at once, which then overload in turn. A process past its
queue sheds the excess itself, in milliseconds (``/ready`` asks the store one question
at a time however many probes come)."""
EXEMPT_PREFIXES = ("/static/",)

log = logging.getLogger("hub.http")


def _routed(path: str) -> str:
    """The path as the router matches it (``/health/`` and ``//health`` reach ``/health``),
    so what is exempt is decided on the route, not on how a caller spells it."""
    if "//" not in path and not (path.endswith("/") and len(path) > 1):
        return path
    return "/" + "/".join(part for part in path.split("/") if part)


@dataclass(frozen=True)
class AdmissionLimits:
    in_flight: int
    queue: int
    queue_seconds: float
    deadline_seconds: float
    retry_after_seconds: int


FULL = "the hub is answering as many requests as it can"
WOULD_WAIT_TOO_LONG = "the hub is answering as many requests as it can, and this one would wait too long for its turn"
WAITED_TOO_LONG = "the request waited too long for its turn"
LATE = "the hub could not answer in time"
QUEUE_PER_PLACE = 8
"""Requests that may wait for each place by default: enough that the expected wait, not
the count, refuses (a caller refused retries, and refusing costs too)."""
BODY_FIRST_BYTES = 64 * 1024
"""Bytes of a body read before its request takes a place: uvicorn buffers as much for each
connection before it stops reading, so reading them first costs no more memory; the
rest of a larger body is read in its place, under :mod:`hub.http.body_deadline`."""
SMOOTHING = 0.2
"""The weight of the latest request in the moving average of how long a place is held."""


class _Gate:
    """The places of one event loop: asyncio's semaphore wakes waiters in order.

    A request that would have to queue is refused at once when the places, at the pace
    they have lately been given back, would not come to it within the queue's wait: most
    refusals then take no time, and the queue's deadline is only the backstop."""

    def __init__(self, places: int, clock: Callable[[], float]) -> None:
        self.count = places
        self.places = asyncio.Semaphore(places)
        self.clock = clock
        self.waiting = 0
        self.inside = 0
        self.held: float | None = None

    async def enter(self, queue: int, wait: float) -> str | None:
        """None once in; otherwise why the request is refused."""
        if self.waiting or self.inside >= self.count:  # counted here: the semaphore's own check walks its waiters
            if self.waiting >= queue:
                return FULL
            if self.held is not None and (self.waiting + 1) * self.held / self.count > wait:
                return WOULD_WAIT_TOO_LONG
        self.waiting += 1
        try:
            async with asyncio.timeout(wait):
                await self.places.acquire()
        except TimeoutError:
            return WAITED_TOO_LONG
        finally:
            self.waiting -= 1
        self.inside += 1
        return None

    def leave(self, since: float) -> None:
        held = self.clock() - since
        self.held = held if self.held is None else self.held + SMOOTHING * (held - self.held)
        self.inside -= 1
        self.places.release()


def admission(limits: AdmissionLimits, clock: Callable[[], float] = time.monotonic) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware factory; one set of places shared by every route it wraps."""
    gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()

    def gate() -> _Gate:
        loop = asyncio.get_running_loop()
        found = gates.get(loop)
        if found is None:
            found = gates[loop] = _Gate(limits.in_flight, clock)
        return found

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Any, receive: Receive, send: Send) -> None:
            path = _routed(str(scope.get("path", "")))
            if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
                await app(scope, receive, send)
                return
            if _has_body(scope):
                first = await _body_first(receive, limits.deadline_seconds)
                if first is None:
                    await _too_slow(send, limits.deadline_seconds)
                    return
                if first[-1]["type"] == "http.disconnect":
                    return  # gone before its body arrived: nothing to answer, no place to take
                receive = _replaying(first, receive)
            places = gate()
            refused = await places.enter(limits.queue, limits.queue_seconds)
            if refused is not None:
                await refuse(send, limits.retry_after_seconds, refused)
                return
            leave = partial(places.leave, clock())
            if scope.get("method") not in READS:
                try:
                    await app(scope, receive, send)
                finally:
                    leave()
                return
            await _with_deadline(app, scope, receive, send, limits, leave)

        return middleware

    return factory


def in_front(app: Any, limits: AdmissionLimits, clock: Callable[[], float] = time.monotonic) -> None:
    """Put the gate in front of a Litestar application's routing and middleware (its
    ``before_send`` hooks still apply to a refusal, as to any answer)."""
    app.asgi_handler = admission(limits, clock)(app.asgi_handler)


def _has_body(scope: Any) -> bool:
    """Whether the request announces a body (a length above 0, or chunks)."""
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


async def _body_first(receive: Receive, seconds: float) -> list[ReceiveMessage] | None:
    """The body's messages up to :data:`BODY_FIRST_BYTES` (or to its end, or the caller's
    going away); None when they did not arrive within ``seconds``."""
    messages: list[ReceiveMessage] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            while size < BODY_FIRST_BYTES:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
                size += len(message.get("body", b""))
    except TimeoutError:
        return None
    return messages


def _replaying(first: list[ReceiveMessage], receive: Receive) -> Receive:
    """``receive`` giving the messages already read first, then the rest of the request."""
    pending = list(first)

    async def replay() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _too_slow(send: Send, seconds: float) -> None:
    """``408`` problem+json, as :mod:`hub.http.body_deadline` answers a body too slow in its place."""
    detail = f"the body did not arrive within {seconds:g} seconds"
    body = json.dumps(
        {"type": TYPE_BASE + "body-too-slow", "title": HTTP_TITLES[408], "status": 408, "detail": detail,
         "errors": [{"field": "body", "message": detail}]}
    ).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    with contextlib.suppress(OSError):  # a caller already gone
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 408, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})


async def _with_deadline(
    app: ASGIApp, scope: Any, receive: Receive, send: Send, limits: AdmissionLimits, leave: Callable[[], None]
) -> None:
    late = False
    started = False

    async def guarded_send(message: Message) -> None:
        nonlocal started
        if late:
            return  # the caller was answered 503 already
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    async def guarded_receive() -> Any:
        if late:
            return {"type": "http.disconnect"}
        return await receive()

    task = asyncio.ensure_future(app(scope, guarded_receive, guarded_send))
    try:
        await asyncio.wait({task}, timeout=limits.deadline_seconds)
    except asyncio.CancelledError:
        task.cancel()
        leave()
        raise
    if task.done():
        leave()
        task.result()
        return
    late = True
    task.add_done_callback(lambda t: _finished_late(t, leave))
    log.warning("a read on %s passed its deadline of %ss", scope.get("path_template") or "?", limits.deadline_seconds)
    if not started:
        await refuse(send, limits.retry_after_seconds, LATE)
    else:
        # A response already begun is cut off: its handler is done and only the writing is
        # left, which waits on a caller that does not read; the place is given back.
        task.cancel()


def _finished_late(task: asyncio.Future[None], leave: Callable[[], None]) -> None:
    leave()
    if not task.cancelled() and task.exception() is not None:
        log.warning("a read answered after its deadline failed: %s", type(task.exception()).__name__)


@functools.cache
def _refusal(retry_after: int, detail: str) -> tuple[bytes, tuple[tuple[bytes, bytes], ...]]:
    """The body and headers of a refusal, made once for each reason: a crowd of callers is
    refused with what is already written."""
    body = json.dumps(
        {"type": TYPE_BASE + "overloaded", "title": HTTP_TITLES[503], "status": 503, "detail": detail, "errors": []}
    ).encode()
    headers = (
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
    )
    return body, headers


async def refuse(send: Send, retry_after: int, detail: str) -> None:
    """``503`` problem+json with ``Retry-After`` (RFC 9110 10.2.3), written here: nothing
    of the request is read and nothing is asked of the store."""
    body, headers = _refusal(retry_after, detail)
    with contextlib.suppress(OSError):  # a caller already gone
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 503, "headers": list(headers)}
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})
