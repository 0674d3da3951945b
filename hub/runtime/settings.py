"""Settings, read when the hub is built and never at import time."""

from __future__ import annotations

import os
import re
import types
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

if TYPE_CHECKING:  # imported where used: a server reads its settings before it loads the hub
    from hub.identity.sessions import SessionPolicy
    from hub.identity.throttle import LimitRules


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Path("data")
    store: Literal["sqlite", "memory", "postgres"] = "sqlite"
    database_url: str | None = None
    """``postgresql://user[:password]@host[:port]/dbname[?schema=name]``; with it, the log and
    every view live in PostgreSQL and ``store`` is taken to be ``postgres``."""
    nats_url: str | None = None
    """Where the relay delivers events to agencies (JetStream); none means no relay."""
    nats_replicas: int = Field(default=1, ge=1, le=5)
    unit_keys_dir: Path | None = None
    """Folder of each unit's public key (``<unit_id>.pub``) for end-to-end encrypted delivery."""
    otlp_endpoint: str | None = None
    """An OpenTelemetry collector's OTLP/HTTP address (``http://collector:4318``): traces go
    to ``/v1/traces`` and metrics to ``/v1/metrics`` under it. None: exported nowhere."""
    otlp_timeout: float = Field(default=10.0, gt=0, le=60)
    """Seconds one export to the collector may take, retries included."""
    demo_mode: bool = False
    issuers_file: Path | None = None
    """The token issuers the hub trusts (TOML, see :mod:`hub.identity.issuers`); outside demo mode,
    without it no token is accepted."""
    audience: str = "backa-hub"
    token_clock_skew_seconds: float = Field(default=30, ge=0, le=300)
    """How far the hub's clock and an issuer's may disagree when a token's ``exp``, ``nbf``
    and ``iat`` are checked (RFC 7519 4.1.4-4.1.6 allow "some small leeway")."""
    token_max_lifetime_hours: float = Field(default=12, gt=0, le=24)
    """The longest a token may live from its ``iat`` (or from now, without one): a token
    meant to live for ever is refused (RFC 8725 3.10)."""
    oidc_timeout_seconds: float = Field(default=5, ge=0.1, le=60)
    """How long one call to an OpenID provider (discovery, code exchange) may take."""
    population_register_file: Path | None = None
    """The population register that confirms guardian links, as a JSON file (see
    :mod:`adapters.population_file`). Without it, in demo mode the demo's own
    (``population.json`` in the data folder) is used, and elsewhere no guardian link is
    ever confirmed, so no guardian gets access."""
    population_register_timeout: float = Field(default=5.0, gt=0, le=60)
    """Seconds one question to the population register may take before the link is left unconfirmed."""
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    child_consent_age: int = Field(default=15, ge=0, le=18)
    child_access_age: int = Field(default=15, ge=0, le=18)
    consent_validity_days: int = Field(default=365, ge=1, le=3 * 365)
    consent_max_validity_days: int = Field(default=3 * 365 + 1, ge=1, le=5 * 365 + 2)
    """The longest a consent may be asked for; a longer ``valid_until`` is refused. Three
    years by default, the usual period's own ceiling: consent must be specific and
    revocable (DOMAIN.md, from the evaluation, seed 002), and it never runs past the child's
    18th birthday, when custody ends (föräldrabalken 6 kap. 2 §)."""
    consent_reminder_after_days: int = Field(default=7, ge=1, le=90)
    """Days a consent request waits before the parties who have not answered are reminded (once)."""
    consent_expiry_warning_days: int = Field(default=30, ge=1, le=365)
    """Days before a consent in effect ends that its case owner is warned and offered renewal."""
    staff_names_visible_to_family: bool = False
    case_list_consent_expiring_days: int = Field(default=30, ge=0, le=365)
    """How many days before its end a consent in effect shows as expiring on the case list."""
    case_list_feedback_days: int = Field(default=14, ge=1, le=365)
    """How many days after a discovery card its Barnkontakt's feedback is due on the case list."""
    record_reads: bool = True
    """Off only in the benchmark that measures what auditing costs."""
    http_threads: int = Field(default=32, ge=1, le=256)
    """Threads that run HTTP handlers: commands mostly wait for the database, and those
    that wait together share a transaction."""
    views_poll_seconds: float = Field(default=1.0, ge=0.01, le=60)
    """How often the views look for facts another process appended; this process's own
    commits wake them at once."""
    directory_poll_seconds: float = Field(default=1.0, ge=0.05, le=60)
    """How often a process reads the directory's log for another process's changes: the
    longest a removed staff member or a closed unit is still let in here. A person or unit
    added elsewhere is found at once, when first asked for."""
    encrypt_log: bool = True
    """Seal each child's stored facts with that child's own key (see :mod:`hub.keys.child_keys`).
    Off only for a log written in the clear before encryption was on."""
    kek_file: Path | None = None
    """The key-encryption key that wraps the children's keys: 64 hex digits; during a
    rotation several, one a line, the new one first. Outside demo mode it is required
    unless the store is in memory."""
    kek: SecretStr | None = None
    """The same keys given in the environment (``BACKA_KEK``, hex, comma-separated)."""
    aggregate_cache: int = Field(default=10_000, ge=0)
    """Children kept in memory between commands (0: none); each use first reads what
    was appended since, so a cached child is never stale."""

    checkpoint_seconds: float = Field(default=5.0, ge=0.1, le=3600)
    """While facts are being written, a checkpoint is signed at least this often (and after
    every 1000 facts), so a cut tail loses at most this many seconds to the witness."""
    checkpoint_key_file: Path | None = None
    """The checkpoint signing key. Outside demo mode it must lie outside the data folder:
    a key beside the log lets whoever rewrites the log sign the rewrite."""
    witness_dir: Path | None = None
    """The file witness's folder (see :mod:`hub.tlog.witness`): on another volume, or
    writable only by another account than the data folder. Demo mode defaults to
    ``witness`` in the data folder; outside demo mode a hub on a persistent store needs
    one, an existing folder that does not lie inside the data folder."""

    session_idle_minutes: float = Field(default=15, gt=0, le=12 * 60)
    """A web session ends after this long without use (OWASP ASVS 4.0 V3.3.2)."""
    session_absolute_hours: float = Field(default=8, gt=0, le=24)
    """...and this long after it started, however much it was used."""
    session_cookie_secure: bool = True
    """Send the session cookie over HTTPS only. Browsers count http://localhost and
    127.0.0.1 as secure, so the demo works with it on."""

    sign_in_limit: str = "30/minute"
    """Sign-ins and session starts from one address (``limits`` notation: ``N/second|minute|hour``)."""
    sign_in_subject_limit: str = "10/minute"
    """Sessions started for one person, from wherever."""
    token_failure_limit: str = "30/minute"  # noqa: S105 - a rate, not a secret
    """Refused bearer tokens from one address; beyond it the refusal is a 429."""
    survey_code_limit: str = "10/minute"
    """Links and codes of the digital conversation tried from one address, right or wrong."""
    conversation_invitation_days: int = Field(default=14, ge=1, le=90)
    """How long a digital conversation's link and code work after the Barnkontakt makes them."""

    forwarded_allow_ips: str = Field(default="", max_length=2000)
    """The proxies (comma-separated addresses or networks, ``*`` for any) whose
    ``X-Forwarded-For`` names the client; empty: none, and a client is its connection's
    address. Believed from anyone else, the header would let a caller pick the address the
    limits count (OWASP ASVS V11.1.4)."""

    # Admission control and deadlines on the HTTP side (hub.http.admission)
    admission_in_flight: int | None = Field(default=None, ge=1, le=4096)
    """Requests one process handles at once; none: ``http_threads``, as handlers beyond
    the threads would only wait, unseen, for one of them."""
    admission_queue: int | None = Field(default=None, ge=0, le=100_000)
    """Requests that may wait for one of those places; any more is refused at once with
    503 and ``Retry-After``, so the accepted ones keep their latency. None: eight for each
    place, so that the wait a place is expected to take (``admission_queue_seconds``)
    rather than a count decides who is refused: a crowd that the hub answers in time
    waits its turn, instead of being refused, retrying and spending the loop on refusals."""
    admission_queue_seconds: float = Field(default=2.0, ge=0.05, le=60)
    """The longest a request waits for a place before it is refused the same way."""
    request_deadline_seconds: float = Field(default=15.0, ge=0.1, le=600)
    """A read not answered within this is answered 503 (commands are bounded by the store's deadlines)."""
    retry_after_seconds: int = Field(default=1, ge=1, le=3600)
    """What a refusal for load or a missed deadline tells the caller to wait (``Retry-After``)."""
    token_check_seconds: float = Field(default=5.0, ge=0.1, le=60)
    """The longest a bearer token's or session's check may take (an issuer's keys fetched,
    a session read) before the request is answered 503."""

    # Reads that do not grow with history.
    record_cache_children: int = Field(default=1_000, ge=0, le=1_000_000)
    """Children whose opened record a process keeps in memory while the views say it is
    current, so a read opens only what is new (:class:`projections.record.ChildRecordView`);
    the least recently read go first. 0 keeps none: every read opens the whole record."""

    # the relay across processes
    relay_partitions: int = Field(default=1, ge=1, le=1024)
    """How many relay processes share the delivery, each owning the children whose id
    hashes to its partition (``backa relay --partition I/N`` overrides both)."""
    relay_partition: int = Field(default=0, ge=0, lt=1024)
    """Which of them this relay is, from 0 to ``relay_partitions`` less one."""

    # Serving on several processes.
    workers: int = Field(default=1, ge=1, le=64)
    """HTTP worker processes of ``backa serve`` on this machine, each with its own runtime
    over the same PostgreSQL schema and data folder. More than one needs PostgreSQL: the
    memory store is private to a process and SQLite's views and log are not shared safely."""

    # starts that never wait
    views_wait_seconds: float = Field(default=5.0, ge=0, le=60)
    """How long a read waits for a view that has not caught up with the log (just after a
    start, or while a view is rebuilt) before it is answered 503 with ``Retry-After``."""

    # views' versions side by side
    views_prune_grace_seconds: float = Field(default=3600.0, ge=300, le=30 * 86400)
    """How long a view's old version stays after a newer one has caught up with the log and
    no process has served from it (each marks its own every minute): an old version's
    tables are dropped only then (:mod:`hub.runtime.view_versions`). A deploy from a release
    that marked nothing must replace its processes within it."""

    @field_validator("sign_in_limit", "sign_in_subject_limit", "token_failure_limit", "survey_code_limit")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        from hub.identity.throttle import rate

        try:
            rate(value)
        except ValueError:
            raise ValueError("a rate such as 30/minute") from None
        return value

    def limit_rules(self) -> LimitRules:
        from hub.identity.throttle import LimitRules, rate

        return LimitRules(
            rate(self.sign_in_limit), rate(self.sign_in_subject_limit), rate(self.token_failure_limit),
            survey_codes_per_client=rate(self.survey_code_limit),
        )

    def session_policy(self) -> SessionPolicy:
        from hub.identity.sessions import SessionPolicy

        return SessionPolicy(timedelta(minutes=self.session_idle_minutes), timedelta(hours=self.session_absolute_hours))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """``BACKA_*`` variables, then explicit overrides (the CLI's flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        wrong: list[tuple[str, str, str]] = []
        for name, field in cls.model_fields.items():
            key = f"BACKA_{name.upper()}"
            if key in env:
                try:
                    values[name] = _as_written(env[key], field.annotation)
                except ValueError as e:
                    wrong.append((name, env[key], str(e)))
        if wrong:
            raise ValidationError.from_exception_data(cls.__name__, [
                {"type": "value_error", "loc": (name,), "input": raw, "ctx": {"error": ValueError(why)}}
                for name, raw, why in wrong
            ])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)


_WHOLE = re.compile(r"-?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)
_TRUTH = {"true": True, "1": True, "false": False, "0": False}


def _as_written(raw: str, annotation: object) -> object:
    """A variable's text read as exactly what it says, or refused.

    pydantic's lax mode would read ``5_0`` as 50, `` 5 `` as 5, ``3.0`` as a whole number
    and ``no`` or ``off`` as false: an operator's typo would then change a deadline or turn
    encryption off without a word. A number here is plain ASCII digits (with a point for
    seconds), a yes/no is ``true``, ``false``, ``1`` or ``0``; anything else is refused by
    name, and bounds are left to the field."""
    kinds = set(get_args(annotation)) - {type(None)} if get_origin(annotation) in (Union, types.UnionType) else {annotation}
    if kinds == {bool}:
        if raw.lower() not in _TRUTH:
            raise ValueError("true or false (or 1 or 0)")
        return _TRUTH[raw.lower()]
    if kinds == {int}:
        if not _WHOLE.fullmatch(raw):
            raise ValueError("a whole number in plain digits")
        return int(raw)
    if kinds == {float}:
        if not _DECIMAL.fullmatch(raw):
            raise ValueError("a number in plain digits, with a point for a fraction")
        return float(raw)
    return raw
