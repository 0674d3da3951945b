"""The staff pages: the Barnkontakt's case list, registering a child, the discovery card
(Upptäckarkort) and the discoverer's own cards. The Barnkontakt's steps on a child are
their own area (:mod:`hub.web.pages.barnkontakt`).

Every page calls the core as the API does; the core decides who may do what and records
each read. Forms are read and refused as :mod:`hub.web.pages.forms` says.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template

from contracts.labels import label_key
from contracts.vocabulary import COMPASS, FIVE_QUESTIONS_SV, Area, Role
from hub.application import Action
from hub.application.readmodels import RecordItemOut
from hub.errors import ChildNotFoundError, HubError, InvalidInputError, NotPermittedError
from hub.identity.personnummer import parse_identity_number
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.pages.caselist import GROUPS, case_list_page, scope_links
from hub.web.pages.forms import FIELD_PROBLEMS, Problems, many, one, problems_from, uuid_or_none, yes_no
from hub.web.session import Visitor

FIVE_QUESTION_FIELDS = (
    "unmet_needs",
    "information_enough",
    "child_and_guardian_views",
    "what_i_can_do",
    "further_help_needed",
)
GUARDIAN_SLOTS = (1, 2)


# -- the fields of the core's refusals ---------------------------------------------------


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
    return core_field if core_field in ("to_unit_id", "own_support_taken", "guardians_informed", "withheld_from_guardians") else "form"


# -- who the staff pages act for -----------------------------------------------------------


def staff_at_unit(web: Web, who: Visitor, path: str) -> Principal:
    """The signed-in member of staff at a unit (staff pages act for a unit), as the
    permission policy says: the pages show their forms only to whom the core will take them from."""
    p = who.require(path)
    if not web.hub.may(p, Action.READ_OWN_CARDS):
        raise NotPermittedError("only staff at a unit may do this")
    return p


def case_owner(web: Web, who: Visitor, path: str) -> Principal:
    p = staff_at_unit(web, who, path)
    if not web.hub.may(p, Action.READ_CASE_LIST):
        raise NotPermittedError("only the child's Barnkontakt or support coordinator may do this")
    return p


def tenant_of(web: Web, p: Principal) -> Any:
    return web.hub.directory.tenants[p.tenant_id]


def units_of(web: Web, p: Principal) -> list[Any]:
    return sorted(tenant_of(web, p).units.values(), key=lambda u: u.name)


def unit_name(web: Web, p: Principal, unit_id: str | None) -> str:
    unit = tenant_of(web, p).units.get(unit_id or "")
    return unit.name if unit else (unit_id or "")


def default_recipient(web: Web, p: Principal) -> str:
    """The unit a new card is addressed to unless the sender chooses: their own unit when it
    has a Barnkontakt, else the first unit of their own organisation that has one (by name).
    A child who already has a Barnkontakt gets the card there whatever is chosen, so the
    form need not, and must not, tell where a child's case is held."""
    tenant = tenant_of(web, p)
    receiving = {s.unit_id for s in tenant.staff.values() if Role.BARNKONTAKT in s.roles and s.unit_id}
    if p.unit_id in receiving:
        return p.unit_id or ""
    own = tenant.units.get(p.unit_id or "")
    same = [u for u in units_of(web, p) if u.unit_id in receiving and own is not None and u.principal is own.principal]
    return same[0].unit_id if same else ""


def areas(who: Visitor) -> list[dict[str, Any]]:
    """The compass areas with their need statements, named in the visitor's language."""
    return [
        {
            "area": d.area.value,
            "label": who.t(label_key(d.area)),
            "statements": list(d.need_statements_sv),
        }
        for d in COMPASS.values()
    ]


# -- the pages -------------------------------------------------------------------------


