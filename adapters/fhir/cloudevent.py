"""A child's FHIR bundle as the data of a CloudEvent for the relay.

The bundle becomes a :class:`~adapters.deliveries.Delivery` like any other, so it is
sealed to the receiving unit's key by :func:`adapters.cloudevents_codec.encode_sealed`
and opened by the unit's subscriber with :func:`adapters.cloudevents_codec.open_event`;
the personnummer and everything else in it stay inside the ciphertext. The bundle must be
made from a read the core recorded for that unit (:func:`adapters.fhir.child_bundle`).
"""

from __future__ import annotations

import json
from datetime import datetime

from fhir.resources.R4B.bundle import Bundle

from adapters.cloudevents_codec import OpenedEvent
from adapters.deliveries import Delivery
from adapters.fhir.bundle import to_json

BUNDLE_TYPE = "backa.v1.fhir.Bundle"
"""The CloudEvent type of a delivered bundle; its data is the Bundle's FHIR JSON."""


def bundle_delivery(
    bundle: Bundle, *, tenant_id: str, unit_id: str, subject: str, msg_id: str, child_id: str, at: datetime
) -> Delivery:
    """The bundle as one message for one unit, before it is sealed."""
    return Delivery(
        tenant_id=tenant_id,
        unit_id=unit_id,
        subject=subject,
        msg_id=msg_id,
        type_name=BUNDLE_TYPE,
        occurred_at=at,
        body=json.loads(to_json(bundle)),
        child_id=child_id,
    )


def bundle_of(opened: OpenedEvent) -> Bundle:
    """The bundle an opened delivery carries, validated again on the receiving side."""
    if opened.type != BUNDLE_TYPE:
        raise ValueError("the delivery does not carry a FHIR bundle")
    return Bundle.model_validate(opened.data)
