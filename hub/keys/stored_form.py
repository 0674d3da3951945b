"""Reading a stored fact's bytes into today's contract, whatever version it was stored in.

The stored state (once opened) is ``{"traceparent": ..., "fact": {...}}`` with the fact
exactly as its contract dumped it when it happened. A fact stored under today's version
is parsed and validated in one pass over the bytes (what keeps rebuilding views fast);
only when that fails is the fact read as a JSON object, and, if it declares an older
``schema_version``, brought up by the upcasters (:mod:`contracts.upcasting`) and
validated. The stored bytes are never changed, so the log's leaves and proofs still
hold for a fact read in a later version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from contracts.events import EVENT_TYPES, Event
from contracts.upcasting import UPCASTERS, Upcaster, stored_version, upcast


class StoredFactError(ValueError):
    """A stored fact does not hold to its contract at the version it declares. The message
    names the fields and what is wrong with them, never their values (pydantic's own
    message shows the input, which is personal data)."""


def _invalid(type_name: str, invalid: ValidationError) -> StoredFactError:
    where = ", ".join(f"{'.'.join(map(str, e['loc'])) or 'the state'} ({e['type']})" for e in invalid.errors()[:5])
    return StoredFactError(f"a stored {type_name} does not hold to its contract: {where}")


class StoredEnvelope(BaseModel):
    """The stored state as pydantic reads it: the trace context and the fact."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    traceparent: str | None = None
    fact: Event


def current_version(contract: type[Event]) -> int:
    """The ``schema_version`` a contract reads and writes: its field's default."""
    version = contract.model_fields["schema_version"].default
    if type(version) is not int:
        raise TypeError(f"{contract.__name__} declares no schema version")
    return version


class StoredContracts:
    """The contracts stored facts are read into, and the steps up from older versions."""

    def __init__(self, types: Mapping[str, type[Event]] = EVENT_TYPES, upcasters: Mapping[tuple[str, int], Upcaster] = UPCASTERS) -> None:
        self.types = dict(types)
        self.upcasters = upcasters
        self.versions = {name: current_version(cls) for name, cls in self.types.items()}
        self._envelopes: dict[str, type[StoredEnvelope]] = {
            name: create_model(f"Stored{cls.__name__}", __base__=StoredEnvelope, fact=(cls, ...))
            for name, cls in self.types.items()
        }
        self._parse = {name: envelope.__pydantic_validator__.validate_json for name, envelope in self._envelopes.items()}
        """Each envelope's validator, called without the model's own wrapper (a rebuild calls it per fact)."""

    def knows(self, type_name: str) -> bool:
        return type_name in self._envelopes

    def read(self, type_name: str, opened: bytes) -> StoredEnvelope:
        """The opened state of a fact of ``type_name`` as today's contract.

        Raises ``KeyError`` for a type not known, :class:`StoredFactError` for a fact
        that does not hold, and :class:`~contracts.upcasting.SchemaVersionError` for a
        version that cannot be brought up."""
        envelope = self._envelopes[type_name]
        try:
            return self._parse[type_name](opened)
        except ValidationError as e:
            invalid = _invalid(type_name, e)  # raised outside, so pydantic's error (which shows the input) is not its context
        older = self._older(type_name, opened)
        if older is None:
            raise invalid
        fact = upcast(type_name, older["fact"], self.versions[type_name], self.upcasters)
        try:
            return envelope.model_validate_json(json.dumps({**older, "fact": fact}))
        except ValidationError as e:
            invalid = _invalid(type_name, e)
        raise invalid

    def _older(self, type_name: str, opened: bytes) -> dict[str, Any] | None:
        """The opened state as a JSON object when its fact declares another version than
        today's (older or newer: :func:`upcast` refuses the newer); None otherwise, so the
        fact is invalid as it is."""
        try:
            state = json.loads(opened)
        except (ValueError, UnicodeError):
            return None
        fact = state.get("fact") if isinstance(state, dict) else None
        if not isinstance(fact, dict) or stored_version(fact) == self.versions[type_name]:
            return None
        return state


STORED_CONTRACTS = StoredContracts()
"""Today's published events with their registered upcasters."""


__all__ = ["STORED_CONTRACTS", "StoredContracts", "StoredEnvelope", "StoredFactError", "current_version"]
