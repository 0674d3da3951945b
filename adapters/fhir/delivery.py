"""A planned delivery, for a unit that chose the FHIR format, as a FHIR R4 Bundle.

:func:`shaped` is given one delivery the relay has already planned, i.e. the fact with only
the categories the consent policy lets that unit see now, and words it as FHIR resources.
It reads nothing but the delivery's body, so nothing the body did not carry can appear in
the bundle; it decides nothing about who may see what.

The bundle is of type ``message``: each delivery tells that one thing happened to a child's
information, and a FHIR message says exactly that. Its first entry, a ``MessageHeader``,
names the fact (``eventCoding``: the fact's short type), the hub as source, the unit as
destination and the resources the fact means as focus; a ``collection`` would hold the same
resources with nothing saying what happened. The bundle's ``meta.security`` lists the
categories the unit was allowed and on which legal bases, as the backa format's ``access``.

Which facts become which resources:

- ``ChildRegistered`` → ``Patient`` with the personnummer, name and birth date, and each
  guardian as a ``RelatedPerson`` (the body carries them only when the unit may see the
  child's identity).
- ``ConsentRequested`` → ``Consent`` (proposed): categories, recipients, purpose, period and
  each required party as not yet answered.
- ``ConsentGranted`` / ``ConsentDeclined`` / ``ConsentWithdrawn`` → ``Consent`` with that one
  party's answer as a verification. A decline or a withdrawal ends the consent (rejected,
  inactive); after a grant the consent stays proposed here, since one answer does not tell
  whether every party has agreed: the consent overview does.
- ``PlanUpdated`` → ``CarePlan`` with its activities; ``PlanActionCompleted`` → the same
  ``CarePlan`` (same id) with that activity completed and its note as progress.
- ``RatingSubmitted`` and ``ConversationHeld`` → ``QuestionnaireResponse`` against the
  published Behovskompass ``Questionnaire``.

The child is always a ``Patient`` of its own in the bundle (the resources refer to it): only
the hub's pseudonymous id unless the body carries the identity. Every other fact (a
discovery card, feedback, a team decision, a meeting, a follow-up ...) has no FHIR rendering
here and goes in the backa format unchanged, as do the notices (a consent revoked, a
reminder, a record erased), which a unit must act on as they are, and a fact FHIR cannot
hold (a text no FHIR type takes), so that one fact never stops the relay. A bundle keeps the
delivery's message id and its subject scheme (``backa.v1.<tenant>.<unit>.Bundle``).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.messageheader import MessageHeader
from fhir.resources.R4B.relatedperson import RelatedPerson
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from adapters.cloudevents_codec import source_of
from adapters.deliveries import Delivery, UnitRecipient, unit_subject
from adapters.fhir.bundle import to_json
from adapters.fhir.careplan import care_plan
from adapters.fhir.cloudevent import BUNDLE_TYPE
from adapters.fhir.consent import ANSWER_SV, ANSWERS, KIND, PARTY, PARTY_ROLE, SCOPE, consents
from adapters.fhir.patient import patient
from adapters.fhir.questionnaire import questionnaire_responses
from adapters.fhir.terms import BASE, CATEGORY, HL7, LEGAL_BASIS, PERSONNUMMER, SWEDISH, clean, patient_ref, unit_ref
from contracts.directory import DeliveryFormat
from contracts.events import ENVELOPE_FIELDS
from contracts.labels import CATEGORY_LABELS, LEGAL_BASIS_LABELS, ROLE_LABELS
from contracts.vocabulary import Category, LegalBasis

log = logging.getLogger("backa.relay")

EVENT = f"{BASE}:event"
"""The code system of the facts a message names: their short type names."""
MESSAGE = f"{BASE}:message"
"""The identifier system of a delivered bundle: the delivery's message id."""
GUARDIAN = {"system": f"{HL7}/v3-RoleCode", "code": "GUARD", "display": "guardian"}
_IDS = uuid.UUID("6f1d5d0e-6a43-5b8e-9c3f-3f0c1f6b2a11")
"""Namespace of the bundle's own ids, made from the message id so a resend is the same bundle."""


