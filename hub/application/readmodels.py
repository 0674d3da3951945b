"""What each read returns: one frozen model per answer, with times as ``datetime``, days as
``date``, ids as ``UUID`` and terms as the vocabulary's enums.

A read is shaped once, here: the API serialises these models as they are (their names
and fields are the published answers), and the pages hand the same objects to their
templates, which format them with one set of filters (:mod:`hub.web.filters`). Like the
API's other answers, each refuses fields it does not name.

A record item's ``fields`` are the one part left as JSON values: they are the fact's own
fields of that category, as the published event schemas word them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from consent import ConsentStatus
from contracts.indicators import Indicator
from contracts.vocabulary import (
    AgeGroup,
    CardKind,
    Category,
    Decision,
    LegalBasis,
    PartyKind,
    ReviewOutcome,
    Role,
    UnitKind,
)
from hub.application.review_rules import Flag, RuleCode
from projections.accesslog import AccessEntry, ReviewEntry
from projections.caselist import Step
from projections.figures import FIGURE_NAMES, FIGURES

UnitId = str


class ReadModel(BaseModel):
    """An answer: exactly these fields, nothing else, and never changed once made."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# -- one child ---------------------------------------------------------------------------


class RecordItemOut(ReadModel):
    """One category's part of one fact, shown because ``basis`` allows it now."""

    event_id: UUID
    type: str
    category: Category
    occurred_at: datetime
    unit_id: UnitId | None
    basis: LegalBasis | None
    fields: dict[str, Any]


class ChildView(ReadModel):
    """What the viewer may see of one child at ``as_of``, fact by fact and category by category."""

    child_id: UUID
    as_of: datetime
    items: list[RecordItemOut]

    def of_type(self, type_name: str, category: Category | None = None) -> list[RecordItemOut]:
        """The items of one kind of fact (and category), in the record's order."""
        return [i for i in self.items if i.type == type_name and (category is None or i.category is category)]

    def merged(self, type_name: str) -> list[dict[str, Any]]:
        """Each fact of one kind with its fields from every category shown, in order, and
        its ``occurred_at`` and ``unit_id``: a fresh copy the caller may change."""
        out: dict[UUID, dict[str, Any]] = {}
        for item in self.of_type(type_name):
            merged = out.setdefault(item.event_id, {"occurred_at": item.occurred_at, "unit_id": item.unit_id})
            merged.update(_copy(item.fields))
        return list(out.values())


def _copy(value: Any) -> Any:
    """A copy of a JSON value, so a page that fills it in leaves the read model as it was."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class TimelineStep(ReadModel):
    event_id: UUID
    type: str
    occurred_at: datetime
    unit_id: UnitId | None
    categories: list[Category]


class Timeline(ReadModel):
    child_id: UUID
    as_of: datetime
    steps: list[TimelineStep]


class PartyAnswer(ReadModel):
    kind: PartyKind
    party_id: str
    answer: Literal["awaiting", "granted", "declined", "withdrawn"]
    is_you: bool


class ConsentOut(ReadModel):
    consent_id: UUID
    status: ConsentStatus
    purpose: str
    categories: list[Category]
    recipient_unit_ids: list[UnitId]
    recipient_unit_kinds: list[UnitKind]
    requested_by_unit_id: UnitId | None
    valid_from: datetime
    valid_until: datetime
    parties: list[PartyAnswer]


class FamilyAccessEntry(ReadModel):
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
    view: str = Field("", description="What was opened: the child's page, a case list, the timeline ...")


# -- answers to filings -------------------------------------------------------------------


class Filed(ReadModel):
    """A fact just recorded: what its filer needs to act on it later (to withhold it from
    the guardians, name ``event_id``)."""

    child_id: UUID
    event_id: UUID
    withheld_from_guardians: bool = False


class PlanFiled(Filed):
    """A version of Barnets plan just recorded."""

    plan_version: int


class MeetingFiled(Filed):
    """A team meeting just recorded, with the joint Behovskompass it arrived at."""

    joint_compass: list[dict[str, Any]]


class CardFiled(Filed):
    """A discovery card just recorded: its fact, and the card's own id."""

    card_id: str


