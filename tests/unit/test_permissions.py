"""Table tests for who may act: every actor the model knows, every act, the states of a case that matter.

Each row names the law or the model's rule it checks (``rule``) and the answer
:func:`consent.permissions.may` must give: allowed or not, the code of the rule that applied,
and whether the refusal hides the child (``conceal``). The case goes through the states that
change the answers: a card sent but no Barnkontakt yet, the role held, a team decided, a
support coordinator appointed, the record erased. A new act, rule or actor without rows
fails the coverage tests at the end of the table; properties over generated actors and cases
check what no table can list: another area, and an erased record, never get anything, and a
refusal hides the child exactly from those who may not know of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent import ChildFacts, ConsentState, GuardianFact, PolicyRules, Viewer, ViewerKind
from consent.permissions import (
    ACROSS_CASES,
    Action,
    CaseState,
    Holder,
    Permission,
    Rule,
    StaffRef,
    Target,
    knows_child,
    may,
    route_card,
)
from contracts.vocabulary import Category, PartyKind, Role, UnitKind

TENANT = "ystad"
OTHER_TENANT = "lidingo"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = PolicyRules()  # the child consents and sees its own record from 15
CHILD_ID = UUID("00000000-0000-4000-8000-00000000c0de")
BORN_13 = date(2012, 6, 15)  # 13 at NOW
BORN_16 = date(2009, 6, 15)  # 16 at NOW
G_CUSTODY, G_NO_CUSTODY, G_STRANGER = "g-anna", "g-bo", "g-annan-familj"

# -- the cooperation area: units, and who works where ---------------------------------------------

PRESCHOOL, SCHOOL, PUPIL_HEALTH = "forskola-solen", "skola-ostra", "elevhalsa-ostra"
POLICE, BUP, SOCIAL = "polis-ystad", "bup-ystad", "soc-ystad"
BVC, YOUTH, MVC = "bvc-ystad", "ungdomens-hus", "mvc-ystad"
TEAM = frozenset({SCHOOL, PUPIL_HEALTH, POLICE, BUP, SOCIAL})
KINDS = {
    PRESCHOOL: UnitKind.PRESCHOOL,
    SCHOOL: UnitKind.SCHOOL,
    PUPIL_HEALTH: UnitKind.PUPIL_HEALTH,
    POLICE: UnitKind.POLICE,
    BUP: UnitKind.BUP,
    SOCIAL: UnitKind.SOCIAL_SERVICES,
    BVC: UnitKind.BVC,
    YOUTH: UnitKind.YOUTH_CENTRE,
    MVC: UnitKind.MIDWIFE_CLINIC,
}


def staff(user: str, unit: str | None, *roles: Role, tenant: str = TENANT, kind: UnitKind | None = None) -> Viewer:
    return Viewer(ViewerKind.STAFF, tenant, user, frozenset(roles), unit, kind or (KINDS.get(unit) if unit else None))


def guardian(party: str) -> Viewer:
    return Viewer(ViewerKind.GUARDIAN, TENANT, party, frozenset({Role.GUARDIAN}), party_id=party)


THE_CHILD = Viewer(ViewerKind.CHILD, TENANT, str(CHILD_ID), frozenset({Role.CHILD}), party_id=str(CHILD_ID))

DISCOVERER = "discoverer (preschool teacher who sent the card)"
BARNKONTAKT = "Barnkontakt of the case's unit"
HEAD = "another Barnkontakt of the holder's unit (its head)"
COLLEAGUE = "colleague at the holder's unit, without the role"
PRESCHOOL_BK = "Barnkontakt of the registering preschool"
OTHER_BK = "Barnkontakt of another unit (BVC)"
COORDINATOR = "support coordinator (pupil health)"
TEAM_POLICE = "team unit staff (police)"
TEAM_BUP = "team unit staff (BUP, region)"
TEAM_SOCIAL = "team unit staff (social services)"
UNCONNECTED = "unconnected staff (youth centre)"
ADMIN = "tenant admin"
AUDITOR = "auditor"
GUARDIAN = "custodial guardian"
NON_CUSTODIAL = "non-custodial guardian"
STRANGER = "another family's guardian"
CHILD_13 = "the child, 13"
CHILD_16 = "the child, 16"
FOREIGN = "staff of another area"

ACTORS: dict[str, Viewer] = {
    DISCOVERER: staff("pedagog", PRESCHOOL, Role.DISCOVERER),
    BARNKONTAKT: staff("rektor", SCHOOL, Role.BARNKONTAKT, Role.TEAM_MEMBER),
    HEAD: staff("bitr-rektor", SCHOOL, Role.BARNKONTAKT),
    COLLEAGUE: staff("larare", SCHOOL, Role.DISCOVERER),
    PRESCHOOL_BK: staff("forskolechef", PRESCHOOL, Role.BARNKONTAKT),
    OTHER_BK: staff("bvc-sjukskoterska", BVC, Role.BARNKONTAKT, Role.DISCOVERER),
    COORDINATOR: staff("kurator", PUPIL_HEALTH, Role.SUPPORT_COORDINATOR, Role.TEAM_MEMBER),
    TEAM_POLICE: staff("polis", POLICE, Role.TEAM_MEMBER),
    TEAM_BUP: staff("bup-psykolog", BUP, Role.TEAM_MEMBER),
    TEAM_SOCIAL: staff("socialsekreterare", SOCIAL, Role.TEAM_MEMBER),
    UNCONNECTED: staff("fritidsledare", YOUTH, Role.DISCOVERER),
    ADMIN: staff("admin", None, Role.TENANT_ADMIN),
    AUDITOR: Viewer(ViewerKind.AUDITOR, TENANT, "granskare", frozenset({Role.AUDITOR})),
    GUARDIAN: guardian(G_CUSTODY),
    NON_CUSTODIAL: guardian(G_NO_CUSTODY),
    STRANGER: guardian(G_STRANGER),
    CHILD_13: THE_CHILD,
    CHILD_16: THE_CHILD,
    FOREIGN: staff("rektor.lidingo", "skola-lidingo", Role.BARNKONTAKT, tenant=OTHER_TENANT, kind=UnitKind.SCHOOL),
}
STAFF_ACTORS = (
    DISCOVERER, BARNKONTAKT, HEAD, COLLEAGUE, PRESCHOOL_BK, OTHER_BK, COORDINATOR,
    TEAM_POLICE, TEAM_BUP, TEAM_SOCIAL, UNCONNECTED,
)


def ref(actor: str) -> StaffRef:
    """The actor as the staff member an act names."""
    v = ACTORS[actor]
    return StaffRef(v.user_id, v.unit_id, v.roles)


# -- the case, in the states that matter ------------------------------------------------------------

NEW = "card sent, no Barnkontakt yet"
HELD = "Barnkontakt held"
TEAM_DECIDED = "team decided"
COORDINATED = "coordinator appointed"
ERASED = "erased"

_new = CaseState(
    facts=ChildFacts(
        tenant_id=TENANT,
        child_id=CHILD_ID,
        birth_date=BORN_13,
        guardians=(GuardianFact(G_CUSTODY, True, confirmed=True), GuardianFact(G_NO_CUSTODY, False, confirmed=True)),
        units_sent_to=frozenset({SCHOOL}),
    ),
    card_unit_ids=frozenset({SCHOOL}),
    origin_unit_ids=frozenset({PRESCHOOL}),
    registered_by_unit_id=PRESCHOOL,
)
"""Registered by the preschool, whose teacher sent a discovery card to the school."""
_held = replace(_new, barnkontakt=Holder("rektor", SCHOOL), origin_unit_ids=frozenset({PRESCHOOL, SCHOOL}))
_team = replace(_held, team_unit_ids=TEAM)
_coordinated = replace(_team, coordinator=Holder("kurator", PUPIL_HEALTH))
ASKED, KEPT_BACK = UUID(int=1), UUID(int=2)
"""Two consents the Barnkontakt asked for; the request of the second is withheld from the guardians."""
REQUEST_WITHHELD = "a consent request withheld from the guardians"
_asked = tuple(
    ConsentState(
        consent_id=c, requested_by_unit_id=SCHOOL, recipient_unit_ids=frozenset({BUP}), recipient_unit_kinds=frozenset(),
        categories=frozenset({Category.NEEDS}), purpose="Stöd", valid_from=NOW, valid_until=datetime(2027, 3, 2, tzinfo=UTC),
    )
    for c in (ASKED, KEPT_BACK)
)
STATES: dict[str, CaseState] = {
    NEW: _new,
    HELD: _held,
    TEAM_DECIDED: _team,
    COORDINATED: _coordinated,
    REQUEST_WITHHELD: replace(
        _coordinated, facts=replace(_coordinated.facts, consents=_asked), withheld_consent_ids=frozenset({KEPT_BACK})
    ),
    ERASED: replace(_coordinated, facts=replace(_coordinated.facts, erased=True)),
}


def aged(case: CaseState, born: date) -> CaseState:
    return replace(case, facts=replace(case.facts, birth_date=born))


# -- the table --------------------------------------------------------------------------------------

NO_TARGET = Target()


def ok(rule: Rule) -> Permission:
    return Permission(True, rule)


def no(rule: Rule) -> Permission:
    """Refused, and told why: the actor may know that the child exists."""
    return Permission(False, rule)


def hidden(rule: Rule) -> Permission:
    """Refused as if the child did not exist."""
    return Permission(False, rule, conceal=True)


@dataclass(frozen=True)
class Row:
    rule: str
    """The law or the model's rule the row checks."""
    actor: Viewer
    action: Action
    case: CaseState | None
    target: Target
    expected: Permission
    actor_name: str


