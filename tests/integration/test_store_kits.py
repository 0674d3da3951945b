"""One store kind per hub: every store lives where its kind says, and the relay reads the
log with a root of its own that builds no views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from adapters.relay_store import RelayPosition
from hub.identity.tokens import DEMO_ISSUER
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.relay import RelayConfigError, build_relay, log_reader, relay_root
from hub.runtime.settings import Settings
from tests.conftest import POSTGRES_URL, postgres_url, register_child
from tests.factories import card_payload, directory, staff
from tests.nats_server import keys

__all__ = ["keys"]

NOT_VIEWS = {
    "backa_events", "directory_events", "child_keys", "web_sessions", "rate_limits", "relay_position", "relay_sent", "relay_held",
    "oidc_pending", "oidc_signed_in", "oidc_logout_tokens", "conversation_invitations",
    "schema_migrations", "schema_migrations_log", "schema_migrations_version", "schema_migrations_lock",
}
"""The tables of a hub's schema that are not views."""


def settings_for(kind: str, tmp_path: Path, request: pytest.FixtureRequest, keys_dir: Path) -> Settings:
    url = postgres_url(request.getfixturevalue("pg_schema")) if kind == "postgres" else None
    return Settings(
        store=kind,  # type: ignore[arg-type]
        database_url=url,
        data_dir=tmp_path / "data",
        demo_mode=True,
        nats_url="nats://127.0.0.1:1",  # the relay is built and asked to plan, never connected
        unit_keys_dir=keys_dir,
    )


def schema_tables(settings: Settings) -> set[str]:
    schema = (settings.database_url or "").split("schema=")[1].split("&")[0]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        rows = db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)).fetchall()
    return {str(r[0]) for r in rows}


def drop_views(settings: Settings) -> None:
    """Take every view away, as if the relay ran beside a hub that never built them."""
    if settings.database_url is None:
        for path in settings.data_dir.glob("view_*.sqlite*"):
            path.unlink()
        return
    schema = settings.database_url.split("schema=")[1].split("&")[0]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as db:
        for table in schema_tables(settings) - NOT_VIEWS:
            db.execute(sql.SQL("DROP TABLE {0}").format(sql.Identifier(schema, table)))


def views_present(settings: Settings) -> list[str]:
    if settings.database_url is None:
        return sorted(p.name for p in settings.data_dir.glob("view_*.sqlite"))
    return sorted(schema_tables(settings) - NOT_VIEWS)


def some_process(rt: Runtime) -> None:
    """A child registered, discovered by the police and taken up by the school."""
    child = register_child(rt)
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))  # type: ignore[arg-type]
    rt.hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")  # type: ignore[arg-type]


def planned(root: Any) -> list[tuple[str, str]]:
    relay = build_relay(root, listen=False)
    try:
        return sorted((d.subject, d.msg_id) for d in relay.plan(log_reader(relay_log(root))(0, 100_000), complete=True))
    finally:
        relay.positions.close()  # type: ignore[attr-defined]


def relay_log(root: Any) -> Any:
    return root.hub if isinstance(root, Runtime) else root


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_relays_own_root_plans_what_the_hub_would_and_builds_no_views(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock, keys: Path
) -> None:
    settings = settings_for(kind, tmp_path, request, keys)
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        some_process(rt)
        expected = planned(rt)
    finally:
        rt.close()
    assert expected, "the process makes deliveries"
    drop_views(settings)
    assert views_present(settings) == []

    root = relay_root(settings, clock=clock, directory=directory())
    try:
        assert planned(root) == expected, "the sealed facts are opened and decided as the hub would"
        assert views_present(settings) == [], "the relay built no view and replayed nothing into one"
    finally:
        root.close()


def test_the_relay_refuses_a_memory_store_whose_log_it_cannot_reach(tmp_path: Path) -> None:
    with pytest.raises(RelayConfigError, match="memory"):
        relay_root(Settings(store="memory", nats_url="nats://127.0.0.1:1", unit_keys_dir=tmp_path))


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_every_store_lives_where_the_hubs_store_kind_says(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock, keys: Path
) -> None:
    settings = settings_for(kind, tmp_path, request, keys)
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        some_process(rt)
        assert rt.sessions is not None
        session_id, _ = rt.sessions.start(staff("rektor.ostra"), DEMO_ISSUER)
        relay = build_relay(rt, listen=False)
        relay.positions.save(RelayPosition(position=3, stream_seq=2))
        relay.positions.close()  # type: ignore[attr-defined]
        assert rt.sessions.resume(session_id).principal == staff("rektor.ostra")
    finally:
        rt.close()
    files = {p.name for p in settings.data_dir.glob("*.sqlite")}
    if kind == "memory":
        assert files == {"relay_position.sqlite"}, "only the relay's place outlives a memory hub"
    elif kind == "sqlite":
        assert {"events.sqlite", "child_keys.sqlite", "sessions.sqlite", "relay_position.sqlite"} <= files
        assert {"view_child_record.sqlite", "view_case_list.sqlite", "view_access_log.sqlite", "view_term_figures.sqlite"} <= files
    else:
        assert files == set(), "a PostgreSQL hub keeps nothing in SQLite files"
        tables = schema_tables(settings)
        assert NOT_VIEWS <= tables and len(tables - NOT_VIEWS) >= 4


def test_on_postgresql_every_store_of_the_process_shares_one_pool(
    tmp_path: Path, request: pytest.FixtureRequest, clock: SettableClock, keys: Path
) -> None:
    """One pool for the log, the views, the children's keys, the sessions, the sign-ins and
    the rate limits, and it is the pool the checker replaces broken connections of."""
    settings = settings_for("postgres", tmp_path, request, keys)
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        assert rt.kit is not None and rt.keys is not None and rt.sessions is not None
        assert rt.sign_ins is not None and rt.throttle is not None
        (shared,) = rt.kit.pools()
        assert rt.hub.recorder.datastore.pool is shared  # type: ignore[attr-defined]
        for view in rt.hub.views.all():
            assert view.store.database.datastore.pool is shared  # type: ignore[attr-defined]
        assert rt.keys.store._pool is shared  # type: ignore[attr-defined]
        assert rt.sessions.store._pool is shared  # type: ignore[attr-defined]
        assert rt.sign_ins._pool is shared  # type: ignore[attr-defined]
        assert rt.throttle.storage._pool is shared  # type: ignore[attr-defined]
        assert rt.hub.on_store_error.pools == [shared]  # type: ignore[attr-defined]
        some_process(rt)
    finally:
        rt.close()
    assert shared.closed, "closing the hub closes the pool"
