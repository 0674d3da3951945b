"""The auditors' pages (loggkontroll): search the access log, review a random sample and
the flagged reads, record findings, and check the tamper-evident log.

Every list comes from the core, which records a read of each child's access log it
shows; the pages only lay the entries out. Only auditors see these pages: anyone else
is answered with the refusal page.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request, get, post
from litestar.response import Redirect, Template

from contracts.bounds import EARLIEST, LATEST, day_in_window
from contracts.vocabulary import SWEDISH_TIME, ReviewOutcome
from hub.application import Action
from hub.application.proofs import log_status
from hub.application.readmodels import AuditEntry, FlaggedReads, ReviewSample
from hub.errors import InvalidInputError, NotPermittedError
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.pages.family_log import KNOWN_VIEWS
from hub.web.session import Visitor

SAMPLE_SIZE = 20
MAX_SAMPLE = 200
PAGE_SIZE = 25
"""Reads per page of a search or of the flagged reads: a page is read, not scrolled."""
MAX_PAGE = 10_000
OUTCOMES = tuple(o.value for o in ReviewOutcome)


def _require_auditor(web: Any, principal: Principal) -> Principal:
    """The audit pages are offered to whom the permission policy lets search the access log."""
    if not web.hub.may(principal, Action.SEARCH_ACCESS_LOG):
        raise NotPermittedError("only an auditor may use the audit pages")
    return principal


def _one(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return value.strip() if isinstance(value, str) else ""


def _day_start(text: str, field: str, errors: dict[str, str], t: Callable[..., str]) -> datetime | None:
    """The start of a day in Swedish time, from ``YYYY-MM-DD``."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[field] = t("Give the date as YYYY-MM-DD.")
        return None
    if not day_in_window(day):
        errors[field] = t("Give a date between {first} and {last}.", first=EARLIEST.isoformat(), last=LATEST.isoformat())
        return None
    return datetime.combine(day, time(0), SWEDISH_TIME)


def _period(query: dict[str, str], errors: dict[str, str], t: Callable[..., str]) -> tuple[datetime | None, datetime | None]:
    """From the start of the first day to the end of the last, both in Swedish time."""
    since = _day_start(query.get("since", ""), "since", errors, t)
    last = _day_start(query.get("until", ""), "until", errors, t)
    until = last + timedelta(days=1) if last is not None else None
    if since is not None and until is not None and since >= until:
        errors["until"] = t("The last day must not be before the first.")
    return since, until


def _query(request: Request[Any, Any, Any], *names: str) -> dict[str, str]:
    return {name: (request.query_params.get(name) or "").strip() for name in names}


def _page_number(text: str, field: str, errors: dict[str, str], t: Callable[..., str]) -> int:
    if not text:
        return 1
    if text.isdigit() and 1 <= int(text) <= MAX_PAGE:
        return int(text)
    errors[field] = t("Give a page number from 1 to {most}.", most=MAX_PAGE)
    return 1


class Names:
    """People and units by name from the directory, children by the names the core gave:
    what an auditor reads instead of user ids and pseudonymous ids."""

    def __init__(self, web: Web, principal: Principal, t: Callable[..., str], children: dict[UUID, str] | None = None) -> None:
        tenant = web.hub.directory.tenants.get(principal.tenant_id)
        # people who left and units that closed are still named in the access log
        self.staff = {**tenant.former_staff, **tenant.staff} if tenant else {}
        self.units = {u: unit.name for u, unit in {**tenant.former_units, **tenant.units}.items()} if tenant else {}
        self.t = t
        self.children = children or {}

    def person(self, user_id: str, role: str) -> str:
        """"Karin Holm, BVC-sjuksköterska"; a guardian or a child by their role only."""
        staff = self.staff.get(user_id)
        if staff is None:
            return self.t("role:" + role)
        return f"{staff.name}, {staff.title}" if staff.title else staff.name

    def unit(self, unit_id: str | None) -> str:
        return self.units.get(unit_id, "") if unit_id else ""

    def child(self, child_id: UUID) -> str:
        return self.children.get(child_id) or self.t("A child whose name is not shown")

    def staff_choices(self) -> list[tuple[str, str]]:
        return sorted(
            ((s.user_id, f"{s.name}, {self.units.get(s.unit_id or '', self.t('No unit'))}") for s in self.staff.values()),
            key=lambda c: c[1],
        )

    def unit_choices(self) -> list[tuple[str, str]]:
        return sorted(self.units.items(), key=lambda c: c[1])


def _named(web: Web, principal: Principal, t: Callable[..., str], entries: list[Any]) -> Names:
    ids = list(dict.fromkeys(e.child_id for e in entries))
    return Names(web, principal, t, web.hub.child_names(principal, ids) if ids else {})


def _paged_url(path: str, values: dict[str, str], **changed: Any) -> str:
    kept = {k: v for k, v in {**values, **{k: str(v) for k, v in changed.items()}}.items() if v}
    return path + "?" + urlencode(kept)


