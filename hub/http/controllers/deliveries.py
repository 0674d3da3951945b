"""The webhooks the area's agencies could not hand over, for the area's administrator:
the same list as the page ``/administration/deliveries``, decided by the core."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller
from litestar.params import QueryParameter

from hub.http.controllers._base import Caller, Hub, query
from hub.http.problems import problem_responses
from hub.http.schemas import FailedDeliveryOut


class DeliveriesController(Controller):
    path = "/deliveries"

    @query(
        "/failed",
        summary="Webhooks an agency's receiver did not take (ids, types and reasons only), newest first",
        tags=["deliveries"],
        responses=problem_responses(403, 422),
    )
    def failed(
        self,
        hub: Hub,
        caller: Caller,
        unit: Annotated[str | None, QueryParameter(max_length=100, description="One unit's; all the area's when left out")] = None,
        shown: Annotated[
            str | None,
            QueryParameter(name="state", max_length=20, description="open (dead-lettered) or recovered (replayed); both when left out"),
        ] = None,
    ) -> list[FailedDeliveryOut]:
        rows = hub.failed_deliveries(caller, unit_id=unit, state=shown)
        return [
            FailedDeliveryOut(
                unit_id=r.unit_id, message_id=r.message_id, event_type=r.event_type, reason=r.reason,
                attempts=r.attempts, failed_at=r.failed_at, recovered_at=r.recovered_at, state=r.state.value,
            )
            for r in rows
        ]
