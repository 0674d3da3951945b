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


def consent_until(until: str) -> Send:
    def send(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
        return {
            "method": "POST",
            "url": f"{API}/children/{cid}/consents",
            "json": {"recipients": [{"unit_id": "bup-ystad"}], "categories": ["needs"], "purpose": "Stöd", "valid_until": until},
            "headers": school(rt, clock),
        }

    return send


def consent_past_the_areas_longest(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
    longest = clock() + timedelta(days=rt.settings.consent_max_validity_days, hours=1)
    return consent_until(longest.isoformat())(rt, clock, cid)


def audit_query(path: str, **params: str) -> Send:
    def send(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
        return {"method": "GET", "url": f"{API}/audit/{path}", "params": params, "headers": as_staff(rt, "granskare.ystad")}

    return send


def raw_conversation(body: bytes, content_type: str = "application/json") -> Send:
    def send(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
        return {
            "method": "POST",
            "url": f"{API}/children/{cid}/conversations",
            "content": body,
            "headers": {**school(rt, clock), "Content-Type": content_type},
        }

    return send


def _conversation_json(**changes: Any) -> bytes:
    return json.dumps({**conversation_payload(), **changes}).encode()


def text_to_start_a_session(rt: Runtime, clock: SettableClock, cid: UUID) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": f"{API}/sessions",
        "content": b"start one",
        "headers": {**school(rt, clock), "Content-Type": "text/plain"},
    }


DEEP = b"[" * 100_000 + b"]" * 100_000
SUMMARY_TWICE = _conversation_json()[:-1] + b', "summary": "the second one wins"}'


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
    BadInput("consent valid until the end of the calendar", consent_until("9999-12-31T23:59:59Z"), 422, field="valid_until"),
    BadInput("consent valid from before the calendar", consent_until("0001-01-01T00:00:00+05:00"), 422, field="valid_until"),
    BadInput("consent longer than the area allows", consent_past_the_areas_longest, 422, field="valid_until", says="18th birthday"),
    BadInput("offset past a 64-bit integer", audit_query("access-log", offset="9223372036854775808"), 422, field="offset"),
    BadInput("review offset past a 64-bit integer", audit_query("reviews", offset="9223372036854775808"), 422, field="offset"),
    BadInput("until at the end of the calendar", audit_query("access-log", until="9999-12-31T23:59:59Z"), 422, field="until"),
    BadInput("until past the calendar in UTC", audit_query("access-log", until="9999-12-31T23:59:59-05:00"), 422, field="until"),
    BadInput("since before the calendar in UTC", audit_query("reviews", since="0001-01-01T00:00:00+05:00"), 422, field="since"),
    BadInput("sample until past the calendar", audit_query("review-sample", until="9999-12-31T23:59:59-05:00"), 422, field="until"),
    BadInput("flagged since before the calendar", audit_query("flagged", since="0001-01-01T00:00:00+05:00"), 422, field="since"),
    BadInput("JSON nested 100,000 deep", raw_conversation(DEEP), 400, field="body", says="deep"),
    BadInput("JSON sent as text/plain", raw_conversation(_conversation_json(), "text/plain"), 415, field="Content-Type"),
    BadInput("text/plain where no body is read", text_to_start_a_session, 415, field="Content-Type"),
    BadInput("JSON without a content type", raw_conversation(_conversation_json(), ""), 415, field="Content-Type"),
    BadInput("JSON in another charset", raw_conversation(_conversation_json(), "application/json; charset=latin-1"), 415, field="Content-Type"),
    BadInput("a key given twice", raw_conversation(SUMMARY_TWICE), 400, field="summary", says="more than once"),
    BadInput("NaN for a number", raw_conversation(b'{"with_whom": "child", "age_group": "10-12", "x": NaN}'), 400, field="body"),
    BadInput("a NUL in text", raw_conversation(_conversation_json(summary="a\u0000b")), 400, field="body"),
    BadInput("an unpaired surrogate in text", raw_conversation(b'{"with_whom": "child", "age_group": "10-12", "summary": "\\ud800"}'), 400, field="body"),
]

PERSONAL_DATA = (CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, "Alva", "Lind")


# A refusal is decided before any store is asked to append, so the table runs on one real store;
# that a refusal after good requests undoes none of them is shown on every store below.
@pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)
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
