"""The facts of the support process, as published to agencies.

Each event is a frozen pydantic model that refuses unknown fields and carries its
``schema_version``. Every field beyond the common envelope names the information
category it carries (``x-category`` in its JSON Schema), so consent and the law can
be applied field by field where one event mixes categories. Event type names say
what happened, never to whom or why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.strict import Boolean, Integer, Number
from contracts.vocabulary import (
    ActionStatus,
    AgeGroup,
    Area,
    CardKind,
    Category,
    ClosureReason,
    ConversationWith,
    Decision,
    FamilyLanguage,
    HomeVisit,
    LegalBasis,
    PartyKind,
    RegisterAnswer,
    ReviewOutcome,
    Role,
    UnitKind,
)

CATEGORY_KEY = "x-category"
ENVELOPE_FIELDS = frozenset(
    {"schema_version", "event_id", "tenant_id", "child_id", "occurred_at", "actor", "withheld_from_guardians"}
)

Text = str
ShortText = str


def carries(category: Category, **kwargs: Any) -> Any:
    """A field that carries information of ``category``."""
    return Field(json_schema_extra={CATEGORY_KEY: category.value}, **kwargs)


class Value(BaseModel):
    """A frozen value inside an event."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Actor(Value):
    """Who caused the fact: a member of staff at a unit, a guardian or the child."""

    user_id: str = Field(min_length=1, max_length=100)
    unit_id: str | None = Field(default=None, max_length=100)
    role: Role


_FIELD_CATEGORIES: dict[type, dict[str, Category]] = {}
"""Each event class's declared categories, read once (they are fixed when the class is)."""
_PAYLOAD_FIELDS: dict[type, set[str]] = {}
"""Each event class's payload fields, as the serializer is asked for them (views split every fact)."""


class Event(Value):
    """The common envelope of every fact about a child."""

    schema_version: Literal[1] = 1
    event_id: UUID
    tenant_id: str = Field(min_length=1, max_length=100)
    child_id: UUID
    occurred_at: AwareDatetime
    actor: Actor
    withheld_from_guardians: bool = False
    """Secrecy towards guardians (OSL 12 kap. 3 §): never shown to a family view."""

    type_name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = f"backa.v1.{cls.__name__}"

    @classmethod
    def field_categories(cls) -> dict[str, Category]:
        """The category of each payload field, as declared on the field."""
        known = _FIELD_CATEGORIES.get(cls)
        if known is None:
            known = _FIELD_CATEGORIES[cls] = cls._declared_categories()
        return dict(known)

    @classmethod
    def _declared_categories(cls) -> dict[str, Category]:
        out: dict[str, Category] = {}
        for name, info in cls.model_fields.items():
            if name in ENVELOPE_FIELDS:
                continue
            extra = info.json_schema_extra
            if not isinstance(extra, dict) or CATEGORY_KEY not in extra:
                raise TypeError(f"{cls.__name__}.{name} declares no information category")
            out[name] = Category(extra[CATEGORY_KEY])
        return out

    @classmethod
    def carried_categories(cls) -> frozenset[Category]:
        return frozenset(cls.field_categories().values())

    def split_by_category(self) -> dict[Category, dict[str, Any]]:
        """The payload as JSON values, grouped by the category each field carries."""
        kind = type(self)
        categories = _FIELD_CATEGORIES.get(kind) or self.field_categories()
        payload = _PAYLOAD_FIELDS.get(kind)
        if payload is None:
            payload = _PAYLOAD_FIELDS[kind] = set(categories)
        data = kind.__pydantic_serializer__.to_python(self, mode="json", include=payload)
        groups: dict[Category, dict[str, Any]] = {}
        for name, category in categories.items():
            groups.setdefault(category, {})[name] = data[name]
        return groups


# -- values -------------------------------------------------------------------


