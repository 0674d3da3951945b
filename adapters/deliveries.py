"""What the relay sends to whom: for each committed fact and each unit, only what the
consent policy lets that unit see now.

This module is pure: it is given the fact, the child's facts as the policy needs them,
the units and the moment, and returns the deliveries. Sealing and sending are the
relay's (:mod:`adapters.jetstream_relay`).

- A fact's payload is split by the information category each field carries. A unit gets
  the fact with the envelope (ids, time, actor) and only the categories the policy
  allows it now; a unit allowed no category gets nothing.
- A unit's subscription (:class:`contracts.directory.Subscription`) narrows that further:
  a fact of a type it did not ask for is not sent, and categories it did not ask for are
  stripped (a fact left with none is not sent). The notices below are sent whatever it
  chose, and at once (:func:`is_notice`), even to a unit that takes a daily digest.
- Reads (``InformationAccessed``) and auditors' findings on them (``AccessReviewed``) are
  never delivered to units: the access log belongs to the family and the auditors.
- A withdrawal (``ConsentWithdrawn``) of a consent that was in effect sends every unit it
  named a revocation notice (``backa.v1.ConsentRevoked``) that lists the categories the
  unit may no longer use for that child: those it could see through the consent and
  cannot see now on any other basis.
- A reminder about a consent (``ConsentReminderSent``) sends the one unit it names a
  reminder notice (``backa.v1.ConsentReminder``): the unit that asked, with the parties who
  have not answered, or the case owner's unit before the consent ends.
- An erasure (``RecordErased``) sends every unit of the tenant an erasure notice
  (``backa.v1.RecordErasedNotice``) with the child's id and nothing else: the hub can no
  longer tell which unit was sent what, and a copy an agency keeps is its own to erase
  under the law it keeps records by.

The notices' shapes are published contracts (:mod:`contracts.notices`), exported with the
events' schemas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import datetime
from typing import Any

from contracts.directory import Cadence, Subscription
from contracts.events import (
    ENVELOPE_FIELDS,
    AccessReviewed,
    ConcernReportFiled,
    ConsentReminderSent,
    ConsentWithdrawn,
    DiscoveryCardSubmitted,
    Event,
    FeedbackSent,
    InformationAccessed,
    RecordErased,
)
from contracts.notices import ConsentReminder, ConsentRevoked, RecordErasedNotice
from contracts.vocabulary import UnitKind
from consent import (
    ChildFacts,
    ConsentStatus,
    Information,
    PolicyRules,
    Viewer,
    ViewerKind,
    consent_status,
    decide,
)

SUBJECT_ROOT = "backa.v1"
STREAM_SUBJECTS = f"{SUBJECT_ROOT}.>"
REVOCATION_TYPE = ConsentRevoked.type_name
ERASURE_TYPE = RecordErasedNotice.type_name
REMINDER_TYPE = ConsentReminder.type_name
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def is_subject_token(value: str) -> bool:
    """Whether a tenant or unit id can stand as one token of a NATS subject."""
    return bool(_TOKEN.match(value))


def short_type(type_name: str) -> str:
    return type_name.rsplit(".", 1)[-1]


def unit_subject(tenant_id: str, unit_id: str, type_name: str) -> str:
    """``backa.v1.<tenant>.<unit>.<EventType>``."""
    return f"{SUBJECT_ROOT}.{tenant_id}.{unit_id}.{short_type(type_name)}"


def unit_filter(tenant_id: str, unit_id: str) -> str:
    """Every subject of one unit (``*`` as tenant: the unit in any tenant)."""
    return f"{SUBJECT_ROOT}.{tenant_id}.{unit_id}.>"


@dataclass(frozen=True)
class UnitRecipient:
    """A unit the relay may deliver to."""

    tenant_id: str
    unit_id: str
    kind: UnitKind
    subscription: Subscription = field(default=Subscription(), compare=False)
    """What the unit has chosen to be sent; the consent policy still decides what may be."""

    @cached_property
    def viewer(self) -> Viewer:
        return Viewer(ViewerKind.STAFF, self.tenant_id, f"unit:{self.unit_id}", unit_id=self.unit_id, unit_kind=self.kind)


@dataclass(frozen=True)
class LogEntry:
    """One committed fact: its position in the hub's log and its version in the child's record."""

    position: int
    version: int
    fact: Event | None
    """``None`` for a position nothing is delivered for: a read, an erased fact, another partition's child."""
    traceparent: str | None = None
    """The trace context the fact was appended under, continued by its deliveries."""


@dataclass(frozen=True)
class Delivery:
    """One message for one unit, before it is sealed."""

    tenant_id: str
    unit_id: str
    subject: str
    msg_id: str
    """Deterministic (event id and unit), so a resend is recognised as the same message."""
    type_name: str
    occurred_at: datetime
    body: dict[str, Any] = field(compare=False)
    """The plaintext: never leaves the relay unsealed."""
    traceparent: str | None = field(default=None, compare=False)
    child_id: str | None = field(default=None, compare=False)
    """Whose information the message carries, so that an erasure can take it back out of
    the stream; ``None`` for an erasure notice, which must stay."""