class ConversationFiled(Filed):
    """A conversation just recorded: its fact, and the conversation's own id."""

    conversation_id: str


class RatingFiled(Filed):
    """A rating just recorded: its fact, and the rating's own id."""

    rating_id: str


class RatingForm(ReadModel):
    """The rating form for one child now: the age group it is asked for, and its indicators
    in the compass's order (:mod:`contracts.indicators`)."""

    child_id: UUID
    age_group: AgeGroup
    indicators: list[Indicator]


class ReportFiled(Filed):
    """A concern report just recorded: its fact, and the report's own id."""

    report_id: str
    withheld_from_guardians: bool
    reporter_withheld: bool


# -- lists across children -----------------------------------------------------------------


class CaseScope(str, Enum):
    """Whose children a case list shows: "Mina barn" (where the viewer is Barnkontakt,
    support coordinator or deputy, or sent a card) or "Min enhets barn" (the unit's)."""

    MINE = "mine"
    UNIT = "unit"


class CaseGroup(str, Enum):
    """What needs action on a case: the case list's groups."""

    NEW_CARDS = "new_cards"
    FEEDBACK_OWED = "feedback_owed"
    OVERDUE_ACTIONS = "overdue_actions"
    CONSENT_EXPIRING = "consent_expiring"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    NO_NEXT_STEP = "no_next_step"


class NextStepOut(ReadModel):
    """Who does what by when: a plan action (``what`` and ``person`` only when the viewer
    may see the plan) or the step of the process owed, with whom feedback is owed to."""

    step: Step
    unit_id: UnitId | None
    staff_id: str | None
    due: date | None
    overdue: bool
    what: str | None
    person: str | None
    to_staff_id: str | None
    to_unit_id: UnitId | None


class CaseRow(ReadModel):
    """One child on a Barnkontakt's or coordinator's list, with what needs doing."""

    child_id: UUID
    name: str | None
    mine: bool = Field(description="The viewer is the child's Barnkontakt, coordinator or deputy, or sent a card")
    barnkontakt_staff_id: str | None
    barnkontakt_unit_id: str | None
    coordinator_staff_id: str | None
    coordinator_unit_id: str | None
    deputy_staff_id: str | None
    decision: Decision | None
    new_cards: int
    awaiting_feedback: int
    overdue_actions: int
    next_step_due: date | None
    no_next_step: bool
    closed: bool
    consent_expiring: bool
    consent_withdrawn: bool
    next_step: NextStepOut | None
    groups: list[CaseGroup]
    unit_ids: list[UnitId]


class SentCard(ReadModel):
    """A discovery card its sender follows up on: ids, unit and times only, nothing of the child."""

    child_id: UUID
    card_id: str
    kind: CardKind
    to_unit_id: UnitId
    submitted_at: datetime
    taken_up: bool
    feedback_sent: bool


class FamilyChild(ReadModel):
    child_id: UUID


class FigureCount(ReadModel):
    """One figure (and part of it) counted in one half-year term."""

    term: str = Field(description='"2026 vt" (January to June) or "2026 ht" (July to December), in Swedish time')
    figure: str
    key: str
    count: int | None = Field(description="The count, or null where the disclosure rule hides it")
    suppressed: bool = Field(
        default=False,
        description="Hidden by the disclosure rule. Why is not said: that a hidden count is small, beside a total, would narrow it down",
    )


