"""Who may see which of a child's information, now, and on which basis.

One function, :func:`decide`, answers for a viewer, a child, a piece of information
and a moment. It is pure: the child's facts and the clock are passed in, so the core
calls it on every command and every read, and tests drive it with any time they like.
It fails closed: no rule that allows means deny, and a rule set with no bases enabled
denies everything.

The rules and the law they follow:

- Guardians with custody see their child's information (FB 6 kap. 11 §, OSL 12 kap. 3 §),
  except what is withheld from guardians to protect the child (OSL 12 kap. 3 §). Custody
  counts only once the population register has confirmed it: a guardian named at
  registration and not (yet) confirmed is a stranger to the child, sees nothing and
  answers no consent.
- The child sees its own information from the configured age (GDPR art. 15), except
  what is withheld from the family.
- A unit sees its own record (its own documentation, PDL/OSL within one authority).
- A unit sees what was sent to it in the process (a discovery card to its Barnkontakt,
  feedback to its discoverer), and the identity of the child it concerns.
- Social services see a concern report filed to them and the child's identity on that
  statutory basis (SoL 14 kap. 1 §), which is never recorded as consent.
- Any other sharing needs consent (OSL 10 kap. 1 §, GDPR art. 6.1 a, 7): a consent
  takes effect only when every guardian with custody has granted and, from the
  configured age, the child too; one party's decline keeps it from taking effect; one
  party's withdrawal ends it at once (GDPR art. 7.3); expiry ends it.
- Closing the case (ärendet avslutat: needs met, moved away, declined) ends sharing on
  consent: from the closure, a consent asked for before it no longer lets another unit see
  anything (the purpose it was given for, the support, is over: GDPR art. 5.1 b; the secrecy
  the consent lifted, OSL 12 kap. 2 §, applies again). "Unless a consent says otherwise" means exactly: a consent *requested after the
  closure* and in effect (every party granted it anew, knowing the case was closed) lets
  information flow as before. Each unit's own record stays its own, and what the process
  sent to a unit (a card to its Barnkontakt, feedback, a concern report to social services)
  is a received document of that unit (TF 2 kap. 9 §) and stays until its period ends.
- Retention (gallring, :mod:`consent.retention`): a staff member sees another unit's
  information only for the period set for its unit's kind and the category, counted from
  the case's last entry (SoL 12 kap. 1 §, PDL 3 kap. 17 § count the same way); after it,
  only the unit that recorded it does. The family keeps seeing its own information (GDPR
  art. 15) until the administrator erases it; the log keeps every fact in its place.
- Auditors see the access log and nothing else (PDL 4 kap. 3 §, GDPR art. 32).
- The family's "who has seen" list (GDPR art. 15) never shows a read that touched
  information now withheld from them, however long before the withholding it was made
  (:func:`family_sees_read`): the entry would tell them the information exists (OSL 12 kap.
  3 §), or, for a report whose reporter is withheld, who filed it (OSL 26 kap. 5 §). It is
  decided when the list is read, from the withholding as it stands then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from enum import Enum
from uuid import UUID

from consent.retention import Retention
from contracts.vocabulary import SWEDISH_TIME, Category, LegalBasis, PartyKind, Role, UnitKind


class ViewerKind(str, Enum):
    STAFF = "staff"
    GUARDIAN = "guardian"
    CHILD = "child"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Viewer:
    """Who is looking: staff at a unit, a guardian, the child, or an auditor."""

    kind: ViewerKind
    tenant_id: str
    user_id: str
    roles: frozenset[Role] = frozenset()
    unit_id: str | None = None
    unit_kind: UnitKind | None = None
    party_id: str | None = None
    """The guardian id for a guardian, the child id (as text) for the child."""


@dataclass(frozen=True)
class GuardianFact:
    guardian_id: str
    has_custody: bool
    confirmed: bool = False
    """Whether the population register confirmed the custody; until it does, the link gives nothing."""

    @property
    def custodial(self) -> bool:
        """A guardian with custody the register confirmed: the only kind with a say."""
        return self.has_custody and self.confirmed


@dataclass(frozen=True)
class ConsentState:
    """A consent request and every answer to it so far."""

    consent_id: UUID
    requested_by_unit_id: str | None
    recipient_unit_ids: frozenset[str]
    recipient_unit_kinds: frozenset[UnitKind]
    categories: frozenset[Category]
    purpose: str
    valid_from: datetime
    valid_until: datetime
    granted: frozenset[tuple[PartyKind, str]] = frozenset()
    declined: frozenset[tuple[PartyKind, str]] = frozenset()
    withdrawn: frozenset[tuple[PartyKind, str]] = frozenset()

    def names_recipient(self, unit_id: str | None, unit_kind: UnitKind | None) -> bool:
        return (unit_id is not None and unit_id in self.recipient_unit_ids) or (
            unit_kind is not None and unit_kind in self.recipient_unit_kinds
        )


@dataclass(frozen=True)
class ChildFacts:
    """What the policy needs to know about one child, taken from the log."""

    tenant_id: str
    child_id: UUID
    birth_date: date
    guardians: tuple[GuardianFact, ...] = ()
    consents: tuple[ConsentState, ...] = ()
    units_sent_to: frozenset[str] = frozenset()
    """Units that were sent something about the child in the process (cards, feedback)."""
    concern_report_units: frozenset[str] = frozenset()
    """Social-services units a concern report about the child was filed to."""
    erased: bool = False
    closed_at: datetime | None = None
    """When the case was closed (needs met, moved away, declined); None while it is open."""
    last_closed_at: datetime | None = None
    """The latest closure ever, kept when a new card opens the case again: a consent asked for
    before it stays ended, so a card cannot bring an ended consent back."""
    last_entry_at: datetime | None = None
    """The case's last entry (a step of the process, not a read): where retention counts from."""


