"""Values taken as they are: a boolean is ``true`` or ``false``, a number is a number.

Pydantic's lax mode turns ``"yes"`` into ``True`` and ``"3"`` into ``3``, and a caller that
validates with ``strict=False`` (as Litestar does for request bodies) switches off
``StrictBool`` too. These types check the type before any conversion, whatever mode the
model is validated in, so a wrong type is refused and named instead of guessed at.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


Boolean = Annotated[bool, BeforeValidator(_boolean)]
Integer = Annotated[int, BeforeValidator(_integer)]
Number = Annotated[float, BeforeValidator(_number)]
