"""Attacks on the closure, the retention, the coordinator and the reminders through the core:
what an outsider, another unit or another area tries, refused where the rules say so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest

from hub.application.consent_signals import SignalDays
from hub.errors import OutOfOrderError
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.factories import START, card_payload, plan_payload, staff
from tests.unit.test_closure import KURATOR, POLICE, SCHOOL, consent_to_police, planned, police_sees, runtime
from tests.unit.test_coordinator_and_visits import coordinator_now


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


@pytest.fixture
def rt(clock: SettableClock) -> Iterator[Runtime]:
    r = runtime(clock)
    yield r
    r.close()


def closed_with_consent(rt: Runtime, clock: SettableClock) -> UUID:
    child = planned(rt, clock)
    consent_to_police(rt, child)
    assert police_sees(rt, child)
    rt.hub.close_case(
        SCHOOL, child, reason="moved_away",
        closed_actions=[{"action_id": f"a{i}", "reason": "Familjen har flyttat"} for i in (1, 2, 3)],
    )
    assert not police_sees(rt, child)
    return child


def test_a_unit_that_sends_a_new_card_after_closure_does_not_revive_the_consent_given_before_it(
    rt: Runtime, clock: SettableClock
) -> None:
    child = closed_with_consent(rt, clock)
    clock.set(rt.hub.now() + timedelta(minutes=5))

    rt.hub.submit_discovery_card(POLICE, child, **card_payload("skola-ostra"))

    assert police_sees(rt, child) == set()


def test_another_coordinator_takes_the_role_only_by_a_hand_over_with_a_reason_not_by_appointing_again(
    rt: Runtime, clock: SettableClock
) -> None:
    child = planned(rt, clock)  # kurator.ostra is the coordinator
    before = coordinator_now(rt, child)

    with pytest.raises(OutOfOrderError):
        rt.hub.assign_support_coordinator(SCHOOL, child, staff_id="socsek.ystad")
    with pytest.raises(OutOfOrderError):
        rt.hub.assign_support_coordinator(KURATOR, child, staff_id="socsek.ystad")

    assert coordinator_now(rt, child) == before
    rt.hub.assign_support_coordinator(KURATOR, child, staff_id="kurator.ostra", deputy_staff_id="socsek.ystad")  # a deputy named
    rt.hub.hand_over_support_coordinator(KURATOR, child, staff_id="socsek.ystad", reason="Kuratorn slutar")


def test_a_team_unit_cannot_keep_a_closed_case_alive_by_adding_team_work_to_it(rt: Runtime, clock: SettableClock) -> None:
    """Each entry restarts every unit's retention period: team work appended to a closed case
    would let a unit keep seeing what it received for as long as it liked."""
    child = closed_with_consent(rt, clock)
    clock.set(rt.hub.now() + timedelta(days=300))
    last_entry = rt.hub._load("ystad", child).last_entry_at

    with pytest.raises(OutOfOrderError, match="closed"):
        rt.hub.submit_rating(POLICE, child, scores=[{"area": "trygghet", "indicator": "trygghet-natverk", "score": 3}])
    with pytest.raises(OutOfOrderError, match="closed"):
        rt.hub.share_agency_summary(POLICE, child, police="Inget nytt")
    with pytest.raises(OutOfOrderError, match="closed"):
        rt.hub.update_plan(KURATOR, child, **plan_payload(rt.hub.now().date()))
    with pytest.raises(OutOfOrderError, match="closed"):
        rt.hub.hold_follow_up(KURATOR, child, summary="Efter avslutet")

    assert rt.hub._load("ystad", child).last_entry_at == last_entry


def test_the_reminder_sweep_sends_no_expiry_warning_for_a_consent_the_closure_ended_and_keeps_no_case_alive(
    rt: Runtime, clock: SettableClock
) -> None:
    child = closed_with_consent(rt, clock)  # the police consent runs two years, but the closure ended its sharing
    last_entry = rt.hub._load("ystad", child).last_entry_at
    clock.set(rt.hub.now() + timedelta(days=700))
    admin = staff("admin.ystad")

    assert rt.hub.consent_reminders_due(admin, rt.hub.now(), SignalDays()) == []
    assert rt.hub.send_consent_reminders(admin, child, at=rt.hub.now(), days=SignalDays()) == 0
    assert rt.hub._load("ystad", child).last_entry_at == last_entry
