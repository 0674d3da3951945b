"""The support coordinator (Stödsamordnare) and the follow-up (uppföljning).

The Barnkontakt appoints the coordinator of an individual team, with a deputy (ersättare)
who acts as the coordinator while named; the coordinator, the deputy, the Barnkontakt or
the administrator hands the role over to another coordinator, saying why. The coordinator
(or the Barnkontakt) holds the follow-up with a new Behovskompass, which the page sets
beside the first one: per area, before, now and the change, in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from contracts.vocabulary import COMPASS, Area
from hub.application import Action
from hub.application.readmodels import ChildView
from hub.errors import NotPermittedError
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.pages.forms import FIELD_PROBLEMS, Problems, many, one, problems_from
from hub.web.pages.process_common import BASE, Person, child_name, coordinators, person, read, require, signed_in_staff
from hub.web.pages.staff import areas
from hub.web.session import Visitor

SCORES = ("1", "2", "3", "4", "5")
COMPASS_FIELDS = {"TeamMeetingHeld": "joint_compass", "FollowUpHeld": "compass"}
NOT_COORDINATING = "Only the child's Barnkontakt, support coordinator or its deputy may appoint or hand over the support coordinator."
NOT_FOLLOWING_UP = "Only the child's Barnkontakt, support coordinator or its deputy holds the follow-up."


# -- the support coordinator ---------------------------------------------------------------


def current_coordinator(web: Web, p: Principal, view: ChildView) -> dict[str, Any] | None:
    """The coordinator and deputy now, and who handed over to them and why, by name and unit."""
    found = [f for f in view.merged("SupportCoordinatorAssigned") if "staff_id" in f]
    if not found:
        return None
    last = found[-1]
    return {
        "coordinator": person(web, p, last.get("staff_id")),
        "deputy": person(web, p, last.get("deputy_staff_id")),
        "previous": person(web, p, last.get("from_staff_id")),
        "reason": last.get("reason") or "",
        "since": last["occurred_at"],
    }


def may_name(web: Web, p: Principal, child_id: UUID, action: Action, people: list[Person]) -> bool:
    return any(web.hub.may(p, action, child_id, staff_id=x.user_id) for x in people)


def coordinator_field(prefix: str) -> Callable[[str], str]:
    """The form's field for a field the core names: the appointment's or the hand-over's."""

    def to_field(core_field: str) -> str:
        if core_field in ("staff_id", "deputy_staff_id"):
            return prefix + core_field
        return "reason" if core_field == "reason" else "form"

    return to_field


# -- the follow-up ------------------------------------------------------------------------------


def compasses(view: ChildView) -> list[dict[str, Any]]:
    """Each Behovskompass the viewer may see, oldest first: the team meeting's and the follow-ups'."""
    out = []
    for type_name, key in COMPASS_FIELDS.items():
        for fact in view.merged(type_name):
            scores = {s["area"]: s.get("score") for s in fact.get(key) or []}
            if any(v is not None for v in scores.values()):
                out.append({"type": type_name, "at": fact["occurred_at"], "scores": scores})
    return sorted(out, key=lambda c: c["at"])


