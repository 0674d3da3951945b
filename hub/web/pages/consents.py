"""The request for consent, prefilled from the decision (or, to renew, from the consent it
renews), with a warning before sending when a unit of the team is left out.

The team's units and the categories it shares are those the decision named; the asker's
own unit is ticked too, since a unit left out loses sight of the plan once the family
answers. Leaving a team unit out is allowed, but only after the page has named it and
the Barnkontakt has sent again on purpose. The warning helps, it guards nothing: the team
travels with the form, so sending reads nothing more. One request per decision is the core's rule
(:meth:`hub.domain.child.Child.pending_repeat_of`), so a double submit sends nothing new.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from contracts.vocabulary import CONSENTABLE_CATEGORIES, SWEDISH_TIME, Category, UnitKind
from hub.application.consent_signals import SignalDays
from hub.errors import HubError
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.pages.forms import FIELD_PROBLEMS, Problems, many, one, problems_from
from hub.web.pages.staff import case_owner, unit_name, units_of
from hub.web.session import Visitor

CONSENT_CATEGORIES = [c for c in Category if c in CONSENTABLE_CATEGORIES]
PURPOSE_PREFILL = "Barnkontakt: consent request from the decision"
DONE = ("consent", "barnkontakt", "delegated", "feedback")
"""The confirmations :func:`routes` shows after a form of the Barnkontakt's."""


def scope_of_record(web: Web, p: Principal, child_id: UUID, renew: UUID | None) -> dict[str, Any]:
    """The team and shared categories of the latest decision, and the scope of the consent
    to renew, as far as the core shows them to this viewer."""
    try:
        view = web.hub.read_child(p, child_id, purpose=PURPOSE_PREFILL)
    except HubError:
        return {"team": [], "shared": [], "renewed": None}
    decisions = view.merged("TeamDecided")
    latest = decisions[-1] if decisions else {}
    renewed = None
    if renew is not None:
        for c in view.merged("ConsentRequested"):
            if c.get("consent_id") == str(renew):
                renewed = c
    return {
        "team": list(latest.get("member_unit_ids") or []),
        "shared": list(latest.get("shared_categories") or []),
        "renewed": renewed,
    }


def left_out(web: Web, p: Principal, team: list[str], units: list[str], kinds: list[str]) -> list[str]:
    """The team's units (and the asker's own) that the request names neither by id nor by kind."""
    directory = web.hub.directory.tenants[p.tenant_id].units
    wanted = list(dict.fromkeys([*( [p.unit_id] if p.unit_id else []), *team]))
    out = []
    for u in wanted:
        unit = directory.get(u)
        if u not in units and not (unit is not None and unit.kind.value in kinds):
            out.append(u)
    return out


