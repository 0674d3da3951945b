"""A receiver's ``Retry-After`` is the receiver's to write: one that is no number of seconds
(a superscript digit, digits of another script) is ignored and the back-off holds, instead of
ending the delivery with an error in the sender."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest
import uvicorn
from standardwebhooks.webhooks import Webhook

from adapters.signed_webhooks import RetryPolicy, WebhookSender, new_secret, retry_after_seconds
from tests.integration.test_signed_webhooks import Pauses, Scripted


@pytest.mark.parametrize("value", ["²", "١٢", "12\u00b3"])
def test_a_retry_after_of_other_digits_is_no_retry_after(value: str) -> None:
    assert retry_after_seconds(value, datetime(2026, 3, 2, tzinfo=UTC)) is None


def test_a_receiver_answering_503_with_an_odd_retry_after_is_tried_again_on_the_back_off() -> None:
    scripted = Scripted([(503, {"Retry-After": "²"})])
    server = uvicorn.Server(uvicorn.Config(scripted.app(), host="127.0.0.1", port=scripted.port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        recorded = Pauses()
        sender = WebhookSender([Webhook(new_secret())], policy=RetryPolicy(attempts=3, base=0.25), sleep=recorded, jitter=lambda: 1.0)
        outcome = asyncio.run(sender.send(scripted.url, "e-1", b"{}"))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert (outcome.accepted, outcome.attempts, scripted.seen) == (True, 2, 2)
    assert recorded.taken == [0.25]