def cells(
    action: Action, rule: str, state: str | None, target: Target = NO_TARGET, label: str = "", **expected: Permission
) -> Iterator[object]:
    """One row per actor, each named by its short key in :data:`A`, in ``state`` (None: no case)."""
    for key, want in expected.items():
        name = A[key]
        case = None if state is None else STATES[state]
        if case is not None and name == CHILD_16:
            case = aged(case, BORN_16)
        where = "no case" if state is None else state
        suffix = f" [{label}]" if label else ""
        yield pytest.param(
            Row(rule, ACTORS[name], action, case, target, want, name),
            id=f"{action.value} | {name} | {where}{suffix}",
        )


A = {
    "discoverer": DISCOVERER,
    "barnkontakt": BARNKONTAKT,
    "head": HEAD,
    "colleague": COLLEAGUE,
    "preschool_bk": PRESCHOOL_BK,
    "other_bk": OTHER_BK,
    "coordinator": COORDINATOR,
    "police": TEAM_POLICE,
    "bup": TEAM_BUP,
    "social": TEAM_SOCIAL,
    "unconnected": UNCONNECTED,
    "admin": ADMIN,
    "auditor": AUDITOR,
    "guardian": GUARDIAN,
    "non_custodial": NON_CUSTODIAL,
    "stranger": STRANGER,
    "child_13": CHILD_13,
    "child_16": CHILD_16,
    "foreign": FOREIGN,
}
"""The actors by the short names the rows use."""
assert set(A.values()) == set(ACTORS)

CASE_ACTIONS = [a for a in Action if a not in ACROSS_CASES]
HOLDER_ONLY = (Action.SEND_FEEDBACK, Action.DECIDE_TEAM)
HOLDER_OR_COORDINATOR = (
    Action.HOLD_CONVERSATION,
    Action.INVITE_TO_CONVERSATION,
    Action.WITHDRAW_CONVERSATION_INVITATION,
    Action.REQUEST_CONSENT,
    Action.HOLD_TEAM_MEETING,
    Action.UPDATE_PLAN,
    Action.HOLD_FOLLOW_UP,
    Action.RECORD_NEEDS_MET,
)
OPEN_TO_EVERY_UNIT = (Action.SUBMIT_DISCOVERY_CARD, Action.FILE_CONCERN_REPORT)

STAFF_ROLES_ONLY = "the model: staff at a unit record the process; the family takes part in it, the administrator runs the area"


def family_and_admin(action: Action, state: str, refusal: Rule, target: Target = NO_TARGET) -> Iterator[object]:
    """A staff member's step tried by the family or the administrator: refused, and hidden from
    those who may not know of the child (FB 6 kap. 11 §: only a custodial guardian; the child
    from the age it sees its own record)."""
    yield from cells(
        action, STAFF_ROLES_ONLY, state, target,
        guardian=no(refusal), non_custodial=hidden(refusal), stranger=hidden(refusal),
        child_13=hidden(refusal), child_16=no(refusal), admin=no(refusal),
    )


def every_case_action() -> Iterator[object]:
    """What holds for every act on a case, whatever the act."""
    for action in CASE_ACTIONS:
        yield from cells(
            action, "OSL 10 kap., the cooperation area: another area's staff do not learn that the child exists",
            COORDINATED, foreign=hidden(Rule.OTHER_TENANT),
        )
        yield from cells(
            action, "GDPR art. 17: an erased record allows nothing, to anyone", ERASED,
            barnkontakt=no(Rule.RECORD_ERASED), admin=no(Rule.RECORD_ERASED), auditor=no(Rule.RECORD_ERASED),
        )
        yield from cells(
            action, "existence: an act on a child the hub does not know answers as for any unknown child", None,
            barnkontakt=hidden(Rule.NO_CASE),
        )
        if action is not Action.RECORD_REVIEW:
            yield from cells(
                action, "PDL 4 kap. 3 §: auditors review the access log and do nothing else", COORDINATED,
                auditor=no(Rule.AUDITORS_ONLY_REVIEW),
            )


def open_to_every_unit() -> Iterator[object]:
    laws = {
        Action.SUBMIT_DISCOVERY_CARD: "Backa barnet: every adult who meets the child may discover it (the Upptäckare's card)",
        Action.FILE_CONCERN_REPORT: "SoL 14 kap. 1 §: anyone at a unit reports a concern to social services",
    }
    for action in OPEN_TO_EVERY_UNIT:
        everyone = {k: ok(Rule.ANY_STAFF_AT_A_UNIT) for k in (
            "discoverer", "barnkontakt", "head", "colleague", "preschool_bk", "other_bk", "coordinator",
            "police", "bup", "social", "unconnected",
        )}
        yield from cells(action, laws[action], NEW, **everyone)
        yield from cells(action, laws[action], COORDINATED, unconnected=ok(Rule.ANY_STAFF_AT_A_UNIT), other_bk=ok(Rule.ANY_STAFF_AT_A_UNIT))
        yield from family_and_admin(action, COORDINATED, Rule.STAFF_AT_A_UNIT_ONLY)


def barnkontakt_role() -> Iterator[object]:
    take = Action.TAKE_BARNKONTAKT_ROLE
    law = "Backa barnet: the Barnkontakt is taken at a unit the card was sent to, or where the child is enrolled"
    self_ = {k: Target(staff=ref(A[k])) for k in A if A[k] in STAFF_ACTORS}
    rektor = Target(staff=ref(BARNKONTAKT))
    yield from cells(take, law, NEW, self_["barnkontakt"], "self", barnkontakt=ok(Rule.BARNKONTAKT_AT_CARD_UNIT))
    yield from cells(take, law, NEW, self_["head"], "self", head=ok(Rule.BARNKONTAKT_AT_CARD_UNIT))
    yield from cells(take, law, NEW, rektor, "names a colleague", head=ok(Rule.BARNKONTAKT_AT_CARD_UNIT))
    yield from cells(take, law, NEW, self_["preschool_bk"], "self", preschool_bk=ok(Rule.BARNKONTAKT_AT_CARD_UNIT))
    yield from cells(
        take, "issue 10, case takeover: a Barnkontakt of a unit the card did not go to may not take the role",
        NEW, self_["other_bk"], "self", other_bk=hidden(Rule.NOT_A_CARD_UNIT),
    )
    yield from cells(
        take, "Backa barnet: a Barnkontakt assigns the role only at their own unit", NEW, rektor, "names the card unit's",
        other_bk=hidden(Rule.NOT_A_CARD_UNIT), preschool_bk=no(Rule.NOT_A_CARD_UNIT),
        discoverer=no(Rule.NOT_A_CARD_UNIT), colleague=no(Rule.NOT_A_CARD_UNIT), coordinator=hidden(Rule.NOT_A_CARD_UNIT),
        police=hidden(Rule.NOT_A_CARD_UNIT), bup=hidden(Rule.NOT_A_CARD_UNIT), social=hidden(Rule.NOT_A_CARD_UNIT),
        unconnected=hidden(Rule.NOT_A_CARD_UNIT),
        guardian=no(Rule.NOT_A_CARD_UNIT), non_custodial=hidden(Rule.NOT_A_CARD_UNIT), stranger=hidden(Rule.NOT_A_CARD_UNIT),
        child_13=hidden(Rule.NOT_A_CARD_UNIT), child_16=no(Rule.NOT_A_CARD_UNIT),
    )
    yield from cells(
        take, "Backa barnet: the cooperation area's administrator places the role at any unit", NEW,
        self_["other_bk"], "names BVC", admin=ok(Rule.ADMINISTRATOR),
    )
    yield from cells(
        take, "Backa barnet: one Barnkontakt per child; a held role is handed over, not taken", HELD, self_["head"],
        "names a colleague", barnkontakt=no(Rule.ROLE_ALREADY_HELD), admin=no(Rule.ROLE_ALREADY_HELD),
    )
    yield from cells(
        take, "Backa barnet: only a Barnkontakt holds the role", NEW, Target(staff=ref(COLLEAGUE)), "names a teacher",
        barnkontakt=no(Rule.TARGET_LACKS_ROLE),
    )
    for p in cells(
        take, "who may act is asked before the case's state: the family and staff without the role are refused as such",
        COORDINATED, self_["head"], "names a colleague", guardian=no(Rule.NOT_A_CARD_UNIT), coordinator=no(Rule.NOT_A_CARD_UNIT),
    ):
        yield p

    hand = Action.HAND_OVER_BARNKONTAKT_ROLE
    law = "Backa barnet: the role is handed over only by its holder, a Barnkontakt of the holder's unit, or the administrator"
    bvc = Target(staff=ref(OTHER_BK))
    yield from cells(
        hand, law, COORDINATED, bvc, "to BVC",
        barnkontakt=ok(Rule.HOLDER_OR_HEAD), head=ok(Rule.HOLDER_OR_HEAD), admin=ok(Rule.ADMINISTRATOR),
        colleague=no(Rule.NOT_HOLDER_OR_HEAD), discoverer=no(Rule.NOT_HOLDER_OR_HEAD), preschool_bk=no(Rule.NOT_HOLDER_OR_HEAD),
        coordinator=no(Rule.NOT_HOLDER_OR_HEAD), police=no(Rule.NOT_HOLDER_OR_HEAD), bup=no(Rule.NOT_HOLDER_OR_HEAD),
        social=no(Rule.NOT_HOLDER_OR_HEAD), other_bk=hidden(Rule.NOT_HOLDER_OR_HEAD), unconnected=hidden(Rule.NOT_HOLDER_OR_HEAD),
        guardian=no(Rule.NOT_HOLDER_OR_HEAD), non_custodial=hidden(Rule.NOT_HOLDER_OR_HEAD), stranger=hidden(Rule.NOT_HOLDER_OR_HEAD),
        child_13=hidden(Rule.NOT_HOLDER_OR_HEAD), child_16=no(Rule.NOT_HOLDER_OR_HEAD),
    )
    yield from cells(
        hand, "issue 10, case takeover: a Barnkontakt of another unit may not hand the role to themselves", HELD, bvc, "to self",
        other_bk=hidden(Rule.NOT_HOLDER_OR_HEAD),
    )
    yield from cells(hand, "the process: there is no role to hand over yet", NEW, bvc, "to BVC", barnkontakt=no(Rule.NO_BARNKONTAKT_YET))
    yield from cells(
        hand, "Backa barnet: only a Barnkontakt holds the role", HELD, Target(staff=ref(COORDINATOR)), "to a coordinator",
        barnkontakt=no(Rule.TARGET_LACKS_ROLE),
    )
    for p in cells(
        hand, "who may act is asked before the case's state: the family is refused as such", NEW, bvc, "to BVC",
        guardian=no(Rule.NOT_HOLDER_OR_HEAD),
    ):
        yield p


