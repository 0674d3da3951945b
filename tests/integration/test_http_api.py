"""The HTTP API's contract: what it publishes, who it lets in, what it keeps out of caches,
what families and auditors get."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from hub.errors import StoreUnavailableError
from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    NON_CUSTODIAL_PNR,
    STAFF,
    TENANT,
    card_payload,
)

API = "/api/v1"
SCHEMA = f"{API}/schema/openapi.json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_staff(rt: Runtime, user_id: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return bearer(rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles)))


def as_guardian(rt: Runtime, personnummer: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    return bearer(rt.demo_issuer.family_token(TENANT, "guardian", personnummer))


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(runtime)) as c:
        yield c


def register(client: TestClient[Any], rt: Runtime, guardians: list[dict[str, Any]] | None = None) -> UUID:
    response = client.post(
        f"{API}/children",
        json={
            "personnummer": CHILD_PNR,
            "given_name": "Alva",
            "family_name": "Lind",
            "guardians": guardians
            if guardians is not None
            else [
                {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
                {"name": "Bo Lind", "personnummer": NON_CUSTODIAL_PNR, "has_custody": False},
            ],
        },
        headers=as_staff(rt, "rektor.ostra"),
    )
    assert response.status_code == 201, response.text
    return UUID(response.json()["child_id"])


# -- what the API publishes ------------------------------------------------------------

EXPECTED_OPERATIONS = {
    ("post", "/api/v1/children"),
    ("get", "/api/v1/children/{child_id}"),
    ("get", "/api/v1/children/{child_id}/timeline"),
    ("get", "/api/v1/children/{child_id}/access-log"),
    ("post", "/api/v1/children/{child_id}/discovery-cards"),
    ("post", "/api/v1/children/{child_id}/discovery-cards/{card_id}/feedback"),
    ("post", "/api/v1/children/{child_id}/barnkontakt"),
    ("post", "/api/v1/children/{child_id}/barnkontakt/delegations"),
    ("post", "/api/v1/children/{child_id}/conversations"),
    ("post", "/api/v1/children/{child_id}/consents"),
    ("get", "/api/v1/children/{child_id}/consents"),
    ("post", "/api/v1/children/{child_id}/consents/{consent_id}/grant"),
    ("post", "/api/v1/children/{child_id}/consents/{consent_id}/decline"),
    ("post", "/api/v1/children/{child_id}/consents/{consent_id}/withdraw"),
    ("post", "/api/v1/children/{child_id}/team-decisions"),
    ("post", "/api/v1/children/{child_id}/ratings"),
    ("post", "/api/v1/children/{child_id}/team-meetings"),
    ("post", "/api/v1/children/{child_id}/support-coordinator"),
    ("put", "/api/v1/children/{child_id}/plan"),
    ("post", "/api/v1/children/{child_id}/plan/actions/{action_id}/completion"),
    ("post", "/api/v1/children/{child_id}/follow-ups"),
    ("post", "/api/v1/children/{child_id}/needs-met"),
    ("post", "/api/v1/children/{child_id}/concern-reports"),
    ("post", "/api/v1/children/{child_id}/home-visits"),
    ("post", "/api/v1/children/{child_id}/agency-summaries"),
    ("post", "/api/v1/children/{child_id}/withheld-information"),
    ("get", "/api/v1/case-list"),
    ("get", "/api/v1/me/children"),
    ("get", "/api/v1/audit/access-log"),
}


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_openapi_document_is_served_without_a_token_and_lists_every_endpoint(client: TestClient[Any]) -> None:
    response = client.get(SCHEMA)

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    found = operations(document)
    assert EXPECTED_OPERATIONS <= set(found)
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for key in EXPECTED_OPERATIONS:
        assert found[key]["security"] == [{"bearer": []}], key
        assert "application/problem+json" in found[key]["responses"]["422"]["content"], key
    assert "security" not in found[("get", "/health")]


def test_request_bodies_are_published_with_their_fields_and_refuse_unknown_ones(client: TestClient[Any]) -> None:
    document = client.get(SCHEMA).json()
    card = document["components"]["schemas"]["SubmitDiscoveryCard"]

    assert {"to_unit_id", "unmet_needs", "five_questions", "guardians_informed"} <= set(card["required"])
    assert card["additionalProperties"] is False


def test_health_needs_no_token(client: TestClient[Any]) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_every_endpoint_but_health_and_schema_refuses_a_caller_without_a_token(
    runtime: Runtime, client: TestClient[Any]
) -> None:
    document = client.get(SCHEMA).json()
    before = runtime.hub.log_length()
    ids = {
        "child_id": str(uuid4()), "consent_id": str(uuid4()), "card_id": "card-1", "action_id": "a1",
        "unit_id": "skola-ostra", "user_id": "larare.ostra", "delegation_id": str(uuid4()),
    }

    for (method, path), _ in operations(document).items():
        if not path.startswith(API):
            continue
        response = client.request(method.upper(), path.format(**ids), json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert runtime.hub.log_length() == before


# -- nothing personal is cached ------------------------------------------------------------


def test_personal_answers_and_refusals_are_marked_no_store(runtime: Runtime, client: TestClient[Any]) -> None:
    child_id = register(client, runtime)
    school = as_staff(runtime, "rektor.ostra")

    answers = [
        client.get(f"{API}/children/{child_id}", headers=school),
        client.get(f"{API}/children/{child_id}/timeline", headers=school),
        client.get(f"{API}/me/children", headers=as_guardian(runtime, GUARDIAN_1_PNR)),
        client.get(f"{API}/children/{child_id}", headers=as_staff(runtime, "forskola.solen")),
        client.get(f"{API}/children/{uuid4()}", headers=school),
    ]

    assert [a.status_code for a in answers] == [200, 200, 200, 404, 404]  # a unit with no part hears "no such child"
    assert any(item["fields"].get("given_name") == "Alva" for item in answers[0].json()["items"])
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store"


def test_registering_a_known_child_answers_as_a_new_registration_and_appends_nothing(
    runtime: Runtime, client: TestClient[Any]
) -> None:
    child_id = register(client, runtime)
    before = runtime.hub.log_length()

    again = client.post(
        f"{API}/children",
        json={"personnummer": CHILD_PNR, "given_name": "Alva", "family_name": "Lind", "guardians": []},
        headers=as_staff(runtime, "polis.ystad"),
    )

    # whether the number was known is not told: the answer is a registration's (the id comes
    # from the number either way), and the known child is left as it was
    assert again.status_code == 201
    assert again.json() == {"child_id": str(child_id)}
    assert CHILD_PNR not in again.text
    assert runtime.hub.log_length() == before


def test_a_new_child_is_found_where_the_location_header_says(runtime: Runtime, client: TestClient[Any]) -> None:
    response = client.post(
        f"{API}/children",
        json={"personnummer": CHILD_PNR, "given_name": "Alva", "family_name": "Lind", "guardians": []},
        headers=as_staff(runtime, "rektor.ostra"),
    )

    shown = client.get(response.headers["location"], headers=as_staff(runtime, "rektor.ostra"))
    assert shown.status_code == 200
    assert shown.json()["child_id"] == response.json()["child_id"]


# -- families ---------------------------------------------------------------------------


def test_guardian_with_custody_finds_their_child_and_sees_it(runtime: Runtime, client: TestClient[Any]) -> None:
    child_id = register(client, runtime)
    guardian = as_guardian(runtime, GUARDIAN_1_PNR)

    mine = client.get(f"{API}/me/children", headers=guardian)
    view = client.get(f"{API}/children/{child_id}", headers=guardian)

    assert mine.status_code == 200
    assert mine.json() == [{"child_id": str(child_id)}]
    assert view.status_code == 200
    identity = [i for i in view.json()["items"] if i["category"] == "identity"]
    assert identity and identity[0]["fields"]["given_name"] == "Alva"
    assert {i["basis"] for i in view.json()["items"]} == {"custody"}


@pytest.mark.parametrize(
    "personnummer",
    [NON_CUSTODIAL_PNR, GUARDIAN_2_PNR],
    ids=["guardian without custody", "guardian of no child here"],
)
def test_a_guardian_without_custody_of_the_child_gets_nothing(
    personnummer: str, runtime: Runtime, client: TestClient[Any]
) -> None:
    child_id = register(client, runtime)
    outsider = as_guardian(runtime, personnummer)

    mine = client.get(f"{API}/me/children", headers=outsider)
    view = client.get(f"{API}/children/{child_id}", headers=outsider)
    log = client.get(f"{API}/children/{child_id}/access-log", headers=outsider)

    assert mine.status_code == 200 and mine.json() == []
    # the same answers as for a child that does not exist: they may not know this one does
    assert view.status_code == 404
    assert "Alva" not in view.text
    assert log.status_code == 404


def test_staff_cannot_use_the_family_endpoints(runtime: Runtime, client: TestClient[Any]) -> None:
    child_id = register(client, runtime)
    school = as_staff(runtime, "rektor.ostra")

    assert client.get(f"{API}/me/children", headers=school).status_code == 403
    assert client.get(f"{API}/children/{child_id}/access-log", headers=school).status_code == 403


# -- auditors ---------------------------------------------------------------------------


def test_auditor_search_filters_by_unit_and_by_period(
    runtime: Runtime, clock: SettableClock, client: TestClient[Any]
) -> None:
    child_id = register(client, runtime)
    card = client.post(f"{API}/children/{child_id}/discovery-cards", json=card_payload(), headers=as_staff(runtime, "polis.ystad"))
    assert card.status_code == 201
    start = clock()
    reads = {}  # purpose -> (unit, when)
    for day, user, unit in [(1, "rektor.ostra", "skola-ostra"), (3, "polis.ystad", "polis-ystad"), (5, "rektor.ostra", "skola-ostra")]:
        clock.set(start + timedelta(days=day))
        purpose = f"read on day {day}"
        assert client.get(f"{API}/children/{child_id}", params={"purpose": purpose}, headers=as_staff(runtime, user)).status_code == 200
        reads[purpose] = (unit, clock())
    clock.set(start + timedelta(days=6))
    auditor = as_staff(runtime, "granskare.ystad")

    by_unit = client.get(f"{API}/audit/access-log", params={"child_id": str(child_id), "unit_id": "skola-ostra"}, headers=auditor)
    in_period = client.get(
        f"{API}/audit/access-log",
        params={"since": (start + timedelta(days=2)).isoformat(), "until": (start + timedelta(days=4)).isoformat()},
        headers=auditor,
    )
    by_staff = client.get(f"{API}/audit/access-log", params={"accessor_id": "polis.ystad"}, headers=auditor)

    assert by_unit.status_code == in_period.status_code == by_staff.status_code == 200
    assert {e["purpose"] for e in by_unit.json()} == {"read on day 1", "read on day 5"}
    assert {e["unit_id"] for e in by_unit.json()} == {"skola-ostra"}
    assert [e["purpose"] for e in in_period.json()] == ["read on day 3"]
    assert in_period.json()[0]["accessed_at"] == reads["read on day 3"][1].isoformat().replace("+00:00", "Z")
    assert {e["purpose"] for e in by_staff.json()} == {"read on day 3"}


def test_auditor_pages_through_the_log(runtime: Runtime, client: TestClient[Any]) -> None:
    child_id = register(client, runtime)
    school = as_staff(runtime, "rektor.ostra")
    for n in range(5):
        client.get(f"{API}/children/{child_id}", params={"purpose": f"read {n}"}, headers=school)
    auditor = as_staff(runtime, "granskare.ystad")
    query = {"child_id": str(child_id), "unit_id": "skola-ostra"}

    first = client.get(f"{API}/audit/access-log", params={**query, "limit": 2}, headers=auditor).json()
    second = client.get(f"{API}/audit/access-log", params={**query, "limit": 2, "offset": 2}, headers=auditor).json()

    assert [e["purpose"] for e in first] == ["read 0", "read 1"]
    assert [e["purpose"] for e in second] == ["read 2", "read 3"]


def test_audit_times_without_an_offset_are_refused_naming_the_parameter(runtime: Runtime, client: TestClient[Any]) -> None:
    response = client.get(f"{API}/audit/access-log", params={"since": "2026-03-01T00:00:00"}, headers=as_staff(runtime, "granskare.ystad"))

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["since"]


def test_only_auditors_search_the_log_and_auditors_do_not_read_children(runtime: Runtime, client: TestClient[Any]) -> None:
    child_id = register(client, runtime)

    staff_search = client.get(f"{API}/audit/access-log", headers=as_staff(runtime, "rektor.ostra"))
    auditor_read = client.get(f"{API}/children/{child_id}", headers=as_staff(runtime, "granskare.ystad"))

    assert staff_search.status_code == 403
    assert auditor_read.status_code == 403
    assert "Alva" not in auditor_read.text


# -- failures inside the hub -------------------------------------------------------------------


def test_an_unexpected_failure_is_a_generic_500_that_tells_nothing(
    runtime: Runtime, client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    child_id = register(client, runtime)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"row for {CHILD_PNR} Alva Lind is corrupt")

    monkeypatch.setattr(runtime.hub, "read_child", broken)
    response = client.get(f"{API}/children/{child_id}", headers=as_staff(runtime, "rektor.ostra"))

    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    for leak in (CHILD_PNR, "Alva", "RuntimeError", "Traceback", "corrupt"):
        assert leak not in response.text


def test_an_unexpected_failure_is_logged_by_its_route_never_the_child_s_id(
    runtime: Runtime, client: TestClient[Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The id in the path is the child's: the log names the route it matched instead."""
    child_id = register(client, runtime)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("corrupt")

    monkeypatch.setattr(runtime.hub, "read_child", broken)
    with caplog.at_level(logging.ERROR):
        assert client.get(f"{API}/children/{child_id}", headers=as_staff(runtime, "rektor.ostra")).status_code == 500

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("hub"))
    assert "RuntimeError" in logged and "/children/{child_id" in logged
    assert str(child_id) not in logged


def test_an_unreachable_store_answers_503_and_asks_to_retry(
    runtime: Runtime, client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailableError("the event store cannot be reached")

    monkeypatch.setattr(runtime.hub, "case_list", unreachable)
    response = client.get(f"{API}/case-list", headers=as_staff(runtime, "rektor.ostra"))

    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["title"] == "Store unavailable"
