"""Closing a child's case: needs met (behoven tillgodosedda) with its follow-up compass, and
closing for another reason (the family moved away, the guardians declined); and the area's
retention periods (gallring) with the law behind each.

Both closing forms list the plan actions still open, each needing a reason: the core refuses
to close while one is open without one, and the page says which. Who may close, and what the
closure changes for reading, is decided in the core, as for the API.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from contracts.labels import label_key
from contracts.vocabulary import Area, ClosureReason, UnitKind
from hub.application.closure import ClosureStatus
from hub.errors import OutOfOrderError
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.pages.forms import FIELD_PROBLEMS, Problems, one
from hub.web.pages.staff import tenant_of
from hub.web.session import Visitor

BASE = "/staff/children/{child_id:uuid}"
OTHER_REASONS = (ClosureReason.MOVED_AWAY, ClosureReason.DECLINED)
"""What the close-case form offers: needs met has its own page, with the compass."""
SCORES = ("1", "2", "3", "4", "5")
MAX_REASON = 2000
MAX_SUMMARY = 4000

LAW_BY_KIND: dict[UnitKind, str] = {
    UnitKind.SOCIAL_SERVICES: "retention:law:social",
    UnitKind.MIDWIFE_CLINIC: "retention:law:health",
    UnitKind.BVC: "retention:law:health",
    UnitKind.BUP: "retention:law:health",
    UnitKind.HAB: "retention:law:health",
    UnitKind.FIRST_LINE_PSYCHIATRY: "retention:law:health",
    UnitKind.PUPIL_HEALTH: "retention:law:pupil_health",
    UnitKind.PRESCHOOL: "retention:law:school",
    UnitKind.SCHOOL: "retention:law:school",
    UnitKind.YOUTH_CENTRE: "retention:law:youth",
    UnitKind.POLICE: "retention:law:police",
}
"""The message naming the law each kind's default follows (docs/retention.md)."""


def _reasons(who: Visitor, status: ClosureStatus, data: dict[str, Any], problems: Problems) -> list[dict[str, str]]:
    """Each open action's reason from the form; a missing or too long one is a problem."""
    closing = []
    for a in status.open_actions:
        text = one(data, f"reason_{a.action_id}")
        if not text:
            problems.add(f"reason_{a.action_id}", "Write why this action ends unfinished.")
        elif len(text) > MAX_REASON:
            problems.add(f"reason_{a.action_id}", "The reason is too long: at most 2000 characters.")
        else:
            closing.append({"action_id": a.action_id, "reason": text})
    return closing


def refused(who: Visitor, error: Exception, status: ClosureStatus) -> Problems:
    """The core's refusal in the page's words (the core's own texts are for the API): an
    action still open (another user added or reopened one meanwhile), or else the form."""
    problems = Problems(who, {})
    if isinstance(error, OutOfOrderError) and status.open_actions:
        problems.add("closed_actions", "Could not close: a plan action is still open.")
    else:
        problems.add("form", "The case could not be closed. Check the form and try again.")
    return problems