def _known_bug(param: object, what: str) -> object:
    """A row the policy answers wrongly today: kept as written, expected to fail until fixed."""
    values, marks, id_ = param  # type: ignore[misc]
    return pytest.param(*values, marks=[*marks, pytest.mark.xfail(strict=True, reason=f"policy bug: {what}")], id=id_)


def holder_steps() -> Iterator[object]:
    law = "Backa barnet: the Barnkontakt's unit holds the case; feedback to the discoverer and the decision are the Barnkontakt's"
    for action in HOLDER_ONLY:
        yield from cells(
            action, law, HELD,
            barnkontakt=ok(Rule.BARNKONTAKT), head=ok(Rule.BARNKONTAKT), colleague=no(Rule.NOT_CASE_HOLDER),
            discoverer=no(Rule.NOT_CASE_HOLDER), preschool_bk=no(Rule.NOT_CASE_HOLDER),
            other_bk=hidden(Rule.NOT_CASE_HOLDER), unconnected=hidden(Rule.NOT_CASE_HOLDER),
        )
        yield from cells(
            action, law, COORDINATED, barnkontakt=ok(Rule.BARNKONTAKT), coordinator=no(Rule.NOT_CASE_HOLDER),
            police=no(Rule.NOT_CASE_HOLDER), bup=no(Rule.NOT_CASE_HOLDER), social=no(Rule.NOT_CASE_HOLDER),
        )
        yield from cells(
            action, "the process: nothing is the Barnkontakt's before there is one", NEW,
            barnkontakt=no(Rule.NO_BARNKONTAKT_YET), unconnected=hidden(Rule.NO_BARNKONTAKT_YET),
        )
        yield from family_and_admin(action, HELD, Rule.STAFF_AT_A_UNIT_ONLY)

    law = "Backa barnet: conversations, consent requests, meetings, the plan and its follow-up are the Barnkontakt's or the support coordinator's"
    for action in HOLDER_OR_COORDINATOR:
        yield from cells(
            action, law, HELD,
            barnkontakt=ok(Rule.BARNKONTAKT), head=ok(Rule.BARNKONTAKT), colleague=no(Rule.NOT_CASE_HOLDER),
            discoverer=no(Rule.NOT_CASE_HOLDER), preschool_bk=no(Rule.NOT_CASE_HOLDER),
            other_bk=hidden(Rule.NOT_CASE_HOLDER), unconnected=hidden(Rule.NOT_CASE_HOLDER),
        )
        yield from cells(
            action, law, TEAM_DECIDED, coordinator=no(Rule.NOT_CASE_HOLDER), police=no(Rule.NOT_CASE_HOLDER),
            bup=no(Rule.NOT_CASE_HOLDER), social=no(Rule.NOT_CASE_HOLDER),
        )
        yield from cells(action, law, COORDINATED, coordinator=ok(Rule.SUPPORT_COORDINATOR), barnkontakt=ok(Rule.BARNKONTAKT))
        yield from cells(
            action, "the process: nothing is the Barnkontakt's before there is one", NEW, barnkontakt=no(Rule.NO_BARNKONTAKT_YET),
        )
        yield from family_and_admin(action, COORDINATED, Rule.STAFF_AT_A_UNIT_ONLY)

    appoint = Action.APPOINT_SUPPORT_COORDINATOR
    kurator = Target(staff=ref(COORDINATOR))
    law = "Backa barnet: the Barnkontakt appoints the support coordinator of an individual team"
    yield from cells(
        appoint, law, TEAM_DECIDED, kurator, "names pupil health",
        barnkontakt=ok(Rule.BARNKONTAKT), head=ok(Rule.BARNKONTAKT), colleague=no(Rule.NOT_CASE_HOLDER),
        discoverer=no(Rule.NOT_CASE_HOLDER), preschool_bk=no(Rule.NOT_CASE_HOLDER), coordinator=no(Rule.NOT_CASE_HOLDER),
        police=no(Rule.NOT_CASE_HOLDER), bup=no(Rule.NOT_CASE_HOLDER), social=no(Rule.NOT_CASE_HOLDER),
        other_bk=hidden(Rule.NOT_CASE_HOLDER), unconnected=hidden(Rule.NOT_CASE_HOLDER),
        admin=no(Rule.NOT_CASE_HOLDER),  # the administrator replaces a coordinator, the Barnkontakt appoints the first
    )
    yield from cells(
        appoint, "Backa barnet: an appointed coordinator hands over, and the administrator replaces one", COORDINATED,
        kurator, "names pupil health", coordinator=ok(Rule.SUPPORT_COORDINATOR), admin=ok(Rule.ADMINISTRATOR),
    )
    yield from cells(
        appoint, "Backa barnet: the coordinator is a support coordinator", TEAM_DECIDED, Target(staff=ref(TEAM_POLICE)),
        "names the police", barnkontakt=no(Rule.TARGET_LACKS_ROLE),
    )
    yield from cells(
        appoint, "the process: no Barnkontakt, no one to appoint a coordinator", NEW, kurator, "names pupil health",
        barnkontakt=no(Rule.NO_BARNKONTAKT_YET),
    )
    yield from cells(
        appoint, STAFF_ROLES_ONLY, COORDINATED, kurator, "names pupil health",
        guardian=no(Rule.STAFF_AT_A_UNIT_ONLY), non_custodial=hidden(Rule.STAFF_AT_A_UNIT_ONLY),
        stranger=hidden(Rule.STAFF_AT_A_UNIT_ONLY), child_13=hidden(Rule.STAFF_AT_A_UNIT_ONLY), child_16=no(Rule.STAFF_AT_A_UNIT_ONLY),
    )


def closure() -> Iterator[object]:
    """Closing the case (moved away, declined): whoever holds it, or the administrator."""
    close = Action.CLOSE_CASE
    law = "Backa barnet: the Barnkontakt, or the support coordinator who holds the plan, closes the case"
    yield from cells(
        close, law, HELD,
        barnkontakt=ok(Rule.BARNKONTAKT), head=ok(Rule.BARNKONTAKT), colleague=no(Rule.NOT_CASE_HOLDER),
        discoverer=no(Rule.NOT_CASE_HOLDER), preschool_bk=no(Rule.NOT_CASE_HOLDER),
        other_bk=hidden(Rule.NOT_CASE_HOLDER), unconnected=hidden(Rule.NOT_CASE_HOLDER),
    )
    yield from cells(
        close, law, COORDINATED, coordinator=ok(Rule.SUPPORT_COORDINATOR), barnkontakt=ok(Rule.BARNKONTAKT),
        police=no(Rule.NOT_CASE_HOLDER), bup=no(Rule.NOT_CASE_HOLDER), social=no(Rule.NOT_CASE_HOLDER),
    )
    yield from cells(close, "the process: no case is held before there is a Barnkontakt", NEW, barnkontakt=no(Rule.NO_BARNKONTAKT_YET))
    yield from cells(
        close, "FB 6 kap. 11 §, folkbokföringen: the administrator closes the case of a child who moved away", HELD,
        admin=ok(Rule.ADMINISTRATOR),
    )
    yield from cells(
        close, STAFF_ROLES_ONLY, COORDINATED,
        guardian=no(Rule.STAFF_AT_A_UNIT_ONLY), non_custodial=hidden(Rule.STAFF_AT_A_UNIT_ONLY),
        stranger=hidden(Rule.STAFF_AT_A_UNIT_ONLY), child_13=hidden(Rule.STAFF_AT_A_UNIT_ONLY),
        child_16=no(Rule.STAFF_AT_A_UNIT_ONLY),
    )