@dataclass(frozen=True)
class Information:
    """A piece of a child's information as the policy sees it: never its content."""

    category: Category
    origin_unit_id: str | None = None
    sent_to_unit_id: str | None = None
    withheld_from_guardians: bool = False
    recorded_at: datetime | None = None
    """When it was recorded: retention counts from the later of this and the last entry."""


@dataclass(frozen=True)
class PolicyRules:
    """A tenant's settings for the policy. An empty ``bases`` denies everything."""

    bases: frozenset[LegalBasis] = frozenset(LegalBasis)
    child_consent_age: int = 15
    child_access_age: int = 15
    default_validity_days: int = 365
    max_validity_days: int = 3 * 365 + 1
    """The longest a consent may run; a request for longer is refused."""
    staff_names_visible_to_family: bool = False
    retention: Retention = Retention()
    """Each tenant's retention periods (:mod:`consent.retention`)."""


class Reason(str, Enum):
    """Why the policy decided as it did; each code names the rule that applied."""

    NO_RULES = "no_rules"
    OTHER_TENANT = "other_tenant"
    CHILD_ERASED = "child_erased"
    GUARDIAN_WITH_CUSTODY = "guardian_with_custody"
    NOT_A_CUSTODIAL_GUARDIAN = "not_a_custodial_guardian"
    WITHHELD_FROM_FAMILY = "withheld_from_family"
    CHILD_OWN_INFORMATION = "child_own_information"
    CHILD_TOO_YOUNG = "child_too_young"
    NOT_THIS_CHILD = "not_this_child"
    AUDITOR_ACCESS_LOG = "auditor_access_log"
    AUDITOR_IDENTITY_OF_LOGGED_CHILD = "auditor_identity_of_logged_child"
    AUDITOR_SEES_ACCESS_LOG_ONLY = "auditor_sees_access_log_only"
    STAFF_WITHOUT_UNIT = "staff_without_unit"
    ACCESS_LOG_NOT_FOR_STAFF = "access_log_not_for_staff"
    OWN_RECORD = "own_record"
    SENT_TO_UNIT = "sent_to_unit"
    IDENTITY_OF_CHILD_SENT_TO_UNIT = "identity_of_child_sent_to_unit"
    STATUTORY_CONCERN_REPORT = "statutory_concern_report"
    CONCERN_REPORT_ONLY_TO_RECIPIENT = "concern_report_only_to_recipient"
    CONSENT_IN_EFFECT = "consent_in_effect"
    CASE_CLOSED = "case_closed"
    RETENTION_ENDED = "retention_ended"
    NO_BASIS = "no_basis"


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: Reason
    basis: LegalBasis | None = None
    consent_id: UUID | None = None


class ConsentStatus(str, Enum):
    PENDING = "pending"
    IN_EFFECT = "in_effect"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"


AGE_OF_MAJORITY = 18
"""Custody ends when the child turns 18 (föräldrabalken 6 kap. 2 §)."""


