"""One request per decision: a consent request that repeats a pending one (same decision,
recipients, categories and parties) answers with the pending request and appends nothing;
a changed scope, an answered request or a new decision makes a new one."""

from __future__ import annotations

from uuid import UUID

import pytest

from hub.runtime.bootstrap import Runtime
from tests.conftest import family
from tests.factories import GUARDIAN_1_PNR, conversation_payload, staff

BK = "rektor.ostra"
TEAM = ["elevhalsa-ostra", "bup-ystad"]


@pytest.fixture
def rt(memory_runtime: Runtime) -> Runtime:
    return memory_runtime


@pytest.fixture
def child_id(rt: Runtime) -> UUID:
    from tests.conftest import register_child

    child = register_child(rt)
    assert isinstance(child, UUID)
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    rt.hub.hold_conversation(staff(BK), child, **conversation_payload())
    rt.hub.decide_team(staff(BK), child, decision="barnteam", family_informed=True, member_unit_ids=TEAM)
    return child


def ask(rt: Runtime, child_id: UUID, units: list[str] = TEAM, categories: tuple[str, ...] = ("needs",)) -> UUID:
    return rt.hub.request_consent(
        staff(BK), child_id, recipients=[{"unit_id": u} for u in units], categories=list(categories), purpose="Barnteamet"
    )


def test_a_second_identical_request_while_the_first_is_pending_gives_the_first_and_appends_nothing(
    rt: Runtime, child_id: UUID
) -> None:
    first = ask(rt, child_id)
    before = rt.hub.log_length()
    again = ask(rt, child_id, units=list(reversed(TEAM)))
    assert again == first
    assert rt.hub.log_length() == before


def test_a_request_with_another_unit_or_category_is_a_new_request(rt: Runtime, child_id: UUID) -> None:
    first = ask(rt, child_id)
    assert ask(rt, child_id, units=[*TEAM, "skola-ostra"]) != first
    assert ask(rt, child_id, categories=("needs", "plan")) != first


def test_once_a_guardian_has_answered_the_same_scope_may_be_asked_again(rt: Runtime, child_id: UUID) -> None:
    first = ask(rt, child_id)
    rt.hub.decline_consent(family(rt, GUARDIAN_1_PNR), child_id, first)
    assert ask(rt, child_id) != first


def test_a_new_decision_makes_a_new_request_of_the_same_scope(rt: Runtime, child_id: UUID) -> None:
    first = ask(rt, child_id)
    rt.hub.decide_team(staff(BK), child_id, decision="individual_team", family_informed=True, member_unit_ids=TEAM)
    assert ask(rt, child_id) != first
