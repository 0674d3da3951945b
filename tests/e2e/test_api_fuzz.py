"""The published API under generated requests: no 5xx, answers as the OpenAPI document says,
errors as problem details, a refused command appends nothing, and no child of this area for
another area's callers.

Schemathesis reads the document the app serves and, for every operation, generates requests
that fit the schema and requests that break it, each signed in as a member of staff, a
guardian and an auditor, with a small, fixed number of examples per operation (derandomized,
so a failure is found again on the next run); then its coverage phase sends each bound and
one past it. Every operation that takes a body also gets bodies that are not strict JSON.
Paths name a child far enough along the process that generated bodies reach the core's
rules instead of a 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import (
    GUARDIAN_1_PNR,
    OTHER_TENANT,
    STAFF,
    START,
    TENANT,
    card_payload,
    conversation_payload,
    directory,
    registration_payload,
)

API = "/api/v1"
SCHEMA = f"{API}/schema/openapi.json"
EXAMPLES = 8
NEGATIVE_EXAMPLES = 6

# Schemathesis draws some values with the `random` module inside its strategies; the run stays bounded.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Runtime, Litestar, str, TestClient[Any]]]:
    """The app, with one registered child whose id the cross-area check uses, far enough
    along (a card, a Barnkontakt, a conversation, a consent request) that generated bodies
    meet the process's rules rather than its first step."""
    rt = bootstrap(Settings(store="memory", demo_mode=True), clock=SettableClock(START), directory=directory())
    app = create_app(rt)
    with TestClient(app) as client:
        school = bearer(rt, "rektor.ostra")
        registered = client.post(f"{API}/children", json=registration_payload(), headers=school)
        assert registered.status_code == 201, registered.text
        child = registered.json()["child_id"]
        steps = [
            ("discovery-cards", card_payload(), bearer(rt, "polis.ystad")),
            ("barnkontakt", {"staff_id": "rektor.ostra"}, school),
            ("conversations", conversation_payload(), school),
            ("consents", {"recipients": [{"unit_id": "bup-ystad"}], "categories": ["needs"], "purpose": "Stöd"}, school),
        ]
        for path, body, headers in steps:
            done = client.post(f"{API}/children/{child}/{path}", json=body, headers=headers)
            assert done.status_code in (200, 201), done.text
        yield rt, app, child, client
    rt.close()


def bearer(rt: Runtime, who: str) -> dict[str, str]:
    issuer = rt.demo_issuer
    assert issuer is not None
    if who == "guardian":
        token = issuer.family_token(TENANT, "guardian", GUARDIAN_1_PNR)
    elif who == "other_area_staff":
        token = issuer.staff_token(OTHER_TENANT, "rektor.lidingo", "skola-lidingo", ["barnkontakt"])
    elif who == "other_area_guardian":
        token = issuer.family_token(OTHER_TENANT, "guardian", GUARDIAN_1_PNR)
    else:
        unit, roles = STAFF[who]
        token = issuer.staff_token(TENANT, who, unit, sorted(r.value for r in roles))
    return {"Authorization": f"Bearer {token}"}


def operations(app: Litestar) -> list[Any]:
    schema = schemathesis.openapi.from_asgi(SCHEMA, app)
    return [result.ok() for result in schema.get_all_operations()]


def problem_details_on_errors(response: Any) -> None:
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json"), response.text
        assert response.json()["status"] == response.status_code


CALLERS = ["rektor.ostra", "guardian", "granskare.ystad"]


def directory_facts(rt: Runtime) -> int:
    return len(rt.hub.directory.history(TENANT))  # type: ignore[union-attr]


def fuzz(
    rt: Runtime, app: Litestar, headers: dict[str, str], child_id: str, mode: GenerationMode, examples: int, only: str = ""
) -> int:
    """Every operation (or those under ``only``) under generated requests; answers checked as
    ``mode`` allows. Returns how many operations had requests to send (one without parameters
    or body has nothing that breaks its schema)."""
    ops = [op for op in operations(app) if op.full_path.startswith(API + only)]
    ran = 0
    checks = [not_a_server_error] + ([response_schema_conformance] if mode is GenerationMode.POSITIVE else [])
    for operation in ops:
        known = {"child_id": child_id} if "{child_id}" in operation.path else None

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(mode, path_parameters=known))
        def requests(case: Any) -> None:
            before = rt.hub.log_length(), directory_facts(rt)
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks, headers=headers)
            problem_details_on_errors(response)
            if response.status_code >= 400 and case.method.upper() != "GET":
                # a refused command appends nothing (a refused read is itself on record, for the auditors)
                after = rt.hub.log_length(), directory_facts(rt)
                assert after == before, (case.method, case.path, response.status_code, response.text[:200])

        try:
            requests()
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise
            continue
        ran += 1
    return ran


@pytest.mark.parametrize("who", CALLERS)
def test_generated_requests_get_no_server_error_and_answers_as_published(
    served: tuple[Runtime, Litestar, str, TestClient[Any]], who: str
) -> None:
    rt, app, child_id, _ = served
    assert fuzz(rt, app, bearer(rt, who), child_id, GenerationMode.POSITIVE, EXAMPLES) > 30


