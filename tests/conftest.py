"""Fixtures every layer shares: a clock the test moves, and the hub built by ``bootstrap``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.bootstrap import Runtime, bootstrap
from hub.clock import SettableClock
from hub.principals import Principal
from hub.settings import Settings
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, START, TENANT, directory, staff


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


@pytest.fixture(params=["memory", "sqlite"])
def runtime(request: pytest.FixtureRequest, clock: SettableClock, tmp_path: Path) -> Iterator[Runtime]:
    """The hub in demo mode on the in-memory store and on an SQLite file."""
    rt = bootstrap(
        Settings(store=request.param, data_dir=tmp_path / "data", demo_mode=True),
        clock=clock,
        directory=directory(),
    )
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