def comparison(first: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    """Per area: the first score, the new one, and whether the need is better met (5 is fully met)."""
    rows = []
    for area in Area:
        before, after = first["scores"].get(area.value), now["scores"].get(area.value)
        change = None if before is None or after is None else round(after - before, 2)
        trend = "none" if change is None else "better" if change > 0 else "worse" if change < 0 else "same"
        rows.append({"area": area.value, "before": before, "now": after, "change": abs(change or 0), "trend": trend})
    return rows


def read_scores(data: dict[str, Any], problems: Problems) -> list[dict[str, Any]]:
    scores = []
    for area in Area:
        given = one(data, f"score_{area.value}")
        if given in SCORES:
            scores.append({"area": area.value, "score": float(given)})
        elif given:
            problems.add("scores", "Choose a score from 1 to 5, or leave the area unscored.")
    if not scores:
        problems.add("scores", "Give at least one area a score.")
    return scores


def read_needs(data: dict[str, Any], problems: Problems) -> tuple[dict[str, list[str]], dict[str, str], list[dict[str, Any]]]:
    needs = {a.value: many(data, f"need_{a.value}") for a in Area}
    notes = {a.value: one(data, f"note_{a.value}") for a in Area}
    for area in Area:
        if set(needs[area.value]) - set(COMPASS[area].need_statements_sv):
            problems.add("needs", "Tick only the statements of the form.")
    unmet = [
        {"area": a.value, "statements": needs[a.value], "note": notes[a.value]}
        for a in Area if needs[a.value] or notes[a.value]
    ]
    return needs, notes, unmet


def team_routes(web: Web) -> list[Any]:
    def coordinator_page(
        who: Visitor, p: Principal, child_id: UUID, view: ChildView, values: dict[str, str],
        problems: Problems | None = None, *, done: str = "",
    ) -> Template:
        people = coordinators(web, p)
        now = current_coordinator(web, p, view)
        # the core knows whether there is a coordinator, whatever this viewer may see of it
        may_hand_over = may_name(web, p, child_id, Action.HAND_OVER_SUPPORT_COORDINATOR, people)
        may_appoint = not may_hand_over and may_name(web, p, child_id, Action.APPOINT_SUPPORT_COORDINATOR, people)
        if not (may_appoint or may_hand_over or done):
            raise NotPermittedError(NOT_COORDINATING)
        return web.render(
            who, "process/coordinator.html", status_code=422 if problems else 200, active="cases",
            child_id=str(child_id), name=child_name(view), now=now, people=people, values=values,
            errors=problems.by_field if problems else {}, may_appoint=may_appoint, may_hand_over=may_hand_over, done=done,
        )

    @get(BASE + "/coordinator", sync_to_thread=True)
    def coordinator_form(request: Request[Any, Any, Any], child_id: FromPath[UUID], done: FromQuery[str] = "") -> Template:
        who = web.visitor(request)
        p = signed_in_staff(web, who)
        view = read(web, p, child_id, "Stödsamordnare: utse eller lämna över")
        return coordinator_page(who, p, child_id, view, {}, done=done if done in ("appointed", "handed_over") else "")

    @post(BASE + "/coordinator", sync_to_thread=True)
    def coordinator(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = signed_in_staff(web, who)
        who.check_form(data)
        step = one(data, "step")
        prefix = "new_" if step == "hand_over" else ""
        values = {k: one(data, k) for k in ("staff_id", "deputy_staff_id", "new_staff_id", "new_deputy_staff_id", "reason")}
        chosen, deputy = values[prefix + "staff_id"], values[prefix + "deputy_staff_id"]
        known = {x.user_id for x in coordinators(web, p)}
        problems = Problems(who, {})
        if step not in ("appoint", "hand_over"):
            problems.add("form", "Send the form from the page.")
        if chosen not in known:
            problems.add(prefix + "staff_id", "Choose the support coordinator from the list.")
        if deputy and deputy not in known:
            problems.add(prefix + "deputy_staff_id", "Choose the deputy from the list, or no deputy.")
        elif deputy and deputy == chosen:
            problems.add(prefix + "deputy_staff_id", "The deputy must be someone other than the coordinator.")
        if step == "hand_over" and not values["reason"]:
            problems.add("reason", "Write why the role is handed over.")
        if problems:
            return coordinator_page(who, p, child_id, read(web, p, child_id, "Stödsamordnare: utse eller lämna över"), values, problems)

        def act() -> str:
            if step == "hand_over":
                web.hub.hand_over_support_coordinator(
                    p, child_id, staff_id=chosen, deputy_staff_id=deputy or None, reason=values["reason"]
                )
                return f"/staff/children/{child_id}/coordinator?done=handed_over"
            web.hub.assign_support_coordinator(p, child_id, staff_id=chosen, deputy_staff_id=deputy or None)
            return f"/staff/children/{child_id}/coordinator?done=appointed"

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            found = problems_from(who, e, coordinator_field(prefix))
            return coordinator_page(who, p, child_id, read(web, p, child_id, "Stödsamordnare: utse eller lämna över"), values, found)

    def follow_up_page(
        who: Visitor, p: Principal, child_id: UUID, values: dict[str, Any], problems: Problems | None = None, *, held: bool = False,
    ) -> Template:
        view = read(web, p, child_id, "Uppföljning: Behovskompassen jämförd med den första")  # an unknown child: 404 first
        require(web, p, child_id, Action.HOLD_FOLLOW_UP, refusal=NOT_FOLLOWING_UP)
        found = compasses(view)
        first = found[0] if found else None
        latest = found[-1] if len(found) > 1 else None
        return web.render(
            who, "process/follow_up.html", status_code=422 if problems else 200, active="cases",
            child_id=str(child_id), name=child_name(view), first=first, latest=latest,
            rows=comparison(first, latest) if first and latest else [], areas=areas(who), scores=SCORES,
            values=values, errors=problems.by_field if problems else {}, held=held,
        )

    @get(BASE + "/follow-up", sync_to_thread=True)
    def follow_up_form(request: Request[Any, Any, Any], child_id: FromPath[UUID], held: FromQuery[str] = "") -> Template:
        who = web.visitor(request)
        p = signed_in_staff(web, who)
        return follow_up_page(who, p, child_id, {"needs": {}, "notes": {}, "scores": {}}, held=held == "1")

    @post(BASE + "/follow-up", sync_to_thread=True)
    def follow_up(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = signed_in_staff(web, who)
        who.check_form(data)
        problems = Problems(who, {})
        scores = read_scores(data, problems)
        needs, notes, unmet = read_needs(data, problems)
        values = {
            "needs": needs, "notes": notes, "summary": one(data, "summary"),
            "scores": {a.value: one(data, f"score_{a.value}") for a in Area},
        }
        if problems:
            return follow_up_page(who, p, child_id, values, problems)

        def act() -> str:
            web.hub.hold_follow_up(p, child_id, summary=values["summary"], compass=scores, unmet_needs=unmet)
            return f"/staff/children/{child_id}/follow-up?held=1"

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            found = problems_from(who, e, lambda f: "summary" if f == "summary" else "needs" if f.startswith("unmet") else "form")
            return follow_up_page(who, p, child_id, values, found)

    return [coordinator_form, coordinator, follow_up_form, follow_up]
