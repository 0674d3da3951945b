"""Bad input over HTTP: each gets a 4xx problem+json naming what is wrong, and the log is unchanged.

Every row of the table is one kind of bad request a client can send. For each, the
answer must be RFC 9457 problem details with the right status, must name the failing
field (or say which rule refused it), must not echo personal data from the request,
and the hub's log must hold exactly as many facts afterwards as before.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as default
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import TestClient

from hub.http import create_app
from hub.identity.tokens import DemoIssuer
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    OTHER_TENANT,
    STAFF,
    TENANT,
    card_payload,
    conversation_payload,
    plan_payload,
    registration_payload,
)

API = "/api/v1"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def staff_token(rt: Runtime, user_id: str) -> str:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))


def as_staff(rt: Runtime, user_id: str) -> dict[str, str]:
    return bearer(staff_token(rt, user_id))


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(runtime)) as c:
        yield c


@pytest.fixture
def child_id(runtime: Runtime, client: TestClient[Any]) -> UUID:
    """A child with a discovery card from the police and the school's Barnkontakt, but no decision yet."""
    registered = client.post(
        f"{API}/children",
        json=registration_payload(),
        headers=as_staff(runtime, "rektor.ostra"),
    )
    assert registered.status_code == 201, registered.text
    cid = UUID(registered.json()["child_id"])
    card = client.post(f"{API}/children/{cid}/discovery-cards", json=card_payload(), headers=as_staff(runtime, "polis.ystad"))
    assert card.status_code == 201, card.text
    assigned = client.post(
        f"{API}/children/{cid}/barnkontakt", json={"staff_id": "rektor.ostra"}, headers=as_staff(runtime, "rektor.ostra")
    )
    assert assigned.status_code == 201, assigned.text
    return cid


# -- how each bad request is made -------------------------------------------------------

