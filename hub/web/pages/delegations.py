"""A member of staff hands a role they hold to a colleague at their own unit for a period (an
absence), and takes it back: the model lets the Barnkontakt delegate, so this is the staff
member's own page, not only the administrator's. The core decides who may (the role is the
giver's, the colleague at the same unit) and records each delegation in the directory's history.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from contracts.vocabulary import SWEDISH_TIME
from hub.application.directory_admin import DelegateRole
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.pages.directory import DELEGABLE, _command, act_or_show_form, role_options
from hub.web.pages.forms import Problems, one
from hub.web.pages.staff import staff_at_unit
from hub.web.session import Visitor

PATH = "/staff/delegations"


def routes(web: Web) -> list[Any]:
    def page(who: Visitor, p: Principal, *, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
             status_code: int = 200, done: str = "") -> Template:
        area = web.hub.directory_of(p)
        me = area.staff.get(p.user_id)
        held = tuple(r for r in DELEGABLE if me is not None and r in me.roles)
        colleagues = sorted(
            (s for s in area.staff.values() if s.unit_id == p.unit_id and s.user_id != p.user_id), key=lambda s: s.name
        )
        today = web.hub.now().astimezone(SWEDISH_TIME).date()
        mine = [d for d in area.delegations if p.user_id in (d.from_user_id, d.to_user_id) and d.ends_on >= today]
        return web.render(
            who, "staff/delegations.html", status_code=status_code, active="delegations", delegations=mine,
            people_options=[(s.user_id, s.name) for s in colleagues], role_options=role_options(who, held),
            values=values or {}, errors=errors or {}, done=done, today=today.isoformat(), me=p.user_id,
        )

    @get(PATH, sync_to_thread=True)
    def delegations(request: Request[Any, Any, Any], done: FromQuery[str] = "") -> Template:
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        return page(who, p, done=done if done in ("delegated", "revoked") else "")

    @post(PATH, sync_to_thread=True)
    def delegate(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        who.check_form(data)
        values = {"to_user_id": one(data, "to_user_id"), "role": one(data, "role"), "starts_on": one(data, "starts_on"),
                  "ends_on": one(data, "ends_on")}

        def again(problems: Problems) -> Template:
            return page(who, p, values=values, errors=problems.by_field, status_code=422)

        command, problems = _command(who, DelegateRole, values)
        if problems:
            return again(problems)
        return act_or_show_form(
            web, who, data, lambda: (web.hub.delegate_role(p, command), f"{PATH}?done=delegated")[1], again
        )

    @post(PATH + "/{delegation_id:uuid}/revoke", sync_to_thread=True)
    def revoke(request: Request[Any, Any, Any], delegation_id: FromPath[UUID], data: Form) -> Redirect:
        who = web.visitor(request)
        p = staff_at_unit(web, who, who.path)
        return web.act(who, data, lambda: (web.hub.revoke_delegation(p, delegation_id), f"{PATH}?done=revoked")[1])

    return [delegations, delegate, revoke]
