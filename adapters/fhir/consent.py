"""Each consent the read showed, as a ``Consent``: what may be shared (the categories, one
permitting provision each), with whom (the recipients as actors), why, for which period,
and each party's answer (the guardians' and the child's) as a verification.

The consents and their status are the hub's consent overview (its own recorded read): a
unit sees the answers to a request there, not in the child's record.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from uuid import UUID

from fhir.resources.R4B.consent import Consent

from adapters.fhir.terms import CATEGORY, HL7, PARTY, SWEDISH, UNIT_KIND, Item, clean, patient_ref, unit_ref, value
from contracts.labels import CATEGORY_LABELS, ROLE_LABELS, UNIT_KIND_LABELS
from contracts.vocabulary import Category, PartyKind, Role, UnitKind

ANSWERS = {"ConsentGranted": "granted", "ConsentDeclined": "declined", "ConsentWithdrawn": "withdrawn"}
ANSWER_SV = {
    "granted": "samtycker",
    "declined": "samtycker inte",
    "withdrawn": "har återkallat sitt samtycke",
    "awaiting": "har inte svarat",
}
PARTY_ROLE = {PartyKind.GUARDIAN.value: Role.GUARDIAN, PartyKind.CHILD.value: Role.CHILD}
RECIPIENT = {"system": f"{HL7}/v3-ParticipationType", "code": "IRCP", "display": "information recipient"}


STATUS = {
    "pending": "proposed",
    "in_effect": "active",
    "declined": "rejected",
    "withdrawn": "inactive",
    "expired": "inactive",
    "not_yet_valid": "proposed",
}
"""The hub's consent status as FHIR's Consent.status."""
SCOPE = {
    "coding": [{"system": f"{HL7}/consentscope", "code": "patient-privacy", "display": "Privacy Consent"}],
    "text": "Informationsdelning inom Backa barnet",
}
KIND = {
    "coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}],
    "text": "Samtycke till informationsdelning",
}
COORDINATION = {"system": f"{HL7}/v3-ActReason", "code": "COC", "display": "coordination of care"}


def _recipients(c: Any) -> list[dict[str, Any]]:
    return [{"unit_id": u} for u in c.recipient_unit_ids] + [{"unit_kind": value(k)} for k in c.recipient_unit_kinds]


def _recipient(r: dict[str, Any]) -> dict[str, Any]:
    if r.get("unit_id"):
        ref = unit_ref(r["unit_id"])
    else:
        kind = UnitKind(r["unit_kind"])
        ref = {"type": "Organization", "identifier": {"system": UNIT_KIND, "value": kind.value}, "display": UNIT_KIND_LABELS[kind].sv}
    return {"role": {"coding": [RECIPIENT], "text": "Mottagare"}, "reference": ref}


def consents(child_id: UUID, overview: list[Any], items: list[Item]) -> list[Consent]:
    """Each consent of the hub's consent overview (a read of its own), with the answers'
    dates where the child read showed them."""
    dates: dict[tuple[str, str, str], datetime] = {}
    for i in items:
        if i.type in ANSWERS and "party" in i.fields:
            dates[(str(i.fields["consent_id"]), i.fields["party"]["kind"], i.fields["party"]["party_id"])] = i.occurred_at
    return [_consent(child_id, c, dates) for c in overview]


def _consent(child_id: UUID, c: Any, dates: dict[tuple[str, str, str], datetime]) -> Consent:
    start, end = c.valid_from.isoformat(), c.valid_until.isoformat()
    verification = []
    for p in c.parties:
        kind = value(p.kind)
        who = ROLE_LABELS[PARTY_ROLE[kind]].sv
        v: dict[str, Any] = {
            "verified": p.answer == "granted",
            "verifiedWith": {"identifier": {"system": PARTY, "value": p.party_id}, "display": f"{who}: {ANSWER_SV[p.answer]}"},
        }
        when = dates.get((str(c.consent_id), kind, p.party_id))
        if when is not None:
            v["verificationDate"] = when.isoformat()
        verification.append(v)
    categories = [Category(value(x)) for x in c.categories]
    body = {
        "resourceType": "Consent",
        "id": str(c.consent_id),
        "language": SWEDISH,
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>Syfte: {escape(str(c.purpose))}</p></div>',
        },
        "status": STATUS[value(c.status)],
        "scope": SCOPE,
        "category": [KIND],
        "patient": patient_ref(child_id),
        "organization": [unit_ref(c.requested_by_unit_id)] if c.requested_by_unit_id else [],
        "policyRule": {"text": "Samtycke enligt 12 kap. 2 § offentlighets- och sekretesslagen"},
        "verification": verification,
        "provision": {
            "type": "deny",
            "period": {"start": start, "end": end},
            "provision": [
                {
                    "type": "permit",
                    "period": {"start": start, "end": end},
                    "actor": [_recipient(r) for r in _recipients(c)],
                    "purpose": [COORDINATION],
                    "class": [{"system": CATEGORY, "code": cat.value, "display": CATEGORY_LABELS[cat].sv}],
                }
                for cat in categories
            ],
        },
    }
    return Consent.model_validate(clean(body))
