"""Who may act, tried as an outsider would over HTTP: the attacks of issue 10 (cases 1, 2, 4 and 6).

Each test replays one attack on a hub that holds a child's case at the school (Skola
Östra): registered there, a discovery card to the school, its principal as the child's
Barnkontakt. Every attempt must be refused with nothing appended to the log (compared by
``log_length`` before and after), must tell the attacker nothing they may not know, and
must leave the school able to carry on. Bad input is refused at the edge, without coercion.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import TestClient

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
    conversation_payload,
    registration_payload,
)
from tests.factories import staff as staff_principal

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
SCHOOL, SCHOOL_BK = "skola-ostra", "rektor.ostra"
BVC, BVC_BK = "bvc-ystad", "sjukskoterska.bvc"
"""A Barnkontakt of another unit: the case-takeover attacker."""
PRESCHOOL, PRESCHOOL_STAFF = "forskola-solen", "forskola.solen"
"""A discoverer with no part in the child's process: the self-granted-access attacker."""
OTHER_CHILD_PNR = "201103202386"
NEW_CHILD_PNR = "201209152386"
FAMILY_SECRETS = ("Alva", "Lind", "Anna", CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR)
"""The child's and the guardians' names and identity numbers, as registered by the school."""


@dataclass
class Api:
    """The HTTP calls of a test, each as a named member of staff or family."""

    rt: Runtime
    client: TestClient[Any]
    clock: SettableClock

    def staff(self, user_id: str) -> dict[str, str]:
        assert self.rt.demo_issuer is not None
        unit, roles = STAFF[user_id]
        token = self.rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles))
        return {"Authorization": f"Bearer {token}"}

    def guardian(self, personnummer: str) -> dict[str, str]:
        assert self.rt.demo_issuer is not None
        return {"Authorization": f"Bearer {self.rt.demo_issuer.family_token(TENANT, 'guardian', personnummer)}"}

    def post(self, path: str, body: Any, as_: dict[str, str]) -> Any:
        return self.client.post(API + path, json=body, headers=as_)

    def get(self, path: str, as_: dict[str, str], **params: str) -> Any:
        return self.client.get(API + path, params=params, headers=as_)

    def ok(self, response: Any, status: int = 201) -> dict[str, Any]:
        assert response.status_code == status, response.text
        return response.json()  # type: ignore[no-any-return]

    def log_length(self) -> int:
        return self.rt.hub.log_length()

    # -- the school's case ----------------------------------------------------------------

    def register(self, by: str = "larare.ostra", personnummer: str = CHILD_PNR) -> str:
        body = {**registration_payload(), "personnummer": personnummer}
        return str(self.ok(self.post("/children", body, self.staff(by)))["child_id"])

    def card(self, child: str, to_unit_id: str, by: str = "polis.ystad") -> str:
        return str(self.ok(self.post(f"/children/{child}/discovery-cards", card_payload(to_unit_id), self.staff(by)))["card_id"])

    def carded(self) -> str:
        """Registered by a teacher; the police's card went to the school. No Barnkontakt yet."""
        child = self.register()
        self.card(child, SCHOOL)
        return child

    def held_at_school(self) -> str:
        """The school's principal took the case and held a conversation with the child."""
        child = self.carded()
        self.ok(self.post(f"/children/{child}/barnkontakt", {"staff_id": SCHOOL_BK}, self.staff(SCHOOL_BK)))
        self.ok(self.post(f"/children/{child}/conversations", conversation_payload(), self.staff(SCHOOL_BK)))
        return child


@pytest.fixture
def api(runtime: Runtime, clock: SettableClock) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(runtime, client, clock)


def refused_with_nothing_appended(api: Api, call: Any, statuses: tuple[int, ...]) -> Any:
    before = api.log_length()
    response = call()
    assert response.status_code in statuses, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert api.log_length() == before
    return response


def appending_nothing(api: Api, call: Any) -> Any:
    """The answer to a call that must append nothing, whatever it answers."""
    before = api.log_length()
    response = call()
    assert api.log_length() == before, response.text
    return response


def without_ids(response: Any, *ids: str) -> Any:
    """The problem body with the ids the caller chose blanked: what must not differ between two answers."""
    text = response.text
    for i in ids:
        text = text.replace(i, "<id>")
    return json.loads(text)


