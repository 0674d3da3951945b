"""The composition root: builds the hub from settings, every part overridable.

Nothing is built at import time. Tests pass an in-memory store, a clock they move and
a directory they make; ``backa serve`` passes what the settings say. Every part is built
first and handed to what uses it; whatever was built is closed again, in reverse order,
when a later part fails or the hub closes (one :class:`~contextlib.ExitStack`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from adapters.population_file import FileRegister
from consent import PolicyRules
from consent.retention import Retention
from hub.application import BackaHub
from hub.application.caselist_search import CaseListTiming
from hub.application.directory_log import DirectoryLog, LiveDirectory, import_actor
from hub.errors import StoreUnavailableError
from hub.identity.directory import Directory
from hub.identity.issuers import IssuerConfigError, load_issuers
from hub.identity.personnummer import BlindIndex
from hub.identity.population import NoRegister, PopulationRegister, RegisterLookup
from hub.identity.sessions import Sessions
from hub.identity.sign_in_store import SignInStore
from hub.identity.throttle import Throttle
from hub.identity.tokens import DEMO_ISSUER, DemoIssuer, TokenVerifier, TrustedIssuer
from hub.keys.child_keys import (
    KEK_FILE,
    KEYS_DB,
    ChildKeySealer,
    Kek,
    KekConfigError,
    Keyring,
    configured_keks,
    read_kek_file,
)
from hub.keys.sealing import Sealer
from hub.runtime.checkpoints import checkpoint_places, witness_of
from hub.runtime.checkpoints import checkpoint_policy as settings_checkpoint_policy
from hub.runtime.clock import Clock, system_clock
from hub.runtime.settings import Settings
from hub.runtime.stores import (
    PoolChecker,
    PostgresConfig,
    StoreKit,
    store_kind,
    store_kit,
)
from hub.runtime.telemetry import Telemetry, build_telemetry
from hub.runtime.view_versions import VersionKeeper
from hub.tlog.service import CheckpointPolicy, TransparencyLog, build_transparency
from projections.base import RowSealer


@dataclass
class Runtime:
    """The built hub and what the HTTP layer needs beside it."""

    settings: Settings
    hub: BackaHub
    verifier: TokenVerifier
    demo_issuer: DemoIssuer | None
    transparency: TransparencyLog | None = None
    """The Merkle tree over the log and its signed checkpoints."""
    keys: ChildKeySealer | None = None
    """The children's keys, when ``bootstrap`` built the sealer."""
    sessions: Sessions | None = None
    """The web pages' sessions."""
    kit: StoreKit | None = None
    """The stores of the settings' kind (the relay takes its own from here)."""
    telemetry: Telemetry | None = None
    """Where traces and metrics go (to OTLP when ``BACKA_OTLP_ENDPOINT`` is set)."""
    parts: ExitStack = field(default_factory=ExitStack, repr=False)
    """Closes what was built, in reverse order."""
    throttle: Throttle | None = None
    """The rate limits on sign-in, session starts and refused tokens."""
    sign_ins: SignInStore | None = None
    """OpenID Connect sign-ins in flight and the sessions providers may end, shared by every process."""
    versions: VersionKeeper | None = None
    """Marks the views' versions this process serves in use, and drops those nobody uses."""

    def close(self) -> None:
        self.parts.close()


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


def encrypts(settings: Settings) -> bool:
    """Whether the log is sealed per child: asked for, or a key-encryption key configured."""
    return settings.encrypt_log or settings.kek_file is not None or settings.kek is not None


def keyring(settings: Settings) -> Keyring:
    """The configured key-encryption keys. Without any, the in-memory store makes one for
    the process and demo mode one in the data folder (``kek.key``, like ``index.key``);
    anywhere else the hub refuses to start rather than keep the key beside the data."""
    keks = configured_keks(settings.kek_file, settings.kek.get_secret_value() if settings.kek else None)
    if not keks:
        if store_kind(settings) == "memory":
            keks = [Kek.of(secrets.token_bytes(32))]
        elif settings.demo_mode:
            path = settings.data_dir / KEK_FILE
            keks = read_kek_file(path) if path.exists() else [Kek.of(_read_or_create_key(path))]
        else:
            raise KekConfigError(
                "no key-encryption key: set BACKA_KEK_FILE to a file holding 64 hex digits "
                "(`backa keys new-kek --out FILE` writes one)"
            )
    return Keyring(keks)


