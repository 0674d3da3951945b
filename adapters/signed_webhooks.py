"""Signed webhooks (the Standard Webhooks specification): how `backa subscribe --post` hands
an opened event to an agency's HTTP endpoint so that the receiver can tell it came from the
holder of the unit's secret, unchanged, and not replayed.

- Each POST carries ``webhook-id`` (the CloudEvent id, the same on every attempt and every
  redelivery, so the receiver deduplicates on it), ``webhook-timestamp`` (the moment of the
  attempt) and ``webhook-signature``: ``v1,`` and the HMAC-SHA256 of ``id.timestamp.body``
  under each secret of the unit's secret file, space-separated. A file of two secrets signs
  with both, so a unit rotates without a gap (see the README).
- 5xx, 408, 429, a timeout or no connection are tried again with exponential back-off and
  jitter (a ``Retry-After`` is honoured up to a cap); any other 4xx is final. Every call
  has a deadline.
- After the last attempt, or a final answer, the delivery is written to a dead-letter file
  (SQLite) the operator lists and replays with ``backa webhooks``. Only then, or once the
  receiver took it, does the subscriber acknowledge the message: nothing is lost silently.
  If even the dead-letter file cannot be written, the message is offered again later.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import logging
import os
import random
import secrets as secrets_module
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from standardwebhooks.webhooks import Webhook

from adapters.agency_subscriber import TransientDeliveryError
from adapters.cloudevents_codec import CONTENT_TYPE, OpenedEvent
from adapters.delivery_reports import DeliveryReporter, tenant_of
from adapters.migrations import WEBHOOKS, migrate_sqlite

log = logging.getLogger("backa.webhooks")

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix the specification gives, not a secret
RETRIED_4XX = frozenset({408, 429})


class SecretFileError(Exception):
    """The secret file is missing, unreadable, or holds no usable ``whsec_`` secret."""


def new_secret() -> str:
    """A fresh secret: ``whsec_`` and 32 random bytes in base64, as the specification shows."""
    return SECRET_PREFIX + base64.b64encode(secrets_module.token_bytes(32)).decode()


def write_secret(path: Path) -> str:
    """Write a new secret to ``path``, readable by its owner only; never overwrites."""
    secret = new_secret()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SecretFileError(f"{path.name} exists; a secret is never overwritten") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secret + "\n")
    return secret


def load_secrets(path: Path) -> list[Webhook]:
    """The secrets in ``path``: one ``whsec_`` secret a line; blank lines and ``#`` comments skipped."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise SecretFileError(f"cannot read the secret file {Path(path).name} ({type(e).__name__})") from None
    found = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not found:
        raise SecretFileError(f"the secret file {Path(path).name} holds no secret")
    hooks = []
    for n, line in enumerate(found, 1):
        if not line.startswith(SECRET_PREFIX):
            raise SecretFileError(f"secret {n} of {Path(path).name} does not start with {SECRET_PREFIX}")
        try:
            hooks.append(Webhook(line))
        except Exception:  # noqa: BLE001 - bad base64 or empty: the secret itself is never repeated
            raise SecretFileError(f"secret {n} of {Path(path).name} is not base64 of at least one byte") from None
    return hooks


def signed_headers(hooks: Sequence[Webhook], msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``, one signature per secret."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(h.sign(msg_id, at, body) for h in hooks),
    }


# -- the dead letters ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    id: str
    url: str
    body: bytes
    reason: str
    attempts: int
    failed_at: str
    type: str = ""
    source: str = ""
    """The CloudEvent's type and source, for the report to the hub (:mod:`adapters.delivery_reports`)."""


