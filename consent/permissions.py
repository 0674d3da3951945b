"""Who may act on a child's case, now: the permission policy, sibling of :mod:`consent.policy`.

:func:`consent.decide` answers who may *see*; :func:`may` answers who may *act*. It is pure:
the actor, the action, the case as the log has it and the moment are passed in, and it
returns a :class:`Permission` naming the rule that applied. The application asks it once per
command, before the aggregate checks the process order; nothing else decides.

It fails closed: an action without a rule that allows it is refused. A refusal also says
whether the actor may know that the child exists at all (:attr:`Permission.conceal`): whoever
has no connection to the child gets the answer a child that does not exist gets, so a
command is not an oracle for who is registered.

The rules and where they come from (Backa barnet's process description, seeds 000-003, and
the law named per rule):

- Every adult who meets a child may discover it: any staff member at a unit registers a
  child and files an Upptäckarkort (the model's "Upptäckare"), and anyone at a unit files a
  concern report to social services (SoL 14 kap. 1 §, anmälningsplikt).
- A card goes to the child's Barnkontakt when the child has one, and before that to the
  unit the first card went to (the model: one first contact per family); :func:`route_card`
  decides where, not the discoverer.
- The Barnkontakt role is taken at a unit a card about the child was sent to, or at the unit
  that registered the child (where it is enrolled: its BVC, preschool or school), by a
  Barnkontakt of that unit; the cooperation area's administrator places it anywhere (the
  model: the card goes to the Barnkontakt of the child's preschool, school or BVC).
- The role is handed over only by its holder, a Barnkontakt of the holder's unit (its
  head), or the administrator.
- The Barnkontakt's unit holds the case: feedback, the decision and the appointment of
  the support coordinator are the Barnkontakt's (the coordinator hands the task over, and
  the administrator replaces a coordinator); conversations, consent requests,
  meetings, the plan, follow-ups and needs met are the Barnkontakt's or the support
  coordinator's (the model: the coordinator owns Barnets plan in an individual team).
- The support coordinator's role is handed over (to another support coordinator, for a
  reason) by the coordinator, the deputy (ersättare), the Barnkontakt or the administrator;
  both the coordinator and the deputy hold the support coordinator role, and the deputy
  acts as the coordinator while named (the model: one named coordinator, and no gap when
  that person is away).
- A case is closed (moved away, declined) by whoever holds it, the Barnkontakt or the support
  coordinator, as needs met is recorded; the administrator also closes it, since a move out of
  the area is what the population register tells the cooperation area (FB 6 kap. 11 §, the
  same register the guardian checks ask), whoever holds the case.
- Units in the child's team rate needs and share their agency's summary, each only in
  its own field (health by the region, police by the police, social services by social
  services: OSL 25, 26 and 18 kap. keep each agency's secrecy its own).
- A plan action is completed by its own unit or the case holder.
- Home visits are recorded by the midwife clinic, BVC or parent support (the extended
  home-visit programme).
- A unit withholds from guardians only facts it recorded itself (OSL 12 kap. 3 §: the
  unit that holds the information weighs the child's protection), and social services
  also a concern report filed to them, as a whole or only who filed it (OSL 26 kap. 1 and
  5 §§: the report is in their records too, and the reporter's identity is their secrecy
  to weigh). The administrator withholds nothing: the secrecy assessment is the
  authority's that holds the information, and the administrator holds none of it. The same
  rule answers a report filed with its reporter kept from the family, for the filer.
- Consent is answered by its parties only: every guardian with custody and the child from
  the configured age (FB 6 kap. 11 §, GDPR art. 7); a consent whose request the unit
  withheld from the guardians is not theirs to answer any more (OSL 12 kap. 3 §, the secrecy
  the family's views already keep): granting or declining it by its id is refused as for an
  id the child has no consent under, so the answer tells nothing either. Withdrawing stays
  every party's right whatever is withheld (GDPR art. 7(3)); a request a party has granted
  cannot be withheld at all (the Child aggregate refuses it), so this guards what was
  withheld before that rule.
- The digital conversation is the Barnkontakt's or the support coordinator's, like any
  conversation: they invite the child or a guardian and withdraw the invitation. It is
  answered only by the party it names, the child or a guardian who still has custody (FB 6
  kap. 11 §), holding the link or code handed over; whether it is still open is the
  aggregate's.
- "Who has seen my child's information" is the family's page (GDPR art. 15); auditors
  search the whole access log instead.
- A guardian link is checked again against the population register by the unit that
  registered the child, the Barnkontakt's unit or the administrator (FB 6 kap. 11 §: custody
  is what folkbokföringen records, not what a form says).
- The area's retention periods are read by its staff and its administrator: they say how
  long a unit may see what others shared (no child's information is in them).
- Erasure is the administrator's (GDPR art. 17: the controller decides); access-log
  review is the auditor's (PDL 4 kap. 3 §), and auditors do nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from uuid import UUID

from consent.policy import (
    ChildFacts,
    PolicyRules,
    Viewer,
    ViewerKind,
    age_on,
    required_parties,
)
from contracts.vocabulary import (
    UNIT_KIND_PRINCIPAL,
    PartyKind,
    Principal,
    Role,
    UnitKind,
)


class Action(str, Enum):
    """Every act on a child's case, and the acts across cases that need a role."""

    REGISTER_CHILD = "register_child"
    SUBMIT_DISCOVERY_CARD = "submit_discovery_card"
    TAKE_BARNKONTAKT_ROLE = "take_barnkontakt_role"
    HAND_OVER_BARNKONTAKT_ROLE = "hand_over_barnkontakt_role"
    SEND_FEEDBACK = "send_feedback"
    HOLD_CONVERSATION = "hold_conversation"
    INVITE_TO_CONVERSATION = "invite_to_conversation"
    WITHDRAW_CONVERSATION_INVITATION = "withdraw_conversation_invitation"
    ANSWER_CONVERSATION_INVITATION = "answer_conversation_invitation"
    REQUEST_CONSENT = "request_consent"
    ANSWER_CONSENT = "answer_consent"
    DECIDE_TEAM = "decide_team"
    SUBMIT_RATING = "submit_rating"
    HOLD_TEAM_MEETING = "hold_team_meeting"
    APPOINT_SUPPORT_COORDINATOR = "appoint_support_coordinator"
    HAND_OVER_SUPPORT_COORDINATOR = "hand_over_support_coordinator"
    UPDATE_PLAN = "update_plan"
    COMPLETE_PLAN_ACTION = "complete_plan_action"
    HOLD_FOLLOW_UP = "hold_follow_up"
    RECORD_NEEDS_MET = "record_needs_met"
    CLOSE_CASE = "close_case"
    FILE_CONCERN_REPORT = "file_concern_report"
    WITHHOLD_INFORMATION = "withhold_information"
    RECORD_HOME_VISIT = "record_home_visit"
    SHARE_AGENCY_SUMMARY = "share_agency_summary"
    ERASE_RECORD = "erase_record"
    CHECK_GUARDIANS = "check_guardians"
    SEND_CONSENT_REMINDERS = "send_consent_reminders"
    SWEEP_CONSENT_REMINDERS = "sweep_consent_reminders"
    READ_RECORD = "read_record"
    RECORD_REVIEW = "record_review"
    SEARCH_ACCESS_LOG = "search_access_log"
    READ_CASE_LIST = "read_case_list"
    READ_OWN_CARDS = "read_own_cards"
    LIST_FAMILY_CHILDREN = "list_family_children"
    READ_FAMILY_ACCESS_LOG = "read_family_access_log"
    READ_FIGURES = "read_figures"
    READ_UNSUPPRESSED_FIGURES = "read_unsuppressed_figures"
    """The figures with their small counts, which the disclosure rule hides from everyone else."""
    READ_RETENTION = "read_retention"
    IMPORT_CARDS = "import_cards"
    """Bring in discovery cards filed in a municipality's e-service, each in its filer's name."""
    MANAGE_DIRECTORY = "manage_directory"
    """Add, change, close or remove the area's units and staff, and set what a unit is sent."""
    DELEGATE_ROLE = "delegate_role"
    """Hand one of one's roles to a colleague at the same unit for a period, or take it back."""
    READ_DIRECTORY_HISTORY = "read_directory_history"
    """See who changed the directory, what and when."""
    READ_DIRECTORY = "read_directory"
    """See the area's units and who works where (staff names, titles, roles)."""
    READ_DELIVERY_FAILURES = "read_delivery_failures"
    """See which webhooks the area's agencies could not hand over (ids, types, reasons)."""


