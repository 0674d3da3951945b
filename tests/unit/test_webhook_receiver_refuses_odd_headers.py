"""The receiver's headers are the sender's, and anyone on the network can send some: a
signature beyond ASCII is a refusal (401), not a crash; thousands of signatures cost one HMAC
per secret; a timestamp spelt otherwise than in ASCII digits is refused (400)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.webhook_receiver import Refused, Verified, WebhookVerifier, asgi_app

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def verifier() -> WebhookVerifier:
    return WebhookVerifier([SECRET], clock=lambda: NOW)


@pytest.mark.parametrize("signature", ["v1,\xffabc", "v1,é", "v1,ok v1,ü"])
def test_a_signature_beyond_ascii_is_refused_as_no_match(signature: str) -> None:
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(NOW.timestamp())), "webhook-signature": signature}
    with pytest.raises(Refused) as refused:
        verifier().verify(b"{}", headers)
    assert refused.value.status == 401


def test_a_good_signature_next_to_an_odd_one_is_still_taken() -> None:
    v = verifier()
    good = v.hooks[0].sign("msg_2", NOW, b"{}")
    headers = {"webhook-id": "msg_2", "webhook-timestamp": str(int(NOW.timestamp())), "webhook-signature": f"v1,é {good}"}
    assert v.verify(b"{}", headers).repeat is False


def test_the_receiver_answers_401_to_a_latin1_signature_header() -> None:
    taken: list[Verified] = []

    async def handler(v: Verified) -> None:
        taken.append(v)

    app = asgi_app(verifier(), handler)
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http", "method": "POST", "path": "/",
        "headers": [(b"webhook-id", b"msg_3"), (b"webhook-timestamp", str(int(NOW.timestamp())).encode()),
                    (b"webhook-signature", b"v1,\xff\xfe")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 401
    assert taken == []


class CountingVerifier(WebhookVerifier):
    """Counts the HMACs of the body made while verifying."""

    signed = 0

    def __init__(self, secrets: list[str]) -> None:
        super().__init__(secrets, clock=lambda: NOW)
        for hook in self.hooks:
            made = hook.sign

            def counted(*args: Any, _made: Any = made, **kwargs: Any) -> str:
                CountingVerifier.signed += 1
                return _made(*args, **kwargs)

            hook.sign = counted  # type: ignore[method-assign]


def test_a_header_offering_thousands_of_signatures_costs_one_hmac_per_secret() -> None:
    """The body is hashed once per secret, not once per signature offered: an unsigned sender
    listing many signatures beside a large body cannot make the receiver hash it thousands of times."""
    v = CountingVerifier([SECRET, "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="])
    CountingVerifier.signed = 0
    headers = {"webhook-id": "msg_4", "webhook-timestamp": str(int(NOW.timestamp())),
               "webhook-signature": " ".join(f"v1,{n}" for n in range(5000))}
    with pytest.raises(Refused):
        v.verify(b"x" * 1000, headers)
    assert CountingVerifier.signed == 2


@pytest.mark.parametrize("spelt", ["+{s}", " {s} ", "{u}", "{us}"])
def test_a_timestamp_spelt_otherwise_than_in_ascii_digits_is_refused_though_its_signature_would_match(spelt: str) -> None:
    """The signature covers the timestamp as the sender wrote it: one the receiver would read
    as the same number but that is written otherwise is not the header that was signed."""
    v = verifier()
    stamp = str(int(NOW.timestamp()))
    written = spelt.format(s=stamp, u=stamp.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
                           us=stamp[:4] + "_" + stamp[4:])
    good = v.hooks[0].sign("msg_5", NOW, b"{}")
    with pytest.raises(Refused) as refused:
        v.verify(b"{}", {"webhook-id": "msg_5", "webhook-timestamp": written, "webhook-signature": good})
    assert refused.value.status == 400
