"""Authorization over HTTP, as an attacker tries it: a smoke of every endpoint, one caller it lets
in and one it turns away.

Who may do what is decided by one policy and table-tested there, every actor by every act by
every state of a case (tests/unit/test_permissions.py), and every command handler is shown to
ask it (tests/unit/test_every_handler_asks_the_policy.py). What is left to show end to end is
that the API answers as the policy decides: the status, a problem document for a refusal, no
personal data in it, nothing appended, and for reads it allows, nothing the caller may not see.

One cooperation area is built once for the module on the in-memory store: a child in each
consent state (never asked, asked but not answered by all, granted by all, withdrawn,
expired), a bystander child with guardians of its own, and a child of another area. Each cell
of the table below is one request. The table must name every operation the OpenAPI document
publishes, so an endpoint added without deciding who may call it fails here. Whoever may not
know that a child exists gets the answer a child that does not exist gets: 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import TestClient

from hub.http import create_app
from hub.identity.tokens import DemoIssuer
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import OTHER_TENANT, STAFF, START, TENANT, card_payload, directory, plan_payload

API = "/api/v1"
SCHEMA = f"{API}/schema/openapi.json"
STATES = ("none", "pending", "granted", "withdrawn", "expired")
CONSENTED = ["conversations", "identity", "needs"]
RECIPIENT_UNIT = "elevhalsa-ostra"
MATRIX_TIME = START + timedelta(days=2)
"""When the matrix runs: after the expiring consent's end, well within the others'."""


def personnummer(birth: str, serial: str) -> str:
    """A valid twelve-digit identity number: ``birth`` YYYYMMDD, ``serial`` three digits, Luhn check digit."""
    digits = birth[2:] + serial
    total = 0
    for n, d in enumerate(digits):
        v = int(d) * (2 if n % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return f"{birth}{serial}{(10 - total % 10) % 10}"


GUARDIAN_1 = personnummer("19800101", "123")
GUARDIAN_2 = personnummer("19810202", "234")
BYSTANDER_GUARDIAN = personnummer("19790505", "345")
CHILDREN = {state: personnummer("20090915", f"{300 + 2 * n:03d}") for n, state in enumerate(STATES)}
"""Sixteen: old enough (``child_access_age``, ``child_consent_age``: 15) to see their own information and to
be asked for consent, so "granted by all" takes the child's answer too."""
BYSTANDER = personnummer("20120606", "412")
FOREIGN = personnummer("20110707", "523")


@dataclass
class Child:
    state: str
    personnummer: str
    child_id: str = ""
    card_id: str = ""
    consent_id: str = ""
    event_ids: list[str] = field(default_factory=list)
    access_ids: list[str] = field(default_factory=list)


@dataclass
class World:
    rt: Runtime
    clock: SettableClock
    client: TestClient[Any]
    children: dict[str, Child]
    bystander: str
    foreign: str
    shared_case: Child = field(default_factory=lambda: Child("case", ""))

    def headers(self, caller: str, child: Child | None = None) -> dict[str, str]:
        """``child``: whose token a 'child' caller carries."""
        issuer = self.rt.demo_issuer
        assert issuer is not None
        if caller == "no_token":
            return {}
        if caller == "expired_token":
            token = issuer.staff_token(TENANT, "rektor.ostra", "skola-ostra", ["barnkontakt", "team_member"], lifetime=timedelta(hours=-1))
        elif caller == "unknown_key":
            token = DemoIssuer(Ed25519PrivateKey.generate(), issuer.audience, issuer.clock).staff_token(
                TENANT, "rektor.ostra", "skola-ostra", ["barnkontakt", "team_member"]
            )
        elif caller == "other_tenant":
            token = issuer.staff_token(OTHER_TENANT, "rektor.lidingo", "skola-lidingo", ["barnkontakt"])
        elif caller == "guardian":
            token = issuer.family_token(TENANT, "guardian", GUARDIAN_1)
        elif caller == "other_guardian":
            token = issuer.family_token(TENANT, "guardian", BYSTANDER_GUARDIAN)
        elif caller == "child":
            token = issuer.family_token(TENANT, "child", (child or self.children["granted"]).personnummer)
        else:
            user = CALLERS[caller]
            unit, roles = STAFF[user]
            token = issuer.staff_token(TENANT, user, unit, sorted(r.value for r in roles))
        return {"Authorization": f"Bearer {token}"}