def coming_of_age(birth_date: date) -> datetime:
    """The moment the child turns 18: midnight in Sweden on the birthday (1 March for one
    born on 29 February), the same day :func:`age_on` counts the year from."""
    year = birth_date.year + AGE_OF_MAJORITY
    try:
        day = birth_date.replace(year=year)
    except ValueError:
        day = date(year, 3, 1)
    return datetime.combine(day, time(0), tzinfo=SWEDISH_TIME)


def consent_ends_by(birth_date: date, at: datetime, rules: PolicyRules) -> datetime:
    """The latest a consent asked for at ``at`` may run: the area's longest period, and
    never past the child's 18th birthday, when the guardians' say ends with their custody."""
    longest = at + timedelta(days=rules.max_validity_days)
    majority = coming_of_age(birth_date)
    return min(longest, majority) if majority > at else longest


def age_on(birth_date: date, moment: datetime | date) -> int:
    """Age in whole years on the Swedish calendar day of ``moment``: a birthday begins at
    midnight in Sweden, not in UTC."""
    day = moment.astimezone(SWEDISH_TIME).date() if isinstance(moment, datetime) else moment
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def required_parties(facts: ChildFacts, at: datetime, rules: PolicyRules) -> frozenset[tuple[PartyKind, str]]:
    """Every guardian with confirmed custody, and the child from the configured age, at ``at``."""
    parties = {(PartyKind.GUARDIAN, g.guardian_id) for g in facts.guardians if g.custodial}
    if age_on(facts.birth_date, at) >= rules.child_consent_age:
        parties.add((PartyKind.CHILD, str(facts.child_id)))
    return frozenset(parties)


def consent_status(consent: ConsentState, facts: ChildFacts, at: datetime, rules: PolicyRules) -> ConsentStatus:
    """Where one consent stands at ``at``; only ``IN_EFFECT`` lets information flow."""
    if consent.withdrawn:
        return ConsentStatus.WITHDRAWN
    if consent.declined:
        return ConsentStatus.DECLINED
    if at >= consent.valid_until:
        return ConsentStatus.EXPIRED
    if at < consent.valid_from:
        return ConsentStatus.NOT_YET_VALID
    needed = required_parties(facts, at, rules)
    if not needed or not needed <= consent.granted:
        return ConsentStatus.PENDING
    return ConsentStatus.IN_EFFECT


def _allow(reason: Reason, basis: LegalBasis, rules: PolicyRules, consent_id: UUID | None = None) -> AccessDecision:
    if basis not in rules.bases:
        return AccessDecision(False, Reason.NO_BASIS)
    return AccessDecision(True, reason, basis, consent_id)


def _deny(reason: Reason) -> AccessDecision:
    return AccessDecision(False, reason)


def decide(
    viewer: Viewer,
    facts: ChildFacts,
    info: Information,
    at: datetime,
    rules: PolicyRules,
) -> AccessDecision:
    """Allow or deny one viewer one piece of a child's information at one moment."""
    if not rules.bases:
        return _deny(Reason.NO_RULES)
    if viewer.tenant_id != facts.tenant_id:
        return _deny(Reason.OTHER_TENANT)
    if facts.erased:
        return _deny(Reason.CHILD_ERASED)
    if viewer.kind is ViewerKind.GUARDIAN:
        return _decide_guardian(viewer, facts, info, rules)
    if viewer.kind is ViewerKind.CHILD:
        return _decide_child(viewer, facts, info, at, rules)
    if viewer.kind is ViewerKind.AUDITOR:
        if info.category is Category.ACCESS_LOG and Role.AUDITOR in viewer.roles:
            return _allow(Reason.AUDITOR_ACCESS_LOG, LegalBasis.AUDIT_DUTY, rules)
        if info.category is Category.IDENTITY and Role.AUDITOR in viewer.roles:
            # Whose information was read is part of the log the auditor follows up
            # (PDL 4 kap. 3 §): the child's name and number, never what was read.
            return _allow(Reason.AUDITOR_IDENTITY_OF_LOGGED_CHILD, LegalBasis.AUDIT_DUTY, rules)
        return _deny(Reason.AUDITOR_SEES_ACCESS_LOG_ONLY)
    return _decide_staff(viewer, facts, info, at, rules)


_ALIKE_BY = tuple(f.name for f in fields(Information) if f.name != "recorded_at")
"""What besides the recording time tells two infos apart for the policy: every other field."""


