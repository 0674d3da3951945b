"""The child's pages for staff: the case page, the timeline, the rating form, the joint
Behovskompass and Barnets plan.

Every page reads the child through the core (``read_child`` or ``timeline``), which
decides what the signed-in member of staff may see now and records the read; a page
only arranges what it is given. Forms are checked for shape here, so each field's
problem is shown next to it with what was typed kept; every rule of the process is the
core's.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from pydantic import ValidationError

from consent import age_on
from contracts.indicators import INDICATORS, Indicator
from contracts.labels import label_key
from contracts.vocabulary import (
    CENTRAL_GOAL_EN,
    CENTRAL_GOAL_SV,
    COMPASS,
    ActionStatus,
    Area,
    RegisterAnswer,
)
from hub.application import Action
from hub.application.commands import SubmitRating, UpdatePlan
from hub.application.readmodels import ChildView, RatingForm
from hub.errors import InvalidInputError, NoBasisError, UnknownUnitError
from hub.web.app import Form, Web
from hub.web.documents import DOCUMENTS
from hub.web.filters import day
from hub.web.pages import child_overview
from hub.web.pages.consents import consent_banner, lost_sight_page
from hub.web.session import Visitor

BASE = "/staff/children/{child_id:uuid}"

AREA_CSS = {
    Area.TRYGGHET: "trygghet",
    Area.HALSA: "halsa",
    Area.UTVECKLAS: "utveckling",
    Area.OMVARDAD: "omsorg",
    Area.FRITID: "aktivitet",
    Area.RESPEKTERAS: "respekt",
    Area.ANSVARSTAGANDE: "ansvar",
    Area.TILLHORIGHET: "tillhorighet",
}
"""Each compass area's colour class (the ``--area-*`` variables of site.css)."""

SCORES = ("1", "2", "3", "4", "5")
NEW_ACTION_ROWS = 2
COMPASS_TYPES = {"TeamMeetingHeld": "joint_compass", "FollowUpHeld": "compass", "NeedsMet": "follow_up_compass"}


# -- reading what the core shows ------------------------------------------------------------


def _last(view: ChildView, type_name: str) -> dict[str, Any] | None:
    """The latest fact of a type, with every part of it the viewer may see."""
    found = view.merged(type_name)
    return found[-1] if found else None


def plan_versions(view: ChildView) -> list[dict[str, Any]]:
    """Every version of Barnets plan the viewer may see, oldest first, with completions applied."""
    versions = sorted(view.merged("PlanUpdated"), key=lambda v: v.get("plan_version", 0))
    done = {c["action_id"]: c for c in view.merged("PlanActionCompleted") if "action_id" in c}
    for version in versions:
        for action in version.get("actions", []):
            completion = done.get(action["action_id"])
            if completion is not None and completion["occurred_at"] >= version["occurred_at"]:
                action["status"] = ActionStatus.DONE.value
                action["completed_at"] = completion["occurred_at"]
    return versions


def summary(view: ChildView) -> dict[str, Any]:
    """What the case page shows first, from the items the core allowed."""
    identity = _last(view, "ChildRegistered")
    barnkontakt = None
    for item in view.items:
        if item.type in ("BarnkontaktAssigned", "BarnkontaktDelegated") and "staff_id" in item.fields:
            barnkontakt = item.fields
    decision = _last(view, "TeamDecided")
    coordinator = _last(view, "SupportCoordinatorAssigned")
    versions = plan_versions(view)
    born = day(identity.get("birth_date")) if identity else None
    return {
        "name": f"{identity['given_name']} {identity['family_name']}" if identity and "given_name" in identity else None,
        "age": age_on(born, view.as_of) if born else None,
        "barnkontakt": barnkontakt,
        "decision": decision if decision and "decision" in decision else None,
        "coordinator": coordinator if coordinator and "staff_id" in coordinator else None,
        "plan": versions[-1] if versions else None,
        "cards": [{**i.fields, "at": i.occurred_at, "from_unit_id": i.unit_id}
                  for i in view.of_type("DiscoveryCardSubmitted") if "card_id" in i.fields],
    }


def compasses(view: ChildView) -> list[dict[str, Any]]:
    """Every Behovskompass on record (team meetings, follow-ups, needs met), oldest first."""
    out = []
    for item in view.items:
        key = COMPASS_TYPES.get(item.type)
        if key and key in item.fields:
            scores = {s["area"]: s["score"] for s in item.fields[key]}
            out.append({"type": item.type, "at": item.occurred_at, "scores": scores})
    return out


