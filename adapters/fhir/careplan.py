"""Barnets plan as a ``CarePlan``: the latest version shown, its goals per compass area and
the child's and the guardians' views as notes, each action as an activity with who does it,
by when and how far it has come; an activity's element id is the action's id, so that an
action completed later (:mod:`adapters.fhir.delivery`) names the activity it completes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fhir.resources.R4B.careplan import CarePlan

from adapters.fhir.terms import AREA, SWEDISH, Item, clean, patient_ref, unit_ref
from contracts.labels import AREA_LABELS
from contracts.vocabulary import ActionStatus, Area

ACTIVITY_STATUS = {
    ActionStatus.PLANNED: "scheduled",
    ActionStatus.IN_PROGRESS: "in-progress",
    ActionStatus.DONE: "completed",
    ActionStatus.CANCELLED: "cancelled",
}


def care_plan(child_id: UUID, items: list[Item]) -> CarePlan | None:
    """The plan as the read showed it, or none when it showed no plan."""
    plans = [i for i in items if i.type == "PlanUpdated" and "actions" in i.fields]
    if not plans:
        return None
    latest = plans[-1]
    done = {i.fields["action_id"] for i in items if i.type == "PlanActionCompleted" and "action_id" in i.fields}
    closed = any(i.type == "CaseClosed" for i in items)
    f = latest.fields
    notes = [
        {"text": f"Mål – {AREA_LABELS[Area(g['area'])].sv}: {g['goal']}"} for g in f.get("goals", [])
    ]
    if f.get("child_view"):
        notes.append({"text": f"Barnets syn: {f['child_view']}"})
    if f.get("guardian_view"):
        notes.append({"text": f"Vårdnadshavarnas syn: {f['guardian_view']}"})
    body: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": f"barnets-plan-{child_id}",
        "language": SWEDISH,
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{latest.event_id}"}],
        "status": "completed" if closed else "active",
        "intent": "plan",
        "title": "Barnets plan",
        "description": f"Version {f.get('plan_version', len(plans))}",
        "subject": patient_ref(child_id),
        "created": plans[0].occurred_at.isoformat(),
        "activity": [_activity(a, done) for a in f["actions"]],
        "note": notes,
    }
    if latest.unit_id:
        body["author"] = unit_ref(latest.unit_id)
    if f.get("next_follow_up"):
        body["period"] = {"start": plans[0].occurred_at.isoformat(), "end": str(f["next_follow_up"])}
    return CarePlan.model_validate(clean(body))


def _activity(a: dict[str, Any], done: set[str]) -> dict[str, Any]:
    status = ActionStatus.DONE if a["action_id"] in done else ActionStatus(a.get("status", "planned"))
    detail: dict[str, Any] = {
        "status": ACTIVITY_STATUS[status],
        "description": a["what"],
        "scheduledPeriod": {"end": str(a["due"])},
        "performer": [unit_ref(a["unit_id"], a["responsible_person"])],
    }
    if a.get("area"):
        area = Area(a["area"])
        detail["code"] = {"coding": [{"system": AREA, "code": area.value, "display": AREA_LABELS[area].sv}]}
    return {"id": a["action_id"], "detail": detail}