class Guardian(Value):
    guardian_id: str = Field(min_length=1, max_length=100, description="Pseudonymous id of the guardian in the hub")
    name: str = Field(min_length=1, max_length=200)
    personnummer: str = Field(min_length=10, max_length=13)
    has_custody: Boolean
    register_answer: RegisterAnswer | None = Field(
        default=None,
        description="What the population register answered about the custody at registration; none for a guardian "
        "named without custody (and in facts recorded before links were checked). Only `confirmed` gives a say.",
    )


class UnmetNeed(Value):
    area: Area
    statements: tuple[ShortText, ...] = Field(default=(), max_length=20)
    note: Text = Field(default="", max_length=4000)


class FiveQuestions(Value):
    """The discoverer's answers to Fem frågor."""

    unmet_needs: Text = Field(default="", max_length=4000)
    information_enough: Text = Field(default="", max_length=4000)
    child_and_guardian_views: Text = Field(default="", max_length=4000)
    what_i_can_do: Text = Field(default="", max_length=4000)
    further_help_needed: Text = Field(default="", max_length=4000)


class AreaView(Value):
    area: Area
    view: Text = Field(max_length=4000)


class IndicatorScore(Value):
    """One indicator on the rating form: 1 (the need far from met) to 5 (fully met), or
    blank when the rater does not know. ``indicator`` is the indicator's code
    (:class:`contracts.indicators.Indicator`); facts recorded before the codes hold the
    statement's text instead, so the field stays text."""

    area: Area
    indicator: ShortText = Field(min_length=1, max_length=300)
    score: Integer | None = Field(default=None, ge=1, le=5)


class AreaScore(Value):
    area: Area
    score: Number | None = Field(default=None, ge=1, le=5)


class Goal(Value):
    area: Area
    goal: Text = Field(min_length=1, max_length=2000)


class PlanAction(Value):
    action_id: str = Field(min_length=1, max_length=60)
    what: Text = Field(min_length=1, max_length=2000)
    unit_id: str = Field(min_length=1, max_length=100)
    responsible_person: ShortText = Field(min_length=1, max_length=200)
    due: date
    status: ActionStatus = ActionStatus.PLANNED
    area: Area | None = None


class ConsentRecipient(Value):
    """A unit by id, or every unit of a kind in the tenant."""

    unit_id: str | None = Field(default=None, max_length=100)
    unit_kind: UnitKind | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ConsentRecipient:
        if (self.unit_id is None) == (self.unit_kind is None):
            raise ValueError("name exactly one of unit_id or unit_kind")
        return self


class Party(Value):
    kind: PartyKind
    party_id: str = Field(min_length=1, max_length=100)


# -- the facts ----------------------------------------------------------------


class ChildRegistered(Event):
    given_name: str = carries(Category.IDENTITY, min_length=1, max_length=200)
    family_name: str = carries(Category.IDENTITY, min_length=1, max_length=200)
    personnummer: str = carries(Category.IDENTITY, min_length=10, max_length=13)
    birth_date: date = carries(Category.IDENTITY)
    guardians: tuple[Guardian, ...] = carries(Category.IDENTITY, max_length=6)


class GuardianLinkChecked(Event):
    """A guardian named at registration, checked again against the population register
    (Skatteverket's folkbokföring) after its answer at registration (``Guardian.register_answer``):
    a guardian has a say in the child's case only once the register confirms the custody
    (FB 6 kap. 11 §)."""

    guardian_id: str = carries(Category.IDENTITY, min_length=1, max_length=100)
    answer: RegisterAnswer = carries(Category.IDENTITY)


class DiscoveryCardSubmitted(Event):
    """Upptäckarkort: a discoverer's card to the Barnkontakt."""

    card_id: str = carries(Category.TEAM, min_length=1, max_length=60)
    kind: CardKind = carries(Category.TEAM)
    to_unit_id: str = carries(Category.TEAM, min_length=1, max_length=100)
    unmet_needs: tuple[UnmetNeed, ...] = carries(Category.NEEDS, min_length=1, max_length=8)
    five_questions: FiveQuestions = carries(Category.NEEDS)
    own_support_taken: Text = carries(Category.NEEDS, default="", max_length=4000)
    guardians_informed: bool = carries(Category.TEAM)
    named_unit_id: str | None = carries(Category.TEAM, default=None, min_length=1, max_length=100)
    """The unit the discoverer named, when the card went to the child's Barnkontakt instead:
    what the discoverer is shown of where their card went."""
    imported_by: str | None = carries(Category.TEAM, default=None, min_length=1, max_length=100)
    """Who brought the card in from a municipality's e-service, when that was someone other
    than the discoverer it is filed for (an administrator importing the area's export): the
    card is the discoverer's, and the log still says who put it there."""


