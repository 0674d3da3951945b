"""The receiving end of the hub's signed webhooks, for an agency to run as it is or copy.

A delivery is taken only if one of its ``webhook-signature`` entries is the HMAC of
``id.timestamp.body`` under one of the receiver's secrets (several during a rotation), its
timestamp is within the tolerance of the receiver's clock (an old capture replayed later is
refused), and its ``webhook-id`` was not taken before (a capture replayed within the
tolerance is not handed over twice). A repeat of a taken id is answered 200 without being
handed over again, so the hub's retry of a delivery whose answer was lost stops there.

    python -m adapters.webhook_receiver --secret-file FILE [--port 9000] [--out FILE.jsonl] [--tolerance 300]

Answers: 204 taken, 200 a repeat (not handed over), 400 missing or bad headers, 401 no
signature matches, 403 a timestamp outside the tolerance, 413 a body over the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

log = logging.getLogger("backa.webhook_receiver")

DEFAULT_TOLERANCE = timedelta(minutes=5)
MAX_BODY = 1 << 20
MAX_SIGNATURES = 8
"""Signatures of one delivery looked at: one per secret of the sender, two while rotating; a
header listing thousands costs the receiver nothing beyond the first few."""


class Refused(Exception):
    """The delivery is not taken; ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SeenIds:
    """The ids taken within the tolerance (older ones are refused by their timestamp anyway)."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at REAL NOT NULL)")

    def claim(self, msg_id: str, at: datetime, forget_before: datetime) -> bool:
        """Record ``msg_id``; False if it was recorded already."""
        with self._lock:
            self._db.execute("DELETE FROM seen WHERE at < ?", (forget_before.timestamp(),))
            cursor = self._db.execute("INSERT OR IGNORE INTO seen (id, at) VALUES (?, ?)", (msg_id, at.timestamp()))
            return cursor.rowcount == 1

    def release(self, msg_id: str) -> None:
        """Forget ``msg_id`` (its hand-over failed, so the hub's retry must be taken)."""
        with self._lock:
            self._db.execute("DELETE FROM seen WHERE id = ?", (msg_id,))


@dataclass(frozen=True)
class Verified:
    id: str
    body: bytes
    repeat: bool


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WebhookVerifier:
    """Checks headers, signature, timestamp and id of one delivery."""

    def __init__(
        self,
        secrets: Sequence[str],
        *,
        tolerance: timedelta = DEFAULT_TOLERANCE,
        seen: SeenIds | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.hooks = [Webhook(s) for s in secrets]
        if not self.hooks:
            raise ValueError("a receiver needs at least one secret")
        self.tolerance = tolerance
        self.seen = seen or SeenIds()
        self.clock = clock

    def verify(self, body: bytes, headers: dict[str, str]) -> Verified:
        headers = {k.lower(): v for k, v in headers.items()}
        msg_id, stamp, signatures = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
        if not (msg_id and stamp and signatures):
            raise Refused(400, "missing webhook headers")
        try:
            if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
                raise ValueError  # int() would also take "+1_7", " 17 " and other scripts' digits, signed as if plain
            at = datetime.fromtimestamp(int(stamp), UTC)
        except (ValueError, OverflowError, OSError):
            raise Refused(400, "the timestamp is not a whole number of seconds") from None
        # as bytes: compare_digest refuses a str with a character beyond ASCII (a TypeError, not a refusal)
        offered = [s.encode("utf-8", "surrogateescape") for s in signatures.split(" ")[:MAX_SIGNATURES]]
        # each secret's signature is made once (an HMAC of the whole body), then compared with
        # every one offered, in constant time each: any one match will do
        expected = [h.sign(msg_id, at, body).encode() for h in self.hooks]
        if not any(hmac.compare_digest(e, s) for e in expected for s in offered):
            raise Refused(401, "no signature matches")
        now = self.clock()
        if abs(now - at) > self.tolerance:
            raise Refused(403, "the timestamp is outside the tolerance")
        first = self.seen.claim(msg_id, now, now - 2 * self.tolerance)
        return Verified(msg_id, body, repeat=not first)


Handler = Callable[[Verified], Awaitable[None]]


def asgi_app(verifier: WebhookVerifier, handler: Handler) -> Callable[..., Awaitable[None]]:
    """A bare ASGI application taking POSTs: verify, hand over once, answer."""

    async def app(scope: dict[str, Any], receive: Callable[..., Awaitable[dict[str, Any]]], send: Callable[..., Awaitable[None]]) -> None:
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"]
                if kind == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif kind == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

        async def answer(status: int, text: str = "") -> None:
            await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": text.encode()})

        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await answer(405, "POST only")
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await answer(413, "too large")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            verified = await asyncio.to_thread(verifier.verify, b"".join(chunks), headers)
        except Refused as e:
            await answer(e.status, e.reason)
            return
        if verified.repeat:
            await answer(200, "already taken")
            return
        try:
            await handler(verified)
        except Exception as e:  # noqa: BLE001 - the hub tries again; the id is free for it
            log.error("webhook %s could not be handed over (%s)", verified.id, type(e).__name__)
            await asyncio.to_thread(verifier.seen.release, verified.id)
            await answer(503, "cannot take it now")
            return
        await answer(204)

    return app


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m adapters.webhook_receiver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--secret-file", type=Path, required=True, help="one whsec_ secret a line (two while rotating)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--out", type=Path, default=Path("webhooks.jsonl"), help="each taken body is appended as one line")
    parser.add_argument("--tolerance", type=int, default=int(DEFAULT_TOLERANCE.total_seconds()), help="seconds")
    parser.add_argument("--seen", default=":memory:", help="SQLite file of the ids taken (default: in memory)")
    args = parser.parse_args(argv)
    lines = [s.strip() for s in args.secret_file.read_text(encoding="ascii").splitlines()]
    verifier = WebhookVerifier([s for s in lines if s and not s.startswith("#")],
                               tolerance=timedelta(seconds=args.tolerance), seen=SeenIds(args.seen))

    def append(body: bytes) -> None:
        with open(args.out, "ab") as f:
            f.write(body.rstrip(b"\n") + b"\n")

    async def handler(v: Verified) -> None:
        await asyncio.to_thread(append, v.body)

    uvicorn.run(asgi_app(verifier, handler), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["DEFAULT_TOLERANCE", "Refused", "SeenIds", "Verified", "WebhookVerifier", "asgi_app", "main"]