class Rule(str, Enum):
    """Why :func:`may` decided as it did: each code names the rule that applied."""

    OTHER_TENANT = "other_tenant"
    OWN_ROLE_TO_COLLEAGUE = "own_role_to_colleague"
    """A staff member delegates a role they hold to a colleague at their own unit."""
    NOT_OWN_ROLE = "not_own_role"
    NOT_DELEGABLE = "not_delegable"
    """Not the giver's role, the administrator's role, or a receiver at another unit."""
    RECORD_ERASED = "record_erased"
    NO_CASE = "no_case"
    ANY_STAFF_AT_A_UNIT = "any_staff_at_a_unit"
    AS_CONSENT_DECIDES = "as_consent_decides"
    """Asking to read: what is seen is decided by :func:`consent.decide`, item by item."""
    STAFF_AT_A_UNIT_ONLY = "staff_at_a_unit_only"
    ADMINISTRATOR = "administrator"
    ADMINISTRATOR_ONLY = "administrator_only"
    AUDITOR = "auditor"
    AUDITOR_ONLY = "auditor_only"
    AUDITORS_ONLY_REVIEW = "auditors_only_review"
    BARNKONTAKT_AT_CARD_UNIT = "barnkontakt_at_card_unit"
    NOT_A_CARD_UNIT = "not_a_card_unit"
    """Neither a card went to the unit nor did it register the child."""
    ROLE_ALREADY_HELD = "role_already_held"
    NO_BARNKONTAKT_YET = "no_barnkontakt_yet"
    HOLDER_OR_HEAD = "holder_or_head"
    NOT_HOLDER_OR_HEAD = "not_holder_or_head"
    TARGET_LACKS_ROLE = "target_lacks_role"
    BARNKONTAKT = "barnkontakt"
    SUPPORT_COORDINATOR = "support_coordinator"
    DEPUTY_COORDINATOR = "deputy_coordinator"
    """The coordinator's ersättare, acting as the coordinator while named."""
    NO_COORDINATOR_YET = "no_coordinator_yet"
    DEPUTY_LACKS_ROLE = "deputy_lacks_role"
    NOT_CASE_HOLDER = "not_case_holder"
    TEAM_UNIT = "team_unit"
    NOT_IN_TEAM = "not_in_team"
    ACTION_OWN_UNIT = "action_own_unit"
    HOME_VISIT_UNIT = "home_visit_unit"
    NOT_A_HOME_VISIT_UNIT = "not_a_home_visit_unit"
    AGENCY_FIELD_OWN = "agency_field_own"
    AGENCY_FIELD_NOT_OWN = "agency_field_not_own"
    OWN_FACTS = "own_facts"
    RECEIVED_CONCERN_REPORT = "received_concern_report"
    NOT_OWN_FACTS = "not_own_facts"
    CONSENT_PARTY = "consent_party"
    NOT_A_PARTY = "not_a_party"
    CONSENT_REQUEST_WITHHELD = "consent_request_withheld"
    """The consent's request is withheld from the guardians: answered as a consent the child does not have."""
    FAMILY = "family"
    FAMILY_ONLY = "family_only"
    CASE_ROLE = "case_role"
    REGISTERING_OR_CASE_UNIT = "registering_or_case_unit"
    NOT_REGISTERING_OR_CASE_UNIT = "not_registering_or_case_unit"
    NO_CASE_ROLE = "no_case_role"
    INVITED_PARTY = "invited_party"
    """The party the conversation invitation names answers it."""
    NOT_INVITED = "not_invited"
    OWN_CARDS = "own_cards"
    """The staff member imports the cards they filed in the e-service themselves."""
    NOT_AN_IMPORTER = "not_an_importer"
    """Neither the area's administrator nor the member of staff who filed the card."""