class TermFigures(ReadModel):
    """The evaluation's figures for a tenant: its terms in time order, and every count
    (as far as the filter asks: ``figures`` are the figures chosen, ``all_terms`` every term
    the tenant has figures for, to choose from)."""

    tenant_id: str
    terms: list[str]
    rows: list[FigureCount]
    figures: list[str] = Field(default_factory=lambda: list(FIGURE_NAMES))
    all_terms: list[str] = Field(default_factory=list)
    totals: list[FigureCount] = Field(default_factory=list)
    """Each figure of more than one part, per term: its total (``key`` empty), as published."""
    publishable: bool = True
    """Whether the counts are as they may be published (small counts hidden), or the
    unsuppressed counts only the area's administrator may ask for."""
    threshold: int = 2
    rounding: int | None = None

    def every_count(self) -> list[FigureCount]:
        """Every term, chosen figure and part of it, 0 where nothing was counted, terms in
        time order and figures in the evaluation's: what the page, the CSV file and the API
        all show, so that they agree."""
        counted = {(r.term, r.figure, r.key): r for r in self.rows}
        return [
            counted.get((term, figure, key)) or FigureCount(term=term, figure=figure, key=key, count=0)
            for term in self.terms
            for figure, keys in FIGURES
            if figure in self.figures
            for key in keys
        ]


# -- the auditors' reads -------------------------------------------------------------------


class AuditEntry(ReadModel):
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

    @classmethod
    def of(cls, e: AccessEntry) -> AuditEntry:
        return cls(**access_fields(e))


class ReviewedEntry(AuditEntry):
    """A read in the access log, and whether auditors have reviewed it."""

    reviewed: bool
    review_outcomes: list[ReviewOutcome]


class ReviewSample(ReadModel):
    """A random sample of reads; the same ``seed``, ``since`` and ``until`` draw it again."""

    seed: int
    since: datetime | None
    until: datetime
    population: int = Field(description="How many reads in the period it was drawn from")
    entries: list[ReviewedEntry]


class FlagOut(ReadModel):
    rule: RuleCode
    detail: str

    @classmethod
    def of(cls, flag: Flag) -> FlagOut:
        return cls(rule=flag.rule, detail=flag.detail)


class FlaggedEntry(ReviewedEntry):
    flags: list[FlagOut]


class FlaggedReads(ReadModel):
    """Reads the review rules flag; ``rules`` names the rules that ran (none: nothing is flagged)."""

    rules: list[RuleCode]
    since: datetime | None
    until: datetime
    entries: list[FlaggedEntry]
    total: int = Field(0, description="How many reads the rules flag in the period, of which `entries` is one page")


class ReviewOut(ReadModel):
    review_id: UUID
    position: int
    child_id: UUID
    reviewed_at: datetime
    reviewer_id: str
    outcome: ReviewOutcome
    note: str
    access_event_ids: list[UUID]

    @classmethod
    def of(cls, r: ReviewEntry) -> ReviewOut:
        return cls(
            review_id=r.event_id,
            position=r.position,
            child_id=r.child_id,
            reviewed_at=r.reviewed_at,
            reviewer_id=r.reviewer_id,
            outcome=r.outcome,
            note=r.note,
            access_event_ids=list(r.access_event_ids),
        )


def access_fields(e: AccessEntry) -> dict[str, Any]:
    """One access-log entry's fields as an auditor sees them."""
    return {
        "event_id": e.event_id,
        "position": e.position,
        "child_id": e.child_id,
        "accessed_at": e.accessed_at,
        "accessor_id": e.accessor_id,
        "unit_id": e.accessor_unit_id,
        "role": e.accessor_role,
        "view": e.view,
        "purpose": e.purpose,
        "categories": list(e.categories),
        "bases": list(e.bases),
        "denied_categories": list(e.denied_categories),
        "allowed": e.allowed,
    }


__all__ = [
    "AuditEntry",
    "CaseGroup",
    "CaseRow",
    "CaseScope",
    "ChildView",
    "ConsentOut",
    "FamilyAccessEntry",
    "FamilyChild",
    "Filed",
    "FigureCount",
    "FlagOut",
    "FlaggedEntry",
    "FlaggedReads",
    "NextStepOut",
    "PartyAnswer",
    "ReadModel",
    "RecordItemOut",
    "ReportFiled",
    "ReviewOut",
    "ReviewSample",
    "ReviewedEntry",
    "SentCard",
    "RatingForm",
    "Step",
    "TermFigures",
    "Timeline",
    "TimelineStep",
]
