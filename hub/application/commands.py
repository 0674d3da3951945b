"""The commands the hub takes: typed, validated at the edge, then handled by the application.

Each command is one step of the support process, named by its verb. A command checks shape
only (fields, types, lengths); who may act is :mod:`consent.permissions`, the process order is
the Child aggregate's. Unknown fields are refused, and nothing is coerced: ``"yes"`` is not a
boolean and ``"3"`` is not a number (RFC 9457 problems name the field). The HTTP API takes
these same models as its request bodies; ids that travel in the path (the child, a card, an
action, a consent) are passed beside them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.bounds import Day, Moment
from contracts.events import (
    AreaScore,
    AreaView,
    ClosedAction,
    ConsentRecipient,
    FiveQuestions,
    Goal,
    UnmetNeed,
)
from contracts.indicators import Indicator
from contracts.strict import Boolean, Integer
from contracts.vocabulary import (
    ActionStatus,
    AgeGroup,
    Area,
    Category,
    ClosureReason,
    ConversationWith,
    Decision,
    ReviewOutcome,
)
from projections.figures import FIGURE_NAMES, TERM_PATTERN

UnitId = str
Id = str


class Command(BaseModel):
    """A command: unknown fields are refused, booleans and numbers must be what they say."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def values(self) -> dict[str, Any]:
        """The fields as plain values."""
        return self.model_dump()


class GuardianEntry(Command):
    name: str = Field(min_length=1, max_length=200)
    personnummer: str = Field(min_length=10, max_length=13, description="Personnummer or samordningsnummer")
    has_custody: Boolean


class RegisterChild(Command):
    """Every child in the cooperation area can be registered; the id comes from the identity number."""

    personnummer: str = Field(min_length=10, max_length=13)
    given_name: str = Field(min_length=1, max_length=200)
    family_name: str = Field(min_length=1, max_length=200)
    guardians: list[GuardianEntry] = Field(default_factory=list, max_length=6)


class SubmitDiscoveryCard(Command):
    """Upptäckarkort: the discoverer's card to a unit's Barnkontakt."""

    to_unit_id: UnitId = Field(min_length=1, max_length=100)
    unmet_needs: list[UnmetNeed] = Field(min_length=1, max_length=8)
    five_questions: FiveQuestions
    own_support_taken: str = Field(default="", max_length=4000)
    guardians_informed: Boolean
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class AssignBarnkontakt(Command):
    staff_id: Id = Field(min_length=1, max_length=100)


class DelegateBarnkontakt(Command):
    staff_id: Id = Field(min_length=1, max_length=100)
    reason: str = Field(default="", max_length=2000)


class SendFeedback(Command):
    message: str = Field(min_length=1, max_length=4000)


class HoldConversation(Command):
    """Barnsamtal, or a conversation with a guardian (digitally as a survey or not)."""

    with_whom: ConversationWith
    age_group: AgeGroup
    views: list[AreaView] = Field(default_factory=list, max_length=8)
    digital_survey: Boolean = False
    summary: str = Field(default="", max_length=8000)
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class RequestConsent(Command):
    """What may be shared (categories), with whom (units or unit kinds), why and until when."""

    recipients: list[ConsentRecipient] = Field(min_length=1, max_length=30)
    categories: list[Category] = Field(min_length=1, max_length=len(Category))
    purpose: str = Field(min_length=1, max_length=2000)
    valid_until: Moment | None = Field(
        default=None, description="At most the cooperation area's longest consent, and never past the child's 18th birthday"
    )


class DecideTeam(Command):
    decision: Decision
    family_informed: Boolean
    shared_categories: list[Category] = Field(default_factory=list, max_length=len(Category))
    member_unit_ids: list[UnitId] = Field(default_factory=list, max_length=30)
    rationale: str = Field(default="", max_length=4000)
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class RatedIndicator(Command):
    """One indicator of the form: 1 (the need far from met) to 5 (fully met), or null for
    "vet ej" (not known). Only the indicators of the child's age group are taken."""

    area: Area
    indicator: Indicator
    score: Integer | None = Field(default=None, ge=1, le=5)


class SubmitRating(Command):
    """Skattningsformulär: indicators scored 1-5, or left blank (null) when the rater does not know."""

    scores: list[RatedIndicator] = Field(min_length=1, max_length=len(Indicator))
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class HoldTeamMeeting(Command):
    participant_unit_ids: list[UnitId] = Field(min_length=1, max_length=30)
    advice: str = Field(default="", max_length=8000)
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class AssignSupportCoordinator(Command):
    staff_id: Id = Field(min_length=1, max_length=100)
    deputy_staff_id: Id | None = Field(
        default=None, min_length=1, max_length=100, description="The ersättare, who acts as the coordinator while named"
    )


class HandOverSupportCoordinator(Command):
    """The support coordinator's role passes to another support coordinator, for a reason."""

    staff_id: Id = Field(min_length=1, max_length=100)
    deputy_staff_id: Id | None = Field(default=None, min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)


