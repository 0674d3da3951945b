"""The composition root: builds the hub from settings, every part overridable.

Nothing is built at import time. Tests pass an in-memory store, a clock they move and
a directory they make; ``backa serve`` passes what the settings say.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from consent import PolicyRules
from projections.accesslog import AccessLogView
from projections.base import memory_db_name
from projections.caselist import CaseListView
from projections.record import ChildRecordView

from hub.application import BackaHub, Views
from hub.clock import Clock, system_clock
from hub.directory import Directory
from hub.identity import BlindIndex
from hub.settings import Settings
from hub.storage import Sealer
from hub.tokens import DemoIssuer, TokenVerifier, TrustedIssuer


@dataclass
class Runtime:
    """The built hub and what the HTTP layer needs beside it."""

    settings: Settings
    hub: BackaHub
    verifier: TokenVerifier
    demo_issuer: DemoIssuer | None

    def close(self) -> None:
        self.hub.close()


def _read_or_create_key(path: Path) -> bytes:
    if path.exists():
        key = bytes.fromhex(path.read_text().strip())
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
    return key


def bootstrap(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    directory: Directory | None = None,
    index_key: bytes | None = None,
    rules: PolicyRules | None = None,
    sealer: Sealer | None = None,
    extra_issuers: list[TrustedIssuer] | None = None,
) -> Runtime:
    data_dir = settings.data_dir
    memory = settings.store == "memory"
    if not memory:
        data_dir.mkdir(parents=True, exist_ok=True)
    if directory is None:
        path = data_dir / "directory.json"
        directory = Directory.load(path) if path.exists() else Directory()
    if index_key is None:
        index_key = secrets.token_bytes(32) if memory else _read_or_create_key(data_dir / "index.key")
    rules = rules or PolicyRules(
        child_consent_age=settings.child_consent_age,
        child_access_age=settings.child_access_age,
        default_validity_days=settings.consent_validity_days,
        staff_names_visible_to_family=settings.staff_names_visible_to_family,
    )
    if memory:
        env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        views = Views(
            ChildRecordView(memory_db_name("record")),
            CaseListView(memory_db_name("cases")),
            AccessLogView(memory_db_name("access")),
        )
    else:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(data_dir / "events.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
        views = Views(
            ChildRecordView(str(data_dir / "view_child_record.sqlite")),
            CaseListView(str(data_dir / "view_case_list.sqlite")),
            AccessLogView(str(data_dir / "view_access_log.sqlite")),
        )
    for view in (views.record, views.cases, views.access):
        view.create_table()
    env["CREATE_TABLE"] = "y"
    blind_index = BlindIndex(index_key)
    hub = BackaHub(
        env,
        directory=directory,
        clock=clock,
        rules=rules,
        blind_index=blind_index,
        views=views,
        sealer=sealer,
        record_reads=settings.record_reads,
    )
    hub.follower.catch_up()
    issuers = list(extra_issuers or [])
    demo_issuer = None
    if settings.demo_mode:
        demo_issuer = DemoIssuer.from_folder(data_dir / "demo", settings.audience, clock) if not memory else _memory_issuer(settings, clock)
        issuers.append(demo_issuer.trusted())
    verifier = TokenVerifier(issuers, directory, blind_index, clock)
    return Runtime(settings, hub, verifier, demo_issuer)


def _memory_issuer(settings: Settings, clock: Clock) -> DemoIssuer:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return DemoIssuer(Ed25519PrivateKey.generate(), settings.audience, clock)