@dataclass(frozen=True)
class Holder:
    """Who holds a role on the case: the staff member and their unit."""

    staff_id: str
    unit_id: str


@dataclass(frozen=True)
class CaseState:
    """What the policy needs to know about one child's case, taken from the log."""

    facts: ChildFacts
    barnkontakt: Holder | None = None
    coordinator: Holder | None = None
    deputy: Holder | None = None
    """The coordinator's ersättare, while named."""
    card_unit_ids: frozenset[str] = frozenset()
    """Units a discovery card about the child was sent to."""
    first_card_unit_id: str | None = None
    """The unit the first discovery card went to: where the case opened."""
    team_unit_ids: frozenset[str] = frozenset()
    origin_unit_ids: frozenset[str] = frozenset()
    """Units that recorded any fact of the child."""
    registered_by_unit_id: str | None = None
    """The unit that registered the child: where the hub first knew it to be enrolled."""
    withheld_consent_ids: frozenset[UUID] = frozenset()
    """Consents whose request the unit that asked withheld from the guardians (OSL 12 kap. 3 §)."""
    invited: frozenset[tuple[str, PartyKind, str]] = frozenset()
    """Conversation invitations by id, and the party each names (the child by its id)."""


@dataclass(frozen=True)
class StaffRef:
    """A member of staff an act names (a new Barnkontakt or coordinator)."""

    staff_id: str
    unit_id: str | None
    roles: frozenset[Role]


@dataclass(frozen=True)
class Target:
    """What an act is aimed at, where the rule needs it."""

    staff: StaffRef | None = None
    deputy: StaffRef | None = None
    """The deputy (ersättare) an appointment or hand-over names, if any."""
    action_unit_id: str | None = None
    """The unit a plan action belongs to."""
    fact_unit_ids: tuple[str | None, ...] = ()
    """The units that recorded the facts to withhold."""
    received_unit_ids: tuple[str | None, ...] = ()
    """For each fact to withhold, the social-services unit it was filed to if it is a concern
    report (None otherwise), in the order of ``fact_unit_ids``."""
    agency_fields: frozenset[str] = frozenset()
    """The agency summary's fields that are filled in: health, police, social_services."""
    party: tuple[PartyKind, str] | None = None
    consent_id: UUID | None = None
    """The consent a guardian or the child answers."""
    withdrawal: bool = False
    """The answer withdraws the consent (GDPR art. 7(3): never refused for secrecy)."""
    tenant_id: str | None = None
    """For acts on a cooperation area as a whole (its figures)."""
    invitation_id: str | None = None
    """The conversation invitation answered."""
    other_staff: StaffRef | None = None
    """A delegation's receiver (``staff`` is its giver)."""
    role: Role | None = None
    """The role a delegation hands over."""


@dataclass(frozen=True)
class Permission:
    allowed: bool
    rule: Rule
    conceal: bool = False
    """Refuse as if the child did not exist: the actor may not know that it does."""


NO_TARGET = Target()
"""An act aimed at nothing beyond the case."""


def _allow(rule: Rule) -> Permission:
    return Permission(True, rule)


