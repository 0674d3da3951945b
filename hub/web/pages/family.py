"""The family pages: a guardian (or the child, from the age the cooperation area set)
sees the child's team and plan, answers consent requests, keeps a receipt of each, and
sees who has looked at the child's information, with proof from the tamper-evident log.

Every read goes through the core, which decides what the family may see and records
the read; these pages only put what the core answers into plain words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from consent import ConsentStatus, ViewerKind
from contracts.vocabulary import Area, Category, FamilyLanguage, PartyKind
from hub.application import Action, BackaHub
from hub.application.readmodels import ConsentOut, RecordItemOut
from hub.errors import ConsentError, NoBasisError, NotPermittedError
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.documents import DOCUMENTS
from hub.web.i18n import FAMILY_LANGUAGES, text_direction
from hub.web.pages.family_log import log_routes
from hub.web.pages.forms import one
from hub.web.session import Visitor

# The purposes the family's own reads are recorded with (fixed, so the access log reads
# the same in every language; the log page words them in the reader's language).
PURPOSE_LIST = "Family: list of my children"
PURPOSE_CHILD = "Family: the child's team and plan"
PURPOSE_CONSENTS = "Family: consent requests"
PURPOSE_RECEIPT = "Family: consent receipt"
PURPOSE_LOG = "Family: who has seen the information"

ANSWERS = {"grant": "granted", "decline": "declined", "withdraw": "withdrawn"}
"""The three answers a family member can give, and the confirmation each shows."""

STALE_REASONS = ("withdrawn", "expired", "declined", "granted", "not_yet_valid")


# -- plain values for the templates ------------------------------------------------------


def _area(value: str | None, t: Any) -> str:
    """An area of the Behovskompass by its name in the page's catalogue (the vocabulary's
    name, or the family language's wording of it)."""
    if not value:
        return ""
    try:
        Area(value)
    except ValueError:
        return value
    return str(t(f"area:{value}"))


def _require_family(web: Web, p: Principal) -> None:
    """The family pages are offered to whom the permission policy lets list their children."""
    if not web.hub.may(p, Action.LIST_FAMILY_CHILDREN):
        raise NotPermittedError("these pages are for the child's guardians and the child")


def _unit_name(hub: BackaHub, tenant_id: str, unit_id: str | None) -> str:
    if not unit_id:
        return ""
    tenant = hub.directory.tenants.get(tenant_id)
    unit = tenant.units.get(unit_id) if tenant else None
    return unit.name if unit else unit_id


def _staff_name(hub: BackaHub, tenant_id: str, staff_id: str | None) -> dict[str, str]:
    tenant = hub.directory.tenants.get(tenant_id)
    staff = tenant.staff.get(staff_id) if tenant and staff_id else None
    return {"name": staff.name if staff else "", "title": staff.title if staff else ""}


def _family_read(web: Web, p: Principal, child_id: UUID, purpose: str) -> list[RecordItemOut]:
    """The family's view of the child's facts, as the API's family read gives it."""
    try:
        view = web.hub.read_child(p, child_id, purpose=purpose, view="family_view")
    except NoBasisError:
        return []
    return view.items


def _of_type(items: list[RecordItemOut], name: str, category: Category | None = None) -> list[RecordItemOut]:
    return [i for i in items if i.type == name and (category is None or i.category is category)]


def _identity(items: list[RecordItemOut]) -> dict[str, Any]:
    found = _of_type(items, "ChildRegistered", Category.IDENTITY)
    if not found:
        return {"name": "", "guardians": {}}
    fields = found[-1].fields
    return {
        "name": f"{fields.get('given_name', '')} {fields.get('family_name', '')}".strip(),
        "guardians": {g["guardian_id"]: g["name"] for g in fields.get("guardians", [])},
    }


# -- the child's page ----------------------------------------------------------------------


