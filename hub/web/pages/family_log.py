"""The family's "who has seen" pages: the reads grouped by month and unit, and the proof
of one read checked by the hub against its latest signed checkpoint.

The list is for a guardian on a phone: one line per unit and month ("Förskolan Solrosen
läste uppgifter om Alva 3 gånger"), opened to the single reads on demand, narrowed by
principal and dates. The proof (hashes, audit path) is not on the list; each read has a
"Kontrollera" link to a page where the hub checks it and says so in words, with the proof
to download and check without the hub. The core decides what the family may see and
records each look; these pages only word it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from babel.dates import format_date
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from contracts.bounds import EARLIEST, LATEST, day_in_window
from contracts.vocabulary import UNIT_KIND_PRINCIPAL
from contracts.vocabulary import Principal as Agency
from hub.application.access_groups import group_reads
from hub.application.proofs import check_family_proof, family_proof
from hub.identity.principals import Principal
from hub.tlog.proof_document import ProofVerdict
from hub.web.app import Form, Web
from hub.web.session import Visitor

AGENCIES = tuple(a.value for a in Agency)
KNOWN_VIEWS = frozenset(
    {"unit_view", "case_list", "timeline", "consent_overview", "family_access_log", "family_view", "audit_search",
     "review_sample", "flagged_accesses", "review_outcomes", "audit_child_search"}
)
"""The kinds of look the pages explain in their own words; any other is "looked at"."""
MAX_PASTED = 200_000
"""A kept proof is a few kilobytes; more is not one."""

FamilyVisitor = Callable[[Request[Any, Any, Any]], tuple[Visitor, Principal]]
Page = Callable[..., Template]
ChildName = Callable[[Principal, UUID], str]


def _day(text: str, field: str, errors: dict[str, str], t: Callable[..., str], language: str) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[field] = t("Give the date as a day, for example 2026-03-02.")
        return None
    if not day_in_window(day):
        errors[field] = t("Give a day between {first} and {last}.", first=format_date(EARLIEST, "long", locale=language),
                          last=format_date(LATEST, "long", locale=language))
        return None
    return day


Filters = tuple[dict[str, str], dict[str, str], Agency | None, date | None, date | None]


def _filters(request: Request[Any, Any, Any], t: Callable[..., str], language: str) -> Filters:
    """The list's filters as typed, the errors, and the principal and days they name."""
    values = {n: (request.query_params.get(n) or "").strip() for n in ("agency", "since", "until")}
    errors: dict[str, str] = {}
    agency = None
    if values["agency"]:
        if values["agency"] in AGENCIES:
            agency = Agency(values["agency"])
        else:
            errors["agency"] = t("Choose one of the agencies in the list.")
    since = _day(values["since"], "since", errors, t, language)
    until = _day(values["until"], "until", errors, t, language)
    if since and until and since > until:
        errors["until"] = t("The last day must not be before the first.")
    return values, errors, agency, since, until


def _principals(web: Web, tenant_id: str) -> dict[str, Agency]:
    tenant = web.hub.directory.tenants.get(tenant_id)
    return {u.unit_id: UNIT_KIND_PRINCIPAL[u.kind] for u in tenant.units.values()} if tenant else {}


def _verdict(verdict: ProofVerdict) -> dict[str, Any]:
    return {"holds": verdict.holds, "problem": verdict.problem.value if verdict.problem else None,
            "tree_size": verdict.tree_size}


def log_routes(web: Web, family_visitor: FamilyVisitor, page: Page, child_name: ChildName) -> list[Any]:
    """The access-log pages, with the family pages' own guard, layout and the child's name."""

    @get("/family/children/{child_id:uuid}/access-log", sync_to_thread=True)
    def access_log(request: Request[Any, Any, Any], child_id: FromPath[UUID]) -> Template:
        who, p = family_visitor(request)
        values, errors, agency, since, until = _filters(request, who.t, who.language)
        entries = web.hub.family_access_log(p, child_id)
        months = [] if errors else group_reads(entries, _principals(web, p.tenant_id), principal=agency, since=since, until=until)
        return page(
            who, "family/access_log.html", status_code=422 if errors else 200, child_id=str(child_id),
            child_name=child_name(p, child_id), months=months, values=values, errors=errors, agencies=AGENCIES,
            known_views=KNOWN_VIEWS, filtered=any(values.values()),
            month_label=lambda d: format_date(d, "LLLL yyyy", locale=who.language),
        )

    @get("/family/children/{child_id:uuid}/access-log/{position:int}/verify", sync_to_thread=True)
    def verify(request: Request[Any, Any, Any], child_id: FromPath[UUID], position: FromPath[int]) -> Template:
        who, p = family_visitor(request)
        document, verdict = family_proof(web.hub, p, child_id, position)
        return page(
            who, "family/verify.html", child_id=str(child_id), child_name=child_name(p, child_id), position=position,
            verdict=_verdict(verdict), document=document, pasted=None,
        )

    @get("/family/children/{child_id:uuid}/access-log/{position:int}/proof.json", sync_to_thread=True)
    def proof_json(request: Request[Any, Any, Any], child_id: FromPath[UUID], position: FromPath[int]) -> Response[bytes]:
        _, p = family_visitor(request)
        document, _ = family_proof(web.hub, p, child_id, position)
        return Response(
            json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8"),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="bevis-{position}.json"'},
        )

    @post("/family/children/{child_id:uuid}/access-log/check", sync_to_thread=True, name="family-proof-check")
    def check(request: Request[Any, Any, Any], child_id: FromPath[UUID], data: Form) -> Template:
        """A kept proof pasted back: checked with the hub's own key, nothing recorded or changed."""
        who, p = family_visitor(request)
        who.check_form(data)
        text = data.get("proof")
        text = text if isinstance(text, str) else ""
        try:
            document: object = json.loads(text) if 0 < len(text) <= MAX_PASTED else None
        except (ValueError, RecursionError):  # nested past the parser's depth is no proof either
            document = None
        verdict = check_family_proof(web.hub, p, child_id, document)
        return page(
            who, "family/verify.html", status_code=200 if verdict.holds else 422, child_id=str(child_id),
            child_name=child_name(p, child_id), position=verdict.position, verdict=_verdict(verdict), document=None,
            pasted=text,
        )

    return [access_log, verify, proof_json, check]
