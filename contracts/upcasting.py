"""Bringing a fact stored under an older contract up to the contract of today.

A fact is stored once, in the form its contract had when it happened, and never
rewritten: the log's Merkle leaves hash the stored bytes. When a contract changes in a
way an old fact cannot be read into (a field renamed, split or given a new meaning), the
event's ``schema_version`` goes up by one and an *upcaster* is registered here: a pure
function from the fact's JSON object at version ``n`` to its JSON object at ``n + 1``.
Reading applies the steps one after another until the version the contract declares;
the stored bytes are left as they are. A change that only adds a field with a default
needs no new version (see ``docs/schema-evolution.md``).

Reading fails closed: a stored version newer than the contract (a fact written by a
later release) or a step that is missing raises :class:`SchemaVersionError`, which
names the event type and the versions, never a value of the fact.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""One step: the fact's JSON object at version ``n`` in, at version ``n + 1`` out."""

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""Every step of the published events, by (event type name, the version it reads)."""


class SchemaVersionError(ValueError):
    """A stored fact cannot be brought to the version its contract reads."""

    def __init__(self, message: str, *, type_name: str, version: object, current: int) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.version = version
        self.current = current


class UnknownSchemaVersionError(SchemaVersionError):
    """The stored version is newer than the contract, or no version at all."""


class MissingUpcasterError(SchemaVersionError):
    """No step reads the stored version: the contract went up without one."""


class UpcasterError(SchemaVersionError):
    """A step failed, or did not give the fact at the next version."""


def upcaster(type_name: str, from_version: int, into: dict[tuple[str, int], Upcaster] | None = None) -> Callable[[Upcaster], Upcaster]:
    """Register the step that reads ``type_name`` at ``from_version`` (into :data:`UPCASTERS`,
    or into ``into``); a second step for the same version is refused."""
    steps = UPCASTERS if into is None else into

    def register(step: Upcaster) -> Upcaster:
        if (type_name, from_version) in steps:
            raise ValueError(f"{type_name} already has a step from schema version {from_version}")
        steps[(type_name, from_version)] = step
        return step

    return register


def stored_version(fact: Mapping[str, Any]) -> object:
    """The ``schema_version`` a stored fact declares (facts of version 1 always carry it)."""
    return fact.get("schema_version")


def upcast(type_name: str, fact: dict[str, Any], current: int, steps: Mapping[tuple[str, int], Upcaster] | None = None) -> dict[str, Any]:
    """``fact`` (a stored fact's JSON object) brought up to version ``current``, step by step.

    The fact passed in is not changed, nor anything in it: each step gets a deep copy.
    Raises :class:`SchemaVersionError` when it cannot be done, a step's own failure
    included (as :class:`UpcasterError`, without the step's message, which may quote the fact)."""
    registry = UPCASTERS if steps is None else steps
    version = stored_version(fact)
    if type(version) is not int or version < 1 or version > current:
        raise UnknownSchemaVersionError(
            f"a stored {type_name} declares schema version {_shown(version)}; this release reads versions 1 to {current}",
            type_name=type_name, version=version, current=current,
        )
    while version < current:
        step = registry.get((type_name, version))
        if step is None:
            raise MissingUpcasterError(
                f"a stored {type_name} is schema version {version} and no upcaster reads that version "
                f"(the contract is at {current})",
                type_name=type_name, version=version, current=current,
            )
        try:
            fact = step(copy.deepcopy(fact))
        except Exception as e:  # noqa: BLE001 - any failure of a step is the fact's unreadability
            # raised without its cause: a step's own message may quote a value of the fact
            raise UpcasterError(
                f"the upcaster of {type_name} from schema version {version} failed ({type(e).__name__})",
                type_name=type_name, version=version, current=current,
            ) from None
        if not isinstance(fact, dict) or stored_version(fact) != version + 1:
            raise UpcasterError(
                f"the upcaster of {type_name} from schema version {version} did not give version {version + 1}",
                type_name=type_name, version=version, current=current,
            )
        version += 1
    return fact


def _shown(version: object) -> str:
    """A stored version as an error may show it: a small number, or only what kind of value it is."""
    if type(version) is int and -1000 < version < 1000:
        return str(version)
    return "missing" if version is None else f"<{type(version).__name__}>"


__all__ = [
    "UPCASTERS",
    "MissingUpcasterError",
    "SchemaVersionError",
    "UnknownSchemaVersionError",
    "Upcaster",
    "UpcasterError",
    "stored_version",
    "upcast",
    "upcaster",
]
