"""Wiring the JetStream relay to a built hub: the composition root's part of delivery.

The relay (``adapters.jetstream_relay``) knows nothing of the hub. This module hands it
what it needs as plain callables and values: the log, read from the hub's recorder; each
child's facts for the policy, from the child's record; the units of the directory with
their public keys from ``unit_keys_dir``; the clock and the policy rules.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.deliveries import Delivery, LogEntry, UnitRecipient
import psycopg.conninfo

from adapters.jetstream_relay import JetStreamRelay, PositionStore, PostgresPositionStore, SQLitePositionStore
from adapters.nats_link import StreamSettings
from adapters.sealed_box import KeyFileError, load_public_key
from consent import ChildFacts
from contracts.events import InformationAccessed
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from eventsourcing.application import AggregateNotFoundError

from hub.application import BackaHub
from hub.bootstrap import PostgresConfig, Runtime
from hub.directory import Directory
from hub.domainmodel import Child, project_child

log = logging.getLogger("backa.relay")

POSITION_FILE = "relay_position.sqlite"


class RelayConfigError(Exception):
    """The settings do not say enough to run the relay."""


def unit_keys(directory: Directory, keys_dir: Path) -> tuple[list[UnitRecipient], dict[tuple[str, str], X25519PublicKey]]:
    """Every unit of every tenant, and the public key of each that has one:
    ``<keys_dir>/<tenant>/<unit>.pub``, or else ``<keys_dir>/<unit>.pub``."""
    recipients: list[UnitRecipient] = []
    keys: dict[tuple[str, str], X25519PublicKey] = {}
    for tenant in directory.tenants.values():
        for unit in tenant.units.values():
            recipients.append(UnitRecipient(tenant.tenant_id, unit.unit_id, unit.kind))
            for path in (keys_dir / tenant.tenant_id / f"{unit.unit_id}.pub", keys_dir / f"{unit.unit_id}.pub"):
                if path.is_file():
                    try:
                        keys[(tenant.tenant_id, unit.unit_id)] = load_public_key(path)
                    except KeyFileError as e:
                        log.error("unit %s/%s: %s", tenant.tenant_id, unit.unit_id, e)
                    break
    return recipients, keys


def log_reader(hub: BackaHub) -> Any:
    """``read_log(after, limit)`` on the hub's notification log. Reads are passed as
    positions without a fact: they are never delivered, and are not decoded."""
    skipped = InformationAccessed.type_name

    def read_log(after: int, limit: int) -> Sequence[LogEntry]:
        out = []
        for n in hub.recorder.select_notifications(after + 1, limit):
            if n.topic == skipped:
                out.append(LogEntry(n.id, n.originator_version, None))
                continue
            recorded = hub.mapper.to_domain_event(n)
            out.append(LogEntry(n.id, recorded.originator_version, recorded.fact, recorded.traceparent))
        return out

    return read_log


def facts_reader(hub: BackaHub) -> Any:
    """``facts_for(tenant_id, child_id, version)``: what the policy needs about a child, now
    or as of one version of its record."""

    def facts_for(tenant_id: str, child_id: UUID, version: int | None) -> ChildFacts | None:
        try:
            child = hub.repository.get(child_id, version=version, projector_func=project_child)
        except AggregateNotFoundError:
            return None
        if not isinstance(child, Child) or child.tenant_id != tenant_id:
            return None
        return child.facts()

    return facts_for


def position_store(runtime: Runtime, path: Path | None = None) -> PositionStore:
    """Where the relay keeps its place: beside the log in PostgreSQL when the hub runs
    there, else in a small file in the data folder."""
    settings = runtime.settings
    if path is None and settings.database_url and _on_postgres(runtime):
        config = PostgresConfig.from_url(settings.database_url)
        conninfo = psycopg.conninfo.make_conninfo(
            dbname=config.dbname, host=config.host, port=config.port, user=config.user, password=config.password or None
        )
        return PostgresPositionStore(conninfo, config.schema)
    return SQLitePositionStore(path or settings.data_dir / POSITION_FILE)


def _on_postgres(runtime: Runtime) -> bool:
    return runtime.hub.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"


def build_relay(
    runtime: Runtime,
    *,
    nats_url: str | None = None,
    keys_dir: Path | None = None,
    position_path: Path | None = None,
    stream: StreamSettings | None = None,
    **options: Any,
) -> JetStreamRelay:
    """The relay for a built hub, from its settings unless told otherwise."""
    settings = runtime.settings
    url = nats_url or settings.nats_url
    if not url:
        raise RelayConfigError("no NATS URL: set BACKA_NATS_URL or pass --nats")
    folder = keys_dir or settings.unit_keys_dir
    if folder is None:
        raise RelayConfigError("no folder of unit public keys: set BACKA_UNIT_KEYS_DIR or pass --keys")
    if not Path(folder).is_dir():
        raise RelayConfigError(f"the unit keys folder {folder} does not exist")
    recipients, keys = unit_keys(runtime.hub.directory, Path(folder))
    hub = runtime.hub

    def delivered(delivery: Delivery) -> None:
        lag = (hub.clock() - delivery.occurred_at).total_seconds() * 1000
        hub.telemetry.relay_lag.record(max(lag, 0.0), {"backa.event_type": delivery.type_name})

    options.setdefault("tracer", hub.telemetry.tracer)
    options.setdefault("on_delivered", delivered)
    return JetStreamRelay(
        nats_url=url,
        read_log=log_reader(hub),
        facts_for=facts_reader(hub),
        recipients=recipients,
        keys=keys,
        clock=hub.clock,
        rules=hub.rules,
        positions=position_store(runtime, position_path),
        stream=stream or StreamSettings(replicas=settings.nats_replicas),
        **options,
    )


__all__ = ["POSITION_FILE", "RelayConfigError", "build_relay", "facts_reader", "log_reader", "unit_keys"]
