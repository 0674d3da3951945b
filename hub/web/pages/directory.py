"""Katalogen: the cooperation area's units and staff, as the administrator keeps them, and the
history of every change (the administrator's and the auditors').

Each form is read into the same command the API takes (:mod:`hub.application.directory_admin`),
so a field the command refuses is shown next to it in the visitor's language; the core
decides who may and records each change as a fact on the directory's log, so a person added
here can sign in at once on every process of the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from pydantic import BaseModel, ValidationError

from contracts.directory import SUBSCRIBABLE_TYPES, Cadence, DeliveryFormat
from contracts.vocabulary import SWEDISH_TIME, Category, Role, UnitKind
from hub.application import Action
from hub.application.directory_admin import AddStaff, AddUnit, ChangeStaff, ChooseSubscription, DelegateRole, RenameUnit
from hub.errors import ConflictError, HubError, InvalidInputError, NotPermittedError, OutOfOrderError
from hub.http.problems import _lookup
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.pages.forms import Problems, many, one
from hub.web.session import Visitor

PATH = "/administration/directory"
HISTORY = "/directory/history"
ROLES = (Role.DISCOVERER, Role.BARNKONTAKT, Role.SUPPORT_COORDINATOR, Role.TEAM_MEMBER, Role.TENANT_ADMIN, Role.AUDITOR)
DELEGABLE = (Role.DISCOVERER, Role.BARNKONTAKT, Role.SUPPORT_COORDINATOR, Role.TEAM_MEMBER)
FIELD_MESSAGES = {
    "unit_id": "Write an id of letters, digits, hyphens and underscores, without spaces.",
    "user_id": "Write the account the person signs in with: letters, digits and . _ @ + -, without spaces.",
    "kind": "Choose a kind of unit.",
    "name": "Write a name on one line.",
    "title": "Write the title on one line.",
    "roles": "Tick at least one role.",
    "event_types": "Choose among the kinds of information listed.",
    "categories": "Choose among the categories listed.",
    "cadence": "Choose how often.",
    "digest_hour": "Choose an hour from 0 to 23.",
    "format": "Choose a format.",
    "to_user_id": "Choose a colleague at the same unit.",
    "from_user_id": "Choose who hands over the role.",
    "role": "Choose a role.",
    "starts_on": "Give a date as YYYY-MM-DD.",
    "ends_on": "Give a date as YYYY-MM-DD.",
}
CORE_MESSAGES = {
    "conflict": "Already used in the cooperation area: choose another.",
    "unknown-unit": "Choose a unit of the cooperation area.",
    "unknown-staff": "Choose a member of staff of the cooperation area.",
    "out-of-order": "Not possible now: the unit still has staff, or the role is handed to the one who holds it.",
    "not-permitted": "You may not hand over that role: only a role you hold, to a colleague at your own unit.",
}
ENDS_ON_MESSAGES = {
    "before": "The last day comes before the first.",
    "over": "The period is already over.",
    "days": "A delegation lasts at most a year.",
}


def role_options(who: Visitor, roles: tuple[Role, ...]) -> list[tuple[str, str]]:
    return [(r.value, who.t(f"role:{r.value}")) for r in roles]


def may(web: Web, p: Principal, action: Action) -> bool:
    """Whether the permission policy lets ``p`` take ``action`` on their own area's directory."""
    return web.hub.may(p, action)


def administrator(web: Web, who: Visitor) -> Principal:
    p = who.require(who.path)
    if not may(web, p, Action.MANAGE_DIRECTORY):
        raise NotPermittedError("only the area's administrator keeps the directory")
    return p


def _command(who: Visitor, model: type[BaseModel], values: dict[str, Any]) -> tuple[Any, Problems]:
    """The form's values as the command, or each refused field's problem."""
    problems = Problems(who, {})
    try:
        return model.model_validate(values), problems
    except ValidationError as e:
        for error in e.errors(include_input=False, include_url=False):
            field = str(error["loc"][0]) if error["loc"] else "form"
            problems.add(field, FIELD_MESSAGES.get(field, "Check this field."))
        return None, problems


def _core_problems(who: Visitor, error: HubError) -> Problems:
    """The core's refusal next to its field, in words of the page (the core's are English)."""
    _, kind, _ = _lookup(error)
    field = error.field or "form"
    message = CORE_MESSAGES.get(kind, FIELD_MESSAGES.get(field, "Check this field."))
    if field == "ends_on":
        detail = error.detail
        message = next((m for k, m in ENDS_ON_MESSAGES.items() if k in detail), message)
    problems = Problems(who, {})
    problems.add(field if field in FIELD_MESSAGES or field == "delegation_id" else "form", message)
    return problems


