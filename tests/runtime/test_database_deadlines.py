"""Every PostgreSQL connection of a hub process comes from one pool and carries deadlines,
each set by the database URL: a slow statement is cancelled, an answer that never comes
is given up, a dry pool is "try again later", never a wait for ever."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from psycopg import sql

from hub.errors import StoreUnavailableError
from hub.keys.child_keys import ChildKeySealer
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.pg_pool import AnswerTimeoutError, timed_out
from hub.runtime.settings import Settings
from hub.runtime.stores import PostgresConfig, PostgresKit, StoreKit, store_kit
from tests.conftest import POSTGRES_URL, postgres_url, register_child
from tests.factories import GUARDIAN_1_PNR, TENANT, directory, staff

BASE = "postgresql://hub:secret@db.example:5433/backa"
OTHER_CHILD_PNR = "201103202386"


def test_the_url_sets_every_deadline_and_the_defaults_are_finite() -> None:
    default = PostgresConfig.from_url(BASE)
    assert (default.statement_timeout, default.idle_in_transaction_session_timeout, default.pool_timeout) == (15.0, 60.0, 5.0)
    assert default.keepalives and (default.keepalives_idle, default.keepalives_interval, default.keepalives_count) == (10, 5, 3)
    assert default.tcp_user_timeout == 15_000 and default.connect_timeout == 5
    assert default.answer_timeout == default.statement_timeout + PostgresConfig.ANSWER_GRACE

    tuned = PostgresConfig.from_url(
        f"{BASE}?statement_timeout=2.5&idle_in_transaction_session_timeout=7&pool_timeout=0.5&connect_timeout=3"
        "&keepalives=0&keepalives_idle=4&keepalives_interval=2&keepalives_count=6&tcp_user_timeout=9000"
    )
    kwargs = tuned.connect_kwargs()
    assert kwargs["options"] == "-c statement_timeout=2500 -c idle_in_transaction_session_timeout=7000"
    assert (kwargs["keepalives"], kwargs["keepalives_idle"], kwargs["keepalives_interval"], kwargs["keepalives_count"]) == (0, 4, 2, 6)
    assert (kwargs["tcp_user_timeout"], kwargs["connect_timeout"]) == (9000, 3)
    assert tuned.pool_timeout == 0.5
    assert "keepalives_idle=4" in tuned.conninfo() and "statement_timeout=2500" in tuned.conninfo()


@pytest.mark.parametrize(
    "option", ["statement_timeout=0", "pool_timeout=-1", "tcp_user_timeout=0", "keepalives_count=0", "keepalives_idle=x",
               "idle_in_transaction_session_timeout=-5", "keepalives=maybe"],
)
def test_a_deadline_that_would_wait_for_ever_or_is_not_a_number_is_refused(option: str) -> None:
    with pytest.raises(ValueError, match="database URL") as refused:
        PostgresConfig.from_url(f"{BASE}?{option}")
    assert "secret" not in str(refused.value)


@pytest.fixture
def kit_for(pg_schema: str, tmp_path: Path) -> Iterator[Callable[[str], PostgresKit]]:
    kits: list[StoreKit] = []

    def make(options: str) -> PostgresKit:
        url = postgres_url(pg_schema) + (f"&{options}" if options else "")
        kit = store_kit(Settings(store="postgres", database_url=url, data_dir=tmp_path / "data"))
        kits.append(kit)
        assert isinstance(kit, PostgresKit)
        return kit

    yield make
    for kit in kits:
        kit.close()


def shown(conn: Any, setting: str) -> str:
    return str(conn.execute(sql.SQL("SHOW {0}").format(sql.Identifier(setting))).fetchone()[setting])


@pytest.mark.parametrize(
    ("options", "server", "client"),
    [
        ("", {"statement_timeout": "15s", "idle_in_transaction_session_timeout": "1min"},
         {"keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "5", "keepalives_count": "3", "tcp_user_timeout": "15000"}),
        ("statement_timeout=3&idle_in_transaction_session_timeout=4&keepalives_idle=7&keepalives_interval=2&keepalives_count=5&tcp_user_timeout=4000",
         {"statement_timeout": "3s", "idle_in_transaction_session_timeout": "4s"},
         {"keepalives_idle": "7", "keepalives_interval": "2", "keepalives_count": "5", "tcp_user_timeout": "4000"}),
    ],
)
def test_every_connection_of_the_pool_is_made_with_the_urls_deadlines(
    kit_for: Callable[[str], PostgresKit], options: str, server: dict[str, str], client: dict[str, str]
) -> None:
    kit = kit_for(options)
    with kit.pool.connection() as conn:
        assert {name: shown(conn, name) for name in server} == server
        parameters = conn.info.get_parameters()
        assert {name: parameters.get(name) for name in client} == client


def test_a_statement_that_runs_past_statement_timeout_is_cancelled_and_the_store_says_unavailable(
    kit_for: Callable[[str], PostgresKit],
) -> None:
    kit = kit_for("statement_timeout=1")
    with pytest.raises(psycopg.errors.QueryCanceled) as cancelled, kit.pool.connection() as conn:
        conn.execute("SELECT pg_sleep(30)")
    assert timed_out(cancelled.value), "a read of the log is not tried again after a deadline"
    with kit.pool.connection() as conn:
        assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}, "the pool serves on"


def test_an_answer_that_does_not_come_is_given_up_and_its_connection_replaced(kit_for: Callable[[str], PostgresKit]) -> None:
    """The server's own cancellation switched off, as a frozen server would never send it:
    the client stops waiting past the deadline and closes the connection."""
    kit = kit_for("statement_timeout=1")
    with pytest.raises(AnswerTimeoutError) as given_up, kit.pool.connection() as conn:
        conn.execute("SET statement_timeout = 0")
        conn.execute("SELECT pg_sleep(60)")
    assert conn.closed and timed_out(given_up.value)
    with kit.pool.connection() as again:
        assert again is not conn and again.execute("SELECT 1 AS one").fetchone() == {"one": 1}


def test_a_request_for_a_connection_of_a_dry_pool_is_told_the_store_is_unavailable(
    kit_for: Callable[[str], PostgresKit],
) -> None:
    kit = kit_for("pool_size=1&max_overflow=0&pool_timeout=1")
    sessions, keys = kit.session_store(), kit.key_store()
    with kit.pool.connection():  # every connection of the pool is busy
        with pytest.raises(StoreUnavailableError):
            sessions.get("no-such-session")
        with pytest.raises(OperationalError):
            keys.destroy(uuid4())  # a write takes a connection of its own
    assert sessions.get("no-such-session") is None, "once a connection is free the store answers"


def test_the_sealed_views_work_on_a_pool_of_one_connection(
    pg_schema: str, tmp_path: Path, clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view seals its rows under the children's keys inside its transaction. With room for
    one key in the cache, a page of two children's facts needs a key looked up there: the
    look-up uses that transaction's connection, so even a pool of one never waits on itself."""
    monkeypatch.setattr(ChildKeySealer.__init__, "__kwdefaults__", {**(ChildKeySealer.__init__.__kwdefaults__ or {}), "cache_size": 1})
    url = postgres_url(pg_schema) + "&pool_size=1&max_overflow=0&pool_timeout=2"
    settings = Settings(
        store="postgres", database_url=url, data_dir=tmp_path / "data", demo_mode=True, encrypt_log=True, views_poll_seconds=60
    )
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        assert rt.keys is not None and rt.keys.cache_size == 1
        register_child(rt)
        rt.hub.register_child(
            staff("larare.ostra"), personnummer=OTHER_CHILD_PNR, given_name="Nils", family_name="Berg",
            guardians=[{"name": "Eva Berg", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
        )
        rt.hub.follower.catch_up()
        assert len(rt.hub.views.cases.documents(TENANT)) == 2
    finally:
        rt.close()


@pytest.fixture
def new_schema() -> Iterator[str]:
    """A schema name nobody made yet; dropped after the test."""
    name = f"backa_new_{uuid4().hex[:12]}"
    yield name
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(sql.Identifier(name)))


def test_processes_started_together_on_a_new_schema_all_start_with_the_log_sealed(
    new_schema: str, tmp_path: Path, clock: SettableClock
) -> None:
    """Several processes of the hub (workers, the relay) start at once on a schema that does
    not exist yet, each making the schema, the key table and the others: all of them start."""
    failures: list[str] = []

    def start(n: int) -> None:
        settings = Settings(
            store="postgres", database_url=postgres_url(new_schema), data_dir=tmp_path / f"hub{n}", demo_mode=True, encrypt_log=True
        )
        try:
            bootstrap(settings, clock=clock, directory=directory()).close()
        except Exception as e:  # noqa: BLE001 - each start's failure is the test's finding
            failures.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=start, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        tables = {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (new_schema,))}
    assert {"child_keys", "backa_events"} <= tables


