"""Daily digests: what the relay holds for a unit that chose one, and the one message a day
it sends in their stead.

A delivery for a unit with a daily cadence is sealed to the unit's key as if it were sent
at once and held in the relay's store (never in plaintext), with the digest it belongs
to; when the digest goes out, each item is decided again as the consent policy decides
now (a consent withdrawn or ended meanwhile leaves out what it allowed), since the digest,
not the holding, is what discloses it: the first moment at the unit's digest hour, Swedish time, after it was held. Once
that moment has passed, the day's items go out as one CloudEvent (``backa.v1.Digest``)
whose message id is made of the tenant, the unit and the day; a relay that stopped
between sending a digest and forgetting its items finds it as the last message on the
unit's digest subject and does not send it again. A digest too large for one message goes
in parts, in order. This module is pure; the relay stores and sends (:mod:`adapters.jetstream_relay`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

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


def digest_msg_id(tenant_id: str, unit_id: str, day: date) -> str:
    """The same for every send of one unit's digest of one day."""
    return f"digest:{tenant_id}:{unit_id}:{day.isoformat()}"


@dataclass(frozen=True)
class DigestMessage:
    subject: str
    msg_id: str
    part: int
    payload: bytes


DEFAULT_MAX_BYTES = 512 * 1024
"""A digest larger than this goes in parts (the broker refuses a message over its limit, 1 MiB by default)."""


def digest_messages(
    tenant_id: str, unit_id: str, day: date, due_at: datetime, items: list[HeldItem], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[DigestMessage]:
    """A unit's digest of a day: one CloudEvent whose data lists the sealed items in order,
    or, when they are more than ``max_bytes``, several parts in order (``part`` of
    ``parts``; the first part's id is the digest's, each later one's adds ``:<part>``)."""
    ordered = sorted(items, key=lambda i: (i.position, i.index))
    chunks: list[list[HeldItem]] = [[]]
    size = 0
    for item in ordered:
        weight = len(item.event) + len(item.subject)
        if chunks[-1] and size + weight > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += weight
    base = digest_msg_id(tenant_id, unit_id, day)
    subject = unit_subject(tenant_id, unit_id, DIGEST_TYPE)
    out = []
    for part, chunk in enumerate(chunks, 1):
        body = Digest(
            tenant_id=tenant_id,
            unit_id=unit_id,
            day=day,
            part=part,
            parts=len(chunks),
            items=tuple(DigestItem(subject=i.subject, event=json.loads(i.event)) for i in chunk),
        ).body()
        msg_id = base if part == 1 else f"{base}:{part}"
        payload = structured_json(msg_id, source_of(tenant_id), DIGEST_TYPE, due_at.isoformat(), body)
        out.append(DigestMessage(subject, msg_id, part, payload))
    return out


def stored_part(last_msg_id: str | None, tenant_id: str, unit_id: str, day: date) -> int:
    """How many parts of the digest the stream holds, known from the last message on the
    unit's digest subject (parts are sent in order): 0 when it is not this day's digest."""
    base = digest_msg_id(tenant_id, unit_id, day)
    if last_msg_id == base:
        return 1
    if last_msg_id and last_msg_id.startswith(base + ":") and last_msg_id[len(base) + 1 :].isdigit():
        return int(last_msg_id[len(base) + 1 :])
    return 0


__all__ = [
    "DEFAULT_MAX_BYTES",
    "DIGEST_TYPE",
    "DigestMessage",
    "HeldItem",
    "digest_messages",
    "digest_msg_id",
    "digest_slot",
    "stored_part",
]
