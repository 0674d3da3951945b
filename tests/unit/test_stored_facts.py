"""Every fact ever stored must still load: the frozen stored facts of every event type and
version are read through the storage mapper into today's contracts, and a stored version
that cannot be brought up fails closed with an error that shows no value of the fact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal
from uuid import uuid4

import pytest
from eventsourcing.persistence import JSONTranscoder, StoredEvent

from contracts.events import EVENT_TYPES, FeedbackSent
from contracts.upcasting import (
    MissingUpcasterError,
    SchemaVersionError,
    UnknownSchemaVersionError,
    UpcasterError,
    upcast,
    upcaster,
)
from hub.keys.sealing import FactMapper
from hub.keys.stored_form import StoredContracts, StoredFactError, current_version
from tests.stored_facts import freeze as frozen
from tests.stored_facts.freeze import frozen_files, frozen_path, type_name_of

FROZEN = frozen_files()


def _stored(type_name: str, state: bytes) -> StoredEvent:
    return StoredEvent(originator_id=uuid4(), originator_version=1, topic=type_name, state=state)


def test_the_folder_holds_stored_facts() -> None:
    assert len(FROZEN) >= len(EVENT_TYPES)


@pytest.mark.parametrize("path", FROZEN, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_frozen_stored_fact_loads_through_the_mapper_into_today_s_contract(path: Path) -> None:
    type_name = type_name_of(path)
    state = path.read_bytes()
    fact = FactMapper(JSONTranscoder()).to_domain_event(_stored(type_name, state)).fact
    assert type(fact) is EVENT_TYPES[type_name]
    assert fact.schema_version == current_version(EVENT_TYPES[type_name])
    assert path.read_bytes() == state  # read, never rewritten


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_event_type_has_a_frozen_stored_fact_of_every_version(type_name: str) -> None:
    """A new event type, or a new version of one, adds its file (``python -m tests.stored_facts.freeze``)."""
    for version in range(1, current_version(EVENT_TYPES[type_name]) + 1):
        assert frozen_path(type_name, version).is_file(), f"no stored {type_name} of version {version} is frozen"


def test_the_freeze_writes_only_what_is_missing_and_never_over_a_frozen_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frozen, "FOLDER", tmp_path)
    (tmp_path / "v1").mkdir()
    for type_name in EVENT_TYPES:
        if type_name != FeedbackSent.type_name:
            frozen_path(type_name).write_bytes(b"kept as it was")
    written = frozen.freeze()
    assert written == [tmp_path / "v1" / "FeedbackSent.json"]
    fact = FactMapper(JSONTranscoder()).to_domain_event(_stored(FeedbackSent.type_name, written[0].read_bytes())).fact
    assert isinstance(fact, FeedbackSent)
    assert {p.read_bytes() for p in frozen_files() if p.stem != "FeedbackSent"} == {b"kept as it was"}
    assert frozen.freeze() == []


# -- failing closed -------------------------------------------------------------------------

SECRET = "Vi har pratat med mamma om pappas missbruk"


def _feedback_state(version: object) -> bytes:
    state = json.loads(frozen_path(FeedbackSent.type_name, 1).read_bytes())
    state["fact"]["schema_version"] = version
    state["fact"]["message"] = SECRET
    return json.dumps(state).encode()


@pytest.mark.parametrize("version", [2, 99, 0, "1", None])
def test_a_stored_version_the_contract_does_not_know_fails_closed_without_showing_the_fact(version: object) -> None:
    with pytest.raises(UnknownSchemaVersionError) as caught:
        FactMapper(JSONTranscoder()).to_domain_event(_stored(FeedbackSent.type_name, _feedback_state(version)))
    message = str(caught.value)
    assert FeedbackSent.type_name in message and "this release reads versions 1 to 1" in message
    assert SECRET not in message and SECRET not in repr(caught.value.args)
    assert caught.value.__context__ is None  # no validation error, which shows the values, rides along


class FeedbackSentV2(FeedbackSent):
    schema_version: Literal[2] = 2  # type: ignore[assignment]


class FeedbackSentV3(FeedbackSent):
    """A contract two versions on, with the step from 2 to 3 alone."""

    schema_version: Literal[3] = 3  # type: ignore[assignment]


def test_a_missing_step_fails_closed_naming_the_version_without_one() -> None:
    steps = {(FeedbackSent.type_name, 2): lambda f: {**f, "schema_version": 3}}
    mapper = FactMapper(JSONTranscoder())
    mapper.contracts = StoredContracts({**EVENT_TYPES, FeedbackSent.type_name: FeedbackSentV3}, steps)
    with pytest.raises(MissingUpcasterError) as caught:
        mapper.to_domain_event(_stored(FeedbackSent.type_name, _feedback_state(1)))
    assert "schema version 1 and no upcaster reads that version (the contract is at 3)" in str(caught.value)
    assert SECRET not in str(caught.value)
    # with the step from 1 too, it loads
    steps[(FeedbackSent.type_name, 1)] = lambda f: {**f, "schema_version": 2}
    fact = mapper.to_domain_event(_stored(FeedbackSent.type_name, _feedback_state(1))).fact
    assert isinstance(fact, FeedbackSentV3) and fact.schema_version == 3 and fact.message == SECRET


def test_a_step_that_does_not_raise_the_version_by_one_is_refused() -> None:
    steps = {("backa.v1.X", 1): lambda f: {**f, "schema_version": 3}}
    with pytest.raises(UpcasterError, match="did not give version 2"):
        upcast("backa.v1.X", {"schema_version": 1}, 3, steps)


def test_the_steps_are_pure_the_stored_object_is_left_as_it_was() -> None:
    def step(fact: dict[str, object]) -> dict[str, object]:
        fact["schema_version"] = 2
        fact["text"] = fact.pop("message")
        return fact

    stored = {"schema_version": 1, "message": "hej"}
    assert upcast("backa.v1.X", stored, 2, {("backa.v1.X", 1): step}) == {"schema_version": 2, "text": "hej"}
    assert stored == {"schema_version": 1, "message": "hej"}


def test_a_second_step_from_the_same_version_is_refused() -> None:
    steps: dict[tuple[str, int], object] = {}
    upcaster("backa.v1.X", 1, into=steps)(lambda f: f)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already has a step"):
        upcaster("backa.v1.X", 1, into=steps)(lambda f: f)  # type: ignore[arg-type]


def test_an_invalid_fact_of_today_s_version_names_the_field_and_never_its_value() -> None:
    state = json.loads(frozen_path(FeedbackSent.type_name, 1).read_bytes())
    state["fact"]["message"] = SECRET * 200  # too long
    with pytest.raises(StoredFactError) as caught:
        FactMapper(JSONTranscoder()).to_domain_event(_stored(FeedbackSent.type_name, json.dumps(state).encode()))
    assert str(caught.value) == "a stored backa.v1.FeedbackSent does not hold to its contract: fact.message (string_too_long)"
    assert caught.value.__context__ is None and not isinstance(caught.value, SchemaVersionError)


def test_an_upcast_fact_that_does_not_hold_names_the_field_and_never_its_value() -> None:
    steps = {(FeedbackSent.type_name, 1): lambda f: {**f, "schema_version": 2, "message": ""}}
    mapper = FactMapper(JSONTranscoder())
    mapper.contracts = StoredContracts({**EVENT_TYPES, FeedbackSent.type_name: FeedbackSentV2}, steps)
    with pytest.raises(StoredFactError, match=r"fact.message \(string_too_short\)$") as caught:
        mapper.to_domain_event(_stored(FeedbackSent.type_name, _feedback_state(1)))
    assert SECRET not in str(caught.value) and caught.value.__context__ is None


def test_bytes_that_are_no_stored_fact_at_all_fail_without_showing_them() -> None:
    with pytest.raises(StoredFactError, match="the state \\(json_invalid\\)") as caught:
        FactMapper(JSONTranscoder()).to_domain_event(_stored(FeedbackSent.type_name, SECRET.encode()))
    assert SECRET not in str(caught.value)