@dataclass(frozen=True)
class _Item:
    """The delivered fact as the builders' :class:`~adapters.fhir.terms.Item`."""

    event_id: UUID
    type: str
    category: Category
    occurred_at: datetime
    unit_id: str | None
    basis: LegalBasis | None
    fields: dict[str, Any]


@dataclass(frozen=True)
class _Overview:
    """A requested consent as the consent builder reads the consent overview's rows."""

    consent_id: str
    status: str
    categories: tuple[str, ...]
    purpose: str
    valid_from: datetime
    valid_until: datetime
    parties: tuple[Any, ...]
    requested_by_unit_id: str | None
    recipient_unit_ids: tuple[str, ...]
    recipient_unit_kinds: tuple[str, ...]


@dataclass(frozen=True)
class _Party:
    kind: str
    party_id: str
    answer: str


def shaped(delivery: Delivery, recipient: UnitRecipient) -> Delivery:
    """The delivery in the format the unit chose: a bundle for a FHIR unit where the fact
    has a FHIR rendering, else the delivery as it is."""
    if recipient.subscription.format is not DeliveryFormat.FHIR:
        return delivery
    try:
        return fhir_delivery(delivery) or delivery
    except (ValidationError, ValueError, KeyError, TypeError) as e:
        # one fact FHIR cannot hold must not stop the relay for every unit: it goes as it is.
        # The error's text may quote the fact, so only its kind is logged.
        log.warning("a %s fact cannot be worded as FHIR (%s); sent in the backa format", delivery.type_name, type(e).__name__)
        return delivery


def fhir_delivery(delivery: Delivery) -> Delivery | None:
    """The delivery as a ``backa.v1.fhir.Bundle``, or none when it has no FHIR rendering."""
    event = delivery.body.get("event")
    access = delivery.body.get("access")
    if not isinstance(event, dict) or not isinstance(access, list) or delivery.child_id is None:
        return None  # a notice, or anything else that is not a redacted fact
    short = delivery.type_name.rsplit(".", 1)[-1]
    render = _RENDER.get(short)
    if render is None:
        return None
    fields = {k: v for k, v in event.items() if k not in ENVELOPE_FIELDS}
    if not fields:
        return None
    child_id = UUID(str(event["child_id"]))
    allowed = {str(a["category"]): a.get("basis") for a in access}
    item = _Item(
        event_id=UUID(str(event["event_id"])),
        type=short,
        category=_CATEGORY[short],
        occurred_at=delivery.occurred_at,
        unit_id=(event.get("actor") or {}).get("unit_id"),
        basis=None,
        fields=fields,
    )
    if item.category.value not in allowed:
        return None
    focus = render(child_id, item)
    if not focus:
        return None
    child: list[Resource] = [] if any(r.get_resource_type() == "Patient" for r in focus) else [patient(child_id, [])]
    bundle = _message(delivery, event, allowed, child, focus)
    return replace(
        delivery,
        subject=unit_subject(delivery.tenant_id, delivery.unit_id, BUNDLE_TYPE),
        type_name=BUNDLE_TYPE,
        body=_json(bundle),
    )


def _json(bundle: Bundle) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(to_json(bundle))
    return out


# -- the facts' resources ----------------------------------------------------------------------