# -- case 1: case takeover ---------------------------------------------------------------------


def test_a_barnkontakt_of_another_unit_cannot_take_a_case_whose_card_went_elsewhere(api: Api) -> None:
    child = api.carded()

    refused_with_nothing_appended(
        api, lambda: api.post(f"/children/{child}/barnkontakt", {"staff_id": BVC_BK}, api.staff(BVC_BK)), (403, 404)
    )

    # the school, which the card went to, still takes the case and may hand it over
    api.ok(api.post(f"/children/{child}/barnkontakt", {"staff_id": SCHOOL_BK}, api.staff(SCHOOL_BK)))
    handover = {"staff_id": BVC_BK, "reason": "Barnet går över till BVC"}
    api.ok(api.post(f"/children/{child}/barnkontakt/delegations", handover, api.staff(SCHOOL_BK)))


def test_a_barnkontakt_cannot_open_a_second_case_at_their_own_unit_by_carding_it_first(api: Api) -> None:
    """The card went to the school, which has not taken the case up yet. A BVC Barnkontakt
    cards their own unit to become a unit a card went to, then takes the role: the card goes
    on to the school, and the role stays the school's to take."""
    child = api.carded()

    card_id = api.card(child, BVC, by=BVC_BK)
    refused_with_nothing_appended(
        api, lambda: api.post(f"/children/{child}/barnkontakt", {"staff_id": BVC_BK}, api.staff(BVC_BK)), (403, 404)
    )

    api.ok(api.post(f"/children/{child}/barnkontakt", {"staff_id": SCHOOL_BK}, api.staff(SCHOOL_BK)))
    seen_by_school = api.ok(api.get(f"/children/{child}", api.staff(SCHOOL_BK), purpose="Nya kort"), 200)
    (card,) = [i for i in seen_by_school["items"] if i["fields"].get("card_id") == card_id and "to_unit_id" in i["fields"]]
    assert card["fields"]["to_unit_id"] == SCHOOL and card["basis"] == "sent_to_unit"


def test_a_barnkontakt_of_another_unit_cannot_put_a_colleague_of_theirs_on_the_case(api: Api) -> None:
    """The role goes to a unit the card was sent to, whoever asks for it."""
    child = api.carded()
    refused_with_nothing_appended(
        api, lambda: api.post(f"/children/{child}/barnkontakt", {"staff_id": BVC_BK}, api.staff(SCHOOL_BK)), (403, 404, 422)
    )
    api.ok(api.post(f"/children/{child}/barnkontakt", {"staff_id": SCHOOL_BK}, api.staff(SCHOOL_BK)))


@pytest.mark.parametrize("school_took_the_case", [False, True], ids=["before the school took the case", "after"])
def test_a_barnkontakt_of_another_unit_cannot_hand_the_case_to_themselves(api: Api, school_took_the_case: bool) -> None:
    child = api.held_at_school() if school_took_the_case else api.carded()
    handover = {"staff_id": BVC_BK, "reason": "Tar över"}

    refused_with_nothing_appended(
        api, lambda: api.post(f"/children/{child}/barnkontakt/delegations", handover, api.staff(BVC_BK)), (403, 404)
    )

    if not school_took_the_case:
        api.ok(api.post(f"/children/{child}/barnkontakt", {"staff_id": SCHOOL_BK}, api.staff(SCHOOL_BK)))
    api.ok(api.post(f"/children/{child}/conversations", conversation_payload("guardian"), api.staff(SCHOOL_BK)))


def test_the_attempted_takeover_shows_the_attacker_nothing_of_the_child(api: Api) -> None:
    child = api.carded()
    api.post(f"/children/{child}/barnkontakt", {"staff_id": BVC_BK}, api.staff(BVC_BK))

    for path in (f"/children/{child}", f"/children/{child}/timeline", f"/children/{child}/consents"):
        response = api.get(path, api.staff(BVC_BK))
        assert response.status_code == 404, response.text
        for secret in FAMILY_SECRETS:
            assert secret not in response.text


def test_a_barnkontakt_takes_a_case_at_the_unit_where_the_child_is_enrolled(api: Api) -> None:
    """The BVC registered the child (it is enrolled there); the police's card went to the
    school. The BVC's Barnkontakt may take the case, as may the school's."""
    child = api.register(by=BVC_BK)
    api.card(child, SCHOOL)
    api.ok(api.post(f"/children/{child}/barnkontakt", {"staff_id": BVC_BK}, api.staff(BVC_BK)))
    api.ok(api.post(f"/children/{child}/conversations", conversation_payload(), api.staff(BVC_BK)))