def team_steps() -> Iterator[object]:
    rate = Action.SUBMIT_RATING
    law = "Backa barnet: each unit of the child's team, the Barnkontakt's among them, rates the needs (Skattningsformulär)"
    yield from cells(
        rate, law, TEAM_DECIDED,
        barnkontakt=ok(Rule.TEAM_UNIT), head=ok(Rule.TEAM_UNIT), colleague=ok(Rule.TEAM_UNIT), coordinator=ok(Rule.TEAM_UNIT),
        police=ok(Rule.TEAM_UNIT), bup=ok(Rule.TEAM_UNIT), social=ok(Rule.TEAM_UNIT),
        discoverer=no(Rule.NOT_IN_TEAM), preschool_bk=no(Rule.NOT_IN_TEAM),
        other_bk=hidden(Rule.NOT_IN_TEAM), unconnected=hidden(Rule.NOT_IN_TEAM),
    )
    yield from cells(rate, law, HELD, barnkontakt=ok(Rule.TEAM_UNIT), police=hidden(Rule.NOT_IN_TEAM))
    yield from family_and_admin(rate, TEAM_DECIDED, Rule.STAFF_AT_A_UNIT_ONLY)

    share = Action.SHARE_AGENCY_SUMMARY
    law = "OSL 25, 26 and 18 kap.: each agency in the team shares only its own part of the summary"
    for field, owner in (("police", "police"), ("health", "bup"), ("social_services", "social")):
        others = {"barnkontakt", "coordinator", "police", "bup", "social"} - {owner}
        yield from cells(
            share, law, TEAM_DECIDED, Target(agency_fields=frozenset({field})), field,
            **{owner: ok(Rule.AGENCY_FIELD_OWN)}, **{k: no(Rule.AGENCY_FIELD_NOT_OWN) for k in sorted(others)},
        )
    police = Target(agency_fields=frozenset({"police"}))
    yield from cells(
        share, "Backa barnet: only a unit in the child's team shares an agency summary", TEAM_DECIDED, police, "police",
        head=no(Rule.AGENCY_FIELD_NOT_OWN), colleague=no(Rule.AGENCY_FIELD_NOT_OWN),
        discoverer=no(Rule.NOT_IN_TEAM), preschool_bk=no(Rule.NOT_IN_TEAM), other_bk=hidden(Rule.NOT_IN_TEAM),
        unconnected=hidden(Rule.NOT_IN_TEAM),
    )
    yield from cells(
        share, "OSL 25-26 kap.: a summary with a field of another agency's is refused whole", TEAM_DECIDED,
        Target(agency_fields=frozenset({"police", "health"})), "police and health", police=no(Rule.AGENCY_FIELD_NOT_OWN),
    )
    yield from cells(share, "Backa barnet: the team shares once it is decided", HELD, police, "police", police=hidden(Rule.NOT_IN_TEAM))
    yield from family_and_admin(share, TEAM_DECIDED, Rule.STAFF_AT_A_UNIT_ONLY, police)

    complete = Action.COMPLETE_PLAN_ACTION
    law = "Backa barnet: a plan action is completed by the unit it belongs to, or by whoever holds the case"
    police_action = Target(action_unit_id=POLICE)
    yield from cells(
        complete, law, COORDINATED, police_action, "the police's action",
        police=ok(Rule.ACTION_OWN_UNIT), barnkontakt=ok(Rule.BARNKONTAKT), head=ok(Rule.BARNKONTAKT),
        coordinator=ok(Rule.SUPPORT_COORDINATOR), bup=no(Rule.NOT_CASE_HOLDER), social=no(Rule.NOT_CASE_HOLDER),
        colleague=no(Rule.NOT_CASE_HOLDER), discoverer=no(Rule.NOT_CASE_HOLDER), preschool_bk=no(Rule.NOT_CASE_HOLDER),
        other_bk=hidden(Rule.NOT_CASE_HOLDER), unconnected=hidden(Rule.NOT_CASE_HOLDER),
    )
    yield from cells(
        complete, law, COORDINATED, Target(action_unit_id=YOUTH), "the youth centre's action", unconnected=ok(Rule.ACTION_OWN_UNIT),
    )
    yield from cells(
        complete, "the process: a plan action the plan does not have is the case holder's to answer", COORDINATED, Target(),
        "no such action", coordinator=ok(Rule.SUPPORT_COORDINATOR), police=no(Rule.NOT_CASE_HOLDER),
    )
    yield from family_and_admin(complete, COORDINATED, Rule.STAFF_AT_A_UNIT_ONLY, police_action)


def secrecy_and_visits() -> Iterator[object]:
    visit = Action.RECORD_HOME_VISIT
    law = "the extended home-visit programme: the midwife clinic, BVC or parent support (social services) visits the home"
    yield from cells(
        visit, law, COORDINATED,
        other_bk=ok(Rule.HOME_VISIT_UNIT), social=ok(Rule.HOME_VISIT_UNIT),
        barnkontakt=no(Rule.NOT_A_HOME_VISIT_UNIT), head=no(Rule.NOT_A_HOME_VISIT_UNIT), colleague=no(Rule.NOT_A_HOME_VISIT_UNIT),
        discoverer=no(Rule.NOT_A_HOME_VISIT_UNIT), preschool_bk=no(Rule.NOT_A_HOME_VISIT_UNIT),
        coordinator=no(Rule.NOT_A_HOME_VISIT_UNIT), police=no(Rule.NOT_A_HOME_VISIT_UNIT), bup=no(Rule.NOT_A_HOME_VISIT_UNIT),
        unconnected=hidden(Rule.NOT_A_HOME_VISIT_UNIT),
    )
    midwife = staff("barnmorska", MVC, Role.DISCOVERER)
    yield pytest.param(
        Row(law, midwife, visit, STATES[NEW], Target(), ok(Rule.HOME_VISIT_UNIT), "midwife"), id="record_home_visit | midwife | " + NEW,
    )
    yield from family_and_admin(visit, COORDINATED, Rule.STAFF_AT_A_UNIT_ONLY)

    withhold = Action.WITHHOLD_INFORMATION
    law = "OSL 12 kap. 3 §: the unit that holds the information weighs the child's protection against the guardians"
    school_facts = Target(fact_unit_ids=(SCHOOL, SCHOOL))
    yield from cells(
        withhold, law, COORDINATED, school_facts, "the school's facts",
        barnkontakt=ok(Rule.OWN_FACTS), head=ok(Rule.OWN_FACTS), colleague=ok(Rule.OWN_FACTS),
        discoverer=no(Rule.NOT_OWN_FACTS), preschool_bk=no(Rule.NOT_OWN_FACTS), coordinator=no(Rule.NOT_OWN_FACTS),
        police=no(Rule.NOT_OWN_FACTS), bup=no(Rule.NOT_OWN_FACTS), social=no(Rule.NOT_OWN_FACTS),
        other_bk=hidden(Rule.NOT_OWN_FACTS), unconnected=hidden(Rule.NOT_OWN_FACTS),
    )
    yield from cells(
        withhold, law, COORDINATED, Target(fact_unit_ids=(PRESCHOOL,)), "the preschool's card",
        discoverer=ok(Rule.OWN_FACTS), preschool_bk=ok(Rule.OWN_FACTS),
    )
    yield from cells(
        withhold, law, COORDINATED, Target(fact_unit_ids=(SCHOOL, POLICE)), "the school's and the police's",
        barnkontakt=no(Rule.NOT_OWN_FACTS),
    )
    yield from cells(withhold, law, COORDINATED, Target(), "no facts named", barnkontakt=no(Rule.NOT_OWN_FACTS))
    received = "OSL 26 kap. 1 och 5 §§: social services weigh the secrecy of a concern report filed to them, and of who filed it"
    report = Target(fact_unit_ids=(PRESCHOOL,), received_unit_ids=(SOCIAL,))
    yield from cells(
        withhold, received, COORDINATED, report, "a report filed to social services",
        social=ok(Rule.RECEIVED_CONCERN_REPORT), discoverer=ok(Rule.OWN_FACTS), preschool_bk=ok(Rule.OWN_FACTS),
        barnkontakt=no(Rule.NOT_OWN_FACTS), police=no(Rule.NOT_OWN_FACTS), bup=no(Rule.NOT_OWN_FACTS),
        unconnected=hidden(Rule.NOT_OWN_FACTS), admin=no(Rule.STAFF_AT_A_UNIT_ONLY),
    )
    yield from cells(
        withhold, received, COORDINATED, Target(fact_unit_ids=(PRESCHOOL, SCHOOL), received_unit_ids=(SOCIAL, None)),
        "a report and the school's fact", social=no(Rule.NOT_OWN_FACTS),
    )
    yield from cells(
        withhold, received, COORDINATED, Target(fact_unit_ids=(PRESCHOOL,), received_unit_ids=(POLICE,)),
        "a report named as filed to the police", police=no(Rule.NOT_OWN_FACTS),
    )
    yield from family_and_admin(withhold, COORDINATED, Rule.STAFF_AT_A_UNIT_ONLY, school_facts)