@pytest.mark.parametrize("who", CALLERS)
def test_requests_that_break_the_published_schema_get_a_problem_and_never_a_server_error(
    served: tuple[Runtime, Litestar, str, TestClient[Any]], who: str
) -> None:
    """Wrong types, out-of-range numbers and dates, missing and unknown fields: refused, never a 500."""
    rt, app, child_id, _ = served
    assert fuzz(rt, app, bearer(rt, who), child_id, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES) > 25


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_administrator_s_generated_directory_requests_get_no_server_error_and_answers_as_published(
    served: tuple[Runtime, Litestar, str, TestClient[Any]], mode: GenerationMode
) -> None:
    """The directory's operations reach the core's rules only for the area's administrator."""
    rt, app, child_id, _ = served
    assert fuzz(rt, app, bearer(rt, "admin.ystad"), child_id, mode, EXAMPLES, only="/directory") >= 10


def coverage_cases(app: Litestar, child_id: str) -> Iterator[Any]:
    """Schemathesis's coverage phase: for each operation the edges of every parameter and
    field (each bound and one past it, wrong types, missing and unknown fields, duplicated
    query parameters), the known child's id in the path."""
    schema = schemathesis.openapi.from_asgi(SCHEMA, app)
    for result in schema.get_all_operations():
        operation = result.ok()
        config = schema.config.generation_for(operation=operation)
        for case in schema.iter_coverage_cases(
            operation, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], generation_config=config
        ):
            if "{child_id}" in operation.path and case.path_parameters:
                case.path_parameters["child_id"] = child_id
            yield case


def caller_for(path: str) -> str:
    """Who may use an operation: an auditor the audit and log operations, a guardian the
    family's, the Barnkontakt the rest."""
    if path.startswith((f"{API}/audit", f"{API}/transparency")):
        return "granskare.ystad"
    if path.startswith(f"{API}/me/") or path.endswith(("/grant", "/decline", "/withdraw", "/access-log")):
        return "guardian"
    if path.startswith(f"{API}/directory"):
        return "admin.ystad"
    return "rektor.ostra"


def test_requests_at_and_past_every_bound_get_no_server_error(served: tuple[Runtime, Litestar, str, TestClient[Any]]) -> None:
    """Offsets one past 64 bits, the longest strings, wrong types: never a 500, each sent by
    a caller who may use the operation, so it reaches the rules behind the door."""
    rt, app, child_id, _ = served
    sent = 0
    for case in coverage_cases(app, child_id):
        headers = bearer(rt, caller_for(case.operation.full_path))
        before = rt.hub.log_length(), directory_facts(rt)
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.formatted_path, case.query, response.text[:200])
        problem_details_on_errors(response)
        if response.status_code >= 400 and case.method.upper() != "GET":
            assert (rt.hub.log_length(), directory_facts(rt)) == before, (case.method, case.formatted_path, response.status_code)
        sent += 1
    assert sent > 1000


NOT_STRICT_JSON = [
    (b"{}", "text/plain", 415, "Content-Type"),
    (b'{"reason": "a", "reason": "b"}', "application/json", 400, "reason"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "body"),
]


@pytest.mark.parametrize(("body", "media_type", "status", "field"), NOT_STRICT_JSON, ids=["text/plain", "a key twice", "100,000 deep"])
def test_every_operation_refuses_a_body_that_is_not_strict_json(
    served: tuple[Runtime, Litestar, str, TestClient[Any]], body: bytes, media_type: str, status: int, field: str
) -> None:
    """Any body sent is JSON (415 otherwise); where the operation reads its body, each key comes once and nesting stays shallow."""
    rt, app, child_id, client = served
    writes = [op for op in operations(app) if op.method.upper() in ("POST", "PUT") and (status == 415 or len(op.body) > 0)]
    assert len(writes) > 15
    for op in writes:
        path = re.sub(r"\{(\w+)\}", lambda m: child_id if m.group(1) == "child_id" else str(uuid4()), op.full_path)
        headers = {**bearer(rt, caller_for(op.full_path)), "Content-Type": media_type}
        before = rt.hub.log_length()
        response = client.request(op.method.upper(), path, content=body, headers=headers)
        assert response.status_code == status, (op.method, op.full_path, response.status_code, response.text[:200])
        assert field in [e["field"] for e in response.json()["errors"]]
        assert rt.hub.log_length() == before


@pytest.mark.parametrize("who", ["other_area_staff", "other_area_guardian"])
def test_another_areas_callers_never_get_a_child_of_this_area(
    served: tuple[Runtime, Litestar, str, TestClient[Any]], who: str
) -> None:
    rt, app, child_id, client = served
    reads = [op for op in operations(app) if op.method.upper() == "GET" and "{child_id}" in op.path]
    assert len(reads) >= 4
    for op in reads:
        response = client.get(op.full_path.format(child_id=child_id, consent_id=uuid4()), headers=bearer(rt, who))
        assert response.status_code in (403, 404), (op.full_path, response.status_code)
        assert "Alva" not in response.text
