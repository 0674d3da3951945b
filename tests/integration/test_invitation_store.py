"""The digital conversation's lookup of links and codes, on each store kind: two stores on one
SQLite file or one PostgreSQL schema stand for two processes of a hub."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from psycopg_pool import ConnectionPool

from adapters.migrations import migrate_postgres, migrate_sqlite
from hub.identity.invitation_store import (
    InvitationEntry,
    InvitationStore,
    MemoryInvitationStore,
    PostgresInvitationStore,
    SQLiteInvitationStore,
)
from hub.runtime.migrations import POSTGRES, SQLITE_SESSIONS
from tests.conftest import POSTGRES_URL

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHILD = UUID("00000000-0000-4000-8000-00000000c0de")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], InvitationStore]]:
    """Makes stores of one kind that share what they keep (in memory: one store)."""
    made: list[InvitationStore] = []
    pools: list[ConnectionPool[Any]] = []
    memory = MemoryInvitationStore()

    def make() -> InvitationStore:
        if request.param == "memory":
            return memory
        if request.param == "sqlite":
            migrate_sqlite(tmp_path / "sessions.sqlite", SQLITE_SESSIONS)  # as the store kit does first
            store: InvitationStore = SQLiteInvitationStore(tmp_path / "sessions.sqlite")
        else:
            pool: ConnectionPool[Any] = ConnectionPool(POSTGRES_URL, min_size=1, max_size=4, timeout=5, open=True)
            pools.append(pool)
            migrate_postgres(POSTGRES_URL, request.getfixturevalue("pg_schema"), POSTGRES)
            store = PostgresInvitationStore(pool, request.getfixturevalue("pg_schema"))
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
    for pool in pools:
        pool.close()


def entry(invitation_id: str = "inv-1", days: int = 14) -> InvitationEntry:
    return InvitationEntry("ystad", CHILD, invitation_id, AT + timedelta(days=days))


def test_a_link_or_code_added_by_one_process_is_found_by_another(stores: Callable[[], InvitationStore]) -> None:
    first, second = stores(), stores()

    first.add(("code-digest", "link-digest"), entry())

    assert second.find("code-digest") == entry()
    assert second.find("link-digest") == entry()
    assert second.find("another-digest") is None


def test_an_answered_or_withdrawn_invitation_is_forgotten_with_both_of_its_ways_in(stores: Callable[[], InvitationStore]) -> None:
    store = stores()
    store.add(("code-1", "link-1"), entry("inv-1"))
    store.add(("code-2", "link-2"), entry("inv-2"))

    store.remove("inv-1")

    assert store.find("code-1") is None and store.find("link-1") is None
    assert store.find("code-2") == entry("inv-2")


def test_a_sweep_forgets_the_invitations_that_ended(stores: Callable[[], InvitationStore]) -> None:
    store = stores()
    store.add(("short",), entry("inv-1", days=2))
    store.add(("long",), entry("inv-2", days=14))

    removed = store.sweep(AT + timedelta(days=2))

    assert removed == 1
    assert store.find("short") is None and store.find("long") == entry("inv-2", days=14)


def test_the_store_keeps_digests_and_never_a_code_or_a_name(tmp_path: Path) -> None:
    """What a copy of the table holds: digests, the area, the child's pseudonymous id and the invitation."""
    import sqlite3

    migrate_sqlite(tmp_path / "sessions.sqlite", SQLITE_SESSIONS)
    store = SQLiteInvitationStore(tmp_path / "sessions.sqlite")
    store.add(("d1",), entry())
    store.close()
    rows = sqlite3.connect(tmp_path / "sessions.sqlite").execute("SELECT * FROM conversation_invitations").fetchall()
    assert rows == [("d1", "ystad", str(CHILD), "inv-1", "2026-03-16T09:00:00.000000+00:00")]


def test_a_hub_on_each_store_kind_takes_an_answer_once_by_its_code(runtime: Any) -> None:
    from hub.application.surveys import InvitationNotValidError
    from tests.conftest import register_child
    from tests.factories import card_payload, staff

    hub = runtime.hub
    child = register_child(runtime)
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")
    made = hub.invite_to_conversation(staff("rektor.ostra"), child, with_whom="child", age_group="10-12")

    assert hub.open_conversation_invitation(made.code).greeting_name == "Alva"
    hub.answer_conversation_invitation(made.code, views=[{"area": "fritid", "view": "Fotboll"}])

    with pytest.raises(InvitationNotValidError):
        hub.answer_conversation_invitation(made.link_secret, views=[{"area": "fritid", "view": "Igen"}])
    assert hub.invitations.find(hub.blind_index.digest("conversation-link", made.link_secret)) is None