CALLERS = {
    "own_unit": "rektor.ostra",  # the children's Barnkontakt, at the school
    "recipient_unit": "kurator.ostra",  # pupil health: team member, named in each consent, the coordinator
    "team_police": "polis.ystad",  # the police: sent each card, in each team
    "home_visit_unit": "sjukskoterska.bvc",  # child health care (BVC): no part in any child's process
    "other_unit": "forskola.solen",  # same area, no part in any child's process
    "auditor": "granskare.ystad",
    "tenant_admin": "admin.ystad",
}
PRINCIPALS = (
    "own_unit",
    "recipient_unit",
    "team_police",
    "home_visit_unit",
    "other_unit",
    "other_tenant",
    "guardian",
    "other_guardian",
    "child",
    "auditor",
    "tenant_admin",
    "no_token",
    "expired_token",
    "unknown_key",
)



def _ok(response: Any, expect: int = 201) -> dict[str, Any]:
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


def _guardians(*numbers: str) -> list[dict[str, Any]]:
    return [{"name": f"Vårdnadshavare {n}", "personnummer": p, "has_custody": True} for n, p in enumerate(numbers, 1)]


def _register(w: World, number: str, guardians: list[dict[str, Any]], headers: dict[str, str]) -> str:
    body = {"personnummer": number, "given_name": "Elsa", "family_name": "Ek", "guardians": guardians}
    return str(_ok(w.client.post(f"{API}/children", json=body, headers=headers))["child_id"])


def build_child(w: World, child: Child, *, consent_until: str | None = None) -> None:
    """Registered by the school, a card from the police, the school's Barnkontakt, a conversation,
    a Barnteam with pupil health and the police, the police's own summary, then the consent as
    ``child.state`` says."""
    school = w.headers("own_unit")
    issuer = w.rt.demo_issuer
    assert issuer is not None
    unit, roles = STAFF["polis.ystad"]
    police = {"Authorization": f"Bearer {issuer.staff_token(TENANT, 'polis.ystad', unit, sorted(r.value for r in roles))}"}
    child.child_id = _register(w, child.personnummer, _guardians(GUARDIAN_1, GUARDIAN_2), school)
    base = f"{API}/children/{child.child_id}"
    child.card_id = _ok(w.client.post(f"{base}/discovery-cards", json=card_payload("skola-ostra"), headers=police))["card_id"]
    _ok(w.client.post(f"{base}/barnkontakt", json={"staff_id": "rektor.ostra"}, headers=school))
    talk = {"with_whom": "child", "age_group": "13-15", "views": [{"area": "trygghet", "view": "Rasterna"}], "summary": "Samtal"}
    _ok(w.client.post(f"{base}/conversations", json=talk, headers=school))
    team = {"decision": "barnteam", "family_informed": True, "member_unit_ids": [RECIPIENT_UNIT, "polis-ystad"]}
    _ok(w.client.post(f"{base}/team-decisions", json=team, headers=school))
    _ok(w.client.post(f"{base}/agency-summaries", json={"police": "Polisens egen uppgift"}, headers=police))
    if child.state == "none":
        return
    request: dict[str, Any] = {"recipients": [{"unit_id": RECIPIENT_UNIT}], "categories": CONSENTED, "purpose": "Stöd i skolan"}
    if consent_until is not None:
        request["valid_until"] = consent_until
    child.consent_id = _ok(w.client.post(f"{base}/consents", json=request, headers=school))["consent_id"]
    answerers = [w.headers("guardian")]
    if child.state != "pending":
        answerers += [{"Authorization": f"Bearer {issuer.family_token(TENANT, 'guardian', GUARDIAN_2)}"}, w.headers("child", child)]
    for headers in answerers:
        _ok(w.client.post(f"{base}/consents/{child.consent_id}/grant", headers=headers))
    if child.state == "withdrawn":
        _ok(w.client.post(f"{base}/consents/{child.consent_id}/withdraw", headers=w.headers("guardian")))


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    clock = SettableClock(START)
    rt = bootstrap(Settings(store="memory", demo_mode=True), clock=clock, directory=directory())
    with TestClient(create_app(rt)) as client:
        w = World(rt, clock, client, {s: Child(s, CHILDREN[s]) for s in STATES}, "", "")
        for state, child in w.children.items():
            until = (START + timedelta(days=1)).isoformat() if state == "expired" else None
            build_child(w, child, consent_until=until)
        w.bystander = _register(w, BYSTANDER, _guardians(BYSTANDER_GUARDIAN), w.headers("own_unit"))
        w.foreign = _register(w, FOREIGN, _guardians(GUARDIAN_1), w.headers("other_tenant"))
        clock.set(MATRIX_TIME)
        w.shared_case = build_case(w)
        yield w
    rt.close()


# -- commands: each allowed cell runs on a child of its own, built up to where the step fits ----------------

