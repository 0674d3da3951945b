"""Web sessions' rules (OWASP ASVS 4.0 V3): idle and absolute timeouts, sign-out, no
oracle for guessed ids, no session id at rest, principals kept whole. Each rule is
checked on every store a hub can run on: memory, an SQLite file and PostgreSQL."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from contracts.vocabulary import Role
from hub.identity.principals import Principal, ViewerKind
from hub.identity.sessions import (
    SESSIONS_DB,
    TOUCH_EVERY,
    MemorySessionStore,
    SessionEndedError,
    SessionPolicy,
    Sessions,
    SessionStore,
)
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from hub.runtime.stores import PostgresConfig, StoreKit, store_kit
from tests.conftest import POSTGRES_URL, family, postgres_url
from tests.factories import GUARDIAN_1_PNR, START, staff

IDLE = timedelta(minutes=15)
ABSOLUTE = timedelta(hours=8)
POLICY = SessionPolicy(IDLE, ABSOLUTE)
ISSUER = "https://idp.ystad.example"
TRUSTED = frozenset({ISSUER})

GUARDIAN = Principal(
    ViewerKind.GUARDIAN, "ystad", "guardian-blind-id-1", frozenset({Role.GUARDIAN}), party_id="guardian-blind-id-1"
)
SCHOOL = staff("rektor.ostra")

OpenStore = Callable[[], SessionStore]


def _settings(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if kind == "postgres":
        schema = request.getfixturevalue("pg_schema")
        return Settings(store="postgres", database_url=postgres_url(schema), data_dir=tmp_path)
    return Settings(store=kind, data_dir=tmp_path)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    """Opens the store a hub of this kind would use; for SQLite and PostgreSQL every call is a
    new connection to the same sessions, as another process of the hub would have."""
    kind: str = request.param
    settings = _settings(kind, tmp_path, request)
    opened: list[SessionStore] = []
    kits: list[StoreKit] = []
    shared = store_kit(settings).session_store() if kind == "memory" else None

    def open_one() -> SessionStore:
        if shared is not None:
            return shared
        kits.append(store_kit(settings))
        opened.append(kits[-1].session_store())
        return opened[-1]

    yield open_one
    for store in opened:
        store.close()
    for kit in kits:
        kit.close()


@pytest.fixture
def sessions(open_store: OpenStore, clock: SettableClock) -> Sessions:
    return Sessions(open_store(), clock, POLICY, trusts=TRUSTED.__contains__)


def sha256(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


# -- idle timeout ------------------------------------------------------------------------


def test_a_session_resumes_within_the_idle_time_and_each_use_moves_the_deadline(
    sessions: Sessions, clock: SettableClock
) -> None:
    """Someone who keeps working is not signed out 15 minutes after signing in."""
    session_id, _ = sessions.start(SCHOOL, ISSUER)

    clock.advance(IDLE - timedelta(minutes=1))
    assert sessions.resume(session_id).principal == SCHOOL
    clock.advance(IDLE - timedelta(minutes=1))  # 28 minutes after the start, 14 after the last use

    resumed = sessions.resume(session_id)

    assert resumed.principal == SCHOOL
    assert resumed.last_seen == clock()
    assert resumed.idle_until(sessions.policy) == clock() + IDLE


def test_a_session_ends_after_the_idle_time_without_use(sessions: Sessions, clock: SettableClock) -> None:
    """A computer left signed in is signed out after 15 minutes (ASVS V3.3.2)."""
    session_id, _ = sessions.start(SCHOOL, ISSUER)
    clock.advance(IDLE - timedelta(seconds=1))
    sessions.resume(session_id)
    clock.advance(IDLE)

    with pytest.raises(SessionEndedError):
        sessions.resume(session_id)


def test_an_ended_session_stays_ended_when_asked_again(sessions: Sessions, clock: SettableClock) -> None:
    """Once timed out, going back to an earlier moment (or another process's clock) does not revive it."""
    session_id, _ = sessions.start(SCHOOL, ISSUER)
    clock.advance(IDLE)
    with pytest.raises(SessionEndedError):
        sessions.resume(session_id)

    clock.set(START + timedelta(minutes=1))

    with pytest.raises(SessionEndedError):
        sessions.resume(session_id)


def test_uses_closer_together_than_the_touch_interval_still_keep_the_session_alive(
    sessions: Sessions, clock: SettableClock
) -> None:
    """Last use is written at most every 30 s; the idle rule must still hold to within that."""
    session_id, _ = sessions.start(SCHOOL, ISSUER)
    used_at = START
    while clock() < START + 2 * IDLE:
        clock.advance(TOUCH_EVERY / 3)
        sessions.resume(session_id)
        used_at = clock()
    clock.set(used_at + IDLE - TOUCH_EVERY - timedelta(seconds=1))

    assert sessions.resume(session_id).principal == SCHOOL


# -- absolute timeout --------------------------------------------------------------------


def test_a_session_ends_at_its_absolute_end_even_when_used_every_few_minutes(
    sessions: Sessions, clock: SettableClock
) -> None:
    """However busy, a session lasts at most 8 hours: a stolen cookie is not good forever."""
    session_id, started = sessions.start(SCHOOL, ISSUER)
    assert started.expires_at == START + ABSOLUTE

    while clock() + timedelta(minutes=5) < START + ABSOLUTE:
        clock.advance(timedelta(minutes=5))
        assert sessions.resume(session_id).principal == SCHOOL
    clock.set(START + ABSOLUTE)

    with pytest.raises(SessionEndedError):
        sessions.resume(session_id)


def test_the_idle_deadline_never_reaches_past_the_absolute_end(sessions: Sessions, clock: SettableClock) -> None:
    """The page's "signed out at" shows the absolute end when that comes first."""
    session_id, _ = sessions.start(SCHOOL, ISSUER)
    while clock() < START + ABSOLUTE - timedelta(minutes=10):
        clock.advance(timedelta(minutes=10))
        resumed = sessions.resume(session_id)

    assert resumed.idle_until(sessions.policy) == START + ABSOLUTE


# -- sign-out and refusals -------------------------------------------------------------


def test_a_signed_out_session_cannot_be_resumed(open_store: OpenStore, clock: SettableClock) -> None:
    """Sign-out in one process ends the session for every process on the same store (ASVS V3.3.1)."""
    here = Sessions(open_store(), clock, POLICY, trusts=TRUSTED.__contains__)
    there = Sessions(open_store(), clock, POLICY, trusts=TRUSTED.__contains__)
    session_id, _ = here.start(SCHOOL, ISSUER)
    assert there.resume(session_id).principal == SCHOOL

    here.end(session_id)

    with pytest.raises(SessionEndedError):
        here.resume(session_id)
    with pytest.raises(SessionEndedError):
        there.resume(session_id)


def test_unknown_tampered_and_expired_ids_are_refused_alike(sessions: Sessions, clock: SettableClock) -> None:
    """The refusal does not tell a guessed id from one that was real once: no oracle."""
    live_id, _ = sessions.start(SCHOOL, ISSUER)
    expired_id, _ = sessions.start(GUARDIAN, ISSUER)
    clock.advance(timedelta(minutes=10))
    sessions.resume(live_id)
    clock.advance(timedelta(minutes=6))
    tampered = live_id[:-1] + ("A" if live_id[-1] != "A" else "B")
    refusals = []

    for candidate in (expired_id, tampered, "not-a-session-id", ""):
        with pytest.raises(SessionEndedError) as refused:
            sessions.resume(candidate)
        refusals.append((str(refused.value), refused.value.field))

    assert len(set(refusals)) == 1
    assert sessions.resume(live_id).principal == SCHOOL


def test_each_session_has_its_own_unguessable_id_and_csrf_token(sessions: Sessions) -> None:
    """256 random bits each (ASVS V3.2.2): no two starts share an id or an anti-forgery token."""
    started = [sessions.start(SCHOOL, ISSUER) for _ in range(20)]
    ids = {session_id for session_id, _ in started}
    tokens = {session.csrf_token for _, session in started}

    assert len(ids) == 20 and len(tokens) == 20
    assert not ids & tokens
    assert all(len(session_id) >= 43 for session_id in ids)  # 32 bytes in URL-safe base64


# -- the store -----------------------------------------------------------------------------


def test_the_store_drops_ended_sessions_when_a_new_one_starts(open_store: OpenStore, clock: SettableClock) -> None:
    """Ended sessions do not pile up, and a live one is not swept away with them."""
    store = open_store()
    sessions = Sessions(store, clock, POLICY, trusts=TRUSTED.__contains__)
    idle_id, _ = sessions.start(GUARDIAN, ISSUER)
    busy_id, _ = sessions.start(SCHOOL, ISSUER)
    clock.advance(timedelta(minutes=10))
    sessions.resume(busy_id)
    clock.advance(timedelta(minutes=6))
    assert store.get(sha256(idle_id)) is not None  # ended, but nobody has looked yet

    new_id, _ = sessions.start(SCHOOL, ISSUER)

    assert store.get(sha256(idle_id)) is None
    assert store.get(sha256(busy_id)) is not None
    assert store.get(sha256(new_id)) is not None


def test_the_store_drops_sessions_past_their_absolute_end_when_a_new_one_starts(
    open_store: OpenStore, clock: SettableClock
) -> None:
    store = open_store()
    sessions = Sessions(store, clock, SessionPolicy(idle=timedelta(hours=2), absolute=timedelta(hours=1)), trusts=TRUSTED.__contains__)
    old_id, _ = sessions.start(SCHOOL, ISSUER)
    clock.advance(timedelta(hours=1))

    sessions.start(GUARDIAN, ISSUER)

    assert store.get(sha256(old_id)) is None


@pytest.mark.parametrize("principal", [GUARDIAN, SCHOOL, staff("granskare.ystad")], ids=["guardian", "staff", "auditor"])
def test_the_principal_comes_back_equal_from_another_connection(
    principal: Principal, open_store: OpenStore, clock: SettableClock
) -> None:
    """A guardian keeps their party id, staff their unit and every role: access decisions
    under a session are the same as under the token."""
    session_id, _ = Sessions(open_store(), clock, POLICY, trusts=TRUSTED.__contains__).start(principal, ISSUER)
    clock.advance(TOUCH_EVERY)

    resumed = Sessions(open_store(), clock, POLICY, trusts=TRUSTED.__contains__).resume(session_id)

    assert resumed.principal == principal
    assert resumed.started_at == START
    assert resumed.expires_at == START + ABSOLUTE


def test_csrf_matches_only_the_exact_token(sessions: Sessions) -> None:
    _, session = sessions.start(SCHOOL, ISSUER)
    _, other = sessions.start(SCHOOL, ISSUER)
    token = session.csrf_token

    assert session.csrf_matches(token)
    for offered in (None, "", token[:-1], token + "x", token.upper() if token.upper() != token else token.lower(),
                    " " + token, other.csrf_token):
        assert not session.csrf_matches(offered), offered


# -- nothing usable at rest ------------------------------------------------------------------


def _sqlite_contents(data_dir: Path) -> str:
    """Every byte of the session database, the write-ahead log included, and every row as text."""
    raw = b"".join(p.read_bytes() for p in data_dir.glob(SESSIONS_DB + "*"))
    with sqlite3.connect(data_dir / SESSIONS_DB) as db:
        rows = db.execute("SELECT * FROM web_sessions").fetchall()
    return raw.decode("latin-1") + repr(rows)


def _postgres_contents(schema: str) -> str:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        rows = db.execute(sql.SQL("SELECT * FROM {0}").format(sql.Identifier(schema, "web_sessions"))).fetchall()
    return repr(rows)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_store_holds_no_session_id_in_the_clear(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock, memory_runtime: Runtime
) -> None:
    """A copy of the database resumes nobody's session: only the id's SHA-256 is kept, and
    a guardian is kept by their blind id, never their personnummer."""
    settings = _settings(kind, tmp_path, request)
    guardian = family(memory_runtime, GUARDIAN_1_PNR)
    kit = store_kit(settings)
    store = kit.session_store()
    try:
        sessions = Sessions(store, clock, POLICY, trusts=TRUSTED.__contains__)
        ids = [sessions.start(guardian, ISSUER)[0], sessions.start(SCHOOL, ISSUER)[0]]
        clock.advance(TOUCH_EVERY)
        sessions.resume(ids[0])
        if kind == "sqlite":
            contents = _sqlite_contents(tmp_path)
        else:
            contents = _postgres_contents(PostgresConfig.from_url(settings.database_url or "").schema)
    finally:
        store.close()
        kit.close()

    assert SCHOOL.user_id in contents and guardian.user_id in contents  # the scan sees what was written
    for session_id in ids:
        assert sha256(session_id) in contents
        assert session_id not in contents
    assert GUARDIAN_1_PNR not in contents


def test_a_policy_refuses_timeouts_that_are_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SessionPolicy(idle=timedelta(0))
    with pytest.raises(ValueError, match="positive"):
        SessionPolicy(absolute=timedelta(minutes=-1))


# -- bound to the issuer and mode that started them ----------------------------------------


def test_a_session_started_in_demo_mode_ends_once_the_hub_runs_outside_demo_mode(
    open_store: OpenStore, clock: SettableClock
) -> None:
    """The demo signs anyone in without credentials; its sessions must not survive into
    ``backa serve`` on the same folder, even from an issuer both trust."""
    demo = Sessions(open_store(), clock, POLICY, demo_mode=True, trusts=TRUSTED.__contains__)
    session_id, started = demo.start(SCHOOL, ISSUER)
    assert started.demo and started.issuer == ISSUER
    served = Sessions(open_store(), clock, POLICY, demo_mode=False, trusts=TRUSTED.__contains__)

    with pytest.raises(SessionEndedError):
        served.resume(session_id)
    with pytest.raises(SessionEndedError):
        demo.resume(session_id)  # ended, not merely hidden


def test_a_session_started_outside_demo_mode_lives_on_in_either_mode(open_store: OpenStore, clock: SettableClock) -> None:
    served = Sessions(open_store(), clock, POLICY, demo_mode=False, trusts=TRUSTED.__contains__)
    session_id, started = served.start(SCHOOL, ISSUER)

    assert not started.demo
    assert Sessions(open_store(), clock, POLICY, demo_mode=True, trusts=TRUSTED.__contains__).resume(session_id).issuer == ISSUER


def test_a_session_ends_when_its_issuer_is_no_longer_trusted(open_store: OpenStore, clock: SettableClock) -> None:
    trusted = {ISSUER}
    sessions = Sessions(open_store(), clock, POLICY, trusts=trusted.__contains__)
    session_id, _ = sessions.start(SCHOOL, ISSUER)
    assert sessions.resume(session_id).principal == SCHOOL

    trusted.clear()  # the issuer was taken out of the issuers file

    with pytest.raises(SessionEndedError):
        sessions.resume(session_id)


def test_without_being_told_whom_to_trust_sessions_resume_nobody(open_store: OpenStore, clock: SettableClock) -> None:
    sessions = Sessions(open_store(), clock, POLICY)
    session_id, _ = sessions.start(SCHOOL, ISSUER)

    with pytest.raises(SessionEndedError):
        sessions.resume(session_id)


def test_a_new_sign_in_ends_the_session_the_browser_held(open_store: OpenStore, clock: SettableClock) -> None:
    sessions = Sessions(open_store(), clock, POLICY, trusts=TRUSTED.__contains__)
    earlier, _ = sessions.start(SCHOOL, ISSUER)
    other_browser, _ = sessions.start(SCHOOL, ISSUER)

    later, _ = sessions.start(GUARDIAN, ISSUER, replacing=earlier)

    with pytest.raises(SessionEndedError):
        Sessions(open_store(), clock, POLICY, trusts=TRUSTED.__contains__).resume(earlier)
    assert sessions.resume(later).principal == GUARDIAN
    assert sessions.resume(other_browser).principal == SCHOOL


OLD_TABLE = (
    "CREATE TABLE {t} (key TEXT PRIMARY KEY, principal TEXT NOT NULL, csrf TEXT NOT NULL, "
    "started_at TEXT NOT NULL, last_seen TEXT NOT NULL, expires_at TEXT NOT NULL)"
)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_store_from_before_sessions_recorded_their_origin_is_upgraded_and_its_sessions_end(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock
) -> None:
    """The columns are added in place; a session stored without them cannot say where it
    came from, so it is not resumed, and new sessions work as before."""
    settings = _settings(kind, tmp_path, request)
    old_id = "an-id-from-before"
    row = (sha256(old_id), '{"kind":"staff","tenant_id":"ystad","user_id":"rektor.ostra","roles":["barnkontakt"],'
           '"unit_id":"skola-ostra","party_id":null}', "csrf", "2026-01-01T00:00:00.000000+00:00",
           "2026-01-01T00:00:00.000000+00:00", "2999-01-01T00:00:00.000000+00:00")
    if kind == "sqlite":
        with sqlite3.connect(tmp_path / SESSIONS_DB) as db:
            db.execute(OLD_TABLE.format(t="web_sessions"))
            db.execute("INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?, ?)", row)
    else:
        schema = PostgresConfig.from_url(settings.database_url or "").schema
        with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
            table = sql.Identifier(schema, "web_sessions")
            db.execute(sql.SQL(OLD_TABLE).format(t=table))
            db.execute(sql.SQL("INSERT INTO {t} VALUES (%s, %s, %s, %s, %s, %s)").format(t=table), row)
    kit = store_kit(settings)
    store = kit.session_store()
    try:
        sessions = Sessions(store, clock, SessionPolicy(timedelta(days=3650), timedelta(days=3650)),
                            demo_mode=True, trusts=lambda issuer: True)
        with pytest.raises(SessionEndedError):
            sessions.resume(old_id)
        new_id, _ = sessions.start(SCHOOL, ISSUER)
        assert sessions.resume(new_id).issuer == ISSUER
    finally:
        store.close()
        kit.close()


# -- the sign-in forms' token ------------------------------------------------------------------


def test_a_sign_in_form_token_fits_only_the_pre_session_it_was_made_for(clock: SettableClock) -> None:
    key = b"k" * 32
    sessions = Sessions(MemorySessionStore(), clock, POLICY, form_key=key)
    token = sessions.sign_in_token("browser-a")

    assert sessions.sign_in_token_matches("browser-a", token)
    assert Sessions(MemorySessionStore(), clock, POLICY, form_key=key).sign_in_token_matches("browser-a", token)
    for pre_session, offered in [
        ("browser-b", token), ("browser-a", None), (None, token), ("browser-a", ""), ("browser-a", token[:-1]),
        ("browser-a", sessions.sign_in_token("browser-b")),
    ]:
        assert not sessions.sign_in_token_matches(pre_session, offered), (pre_session, offered)
    assert not Sessions(MemorySessionStore(), clock, POLICY, form_key=b"x" * 32).sign_in_token_matches("browser-a", token)
