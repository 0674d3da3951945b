"""FHIR R4 representations of what a unit may see of a child.

Only a mapping: every function here takes a read the hub's core has already made, filtered
by the consent policy and recorded, and words it as FHIR resources. Nothing here reads the
log or decides who may see what.
"""

from adapters.fhir.bundle import FHIR_JSON, child_bundle, searchset, to_json
from adapters.fhir.capability import capability_statement
from adapters.fhir.questionnaire import QUESTIONNAIRE_URL, behovskompass_questionnaire

__all__ = [
    "FHIR_JSON",
    "QUESTIONNAIRE_URL",
    "behovskompass_questionnaire",
    "capability_statement",
    "child_bundle",
    "searchset",
    "to_json",
]