def decide_each(
    viewer: Viewer,
    facts: ChildFacts,
    infos: Sequence[Information],
    at: datetime,
    rules: PolicyRules,
) -> list[AccessDecision]:
    """:func:`decide` for each of ``infos``, asked once for infos the policy cannot tell
    apart: a recording time counts only through retention, from the later of it and the
    case's last entry (:func:`retention_ends_at`), so infos recorded at or before that
    entry differ in nothing the decision reads. A long record costs a few decisions."""
    last = facts.last_entry_at
    known: dict[tuple[object, ...], AccessDecision] = {}
    out = []
    for info in infos:
        recorded = info.recorded_at
        if last is not None and recorded is not None and recorded < last:
            recorded = last
        key = (*(getattr(info, name) for name in _ALIKE_BY), recorded)
        decision = known.get(key)
        if decision is None:
            alike = info if recorded is info.recorded_at else replace(info, recorded_at=recorded)
            decision = known[key] = decide(viewer, facts, alike, at, rules)
        out.append(decision)
    return out


def _decide_guardian(viewer: Viewer, facts: ChildFacts, info: Information, rules: PolicyRules) -> AccessDecision:
    custodial = {g.guardian_id for g in facts.guardians if g.custodial}
    if viewer.party_id is None or viewer.party_id not in custodial:
        return _deny(Reason.NOT_A_CUSTODIAL_GUARDIAN)
    if info.withheld_from_guardians:
        return _deny(Reason.WITHHELD_FROM_FAMILY)
    return _allow(Reason.GUARDIAN_WITH_CUSTODY, LegalBasis.CUSTODY, rules)


def _decide_child(
    viewer: Viewer, facts: ChildFacts, info: Information, at: datetime, rules: PolicyRules
) -> AccessDecision:
    if viewer.party_id != str(facts.child_id):
        return _deny(Reason.NOT_THIS_CHILD)
    if age_on(facts.birth_date, at) < rules.child_access_age:
        return _deny(Reason.CHILD_TOO_YOUNG)
    if info.withheld_from_guardians:
        return _deny(Reason.WITHHELD_FROM_FAMILY)
    return _allow(Reason.CHILD_OWN_INFORMATION, LegalBasis.DATA_SUBJECT, rules)


def _decide_staff(
    viewer: Viewer, facts: ChildFacts, info: Information, at: datetime, rules: PolicyRules
) -> AccessDecision:
    if viewer.unit_id is None:
        return _deny(Reason.STAFF_WITHOUT_UNIT)
    if info.category is Category.ACCESS_LOG:
        return _deny(Reason.ACCESS_LOG_NOT_FOR_STAFF)
    if info.origin_unit_id == viewer.unit_id:
        return _allow(Reason.OWN_RECORD, LegalBasis.OWN_RECORD, rules)
    if retention_ended(viewer, facts, info, at, rules):
        return _deny(Reason.RETENTION_ENDED)
    if info.category is Category.CONCERN_REPORT:
        if info.sent_to_unit_id == viewer.unit_id and viewer.unit_kind is UnitKind.SOCIAL_SERVICES:
            return _allow(Reason.STATUTORY_CONCERN_REPORT, LegalBasis.STATUTORY_CONCERN_REPORT, rules)
        return _deny(Reason.CONCERN_REPORT_ONLY_TO_RECIPIENT)
    if info.category is Category.IDENTITY:
        if viewer.unit_id in facts.concern_report_units and viewer.unit_kind is UnitKind.SOCIAL_SERVICES:
            decision = _allow(Reason.STATUTORY_CONCERN_REPORT, LegalBasis.STATUTORY_CONCERN_REPORT, rules)
            if decision.allowed:
                return decision
        if viewer.unit_id in facts.units_sent_to:
            decision = _allow(Reason.IDENTITY_OF_CHILD_SENT_TO_UNIT, LegalBasis.SENT_TO_UNIT, rules)
            if decision.allowed:
                return decision
    if info.sent_to_unit_id is not None and info.sent_to_unit_id == viewer.unit_id:
        decision = _allow(Reason.SENT_TO_UNIT, LegalBasis.SENT_TO_UNIT, rules)
        if decision.allowed:
            return decision
    if info.category is Category.CONSENT:
        return _deny(Reason.NO_BASIS)
    closed_out = False
    for consent in _consents_for(viewer, facts, info.category):
        if consent_status(consent, facts, at, rules) is ConsentStatus.IN_EFFECT:
            if not consent_outlives_closure(consent, facts, at):
                closed_out = True
                continue
            return _allow(Reason.CONSENT_IN_EFFECT, LegalBasis.CONSENT, rules, consent.consent_id)
    return _deny(Reason.CASE_CLOSED if closed_out else Reason.NO_BASIS)