def _identity(child_id: UUID, item: _Item) -> list[Resource]:
    """The child, and each guardian named at registration as a ``RelatedPerson``: the hub's
    id for them (the one a consent's answers name), their personnummer and name, and
    whether they have custody."""
    if "personnummer" not in item.fields:
        return []
    out: list[Resource] = [patient(child_id, [item])]
    for g in item.fields.get("guardians", []):
        relationship: dict[str, Any] = (
            {"coding": [GUARDIAN], "text": "Vårdnadshavare"} if g.get("has_custody") else {"text": "Namngiven utan vårdnad"}
        )
        body = {
            "resourceType": "RelatedPerson",
            "id": str(uuid.uuid5(_IDS, f"{child_id}/{g['guardian_id']}")),
            "identifier": [
                {"use": "official", "system": PERSONNUMMER, "value": str(g["personnummer"])},
                {"system": PARTY, "value": str(g["guardian_id"])},
            ],
            "patient": patient_ref(child_id),
            "relationship": [relationship],
            "name": [{"text": g["name"]}],
        }
        out.append(RelatedPerson.model_validate(clean(body)))
    return out


def _requested(child_id: UUID, item: _Item) -> list[Resource]:
    f = item.fields
    if "consent_id" not in f or "categories" not in f:
        return []
    recipients = f.get("recipients", [])
    overview = _Overview(
        consent_id=str(f["consent_id"]),
        status="pending",
        categories=tuple(f["categories"]),
        purpose=str(f.get("purpose", "")),
        valid_from=datetime.fromisoformat(str(f["valid_from"])),
        valid_until=datetime.fromisoformat(str(f["valid_until"])),
        parties=tuple(_Party(p["kind"], p["party_id"], "awaiting") for p in f.get("required_parties", [])),
        requested_by_unit_id=item.unit_id,
        recipient_unit_ids=tuple(r["unit_id"] for r in recipients if r.get("unit_id")),
        recipient_unit_kinds=tuple(r["unit_kind"] for r in recipients if r.get("unit_kind")),
    )
    return list(consents(child_id, [overview], []))


ANSWER_STATUS = {"granted": "proposed", "declined": "rejected", "withdrawn": "inactive"}
"""What one party's answer tells of the consent's FHIR status (see the module docstring)."""


def _answered(child_id: UUID, item: _Item) -> list[Resource]:
    f = item.fields
    if "consent_id" not in f or "party" not in f:
        return []
    answer = ANSWERS[item.type]
    kind, party_id = f["party"]["kind"], f["party"]["party_id"]
    who = ROLE_LABELS[PARTY_ROLE[kind]].sv
    body = {
        "resourceType": "Consent",
        "id": str(f["consent_id"]),
        "language": SWEDISH,
        "status": ANSWER_STATUS[answer],
        "scope": SCOPE,
        "category": [KIND],
        "patient": patient_ref(child_id),
        "dateTime": item.occurred_at.isoformat(),
        "verification": [
            {
                "verified": answer == "granted",
                "verifiedWith": {"identifier": {"system": PARTY, "value": party_id}, "display": f"{who}: {ANSWER_SV[answer]}"},
                "verificationDate": item.occurred_at.isoformat(),
            }
        ],
    }
    return [Consent.model_validate(clean(body))]


def _plan(child_id: UUID, item: _Item) -> list[Resource]:
    """The plan's version as the ``CarePlan``; when the plan was first made is not in the
    fact, so the version's time is not given out as that."""
    plan = care_plan(child_id, [item])
    return [plan.model_copy(update={"created": None})] if plan is not None else []


def _action_completed(child_id: UUID, item: _Item) -> list[Resource]:
    f = item.fields
    if "action_id" not in f:
        return []
    activity: dict[str, Any] = {"id": str(f["action_id"]), "detail": {"status": "completed"}}
    if f.get("note"):
        activity["progress"] = [{"time": item.occurred_at.isoformat(), "text": f["note"]}]
    body: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": f"barnets-plan-{child_id}",
        "language": SWEDISH,
        "status": "active",
        "intent": "plan",
        "title": "Barnets plan",
        "subject": patient_ref(child_id),
        "activity": [activity],
    }
    if item.unit_id:
        body["author"] = unit_ref(item.unit_id)
    return [CarePlan.model_validate(clean(body))]


def _form(child_id: UUID, item: _Item) -> list[Resource]:
    return list(questionnaire_responses(child_id, [item]))


Render = Callable[[UUID, _Item], list[Resource]]