class BarnkontaktAssigned(Event):
    staff_id: str = carries(Category.TEAM, min_length=1, max_length=100)
    unit_id: str = carries(Category.TEAM, min_length=1, max_length=100)


class BarnkontaktDelegated(Event):
    """The Barnkontakt hands the role to a colleague."""

    from_staff_id: str = carries(Category.TEAM, min_length=1, max_length=100)
    staff_id: str = carries(Category.TEAM, min_length=1, max_length=100)
    unit_id: str = carries(Category.TEAM, min_length=1, max_length=100)
    reason: Text = carries(Category.TEAM, default="", max_length=2000)


class FeedbackSent(Event):
    """Återkoppling: the Barnkontakt tells the discoverer what happens next."""

    card_id: str = carries(Category.TEAM, min_length=1, max_length=60)
    to_unit_id: str = carries(Category.TEAM, min_length=1, max_length=100)
    message: Text = carries(Category.TEAM, min_length=1, max_length=4000)


class ConversationHeld(Event):
    """Barnsamtal or a conversation with a guardian."""

    conversation_id: str = carries(Category.CONVERSATIONS, min_length=1, max_length=60)
    with_whom: ConversationWith = carries(Category.CONVERSATIONS)
    age_group: AgeGroup = carries(Category.CONVERSATIONS)
    views: tuple[AreaView, ...] = carries(Category.CONVERSATIONS, max_length=8)
    digital_survey: bool = carries(Category.CONVERSATIONS, default=False)
    summary: Text = carries(Category.CONVERSATIONS, default="", max_length=8000)
    invitation_id: str | None = carries(Category.CONVERSATIONS, default=None, min_length=1, max_length=60)
    """Set when the child or guardian answered an invitation (:class:`ConversationInvited`) on
    their own phone: the actor is then that party, at the unit that invited them."""


class ConversationInvited(Event):
    """The Barnkontakt invites the child or a named guardian to answer the conversation's
    questions digitally (the evaluation's "Barnsamtal digitalt genom enkät", seed 002).

    The link and the code handed over are never in the fact: only a keyed digest of each is
    kept, in a lookup table beside the log. ``greeting_name`` is the child's first name, the
    one thing of the record the answer page shows."""

    invitation_id: str = carries(Category.CONVERSATIONS, min_length=1, max_length=60)
    with_whom: ConversationWith = carries(Category.CONVERSATIONS)
    guardian_id: str | None = carries(Category.CONVERSATIONS, default=None, min_length=1, max_length=100)
    age_group: AgeGroup = carries(Category.CONVERSATIONS)
    greeting_name: str = carries(Category.CONVERSATIONS, min_length=1, max_length=200)
    expires_at: AwareDatetime = carries(Category.CONVERSATIONS)
    answers_withheld: bool = carries(Category.CONVERSATIONS, default=False)
    """The answers are kept from the guardians and the child when they arrive (OSL 12 kap. 3 §)."""


class ConversationInvitationWithdrawn(Event):
    """The invitation no longer works: withdrawn by the Barnkontakt before it was answered."""

    invitation_id: str = carries(Category.CONVERSATIONS, min_length=1, max_length=60)