def _deny(rule: Rule, conceal: bool = False) -> Permission:
    return Permission(False, rule, conceal)


def _is_staff(actor: Viewer) -> bool:
    return actor.kind is ViewerKind.STAFF and actor.unit_id is not None


def _is_admin(actor: Viewer) -> bool:
    return actor.kind is ViewerKind.STAFF and Role.TENANT_ADMIN in actor.roles


def knows_child(actor: Viewer, case: CaseState, at: datetime, rules: PolicyRules) -> bool:
    """Whether the actor may know that the child exists: its unit has a part in the case (it
    recorded a fact, was sent something, is in the team, holds a role, received a concern
    report, or a consent request names it, whatever became of it), the administrator of its area, the child's
    custodial guardians, and the child from the age it sees its own record."""
    facts = case.facts
    if actor.tenant_id != facts.tenant_id or facts.erased:
        return False
    if actor.kind is ViewerKind.GUARDIAN:
        return any(g.guardian_id == actor.party_id and g.custodial for g in facts.guardians)
    if actor.kind is ViewerKind.CHILD:
        return actor.party_id == str(facts.child_id) and age_on(facts.birth_date, at) >= rules.child_access_age
    if actor.kind is not ViewerKind.STAFF:
        return False
    if _is_admin(actor):
        return True
    unit = actor.unit_id
    if unit is None:
        return False
    holders = {h.unit_id for h in (case.barnkontakt, case.coordinator, case.deputy) if h is not None}
    if unit in holders | case.team_unit_ids | case.origin_unit_ids | facts.units_sent_to | facts.concern_report_units:
        return True
    return any(c.names_recipient(unit, actor.unit_kind) for c in facts.consents)


def route_card(case: CaseState | None, named_unit_id: str) -> str:
    """Where a discovery card goes: to the child's Barnkontakt when it has one, whatever unit
    the discoverer named (one first contact per family); before anyone has taken the case up,
    to the unit the first card went to, where the case opened (so a later card cannot open a
    second case at a unit of its sender's choosing); else to the unit named."""
    if case is not None and case.barnkontakt is not None:
        return case.barnkontakt.unit_id
    if case is not None and case.first_card_unit_id is not None:
        return case.first_card_unit_id
    return named_unit_id


ACROSS_CASES = frozenset(
    {
        Action.REGISTER_CHILD,
        Action.IMPORT_CARDS,
        Action.MANAGE_DIRECTORY,
        Action.DELEGATE_ROLE,
        Action.READ_DIRECTORY_HISTORY,
        Action.READ_DIRECTORY,
        Action.SEARCH_ACCESS_LOG,
        Action.READ_CASE_LIST,
        Action.READ_OWN_CARDS,
        Action.LIST_FAMILY_CHILDREN,
        Action.READ_FAMILY_ACCESS_LOG,
        Action.READ_FIGURES,
        Action.READ_UNSUPPRESSED_FIGURES,
        Action.READ_RETENTION,
        Action.SWEEP_CONSENT_REMINDERS,
        Action.READ_DELIVERY_FAILURES,
    }
)
"""Acts that concern no single child's case."""

OPEN_TO_EVERY_UNIT = frozenset({Action.SUBMIT_DISCOVERY_CARD, Action.FILE_CONCERN_REPORT})
"""Acts any staff member at a unit may take on any child of the area, known to them or not:
discovering (the Upptäckare) and reporting a concern (SoL 14 kap. 1 §)."""

HOLDER_ONLY = frozenset({Action.SEND_FEEDBACK, Action.DECIDE_TEAM})
"""The Barnkontakt's own steps: feedback to the discoverer and the decision."""

HOLDER_OR_COORDINATOR = frozenset(
    {
        Action.HOLD_CONVERSATION,
        Action.INVITE_TO_CONVERSATION,
        Action.WITHDRAW_CONVERSATION_INVITATION,
        Action.REQUEST_CONSENT,
        Action.HOLD_TEAM_MEETING,
        Action.UPDATE_PLAN,
        Action.HOLD_FOLLOW_UP,
        Action.RECORD_NEEDS_MET,
        Action.CLOSE_CASE,
    }
)
"""Steps of whoever holds the case: the Barnkontakt, or the support coordinator."""

HOME_VISIT_UNITS = frozenset({UnitKind.MIDWIFE_CLINIC, UnitKind.BVC, UnitKind.SOCIAL_SERVICES})

AGENCY_FIELDS: dict[str, frozenset[UnitKind]] = {
    "health": frozenset(k for k, p in UNIT_KIND_PRINCIPAL.items() if p is Principal.REGION),
    "police": frozenset({UnitKind.POLICE}),
    "social_services": frozenset({UnitKind.SOCIAL_SERVICES}),
}
"""Which units' kinds record each field of an agency summary."""


