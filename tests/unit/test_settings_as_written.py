"""A ``BACKA_*`` variable means exactly what it says, or the hub refuses to start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.runtime.settings import Settings

REFUSED = {
    "a digit group separator": ("BACKA_ADMISSION_IN_FLIGHT", "5_0"),
    "spaces around a number": ("BACKA_ADMISSION_IN_FLIGHT", " 5 "),
    "a fraction for a count": ("BACKA_ADMISSION_IN_FLIGHT", "3.0"),
    "non-ASCII digits": ("BACKA_ADMISSION_IN_FLIGHT", "٥"),
    "an exponent for seconds": ("BACKA_TOKEN_CHECK_SECONDS", "1_000e-3"),
    "scientific seconds": ("BACKA_REQUEST_DEADLINE_SECONDS", "1e-9"),
    "a word for a number": ("BACKA_REQUEST_DEADLINE_SECONDS", "fifteen"),
    "no for a yes/no": ("BACKA_ENCRYPT_LOG", "no"),
    "off for a yes/no": ("BACKA_ENCRYPT_LOG", "off"),
    "yes for a yes/no": ("BACKA_DEMO_MODE", "yes"),
    "an empty yes/no": ("BACKA_RECORD_READS", ""),
    "an empty number of an optional field": ("BACKA_WORKERS", ""),
}


@pytest.mark.parametrize("variable,value", REFUSED.values(), ids=REFUSED.keys())
def test_a_variable_written_loosely_is_refused_by_name(variable: str, value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({variable: value})
    (error,) = refused.value.errors(include_input=False)
    assert error["loc"] == (variable.removeprefix("BACKA_").lower(),)


def test_encryption_is_not_turned_off_by_a_word_that_only_sounds_like_no() -> None:
    with pytest.raises(ValidationError):
        Settings.from_env({"BACKA_ENCRYPT_LOG": "nej"})
    assert Settings.from_env({}).encrypt_log is True


def test_every_loosely_written_variable_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.from_env({"BACKA_ADMISSION_IN_FLIGHT": "5_0", "BACKA_ENCRYPT_LOG": "no"})
    assert {e["loc"] for e in refused.value.errors()} == {("admission_in_flight",), ("encrypt_log",)}


WRITTEN_PLAINLY = {
    "a whole number": ("BACKA_ADMISSION_IN_FLIGHT", "50", "admission_in_flight", 50),
    "seconds with a point": ("BACKA_REQUEST_DEADLINE_SECONDS", "2.5", "request_deadline_seconds", 2.5),
    "whole seconds": ("BACKA_REQUEST_DEADLINE_SECONDS", "3", "request_deadline_seconds", 3.0),
    "false": ("BACKA_ENCRYPT_LOG", "false", "encrypt_log", False),
    "0": ("BACKA_ENCRYPT_LOG", "0", "encrypt_log", False),
    "True": ("BACKA_DEMO_MODE", "True", "demo_mode", True),
    "1": ("BACKA_DEMO_MODE", "1", "demo_mode", True),
}


@pytest.mark.parametrize("variable,value,field,expected", WRITTEN_PLAINLY.values(), ids=WRITTEN_PLAINLY.keys())
def test_a_variable_written_plainly_is_read_as_written(variable: str, value: str, field: str, expected: object) -> None:
    assert getattr(Settings.from_env({variable: value}), field) == expected


DEADLINES_TOO_SHORT = {
    "a request deadline no request could meet": ("BACKA_REQUEST_DEADLINE_SECONDS", "0.000000001"),
    "a queue wait of nothing": ("BACKA_ADMISSION_QUEUE_SECONDS", "0.001"),
    "a token check of nothing": ("BACKA_TOKEN_CHECK_SECONDS", "0.01"),
    "a sign-in provider deadline of nothing": ("BACKA_OIDC_TIMEOUT_SECONDS", "0.01"),
}


@pytest.mark.parametrize("variable,value", DEADLINES_TOO_SHORT.values(), ids=DEADLINES_TOO_SHORT.keys())
def test_a_deadline_too_short_to_meet_is_refused(variable: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings.from_env({variable: value})
