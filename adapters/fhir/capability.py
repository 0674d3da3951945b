"""What the hub's FHIR interface offers, as a ``CapabilityStatement``."""

from __future__ import annotations

from datetime import datetime

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from adapters.fhir.questionnaire import QUESTIONNAIRE_URL
from adapters.fhir.terms import FHIR_VERSION, HL7, SWEDISH

READ_ONLY = [{"code": "read"}]


def capability_statement(published: datetime, base: str = "/api/v1/fhir") -> CapabilityStatement:
    def resource(kind: str, doc: str) -> dict[str, object]:
        return {"type": kind, "interaction": READ_ONLY, "documentation": doc}

    return CapabilityStatement.model_validate(
        {
            "resourceType": "CapabilityStatement",
            "id": "backa-barnet",
            "name": "BackaBarnet",
            "title": "Backa barnet: delad information om ett barn",
            "status": "active",
            "date": published.isoformat(),
            "kind": "instance",
            "language": SWEDISH,
            "description": (
                "Det en enhet får se om ett barn, som FHIR-resurser: bara det samtycke eller lag tillåter nu, "
                "och varje läsning loggas. Inget skrivs in i verksamheternas journaler."
            ),
            "implementation": {"description": "Backa barnet-hubben", "url": base},
            "fhirVersion": FHIR_VERSION,
            "format": ["application/fhir+json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": "GET /api/v1/children/{id}/fhir ger en Bundle (collection) med barnets resurser.",
                    "security": {
                        "service": [{"coding": [{"system": f"{HL7}/restful-security-service", "code": "OAuth"}]}],
                        "description": "Bärartoken från kommunens, regionens eller polisens inloggning.",
                    },
                    "resource": [
                        resource("Patient", "Barnet; personnummer bara där enheten får se identiteten."),
                        resource("Consent", "Samtycken: kategorier, mottagare, syfte, period och varje parts svar."),
                        resource("CarePlan", "Barnets plan med aktiviteter."),
                        {**resource("Questionnaire", ""), "documentation": f"Behovskompassen ({QUESTIONNAIRE_URL})."},
                        resource("QuestionnaireResponse", "Skattningar, gemensam behovskompass och barnsamtal."),
                        resource("AuditEvent", "Läsningar av barnets information."),
                    ],
                }
            ],
        }
    )