_serials = iter(range(100, 1000))


def fresh_number() -> str:
    return personnummer("20090916", f"{next(_serials):03d}")


def build_case(w: World, *, with_barnkontakt: bool = True) -> Child:
    """A child with a card from the police, a Barnkontakt, an individual team (the school, pupil health,
    the police) with a coordinator, a rating, a plan and a consent no one has answered yet: far
    enough along for every step to be possible. Without a Barnkontakt, only the card."""
    child = Child("case", fresh_number())
    school = w.headers("own_unit")
    issuer = w.rt.demo_issuer
    assert issuer is not None
    unit, roles = STAFF["polis.ystad"]
    police = {"Authorization": f"Bearer {issuer.staff_token(TENANT, 'polis.ystad', unit, sorted(r.value for r in roles))}"}
    child.child_id = _register(w, child.personnummer, _guardians(GUARDIAN_1, GUARDIAN_2), school)
    base = f"{API}/children/{child.child_id}"
    child.card_id = _ok(w.client.post(f"{base}/discovery-cards", json=card_payload("skola-ostra"), headers=police))["card_id"]
    if not with_barnkontakt:
        return child
    _ok(w.client.post(f"{base}/barnkontakt", json={"staff_id": "rektor.ostra"}, headers=school))
    _ok(w.client.post(f"{base}/conversations", json={"with_whom": "child", "age_group": "13-15"}, headers=school))
    team = {"decision": "individual_team", "family_informed": True, "member_unit_ids": ["skola-ostra", RECIPIENT_UNIT, "polis-ystad"]}
    _ok(w.client.post(f"{base}/team-decisions", json=team, headers=school))
    _ok(w.client.post(f"{base}/support-coordinator", json={"staff_id": "kurator.ostra"}, headers=school))
    rating = {"scores": [{"area": "trygghet", "indicator": "trygghet-natverk", "score": 2}]}
    _ok(w.client.post(f"{base}/ratings", json=rating, headers=school))
    _ok(w.client.put(f"{base}/plan", json=plan_payload(MATRIX_TIME.date()), headers=w.headers("recipient_unit")), 200)
    request = {"recipients": [{"unit_id": RECIPIENT_UNIT}], "categories": CONSENTED, "purpose": "Stöd i skolan"}
    child.consent_id = _ok(w.client.post(f"{base}/consents", json=request, headers=school))["consent_id"]
    steps = _ok(w.client.get(f"{base}/timeline", headers=school), 200)["steps"]
    child.event_ids = [s["event_id"] for s in steps]
    reads = _ok(w.client.get(f"{API}/audit/access-log", params={"child_id": child.child_id}, headers=w.headers("auditor")), 200)
    child.access_ids = [e["event_id"] for e in reads]
    return child


