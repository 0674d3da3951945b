"""Wiring the delivery reports' intake (:mod:`adapters.report_intake`) to the hub's store:
the composition root's part. ``backa relay`` runs it beside the relay.

A report is kept only for a unit of the area it names, as the directory has it now: an
agency cannot file reports into another area, nor for a unit the area does not have.
"""

from __future__ import annotations

from typing import Any

from adapters.report_intake import RefusedReport, ReportIntake
from contracts.delivery_reports import DeliveryFailed, DeliveryReport
from hub.identity.directory import Directory
from hub.runtime.bootstrap import Runtime
from hub.runtime.delivery_failure_store import DeliveryFailureStore
from hub.runtime.relay_root import RelayConfigError, RelayRoot


class ReportKeeper:
    """Keeps each report of a unit of its own area in the store."""

    def __init__(self, store: DeliveryFailureStore, directory: Directory | Any) -> None:
        self.store = store
        self.directory = directory

    def __call__(self, report: DeliveryReport) -> None:
        tenant = self.directory.tenants.get(report.tenant_id)
        if tenant is None or report.unit_id not in tenant.units:
            raise RefusedReport("the unit is not one of the area the report names")
        if isinstance(report, DeliveryFailed):
            self.store.failed(report)
        else:
            self.store.recovered(report)

    def close(self) -> None:
        self.store.close()


def build_report_intake(root: RelayRoot | Runtime, *, nats_url: str | None = None, **options: Any) -> tuple[ReportIntake, ReportKeeper]:
    """The intake on the relay's root (or a hub built in this process) and the keeper the
    caller closes after it."""
    if isinstance(root, Runtime):
        root = RelayRoot.of(root)
    url = nats_url or root.settings.nats_url
    if not url:
        raise RelayConfigError("no NATS URL: set BACKA_NATS_URL or pass --nats")
    keeper = ReportKeeper(root.kit.delivery_failure_store(), root.directory)
    return ReportIntake(nats_url=url, record=keeper, **options), keeper


__all__ = ["ReportKeeper", "build_report_intake"]