def routes(web: Web) -> list[Any]:
    def unit_names(p: Principal) -> dict[str, str]:
        return {u.unit_id: u.name for u in tenant_of(web, p).units.values()}

    def page(
        who: Visitor, p: Principal, child_id: UUID, template: str, status: ClosureStatus,
        values: dict[str, Any], problems: Problems | None = None, **extra: Any,
    ) -> Template:
        return web.render(
            who, template, status_code=422 if problems else 200, active="cases", child_id=str(child_id),
            status=status, values=values, errors=problems.by_field if problems else {}, units=unit_names(p), **extra,
        )

    def areas(who: Visitor) -> list[dict[str, str]]:
        return [{"area": a.value, "label": who.t(label_key(a))} for a in Area]

    # -- needs met -------------------------------------------------------------------------

    @get(BASE + "/needs-met", sync_to_thread=True)
    def needs_met_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = who.require(who.path)
        status = web.hub.closure_status(p, child_id)
        return page(who, p, child_id, "closure/needs_met.html", status, {"scores": {}}, areas=areas(who))

    @post(BASE + "/needs-met", sync_to_thread=True)
    def record_needs_met(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = who.require(who.path)
        status = web.hub.closure_status(p, child_id)
        scores = {a.value: one(data, f"score_{a.value}") for a in Area}
        values: dict[str, Any] = {
            "scores": scores, "summary": one(data, "summary"),
            "reasons": {a.action_id: one(data, f"reason_{a.action_id}") for a in status.open_actions},
        }
        problems = Problems(who, {})
        compass = []
        for area, score in scores.items():
            if score and score not in SCORES:
                problems.add("follow_up_compass", "Choose a score from 1 to 5, or leave the area blank.")
            elif score:
                compass.append({"area": area, "score": float(score)})
        if not compass:
            problems.add("follow_up_compass", "Score at least one area of the follow-up Behovskompass.")
        if len(values["summary"]) > MAX_SUMMARY:
            problems.add("summary", "The summary is too long: at most 4000 characters.")
        closing = _reasons(who, status, data, problems)
        if problems:
            return page(who, p, child_id, "closure/needs_met.html", status, values, problems, areas=areas(who))

        def act() -> str:
            web.hub.record_needs_met(p, child_id, follow_up_compass=compass, summary=values["summary"], closed_actions=closing)
            return f"/staff/children/{child_id}/closure"

        try:
            return web.act(who, data, act)
        except (*FIELD_PROBLEMS, OutOfOrderError) as e:
            now = web.hub.closure_status(p, child_id)
            return page(who, p, child_id, "closure/needs_met.html", now, values, refused(who, e, now), areas=areas(who))

    # -- closing for another reason -----------------------------------------------------------

    @get(BASE + "/closure", sync_to_thread=True)
    def close_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = who.require(who.path)
        status = web.hub.closure_status(p, child_id)
        return page(who, p, child_id, "closure/close.html", status, {}, reasons=OTHER_REASONS)

    @post(BASE + "/closure", sync_to_thread=True)
    def close_case(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = who.require(who.path)
        status = web.hub.closure_status(p, child_id)
        reason = one(data, "reason")
        values: dict[str, Any] = {
            "reason": reason, "reasons": {a.action_id: one(data, f"reason_{a.action_id}") for a in status.open_actions},
        }
        problems = Problems(who, {})
        if reason not in {r.value for r in OTHER_REASONS}:
            problems.add("reason", "Choose why the case is closed.")
        closing = _reasons(who, status, data, problems)
        if problems:
            return page(who, p, child_id, "closure/close.html", status, values, problems, reasons=OTHER_REASONS)

        def act() -> str:
            web.hub.close_case(p, child_id, reason=reason, closed_actions=closing)
            return f"/staff/children/{child_id}/closure"

        try:
            return web.act(who, data, act)
        except (*FIELD_PROBLEMS, OutOfOrderError) as e:
            now = web.hub.closure_status(p, child_id)
            return page(who, p, child_id, "closure/close.html", now, values, refused(who, e, now), reasons=OTHER_REASONS)

    # -- the area's retention periods -------------------------------------------------------------

    @get("/staff/retention", sync_to_thread=True)
    def retention(request: Request[Any, Any, Any]) -> Template:
        who = web.visitor(request)
        p = who.require(who.path)
        rows = web.hub.retention_periods(p)
        by_kind: dict[UnitKind, list[Any]] = {}
        for row in rows:
            by_kind.setdefault(row.unit_kind, []).append(row)
        kinds = []
        for kind, kind_rows in by_kind.items():
            usual = Counter(r.days for r in kind_rows).most_common(1)[0][0]
            kinds.append({
                "kind": kind, "days": usual, "years": next(r.years for r in kind_rows if r.days == usual),
                "set_by_area": any(r.set_by_area and r.days == usual for r in kind_rows),
                "exceptions": [r for r in kind_rows if r.days != usual],
            })
        return web.render(who, "closure/retention.html", active="retention", kinds=kinds, law=LAW_BY_KIND)

    return [needs_met_form, record_needs_met, close_form, close_case, retention]