def test_the_administrator_puts_a_barnkontakt_at_a_unit_no_card_went_to_and_hands_the_case_over(api: Api) -> None:
    child = api.carded()
    admin = api.staff("admin.ystad")
    api.ok(api.post(f"/children/{child}/barnkontakt", {"staff_id": BVC_BK}, admin))
    api.ok(api.post(f"/children/{child}/barnkontakt/delegations", {"staff_id": SCHOOL_BK, "reason": "Skolstart"}, admin))
    api.ok(api.post(f"/children/{child}/conversations", conversation_payload(), api.staff(SCHOOL_BK)))


# -- case 2 and case 4a: self-granted access, and registration as an existence oracle ----------------


def test_registering_a_known_identity_number_answers_as_a_new_registration_and_appends_nothing(api: Api) -> None:
    child = api.held_at_school()
    attacker = api.staff(PRESCHOOL_STAFF)
    new = api.post("/children", {**registration_payload(), "personnummer": NEW_CHILD_PNR}, attacker)
    assert new.status_code == 201, new.text

    own_guardians = {
        **registration_payload(),
        "given_name": "Okänd",
        "guardians": [{"name": "Eva Ek", "personnummer": NON_CUSTODIAL_PNR, "has_custody": True}],
    }
    known = appending_nothing(api, lambda: api.post("/children", own_guardians, attacker))

    assert known.status_code == new.status_code == 201
    assert set(known.json()) == set(new.json()) == {"child_id"}
    assert known.json()["child_id"] == child
    assert known.headers["content-type"] == new.headers["content-type"]
    assert known.headers["location"] == f"{API}/children/{child}"


def test_a_card_to_the_discoverers_own_unit_goes_to_the_childs_barnkontakt_unit(api: Api) -> None:
    child = api.held_at_school()
    to_school = api.post(f"/children/{child}/discovery-cards", card_payload(SCHOOL), api.staff("polis.ystad"))
    to_self = api.post(f"/children/{child}/discovery-cards", card_payload(PRESCHOOL), api.staff(PRESCHOOL_STAFF))

    assert to_self.status_code == to_school.status_code == 201
    assert set(to_self.json()) == set(to_school.json()) == {"child_id", "card_id", "event_id", "withheld_from_guardians"}
    seen_by_school = api.ok(api.get(f"/children/{child}", api.staff(SCHOOL_BK), purpose="Nytt kort"), 200)
    cards = [i for i in seen_by_school["items"] if i["type"] == "DiscoveryCardSubmitted" and i["unit_id"] == PRESCHOOL]
    assert cards, "the preschool's card is not with the school's Barnkontakt"
    assert {c["basis"] for c in cards} == {"sent_to_unit"}


def test_after_registering_a_known_number_and_carding_their_own_unit_the_attacker_sees_nothing_of_the_family(api: Api) -> None:
    child = api.held_at_school()
    attacker = api.staff(PRESCHOOL_STAFF)
    api.post("/children", registration_payload(), attacker)
    own_card = api.card(child, PRESCHOOL, by=PRESCHOOL_STAFF)

    record = api.get(f"/children/{child}", attacker, purpose="Eget kort")
    timeline = api.get(f"/children/{child}/timeline", attacker, purpose="Eget kort")

    for response in (record, timeline):
        assert response.status_code in (200, 404), response.text
        for secret in FAMILY_SECRETS:
            assert secret not in response.text
    if record.status_code == 200:
        items = record.json()["items"]
        assert {i["category"] for i in items} <= {"needs", "team"}
        assert {(i["type"], i["unit_id"]) for i in items} == {("DiscoveryCardSubmitted", PRESCHOOL)}
        assert len({i["event_id"] for i in items}) == 1, "more than the attacker's own card"
        assert {i["fields"].get("card_id") for i in items} <= {own_card, None}
    if timeline.status_code == 200:
        assert {(s["type"], s["unit_id"]) for s in timeline.json()["steps"]} == {("DiscoveryCardSubmitted", PRESCHOOL)}


