"""Every command handler asks the one permission policy, about its own act, and honours its answer.

For each handler the application registers, a child is brought (by the real policy) to where
the command is one the policy allows. The same command is then sent to a hub whose policy is a
stand-in that records what it is asked and refuses: the handler must have asked about exactly
its registered act, be refused, and append nothing. Sent again to the real policy, the command
goes through, so the refusal was the stand-in's and nothing else's. A method that appends facts
without being a registered handler, and a page or controller that imports the policy or decides
on roles itself, fail here too.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from consent import Viewer, ViewerKind
from consent.permissions import Action, CaseState, Permission, Rule, Target, may
from hub.application import BackaHub
from hub.application.consent_signals import SignalDays
from hub.application.core import HANDLERS
from hub.errors import NotPermittedError
from hub.identity.principals import Principal
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import family
from tests.factories import (
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    START,
    card_payload,
    conversation_payload,
    directory,
    plan_payload,
    staff,
)

ROOT = Path(__file__).resolve().parents[2]

COMMAND_METHODS = {
    "register_child", "submit_discovery_card", "assign_barnkontakt", "delegate_barnkontakt", "send_feedback",
    "hold_conversation", "request_consent", "grant_consent", "decline_consent", "withdraw_consent", "decide_team",
    "submit_rating", "hold_team_meeting", "assign_support_coordinator", "hand_over_support_coordinator", "update_plan", "complete_plan_action",
    "hold_follow_up", "record_needs_met", "file_concern_report", "withhold_information", "record_home_visit",
    "share_agency_summary", "erase_child", "record_review", "check_guardians", "send_consent_reminders", "close_case",
    "invite_to_conversation", "withdraw_conversation_invitation", "answer_conversation_invitation",
}
"""Every method of the hub that appends a fact of a child's process (reads append only their own record)."""


# -- a recording stand-in for the policy ---------------------------------------------------------------


@dataclass
class Asked:
    """What the stand-in was asked, and what the real policy would have answered."""

    actions: list[Action] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    real: list[Permission] = field(default_factory=list)


@contextmanager
def refusing_policy(hub: BackaHub) -> Iterator[Asked]:
    """The hub, for the block, with a policy that records each question and refuses it."""
    asked = Asked()

    def recorder(
        actor: Viewer, action: Action, case: CaseState | None, at: Any, rules: Any, target: Target | None = None
    ) -> Permission:
        asked.actions.append(action)
        asked.actors.append(actor.user_id)
        asked.real.append(may(actor, action, case, at, rules, target or Target()))
        return Permission(False, Rule.NOT_CASE_HOLDER)

    class Refusing(type(hub)):  # type: ignore[misc]
        permissions = staticmethod(recorder)

    real = hub.__class__
    hub.__class__ = Refusing
    try:
        yield asked
    finally:
        hub.__class__ = real


# -- children brought to where each step fits ------------------------------------------------------------

_serials = iter(range(100, 1000))


def personnummer() -> str:
    """A fresh valid identity number of a ten-year-old (Luhn check digit)."""
    digits = f"160304{next(_serials):03d}"
    total = sum((v - 9 if v > 9 else v) for v in (int(d) * (2 if n % 2 == 0 else 1) for n, d in enumerate(digits)))
    return f"20{digits}{(10 - total % 10) % 10}"


SCHOOL = staff("rektor.ostra")  # the Barnkontakt, at the school the card went to
POLICE = staff("polis.ystad")
KURATOR = staff("kurator.ostra")  # pupil health, support coordinator
NEEDS = [{"area": "trygghet", "statements": [], "note": "Oro"}]


@dataclass
class Case:
    rt: Runtime
    child_id: UUID
    card_id: str = ""
    consent_id: UUID | None = None

    @property
    def hub(self) -> BackaHub:
        return self.rt.hub


def carded(rt: Runtime) -> Case:
    """Registered by a teacher, with a card from the police to the school."""
    hub = rt.hub
    child_id = hub.register_child(
        staff("larare.ostra"),
        personnummer=personnummer(),
        given_name="Alva",
        family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )
    card_id = hub.submit_discovery_card(POLICE, child_id, **card_payload("skola-ostra")).card_id
    return Case(rt, child_id, card_id)


def held(rt: Runtime) -> Case:
    case = carded(rt)
    case.hub.assign_barnkontakt(SCHOOL, case.child_id, staff_id="rektor.ostra")
    return case