def log_keyring(settings: Settings, kit: StoreKit) -> Keyring | None:
    """The keys that open the log, if it is sealed per child; refuses to open a log that
    is sealed with sealing switched off."""
    if encrypts(settings):
        return keyring(settings)
    if kit.kind == "sqlite" and (settings.data_dir / KEYS_DB).exists():
        raise KekConfigError("this log is sealed per child: set BACKA_KEK_FILE (or BACKA_ENCRYPT_LOG in demo mode)")
    return None


def child_key_sealer(settings: Settings, ring: Keyring | None = None, kit: StoreKit | None = None) -> ChildKeySealer:
    """The sealer of the stored log, refusing a KEK that does not open the stored keys.
    Without ``kit`` it uses a kit of its own, closed with the sealer."""
    ring = ring or keyring(settings)
    own = kit is None
    kit = kit or store_kit(settings)
    with ExitStack() as failed:
        if own:
            failed.callback(kit.close)
        store = kit.key_store()
        failed.callback(store.close)
        ring.check(store)
        failed.pop_all()
    return ChildKeySealer(store, ring, on_close=kit.close if own else None)


def load_directory(settings: Settings) -> Directory:
    """``directory.json`` in the data folder, or nothing: the areas to bring onto the
    directory's log the first time they are seen (after that the log is the directory)."""
    path = settings.data_dir / "directory.json"
    return Directory.load(path) if path.exists() else Directory()


DEMO_REGISTER_FILE = "population.json"
"""The demo's population register, in its data folder."""


def live_directory(settings: Settings, kit: StoreKit, seed: Directory, clock: Clock) -> LiveDirectory:
    """The directory as its log holds it, with the areas of ``seed`` (``directory.json``, or a
    test's) that the log does not have yet brought in as their first facts; not yet following
    the log (``start``), and to be closed by the caller."""
    live = LiveDirectory(DirectoryLog({**kit.directory_env(), "CREATE_TABLE": "y"}), poll_seconds=settings.directory_poll_seconds)
    try:
        live.bring_in(seed, actor=import_actor(), at=clock())
    except BaseException:
        live.close()
        raise
    return live


def population_register(settings: Settings) -> PopulationRegister:
    """The configured population register: the file named in the settings; in demo mode,
    without one, the demo's own file; else none, so no guardian link is ever confirmed."""
    path = settings.population_register_file
    if path is None and settings.demo_mode and (settings.data_dir / DEMO_REGISTER_FILE).exists():
        path = settings.data_dir / DEMO_REGISTER_FILE
    return FileRegister(path) if path is not None else unconfigured_register()


def unconfigured_register() -> PopulationRegister:
    """What answers when no register is configured: nobody, ever."""
    return NoRegister()


def policy_rules(settings: Settings, directory: Directory | None = None) -> PolicyRules:
    """The policy's rules from the settings, with each tenant's retention periods from the
    directory (the defaults of :mod:`consent.retention` where a tenant sets none)."""
    tenants = directory.tenants.values() if directory is not None else ()
    return PolicyRules(
        retention=Retention(tuple((t.tenant_id, t.retention) for t in tenants)),
        child_consent_age=settings.child_consent_age,
        child_access_age=settings.child_access_age,
        default_validity_days=settings.consent_validity_days,
        max_validity_days=settings.consent_max_validity_days,
        staff_names_visible_to_family=settings.staff_names_visible_to_family,
    )


def settings_telemetry(settings: Settings) -> Telemetry:
    """Traces and metrics to the configured OTLP/HTTP collector, or nowhere."""
    return build_telemetry(settings.otlp_endpoint, timeout=settings.otlp_timeout)


