"""The notices the relay publishes beside the facts, as agencies receive them.

A notice is not a fact of the child's record: the relay derives it from one
(``ConsentWithdrawn``, ``RecordErased``) to tell a unit what it must stop using or
erase. Like the events, each notice is a frozen pydantic model that refuses unknown
fields, so what the relay sends and what ``backa schemas export`` publishes are one
definition. A notice names ids, categories and moments only, never a person or a reason.

A unit that chose a daily digest is sent its deliveries together once a day, as one
:class:`Digest` whose items stay sealed each to the unit's key; notices are never held.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events import Party
from contracts.vocabulary import Category, PartyKind


class Published(BaseModel):
    """What every message the relay publishes beside the facts carries: its kind and tenant."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    tenant_id: str = Field(min_length=1, max_length=100)

    type_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = f"backa.v1.{cls.__name__}"

    def body(self) -> dict[str, Any]:
        """The message as the JSON object a unit opens."""
        return self.model_dump(mode="json")


class Notice(Published):
    """What every notice carries: its kind, and the tenant and child it is about."""

    child_id: UUID


class ConsentRevoked(Notice):
    """A consent the unit received information through was withdrawn: the categories it
    may no longer use for the child, those it cannot see now on any other basis."""

    notice: Literal["consent_revoked"] = "consent_revoked"
    consent_id: UUID
    categories: tuple[Category, ...] = Field(min_length=1)
    withdrawn_at: AwareDatetime
    withdrawal_event_id: UUID
    withdrawn_by: PartyKind


class ConsentReminder(Notice):
    """A reminder about a consent, to the unit that passes it on: ``answer`` names the
    parties (by their ids in the hub) who have not answered the request the unit sent;
    ``expiry`` tells the case owner's unit that the consent ends soon and may be renewed."""

    notice: Literal["consent_reminder"] = "consent_reminder"
    consent_id: UUID
    reminder: Literal["answer", "expiry"]
    parties: tuple[Party, ...] = ()
    reminded_at: AwareDatetime
    reminder_event_id: UUID


class RecordErasedNotice(Notice):
    """The child's record in the hub is erased. What the unit already holds is its own
    to erase under the law it keeps records by; the reason stays in the hub."""

    notice: Literal["record_erased"] = "record_erased"
    erased_at: AwareDatetime
    erasure_event_id: UUID


class DigestItem(BaseModel):
    """One delivery held for a digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str = Field(min_length=1, max_length=300)
    """The subject the item was sealed for, as if it had been sent at once."""
    event: dict[str, Any]
    """The CloudEvent: its data sealed on the wire, opened once handed over."""


class Digest(Published):
    """A unit's daily digest: what it took a digest for, held since its last one, sent once
    a day after the hour it chose (Swedish time). ``items`` are CloudEvents in the order
    their facts were committed, each as the unit would have received it at once: sealed to
    the unit's key on the wire (``subject`` is the subject it is sealed for), opened as
    ``backa subscribe`` hands the digest over. Notices never wait for a digest."""

    unit_id: str = Field(min_length=1, max_length=100)
    day: date
    """The Swedish date the digest is sent on."""
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)
    """A digest too large for one message comes in parts, in order, each with its own id."""
    items: tuple[DigestItem, ...] = Field(min_length=1)


NOTICE_TYPES: dict[str, type[Notice]] = {n.type_name: n for n in (ConsentRevoked, ConsentReminder, RecordErasedNotice)}
"""Every notice the relay publishes, by type name."""

PUBLISHED_TYPES: dict[str, type[Published]] = {**NOTICE_TYPES, Digest.type_name: Digest}
"""Every message the relay publishes beside the facts (notices and the digest), by type name."""


def parse_notice(type_name: str, body: str | bytes | dict[str, Any]) -> Notice:
    """A received notice, checked against its model; ``KeyError`` for an unknown type."""
    model = NOTICE_TYPES[type_name]
    return model.model_validate(body) if isinstance(body, dict) else model.model_validate_json(body)


__all__ = [
    "NOTICE_TYPES",
    "PUBLISHED_TYPES",
    "ConsentReminder",
    "ConsentRevoked",
    "Digest",
    "DigestItem",
    "Notice",
    "Published",
    "RecordErasedNotice",
    "parse_notice",
]
