"""What an agency tells the hub about a webhook no receiver took, and about one delivered later.

When ``backa subscribe --post`` gives up on a delivery it writes it to its dead-letter file
at the agency and publishes a :class:`DeliveryFailed` on the hub's reports stream; when a
replay later delivers it, a :class:`DeliveryRecovered`. The cooperation area's
administrator sees them in the hub. A report names ids, the event type, a class of reason
and moments only: never the body, a person or free text, so nothing personal leaves the
agency. Subjects: ``backa.reports.<tenant>.<unit>.DeliveryFailed`` (or ``DeliveryRecovered``),
on their own stream, which no unit's consumer (``backa.v1.<tenant>.<unit>.>``) sees.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.notices import Published
from contracts.strict import Integer

REPORTS_STREAM = "BACKA_REPORTS"
REPORTS_SUBJECTS = "backa.reports.>"
UNIT_OR_AREA = r"^[A-Za-z0-9_-]{1,100}$"
REASON = r"^(HTTP [1-5][0-9]{2}|timeout|unreachable)$"
"""An HTTP status the receiver answered, or ``timeout`` or ``unreachable``: nothing more."""


class DeliveryReport(Published):
    """What every report carries: which delivery (its webhook and CloudEvent id), of what
    type, to which unit, after how many attempts, and when."""

    tenant_id: str = Field(pattern=UNIT_OR_AREA)
    unit_id: str = Field(pattern=UNIT_OR_AREA)
    message_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,200}$")
    event_type: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9.]{0,119}$")
    attempts: Integer = Field(ge=1, le=1_000_000)
    at: AwareDatetime


class DeliveryFailed(DeliveryReport):
    """The receiver did not take the delivery after the last attempt, or refused it: it is
    in the agency's dead-letter file until replayed."""

    report: Literal["delivery_failed"] = "delivery_failed"
    reason: str = Field(pattern=REASON)


class DeliveryRecovered(DeliveryReport):
    """A dead-lettered delivery was replayed and the receiver took it."""

    report: Literal["delivery_recovered"] = "delivery_recovered"


REPORT_TYPES: dict[str, type[DeliveryReport]] = {r.__name__: r for r in (DeliveryFailed, DeliveryRecovered)}
"""Every report, by the last token of its subject."""


def report_subject(report: DeliveryReport) -> str:
    return f"backa.reports.{report.tenant_id}.{report.unit_id}.{type(report).__name__}"


def report_msg_id(report: DeliveryReport) -> str:
    """The ``Nats-Msg-Id``: a report sent twice for the same delivery is stored once."""
    return f"{type(report).__name__}:{report.tenant_id}:{report.unit_id}:{report.message_id}:{report.attempts}"


__all__ = [
    "REPORTS_STREAM",
    "REPORTS_SUBJECTS",
    "REPORT_TYPES",
    "DeliveryFailed",
    "DeliveryRecovered",
    "DeliveryReport",
    "report_msg_id",
    "report_subject",
]