NOTICE_TYPE_NAMES = frozenset({REVOCATION_TYPE, ERASURE_TYPE, REMINDER_TYPE})


def is_notice(delivery: Delivery) -> bool:
    """A notice the unit must act on: sent at once, whatever the unit chose."""
    return delivery.type_name in NOTICE_TYPE_NAMES


def split_by_cadence(
    deliveries: Sequence[Delivery], recipients: Iterable[UnitRecipient]
) -> tuple[list[Delivery], list[Delivery]]:
    """``(at once, held for a digest)``: a unit with a daily cadence has its deliveries
    held, except notices, which every unit gets at once."""
    daily = {(r.tenant_id, r.unit_id) for r in recipients if r.subscription.cadence is Cadence.DAILY}
    now: list[Delivery] = []
    held: list[Delivery] = []
    for d in deliveries:
        (held if (d.tenant_id, d.unit_id) in daily and not is_notice(d) else now).append(d)
    return now, held


def sent_to(fact: Event) -> str | None:
    """The unit a fact was sent to in the process, as the child's record view reads it."""
    if isinstance(fact, DiscoveryCardSubmitted | FeedbackSent | ConcernReportFiled):
        return fact.to_unit_id
    return None


def _is_empty(value: Any) -> bool:
    return value in ("", None, (), [], {})


def plan_deliveries(
    entry: LogEntry,
    recipients: Sequence[UnitRecipient],
    facts_now: ChildFacts,
    at: datetime,
    rules: PolicyRules,
    *,
    facts_before: ChildFacts | None = None,
) -> list[Delivery]:
    """Every delivery one fact makes: the redacted fact to each unit allowed some of it,
    then, for a withdrawal, the revocation notices. ``facts_before`` is the child's facts
    just before this fact; it is needed only for a withdrawal."""
    fact = entry.fact
    if fact is None or isinstance(fact, (InformationAccessed, AccessReviewed)):
        return []
    units = sorted((r for r in recipients if r.tenant_id == fact.tenant_id), key=lambda r: r.unit_id)
    if isinstance(fact, RecordErased):
        return [replace(n, traceparent=entry.traceparent) for n in erasure_notices(fact, units)]
    parts = _Parts(fact)
    wanted = short_type(fact.type_name)
    out = [
        d
        for r in units
        if r.subscription.wants_type(wanted) and (d := parts.delivery(r, facts_now, at, rules, entry.traceparent)) is not None
    ]
    if isinstance(fact, ConsentReminderSent):
        out.extend(reminder_notices(fact, units, entry.traceparent))
    if isinstance(fact, ConsentWithdrawn) and facts_before is not None:
        for notice in revocation_notices(fact, units, facts_before, facts_now, at, rules):
            out.append(replace(notice, traceparent=entry.traceparent) if entry.traceparent else notice)
    return out


class _Parts:
    """One fact split once by category, for every unit it is redacted for: the split, the
    envelope and what the policy is asked depend on the fact alone, not on the unit."""

    __slots__ = ("envelope", "fact", "groups")

    def __init__(self, fact: Event) -> None:
        self.fact = fact
        to_unit = sent_to(fact)
        split = fact.split_by_category()
        self.groups = [
            (
                Information(category, fact.actor.unit_id, to_unit, fact.withheld_from_guardians, fact.occurred_at),
                split[category],
            )
            for category in sorted(split, key=lambda c: c.value)
            if not all(_is_empty(v) for v in split[category].values())
        ]
        self.envelope: dict[str, Any] | None = None

    def delivery(
        self, unit: UnitRecipient, facts: ChildFacts, at: datetime, rules: PolicyRules, traceparent: str | None
    ) -> Delivery | None:
        if not self.groups:
            return None
        viewer = unit.viewer
        fact = self.fact
        fields: dict[str, Any] = {}
        access = []
        chosen = unit.subscription
        for info, group in self.groups:
            if not chosen.wants_category(info.category):
                continue  # the unit did not ask for it: narrowed after consent, never widened
            decision = decide(viewer, facts, info, at, rules)
            if not decision.allowed or decision.basis is None:
                continue
            fields.update(group)
            access.append(
                {
                    "category": info.category.value,
                    "basis": decision.basis.value,
                    "consent_id": str(decision.consent_id) if decision.consent_id else None,
                }
            )
        if not access:
            return None
        named = getattr(fact, "named_unit_id", None)
        if named and unit.unit_id == fact.actor.unit_id and "to_unit_id" in fields:
            # the discoverer's own card as they sent it: where it went instead would tell
            # where the child's case is held (the hub's reads show it the same way)
            fields = {k: v for k, v in fields.items() if k not in ("named_unit_id", "kind")}
            fields["to_unit_id"] = named
        if self.envelope is None:
            self.envelope = fact.model_dump(mode="json", include=set(ENVELOPE_FIELDS))
        return Delivery(
            tenant_id=fact.tenant_id,
            unit_id=unit.unit_id,
            subject=unit_subject(fact.tenant_id, unit.unit_id, fact.type_name),
            msg_id=f"{fact.event_id}:{unit.unit_id}",
            type_name=fact.type_name,
            occurred_at=fact.occurred_at,
            body={"event": {**self.envelope, **fields}, "access": access},
            traceparent=traceparent,
            child_id=str(fact.child_id),
        )


