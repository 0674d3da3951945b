"""The API's own answers: to commands (the id of what was recorded), sessions, health
and problems. Request bodies are the application's commands (:mod:`hub.application.commands`)
and the answers to reads its read models (:mod:`hub.application.readmodels`), published as
they are. Every answer refuses unknown fields.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.vocabulary import Area, RegisterAnswer
from hub.application.readmodels import FigureCount


class ReadSchema(BaseModel):
    """An answer: exactly these fields, nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- answers to commands ---------------------------------------------------------------


class ChildCreated(ReadSchema):
    child_id: UUID


class GuardianLinkAnswer(ReadSchema):
    guardian_id: str
    answer: RegisterAnswer


class GuardiansChecked(ReadSchema):
    """What the population register said of each guardian named with custody, now on record."""

    child_id: UUID
    guardians: list[GuardianLinkAnswer]


class Done(ReadSchema):
    """The fact was recorded for the child."""

    child_id: UUID


class CardCreated(ReadSchema):
    """Name ``event_id`` to withhold the fact from the guardians later."""

    child_id: UUID
    card_id: str
    event_id: UUID
    withheld_from_guardians: bool


class ConversationCreated(ReadSchema):
    """Name ``event_id`` to withhold the fact from the guardians later."""

    child_id: UUID
    conversation_id: str
    event_id: UUID
    withheld_from_guardians: bool


class ConsentCreated(ReadSchema):
    child_id: UUID
    consent_id: UUID


class RatingCreated(ReadSchema):
    """Name ``event_id`` to withhold the fact from the guardians later."""

    child_id: UUID
    rating_id: str
    event_id: UUID
    withheld_from_guardians: bool


class AreaScoreOut(ReadSchema):
    area: Area
    score: float | None


class MeetingHeld(ReadSchema):
    """Name ``event_id`` to withhold the meeting from the guardians later."""

    child_id: UUID
    joint_compass: list[AreaScoreOut]
    event_id: UUID
    withheld_from_guardians: bool


class PlanSaved(ReadSchema):
    """Name ``event_id`` to withhold this version of the plan from the guardians later."""

    child_id: UUID
    plan_version: int
    event_id: UUID
    withheld_from_guardians: bool


class ReportCreated(ReadSchema):
    """A concern report recorded: name ``event_id`` to withhold it (or only its reporter) later."""

    child_id: UUID
    event_id: UUID
    report_id: str
    withheld_from_guardians: bool
    reporter_withheld: bool


class FactCreated(ReadSchema):
    """A fact recorded: name ``event_id`` to withhold it from the guardians later."""

    child_id: UUID
    event_id: UUID
    withheld_from_guardians: bool


class ReviewRecorded(ReadSchema):
    review_id: UUID
    child_id: UUID


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


class FollowUpFigures(ReadSchema):
    """Uppföljning: the evaluation's figures for the caller's cooperation area, as far as the
    filter asks. ``counts`` holds every chosen term, figure and part of a figure (``key``, empty
    for a figure of one part), 0 where nothing was counted, terms in time order and figures in
    the evaluation's: the rows of the page's CSV file, in its order."""

    tenant_id: str
    from_term: str | None = Field(description="The first term asked for, or null for all")
    to_term: str | None = Field(description="The last term asked for, or null for all")
    figure: str | None = Field(description="The one figure asked for, or null for all")
    terms: list[str] = Field(description='The terms shown, e.g. "2026 vt" (January to June) or "2026 ht", in Swedish time')
    figures: list[str]
    counts: list[FigureCount]
    publishable: bool = Field(
        description="true: small counts are hidden (count null, suppressed says why); false: the administrator's unsuppressed view"
    )
    threshold: int = Field(description="Counts from 1 to this are hidden in the publishable form")


class FailedDeliveryOut(ReadSchema):
    """A webhook an agency's receiver did not take, as the agency reported it: no content."""

    unit_id: str
    message_id: str = Field(description="The webhook id, the CloudEvent id of the delivery")
    event_type: str
    reason: str = Field(description='The receiver\'s HTTP status ("HTTP 410"), "timeout" or "unreachable"')
    attempts: int
    failed_at: datetime
    recovered_at: datetime | None = Field(description="When a replay delivered it; null while it is dead-lettered")
    state: str = Field(description="open or recovered")


class ImportedRow(ReadSchema):
    """One row of an imported file: its number among the data rows (from 1), the e-service's id
    of the card, and the card's id in the hub, or why the row was rejected."""

    row: int
    eservice_id: str | None
    card_id: str | None = None
    title: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)


class CardImportReport(ReadSchema):
    """What became of each row of an e-service export: accepted (filed now), rejected (with the
    fields refused), or skipped as imported before. A dry run reports and files nothing."""

    format: str
    dry_run: bool
    rows: int
    accepted: list[ImportedRow]
    rejected: list[ImportedRow]
    skipped: list[ImportedRow]