def command_body(path: str, child: Child) -> Any:
    needs = [{"area": "trygghet", "statements": [], "note": "Oro"}]
    closing = [{"action_id": f"a{i}", "reason": "Behövs inte längre"} for i in (1, 2, 3)]
    bodies: dict[str, Any] = {
        "/children": {"personnummer": fresh_number(), "given_name": "Ny", "family_name": "Elev", "guardians": []},
        "/discovery-cards": card_payload("skola-ostra"),
        "/barnkontakt": {"staff_id": "rektor.ostra"},
        "/barnkontakt/delegations": {"staff_id": "sjukskoterska.bvc", "reason": "Ledighet"},
        "/discovery-cards/{card_id}/feedback": {"message": "Barnkontakt utsedd"},
        "/conversations": {"with_whom": "child", "age_group": "13-15", "summary": "Samtal"},
        "/team-decisions": {"decision": "individual_team", "family_informed": True, "member_unit_ids": ["skola-ostra", RECIPIENT_UNIT]},
        "/ratings": {"scores": [{"area": "trygghet", "indicator": "trygghet-natverk", "score": 3}]},
        "/team-meetings": {"participant_unit_ids": ["skola-ostra", RECIPIENT_UNIT], "advice": "Fortsätt"},
        "/support-coordinator": {"staff_id": "kurator.ostra"},
        "/support-coordinator/hand-over": {"staff_id": "socsek.ystad", "reason": "Samordningen flyttar till socialtjänsten"},
        "/plan": plan_payload(MATRIX_TIME.date()),
        "/plan/actions/{action_id}/completion": {"note": "Klart"},
        "/follow-ups": {"summary": "Uppföljning", "compass": [{"area": "trygghet", "score": 4.0}]},
        "/needs-met": {"follow_up_compass": [{"area": "trygghet", "score": 5.0}], "summary": "Klart", "closed_actions": closing},
        "/closure": {"reason": "moved_away", "closed_actions": closing},
        "/concern-reports": {"to_unit_id": "soc-ystad", "unmet_needs": needs, "description": "Oro för barnet"},
        "/home-visits": {"visit": 1, "notes": "Första besöket"},
        "/agency-summaries": {"police": "Polisens egen uppgift"},
        "/withheld-information": {"event_ids": child.event_ids[-1:], "reason": "Sekretess mot vårdnadshavare"},
        "/consents": {"recipients": [{"unit_id": RECIPIENT_UNIT}], "categories": ["needs"], "purpose": "Stöd"},
        "/audit/reviews": {"child_id": child.child_id, "access_event_ids": child.access_ids[:1], "outcome": "justified"},
        "/imports/cards": {"cards": [{
            "eservice_id": "e-tjanst-1", "personnummer": fresh_number(), "given_name": "Ny", "family_name": "Elev",
            "staff_id": "larare.ostra", "unit_id": "skola-ostra", "filed_on": START.date().isoformat(), **card_payload("skola-ostra"),
        }]},
    }
    directory = {
        "/directory/units": {"unit_id": f"enhet-{uuid4().hex[:8]}", "kind": "school", "name": "Nya skolan"},
        "/directory/units/{unit_id}/name": {"name": "Barnmorskemottagningen Ystad"},
        "/directory/units/{unit_id}/subscription": {"cadence": "daily", "digest_hour": 8},
        "/directory/staff": {"user_id": f"ny.{uuid4().hex[:8]}", "unit_id": "mvc-ystad", "roles": ["discoverer"], "name": "Ny Barnmorska"},
        "/directory/staff/{user_id}": {"unit_id": "mvc-ystad", "roles": ["discoverer"], "name": "Barnmorska Mvc"},
        "/directory/delegations": {
            "to_user_id": "larare.ostra", "role": "barnkontakt",
            "starts_on": MATRIX_TIME.date().isoformat(), "ends_on": (MATRIX_TIME.date() + timedelta(days=7)).isoformat(),
        },
    }
    for key, body in directory.items():
        if path.endswith(key):
            return body
    for key, body in bodies.items():
        if path.endswith(key):
            return body
    return None


DIRECTORY_IDS = {"unit_id": "mvc-ystad", "user_id": "barnmorska.mvc", "delegation_id": "00000000-0000-4000-8000-0000000000d1"}
"""The unit and the person the directory's cells name: the midwife clinic, in no child's process here."""


def command_url(path: str, child: Child) -> str:
    return path.format(child_id=child.child_id, card_id=child.card_id, consent_id=child.consent_id, action_id="a1", **DIRECTORY_IDS)


# -- the table ------------------------------------------------------------------------------------------
#
# Per endpoint, the cells this smoke sends: (caller, the status the API must answer) and, for the reads
# of one child, the consent state of the child read. Each endpoint has a caller it lets in (where any
# caller can be) and one it turns away; across the table every kind of caller is turned away somewhere.

REFUSED = (403, 404, 409, 422)
STATE = "granted"
"""The child a read is about, unless a cell names another consent state."""

Cell = tuple[str, Any] | tuple[str, Any, str]