def test_the_discoverer_of_a_card_sent_on_to_the_barnkontakt_is_not_told_where_the_case_is_held(api: Api) -> None:
    """The card went to the school's Barnkontakt, not to the preschool it named: the preschool's
    own card, its list of cards and its own delivery all show the unit it named."""
    child = api.held_at_school()
    card_id = api.card(child, PRESCHOOL, by=PRESCHOOL_STAFF)
    attacker = api.staff(PRESCHOOL_STAFF)

    record = api.ok(api.get(f"/children/{child}", attacker, purpose="Eget kort"), 200)
    mine = [c.model_dump(mode="json") for c in api.rt.hub.cards_sent_by(staff_principal(PRESCHOOL_STAFF))]  # "My cards"

    (card,) = [i for i in record["items"] if i["fields"].get("card_id") == card_id and "to_unit_id" in i["fields"]]
    assert card["fields"]["to_unit_id"] == PRESCHOOL
    assert "named_unit_id" not in card["fields"]
    (listed,) = [c for c in mine if c["card_id"] == card_id]
    assert listed["to_unit_id"] == PRESCHOOL and listed["taken_up"] is False
    for body in (json.dumps(record), json.dumps(mine)):
        assert SCHOOL not in body
    seen_by_school = api.ok(api.get(f"/children/{child}", api.staff(SCHOOL_BK), purpose="Nytt kort"), 200)
    (received,) = [i for i in seen_by_school["items"] if i["fields"].get("card_id") == card_id and "to_unit_id" in i["fields"]]
    assert received["fields"]["to_unit_id"] == SCHOOL and received["fields"]["named_unit_id"] == PRESCHOOL


def test_a_read_on_what_was_sent_to_a_unit_outside_the_case_is_flagged_for_review(api: Api) -> None:
    """The school got a card but the administrator placed the case at BVC: the school's reads
    on what was sent to it are flagged; the Barnkontakt unit's are not."""
    child = api.carded()
    api.ok(api.post(f"/children/{child}/barnkontakt", {"staff_id": BVC_BK}, api.staff("admin.ystad")))
    api.clock.advance(timedelta(minutes=5))
    api.ok(api.get(f"/children/{child}", api.staff(SCHOOL_BK), purpose="Kortet till skolan"), 200)
    api.ok(api.get(f"/children/{child}", api.staff(BVC_BK), purpose="Barnkontaktens läsning"), 200)
    api.clock.advance(timedelta(minutes=5))

    flagged = api.ok(api.get("/audit/flagged", api.staff("granskare.ystad"), rules="sent_to_unit_outside_case"), 200)

    by_purpose = {e["purpose"]: [f["rule"] for f in e["flags"]] for e in flagged["entries"] if e["child_id"] == child}
    assert by_purpose.get("Kortet till skolan") == ["sent_to_unit_outside_case"]
    assert "Barnkontaktens läsning" not in by_purpose


# -- case 4: existence oracles -----------------------------------------------------------------

PROBES = {
    "reading the child": lambda api, child, who: api.get(f"/children/{child}", api.staff(who), purpose="Nyfiken"),
    "reading the timeline": lambda api, child, who: api.get(f"/children/{child}/timeline", api.staff(who), purpose="Nyfiken"),
    "holding a conversation": lambda api, child, who: api.post(f"/children/{child}/conversations", conversation_payload(), api.staff(who)),
}


@pytest.mark.parametrize("who", [PRESCHOOL_STAFF, BVC_BK])
@pytest.mark.parametrize("probe", PROBES.values(), ids=PROBES.keys())
def test_a_child_a_staff_member_may_not_see_answers_as_a_child_that_does_not_exist(api: Api, probe: Any, who: str) -> None:
    child = api.held_at_school()
    unknown = str(uuid4())

    before = api.log_length()
    existing = probe(api, child, who)
    if existing.request.method == "POST":
        assert api.log_length() == before
    missing = probe(api, unknown, who)

    assert existing.status_code == missing.status_code == 404, existing.text
    assert existing.headers["content-type"].startswith(PROBLEM_JSON)
    assert without_ids(existing, child) == without_ids(missing, unknown)


