"""``/api/v1/directory``: the administrator keeps the area's units, staff, roles, delegations and
subscriptions; each change is a fact in the history with its author and time; anyone else is
refused with a problem, bad input names its field, and a refusal appends nothing."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.factories import GUARDIAN_1_PNR, OTHER_TENANT, STAFF, TENANT

API = "/api/v1/directory"
NEW_UNIT = {"unit_id": "forskola-manen", "kind": "preschool", "name": "Förskolan Månen"}
NEW_STAFF = {"user_id": "pedagog.manen", "unit_id": "skola-ostra", "roles": ["barnkontakt", "discoverer"], "name": "Pia Pedagog"}


def bearer(rt: Runtime, user_id: str, tenant: str = TENANT, unit: str | None = None, roles: list[str] | None = None) -> dict[str, str]:
    assert rt.demo_issuer is not None
    if roles is None:
        unit, held = STAFF[user_id]
        roles = sorted(r.value for r in held)
    return {"Authorization": f"Bearer {rt.demo_issuer.staff_token(tenant, user_id, unit, roles)}"}


def admin(rt: Runtime) -> dict[str, str]:
    return bearer(rt, "admin.ystad")


def facts(rt: Runtime, tenant: str = TENANT) -> int:
    return len(rt.hub.directory.history(tenant))  # type: ignore[union-attr]


def is_problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    return body


def test_the_administrator_adds_a_unit_and_a_staff_member_who_are_in_the_directory_at_once(
    rt: Runtime, client: TestClient[Any]
) -> None:
    unit = client.post(f"{API}/units", json=NEW_UNIT, headers=admin(rt))
    assert unit.status_code == 201, unit.text
    assert unit.json()["type"] == "UnitAdded"
    assert client.get(unit.headers["location"], headers=admin(rt)).json()["name"] == "Förskolan Månen"

    staff = client.post(f"{API}/staff", json={**NEW_STAFF, "unit_id": "forskola-manen"}, headers=admin(rt))
    assert staff.status_code == 201, staff.text
    assert client.get(staff.headers["location"], headers=admin(rt)).json() == {
        "user_id": "pedagog.manen", "unit_id": "forskola-manen", "roles": ["barnkontakt", "discoverer"],
        "name": "Pia Pedagog", "title": "",
    }

    seen = client.get(API, headers=bearer(rt, "pedagog.manen", unit="forskola-manen", roles=["barnkontakt"]))
    assert seen.status_code == 200, seen.text
    directory = seen.json()
    assert directory["tenant_id"] == TENANT
    assert {"unit_id": "forskola-manen", "kind": "preschool", "name": "Förskolan Månen"}.items() <= next(
        u for u in directory["units"] if u["unit_id"] == "forskola-manen"
    ).items()
    assert "pedagog.manen" in {s["user_id"] for s in directory["staff"]}
    assert "rektor.lidingo" not in {s["user_id"] for s in directory["staff"]}, "another area's staff are not shown"


def test_each_change_is_in_the_history_with_its_type_author_and_time(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    before = facts(rt)
    assert client.put(f"{API}/units/bvc-ystad/name", json={"name": "BVC Ystad centrum"}, headers=admin(rt)).status_code == 200
    chosen = client.put(
        f"{API}/units/bvc-ystad/subscription",
        json={"event_types": ["DiscoveryCardSubmitted"], "categories": ["health"], "cadence": "daily", "digest_hour": 6,
              "format": "fhir"},
        headers=admin(rt),
    )
    assert chosen.status_code == 200, chosen.text
    assert client.post(f"{API}/units", json=NEW_UNIT, headers=admin(rt)).status_code == 201
    assert client.post(f"{API}/staff", json=NEW_STAFF, headers=admin(rt)).status_code == 201
    changed = client.put(
        f"{API}/staff/pedagog.manen", json={"unit_id": "skola-ostra", "roles": ["team_member"], "name": "Pia Pedagog",
                                            "title": "Lärare"}, headers=admin(rt),
    )
    assert changed.status_code == 200, changed.text
    assert client.delete(f"{API}/staff/pedagog.manen", headers=admin(rt)).json()["type"] == "StaffRemoved"
    assert client.post(f"{API}/units/forskola-manen/close", headers=admin(rt)).json()["type"] == "UnitClosed"

    directory = client.get(API, headers=admin(rt)).json()
    bvc = next(u for u in directory["units"] if u["unit_id"] == "bvc-ystad")
    assert bvc["name"] == "BVC Ystad centrum"
    assert bvc["subscription"] == {"event_types": ["DiscoveryCardSubmitted"], "categories": ["health"], "cadence": "daily",
                                   "digest_hour": 6, "format": "fhir"}
    assert "forskola-manen" not in {u["unit_id"] for u in directory["units"]}
    assert "pedagog.manen" not in {s["user_id"] for s in directory["staff"]}

    for reader in (admin(rt), bearer(rt, "granskare.ystad")):
        history = client.get(f"{API}/history", headers=reader)
        assert history.status_code == 200, history.text
        recent = history.json()[before:]
        assert [h["type"] for h in recent] == [
            "UnitRenamed", "SubscriptionChosen", "UnitAdded", "StaffAdded", "StaffChanged", "StaffRemoved", "UnitClosed"
        ]
        assert {h["actor"]["user_id"] for h in recent} == {"admin.ystad"}
        assert recent[0]["change"] == {"unit_id": "bvc-ystad", "name": "BVC Ystad centrum"}
        assert all(h["occurred_at"].startswith(clock().date().isoformat()) for h in recent)

    tomorrow = (clock().date().toordinal() + 1)
    from datetime import date

    later = client.get(f"{API}/history", params={"since": date.fromordinal(tomorrow).isoformat()}, headers=admin(rt))
    assert later.status_code == 200 and later.json() == []


def test_a_staff_member_delegates_a_role_they_hold_to_a_colleague_and_revokes_it(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    today = clock().date()
    body = {"to_user_id": "larare.ostra", "role": "barnkontakt", "starts_on": today.isoformat(), "ends_on": today.isoformat()}
    granted = client.post(f"{API}/delegations", json=body, headers=bearer(rt, "rektor.ostra"))
    assert granted.status_code == 201, granted.text
    delegation_id = granted.json()["delegation_id"]
    listed = client.get(API, headers=bearer(rt, "larare.ostra")).json()["delegations"]
    assert [(d["delegation_id"], d["from_user_id"], d["to_user_id"], d["role"]) for d in listed] == [
        (delegation_id, "rektor.ostra", "larare.ostra", "barnkontakt")
    ]

    not_held = client.post(f"{API}/delegations", json={**body, "role": "support_coordinator"}, headers=bearer(rt, "rektor.ostra"))
    is_problem(not_held, 403)

    revoked = client.delete(f"{API}/delegations/{delegation_id}", headers=bearer(rt, "rektor.ostra"))
    assert revoked.status_code == 200 and revoked.json()["type"] == "DelegationRevoked"
    assert client.get(API, headers=admin(rt)).json()["delegations"] == []
    again = is_problem(client.delete(f"{API}/delegations/{delegation_id}", headers=admin(rt)), 422)
    assert again["errors"][0]["field"] == "delegation_id"


CHANGES = [
    ("post", "/units", NEW_UNIT),
    ("put", "/units/bvc-ystad/name", {"name": "Annat namn"}),
    ("post", "/units/forskola-solen/close", None),
    ("put", "/units/bvc-ystad/subscription", {"cadence": "daily"}),
    ("post", "/staff", NEW_STAFF),
    ("put", "/staff/larare.ostra", {"unit_id": "skola-ostra", "roles": ["barnkontakt"], "name": "Larare Ostra"}),
    ("delete", "/staff/larare.ostra", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_a_member_of_staff_who_is_not_the_administrator_is_refused_and_nothing_is_recorded(
    rt: Runtime, client: TestClient[Any], method: str, path: str, body: dict[str, Any] | None
) -> None:
    before = facts(rt)
    kwargs: dict[str, Any] = {"json": body} if body is not None else {}
    for who in ("rektor.ostra", "granskare.ystad"):
        answer = client.request(method.upper(), API + path, headers=bearer(rt, who), **kwargs)
        assert is_problem(answer, 403)["type"] == "urn:backa:problem:not-permitted"
    assert facts(rt) == before


def test_only_the_administrator_and_auditors_read_the_history_and_a_family_reads_no_directory(
    rt: Runtime, client: TestClient[Any]
) -> None:
    is_problem(client.get(f"{API}/history", headers=bearer(rt, "rektor.ostra")), 403)
    assert rt.demo_issuer is not None
    guardian = {"Authorization": f"Bearer {rt.demo_issuer.family_token(TENANT, 'guardian', GUARDIAN_1_PNR)}"}
    is_problem(client.get(API, headers=guardian), 403)
    is_problem(client.get(f"{API}/history", headers=guardian), 403)
    is_problem(client.get(API), 401)


def test_another_areas_administrator_sees_and_changes_only_their_own_area(rt: Runtime, client: TestClient[Any]) -> None:
    other = bearer(rt, "admin.lidingo", tenant=OTHER_TENANT, roles=["tenant_admin"])
    before = facts(rt)
    seen = client.get(API, headers=other).json()
    assert seen["tenant_id"] == OTHER_TENANT and {u["unit_id"] for u in seen["units"]} == {"skola-lidingo"}

    refused = is_problem(client.put(f"{API}/units/skola-ostra/name", json={"name": "Kapad"}, headers=other), 422)
    assert refused["errors"][0]["field"] == "unit_id"
    is_problem(client.delete(f"{API}/staff/rektor.ostra", headers=other), 422)
    is_problem(client.post(f"{API}/staff", json=NEW_STAFF, headers=other), 422)
    is_problem(client.get(f"{API}/units/skola-ostra", headers=other), 404)
    assert facts(rt) == before
    assert all(h["actor"]["user_id"] != "admin.lidingo" for h in client.get(f"{API}/history", headers=admin(rt)).json())


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/units", {**NEW_UNIT, "unit_id": "has space"}, "unit_id"),
        ("/units", {**NEW_UNIT, "kind": "castle"}, "kind"),
        ("/units", {**NEW_UNIT, "name": ""}, "name"),
        ("/units", {**NEW_UNIT, "name": "two\nlines"}, "name"),
        ("/units", {**NEW_UNIT, "colour": "red"}, "colour"),
        ("/units", {**NEW_UNIT, "unit_id": "bvc-ystad"}, "unit_id"),
        ("/staff", {**NEW_STAFF, "roles": []}, "roles"),
        ("/staff", {**NEW_STAFF, "roles": ["guardian"]}, "roles"),
        ("/staff", {**NEW_STAFF, "roles": "barnkontakt"}, "roles"),
        ("/staff", {**NEW_STAFF, "unit_id": "no-such-unit"}, "unit_id"),
        ("/staff", {**NEW_STAFF, "user_id": "larare.ostra"}, "user_id"),
        ("/staff", {k: v for k, v in NEW_STAFF.items() if k != "name"}, "name"),
        ("/units/bvc-ystad/subscription", {"digest_hour": "7"}, "digest_hour"),
        ("/units/bvc-ystad/subscription", {"digest_hour": 24}, "digest_hour"),
        ("/units/bvc-ystad/subscription", {"cadence": "weekly"}, "cadence"),
        ("/units/bvc-ystad/subscription", {"event_types": ["NoSuchFact"]}, "event_types"),
        ("/units/bvc-ystad/subscription", {"categories": ["gossip"]}, "categories"),
        ("/units/no-such-unit/subscription", {}, "unit_id"),
        ("/units/no-such-unit/name", {"name": "Namn"}, "unit_id"),
        ("/staff/no.such.person", {"unit_id": "skola-ostra", "roles": ["discoverer"], "name": "Namn"}, "user_id"),
        ("/units/skola-ostra/close", None, "unit_id"),
        ("/units/no%20such%20unit/name", {"name": "Namn"}, "unit_id"),
        ("/staff/-not-an-account", {"unit_id": "skola-ostra", "roles": ["discoverer"], "name": "Namn"}, "user_id"),
        ("/delegations", {"to_user_id": "larare.ostra", "role": "barnkontakt", "starts_on": "2026-13-01", "ends_on": "2026-03-02"}, "starts_on"),
        ("/delegations", {"to_user_id": "larare.ostra", "role": "barnkontakt", "starts_on": "2026-03-05", "ends_on": "2026-03-02"}, "ends_on"),
        ("/delegations", {"to_user_id": "nobody", "role": "discoverer", "starts_on": "2026-03-02", "ends_on": "2026-03-02"}, "to_user_id"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field_and_records_nothing(
    rt: Runtime, client: TestClient[Any], path: str, body: dict[str, Any] | None, field: str
) -> None:
    before = facts(rt)
    method = "PUT" if path.endswith(("/subscription", "/name")) or path.startswith("/staff/") else "POST"
    kwargs: dict[str, Any] = {"json": body} if body is not None else {}
    answer = client.request(method, API + path, headers=admin(rt), **kwargs)
    assert answer.status_code in (409, 422), answer.text
    problem = is_problem(answer, answer.status_code)
    assert field in {e["field"].split(".")[0] for e in problem["errors"]}, problem
    assert facts(rt) == before