READS: dict[tuple[str, str], list[Cell]] = {
    ("get", "/health"): [("no_token", 200), ("other_tenant", 200)],
    ("get", "/ready"): [("no_token", 200), ("other_tenant", 200)],
    # The Barnkontakt's unit reads its own record and what was sent to it; pupil health only while the
    # consent is in effect; the family on custody and as the data subject; a unit with no part gets 404.
    ("get", "/api/v1/children/{child_id}"): [
        ("own_unit", 200),
        ("recipient_unit", 200),
        ("recipient_unit", 403, "pending"),
        ("recipient_unit", 403, "withdrawn"),
        ("recipient_unit", 403, "expired"),
        ("guardian", 200),
        ("child", 200),
        ("other_unit", 404),
        ("other_tenant", 404),
    ],
    ("get", "/api/v1/children/{child_id}/timeline"): [("own_unit", 200), ("recipient_unit", 403, "none"), ("auditor", 403)],
    ("get", "/api/v1/children/{child_id}/access-log"): [("guardian", 200), ("own_unit", 403), ("other_guardian", 404)],
    ("get", "/api/v1/children/{child_id}/consents"): [("child", 200), ("other_unit", 404)],
    # The documents: read as the JSON they lay out is, so refused as it is.
    ("get", "/api/v1/children/{child_id}/plan.pdf"): [("own_unit", 200), ("recipient_unit", 403, "withdrawn"), ("other_unit", 404)],
    ("get", "/api/v1/children/{child_id}/consents/{consent_id}/receipt.pdf"): [("guardian", 200), ("other_guardian", 404), ("other_unit", 404)],
    ("get", "/api/v1/case-list"): [("own_unit", 200), ("other_tenant", 200), ("guardian", 403)],
    ("get", "/api/v1/me/children"): [("guardian", 200), ("other_guardian", 200), ("child", 200), ("own_unit", 403)],
    ("get", "/api/v1/audit/access-log"): [("auditor", 200), ("tenant_admin", 403)],
    ("get", "/api/v1/audit/flagged"): [("auditor", 200), ("own_unit", 403)],
    ("get", "/api/v1/audit/reviews"): [("auditor", 200), ("child", 403)],
    ("get", "/api/v1/audit/review-sample"): [("auditor", 200), ("recipient_unit", 403)],
    # The follow-up figures: the page's permission, for the area's staff and administrator, of their own area.
    ("get", "/api/v1/follow-up/figures"): [("own_unit", 200), ("tenant_admin", 200), ("other_tenant", 200), ("guardian", 403), ("no_token", 401)],
    # The webhooks the agencies could not hand over: the area's administrator's, of their own area.
    ("get", "/api/v1/deliveries/failed"): [("tenant_admin", 200), ("own_unit", 403), ("other_tenant", 403), ("no_token", 401)],
    # The directory: who works where is for the area's staff, administrator and auditors; its history for
    # the administrator and the auditors; another area's unit or person is unknown.
    ("get", "/api/v1/directory"): [("own_unit", 200), ("auditor", 200), ("tenant_admin", 200), ("guardian", 403), ("no_token", 401)],
    ("get", "/api/v1/directory/history"): [("tenant_admin", 200), ("auditor", 200), ("own_unit", 403), ("child", 403)],
    ("get", "/api/v1/directory/units/{unit_id}"): [("own_unit", 200), ("other_tenant", 404), ("guardian", 403)],
    ("get", "/api/v1/directory/staff/{user_id}"): [("recipient_unit", 200), ("other_tenant", 404), ("other_guardian", 403)],
    ("get", "/api/v1/follow-up/report.pdf"): [("tenant_admin", 200), ("guardian", 403), ("no_token", 401)],
    ("get", "/api/v1/follow-up/term-report.pdf"): [("tenant_admin", 200), ("own_unit", 200), ("guardian", 403), ("no_token", 401)],
    ("get", "/api/v1/transparency/checkpoint"): [("guardian", 200), ("no_token", 401)],
    ("get", "/api/v1/transparency/key"): [("other_tenant", 200), ("expired_token", 401)],
    # Every signed-in caller may ask; without its required query parameters the answer is 422.
    ("get", "/api/v1/transparency/consistency"): [("own_unit", 422), ("unknown_key", 401)],
    ("get", "/api/v1/transparency/inclusion"): [("auditor", 422), ("no_token", 401)],
    # A request signed with a bearer token has no web session to show.
    ("get", "/api/v1/sessions/current"): [("own_unit", 404), ("no_token", 401)],
    # The FHIR bundle is the same read as the child's JSON view; its AuditEvents are the family's access log.
    ("get", "/api/v1/children/{child_id}/fhir"): [
        ("own_unit", 200),
        ("recipient_unit", 200),
        ("recipient_unit", 403, "pending"),
        ("recipient_unit", 403, "withdrawn"),
        ("guardian", 200),
        ("other_unit", 404),
        ("other_tenant", 404),
    ],
    ("get", "/api/v1/children/{child_id}/fhir/AuditEvent"): [("guardian", 200), ("own_unit", 403), ("other_guardian", 404)],
    ("get", "/api/v1/fhir/metadata"): [("own_unit", 200), ("no_token", 401)],
    ("get", "/api/v1/fhir/Questionnaire/behovskompass"): [("guardian", 200), ("no_token", 401)],
}

