"""The rate limits' rules on a counter in memory, timed by the hub's clock: how many
attempts pass, what the refusal says, when the next passes, and what counts apart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.errors import TooManyAttemptsError
from hub.identity.limit_stores import MemoryLimitStorage
from hub.identity.throttle import LimitRules, Throttle, rate
from hub.runtime.clock import SettableClock
from tests.factories import staff

RULES = LimitRules(rate("5/minute"), rate("3/minute"), rate("4/minute"))


@pytest.fixture
def throttle(clock: SettableClock) -> Throttle:
    return Throttle(MemoryLimitStorage(clock), clock, RULES)


def test_sign_ins_from_one_address_pass_up_to_the_limit_then_are_refused_with_the_wait(
    throttle: Throttle, clock: SettableClock
) -> None:
    for _ in range(5):
        throttle.sign_in("192.0.2.1")
    clock.advance(timedelta(seconds=20))

    with pytest.raises(TooManyAttemptsError) as refused:
        throttle.sign_in("192.0.2.1")

    assert refused.value.retry_after == 40
    assert "192.0.2.1" not in refused.value.detail


def test_the_next_window_lets_sign_ins_through_again(throttle: Throttle, clock: SettableClock) -> None:
    for _ in range(5):
        throttle.sign_in("192.0.2.1")
    with pytest.raises(TooManyAttemptsError):
        throttle.sign_in("192.0.2.1")

    clock.advance(timedelta(minutes=1))

    throttle.sign_in("192.0.2.1")


def test_addresses_subjects_and_refused_tokens_are_counted_apart(throttle: Throttle) -> None:
    for _ in range(5):
        throttle.sign_in("192.0.2.1")
    throttle.sign_in("192.0.2.2")
    for _ in range(4):
        throttle.token_failed("192.0.2.1")
    for _ in range(3):
        throttle.session_for(staff("rektor.ostra"))
    throttle.session_for(staff("larare.ostra"))

    with pytest.raises(TooManyAttemptsError):
        throttle.token_failed("192.0.2.1")
    with pytest.raises(TooManyAttemptsError):
        throttle.session_for(staff("rektor.ostra"))


def test_the_counters_keep_neither_the_address_nor_the_user(clock: SettableClock) -> None:
    storage = MemoryLimitStorage(clock)
    throttle = Throttle(storage, clock, RULES)
    throttle.sign_in("192.0.2.1")
    throttle.session_for(staff("rektor.ostra"))

    keys = " ".join(storage._counts)  # noqa: SLF001 - what is kept is what this test is about

    assert "192.0.2.1" not in keys and "rektor.ostra" not in keys


@pytest.mark.parametrize("text", ["", "many", "5/fortnight", "-1/minute"])
def test_a_limit_that_is_not_a_rate_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        rate(text)