def test_the_relays_position_store_has_the_hubs_deadlines_and_gives_up_an_answer_that_does_not_come(
    kit_for: Callable[[str], PostgresKit],
) -> None:
    """The relay keeps its place in its own connections, apart from the pool: they carry
    the URL's deadlines too, and one whose answer does not come is given up and made anew."""
    store = kit_for("statement_timeout=1&keepalives_idle=7&tcp_user_timeout=4000").position_store()
    try:
        conn = store._db  # type: ignore[attr-defined]
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "1s"
        assert {k: conn.info.get_parameters().get(k) for k in ("keepalives_idle", "tcp_user_timeout")} == {
            "keepalives_idle": "7", "tcp_user_timeout": "4000"
        }
        conn.execute("SET statement_timeout = 0")  # as a frozen server would never cancel it
        with pytest.raises(AnswerTimeoutError):
            conn.execute("SELECT pg_sleep(60)")
        assert store.load().position == 0, "the store made a new connection and answers again"

        assert store.hold("relay")
        lock = store._lock  # type: ignore[attr-defined]
        lock.execute("SET statement_timeout = 0")
        with pytest.raises(AnswerTimeoutError):
            lock.execute("SELECT pg_sleep(60)")
        assert lock.closed, "the lock's connection was given up, not waited on for ever"
    finally:
        store.close()  # type: ignore[attr-defined]