class ConsentRequested(Event):
    consent_id: UUID = carries(Category.CONSENT)
    recipients: tuple[ConsentRecipient, ...] = carries(Category.CONSENT, min_length=1, max_length=30)
    categories: tuple[Category, ...] = carries(Category.CONSENT, min_length=1)
    purpose: Text = carries(Category.CONSENT, min_length=1, max_length=2000)
    valid_from: AwareDatetime = carries(Category.CONSENT)
    valid_until: AwareDatetime = carries(Category.CONSENT)
    required_parties: tuple[Party, ...] = carries(Category.CONSENT, min_length=1)


class ConsentGranted(Event):
    consent_id: UUID = carries(Category.CONSENT)
    party: Party = carries(Category.CONSENT)
    language: FamilyLanguage | None = carries(Category.CONSENT, default=None)
    """The language the request was read in when answered, so the receipt is given in it
    (absent on answers recorded before it was, and on answers through the API that name none)."""


class ConsentDeclined(Event):
    consent_id: UUID = carries(Category.CONSENT)
    party: Party = carries(Category.CONSENT)
    language: FamilyLanguage | None = carries(Category.CONSENT, default=None)
    """The language the request was read in when answered, so the receipt is given in it
    (absent on answers recorded before it was, and on answers through the API that name none)."""


class ConsentWithdrawn(Event):
    consent_id: UUID = carries(Category.CONSENT)
    party: Party = carries(Category.CONSENT)
    language: FamilyLanguage | None = carries(Category.CONSENT, default=None)
    """The language the request was read in when answered, so the receipt is given in it
    (absent on answers recorded before it was, and on answers through the API that name none)."""


class ConsentReminderSent(Event):
    """A reminder about a consent went out through the units' notices: ``answer`` to the
    parties named, who have not answered a pending request; ``expiry`` to the case owner's
    unit, before a consent in effect runs out. Recorded so that none is sent twice."""

    consent_id: UUID = carries(Category.CONSENT)
    reminder: Literal["answer", "expiry"] = carries(Category.CONSENT)
    parties: tuple[Party, ...] = carries(Category.CONSENT, default=(), max_length=6)
    to_unit_id: str = carries(Category.CONSENT, min_length=1, max_length=100)
    """The unit the notice goes to: the one that asked (answer), or the case owner's (expiry)."""


class TeamDecided(Event):
    """The Barnkontakt's decision: own support, Barnteam or individual team."""

    decision: Decision = carries(Category.TEAM)
    family_informed: bool = carries(Category.TEAM)
    shared_categories: tuple[Category, ...] = carries(Category.TEAM, default=())
    member_unit_ids: tuple[str, ...] = carries(Category.TEAM, default=(), max_length=30)
    rationale: Text = carries(Category.NEEDS, default="", max_length=4000)


class RatingSubmitted(Event):
    """Skattningsformulär: one participant's ratings, only what they know."""

    rating_id: str = carries(Category.RATINGS, min_length=1, max_length=60)
    scores: tuple[IndicatorScore, ...] = carries(Category.RATINGS, min_length=1, max_length=100)


class TeamMeetingHeld(Event):
    """A Barnteam meeting; its joint Behovskompass."""

    meeting_id: str = carries(Category.TEAM, min_length=1, max_length=60)
    participant_unit_ids: tuple[str, ...] = carries(Category.TEAM, min_length=1, max_length=30)
    joint_compass: tuple[AreaScore, ...] = carries(Category.RATINGS, max_length=8)
    advice: Text = carries(Category.NEEDS, default="", max_length=8000)


class SupportCoordinatorAssigned(Event):
    """Stödsamordnare: holds together support from several agencies. With ``from_staff_id``
    the role was handed over (for ``reason``); the deputy (ersättare) acts as the
    coordinator while named, until the next appointment or hand-over."""

    staff_id: str = carries(Category.TEAM, min_length=1, max_length=100)
    unit_id: str = carries(Category.TEAM, min_length=1, max_length=100)
    deputy_staff_id: str | None = carries(Category.TEAM, default=None, min_length=1, max_length=100)
    deputy_unit_id: str | None = carries(Category.TEAM, default=None, min_length=1, max_length=100)
    from_staff_id: str | None = carries(Category.TEAM, default=None, min_length=1, max_length=100)
    reason: Text = carries(Category.TEAM, default="", max_length=2000)


