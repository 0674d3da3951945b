"""Closing a case: needs met is refused while plan actions are open unless each is closed with
a reason; a closed case stops what other units saw on consent, unless a consent is asked for
and granted after the closure; and nothing shared is shown past its retention period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from consent import PolicyRules
from consent.retention import Retention, RetentionPeriods
from contracts.vocabulary import Category, UnitKind
from hub.errors import InvalidInputError, NoBasisError, NotPermittedError, OutOfOrderError
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, START, card_payload, conversation_payload, directory, plan_payload, staff

SCHOOL = staff("rektor.ostra")
KURATOR = staff("kurator.ostra")
POLICE = staff("polis.ystad")
COMPASS = [{"area": "trygghet", "score": 5.0}]


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


def runtime(clock: SettableClock, rules: PolicyRules | None = None) -> Runtime:
    return bootstrap(Settings(store="memory", demo_mode=True), clock=clock, directory=directory(), rules=rules)


@pytest.fixture
def rt(clock: SettableClock) -> Iterator[Runtime]:
    r = runtime(clock)
    yield r
    r.close()


def planned(rt: Runtime, clock: SettableClock) -> UUID:
    """A child with an individual team, a coordinator at pupil health and a plan of three open actions."""
    hub = rt.hub
    child = UUID(str(register_child(rt)))
    hub.submit_discovery_card(POLICE, child, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(SCHOOL, child, staff_id="rektor.ostra")
    hub.hold_conversation(SCHOOL, child, **conversation_payload())
    hub.decide_team(
        SCHOOL, child, decision="individual_team", family_informed=True,
        member_unit_ids=["skola-ostra", "elevhalsa-ostra", "polis-ystad"],
    )
    hub.assign_support_coordinator(SCHOOL, child, staff_id="kurator.ostra")
    hub.update_plan(KURATOR, child, **plan_payload(START.date()))
    clock.set(START + timedelta(days=50))  # a1, a2 and a3 are all overdue now
    return child


def consent_to_police(rt: Runtime, child: UUID) -> UUID:
    """The school asks, and both guardians grant, that the police see the plan and the needs for two years."""
    hub = rt.hub
    consent = hub.request_consent(
        SCHOOL, child, recipients=[{"unit_id": "polis-ystad"}], categories=["plan", "needs"], purpose="Stöd i teamet",
        valid_until=rt.hub.now() + timedelta(days=730),
    )
    for pnr in (GUARDIAN_1_PNR, GUARDIAN_2_PNR):
        hub.grant_consent(family(rt, pnr), child, consent)
    return consent


def police_sees(rt: Runtime, child: UUID) -> set[Category]:
    try:
        view = rt.hub.read_child(POLICE, child, purpose="Teamarbete")
    except NoBasisError:
        return set()
    return {i.category for i in view.items if i.unit_id != "polis-ystad"}


# -- needs met and open actions ---------------------------------------------------------------------


def test_needs_met_is_refused_while_an_overdue_action_is_open_and_nothing_is_appended(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    before = rt.hub.log_length()

    with pytest.raises(OutOfOrderError, match="still open"):
        rt.hub.record_needs_met(SCHOOL, child, follow_up_compass=COMPASS)

    assert rt.hub.log_length() == before
    assert rt.hub.closure_status(SCHOOL, child).closed_at is None


def test_needs_met_closes_the_case_when_each_open_action_is_closed_with_a_reason(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    rt.hub.complete_plan_action(KURATOR, child, action_id="a2", note="Klart")
    reasons = [{"action_id": a, "reason": "Behövs inte längre"} for a in ("a1", "a3")]

    rt.hub.record_needs_met(SCHOOL, child, follow_up_compass=COMPASS, closed_actions=reasons)

    status = rt.hub.closure_status(SCHOOL, child)
    assert status.closed_at is not None and status.reason is not None and status.reason.value == "needs_met"
    assert status.open_actions == []


@pytest.mark.parametrize(
    ("closing", "error"),
    [
        ([{"action_id": "a1", "reason": "Klar"}], OutOfOrderError),  # a2 and a3 left open
        ([{"action_id": a, "reason": "Klar"} for a in ("a1", "a2", "a3", "a9")], InvalidInputError),  # no such action
        ([{"action_id": a, "reason": "Klar"} for a in ("a1", "a1", "a2", "a3")], InvalidInputError),  # closed twice
        ([{"action_id": a, "reason": ""} for a in ("a1", "a2", "a3")], InvalidInputError),  # no reason
    ],
    ids=["one left open", "an action the plan lacks", "the same action twice", "an empty reason"],
)
def test_closing_names_every_open_action_once_with_a_reason(
    rt: Runtime, clock: SettableClock, closing: list[dict[str, str]], error: type[Exception]
) -> None:
    child = planned(rt, clock)
    before = rt.hub.log_length()

    with pytest.raises(error):
        rt.hub.record_needs_met(SCHOOL, child, follow_up_compass=COMPASS, closed_actions=closing)

    assert rt.hub.log_length() == before


@pytest.mark.parametrize("reason", ["moved_away", "declined"])
def test_a_case_is_closed_for_moving_away_or_declining_and_only_once(rt: Runtime, clock: SettableClock, reason: str) -> None:
    child = planned(rt, clock)
    closing = [{"action_id": a, "reason": "Familjen har flyttat"} for a in ("a1", "a2", "a3")]

    rt.hub.close_case(KURATOR, child, reason=reason, closed_actions=closing)

    assert rt.hub.closure_status(KURATOR, child).reason.value == reason  # type: ignore[union-attr]
    with pytest.raises(OutOfOrderError, match="already closed"):
        rt.hub.close_case(SCHOOL, child, reason=reason)


def test_needs_met_is_not_a_reason_the_close_command_takes(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    with pytest.raises(InvalidInputError):
        rt.hub.close_case(SCHOOL, child, reason="needs_met", closed_actions=[])


def test_a_team_unit_that_does_not_hold_the_case_may_not_close_it(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    with pytest.raises(NotPermittedError):
        rt.hub.close_case(POLICE, child, reason="moved_away", closed_actions=[])


# -- what closure changes for reading ------------------------------------------------------------------


def test_after_closure_the_police_no_longer_sees_what_it_saw_on_consent_but_keeps_its_own(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    consent_to_police(rt, child)
    rt.hub.share_agency_summary(POLICE, child, police="Polisens egen uppgift")
    assert Category.PLAN in police_sees(rt, child)

    closing = [{"action_id": a, "reason": "Familjen flyttar"} for a in ("a1", "a2", "a3")]
    rt.hub.close_case(SCHOOL, child, reason="moved_away", closed_actions=closing)
    clock.set(clock() + timedelta(minutes=1))

    assert police_sees(rt, child) == set()
    own = rt.hub.read_child(POLICE, child, purpose="Eget underlag")
    assert {i.unit_id for i in own.items} == {"polis-ystad"}


def test_a_consent_asked_for_and_granted_after_the_closure_shares_again(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    consent_to_police(rt, child)
    closing = [{"action_id": a, "reason": "Avböjt"} for a in ("a1", "a2", "a3")]
    rt.hub.close_case(SCHOOL, child, reason="declined", closed_actions=closing)
    clock.set(clock() + timedelta(days=1))
    assert police_sees(rt, child) == set()

    consent_to_police(rt, child)

    assert Category.PLAN in police_sees(rt, child)


# -- retention -------------------------------------------------------------------------------------


def test_shared_information_stops_showing_after_the_police_period_and_the_unit_keeps_its_own(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    consent_to_police(rt, child)
    rt.hub.share_agency_summary(POLICE, child, police="Polisens egen uppgift")
    last_entry = clock()

    clock.set(last_entry + timedelta(days=365))
    assert Category.PLAN in police_sees(rt, child)
    clock.set(last_entry + timedelta(days=366))  # the police's default period (a year, and a leap day) has run out

    assert police_sees(rt, child) == set()
    assert {i.unit_id for i in rt.hub.read_child(POLICE, child, purpose="Eget").items} == {"polis-ystad"}


def test_the_areas_own_police_period_is_the_one_applied(clock: SettableClock) -> None:
    """A setting test: the tenant's period for the police, shorter than the default, ends sight sooner."""
    rules = PolicyRules(retention=Retention((("ystad", RetentionPeriods(((UnitKind.POLICE, None, 30),))),)))
    rt = runtime(clock, rules)
    try:
        child = planned(rt, clock)
        consent_to_police(rt, child)
        last_entry = clock()
        clock.set(last_entry + timedelta(days=29))
        assert Category.PLAN in police_sees(rt, child)
        clock.set(last_entry + timedelta(days=31))
        assert police_sees(rt, child) == set()
    finally:
        rt.close()


