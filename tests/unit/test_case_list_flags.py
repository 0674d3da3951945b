"""The case list's flags and next step, over every state the process can be in: no open case
is invisible to its Barnkontakt, coordinator or deputy, and each has one next step that is
either dated ahead or in a group that needs action."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.application.caselist_search import groups_of, matches, search_terms
from hub.application.readmodels import CaseGroup
from hub.errors import InvalidInputError
from projections.base import dumps, memory_db_name
from projections.caselist import CaseListView, Step, case_flags, concerns_person, concerns_unit, deputy_named, next_step

TODAY = date(2026, 5, 4)
BK = {"staff_id": "rektor", "unit_id": "skola"}
COORDINATOR = {"staff_id": "kurator", "unit_id": "elevhalsa"}
DEPUTY = {"staff_id": "socsek", "unit_id": "soc"}


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def doc(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "child_id": "6f1c1d6e-8a57-4d0e-9a43-3f6f4c8e2b11",
        "tenant_id": "ystad",
        "cards": [],
        "barnkontakt": None,
        "coordinator": None,
        "deputy": None,
        "decision": None,
        "actions": [],
        "next_follow_up": None,
        "plan_version": 0,
        "needs_met_at": None,
        "registered_at": None,
        "last_activity": datetime.combine(TODAY - timedelta(days=2), datetime.min.time()).isoformat(),
    }
    return {**base, **changes}


def card(*, taken_up: bool = True, feedback_sent: bool = False, sender: str = "larare") -> dict[str, Any]:
    return {
        "card_id": "card-1", "kind": "internal", "to_unit_id": "skola", "named_unit_id": None,
        "from_unit_id": "skola", "from_user_id": sender, "submitted_at": f"{day(-3)}T09:00:00+00:00",
        "feedback_sent": feedback_sent, "taken_up": taken_up,
    }


def test_a_case_with_a_decision_a_coordinator_and_no_dated_step_names_the_coordinators_step_and_is_on_both_lists() -> None:
    """The case the old list showed nowhere: decided, coordinated, active two days ago,
    nothing dated. Its next step is the coordinator's plan; a month later with nothing done
    it has no next step."""
    case = doc(cards=[card(feedback_sent=True)], barnkontakt=BK, decision="individual_team", coordinator=COORDINATOR,
               team_unit_ids=["skola", "elevhalsa"])
    flags = case_flags(case, TODAY)
    assert flags.next_step is not None and flags.next_step.step is Step.PLAN
    assert (flags.next_step.staff_id, flags.next_step.unit_id) == ("kurator", "elevhalsa")
    assert concerns_person(case, "kurator", "elevhalsa", is_barnkontakt=False)
    assert concerns_person(case, "rektor", "skola", is_barnkontakt=True)
    assert not flags.no_next_step
    idle = case_flags({**case, "last_activity": f"{day(-31)}T10:00:00+00:00"}, TODAY)
    assert groups_of(idle, expiring=False, withdrawn=False) == [CaseGroup.NO_NEXT_STEP]


def test_a_plan_with_nothing_ahead_has_no_next_step_at_once() -> None:
    case = doc(barnkontakt=BK, decision="individual_team", coordinator=COORDINATOR, plan_version=1, actions=[
        {"action_id": "a", "unit_id": "skola", "due": day(-5), "done": True, "what": "Rastvärd", "person": "Rektor"},
    ])
    flags = case_flags(case, TODAY)
    assert flags.next_step is not None and flags.next_step.step is Step.SET_NEXT_STEP and flags.no_next_step


def test_a_card_nobody_has_taken_up_is_new_and_owes_no_feedback_yet_but_has_no_next_step() -> None:
    flags = case_flags(doc(cards=[card(taken_up=False)]), TODAY)
    assert groups_of(flags, expiring=False, withdrawn=False) == [CaseGroup.NEW_CARDS, CaseGroup.NO_NEXT_STEP]
    assert flags.next_step is not None and flags.next_step.step is Step.APPOINT_BARNKONTAKT


def test_the_next_step_is_the_plans_first_open_action_with_its_owner_and_words() -> None:
    case = doc(barnkontakt=BK, decision="individual_team", coordinator=COORDINATOR, plan_version=1, actions=[
        {"action_id": "b", "unit_id": "soc", "due": day(20), "done": False, "what": "Föräldrastöd", "person": "Soc"},
        {"action_id": "a", "unit_id": "skola", "due": day(5), "done": False, "what": "Rastvärd", "person": "Rektor"},
        {"action_id": "c", "unit_id": "skola", "due": day(1), "done": True, "what": "Klart", "person": "Rektor"},
    ], next_follow_up=day(30))
    step = next_step(case, TODAY, feedback_within=timedelta(days=14))
    assert (step.step, step.what, step.person, step.unit_id, step.due, step.overdue) == (
        Step.ACTION, "Rastvärd", "Rektor", "skola", TODAY + timedelta(days=5), False,
    )


def test_feedback_owed_to_the_discoverer_comes_due_after_the_days_given() -> None:
    case = doc(cards=[card()], barnkontakt=BK)
    step = next_step(case, TODAY, feedback_within=timedelta(days=2))
    assert (step.step, step.to_staff_id, step.to_unit_id, step.due, step.overdue) == (
        Step.FEEDBACK, "larare", "skola", TODAY - timedelta(days=1), True,
    )
    assert not next_step(case, TODAY, feedback_within=timedelta(days=14)).overdue


def test_a_passed_follow_up_with_nothing_planned_after_it_is_no_next_step() -> None:
    case = doc(barnkontakt=BK, decision="individual_team", coordinator=COORDINATOR, plan_version=1, next_follow_up=day(-1))
    flags = case_flags(case, TODAY)
    assert flags.next_step is not None and flags.next_step.step is Step.FOLLOW_UP and flags.next_step.overdue
    assert flags.no_next_step


def test_a_deputy_is_read_from_whatever_fact_names_one() -> None:
    class SupportCoordinatorDeputyAssigned:
        staff_id, unit_id = "socsek", "soc"

    class WithDeputy:
        deputy_staff_id, deputy_unit_id = "socsek", "soc"

    class Unrelated:
        staff_id, unit_id = "x", "y"

    assert deputy_named(SupportCoordinatorDeputyAssigned()) == DEPUTY  # type: ignore[arg-type]
    assert deputy_named(WithDeputy()) == DEPUTY  # type: ignore[arg-type]
    assert deputy_named(Unrelated()) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "name", "number", "found"),
    [
        ("alva lind", "Alva Lind", "201507122388", True),
        ("LIND   alva", "Alva Lind", "201507122388", True),
        ("alva berg", "Alva Lind", "201507122388", False),
        ("150712-2388", "Alva Lind", "201507122388", True),
        ("20150712 2388", "Alva Lind", "201507122388", True),
        ("150713", "Alva Lind", "201507122388", False),
        ("Åsa", "Åsa Öberg", "201507122388", True),
    ],
)
def test_a_search_matches_every_word_of_the_name_or_the_digits_of_the_number(query: str, name: str, number: str, found: bool) -> None:
    terms = search_terms(query)
    assert terms is not None and matches(terms, name, number) is found


@pytest.mark.parametrize("query", ["a" * 101, "Alva\x00", "Al\nva", "12345"])
def test_a_search_that_cannot_find_one_child_is_refused_naming_the_search(query: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        search_terms(query)
    assert refused.value.field == "q"


def test_an_empty_search_is_no_search() -> None:
    assert search_terms("   ") is None


# -- every state of the process --------------------------------------------------------

people = st.sampled_from([None, BK])
actions = st.lists(
    st.fixed_dictionaries({
        "action_id": st.sampled_from(["a", "b", "c"]),
        "unit_id": st.sampled_from(["skola", "soc", "elevhalsa"]),
        "due": st.integers(-60, 90).map(day),
        "done": st.booleans(),
        "what": st.just("Stöd"),
        "person": st.just("Någon"),
    }),
    max_size=3,
)


@st.composite
def process_states(draw: st.DrawFn) -> dict[str, Any]:
    """A case at any point of the Stödprocess (support process), closed or not."""
    cards = draw(st.lists(st.builds(card, taken_up=st.booleans(), feedback_sent=st.booleans(),
                                    sender=st.sampled_from(["larare", "rektor"])), max_size=3))
    bk = draw(people) if cards else BK
    decision = draw(st.sampled_from([None, "own_support", "barnteam", "individual_team"])) if bk else None
    coordinator = draw(st.sampled_from([None, COORDINATOR])) if decision else None
    deputy = draw(st.sampled_from([None, DEPUTY])) if coordinator else None
    planned = bool(decision) and draw(st.booleans())
    return doc(
        cards=[{**c, "taken_up": c["taken_up"] or bk is not None} for c in cards],
        barnkontakt=bk,
        decision=decision,
        coordinator=coordinator,
        deputy=deputy,
        team_unit_ids=draw(st.lists(st.sampled_from(["skola", "elevhalsa", "soc", "bup"]), max_size=3)) if decision else [],
        plan_version=1 if planned else 0,
        actions=draw(actions) if planned else [],
        next_follow_up=draw(st.none() | st.integers(-30, 90).map(day)) if planned else None,
        needs_met_at=draw(st.sampled_from([None, f"{day(-1)}T10:00:00+00:00"])),
        last_activity=f"{day(-draw(st.integers(0, 400)))}T10:00:00+00:00",
    )


@given(process_states(), st.booleans(), st.booleans())
def test_no_open_case_is_invisible_to_those_who_hold_it(case: dict[str, Any], expiring: bool, withdrawn: bool) -> None:
    """Its Barnkontakt, coordinator and deputy have it on their own list and their unit's;
    a card nobody has taken up is on the list of every Barnkontakt of the unit it went to;
    and an open case has a next step that is dated ahead or in a group that needs action."""
    flags = case_flags(case, TODAY)
    for held in (case["barnkontakt"], case["coordinator"], case["deputy"]):
        if held:
            assert concerns_person(case, held["staff_id"], held["unit_id"], is_barnkontakt=False)
            assert concerns_unit(case, held["unit_id"])
    if case["barnkontakt"] is None:
        for c in case["cards"]:
            assert concerns_person(case, "any-barnkontakt", c["to_unit_id"], is_barnkontakt=True)
    groups = groups_of(flags, expiring=expiring, withdrawn=withdrawn)
    if flags.closed:
        assert flags.next_step is None and groups == []
        return
    step = flags.next_step
    assert step is not None
    idle = TODAY - date.fromisoformat(case["last_activity"][:10])
    waiting = case["barnkontakt"] is not None and idle.days <= 30 and step.step is not Step.SET_NEXT_STEP
    assert groups or (step.due is not None and step.due >= TODAY) or waiting, (step, flags)
    if waiting and step.due is None:
        assert step.staff_id and step.unit_id, "a step owed names who owes it"
    assert flags.no_next_step is (CaseGroup.NO_NEXT_STEP in groups)
    if step.step is Step.ACTION:
        assert step.what and step.unit_id, "who does what"


def test_a_case_list_view_written_before_its_people_index_gets_the_index_filled_when_opened() -> None:
    """A data folder from before the index: its cases are found through it at the next start."""
    view = CaseListView(memory_db_name("cases"))
    view.create_table()
    case = doc(cards=[card()], barnkontakt=BK, coordinator=COORDINATOR)
    with view.store.transaction(commit=True) as c:
        c.execute("INSERT INTO cases VALUES (?, ?, ?)", (case["child_id"], "ystad", dumps(case)))
    assert view.documents_of("ystad", unit_id="elevhalsa", staff_id="kurator") == []
    view.create_table()
    assert [d["child_id"] for d in view.documents_of("ystad", unit_id="elevhalsa", staff_id="nobody")] == [case["child_id"]]
    assert [d["child_id"] for d in view.documents_of("ystad", unit_id="", staff_id="kurator")] == [case["child_id"]]
    assert view.documents_of("ystad", unit_id="bvc", staff_id="sjukskoterska") == []
    assert view.documents_of("ystad", unit_id="", staff_id="") == [], "an empty id finds nobody's children"
    view.close()


def test_a_barnteam_without_its_meeting_has_the_barnkontakt_hold_it() -> None:
    case = doc(cards=[card(feedback_sent=True)], barnkontakt=BK, decision="barnteam", team_unit_ids=["skola", "bup"])
    step = next_step(case, TODAY, feedback_within=timedelta(days=14))
    assert (step.step, step.staff_id) == (Step.TEAM_MEETING, "rektor")
    assert next_step({**case, "meetings": 1}, TODAY, feedback_within=timedelta(days=14)).step is Step.SET_NEXT_STEP