def routes(web: Web) -> list[Any]:

    # -- the start page and the case list ----------------------------------------------

    @get("/staff", sync_to_thread=True)
    def start(
        request: Request[Any, Any, Any],
        whose: Annotated[str, QueryParameter(name="scope")] = "",
        group: FromQuery[str] = "",
        unit: FromQuery[str] = "",
        q: FromQuery[str] = "",
    ) -> Template:
        """The case list: one row per child, with who does what next (:mod:`hub.web.pages.caselist`)."""
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        if not web.hub.may(p, Action.READ_CASE_LIST):
            return web.render(who, "staff/start.html", active="cases")
        page = case_list_page(web, who, p, scope=whose, group=group, unit=unit, query=q)
        return web.render(
            who, "staff/cases.html", status_code=422 if page.errors else 200, active="cases", page=page,
            groups=GROUPS, scopes=scope_links(page),
        )

    # -- registering a child -----------------------------------------------------------

    def register_page(who: Visitor, values: dict[str, str], problems: Problems | None = None, *, status: int = 200, notice: str = "") -> Template:
        return web.render(
            who, "staff/register.html", status_code=status, active="register", values=values,
            errors=problems.by_field if problems else {}, slots=GUARDIAN_SLOTS, notice=notice,
        )

    @get("/staff/children/new", sync_to_thread=True)
    def register_form(request: Request[Any, Any, Any]) -> Template:
        who = web.visitor(request)
        staff_at_unit(web, who, who.path)
        return register_page(who, {})

    @post("/staff/children/new", sync_to_thread=True)
    def register(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
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
        except FIELD_PROBLEMS as e:
            return register_page(who, values, problems_from(who, e, register_field), status=422)

    # -- the discovery card ------------------------------------------------------------

    def card_page(
        who: Visitor, p: Principal, child_id: str | None, values: dict[str, Any],
        problems: Problems | None = None, *, status: int = 200, notice: str = "",
    ) -> Template:
        return web.render(
            who, "staff/card.html", status_code=status, active="card", child_id=child_id, values=values,
            errors=problems.by_field if problems else {}, areas=areas(who), units=units_of(web, p),
            own_unit=default_recipient(web, p), questions=list(zip(FIVE_QUESTION_FIELDS, FIVE_QUESTIONS_SV, strict=True)),
            notice=notice,
        )

    @get("/staff/cards/new", sync_to_thread=True)
    def card_form(
        request: Request[Any, Any, Any], child_id: FromQuery[str | None] = None, registered: FromQuery[str | None] = None,
    ) -> Template:
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        chosen = uuid_or_none(child_id)
        notice = "The child is registered. Now fill in the discovery card." if registered else ""
        values: dict[str, Any] = {"needs": {}, "notes": {}}
        return card_page(who, p, str(chosen) if chosen else None, values, notice=notice)

    @post("/staff/cards/find", sync_to_thread=True)
    def find_child(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        """The child by personnummer: always on to the registration form with the number filled
        in. Whether the hub knows the child is not told (a known child is left as it is and
        the card goes to its Barnkontakt), so the form is no way to learn who is registered."""
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        who.check_form(data)
        typed = one(data, "personnummer")
        try:
            parse_identity_number(typed)  # a number that cannot be a personnummer is said so at once
        except InvalidInputError as e:
            problems = problems_from(who, e, lambda _: "personnummer")
            return card_page(who, p, None, {"personnummer": typed, "needs": {}, "notes": {}}, problems, status=422)
        return register_page(
            who, {"personnummer": typed},
            notice="Write the child's name and guardians as you know them; the card comes next.",
        )

    @post("/staff/cards/new", sync_to_thread=True)
    def send_card(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        child_id = uuid_or_none(one(data, "child_id"))
        if child_id is None:
            raise ChildNotFoundError("-")
        needs = {a.value: many(data, f"need_{a.value}") for a in Area}
        notes = {a.value: one(data, f"note_{a.value}") for a in Area}
        answers = {q: one(data, f"q_{q}") for q in FIVE_QUESTION_FIELDS}
        values: dict[str, Any] = {
            "needs": needs, "notes": notes, "to_unit_id": one(data, "to_unit_id"),
            "own_support_taken": one(data, "own_support_taken"), "guardians_informed": one(data, "guardians_informed"),
            "withheld_from_guardians": one(data, "withheld_from_guardians"),
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
        secret = yes_no(data, "withheld_from_guardians")
        if secret is None:
            problems.add("withheld_from_guardians", "Answer yes or no.")
        if problems:
            return card_page(who, p, str(child_id), values, problems, status=422)

        def act() -> str:
            card_id = web.hub.submit_discovery_card(
                p, child_id, to_unit_id=values["to_unit_id"], unmet_needs=unmet, five_questions=answers,
                own_support_taken=values["own_support_taken"], guardians_informed=bool(informed),
                withheld_from_guardians=bool(secret),
            ).card_id
            return f"/staff/cards/sent?card_id={card_id}&to={values['to_unit_id']}"

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            return card_page(who, p, str(child_id), values, problems_from(who, e, card_field), status=422)

    @get("/staff/cards/sent", sync_to_thread=True)
    def card_sent(request: Request[Any, Any, Any], to: FromQuery[str] = "", card_id: FromQuery[str] = "") -> Template:
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        receivers = [s.name for s in tenant_of(web, p).staff.values() if s.unit_id == to and Role.BARNKONTAKT in s.roles]
        return web.render(
            who, "staff/card_sent.html", active="card", unit=unit_name(web, p, to), receivers=receivers, card_id=card_id,
        )

    @get("/staff/cards", sync_to_thread=True)
    def my_cards(request: Request[Any, Any, Any]) -> Template:
        """The cards this person sent, each with whether feedback came; the feedback itself
        is read through the core as the discoverer may see it."""
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        feedback: dict[str, RecordItemOut] = {}
        refused: set[UUID] = set()
        names: dict[UUID, str] = {}
        mine = web.hub.cards_sent_by(p)
        for child_id in dict.fromkeys(c.child_id for c in mine):
            try:
                view = web.hub.read_child(p, child_id, purpose="Discoverer: feedback on my discovery cards")
            except HubError:
                refused.add(child_id)
                continue
            for item in view.of_type("FeedbackSent"):
                if item.fields.get("card_id"):
                    feedback[item.fields["card_id"]] = item
            for registered in view.merged("ChildRegistered")[:1]:  # the name, as far as the viewer may see it
                if registered.get("given_name"):
                    names[child_id] = f"{registered['given_name']} {registered.get('family_name', '')}".strip()
        return web.render(
            who, "staff/my_cards.html", active="my-cards", cards=mine, feedback=feedback, refused=refused, names=names,
            units={c.to_unit_id: unit_name(web, p, c.to_unit_id) for c in mine},
        )

    return [start, register_form, register, card_form, find_child, send_card, card_sent, my_cards]