CORE_REFUSALS = (InvalidInputError, ConflictError, OutOfOrderError, NotPermittedError, HubError)


def act_or_show_form(
    web: Web, who: Visitor, data: dict[str, Any], act: Callable[[], str], again: Callable[[Problems], Template]
) -> Template | Redirect:
    """Act on the form once; a refusal the form can mend (a field, a role not to be handed
    over) shows it again with the problem, anything else is the shared error page."""
    try:
        return web.act(who, data, act)
    except NotPermittedError as e:
        if e.field == "csrf_token":
            raise
        return again(_core_problems(who, e))
    except CORE_REFUSALS as e:
        if not e.field:
            raise
        return again(_core_problems(who, e))


def _staff_values(data: dict[str, Any], *, with_id: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "unit_id": one(data, "unit_id") or None, "roles": many(data, "roles"), "name": one(data, "name"),
        "title": one(data, "title"),
    }
    if with_id:
        values["user_id"] = one(data, "user_id")
    return values


def _subscription_values(data: dict[str, Any]) -> dict[str, Any]:
    hour = one(data, "digest_hour")
    return {
        "event_types": many(data, "event_types") or None,
        "categories": many(data, "categories") or None,
        "cadence": one(data, "cadence"),
        "digest_hour": int(hour) if hour.isdigit() and len(hour) <= 2 else hour,
        "format": one(data, "format"),
    }


