"""A discovery card, a conversation or a rating filed secret from the guardians (OSL 12 kap.
3 §): the fact and its secrecy are appended together, so the family never sees it, in their
view, the timeline or "who has seen"; a refusal of the secrecy appends neither. Every filing
answers with the fact's event id, which its filer can name to withhold it later."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from consent import Viewer
from consent.permissions import Action, CaseState, Permission, Rule, Target, may
from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from tests.factories import card_payload, conversation_payload
from tests.integration.test_secrecy_towards_guardians import API, as_staff, family_get, register, staff_read

BK = "rektor.ostra"  # Barnkontakt at the school
RATER = "kurator.ostra"
TEAM = ["elevhalsa-ostra", "soc-ystad", "bup-ystad"]
RATING = {"scores": [{"area": "trygghet", "indicator": "trygghet-hemma", "score": 2}]}


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(runtime)) as c:
        yield c


def post(client: TestClient[Any], rt: Runtime, child: UUID, path: str, user: str, body: dict[str, Any]) -> Any:
    if path == "plan":
        return client.put(f"{API}/children/{child}/plan", json=body, headers=as_staff(rt, user))
    return client.post(f"{API}/children/{child}/{path}", json=body, headers=as_staff(rt, user))


def with_barnkontakt(client: TestClient[Any], rt: Runtime, child: UUID) -> None:
    assert post(client, rt, child, "barnkontakt", BK, {"staff_id": BK}).status_code == 201


def with_team(client: TestClient[Any], rt: Runtime, child: UUID) -> None:
    with_barnkontakt(client, rt, child)
    assert post(client, rt, child, "conversations", BK, conversation_payload()).status_code == 201
    decided = post(
        client, rt, child, "team-decisions", BK, {"decision": "barnteam", "family_informed": True, "member_unit_ids": TEAM}
    )
    assert decided.status_code == 201, decided.text


def with_conversation(client: TestClient[Any], rt: Runtime, child: UUID) -> None:
    with_barnkontakt(client, rt, child)
    assert post(client, rt, child, "conversations", BK, conversation_payload()).status_code == 201


def with_rating(client: TestClient[Any], rt: Runtime, child: UUID) -> None:
    with_team(client, rt, child)
    assert post(client, rt, child, "ratings", RATER, RATING).status_code == 201


def with_coordinator(client: TestClient[Any], rt: Runtime, child: UUID) -> None:
    with_conversation(client, rt, child)
    decided = {"decision": "individual_team", "family_informed": True, "member_unit_ids": TEAM}
    assert post(client, rt, child, "team-decisions", BK, decided).status_code == 201
    assert post(client, rt, child, "support-coordinator", BK, {"staff_id": RATER}).status_code == 201


def nothing(client: TestClient[Any], rt: Runtime, child: UUID) -> None:
    """The filing needs no earlier step."""


DECISION = {"decision": "barnteam", "family_informed": True, "member_unit_ids": TEAM}
COMPASS = [{"area": "trygghet", "score": 4}]

Filing = tuple[str, str, Callable[[TestClient[Any], Runtime, UUID], None], dict[str, Any], str]
FILINGS: dict[str, Filing] = {
    "card": ("discovery-cards", "polis.ystad", nothing, card_payload(), "DiscoveryCardSubmitted"),
    "conversation": ("conversations", BK, with_barnkontakt, conversation_payload(), "ConversationHeld"),
    "rating": ("ratings", RATER, with_team, RATING, "RatingSubmitted"),
    "decision": ("team-decisions", BK, with_conversation, DECISION, "TeamDecided"),
    "team meeting": ("team-meetings", BK, with_rating, {"participant_unit_ids": TEAM}, "TeamMeetingHeld"),
    "plan": ("plan", RATER, with_coordinator, {"goals": [{"area": "trygghet", "goal": "Trygg på rasten"}]}, "PlanUpdated"),
    "follow-up": ("follow-ups", BK, with_team, {"summary": "Uppföljning", "compass": COMPASS}, "FollowUpHeld"),
    "needs met": ("needs-met", BK, with_team, {"follow_up_compass": COMPASS}, "NeedsMet"),
    "home visit": ("home-visits", "sjukskoterska.bvc", nothing, {"visit": 2}, "HomeVisitRecorded"),
}


def family_sees(client: TestClient[Any], rt: Runtime, child: UUID, event_id: str, kind: str) -> list[str]:
    """Where the family finds the fact: their view, the timeline."""
    view = family_get(client, rt, f"/children/{child}")
    timeline = family_get(client, rt, f"/children/{child}/timeline")
    found = []
    if [i for i in view["items"] if i["event_id"] == event_id or i["type"] == kind]:
        found.append("view")
    if event_id in {s["event_id"] for s in timeline["steps"]}:
        found.append("timeline")
    return found


@pytest.mark.parametrize("name", FILINGS)
def test_a_filing_made_secret_over_http_never_reaches_the_familys_view_timeline_or_access_log(
    client: TestClient[Any], runtime: Runtime, name: str
) -> None:
    path, filer, before, body, kind = FILINGS[name]
    child = register(client, runtime)
    before(client, runtime, child)

    answer = post(client, runtime, child, path, filer, {**body, "withheld_from_guardians": True})
    assert answer.status_code in (200, 201), answer.text
    event_id = answer.json()["event_id"]
    staff_read(client, runtime, child, filer, "Följa upp det jag lämnat")

    assert answer.json()["withheld_from_guardians"] is True
    assert family_sees(client, runtime, child, event_id, kind) == []
    log = family_get(client, runtime, f"/children/{child}/access-log")
    assert "Följa upp det jag lämnat" not in {e["purpose"] for e in log}
    own = staff_read(client, runtime, child, filer, "Kontroll")
    assert event_id in {i["event_id"] for i in own["items"]}  # the filer's unit still has it


@pytest.mark.parametrize("name", FILINGS)
def test_a_filing_answers_with_an_event_id_its_filer_can_withhold_later(
    client: TestClient[Any], runtime: Runtime, name: str
) -> None:
    path, filer, before, body, kind = FILINGS[name]
    child = register(client, runtime)
    before(client, runtime, child)

    answer = post(client, runtime, child, path, filer, body)
    assert answer.status_code in (200, 201), answer.text
    event_id = answer.json()["event_id"]
    assert answer.json()["withheld_from_guardians"] is False
    assert family_sees(client, runtime, child, event_id, kind)  # shown until withheld

    withheld = post(client, runtime, child, "withheld-information", filer, {"event_ids": [event_id], "reason": "Skydd av barnet"})

    assert withheld.status_code == 201, withheld.text
    assert family_sees(client, runtime, child, event_id, kind) == []


@pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)  # refused before any store is asked
@pytest.mark.parametrize("name", FILINGS)
def test_the_secrecy_of_any_filing_is_a_boolean_or_nothing_is_filed(client: TestClient[Any], runtime: Runtime, name: str) -> None:
    path, filer, before, body, _ = FILINGS[name]
    child = register(client, runtime)
    before(client, runtime, child)
    length = runtime.hub.log_length()

    for value in ["true", 1, "yes", None]:
        response = post(client, runtime, child, path, filer, {**body, "withheld_from_guardians": value})

        assert response.status_code == 422, (value, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "withheld_from_guardians" in [e["field"] for e in response.json()["errors"]]
        assert runtime.hub.log_length() == length


@pytest.mark.parametrize("name", FILINGS)
def test_a_filing_whose_secrecy_the_policy_refuses_records_nothing(
    client: TestClient[Any], runtime: Runtime, name: str
) -> None:
    path, filer, before, body, _ = FILINGS[name]
    child = register(client, runtime)
    before(client, runtime, child)
    length = runtime.hub.log_length()
    hub = runtime.hub

    def no_withholding(
        actor: Viewer, action: Action, case: CaseState | None, at: Any, rules: Any, target: Target | None = None
    ) -> Permission:
        if action is Action.WITHHOLD_INFORMATION:
            return Permission(False, Rule.NOT_OWN_FACTS)
        return may(actor, action, case, at, rules, target or Target())

    class Refusing(type(hub)):  # type: ignore[misc]
        permissions = staticmethod(no_withholding)

    real = hub.__class__
    hub.__class__ = Refusing
    try:
        response = post(client, runtime, child, path, filer, {**body, "withheld_from_guardians": True})
    finally:
        hub.__class__ = real

    assert response.status_code == 403, response.text
    assert runtime.hub.log_length() == length  # neither the fact nor its secrecy