def may(
    actor: Viewer,
    action: Action,
    case: CaseState | None,
    at: datetime,
    rules: PolicyRules,
    target: Target = NO_TARGET,
) -> Permission:
    """Allow or refuse one actor one act on one child's case (or, for acts across cases,
    ``case`` is None) at one moment."""
    if action in ACROSS_CASES:
        return _across_cases(actor, action, target)
    if case is None:
        return _deny(Rule.NO_CASE, conceal=True)
    if actor.tenant_id != case.facts.tenant_id:
        return _deny(Rule.OTHER_TENANT, conceal=True)
    if case.facts.erased:
        return _deny(Rule.RECORD_ERASED)
    decision = _on_case(actor, action, case, at, rules, target)
    if decision.allowed:
        return decision
    if actor.kind is not ViewerKind.AUDITOR and not knows_child(actor, case, at, rules):
        return _deny(decision.rule, conceal=True)  # auditors know every child in the access log
    return decision


def _across_cases(actor: Viewer, action: Action, target: Target) -> Permission:
    if action in (Action.REGISTER_CHILD, Action.READ_RETENTION):
        if _is_admin(actor) or _is_staff(actor):
            return _allow(Rule.ANY_STAFF_AT_A_UNIT)
        return _deny(Rule.STAFF_AT_A_UNIT_ONLY)
    if action is Action.SEARCH_ACCESS_LOG:
        return _auditor(actor)
    if action is Action.IMPORT_CARDS:
        return _import_cards(actor, target)
    if action in (Action.MANAGE_DIRECTORY, Action.DELEGATE_ROLE, Action.READ_DIRECTORY_HISTORY, Action.READ_DIRECTORY):
        return _directory(actor, action, target)
    if action is Action.READ_DELIVERY_FAILURES:
        return _delivery_failures(actor, target)
    if action is Action.SWEEP_CONSENT_REMINDERS:  # the sweep lists the area's children with reminders due
        return _allow(Rule.ADMINISTRATOR) if _is_admin(actor) else _deny(Rule.ADMINISTRATOR_ONLY)
    if action is Action.READ_CASE_LIST:
        if _is_staff(actor) and actor.roles & {Role.BARNKONTAKT, Role.SUPPORT_COORDINATOR}:
            return _allow(Rule.CASE_ROLE)
        return _deny(Rule.NO_CASE_ROLE)
    if action is Action.READ_OWN_CARDS:
        return _allow(Rule.ANY_STAFF_AT_A_UNIT) if _is_staff(actor) else _deny(Rule.STAFF_AT_A_UNIT_ONLY)
    if action in (Action.LIST_FAMILY_CHILDREN, Action.READ_FAMILY_ACCESS_LOG):
        if actor.kind in (ViewerKind.GUARDIAN, ViewerKind.CHILD) and actor.party_id is not None:
            return _allow(Rule.FAMILY)
        return _deny(Rule.FAMILY_ONLY)
    if action is Action.READ_FIGURES:
        if target.tenant_id != actor.tenant_id:
            return _deny(Rule.OTHER_TENANT)
        if _is_staff(actor) or _is_admin(actor):
            return _allow(Rule.ANY_STAFF_AT_A_UNIT)
        return _deny(Rule.STAFF_AT_A_UNIT_ONLY)
    if action is Action.READ_UNSUPPRESSED_FIGURES:
        if target.tenant_id != actor.tenant_id:
            return _deny(Rule.OTHER_TENANT)
        return _allow(Rule.ADMINISTRATOR) if _is_admin(actor) else _deny(Rule.ADMINISTRATOR_ONLY)
    return _deny(Rule.NO_CASE)


def _delivery_failures(actor: Viewer, target: Target) -> Permission:
    """The webhooks an area's agencies could not hand over are its administrator's to follow
    up, who answers for the links between the hub and the agencies' systems; of their own
    area only. They name no child, but which unit failed to take what is the area's business."""
    if target.tenant_id != actor.tenant_id:
        return _deny(Rule.OTHER_TENANT)
    return _allow(Rule.ADMINISTRATOR) if _is_admin(actor) else _deny(Rule.ADMINISTRATOR_ONLY)


def _directory(actor: Viewer, action: Action, target: Target) -> Permission:
    """Who keeps the area's directory (units, staff, roles, delegations, subscriptions).

    Only the area's own administrator manages it: a role is what lets a person see and act on
    children's cases, so granting one is the authority's decision, taken by the person it
    appointed for the area, never by a unit for itself (PDL 4 kap. 2 §: the care provider
    decides each user's access). A staff member may still hand a role they hold to a colleague
    at their own unit for a period, and take it back (the model: the Barnkontakt may delegate);
    the administrator may do it for anyone. The changes are the auditors' to trace as well as
    the administrator's (PDL 4 kap. 3 §)."""
    if target.tenant_id != actor.tenant_id:
        return _deny(Rule.OTHER_TENANT)
    if action is Action.DELEGATE_ROLE:
        return _delegation(actor, target)
    if action is Action.READ_DIRECTORY:  # colleagues are named on the pages; the family sees names only as the policy shows them
        if _is_admin(actor) or _is_staff(actor):
            return _allow(Rule.ANY_STAFF_AT_A_UNIT)
        return _auditor(actor) if actor.kind is ViewerKind.AUDITOR else _deny(Rule.STAFF_AT_A_UNIT_ONLY)
    if _is_admin(actor):
        return _allow(Rule.ADMINISTRATOR)
    if action is Action.READ_DIRECTORY_HISTORY:
        return _auditor(actor)
    return _deny(Rule.ADMINISTRATOR_ONLY)