def _child_page(web: Web, p: Principal, items: list[RecordItemOut], language: str) -> dict[str, Any]:
    """The team, the decision and the plan with names for ids; days stay days, for the template to word."""
    tenant = p.tenant_id
    t = web.catalogues[language].gettext
    contact = None
    handovers = _of_type(items, "BarnkontaktAssigned", Category.TEAM) + _of_type(items, "BarnkontaktDelegated", Category.TEAM)
    if handovers:
        f = max(reversed(handovers), key=lambda i: i.occurred_at).fields  # the latest; of equal times, the last
        contact = {**_staff_name(web.hub, tenant, f.get("staff_id")), "unit": _unit_name(web.hub, tenant, f.get("unit_id"))}
    coordinator = None
    for item in _of_type(items, "SupportCoordinatorAssigned", Category.TEAM):
        f = item.fields
        coordinator = {**_staff_name(web.hub, tenant, f.get("staff_id")), "unit": _unit_name(web.hub, tenant, f.get("unit_id"))}
    decision = None
    decided = _of_type(items, "TeamDecided", Category.TEAM)
    if decided:
        last = decided[-1]
        why = [i for i in _of_type(items, "TeamDecided", Category.NEEDS) if i.event_id == last.event_id]
        decision = {
            "decision": last.fields.get("decision"),
            "when": last.occurred_at,
            "units": [_unit_name(web.hub, tenant, u) for u in last.fields.get("member_unit_ids", [])],
            "shared": list(last.fields.get("shared_categories", [])),
            "rationale": why[0].fields.get("rationale", "") if why else "",
        }
    plan = None
    plans = _of_type(items, "PlanUpdated", Category.PLAN)
    if plans:
        latest = max(plans, key=lambda i: (i.fields.get("plan_version", 0), i.occurred_at))
        f = latest.fields
        completed = {i.fields.get("action_id"): i for i in _of_type(items, "PlanActionCompleted", Category.PLAN)}
        actions = []
        for a in f.get("actions", []):
            done = completed.get(a.get("action_id"))
            actions.append(
                {
                    "what": a.get("what", ""),
                    "who": a.get("responsible_person", ""),
                    "unit": _unit_name(web.hub, tenant, a.get("unit_id")),
                    "due": a.get("due"),
                    "status": "done" if done else a.get("status", "planned"),
                    "area": _area(a.get("area"), t),
                    "note": done.fields.get("note", "") if done else "",
                }
            )
        plan = {
            "version": f.get("plan_version"),
            "updated": latest.occurred_at,
            "goals": [{"area": _area(g.get("area"), t), "goal": g.get("goal", "")} for g in f.get("goals", [])],
            "actions": actions,
            "child_view": f.get("child_view", ""),
            "guardian_view": f.get("guardian_view", ""),
            "next_follow_up": f.get("next_follow_up"),
        }
    return {"contact": contact, "coordinator": coordinator, "decision": decision, "plan": plan}


# -- consents -------------------------------------------------------------------------------