Send = Callable[[Runtime, SettableClock, UUID], dict[str, Any]]


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def conversation(headers: Callable[[Runtime, SettableClock], dict[str, str]], **body: Any) -> Send:
    def send(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
        return {
            "method": "POST",
            "url": f"{API}/children/{cid}/conversations",
            "json": {**conversation_payload(), **body},
            "headers": headers(rt, clock),
        }

    return send


def school(rt: Runtime, clock: SettableClock) -> dict[str, str]:
    return as_staff(rt, "rektor.ostra")


def malformed_json(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": f"{API}/children/{cid}/conversations",
        "content": b'{"with_whom": "child", "age_group": "10-12",',
        "headers": {**school(rt, clock), "Content-Type": "application/json"},
    }


def no_body(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
    return {"method": "POST", "url": f"{API}/children/{cid}/conversations", "headers": school(rt, clock)}


def card(**changes: Any) -> Send:
    def send(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
        body = {**card_payload(), **changes}
        for name in [k for k, v in changes.items() if v is REMOVE]:
            del body[name]
        return {
            "method": "POST",
            "url": f"{API}/children/{cid}/discovery-cards",
            "json": body,
            "headers": as_staff(rt, "polis.ystad"),
        }

    return send


REMOVE = object()


def to_unknown_child(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
    return conversation(school)(rt, clock, uuid4())


def delegation_to_unknown_staff(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": f"{API}/children/{cid}/barnkontakt/delegations",
        "json": {"staff_id": "rektor.finns.inte"},
        "headers": school(rt, clock),
    }


def plan_before_any_team_decision(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
    return {
        "method": "PUT",
        "url": f"{API}/children/{cid}/plan",
        "json": plan_payload(clock().date()),
        "headers": school(rt, clock),
    }


def other_tenant(rt: Runtime, clock: SettableClock) -> dict[str, str]:
    assert rt.demo_issuer is not None
    return bearer(rt.demo_issuer.staff_token(OTHER_TENANT, "rektor.lidingo", "skola-lidingo", ["barnkontakt"]))


def other_tenant_reads(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
    return {"method": "GET", "url": f"{API}/children/{cid}", "headers": other_tenant(rt, clock)}


def expired(rt: Runtime, clock: SettableClock) -> dict[str, str]:
    headers = school(rt, clock)
    clock.advance(timedelta(hours=9))  # demo tokens live eight hours
    return headers


def alg_none(rt: Runtime, clock: SettableClock) -> dict[str, str]:
    claims = jwt.decode(staff_token(rt, "rektor.ostra"), options={"verify_signature": False})
    return bearer(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.")


def forged(rt: Runtime, clock: SettableClock) -> dict[str, str]:
    """Every claim right, signed with a key the hub never published."""
    assert rt.demo_issuer is not None
    impostor = DemoIssuer(Ed25519PrivateKey.generate(), rt.demo_issuer.audience, clock, issuer=rt.demo_issuer.issuer)
    unit, roles = STAFF["rektor.ostra"]
    return bearer(impostor.staff_token(TENANT, "rektor.ostra", unit, sorted(r.value for r in roles)))


def no_token(rt: Runtime, clock: SettableClock) -> dict[str, str]:
    return {}


def oversized(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
    filler = "x" * (rt.settings.max_body_bytes + 1)
    return {
        "method": "POST",
        "url": f"{API}/children/{cid}/conversations",
        "json": {**conversation_payload(), "summary": filler},
        "headers": school(rt, clock),
    }


def audit_with_wrong_type(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
    return {
        "method": "GET",
        "url": f"{API}/audit/access-log",
        "params": {"child_id": str(cid), "limit": "many"},
        "headers": as_staff(rt, "granskare.ystad"),
    }


@dataclass(frozen=True)
class BadInput:
    name: str
    send: Send
    status: int
    field: str | None = None
    """The field the problem must name in ``errors``."""
    says: str = ""
    """Words the problem's detail must contain, where no single field is to blame."""
    headers: dict[str, str] = default(default_factory=dict)
    """Response headers the answer must carry (name: a part of the value)."""


BAD_INPUTS = [
    BadInput("malformed JSON", malformed_json, 400, field="body", says="not valid JSON"),
    BadInput("no body at all", no_body, 422, field="body"),
    BadInput("unknown field carrying a personnummer", conversation(school, personnummer=CHILD_PNR), 422, field="personnummer"),
    BadInput("wrong type", card(guardians_informed="kanske"), 422, field="guardians_informed"),
    BadInput("wrong type nested in a list", card(unmet_needs=[{"area": "lycka"}]), 422, field="unmet_needs.0.area"),
    BadInput("missing field", card(five_questions=REMOVE), 422, field="five_questions"),
    BadInput("unknown child", to_unknown_child, 404, field="child_id"),
    BadInput("unknown unit", card(to_unit_id="skola-finns-inte"), 422, field="to_unit_id"),
    BadInput("unknown staff member", delegation_to_unknown_staff, 422, field="staff_id"),
    BadInput("plan before a team decision (out of order)", plan_before_any_team_decision, 409, says="individual team"),
    BadInput("token for another tenant writing", conversation(other_tenant), 404, field="child_id"),
    BadInput("token for another tenant reading", other_tenant_reads, 404, field="child_id"),
    BadInput("expired token", conversation(expired), 401, field="Authorization", says="expired", headers={"WWW-Authenticate": "invalid_token"}),
    BadInput("token with alg none", conversation(alg_none), 401, field="Authorization", says="algorithm", headers={"WWW-Authenticate": "invalid_token"}),
    BadInput("token signed with another key", conversation(forged), 401, field="Authorization", says="signature"),
    BadInput("no token", conversation(no_token), 401, field="Authorization", headers={"WWW-Authenticate": "Bearer"}),
    BadInput("oversized body", oversized, 413, field="body"),
    BadInput("wrong type in a query parameter", audit_with_wrong_type, 422, field="limit"),
]

PERSONAL_DATA = (CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, "Alva", "Lind")


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[b.name for b in BAD_INPUTS])
def test_bad_input_gets_a_problem_naming_what_is_wrong_and_leaves_the_log_unchanged(
    bad: BadInput, runtime: Runtime, clock: SettableClock, client: TestClient[Any], child_id: UUID
) -> None:
    request = bad.send(runtime, clock, child_id)
    before = runtime.hub.log_length()

    response = client.request(**request)

    assert runtime.hub.log_length() == before
    assert response.status_code == bad.status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == bad.status
    assert problem["type"] and problem["title"] and problem["detail"]
    if bad.field is not None:
        assert bad.field in [e["field"] for e in problem["errors"]], problem
    if bad.says:
        assert bad.says in problem["detail"], problem
    for name, part in bad.headers.items():
        assert part in response.headers.get(name, ""), dict(response.headers)
    for value in PERSONAL_DATA:
        assert value not in response.text


def test_a_bad_request_after_good_ones_does_not_undo_them(
    runtime: Runtime, client: TestClient[Any], child_id: UUID
) -> None:
    """The log keeps what came before a refusal, and the next good request is recorded."""
    before = runtime.hub.log_length()
    refused = client.post(
        f"{API}/children/{child_id}/conversations", json={**conversation_payload(), "mood": "?"}, headers=as_staff(runtime, "rektor.ostra")
    )
    accepted = client.post(
        f"{API}/children/{child_id}/conversations", json=conversation_payload(), headers=as_staff(runtime, "rektor.ostra")
    )

    assert refused.status_code == 422
    assert accepted.status_code == 201
    assert runtime.hub.log_length() == before + 1
