"""Daily digests: what the relay holds for a unit that chose one, and the one message a day
it sends in their stead.

A delivery for a unit with a daily cadence is sealed to the unit's key as if it were sent
at once and held in the relay's store (never in plaintext), with the digest it belongs
to: the first moment at the unit's digest hour, Swedish time, after it was held. Once
that moment has passed, the day's items go out as one CloudEvent (``backa.v1.Digest``)
whose message id is made of the tenant, the unit and the day, so a digest sent again
after a relay stopped between sending and forgetting its items is recognised by
JetStream. This module is pure; the relay stores and sends (:mod:`adapters.jetstream_relay`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from adapters.cloudevents_codec import source_of, structured_json
from adapters.deliveries import unit_subject
from contracts.notices import Digest, DigestItem
from contracts.vocabulary import SWEDISH_TIME

DIGEST_TYPE = Digest.type_name


@dataclass(frozen=True)
class HeldItem:
    """One sealed delivery waiting for its unit's digest."""

    msg_id: str
    tenant_id: str
    unit_id: str
    child_id: str | None
    day: date
    """The Swedish date of the digest it goes out in."""
    due_at: datetime
    """When that digest may be sent (UTC)."""
    position: int
    """The log position of its fact, and ``index`` its place among the batch's held items:
    the order the digest lists the items in."""
    index: int
    subject: str
    event: bytes
    """The sealed CloudEvent, exactly as it would have been published at once."""


def digest_slot(held_at: datetime, hour: int) -> tuple[date, datetime]:
    """The digest an item held at ``held_at`` goes out in: its Swedish date and the moment
    (UTC) it is due, the first ``hour``:00 Swedish time after ``held_at``."""
    local = held_at.astimezone(SWEDISH_TIME)
    day = local.date()
    while True:
        due = datetime.combine(day, time(hour), tzinfo=SWEDISH_TIME)
        if due > local:
            return day, due.astimezone(UTC)
        day += timedelta(days=1)


def digest_msg_id(tenant_id: str, unit_id: str, day: date, suffix: str = "") -> str:
    """The same for every send of one unit's digest of one day (``suffix``: the relay
    partition's, when the children are shared among several relays)."""
    return f"digest:{tenant_id}:{unit_id}:{day.isoformat()}{suffix}"


@dataclass(frozen=True)
class DigestMessage:
    subject: str
    msg_id: str
    payload: bytes


def digest_message(tenant_id: str, unit_id: str, day: date, due_at: datetime, items: list[HeldItem], suffix: str = "") -> DigestMessage:
    """The one CloudEvent of a unit's digest of a day; its data lists the sealed items in order."""
    ordered = sorted(items, key=lambda i: (i.position, i.index))
    body = Digest(
        tenant_id=tenant_id,
        unit_id=unit_id,
        day=day,
        items=tuple(DigestItem(subject=i.subject, event=json.loads(i.event)) for i in ordered),
    ).body()
    msg_id = digest_msg_id(tenant_id, unit_id, day, suffix)
    payload = structured_json(msg_id, source_of(tenant_id), DIGEST_TYPE, due_at.isoformat(), body)
    return DigestMessage(unit_subject(tenant_id, unit_id, DIGEST_TYPE), msg_id, payload)


def is_digest(raw: dict[str, Any]) -> bool:
    return raw.get("type") == DIGEST_TYPE


__all__ = ["DIGEST_TYPE", "DigestMessage", "HeldItem", "digest_message", "digest_msg_id", "digest_slot", "is_digest"]
