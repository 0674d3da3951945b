"""JSON Schemas of the published language, for agencies that build against the hub.

One schema per published event (named by its type, e.g.
``backa.v1.DiscoveryCardSubmitted.schema.json``), each field beyond the envelope
annotated with the information category it carries (``x-category``); one per notice
the relay publishes beside the facts (``backa.v1.ConsentRevoked``,
``backa.v1.RecordErasedNotice``); a vocabulary
schema with the model's own words (the compass areas with their Swedish and English
labels, definitions and need statements, roles, unit kinds, categories, legal bases,
decisions and home visits); and an ``index.json`` listing them all.

This module imports nothing of the hub beyond ``contracts``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.events import CATEGORY_KEY, ENVELOPE_FIELDS, EVENT_TYPES, Event
from contracts.notices import NOTICE_TYPES, Notice
from contracts.vocabulary import (
    CENTRAL_GOAL_EN,
    CENTRAL_GOAL_SV,
    COMPASS,
    CONSENTABLE_CATEGORIES,
    FIVE_QUESTIONS_SV,
    HOME_VISIT_LABELS_SV,
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
    Role,
    UnitKind,
)

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_BASE_URI = "https://backa.invalid/schemas/v1/"
VOCABULARY_FILE = "vocabulary.schema.json"
INDEX_FILE = "index.json"

ROLE_LABELS: dict[Role, tuple[str, str, str]] = {
    Role.DISCOVERER: ("Upptäckare", "Discoverer", "Every adult who meets the child in their role; files a discovery card."),
    Role.BARNKONTAKT: (
        "Barnkontakt",
        "Child contact",
        "The family's one first contact: receives discovery cards, holds the child conversation, decides the next step.",
    ),
    Role.SUPPORT_COORDINATOR: (
        "Stödsamordnare",
        "Support coordinator",
        "Holds support from several agencies together and owns the child's plan in an individual child team.",
    ),
    Role.TEAM_MEMBER: ("Teammedlem", "Team member", "A member of a Barnteam or an individual child team."),
    Role.GUARDIAN: ("Vårdnadshavare", "Guardian", "Co-creator of the support; gives or withholds consent."),
    Role.CHILD: ("Barnet", "The child", "Co-creator of the support; answers consent requests from the set age."),
    Role.AUDITOR: ("Loggranskare", "Auditor", "Reviews who saw which information, when and on which basis."),
    Role.TENANT_ADMIN: ("Administratör", "Tenant administrator", "Administers one cooperation area."),
}

UNIT_KIND_LABELS: dict[UnitKind, tuple[str, str]] = {
    UnitKind.MIDWIFE_CLINIC: ("Barnmorskemottagning", "Midwife clinic"),
    UnitKind.BVC: ("Barnavårdscentral (BVC)", "Child health care"),
    UnitKind.PRESCHOOL: ("Förskola", "Preschool"),
    UnitKind.SCHOOL: ("Grundskola", "School"),
    UnitKind.PUPIL_HEALTH: ("Barn- och elevhälsan", "Pupil health"),
    UnitKind.SOCIAL_SERVICES: ("Socialtjänsten", "Social services"),
    UnitKind.POLICE: ("Polisen", "Police"),
    UnitKind.FIRST_LINE_PSYCHIATRY: ("Första linjen", "First-line psychiatry"),
    UnitKind.BUP: ("Barn- och ungdomspsykiatrin (BUP)", "Child and youth psychiatry"),
    UnitKind.HAB: ("Barn- och ungdomshabiliteringen (HAB)", "Habilitation"),
    UnitKind.YOUTH_CENTRE: ("Ungdomens hus", "Youth centre"),
}

PRINCIPAL_LABELS: dict[Principal, tuple[str, str]] = {
    Principal.MUNICIPALITY: ("Kommunen", "Municipality"),
    Principal.REGION: ("Regionen", "Region"),
    Principal.POLICE: ("Polisen", "Police"),
}

CATEGORY_LABELS: dict[Category, tuple[str, str]] = {
    Category.IDENTITY: ("Identitet", "Who the child and the guardians are: names, personnummer, custody."),
    Category.NEEDS: ("Behov", "Unmet needs per compass area, the five questions, advice and rationale."),
    Category.CONVERSATIONS: ("Samtal", "Child and guardian conversations and follow-ups."),
    Category.TEAM: ("Team", "Who holds the case: cards, Barnkontakt, decisions, meetings, coordinator."),
    Category.RATINGS: ("Skattningar", "Rating forms and the joint Behovskompass."),
    Category.PLAN: ("Barnets plan", "Goals per area, actions, responsible units and persons, views."),
    Category.HEALTH: ("Hälsa", "What health care shares, and home visits."),
    Category.POLICE: ("Polis", "What the police share."),
    Category.SOCIAL_SERVICES: ("Socialtjänst", "What social services share, and secrecy decisions."),
    Category.CONCERN_REPORT: ("Orosanmälan", "A concern report to social services; statutory, never consented."),
    Category.CONSENT: ("Samtycke", "Consent requests and every answer to them."),
    Category.ACCESS_LOG: ("Åtkomstlogg", "Who read the child's information, when and on which basis."),
}

LEGAL_BASIS_LABELS: dict[LegalBasis, tuple[str, str]] = {
    LegalBasis.CONSENT: ("Samtycke", "Every guardian with custody, and the child from the set age, has consented."),
    LegalBasis.OWN_RECORD: ("Egen dokumentation", "The unit's own documentation."),
    LegalBasis.SENT_TO_UNIT: ("Skickat till enheten", "Sent to the unit in the process: a card to its Barnkontakt, feedback to its discoverer."),
    LegalBasis.STATUTORY_CONCERN_REPORT: ("Anmälningsplikt", "A concern report to social services (SoL 14 kap. 1 §)."),
    LegalBasis.CUSTODY: ("Vårdnad", "A guardian's right to their child's information."),
    LegalBasis.DATA_SUBJECT: ("Egen information", "The child's own information."),
    LegalBasis.AUDIT_DUTY: ("Loggkontroll", "The duty to review the access log (PDL 4 kap. 3 §, GDPR art. 32)."),
}

DECISION_LABELS: dict[Decision, tuple[str, str]] = {
    Decision.OWN_SUPPORT: ("Eget stöd", "Own support"),
    Decision.BARNTEAM: ("Barnteam", "Child team"),
    Decision.INDIVIDUAL_TEAM: ("Individuellt barnteam", "Individual child team"),
}

HOME_VISIT_LABELS_EN: dict[HomeVisit, str] = {
    HomeVisit.RECEIVING_YOUR_CHILD: "Receiving your child",
    HomeVisit.GETTING_TO_KNOW_YOUR_CHILD: "Getting to know your child",
    HomeVisit.BEING_TOGETHER: "Being together",
    HomeVisit.LEADING_AND_FOLLOWING: "Leading and following",
    HomeVisit.MAKING_AN_EVERYDAY_LIFE: "Making an everyday life",
    HomeVisit.BEING_A_FAMILY: "Being a family",
}


def schema_id(name: str, base_uri: str = DEFAULT_BASE_URI) -> str:
    return f"{base_uri}{name}"


def event_file_name(event: type[Event | Notice]) -> str:
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


def notice_schema(notice: type[Notice], base_uri: str = DEFAULT_BASE_URI) -> dict[str, Any]:
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
    roles = [
        {
            "const": r.value,
            "title": ROLE_LABELS[r][0],
            "description": ROLE_LABELS[r][2],
            "x-label-sv": ROLE_LABELS[r][0],
            "x-label-en": ROLE_LABELS[r][1],
            "x-staff-role": r in STAFF_ROLES,
        }
        for r in Role
    ]
    unit_kinds = [
        {
            "const": k.value,
            "title": UNIT_KIND_LABELS[k][0],
            "x-label-sv": UNIT_KIND_LABELS[k][0],
            "x-label-en": UNIT_KIND_LABELS[k][1],
            "x-principal": UNIT_KIND_PRINCIPAL[k].value,
        }
        for k in UnitKind
    ]
    principals = [
        {"const": p.value, "title": PRINCIPAL_LABELS[p][0], "x-label-sv": PRINCIPAL_LABELS[p][0], "x-label-en": PRINCIPAL_LABELS[p][1]}
        for p in Principal
    ]
    categories = [
        {
            "const": c.value,
            "title": CATEGORY_LABELS[c][0],
            "description": CATEGORY_LABELS[c][1],
            "x-label-sv": CATEGORY_LABELS[c][0],
            "x-consentable": c in CONSENTABLE_CATEGORIES,
        }
        for c in Category
    ]
    bases = [
        {
            "const": b.value,
            "title": LEGAL_BASIS_LABELS[b][0],
            "description": LEGAL_BASIS_LABELS[b][1],
            "x-label-sv": LEGAL_BASIS_LABELS[b][0],
        }
        for b in LegalBasis
    ]
    decisions = [
        {"const": d.value, "title": DECISION_LABELS[d][0], "x-label-sv": DECISION_LABELS[d][0], "x-label-en": DECISION_LABELS[d][1]}
        for d in Decision
    ]
    visits = [
        {
            "const": int(v),
            "title": HOME_VISIT_LABELS_SV[v],
            "x-label-sv": HOME_VISIT_LABELS_SV[v],
            "x-label-en": HOME_VISIT_LABELS_EN[v],
        }
        for v in HomeVisit
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
    for type_name in sorted(NOTICE_TYPES):
        notice = NOTICE_TYPES[type_name]
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
    vocabulary = vocabulary_schema(base_uri)
    written.append(_write(folder / VOCABULARY_FILE, vocabulary))
    index = {
        "title": "Backa barnet hub: published schemas",
        "dialect": JSON_SCHEMA_DIALECT,
        "base_uri": base_uri,
        "events": entries,
        "notices": notices,
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