def revocation_notices(
    fact: ConsentWithdrawn,
    units: Iterable[UnitRecipient],
    facts_before: ChildFacts,
    facts_now: ChildFacts,
    at: datetime,
    rules: PolicyRules,
) -> list[Delivery]:
    """A notice to each unit that could see something through the withdrawn consent and may
    not see it now, naming the categories it may no longer use."""
    consent = next((c for c in facts_before.consents if c.consent_id == fact.consent_id), None)
    if consent is None or consent_status(consent, facts_before, fact.occurred_at, rules) is not ConsentStatus.IN_EFFECT:
        return []
    out = []
    for unit in units:
        if not consent.names_recipient(unit.unit_id, unit.kind):
            continue
        viewer = unit.viewer
        lost = sorted(
            (c for c in consent.categories if not decide(viewer, facts_now, Information(c), at, rules).allowed),
            key=lambda c: c.value,
        )
        if not lost:
            continue
        notice = ConsentRevoked(
            tenant_id=fact.tenant_id,
            child_id=fact.child_id,
            consent_id=fact.consent_id,
            categories=tuple(lost),
            withdrawn_at=fact.occurred_at,
            withdrawal_event_id=fact.event_id,
            withdrawn_by=fact.party.kind,
        )
        out.append(
            Delivery(
                tenant_id=fact.tenant_id,
                unit_id=unit.unit_id,
                subject=unit_subject(fact.tenant_id, unit.unit_id, REVOCATION_TYPE),
                msg_id=f"{fact.event_id}:{unit.unit_id}:revoked",
                type_name=REVOCATION_TYPE,
                occurred_at=fact.occurred_at,
                body=notice.body(),
                child_id=str(fact.child_id),
            )
        )
    return out


def reminder_notices(fact: ConsentReminderSent, units: Iterable[UnitRecipient], traceparent: str | None = None) -> list[Delivery]:
    """The reminder's notice to the one unit it names: the unit that asked (which reaches the
    family through its own channels) or the case owner's."""
    body = ConsentReminder(
        tenant_id=fact.tenant_id, child_id=fact.child_id, consent_id=fact.consent_id, reminder=fact.reminder,
        parties=fact.parties, reminded_at=fact.occurred_at, reminder_event_id=fact.event_id,
    ).body()
    return [
        Delivery(
            tenant_id=fact.tenant_id,
            unit_id=unit.unit_id,
            subject=unit_subject(fact.tenant_id, unit.unit_id, REMINDER_TYPE),
            msg_id=f"{fact.event_id}:{unit.unit_id}:reminder",
            type_name=REMINDER_TYPE,
            occurred_at=fact.occurred_at,
            body=body,
            traceparent=traceparent,
            child_id=str(fact.child_id),
        )
        for unit in units
        if unit.unit_id == fact.to_unit_id
    ]


def erasure_notices(fact: RecordErased, units: Iterable[UnitRecipient]) -> list[Delivery]:
    """A notice to each unit that the child's record in the hub is erased. The reason is
    the administrator's and stays in the hub."""
    body = RecordErasedNotice(
        tenant_id=fact.tenant_id, child_id=fact.child_id, erased_at=fact.occurred_at, erasure_event_id=fact.event_id
    ).body()
    return [
        Delivery(
            tenant_id=fact.tenant_id,
            unit_id=unit.unit_id,
            subject=unit_subject(fact.tenant_id, unit.unit_id, ERASURE_TYPE),
            msg_id=f"{fact.event_id}:{unit.unit_id}:erased",
            type_name=ERASURE_TYPE,
            occurred_at=fact.occurred_at,
            body=dict(body),
        )
        for unit in units
    ]


__all__ = [
    "ERASURE_TYPE",
    "REMINDER_TYPE",
    "REVOCATION_TYPE",
    "STREAM_SUBJECTS",
    "SUBJECT_ROOT",
    "Delivery",
    "LogEntry",
    "UnitRecipient",
    "erasure_notices",
    "is_notice",
    "is_subject_token",
    "plan_deliveries",
    "reminder_notices",
    "revocation_notices",
    "sent_to",
    "short_type",
    "split_by_cadence",
    "unit_filter",
    "unit_subject",
]
