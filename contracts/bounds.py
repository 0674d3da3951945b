"""Days, moments and whole numbers within what the hub can store and compute with.

Python's dates end at 9999-12-31: a consent valid until then cannot be shown in Swedish
time (one hour later is year 10000), and a whole number past 2**63 - 1 does not fit a
SQLite ``INTEGER`` or a PostgreSQL ``bigint``. Input outside these bounds is refused and
named at the edge (OWASP ASVS 4.0 V5.1.4: structured data checked against a defined
range), so no later step meets a value it cannot handle. Stored facts are not bounded
here: what is already recorded is shown as it is.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
"""The window every day and moment given to the hub must fall in: wide enough for any
child's life and any plan, far enough from the calendar's ends that adding years or
changing time zone never overflows."""

MAX_BIGINT = 2**63 - 1
"""The largest whole number the stores keep (SQLite ``INTEGER``, PostgreSQL ``bigint``)."""

OUTSIDE_WINDOW = f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}"


def day_in_window(value: date) -> bool:
    """Whether a day (or a moment's own calendar day) lies in the window."""
    found = value.date() if isinstance(value, datetime) else value
    return EARLIEST <= found <= LATEST


def _day(value: date) -> date:
    if not day_in_window(value):
        raise ValueError(OUTSIDE_WINDOW)
    return value


def _moment(value: datetime) -> datetime:
    if not day_in_window(value):
        raise ValueError(OUTSIDE_WINDOW)
    return value


Day = Annotated[date, AfterValidator(_day)]
"""A calendar day within the window."""
Moment = Annotated[AwareDatetime, AfterValidator(_moment)]
"""A moment with its offset, within the window."""


__all__ = ["EARLIEST", "LATEST", "MAX_BIGINT", "OUTSIDE_WINDOW", "Day", "Moment", "day_in_window"]