def routes(web: Web) -> list[Any]:
    def auditor(request: Request[Any, Any, Any]) -> tuple[Visitor, Principal]:
        who = web.visitor(request)
        return who, _require_auditor(web, who.require(who.path))

    @get("/audit", sync_to_thread=True, include_in_schema=False)
    def search(request: Request[Any, Any, Any]) -> Template:
        """The search form; the log is searched only once the form is sent. A child is
        found by name or personnummer (the lookup is itself recorded); several children
        of that name are offered to choose from. One page of reads at a time."""
        who, principal = auditor(request)
        values = _query(request, "child", "child_id", "accessor_id", "unit_id", "since", "until", "page", "search")
        asked = any(v for k, v in values.items() if k != "page")
        errors: dict[str, str] = {}
        names = Names(web, principal, who.t)
        child_id = None
        choices = None
        if values["child_id"]:
            try:
                child_id = UUID(values["child_id"])
            except ValueError:
                errors["child"] = who.t("Choose the child again from the search.")
        elif values["child"]:
            try:
                found = web.hub.find_children(principal, values["child"])
            except InvalidInputError:
                errors["child"] = who.t("Give a name, or a personnummer with its check digit (YYYYMMDD-NNNN).")
            else:
                if not found:
                    errors["child"] = who.t("No child in the cooperation area has that name or personnummer.")
                elif len(found) == 1:
                    child_id = found[0].child_id
                    values["child_id"] = str(child_id)  # the next pages ask for the child found, not the search again
                else:
                    choices = [
                        {"name": m.name, "born": m.birth_date,
                         "href": _paged_url("/audit", {**values, "page": ""}, child_id=m.child_id, child=m.name)}
                        for m in found
                    ]
        if values["accessor_id"] and values["accessor_id"] not in names.staff:
            errors["accessor_id"] = who.t("Choose a person from the list.")
        if values["unit_id"] and values["unit_id"] not in names.units:
            errors["unit_id"] = who.t("Choose a unit from the list.")
        page_no = _page_number(values["page"], "page", errors, who.t)
        since, until = _period(values, errors, who.t)
        entries: list[AuditEntry] | None = None
        more = False
        if asked and not errors and choices is None:
            found_entries = web.hub.audit_search(
                principal, child_id=child_id, accessor_id=values["accessor_id"] or None,
                unit_id=values["unit_id"] or None, since=since, until=until,
                limit=PAGE_SIZE + 1, offset=(page_no - 1) * PAGE_SIZE, names=True,
            )
            more = len(found_entries) > PAGE_SIZE
            entries = found_entries[:PAGE_SIZE]
            names = _named(web, principal, who.t, entries)
            if child_id is not None and not values["child"]:
                values["child"] = names.children.get(child_id, "")
        shown = {**values, "search": "1"}
        return web.render(
            who, "audit/search.html", status_code=422 if errors else 200, active="audit",
            values=values, errors=errors, entries=entries, names=names, choices=choices, page=page_no, known_views=KNOWN_VIEWS,
            first=(page_no - 1) * PAGE_SIZE + 1,
            previous=_paged_url("/audit", shown, page=page_no - 1) if entries is not None and page_no > 1 else None,
            next=_paged_url("/audit", shown, page=page_no + 1) if more else None,
        )

    def _review_page(who: Visitor, principal: Principal, values: dict[str, str], *, status_code: int = 200,
                     failed: dict[str, Any] | None = None) -> Template:
        errors: dict[str, str] = {}
        since, until = _period(values, errors, who.t)
        size = SAMPLE_SIZE
        if values.get("size"):
            try:
                size = int(values["size"])
                if not 1 <= size <= MAX_SAMPLE:
                    raise ValueError
            except ValueError:
                errors["size"] = who.t("Give a number from 1 to {most}.", most=MAX_SAMPLE)
        seed = None
        if values.get("seed"):
            try:
                seed = int(values["seed"])
                if not 0 <= seed < 2**63:
                    raise ValueError
            except ValueError:
                errors["seed"] = who.t("The seed is a whole number, as a sample gave it.")
        flagged_page = _page_number(values.get("flagged_page", ""), "flagged_page", errors, who.t)
        sample: ReviewSample | None = None
        flagged: FlaggedReads | None = None
        if not errors:
            try:
                sample = web.hub.review_sample(principal, size=size, seed=seed, since=since, until=until, names=True)
                flagged = web.hub.flagged_accesses(
                    principal, since=since, until=until, limit=PAGE_SIZE, offset=(flagged_page - 1) * PAGE_SIZE, names=True
                )
            except InvalidInputError as e:
                errors[e.field or "since"] = who.t(e.detail)
        here = None
        pages: dict[str, str | None] = {"previous": None, "next": None}
        if sample is not None and flagged is not None:
            kept = {k: values[k] for k in ("since", "until") if values.get(k)}
            base = {**kept, "size": str(size), "seed": str(sample.seed)}
            here = _paged_url("/audit/review", base, flagged_page=flagged_page if flagged_page > 1 else "")
            if flagged_page > 1:
                pages["previous"] = _paged_url("/audit/review", base, flagged_page=flagged_page - 1) + "#flagged-heading"
            if flagged_page * PAGE_SIZE < flagged.total:
                pages["next"] = _paged_url("/audit/review", base, flagged_page=flagged_page + 1) + "#flagged-heading"
        shown = [*(sample.entries if sample else []), *(flagged.entries if flagged else [])]
        return web.render(
            who, "audit/review.html", status_code=422 if errors else status_code, active="review",
            values={**values, "size": values.get("size") or str(size)}, errors=errors, sample=sample,
            flagged=flagged, here=here, outcomes=OUTCOMES, failed=failed or {}, names=_named(web, principal, who.t, shown),
            pages=pages, flagged_first=(flagged_page - 1) * PAGE_SIZE + 1, known_views=KNOWN_VIEWS,
        )

    @get("/audit/review", sync_to_thread=True, include_in_schema=False)
    def review(request: Request[Any, Any, Any]) -> Template:
        """A random sample of the period's reads and the reads the rules flag, each with a
        form for the finding. The sample's seed is kept in the page's address, so the same
        sample comes back after a finding is recorded."""
        who, principal = auditor(request)
        return _review_page(who, principal, _query(request, "since", "until", "size", "seed", "flagged_page"))

    @post("/audit/reviews", sync_to_thread=True, include_in_schema=False)
    def record(request: Request[Any, Any, Any], data: Form) -> Redirect | Template:
        """Record a finding on one read, then show the review page again (once per form)."""
        who, principal = auditor(request)
        back = _one(data.get("back"))
        if not back.startswith("/audit/review?") or "//" in back or "\\" in back or "#" in back:
            back = "/audit/review"
        entered = {
            "child_id": _one(data.get("child_id")),
            "access_event_id": _one(data.get("access_event_id")),
            "outcome": _one(data.get("outcome")),
            "note": _one(data.get("note")),
        }

        def act() -> str:
            if entered["outcome"] not in OUTCOMES:
                raise InvalidInputError("choose what the review found", field="outcome")
            try:
                child_id, read_id = UUID(entered["child_id"]), UUID(entered["access_event_id"])
            except ValueError:
                raise InvalidInputError("no read with this id in the access log for this child", field="access_event_id") from None
            web.hub.record_review(
                principal, child_id, access_event_ids=[read_id], outcome=entered["outcome"], note=entered["note"]
            )
            return back + ("&" if "?" in back else "?") + "recorded=" + entered["access_event_id"]

        try:
            return web.act(who, data, act)
        except InvalidInputError as e:
            errors = {x["field"]: who.t(x["message"]) for x in e.errors if x.get("field")}
            if not errors:
                errors = {"outcome": who.t(e.detail)}
            if "access_event_ids[0]" in errors:
                errors["access_event_id"] = errors.pop("access_event_ids[0]")
            return web.render(
                who, "audit/review_form.html", status_code=422, active="review",
                entered=entered, errors=errors, back=back, outcomes=OUTCOMES,
            )

    @get("/audit/reviews", sync_to_thread=True, include_in_schema=False)
    def reviews(request: Request[Any, Any, Any]) -> Template:
        """The findings recorded in the cooperation area, newest last as the log holds them."""
        who, principal = auditor(request)
        errors: dict[str, str] = {}
        page_no = _page_number((request.query_params.get("page") or "").strip(), "page", errors, who.t)
        found = web.hub.review_outcomes(principal, limit=PAGE_SIZE + 1, offset=(page_no - 1) * PAGE_SIZE, names=True)
        shown = found[:PAGE_SIZE]
        return web.render(
            who, "audit/reviews.html", active="review", reviews=shown, names=_named(web, principal, who.t, shown),
            previous=f"/audit/reviews?page={page_no - 1}" if page_no > 1 else None,
            next=f"/audit/reviews?page={page_no + 1}" if len(found) > PAGE_SIZE else None,
        )

    @get("/audit/checkpoint", sync_to_thread=True, include_in_schema=False)
    def checkpoint(request: Request[Any, Any, Any]) -> Template:
        """The latest signed checkpoint, and whether the log as stored now still hashes to
        its root: computed from the stored records, not taken from the tree in memory, and
        incrementally (each visit reads what was stored since the last; the same checkpoint
        is answered from a cache; see :class:`hub.tlog.verify.CachedAudit`). Sizes and
        hashes of the whole log, shared by every cooperation area of the hub."""
        who, principal = auditor(request)
        status = log_status(web.hub, principal)
        context: dict[str, Any] = {
            "kept": status.kept, "latest": None, "origin": status.origin, "verifier_key": status.verifier_key,
        }
        if status.problem:
            context["problem"] = status.problem
        latest, verdict = status.latest, status.verdict
        if latest is not None and verdict is not None:
            context["latest"] = {
                "size": latest.size,
                "root": base64.b64encode(latest.root_hash).decode("ascii"),
                "signed_at": latest.signed_at,
                "note": latest.note,
            }
            context.update(verifies=verdict.verifies, reason=verdict.mismatch.value if verdict.mismatch else None,
                           stored=verdict.stored)
        return web.render(who, "audit/checkpoint.html", active="checkpoint", **context)

    return [search, review, record, reviews, checkpoint]