def bootstrap(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    directory: Directory | None = None,
    index_key: bytes | None = None,
    rules: PolicyRules | None = None,
    sealer: Sealer | None = None,
    extra_issuers: list[TrustedIssuer] | None = None,
    checkpoint_policy: CheckpointPolicy | None = None,
    telemetry: Telemetry | None = None,
    register: PopulationRegister | None = None,
    wait_for_views: bool = False,
) -> Runtime:
    """The hub and everything beside it, from the settings; each keyword replaces one
    part (tests pass a clock they move, a directory, exporters they read).

    The hub returns at once and its views catch up in the background (reads of a view
    that has not wait a little, then are refused); a command of the CLI that runs once
    and reads the views passes ``wait_for_views`` to have them caught up first."""
    data_dir = settings.data_dir
    kit = store_kit(settings)  # a bad database URL is named before a missing key
    issuers = trusted_issuers(settings, clock, extra_issuers)
    ring = log_keyring(settings, kit) if sealer is None else None
    places = checkpoint_places(settings) if kit.persistent else None
    if kit.persistent:
        data_dir.mkdir(parents=True, exist_ok=True)
    seed = directory if directory is not None else load_directory(settings)
    if index_key is None:
        index_key = _read_or_create_key(data_dir / "index.key") if kit.persistent else secrets.token_bytes(32)
    blind_index = BlindIndex(index_key)
    register = register if register is not None else population_register(settings)
    with ExitStack() as parts:
        population = RegisterLookup(register, settings.population_register_timeout)
        parts.callback(population.close)
        telemetry = telemetry or settings_telemetry(settings)
        parts.callback(telemetry.shutdown)
        parts.callback(kit.close)
        checker = PoolChecker([])

        def store_unavailable() -> StoreUnavailableError:
            checker()
            return StoreUnavailableError("the store cannot be reached")

        setup = parts.enter_context(ExitStack())
        setup.enter_context(kit.setting_up())  # the tables are made by one process at a time
        keys = None
        if ring is not None:
            keys = child_key_sealer(settings, ring, kit)
            parts.callback(keys.close)
        chosen = sealer or keys  # view rows are sealed under the same per-child keys as the log
        rows = cast(RowSealer, chosen) if callable(getattr(chosen, "seal_row", None)) else None
        views = kit.views(unreachable=store_unavailable, rows=rows)
        parts.callback(views.close)
        views.record.cached_children = settings.record_cache_children
        for view in views.all():
            view.create_table(clock().timestamp())
        invitations = kit.invitation_store()
        parts.callback(invitations.close)
        delivery_failures = kit.delivery_failure_store()
        parts.callback(delivery_failures.close)
        live = live_directory(settings, kit, seed, clock)
        parts.callback(live.close)
        env = {**kit.log_env(), "CREATE_TABLE": "y"}
        if settings.aggregate_cache:
            env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache)
        hub = BackaHub(
            env,
            directory=live,
            clock=clock,
            rules=rules or policy_rules(settings, live.snapshot()),
            blind_index=blind_index,
            views=views,
            sealer=sealer or keys,
            record_reads=settings.record_reads,
            telemetry=telemetry,
            transparency=lambda recorder: build_transparency(
                recorder, data_dir if kit.persistent else None, tenant_ids=list(live.tenants),
                policy=checkpoint_policy or settings_checkpoint_policy(settings),
                key_file=places.key_file if places else None, witness=witness_of(places) if places else None,
            ),
            on_store_error=checker,
            population=population,
            invitations=invitations,
            invitation_days=settings.conversation_invitation_days,
            delivery_failures=delivery_failures,
        )
        parts.callback(hub.close)
        hub.shared_log = hub.follower.shared = kit.kind == "postgres"  # other workers or machines may share it
        setup.close()
        checker.pools.extend(kit.pools())
        hub.follower.hold_reads(settings.views_wait_seconds)
        if wait_for_views:
            hub.refresh_views()
        demo_issuer = None
        if settings.demo_mode:
            if kit.persistent:
                demo_issuer = DemoIssuer.from_folder(data_dir / "demo", settings.audience, clock)
            else:
                demo_issuer = _memory_issuer(settings, clock)
            issuers.append(demo_issuer.trusted())
        verifier = TokenVerifier(
            issuers, live, blind_index, clock,
            skew=timedelta(seconds=settings.token_clock_skew_seconds),
            max_lifetime=timedelta(hours=settings.token_max_lifetime_hours),
        )
        sessions = Sessions(
            kit.session_store(), clock, settings.session_policy(), demo_mode=settings.demo_mode,
            trusts=verifier.trusts, form_key=_form_key(index_key), current=verifier.current,
        )
        parts.callback(sessions.close)
        throttle = Throttle(kit.limit_storage(clock), clock, settings.limit_rules())
        parts.callback(throttle.close)
        sign_ins = kit.sign_in_store()
        parts.callback(sign_ins.close)
        hub.follower.start(settings.views_poll_seconds)
        live.start()
        versions = VersionKeeper(views.all(), clock, settings.views_prune_grace_seconds, lagging=lambda: hub.follower.lagging)
        versions.start()
        parts.callback(versions.stop)
        if hub.transparency is not None:
            hub.transparency.start()
            parts.callback(hub.transparency.stop)
        hub.case_list_timing = CaseListTiming(settings.case_list_consent_expiring_days, settings.case_list_feedback_days)
        return Runtime(
            settings, hub, verifier, demo_issuer, hub.transparency, keys, sessions, kit, telemetry, parts.pop_all(),
            throttle=throttle, sign_ins=sign_ins, versions=versions,
        )
    raise AssertionError("unreachable")  # pragma: no cover - the block returns or raises