def routes(web: Web) -> list[Any]:
    def consent_page(
        who: Visitor, p: Principal, child_id: UUID, values: dict[str, Any], problems: Problems | None = None, *,
        status: int = 200, missing: list[str] | None = None,
    ) -> Template:
        return web.render(
            who, "staff/consent_request.html", status_code=status, active="cases", child_id=child_id, values=values,
            errors=problems.by_field if problems else {}, units=units_of(web, p), unit_kinds=[k.value for k in UnitKind],
            categories=[c.value for c in CONSENT_CATEGORIES], own_unit=p.unit_id,
            left_out=[{"id": u, "name": unit_name(web, p, u), "own": u == p.unit_id} for u in (missing or [])],
        )

    @get("/staff/children/{child_id:uuid}/consent-request", sync_to_thread=True)
    def consent_form(request: Request[Any, Any, Any], child_id: FromPath[UUID], renew: FromQuery[UUID | None] = None) -> Template:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        scope = scope_of_record(web, p, child_id, renew)
        renewed = scope["renewed"]
        if renewed is not None:
            recipients = renewed.get("recipients") or []
            values: dict[str, Any] = {
                "units": [r["unit_id"] for r in recipients if r.get("unit_id")],
                "kinds": [r["unit_kind"] for r in recipients if r.get("unit_kind")],
                "categories": list(renewed.get("categories") or []), "purpose": renewed.get("purpose", ""),
                "renew": str(renew),
            }
        else:
            own = [p.unit_id] if p.unit_id else []
            values = {
                "units": list(dict.fromkeys([*own, *scope["team"]])), "kinds": [],
                "categories": [c for c in scope["shared"] if c in {x.value for x in CONSENT_CATEGORIES}],
                "purpose": who.t("The team's work with the support the child needs") if scope["team"] else "",
            }
        values.update(team=scope["team"], from_decision=bool(scope["team"]) and renewed is None)
        return consent_page(who, p, child_id, values)

    @post("/staff/children/{child_id:uuid}/consent-request", sync_to_thread=True)
    def consent_request(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template | Redirect:
        who = web.visitor(request)
        p = case_owner(web, who, who.path)
        values: dict[str, Any] = {
            "units": many(data, "recipient_units"), "kinds": many(data, "recipient_kinds"),
            "categories": many(data, "categories"), "purpose": one(data, "purpose"), "valid_until": one(data, "valid_until"),
            "renew": one(data, "renew"), "team": many(data, "team_units"),
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
                until = datetime.combine(date.fromisoformat(values["valid_until"]), time(23, 59), tzinfo=SWEDISH_TIME)
            except ValueError:
                problems.add("valid_until", "Write the date as YYYY-MM-DD.")
        if problems:
            return consent_page(who, p, child_id, values, problems, status=422)
        missing = left_out(web, p, values["team"], values["units"], values["kinds"])
        if missing and one(data, "left_out") != ",".join(missing):
            return consent_page(who, p, child_id, values, status=200, missing=missing)
        recipients = [{"unit_id": u} for u in values["units"]] + [{"unit_kind": k} for k in values["kinds"]]

        def act() -> str:
            web.hub.request_consent(
                p, child_id, recipients=recipients, categories=values["categories"], purpose=values["purpose"],
                valid_until=until,
            )
            return f"/staff/children/{child_id}/done/consent"

        def to_field(f: str) -> str:
            if f.startswith("recipients"):
                return "recipients"
            return f if f in ("categories", "purpose", "valid_until") else "form"

        try:
            return web.act(who, data, act)
        except FIELD_PROBLEMS as e:
            return consent_page(who, p, child_id, values, problems_from(who, e, to_field), status=422)

    @get("/staff/children/{child_id:uuid}/done/{what:str}", sync_to_thread=True)
    def done(request: Request[Any, Any, Any], child_id: FromPath[UUID], what: FromPath[str]) -> Template | Redirect:
        """What was just done, said plainly: the answer to a form that changes the child's case."""
        who = web.visitor(request)
        case_owner(web, who, who.path)
        if what not in DONE:
            return Redirect(path=f"/staff/children/{child_id}", status_code=303)
        return web.render(who, "staff/done.html", active="cases", child_id=child_id, done=what)

    return [consent_form, consent_request, done]


def consent_banner(web: Web, who: Visitor, child_id: UUID) -> Any | None:
    """What the child's page tells the viewer's unit about consent (a withdrawal that took
    information from it; for the case owner, consents ending soon and requests not answered),
    or ``None`` when there is nothing to tell."""
    try:
        return web.hub.consent_signals(who.require(who.path), child_id, SignalDays.of(web.runtime.settings))
    except HubError:
        return None


def lost_sight_page(web: Web, who: Visitor, child_id: UUID) -> Template | None:
    """For a unit a withdrawal left with nothing to see: the banner instead of a bare refusal."""
    signals = consent_banner(web, who, child_id)
    if signals is None or not signals.lost_sight:
        return None
    return web.render(
        who, "child/lost_sight.html", status_code=403, active="cases", child_id=str(child_id), consent_signals=signals,
    )