def family_admin_and_audit() -> Iterator[object]:
    answer = Action.ANSWER_CONSENT
    law = "FB 6 kap. 11 §, GDPR art. 7: every guardian with custody answers, and the child from the consent age (15)"
    yield from cells(
        answer, law, COORDINATED,
        guardian=ok(Rule.CONSENT_PARTY), child_16=ok(Rule.CONSENT_PARTY),
        non_custodial=hidden(Rule.NOT_A_PARTY), stranger=hidden(Rule.NOT_A_PARTY), child_13=hidden(Rule.NOT_A_PARTY),
    )
    yield from cells(answer, law, NEW, guardian=ok(Rule.CONSENT_PARTY), stranger=hidden(Rule.NOT_A_PARTY))
    secrecy = (
        "OSL 12 kap. 3 §: a consent request the unit withheld from the guardians is not theirs to answer; "
        "refused as a consent the child does not have, everyone else refused for who they are"
    )
    family_staff = {k: no(Rule.FAMILY_ONLY) for k in ("barnkontakt", "coordinator", "bup", "admin")}
    yield from cells(
        answer, secrecy, REQUEST_WITHHELD, Target(consent_id=KEPT_BACK), "the withheld one",
        guardian=no(Rule.CONSENT_REQUEST_WITHHELD), child_16=no(Rule.CONSENT_REQUEST_WITHHELD),
        non_custodial=hidden(Rule.NOT_A_PARTY), stranger=hidden(Rule.NOT_A_PARTY), child_13=hidden(Rule.NOT_A_PARTY),
        unconnected=hidden(Rule.FAMILY_ONLY), **family_staff,
    )
    yield from cells(
        answer, "GDPR art. 7(3): withdrawing is every party's right, whatever is withheld", REQUEST_WITHHELD,
        Target(consent_id=KEPT_BACK, withdrawal=True), "the withheld one, withdrawn",
        guardian=ok(Rule.CONSENT_PARTY), child_16=ok(Rule.CONSENT_PARTY),
        non_custodial=hidden(Rule.NOT_A_PARTY), stranger=hidden(Rule.NOT_A_PARTY), child_13=hidden(Rule.NOT_A_PARTY),
        unconnected=hidden(Rule.FAMILY_ONLY), **family_staff,
    )
    yield from cells(
        answer, secrecy, REQUEST_WITHHELD, Target(consent_id=ASKED), "another, not withheld",
        guardian=ok(Rule.CONSENT_PARTY), child_16=ok(Rule.CONSENT_PARTY), non_custodial=hidden(Rule.NOT_A_PARTY),
    )
    yield from cells(
        answer, secrecy, REQUEST_WITHHELD, Target(consent_id=UUID(int=3)), "an id the child has no consent under",
        guardian=ok(Rule.CONSENT_PARTY), child_16=ok(Rule.CONSENT_PARTY),
    )
    staff_side = "OSL 12 kap. 3 §: the secrecy is towards the guardians; the unit that asked goes on with the case"
    yield from cells(
        Action.REQUEST_CONSENT, staff_side, REQUEST_WITHHELD,
        barnkontakt=ok(Rule.BARNKONTAKT), coordinator=ok(Rule.SUPPORT_COORDINATOR), guardian=no(Rule.STAFF_AT_A_UNIT_ONLY),
    )
    yield from cells(
        answer, "GDPR art. 7: consent is the data subject's and the guardians' own; staff never answer for them", COORDINATED,
        **{k: no(Rule.FAMILY_ONLY) for k in (
            "barnkontakt", "head", "colleague", "discoverer", "preschool_bk", "coordinator", "police", "bup", "social", "admin",
        )},
        other_bk=hidden(Rule.FAMILY_ONLY), unconnected=hidden(Rule.FAMILY_ONLY),
    )

    erase = Action.ERASE_RECORD
    law = "GDPR art. 17: the controller, the cooperation area's administrator, decides on erasure"
    staff_refused = {k: no(Rule.ADMINISTRATOR_ONLY) for k in (
        "barnkontakt", "head", "colleague", "discoverer", "preschool_bk", "coordinator", "police", "bup", "social",
    )}
    yield from cells(
        erase, law, COORDINATED, admin=ok(Rule.ADMINISTRATOR), **staff_refused,
        other_bk=hidden(Rule.ADMINISTRATOR_ONLY), unconnected=hidden(Rule.ADMINISTRATOR_ONLY),
        guardian=no(Rule.ADMINISTRATOR_ONLY), non_custodial=hidden(Rule.ADMINISTRATOR_ONLY), stranger=hidden(Rule.ADMINISTRATOR_ONLY),
        child_13=hidden(Rule.ADMINISTRATOR_ONLY), child_16=no(Rule.ADMINISTRATOR_ONLY),
    )
    yield from cells(erase, law, NEW, admin=ok(Rule.ADMINISTRATOR))

    remind = Action.SEND_CONSENT_REMINDERS
    law = "GDPR art. 7 and 24: the cooperation area runs the reminders about consent, as its administrator; staff and families do not"
    yield from cells(
        remind, law, COORDINATED, admin=ok(Rule.ADMINISTRATOR), **staff_refused,
        other_bk=hidden(Rule.ADMINISTRATOR_ONLY), unconnected=hidden(Rule.ADMINISTRATOR_ONLY),
        guardian=no(Rule.ADMINISTRATOR_ONLY), non_custodial=hidden(Rule.ADMINISTRATOR_ONLY), stranger=hidden(Rule.ADMINISTRATOR_ONLY),
        child_13=hidden(Rule.ADMINISTRATOR_ONLY), child_16=no(Rule.ADMINISTRATOR_ONLY),
    )
    yield from cells(remind, law, NEW, admin=ok(Rule.ADMINISTRATOR))

    review = Action.RECORD_REVIEW
    law = "PDL 4 kap. 3 §: the auditors review who read the record (loggkontroll), and only they"
    yield from cells(
        review, law, COORDINATED, auditor=ok(Rule.AUDITOR), admin=no(Rule.AUDITOR_ONLY),
        **{k: no(Rule.AUDITOR_ONLY) for k in (
            "barnkontakt", "head", "colleague", "discoverer", "preschool_bk", "coordinator", "police", "bup", "social",
        )},
        other_bk=hidden(Rule.AUDITOR_ONLY), unconnected=hidden(Rule.AUDITOR_ONLY),
        guardian=no(Rule.AUDITOR_ONLY), non_custodial=hidden(Rule.AUDITOR_ONLY), stranger=hidden(Rule.AUDITOR_ONLY),
        child_13=hidden(Rule.AUDITOR_ONLY), child_16=no(Rule.AUDITOR_ONLY),
    )
    yield from cells(review, law, NEW, auditor=ok(Rule.AUDITOR))

    check = Action.CHECK_GUARDIANS
    law = "FB 6 kap. 11 §: custody is what folkbokföringen records; the unit that registered the child, the case's unit or the administrator asks again"
    yield from cells(
        check, law, COORDINATED,
        admin=ok(Rule.ADMINISTRATOR), discoverer=ok(Rule.REGISTERING_OR_CASE_UNIT), preschool_bk=ok(Rule.REGISTERING_OR_CASE_UNIT),
        barnkontakt=ok(Rule.REGISTERING_OR_CASE_UNIT), head=ok(Rule.REGISTERING_OR_CASE_UNIT), colleague=ok(Rule.REGISTERING_OR_CASE_UNIT),
        **{k: no(Rule.NOT_REGISTERING_OR_CASE_UNIT) for k in ("coordinator", "police", "bup", "social")},
        other_bk=hidden(Rule.NOT_REGISTERING_OR_CASE_UNIT), unconnected=hidden(Rule.NOT_REGISTERING_OR_CASE_UNIT),
        guardian=no(Rule.STAFF_AT_A_UNIT_ONLY), non_custodial=hidden(Rule.STAFF_AT_A_UNIT_ONLY), stranger=hidden(Rule.STAFF_AT_A_UNIT_ONLY),
        child_13=hidden(Rule.STAFF_AT_A_UNIT_ONLY), child_16=no(Rule.STAFF_AT_A_UNIT_ONLY),
    )
    yield from cells(check, law, NEW, preschool_bk=ok(Rule.REGISTERING_OR_CASE_UNIT), barnkontakt=no(Rule.NOT_REGISTERING_OR_CASE_UNIT))

    read = Action.READ_RECORD
    law = "the consent policy decides what is seen, item by item (OSL 10 kap. 1 §); asking to read is open to all but auditors"
    yield from cells(
        read, law, COORDINATED,
        **{k: ok(Rule.AS_CONSENT_DECIDES) for k in (
            "barnkontakt", "head", "colleague", "discoverer", "preschool_bk", "other_bk", "coordinator", "police", "bup",
            "social", "unconnected", "admin", "guardian", "non_custodial", "stranger", "child_13", "child_16",
        )},
    )


INVITATION = "inv-1"
INVITED = "a conversation invitation to the child and one to the custodial guardian"
STATES[INVITED] = replace(
    _coordinated,
    facts=replace(_coordinated.facts, guardians=(*_coordinated.facts.guardians, GuardianFact(G_STRANGER, True, confirmed=False))),
    invited=frozenset({
        (INVITATION, PartyKind.CHILD, str(CHILD_ID)), ("inv-2", PartyKind.GUARDIAN, G_CUSTODY),
        ("inv-3", PartyKind.GUARDIAN, G_NO_CUSTODY), ("inv-4", PartyKind.GUARDIAN, G_STRANGER),
    }),
)
"""Invitations to the child, to the custodial guardian, to the guardian without custody, and to
one whose custody the register has not confirmed."""


