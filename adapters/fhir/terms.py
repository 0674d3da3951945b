"""The FHIR release, the code systems and the shapes of the reads this package maps.

``fhir.resources`` 8 ships the R5 models at its top level and the R4B (4.3.0) models under
``fhir.resources.R4B``; it has no 4.0.1 package. R4B is R4 with technical corrections outside
the medication-definition module: Consent, AuditEvent, CarePlan, Questionnaire(Response),
Patient, Bundle and CapabilityStatement have the same elements in both, so a receiver on R4
reads what is validated here against R4B.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

FHIR_VERSION = "4.3.0"
"""The release the resources are validated against (R4B; see above)."""

PERSONNUMMER = "urn:oid:1.2.752.129.2.1.3.1"
"""Skatteverket's personal identity number (personnummer), as Swedish FHIR profiles name it."""

BASE = "urn:backa-barnet"
CHILD_ID = f"{BASE}:child"
UNIT = f"{BASE}:unit"
UNIT_KIND = f"{BASE}:unit-kind"
STAFF = f"{BASE}:staff"
PARTY = f"{BASE}:party"
CATEGORY = f"{BASE}:category"
LEGAL_BASIS = f"{BASE}:legal-basis"
ROLE = f"{BASE}:role"
AREA = f"{BASE}:behovskompass-area"
SWEDISH = "sv-SE"
HL7 = "http://terminology.hl7.org/CodeSystem"


class Item(Protocol):
    """One category's part of one fact, as a read answered it."""

    @property
    def event_id(self) -> UUID: ...
    @property
    def type(self) -> str: ...
    @property
    def category(self) -> Any: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def unit_id(self) -> str | None: ...
    @property
    def basis(self) -> Any: ...
    @property
    def fields(self) -> dict[str, Any]: ...


class View(Protocol):
    """What one viewer may see of one child now."""

    @property
    def child_id(self) -> UUID: ...
    @property
    def as_of(self) -> datetime: ...
    @property
    def items(self) -> Sequence[Item]: ...


def value(term: Any) -> str:
    """An enum member's or a plain value's wire form."""
    return str(getattr(term, "value", term))


def patient_ref(child_id: UUID) -> dict[str, str]:
    return {"reference": f"urn:uuid:{child_id}"}


def unit_ref(unit_id: str, display: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"type": "Organization", "identifier": {"system": UNIT, "value": unit_id}}
    if display:
        ref["display"] = display
    return ref


_PLAIN_SPACE = str.maketrans({c: " " for c in map(chr, range(0x3000 + 1)) if c.isspace() and c not in " \r\n\t"})


def clean(body: Any) -> Any:
    """A resource's JSON with every text a FHIR string: what the hub accepts as free text
    (any Unicode space, a blank purpose) FHIR does not, so other spaces become plain ones
    and a text with nothing but spaces becomes a dash."""
    if isinstance(body, str):
        out = body.translate(_PLAIN_SPACE)
        return out if out.strip() else "-"
    if isinstance(body, dict):
        return {k: clean(v) for k, v in body.items()}
    if isinstance(body, list):
        return [clean(v) for v in body]
    return body
