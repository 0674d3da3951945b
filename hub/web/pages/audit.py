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
from hub.application.readmodels import FlaggedReads, ReviewSample
from hub.errors import InvalidInputError, NotPermittedError
from hub.identity.principals import Principal
from hub.web.app import Form, Web
from hub.web.session import Visitor

SAMPLE_SIZE = 20
MAX_SAMPLE = 200
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


def routes(web: Web) -> list[Any]:
    def auditor(request: Request[Any, Any, Any]) -> tuple[Visitor, Principal]:
        who = web.visitor(request)
        return who, _require_auditor(web, who.require(who.path))

    @get("/audit", sync_to_thread=True, include_in_schema=False)
    def search(request: Request[Any, Any, Any]) -> Template:
        """The search form; the log is searched only once the form is sent."""
        who, principal = auditor(request)
        values = _query(request, "child_id", "accessor_id", "unit_id", "since", "until")
        asked = any(values.values()) or "search" in request.query_params
        errors: dict[str, str] = {}
        child_id = None
        if values["child_id"]:
            try:
                child_id = UUID(values["child_id"])
            except ValueError:
                errors["child_id"] = who.t("A child's id looks like 3f2b…-…: 32 hexadecimal digits.")
        since, until = _period(values, errors, who.t)
        entries = None
        if asked and not errors:
            try:
                found = web.hub.audit_search(
                    principal, child_id=child_id, accessor_id=values["accessor_id"] or None,
                    unit_id=values["unit_id"] or None, since=since, until=until,
                )
            except InvalidInputError as e:
                errors.update({x["field"]: who.t(x["message"]) for x in e.errors if x.get("field")} or {"child_id": who.t(e.detail)})
            else:
                entries = found
        return web.render(
            who, "audit/search.html", status_code=422 if errors else 200, active="audit",
            values=values, errors=errors, entries=entries,
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
        sample: ReviewSample | None = None
        flagged: FlaggedReads | None = None
        if not errors:
            try:
                sample = web.hub.review_sample(principal, size=size, seed=seed, since=since, until=until)
                flagged = web.hub.flagged_accesses(principal, since=since, until=until)
            except InvalidInputError as e:
                errors[e.field or "since"] = who.t(e.detail)
        here = None
        if sample is not None:
            kept = {k: values[k] for k in ("since", "until") if values.get(k)}
            here = "/audit/review?" + urlencode({**kept, "size": size, "seed": sample.seed})
        return web.render(
            who, "audit/review.html", status_code=422 if errors else status_code, active="review",
            values={**values, "size": values.get("size") or str(size)}, errors=errors, sample=sample,
            flagged=flagged, here=here, outcomes=OUTCOMES, failed=failed or {},
        )

    @get("/audit/review", sync_to_thread=True, include_in_schema=False)
    def review(request: Request[Any, Any, Any]) -> Template:
        """A random sample of the period's reads and the reads the rules flag, each with a
        form for the finding. The sample's seed is kept in the page's address, so the same
        sample comes back after a finding is recorded."""
        who, principal = auditor(request)
        return _review_page(who, principal, _query(request, "since", "until", "size", "seed"))

    @post("/audit/reviews", sync_to_thread=True, include_in_schema=False)
    def record(request: Request[Any, Any, Any], data: Form) -> Redirect | Template:
        """Record a finding on one read, then show the review page again (once per form)."""
        who, principal = auditor(request)
        back = _one(data.get("back"))
        if not back.startswith("/audit/review?") or "//" in back or "\\" in back:
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
        return web.render(who, "audit/reviews.html", active="review", reviews=web.hub.review_outcomes(principal))

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
