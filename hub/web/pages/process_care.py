"""Secrecy towards the guardians (sekretess mot vårdnadshavare) and home visits (hembesök).

A unit keeps from the guardians facts it recorded itself, and social services also a concern
report filed to it (OSL 12 kap. 3 §, 26 kap. 1 §): the page lists exactly those, each by what
it is and when, and asks why. The midwife clinic, the BVC or parent support records the
visits of the extended home-visit programme (1-6): which visit, on which day, and notes;
the page shows which visits are done.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from contracts.bounds import day_in_window
from contracts.vocabulary import SWEDISH_TIME, HomeVisit, UnitKind
from hub.application import Action
from hub.application.readmodels import ChildView
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.pages.forms import FIELD_PROBLEMS, Problems, many, one, problems_from, same_field, uuid_or_none
from hub.web.pages.process_common import BASE, child_name, read, require, signed_in_staff
from hub.web.pages.staff import tenant_of, unit_name
from hub.web.session import Visitor

NOT_A_HOME_VISIT_UNIT = "Home visits are recorded by the midwife clinic, the BVC or parent support."
NOT_SHOWN = frozenset({"InformationWithheld", "InformationAccessed", "AccessReviewed", "GuardianLinkChecked"})
"""Facts that are not information about the child to keep back."""
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- secrecy towards the guardians -----------------------------------------------------------


def withholdable(web: Web, p: Principal, view: ChildView) -> list[dict[str, Any]]:
    """The facts this unit may keep from the guardians, oldest first, each by kind and day,
    and whether they are kept back already."""
    social = p.unit_id is not None and tenant_of(web, p).units[p.unit_id].kind is UnitKind.SOCIAL_SERVICES
    withheld = {str(e) for f in view.merged("InformationWithheld") if not f.get("reporter_only") for e in f.get("event_ids", [])}
    found: dict[UUID, dict[str, Any]] = {}
    for item in view.items:
        if item.type in NOT_SHOWN or item.event_id in found:
            continue
        filed_here = social and item.type == "ConcernReportFiled" and item.fields.get("to_unit_id") == p.unit_id
        if item.unit_id == p.unit_id or filed_here:
            found[item.event_id] = {
                "event_id": str(item.event_id), "type": item.type, "at": item.occurred_at,
                "unit": unit_name(web, p, item.unit_id), "withheld": str(item.event_id) in withheld,
            }
    return sorted(found.values(), key=lambda f: f["at"])


# -- home visits --------------------------------------------------------------------------------


def visits_done(web: Web, p: Principal, view: ChildView) -> dict[int, dict[str, Any]]:
    done: dict[int, dict[str, Any]] = {}
    for fact in view.merged("HomeVisitRecorded"):
        if "visit" in fact:
            done[int(fact["visit"])] = {
                "on": fact.get("visited_on") or fact["occurred_at"], "unit": unit_name(web, p, fact.get("unit_id")),
                "notes": fact.get("notes") or "",
            }
    return done


def read_visit_day(typed: str, problems: Problems, today: date) -> date | None:
    if not typed:
        problems.add("visited_on", "Write the day of the visit.")
        return None
    try:
        found = date.fromisoformat(typed) if ISO_DAY.match(typed) else None
    except ValueError:
        found = None
    if found is None or not day_in_window(found):
        problems.add("visited_on", "Write the day of the visit as a date, for example 2026-03-02.")
        return None
    if found > today:
        problems.add("visited_on", "The day of the visit cannot be in the future.")
        return None
    return found


def care_routes(web: Web) -> list[Any]:
    def withhold_page(
        who: Visitor, p: Principal, child_id: UUID, values: dict[str, Any], problems: Problems | None = None, *, done: int = 0,
    ) -> Template:
        view = read(web, p, child_id, "Sekretess mot vårdnadshavarna: välja uppgifter")
        return web.render(
            who, "process/withhold.html", status_code=422 if problems else 200, active="cases",
            child_id=str(child_id), name=child_name(view), facts=withholdable(web, p, view), values=values,
            errors=problems.by_field if problems else {}, done=done,
        )

    @get(BASE + "/withhold", sync_to_thread=True)
    def withhold_form(request: Request[Any, Any, Any], child_id: FromPath[UUID], done: FromQuery[str] = "") -> Template:
        who = web.visitor(request)
        p = signed_in_staff(web, who)
        count = int(done) if done.isdigit() and len(done) < 4 else 0
        return withhold_page(who, p, child_id, {"event_ids": []}, done=count)

    @post(BASE + "/withhold", sync_to_thread=True)
    def withhold(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = signed_in_staff(web, who)
        who.check_form(data)
        values = {"event_ids": many(data, "event_ids"), "reason": one(data, "reason")}
        problems = Problems(who, {})
        offered = {f["event_id"] for f in withholdable(web, p, read(web, p, child_id, "Sekretess mot vårdnadshavarna: kontroll"))}
        chosen = [uuid_or_none(e) for e in values["event_ids"]]
        if not chosen:
            problems.add("event_ids", "Choose at least one piece of information.")
        elif any(c is None or str(c) not in offered for c in chosen):
            problems.add("event_ids", "Choose only among the information your unit may keep from the guardians.")
        if not values["reason"]:
            problems.add("reason", "Write why the information is kept from the guardians.")
        if problems:
            return withhold_page(who, p, child_id, values, problems)

        def act() -> str:
            web.hub.withhold_information(p, child_id, event_ids=[c for c in chosen if c], reason=values["reason"])
            return f"/staff/children/{child_id}/withhold?done={len(chosen)}"

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            if e.field == "event_ids":  # the core's words name the fact by its id: say it in the page's words
                problems.add("event_ids", "A consent request that a guardian has granted cannot be kept from the guardians.")
                return withhold_page(who, p, child_id, values, problems)
            return withhold_page(who, p, child_id, values, problems_from(who, e, same_field(("event_ids", "reason"))))

    def visits_page(
        who: Visitor, p: Principal, child_id: UUID, values: dict[str, str], problems: Problems | None = None, *, recorded: int = 0,
    ) -> Template:
        view = read(web, p, child_id, "Hembesök: vilka besök som är gjorda")  # an unknown child: 404 first
        require(web, p, child_id, Action.RECORD_HOME_VISIT, refusal=NOT_A_HOME_VISIT_UNIT)
        done = visits_done(web, p, view)
        return web.render(
            who, "process/home_visits.html", status_code=422 if problems else 200, active="cases",
            child_id=str(child_id), name=child_name(view), visits=list(HomeVisit), done=done, values=values,
            errors=problems.by_field if problems else {}, recorded=recorded,
            today=web.hub.now().astimezone(SWEDISH_TIME).date().isoformat(),
        )

    @get(BASE + "/home-visits", sync_to_thread=True)
    def visits_form(request: Request[Any, Any, Any], child_id: FromPath[UUID], recorded: FromQuery[str] = "") -> Template:
        who = web.visitor(request)
        p = signed_in_staff(web, who)
        number = int(recorded) if recorded in {str(v.value) for v in HomeVisit} else 0
        return visits_page(who, p, child_id, {}, recorded=number)

    @post(BASE + "/home-visits", sync_to_thread=True)
    def record_visit(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = signed_in_staff(web, who)
        who.check_form(data)
        values = {"visit": one(data, "visit"), "visited_on": one(data, "visited_on"), "notes": one(data, "notes")}
        problems = Problems(who, {})
        visit = int(values["visit"]) if values["visit"] in {str(v.value) for v in HomeVisit} else None
        if visit is None:
            problems.add("visit", "Choose which of the six visits it was.")
        visited_on = read_visit_day(values["visited_on"], problems, web.hub.now().astimezone(SWEDISH_TIME).date())
        if len(values["notes"]) > 4000:
            problems.add("notes", "The notes are too long: at most 4,000 characters.")
        if visit is not None and visit in visits_done(web, p, read(web, p, child_id, "Hembesök: kontroll av gjorda besök")):
            problems.add("visit", "This visit is already recorded.")
        if problems:
            return visits_page(who, p, child_id, values, problems)

        def act() -> str:
            web.hub.record_home_visit(p, child_id, visit=visit, visited_on=visited_on, notes=values["notes"])
            return f"/staff/children/{child_id}/home-visits?recorded={visit}"

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            if e.field == "visit":  # recorded by another unit, out of this unit's sight
                problems.add("visit", "This visit is already recorded.")
                return visits_page(who, p, child_id, values, problems)
            return visits_page(who, p, child_id, values, problems_from(who, e, same_field(("visit", "visited_on", "notes"))))

    return [withhold_form, withhold, visits_form, record_visit]