def test_a_period_set_for_one_category_leaves_the_others_at_the_kinds_period(clock: SettableClock) -> None:
    rules = PolicyRules(retention=Retention((("ystad", RetentionPeriods(((UnitKind.POLICE, Category.NEEDS, 10),))),)))
    rt = runtime(clock, rules)
    try:
        child = planned(rt, clock)
        consent_to_police(rt, child)
        rt.hub.hold_follow_up(SCHOOL, child, summary="Uppföljning", compass=COMPASS)
        clock.set(clock() + timedelta(days=11))
        seen = police_sees(rt, child)
        assert Category.PLAN in seen and Category.NEEDS not in seen
    finally:
        rt.close()


def test_a_new_step_in_the_case_starts_the_period_again(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    consent_to_police(rt, child)
    clock.set(clock() + timedelta(days=300))
    rt.hub.hold_follow_up(SCHOOL, child, summary="Uppföljning", compass=COMPASS)
    clock.set(clock() + timedelta(days=60))  # 360 days after the plan, 60 after the last entry
    assert Category.PLAN in police_sees(rt, child)


def test_the_family_still_sees_its_childs_information_after_every_period(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    clock.set(clock() + timedelta(days=20 * 365))
    view = rt.hub.read_child(family(rt, GUARDIAN_1_PNR), child, purpose="Mitt barn", view="family_view")
    assert any(i.category is Category.PLAN for i in view.items)


