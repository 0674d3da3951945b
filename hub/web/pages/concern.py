"""The concern report (orosanmälan) to social services, from any unit: what the filer saw,
whether it is urgent, and whether the report, or only who filed it, is kept from the
guardians (OSL 12 kap. 3 §, OSL 26 kap. 5 §).

The secrecy questions are answered yes or no, never left to a default, and the answer
page gives the report's ids, which the filer needs to withhold it later. The core decides
who may file and records it as the API does.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from contracts.vocabulary import Area, UnitKind
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.pages.forms import FIELD_PROBLEMS, Problems, many, one, problems_from, uuid_or_none, yes_no
from hub.web.pages.staff import areas, staff_at_unit, tenant_of, unit_name
from hub.web.session import Visitor

BASE = "/staff/children/{child_id:uuid}/concern-report"
QUESTIONS = ("acute", "withheld_from_guardians", "reporter_withheld")
"""The yes-or-no questions of the form, each named as the core names it."""


def report_field(core_field: str) -> str:
    if core_field.startswith("unmet_needs"):
        return "needs"
    return core_field if core_field in ("to_unit_id", "description", *QUESTIONS) else "form"


def social_services(web: Web, p: Principal) -> list[Any]:
    units = tenant_of(web, p).units.values()
    return sorted((u for u in units if u.kind is UnitKind.SOCIAL_SERVICES), key=lambda u: u.name)


def routes(web: Web) -> list[Any]:
    def form_page(who: Visitor, p: Principal, child_id: UUID, values: dict[str, Any], problems: Problems | None = None) -> Template:
        return web.render(
            who, "staff/concern_report.html", status_code=422 if problems else 200, active="card",
            child_id=str(child_id), values=values, errors=problems.by_field if problems else {},
            areas=areas(who), units=social_services(web, p),
        )

    @get(BASE, sync_to_thread=True)
    def report_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        return form_page(who, p, child_id, {"needs": {}, "notes": {}})

    @post(BASE, sync_to_thread=True)
    def file_report(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        needs = {a.value: many(data, f"need_{a.value}") for a in Area}
        notes = {a.value: one(data, f"note_{a.value}") for a in Area}
        values: dict[str, Any] = {
            "needs": needs, "notes": notes, "to_unit_id": one(data, "to_unit_id"), "description": one(data, "description"),
            **{q: one(data, q) for q in QUESTIONS},
        }
        problems = Problems(who, {})
        unmet = [
            {"area": a.value, "statements": needs[a.value], "note": notes[a.value]}
            for a in Area if needs[a.value] or notes[a.value]
        ]
        if not unmet:
            problems.add("needs", "Tick at least one need, or write a note for an area.")
        answers = {q: yes_no(data, q) for q in QUESTIONS}
        for question, answer in answers.items():
            if answer is None:
                problems.add(question, "Answer yes or no.")
        if problems:
            return form_page(who, p, child_id, values, problems)

        def act() -> str:
            filed = web.hub.file_concern_report(
                p, child_id, to_unit_id=values["to_unit_id"], unmet_needs=unmet, description=values["description"],
                acute=bool(answers["acute"]), withheld_from_guardians=bool(answers["withheld_from_guardians"]),
                reporter_withheld=bool(answers["reporter_withheld"]),
            )
            return (
                f"/staff/children/{child_id}/concern-report/filed?event_id={filed.event_id}&report_id={filed.report_id}"
                f"&to={values['to_unit_id']}&withheld={'yes' if filed.withheld_from_guardians else 'no'}"
                f"&reporter={'yes' if filed.reporter_withheld else 'no'}"
            )

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            return form_page(who, p, child_id, values, problems_from(who, e, report_field))

    @get(BASE + "/filed", sync_to_thread=True)
    def report_filed(
        request: Request[Any, Any, Any], child_id: FromPath[UUID], event_id: FromQuery[str] = "", report_id: FromQuery[str] = "",
        to: FromQuery[str] = "", withheld: FromQuery[str] = "", reporter: FromQuery[str] = "",
    ) -> Template:
        """What was filed, as the filer's own redirect says: ids only, nothing of the child."""
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        event = uuid_or_none(event_id)
        return web.render(
            who, "staff/concern_filed.html", active="card", child_id=str(child_id), event_id=str(event) if event else "",
            report_id=report_id[:60], unit=unit_name(web, p, to), withheld=withheld == "yes", reporter=reporter == "yes",
        )

    return [report_form, file_report, report_filed]