def _answer_times(items: list[RecordItemOut], consent_id: UUID) -> dict[str, list[dict[str, Any]]]:
    """When each party answered, from the consent facts the family may see."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, answer in (("ConsentGranted", "granted"), ("ConsentDeclined", "declined"), ("ConsentWithdrawn", "withdrawn")):
        for item in _of_type(items, name, Category.CONSENT):
            f = item.fields
            if f.get("consent_id") != str(consent_id):
                continue
            party = f.get("party") or {}
            out.setdefault(str(party.get("party_id")), []).append(
                {"answer": answer, "at": item.occurred_at, "language": f.get("language")}
            )
    for answers in out.values():
        answers.sort(key=lambda a: a["at"])
    return out


def answered_language(consent: dict[str, Any]) -> str | None:
    """The language a consent's receipt is given in: the one the viewer's own latest answer
    was read in, else the one of the latest answer anyone gave; none for answers recorded
    before the language was (their receipt is in the page's language)."""

    def latest(parties: list[dict[str, Any]]) -> str | None:
        times = [t for party in parties for t in party["times"] if t.get("language") in FAMILY_LANGUAGES]
        return str(sorted(times, key=lambda t: t["at"])[-1]["language"]) if times else None  # stable: the log's order at a tie

    return latest([consent["mine"]] if consent["mine"] else []) or latest(consent["parties"])


def _requested_at(items: list[RecordItemOut], consent_id: UUID) -> datetime | None:
    for item in _of_type(items, "ConsentRequested", Category.CONSENT):
        if item.fields.get("consent_id") == str(consent_id):
            return item.occurred_at
    return None


def _consent(hub: BackaHub, p: Principal, c: ConsentOut, items: list[RecordItemOut]) -> dict[str, Any]:
    tenant = p.tenant_id
    identity = _identity(items)
    times = _answer_times(items, c.consent_id)
    parties = []
    mine = None
    for party in c.parties:
        entry = {
            "kind": party.kind.value,
            "is_you": party.is_you,
            "name": identity["guardians"].get(party.party_id, "") if party.kind is PartyKind.GUARDIAN else identity["name"],
            "answer": party.answer,
            "times": times.get(party.party_id, []),
        }
        parties.append(entry)
        if party.is_you:
            mine = entry
    status = c.status
    still_open = status in (ConsentStatus.PENDING, ConsentStatus.IN_EFFECT, ConsentStatus.NOT_YET_VALID)
    can_answer = mine is not None and mine["answer"] == "awaiting" and still_open
    can_withdraw = mine is not None and still_open and mine["answer"] != "withdrawn" and (
        status is ConsentStatus.IN_EFFECT or mine["answer"] == "granted"
    )
    return {
        "id": c.consent_id,
        "status": status.value,
        "purpose": c.purpose,
        "categories": [x.value for x in c.categories],
        "units": [_unit_name(hub, tenant, u) for u in c.recipient_unit_ids],
        "unit_kinds": [k.value for k in c.recipient_unit_kinds],
        "asked_by": _unit_name(hub, tenant, c.requested_by_unit_id),
        "requested": _requested_at(items, c.consent_id),
        "valid_from": c.valid_from,
        "valid_until": c.valid_until,
        "parties": parties,
        "mine": mine,
        "can_answer": can_answer,
        "can_withdraw": can_withdraw,
        "waiting_for_others": [x for x in parties if not x["is_you"] and x["answer"] == "awaiting"],
    }


def _stale_reason(error: ConsentError) -> str:
    """Which of the known reasons the core gave (its messages name no person)."""
    text = str(error.detail if hasattr(error, "detail") else error)
    for reason in STALE_REASONS:
        if reason in text:
            return reason
    return "other"


# -- the routes ------------------------------------------------------------------------------


def routes(web: Web) -> list[Any]:
    def family_visitor(request: Request[Any, Any, Any]) -> tuple[Visitor, Principal]:
        who = web.visitor(request)
        p = who.require(who.path)
        _require_family(web, p)
        return who, p

    def lang_query(who: Visitor) -> str:
        return f"?lang={who.language}"

    def page(who: Visitor, template: str, *, status_code: int = 200, **context: Any) -> Template:
        return web.render(who, template, status_code=status_code, active="family", lang_query=lang_query(who), **context)

    @get("/family", sync_to_thread=True)
    def children(request: Request[Any, Any, Any]) -> Template:
        who, p = family_visitor(request)
        rows = []
        for child in web.hub.family_children(p):
            identity = _identity(_family_read(web, p, child.child_id, PURPOSE_LIST))
            rows.append({"id": child.child_id, "name": identity["name"]})
        return page(who, "family/children.html", children=rows, is_child=p.kind is ViewerKind.CHILD)

    @get("/family/children/{child_id:uuid}", sync_to_thread=True)
    def child_page(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who, p = family_visitor(request)
        view = web.hub.read_child(p, child_id, purpose=PURPOSE_CHILD, view="family_view")
        return page(
            who,
            "family/child.html",
            child_id=str(child_id),
            child_name=_identity(view.items)["name"],
            is_child=p.kind is ViewerKind.CHILD,
            as_of=view.as_of,
            **_child_page(web, p, view.items, who.language),
        )

    @get("/family/children/{child_id:uuid}/consents", sync_to_thread=True)
    def consents(request: Request[Any, Any, Any], child_id: FromPath[UUID], done: FromQuery[str | None] = None) -> Template:
        who, p = family_visitor(request)
        overview = web.hub.consent_overview(p, child_id)
        items = _family_read(web, p, child_id, PURPOSE_CONSENTS)
        shown = [_consent(web.hub, p, c, items) for c in overview]
        return page(
            who,
            "family/consents.html",
            child_id=str(child_id),
            child_name=_identity(items)["name"],
            consents=shown,
            done=done if done in ANSWERS.values() else None,
        )

    def answer(verb: str) -> Any:
        @post(f"/family/children/{{child_id:uuid}}/consents/{{consent_id:uuid}}/{verb}", sync_to_thread=True, name=f"family-consent-{verb}")
        def handler(request: Request[Any, Any, Any], child_id: FromPath[UUID], consent_id: FromPath[UUID], data: Form) -> Template | Redirect:
            who, p = family_visitor(request)
            act = {"grant": web.hub.grant_consent, "decline": web.hub.decline_consent, "withdraw": web.hub.withdraw_consent}[verb]
            if verb == "withdraw" and one(data, "confirmed") != "yes":  # a withdrawal is recorded only from its confirmation page
                return Redirect(path=f"/family/children/{child_id}/consents/{consent_id}/withdraw?lang={who.language}", status_code=303)

            def run() -> str:
                act(p, child_id, consent_id, language=FamilyLanguage(who.language))  # the language the request was read in
                return f"/family/children/{child_id}/consents?done={ANSWERS[verb]}&lang={who.language}#consent-{consent_id}"

            try:
                return web.act(who, data, run)
            except ConsentError as e:
                return page(
                    who,
                    "family/stale.html",
                    status_code=409,
                    child_id=str(child_id),
                    reason=_stale_reason(e),
                    verb=verb,
                )

        return handler

    @get("/family/children/{child_id:uuid}/consents/{consent_id:uuid}/withdraw", sync_to_thread=True)
    def withdraw_confirm(request: Request[Any, Any, Any], child_id: FromPath[UUID], consent_id: FromPath[UUID]) -> Template:
        """The step before a withdrawal: what ends, for whom, and a button that records it."""
        who, p = family_visitor(request)
        found = [c for c in web.hub.consent_overview(p, child_id) if c.consent_id == consent_id]
        items = _family_read(web, p, child_id, PURPOSE_CONSENTS) if found else []
        shown = _consent(web.hub, p, found[0], items) if found else None
        if shown is None or shown["mine"] is None:
            return page(who, "family/missing.html", status_code=404, child_id=str(child_id))
        if not shown["can_withdraw"]:  # a page opened before the consent ended: say so, as the answer would
            reason = shown["status"] if shown["status"] in STALE_REASONS else "withdrawn"
            return page(who, "family/stale.html", status_code=409, child_id=str(child_id), reason=reason, verb="withdraw")
        return page(who, "family/withdraw.html", child_id=str(child_id), child_name=_identity(items)["name"], c=shown)

    @get("/family/children/{child_id:uuid}/consents/{consent_id:uuid}/receipt", sync_to_thread=True)
    def receipt(request: Request[Any, Any, Any], child_id: FromPath[UUID], consent_id: FromPath[UUID]) -> Template:
        who, p = family_visitor(request)
        overview = web.hub.consent_overview(p, child_id)
        found = [c for c in overview if c.consent_id == consent_id]
        if not found:
            return page(who, "family/missing.html", status_code=404, child_id=str(child_id))
        items = _family_read(web, p, child_id, PURPOSE_RECEIPT)
        consent = _consent(web.hub, p, found[0], items)
        answered = answered_language(consent) or who.language
        return page(
            who,
            "family/receipt.html",
            child_id=str(child_id),
            child_name=_identity(items)["name"],
            consent=consent,
            printed=web.hub.now(),
            answered=answered,
            answered_dir=text_direction(answered),
            t_answered=web.catalogues[answered].gettext,
            t_sv=web.catalogues["sv"].gettext,
        )

    @get("/family/children/{child_id:uuid}/consents/{consent_id:uuid}/receipt.pdf", sync_to_thread=True)
    def receipt_pdf(request: Request[Any, Any, Any], child_id: FromPath[UUID], consent_id: FromPath[UUID]) -> Response[bytes]:
        """The receipt as PDF/A, to keep or hand on: read and recorded as the receipt page is."""
        _, p = family_visitor(request)
        return DOCUMENTS.receipt(web.hub, p, child_id, consent_id)

    def child_name(p: Principal, child_id: UUID) -> str:
        return str(_identity(_family_read(web, p, child_id, PURPOSE_LOG))["name"])

    return [
        children, child_page, consents, answer("grant"), answer("decline"), answer("withdraw"), withdraw_confirm, receipt, receipt_pdf,
        *log_routes(web, family_visitor, page, child_name),
    ]
