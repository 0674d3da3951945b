"""The child's record: one aggregate per child, holding the facts of its support process.

Verb methods check the process order (``check_*``), then append a past-tense fact from
``contracts.events``. Who may call a verb is :mod:`consent.permissions`'s, asked by the
application; what order the steps come in is the aggregate's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import singledispatchmethod
from statistics import mean
from typing import Any, TypeVar
from uuid import UUID, uuid4

from contracts.events import (
    Actor,
    AgencySummaryShared,
    AreaScore,
    BarnkontaktAssigned,
    AccessReviewed,
    BarnkontaktDelegated,
    CaseClosed,
    ChildRegistered,
    ClosedAction,
    ConcernReportFiled,
    ConsentDeclined,
    ConsentGranted,
    ConsentReminderSent,
    ConsentRequested,
    ConsentWithdrawn,
    ConversationHeld,
    ConversationInvitationWithdrawn,
    ConversationInvited,
    DiscoveryCardSubmitted,
    ErasedFact,
    Event,
    FeedbackSent,
    FollowUpHeld,
    GuardianLinkChecked,
    HomeVisitRecorded,
    IndicatorScore,
    InformationAccessed,
    InformationWithheld,
    NeedsMet,
    PlanAction,
    RecordErased,
    PlanActionCompleted,
    PlanUpdated,
    RatingSubmitted,
    SupportCoordinatorAssigned,
    TeamDecided,
    TeamMeetingHeld,
)
from contracts.indicators import INDICATORS, Indicator
from contracts.vocabulary import (
    CONSENTABLE_CATEGORIES,
    ActionStatus,
    AgeGroup,
    Area,
    Category,
    ConversationWith,
    ClosureReason,
    Decision,
    HomeVisit,
    FamilyLanguage,
    PartyKind,
    RegisterAnswer,
    UnitKind,
    SWEDISH_TIME,
    age_group_for,
)
from consent import (
    ChildFacts,
    ConsentState,
    GuardianFact,
    PolicyRules,
    age_on,
    consent_ends_by,
    consent_status,
    required_parties,
)
from consent.policy import ConsentStatus

from hub.errors import ConsentError, InvalidInputError, OutOfOrderError, RecordErasedError


def no_such_consent(consent_id: UUID) -> InvalidInputError:
    """The answer to a consent id the child has none under: the same wherever it is given, so
    it tells nothing of a consent kept from the one asking."""
    return InvalidInputError(f"no consent {consent_id} for this child", field="consent_id")


@dataclass(frozen=True)
class Recorded:
    """A fact as the log keeps it: the published event and its place in its stream."""

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    fact: Event
    traceparent: str | None = None
    """The W3C trace context the fact was appended under, so delivery continues its trace."""


@dataclass(frozen=True)
class Card:
    card_id: str
    to_unit_id: str
    from_unit_id: str | None
    submitted_at: datetime
    feedback_sent: bool = False


@dataclass(frozen=True)
class Invitation:
    """An invitation to answer the conversation's questions digitally, and where it stands."""

    invitation_id: str
    with_whom: ConversationWith
    guardian_id: str | None
    age_group: AgeGroup
    greeting_name: str
    expires_at: datetime
    unit_id: str | None
    """The inviting unit: the answer is recorded as its own."""
    answers_withheld: bool = False
    answered_at: datetime | None = None
    withdrawn_at: datetime | None = None

    @property
    def party(self) -> tuple[PartyKind, str]:
        """Who answers: the named guardian, or the child (by the child's id)."""
        if self.with_whom is ConversationWith.GUARDIAN:
            return PartyKind.GUARDIAN, self.guardian_id or ""
        return PartyKind.CHILD, ""

    def is_open(self, at: datetime) -> bool:
        return self.answered_at is None and self.withdrawn_at is None and at < self.expires_at


CHILD_ANSWERS_FROM = frozenset({AgeGroup.AGE_7_9, AgeGroup.AGE_10_12, AgeGroup.AGE_13_15, AgeGroup.AGE_16_18})
"""Age groups whose questions a child answers alone on a phone; a younger child's
conversation is held with an adult (the conversation guides for 0-3 and 4-6 years)."""


@dataclass(frozen=True)
class ActionState:
    action: PlanAction
    completed_at: datetime | None = None
    closed_reason: str | None = None
    """Why it ended unfinished, when it was closed with the case."""


E = TypeVar("E", bound=Event)

NOT_ENTRIES = (InformationAccessed, AccessReviewed, GuardianLinkChecked)
"""Facts that are no step of the case: reads, reviews, register checks. Retention counts
from the last fact that is."""

TEAM_DECISIONS = frozenset({Decision.BARNTEAM, Decision.INDIVIDUAL_TEAM})
WITHHELD_WHEN_FILED = "Sekretess mot vårdnadshavarna (OSL 12 kap. 3 §), begärd när uppgiften registrerades"
"""The reason recorded when a fact is filed kept from the guardians."""

REPORTER_SECRECY = "Sekretess för anmälarens identitet (OSL 26 kap. 5 §), begärd när anmälan gjordes"
"""The reason recorded when a report is filed with its reporter kept from the family."""


