"""Two hub processes on one store: a command refused on a child as one process last knew it
is decided again on the child as stored (issue 10, case 5).

Each process keeps the children it worked on in memory (the aggregate cache) and starts a
command from there. When the other process has appended meanwhile, the cached child is
stale: here it has no Barnkontakt yet, while the stored one has. A conversation must then
be accepted, every time, as it is by the process that assigned the Barnkontakt.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import postgres_url
from tests.factories import (
    STAFF,
    TENANT,
    card_payload,
    conversation_payload,
    directory,
    registration_payload,
    staff,
)

BK = "rektor.ostra"
ROUNDS = 5


def personnummer(birth: str, serial: int) -> str:
    """A valid twelve-digit identity number: ``birth`` YYYYMMDD, a three-digit serial, the Luhn check digit."""
    digits = f"{birth[2:]}{serial:03d}"
    total = sum(v - 9 if v > 9 else v for v in (int(d) * (2 if n % 2 == 0 else 1) for n, d in enumerate(digits)))
    return f"{birth}{serial:03d}{(10 - total % 10) % 10}"


CHILDREN = [personnummer("20140310", 200 + 2 * n) for n in range(ROUNDS)]


@pytest.fixture(params=["sqlite", "postgres"])
def hubs(request: pytest.FixtureRequest, clock: SettableClock, tmp_path: Path) -> Iterator[tuple[Runtime, Runtime]]:
    """Two runtimes on one data folder (SQLite) or one schema (PostgreSQL), each with its aggregate cache on."""
    data = tmp_path / "data"
    if request.param == "postgres":
        url = postgres_url(request.getfixturevalue("pg_schema"))
        settings = Settings(database_url=url, data_dir=data, demo_mode=True, aggregate_cache=1000)
    else:
        settings = Settings(store="sqlite", data_dir=data, demo_mode=True, aggregate_cache=1000)
    one = bootstrap(settings, clock=clock, directory=directory())
    two = bootstrap(settings, clock=clock, directory=directory())
    try:
        assert one.hub.repository.cache is not None and two.hub.repository.cache is not None
        yield one, two
    finally:
        one.close()
        two.close()


def topics(rt: Runtime) -> list[str]:
    return [n.topic.rsplit(".", 1)[-1] for n in rt.hub.recorder.select_notifications(1, rt.hub.log_length())]


def test_a_conversation_via_one_hub_is_accepted_after_the_other_hub_assigned_the_barnkontakt(
    hubs: tuple[Runtime, Runtime],
) -> None:
    a, b = hubs
    for number in CHILDREN:
        child = a.hub.register_child(staff("larare.ostra"), **{**registration_payload(), "personnummer": number})
        a.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
        b.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)

        conversation = a.hub.hold_conversation(staff(BK), child, **conversation_payload()).conversation_id

        assert conversation
        b.hub.hold_conversation(staff(BK), child, **conversation_payload("guardian"))
    held = topics(a)
    assert held.count("ConversationHeld") == 2 * ROUNDS
    assert held.count("BarnkontaktAssigned") == ROUNDS


def test_over_http_each_process_accepts_the_conversation_the_other_made_possible(hubs: tuple[Runtime, Runtime]) -> None:
    a, b = hubs

    def as_staff(rt: Runtime, user_id: str) -> dict[str, str]:
        assert rt.demo_issuer is not None
        unit, roles = STAFF[user_id]
        return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))}"}

    def created(response: Any) -> dict[str, Any]:
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    with TestClient(create_app(a)) as via_a, TestClient(create_app(b)) as via_b:
        statuses = []
        for number in CHILDREN:
            body = {**registration_payload(), "personnummer": number}
            child = created(via_a.post("/api/v1/children", json=body, headers=as_staff(a, "larare.ostra")))["child_id"]
            base = f"/api/v1/children/{child}"
            created(via_a.post(f"{base}/discovery-cards", json=card_payload("skola-ostra"), headers=as_staff(a, "polis.ystad")))
            created(via_b.post(f"{base}/barnkontakt", json={"staff_id": BK}, headers=as_staff(b, BK)))

            talk = via_a.post(f"{base}/conversations", json=conversation_payload(), headers=as_staff(a, BK))
            statuses.append((talk.status_code, talk.text if talk.status_code != 201 else ""))

        assert statuses == [(201, "")] * ROUNDS