class PlanUpdated(Event):
    """Barnets plan: one plan for all agencies."""

    plan_version: int = carries(Category.PLAN, ge=1)
    goals: tuple[Goal, ...] = carries(Category.PLAN, max_length=40)
    actions: tuple[PlanAction, ...] = carries(Category.PLAN, max_length=100)
    child_view: Text = carries(Category.PLAN, default="", max_length=4000)
    guardian_view: Text = carries(Category.PLAN, default="", max_length=4000)
    next_follow_up: date | None = carries(Category.PLAN, default=None)


class PlanActionCompleted(Event):
    action_id: str = carries(Category.PLAN, min_length=1, max_length=60)
    note: Text = carries(Category.PLAN, default="", max_length=2000)


class FollowUpHeld(Event):
    """Uppföljande samtal with the child and guardians."""

    summary: Text = carries(Category.CONVERSATIONS, default="", max_length=8000)
    compass: tuple[AreaScore, ...] = carries(Category.RATINGS, default=(), max_length=8)
    unmet_needs: tuple[UnmetNeed, ...] = carries(Category.NEEDS, default=(), max_length=8)
    """The compass statements still not met at the follow-up, per area."""


class NeedsMet(Event):
    """A follow-up Behovskompass shows the needs are met; the case closes."""

    follow_up_compass: tuple[AreaScore, ...] = carries(Category.RATINGS, min_length=1, max_length=8)
    summary: Text = carries(Category.NEEDS, default="", max_length=4000)


class ClosedAction(Value):
    """A plan action still open when the case closed, and why it ends unfinished."""

    action_id: str = Field(min_length=1, max_length=60)
    reason: Text = Field(min_length=1, max_length=2000)


class CaseClosed(Event):
    """The case is closed (ärendet avslutat), for a reason; every plan action still open is
    closed with it, each with its own reason. What the units shared on consent stops being
    shared (see :mod:`consent.policy`); each unit's own record stays its own."""

    reason: ClosureReason = carries(Category.PLAN)
    closed_actions: tuple[ClosedAction, ...] = carries(Category.PLAN, default=(), max_length=100)


class ConcernReportFiled(Event):
    """Orosanmälan to social services (SoL 14 kap. 1 §): statutory, never waits for consent."""

    report_id: str = carries(Category.CONCERN_REPORT, min_length=1, max_length=60)
    to_unit_id: str = carries(Category.CONCERN_REPORT, min_length=1, max_length=100)
    unmet_needs: tuple[UnmetNeed, ...] = carries(Category.CONCERN_REPORT, min_length=1, max_length=8)
    description: Text = carries(Category.CONCERN_REPORT, min_length=1, max_length=8000)
    acute: bool = carries(Category.CONCERN_REPORT, default=False)


class HomeVisitRecorded(Event):
    visit: HomeVisit = carries(Category.HEALTH)
    unit_id: str = carries(Category.HEALTH, min_length=1, max_length=100)
    visited_on: date | None = carries(Category.HEALTH, default=None)
    """The day of the visit, when it is recorded later than it was made."""
    notes: Text = carries(Category.HEALTH, default="", max_length=4000)


class AgencySummaryShared(Event):
    """A team member shares what matters from their own agency, each part in its own category."""

    health: Text = carries(Category.HEALTH, default="", max_length=8000)
    police: Text = carries(Category.POLICE, default="", max_length=8000)
    social_services: Text = carries(Category.SOCIAL_SERVICES, default="", max_length=8000)

    @model_validator(mode="after")
    def _not_empty(self) -> AgencySummaryShared:
        if not (self.health or self.police or self.social_services):
            raise ValueError("share at least one of health, police or social_services")
        return self