def case_closed(facts: ChildFacts, at: datetime) -> bool:
    """Whether the case is closed at ``at``: a closure is in force from its moment on."""
    return facts.closed_at is not None and facts.closed_at <= at


def consent_outlives_closure(consent: ConsentState, facts: ChildFacts, at: datetime) -> bool:
    """Whether ``consent`` may still share: the case is open, or the consent was asked for
    after the closure (the family agreed anew to sharing beyond the closed case). A case
    opened again by a new card does not revive a consent asked for before its closure."""
    closed = facts.last_closed_at or facts.closed_at
    return closed is None or closed > at or consent.valid_from > closed


def retention_ends_at(viewer: Viewer, facts: ChildFacts, info: Information, rules: PolicyRules) -> datetime | None:
    """When ``viewer``'s unit stops seeing ``info`` if it is not its own: its period after the
    later of the information's recording and the case's last entry; None if no period applies
    or no time is known."""
    days = rules.retention.for_tenant(facts.tenant_id).days(info.category, viewer.unit_kind)
    times = [t for t in (info.recorded_at, facts.last_entry_at) if t is not None]
    if days is None or not times:
        return None
    return max(times) + timedelta(days=days)


def retention_ended(viewer: Viewer, facts: ChildFacts, info: Information, at: datetime, rules: PolicyRules) -> bool:
    ends = retention_ends_at(viewer, facts, info, rules)
    return ends is not None and at >= ends


@dataclass(frozen=True)
class Secret:
    """A piece of the child's information kept from the family, as the access-log filter
    needs it: never its content."""

    position: int
    """Its place in the log: only reads after it can have touched it."""
    category: Category
    origin_unit_id: str | None
    sent_to_unit_id: str | None = None
    reporter_only: bool = False
    """Only who filed it is kept (a concern report, OSL 26 kap. 5 §), not that it exists."""


@dataclass(frozen=True)
class PastRead:
    """A read on the access log, as the family's list would show it."""

    position: int
    unit_id: str | None
    """The reader's unit; None for the family and the auditors, who never see a secret."""
    categories: frozenset[Category]
    bases: frozenset[LegalBasis]


def family_sees_read(read: PastRead, secrets: Iterable[Secret]) -> bool:
    """Whether the family's access log may show ``read``, given what is withheld now.

    A read is left out when it may have touched a secret recorded before it: the reader's
    unit could see the secret (its own record, sent to it, or on consent for its category)
    and the read showed that category; a read of a withheld concern report's recipient on the
    statutory basis, whatever it showed, since the basis alone tells that a report was filed;
    and, where only the reporter is withheld, a read by the reporter's unit that showed the
    report, since the entry would name that unit. It errs towards leaving out: the auditors
    keep every read (PDL 4 kap. 3 §)."""
    return not any(_touches(read, s) for s in secrets if s.position < read.position)


def _touches(read: PastRead, secret: Secret) -> bool:
    unit = read.unit_id
    if unit is None:
        return False
    if secret.reporter_only:
        return unit == secret.origin_unit_id and secret.category in read.categories
    if (
        secret.category is Category.CONCERN_REPORT
        and unit == secret.sent_to_unit_id
        and LegalBasis.STATUTORY_CONCERN_REPORT in read.bases
    ):
        return True
    if secret.category not in read.categories:
        return False
    if unit in (secret.origin_unit_id, secret.sent_to_unit_id) or LegalBasis.CONSENT in read.bases:
        return True
    # a unit sent anything of the child sees its identity: an identity kept back may be among it
    return secret.category is Category.IDENTITY and bool(
        read.bases & {LegalBasis.SENT_TO_UNIT, LegalBasis.STATUTORY_CONCERN_REPORT}
    )


def _consents_for(viewer: Viewer, facts: ChildFacts, category: Category) -> Iterable[ConsentState]:
    return (
        c
        for c in facts.consents
        if category in c.categories and c.names_recipient(viewer.unit_id, viewer.unit_kind)
    )

