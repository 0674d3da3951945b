"""A population register kept in a JSON file: the demo's and the tests' stand-in for Navet.

It answers the hub's one question of a population register (the vårdnadshavare of a child)
from a file shaped like this::

    {
      "format": "backa-population-register",
      "version": 1,
      "children": [
        {"personnummer": "201507122388", "custodians": ["198203142396", "198407202384"]}
      ]
    }

The file is parsed strictly, since it decides who has a say in a child's case: duplicate
keys, unknown fields, numbers not in their 12-digit form or failing their check digit, a
child listed twice, a custodian named twice or more than two (FB 6 kap.: custody is held by
one or two persons), or a child as its own custodian are refused, naming the place, never
the number. The file is read again when it changes, so a corrected register is seen by the
next check; a file that cannot be read is an unreachable register (:class:`OSError`), a bad
one a :class:`RegisterFileError`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

from personnummer.personnummer import Personnummer, PersonnummerException
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

FORMAT = "backa-population-register"
MAX_BYTES = 64 * 1024 * 1024


class RegisterFileError(ValueError):
    """The register file is not a register this hub can trust."""


def _number(value: str) -> str:
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        raise ValueError("a personnummer is written as its 12 digits")
    try:
        Personnummer(value)
    except (PersonnummerException, ValueError, TypeError):
        raise ValueError("not a valid personnummer (check digit or date)") from None
    return value


class _Child(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    personnummer: str
    custodians: list[str] = Field(max_length=2)

    @field_validator("personnummer")
    @classmethod
    def _valid_child(cls, value: str) -> str:
        return _number(value)

    @field_validator("custodians")
    @classmethod
    def _valid_custodians(cls, value: list[str]) -> list[str]:
        for number in value:
            _number(number)
        if len(set(value)) != len(value):
            raise ValueError("a custodian is named twice")
        return value


class _RegisterFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal["backa-population-register"]
    version: Literal[1]
    children: list[_Child]


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise RegisterFileError("a key appears twice in one object")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise RegisterFileError(f"{name} is not JSON")


def parse_register(text: str) -> dict[str, frozenset[str]]:
    """The custodians of each child, from the file's text; refuses anything but a clean file."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise RegisterFileError(f"not JSON (line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise RegisterFileError("nested too deep") from None
    try:
        parsed = _RegisterFile.model_validate(data)
    except ValidationError as e:
        first = e.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(x) for x in first["loc"]) or "the file"
        raise RegisterFileError(f"{where}: {first['msg']}") from None
    out: dict[str, frozenset[str]] = {}
    for i, child in enumerate(parsed.children):
        if child.personnummer in out:
            raise RegisterFileError(f"children.{i}: the child is listed twice")
        if child.personnummer in child.custodians:
            raise RegisterFileError(f"children.{i}: a child is not its own custodian")
        out[child.personnummer] = frozenset(child.custodians)
    return out


def register_text(custodians: Mapping[str, Collection[str]]) -> str:
    """A register file for ``custodians`` (child's personnummer to its custodians')."""
    children = [{"personnummer": c, "custodians": sorted(g)} for c, g in sorted(custodians.items())]
    text = json.dumps({"format": FORMAT, "version": 1, "children": children}, indent=2) + "\n"
    parse_register(text)  # what is written must read back
    return text


class FileRegister:
    """The population register port (:class:`hub.identity.population.PopulationRegister`)
    answered from a JSON file. Built with the file's path, it reads and checks the file at
    once, so a missing or bad register stops the hub from starting (:class:`RegisterFileError`)
    rather than leaving every guardian unconfirmed unnoticed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._children: dict[str, frozenset[str]] = {}
        try:
            self._read()
        except OSError as e:
            raise RegisterFileError(f"the register file cannot be read ({type(e).__name__})") from None

    def _read(self) -> dict[str, frozenset[str]]:
        with self._lock:
            info = self.path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
            if stamp != self._stamp:
                if info.st_size > MAX_BYTES:
                    raise RegisterFileError("the register file is larger than the hub reads")
                try:
                    text = self.path.read_bytes().decode("utf-8")
                except UnicodeDecodeError:
                    raise RegisterFileError("the register file is not UTF-8") from None
                self._children = parse_register(text)
                self._stamp = stamp
            return self._children

    def custodians(self, child: str) -> Collection[str]:
        return self._read().get(child, frozenset())


__all__ = ["FORMAT", "FileRegister", "RegisterFileError", "parse_register", "register_text"]