def _delegation(actor: Viewer, target: Target) -> Permission:
    """A role is delegated by the one who holds it, to a colleague at the same unit (the unit
    is what the role is held at), never the administrator's or the auditor's role: both are
    appointments the care provider makes by name (the auditor's checks of who read what,
    PDL 4 kap. 3 §, are no one's to hand on), so only the directory gives them; the
    administrator may delegate for anyone within those bounds."""
    giver, taker, role = target.staff, target.other_staff, target.role
    if (
        giver is None
        or taker is None
        or role is None
        or role not in giver.roles
        or role in (Role.TENANT_ADMIN, Role.AUDITOR)
        or giver.unit_id is None
        or giver.unit_id != taker.unit_id
    ):
        return _deny(Rule.NOT_DELEGABLE)
    if _is_admin(actor):
        return _allow(Rule.ADMINISTRATOR)
    if _is_staff(actor) and giver.staff_id == actor.user_id and giver.unit_id == actor.unit_id:
        return _allow(Rule.OWN_ROLE_TO_COLLEAGUE)
    return _deny(Rule.NOT_OWN_ROLE)


def _import_cards(actor: Viewer, target: Target) -> Permission:
    """Whether ``actor`` may bring in a card that ``target.staff`` filed in the e-service.

    An imported card is a fact in the filer's name, so the importer puts words in another's
    mouth: only the cooperation area's administrator (who answers for the link to the
    municipality's e-service and sees no case by it) or the filer themself may. A colleague
    at the same unit may not: a unit is no proof of who wrote a card. The filer must be
    staff at a unit of the same area, as anyone filing a card in the pages is; the card
    itself then asks :func:`may` as the filer, like a card filed in the pages."""
    filer = target.staff
    if target.tenant_id != actor.tenant_id:
        return _deny(Rule.OTHER_TENANT)
    if _is_admin(actor):
        if filer is not None and filer.unit_id is None:
            return _deny(Rule.STAFF_AT_A_UNIT_ONLY)
        return _allow(Rule.ADMINISTRATOR)
    if _is_staff(actor) and (filer is None or (actor.user_id == filer.staff_id and actor.unit_id == filer.unit_id)):
        return _allow(Rule.OWN_CARDS)  # with no filer named: whether the actor imports at all, before a file is read
    return _deny(Rule.NOT_AN_IMPORTER)


def _auditor(actor: Viewer) -> Permission:
    if actor.kind is ViewerKind.AUDITOR and Role.AUDITOR in actor.roles:
        return _allow(Rule.AUDITOR)
    return _deny(Rule.AUDITOR_ONLY)


def _holds(actor: Viewer, holder: Holder | None, role: Role) -> bool:
    return holder is not None and role in actor.roles and actor.unit_id == holder.unit_id


def _on_case(actor: Viewer, action: Action, case: CaseState, at: datetime, rules: PolicyRules, target: Target) -> Permission:
    if action is Action.RECORD_REVIEW:
        return _auditor(actor)
    if actor.kind is ViewerKind.AUDITOR:
        return _deny(Rule.AUDITORS_ONLY_REVIEW)
    if action is Action.READ_RECORD:
        return _allow(Rule.AS_CONSENT_DECIDES)
    if action is Action.ANSWER_CONSENT:
        return _answer_consent(actor, case, at, rules, target)
    if action is Action.ANSWER_CONVERSATION_INVITATION:
        return _answer_invitation(actor, case, target)
    if action in (Action.ERASE_RECORD, Action.SEND_CONSENT_REMINDERS):
        return _allow(Rule.ADMINISTRATOR) if _is_admin(actor) else _deny(Rule.ADMINISTRATOR_ONLY)
    if action is Action.CHECK_GUARDIANS:
        return _check_guardians(actor, case)
    if action is Action.TAKE_BARNKONTAKT_ROLE:
        return _take_barnkontakt(actor, case, target)
    if action is Action.HAND_OVER_BARNKONTAKT_ROLE:
        return _hand_over_barnkontakt(actor, case, target)
    if action is Action.APPOINT_SUPPORT_COORDINATOR:
        return _appoint_coordinator(actor, case, target)
    if action is Action.HAND_OVER_SUPPORT_COORDINATOR:
        return _hand_over_coordinator(actor, case, target)
    if action is Action.CLOSE_CASE and _is_admin(actor):
        return _allow(Rule.ADMINISTRATOR)
    if not _is_staff(actor):
        return _deny(Rule.STAFF_AT_A_UNIT_ONLY)
    if action in OPEN_TO_EVERY_UNIT:
        return _allow(Rule.ANY_STAFF_AT_A_UNIT)
    if action in HOLDER_ONLY:
        return _case_holder(actor, case, coordinator=False)
    if action in HOLDER_OR_COORDINATOR:
        return _case_holder(actor, case, coordinator=True)
    if action is Action.SUBMIT_RATING:
        return _team_unit(actor, case)
    if action is Action.SHARE_AGENCY_SUMMARY:
        return _agency_summary(actor, case, target)
    if action is Action.COMPLETE_PLAN_ACTION:
        if target.action_unit_id is not None and target.action_unit_id == actor.unit_id:
            return _allow(Rule.ACTION_OWN_UNIT)
        return _case_holder(actor, case, coordinator=True)
    if action is Action.RECORD_HOME_VISIT:
        return _allow(Rule.HOME_VISIT_UNIT) if actor.unit_kind in HOME_VISIT_UNITS else _deny(Rule.NOT_A_HOME_VISIT_UNIT)
    if action is Action.WITHHOLD_INFORMATION:
        return _withhold(actor, target)
    return _deny(Rule.NO_CASE)


