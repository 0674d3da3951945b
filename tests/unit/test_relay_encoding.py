"""The relay writes its CloudEvents directly: the bytes must be those the CloudEvents
library makes, and a unit must open them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from cloudevents.conversion import to_json
from cloudevents.http import CloudEvent

from adapters.cloudevents_codec import encode_sealed, open_event, parse_sealed, structured_json
from adapters.deliveries import Delivery
from adapters.sealed_box import generate_key_pair, load_private_key, load_public_key


def test_the_direct_encoding_is_byte_for_byte_the_librarys() -> None:
    data = {"enc": "hpke", "kid": "0123456789abcdef", "ciphertext": "q+/w=="}
    attributes = {
        "specversion": "1.0",
        "id": "5b873108-5683-4907-8fad-77829dd649de:elevhalsa-ostra",
        "source": "urn:backa:hub:ystad",
        "type": "backa.v1.ConsentRevoked",
        "time": "2026-03-02T09:00:00+00:00",
        "datacontenttype": "application/json",
    }
    made = structured_json(attributes["id"], attributes["source"], attributes["type"], attributes["time"], data)
    assert made == to_json(CloudEvent(attributes, data))


def test_a_sealed_delivery_opens_with_the_units_key(tmp_path: Path) -> None:
    private_path, public_path = generate_key_pair("elevhalsa-ostra", tmp_path)
    delivery = Delivery(
        tenant_id="ystad",
        unit_id="elevhalsa-ostra",
        subject="backa.v1.ystad.elevhalsa-ostra.ConversationHeld",
        msg_id="e1:elevhalsa-ostra",
        type_name="backa.v1.ConversationHeld",
        occurred_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        body={"event": {"summary": "Samtal åäö"}, "access": []},
    )
    raw = encode_sealed(delivery, load_public_key(public_path))
    opened = open_event(parse_sealed(raw), delivery.subject, load_private_key(private_path))
    assert (opened.id, opened.type, opened.time) == (delivery.msg_id, delivery.type_name, "2026-03-02T09:00:00+00:00")
    assert opened.data == delivery.body