class InformationWithheld(Event):
    """Earlier facts are put under secrecy towards the guardians (OSL 12 kap. 3 §), or, with
    ``reporter_only``, only who filed the concern reports named (OSL 26 kap. 5 §): the family
    then still sees that a report exists, but not who filed it or from which unit."""

    event_ids: tuple[UUID, ...] = carries(Category.SOCIAL_SERVICES, min_length=1, max_length=100)
    reason: Text = carries(Category.SOCIAL_SERVICES, min_length=1, max_length=2000)
    reporter_only: bool = carries(Category.SOCIAL_SERVICES, default=False)


class InformationAccessed(Event):
    """A read of a child's information, allowed or denied: who, where, what, why, on which basis."""

    accessor_id: str = carries(Category.ACCESS_LOG, min_length=1, max_length=100)
    accessor_unit_id: str | None = carries(Category.ACCESS_LOG, default=None, max_length=100)
    accessor_role: Role = carries(Category.ACCESS_LOG)
    view: str = carries(Category.ACCESS_LOG, min_length=1, max_length=60)
    purpose: Text = carries(Category.ACCESS_LOG, min_length=1, max_length=500)
    categories: tuple[Category, ...] = carries(Category.ACCESS_LOG, default=())
    bases: tuple[LegalBasis, ...] = carries(Category.ACCESS_LOG, default=())
    denied_categories: tuple[Category, ...] = carries(Category.ACCESS_LOG, default=())


class AccessReviewed(Event):
    """An auditor's finding on reads of the child's information (loggkontroll, PDL 4 kap. 3 §).

    The reviewer is the actor. A stream of its own, like a read; never delivered to units,
    and withheld from the family, since a reviewer's note is the auditors' working material.
    """

    access_event_ids: tuple[UUID, ...] = carries(Category.ACCESS_LOG, min_length=1, max_length=100)
    outcome: ReviewOutcome = carries(Category.ACCESS_LOG)
    note: Text = carries(Category.ACCESS_LOG, default="", max_length=4000)


class RecordErased(Event):
    """The child's record was erased (GDPR art. 17; or registered in error): the child's
    data key is destroyed, so every fact sealed under it is unreadable for good.

    The last fact in the child's stream. It carries no personal data and is sealed under
    the tenant's key rather than the child's, so the erasure itself stays on record for
    the auditors after the child's key is gone. The actor is the tenant administrator.
    """

    reason: Text = carries(Category.ACCESS_LOG, min_length=1, max_length=1000)


@dataclass(frozen=True)
class ErasedFact:
    """Stands in for a stored fact that no key opens any more: its child was erased.

    The log keeps its place, so positions, versions and the Merkle tree stay as they
    were; what it said, and when, is gone. Never stored, never published; whoever reads
    the log passes over it.
    """

    child_id: UUID
    type_name: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type_name: cls
    for cls in (
        ChildRegistered,
        GuardianLinkChecked,
        DiscoveryCardSubmitted,
        BarnkontaktAssigned,
        BarnkontaktDelegated,
        FeedbackSent,
        ConversationHeld,
        ConversationInvited,
        ConversationInvitationWithdrawn,
        ConsentRequested,
        ConsentGranted,
        ConsentDeclined,
        ConsentWithdrawn,
        ConsentReminderSent,
        TeamDecided,
        RatingSubmitted,
        TeamMeetingHeld,
        SupportCoordinatorAssigned,
        PlanUpdated,
        PlanActionCompleted,
        FollowUpHeld,
        NeedsMet,
        CaseClosed,
        ConcernReportFiled,
        HomeVisitRecorded,
        AgencySummaryShared,
        InformationWithheld,
        InformationAccessed,
        AccessReviewed,
        RecordErased,
    )
}
"""Every published event by its type name."""


def parse_event(type_name: str, data: bytes | str | dict[str, Any]) -> Event:
    """Rebuild a published event from its type name and JSON."""
    try:
        cls = EVENT_TYPES[type_name]
    except KeyError:
        raise ValueError(f"unknown event type {type_name!r}") from None
    if isinstance(data, dict):
        return cls.model_validate(data)
    return cls.model_validate_json(data)


__all__ = [name for name in dir() if not name.startswith("_")]
