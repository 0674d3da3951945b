"""The agency's side of the delivery reports (:mod:`contracts.delivery_reports`): when a
signed webhook is dead-lettered, or a replay delivers it, a small report goes to the hub
over the subscriber's own NATS connection, so the area's administrator learns of it.

A report carries the delivery's id and type, the unit and tenant, a class of reason, the
attempts and the moment; never the body. Publishing has a deadline, and a report that
cannot be published is logged by the error's type and given up: the delivery itself is
already safe in the dead-letter file, and the report never holds it up. JetStream's
duplicate window (the ``Nats-Msg-Id``) and the hub's key keep a report sent twice single.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from adapters.nats_link import StreamSettings
from contracts.delivery_reports import (
    REPORTS_STREAM,
    REPORTS_SUBJECTS,
    DeliveryFailed,
    DeliveryRecovered,
    DeliveryReport,
    report_msg_id,
    report_subject,
)

log = logging.getLogger("backa.reports")

TIMEOUT_NAMES = ("Timeout", "TimedOut")


def reason_class(reason: str) -> str:
    """The reason as the report carries it: ``HTTP nnn``, ``timeout`` or ``unreachable``."""
    if reason.startswith("HTTP ") and reason[5:].isascii() and reason[5:].isdigit() and len(reason) == 8:
        return reason
    if any(name in reason for name in TIMEOUT_NAMES):
        return "timeout"
    return "unreachable"


def tenant_of(source: str) -> str:
    """The tenant of a CloudEvent's source (``urn:backa:hub:<tenant>``)."""
    return source.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class ReportStreamSettings(StreamSettings):
    """The reports' own stream, apart from the deliveries; made by the hub's relay."""

    name: str = REPORTS_STREAM
    subjects: tuple[str, ...] = (REPORTS_SUBJECTS,)
    max_age: float = 7 * 24 * 3600

    def config(self) -> StreamConfig:
        config = super().config()
        config.description = "Backa barnet: agencies' reports of webhooks no receiver took (ids and reasons only)"
        return config


class DeliveryReporter:
    """Publishes the reports of one unit; ``js`` is the connection of the moment (the
    subscriber's), which may be away."""

    def __init__(self, unit_id: str, js: Callable[[], JetStreamContext], *, timeout: float = 2.0) -> None:
        self.unit_id = unit_id
        self.js = js
        self.timeout = timeout
        self.published = 0
        self.failed = 0

    async def failed_delivery(self, *, tenant_id: str, message_id: str, event_type: str, reason: str, attempts: int, at: datetime) -> None:
        await self._publish(
            lambda: DeliveryFailed(
                tenant_id=tenant_id, unit_id=self.unit_id, message_id=message_id, event_type=event_type,
                reason=reason_class(reason), attempts=attempts, at=at,
            )
        )

    async def recovered(self, *, tenant_id: str, message_id: str, event_type: str, attempts: int, at: datetime) -> None:
        await self._publish(
            lambda: DeliveryRecovered(
                tenant_id=tenant_id, unit_id=self.unit_id, message_id=message_id, event_type=event_type, attempts=attempts, at=at
            )
        )

    async def _publish(self, make: Callable[[], DeliveryReport]) -> None:
        try:
            report = make()
            await self.js().publish(
                report_subject(report), report.model_dump_json().encode(), timeout=self.timeout,
                stream=REPORTS_STREAM, headers={"Nats-Msg-Id": report_msg_id(report)},
            )
        except Exception as e:  # noqa: BLE001 - the delivery is safe in the dead-letter file whatever happens here
            self.failed += 1
            log.warning("a delivery report for unit %s could not be published: %s", self.unit_id, type(e).__name__)
            return
        self.published += 1


__all__ = ["DeliveryReporter", "ReportStreamSettings", "reason_class", "tenant_of"]