class Child:
    """Barnets ärende: every fact of one child's support process, in order."""

    def __init__(self, child_id: UUID) -> None:
        self.id = child_id
        self.version = 0
        self._pending: list[Recorded] = []
        self.tenant_id = ""
        self.birth_date = date.min
        self.guardians: tuple[GuardianFact, ...] = ()
        self.personnummer = ""
        self.guardian_numbers: dict[str, str] = {}
        """Each named guardian's personnummer by guardian id: what a later check asks the register about."""
        self.registered_at: datetime | None = None
        self.cards: dict[str, Card] = {}
        self.barnkontakt: tuple[str, str] | None = None
        self.conversations = 0
        self.consents: dict[UUID, ConsentState] = {}
        self.decision: Decision | None = None
        self.team_unit_ids: frozenset[str] = frozenset()
        self.ratings: list[RatingSubmitted] = []
        self.coordinator: tuple[str, str] | None = None
        self.coordinator_deputy: tuple[str, str] | None = None
        """The ersättare: acts as the coordinator while named (staff id, unit id)."""
        self.plan_version = 0
        self.plan_unit_id: str | None = None
        """The unit that recorded the plan's latest version: whose record its actions are."""
        self.plan_recorded_at: datetime | None = None
        self.actions: dict[str, ActionState] = {}
        self.next_follow_up: date | None = None
        self.needs_met_at: datetime | None = None
        self.closed_at: datetime | None = None
        """When the case was closed; a new discovery card opens it again."""
        self.last_closed_at: datetime | None = None
        """The latest closure, kept when a card opens the case again (consents before it stay ended)."""
        self.closure_reason: ClosureReason | None = None
        self.last_entry_at: datetime | None = None
        """The last step recorded (reads and register checks are not entries): retention counts from it."""
        self.concern_report_units: set[str] = set()
        self.units_sent_to: set[str] = set()
        self.home_visits: set[HomeVisit] = set()
        self.event_origins: dict[UUID, str | None] = {}
        self.withheld: set[UUID] = set()
        self.concern_reports: dict[UUID, str] = {}
        """Each concern report's fact, and the social-services unit it was filed to."""
        self.reporter_withheld: set[UUID] = set()
        """Concern reports whose reporter is kept from the family (OSL 26 kap. 5 §)."""
        self.consent_requests: dict[UUID, UUID] = {}
        """Each consent's request fact, by consent id: what withholding the request names."""
        self.decisions = 0
        """How many decisions were recorded: a request belongs to the decision before it."""
        self.consent_scopes: dict[UUID, tuple[int, frozenset[tuple[PartyKind, str]]]] = {}
        """Each consent's decision count and the parties asked, when requested: what makes a request a repeat."""
        self.reminded: dict[tuple[UUID, str], frozenset[tuple[PartyKind, str]]] = {}
        """Who was reminded of each consent, by consent and reminder: what is never sent twice."""
        self.withdrawals: dict[UUID, tuple[datetime, PartyKind]] = {}
        """When each consent was first withdrawn, and by whom: what a unit that lost sight is told."""
        self.erased_at: datetime | None = None
        self.given_name = ""
        self.invitations: dict[str, Invitation] = {}
        """Invitations to the digital conversation, by id (:class:`ConversationInvited`)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Child:
        """A copy a command may change without touching the original (the repository's
        cache). Facts, cards, actions, consent states and the other values are immutable
        and shared; only the containers are copied, so taking a cached child costs little
        however long its record is."""
        other = copy.copy(self)
        other._pending = list(self._pending)
        other.cards = dict(self.cards)
        other.consents = dict(self.consents)
        other.ratings = list(self.ratings)
        other.actions = dict(self.actions)
        other.concern_report_units = set(self.concern_report_units)
        other.units_sent_to = set(self.units_sent_to)
        other.home_visits = set(self.home_visits)
        other.event_origins = dict(self.event_origins)
        other.withheld = set(self.withheld)
        other.concern_reports = dict(self.concern_reports)
        other.reporter_withheld = set(self.reporter_withheld)
        other.consent_requests = dict(self.consent_requests)
        other.consent_scopes = dict(self.consent_scopes)
        other.reminded = dict(self.reminded)
        other.withdrawals = dict(self.withdrawals)
        other.guardian_numbers = dict(self.guardian_numbers)
        other.invitations = dict(self.invitations)
        return other

    # -- creation ---------------------------------------------------------------

    @classmethod
    def register(
        cls,
        *,
        child_id: UUID,
        tenant_id: str,
        actor: Actor,
        at: datetime,
        given_name: str,
        family_name: str,
        personnummer: str,
        birth_date: date,
        guardians: Iterable[Any],
    ) -> Child:
        child = cls(child_id)
        child.tenant_id = tenant_id
        child._trigger(
            ChildRegistered,
            actor,
            at,
            given_name=given_name,
            family_name=family_name,
            personnummer=personnummer,
            birth_date=birth_date,
            guardians=tuple(guardians),
        )
        return child

    def check_guardian_links(self, *, actor: Actor, at: datetime, answers: dict[str, RegisterAnswer]) -> None:
        """Record what the population register answered, when asked again, about each named guardian."""
        for guardian_id, answer in answers.items():
            if guardian_id not in self.guardian_numbers:
                raise InvalidInputError(f"no guardian {guardian_id} named for this child", field="guardian_id")
            self._trigger(GuardianLinkChecked, actor, at, guardian_id=guardian_id, answer=answer)

    # -- the support process -----------------------------------------------------

    def submit_discovery_card(self, *, actor: Actor, at: datetime, **payload: Any) -> DiscoveryCardSubmitted:
        card_id = payload.setdefault("card_id", f"card-{uuid4().hex[:12]}")
        if card_id in self.cards:
            raise InvalidInputError(f"discovery card {card_id} already submitted", field="card_id")
        return self._trigger(DiscoveryCardSubmitted, actor, at, **payload)

    def assign_barnkontakt(self, *, actor: Actor, at: datetime, staff_id: str, unit_id: str) -> None:
        self._trigger(BarnkontaktAssigned, actor, at, staff_id=staff_id, unit_id=unit_id)

    def delegate_barnkontakt(self, *, actor: Actor, at: datetime, staff_id: str, unit_id: str, reason: str) -> None:
        self.check_barnkontakt_assigned()
        if self.barnkontakt == (staff_id, unit_id):
            raise InvalidInputError("the role is already held by this staff member", field="staff_id")
        self._trigger(
            BarnkontaktDelegated,
            actor,
            at,
            from_staff_id=self.barnkontakt[0] if self.barnkontakt else "",
            staff_id=staff_id,
            unit_id=unit_id,
            reason=reason,
        )

    def send_feedback(self, *, actor: Actor, at: datetime, card_id: str, message: str) -> None:
        card = self.cards.get(card_id)
        if card is None:
            raise InvalidInputError(f"no discovery card {card_id} for this child", field="card_id")
        if card.from_unit_id is None:
            raise OutOfOrderError("the card has no discovering unit to send feedback to")
        self._trigger(FeedbackSent, actor, at, card_id=card_id, to_unit_id=card.from_unit_id, message=message)

    def hold_conversation(self, *, actor: Actor, at: datetime, **payload: Any) -> ConversationHeld:
        self.check_barnkontakt_assigned()
        payload.setdefault("conversation_id", f"conv-{uuid4().hex[:12]}")
        return self._trigger(ConversationHeld, actor, at, **payload)

    def invite_to_conversation(
        self,
        *,
        actor: Actor,
        at: datetime,
        with_whom: ConversationWith,
        guardian_id: str | None,
        age_group: AgeGroup,
        expires_at: datetime,
        answers_withheld: bool = False,
    ) -> ConversationInvited:
        """Invite the child, or a guardian with custody, to answer the age group's questions
        on their own phone; the answer arrives as the conversation's record."""
        self.check_barnkontakt_assigned()
        if expires_at <= at:
            raise InvalidInputError("the invitation must end after now", field="expires_at")
        if with_whom is ConversationWith.GUARDIAN:
            if not any(g.guardian_id == guardian_id and g.custodial for g in self.guardians):
                raise InvalidInputError("name a guardian with custody of this child", field="guardian_id")
        else:
            guardian_id = None
            if age_group not in CHILD_ANSWERS_FROM:
                raise InvalidInputError("a child younger than 7 answers with an adult, not alone", field="age_group")
        return self._trigger(
            ConversationInvited,
            actor,
            at,
            invitation_id=f"inv-{uuid4().hex[:12]}",
            with_whom=with_whom,
            guardian_id=guardian_id,
            age_group=age_group,
            greeting_name=self.given_name or "",
            expires_at=expires_at,
            answers_withheld=answers_withheld,
        )

    def withdraw_conversation_invitation(self, *, actor: Actor, at: datetime, invitation_id: str) -> None:
        invitation = self.check_invitation_open(invitation_id, at)
        self._trigger(ConversationInvitationWithdrawn, actor, at, invitation_id=invitation.invitation_id)

    def answer_conversation_invitation(
        self, *, actor: Actor, at: datetime, invitation_id: str, views: tuple[Any, ...], summary: str
    ) -> ConversationHeld:
        """The invited party's answers, once: recorded as a conversation held digitally, at
        the unit that invited, kept from the family when the invitation said so."""
        invitation = self.check_invitation_open(invitation_id, at)
        return self._trigger(
            ConversationHeld,
            actor,
            at,
            conversation_id=f"conv-{uuid4().hex[:12]}",
            with_whom=invitation.with_whom,
            age_group=invitation.age_group,
            views=views,
            digital_survey=True,
            summary=summary,
            invitation_id=invitation.invitation_id,
            withheld_from_guardians=invitation.answers_withheld,
        )

    def request_consent(
        self,
        *,
        actor: Actor,
        at: datetime,
        rules: PolicyRules,
        recipients: tuple[Any, ...],
        categories: tuple[Category, ...],
        purpose: str,
        valid_until: datetime | None = None,
    ) -> UUID:
        wrong = sorted(c.value for c in set(categories) - CONSENTABLE_CATEGORIES)
        if wrong:
            raise InvalidInputError(
                f"consent cannot be asked for: {', '.join(wrong)}", field="categories"
            )
        facts = self.facts()
        latest = consent_ends_by(facts.birth_date, at, rules)
        until = valid_until or min(at + timedelta(days=rules.default_validity_days), latest)
        if until <= at:
            raise InvalidInputError("valid_until must be after now", field="valid_until")
        if until > latest:
            raise InvalidInputError(
                "valid_until is later than a consent may run: the area's longest period, and never past the child's 18th birthday",
                field="valid_until",
            )
        parties = required_parties(facts, at, rules)
        if not parties:
            raise ConsentError("no guardian with custody can answer for this child")
        repeat = self.pending_repeat_of(recipients, categories, purpose, frozenset(parties), at, rules)
        if repeat is not None:
            return repeat
        consent_id = uuid4()
        self._trigger(
            ConsentRequested,
            actor,
            at,
            consent_id=consent_id,
            recipients=recipients,
            categories=tuple(dict.fromkeys(categories)),
            purpose=purpose,
            valid_from=at,
            valid_until=until,
            required_parties=tuple({"kind": k, "party_id": p} for k, p in sorted(parties)),
        )
        return consent_id

    def pending_repeat_of(
        self,
        recipients: tuple[Any, ...],
        categories: tuple[Category, ...],
        purpose: str,
        parties: frozenset[tuple[PartyKind, str]],
        at: datetime,
        rules: PolicyRules,
    ) -> UUID | None:
        """The pending request this one repeats (same decision, recipients, categories, purpose
        and parties), if any: one request per decision, so a double submit never sends the family
        two identical requests. A changed scope, a new decision or an answered request is new."""
        units = frozenset(_recipient(r, "unit_id") for r in recipients) - {None}
        kinds = frozenset(UnitKind(k) for k in (_recipient(r, "unit_kind") for r in recipients) if k)
        facts = self.facts()
        for consent_id, consent in self.consents.items():
            if (
                self.consent_scopes.get(consent_id) == (self.decisions, parties)
                and consent.recipient_unit_ids == units
                and consent.recipient_unit_kinds == kinds
                and consent.categories == frozenset(categories)
                and consent.purpose == purpose
                and consent_status(consent, facts, at, rules) is ConsentStatus.PENDING
                and not (consent.granted or consent.declined or consent.withdrawn)
            ):
                return consent_id
        return None

    def grant_consent(
        self, *, actor: Actor, at: datetime, rules: PolicyRules, consent_id: UUID, party: tuple[PartyKind, str],
        language: FamilyLanguage | None = None,
    ) -> None:
        consent = self.check_consent_answerable(consent_id, party, at, rules)
        if party in consent.granted:
            raise ConsentError("this party has already granted this consent")
        self._trigger(
            ConsentGranted, actor, at, consent_id=consent_id, party={"kind": party[0], "party_id": party[1]}, language=language,
        )

    def decline_consent(
        self, *, actor: Actor, at: datetime, rules: PolicyRules, consent_id: UUID, party: tuple[PartyKind, str],
        language: FamilyLanguage | None = None,
    ) -> None:
        consent = self.check_consent_answerable(consent_id, party, at, rules)
        if party in consent.granted:
            raise ConsentError("this party has granted; withdraw the consent instead")
        self._trigger(
            ConsentDeclined, actor, at, consent_id=consent_id, party={"kind": party[0], "party_id": party[1]}, language=language,
        )

    def withdraw_consent(
        self, *, actor: Actor, at: datetime, rules: PolicyRules, consent_id: UUID, party: tuple[PartyKind, str],
        language: FamilyLanguage | None = None,
    ) -> None:
        consent = self.consents.get(consent_id)
        if consent is None:
            raise no_such_consent(consent_id)
        self.check_is_party(party, at, rules)
        if consent.withdrawn:
            raise ConsentError("this consent is already withdrawn")
        self._trigger(
            ConsentWithdrawn, actor, at, consent_id=consent_id, party={"kind": party[0], "party_id": party[1]}, language=language,
        )

    def send_consent_reminder(
        self,
        *,
        actor: Actor,
        at: datetime,
        consent_id: UUID,
        reminder: str,
        parties: tuple[tuple[PartyKind, str], ...] = (),
        to_unit_id: str,
    ) -> None:
        """Record a reminder about a consent; who was reminded already is not reminded again."""
        self.check_not_reminded(consent_id, reminder, parties)
        self._trigger(
            ConsentReminderSent, actor, at, consent_id=consent_id, reminder=reminder,
            parties=tuple({"kind": k, "party_id": i} for k, i in parties), to_unit_id=to_unit_id,
        )

    def check_not_reminded(self, consent_id: UUID, reminder: str, parties: tuple[tuple[PartyKind, str], ...]) -> None:
        if consent_id not in self.consents:
            raise no_such_consent(consent_id)
        before = self.reminded.get((consent_id, reminder))
        if before is not None and (reminder == "expiry" or not set(parties) - before):
            raise ConsentError("this reminder was already sent")

    def decide_team(
        self,
        *,
        actor: Actor,
        at: datetime,
        decision: Decision,
        family_informed: bool,
        shared_categories: tuple[Category, ...] = (),
        member_unit_ids: tuple[str, ...] = (),
        rationale: str = "",
    ) -> TeamDecided:
        self.check_barnkontakt_assigned()
        if self.conversations == 0:
            raise OutOfOrderError("hold a child or guardian conversation before the decision")
        if decision in TEAM_DECISIONS:
            if not family_informed:
                raise OutOfOrderError(
                    "child and guardians must be told what will be shared before a team is formed"
                )
            if not member_unit_ids:
                raise InvalidInputError("a team needs at least one member unit", field="member_unit_ids")
        return self._trigger(
            TeamDecided,
            actor,
            at,
            decision=decision,
            family_informed=family_informed,
            shared_categories=shared_categories,
            member_unit_ids=member_unit_ids,
            rationale=rationale,
        )

    def submit_rating(self, *, actor: Actor, at: datetime, scores: tuple[Any, ...]) -> RatingSubmitted:
        self.check_team_decided()
        checked = self.check_indicators_fit(scores, at)
        return self._trigger(RatingSubmitted, actor, at, rating_id=f"rating-{uuid4().hex[:12]}", scores=checked)

    def rating_age_group(self, at: datetime) -> AgeGroup:
        """The age group whose indicators the rating form asks (:mod:`contracts.indicators`)."""
        return age_group_for(age_on(self.birth_date, at))

    def check_indicators_fit(self, scores: tuple[Any, ...], at: datetime) -> tuple[IndicatorScore, ...]:
        """Each score names a known indicator of its own area, once, and of the child's age
        group now: a five-year-old is not rated on criminal networks, however the rating is sent.
        The messages name the indicator and the field, never the child's age."""
        group = self.rating_age_group(at)
        seen: set[Indicator] = set()
        out = []
        for i, given in enumerate(scores):
            s = IndicatorScore.model_validate(given) if isinstance(given, dict) else given
            field = f"scores[{i}].indicator"
            try:
                indicator = Indicator(s.indicator)
            except ValueError:
                raise InvalidInputError("no such indicator on the rating form", field=field) from None
            description = INDICATORS[indicator]
            if Area(s.area) is not description.area:
                raise InvalidInputError(f"indicator {indicator.value} belongs to another area", field=f"scores[{i}].area")
            if indicator in seen:
                raise InvalidInputError(f"indicator {indicator.value} is scored twice", field=field)
            if group not in description.age_groups:
                raise InvalidInputError(f"indicator {indicator.value} is not asked for a child of this age", field=field)
            seen.add(indicator)
            out.append(IndicatorScore(area=description.area, indicator=indicator.value, score=s.score))
        return tuple(out)

    def hold_team_meeting(self, *, actor: Actor, at: datetime, participant_unit_ids: tuple[str, ...], advice: str = "") -> TeamMeetingHeld:
        self.check_team_decided()
        if not self.ratings:
            raise OutOfOrderError("submit at least one rating before the joint Behovskompass")
        return self._trigger(
            TeamMeetingHeld,
            actor,
            at,
            meeting_id=f"meeting-{uuid4().hex[:12]}",
            participant_unit_ids=participant_unit_ids,
            joint_compass=joint_compass(self.ratings),
            advice=advice,
        )

    def assign_support_coordinator(
        self, *, actor: Actor, at: datetime, staff_id: str, unit_id: str, deputy: tuple[str, str] | None = None
    ) -> SupportCoordinatorAssigned:
        """Utse stödsamordnare, with an ersättare (deputy) who acts as the coordinator while named.
        Appointing again keeps the coordinator and names the deputy anew; another coordinator
        takes over only by a hand-over, whose reason the team can read."""
        self.check_individual_team()
        if self.coordinator is not None and self.coordinator[0] != staff_id:
            raise OutOfOrderError("a support coordinator is appointed: hand the role over, with a reason")
        self.check_deputy_not_coordinator(staff_id, deputy)
        return self._trigger(
            SupportCoordinatorAssigned, actor, at, staff_id=staff_id, unit_id=unit_id,
            deputy_staff_id=deputy[0] if deputy else None, deputy_unit_id=deputy[1] if deputy else None,
        )

    def hand_over_support_coordinator(
        self, *, actor: Actor, at: datetime, staff_id: str, unit_id: str, reason: str, deputy: tuple[str, str] | None = None
    ) -> SupportCoordinatorAssigned:
        """Lämna över: the role passes to another coordinator, for a reason the team can read."""
        self.check_individual_team()
        self.check_coordinator_assigned()
        if self.coordinator is not None and self.coordinator[0] == staff_id:
            raise InvalidInputError("the role is already held by this staff member", field="staff_id")
        if not reason.strip():
            raise InvalidInputError("say why the role is handed over", field="reason")
        self.check_deputy_not_coordinator(staff_id, deputy)
        return self._trigger(
            SupportCoordinatorAssigned, actor, at, staff_id=staff_id, unit_id=unit_id,
            deputy_staff_id=deputy[0] if deputy else None, deputy_unit_id=deputy[1] if deputy else None,
            from_staff_id=self.coordinator[0] if self.coordinator else None, reason=reason.strip(),
        )

    def update_plan(self, *, actor: Actor, at: datetime, **payload: Any) -> PlanUpdated:
        self.check_individual_team()
        return self._trigger(PlanUpdated, actor, at, plan_version=self.plan_version + 1, **payload)

    def complete_plan_action(self, *, actor: Actor, at: datetime, action_id: str, note: str = "") -> PlanActionCompleted:
        state = self.actions.get(action_id)
        if state is None:
            raise InvalidInputError(f"no action {action_id} in the plan", field="action_id")
        if state.completed_at is not None or state.action.status is ActionStatus.DONE:
            raise OutOfOrderError(f"action {action_id} is already completed")
        return self._trigger(PlanActionCompleted, actor, at, action_id=action_id, note=note)

    def hold_follow_up(
        self, *, actor: Actor, at: datetime, summary: str, compass: tuple[Any, ...] = (), unmet_needs: tuple[Any, ...] = ()
    ) -> FollowUpHeld:
        self.check_decided()
        self.check_team_work_open()
        return self._trigger(FollowUpHeld, actor, at, summary=summary, compass=compass, unmet_needs=unmet_needs)

    def record_needs_met(
        self,
        *,
        actor: Actor,
        at: datetime,
        follow_up_compass: tuple[Any, ...],
        summary: str = "",
        closed_actions: tuple[ClosedAction, ...] = (),
    ) -> NeedsMet:
        """Behoven tillgodosedda: the follow-up compass, and the case closed with it. Refused
        while a plan action is open, unless each open one is closed with a reason here."""
        self.check_decided()
        if self.needs_met_at is not None:
            raise OutOfOrderError("the needs are already recorded as met")
        self.check_case_open()
        self.check_open_actions_closed(closed_actions)
        met = self._trigger(NeedsMet, actor, at, follow_up_compass=follow_up_compass, summary=summary)
        self._trigger(CaseClosed, actor, at, reason=ClosureReason.NEEDS_MET, closed_actions=closed_actions)
        return met

    def close_case(
        self, *, actor: Actor, at: datetime, reason: ClosureReason, closed_actions: tuple[ClosedAction, ...] = ()
    ) -> CaseClosed:
        """Close the case because the family moved away or declined; needs met is recorded
        with its follow-up compass (:meth:`record_needs_met`). Open actions close with it."""
        if reason is ClosureReason.NEEDS_MET:
            raise InvalidInputError("needs met is recorded with a follow-up Behovskompass", field="reason")
        self.check_barnkontakt_assigned()
        self.check_case_open()
        self.check_open_actions_closed(closed_actions)
        return self._trigger(CaseClosed, actor, at, reason=reason, closed_actions=closed_actions)

    def file_concern_report(
        self, *, actor: Actor, at: datetime, reporter_withheld: bool = False, **payload: Any
    ) -> ConcernReportFiled:
        """The report, and with ``reporter_withheld`` the secrecy of who filed it, appended together."""
        payload.setdefault("report_id", f"report-{uuid4().hex[:12]}")
        report = self._trigger(ConcernReportFiled, actor, at, **payload)
        if reporter_withheld:
            self._trigger(
                InformationWithheld,
                actor,
                at,
                event_ids=(report.event_id,),
                reason=REPORTER_SECRECY,
                reporter_only=True,
                withheld_from_guardians=True,
            )
        return report

    def record_home_visit(
        self, *, actor: Actor, at: datetime, visit: HomeVisit, unit_id: str, notes: str = "", visited_on: date | None = None
    ) -> UUID:
        if visit in self.home_visits:
            raise InvalidInputError(f"home visit {int(visit)} is already recorded", field="visit")
        self.check_visit_day(visited_on, at)
        return self._trigger(
            HomeVisitRecorded, actor, at, visit=visit, unit_id=unit_id, notes=notes, visited_on=visited_on
        ).event_id

    def share_agency_summary(self, *, actor: Actor, at: datetime, **payload: Any) -> UUID:
        self.check_team_decided()
        return self._trigger(AgencySummaryShared, actor, at, **payload).event_id

    def withhold_information(
        self, *, actor: Actor, at: datetime, event_ids: tuple[UUID, ...], reason: str, reporter_only: bool = False
    ) -> None:
        """Keep facts from the family; with ``reporter_only``, only who filed the concern
        reports named (each must be one)."""
        for event_id in event_ids:
            if event_id not in self.event_origins:
                raise InvalidInputError(f"no fact {event_id} for this child", field="event_ids")
            if reporter_only and event_id not in self.concern_reports:
                raise InvalidInputError(f"fact {event_id} is not a concern report", field="event_ids")
        self.check_no_granted_consent_withheld(event_ids)
        self._trigger(
            InformationWithheld,
            actor,
            at,
            event_ids=event_ids,
            reason=reason,
            reporter_only=reporter_only,
            withheld_from_guardians=True,
        )

    # -- guards -----------------------------------------------------------------

    def check_no_granted_consent_withheld(self, event_ids: tuple[UUID, ...]) -> None:
        """A consent request a party has granted is theirs: kept from them, they could no
        longer see what they agreed to nor take it back as easily as they gave it (GDPR
        art. 7(3), art. 15). A request still unanswered or only declined may be withheld."""
        for consent_id, event_id in self.consent_requests.items():
            consent = self.consents.get(consent_id)
            if event_id in event_ids and consent is not None and consent.granted:
                raise InvalidInputError(
                    f"fact {event_id} asks for a consent a party has granted; it cannot be kept from the family",
                    field="event_ids",
                )

    def check_invitation_open(self, invitation_id: str, at: datetime) -> Invitation:
        """An invitation works once, until it ends, unless withdrawn."""
        self.check_not_erased()
        invitation = self.invitations.get(invitation_id)
        if invitation is None:
            raise InvalidInputError(f"no invitation {invitation_id} for this child", field="invitation_id")
        if not invitation.is_open(at):
            raise OutOfOrderError("the invitation is answered, withdrawn or has ended")
        return invitation
    def check_coordinator_assigned(self) -> None:
        if self.coordinator is None:
            raise OutOfOrderError("no support coordinator is appointed for this child yet")

    @staticmethod
    def check_deputy_not_coordinator(staff_id: str, deputy: tuple[str, str] | None) -> None:
        if deputy is not None and deputy[0] == staff_id:
            raise InvalidInputError("the deputy must be someone other than the coordinator", field="deputy_staff_id")

    def check_visit_day(self, visited_on: date | None, at: datetime) -> None:
        """A home visit is made in the child's life, and not later than it is recorded."""
        if visited_on is None:
            return
        if visited_on > at.astimezone(SWEDISH_TIME).date():
            raise InvalidInputError("the visit day is in the future", field="visited_on")
        if self.birth_date != date.min and visited_on < self.birth_date:
            raise InvalidInputError("the visit day is before the child was born", field="visited_on")

    def open_action_ids(self) -> list[str]:
        """Plan actions neither completed nor marked done or cancelled, in plan order."""
        return [
            action_id
            for action_id, state in self.actions.items()
            if state.completed_at is None and state.action.status not in (ActionStatus.DONE, ActionStatus.CANCELLED)
        ]

    def check_open_actions_closed(self, closed_actions: tuple[ClosedAction, ...]) -> None:
        """Every open plan action must be closed with a reason, and only open ones may be."""
        open_ids = self.open_action_ids()
        named = [c.action_id for c in closed_actions]
        if len(set(named)) != len(named):
            raise InvalidInputError("an action is closed twice", field="closed_actions")
        for action_id in named:
            if action_id not in open_ids:
                raise InvalidInputError(f"no open action {action_id} in the plan", field="closed_actions")
        left = [a for a in open_ids if a not in named]
        if left:
            raise OutOfOrderError(
                f"{len(left)} plan action(s) still open: complete them, or close each with a reason"
            )

    def check_case_open(self) -> None:
        if self.closed_at is not None:
            raise OutOfOrderError("the case is already closed")

    def check_barnkontakt_assigned(self) -> None:
        if self.barnkontakt is None:
            raise OutOfOrderError("no Barnkontakt is assigned to this child yet")

    def check_decided(self) -> None:
        if self.decision is None:
            raise OutOfOrderError("no decision has been made for this child yet")

    def check_team_decided(self) -> None:
        if self.decision not in TEAM_DECISIONS:
            raise OutOfOrderError("no Barnteam or individual team has been decided for this child")
        self.check_team_work_open()

    def check_individual_team(self) -> None:
        if self.decision is not Decision.INDIVIDUAL_TEAM:
            raise OutOfOrderError("no individual team has been decided for this child")
        self.check_team_work_open()

    def check_team_work_open(self) -> None:
        """The team works on an open case only: every entry restarts each unit's retention
        period, so work added to a closed case would keep what was shared in sight."""
        if self.closed_at is not None:
            raise OutOfOrderError("the case is closed: a new discovery card opens it again")

    def check_is_party(self, party: tuple[PartyKind, str], at: datetime, rules: PolicyRules) -> None:
        if party not in required_parties(self.facts(), at, rules):
            raise ConsentError("only a guardian with custody, or the child from the set age, answers")

    def check_consent_answerable(
        self, consent_id: UUID, party: tuple[PartyKind, str], at: datetime, rules: PolicyRules
    ) -> ConsentState:
        consent = self.consents.get(consent_id)
        if consent is None:
            raise no_such_consent(consent_id)
        self.check_is_party(party, at, rules)
        status = consent_status(consent, self.facts(), at, rules)
        if status not in (ConsentStatus.PENDING, ConsentStatus.IN_EFFECT):
            raise ConsentError(f"this consent can no longer be answered: it is {status.value}")
        if party in consent.declined:
            raise ConsentError("this party has already declined")
        return consent

    # -- what the policy needs ------------------------------------------------------

    def facts(self) -> ChildFacts:
        return ChildFacts(
            tenant_id=self.tenant_id,
            child_id=self.id,
            birth_date=self.birth_date,
            guardians=self.guardians,
            consents=tuple(self.consents.values()),
            units_sent_to=frozenset(self.units_sent_to),
            concern_report_units=frozenset(self.concern_report_units),
            erased=self.erased_at is not None,
            closed_at=self.closed_at,
            last_closed_at=self.last_closed_at,
            last_entry_at=self.last_entry_at,
        )

    # -- event mechanics -----------------------------------------------------------

    def erase(self, actor: Actor, at: datetime, *, reason: str) -> None:
        """Record that the child's record is erased; the application then destroys its key."""
        self._trigger(RecordErased, actor, at, reason=reason)

    def check_not_erased(self) -> None:
        if self.erased_at is not None:
            raise RecordErasedError(self.id)

    def _trigger(self, cls: type[E], actor: Actor, at: datetime, **payload: Any) -> E:
        self.check_not_erased()
        fact = cls(
            event_id=uuid4(),
            tenant_id=self.tenant_id,
            child_id=self.id,
            occurred_at=at,
            actor=actor,
            **payload,
        )
        recorded = Recorded(self.id, self.version + 1, at, fact)
        self.apply(recorded)
        self._pending.append(recorded)
        return fact

    def collect_events(self) -> list[Recorded]:
        pending, self._pending = self._pending, []
        return pending

    def apply(self, recorded: Recorded) -> None:
        self.version = recorded.originator_version
        fact = recorded.fact
        if isinstance(fact, ErasedFact):
            return
        self.event_origins[fact.event_id] = fact.actor.unit_id
        if not isinstance(fact, NOT_ENTRIES):
            self.last_entry_at = fact.occurred_at
        self._when(fact)

    @singledispatchmethod
    def _when(self, fact: Event) -> None:
        """Facts that change nothing the guards look at."""

    @_when.register
    def _(self, fact: ChildRegistered) -> None:
        self.tenant_id = fact.tenant_id
        self.birth_date = fact.birth_date
        self.registered_at = fact.occurred_at
        self.personnummer = fact.personnummer
        self.guardians = tuple(
            GuardianFact(g.guardian_id, g.has_custody, g.register_answer is RegisterAnswer.CONFIRMED) for g in fact.guardians
        )
        self.guardian_numbers = {g.guardian_id: g.personnummer for g in fact.guardians}
        self.given_name = fact.given_name

    @_when.register
    def _(self, fact: GuardianLinkChecked) -> None:
        """Confirmed only by the register's yes; its no ends a confirmation (custody can
        change); an unreachable register leaves the link as it was."""
        if fact.answer is RegisterAnswer.REGISTER_UNAVAILABLE:
            return
        confirmed = fact.answer is RegisterAnswer.CONFIRMED
        self.guardians = tuple(
            replace(g, confirmed=confirmed) if g.guardian_id == fact.guardian_id else g for g in self.guardians
        )

    @_when.register
    def _(self, fact: DiscoveryCardSubmitted) -> None:
        self.cards[fact.card_id] = Card(fact.card_id, fact.to_unit_id, fact.actor.unit_id, fact.occurred_at)
        self.units_sent_to.add(fact.to_unit_id)
        self.needs_met_at = None
        self.closed_at = None
        self.closure_reason = None

    @_when.register
    def _(self, fact: BarnkontaktAssigned) -> None:
        self.barnkontakt = (fact.staff_id, fact.unit_id)
        self.units_sent_to.add(fact.unit_id)

    @_when.register
    def _(self, fact: BarnkontaktDelegated) -> None:
        self.barnkontakt = (fact.staff_id, fact.unit_id)
        self.units_sent_to.add(fact.unit_id)

    @_when.register
    def _(self, fact: FeedbackSent) -> None:
        self.cards[fact.card_id] = replace(self.cards[fact.card_id], feedback_sent=True)
        self.units_sent_to.add(fact.to_unit_id)

    @_when.register
    def _(self, fact: ConversationHeld) -> None:
        self.conversations += 1
        invitation = self.invitations.get(fact.invitation_id or "")
        if invitation is not None:
            self.invitations[invitation.invitation_id] = replace(invitation, answered_at=fact.occurred_at)

    @_when.register
    def _(self, fact: ConversationInvited) -> None:
        self.invitations[fact.invitation_id] = Invitation(
            fact.invitation_id, fact.with_whom, fact.guardian_id, fact.age_group, fact.greeting_name, fact.expires_at,
            fact.actor.unit_id, fact.answers_withheld,
        )

    @_when.register
    def _(self, fact: ConversationInvitationWithdrawn) -> None:
        invitation = self.invitations.get(fact.invitation_id)
        if invitation is not None:
            self.invitations[fact.invitation_id] = replace(invitation, withdrawn_at=fact.occurred_at)

    @_when.register
    def _(self, fact: ConsentRequested) -> None:
        self.consent_requests[fact.consent_id] = fact.event_id
        self.consent_scopes[fact.consent_id] = (
            self.decisions,
            frozenset((p.kind, p.party_id) for p in fact.required_parties),
        )
        self.consents[fact.consent_id] = ConsentState(
            consent_id=fact.consent_id,
            requested_by_unit_id=fact.actor.unit_id,
            recipient_unit_ids=frozenset(r.unit_id for r in fact.recipients if r.unit_id),
            recipient_unit_kinds=frozenset(r.unit_kind for r in fact.recipients if r.unit_kind),
            categories=frozenset(fact.categories),
            purpose=fact.purpose,
            valid_from=fact.valid_from,
            valid_until=fact.valid_until,
        )

    @_when.register
    def _(self, fact: ConsentGranted) -> None:
        c = self.consents[fact.consent_id]
        self.consents[fact.consent_id] = replace(c, granted=c.granted | {(fact.party.kind, fact.party.party_id)})

    @_when.register
    def _(self, fact: ConsentDeclined) -> None:
        c = self.consents[fact.consent_id]
        self.consents[fact.consent_id] = replace(c, declined=c.declined | {(fact.party.kind, fact.party.party_id)})

    @_when.register
    def _(self, fact: ConsentWithdrawn) -> None:
        c = self.consents[fact.consent_id]
        self.consents[fact.consent_id] = replace(c, withdrawn=c.withdrawn | {(fact.party.kind, fact.party.party_id)})
        self.withdrawals.setdefault(fact.consent_id, (fact.occurred_at, fact.party.kind))

    @_when.register
    def _(self, fact: ConsentReminderSent) -> None:
        key = (fact.consent_id, fact.reminder)
        self.reminded[key] = self.reminded.get(key, frozenset()) | {(p.kind, p.party_id) for p in fact.parties}

    @_when.register
    def _(self, fact: TeamDecided) -> None:
        self.decisions += 1
        self.decision = fact.decision
        self.team_unit_ids = frozenset(fact.member_unit_ids)
        self.ratings = []

    @_when.register
    def _(self, fact: RatingSubmitted) -> None:
        self.ratings.append(fact)

    @_when.register
    def _(self, fact: TeamMeetingHeld) -> None:
        self.ratings = []

    @_when.register
    def _(self, fact: SupportCoordinatorAssigned) -> None:
        self.coordinator = (fact.staff_id, fact.unit_id)
        self.coordinator_deputy = (
            (fact.deputy_staff_id, fact.deputy_unit_id) if fact.deputy_staff_id and fact.deputy_unit_id else None
        )

    @_when.register
    def _(self, fact: PlanUpdated) -> None:
        self.plan_version = fact.plan_version
        self.plan_unit_id = fact.actor.unit_id
        self.plan_recorded_at = fact.occurred_at
        previous = self.actions
        self.actions = {
            a.action_id: ActionState(a, previous[a.action_id].completed_at if a.action_id in previous else None)
            for a in fact.actions
        }
        self.next_follow_up = fact.next_follow_up

    @_when.register
    def _(self, fact: PlanActionCompleted) -> None:
        self.actions[fact.action_id] = replace(self.actions[fact.action_id], completed_at=fact.occurred_at)

    @_when.register
    def _(self, fact: NeedsMet) -> None:
        self.needs_met_at = fact.occurred_at

    @_when.register
    def _(self, fact: CaseClosed) -> None:
        self.closed_at = self.last_closed_at = fact.occurred_at
        self.closure_reason = fact.reason
        for closed in fact.closed_actions:
            if closed.action_id in self.actions:
                self.actions[closed.action_id] = replace(
                    self.actions[closed.action_id], completed_at=fact.occurred_at, closed_reason=closed.reason
                )

    @_when.register
    def _(self, fact: ConcernReportFiled) -> None:
        self.concern_report_units.add(fact.to_unit_id)
        self.concern_reports[fact.event_id] = fact.to_unit_id

    @_when.register
    def _(self, fact: HomeVisitRecorded) -> None:
        self.home_visits.add(fact.visit)

    @_when.register
    def _(self, fact: InformationWithheld) -> None:
        if fact.reporter_only:
            self.reporter_withheld.update(fact.event_ids)
        else:
            self.withheld.update(fact.event_ids)

    @_when.register
    def _(self, fact: RecordErased) -> None:
        """What was known is dropped from memory too, not only from the store."""
        fresh = Child(self.id)
        fresh.version = self.version
        fresh.tenant_id = fact.tenant_id
        fresh.erased_at = fact.occurred_at
        fresh._pending = self._pending
        self.__dict__.update(fresh.__dict__)


def _recipient(r: Any, name: str) -> Any:
    """A recipient's unit id or unit kind, from a value or a mapping."""
    value = r.get(name) if isinstance(r, dict) else getattr(r, name, None)
    return value or None


def project_child(child: Child | None, events: Iterable[Recorded]) -> Child | None:
    """Rebuild a child's record from its stored facts (the repository's projector)."""
    for recorded in events:
        if child is None:
            child = Child(recorded.originator_id)
        child.apply(recorded)
    return child


def joint_compass(ratings: Iterable[RatingSubmitted]) -> tuple[AreaScore, ...]:
    """The joint Behovskompass: per area, the mean of every score given; blanks are left out."""
    by_area: dict[Area, list[int]] = {}
    for rating in ratings:
        for s in rating.scores:
            if s.score is not None:
                by_area.setdefault(s.area, []).append(s.score)
    return tuple(
        AreaScore(area=area, score=round(mean(by_area[area]), 2) if by_area.get(area) else None) for area in Area
    )


__all__ = ["CHILD_ANSWERS_FROM", "Child", "Invitation", "Recorded", "joint_compass", "project_child"]