class PlannedAction(Command):
    action_id: str | None = Field(default=None, min_length=1, max_length=60, description="Given by the hub if left out")
    what: str = Field(min_length=1, max_length=2000)
    unit_id: UnitId = Field(min_length=1, max_length=100)
    responsible_person: str = Field(min_length=1, max_length=200)
    due: Day
    status: ActionStatus = ActionStatus.PLANNED
    area: Area | None = None


class UpdatePlan(Command):
    """Barnets plan: the whole plan, replacing the previous version."""

    goals: list[Goal] = Field(default_factory=list, max_length=40)
    actions: list[PlannedAction] = Field(default_factory=list, max_length=100)
    child_view: str = Field(default="", max_length=4000)
    guardian_view: str = Field(default="", max_length=4000)
    next_follow_up: Day | None = None
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class CompletePlanAction(Command):
    note: str = Field(default="", max_length=2000)
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class HoldFollowUp(Command):
    summary: str = Field(default="", max_length=8000)
    compass: list[AreaScore] = Field(default_factory=list, max_length=8)
    unmet_needs: list[UnmetNeed] = Field(default_factory=list, max_length=8, description="Statements still not met, per area")
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class RecordNeedsMet(Command):
    """Behoven tillgodosedda: the case closes with it, and every plan action still open must
    be closed here with a reason."""

    follow_up_compass: list[AreaScore] = Field(min_length=1, max_length=8)
    summary: str = Field(default="", max_length=4000)
    closed_actions: list[ClosedAction] = Field(
        default_factory=list, max_length=100, description="Each open plan action, with why it ends unfinished"
    )
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class CloseCase(Command):
    """Close the case: the family moved away or declined (needs met has its own command)."""

    reason: ClosureReason
    closed_actions: list[ClosedAction] = Field(
        default_factory=list, max_length=100, description="Each open plan action, with why it ends unfinished"
    )


class FileConcernReport(Command):
    """Orosanmälan to social services: statutory, it does not wait for consent."""

    to_unit_id: UnitId = Field(min_length=1, max_length=100)
    unmet_needs: list[UnmetNeed] = Field(min_length=1, max_length=8)
    description: str = Field(min_length=1, max_length=8000)
    acute: Boolean = False
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")
    reporter_withheld: Boolean = Field(
        default=False,
        description="Who filed it is kept from the family (OSL 26 kap. 5 §); the report itself is not, unless withheld too",
    )


class RecordHomeVisit(Command):
    visit: Integer = Field(ge=1, le=6, description="1 receiving your child ... 6 being a family")
    visited_on: Day | None = Field(default=None, description="The day of the visit; not in the future, not before birth")
    notes: str = Field(default="", max_length=4000)
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class ShareAgencySummary(Command):
    health: str = Field(default="", max_length=8000)
    police: str = Field(default="", max_length=8000)
    social_services: str = Field(default="", max_length=8000)
    withheld_from_guardians: Boolean = Field(default=False, description="Kept from the guardians to protect the child (OSL 12 kap. 3 §)")


class WithholdInformation(Command):
    """Put earlier facts under secrecy towards the guardians, or only who filed the concern
    reports named (``reporter_only``)."""

    event_ids: list[UUID] = Field(min_length=1, max_length=100, description="The event ids a filing answered with")
    reason: str = Field(min_length=1, max_length=2000)
    reporter_only: Boolean = Field(
        default=False,
        description="Keep only who filed these concern reports from the family (OSL 26 kap. 5 §), not the reports",
    )


class RecordReview(Command):
    """An auditor's finding on reads of one child: which reads, the outcome, a note."""

    child_id: UUID
    access_event_ids: list[UUID] = Field(min_length=1, max_length=100, description="Event ids from the access log")
    outcome: ReviewOutcome
    note: str = Field(default="", max_length=4000)


class EraseRecord(Command):
    """Erase a child's record (GDPR art. 17): say why, without personal data (a case number)."""

    reason: str = Field(min_length=1, max_length=2000)


class InviteToConversation(Command):
    """Invite the child, or a named guardian with custody, to answer the conversation's
    questions on their own phone (the digital conversation)."""

    with_whom: ConversationWith
    guardian_id: Id | None = Field(default=None, min_length=1, max_length=100, description="The guardian invited; only with `guardian`")
    age_group: AgeGroup
    answers_withheld: Boolean = Field(
        default=False, description="The answers are kept from the guardians and the child when they arrive (OSL 12 kap. 3 §)"
    )


class AnswerConversation(Command):
    """The invited child's or guardian's answers: a view per compass area, and anything else."""

    views: list[AreaView] = Field(default_factory=list, max_length=8)
    summary: str = Field(default="", max_length=8000)


class FigureFilter(Command):
    """Which of the evaluation's figures to read: the terms from ``from_term`` to ``to_term``
    (both included, either open) and one figure or all. The page, its CSV file and the API
    take the same filter, so the three show the same numbers."""

    from_term: str | None = Field(default=None, pattern=TERM_PATTERN, description='The first term, e.g. "2025 ht"')
    to_term: str | None = Field(default=None, pattern=TERM_PATTERN, description='The last term, e.g. "2026 vt"')
    figure: str | None = Field(default=None, pattern="^(" + "|".join(FIGURE_NAMES) + ")$", description="One figure, or all when left out")
