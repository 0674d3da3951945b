"""How the API reads a body: JSON in UTF-8, each key once, nested at most 32 deep."""

from __future__ import annotations

import pytest

from hub.http.strict_json import MAX_DEPTH, BodyRefusedError, check_media_type, parse


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def refusal(body: bytes) -> BodyRefusedError:
    with pytest.raises(BodyRefusedError) as e:
        parse(body)
    return e.value


def test_a_body_nested_as_deep_as_allowed_is_read() -> None:
    value = parse(nested(MAX_DEPTH))
    for _ in range(MAX_DEPTH - 1):
        (value,) = value
    assert value == []


def test_one_level_deeper_is_refused_as_too_deep() -> None:
    e = refusal(nested(MAX_DEPTH + 1))
    assert (e.status_code, e.kind, e.field) == (400, "too-deep", "body")


def test_deep_nesting_inside_objects_is_counted_too() -> None:
    body = b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1)
    assert refusal(body).kind == "too-deep"


def test_a_key_given_twice_in_a_nested_object_is_named() -> None:
    e = refusal(b'{"guardians": [{"name": "A", "name": "B"}]}')
    assert (e.status_code, e.kind, e.field) == (400, "duplicate-key", "name")
    assert "name" in e.detail


def test_a_key_given_twice_that_is_not_a_field_name_is_not_echoed() -> None:
    e = refusal(b'{"198203142396": 1, "198203142396": 2}')
    assert e.field == "body"
    assert "198203142396" not in e.detail


@pytest.mark.parametrize(
    "body",
    [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', '{"a": "å"}'.encode("latin-1"), b'\xef\xbb\xbf{"a": 1}', b'{"a": 1} x'],
    ids=["NaN", "Infinity", "-Infinity", "latin-1", "byte order mark", "trailing text"],
)
def test_what_is_not_strict_json_is_malformed(body: bytes) -> None:
    assert refusal(body).kind == "malformed-json"


@pytest.mark.parametrize("text", [b'"a\\u0000b"', b'"\\ud800"'], ids=["NUL", "unpaired surrogate"])
def test_text_no_store_can_keep_is_refused(text: bytes) -> None:
    assert refusal(b'{"summary": ' + text + b"}").kind == "malformed-json"


@pytest.mark.parametrize(
    ("media_type", "options"),
    [("application/json", {}), ("application/json", {"charset": "UTF-8"}), ("application/merge-patch+json", {})],
)
def test_json_media_types_are_read(media_type: str, options: dict[str, str]) -> None:
    check_media_type(media_type, options)


@pytest.mark.parametrize(
    ("media_type", "options"),
    [
        ("text/plain", {}),
        ("application/x-www-form-urlencoded", {}),
        ("", {}),
        ("application/json", {"charset": "latin-1"}),
        ("application/jsonx", {}),
        ("text/json+xml", {}),
    ],
)
def test_other_media_types_are_refused_415(media_type: str, options: dict[str, str]) -> None:
    with pytest.raises(BodyRefusedError) as e:
        check_media_type(media_type, options)
    assert (e.value.status_code, e.value.field) == (415, "Content-Type")
