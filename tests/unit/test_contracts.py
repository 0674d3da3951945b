"""The published language: what agencies build against must hold its promises."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import jsonschema
import pytest
from pydantic import ValidationError

from adapters.deliveries import ERASURE_TYPE, REMINDER_TYPE, REVOCATION_TYPE, LogEntry, UnitRecipient, plan_deliveries
from consent import ChildFacts, PolicyRules
from contracts.events import CATEGORY_KEY, ENVELOPE_FIELDS, EVENT_TYPES, Actor, Event, RecordErased, parse_event
from contracts.labels import LABELS, label, label_key
from contracts.notices import NOTICE_TYPES, ConsentRevoked, Digest, RecordErasedNotice, parse_notice
from contracts.schemas import INDEX_FILE, VOCABULARY_FILE, export_schemas
from contracts.vocabulary import COMPASS, AgeGroup, Area, Category, Role, UnitKind, age_group_for
from hub.domain.child import Recorded
from hub.runtime.bootstrap import Runtime
from hub.runtime.relay import facts_reader, log_reader, unit_keys
from tests.conftest import family, register_child
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, TENANT, card_payload, conversation_payload, staff

ALL_EVENTS = sorted(EVENT_TYPES.items())


def _envelope() -> dict[str, Any]:
    return {
        "event_id": str(uuid4()),
        "tenant_id": "ystad",
        "child_id": str(uuid4()),
        "occurred_at": "2026-03-02T09:00:00+00:00",
        "actor": {"user_id": "larare.ostra", "unit_id": "skola-ostra", "role": "discoverer"},
    }


def _logged_facts(rt: Runtime) -> list[Event]:
    notifications = rt.hub.recorder.select_notifications(1, 1000)
    return [rt.hub.mapper.to_domain_event(n).fact for n in notifications]


@pytest.fixture
def logged(memory_runtime: Runtime) -> list[Event]:
    """Facts as the hub really records them: a registration, a card and a read."""
    child_id = register_child(memory_runtime)
    memory_runtime.hub.submit_discovery_card(staff("larare.ostra"), child_id, **card_payload())
    memory_runtime.hub.read_child(staff("larare.ostra"), child_id, purpose="check")
    return _logged_facts(memory_runtime)


@pytest.mark.parametrize(("type_name", "event"), ALL_EVENTS)
def test_every_field_beyond_the_envelope_declares_its_information_category(type_name: str, event: type[Event]) -> None:
    payload_fields = set(event.model_fields) - ENVELOPE_FIELDS
    categories = event.field_categories()
    assert set(categories) == payload_fields
    assert all(isinstance(c, Category) for c in categories.values())


@pytest.mark.parametrize(("type_name", "event"), ALL_EVENTS)
def test_every_event_refuses_a_field_it_does_not_know(type_name: str, event: type[Event]) -> None:
    with pytest.raises(ValidationError) as caught:
        event.model_validate({**_envelope(), "nickname": "x"})
    assert any(e["type"] == "extra_forbidden" and e["loc"] == ("nickname",) for e in caught.value.errors())


@pytest.mark.parametrize(("type_name", "event"), ALL_EVENTS)
def test_every_event_carries_schema_version_one_and_refuses_another(type_name: str, event: type[Event]) -> None:
    assert event.model_fields["schema_version"].default == 1
    with pytest.raises(ValidationError) as caught:
        event.model_validate({**_envelope(), "schema_version": 2})
    assert any(e["loc"] == ("schema_version",) for e in caught.value.errors())


@pytest.mark.parametrize(("type_name", "event"), ALL_EVENTS)
def test_every_event_is_frozen(type_name: str, event: type[Event]) -> None:
    assert event.model_config.get("frozen") is True
    assert event.model_config.get("extra") == "forbid"


def test_a_recorded_event_cannot_be_changed_after_the_fact(logged: list[Event]) -> None:
    registered = logged[0]
    with pytest.raises(ValidationError):
        registered.given_name = "Someone else"  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        registered.withheld_from_guardians = True


@pytest.mark.parametrize(("type_name", "event"), ALL_EVENTS)
def test_event_type_names_are_fixed_class_names(type_name: str, event: type[Event]) -> None:
    assert type_name == event.type_name == f"backa.v1.{event.__name__}"
    assert re.fullmatch(r"backa\.v1\.[A-Z][A-Za-z]+", type_name)
    assert "type_name" not in event.model_fields  # a class constant, never a value a caller sets


def test_the_stored_topic_names_what_happened_never_to_whom(memory_runtime: Runtime, logged: list[Event]) -> None:
    registered = logged[0]
    mapper = memory_runtime.hub.mapper
    topic = mapper.to_stored_event(Recorded(registered.child_id, 1, registered.occurred_at, registered)).topic
    assert topic == "backa.v1.ChildRegistered"
    for personal in ("Alva", "Lind", CHILD_PNR, CHILD_PNR[2:8], str(registered.child_id)):
        assert personal not in topic


def test_the_compass_has_eight_areas_each_with_labels_definition_and_need_statements() -> None:
    assert set(COMPASS) == set(Area) and len(Area) == 8
    for area, description in COMPASS.items():
        assert description.area is area
        assert description.label_sv.strip() and description.label_en.strip()
        assert len(description.definition_sv) > 20
        assert description.need_statements_sv, f"{area.value} has no need statement"
        assert all(s.strip() for s in description.need_statements_sv)
    assert {d.label_sv for d in COMPASS.values()} == {
        "Trygghet", "Hälsa", "Utvecklas", "Omvårdad", "Fritid", "Respekteras", "Ansvarstagande", "Tillhörighet",
    }


def test_every_labelled_term_has_one_name_in_each_language_and_its_own_message_id() -> None:
    keys = []
    for kind, (prefix, names) in LABELS.items():
        assert set(names) == set(kind), f"every {kind.__name__} is named"
        for term, name in names.items():
            assert name.sv.strip() and name.en.strip(), term
            assert label_key(term) == f"{prefix}:{term.value}"
            keys.append(label_key(term))
    assert len(keys) == len(set(keys)), "no two terms share a message id"
    assert label_key(Category.POLICE) != label_key(UnitKind.POLICE), "equal values of different kinds stay apart"
    assert label(Category.HEALTH, "sv") != label(Area.HALSA, "sv")


AGE_GROUP_ROWS = {
    "a newborn": (0, AgeGroup.AGE_0_3),
    "three, the last year of the youngest guide": (3, AgeGroup.AGE_0_3),
    "four": (4, AgeGroup.AGE_4_6),
    "six": (6, AgeGroup.AGE_4_6),
    "seven": (7, AgeGroup.AGE_7_9),
    "nine": (9, AgeGroup.AGE_7_9),
    "ten": (10, AgeGroup.AGE_10_12),
    "twelve": (12, AgeGroup.AGE_10_12),
    "thirteen": (13, AgeGroup.AGE_13_15),
    "fifteen": (15, AgeGroup.AGE_13_15),
    "sixteen": (16, AgeGroup.AGE_16_18),
    "eighteen": (18, AgeGroup.AGE_16_18),
    "nineteen still gets the oldest guide": (19, AgeGroup.AGE_16_18),
}


@pytest.mark.parametrize(("age", "group"), AGE_GROUP_ROWS.values(), ids=AGE_GROUP_ROWS.keys())
def test_each_age_has_the_conversation_guide_of_its_group(age: int, group: AgeGroup) -> None:
    assert age_group_for(age) is group
    low, high = (int(n) for n in group.value.split("-"))
    assert low <= age <= high or (group is AgeGroup.AGE_16_18 and age > high), "the group's name says its ages"


# -- the exported schemas ------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("schemas")
    export_schemas(folder)
    return folder


def _schema(folder: Path, type_name: str) -> dict[str, Any]:
    return json.loads((folder / f"{type_name}.schema.json").read_text(encoding="utf-8"))


def test_the_export_writes_one_valid_schema_per_event_with_id_and_title(exported: Path) -> None:
    index = json.loads((exported / INDEX_FILE).read_text(encoding="utf-8"))
    assert {e["type_name"] for e in index["events"]} == set(EVENT_TYPES)
    ids = set()
    for type_name in EVENT_TYPES:
        schema = _schema(exported, type_name)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"] == type_name
        assert schema["$id"].endswith(f"{type_name}.schema.json")
        ids.add(schema["$id"])
    assert len(ids) == len(EVENT_TYPES)


@pytest.mark.parametrize(("type_name", "event"), ALL_EVENTS)
def test_each_exported_field_names_the_category_it_carries(exported: Path, type_name: str, event: type[Event]) -> None:
    properties = _schema(exported, type_name)["properties"]
    declared = {name: c.value for name, c in event.field_categories().items()}
    assert {name: properties[name][CATEGORY_KEY] for name in declared} == declared
    assert not any(CATEGORY_KEY in properties[name] for name in ENVELOPE_FIELDS)


def test_facts_the_hub_records_validate_against_their_exported_schemas_and_parse_back(exported: Path, logged: list[Event]) -> None:
    assert {f.type_name for f in logged} >= {"backa.v1.ChildRegistered", "backa.v1.DiscoveryCardSubmitted", "backa.v1.InformationAccessed"}
    for fact in logged:
        document = json.loads(fact.model_dump_json())
        jsonschema.validate(document, _schema(exported, fact.type_name), cls=jsonschema.Draft202012Validator)
        assert parse_event(fact.type_name, json.dumps(document)) == fact


def test_a_tampered_fact_fails_its_exported_schema(exported: Path, logged: list[Event]) -> None:
    card = next(f for f in logged if f.type_name == "backa.v1.DiscoveryCardSubmitted")
    schema = _schema(exported, card.type_name)
    validator = jsonschema.Draft202012Validator(schema)
    good = json.loads(card.model_dump_json())

    unknown_field = {**good, "shoe_size": 38}
    wrong_type = {**good, "guardians_informed": "yes"}
    unknown_area = {**good, "unmet_needs": [{**good["unmet_needs"][0], "area": "lycka"}]}
    no_child = {k: v for k, v in good.items() if k != "child_id"}
    for tampered in (unknown_field, wrong_type, unknown_area, no_child):
        assert list(validator.iter_errors(tampered)), tampered.keys()
    assert not list(validator.iter_errors(good))


def test_the_vocabulary_schema_publishes_the_compass_with_both_languages(exported: Path) -> None:
    vocabulary = json.loads((exported / VOCABULARY_FILE).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(vocabulary)
    areas = {entry["const"]: entry for entry in vocabulary["$defs"]["Area"]["oneOf"]}
    assert set(areas) == {a.value for a in Area}
    for area, entry in areas.items():
        description = COMPASS[Area(area)]
        assert entry["x-label-sv"] == description.label_sv
        assert entry["x-label-en"] == description.label_en
        assert entry["x-definition-sv"] == description.definition_sv
        assert entry["x-need-statements-sv"] == list(description.need_statements_sv)
    for term in ("Role", "UnitKind", "Category", "LegalBasis", "Decision", "HomeVisit"):
        assert vocabulary["$defs"][term]["oneOf"], term
    assert [v["const"] for v in vocabulary["$defs"]["HomeVisit"]["oneOf"]] == [1, 2, 3, 4, 5, 6]
    area_schema = {"$defs": vocabulary["$defs"], "$ref": "#/$defs/Area"}
    jsonschema.validate("trygghet", area_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("lycka", area_schema)


# -- the notices the relay publishes beside the facts --------------------------------------


def test_the_export_includes_every_notice_and_the_digest_the_relay_publishes(exported: Path) -> None:
    index = json.loads((exported / INDEX_FILE).read_text(encoding="utf-8"))
    assert set(NOTICE_TYPES) == {REVOCATION_TYPE, ERASURE_TYPE, REMINDER_TYPE}
    assert {n["type_name"] for n in index["notices"]} == {*NOTICE_TYPES, Digest.type_name}
    for entry in index["notices"]:
        schema = json.loads((exported / entry["file"]).read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"] == schema["x-type-name"] == entry["type_name"]
        assert schema["additionalProperties"] is False, "a notice refuses what it does not declare"


def _revocation_sent_by_the_relay(rt: Runtime) -> dict[str, Any]:
    """A real withdrawal, planned as the relay plans it: the notice the school's pupil health gets."""
    hub = rt.hub
    child = register_child(rt)
    assert isinstance(child, UUID)
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")
    hub.hold_conversation(staff("rektor.ostra"), child, **conversation_payload())
    consent = hub.request_consent(
        staff("rektor.ostra"), child, recipients=[{"unit_id": "elevhalsa-ostra"}], categories=["needs"], purpose="Samordning"
    )
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child, consent)
    hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    withdrawal = log_reader(hub)(hub.log_length() - 1, 1)[0]
    facts_for = facts_reader(hub)
    recipients, _ = unit_keys(hub.directory, Path("/nonexistent"))
    planned = plan_deliveries(
        withdrawal, recipients, facts_for(TENANT, child, None), hub.now(), hub.rules,
        facts_before=facts_for(TENANT, child, withdrawal.version - 1),
    )
    (notice,) = [d for d in planned if d.type_name == REVOCATION_TYPE]
    return notice.body