def _withhold(actor: Viewer, target: Target) -> Permission:
    """Own facts (OSL 12 kap. 3 §), or concern reports filed to the actor's social-services
    unit (OSL 26 kap. 1 and 5 §§); every fact named must be one or the other."""
    if not target.fact_unit_ids:
        return _deny(Rule.NOT_OWN_FACTS)
    received = target.received_unit_ids + (None,) * (len(target.fact_unit_ids) - len(target.received_unit_ids))
    social = actor.unit_kind is UnitKind.SOCIAL_SERVICES
    own = [origin == actor.unit_id for origin in target.fact_unit_ids]
    filed_here = [social and to == actor.unit_id for to in received]
    if all(own):
        return _allow(Rule.OWN_FACTS)
    if all(o or f for o, f in zip(own, filed_here, strict=False)):
        return _allow(Rule.RECEIVED_CONCERN_REPORT)
    return _deny(Rule.NOT_OWN_FACTS)


def _answer_consent(actor: Viewer, case: CaseState, at: datetime, rules: PolicyRules, target: Target) -> Permission:
    """A party answers (FB 6 kap. 11 §, GDPR art. 7), but does not grant or decline a consent
    whose request is withheld from the guardians (OSL 12 kap. 3 §): checked last, so that
    everyone else is refused for who they are, exactly as for a consent id the child does not
    have. A withdrawal is never refused for secrecy (GDPR art. 7(3))."""
    if actor.kind not in (ViewerKind.GUARDIAN, ViewerKind.CHILD) or actor.party_id is None:
        return _deny(Rule.FAMILY_ONLY)
    kind = PartyKind.GUARDIAN if actor.kind is ViewerKind.GUARDIAN else PartyKind.CHILD
    if (kind, actor.party_id) not in required_parties(case.facts, at, rules):
        return _deny(Rule.NOT_A_PARTY)
    if target.consent_id is not None and target.consent_id in case.withheld_consent_ids and not target.withdrawal:
        return _deny(Rule.CONSENT_REQUEST_WITHHELD)
    return _allow(Rule.CONSENT_PARTY)


def _answer_invitation(actor: Viewer, case: CaseState, target: Target) -> Permission:
    """The party the invitation names, and a guardian only while the custody is confirmed (FB 6 kap. 11 §)."""
    if actor.kind is ViewerKind.GUARDIAN:
        party = (PartyKind.GUARDIAN, actor.party_id or "")
        custodial = any(g.guardian_id == actor.party_id and g.custodial for g in case.facts.guardians)
    elif actor.kind is ViewerKind.CHILD:
        party = (PartyKind.CHILD, actor.party_id or "")
        custodial = actor.party_id == str(case.facts.child_id)
    else:
        return _deny(Rule.FAMILY_ONLY)
    if custodial and target.invitation_id is not None and (target.invitation_id, *party) in case.invited:
        return _allow(Rule.INVITED_PARTY)
    return _deny(Rule.NOT_INVITED)


def _check_guardians(actor: Viewer, case: CaseState) -> Permission:
    if _is_admin(actor):
        return _allow(Rule.ADMINISTRATOR)
    if not _is_staff(actor):
        return _deny(Rule.STAFF_AT_A_UNIT_ONLY)
    units = {case.registered_by_unit_id, case.barnkontakt.unit_id if case.barnkontakt else None} - {None}
    if actor.unit_id in units:
        return _allow(Rule.REGISTERING_OR_CASE_UNIT)
    return _deny(Rule.NOT_REGISTERING_OR_CASE_UNIT)


def _take_barnkontakt(actor: Viewer, case: CaseState, target: Target) -> Permission:
    admin = _is_admin(actor)
    if not admin and not (_is_staff(actor) and Role.BARNKONTAKT in actor.roles):
        return _deny(Rule.NOT_A_CARD_UNIT)  # who acts comes first: only a Barnkontakt or the administrator ever may
    staff = target.staff
    if staff is None or Role.BARNKONTAKT not in staff.roles or staff.unit_id is None:
        return _deny(Rule.TARGET_LACKS_ROLE)
    if case.barnkontakt is not None:
        return _deny(Rule.ROLE_ALREADY_HELD)
    if admin:
        return _allow(Rule.ADMINISTRATOR)
    if actor.unit_id == staff.unit_id and (staff.unit_id in case.card_unit_ids or staff.unit_id == case.registered_by_unit_id):
        return _allow(Rule.BARNKONTAKT_AT_CARD_UNIT)
    return _deny(Rule.NOT_A_CARD_UNIT)


