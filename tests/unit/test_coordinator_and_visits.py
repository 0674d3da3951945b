"""The support coordinator with a deputy and a hand-over, and home visits on their day: the
Child aggregate's guards and the core's answers, each refusal leaving the log as it was."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from hub.errors import HubError, InvalidInputError, NotPermittedError, OutOfOrderError
from hub.runtime.bootstrap import Runtime
from tests.conftest import register_child
from tests.factories import conversation_payload, staff

BK, KURATOR, SOCSEK, BVC = "rektor.ostra", "kurator.ostra", "socsek.ystad", "sjukskoterska.bvc"
TEAM = ["elevhalsa-ostra", "soc-ystad"]


def refused(rt: Runtime, error: type[HubError], command: Callable[[], Any]) -> HubError:
    before = rt.hub.log_length()
    with pytest.raises(error) as caught:
        command()
    assert rt.hub.log_length() == before
    return caught.value


@pytest.fixture
def rt(memory_runtime: Runtime) -> Runtime:
    return memory_runtime


def individual_team(rt: Runtime) -> UUID:
    child_id = register_child(rt)
    assert isinstance(child_id, UUID)
    rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)
    rt.hub.hold_conversation(staff(BK), child_id, **conversation_payload())
    rt.hub.decide_team(staff(BK), child_id, decision="individual_team", family_informed=True, member_unit_ids=TEAM)
    return child_id


def coordinator_now(rt: Runtime, child_id: UUID, reader: str = BK) -> dict[str, Any]:
    return rt.hub.read_child(staff(reader), child_id, purpose="Test").merged("SupportCoordinatorAssigned")[-1]


def test_the_coordinator_is_appointed_with_a_deputy_who_then_acts_as_the_coordinator(rt: Runtime) -> None:
    child_id = individual_team(rt)
    refused(rt, NotPermittedError, lambda: rt.hub.hold_follow_up(staff(SOCSEK), child_id, summary="Innan"))

    rt.hub.assign_support_coordinator(staff(BK), child_id, staff_id=KURATOR, deputy_staff_id=SOCSEK)
    rt.hub.hold_follow_up(staff(SOCSEK), child_id, summary="Ersättaren håller uppföljningen")

    now = coordinator_now(rt, child_id)
    assert (now["staff_id"], now["deputy_staff_id"], now["deputy_unit_id"]) == (KURATOR, SOCSEK, "soc-ystad")


def test_a_hand_over_names_who_had_the_role_and_why_and_ends_the_former_holders_part(rt: Runtime) -> None:
    child_id = individual_team(rt)
    rt.hub.assign_support_coordinator(staff(BK), child_id, staff_id=KURATOR)

    rt.hub.hand_over_support_coordinator(staff(KURATOR), child_id, staff_id=SOCSEK, reason="Kuratorn slutar")

    now = coordinator_now(rt, child_id, reader=KURATOR)  # the hand-over is the coordinator's unit's fact
    assert (now["from_staff_id"], now["staff_id"], now["reason"]) == (KURATOR, SOCSEK, "Kuratorn slutar")
    refused(rt, NotPermittedError, lambda: rt.hub.hold_follow_up(staff(KURATOR), child_id, summary="Efter"))
    rt.hub.hold_follow_up(staff(SOCSEK), child_id, summary="Den nya samordnaren")


def test_a_hand_over_before_any_coordinator_is_out_of_order(rt: Runtime) -> None:
    child_id = individual_team(rt)

    refused(rt, OutOfOrderError, lambda: rt.hub.hand_over_support_coordinator(staff(BK), child_id, staff_id=SOCSEK, reason="Byte"))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"staff_id": KURATOR, "reason": "Samma person"}, "staff_id"),
        ({"staff_id": SOCSEK, "reason": ""}, "reason"),
        ({"staff_id": SOCSEK, "reason": "   "}, "reason"),
        ({"staff_id": SOCSEK, "deputy_staff_id": SOCSEK, "reason": "Byte"}, "deputy_staff_id"),
        ({"staff_id": SOCSEK, "deputy_staff_id": "polis.ystad", "reason": "Byte"}, "deputy_staff_id"),
        ({"staff_id": "polis.ystad", "reason": "Byte"}, "staff_id"),
    ],
)
def test_a_hand_over_that_cannot_be_is_refused_naming_its_field(rt: Runtime, fields: dict[str, str], field: str) -> None:
    child_id = individual_team(rt)
    rt.hub.assign_support_coordinator(staff(BK), child_id, staff_id=KURATOR)

    error = refused(rt, InvalidInputError, lambda: rt.hub.hand_over_support_coordinator(staff(KURATOR), child_id, **fields))

    assert error.field == field


def test_the_deputy_is_not_the_coordinator_themself(rt: Runtime) -> None:
    child_id = individual_team(rt)

    error = refused(
        rt, InvalidInputError,
        lambda: rt.hub.assign_support_coordinator(staff(BK), child_id, staff_id=KURATOR, deputy_staff_id=KURATOR),
    )

    assert error.field == "deputy_staff_id"


def test_a_home_visit_is_recorded_on_the_day_it_was_made(rt: Runtime) -> None:
    child_id = register_child(rt, by=BVC)
    yesterday = rt.hub.now().date() - timedelta(days=1)

    rt.hub.record_home_visit(staff(BVC), child_id, visit=1, visited_on=yesterday, notes="Första besöket")

    (visit,) = rt.hub.read_child(staff(BVC), child_id, purpose="Test").merged("HomeVisitRecorded")
    assert visit["visited_on"] == yesterday.isoformat()


@pytest.mark.parametrize("visited_on", [date(2026, 3, 3), date(2015, 7, 11), "2026-13-01", "9999-12-31"])
def test_a_home_visit_in_the_future_before_birth_or_on_no_day_is_refused(rt: Runtime, visited_on: object) -> None:
    child_id = register_child(rt, by=BVC)  # born 2015-07-12; today is 2026-03-02

    error = refused(rt, InvalidInputError, lambda: rt.hub.record_home_visit(staff(BVC), child_id, visit=1, visited_on=visited_on))

    assert error.field == "visited_on"
