"""Request bodies read as strict JSON, once for the whole API.

Litestar reads any body as JSON whatever its ``Content-Type``, lets the last of two equal
keys win, and recurses as deep as the body nests (100,000 levels end in a
``RecursionError``). The API's requests use :class:`StrictJsonRequest` instead, which:

- takes only ``application/json`` and ``application/*+json`` (RFC 8259 §11, RFC 6839 §3.1),
  in UTF-8 (RFC 8259 §8.1), and answers anything else 415;
- refuses an object that names a key twice (RFC 8259 §4 leaves it to the receiver;
  guessing which one was meant is how two parsers come to disagree);
- refuses nesting deeper than :data:`MAX_DEPTH`, the constants ``NaN`` and ``Infinity``,
  and text no store can keep (a NUL, an unpaired surrogate).

Each refusal is a :class:`BodyRefusedError`, which :mod:`hub.http.problems` answers as
problem details naming the field (OWASP ASVS 4.0 V5.1.1, V13.1.5).
"""

from __future__ import annotations

import json
import re
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException
from litestar.types import Empty

MAX_DEPTH = 32
"""Objects and arrays nested at most this deep; the deepest request body has 4 levels."""

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_UTF8 = ("utf-8", "utf8")


TITLES = {
    "unsupported-media-type": "Unsupported media type",
    "malformed-json": "Malformed JSON",
    "duplicate-key": "Duplicate key in JSON",
    "too-deep": "JSON nested too deeply",
    "body-too-slow": "Request body too slow",
}


class BodyRefusedError(ClientException):
    """A body the API does not read: ``field`` names what is wrong, ``kind`` the problem type."""

    def __init__(self, status_code: int, kind: str, field: str, detail: str) -> None:
        super().__init__(detail=detail, status_code=status_code)
        self.kind = kind
        self.field = field
        self.title = TITLES[kind]


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKeyError(key)
        found[key] = value
    return found


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_shape(value: Any) -> None:
    """Depth and text of the parsed body, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not _storable(item):
                raise BodyRefusedError(400, "malformed-json", "body", "the body holds text that is not valid Unicode")
            continue
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise BodyRefusedError(400, "too-deep", "body", f"the body may nest objects and arrays at most {MAX_DEPTH} deep")
        stack.extend((child, depth + 1) for child in children)


def check_media_type(media_type: str, options: dict[str, str]) -> None:
    """Only JSON, in UTF-8; anything else is 415 (RFC 9110 §15.5.16)."""
    kind = media_type.strip().lower()
    json_like = kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))
    charset = options.get("charset", "utf-8").strip().strip('"').lower()
    if not json_like or charset not in _UTF8:
        raise BodyRefusedError(415, "unsupported-media-type", "Content-Type", "send the body as application/json in UTF-8")


def parse(body: bytes) -> Any:
    """The body as JSON, strictly: UTF-8, every key once, at most :data:`MAX_DEPTH` deep."""
    try:
        text = body.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except _DuplicateKeyError as e:
        # a key is named only if it looks like a field's name: a key may carry personal data too
        plain = _PLAIN_KEY.fullmatch(e.key) is not None
        field, detail = (e.key, f"the key {e.key} is given more than once") if plain else ("body", "a key is given more than once")
        raise BodyRefusedError(400, "duplicate-key", field, detail) from None
    except RecursionError:
        raise BodyRefusedError(
            400, "too-deep", "body", f"the body may nest objects and arrays at most {MAX_DEPTH} deep"
        ) from None
    except ValueError:  # also UnicodeDecodeError and json.JSONDecodeError
        raise BodyRefusedError(400, "malformed-json", "body", "the request body is not valid JSON") from None
    _check_shape(value)
    return value


async def json_bodies_only(request: Request[Any, Any, Any]) -> None:
    """Any body sent to the API is JSON, whether or not the operation reads one: a body
    of another type is refused before anything is done (415)."""
    headers = request.headers
    if headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers:
        media_type, options = request.content_type
        check_media_type(media_type, options)


class StrictJsonRequest(Request[Any, Any, Any]):
    """A request whose JSON body is read by :func:`parse` after :func:`check_media_type`."""

    async def json(self) -> Any:
        if self._json is Empty:
            if (cached := self._connection_state.json) is not Empty:
                self._json = cached
            else:
                body = await self.body()
                if body:
                    media_type, options = self.content_type
                    check_media_type(media_type, options)
                self._json = self._connection_state.json = parse(body) if body else None
        return self._json


__all__ = ["MAX_DEPTH", "BodyRefusedError", "StrictJsonRequest", "check_media_type", "json_bodies_only", "parse"]
