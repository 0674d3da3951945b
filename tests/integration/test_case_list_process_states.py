"""No case is invisible to whoever holds it: a child taken through any part of the Stödprocess
(support process) through the hub's own commands is on its Barnkontakt's, its coordinator's
and the deputy's own lists (after a hand-over, the new coordinator's, not the former's), with
one next step, however long nothing has happened since; a case closed for any reason owes none."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.application.readmodels import CaseScope
from hub.demo import make_personnummer
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import GUARDIAN_1_PNR, START, card_payload, conversation_payload, directory, staff

BK, TEACHER, COORDINATOR, OTHER = "rektor.ostra", "larare.ostra", "kurator.ostra", "socsek.ystad"
SERIALS = itertools.count()


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Runtime, SettableClock]]:
    """One hub for every example: each takes a child of its own."""
    clock = SettableClock(START)
    runtime = bootstrap(Settings(store="memory", demo_mode=True), clock=clock, directory=directory())
    yield runtime, clock
    runtime.close()


states = st.fixed_dictionaries({
    "barnkontakt": st.booleans(),
    "feedback": st.booleans(),
    "decision": st.sampled_from([None, "own_support", "barnteam", "individual_team"]),
    "coordinator": st.sampled_from([None, "alone", "deputy", "handed_over"]),
    "plan": st.sampled_from([None, "action", "follow_up", "empty"]),
    "done": st.booleans(),
    "idle_days": st.integers(0, 90),
    "closed": st.sampled_from([None, "needs_met", "moved_away", "declined"]),
})


def take_through(rt: Runtime, clock: SettableClock, state: dict[str, Any]) -> Any:
    hub = rt.hub
    n = next(SERIALS)
    child = hub.register_child(
        staff(TEACHER), personnummer=make_personnummer(date(2014, 1, 1) + timedelta(days=n), 980 + n % 20),
        given_name=f"Barn{n}", family_name="Lind",
        guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
    )
    card = hub.submit_discovery_card(staff(TEACHER), child, **card_payload("skola-ostra")).card_id
    if state["barnkontakt"]:
        hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
        if state["feedback"]:
            hub.send_feedback(staff(BK), child, card_id=card, message="Tack")
        if state["decision"]:
            hub.hold_conversation(staff(BK), child, **conversation_payload())
            members = ["skola-ostra", "elevhalsa-ostra"] if state["decision"] != "own_support" else []
            hub.decide_team(staff(BK), child, decision=state["decision"], family_informed=True, member_unit_ids=members)
            if state["coordinator"] and state["decision"] == "individual_team":
                deputy = OTHER if state["coordinator"] == "deputy" else None
                hub.assign_support_coordinator(staff(BK), child, staff_id=COORDINATOR, deputy_staff_id=deputy)
                if state["coordinator"] == "handed_over":
                    hub.hand_over_support_coordinator(staff(COORDINATOR), child, staff_id=OTHER, reason="Byter tjänst")
            if state["plan"] and state["decision"] == "individual_team":
                today = hub.now().date()
                actions = [{"action_id": "a", "what": "Rastvärd", "unit_id": "skola-ostra", "responsible_person": "Rektor",
                            "due": today + timedelta(days=10)}] if state["plan"] == "action" else []
                follow_up = today + timedelta(days=30) if state["plan"] == "follow_up" else None
                hub.update_plan(staff(BK), child, goals=[{"area": "trygghet", "goal": "Trygg"}], actions=actions,
                                child_view="", guardian_view="", next_follow_up=follow_up)
                if actions and state["done"]:
                    hub.complete_plan_action(staff(BK), child, action_id="a")
            still_open = [{"action_id": "a", "reason": "Avslutas med ärendet"}] if state["plan"] == "action" and state[
                "decision"] == "individual_team" and not state["done"] else []
            if state["closed"] == "needs_met":
                hub.record_needs_met(staff(BK), child, follow_up_compass=[{"area": "trygghet", "score": 4}], summary="Klart",
                                     closed_actions=still_open)
            elif state["closed"]:
                hub.close_case(staff(BK), child, reason=state["closed"], closed_actions=still_open)
    clock.set(clock() + timedelta(days=state["idle_days"]))
    return child


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(states)
def test_every_case_is_on_the_lists_of_those_who_hold_it_with_one_next_step(
    shared: tuple[Runtime, SettableClock], state: dict[str, Any]
) -> None:
    rt, clock = shared
    child = take_through(rt, clock, state)
    coordinated = state["barnkontakt"] and state["decision"] == "individual_team" and state["coordinator"]
    holders = [BK]
    if coordinated:
        holders += {"alone": [COORDINATOR], "deputy": [COORDINATOR, OTHER], "handed_over": [OTHER]}[state["coordinator"]]
        if state["coordinator"] == "handed_over":
            former = [r for r in rt.hub.case_list(staff(COORDINATOR), scope=CaseScope.MINE) if r.child_id == child]
            assert former == [], "the former coordinator no longer holds the case"
    for holder in holders:
        rows = [r for r in rt.hub.case_list(staff(holder), scope=CaseScope.MINE) if r.child_id == child]
        assert len(rows) == 1, (holder, state)
        (row,) = rows
        assert row.closed == bool(state["barnkontakt"] and state["decision"] and state["closed"]), state
        if row.closed:
            assert row.groups == [] and row.next_step is None
        else:
            assert row.next_step is not None, state
            assert row.groups or row.next_step.due is not None or state["idle_days"] <= 30, (state, row)
            assert row.next_step.unit_id, "the next step names who owes it"