COMMANDS: dict[tuple[str, str], list[Cell]] = {
    # The area's administrator keeps the directory; a Barnkontakt hands their own role to a colleague at the school.
    ("post", "/api/v1/directory/units"): [("tenant_admin", 201), ("own_unit", 403), ("other_tenant", 403)],
    ("put", "/api/v1/directory/units/{unit_id}/name"): [("tenant_admin", 200), ("own_unit", 403)],
    ("post", "/api/v1/directory/units/{unit_id}/close"): [("tenant_admin", 409), ("auditor", 403)],
    ("put", "/api/v1/directory/units/{unit_id}/subscription"): [("tenant_admin", 200), ("recipient_unit", 403)],
    ("post", "/api/v1/directory/staff"): [("tenant_admin", 201), ("own_unit", 403), ("guardian", 403)],
    ("put", "/api/v1/directory/staff/{user_id}"): [("tenant_admin", 200), ("team_police", 403)],
    ("delete", "/api/v1/directory/staff/{user_id}"): [("own_unit", 403), ("other_unit", 403)],
    ("post", "/api/v1/directory/delegations"): [("own_unit", 201), ("recipient_unit", 403), ("other_tenant", 422)],
    ("delete", "/api/v1/directory/delegations/{delegation_id}"): [("tenant_admin", 422), ("home_visit_unit", 422)],
    # Any member of staff registers a child, sends a card or reports a concern, about any child of the area.
    ("post", "/api/v1/children"): [("other_unit", 201), ("guardian", 403)],
    ("post", "/api/v1/children/{child_id}/discovery-cards"): [("other_unit", 201), ("other_guardian", 404)],
    ("post", "/api/v1/children/{child_id}/concern-reports"): [("home_visit_unit", 201), ("auditor", 403)],
    # The Barnkontakt is taken at the unit the card went to; a unit with no part does not learn of the child.
    ("post", "/api/v1/children/{child_id}/barnkontakt"): [("own_unit", 201), ("other_unit", 404)],
    ("post", "/api/v1/children/{child_id}/barnkontakt/delegations"): [("own_unit", 201), ("recipient_unit", 403)],
    ("post", "/api/v1/children/{child_id}/discovery-cards/{card_id}/feedback"): [("own_unit", 201), ("other_tenant", 404)],
    ("post", "/api/v1/children/{child_id}/team-decisions"): [("own_unit", 201), ("recipient_unit", 403)],
    ("post", "/api/v1/children/{child_id}/support-coordinator"): [("own_unit", 201), ("home_visit_unit", 404)],
    # The coordinator's role is handed on by the coordinator, the deputy, the Barnkontakt or the administrator.
    ("post", "/api/v1/children/{child_id}/support-coordinator/hand-over"): [("own_unit", 201), ("team_police", 403)],
    ("post", "/api/v1/children/{child_id}/conversations"): [("recipient_unit", 201), ("guardian", 403)],
    ("post", "/api/v1/children/{child_id}/ratings"): [("team_police", 201), ("other_unit", 404)],
    ("post", "/api/v1/children/{child_id}/team-meetings"): [("own_unit", 201), ("tenant_admin", 403)],
    ("put", "/api/v1/children/{child_id}/plan"): [("recipient_unit", 200), ("child", 403)],
    ("post", "/api/v1/children/{child_id}/plan/actions/{action_id}/completion"): [("own_unit", 201), ("team_police", 403)],
    ("post", "/api/v1/children/{child_id}/follow-ups"): [("own_unit", 201), ("expired_token", 401)],
    ("post", "/api/v1/children/{child_id}/needs-met"): [("recipient_unit", 201), ("unknown_key", 401)],
    # The case is closed by whoever holds it; a team unit that does not is refused.
    ("post", "/api/v1/children/{child_id}/closure"): [("own_unit", 201), ("team_police", 403)],
    ("post", "/api/v1/children/{child_id}/consents"): [("own_unit", 201), ("team_police", 403)],
    # The extended home-visit programme is child health care's (BVC), the midwife clinic's or parent support's.
    ("post", "/api/v1/children/{child_id}/home-visits"): [("home_visit_unit", 201), ("own_unit", 403)],
    # Each agency in the team shares only its own part: the police theirs, the school none of it.
    ("post", "/api/v1/children/{child_id}/agency-summaries"): [("team_police", 201), ("own_unit", 403)],
    # Only the unit that recorded a fact puts it under secrecy; the fact here is the school's.
    ("post", "/api/v1/children/{child_id}/withheld-information"): [("own_unit", 201), ("recipient_unit", 403)],
    # Consent is answered by every guardian with custody and the child (here 16); another family hears 404.
    ("post", "/api/v1/children/{child_id}/consents/{consent_id}/grant"): [("guardian", 201), ("other_guardian", 404)],
    ("post", "/api/v1/children/{child_id}/consents/{consent_id}/decline"): [("child", 201), ("own_unit", 403)],
    ("post", "/api/v1/children/{child_id}/consents/{consent_id}/withdraw"): [("guardian", 201), ("other_tenant", 404)],
    ("post", "/api/v1/audit/reviews"): [("auditor", 201), ("tenant_admin", 403)],
    # The area's administrator imports an e-service's cards (staff only their own); the family and auditors none.
    ("post", "/api/v1/imports/cards"): [("tenant_admin", 200), ("guardian", 403), ("auditor", 403)],
    # The registering unit, the Barnkontakt's unit or the administrator asks the population register again.
    ("post", "/api/v1/children/{child_id}/guardians/check"): [("own_unit", 200), ("other_unit", 404), ("guardian", 403)],
    # Whoever holds a valid token may start a web session for it; a token's request has none to end.
    ("post", "/api/v1/sessions"): [("own_unit", 201), ("no_token", 401)],
    ("delete", "/api/v1/sessions/current"): [("own_unit", 404), ("no_token", 401)],
}

