"""The published API under generated requests: no 5xx, answers as the OpenAPI document says,
errors as problem details, and no child of this area for another area's callers.

Schemathesis reads the document the app serves and generates requests for every operation;
each runs signed in as a member of staff, a guardian and an auditor, with a small, fixed
number of examples per operation (derandomized, so a failure is found again on the next run).
Paths name the registered child, so generated bodies reach the core's rules instead of a 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import GUARDIAN_1_PNR, OTHER_TENANT, STAFF, START, TENANT, directory, registration_payload

API = "/api/v1"
SCHEMA = f"{API}/schema/openapi.json"
EXAMPLES = 8

# Schemathesis draws some values with the `random` module inside its strategies; the run stays bounded.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Runtime, Litestar, str, TestClient[Any]]]:
    """The app, with one registered child whose id the cross-area check uses."""
    rt = bootstrap(Settings(store="memory", demo_mode=True), clock=SettableClock(START), directory=directory())
    app = create_app(rt)
    with TestClient(app) as client:
        registered = client.post(f"{API}/children", json=registration_payload(), headers=bearer(rt, "rektor.ostra"))
        assert registered.status_code == 201, registered.text
        yield rt, app, registered.json()["child_id"], client
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


@pytest.mark.parametrize("who", ["rektor.ostra", "guardian", "granskare.ystad"])
def test_generated_requests_get_no_server_error_and_answers_as_published(
    served: tuple[Runtime, Litestar, str, TestClient[Any]], who: str
) -> None:
    rt, app, child_id, _ = served
    headers = bearer(rt, who)
    ops = operations(app)
    assert len(ops) > 30

    for operation in ops:
        known = {"child_id": child_id} if "{child_id}" in operation.path else None

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(path_parameters=known))
        def requests(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance], headers=headers)
            problem_details_on_errors(response)

        requests()


@pytest.mark.parametrize("who", ["other_area_staff", "other_area_guardian"])
def test_another_areas_callers_never_get_a_child_of_this_area(
    served: tuple[Runtime, Litestar, str, TestClient[Any]], who: str
) -> None:
    rt, app, child_id, client = served
    reads = [op for op in operations(app) if op.method.upper() == "GET" and "{child_id}" in op.path]
    assert len(reads) >= 4
    for op in reads:
        response = client.get(op.full_path.format(child_id=child_id), headers=bearer(rt, who))
        assert response.status_code in (403, 404), (op.full_path, response.status_code)
        assert "Alva" not in response.text
