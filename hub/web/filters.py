"""How the pages show days, moments and numbers: one set of Jinja filters.

Moments are kept in UTC; a person in Sweden reads them in Swedish time
(:data:`contracts.vocabulary.SWEDISH_TIME`), so a read at 00:30 on 2 March in Stockholm
shows as 2 March, never as the UTC day before. A short date is written as in Sweden,
``2026-03-02``; a long one names the month in the page's language. Numbers use the page's
language's decimal sign and grouping. In Swedish a moment reads "4 december 2026 kl. 14.05"
(the clock with a point, after "kl."), a count names its noun in the right number ("1
skattning", "3 skattningar"), and no page shows an ISO timestamp.

Each filter takes what the read models hold (``date``, ``datetime``, numbers). A record
item's fields are the fact's JSON values, so a day or moment among them arrives as its
ISO text and is read here, in this one place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine

from contracts.vocabulary import SWEDISH_TIME

DEFAULT_LANGUAGE = "sv"
ISO_DAY_LANGUAGES = frozenset({"sv", "en"})
"""The languages whose short day is written as in Sweden (2026-03-02)."""


def moment(value: datetime | str | None) -> datetime | None:
    """A moment in Swedish time; one so near the calendar's end that Swedish time would
    fall past it (a consent recorded as valid until 9999-12-31) is shown as recorded."""
    if value is None or value == "":
        return None
    found = datetime.fromisoformat(value) if isinstance(value, str) else value
    return _swedish(found)


def _swedish(found: datetime) -> datetime:
    try:
        return found.astimezone(SWEDISH_TIME)
    except OverflowError:
        return found


def day(value: date | datetime | str | None) -> date | None:
    """The Swedish calendar day of a moment, or the day itself."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime):
        return _swedish(value).date()
    return value


def format_day(value: date | datetime | str | None, style: str = "short", language: str = DEFAULT_LANGUAGE) -> str:
    """``short``: 2026-03-02; ``long``: 2 mars 2026 (2 March 2026). In the family pages'
    other languages a short day is the language's own middle form (Babel's ``medium``:
    ``02‏/03‏/2026`` in Arabic), unambiguous where its short form would not be."""
    found = day(value)
    if found is None:
        return ""
    if style == "short":
        return found.isoformat() if language in ISO_DAY_LANGUAGES else format_date(found, "medium", locale=language)
    return format_date(found, style, locale=language)


def format_moment(value: datetime | str | None, style: str = "short", language: str = DEFAULT_LANGUAGE) -> str:
    """In Swedish time: ``short`` 2026-03-02 kl. 14.05, ``long`` 2 mars 2026 kl. 14.05
    (in English 2026-03-02 14:05 and March 2, 2026 14:05)."""
    local = moment(value)
    if local is None:
        return ""
    if language == "sv":
        return f"{format_day(local.date(), style, language)} kl. {local:%H.%M}"
    clock = format_time(local.time(), "HH:mm", locale=language)
    return f"{format_day(local.date(), style, language)} {clock}"


def format_count(value: int, one: str, many: str, language: str = DEFAULT_LANGUAGE) -> str:
    """``one`` for exactly one, ``many`` otherwise (both already in the page's language),
    with ``{n}`` filled in as a number of the language: "1 skattning", "2 skattningar"."""
    return (one if value == 1 else many).format(n=format_number(value, language))


def format_number(value: float | int | None, language: str = DEFAULT_LANGUAGE, digits: int | None = None) -> str:
    """3,5 in Swedish, 3.5 in English, with the language's grouping (1 234); ``digits``
    fixes the decimals shown (3,0)."""
    if value is None:
        return ""
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=language)


def _language(context: Context) -> str:
    return str(context.get("lang") or DEFAULT_LANGUAGE)


@pass_context
def date_sv(context: Context, value: date | datetime | str | None, style: str = "short") -> str:
    return format_day(value, style, _language(context))


@pass_context
def datetime_sv(context: Context, value: datetime | str | None, style: str = "short") -> str:
    return format_moment(value, style, _language(context))


@pass_context
def number_sv(context: Context, value: float | int | None, digits: int | None = None) -> str:
    return format_number(value, _language(context), digits)


@pass_context
def plural(context: Context, value: int, one: str, many: str) -> str:
    """``{{ n|plural(t("{n} rating"), t("{n} ratings")) }}``: the catalogue words both forms."""
    return format_count(value, one, many, _language(context))


@pass_context
def person_name(context: Context, user_id: str | None) -> str:
    """A member of staff by name from the directory (``directory_staff`` of the page), never
    by user id; someone the directory does not know is "a member of staff"."""
    names = context.get("directory_staff") or {}
    return str(names.get(user_id or "") or context["t"]("a member of staff"))


@pass_context
def unit_name(context: Context, unit_id: str | None) -> str:
    """A unit by name from the directory (``directory_units`` of the page), never by id."""
    names = context.get("directory_units") or {}
    return str(names.get(unit_id or "") or context["t"]("another unit"))


def iso(value: date | datetime | str | None) -> str:
    """The machine-readable value for ``<time datetime="...">``."""
    if value is None or isinstance(value, str):
        return value or ""
    return value.isoformat()


FILTERS: dict[str, Callable[..., Any]] = {
    "date_sv": date_sv,
    "datetime_sv": datetime_sv,
    "number_sv": number_sv,
    "plural": plural,
    "person_name": person_name,
    "unit_name": unit_name,
    "iso": iso,
}
"""The filters every template has."""


def register(engine: JinjaTemplateEngine) -> None:
    """Give the pages' template engine the filters (Litestar calls this once, at start)."""
    engine.engine.filters.update(FILTERS)
