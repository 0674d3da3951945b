"""What the child's page for staff puts first, and how it words the rest.

A person opens a child's page to act: it leads with Barnets plan, the next step as who
does what by when, and the team (the Barnkontakt, the support coordinator, the units
and the people the plan names). What else the viewer may see follows, first area by area
of the Behovskompass (what the cards, conversations and ratings say about each area),
then step by step of the process. Everything here is arranged from what the core allowed
(:class:`ChildView`); nothing is read twice.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.indicators import Indicator
from contracts.labels import label_key
from contracts.vocabulary import ActionStatus, Area, Decision
from hub.application.readmodels import ChildView, RecordItemOut
from hub.web.filters import day, format_number
from hub.web.i18n import Translate

OPEN = (ActionStatus.PLANNED.value, ActionStatus.IN_PROGRESS.value)

AREA_FIELDS = ("unmet_needs", "views", "scores", "joint_compass", "compass", "follow_up_compass")
"""The fields whose content is shown area by area, and not again under their step."""

HIDDEN_FIELDS = ("goals", "actions")
"""Barnets plan's goals and actions are shown at the top of the page, in the plan."""


def _seen(view: ChildView, type_name: str) -> bool:
    return any(i.type == type_name for i in view.items)


def open_actions(plan: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The plan's actions still to do, the one due first first (an undated one last)."""
    actions = [a for a in (plan or {}).get("actions", []) if a.get("status") in OPEN]
    return sorted(actions, key=lambda a: (day(a.get("due")) or date.max, a.get("what") or ""))


def next_step(child: dict[str, Any], view: ChildView, today: date) -> dict[str, Any]:
    """The next step as who does what by when: the plan's first open action, or else the
    step of the process the case waits for. ``what`` is a catalogue text unless ``own``
    (the plan's own words); ``who`` a staff id, ``person`` a name written in the plan."""
    plan = child.get("plan")
    actions = open_actions(plan)
    if actions:
        first = actions[0]
        due = day(first.get("due"))
        return {"what": first.get("what"), "own": True, "person": first.get("responsible_person"),
                "unit_id": first.get("unit_id"), "due": due, "overdue": bool(due and due < today)}
    bk, coordinator, decision = child.get("barnkontakt"), child.get("coordinator"), child.get("decision")
    holder = coordinator or bk
    step: dict[str, Any] = {"own": False, "due": None, "overdue": False}
    if bk is None:
        return {**step, "what": "Appoint a Barnkontakt for the child."}
    if decision is None:
        if not _seen(view, "ConversationHeld"):
            return {**step, "what": "Hold the child conversation.", "who": bk}
        return {**step, "what": "Decide on own support, a Barnteam or an individual team.", "who": bk}
    if decision["decision"] == Decision.INDIVIDUAL_TEAM.value and coordinator is None:
        return {**step, "what": "Appoint a support coordinator.", "who": bk}
    if plan is None and decision["decision"] != Decision.OWN_SUPPORT.value:
        return {**step, "what": "Write Barnets plan with the team and the family.", "who": holder}
    follow_up = day((plan or {}).get("next_follow_up"))
    if follow_up:
        return {**step, "what": "Hold the follow-up of the plan.", "who": holder, "due": follow_up,
                "overdue": follow_up < today}
    return {**step, "what": "No next step is set: add an action or a follow-up date to Barnets plan.", "who": holder}


def team(child: dict[str, Any]) -> dict[str, Any]:
    """The units of the team and the people the current plan names, unit by unit."""
    decision = child.get("decision") or {}
    unit_ids = list(decision.get("member_unit_ids") or [])
    for holder in (child.get("barnkontakt"), child.get("coordinator")):
        if holder and holder.get("unit_id") and holder["unit_id"] not in unit_ids:
            unit_ids.append(holder["unit_id"])
    people: dict[str, list[str]] = {}
    for action in (child.get("plan") or {}).get("actions", []):
        person, unit = action.get("responsible_person"), action.get("unit_id")
        if person and unit and person not in people.setdefault(unit, []):
            people[unit].append(person)
    for unit in people:
        if unit not in unit_ids:
            unit_ids.append(unit)
    return {"units": [{"unit_id": u, "people": people.get(u, [])} for u in unit_ids]}


def _score(value: Any, t: Translate, language: str) -> str:
    if value is None:
        return t("Don't know")
    return format_number(value, language, 1 if isinstance(value, float) and not value.is_integer() else None)


def _indicator(code: Any, t: Translate) -> str:
    """The indicator's question as the rating form words it (a code never reaches the page)."""
    known = {i.value: i for i in Indicator}
    return t(label_key(known[code])) if code in known else t("Rating")


def _area_lines(item: RecordItemOut, t: Translate, language: str) -> dict[str, list[str]]:
    """What one item says about each area, in words."""
    lines: dict[str, list[str]] = {}
    fields = item.fields
    for need in fields.get("unmet_needs") or []:
        if isinstance(need, dict) and need.get("area"):
            lines.setdefault(need["area"], []).extend([*need.get("statements", []), *([need["note"]] if need.get("note") else [])])
            lines[need["area"]] = lines[need["area"]] or [t("An unmet need is marked.")]
    for v in fields.get("views") or []:
        if isinstance(v, dict) and v.get("area"):
            lines.setdefault(v["area"], []).append(v.get("view") or "")
    for s in fields.get("scores") or []:  # an indicator left blank or "don't know" says nothing of its area
        if isinstance(s, dict) and s.get("area") and s.get("score") is not None:
            lines.setdefault(s["area"], []).append(
                t("{indicator}: {score}", indicator=_indicator(s.get("indicator"), t), score=_score(s.get("score"), t, language)))
    for key in ("joint_compass", "compass", "follow_up_compass"):
        for s in fields.get(key) or []:
            if isinstance(s, dict) and s.get("area") and s.get("score") is not None:
                lines.setdefault(s["area"], []).append(t("Joint score: {score}", score=_score(s["score"], t, language)))
    return lines


def by_area(view: ChildView, t: Translate, language: str) -> list[dict[str, Any]]:
    """Each Behovskompass area with what the viewer may see about it, step by step."""
    found: dict[str, list[dict[str, Any]]] = {}
    for item in view.items:
        for area, lines in _area_lines(item, t, language).items():
            found.setdefault(area, []).append(
                {"type": item.type, "at": item.occurred_at, "unit_id": item.unit_id, "lines": [x for x in lines if x]})
    return [{"area": a.value, "entries": found[a.value]} for a in Area if a.value in found]


def by_step(view: ChildView) -> list[dict[str, Any]]:
    """The record fact by fact (the parts of one fact together), under its step of the
    process, the steps in the order they first happened; what is shown by area or in the
    plan is left out here."""
    facts: dict[Any, dict[str, Any]] = {}
    for item in view.items:
        fact = facts.setdefault(item.event_id, {"type": item.type, "at": item.occurred_at, "unit_id": item.unit_id,
                                                "bases": [], "fields": {}})
        if item.basis is not None and item.basis not in fact["bases"]:
            fact["bases"].append(item.basis)
        fact["fields"].update({k: v for k, v in item.fields.items() if k not in AREA_FIELDS + HIDDEN_FIELDS})
    steps: dict[str, list[dict[str, Any]]] = {}
    for fact in facts.values():
        steps.setdefault(fact["type"], []).append(fact)
    return [{"type": type_name, "facts": found} for type_name, found in steps.items()]