def talked(rt: Runtime) -> Case:
    case = held(rt)
    case.hub.hold_conversation(SCHOOL, case.child_id, **conversation_payload())
    return case


def teamed(rt: Runtime) -> Case:
    case = talked(rt)
    case.hub.decide_team(
        SCHOOL, case.child_id, decision="individual_team", family_informed=True,
        member_unit_ids=["skola-ostra", "elevhalsa-ostra", "polis-ystad"],
    )
    return case


def coordinated(rt: Runtime) -> Case:
    case = teamed(rt)
    case.hub.assign_support_coordinator(SCHOOL, case.child_id, staff_id="kurator.ostra")
    return case


def rated(rt: Runtime) -> Case:
    case = coordinated(rt)
    case.hub.submit_rating(SCHOOL, case.child_id, scores=[{"area": "trygghet", "indicator": "trygghet-natverk", "score": 2}])
    return case


def planned(rt: Runtime) -> Case:
    case = coordinated(rt)
    case.hub.update_plan(KURATOR, case.child_id, **plan_payload(START.date()))
    return case


def asked_for_consent(rt: Runtime) -> Case:
    case = held(rt)
    case.consent_id = case.hub.request_consent(
        SCHOOL, case.child_id, recipients=[{"unit_id": "elevhalsa-ostra"}], categories=["needs"], purpose="Stöd i skolan"
    )
    return case


def school_fact(case: Case) -> UUID:
    steps = case.hub.timeline(SCHOOL, case.child_id, purpose="sekretessprövning").steps
    return next(s.event_id for s in steps if s.unit_id == "skola-ostra" and s.type == "ConversationHeld")


def a_read(case: Case) -> UUID:
    case.hub.read_child(SCHOOL, case.child_id, purpose="ärende")
    reads = case.hub.audit_search(staff("granskare.ystad"), child_id=case.child_id)
    return reads[0].event_id


Step = tuple[Principal, Callable[[], object]]


def guardian(case: Case) -> Principal:
    return family(case.rt, GUARDIAN_1_PNR)


def _answer(verb: str) -> Callable[[Runtime], Step]:
    def step(rt: Runtime) -> Step:
        case = asked_for_consent(rt)
        p = guardian(case)
        return p, lambda: getattr(case.hub, verb)(p, case.child_id, case.consent_id)

    return step


def _on(state: Callable[[Runtime], Case], who: Principal, call: Callable[[Case, Principal], object]) -> Callable[[Runtime], Step]:
    def step(rt: Runtime) -> Step:
        case = state(rt)
        return who, lambda: call(case, who)

    return step


def _review(rt: Runtime) -> Step:
    case = carded(rt)
    read = a_read(case)
    auditor = staff("granskare.ystad")
    return auditor, lambda: case.hub.record_review(auditor, case.child_id, access_event_ids=[read], outcome="justified")


def _withhold(rt: Runtime) -> Step:
    case = talked(rt)
    fact = school_fact(case)
    return SCHOOL, lambda: case.hub.withhold_information(SCHOOL, case.child_id, event_ids=[fact], reason="Skydd av barnet")


def _register(rt: Runtime) -> Step:
    number = personnummer()
    teacher = staff("larare.ostra")
    return teacher, lambda: rt.hub.register_child(teacher, personnummer=number, given_name="Ny", family_name="Elev")


def _invited(rt: Runtime) -> tuple[Case, str, str]:
    case = held(rt)
    made = case.hub.invite_to_conversation(SCHOOL, case.child_id, with_whom="child", age_group="10-12")
    return case, made.invitation_id, made.code


def _answer_invitation(rt: Runtime) -> Step:
    case, _, code = _invited(rt)
    child = Principal(ViewerKind.CHILD, SCHOOL.tenant_id, str(case.child_id), party_id=str(case.child_id))
    return child, lambda: case.hub.answer_conversation_invitation(code, views=[{"area": "fritid", "view": "Fotboll"}])


def _withdraw_invitation(rt: Runtime) -> Step:
    case, invitation_id, _ = _invited(rt)
    return SCHOOL, lambda: case.hub.withdraw_conversation_invitation(SCHOOL, case.child_id, invitation_id)