def conversation_invitations() -> Iterator[object]:
    answer = Action.ANSWER_CONVERSATION_INVITATION
    law = "seed 002, the digital conversation: only the party the invitation names answers it, with the link or code"
    staff_refused = {k: no(Rule.FAMILY_ONLY) for k in (
        "barnkontakt", "head", "colleague", "discoverer", "preschool_bk", "coordinator", "police", "bup", "social", "admin",
    )}
    yield from cells(
        answer, law, INVITED, Target(invitation_id=INVITATION), "the child's",
        child_13=ok(Rule.INVITED_PARTY), child_16=ok(Rule.INVITED_PARTY),
        guardian=no(Rule.NOT_INVITED), non_custodial=hidden(Rule.NOT_INVITED), stranger=hidden(Rule.NOT_INVITED),
        other_bk=hidden(Rule.FAMILY_ONLY), unconnected=hidden(Rule.FAMILY_ONLY), **staff_refused,
    )
    yield from cells(
        answer, law, INVITED, Target(invitation_id="inv-2"), "the guardian's",
        guardian=ok(Rule.INVITED_PARTY), child_13=hidden(Rule.NOT_INVITED), child_16=no(Rule.NOT_INVITED),
    )
    yield from cells(
        answer, "FB 6 kap. 11 §: a guardian answers for the child only while the register confirms the custody",
        INVITED, Target(invitation_id="inv-3"), "a guardian without custody", non_custodial=hidden(Rule.NOT_INVITED),
    )
    yield from cells(
        answer, "FB 6 kap. 11 §: a guardian answers for the child only while the register confirms the custody",
        INVITED, Target(invitation_id="inv-4"), "custody not confirmed", stranger=hidden(Rule.NOT_INVITED),
    )
    yield from cells(
        answer, law, INVITED, Target(invitation_id="inv-9"), "an invitation the child does not have",
        guardian=no(Rule.NOT_INVITED), child_16=no(Rule.NOT_INVITED),
    )


def across_cases() -> Iterator[object]:
    staff_keys = ("discoverer", "barnkontakt", "head", "colleague", "preschool_bk", "other_bk", "coordinator", "police", "bup", "social", "unconnected")
    family_keys = ("guardian", "non_custodial", "stranger", "child_13", "child_16")

    law = "Backa barnet: every unit that meets a child registers it, in its own cooperation area"
    yield from cells(
        Action.REGISTER_CHILD, law, None,
        **{k: ok(Rule.ANY_STAFF_AT_A_UNIT) for k in (*staff_keys, "admin", "foreign")},
        **{k: no(Rule.STAFF_AT_A_UNIT_ONLY) for k in (*family_keys, "auditor")},
    )
    law = "arkivlagen, SoL, PDL: the area's staff and administrator read how long shared information is shown (gallring)"
    yield from cells(
        Action.READ_RETENTION, law, None,
        **{k: ok(Rule.ANY_STAFF_AT_A_UNIT) for k in (*staff_keys, "admin", "foreign")},
        **{k: no(Rule.STAFF_AT_A_UNIT_ONLY) for k in (*family_keys, "auditor")},
    )
    law = "GDPR art. 7 and 24: the cooperation area's administrator lists the children with consent reminders due, and sends them"
    yield from cells(
        Action.SWEEP_CONSENT_REMINDERS, law, None, admin=ok(Rule.ADMINISTRATOR),
        **{k: no(Rule.ADMINISTRATOR_ONLY) for k in (*staff_keys, *family_keys, "auditor", "foreign")},
    )
    law = "PDL 4 kap. 3 §: the access log is searched by the auditors (loggkontroll)"
    yield from cells(
        Action.SEARCH_ACCESS_LOG, law, None, auditor=ok(Rule.AUDITOR),
        **{k: no(Rule.AUDITOR_ONLY) for k in (*staff_keys, *family_keys, "admin", "foreign")},
    )
    law = "Backa barnet: the case list is the Barnkontakt's and the support coordinator's"
    yield from cells(
        Action.READ_CASE_LIST, law, None,
        **{k: ok(Rule.CASE_ROLE) for k in ("barnkontakt", "head", "preschool_bk", "other_bk", "coordinator", "foreign")},
        **{k: no(Rule.NO_CASE_ROLE) for k in (
            "discoverer", "colleague", "police", "bup", "social", "unconnected", "admin", "auditor", *family_keys,
        )},
    )
    law = "Backa barnet: a discoverer follows up the cards they sent"
    yield from cells(
        Action.READ_OWN_CARDS, law, None,
        **{k: ok(Rule.ANY_STAFF_AT_A_UNIT) for k in (*staff_keys, "foreign")},
        **{k: no(Rule.STAFF_AT_A_UNIT_ONLY) for k in (*family_keys, "admin", "auditor")},
    )
    law = "FB 6 kap. 11 §, GDPR art. 15: a guardian and the child see which children the hub holds for them"
    yield from cells(
        Action.LIST_FAMILY_CHILDREN, law, None,
        **{k: ok(Rule.FAMILY) for k in family_keys},
        **{k: no(Rule.FAMILY_ONLY) for k in (*staff_keys, "admin", "auditor", "foreign")},
    )
    law = "GDPR art. 15: the family asks who has seen the child's information; staff and auditors have their own views"
    yield from cells(
        Action.READ_FAMILY_ACCESS_LOG, law, None,
        **{k: ok(Rule.FAMILY) for k in family_keys},
        **{k: no(Rule.FAMILY_ONLY) for k in (*staff_keys, "admin", "auditor", "foreign")},
    )
    law = "Backa barnet's evaluation: the area's own staff and administrator follow its figures per term"
    area = Target(tenant_id=TENANT)
    yield from cells(
        Action.READ_FIGURES, law, None, area, "this area",
        **{k: ok(Rule.ANY_STAFF_AT_A_UNIT) for k in (*staff_keys, "admin")},
        **{k: no(Rule.STAFF_AT_A_UNIT_ONLY) for k in (*family_keys, "auditor")},
        foreign=no(Rule.OTHER_TENANT),
    )
    yield from cells(Action.READ_FIGURES, law, None, Target(tenant_id=OTHER_TENANT), "another area", admin=no(Rule.OTHER_TENANT))
    law = (
        "Disclosure control (SCB, Eurostat): small counts are published by no one; the area's "
        "administrator alone sees them, and each view is recorded"
    )
    yield from cells(
        Action.READ_UNSUPPRESSED_FIGURES, law, None, area, "this area",
        admin=ok(Rule.ADMINISTRATOR),
        **{k: no(Rule.ADMINISTRATOR_ONLY) for k in (*staff_keys, *family_keys, "auditor")},
        foreign=no(Rule.OTHER_TENANT),
    )
    yield from cells(
        Action.READ_UNSUPPRESSED_FIGURES, law, None, Target(tenant_id=OTHER_TENANT), "another area",
        admin=no(Rule.OTHER_TENANT),
    )
    law = "Backa barnet: an imported card is a fact in its filer's name, so only the filer or the area's administrator brings it in"
    filed_by_colleague = Target(staff=ref(COLLEAGUE), tenant_id=TENANT)
    yield from cells(
        Action.IMPORT_CARDS, law, None, filed_by_colleague, "a card the school's teacher filed",
        admin=ok(Rule.ADMINISTRATOR), colleague=ok(Rule.OWN_CARDS),
        **{k: no(Rule.NOT_AN_IMPORTER) for k in (*staff_keys, *family_keys, "auditor") if k != "colleague"},
        foreign=no(Rule.OTHER_TENANT),
    )
    yield from cells(
        Action.IMPORT_CARDS, law, None, Target(staff=ref(ADMIN), tenant_id=TENANT), "a card in the name of staff at no unit",
        admin=no(Rule.STAFF_AT_A_UNIT_ONLY),
    )
    yield from cells(
        Action.IMPORT_CARDS, law, None, Target(tenant_id=TENANT), "a file, before its rows name their filers",
        admin=ok(Rule.ADMINISTRATOR), **{k: ok(Rule.OWN_CARDS) for k in staff_keys},
        **{k: no(Rule.NOT_AN_IMPORTER) for k in (*family_keys, "auditor")}, foreign=no(Rule.OTHER_TENANT),
    )
    yield from cells(
        Action.IMPORT_CARDS, law, None, Target(staff=ref(COLLEAGUE), tenant_id=OTHER_TENANT), "a card of another area",
        admin=no(Rule.OTHER_TENANT),
    )
    law = "PDL 4 kap. 2 §: the care provider decides each user's access; in the area, its administrator keeps the directory"
    yield from cells(
        Action.MANAGE_DIRECTORY, law, None, area, "this area", admin=ok(Rule.ADMINISTRATOR),
        **{k: no(Rule.ADMINISTRATOR_ONLY) for k in (*staff_keys, *family_keys, "auditor")},
        foreign=no(Rule.OTHER_TENANT),
    )
    yield from cells(Action.MANAGE_DIRECTORY, law, None, Target(tenant_id=OTHER_TENANT), "another area", admin=no(Rule.OTHER_TENANT))
    law = "GDPR art. 32: the area's administrator follows up the webhooks its agencies could not hand over, in their own area"
    yield from cells(
        Action.READ_DELIVERY_FAILURES, law, None, area, "this area", admin=ok(Rule.ADMINISTRATOR),
        **{k: no(Rule.ADMINISTRATOR_ONLY) for k in (*staff_keys, *family_keys, "auditor")},
        foreign=no(Rule.OTHER_TENANT),
    )
    yield from cells(Action.READ_DELIVERY_FAILURES, law, None, Target(tenant_id=OTHER_TENANT), "another area", admin=no(Rule.OTHER_TENANT))
    law = "PDL 4 kap. 3 §: who was given which access is traced by the auditors as well as the administrator"
    yield from cells(
        Action.READ_DIRECTORY_HISTORY, law, None, area, "this area", admin=ok(Rule.ADMINISTRATOR), auditor=ok(Rule.AUDITOR),
        **{k: no(Rule.AUDITOR_ONLY) for k in (*staff_keys, *family_keys)},
        foreign=no(Rule.OTHER_TENANT),
    )
    law = "Backa barnet: staff name their colleagues and units; auditors trace people by name; families see no directory"
    yield from cells(
        Action.READ_DIRECTORY, law, None, area, "this area",
        **{k: ok(Rule.ANY_STAFF_AT_A_UNIT) for k in (*staff_keys, "admin")}, auditor=ok(Rule.AUDITOR),
        **{k: no(Rule.STAFF_AT_A_UNIT_ONLY) for k in family_keys}, foreign=no(Rule.OTHER_TENANT),
    )
    law = "Backa barnet: the Barnkontakt may delegate, to a colleague at the same unit, a role they hold"
    to_head = Target(tenant_id=TENANT, staff=ref(BARNKONTAKT), other_staff=ref(HEAD), role=Role.BARNKONTAKT)
    yield from cells(
        Action.DELEGATE_ROLE, law, None, to_head, "the Barnkontakt's role to the head",
        barnkontakt=ok(Rule.OWN_ROLE_TO_COLLEAGUE), admin=ok(Rule.ADMINISTRATOR),
        **{k: no(Rule.NOT_OWN_ROLE) for k in (*staff_keys, *family_keys, "auditor") if k != "barnkontakt"},
        foreign=no(Rule.OTHER_TENANT),
    )
    yield from cells(
        Action.DELEGATE_ROLE, law, None, replace(to_head, role=Role.SUPPORT_COORDINATOR), "a role the giver lacks",
        barnkontakt=no(Rule.NOT_DELEGABLE), admin=no(Rule.NOT_DELEGABLE),
    )
    yield from cells(
        Action.DELEGATE_ROLE, law, None, replace(to_head, other_staff=ref(OTHER_BK)), "to another unit's staff",
        barnkontakt=no(Rule.NOT_DELEGABLE), admin=no(Rule.NOT_DELEGABLE),
    )
    admin_at_school = StaffRef("admin-skola", SCHOOL, frozenset({Role.TENANT_ADMIN, Role.BARNKONTAKT}))
    yield from cells(
        Action.DELEGATE_ROLE, law, None, replace(to_head, staff=admin_at_school, role=Role.TENANT_ADMIN),
        "the administrator's role", admin=no(Rule.NOT_DELEGABLE),
    )
    auditor_at_school = StaffRef("granskare-skola", SCHOOL, frozenset({Role.AUDITOR, Role.BARNKONTAKT}))
    yield from cells(
        Action.DELEGATE_ROLE, "PDL 4 kap. 3 §: the auditor is appointed by name; the checks are no one's to hand on", None,
        replace(to_head, staff=auditor_at_school, role=Role.AUDITOR), "the auditor's role", admin=no(Rule.NOT_DELEGABLE),
    )
    yield from cells(
        Action.DELEGATE_ROLE, law, None, replace(to_head, staff=ref(HEAD), other_staff=ref(COLLEAGUE)), "a colleague's role",
        barnkontakt=no(Rule.NOT_OWN_ROLE),
    )


