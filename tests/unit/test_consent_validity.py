"""How long a consent may run: at most the cooperation area's longest period (a setting,
three years by default), and never past the child's 18th birthday, when the guardians'
custody, and with it their say, ends (föräldrabalken 6 kap. 2 §)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from consent import PolicyRules, consent_ends_by
from contracts.vocabulary import SWEDISH_TIME
from hub.errors import InvalidInputError
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import START, card_payload, directory, registration_payload, staff

BK = "rektor.ostra"
NEARLY_EIGHTEEN_PNR = "200809011000"
"""Born 2008-09-01: turns 18 six months after START."""


def test_a_consent_may_run_at_most_the_areas_longest_period() -> None:
    rules = PolicyRules(max_validity_days=100)
    assert consent_ends_by(date(2015, 7, 12), START, rules) == START + timedelta(days=100)


def test_a_consent_never_runs_past_the_childs_18th_birthday() -> None:
    ends = consent_ends_by(date(2008, 9, 1), START, PolicyRules())
    assert ends == datetime(2026, 9, 1, tzinfo=SWEDISH_TIME)


def test_a_child_born_on_a_leap_day_comes_of_age_on_the_first_of_march() -> None:
    ends = consent_ends_by(date(2012, 2, 29), datetime(2029, 6, 1, tzinfo=UTC), PolicyRules())
    assert ends == datetime(2030, 3, 1, tzinfo=SWEDISH_TIME)


def test_for_one_already_eighteen_only_the_areas_longest_period_applies() -> None:
    rules = PolicyRules(max_validity_days=100)
    assert consent_ends_by(date(2000, 1, 1), START, rules) == START + timedelta(days=100)


def hub_with(**settings: Any) -> Runtime:
    return bootstrap(Settings(store="memory", demo_mode=True, **settings), clock=SettableClock(START), directory=directory())


def child_ready_for_consent(rt: Runtime, personnummer: str | None = None) -> UUID:
    payload = registration_payload()
    if personnummer:
        payload["personnummer"] = personnummer
    child = rt.hub.register_child(staff(BK), **payload)
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    return child


def ask(rt: Runtime, child: UUID, valid_until: datetime | None = None) -> UUID:
    extra = {"valid_until": valid_until} if valid_until else {}
    return rt.hub.request_consent(
        staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd", **extra
    )


@pytest.mark.parametrize(("longest_days", "refused"), [(30, True), (None, False)])
def test_the_areas_longest_consent_is_a_setting(longest_days: int | None, refused: bool) -> None:
    rt = hub_with(**({"consent_max_validity_days": longest_days} if longest_days else {}))
    try:
        child = child_ready_for_consent(rt)
        before = rt.hub.log_length()
        forty_days = START + timedelta(days=40)
        if refused:
            with pytest.raises(InvalidInputError) as e:
                ask(rt, child, forty_days)
            assert e.value.field == "valid_until"
            assert rt.hub.log_length() == before
            ask(rt, child, START + timedelta(days=30))
        else:
            ask(rt, child, forty_days)
        assert rt.hub.log_length() == before + 1
    finally:
        rt.close()


def test_a_request_past_the_childs_18th_birthday_is_refused_and_the_usual_period_is_cut_short() -> None:
    rt = hub_with()
    try:
        child = child_ready_for_consent(rt, NEARLY_EIGHTEEN_PNR)
        eighteen = datetime(2026, 9, 1, tzinfo=SWEDISH_TIME)
        with pytest.raises(InvalidInputError) as e:
            ask(rt, child, eighteen + timedelta(days=1))
        assert e.value.field == "valid_until"
        ask(rt, child)
        (usual,) = rt.hub.consent_overview(staff(BK), child)
        assert usual.valid_until == eighteen
    finally:
        rt.close()

