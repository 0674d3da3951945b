"""JSON Schemas of the published language, for agencies that build against the hub.

One schema per published event (named by its type, e.g.
``backa.v1.DiscoveryCardSubmitted.schema.json``), each field beyond the envelope
annotated with the information category it carries (``x-category``); one per notice
the relay publishes beside the facts (``backa.v1.ConsentRevoked``,
``backa.v1.RecordErasedNotice``); a vocabulary
schema with the model's own words (the compass areas with their definitions and need
statements, roles, unit kinds, categories, legal bases, decisions, home visits and review
outcomes, each with its Swedish and English names from :mod:`contracts.labels`); and an
``index.json`` listing them all.

This module imports nothing of the hub beyond ``contracts``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.delivery_reports import REPORT_TYPES
from contracts.events import CATEGORY_KEY, ENVELOPE_FIELDS, EVENT_TYPES, Event
from contracts.indicators import INDICATORS, SCALE
from contracts.labels import label_of
from contracts.notices import PUBLISHED_TYPES, Published
from contracts.vocabulary import (
    CENTRAL_GOAL_EN,
    CENTRAL_GOAL_SV,
    COMPASS,
    CONSENTABLE_CATEGORIES,
    FIVE_QUESTIONS_SV,
    STAFF_ROLES,
    UNIT_KIND_PRINCIPAL,
    ActionStatus,
    AgeGroup,
    Area,
    CardKind,
    Category,
    ConversationWith,
    Decision,
    HomeVisit,
    LegalBasis,
    PartyKind,
    Principal,
    ReviewOutcome,
    Role,
    UnitKind,
)

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_BASE_URI = "https://backa.invalid/schemas/v1/"
VOCABULARY_FILE = "vocabulary.schema.json"
INDEX_FILE = "index.json"


def schema_id(name: str, base_uri: str = DEFAULT_BASE_URI) -> str:
    return f"{base_uri}{name}"


def event_file_name(event: type[Event | Published]) -> str:
    return f"{event.type_name}.schema.json"


def event_schema(event: type[Event], base_uri: str = DEFAULT_BASE_URI) -> dict[str, Any]:
    """The JSON Schema of one published event, as pydantic builds it, with its identity."""
    generated = event.model_json_schema(mode="validation")
    categories = event.field_categories()
    envelope = sorted(ENVELOPE_FIELDS)
    schema: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(event_file_name(event), base_uri),
        "title": event.type_name,
        **{k: v for k, v in generated.items() if k != "title"},
        "x-type-name": event.type_name,
        "x-schema-version": event.model_fields["schema_version"].default,
        "x-envelope-fields": envelope,
        "x-carried-categories": sorted({c.value for c in categories.values()}),
    }
    if "description" not in schema:
        schema["description"] = f"The published event {event.type_name}."
    for name, category in categories.items():
        prop = schema["properties"][name]
        if prop.get(CATEGORY_KEY) != category.value:  # pydantic puts it there; keep it exact
            prop[CATEGORY_KEY] = category.value
    return schema


def notice_schema(notice: type[Published], base_uri: str = DEFAULT_BASE_URI) -> dict[str, Any]:
    """The JSON Schema of one notice the relay publishes, as pydantic builds it."""
    generated = notice.model_json_schema(mode="validation")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(event_file_name(notice), base_uri),
        "title": notice.type_name,
        **{k: v for k, v in generated.items() if k != "title"},
        "x-type-name": notice.type_name,
        "x-schema-version": notice.model_fields["schema_version"].default,
    }


def _term(term: Any, const: Any = None) -> dict[str, Any]:
    """One term as a ``const`` with its names (:mod:`contracts.labels`) as annotations."""
    name = label_of(term)
    entry: dict[str, Any] = {"const": term.value if const is None else const, "title": name.sv}
    if name.description:
        entry["description"] = name.description
    return {**entry, "x-label-sv": name.sv, "x-label-en": name.en}


def _one_of(entries: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"oneOf": entries, **extra}


def vocabulary_schema(base_uri: str = DEFAULT_BASE_URI) -> dict[str, Any]:
    """The model's words as a JSON Schema: each term a ``const`` with its labels as annotations."""
    areas = [
        {
            "const": d.area.value,
            "title": d.label_sv,
            "description": d.definition_sv,
            "x-label-sv": d.label_sv,
            "x-label-en": d.label_en,
            "x-girfec": d.girfec,
            "x-colour": d.colour,
            "x-definition-sv": d.definition_sv,
            "x-need-statements-sv": list(d.need_statements_sv),
        }
        for d in (COMPASS[a] for a in Area)
    ]
    roles = [{**_term(r), "x-staff-role": r in STAFF_ROLES} for r in Role]
    unit_kinds = [{**_term(k), "x-principal": UNIT_KIND_PRINCIPAL[k].value} for k in UnitKind]
    principals = [_term(p) for p in Principal]
    categories = [{**_term(c), "x-consentable": c in CONSENTABLE_CATEGORIES} for c in Category]
    bases = [_term(b) for b in LegalBasis]
    decisions = [_term(d) for d in Decision]
    visits = [_term(v, const=int(v)) for v in HomeVisit]
    outcomes = [_term(o) for o in ReviewOutcome]
    indicators = [
        {
            **_term(d.indicator),
            "x-area": d.area.value,
            "x-age-groups": [g.value for g in AgeGroup if g in d.age_groups],
            "x-age-reason": d.age_reason,
            "x-source-sv": d.source_sv,
        }
        for d in INDICATORS.values()
    ]

    def plain(enum: Any, description: str) -> dict[str, Any]:
        return {"type": "string", "enum": [m.value for m in enum], "description": description}

    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(VOCABULARY_FILE, base_uri),
        "title": "Backa barnet: the vocabulary",
        "description": (
            "The words of the Backa barnet model as the hub publishes them. Each term is a const with "
            "its Swedish and English labels as annotations."
        ),
        "x-central-goal-sv": CENTRAL_GOAL_SV,
        "x-central-goal-en": CENTRAL_GOAL_EN,
        "x-five-questions-sv": list(FIVE_QUESTIONS_SV),
        "$defs": {
            "Area": _one_of(areas, type="string", description="The eight areas of Behovskompassen around the central goal."),
            "Role": _one_of(roles, type="string", description="Who a person is in the model."),
            "UnitKind": _one_of(unit_kinds, type="string", description="The kinds of agency (verksamhet) that take part."),
            "Principal": _one_of(principals, type="string", description="Huvudman: the three principals of a cooperation area."),
            "Category": _one_of(categories, type="string", description="Information categories: what consent and the law are given for."),
            "LegalBasis": _one_of(bases, type="string", description="Why a viewer may see a piece of information."),
            "Decision": _one_of(decisions, type="string", description="The three decisions after a child conversation."),
            "HomeVisit": _one_of(visits, type="integer", description="The six visits of the extended home-visit programme."),
            "ReviewOutcome": _one_of(outcomes, type="string", description="An auditor's finding on reviewed reads (loggkontroll)."),
            "Indicator": _one_of(
                indicators,
                type="string",
                description=(
                    f"The rating form's indicators, each scored {SCALE[0]} (the need far from met) to {SCALE[-1]} "
                    "(fully met) or left blank (not known), and asked only in its age groups."
                ),
            ),
            "CardKind": plain(CardKind, "Whether a discovery card comes from the Barnkontakt's own organisation."),
            "ConversationWith": plain(ConversationWith, "Whom a conversation was held with."),
            "AgeGroup": plain(AgeGroup, "The conversation guides (samtalsunderlag) by age."),
            "ActionStatus": plain(ActionStatus, "Where a plan action stands."),
            "PartyKind": plain(PartyKind, "Who answers a consent request."),
        },
    }


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def export_schemas(folder: Path, base_uri: str = DEFAULT_BASE_URI) -> list[Path]:
    """Write every event's and every notice's schema, the vocabulary schema and an index
    into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    entries = []
    for type_name in sorted(EVENT_TYPES):
        event = EVENT_TYPES[type_name]
        schema = event_schema(event, base_uri)
        written.append(_write(folder / event_file_name(event), schema))
        entries.append(
            {
                "type_name": type_name,
                "file": event_file_name(event),
                "$id": schema["$id"],
                "schema_version": schema["x-schema-version"],
                "categories": schema["x-carried-categories"],
                "description": schema["description"],
            }
        )
    notices = []
    for type_name in sorted(PUBLISHED_TYPES):
        notice = PUBLISHED_TYPES[type_name]
        schema = notice_schema(notice, base_uri)
        written.append(_write(folder / event_file_name(notice), schema))
        notices.append(
            {
                "type_name": type_name,
                "file": event_file_name(notice),
                "$id": schema["$id"],
                "schema_version": schema["x-schema-version"],
                "description": schema["description"],
            }
        )
    reports = []
    for report in sorted(REPORT_TYPES.values(), key=lambda r: r.type_name):  # from the agencies to the hub
        schema = notice_schema(report, base_uri)
        written.append(_write(folder / event_file_name(report), schema))
        reports.append(
            {"type_name": report.type_name, "file": event_file_name(report), "$id": schema["$id"], "description": schema["description"]}
        )
    vocabulary = vocabulary_schema(base_uri)
    written.append(_write(folder / VOCABULARY_FILE, vocabulary))
    index = {
        "title": "Backa barnet hub: published schemas",
        "dialect": JSON_SCHEMA_DIALECT,
        "base_uri": base_uri,
        "events": entries,
        "notices": notices,
        "reports": reports,
        "vocabulary": {"file": VOCABULARY_FILE, "$id": vocabulary["$id"]},
    }
    written.append(_write(folder / INDEX_FILE, index))
    return written


__all__ = [
    "DEFAULT_BASE_URI",
    "INDEX_FILE",
    "VOCABULARY_FILE",
    "event_schema",
    "export_schemas",
    "notice_schema",
    "vocabulary_schema",
]
