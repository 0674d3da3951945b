"""A child's resources as one ``Bundle`` (type collection), and lists as a searchset."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import uuid4

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.resource import Resource

from adapters.fhir.audit import ReadRecord, audit_event
from adapters.fhir.careplan import care_plan
from adapters.fhir.consent import consents
from adapters.fhir.patient import patient
from adapters.fhir.questionnaire import questionnaire_responses
from adapters.fhir.terms import FHIR_VERSION, View

FHIR_JSON = "application/fhir+json"


def _entry(r: Resource) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{r.id}" if r.id and len(r.id) == 36 else f"urn:uuid:{uuid4()}", "resource": r}


def child_bundle(view: View, read: ReadRecord, consent_overview: Iterable[Any] = ()) -> Bundle:
    """What the viewer may see of the child now, and the read that showed it."""
    items = list(view.items)
    resources: list[Resource] = [patient(view.child_id, items)]
    resources += consents(view.child_id, list(consent_overview), items)
    plan = care_plan(view.child_id, items)
    if plan is not None:
        resources.append(plan)
    resources += questionnaire_responses(view.child_id, items)
    resources.append(audit_event(read))
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": str(uuid4()),
            "meta": {"lastUpdated": view.as_of.isoformat()},
            "type": "collection",
            "timestamp": view.as_of.isoformat(),
            "entry": [_entry(r) for r in resources],
        }
    )


def searchset(resources: Iterable[Resource]) -> Bundle:
    entries = [_entry(r) | {"search": {"mode": "match"}} for r in resources]
    return Bundle.model_validate({"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries})


def to_json(resource: Resource) -> bytes:
    """The resource as FHIR JSON, with the release it was validated against in the media type's sense."""
    return resource.model_dump_json(exclude_none=True).encode()


__all__ = ["FHIR_JSON", "FHIR_VERSION", "child_bundle", "searchset", "to_json"]