STEPS: dict[str, Callable[[Runtime], Step]] = {
    "register_child": _register,
    "submit_discovery_card": _on(carded, staff("forskola.solen"), lambda c, p: c.hub.submit_discovery_card(p, c.child_id, **card_payload("forskola-solen"))),
    "assign_barnkontakt": _on(carded, SCHOOL, lambda c, p: c.hub.assign_barnkontakt(p, c.child_id, staff_id="rektor.ostra")),
    "delegate_barnkontakt": _on(held, SCHOOL, lambda c, p: c.hub.delegate_barnkontakt(p, c.child_id, staff_id="sjukskoterska.bvc", reason="Ledighet")),
    "send_feedback": _on(held, SCHOOL, lambda c, p: c.hub.send_feedback(p, c.child_id, card_id=c.card_id, message="Barnkontakt utsedd")),
    "hold_conversation": _on(held, SCHOOL, lambda c, p: c.hub.hold_conversation(p, c.child_id, **conversation_payload())),
    "request_consent": _on(held, SCHOOL, lambda c, p: c.hub.request_consent(p, c.child_id, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd")),
    "grant_consent": _answer("grant_consent"),
    "decline_consent": _answer("decline_consent"),
    "withdraw_consent": _answer("withdraw_consent"),
    "decide_team": _on(talked, SCHOOL, lambda c, p: c.hub.decide_team(p, c.child_id, decision="barnteam", family_informed=True, member_unit_ids=["elevhalsa-ostra"])),
    "submit_rating": _on(teamed, POLICE, lambda c, p: c.hub.submit_rating(p, c.child_id, scores=[{"area": "trygghet", "indicator": "trygghet-natverk", "score": 3}])),
    "hold_team_meeting": _on(rated, KURATOR, lambda c, p: c.hub.hold_team_meeting(p, c.child_id, participant_unit_ids=["skola-ostra", "elevhalsa-ostra"], advice="Fortsätt")),
    "assign_support_coordinator": _on(teamed, SCHOOL, lambda c, p: c.hub.assign_support_coordinator(p, c.child_id, staff_id="kurator.ostra")),
    "hand_over_support_coordinator": _on(coordinated, KURATOR, lambda c, p: c.hub.hand_over_support_coordinator(p, c.child_id, staff_id="socsek.ystad", reason="Föräldraledig")),
    "update_plan": _on(coordinated, KURATOR, lambda c, p: c.hub.update_plan(p, c.child_id, **plan_payload(START.date()))),
    "complete_plan_action": _on(planned, KURATOR, lambda c, p: c.hub.complete_plan_action(p, c.child_id, action_id="a2", note="Klart")),
    "hold_follow_up": _on(coordinated, KURATOR, lambda c, p: c.hub.hold_follow_up(p, c.child_id, summary="Uppföljning", compass=[{"area": "trygghet", "score": 4.0}])),
    "record_needs_met": _on(coordinated, SCHOOL, lambda c, p: c.hub.record_needs_met(p, c.child_id, follow_up_compass=[{"area": "trygghet", "score": 5.0}])),
    "file_concern_report": _on(carded, staff("forskola.solen"), lambda c, p: c.hub.file_concern_report(p, c.child_id, to_unit_id="soc-ystad", unmet_needs=NEEDS, description="Oro för barnet")),
    "withhold_information": _withhold,
    "record_home_visit": _on(carded, staff("sjukskoterska.bvc"), lambda c, p: c.hub.record_home_visit(p, c.child_id, visit=1, notes="Första besöket")),
    "share_agency_summary": _on(teamed, POLICE, lambda c, p: c.hub.share_agency_summary(p, c.child_id, police="Polisens egen uppgift")),
    "erase_child": _on(carded, staff("admin.ystad"), lambda c, p: c.hub.erase_child(p, c.child_id, reason="Ärende 2026-17")),
    "record_review": _review,
    "check_guardians": _on(carded, staff("admin.ystad"), lambda c, p: c.hub.check_guardians(p, c.child_id)),
    "invite_to_conversation": _on(held, SCHOOL, lambda c, p: c.hub.invite_to_conversation(p, c.child_id, with_whom="child", age_group="10-12")),
    "withdraw_conversation_invitation": _withdraw_invitation,
    "answer_conversation_invitation": _answer_invitation,
    "send_consent_reminders": _on(
        asked_for_consent, staff("admin.ystad"),
        lambda c, p: c.hub.send_consent_reminders(p, c.child_id, at=c.hub.now() + timedelta(days=8), days=SignalDays()),
    ),
    "close_case": _on(held, SCHOOL, lambda c, p: c.hub.close_case(p, c.child_id, reason="moved_away")),
}


@pytest.fixture(scope="module")
def rt() -> Iterator[Runtime]:
    """The hub in demo mode on the in-memory store, its log sealed per child (so it can erase)."""
    clock = SettableClock(START)
    runtime = bootstrap(Settings(store="memory", demo_mode=True), clock=clock, directory=directory())
    clock.set(START + timedelta(hours=1))
    yield runtime
    runtime.close()


def test_every_command_method_is_a_registered_handler_with_a_step_here() -> None:
    assert set(HANDLERS) == COMMAND_METHODS
    assert set(STEPS) == set(HANDLERS)
    for name, handler in HANDLERS.items():
        assert callable(getattr(BackaHub, name, None)), name
        assert handler.name == name and isinstance(handler.action, Action)


def _appends(method: Any) -> bool:
    source = inspect.getsource(inspect.unwrap(method))
    return any(call in source for call in ("self._command(", "self._save(", "self._answer(", "Child.register("))


def test_no_public_method_appends_facts_of_a_childs_process_without_being_a_handler() -> None:
    public = {n: m for n, m in inspect.getmembers(BackaHub, inspect.isfunction) if not n.startswith("_")}
    appending = {n for n, m in public.items() if _appends(m)}

    assert appending - set(HANDLERS) == set()
    assert COMMAND_METHODS <= appending


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_the_handler_asks_the_policy_about_its_own_act_and_honours_a_refusal(rt: Runtime, name: str) -> None:
    who, command = STEPS[name](rt)
    hub = rt.hub
    before = hub.log_length()

    with refusing_policy(hub) as asked, pytest.raises(NotPermittedError):
        command()

    assert asked.actions, f"{name} was refused without asking the permission policy"
    assert set(asked.actions) == {HANDLERS[name].action}
    assert set(asked.actors) == {who.user_id}
    assert all(p.allowed for p in asked.real), f"the real policy refuses this step: {asked.real}"
    assert hub.log_length() == before
    command()  # the real policy allows it: the refusal was the stand-in's
    assert hub.log_length() > before


# -- the pages, controllers and the domain decide nothing about who may act ----------------------------------

LAYERS = ("hub/http", "hub/web", "hub/domain")
ROLE_MARKERS = ("Role.", "ViewerKind.", ".has(", ".roles")

KNOWN_ROLE_CHECKS = {
    "hub/web/pages/staff.py:staff_at_unit",
    "hub/web/pages/staff.py:case_owner",
    "hub/web/pages/family.py:_require_family",
    "hub/web/pages/audit.py:_require_auditor",
}
"""Refusals on roles that pages still make themselves, to move behind the policy; a new one fails."""


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def test_no_page_controller_or_domain_module_imports_the_permission_policy() -> None:
    importing = set()
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module is not None:
                if node.module.startswith("consent.permissions") or (
                    node.module == "consent" and any(a.name == "permissions" for a in node.names)
                ):
                    importing.add(name)
            elif isinstance(node, ast.Import) and any(a.name.startswith("consent.permissions") for a in node.names):
                importing.add(name)

    assert importing == set()


def role_refusals(modules: Iterable[tuple[str, ast.Module]]) -> set[str]:
    """Each function that raises on a test of the caller's role or kind, as ``module:function``."""
    found = set()
    for name, tree in modules:
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if not isinstance(node, ast.If):
                    continue
                raises = any(isinstance(n, ast.Raise) for n in node.body)
                if raises and any(m in ast.unparse(node.test) for m in ROLE_MARKERS):
                    found.add(f"{name}:{func.name}")
    return found


def test_no_page_controller_or_domain_module_refuses_on_roles_of_its_own() -> None:
    assert role_refusals(_modules()) - KNOWN_ROLE_CHECKS == set()


def test_a_refusal_on_a_role_is_found_and_a_role_shown_on_a_page_is_not() -> None:
    page = ast.parse(
        "def take(p):\n    if not p.has(Role.BARNKONTAKT):\n        raise NotPermittedError('no')\n"
        "def audit(p):\n    if p.kind is not ViewerKind.AUDITOR:\n        raise NotPermittedError('no')\n"
        "def show(p):\n    if p.has(Role.BARNKONTAKT):\n        return 'button'\n"
    )

    assert role_refusals([("hub/web/pages/x.py", page)]) == {"hub/web/pages/x.py:take", "hub/web/pages/x.py:audit"}
