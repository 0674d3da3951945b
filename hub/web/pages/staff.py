"""The staff pages: the Barnkontakt's case list, registering a child, the discovery card
(Upptäckarkort), the discoverer's own cards, and the Barnkontakt's steps on a child.

Every page calls the core as the API does; the core decides who may do what and records
each read. A form that the core refuses as invalid is shown again with status 422, the
problems next to their fields and everything typed kept; a refusal of the person (not the
Barnkontakt, no basis) is the shared error page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from consent import ViewerKind, age_on
from contracts.vocabulary import (
    COMPASS,
    CONSENTABLE_CATEGORIES,
    FIVE_QUESTIONS_SV,
    AgeGroup,
    Area,
    Category,
    ConversationWith,
    Decision,
    Role,
    UnitKind,
)
from hub.errors import (
    ChildAlreadyRegisteredError,
    ChildNotFoundError,
    HubError,
    InvalidInputError,
    NotPermittedError,
    UnknownStaffError,
    UnknownUnitError,
)
from hub.identity.personnummer import parse_identity_number
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.session import Visitor

CASE_ROLES = (Role.BARNKONTAKT, Role.SUPPORT_COORDINATOR)
FIELD_PROBLEMS = (InvalidInputError, UnknownUnitError, UnknownStaffError)
FIVE_QUESTION_FIELDS = (
    "unmet_needs",
    "information_enough",
    "child_and_guardian_views",
    "what_i_can_do",
    "further_help_needed",
)
GUARDIAN_SLOTS = (1, 2)
AGE_GROUPS: tuple[tuple[AgeGroup, int, int], ...] = (
    (AgeGroup.AGE_0_3, 0, 3),
    (AgeGroup.AGE_4_6, 4, 6),
    (AgeGroup.AGE_7_9, 7, 9),
    (AgeGroup.AGE_10_12, 10, 12),
    (AgeGroup.AGE_13_15, 13, 15),
    (AgeGroup.AGE_16_18, 16, 18),
)
CONSENT_CATEGORIES = [c for c in Category if c in CONSENTABLE_CATEGORIES]


# -- reading a form --------------------------------------------------------------------


def one(form: dict[str, Any], name: str) -> str:
    """A single value of the form, stripped (the first if the field came more than once)."""
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip() if value is not None else ""


def many(form: dict[str, Any], name: str) -> list[str]:
    """Every value of a repeated field (ticked boxes), in order, each once."""
    value = form.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return list(dict.fromkeys(str(v) for v in values if str(v).strip()))


def yes_no(form: dict[str, Any], name: str) -> bool | None:
    value = one(form, name)
    return True if value == "yes" else False if value == "no" else None


@dataclass
class Problems:
    """Field-level problems of one form, in the visitor's language, by form field."""

    who: Visitor
    by_field: dict[str, str]

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, self.who.t(message))

    def __bool__(self) -> bool:
        return bool(self.by_field)


def problems_from(who: Visitor, error: HubError, to_field: Callable[[str], str]) -> Problems:
    """The core's refusal as problems next to the form's fields."""
    found = Problems(who, {})
    errors = getattr(error, "errors", None) or [{"field": error.field or "form", "message": error.detail}]
    for e in errors:
        found.add(to_field(str(e.get("field") or "form")), str(e.get("message") or error.detail))
    return found


GUARDIAN_FIELD = re.compile(r"^guardians[\[.](\d+)\]?\.?(\w+)$")


def register_field(core_field: str) -> str:
    m = GUARDIAN_FIELD.match(core_field)
    if m:
        name = {"has_custody": "custody"}.get(m.group(2), m.group(2))
        return f"guardian{int(m.group(1)) + 1}_{name}"
    return core_field if core_field in ("personnummer", "given_name", "family_name") else "form"