def _erasure_sent_by_the_relay() -> dict[str, Any]:
    fact = RecordErased(
        event_id=uuid4(), tenant_id=TENANT, child_id=uuid4(), occurred_at="2026-03-02T09:00:00+00:00",  # type: ignore[arg-type]
        actor=Actor(user_id="admin.ystad", role=Role.TENANT_ADMIN), reason="Registrerad av misstag",
    )
    facts = ChildFacts(TENANT, fact.child_id, fact.occurred_at.date(), erased=True)
    (notice,) = plan_deliveries(
        LogEntry(7, 3, fact), [UnitRecipient(TENANT, "skola-ostra", UnitKind.SCHOOL)], facts, fact.occurred_at, PolicyRules()
    )
    return notice.body


def test_the_notices_the_relay_sends_validate_against_their_exported_schemas(exported: Path, memory_runtime: Runtime) -> None:
    sent = {REVOCATION_TYPE: _revocation_sent_by_the_relay(memory_runtime), ERASURE_TYPE: _erasure_sent_by_the_relay()}
    assert sent[REVOCATION_TYPE]["categories"] == ["needs"]
    for type_name, body in sent.items():
        schema = _schema(exported, type_name)
        document = json.loads(json.dumps(body))  # as the unit reads it off the wire
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
        assert parse_notice(type_name, document).body() == body
    assert isinstance(parse_notice(REVOCATION_TYPE, sent[REVOCATION_TYPE]), ConsentRevoked)
    assert isinstance(parse_notice(ERASURE_TYPE, sent[ERASURE_TYPE]), RecordErasedNotice)


def test_a_notice_with_a_field_it_does_not_declare_fails_its_schema_and_its_model(exported: Path) -> None:
    body = _erasure_sent_by_the_relay()
    tampered = {**body, "reason": "Registrerad av misstag"}
    assert list(jsonschema.Draft202012Validator(_schema(exported, ERASURE_TYPE)).iter_errors(tampered))
    with pytest.raises(ValidationError):
        parse_notice(ERASURE_TYPE, tampered)
    with pytest.raises(ValidationError):
        RecordErasedNotice.model_validate(body).__setattr__("child_id", uuid4())