def wheel(scores: dict[str, float | None]) -> list[dict[str, Any]]:
    """The eight segments of the compass wheel: an outline of the whole area and, inside
    it, a filled part as far out as the score reaches (1 to 5)."""
    centre, inner, outer = 160.0, 62.0, 150.0
    segments = []
    step = 2 * math.pi / len(Area)
    for i, area in enumerate(Area):
        start, end = -math.pi / 2 + i * step, -math.pi / 2 + (i + 1) * step
        score = scores.get(area.value)
        reach = inner + (outer - inner) * (score / 5) if score else None

        def ring(r_out: float) -> str:
            def at(r: float, a: float) -> str:
                return f"{centre + r * math.cos(a):.1f} {centre + r * math.sin(a):.1f}"

            return (
                f"M {at(inner, start)} L {at(r_out, start)} A {r_out} {r_out} 0 0 1 {at(r_out, end)} "
                f"L {at(inner, end)} A {inner} {inner} 0 0 0 {at(inner, start)} Z"
            )

        middle = (start + end) / 2
        label_r = (inner + outer) / 2 + 8
        segments.append(
            {
                "area": area.value,
                "css": AREA_CSS[area],
                "outline": ring(outer),
                "filled": ring(reach) if reach else None,
                "score": score,
                "x": f"{centre + label_r * math.cos(middle):.1f}",
                "y": f"{centre + label_r * math.sin(middle):.1f}",
            }
        )
    return segments


# -- forms ---------------------------------------------------------------------------------


def _one(value: Any) -> str:
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value).strip() if value is not None else ""


def _many(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value]) if str(v)]


SCORE_PREFIX = "score-"
NOT_KNOWN = "unknown"


def indicators(form: RatingForm) -> list[dict[str, Any]]:
    """The rating form's questions: the indicators of the child's age group, by area."""
    asked = [INDICATORS[i] for i in form.indicators]
    return [
        {
            "area": area.value,
            "css": AREA_CSS[area],
            "definition": d.definition_sv,
            "indicators": [
                {"key": SCORE_PREFIX + i.indicator.value, "label": label_key(i.indicator)}
                for i in asked if i.area is area
            ],
        }
        for area, d in COMPASS.items()
        if any(i.area is area for i in asked)
    ]


def read_rating(data: dict[str, Any], form: RatingForm) -> tuple[dict[str, str], list[dict[str, Any]], list[str]]:
    """What was chosen (to keep it), the scores as the core takes them, and the form key of
    each score. Every ``score-`` field sent is read, also one the form did not ask (unless
    left blank): the core, not this page, refuses an indicator outside the child's age group."""
    asked = [SCORE_PREFIX + i.value for i in form.indicators]
    extra = [k for k in data if isinstance(k, str) and k.startswith(SCORE_PREFIX) and k not in asked]
    typed: dict[str, str] = {}
    scores, order = [], []
    for key in asked + extra:
        value = _one(data.get(key))
        typed[key] = value
        blank = value in ("", NOT_KNOWN)
        if blank and key in extra:
            continue
        code = key.removeprefix(SCORE_PREFIX)
        known = INDICATORS[Indicator(code)] if code in INDICATOR_CODES else None
        score = None if blank else _whole_number(value)
        scores.append({"area": known.area.value if known else "", "indicator": code, "score": score})
        order.append(key)
    return typed, scores, order


INDICATOR_CODES = frozenset(i.value for i in Indicator)