class DeadLetters:
    """Deliveries no receiver took, in a private SQLite file, until replayed."""

    def __init__(self, path: Path) -> None:
        migrate_sqlite(path, WEBHOOKS)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")

    def add(self, letter: DeadLetter) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO dead_letters (id, url, body, reason, attempts, failed_at, type, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (letter.id, letter.url, letter.body, letter.reason, letter.attempts, letter.failed_at, letter.type, letter.source),
            )

    def remove(self, msg_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM dead_letters WHERE id = ?", (msg_id,))

    def list(self) -> list[DeadLetter]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, url, body, reason, attempts, failed_at, type, source FROM dead_letters ORDER BY failed_at, id"
            )
            return [DeadLetter(r[0], r[1], bytes(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows]

    def close(self) -> None:
        self._db.close()


# -- sending with retries --------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a delivery is tried before it is dead-lettered."""

    attempts: int = 6
    base: float = 1.0  # seconds before the second attempt; doubled each time after
    cap: float = 60.0  # no pause longer, whatever the back-off or Retry-After says
    timeout: float = 10.0  # the deadline of each HTTP call

    def delay(self, attempt: int, retry_after: float | None, jitter: Callable[[], float]) -> float:
        """The pause after failed attempt ``attempt`` (1-based): full back-off times a jitter
        in [0.5, 1], or the receiver's Retry-After when it asks for longer."""
        backoff = min(self.cap, self.base * 2 ** (attempt - 1)) * (0.5 + 0.5 * jitter())
        return min(self.cap, max(backoff, retry_after or 0.0))


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) in seconds from ``now``."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() also takes "²", which float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    attempts: int
    reason: str  # "accepted", or why it was not: a status or a transport error's name
    stopped: bool = False  # given up between attempts because the subscriber is stopping


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WebhookSender:
    """Posts one body to one URL, signed, with retries; says whether the receiver took it."""

    def __init__(
        self,
        hooks: Sequence[Webhook],
        *,
        policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        jitter: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not hooks:
            raise SecretFileError("a signed webhook needs at least one secret")
        self.hooks = list(hooks)
        self.policy = policy
        self.clock = clock
        self.sleep = sleep or self._pause
        self.jitter = jitter
        self.transport = transport
        self.stopping: asyncio.Event | None = None

    def stop_on(self, stopping: asyncio.Event) -> None:
        """Give up between attempts once ``stopping`` is set (the message is offered again later)."""
        self.stopping = stopping

    async def _pause(self, seconds: float) -> None:
        if self.stopping is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def send(self, url: str, msg_id: str, body: bytes) -> Outcome:
        reason = "not tried"
        async with httpx.AsyncClient(timeout=self.policy.timeout, transport=self.transport) as client:
            for attempt in range(1, self.policy.attempts + 1):
                headers = {"content-type": CONTENT_TYPE, **signed_headers(self.hooks, msg_id, self.clock(), body)}
                retry_after: float | None = None
                try:
                    # the answer's status and headers are all that count: its body is never read,
                    # so a receiver answering without end holds neither memory nor this delivery
                    async with client.stream("POST", url, content=body, headers=headers) as response:
                        status, answered = response.status_code, response.headers
                except httpx.HTTPError as e:  # timeouts, refused or cut connections
                    reason = type(e).__name__
                else:
                    if 200 <= status < 300:
                        return Outcome(True, attempt, "accepted")
                    reason = f"HTTP {status}"
                    if 400 <= status < 500 and status not in RETRIED_4XX:
                        return Outcome(False, attempt, reason)  # the receiver refused it: trying again will not help
                    retry_after = retry_after_seconds(answered.get("retry-after"), self.clock())
                if attempt < self.policy.attempts:
                    pause = self.policy.delay(attempt, retry_after, self.jitter)
                    log.warning("webhook %s: attempt %d failed (%s); next in %.2f s", msg_id, attempt, reason, pause)
                    await self.sleep(pause)
                    if self.stopping is not None and self.stopping.is_set():
                        return Outcome(False, attempt, reason, stopped=True)
        return Outcome(False, self.policy.attempts, reason)


class SignedWebhookSink:
    """The subscriber's sink for ``--post`` with a secret: signed, retried, dead-lettered."""

    def __init__(self, url: str, sender: WebhookSender, dead_letters: DeadLetters, reporter: DeliveryReporter | None = None) -> None:
        self.url = url
        self.sender = sender
        self.dead_letters = dead_letters
        self.reporter = reporter
        """Tells the hub of each dead letter (its id, type and reason, never its body)."""
        self.accepted = 0
        self.dead_lettered = 0

    def known_ids(self) -> Iterable[str]:
        return []

    async def deliver(self, event: OpenedEvent) -> None:
        body = event.to_json()
        outcome = await self.sender.send(self.url, event.id, body)
        if outcome.accepted:
            self.accepted += 1
            return
        if outcome.stopped:
            raise TransientDeliveryError(f"stopping after attempt {outcome.attempts} ({outcome.reason})")
        at = self.sender.clock()
        letter = DeadLetter(event.id, self.url, body, outcome.reason, outcome.attempts, at.isoformat(), event.type, event.source)
        try:
            await asyncio.to_thread(self.dead_letters.add, letter)
        except sqlite3.Error as e:
            raise TransientDeliveryError(f"the receiver did not take it and the dead-letter file failed ({type(e).__name__})") from None
        self.dead_lettered += 1
        log.error("webhook %s (%s) dead-lettered after %d attempts: %s", event.id, event.type, outcome.attempts, outcome.reason)
        if self.reporter is not None:
            await self.reporter.failed_delivery(
                tenant_id=tenant_of(event.source), message_id=event.id, event_type=event.type,
                reason=outcome.reason, attempts=outcome.attempts, at=at,
            )

    def close(self) -> None:
        self.dead_letters.close()


async def replay(
    dead_letters: DeadLetters, sender: WebhookSender, ids: Sequence[str] = (), url: str | None = None,
    reporter: DeliveryReporter | None = None,
) -> list[tuple[str, Outcome]]:
    """Send the dead letters again (all, or those named), freshly signed under their own id;
    each one the receiver takes leaves the list (and ``reporter`` tells the hub it was
    delivered), the others stay with the new reason."""
    letters = [d for d in await asyncio.to_thread(dead_letters.list) if not ids or d.id in ids]
    outcomes = []
    for d in letters:
        outcome = await sender.send(url or d.url, d.id, d.body)
        at = sender.clock()
        if outcome.accepted:
            await asyncio.to_thread(dead_letters.remove, d.id)
            if reporter is not None and d.type and d.source:
                await reporter.recovered(
                    tenant_id=tenant_of(d.source), message_id=d.id, event_type=d.type, attempts=d.attempts + outcome.attempts, at=at
                )
        else:
            failed = DeadLetter(
                d.id, url or d.url, d.body, outcome.reason, d.attempts + outcome.attempts, at.isoformat(), d.type, d.source
            )
            await asyncio.to_thread(dead_letters.add, failed)
        outcomes.append((d.id, outcome))
    return outcomes


__all__ = [
    "DeadLetter",
    "DeadLetters",
    "Outcome",
    "RetryPolicy",
    "SecretFileError",
    "SignedWebhookSink",
    "WebhookSender",
    "load_secrets",
    "new_secret",
    "replay",
    "retry_after_seconds",
    "signed_headers",
    "write_secret",
]
