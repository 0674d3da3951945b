"""The storage boundary: how a fact becomes a stored record and back.

The stored topic is the published event type (``backa.v1.PlanUpdated``), which names
what happened and never to whom. The stored state is the event's JSON with the trace
context it was appended under (``{"traceparent": ..., "fact": ...}``), passed through
a :class:`Sealer` chosen per child, so that per-child encryption is a sealer and not a
change to the domain. A sealer's output must say by itself which child's key opens it,
because a reader sees only the stored bytes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID, uuid5

from contracts.events import ErasedFact, Event, RecordErased
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from hub.domain.child import Recorded
from hub.keys.child_keys import ChildKeyDestroyedError
from hub.keys.stored_form import STORED_CONTRACTS, StoredContracts

TENANT_KEYS = UUID("6a1e4c52-3f0b-5d8e-9c47-b2a1d0e8f731")
"""Namespace of the ids a tenant's own key is filed under (UUIDv5 of the tenant id)."""
ERASED_AT = datetime(1970, 1, 1, tzinfo=UTC)
"""The timestamp an erased fact is read back with: when it happened is erased too."""


def seal_key_id(fact: Event) -> UUID:
    """Whose key seals a fact: the child's, except the erasure of the child's record,
    which must outlive the child's key and is sealed under the tenant's."""
    if isinstance(fact, RecordErased):
        return uuid5(TENANT_KEYS, fact.tenant_id)
    return fact.child_id


class Sealer(Protocol):
    """Turns a child's plaintext into stored bytes and back."""

    def seal(self, child_id: UUID, plaintext: bytes) -> bytes: ...

    def open(self, sealed: bytes) -> bytes: ...


class PlainSealer:
    """Stores the JSON as it is: the embedded store before per-child keys."""

    def seal(self, child_id: UUID, plaintext: bytes) -> bytes:
        return plaintext

    def open(self, sealed: bytes) -> bytes:
        return sealed


class FactMapper(Mapper):
    """Maps :class:`Recorded` facts to stored events with the published type as topic.

    Every path that reads the log (the aggregate, the views' follower, the relay, the
    proofs and the audit) decodes here, so a fact stored under an older contract is
    brought up to today's by :attr:`contracts` on each of them alike."""

    sealer: Sealer = PlainSealer()
    contracts: StoredContracts = STORED_CONTRACTS

    def __init__(self, transcoder: Transcoder, compressor: object = None, cipher: object = None) -> None:
        super().__init__(transcoder)

    def to_stored_event(self, domain_event: Recorded) -> StoredEvent:  # type: ignore[override]
        fact = domain_event.fact
        plaintext = b'{"traceparent":%s,"fact":%s}' % (
            json.dumps(domain_event.traceparent).encode(),
            fact.model_dump_json().encode(),
        )
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=fact.type_name,
            state=self.sealer.seal(seal_key_id(fact), plaintext),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Recorded:  # type: ignore[override]
        if not self.contracts.knows(stored_event.topic):
            raise ValueError(f"unknown stored event type {stored_event.topic!r}")
        originator_id = stored_event.originator_id
        if type(originator_id) is not UUID:  # PostgreSQL gives a UUID already; SQLite its text
            originator_id = UUID(str(originator_id))
        try:
            opened = self.sealer.open(stored_event.state)
        except ChildKeyDestroyedError as e:
            return Recorded(
                originator_id=originator_id,
                originator_version=stored_event.originator_version,
                timestamp=ERASED_AT,
                fact=ErasedFact(child_id=e.child_id, type_name=stored_event.topic),  # type: ignore[arg-type]
            )
        record = self.contracts.read(stored_event.topic, opened)
        fact = record.fact
        return Recorded(
            originator_id=originator_id,
            originator_version=stored_event.originator_version,
            timestamp=fact.occurred_at,
            fact=fact,
            traceparent=record.traceparent,
        )
