"""Deliveries as CloudEvents 1.0 (structured JSON mode), with sealed data.

On the wire a message is a CloudEvent whose attributes say only what the subject
already says (the event type) plus an id, a source and a time; its ``data`` is a sealed
envelope (:mod:`adapters.sealed_box`): ``{"enc": ..., "kid": ..., "ciphertext": ...}``.
The child id, the fields and the legal bases are inside the ciphertext. The ciphertext
is bound to the event id, the subject and the type, so it cannot be moved.

Opened, the same CloudEvent carries the plaintext JSON as its ``data``: that is what
the agency side writes as one JSON line or posts to a local URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cloudevents.conversion import to_json
from cloudevents.exceptions import GenericException as CloudEventError
from cloudevents.http import CloudEvent, from_json
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from adapters.deliveries import Delivery
from adapters.sealed_box import SealError, Sealed, context_info, open_sealed, seal

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"


class NotACloudEvent(Exception):
    """The message is not a CloudEvent this hub sends."""


def source_of(tenant_id: str) -> str:
    return f"urn:backa:hub:{tenant_id}"


def _plain_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def encode_sealed(delivery: Delivery, public_key: X25519PublicKey) -> bytes:
    """The message for one unit: a CloudEvent whose data only that unit's key opens."""
    info = context_info(delivery.msg_id, delivery.subject, delivery.type_name)
    sealed = seal(public_key, _plain_bytes(delivery.body), info)
    return structured_json(
        delivery.msg_id, source_of(delivery.tenant_id), delivery.type_name, delivery.occurred_at.isoformat(), sealed.to_json()
    )


def structured_json(event_id: str, source: str, type_name: str, time: str, data: dict[str, Any]) -> bytes:
    """The bytes ``cloudevents.conversion.to_json`` makes of a CloudEvent with these
    attributes and JSON data, written directly: the library's event object and its
    checks cost more than sealing on the relay's path."""
    return json.dumps(
        {
            "specversion": SPEC_VERSION,
            "id": event_id,
            "source": source,
            "type": type_name,
            "datacontenttype": "application/json",
            "time": time,
            "data": data,
        }
    ).encode()


@dataclass(frozen=True)
class OpenedEvent:
    """A delivery after the unit opened it."""

    id: str
    type: str
    source: str
    time: str | None
    kid: str
    data: dict[str, Any]

    def to_json(self) -> bytes:
        """The opened CloudEvent, one line of JSON."""
        attributes = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "datacontenttype": "application/json",
        }
        if self.time:
            attributes["time"] = self.time
        return to_json(CloudEvent(attributes, self.data))


@dataclass(frozen=True)
class SealedEvent:
    """A received message before it is opened: what may be logged about it."""

    id: str
    type: str
    source: str
    time: str | None
    sealed: Sealed


def parse_sealed(raw: bytes) -> SealedEvent:
    try:
        event = from_json(raw)
    except (CloudEventError, ValueError, TypeError, UnicodeDecodeError) as e:
        raise NotACloudEvent(f"not a CloudEvent ({type(e).__name__})") from None
    if event.get("specversion") != SPEC_VERSION:
        raise NotACloudEvent("not a CloudEvents 1.0 message")
    try:
        sealed = Sealed.from_json(event.data)
    except SealError as e:
        raise NotACloudEvent(str(e)) from None
    return SealedEvent(
        id=str(event["id"]),
        type=str(event["type"]),
        source=str(event["source"]),
        time=str(event.get("time")) if event.get("time") is not None else None,
        sealed=sealed,
    )


def open_event(received: SealedEvent, subject: str, private_key: X25519PrivateKey) -> OpenedEvent:
    """Open a received message with the unit's key; :class:`SealError` if it does not open."""
    plaintext = open_sealed(private_key, received.sealed, context_info(received.id, subject, received.type))
    try:
        data = json.loads(plaintext)
    except ValueError:
        raise SealError("the opened message is not JSON") from None
    if not isinstance(data, dict):
        raise SealError("the opened message is not a JSON object")
    return OpenedEvent(received.id, received.type, received.source, received.time, received.sealed.kid, data)


__all__ = [
    "CONTENT_TYPE",
    "NotACloudEvent",
    "OpenedEvent",
    "SealedEvent",
    "encode_sealed",
    "open_event",
    "parse_sealed",
    "source_of",
    "structured_json",
]