def _hand_over_barnkontakt(actor: Viewer, case: CaseState, target: Target) -> Permission:
    admin = _is_admin(actor)
    if not admin and not _is_staff(actor):
        return _deny(Rule.NOT_HOLDER_OR_HEAD)  # who acts comes first
    if case.barnkontakt is None:
        return _deny(Rule.NO_BARNKONTAKT_YET)
    holder_or_head = actor.user_id == case.barnkontakt.staff_id or _holds(actor, case.barnkontakt, Role.BARNKONTAKT)
    if not admin and not holder_or_head:
        return _deny(Rule.NOT_HOLDER_OR_HEAD)
    staff = target.staff
    if staff is None or Role.BARNKONTAKT not in staff.roles or staff.unit_id is None:
        return _deny(Rule.TARGET_LACKS_ROLE)
    return _allow(Rule.ADMINISTRATOR if admin else Rule.HOLDER_OR_HEAD)


def _appoint_coordinator(actor: Viewer, case: CaseState, target: Target) -> Permission:
    admin = _is_admin(actor)
    if not admin and not _is_staff(actor):
        return _deny(Rule.STAFF_AT_A_UNIT_ONLY)
    if case.barnkontakt is None:
        return _deny(Rule.NO_BARNKONTAKT_YET)
    if admin and case.coordinator is not None:
        decision = _allow(Rule.ADMINISTRATOR)
    elif _holds(actor, case.barnkontakt, Role.BARNKONTAKT):
        decision = _allow(Rule.BARNKONTAKT)
    elif case.coordinator is not None and actor.user_id == case.coordinator.staff_id:
        decision = _allow(Rule.SUPPORT_COORDINATOR)
    else:
        return _deny(Rule.NOT_CASE_HOLDER)
    return _coordinator_named(target, decision)


def _coordinator_named(target: Target, decision: Permission) -> Permission:
    """The coordinator and the deputy an act names both hold the support coordinator role."""
    if not _is_coordinator(target.staff):
        return _deny(Rule.TARGET_LACKS_ROLE)
    if target.deputy is not None and not _is_coordinator(target.deputy):
        return _deny(Rule.DEPUTY_LACKS_ROLE)
    return decision


def _is_coordinator(staff: StaffRef | None) -> bool:
    return staff is not None and Role.SUPPORT_COORDINATOR in staff.roles and staff.unit_id is not None


def _hand_over_coordinator(actor: Viewer, case: CaseState, target: Target) -> Permission:
    admin = _is_admin(actor)
    if not admin and not _is_staff(actor):
        return _deny(Rule.STAFF_AT_A_UNIT_ONLY)
    if case.coordinator is None:
        return _deny(Rule.NO_COORDINATOR_YET)
    if admin:
        decision = _allow(Rule.ADMINISTRATOR)
    elif actor.user_id == case.coordinator.staff_id:
        decision = _allow(Rule.SUPPORT_COORDINATOR)
    elif _is_deputy(actor, case):
        decision = _allow(Rule.DEPUTY_COORDINATOR)
    elif case.barnkontakt is not None and _holds(actor, case.barnkontakt, Role.BARNKONTAKT):
        decision = _allow(Rule.BARNKONTAKT)
    else:
        return _deny(Rule.NOT_CASE_HOLDER)
    return _coordinator_named(target, decision)


def _is_deputy(actor: Viewer, case: CaseState) -> bool:
    deputy = case.deputy
    return (
        deputy is not None
        and actor.user_id == deputy.staff_id
        and actor.unit_id == deputy.unit_id
        and Role.SUPPORT_COORDINATOR in actor.roles
    )


def _case_holder(actor: Viewer, case: CaseState, *, coordinator: bool) -> Permission:
    if case.barnkontakt is None:
        return _deny(Rule.NO_BARNKONTAKT_YET)
    if _holds(actor, case.barnkontakt, Role.BARNKONTAKT):
        return _allow(Rule.BARNKONTAKT)
    if coordinator and _holds(actor, case.coordinator, Role.SUPPORT_COORDINATOR):
        return _allow(Rule.SUPPORT_COORDINATOR)
    if coordinator and _is_deputy(actor, case):
        return _allow(Rule.DEPUTY_COORDINATOR)
    return _deny(Rule.NOT_CASE_HOLDER)


def _team_unit(actor: Viewer, case: CaseState) -> Permission:
    units = set(case.team_unit_ids)
    if case.barnkontakt is not None:
        units.add(case.barnkontakt.unit_id)
    return _allow(Rule.TEAM_UNIT) if actor.unit_id in units else _deny(Rule.NOT_IN_TEAM)


def _agency_summary(actor: Viewer, case: CaseState, target: Target) -> Permission:
    if actor.unit_id not in case.team_unit_ids:
        return _deny(Rule.NOT_IN_TEAM)
    for name in target.agency_fields:
        if actor.unit_kind not in AGENCY_FIELDS.get(name, frozenset()):
            return _deny(Rule.AGENCY_FIELD_NOT_OWN)
    return _allow(Rule.AGENCY_FIELD_OWN)
