"""The relay's own composition root: only what delivery needs, not the hub.

``backa relay`` reads the log and decides, per fact and unit, what the policy lets it
deliver. For that it needs the log's recorder and the mapper that opens sealed facts
(hence the children's keys), the directory of units, the clock, the policy's rules,
telemetry, and its store kit for where it keeps its place. It builds none of the views
and replays nothing into them, takes no sessions and trusts no issuers.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

from eventsourcing.persistence import ApplicationRecorder, JSONTranscoder, Mapper

from consent import PolicyRules
from hub.application.directory_log import LiveDirectory
from hub.identity.directory import Directory
from hub.keys.sealing import FactMapper, Sealer
from hub.runtime.bootstrap import (
    Runtime,
    child_key_sealer,
    live_directory,
    load_directory,
    log_keyring,
    policy_rules,
    settings_telemetry,
)
from hub.runtime.clock import Clock, system_clock
from hub.runtime.settings import Settings
from hub.runtime.stores import StoreKit, store_kit
from hub.runtime.telemetry import Telemetry


class RelayConfigError(Exception):
    """The settings do not say enough to run the relay."""


class StoredLog(Protocol):
    """The log as stored and the mapper that reads it (a hub, or the relay's root)."""

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Any: ...


@dataclass
class RelayRoot:
    """What the relay is built from."""

    settings: Settings
    kit: StoreKit
    recorder: ApplicationRecorder
    mapper: Mapper
    directory: Directory | LiveDirectory
    clock: Clock
    rules: PolicyRules
    telemetry: Telemetry
    parts: ExitStack = field(default_factory=ExitStack, repr=False)
    """Closes what this root built (nothing, when it borrows a running hub's parts)."""

    @classmethod
    def of(cls, runtime: Runtime) -> RelayRoot:
        """The parts of a hub built in this process (tests, benchmarks), closed with it."""
        hub = runtime.hub
        if runtime.kit is None:
            raise RelayConfigError("the hub was built without a store kit")
        return cls(runtime.settings, runtime.kit, hub.recorder, hub.mapper, hub.directory, hub.clock, hub.rules, hub.telemetry)

    def close(self) -> None:
        self.parts.close()


def relay_root(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    directory: Directory | None = None,
    sealer: Sealer | None = None,
    telemetry: Telemetry | None = None,
) -> RelayRoot:
    """The relay's parts from the settings, beside a hub that runs elsewhere on the same store."""
    kit = store_kit(settings)
    if not kit.persistent:
        raise RelayConfigError("the memory store's log lives inside the hub's process; the relay cannot read it")
    with ExitStack() as parts:
        telemetry = telemetry or settings_telemetry(settings)
        parts.callback(telemetry.shutdown)
        parts.callback(kit.close)
        ring = log_keyring(settings, kit) if sealer is None else None
        if ring is not None:
            keys = child_key_sealer(settings, ring, kit)
            parts.callback(keys.close)
            sealer = keys
        mapper = FactMapper(JSONTranscoder())
        if sealer is not None:
            mapper.sealer = sealer
        recorder = kit.log_recorder()
        live = live_directory(settings, kit, directory if directory is not None else load_directory(settings), clock)
        parts.callback(live.close)
        live.start()
        return RelayRoot(settings, kit, recorder, mapper, live, clock, policy_rules(settings, live.snapshot()), telemetry, parts.pop_all())
    raise AssertionError("unreachable")  # pragma: no cover - the block returns or raises


__all__ = ["RelayConfigError", "RelayRoot", "StoredLog", "relay_root"]
