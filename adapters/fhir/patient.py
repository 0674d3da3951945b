"""The child as a minimal ``Patient``: the personnummer, name and birth date only when the
read showed the child's identity to the viewer; otherwise only the hub's pseudonymous id."""

from __future__ import annotations

from uuid import UUID

from fhir.resources.R4B.patient import Patient

from adapters.fhir.terms import CHILD_ID, PERSONNUMMER, Item, clean


def patient(child_id: UUID, items: list[Item]) -> Patient:
    identifiers = [{"system": CHILD_ID, "value": str(child_id)}]
    body: dict[str, object] = {"resourceType": "Patient", "id": str(child_id)}
    registered = [i for i in items if i.type == "ChildRegistered" and "personnummer" in i.fields]
    if registered:
        f = registered[-1].fields
        identifiers.insert(0, {"use": "official", "system": PERSONNUMMER, "value": str(f["personnummer"])})
        body["name"] = [{"use": "official", "family": f["family_name"], "given": [f["given_name"]]}]
        body["birthDate"] = str(f["birth_date"])
    body["identifier"] = identifiers
    return Patient.model_validate(clean(body))
