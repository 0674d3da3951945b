"""Leveranser som inte gick fram: the webhooks the area's agencies could not hand over to
their own systems, for the area's administrator, linked from the administration page.

The rows are the core's (``hub.failed_deliveries``), which asks the permission policy
(the area's administrator, of their own area) and checks the filter; the page lays them
out. Each row is what the agency reported: ids, a type, a reason and moments, nothing of
a child. The same list is ``/api/v1/deliveries/failed`` with the same query.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import QueryParameter
from litestar.response import Template

from hub.web.app import Web

PATH = "/administration/deliveries"


def routes(web: Web) -> list[Any]:
    @get(PATH, sync_to_thread=True)
    def failed_deliveries(
        request: Request[Any, Any, Any],
        unit: Annotated[str | None, QueryParameter(max_length=100)] = None,
        shown: Annotated[str | None, QueryParameter(name="state", max_length=20)] = None,
    ) -> Template:
        who = web.visitor(request)
        p = who.require(who.path)
        rows = web.hub.failed_deliveries(p, unit_id=unit or None, state=shown or None)
        tenant = web.hub.directory.tenants.get(p.tenant_id)
        units = sorted(tenant.units) if tenant is not None else []
        return web.render(
            who, "deliveries/failed.html", active="administration", rows=rows, units=units, unit=unit or "", state=shown or "",
        )

    return [failed_deliveries]