OPEN_TO_ALL = {("get", "/health"), ("get", "/ready")}
"""Endpoints no caller is turned away from."""
NO_CALLER_SUCCEEDS = {
    ("get", "/api/v1/transparency/consistency"): "its smoke asks without the positions it needs",
    ("get", "/api/v1/transparency/inclusion"): "its smoke asks without the position it needs",
    ("get", "/api/v1/sessions/current"): "a bearer token has no web session",
    ("delete", "/api/v1/sessions/current"): "a bearer token has no web session",
    ("post", "/api/v1/directory/units/{unit_id}/close"): "every unit of the smoke's area has staff (closing: tests/http/test_directory_api.py)",
    ("delete", "/api/v1/directory/staff/{user_id}"): "the smoke's people are needed by other cells (removal: tests/http/test_directory_api.py)",
    ("delete", "/api/v1/directory/delegations/{delegation_id}"): "the smoke names no delegation (revoking: tests/http/test_directory_api.py)",
}


def published(client: TestClient[Any]) -> set[tuple[str, str]]:
    document = client.get(SCHEMA).json()
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def matches(status: int, want: Any) -> bool:
    return status in want if isinstance(want, tuple) else status == want


def cell(c: Cell) -> tuple[str, Any, str]:
    return (c[0], c[1], c[2] if len(c) == 3 else STATE)  # type: ignore[misc]


# -- the tests ------------------------------------------------------------------------------------------


def test_the_table_names_every_published_operation_and_every_route(world: World) -> None:
    table = set(READS) | set(COMMANDS)
    routes = {
        (method.lower(), route.path.replace(":uuid", "").replace(":str", ""))
        for route in world.client.app.routes
        for method in getattr(route, "methods", ())
        if method not in {"HEAD", "OPTIONS"} and not route.path.startswith(f"{API}/schema")
        and (route.path.startswith(API) or route.path in ("/health", "/ready"))  # the pages call the same core: tests/web
    }
    assert published(world.client) - table == set()
    assert routes - table == set()
    assert table - published(world.client) == set()


def test_every_endpoint_lets_someone_in_and_turns_someone_away_and_every_caller_is_turned_away_somewhere() -> None:
    turned_away = set()
    for key, cells in (*READS.items(), *COMMANDS.items()):
        statuses = [cell(c)[1] for c in cells]
        assert any(not isinstance(s, int) or s >= 400 for s in statuses) or key in OPEN_TO_ALL, key
        assert any(isinstance(s, int) and s < 400 for s in statuses) or key in NO_CALLER_SUCCEEDS, key
        turned_away |= {cell(c)[0] for c in cells if not isinstance(cell(c)[1], int) or cell(c)[1] >= 400}
        assert {cell(c)[0] for c in cells} <= set(PRINCIPALS), key
    assert turned_away == set(PRINCIPALS)


CHILD_READS = sorted(k for k in READS if "{child_id}" in k[1])
READ_CELLS = [
    pytest.param(m, p, who, want, state, id=f"{m} {p.removeprefix(API)} {who} {state}")
    for m, p in CHILD_READS
    for who, want, state in map(cell, READS[(m, p)])
]


@pytest.mark.parametrize(("method", "path", "who", "want", "state"), READ_CELLS)
def test_reads_of_a_child(world: World, method: str, path: str, who: str, want: Any, state: str) -> None:
    child = world.children[state]
    response = world.client.get(path.format(child_id=child.child_id, consent_id=child.consent_id), headers=world.headers(who, child))

    assert matches(response.status_code, want), response.text
    assert response.headers["cache-control"] == "no-store"
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert child.personnummer not in response.text and "Elsa" not in response.text
        return
    others = [c.child_id for c in world.children.values() if c is not child] + [world.bystander, world.foreign]
    assert not any(other in response.text for other in others)
    if path.endswith("{child_id}"):
        view = response.json()
        assert view["child_id"] == child.child_id
        categories = {i["category"] for i in view["items"]}
        if who == "own_unit":
            # Its own record and the card sent to it; never the police's own summary, nothing by consent.
            assert "police" not in categories
            assert {i["basis"] for i in view["items"]} <= {"own_record", "sent_to_unit"}
        if who == "recipient_unit":
            assert categories <= set(CONSENTED)
            assert {i["basis"] for i in view["items"]} == {"consent"}
        if who in ("guardian", "child"):
            assert {i["basis"] for i in view["items"]} == {"custody" if who == "guardian" else "data_subject"}