def _form_key(index_key: bytes) -> bytes:
    """The key of the sign-in forms' tokens, derived from the hub's index key so that every
    process of the hub has it and nothing new must be kept; the label keeps it apart from
    the blind index's own uses."""
    return hmac.new(index_key, b"backa sign-in form tokens", hashlib.sha256).digest()


def trusted_issuers(settings: Settings, clock: Clock, extra: list[TrustedIssuer] | None = None) -> list[TrustedIssuer]:
    """The configured issuers. Outside demo mode, refuses to start if anything would
    trust the demo issuer: its key sits in the data folder, readable by whoever can
    read the folder, so a token it signed proves nothing."""
    demo_folder = None if settings.demo_mode else (settings.data_dir / "demo").resolve()
    issuers = list(extra or [])
    if settings.issuers_file is not None:
        issuers += load_issuers(settings.issuers_file, clock, forbidden_folder=demo_folder)
    if demo_folder is not None:
        if any(i.issuer == DEMO_ISSUER for i in issuers):
            raise IssuerConfigError("the demo issuer is trusted only in demo mode; remove it from the trusted issuers")
        demo_key = _demo_public_key(demo_folder / "demo-issuer.pem")
        if demo_key is not None and any(_raw(k) == demo_key for i in issuers for k in i.keys):
            raise IssuerConfigError("a trusted issuer holds the demo issuer's key, which is trusted only in demo mode")
    return issuers


def _demo_public_key(path: Path) -> bytes | None:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    return _raw(key.public_key())


def _raw(key: Any) -> bytes | None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = getattr(key, "key", key)
    if not isinstance(key, Ed25519PublicKey):
        return None
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _memory_issuer(settings: Settings, clock: Clock) -> DemoIssuer:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return DemoIssuer(Ed25519PrivateKey.generate(), settings.audience, clock)


__all__ = [
    "PostgresConfig",
    "Runtime",
    "bootstrap",
    "child_key_sealer",
    "encrypts",
    "keyring",
    "live_directory",
    "load_directory",
    "log_keyring",
    "policy_rules",
    "population_register",
    "settings_telemetry",
    "store_kind",
    "trusted_issuers",
]
