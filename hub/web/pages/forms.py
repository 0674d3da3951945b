"""Reading a page's form and showing the core's refusals next to its fields: what every
page with a form shares.

A form that the core refuses as invalid is shown again with status 422, the problems
next to their fields and everything typed kept; a refusal of the person (no basis, not
the Barnkontakt) is the shared error page instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from hub.errors import HubError, InvalidInputError, UnknownStaffError, UnknownUnitError
from hub.web.session import Visitor

FIELD_PROBLEMS = (InvalidInputError, UnknownUnitError, UnknownStaffError)
"""The core's refusals that belong next to a field of the form."""


def one(form: dict[str, Any], name: str) -> str:
    """A single value of the form, stripped (the first if the field came more than once)."""
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).strip() if value is not None else ""


def many(form: dict[str, Any], name: str) -> list[str]:
    """Every value of a repeated field (ticked boxes), in order, each once."""
    value = form.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return list(dict.fromkeys(str(v) for v in values if str(v).strip()))


def yes_no(form: dict[str, Any], name: str) -> bool | None:
    value = one(form, name)
    return True if value == "yes" else False if value == "no" else None


@dataclass
class Problems:
    """Field-level problems of one form, in the visitor's language, by form field."""

    who: Visitor
    by_field: dict[str, str]

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, self.who.t(message))

    def __bool__(self) -> bool:
        return bool(self.by_field)


def problems_from(who: Visitor, error: HubError, to_field: Callable[[str], str]) -> Problems:
    """The core's refusal as problems next to the form's fields."""
    found = Problems(who, {})
    errors = getattr(error, "errors", None) or [{"field": error.field or "form", "message": error.detail}]
    for e in errors:
        found.add(to_field(str(e.get("field") or "form")), str(e.get("message") or error.detail))
    return found


def same_field(names: tuple[str, ...]) -> Callable[[str], str]:
    def to_field(core_field: str) -> str:
        head = core_field.split(".", 1)[0].split("[", 1)[0]
        return head if head in names else "form"

    return to_field


def uuid_or_none(value: str | None) -> UUID | None:
    """An id typed into a form or a query, if it is one."""
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


__all__ = ["FIELD_PROBLEMS", "Problems", "many", "one", "problems_from", "same_field", "uuid_or_none", "yes_no"]
