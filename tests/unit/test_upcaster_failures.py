"""A step that fails while bringing a stored fact up is the fact's unreadability like any
other: it is raised as a schema version error naming the type and versions, without the
step's own message (which may quote a value of the fact, a child's name), so the views
and the relay stop on it as they stop on any unreadable fact. And no step can change
the fact it was given, however deep it reaches into it."""

from __future__ import annotations

import traceback
from typing import Any

import pytest

from contracts.upcasting import SchemaVersionError, Upcaster, UpcasterError, upcast, upcaster

SECRET = "Alva Andersson"


def _steps(step: Upcaster) -> dict[tuple[str, int], Upcaster]:
    steps: dict[tuple[str, int], Upcaster] = {}
    upcaster("backa.v1.Noted", 1, into=steps)(step)
    return steps


def test_a_step_that_fails_is_a_schema_version_error_that_quotes_nothing_of_the_fact() -> None:
    def failing(fact: dict[str, Any]) -> dict[str, Any]:
        raise ValueError(f"cannot split the name {fact['name']!r}")

    with pytest.raises(SchemaVersionError) as refused:
        upcast("backa.v1.Noted", {"schema_version": 1, "name": SECRET}, 2, _steps(failing))
    assert isinstance(refused.value, UpcasterError)
    assert str(refused.value) == "the upcaster of backa.v1.Noted from schema version 1 failed (ValueError)"
    shown = "".join(traceback.format_exception(refused.value))
    assert SECRET not in shown


def test_a_step_cannot_change_the_stored_fact_it_was_given_even_deep_inside() -> None:
    def reaching_in(fact: dict[str, Any]) -> dict[str, Any]:
        fact["parts"].append("new")
        fact["who"]["name"] = "changed"
        return {**fact, "schema_version": 2}

    stored = {"schema_version": 1, "parts": ["old"], "who": {"name": SECRET}}
    brought = upcast("backa.v1.Noted", stored, 2, _steps(reaching_in))
    assert brought["parts"] == ["old", "new"]
    assert stored == {"schema_version": 1, "parts": ["old"], "who": {"name": SECRET}}