_RENDER: dict[str, Render] = {
    "ChildRegistered": _identity,
    "ConsentRequested": _requested,
    "ConsentGranted": _answered,
    "ConsentDeclined": _answered,
    "ConsentWithdrawn": _answered,
    "PlanUpdated": _plan,
    "PlanActionCompleted": _action_completed,
    "RatingSubmitted": _form,
    "ConversationHeld": _form,
}
"""The facts with a FHIR rendering; every other fact goes in the backa format."""

_CATEGORY = {
    "ChildRegistered": Category.IDENTITY,
    "ConsentRequested": Category.CONSENT,
    "ConsentGranted": Category.CONSENT,
    "ConsentDeclined": Category.CONSENT,
    "ConsentWithdrawn": Category.CONSENT,
    "PlanUpdated": Category.PLAN,
    "PlanActionCompleted": Category.PLAN,
    "RatingSubmitted": Category.RATINGS,
    "ConversationHeld": Category.CONVERSATIONS,
}
"""The one category every field of each rendered fact carries (checked in the tests against
the events' declared categories): the bundle is rendered only when the unit was allowed it."""


# -- the message -----------------------------------------------------------------------------


def _id(msg_id: str, part: str) -> str:
    return str(uuid.uuid5(_IDS, f"{msg_id}/{part}"))


def _full_url(msg_id: str, r: Resource) -> str:
    """``urn:uuid:`` and the resource's id where that is a UUID (the child, whose id the
    resources' references name; a consent), else one made from the message id."""
    rid = str(r.id or "")
    try:
        return f"urn:uuid:{UUID(rid)}"
    except ValueError:
        return f"urn:uuid:{_id(msg_id, f'{r.get_resource_type()}/{rid}')}"


def _security(allowed: dict[str, Any]) -> list[dict[str, str]]:
    labels = []
    for code in sorted(allowed):
        category = Category(code)
        labels.append({"system": CATEGORY, "code": category.value, "display": CATEGORY_LABELS[category].sv})
    for code in sorted({b for b in allowed.values() if b}):
        basis = LegalBasis(code)
        labels.append({"system": LEGAL_BASIS, "code": basis.value, "display": LEGAL_BASIS_LABELS[basis].sv})
    return labels


def _message(
    delivery: Delivery, event: dict[str, Any], allowed: dict[str, Any], child: list[Resource], focus: list[Resource]
) -> Bundle:
    """The message: its header, the child (unless the fact is about the child itself) and
    the fact's resources, which the header names as its focus."""
    msg_id = delivery.msg_id
    short = delivery.type_name.rsplit(".", 1)[-1]
    resources = child + focus
    urls = [_full_url(msg_id, r) for r in resources]
    actor = event.get("actor") or {}
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": _id(msg_id, "MessageHeader"),
        "eventCoding": {"system": EVENT, "code": short},
        "destination": [
            {"endpoint": f"{BASE}:unit:{delivery.unit_id}", "receiver": unit_ref(delivery.unit_id)}
        ],
        "source": {"name": "Backa barnet", "endpoint": source_of(delivery.tenant_id)},
        "focus": [{"reference": u} for u in urls[len(child) :]],
    }
    if actor.get("unit_id"):
        header["sender"] = unit_ref(str(actor["unit_id"]))
    entries = [{"fullUrl": f"urn:uuid:{header['id']}", "resource": MessageHeader.model_validate(clean(header))}]
    entries += [{"fullUrl": u, "resource": r} for u, r in zip(urls, resources, strict=True)]
    at = delivery.occurred_at.isoformat()
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": _id(msg_id, "Bundle"),
            "meta": {"lastUpdated": at, "security": _security(allowed)},
            "identifier": {"system": MESSAGE, "value": msg_id},
            "type": "message",
            "timestamp": at,
            "entry": entries,
        }
    )


__all__ = ["ANSWER_STATUS", "EVENT", "MESSAGE", "fhir_delivery", "shaped"]