LIST_READS = sorted(k for k in READS if "{child_id}" not in k[1])
LIST_CELLS = [
    pytest.param(m, p, who, want, id=f"{m} {p.removeprefix(API)} {who}")
    for m, p in LIST_READS
    for who, want, _ in map(cell, READS[(m, p)])
]


@pytest.mark.parametrize(("method", "path", "who", "want"), LIST_CELLS)
def test_reads_across_children(world: World, method: str, path: str, who: str, want: Any) -> None:
    response = world.client.get(path.format(**DIRECTORY_IDS), headers=world.headers(who))

    assert matches(response.status_code, want), response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        return
    ystad = {c.child_id for c in world.children.values()} | {world.bystander}
    if who == "other_tenant":
        assert not any(child_id in response.text for child_id in ystad)
    elif path.startswith(API) and response.headers["content-type"].startswith("application/json"):
        assert world.foreign not in response.text
    if path.endswith("/me/children"):
        # The first guardian is also a guardian of the child in the other area, and of each command's child.
        mine = {c["child_id"] for c in response.json()}
        states = {c.child_id for c in world.children.values()}
        if who == "guardian":
            assert states <= mine and not mine & {world.bystander, world.foreign}
        else:
            assert mine == ({world.bystander} if who == "other_guardian" else {world.children["granted"].child_id})


COMMAND_CELLS = [
    pytest.param(m, p, who, want, id=f"{m} {p.removeprefix(API)} {who}")
    for (m, p) in sorted(COMMANDS)
    for who, want, _ in map(cell, COMMANDS[(m, p)])
]


@pytest.mark.parametrize(("method", "path", "who", "want"), COMMAND_CELLS)
def test_commands(world: World, method: str, path: str, who: str, want: Any) -> None:
    """Each allowed command on a child of its own; a refused command records nothing."""
    allowed = isinstance(want, int) and 200 <= want < 300
    child = (
        build_case(world, with_barnkontakt=not path.endswith("/barnkontakt"))
        if allowed and "{child_id}" in path
        else world.shared_case
    )
    before = world.rt.hub.log_length()
    response = world.client.request(
        method.upper(), command_url(path, child), json=command_body(path, child), headers=world.headers(who, child)
    )

    world.client.cookies.clear()  # a session started here must not sign in the next cell's caller

    assert matches(response.status_code, want), response.text
    if not allowed:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert child.personnummer not in response.text
        assert world.rt.hub.log_length() == before


def test_denied_reads_of_a_child_are_in_the_auditors_access_log(world: World) -> None:
    child = world.children["granted"]
    attempts = {"other_unit": 404, "other_guardian": 404, "tenant_admin": 403}
    for who, status in attempts.items():
        response = world.client.get(f"{API}/children/{child.child_id}", params={"purpose": f"attempt by {who}"}, headers=world.headers(who, child))
        assert response.status_code == status, response.text

    log = world.client.get(f"{API}/audit/access-log", params={"child_id": child.child_id, "limit": 1000}, headers=world.headers("auditor"))

    assert log.status_code == 200
    denied = [e for e in log.json() if e["allowed"] is False]
    by = {e["accessor_id"] for e in denied}
    assert {"forskola.solen", "admin.ystad"} <= by
    school = [e for e in denied if e["accessor_id"] == "forskola.solen" and e["purpose"] == "attempt by other_unit"]
    assert school and school[0]["unit_id"] == "forskola-solen" and school[0]["categories"] == []
    assert set(school[0]["denied_categories"]) >= {"identity", "needs"}
    assert any(e["purpose"] == "attempt by other_guardian" and e["role"] == "guardian" for e in denied)


def test_an_auditors_attempt_to_read_a_childs_record_is_in_the_access_log(world: World) -> None:
    child = world.children["granted"]
    response = world.client.get(
        f"{API}/children/{child.child_id}", params={"purpose": "attempt by the auditor"}, headers=world.headers("auditor")
    )
    assert response.status_code == 403

    log = world.client.get(f"{API}/audit/access-log", params={"child_id": child.child_id, "limit": 1000}, headers=world.headers("auditor"))

    assert any(e["accessor_id"] == "granskare.ystad" and e["purpose"] == "attempt by the auditor" for e in log.json())
