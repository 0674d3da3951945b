"""The store of OpenID Connect sign-ins, on each store kind: two stores on one SQLite file
or one PostgreSQL schema stand for two processes of a hub."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import ConnectionPool

from adapters.migrations import migrate_postgres, migrate_sqlite
from hub.identity.sign_in_store import (
    MemorySignInStore,
    PendingSignIn,
    PostgresSignInStore,
    SignedInSession,
    SignInStore,
    SQLiteSignInStore,
)
from hub.runtime.migrations import POSTGRES, SQLITE_SESSIONS
from tests.conftest import POSTGRES_URL

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], SignInStore]]:
    """Makes stores of one kind that share what they keep (in memory: one store)."""
    made: list[SignInStore] = []
    pools: list[ConnectionPool[Any]] = []
    memory = MemorySignInStore()

    def make() -> SignInStore:
        if request.param == "memory":
            return memory
        if request.param == "sqlite":
            migrate_sqlite(tmp_path / "sessions.sqlite", SQLITE_SESSIONS)  # as the store kit does first
            store: SignInStore = SQLiteSignInStore(tmp_path / "sessions.sqlite")
        else:
            pool: ConnectionPool[Any] = ConnectionPool(POSTGRES_URL, min_size=1, max_size=4, timeout=5, open=True)
            pools.append(pool)
            migrate_postgres(POSTGRES_URL, request.getfixturevalue("pg_schema"), POSTGRES)
            store = PostgresSignInStore(pool, request.getfixturevalue("pg_schema"))
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
    for pool in pools:
        pool.close()


def pending(browser: str = "browser-digest", at: datetime = AT) -> PendingSignIn:
    return PendingSignIn("https://idp.example", browser, "the-nonce", "the-verifier", "https://hub/cb", "/staff", at)


def test_of_many_processes_taking_one_sign_in_at_once_exactly_one_gets_it(stores: Callable[[], SignInStore]) -> None:
    first, second = stores(), stores()
    first.add_pending("state-digest", pending())
    got: list[PendingSignIn | None] = []
    start = threading.Barrier(8)

    def take(store: SignInStore) -> None:
        start.wait()
        got.append(store.take_pending("state-digest", "browser-digest"))

    threads = [threading.Thread(target=take, args=(s,)) for s in (first, second) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    taken = [g for g in got if g is not None]
    assert len(got) == 8 and len(taken) == 1
    assert taken[0] == pending(), "nonce, verifier and where to go next come back as stored"


def test_another_browser_cannot_take_a_sign_in_and_leaves_it_in_place(stores: Callable[[], SignInStore]) -> None:
    first, second = stores(), stores()
    first.add_pending("state-digest", pending())

    assert second.take_pending("state-digest", "another-browser") is None
    assert second.has_pending("state-digest")
    assert second.take_pending("state-digest", "browser-digest") is not None
    assert not first.has_pending("state-digest")


def test_a_sweep_drops_old_sign_ins_ended_sessions_and_outlived_logout_tokens(stores: Callable[[], SignInStore]) -> None:
    first, second = stores(), stores()
    first.add_pending("old", pending(at=AT))
    first.add_pending("fresh", pending(at=AT + timedelta(minutes=5)))
    first.remember("ended", SignedInSession("https://idp.example", None, "sub", "sealed", AT + timedelta(minutes=1)))
    first.remember("live", SignedInSession("https://idp.example", None, "sub", "sealed", AT + timedelta(hours=8)))
    assert first.first_use("jti-old", AT + timedelta(minutes=1)) and first.first_use("jti-live", AT + timedelta(hours=1))

    now = AT + timedelta(minutes=11)
    second.sweep(now, now - timedelta(minutes=10))

    assert not first.has_pending("old") and first.has_pending("fresh")
    assert first.forget("ended") is None and first.forget("live") is not None
    assert first.first_use("jti-old", now + timedelta(hours=1)), "an outlived token's record is gone"
    assert not first.first_use("jti-live", now + timedelta(hours=1))


def test_a_logout_ends_the_sessions_of_its_sid_or_its_subject_at_its_issuer_only(stores: Callable[[], SignInStore]) -> None:
    first, second = stores(), stores()
    until = AT + timedelta(hours=8)
    first.remember("s1", SignedInSession("https://idp.example", "sid-1", "anna", "t", until))
    first.remember("s2", SignedInSession("https://idp.example", "sid-2", "anna", "t", until))
    first.remember("s3", SignedInSession("https://idp.example", "sid-3", "bert", "t", until))
    first.remember("s4", SignedInSession("https://other.example", "sid-1", "anna", "t", until))

    assert second.logged_out("https://idp.example", "sid-1", None) == ["s1"]
    assert second.logged_out("https://idp.example", "sid-3", "anna") == []
    assert sorted(second.logged_out("https://idp.example", None, "anna")) == ["s2"]
    assert first.forget("s3") is not None and first.forget("s4") is not None


def test_a_logout_token_is_used_once_across_processes(stores: Callable[[], SignInStore]) -> None:
    first, second = stores(), stores()

    assert first.first_use("jti", AT + timedelta(hours=1))
    assert not second.first_use("jti", AT + timedelta(hours=1))