def _whole_number(value: str) -> Any:
    """A short run of ASCII digits as a number; anything else stays text, for the command
    to refuse (a form sends text, and ``int`` takes neither 5,000 digits nor every script's)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else value


SCORE_PROBLEM = "Choose a score from 1 to 5, or “Don't know (not rated)”."
NOT_ASKED = "The rating held a question that is not asked for a child of this age. Nothing was recorded."


def rating_errors(problems: list[dict[str, Any]], order: list[str]) -> dict[str, str]:
    """Each problem next to the question it concerns; an indicator the form did not ask, or
    does not know, as a problem of the whole form."""
    out: dict[str, str] = {}
    for p in problems:
        loc = [x for x in str(p.get("field") or "").replace("[", ".").replace("]", "").split(".") if x]
        if len(loc) >= 3 and loc[0] == "scores" and loc[1].isdigit() and int(loc[1]) < len(order):
            if loc[2] == "score":
                out.setdefault(order[int(loc[1])], SCORE_PROBLEM)
            else:
                out.setdefault("form", NOT_ASKED)
        else:
            out.setdefault("form", "Check the scores.")
    return out


PLAN_FIELDS = ("what", "unit_id", "responsible_person", "due", "status", "area")


def plan_form_from(version: dict[str, Any] | None) -> dict[str, Any]:
    """The plan form filled in with the current version (or empty)."""
    goals = {a.value: "" for a in Area}
    rows: list[dict[str, str]] = []
    if version:
        for g in version.get("goals", []):
            goals[g["area"]] = (goals[g["area"]] + "\n" + g["goal"]).strip()
        for a in version.get("actions", []):
            rows.append({"action_id": a["action_id"], **{k: str(a.get(k) or "") for k in PLAN_FIELDS}})
    rows += [{"action_id": "", **{k: "" for k in PLAN_FIELDS}} for _ in range(NEW_ACTION_ROWS)]
    return {
        "goals": goals,
        "actions": rows,
        "child_view": (version or {}).get("child_view", ""),
        "guardian_view": (version or {}).get("guardian_view", ""),
        "next_follow_up": (version or {}).get("next_follow_up") or "",
    }


def read_plan(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    """What was typed (to keep it), the plan as the core takes it, and which form row each action came from."""
    goals = {a.value: _one(data.get(f"goal-{a.value}")) for a in Area}
    rows = []
    n = 0
    while f"action-{n}-what" in data or f"action-{n}-id" in data:
        rows.append(
            {"action_id": _one(data.get(f"action-{n}-id")), **{k: _one(data.get(f"action-{n}-{k}")) for k in PLAN_FIELDS}}
        )
        n += 1
    typed = {
        "goals": goals,
        "actions": rows,
        "child_view": _one(data.get("child_view")),
        "guardian_view": _one(data.get("guardian_view")),
        "next_follow_up": _one(data.get("next_follow_up")),
    }
    actions, origin = [], []
    for i, row in enumerate(rows):
        if not any(row[k] for k in ("what", "responsible_person", "due")) and not row["action_id"]:
            continue  # an empty row for a new action, left unused
        action: dict[str, Any] = {k: row[k] or None for k in ("what", "unit_id", "responsible_person", "due")}
        action["status"] = row["status"] or ActionStatus.PLANNED.value
        action["area"] = row["area"] or None
        if row["action_id"]:
            action["action_id"] = row["action_id"]
        actions.append(action)
        origin.append(i)
    plan = {
        "goals": [{"area": area, "goal": line.strip()} for area, text in goals.items() for line in text.splitlines() if line.strip()],
        "actions": actions,
        "child_view": typed["child_view"],
        "guardian_view": typed["guardian_view"],
        "next_follow_up": typed["next_follow_up"] or None,
    }
    return typed, plan, origin


def plan_errors(problems: list[dict[str, Any]], plan: dict[str, Any], origin: list[int]) -> dict[str, str]:
    """Each problem under the form field it concerns."""
    out: dict[str, str] = {}
    goal_areas = [g["area"] for g in plan["goals"]]
    for p in problems:
        loc = [x for x in str(p.get("field") or "").replace("[", ".").replace("]", "").split(".") if x]
        message = MESSAGES.get(p.get("kind", ""), "Check this field.")
        if len(loc) >= 3 and loc[0] == "actions" and loc[1].isdigit() and int(loc[1]) < len(origin):
            field = loc[2] if loc[2] in PLAN_FIELDS else "what"
            out.setdefault(f"action-{origin[int(loc[1])]}-{field}", message)
        elif len(loc) >= 2 and loc[0] == "actions" and loc[1].isdigit() and int(loc[1]) < len(origin):
            out.setdefault(f"action-{origin[int(loc[1])]}-unit_id", message)
        elif len(loc) >= 2 and loc[0] == "goals" and loc[1].isdigit() and int(loc[1]) < len(goal_areas):
            out.setdefault(f"goal-{goal_areas[int(loc[1])]}", message)
        elif loc and loc[0] in ("child_view", "guardian_view", "next_follow_up"):
            out.setdefault(loc[0], message)
        else:
            out.setdefault("form", p.get("message") and "The plan could not be saved; check the fields." or message)
    return out


MESSAGES = {
    "missing": "Fill in this field.",
    "string_too_short": "Fill in this field.",
    "string_too_long": "This text is too long.",
    "date_from_datetime_parsing": "Give a date as YYYY-MM-DD.",
    "date_parsing": "Give a date as YYYY-MM-DD.",
    "date_type": "Give a date as YYYY-MM-DD.",
    "enum": "Choose one of the options.",
    "unknown-unit": "Choose a unit of the cooperation area.",
}


def _pydantic_problems(error: ValidationError) -> list[dict[str, Any]]:
    out = []
    for e in error.errors(include_input=False, include_url=False):
        kind = e["type"]
        if kind == "date_from_datetime_inexact" or kind.startswith("date"):
            kind = "date_parsing"
        if kind == "string_type" and e["loc"][-1:] in (("what",), ("responsible_person",), ("due",), ("unit_id",)):
            kind = "missing"
        if kind in ("none_required", "string_type", "date_type") and e["loc"][-1:] == ("due",):
            kind = "date_parsing"
        out.append({"field": ".".join(str(x) for x in e["loc"]), "kind": kind, "message": e["msg"]})
    return out


# -- the pages -----------------------------------------------------------------------------


def routes(web: Web) -> list[Any]:
    hub = web.hub

    def units(tenant_id: str) -> dict[str, str]:
        tenant = hub.directory.tenants.get(tenant_id)
        return {u.unit_id: u.name for u in tenant.units.values()} if tenant else {}

    def staff_names(tenant_id: str) -> dict[str, str]:
        tenant = hub.directory.tenants.get(tenant_id)
        return {s.user_id: s.name for s in tenant.staff.values()} if tenant else {}

    def read(who: Visitor, child_id: UUID, purpose: str) -> ChildView:
        return hub.read_child(who.require(who.path), child_id, purpose=who.t(purpose), view="unit_view")

    def page(who: Visitor, template: str, child_id: UUID, view: ChildView, status_code: int = 200, **context: Any) -> Template:
        principal = who.require(who.path)
        return web.render(
            who,
            template,
            status_code=status_code,
            active="cases",
            child_id=str(child_id),
            child=summary(view),
            units=units(principal.tenant_id),
            staff_names=staff_names(principal.tenant_id),
            central_goal=CENTRAL_GOAL_SV if who.language == "sv" else CENTRAL_GOAL_EN,
            **context,
        )

    @get(BASE, sync_to_thread=True, include_in_schema=False)
    def child_page(
        request: Request[Any, Any, Any], child_id: FromPath[UUID],
        checked: Annotated[int | None, QueryParameter(ge=0, le=99)] = None,
        confirmed: Annotated[int | None, QueryParameter(ge=0, le=99)] = None,
    ) -> Template:
        who = web.visitor(request)
        try:
            view = read(who, child_id, "Child page for staff")
        except NoBasisError:
            if (told := lost_sight_page(web, who, child_id)) is not None:
                return told
            raise
        principal = who.require(who.path)
        is_barnkontakt = web.hub.may(principal, Action.SEND_FEEDBACK, child_id)
        may_take_role = web.hub.may(principal, Action.TAKE_BARNKONTAKT_ROLE, child_id, staff_id=principal.user_id)
        may_check_guardians = web.hub.may(principal, Action.CHECK_GUARDIANS, child_id)
        may_close = web.hub.may(principal, Action.CLOSE_CASE, child_id)
        child = summary(view)
        today = day(view.as_of) or view.as_of.date()
        return page(
            who, "child/child.html", child_id, view, is_barnkontakt=is_barnkontakt,
            next_step=child_overview.next_step(child, view, today), team=child_overview.team(child),
            open_actions=child_overview.open_actions(child["plan"]),
            areas_seen=child_overview.by_area(view, who.t, who.language), steps=child_overview.by_step(view),
            may_take_role=may_take_role, may_check_guardians=may_check_guardians, may_close=may_close,
            guardians_checked=checked if may_check_guardians and checked is not None and confirmed is not None
            and 0 <= confirmed <= checked else None,
            guardians_confirmed=confirmed, consent_signals=consent_banner(web, who, child_id),
        )

    @post(BASE + "/guardians/check", sync_to_thread=True, include_in_schema=False)
    def guardians_check(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Redirect:
        """Ask the population register again about the child's guardians with custody; the
        core asks the permission policy, as for the API's and the command line's check."""
        who = web.visitor(request)
        principal = who.require(who.path)

        def act() -> str:
            answers = hub.check_guardians(principal, child_id)
            confirmed = sum(a is RegisterAnswer.CONFIRMED for a in answers.values())
            return f"/staff/children/{child_id}?checked={len(answers)}&confirmed={confirmed}"

        return web.act(who, data, act)

    @get(BASE + "/timeline", sync_to_thread=True, include_in_schema=False)
    def timeline_page(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        principal = who.require(who.path)
        timeline = hub.timeline(principal, child_id, purpose=who.t("The child's timeline"))
        return web.render(
            who, "child/timeline.html", active="cases", child_id=str(child_id), steps=timeline.steps,
            units=units(principal.tenant_id),
        )

    def rating_page(who: Visitor, child_id: UUID, *, form: RatingForm | None = None, typed: dict[str, str] | None = None,
                    errors: dict[str, str] | None = None, status_code: int = 200) -> Template:
        form = form or hub.rating_form(who.require(who.path), child_id)
        view = read(who, child_id, "Rating form (Skattningsformulär)")
        return page(who, "child/rating.html", child_id, view, status_code=status_code,
                    groups=indicators(form), age_group=form.age_group.value.replace("-", "–"),
                    typed=typed or {}, errors=errors or {}, choices=SCORES, not_known=NOT_KNOWN)

    @get(BASE + "/rating", sync_to_thread=True, include_in_schema=False)
    def rating_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        return rating_page(web.visitor(request), child_id)

    @post(BASE + "/rating", sync_to_thread=True, include_in_schema=False)
    def rating_sent(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        principal = who.require(who.path)
        who.check_form(data)
        form = hub.rating_form(principal, child_id)
        typed, scores, order = read_rating(data, form)

        def refused(errors: dict[str, str]) -> Template:
            return rating_page(who, child_id, form=form, typed=typed, errors=errors, status_code=422)

        if all(s["score"] is None for s in scores):
            return refused({"form": "Give at least one score; leave the rest blank."})
        try:
            checked = SubmitRating.model_validate({"scores": scores})
        except ValidationError as e:
            return refused(rating_errors(_pydantic_problems(e), order))

        def act() -> str:
            hub.submit_rating(principal, child_id, command=checked)
            return f"/staff/children/{child_id}/compass?rated=1"

        try:
            return web.act(who, data, act)
        except InvalidInputError as e:
            return refused(rating_errors(e.errors or [{"field": e.field or "", "message": e.detail}], order))

    def compass_page(who: Visitor, child_id: UUID, *, typed: dict[str, Any] | None = None,
                     errors: dict[str, str] | None = None, status_code: int = 200, **extra: Any) -> Template:
        view = read(who, child_id, "Joint Behovskompass")
        can_meet = bool(who.principal and web.hub.may(who.principal, Action.HOLD_TEAM_MEETING, child_id))
        found = compasses(view)
        current = found[-1] if found else None
        return page(who, "child/compass.html", child_id, view, status_code=status_code,
                    current=current, history=found, segments=wheel(current["scores"] if current else {}),
                    areas=[{"area": a.value, "css": AREA_CSS[a]} for a in Area],
                    ratings=hub.ratings_sent(who.principal, child_id) if can_meet and who.principal else None,
                    can_meet=can_meet,
                    typed=typed or {}, errors=errors or {}, **extra)

    @get(BASE + "/compass", sync_to_thread=True, include_in_schema=False)
    def compass_view(request: Request[Any, Any, Any], child_id: FromPath[UUID], rated: FromQuery[str | None] = None, held: FromQuery[str | None] = None) -> Template:
        return compass_page(web.visitor(request), child_id, rated=bool(rated), held=bool(held))

    @post(BASE + "/compass", sync_to_thread=True, include_in_schema=False)
    def meeting_held(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        principal = who.require(who.path)
        who.check_form(data)
        participants = _many(data.get("participant_unit_ids"))
        advice = _one(data.get("advice"))
        typed = {"participant_unit_ids": participants, "advice": advice}
        if not participants:
            return compass_page(who, child_id, typed=typed, status_code=422,
                                errors={"participant_unit_ids": "Choose at least one unit that took part."})
        if len(advice) > 8000:
            return compass_page(who, child_id, typed=typed, status_code=422, errors={"advice": "This text is too long."})

        def act() -> str:
            hub.hold_team_meeting(principal, child_id, participant_unit_ids=participants, advice=advice)
            return f"/staff/children/{child_id}/compass?held=1"

        try:
            return web.act(who, data, act)
        except (InvalidInputError, UnknownUnitError) as e:
            field = "participant_unit_ids" if (e.field or "").startswith("participant") else "advice"
            return compass_page(who, child_id, typed=typed, status_code=422, errors={field: "Choose a unit of the cooperation area."})

    def plan_page(who: Visitor, child_id: UUID, *, typed: dict[str, Any] | None = None,
                  errors: dict[str, str] | None = None, status_code: int = 200, template: str = "child/plan.html",
                  **extra: Any) -> Template:
        view = read(who, child_id, "Barnets plan")
        versions = plan_versions(view)
        current = versions[-1] if versions else None
        principal = who.principal
        can_write = bool(principal and web.hub.may(principal, Action.UPDATE_PLAN, child_id))
        return page(who, template, child_id, view, status_code=status_code, current=current,
                    versions=list(reversed(versions)), form=typed or plan_form_from(current), errors=errors or {},
                    areas=[{"area": a.value, "css": AREA_CSS[a]} for a in Area], statuses=[s.value for s in ActionStatus],
                    can_write=can_write, **extra)

    @get(BASE + "/plan", sync_to_thread=True, include_in_schema=False)
    def plan_view(request: Request[Any, Any, Any], child_id: FromPath[UUID], saved: FromQuery[str | None] = None, done: FromQuery[str | None] = None) -> Template:
        return plan_page(web.visitor(request), child_id, saved=bool(saved), completed=bool(done))

    @get(BASE + "/plan/print", sync_to_thread=True, include_in_schema=False)
    def plan_print(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        return plan_page(web.visitor(request), child_id, template="child/plan_print.html")

    @get(BASE + "/plan.pdf", sync_to_thread=True, include_in_schema=False)
    def plan_pdf(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Response[bytes]:
        """Barnets plan as PDF/A for the unit's archive or journal: read, gated and recorded as the page is."""
        who = web.visitor(request)
        return DOCUMENTS.plan(hub, who.require(who.path), child_id)

    @post(BASE + "/plan", sync_to_thread=True, include_in_schema=False)
    def plan_sent(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        principal = who.require(who.path)
        who.check_form(data)
        typed, plan, origin = read_plan(data)
        try:
            checked = UpdatePlan.model_validate(plan)
        except ValidationError as e:
            return plan_page(who, child_id, typed=typed, errors=plan_errors(_pydantic_problems(e), plan, origin), status_code=422)

        def act() -> str:
            values = checked.values()
            taken = {a["action_id"] for a in values["actions"] if a["action_id"]}
            for a in values["actions"]:
                if not a["action_id"]:
                    a["action_id"] = next(f"a{n}" for n in range(1, 1000) if f"a{n}" not in taken)
                    taken.add(a["action_id"])
            hub.update_plan(principal, child_id, **values)
            return f"/staff/children/{child_id}/plan?saved=1"

        try:
            return web.act(who, data, act)
        except UnknownUnitError as e:
            problems = [{"field": e.field or "", "kind": "unknown-unit", "message": e.detail}]
            return plan_page(who, child_id, typed=typed, errors=plan_errors(problems, plan, origin), status_code=422)
        except InvalidInputError as e:
            problems = [{**p, "kind": "unknown-unit" if "unit" in p.get("message", "") else ""} for p in e.errors] or [
                {"field": e.field or "", "kind": "", "message": e.detail}
            ]
            return plan_page(who, child_id, typed=typed, errors=plan_errors(problems, plan, origin), status_code=422)

    @post(BASE + "/plan/actions/{action_id:str}/done", sync_to_thread=True, include_in_schema=False)
    def action_done(request: Request[Any, Any, Any], child_id: FromPath[UUID], action_id: FromPath[str], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        principal = who.require(who.path)
        note = _one(data.get("note"))
        if len(note) > 2000:
            who.check_form(data)
            return plan_page(who, child_id, errors={f"note-{action_id}": "This text is too long."}, status_code=422)

        def act() -> str:
            hub.complete_plan_action(principal, child_id, action_id=action_id, note=note)
            return f"/staff/children/{child_id}/plan?done=1"

        return web.act(who, data, act)

    return [child_page, guardians_check, timeline_page, rating_form, rating_sent, compass_view, meeting_held, plan_view, plan_print, plan_pdf, plan_sent, action_done]
