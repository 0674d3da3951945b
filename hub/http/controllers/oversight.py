"""Lists across children: a Barnkontakt's cases, a family's children, an auditor's search,
review samples, flagged reads and review findings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller
from litestar.params import JSONBody, QueryParameter

from contracts.bounds import MAX_BIGINT, OUTSIDE_WINDOW, day_in_window
from hub.application.commands import RecordReview
from hub.application.readmodels import AuditEntry, CaseRow, CaseScope, FamilyChild, FlaggedReads, ReviewOut, ReviewSample
from hub.application.review_rules import RuleCode
from hub.errors import InvalidInputError
from hub.http.controllers._base import Caller, Hub, command, query
from hub.http.problems import problem_responses
from hub.http.schemas import ReviewRecorded

Moment = Annotated[
    datetime | None, QueryParameter(description="An ISO 8601 time with its offset, e.g. 2026-03-01T00:00:00Z")
]


def _utc(value: datetime | None, field: str) -> datetime | None:
    """The access log keeps UTC; a time without an offset is ambiguous and refused, and
    one outside the hub's window (:mod:`contracts.bounds`) is refused before it is converted."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInputError("give the time with its offset, e.g. Z or +01:00", field=field)
    if not day_in_window(value):
        raise InvalidInputError(f"the time {OUTSIDE_WINDOW}", field=field)
    return value.astimezone(UTC)


class OversightController(Controller):
    path = "/"

    @query(
        "/case-list",
        summary="The Barnkontakt's or coordinator's cases, with what needs doing",
        tags=["cases"],
        responses=problem_responses(403),
    )
    def case_list(
        self,
        hub: Hub,
        caller: Caller,
        whose: Annotated[
            CaseScope, QueryParameter(name="scope", description='"mine" (Mina barn) or "unit" (Min enhets barn)')
        ] = CaseScope.UNIT,
        q: Annotated[str, QueryParameter(max_length=100, description="A name or personnummer to search for")] = "",
    ) -> list[CaseRow]:
        return hub.case_list(caller, scope=whose, query=q)

    @query(
        "/me/children",
        summary="The children a guardian has custody of, or the child itself",
        tags=["family"],
        responses=problem_responses(403),
    )
    def my_children(self, hub: Hub, caller: Caller) -> list[FamilyChild]:
        return hub.family_children(caller)

    @query("/audit/access-log", summary="Search the access log (auditors)", tags=["audit"], responses=problem_responses(403, 422))
    def audit_search(
        self,
        hub: Hub,
        caller: Caller,
        child_id: Annotated[UUID | None, QueryParameter()] = None,
        accessor_id: Annotated[str | None, QueryParameter(min_length=1, max_length=100)] = None,
        unit_id: Annotated[str | None, QueryParameter(min_length=1, max_length=100)] = None,
        since: Moment = None,
        until: Moment = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_BIGINT)] = 0,
    ) -> list[AuditEntry]:
        return hub.audit_search(
            caller,
            child_id=child_id,
            accessor_id=accessor_id,
            unit_id=unit_id,
            since=_utc(since, "since"),
            until=_utc(until, "until"),
            limit=limit,
            offset=offset,
        )

    @query(
        "/audit/review-sample",
        summary="A random sample of reads in a period for review, reproducible by its seed (auditors)",
        tags=["audit"],
        responses=problem_responses(403, 422),
    )
    def review_sample(
        self,
        hub: Hub,
        caller: Caller,
        size: Annotated[int, QueryParameter(ge=1, le=1000)] = 20,
        seed: Annotated[int | None, QueryParameter(ge=0, le=MAX_BIGINT)] = None,
        since: Moment = None,
        until: Moment = None,
    ) -> ReviewSample:
        return hub.review_sample(caller, size=size, seed=seed, since=_utc(since, "since"), until=_utc(until, "until"))

    @query(
        "/audit/flagged",
        summary="Reads in a period that the review rules flag, each with its rules (auditors)",
        tags=["audit"],
        responses=problem_responses(403, 422),
    )
    def flagged(
        self,
        hub: Hub,
        caller: Caller,
        since: Moment = None,
        until: Moment = None,
        rules: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                description="Comma-separated rule codes (" + ", ".join(c.value for c in RuleCode) + "); "
                "all when left out, none when empty",
            ),
        ] = None,
    ) -> FlaggedReads:
        return hub.flagged_accesses(caller, since=_utc(since, "since"), until=_utc(until, "until"), rules=_rules(rules))

    @command(
        "/audit/reviews",
        summary="Record an auditor's finding on reads of one child (auditors)",
        tags=["audit"],
        responses=problem_responses(403, 404, 422),
    )
    def record_review(self, hub: Hub, caller: Caller, data: JSONBody[RecordReview]) -> ReviewRecorded:
        review_id = hub.record_review(
            caller, data.child_id, access_event_ids=data.access_event_ids, outcome=data.outcome, note=data.note
        )
        return ReviewRecorded(review_id=review_id, child_id=data.child_id)

    @query("/audit/reviews", summary="The auditors' findings (auditors)", tags=["audit"], responses=problem_responses(403, 422))
    def reviews(
        self,
        hub: Hub,
        caller: Caller,
        child_id: Annotated[UUID | None, QueryParameter()] = None,
        since: Moment = None,
        until: Moment = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
        offset: Annotated[int, QueryParameter(ge=0, le=MAX_BIGINT)] = 0,
    ) -> list[ReviewOut]:
        return hub.review_outcomes(
            caller, child_id=child_id, since=_utc(since, "since"), until=_utc(until, "until"), limit=limit, offset=offset
        )


def _rules(value: str | None) -> list[RuleCode] | None:
    """Rule codes from a comma-separated list; an unknown code is refused, naming the parameter."""
    if value is None:
        return None
    codes = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            codes.append(RuleCode(part))
        except ValueError:
            raise InvalidInputError("unknown rule code", field="rules") from None
    return codes
