"""The Child aggregate's closing guards, table by table: needs met and closing need every open
plan action closed with a reason, once; closure is recorded once; a new discovery card opens
the case again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from contracts.events import Actor, CaseClosed, ClosedAction, NeedsMet
from contracts.vocabulary import ActionStatus, ClosureReason, Decision, Role
from hub.domain.child import Child
from hub.errors import InvalidInputError, OutOfOrderError
from tests.factories import card_payload, conversation_payload

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BK = Actor(user_id="rektor", unit_id="skola-ostra", role=Role.BARNKONTAKT)
COMPASS = ({"area": "trygghet", "score": 5.0},)


def action(action_id: str, status: ActionStatus = ActionStatus.PLANNED) -> dict[str, object]:
    return {"action_id": action_id, "what": "Stöd", "unit_id": "skola-ostra", "responsible_person": "Rektor",
            "due": date(2026, 3, 10), "status": status}


def child_with_plan(*actions: dict[str, object]) -> Child:
    child = Child.register(
        child_id=uuid4(), tenant_id="ystad", actor=BK, at=T0, given_name="Alva", family_name="Lind",
        personnummer="201603041234", birth_date=date(2016, 3, 4), guardians=(),
    )
    child.assign_barnkontakt(actor=BK, at=T0, staff_id="rektor", unit_id="skola-ostra")
    child.hold_conversation(actor=BK, at=T0, **conversation_payload())
    child.decide_team(actor=BK, at=T0, decision=Decision.INDIVIDUAL_TEAM, family_informed=True, member_unit_ids=("skola-ostra",))
    child.update_plan(actor=BK, at=T0, goals=(), actions=actions)
    child.collect_events()
    return child


def closing(*ids: str, reason: str = "Behövs inte längre") -> tuple[ClosedAction, ...]:
    return tuple(ClosedAction(action_id=i, reason=reason) for i in ids)


@pytest.mark.parametrize(
    ("plan", "closed", "error"),
    [
        ((action("a1"),), (), OutOfOrderError),
        ((action("a1"), action("a2")), closing("a1"), OutOfOrderError),
        ((action("a1"),), closing("a1", "a1"), InvalidInputError),
        ((action("a1"),), closing("a1", "a9"), InvalidInputError),
        ((action("a1", ActionStatus.DONE),), closing("a1"), InvalidInputError),
        ((action("a1", ActionStatus.CANCELLED), action("a2")), (), OutOfOrderError),
    ],
    ids=[
        "an open action without a reason", "one of two open actions left", "an action closed twice",
        "an action the plan lacks", "an action marked done is not open", "a cancelled action is not open but another is",
    ],
)
def test_needs_met_and_closing_are_refused_and_append_nothing(
    plan: tuple[dict[str, object], ...], closed: tuple[ClosedAction, ...], error: type[Exception]
) -> None:
    child = child_with_plan(*plan)
    with pytest.raises(error):
        child.record_needs_met(actor=BK, at=T0 + timedelta(days=1), follow_up_compass=COMPASS, closed_actions=closed)
    with pytest.raises(error):
        child.close_case(actor=BK, at=T0 + timedelta(days=1), reason=ClosureReason.MOVED_AWAY, closed_actions=closed)
    assert child.collect_events() == [] and child.closed_at is None


@pytest.mark.parametrize(
    ("plan", "closed"),
    [
        ((), ()),
        ((action("a1", ActionStatus.DONE), action("a2", ActionStatus.CANCELLED)), ()),
        ((action("a1"), action("a2")), closing("a1", "a2")),
    ],
    ids=["no plan actions", "every action done or cancelled", "each open action closed with a reason"],
)
def test_needs_met_appends_the_compass_and_the_closure_together(plan: tuple[dict[str, object], ...], closed: tuple[ClosedAction, ...]) -> None:
    child = child_with_plan(*plan)
    child.record_needs_met(actor=BK, at=T0 + timedelta(days=1), follow_up_compass=COMPASS, closed_actions=closed)

    facts = [r.fact for r in child.collect_events()]
    assert [type(f) for f in facts] == [NeedsMet, CaseClosed]
    assert facts[1].reason is ClosureReason.NEEDS_MET and facts[1].closed_actions == closed  # type: ignore[attr-defined]
    assert child.open_action_ids() == [] and child.facts().closed_at == T0 + timedelta(days=1)


def test_a_closed_case_is_not_closed_again_and_a_new_card_opens_it() -> None:
    child = child_with_plan()
    child.close_case(actor=BK, at=T0 + timedelta(days=1), reason=ClosureReason.DECLINED)
    with pytest.raises(OutOfOrderError):
        child.close_case(actor=BK, at=T0 + timedelta(days=2), reason=ClosureReason.MOVED_AWAY)

    child.submit_discovery_card(actor=BK, at=T0 + timedelta(days=3), kind="internal", **card_payload("skola-ostra"))
    assert child.closed_at is None and child.facts().closed_at is None