def card_field(core_field: str) -> str:
    if core_field.startswith("unmet_needs"):
        return "needs"
    if core_field.startswith("five_questions."):
        return "q_" + core_field.split(".", 1)[1]
    return core_field if core_field in ("to_unit_id", "own_support_taken", "guardians_informed") else "form"


def same_field(names: tuple[str, ...]) -> Callable[[str], str]:
    def to_field(core_field: str) -> str:
        head = core_field.split(".", 1)[0].split("[", 1)[0]
        return head if head in names else "form"

    return to_field


def age_group_of(birth: date, today: datetime) -> AgeGroup:
    age = age_on(birth, today)
    for group, low, high in AGE_GROUPS:
        if low <= age <= high:
            return group
    return AgeGroup.AGE_16_18


# -- the pages -------------------------------------------------------------------------


def routes(web: Web) -> list[Any]:

    def staff_at_unit(who: Visitor, path: str) -> Principal:
        p = who.require(path)
        if p.kind is not ViewerKind.STAFF or p.unit_id is None:
            raise NotPermittedError("only staff at a unit may do this")
        return p

    def case_owner(who: Visitor, path: str) -> Principal:
        p = staff_at_unit(who, path)
        if not p.has(*CASE_ROLES):
            raise NotPermittedError("only the child's Barnkontakt or support coordinator may do this")
        return p

    def tenant(p: Principal) -> Any:
        return web.hub.directory.tenants[p.tenant_id]

    def units(p: Principal) -> list[Any]:
        return sorted(tenant(p).units.values(), key=lambda u: u.name)

    def unit_name(p: Principal, unit_id: str | None) -> str:
        unit = tenant(p).units.get(unit_id or "")
        return unit.name if unit else (unit_id or "")

    def areas(who: Visitor) -> list[dict[str, Any]]:
        return [
            {
                "area": d.area.value,
                "label": d.label_sv if who.language == "sv" else d.label_en,
                "statements": list(d.need_statements_sv),
            }
            for d in COMPASS.values()
        ]

    # -- the start page and the case list ----------------------------------------------

    @get("/staff", sync_to_thread=True)
    def start(request: Request[Any, Any, Any]) -> Template:
        who = web.visitor(request)
        p = staff_at_unit(who, who.path)
        if not p.has(*CASE_ROLES):
            return web.render(who, "staff/start.html", active="cases")
        rows = web.hub.case_list(p, purpose="Barnkontakt: case list")
        for row in rows:
            row["barnkontakt_name"] = _staff_name(web, p, row["barnkontakt_staff_id"])
        open_rows = [r for r in rows if not r["closed"]]
        sections = [
            ("new", "New discovery cards", [r for r in open_rows if r["new_cards"]]),
            ("feedback", "Waiting for feedback", [r for r in open_rows if r["awaiting_feedback"]]),
            ("overdue", "Overdue actions", [r for r in open_rows if r["overdue_actions"]]),
            ("stalled", "Children with no next step", [r for r in open_rows if r["no_next_step"]]),
            (
                "due",
                "Next step due",
                sorted((r for r in open_rows if r["next_step_due"]), key=lambda r: r["next_step_due"]),
            ),
        ]
        return web.render(who, "staff/cases.html", active="cases", sections=sections, rows=rows)

    # -- registering a child -----------------------------------------------------------

    def register_page(who: Visitor, values: dict[str, str], problems: Problems | None = None, *, status: int = 200, notice: str = "") -> Template:
        return web.render(
            who, "staff/register.html", status_code=status, active="register", values=values,
            errors=problems.by_field if problems else {}, slots=GUARDIAN_SLOTS, notice=notice,
        )

    @get("/staff/children/new", sync_to_thread=True)
    def register_form(request: Request[Any, Any, Any]) -> Template:
        who = web.visitor(request)
        staff_at_unit(who, who.path)
        return register_page(who, {})

    @post("/staff/children/new", sync_to_thread=True)
    def register(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = staff_at_unit(who, who.path)
        values = {k: one(data, k) for k in data if k not in ("csrf_token", "form_id")}
        problems = Problems(who, {})
        for name, message in (
            ("personnummer", "Write the child's personal identity number."),
            ("given_name", "Write the child's given name."),
            ("family_name", "Write the child's family name."),
        ):
            if not values.get(name):
                problems.add(name, message)
        guardians = []
        for slot in GUARDIAN_SLOTS:
            name, number = values.get(f"guardian{slot}_name", ""), values.get(f"guardian{slot}_personnummer", "")
            custody = yes_no(data, f"guardian{slot}_custody")
            if not (name or number):
                continue
            if not name:
                problems.add(f"guardian{slot}_name", "Write the guardian's name.")
            if not number:
                problems.add(f"guardian{slot}_personnummer", "Write the guardian's personal identity number.")
            if custody is None:
                problems.add(f"guardian{slot}_custody", "Say whether the guardian has custody.")
            guardians.append({"name": name, "personnummer": number, "has_custody": bool(custody)})
        if problems:
            return register_page(who, values, problems, status=422)

        def act() -> str:
            child_id = web.hub.register_child(
                p, personnummer=values["personnummer"], given_name=values["given_name"],
                family_name=values["family_name"], guardians=guardians,
            )
            return f"/staff/cards/new?child_id={child_id}&registered=1"

        try:
            return web.act(who, data, act)
        except ChildAlreadyRegisteredError as e:
            return Redirect(path=f"/staff/cards/new?child_id={e.child_id}&known=1", status_code=303)
        except FIELD_PROBLEMS as e:
            return register_page(who, values, problems_from(who, e, register_field), status=422)

    # -- the discovery card ------------------------------------------------------------

    def card_page(
        who: Visitor, p: Principal, child_id: str | None, values: dict[str, Any],
        problems: Problems | None = None, *, status: int = 200, notice: str = "",
    ) -> Template:
        return web.render(
            who, "staff/card.html", status_code=status, active="card", child_id=child_id, values=values,
            errors=problems.by_field if problems else {}, areas=areas(who), units=units(p),
            own_unit=p.unit_id, questions=list(zip(FIVE_QUESTION_FIELDS, FIVE_QUESTIONS_SV, strict=True)),
            notice=notice,
        )

    @get("/staff/cards/new", sync_to_thread=True)
    def card_form(
        request: Request[Any, Any, Any], child_id: FromQuery[str | None] = None, registered: FromQuery[str | None] = None,
        known: FromQuery[str | None] = None,
    ) -> Template:
        who = web.visitor(request)
        p = staff_at_unit(who, who.path)
        chosen = _uuid(child_id)
        notice = "The child is registered. Now fill in the discovery card." if registered else (
            "The child was already registered. Fill in the discovery card." if known else ""
        )
        values: dict[str, Any] = {"needs": {}, "notes": {}}
        return card_page(who, p, str(chosen) if chosen else None, values, notice=notice)

    @post("/staff/cards/find", sync_to_thread=True)
    def find_child(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        """The child by personnummer, through the blind index: to the card if registered,
        else to the registration form with the number filled in."""
        who = web.visitor(request)
        p = staff_at_unit(who, who.path)
        who.check_form(data)
        typed = one(data, "personnummer")
        try:
            number = parse_identity_number(typed)
        except InvalidInputError as e:
            problems = problems_from(who, e, lambda _: "personnummer")
            return card_page(who, p, None, {"personnummer": typed, "needs": {}, "notes": {}}, problems, status=422)
        child_id = web.hub.blind_index.child_id(p.tenant_id, number)
        try:
            web.hub.child_facts(p, child_id)
        except ChildNotFoundError:
            return register_page(
                who, {"personnummer": typed},
                notice="This child is not registered yet. Register the child first; the card comes next.",
            )
        return Redirect(path=f"/staff/cards/new?child_id={child_id}", status_code=303)

    @post("/staff/cards/new", sync_to_thread=True)
    def send_card(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = staff_at_unit(who, who.path)
        child_id = _uuid(one(data, "child_id"))
        if child_id is None:
            raise ChildNotFoundError("-")
        needs = {a.value: many(data, f"need_{a.value}") for a in Area}
        notes = {a.value: one(data, f"note_{a.value}") for a in Area}
        answers = {q: one(data, f"q_{q}") for q in FIVE_QUESTION_FIELDS}
        values: dict[str, Any] = {
            "needs": needs, "notes": notes, "to_unit_id": one(data, "to_unit_id"),
            "own_support_taken": one(data, "own_support_taken"), "guardians_informed": one(data, "guardians_informed"),
            **{f"q_{q}": v for q, v in answers.items()},
        }
        problems = Problems(who, {})
        unmet = [
            {"area": a.value, "statements": needs[a.value], "note": notes[a.value]}
            for a in Area if needs[a.value] or notes[a.value]
        ]
        if not unmet:
            problems.add("needs", "Tick at least one need, or write a note for an area.")
        if not values["to_unit_id"]:
            problems.add("to_unit_id", "Choose the unit whose Barnkontakt receives the card.")
        informed = yes_no(data, "guardians_informed")
        if informed is None:
            problems.add("guardians_informed", "Say whether the guardians have been told about the card.")
        if problems:
            return card_page(who, p, str(child_id), values, problems, status=422)

        def act() -> str:
            card_id = web.hub.submit_discovery_card(
                p, child_id, to_unit_id=values["to_unit_id"], unmet_needs=unmet, five_questions=answers,
                own_support_taken=values["own_support_taken"], guardians_informed=bool(informed),
            )
            return f"/staff/cards/sent?card_id={card_id}&to={values['to_unit_id']}"

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            return card_page(who, p, str(child_id), values, problems_from(who, e, card_field), status=422)

    @get("/staff/cards/sent", sync_to_thread=True)
    def card_sent(request: Request[Any, Any, Any], to: FromQuery[str] = "", card_id: FromQuery[str] = "") -> Template:
        who = web.visitor(request)
        p = staff_at_unit(who, who.path)
        receivers = [s.name for s in tenant(p).staff.values() if s.unit_id == to and Role.BARNKONTAKT in s.roles]
        return web.render(
            who, "staff/card_sent.html", active="card", unit=unit_name(p, to), receivers=receivers, card_id=card_id,
        )

    @get("/staff/cards", sync_to_thread=True)
    def my_cards(request: Request[Any, Any, Any]) -> Template:
        """The cards this person sent, each with whether feedback came; the feedback itself
        is read through the core as the discoverer may see it."""
        who = web.visitor(request)
        p = staff_at_unit(who, who.path)
        cards = []
        feedback: dict[str, dict[str, str]] = {}
        refused: set[str] = set()
        mine = [{**c, "sent": c["submitted_at"][:10]} for c in web.hub.cards_sent_by(p)]
        for child_id in dict.fromkeys(c["child_id"] for c in mine):
            try:
                view = web.hub.read_child(p, UUID(child_id), purpose="Discoverer: feedback on my discovery cards")
            except HubError:
                refused.add(child_id)
                continue
            for item in view["items"]:
                if item["type"] == "FeedbackSent" and item["fields"].get("card_id"):
                    feedback[item["fields"]["card_id"]] = {
                        "message": item["fields"].get("message", ""), "at": item["occurred_at"][:10],
                    }
        for c in mine:
            cards.append(
                {
                    **c, "unit": unit_name(p, c["to_unit_id"]), "feedback": feedback.get(c["card_id"]),
                    "refused": c["child_id"] in refused,
                }
            )
        return web.render(who, "staff/my_cards.html", active="my-cards", cards=cards)

    # -- the Barnkontakt's steps -------------------------------------------------------

    def back(child_id: UUID) -> str:
        return f"/staff/children/{child_id}"

    def barnkontakt_page(who: Visitor, p: Principal, child_id: UUID, values: dict[str, str], problems: Problems | None = None, *, status: int = 200) -> Template:
        everyone = [s for s in tenant(p).staff.values() if Role.BARNKONTAKT in s.roles and s.unit_id]
        return web.render(
            who, "staff/barnkontakt.html", status_code=status, active="cases", child_id=child_id, values=values,
            errors=problems.by_field if problems else {},
            colleagues=sorted((s for s in everyone if s.unit_id == p.unit_id), key=lambda s: s.name),
            everyone=sorted(everyone, key=lambda s: (unit_name(p, s.unit_id), s.name)),
            unit_name=lambda u: unit_name(p, u), me=p.user_id,
        )

    @get("/staff/children/{child_id:uuid}/barnkontakt", sync_to_thread=True)
    def barnkontakt_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = case_owner(who, who.path)
        return barnkontakt_page(who, p, child_id, {"staff_id": p.user_id})

    @post("/staff/children/{child_id:uuid}/barnkontakt", sync_to_thread=True)
    def barnkontakt(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = case_owner(who, who.path)
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
            else:
                web.hub.assign_barnkontakt(p, child_id, staff_id=values["staff_id"])
            return back(child_id)

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            return barnkontakt_page(who, p, child_id, values, problems_from(who, e, lambda f: field if f == "staff_id" else "reason" if f == "reason" else "form"), status=422)

    def feedback_page(who: Visitor, child_id: UUID, card_id: str, values: dict[str, str], problems: Problems | None = None, *, status: int = 200) -> Template:
        return web.render(
            who, "staff/feedback.html", status_code=status, active="cases", child_id=child_id, card_id=card_id,
            values=values, errors=problems.by_field if problems else {},
        )

    @get("/staff/children/{child_id:uuid}/cards/{card_id:str}/feedback", sync_to_thread=True)
    def feedback_form(request: Request[Any, Any, Any], child_id: FromPath[UUID], card_id: FromPath[str]) -> Template:
        who = web.visitor(request)
        case_owner(who, who.path)
        return feedback_page(who, child_id, card_id, {})

    @post("/staff/children/{child_id:uuid}/cards/{card_id:str}/feedback", sync_to_thread=True)
    def feedback(request: Request[Any, Any, Any], child_id: FromPath[UUID], card_id: FromPath[str], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = case_owner(who, who.path)
        values = {"message": one(data, "message")}
        if not values["message"]:
            problems = Problems(who, {})
            problems.add("message", "Write what happens next.")
            return feedback_page(who, child_id, card_id, values, problems, status=422)

        def act() -> str:
            web.hub.send_feedback(p, child_id, card_id=card_id, message=values["message"])
            return back(child_id)

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            return feedback_page(who, child_id, card_id, values, problems_from(who, e, lambda _: "message"), status=422)

    def conversation_page(who: Visitor, p: Principal, child_id: UUID, values: dict[str, Any], problems: Problems | None = None, *, status: int = 200) -> Template:
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
        for item in view["items"]:
            birth = item["fields"].get("birth_date") if item["type"] == "ChildRegistered" else None
            if birth:
                return age_group_of(date.fromisoformat(str(birth)), web.hub.now()).value
        return None

    @get("/staff/children/{child_id:uuid}/conversation", sync_to_thread=True)
    def conversation_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = case_owner(who, who.path)
        group = child_age_group(p, child_id)
        return conversation_page(who, p, child_id, {"age_group": group or "", "with_whom": "child", "views": {}, "known_group": group})

    @post("/staff/children/{child_id:uuid}/conversation", sync_to_thread=True)
    def conversation(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = case_owner(who, who.path)
        views = {a.value: one(data, f"view_{a.value}") for a in Area}
        values: dict[str, Any] = {
            "with_whom": one(data, "with_whom"), "age_group": one(data, "age_group"), "views": views,
            "digital_survey": one(data, "digital_survey"), "summary": one(data, "summary"),
        }
        problems = Problems(who, {})
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
            )
            return back(child_id)

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            fields = ("with_whom", "age_group", "summary")
            return conversation_page(who, p, child_id, values, problems_from(who, e, same_field(fields)), status=422)

    def decision_page(who: Visitor, p: Principal, child_id: UUID, values: dict[str, Any], problems: Problems | None = None, *, status: int = 200) -> Template:
        return web.render(
            who, "staff/decision.html", status_code=status, active="cases", child_id=child_id, values=values,
            errors=problems.by_field if problems else {}, decisions=[d.value for d in Decision],
            categories=[c.value for c in CONSENT_CATEGORIES], units=units(p),
        )

    @get("/staff/children/{child_id:uuid}/decision", sync_to_thread=True)
    def decision_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = case_owner(who, who.path)
        return decision_page(who, p, child_id, {"members": [p.unit_id], "shared": []})

    @post("/staff/children/{child_id:uuid}/decision", sync_to_thread=True)
    def decision(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = case_owner(who, who.path)
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

    def consent_page(who: Visitor, p: Principal, child_id: UUID, values: dict[str, Any], problems: Problems | None = None, *, status: int = 200) -> Template:
        return web.render(
            who, "staff/consent_request.html", status_code=status, active="cases", child_id=child_id, values=values,
            errors=problems.by_field if problems else {}, units=units(p), unit_kinds=[k.value for k in UnitKind],
            categories=[c.value for c in CONSENT_CATEGORIES],
        )

    @get("/staff/children/{child_id:uuid}/consent-request", sync_to_thread=True)
    def consent_form(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who = web.visitor(request)
        p = case_owner(who, who.path)
        return consent_page(who, p, child_id, {"units": [], "kinds": [], "categories": []})

    @post("/staff/children/{child_id:uuid}/consent-request", sync_to_thread=True)
    def consent_request(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = case_owner(who, who.path)
        values: dict[str, Any] = {
            "units": many(data, "recipient_units"), "kinds": many(data, "recipient_kinds"),
            "categories": many(data, "categories"), "purpose": one(data, "purpose"), "valid_until": one(data, "valid_until"),
        }
        problems = Problems(who, {})
        if not values["units"] and not values["kinds"]:
            problems.add("recipients", "Choose at least one recipient: a unit or a kind of unit.")
        if not values["categories"]:
            problems.add("categories", "Choose what may be shared.")
        if not values["purpose"]:
            problems.add("purpose", "Write why the information is to be shared.")
        until = None
        if values["valid_until"]:
            try:
                until = datetime.combine(date.fromisoformat(values["valid_until"]), time(23, 59), tzinfo=UTC)
            except ValueError:
                problems.add("valid_until", "Write the date as YYYY-MM-DD.")
        if problems:
            return consent_page(who, p, child_id, values, problems, status=422)
        recipients = [{"unit_id": u} for u in values["units"]] + [{"unit_kind": k} for k in values["kinds"]]

        def act() -> str:
            web.hub.request_consent(
                p, child_id, recipients=recipients, categories=values["categories"], purpose=values["purpose"],
                valid_until=until,
            )
            return back(child_id)

        def to_field(f: str) -> str:
            if f.startswith("recipients"):
                return "recipients"
            return f if f in ("categories", "purpose", "valid_until") else "form"

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            return consent_page(who, p, child_id, values, problems_from(who, e, to_field), status=422)

    return [
        start, register_form, register, card_form, find_child, send_card, card_sent, my_cards,
        barnkontakt_form, barnkontakt, feedback_form, feedback, conversation_form, conversation,
        decision_form, decision, consent_form, consent_request,
    ]


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


def _staff_name(web: Web, p: Principal, staff_id: str | None) -> str | None:
    if not staff_id:
        return None
    staff = web.hub.directory.tenants[p.tenant_id].staff.get(staff_id)
    return staff.name if staff else staff_id