def routes(web: Web) -> list[Any]:  # noqa: C901 - one handler per form
    def tenant(p: Principal) -> Any:
        return web.hub.directory_of(p)

    def open_unit(p: Principal, unit_id: str) -> Any:
        """The open unit the address names; any other id, however written, is no such unit."""
        found = tenant(p).units.get(unit_id)
        if found is None:
            raise InvalidInputError("no such open unit in this cooperation area", field="unit_id")
        return found

    def present(p: Principal, user_id: str) -> None:
        if user_id not in tenant(p).staff:
            raise InvalidInputError("no such member of staff in this cooperation area", field="user_id")

    def today(p: Principal) -> Any:
        return web.hub.now().astimezone(SWEDISH_TIME).date()

    def directory_page(
        who: Visitor, p: Principal, *, values: dict[str, dict[str, Any]] | None = None,
        errors: dict[str, dict[str, str]] | None = None, status_code: int = 200, done: FromQuery[str] = "",
    ) -> Template:
        area = tenant(p)
        units = sorted(area.units.values(), key=lambda u: u.name)
        staff = sorted(area.staff.values(), key=lambda s: s.name)
        return web.render(
            who, "admin/directory.html", status_code=status_code, active="administration",
            area=area, units=units, staff=staff, delegations=[d for d in area.delegations if d.ends_on >= today(p)],
            kind_options=sorted(((k.value, who.t(f"unitkind:{k.value}")) for k in UnitKind), key=lambda o: o[1]),
            unit_options=[(u.unit_id, u.name) for u in units], role_options=role_options(who, ROLES),
            delegable_options=role_options(who, DELEGABLE),
            people_options=[(s.user_id, f"{s.name}, {area.units[s.unit_id].name}") for s in staff if s.unit_id in area.units],
            values=values or {}, errors=errors or {}, done=done, today=today(p).isoformat(),
        )

    def act_or_show(
        who: Visitor, data: dict[str, Any], act: Callable[[], str], again: Callable[[Problems], Template]
    ) -> Template | Redirect:
        return act_or_show_form(web, who, data, act, again)

    @get(PATH, sync_to_thread=True)
    def directory(request: Request[Any, Any, Any], done: FromQuery[str] = "") -> Template:
        who = web.visitor(request)
        p = administrator(web, who)
        return directory_page(who, p, done=done if done in ("unit", "staff", "removed", "closed", "delegated", "revoked") else "")

    def form_post(form: str, model: type[BaseModel], values_of: Callable[[dict[str, Any]], dict[str, Any]],
                  change: Callable[[Principal, Any], Any], done: str) -> Any:
        def handler(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
            who = web.visitor(request)
            p = administrator(web, who)
            who.check_form(data)
            values = values_of(data)

            def again(problems: Problems) -> Template:
                return directory_page(who, p, values={form: values}, errors={form: problems.by_field}, status_code=422)

            command, problems = _command(who, model, values)
            if problems:
                return again(problems)
            return act_or_show(who, data, lambda: (change(p, command), f"{PATH}?done={done}")[1], again)

        return handler

    add_unit = post(PATH + "/units", sync_to_thread=True, name="directory-add-unit")(
        form_post("unit", AddUnit, lambda d: {"unit_id": one(d, "unit_id"), "kind": one(d, "kind"), "name": one(d, "name")},
                  web.hub.add_unit, "unit")
    )
    add_staff = post(PATH + "/staff", sync_to_thread=True, name="directory-add-staff")(
        form_post("staff", AddStaff, lambda d: _staff_values(d, with_id=True), web.hub.add_staff, "staff")
    )
    delegate = post(PATH + "/delegations", sync_to_thread=True, name="directory-delegate")(
        form_post(
            "delegation", DelegateRole,
            lambda d: {"from_user_id": one(d, "from_user_id") or None, "to_user_id": one(d, "to_user_id"), "role": one(d, "role"),
                       "starts_on": one(d, "starts_on"), "ends_on": one(d, "ends_on")},
            web.hub.delegate_role, "delegated",
        )
    )

    @post(PATH + "/delegations/{delegation_id:uuid}/revoke", sync_to_thread=True)
    def revoke(request: Request[Any, Any, Any], delegation_id: FromPath[UUID], data: Form) -> Redirect:
        who = web.visitor(request)
        p = administrator(web, who)
        return web.act(who, data, lambda: (web.hub.revoke_delegation(p, delegation_id), f"{PATH}?done=revoked")[1])

    # -- one unit ------------------------------------------------------------------------------

    def unit_page(who: Visitor, p: Principal, unit_id: str, *, values: dict[str, Any] | None = None,
                  errors: dict[str, dict[str, str]] | None = None, status_code: int = 200, done: FromQuery[str] = "") -> Template:
        unit = tenant(p).units.get(unit_id)
        if unit is None:
            raise InvalidInputError("no such open unit in this cooperation area", field="unit_id")
        return web.render(
            who, "admin/unit.html", status_code=status_code, active="administration", unit=unit,
            values=values or _unit_values(unit),
            errors=errors or {}, done=done,
            type_options=sorted(((e, who.t(f"eventtype:{e}")) for e in SUBSCRIBABLE_TYPES), key=lambda o: o[1]),
            category_options=[(c.value, who.t(f"category:{c.value}")) for c in Category],
            cadence_options=[(c.value, who.t(f"cadence:{c.value}")) for c in Cadence],
            format_options=[(f.value, who.t(f"format:{f.value}")) for f in DeliveryFormat],
            hour_options=[(str(h), f"{h:02d}:00") for h in range(24)],
            has_staff=any(s.unit_id == unit_id for s in tenant(p).staff.values()),
        )

    @get(PATH + "/units/{unit_id:str}", sync_to_thread=True)
    def unit(request: Request[Any, Any, Any], unit_id: FromPath[str], done: FromQuery[str] = "") -> Template:
        who = web.visitor(request)
        p = administrator(web, who)
        return unit_page(who, p, unit_id, done=done if done in ("name", "subscription") else "")

    def unit_post(form: str, model: type[BaseModel], values_of: Callable[[dict[str, Any]], dict[str, Any]],
                  change: Callable[[Principal, str, Any], Any]) -> Any:
        def handler(request: Request[Any, Any, Any], unit_id: FromPath[str], data: Form) -> Template | Redirect:
            who = web.visitor(request)
            p = administrator(web, who)
            who.check_form(data)
            values = values_of(data)
            current = open_unit(p, unit_id)

            def again(problems: Problems) -> Template:
                merged = {**_unit_values(current), **values} if current else values
                return unit_page(who, p, unit_id, values=merged, errors={form: problems.by_field}, status_code=422)

            command, problems = _command(who, model, values)
            if problems:
                return again(problems)
            return act_or_show(
                who, data, lambda: (change(p, unit_id, command), f"{PATH}/units/{unit_id}?done={form}")[1], again
            )

        return handler

    rename = post(PATH + "/units/{unit_id:str}/name", sync_to_thread=True, name="directory-rename-unit")(
        unit_post("name", RenameUnit, lambda d: {"name": one(d, "name")}, web.hub.rename_unit)
    )
    subscribe = post(PATH + "/units/{unit_id:str}/subscription", sync_to_thread=True, name="directory-subscription")(
        unit_post("subscription", ChooseSubscription, _subscription_values, web.hub.choose_subscription)
    )

    @post(PATH + "/units/{unit_id:str}/close", sync_to_thread=True)
    def close(request: Request[Any, Any, Any], unit_id: FromPath[str], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = administrator(web, who)
        open_unit(p, unit_id)

        def again(problems: Problems) -> Template:
            return unit_page(who, p, unit_id, errors={"close": problems.by_field}, status_code=409)

        return act_or_show(who, data, lambda: (web.hub.close_unit(p, unit_id), f"{PATH}?done=closed")[1], again)

    # -- one member of staff -------------------------------------------------------------------

    def staff_page(who: Visitor, p: Principal, user_id: str, *, values: dict[str, Any] | None = None,
                   errors: dict[str, str] | None = None, status_code: int = 200, done: bool = False) -> Template:
        area = tenant(p)
        member = area.staff.get(user_id)
        if member is None:
            raise InvalidInputError("no such member of staff in this cooperation area", field="user_id")
        return web.render(
            who, "admin/staff_member.html", status_code=status_code, active="administration", member=member,
            values=values or {"unit_id": member.unit_id or "", "roles": [r.value for r in member.roles], "name": member.name,
                              "title": member.title},
            errors=errors or {}, unit_options=[(u.unit_id, u.name) for u in sorted(area.units.values(), key=lambda u: u.name)],
            role_options=role_options(who, ROLES), done=done,
            itself=user_id == p.user_id,
        )

    @get(PATH + "/staff/{user_id:str}", sync_to_thread=True)
    def staff_member(request: Request[Any, Any, Any], user_id: FromPath[str], done: FromQuery[str] = "") -> Template:
        who = web.visitor(request)
        p = administrator(web, who)
        return staff_page(who, p, user_id, done=done == "changed")

    @post(PATH + "/staff/{user_id:str}", sync_to_thread=True)
    def change_staff(request: Request[Any, Any, Any], user_id: FromPath[str], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = administrator(web, who)
        present(p, user_id)
        who.check_form(data)
        values = _staff_values(data, with_id=False)

        def again(problems: Problems) -> Template:
            shown = {**values, "unit_id": values["unit_id"] or "", "roles": values["roles"]}
            return staff_page(who, p, user_id, values=shown, errors=problems.by_field, status_code=422)

        command, problems = _command(who, ChangeStaff, values)
        if problems:
            return again(problems)
        return act_or_show(
            who, data, lambda: (web.hub.change_staff(p, user_id, command), f"{PATH}/staff/{user_id}?done=changed")[1], again
        )

    @post(PATH + "/staff/{user_id:str}/remove", sync_to_thread=True)
    def remove_staff(request: Request[Any, Any, Any], user_id: FromPath[str], data: Form) -> Redirect:
        who = web.visitor(request)
        p = administrator(web, who)
        present(p, user_id)
        return web.act(who, data, lambda: (web.hub.remove_staff(p, user_id), f"{PATH}?done=removed")[1])

    # -- the history ---------------------------------------------------------------------------

    @get(HISTORY, sync_to_thread=True)
    def history(request: Request[Any, Any, Any]) -> Template:
        who = web.visitor(request)
        p = who.require(who.path)
        if not may(web, p, Action.READ_DIRECTORY_HISTORY):
            raise NotPermittedError("only the area's administrator and auditors read the directory's history")
        facts = web.hub.directory_history(p)
        area = tenant(p)
        names = {**{s.user_id: s.name for s in area.former_staff.values()}, **{s.user_id: s.name for s in area.staff.values()}}
        units = {**{u.unit_id: u.name for u in area.former_units.values()}, **{u.unit_id: u.name for u in area.units.values()}}
        for fact in facts:  # a unit or person named only in the history (added, then gone) is still named
            name = getattr(fact, "name", None)
            if name and type(fact).__name__ in ("UnitAdded", "UnitRenamed"):
                units.setdefault(getattr(fact, "unit_id", ""), name)
            elif name and type(fact).__name__ in ("StaffAdded", "StaffChanged"):
                names.setdefault(getattr(fact, "user_id", ""), name)
        entries = [{"type": type(f).__name__, "fact": f} for f in reversed(facts)]
        return web.render(
            who, "admin/directory_history.html", active="directory-history", entries=entries,
            directory_staff=names, directory_units=units,
        )

    return [directory, add_unit, add_staff, delegate, revoke, unit, rename, subscribe, close, staff_member, change_staff,
            remove_staff, history]


def _unit_values(unit: Any) -> dict[str, Any]:
    chosen = unit.subscription
    return {
        "name": unit.name, "event_types": list(chosen.event_types or ()), "categories": [c.value for c in chosen.categories or ()],
        "cadence": chosen.cadence.value, "digest_hour": chosen.digest_hour, "format": chosen.format.value,
    }
