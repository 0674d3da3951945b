"""The Barnkontakt's steps on a child: taking or handing over the role, feedback to the
discoverer, the child conversation (with the conversation guide for the child's age) and the
decision after it. The request for consent is :mod:`hub.web.pages.consents`'s.

Every page calls the core as the API does; the core decides who may do what and records
each read. Forms are read and refused as :mod:`hub.web.pages.forms` says.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from consent import age_on
from contracts.vocabulary import (
    CONSENTABLE_CATEGORIES,
    AgeGroup,
    Area,
    Category,
    ConversationWith,
    Decision,
    Role,
    age_group_for,
)
from hub.errors import HubError
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.filters import day
from hub.web.pages.forms import (
    FIELD_PROBLEMS,
    Problems,
    many,
    one,
    problems_from,
    same_field,
    yes_no,
)
from hub.web.pages.staff import areas, case_owner, tenant_of, unit_name, units_of
from hub.web.session import Visitor

CONSENT_CATEGORIES = [c for c in Category if c in CONSENTABLE_CATEGORIES]


def routes(web: Web) -> list[Any]:
    def back(child_id: UUID) -> str:
        return f"/staff/children/{child_id}"

    def barnkontakt_page(
        who: Visitor, p: Principal, child_id: UUID, values: dict[str, str], problems: Problems | None = None, *, status: int = 200,
    ) -> Template:
        everyone = [s for s in tenant_of(web, p).staff.values() if Role.BARNKONTAKT in s.roles and s.unit_id]
        return web.render(
            who, "staff/barnkontakt.html", status_code=status, active="cases", child_id=child_id, values=values,
            errors=problems.by_field if problems else {},
            colleagues=sorted((s for s in everyone if s.unit_id == p.unit_id), key=lambda s: s.name),
            everyone=sorted(everyone, key=lambda s: (unit_name(web, p, s.unit_id), s.name)),
            unit_name=lambda u: unit_name(web, p, u), me=p.user_id,
        )

    @get("/staff/children/{child_id:uuid}/barnkontakt", sync_to_thread=True)
    def barnkontakt_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        return barnkontakt_page(who, p, child_id, {"staff_id": p.user_id})

    @post("/staff/children/{child_id:uuid}/barnkontakt", sync_to_thread=True)
    def barnkontakt(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        step = one(data, "step")
        values = {"step": step, "staff_id": one(data, "staff_id"), "delegate_to": one(data, "delegate_to"), "reason": one(data, "reason")}
        field = "delegate_to" if step == "delegate" else "staff_id"
        problems = Problems(who, {})
        if not values[field]:
            problems.add(field, "Choose a Barnkontakt.")
        if problems:
            return barnkontakt_page(who, p, child_id, values, problems, status=422)

        def act() -> str:
            if step == "delegate":
                web.hub.delegate_barnkontakt(p, child_id, staff_id=values["delegate_to"], reason=values["reason"])
                return f"{back(child_id)}/done/delegated"
            web.hub.assign_barnkontakt(p, child_id, staff_id=values["staff_id"])
            return f"{back(child_id)}/done/barnkontakt"

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            found = problems_from(who, e, lambda f: field if f == "staff_id" else "reason" if f == "reason" else "form")
            return barnkontakt_page(who, p, child_id, values, found, status=422)

    def feedback_page(
        who: Visitor, child_id: UUID, card_id: str, values: dict[str, str], problems: Problems | None = None, *, status: int = 200,
    ) -> Template:
        return web.render(
            who, "staff/feedback.html", status_code=status, active="cases", child_id=child_id, card_id=card_id,
            values=values, errors=problems.by_field if problems else {},
        )

    @get("/staff/children/{child_id:uuid}/cards/{card_id:str}/feedback", sync_to_thread=True)
    def feedback_form(request: Request[Any, Any, Any], child_id: FromPath[UUID], card_id: FromPath[str]) -> Template:
        who = web.visitor(request)
        case_owner(web, who, who.path)
        return feedback_page(who, child_id, card_id, {})

    @post("/staff/children/{child_id:uuid}/cards/{card_id:str}/feedback", sync_to_thread=True)
    def feedback(request: Request[Any, Any, Any], child_id: FromPath[UUID], card_id: FromPath[str], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        values = {"message": one(data, "message")}
        if not values["message"]:
            problems = Problems(who, {})
            problems.add("message", "Write what happens next.")
            return feedback_page(who, child_id, card_id, values, problems, status=422)

        def act() -> str:
            web.hub.send_feedback(p, child_id, card_id=card_id, message=values["message"])
            return f"{back(child_id)}/done/feedback"

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            return feedback_page(who, child_id, card_id, values, problems_from(who, e, lambda _: "message"), status=422)

    def conversation_page(
        who: Visitor, p: Principal, child_id: UUID, values: dict[str, Any], problems: Problems | None = None, *, status: int = 200,
    ) -> Template:
        return web.render(
            who, "staff/conversation.html", status_code=status, active="cases", child_id=child_id, values=values,
            errors=problems.by_field if problems else {}, areas=areas(who), age_groups=[g.value for g in AgeGroup],
        )

    def child_age_group(p: Principal, child_id: UUID) -> str | None:
        """The child's age group from the birth date, if the core shows the identity to this viewer."""
        try:
            view = web.hub.read_child(p, child_id, purpose="Barnkontakt: conversation guide by age")
        except HubError:
            return None
        for item in view.of_type("ChildRegistered"):
            born = day(item.fields.get("birth_date"))
            if born is not None:
                return age_group_for(age_on(born, view.as_of)).value
        return None

    @get("/staff/children/{child_id:uuid}/conversation", sync_to_thread=True)
    def conversation_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        group = child_age_group(p, child_id)
        return conversation_page(who, p, child_id, {"age_group": group or "", "with_whom": "child", "views": {}, "known_group": group})

    @post("/staff/children/{child_id:uuid}/conversation", sync_to_thread=True)
    def conversation(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        views = {a.value: one(data, f"view_{a.value}") for a in Area}
        values: dict[str, Any] = {
            "with_whom": one(data, "with_whom"), "age_group": one(data, "age_group"), "views": views,
            "digital_survey": one(data, "digital_survey"), "summary": one(data, "summary"),
            "withheld_from_guardians": one(data, "withheld_from_guardians"),
        }
        problems = Problems(who, {})
        secret = yes_no(data, "withheld_from_guardians")
        if secret is None:
            problems.add("withheld_from_guardians", "Answer yes or no.")
        if values["with_whom"] not in {w.value for w in ConversationWith}:
            problems.add("with_whom", "Choose whom the conversation was with.")
        if values["age_group"] not in {g.value for g in AgeGroup}:
            problems.add("age_group", "Choose the age group of the conversation guide.")
        if not values["summary"] and not any(views.values()):
            problems.add("summary", "Write what was said: a summary or a view for an area.")
        if problems:
            return conversation_page(who, p, child_id, values, problems, status=422)

        def act() -> str:
            web.hub.hold_conversation(
                p, child_id, with_whom=values["with_whom"], age_group=values["age_group"],
                views=[{"area": a, "view": v} for a, v in views.items() if v],
                digital_survey=values["digital_survey"] == "yes", summary=values["summary"],
                withheld_from_guardians=bool(secret),
            )
            return back(child_id)

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            fields = ("with_whom", "age_group", "summary", "withheld_from_guardians")
            return conversation_page(who, p, child_id, values, problems_from(who, e, same_field(fields)), status=422)

    def decision_page(
        who: Visitor, p: Principal, child_id: UUID, values: dict[str, Any], problems: Problems | None = None, *, status: int = 200,
    ) -> Template:
        return web.render(
            who, "staff/decision.html", status_code=status, active="cases", child_id=child_id, values=values,
            errors=problems.by_field if problems else {}, decisions=[d.value for d in Decision],
            categories=[c.value for c in CONSENT_CATEGORIES], units=units_of(web, p),
        )

    @get("/staff/children/{child_id:uuid}/decision", sync_to_thread=True)
    def decision_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        return decision_page(who, p, child_id, {"members": [p.unit_id], "shared": []})

    @post("/staff/children/{child_id:uuid}/decision", sync_to_thread=True)
    def decision(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        values: dict[str, Any] = {
            "decision": one(data, "decision"), "family_informed": one(data, "family_informed"),
            "shared": many(data, "shared_categories"), "members": many(data, "member_unit_ids"),
            "rationale": one(data, "rationale"),
        }
        problems = Problems(who, {})
        if values["decision"] not in {d.value for d in Decision}:
            problems.add("decision", "Choose a decision.")
        elif values["decision"] != Decision.OWN_SUPPORT.value:
            if values["family_informed"] != "yes":
                problems.add("family_informed", "Before a team is formed, tell the child and the guardians what will be shared.")
            if not values["members"]:
                problems.add("member_unit_ids", "Choose at least one unit for the team.")
        if problems:
            return decision_page(who, p, child_id, values, problems, status=422)

        def act() -> str:
            web.hub.decide_team(
                p, child_id, decision=values["decision"], family_informed=values["family_informed"] == "yes",
                shared_categories=values["shared"], member_unit_ids=values["members"], rationale=values["rationale"],
            )
            return back(child_id)

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            fields = ("decision", "family_informed", "shared_categories", "member_unit_ids", "rationale")
            return decision_page(who, p, child_id, values, problems_from(who, e, same_field(fields)), status=422)

    return [
        barnkontakt_form, barnkontakt, feedback_form, feedback, conversation_form, conversation,
        decision_form, decision,
    ]