DEPUTY = staff("ersattare", SOCIAL, Role.SUPPORT_COORDINATOR, Role.TEAM_MEMBER)
"""The coordinator's ersättare, at social services: not one of the table's actors, so named here."""
NOT_THE_DEPUTY = staff("annan-samordnare", SOCIAL, Role.SUPPORT_COORDINATOR, Role.TEAM_MEMBER)
DEPUTISED = "coordinator appointed with a deputy"
STATES[DEPUTISED] = replace(_coordinated, deputy=Holder("ersattare", SOCIAL))
NEW_COORDINATOR = Target(staff=StaffRef("ny-samordnare", SOCIAL, frozenset({Role.SUPPORT_COORDINATOR})))


def row(rule: str, actor: Viewer, name: str, action: Action, state: str, target: Target, want: Permission) -> object:
    return pytest.param(Row(rule, actor, action, STATES[state], target, want, name), id=f"{action.value} | {name} | {state}")


def coordinator_hand_over_and_deputy() -> Iterator[object]:
    hand_over = Action.HAND_OVER_SUPPORT_COORDINATOR
    law = "Backa barnet: one named coordinator; the coordinator, the deputy, the Barnkontakt or the administrator hands the role on"
    yield from cells(
        hand_over, law, COORDINATED, NEW_COORDINATOR, "to social services",
        coordinator=ok(Rule.SUPPORT_COORDINATOR), barnkontakt=ok(Rule.BARNKONTAKT), head=ok(Rule.BARNKONTAKT),
        admin=ok(Rule.ADMINISTRATOR), colleague=no(Rule.NOT_CASE_HOLDER), discoverer=no(Rule.NOT_CASE_HOLDER),
        preschool_bk=no(Rule.NOT_CASE_HOLDER), police=no(Rule.NOT_CASE_HOLDER), bup=no(Rule.NOT_CASE_HOLDER),
        social=no(Rule.NOT_CASE_HOLDER), other_bk=hidden(Rule.NOT_CASE_HOLDER), unconnected=hidden(Rule.NOT_CASE_HOLDER),
        guardian=no(Rule.STAFF_AT_A_UNIT_ONLY), non_custodial=hidden(Rule.STAFF_AT_A_UNIT_ONLY),
        stranger=hidden(Rule.STAFF_AT_A_UNIT_ONLY), child_13=hidden(Rule.STAFF_AT_A_UNIT_ONLY), child_16=no(Rule.STAFF_AT_A_UNIT_ONLY),
    )
    yield from cells(
        hand_over, "the process: there is no coordinator's role to hand over before one is appointed", TEAM_DECIDED,
        NEW_COORDINATOR, "to social services", barnkontakt=no(Rule.NO_COORDINATOR_YET), admin=no(Rule.NO_COORDINATOR_YET),
    )
    yield from cells(
        hand_over, "Backa barnet: the role goes to a support coordinator", COORDINATED, Target(staff=ref(TEAM_POLICE)),
        "to the police", coordinator=no(Rule.TARGET_LACKS_ROLE),
    )
    police_deputy = Target(staff=ref(COORDINATOR), deputy=ref(TEAM_POLICE))
    law = "Backa barnet: the deputy stands in for the coordinator, so is a support coordinator too"
    yield from cells(
        Action.APPOINT_SUPPORT_COORDINATOR, law, TEAM_DECIDED, police_deputy, "police as deputy",
        barnkontakt=no(Rule.DEPUTY_LACKS_ROLE),
    )
    yield from cells(hand_over, law, COORDINATED, replace(NEW_COORDINATOR, deputy=ref(TEAM_POLICE)), "police as deputy", coordinator=no(Rule.DEPUTY_LACKS_ROLE))
    law = "Backa barnet: the deputy acts as the coordinator while named, and only then"
    for action in (*HOLDER_OR_COORDINATOR, Action.COMPLETE_PLAN_ACTION, hand_over):
        target = NEW_COORDINATOR if action is hand_over else NO_TARGET
        yield row(law, DEPUTY, "the named deputy", action, DEPUTISED, target, ok(Rule.DEPUTY_COORDINATOR))
        yield row(law, DEPUTY, "a deputy no longer named", action, COORDINATED, target, no(Rule.NOT_CASE_HOLDER))
        yield row(law, NOT_THE_DEPUTY, "a coordinator beside the deputy", action, DEPUTISED, target, no(Rule.NOT_CASE_HOLDER))


ROWS = [
    *every_case_action(),
    *coordinator_hand_over_and_deputy(),
    *open_to_every_unit(),
    *barnkontakt_role(),
    *holder_steps(),
    *closure(),
    *team_steps(),
    *secrecy_and_visits(),
    *family_admin_and_audit(),
    *conversation_invitations(),
    *across_cases(),
]


def _row(param: object) -> Row:
    row = param.values[0]  # type: ignore[attr-defined]
    assert isinstance(row, Row)
    return row


@pytest.mark.parametrize("row", ROWS)
def test_may(row: Row) -> None:
    got = may(row.actor, row.action, row.case, NOW, RULES, row.target)

    assert got == row.expected, f"{row.rule}: expected {row.expected}, got {got}"


# -- the table covers what the policy knows -----------------------------------------------------------


def test_every_row_has_a_name_of_its_own_and_names_its_rule() -> None:
    ids = [p.id for p in ROWS]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(_row(p).rule.strip() for p in ROWS)


