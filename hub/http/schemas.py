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

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.events import AreaScore, AreaView, ConsentRecipient, FiveQuestions, Goal, IndicatorScore, UnmetNeed
from contracts.vocabulary import (
    ActionStatus,
    AgeGroup,
    Area,
    Category,
    ConversationWith,
    Decision,
    LegalBasis,
    PartyKind,
    ReviewOutcome,
    Role,
    UnitKind,
)
from hub.application.review_rules import RuleCode

UnitId = str
Id = str


class WriteSchema(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def values(self) -> dict[str, Any]:
        """The fields as plain values for the core's keyword arguments."""
        return self.model_dump()


class ReadSchema(BaseModel):
    """An answer: exactly these fields, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- write schemas ------------------------------------------------------------------


class GuardianIn(WriteSchema):
    name: str = Field(min_length=1, max_length=200)
    personnummer: str = Field(min_length=10, max_length=13, description="Personnummer or samordningsnummer")
    has_custody: bool


class RegisterChild(WriteSchema):
    """Every child in the cooperation area can be registered; the id comes from the identity number."""

    personnummer: str = Field(min_length=10, max_length=13)
    given_name: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    guardians: list[GuardianIn] = Field(default_factory=list, max_length=6)


class DiscoveryCardIn(WriteSchema):
    """Upptäckarkort: the discoverer's card to a unit's Barnkontakt."""

    to_unit_id: UnitId = Field(min_length=1, max_length=100)
    unmet_needs: list[UnmetNeed] = Field(min_length=1, max_length=8)
    five_questions: FiveQuestions
    own_support_taken: str = Field(default="", max_length=4000)
    guardians_informed: bool


class AssignBarnkontakt(WriteSchema):
    staff_id: Id = Field(min_length=1, max_length=100)


class DelegateBarnkontakt(WriteSchema):
    staff_id: Id = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=2000)


class FeedbackIn(WriteSchema):
    message: str = Field(min_length=1, max_length=4000)


class ConversationIn(WriteSchema):
    """Barnsamtal, or a conversation with a guardian (digitally as a survey or not)."""

    with_whom: ConversationWith
    age_group: AgeGroup
    views: list[AreaView] = Field(default_factory=list, max_length=8)
    digital_survey: bool = False
    summary: str = Field(default="", max_length=8000)


class ConsentRequestIn(WriteSchema):
    """What may be shared (categories), with whom (units or unit kinds), why and until when."""

    recipients: list[ConsentRecipient] = Field(min_length=1, max_length=30)
    categories: list[Category] = Field(min_length=1, max_length=len(Category))
    purpose: str = Field(min_length=1, max_length=2000)
    valid_until: AwareDatetime | None = None


class TeamDecisionIn(WriteSchema):
    decision: Decision
    family_informed: bool
    shared_categories: list[Category] = Field(default_factory=list, max_length=len(Category))
    member_unit_ids: list[UnitId] = Field(default_factory=list, max_length=30)
    rationale: str = Field(default="", max_length=4000)


class RatingIn(WriteSchema):
    """Skattningsformulär: indicators scored 1-5, or left blank (null) when the rater does not know."""

    scores: list[IndicatorScore] = Field(min_length=1, max_length=100)


class TeamMeetingIn(WriteSchema):
    participant_unit_ids: list[UnitId] = Field(min_length=1, max_length=30)
    advice: str = Field(default="", max_length=8000)


class SupportCoordinatorIn(WriteSchema):
    staff_id: Id = Field(min_length=1, max_length=100)


class PlanActionIn(WriteSchema):
    action_id: str | None = Field(default=None, min_length=1, max_length=60, description="Given by the hub if left out")
    what: str = Field(min_length=1, max_length=2000)
    unit_id: UnitId = Field(min_length=1, max_length=100)
    responsible_person: str = Field(min_length=1, max_length=200)
    due: date
    status: ActionStatus = ActionStatus.PLANNED
    area: Area | None = None


class PlanIn(WriteSchema):
    """Barnets plan: the whole plan, replacing the previous version."""

    goals: list[Goal] = Field(default_factory=list, max_length=40)
    actions: list[PlanActionIn] = Field(default_factory=list, max_length=100)
    child_view: str = Field(default="", max_length=4000)
    guardian_view: str = Field(default="", max_length=4000)
    next_follow_up: date | None = None


class ActionCompletionIn(WriteSchema):
    note: str = Field(default="", max_length=2000)


class FollowUpIn(WriteSchema):
    summary: str = Field(default="", max_length=8000)
    compass: list[AreaScore] = Field(default_factory=list, max_length=8)


class NeedsMetIn(WriteSchema):
    follow_up_compass: list[AreaScore] = Field(min_length=1, max_length=8)
    summary: str = Field(default="", max_length=4000)


class ConcernReportIn(WriteSchema):
    """Orosanmälan to social services: statutory, it does not wait for consent."""

    to_unit_id: UnitId = Field(min_length=1, max_length=100)
    unmet_needs: list[UnmetNeed] = Field(min_length=1, max_length=8)
    description: str = Field(min_length=1, max_length=8000)
    acute: bool = False


class HomeVisitIn(WriteSchema):
    visit: int = Field(ge=1, le=6, description="1 receiving your child ... 6 being a family")
    notes: str = Field(default="", max_length=4000)


class AgencySummaryIn(WriteSchema):
    health: str = Field(default="", max_length=8000)
    police: str = Field(default="", max_length=8000)
    social_services: str = Field(default="", max_length=8000)


class WithholdIn(WriteSchema):
    """Put earlier facts under secrecy towards the guardians."""

    event_ids: list[UUID] = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)


class ReviewIn(WriteSchema):
    """An auditor's finding on reads of one child: which reads, the outcome, a note."""

    child_id: UUID
    access_event_ids: list[UUID] = Field(min_length=1, max_length=100, description="Event ids from the access log")
    outcome: ReviewOutcome
    note: str = Field(default="", max_length=4000)


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
