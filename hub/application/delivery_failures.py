"""The webhooks no receiver took, as the cooperation area's administrator sees them.

An agency's ``backa subscribe --post`` reports each delivery it dead-lettered, and each
one a replay later delivered (:mod:`contracts.delivery_reports`); the relay keeps them in
the hub's store, one row per unit and message id. The administrator lists them for their
own area only (:data:`~consent.permissions.Action.READ_DELIVERY_FAILURES`, decided here,
in the core). A row holds ids, a type, a class of reason and moments: nothing of a child.
"""

from __future__ import annotations

import re

from consent.permissions import Action, Target
from hub.application.core import HubCore, traced
from hub.errors import InvalidInputError
from hub.identity.principals import Principal
from hub.runtime.delivery_failure_store import DeliveryFailureStore, DeliveryState, FailedDelivery

UNIT = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class DeliveryFailures(HubCore):
    """The administrator's list of failed deliveries."""

    @traced("read")
    def failed_deliveries(self, p: Principal, *, unit_id: str | None = None, state: str | None = None) -> list[FailedDelivery]:
        """The failed deliveries of the caller's area (of one unit; open or recovered only)."""
        self._permit(p, Action.READ_DELIVERY_FAILURES, target=Target(tenant_id=p.tenant_id))
        if unit_id is not None and not UNIT.match(unit_id):
            raise InvalidInputError("unit: a unit id is letters, digits, '-' and '_'", field="unit")
        chosen = None
        if state is not None:
            try:
                chosen = DeliveryState(state)
            except ValueError:
                raise InvalidInputError("state: open or recovered", field="state") from None
        return self.delivery_failures.list(p.tenant_id, unit_id, chosen)


__all__ = ["DeliveryFailureStore", "DeliveryFailures", "DeliveryState", "FailedDelivery"]