@pytest.mark.parametrize("action", list(Action), ids=[a.value for a in Action])
def test_every_action_has_rows_for_every_actor(action: Action) -> None:
    """A new act, or a new kind of actor, fails here until the table says what it may do."""
    named = {_row(p).actor_name for p in ROWS if _row(p).action is action}
    assert set(ACTORS) - named == set()


@pytest.mark.parametrize("rule", [pytest.param(r, id=r.value) for r in Rule])
def test_every_rule_is_answered_in_some_row(rule: Rule) -> None:
    assert any(_row(p).expected.rule is rule for p in ROWS)


# -- properties over any actor and any case -----------------------------------------------------------

UNITS = sorted(KINDS)
unit_ids = st.sampled_from(UNITS)
unit_sets = st.frozensets(unit_ids, max_size=2)
holders = st.none() | st.builds(Holder, st.sampled_from(["rektor", "kurator", "polis", "x"]), unit_ids)
guardian_ids = st.sampled_from([G_CUSTODY, G_NO_CUSTODY, G_STRANGER])


@st.composite
def consents(draw: st.DrawFn) -> ConsentState:
    return ConsentState(
        consent_id=UUID(int=draw(st.integers(1, 5))),
        requested_by_unit_id=draw(st.none() | unit_ids),
        recipient_unit_ids=draw(unit_sets),
        recipient_unit_kinds=draw(st.frozensets(st.sampled_from(list(UnitKind)), max_size=2)),
        categories=frozenset({Category.NEEDS}),
        purpose="Stöd",
        valid_from=NOW,
        valid_until=NOW,
    )


@st.composite
def cases(draw: st.DrawFn, erased: bool | None = None) -> CaseState:
    """Any case, as the log could have it: a card's unit was sent the card, and the unit that
    registered the child recorded a fact of it."""
    card_units = draw(unit_sets)
    registered_by = draw(st.none() | unit_ids)
    facts = ChildFacts(
        tenant_id=draw(st.sampled_from([TENANT, TENANT, OTHER_TENANT])),
        child_id=CHILD_ID,
        birth_date=draw(st.dates(date(2008, 6, 1), date(2026, 3, 1))),
        guardians=tuple(
            GuardianFact(g, draw(st.booleans()), draw(st.booleans())) for g in draw(st.lists(guardian_ids, max_size=2, unique=True))
        ),
        consents=tuple(draw(st.lists(consents(), max_size=2))),
        units_sent_to=card_units | draw(unit_sets),
        concern_report_units=draw(st.frozensets(st.just(SOCIAL), max_size=1)),
        erased=draw(st.booleans()) if erased is None else erased,
    )
    return CaseState(
        facts=facts,
        barnkontakt=draw(holders),
        coordinator=draw(holders),
        card_unit_ids=card_units,
        team_unit_ids=draw(unit_sets),
        origin_unit_ids=draw(unit_sets) | ({registered_by} if registered_by else set()),
        registered_by_unit_id=registered_by,
        withheld_consent_ids=draw(st.frozensets(st.integers(1, 5).map(lambda n: UUID(int=n)), max_size=2)),
    )


@st.composite
def actors(draw: st.DrawFn, tenant: str | None = None) -> Viewer:
    kind = draw(st.sampled_from([ViewerKind.STAFF, ViewerKind.STAFF, ViewerKind.STAFF, *ViewerKind]))
    unit = draw(st.none() | unit_ids) if kind is ViewerKind.STAFF else None
    party = None
    if kind is ViewerKind.GUARDIAN:
        party = draw(guardian_ids)
    elif kind is ViewerKind.CHILD:
        party = draw(st.sampled_from([str(CHILD_ID), str(UUID(int=7))]))
    return Viewer(
        kind=kind,
        tenant_id=tenant or draw(st.sampled_from([TENANT, OTHER_TENANT])),
        user_id=draw(st.sampled_from(["rektor", "kurator", "polis", "x", G_CUSTODY, str(CHILD_ID)])),
        roles=draw(st.frozensets(st.sampled_from(list(Role)), max_size=3)),
        unit_id=unit,
        unit_kind=KINDS.get(unit) if unit else None,
        party_id=party,
    )


@st.composite
def targets(draw: st.DrawFn, actor: Viewer | None = None) -> Target:
    """What an act names; often the actor's own unit or the actor, where the rules look for that."""
    own = [actor.unit_id] if actor is not None and actor.unit_id else []
    near = st.sampled_from(own + UNITS)
    self_ref = [StaffRef(actor.user_id, actor.unit_id, actor.roles)] if actor is not None else []
    staff_ref = draw(
        st.none()
        | st.sampled_from(self_ref or [None])
        | st.builds(StaffRef, st.sampled_from(["rektor", "kurator", "x"]), st.none() | near, st.frozensets(st.sampled_from(list(Role)), max_size=3))
    )
    return Target(
        staff=staff_ref,
        action_unit_id=draw(st.none() | near),
        fact_unit_ids=tuple(draw(st.lists(near, max_size=3))),
        agency_fields=draw(st.frozensets(st.sampled_from(["health", "police", "social_services"]), max_size=2)),
        party=draw(st.none() | st.tuples(st.sampled_from(list(PartyKind)), guardian_ids)),
        consent_id=draw(st.none() | st.integers(1, 5).map(lambda n: UUID(int=n))),
        tenant_id=draw(st.sampled_from([TENANT, OTHER_TENANT])),
    )


moments = st.datetimes(datetime(2024, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC))  # noqa: DTZ001 - bounds are naive, the zone is drawn
case_actions = st.sampled_from(CASE_ACTIONS)


@settings(max_examples=200, deadline=None)
@given(case=cases(), action=case_actions, target=targets(), at=moments, data=st.data())
def test_another_area_is_never_allowed_anything_and_never_told_the_child_exists(
    case: CaseState, action: Action, target: Target, at: datetime, data: st.DataObject
) -> None:
    other = OTHER_TENANT if case.facts.tenant_id == TENANT else TENANT
    actor = data.draw(actors(tenant=other))

    got = may(actor, action, case, at, RULES, target)

    assert got == Permission(False, Rule.OTHER_TENANT, conceal=True)


@settings(max_examples=200, deadline=None)
@given(case=cases(erased=True), action=case_actions, target=targets(), at=moments, data=st.data())
def test_an_erased_record_allows_nothing(
    case: CaseState, action: Action, target: Target, at: datetime, data: st.DataObject
) -> None:
    actor = data.draw(actors(tenant=case.facts.tenant_id))

    got = may(actor, action, case, at, RULES, target)

    assert not got.allowed
    assert got.rule is Rule.RECORD_ERASED


@settings(max_examples=500, deadline=None)
@given(case=cases(erased=False), action=case_actions, at=moments, data=st.data())
def test_a_refusal_hides_the_child_exactly_from_those_who_may_not_know_of_it(
    case: CaseState, action: Action, at: datetime, data: st.DataObject
) -> None:
    actor = data.draw(actors(tenant=case.facts.tenant_id))
    target = data.draw(targets(actor))
    got = may(actor, action, case, at, RULES, target)
    knows = knows_child(actor, case, at, RULES)

    if got.conceal:
        assert not got.allowed and not knows
    if not got.allowed and not knows and actor.kind is not ViewerKind.AUDITOR:
        assert got.conceal  # auditors know every child in the access log


@settings(max_examples=600, deadline=None)
@given(case=cases(erased=False), action=case_actions, at=moments, data=st.data())
def test_what_is_allowed_is_allowed_to_someone_who_may_know_the_child(
    case: CaseState, action: Action, at: datetime, data: st.DataObject
) -> None:
    """No act is allowed to someone who may not know of the child, except those that need no
    knowing: a card and a concern report about any child, asking to read (the consent policy
    then shows nothing), a home visit, a plan action named for the unit, the auditor's review,
    and the holder of a role acting by name from another unit."""
    actor = data.draw(actors(tenant=case.facts.tenant_id))
    target = data.draw(targets(actor))
    facts_named = replace(target, fact_unit_ids=tuple(u for u in target.fact_unit_ids if u in case.origin_unit_ids))
    got = may(actor, action, case, at, RULES, facts_named)

    if got.allowed and not knows_child(actor, case, at, RULES):
        holders = {h.staff_id for h in (case.barnkontakt, case.coordinator) if h is not None}
        assert got.rule in {Rule.ANY_STAFF_AT_A_UNIT, Rule.AS_CONSENT_DECIDES, Rule.HOME_VISIT_UNIT, Rule.ACTION_OWN_UNIT, Rule.AUDITOR} or (
            got.rule in {Rule.HOLDER_OR_HEAD, Rule.SUPPORT_COORDINATOR} and actor.user_id in holders
        ), got


@settings(max_examples=200, deadline=None)
@given(case=cases(), named=unit_ids)
def test_a_card_goes_to_the_barnkontakts_unit_whenever_there_is_one(case: CaseState, named: str) -> None:
    routed = route_card(case, named)

    if case.barnkontakt is not None:
        assert routed == case.barnkontakt.unit_id
    elif case.first_card_unit_id is not None:
        assert routed == case.first_card_unit_id
    else:
        assert routed == named
    assert route_card(None, named) == named
    opened = replace(case, barnkontakt=None, first_card_unit_id="skola-ostra")
    assert route_card(opened, named) == "skola-ostra"  # before anyone took it up: where the case opened
