"""The API's published shapes: write schemas for request bodies, read schemas for answers.

Write schemas check shape only (fields, types, lengths); every rule of the support
process and of consent is the core's. Both kinds refuse unknown fields, so a client
that misspells a field hears about it instead of having it ignored. Nested values
reuse the published language in ``contracts.events``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.vocabulary import (
    Area,
    Category,
    LegalBasis,
    PartyKind,
    ReviewOutcome,
    Role,
    UnitKind,
)
from hub.application.review_rules import RuleCode

UnitId = str
Id = str


class ReadSchema(BaseModel):
    """An answer: exactly these fields, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- read schemas: answers to commands -------------------------------------------------


class ChildCreated(ReadSchema):
    child_id: UUID


class Done(ReadSchema):
    """The fact was recorded for the child."""

    child_id: UUID


class CardCreated(ReadSchema):
    child_id: UUID
    card_id: str


class ConversationCreated(ReadSchema):
    child_id: UUID
    conversation_id: str


class ConsentCreated(ReadSchema):
    child_id: UUID
    consent_id: UUID


class RatingCreated(ReadSchema):
    child_id: UUID
    rating_id: str


class AreaScoreOut(ReadSchema):
    area: Area
    score: float | None


class MeetingHeld(ReadSchema):
    child_id: UUID
    joint_compass: list[AreaScoreOut]


class PlanSaved(ReadSchema):
    child_id: UUID
    plan_version: int


class ReportCreated(ReadSchema):
    child_id: UUID
    report_id: str


# -- read schemas: views ---------------------------------------------------------------


class RecordItemOut(ReadSchema):
    """One category's part of one fact, shown because ``basis`` allows it now."""

    event_id: UUID
    type: str
    category: Category
    occurred_at: datetime
    unit_id: UnitId | None
    basis: LegalBasis | None
    fields: dict[str, Any]


class ChildView(ReadSchema):
    child_id: UUID
    as_of: datetime
    items: list[RecordItemOut]


class TimelineStep(ReadSchema):
    event_id: UUID
    type: str
    occurred_at: datetime
    unit_id: UnitId | None
    categories: list[Category]


class Timeline(ReadSchema):
    child_id: UUID
    as_of: datetime
    steps: list[TimelineStep]


class CaseRow(ReadSchema):
    child_id: UUID
    name: str | None
    barnkontakt_staff_id: str | None
    barnkontakt_unit_id: str | None
    decision: str | None
    new_cards: int
    awaiting_feedback: int
    overdue_actions: int
    next_step_due: date | None
    no_next_step: bool
    closed: bool


class FamilyChild(ReadSchema):
    child_id: UUID


class PartyAnswer(ReadSchema):
    kind: PartyKind
    party_id: str
    answer: str
    is_you: bool


class ConsentOut(ReadSchema):
    consent_id: UUID
    status: str
    purpose: str
    categories: list[Category]
    recipient_unit_ids: list[UnitId]
    recipient_unit_kinds: list[UnitKind]
    requested_by_unit_id: UnitId | None
    valid_from: datetime
    valid_until: datetime
    parties: list[PartyAnswer]


class FamilyAccessEntry(ReadSchema):
    """One look at the child's information, as the family sees it."""

    event_id: UUID
    position: int = Field(description="Its place in the log: ask /transparency/inclusion for a proof that it is there")
    accessed_at: datetime
    unit_id: UnitId | None
    unit_name: str | None
    role: Role
    staff_name: str | None
    purpose: str
    categories: list[Category]
    bases: list[LegalBasis]


class AuditEntry(ReadSchema):
    event_id: UUID
    position: int
    child_id: UUID
    accessed_at: datetime
    accessor_id: str
    unit_id: UnitId | None
    role: Role
    view: str
    purpose: str
    categories: list[Category]
    bases: list[LegalBasis]
    denied_categories: list[Category]
    allowed: bool


class ReviewedEntry(AuditEntry):
    """A read in the access log, and whether auditors have reviewed it."""

    reviewed: bool
    review_outcomes: list[ReviewOutcome]


class ReviewSample(ReadSchema):
    """A random sample of reads; the same ``seed``, ``since`` and ``until`` draw it again."""

    seed: int
    since: datetime | None
    until: datetime
    population: int = Field(description="How many reads in the period it was drawn from")
    entries: list[ReviewedEntry]


class FlagOut(ReadSchema):
    rule: RuleCode
    detail: str


class FlaggedEntry(ReviewedEntry):
    flags: list[FlagOut]


class FlaggedReads(ReadSchema):
    """Reads the review rules flag; ``rules`` names the rules that ran (none: nothing is flagged)."""

    rules: list[RuleCode]
    since: datetime | None
    until: datetime
    entries: list[FlaggedEntry]


class ReviewRecorded(ReadSchema):
    review_id: UUID
    child_id: UUID


class ReviewOut(ReadSchema):
    review_id: UUID
    position: int
    child_id: UUID
    reviewed_at: datetime
    reviewer_id: str
    outcome: ReviewOutcome
    note: str
    access_event_ids: list[UUID]


class Health(ReadSchema):
    status: str


class SessionOut(ReadSchema):
    """A web session: who it is for, when it ends, and the token that must accompany
    every request that changes something (header ``X-CSRF-Token``)."""

    kind: str
    tenant_id: str
    user_id: str
    unit_id: str | None
    roles: list[str]
    started_at: datetime
    expires_at: datetime = Field(description="The absolute end, however much the session is used")
    idle_timeout_seconds: int = Field(description="The session ends after this long without a request")
    csrf_token: str


class FieldProblem(ReadSchema):
    field: str
    message: str


class Problem(ReadSchema):
    """RFC 9457 problem details, with the failing fields named in ``errors``."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list)
    child_id: UUID | None = Field(default=None, description="Only when the child is already registered")