@pytest.mark.parametrize("answer", ["grant", "decline", "withdraw"])
def test_a_guardian_answering_another_familys_consent_hears_what_an_unknown_child_answers(api: Api, answer: str) -> None:
    child = api.held_at_school()
    request = {"recipients": [{"unit_id": "elevhalsa-ostra"}], "categories": ["needs"], "purpose": "Stöd i skolan"}
    consent = api.ok(api.post(f"/children/{child}/consents", request, api.staff(SCHOOL_BK)))["consent_id"]
    bystander = {**registration_payload(), "personnummer": OTHER_CHILD_PNR, "guardians": [
        {"name": "Eva Ek", "personnummer": NON_CUSTODIAL_PNR, "has_custody": True}
    ]}
    api.ok(api.post("/children", bystander, api.staff("larare.ostra")))
    other_family = api.guardian(NON_CUSTODIAL_PNR)
    unknown_child, unknown_consent = str(uuid4()), str(uuid4())

    answers = {
        (c, k): refused_with_nothing_appended(
            api, lambda c=c, k=k: api.post(f"/children/{c}/consents/{k}/{answer}", None, other_family), (404,)
        )
        for c in (child, unknown_child)
        for k in (consent, unknown_consent)
    }

    bodies = [without_ids(r, child, unknown_child, consent, unknown_consent) for r in answers.values()]
    assert all(b == bodies[0] for b in bodies), bodies
    # and the family the consent is for still answers it
    api.ok(api.post(f"/children/{child}/consents/{consent}/grant", None, api.guardian(GUARDIAN_1_PNR)))


# -- case 6: lax input ---------------------------------------------------------------------------


def decided(api: Api) -> str:
    """The school's case with a Barnteam of the school and pupil health: every step below fits it."""
    child = api.held_at_school()
    team = {"decision": "barnteam", "family_informed": True, "member_unit_ids": [SCHOOL, "elevhalsa-ostra"]}
    api.ok(api.post(f"/children/{child}/team-decisions", team, api.staff(SCHOOL_BK)))
    return child


def _registration(custody: Any) -> dict[str, Any]:
    body = registration_payload()
    return {**body, "personnummer": NEW_CHILD_PNR, "guardians": [{**body["guardians"][0], "has_custody": custody}]}


LAX = {
    'a card with guardians_informed "yes"': (
        "guardians_informed", "polis.ystad", "/discovery-cards", lambda v: {**card_payload(SCHOOL), "guardians_informed": v}, "yes", True,
    ),
    'a team decision with family_informed "true"': (
        "family_informed", SCHOOL_BK, "/team-decisions",
        lambda v: {"decision": "barnteam", "family_informed": v, "member_unit_ids": [SCHOOL]}, "true", True,
    ),
    "a guardian with has_custody 1": ("has_custody", "larare.ostra", None, _registration, 1, True),
    'a concern report with acute "yes"': (
        "acute", "polis.ystad", "/concern-reports",
        lambda v: {"to_unit_id": "soc-ystad", "unmet_needs": card_payload()["unmet_needs"], "description": "Oro", "acute": v}, "yes", True,
    ),
    "a conversation with digital_survey 0": (
        "digital_survey", SCHOOL_BK, "/conversations", lambda v: {**conversation_payload(), "digital_survey": v}, 0, False,
    ),
    'home visit "3"': ("visit", BVC_BK, "/home-visits", lambda v: {"visit": v, "notes": "Hembesök"}, "3", 3),
    'a rating score "4"': (
        "score", SCHOOL_BK, "/ratings", lambda v: {"scores": [{"area": "trygghet", "indicator": "trygghet-natverk", "score": v}]}, "4", 4,
    ),
}


@pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)  # refused before any store is asked
@pytest.mark.parametrize(("field", "who", "step", "body", "lax", "strict"), LAX.values(), ids=LAX.keys())
def test_a_value_of_the_wrong_type_is_refused_naming_its_field_and_nothing_is_appended(
    api: Api, field: str, who: str, step: str | None, body: Any, lax: Any, strict: Any
) -> None:
    child = decided(api)
    path = "/children" if step is None else f"/children/{child}{step}"

    response = refused_with_nothing_appended(api, lambda: api.post(path, body(lax), api.staff(who)), (422,))

    problem = response.json()
    assert problem["status"] == 422
    named = [e["field"] for e in problem["errors"]]
    assert any(f.replace("[", ".").replace("]", "").split(".")[-1] == field for f in named), named
    # the same request with the value of the right type is taken
    api.ok(api.post(path, body(strict), api.staff(who)))
