"""Lists across children: a Barnkontakt's cases, a family's children, an auditor's search."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller
from litestar.params import QueryParameter

from hub.errors import InvalidInputError
from hub.http.controllers._base import Caller, Hub, query
from hub.http.problems import problem_responses
from hub.http.schemas import AuditEntry, CaseRow, FamilyChild

Moment = Annotated[
    datetime | None, QueryParameter(description="An ISO 8601 time with its offset, e.g. 2026-03-01T00:00:00Z")
]


def _utc(value: datetime | None, field: str) -> datetime | None:
    """The access log keeps UTC; a time without an offset is ambiguous and refused."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidInputError("give the time with its offset, e.g. Z or +01:00", field=field)
    return value.astimezone(UTC)


class OversightController(Controller):
    path = "/"

    @query(
        "/case-list",
        summary="The Barnkontakt's or coordinator's cases, with what needs doing",
        tags=["cases"],
        responses=problem_responses(403),
    )
    def case_list(self, hub: Hub, caller: Caller) -> list[CaseRow]:
        return [CaseRow.model_validate(r) for r in hub.case_list(caller)]

    @query(
        "/me/children",
        summary="The children a guardian has custody of, or the child itself",
        tags=["family"],
        responses=problem_responses(403),
    )
    def my_children(self, hub: Hub, caller: Caller) -> list[FamilyChild]:
        return [FamilyChild.model_validate(c) for c in hub.family_children(caller)]

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
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[AuditEntry]:
        entries = hub.audit_search(
            caller,
            child_id=child_id,
            accessor_id=accessor_id,
            unit_id=unit_id,
            since=_utc(since, "since"),
            until=_utc(until, "until"),
            limit=limit,
            offset=offset,
        )
        return [AuditEntry.model_validate(e) for e in entries]
