"""A recorded read as an ``AuditEvent``: who read, at which unit, why, on which basis, which
categories, and whether anything could be shown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from fhir.resources.R4B.auditevent import AuditEvent

from adapters.fhir.terms import CATEGORY, HL7, LEGAL_BASIS, ROLE, STAFF, clean, patient_ref, unit_ref, value
from contracts.labels import CATEGORY_LABELS, LEGAL_BASIS_LABELS, ROLE_LABELS
from contracts.vocabulary import Category, LegalBasis, Role

SERVER = {"system": f"{HL7}/security-source-type", "code": "4", "display": "Application Server"}


@dataclass(frozen=True)
class ReadRecord:
    """One read on record, as far as its reader may be named to whom the event goes."""

    child_id: UUID
    at: datetime
    view: str
    purpose: str
    categories: tuple[Any, ...]
    bases: tuple[Any, ...]
    role: Any
    unit_id: str | None = None
    unit_name: str | None = None
    user_id: str | None = None
    event_id: UUID | None = None
    allowed: bool = True


def audit_event(r: ReadRecord) -> AuditEvent:
    role = Role(value(r.role))
    agent: dict[str, Any] = {
        "type": {"coding": [{"system": ROLE, "code": role.value, "display": ROLE_LABELS[role].sv}]},
        "requestor": True,
        "purposeOfUse": [{"text": r.purpose}],
    }
    if r.user_id:
        agent["who"] = {"identifier": {"system": STAFF, "value": r.user_id}}
    agents = [agent]
    if r.unit_id:
        agents.append({"who": unit_ref(r.unit_id, r.unit_name), "requestor": False})
    body: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110", "display": "Patient Record"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "read", "display": "read"}],
        "action": "R",
        "recorded": r.at.isoformat(),
        "outcome": "0" if r.allowed else "4",
        "outcomeDesc": "Visad" if r.allowed else "Nekad: varken samtycke eller lag ger stöd",
        "purposeOfEvent": [_basis(LegalBasis(value(b))) for b in r.bases],
        "agent": agents,
        "source": {"observer": {"display": "Backa barnet"}, "type": [SERVER]},
        "entity": [
            {
                "what": patient_ref(r.child_id),
                "type": {"system": f"{HL7}/audit-entity-type", "code": "1", "display": "Person"},
                "securityLabel": _categories(r.categories),
                "detail": [{"type": "vy", "valueString": r.view}],
            }
        ],
    }
    if r.event_id is not None:
        body["id"] = str(r.event_id)
    return AuditEvent.model_validate(clean(body))


def _basis(b: LegalBasis) -> dict[str, Any]:
    return {"coding": [{"system": LEGAL_BASIS, "code": b.value, "display": LEGAL_BASIS_LABELS[b].sv}]}


def _categories(categories: Iterable[Any]) -> list[dict[str, str]]:
    return [{"system": CATEGORY, "code": c.value, "display": CATEGORY_LABELS[c].sv} for c in (Category(value(x)) for x in categories)]
