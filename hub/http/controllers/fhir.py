"""FHIR R4 answers: the same reads as the JSON endpoints, each recorded and consent-gated by
the core, worded as FHIR resources by :mod:`adapters.fhir`."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response
from litestar.openapi.datastructures import ResponseSpec

from adapters.fhir import FHIR_JSON, behovskompass_questionnaire, capability_statement, child_bundle, searchset, to_json
from adapters.fhir.audit import ReadRecord, audit_event
from hub.http.controllers._base import Caller, ChildId, Hub, is_family, query
from hub.http.controllers.children import Purpose
from hub.http.problems import problem_responses


def _answers(*problems: int) -> dict[int, ResponseSpec]:
    """A FHIR resource (a JSON object; its shape is the FHIR specification's, not repeated
    here) for 200, and the problems a handler may give."""
    resource = ResponseSpec(data_container=dict[str, Any], media_type=FHIR_JSON, description="A FHIR R4 resource")
    return {**problem_responses(*problems), 200: resource}


def _fhir(resource: object) -> Response[bytes]:
    return Response(content=to_json(resource), media_type=FHIR_JSON)  # type: ignore[arg-type]


class FhirController(Controller):
    path = "/"
    tags = ["fhir"]

    @query(
        "/children/{child_id:uuid}/fhir",
        summary="The child as a FHIR Bundle: Patient, Consent, CarePlan, QuestionnaireResponse, AuditEvent",
        responses=_answers(403, 404),
        media_type=FHIR_JSON,
    )
    def child(self, hub: Hub, caller: Caller, child_id: ChildId, purpose: Purpose = None) -> Response[bytes]:
        """The same read as ``GET /children/{id}``, recorded as such: only what consent or the law allows now."""
        kind = "fhir_family" if is_family(caller) else "fhir"
        view = hub.read_child(caller, child_id, purpose=purpose or "FHIR", view=kind)
        read = ReadRecord(
            child_id=child_id,
            at=view.as_of,
            view=kind,
            purpose=purpose or "FHIR",
            categories=tuple(sorted({i.category for i in view.items}, key=lambda c: c.value)),
            bases=tuple(sorted({i.basis for i in view.items if i.basis is not None}, key=lambda b: b.value)),
            role=caller.acting_role,
            unit_id=caller.unit_id,
            user_id=caller.user_id,
        )
        # the consents with each party's answer are the consent overview's: a read of its own,
        # made only when the child read showed that the caller may see a consent
        shown = any(i.type == "ConsentRequested" for i in view.items)
        overview = hub.consent_overview(caller, child_id) if shown else []
        return _fhir(child_bundle(view, read, overview))

    @query(
        "/children/{child_id:uuid}/fhir/AuditEvent",
        summary="Who has seen the child's information, as FHIR AuditEvents (for the guardians and the child)",
        responses=_answers(403, 404),
        media_type=FHIR_JSON,
    )
    def audit_events(self, hub: Hub, caller: Caller, child_id: ChildId) -> Response[bytes]:
        entries = hub.family_access_log(caller, child_id)
        return _fhir(
            searchset(
                audit_event(
                    ReadRecord(
                        child_id=child_id, at=e.accessed_at, view=e.view, purpose=e.purpose, categories=tuple(e.categories),
                        bases=tuple(e.bases), role=e.role, unit_id=e.unit_id, unit_name=e.unit_name,
                        event_id=e.event_id,
                    )
                )
                for e in entries
            )
        )

    @query("/fhir/metadata", summary="The FHIR interface's CapabilityStatement", responses=_answers(), media_type=FHIR_JSON)
    def metadata(self, hub: Hub) -> Response[bytes]:
        return _fhir(capability_statement(hub.now()))

    @query(
        "/fhir/Questionnaire/behovskompass",
        summary="Behovskompassen as a FHIR Questionnaire",
        responses=_answers(),
        media_type=FHIR_JSON,
    )
    def questionnaire(self) -> Response[bytes]:
        return _fhir(behovskompass_questionnaire())
