"""Fixtures every layer shares: a clock the test moves, and the hub built by ``bootstrap``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from hub.identity.principals import Principal
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, START, TENANT, EveryNamedGuardian, directory, staff


@pytest.fixture(autouse=True, scope="session")
def guardians_confirmed_by_default() -> Iterator[None]:
    """A hub built in a test without a population register of its own has one that confirms
    every guardian named (a hub outside the tests has none, and confirms nobody). A test
    that names a register file, or passes a register, gets that one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("hub.runtime.bootstrap.unconfigured_register", EveryNamedGuardian)
        yield


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


POSTGRES_URL = os.environ.get("BACKA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
"""The PostgreSQL the tests use; each test gets a schema of its own there, dropped after."""
TEST_POOL = "pool_size=2&max_overflow=4&connect_timeout=2"


def postgres_url(schema: str, *, host: str | None = None, port: int | None = None) -> str:
    """``BACKA_DATABASE_URL`` for ``schema`` in the test database, optionally through another address."""
    parts = urlsplit(POSTGRES_URL)
    netloc = parts.netloc
    if host is not None or port is not None:
        auth = netloc.rsplit("@", 1)[0] + "@" if "@" in netloc else ""
        netloc = f"{auth}{host or parts.hostname}:{port or parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, parts.path, f"schema={schema}&{TEST_POOL}", ""))


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        # A missing service is a failure, never a skip, in CI and everywhere else.
        pytest.fail(f"PostgreSQL at {urlsplit(POSTGRES_URL).hostname}:{urlsplit(POSTGRES_URL).port} cannot be reached: {e}")


@pytest.fixture
def pg_schemas() -> Iterator[Callable[[], str]]:
    """Makes fresh, empty schemas in the test database; they and everything in them are dropped after the test."""
    made: list[str] = []

    def new_schema() -> str:
        name = f"backa_test_{uuid4().hex[:12]}"
        with _admin() as db:
            db.execute(sql.SQL("CREATE SCHEMA {0}").format(sql.Identifier(name)))
        made.append(name)
        return name

    yield new_schema
    if made:
        with _admin() as db:
            for name in made:
                db.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def pg_schema(pg_schemas: Callable[[], str]) -> str:
    """A fresh, empty schema in the test database, dropped after the test."""
    return pg_schemas()


def make_settings(store: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if store == "postgres":
        schema = request.getfixturevalue("pg_schema")
        return Settings(store="postgres", database_url=postgres_url(schema), data_dir=tmp_path / "data", demo_mode=True)
    return Settings(store=store, data_dir=tmp_path / "data", demo_mode=True)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def runtime(request: pytest.FixtureRequest, clock: SettableClock, tmp_path: Path) -> Iterator[Runtime]:
    """The hub in demo mode on the in-memory store, on an SQLite file, and in a PostgreSQL schema of its own."""
    rt = bootstrap(make_settings(request.param, tmp_path, request), clock=clock, directory=directory())
    yield rt
    rt.close()


@pytest.fixture
def memory_runtime(clock: SettableClock) -> Iterator[Runtime]:
    rt = bootstrap(Settings(store="memory", demo_mode=True), clock=clock, directory=directory())
    yield rt
    rt.close()


def family(rt: Runtime, personnummer: str, kind: str = "guardian") -> Principal:
    """A guardian or child signed in through the demo issuer, as the HTTP layer would."""
    assert rt.demo_issuer is not None
    return rt.verifier.verify(rt.demo_issuer.family_token(TENANT, kind, personnummer))  # type: ignore[arg-type]


def register_child(rt: Runtime, by: str = "larare.ostra") -> object:
    return rt.hub.register_child(
        staff(by),
        personnummer=CHILD_PNR,
        given_name="Alva",
        family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )
