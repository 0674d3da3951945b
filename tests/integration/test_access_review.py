"""Loggkontroll over the HTTP API: review samples, flagged reads and review findings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import TestClient

from hub.application.auditing import audit_trail_id
from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    NON_CUSTODIAL_PNR,
    OTHER_TENANT,
    STAFF,
    START,
    TENANT,
    card_payload,
    conversation_payload,
)

API = "/api/v1"
NOTE = "Läsningen nattetid gällde en akut placering"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_staff(rt: Runtime, user_id: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    unit, roles = STAFF[user_id]
    return bearer(rt.demo_issuer.staff_token(TENANT, user_id, unit, sorted(r.value for r in roles)))


def as_guardian(rt: Runtime, personnummer: str) -> dict[str, str]:
    assert rt.demo_issuer is not None
    return bearer(rt.demo_issuer.family_token(TENANT, "guardian", personnummer))


@dataclass
class Story:
    """One child's reads in Ystad, and one child's reads in Lidingö."""

    child_id: str
    other_child_id: str
    after_withdrawal: str
    night: str
    burst: list[str]
    end: datetime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(runtime)) as c:
        yield c


def read(client: TestClient[Any], child: str, headers: dict[str, str], purpose: str) -> int:
    return client.get(child, params={"purpose": purpose}, headers=headers).status_code


def last_read(client: TestClient[Any], rt: Runtime, child_id: str, purpose: str) -> str:
    """The event id of the read with ``purpose`` (searched as the hub, not as an auditor, so no read is added)."""
    rt.hub.refresh_views()
    entries = rt.hub.views.access.search(TENANT, limit=10_000)
    return str([e for e in entries if str(e.child_id) == child_id and e.purpose == purpose][-1].event_id)


@pytest.fixture
def story(runtime: Runtime, clock: SettableClock, client: TestClient[Any]) -> Story:
    """Monday 2 March 2026, 10:00 in Sweden: a consent to pupil health, read, withdrawn, then
    an attempt after it; a school read at 23:30; on Tuesday a burst of 21 school reads."""
    r = client.post(
        f"{API}/children",
        json={
            "personnummer": CHILD_PNR,
            "given_name": "Alva",
            "family_name": "Lind",
            "guardians": [
                {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
                {"name": "Bo Lind", "personnummer": NON_CUSTODIAL_PNR, "has_custody": False},
            ],
        },
        headers=as_staff(runtime, "rektor.ostra"),
    )
    assert r.status_code == 201, r.text
    child_id = r.json()["child_id"]
    child = f"{API}/children/{child_id}"
    bk = as_staff(runtime, "rektor.ostra")
    assert client.post(f"{child}/discovery-cards", json=card_payload(), headers=as_staff(runtime, "polis.ystad")).status_code == 201
    assert client.post(f"{child}/barnkontakt", json={"staff_id": "rektor.ostra"}, headers=bk).status_code == 201
    assert client.post(f"{child}/conversations", json=conversation_payload(), headers=bk).status_code == 201
    consent = client.post(
        f"{child}/consents",
        json={"recipients": [{"unit_id": "elevhalsa-ostra"}], "categories": ["identity", "needs"], "purpose": "Barnteam"},
        headers=bk,
    )
    assert consent.status_code == 201, consent.text
    consent_path = f"{child}/consents/{consent.json()['consent_id']}"
    guardian = as_guardian(runtime, GUARDIAN_1_PNR)
    assert client.post(f"{consent_path}/grant", headers=guardian).status_code == 201
    kurator = as_staff(runtime, "kurator.ostra")
    assert read(client, child, kurator, "kartläggning") == 200

    clock.set(START + timedelta(hours=1))
    assert client.post(f"{consent_path}/withdraw", headers=guardian).status_code == 201
    clock.set(START + timedelta(hours=2))
    assert read(client, child, kurator, "efter återkallelse") == 403

    clock.set(datetime.fromisoformat("2026-03-02T22:30:00+00:00"))  # 23:30 in Sweden
    assert read(client, child, as_staff(runtime, "rektor.ostra"), "nattläsning") == 200

    burst_start = datetime.fromisoformat("2026-03-03T09:00:00+00:00")  # Tuesday 10:00 in Sweden
    for n in range(21):
        clock.set(burst_start + timedelta(seconds=20 * n))
        assert read(client, child, as_staff(runtime, "rektor.ostra"), f"genomgång {n}") == 200

    clock.set(burst_start + timedelta(hours=2))
    assert read(client, child, as_staff(runtime, "rektor.ostra"), "dagtid") == 200

    assert runtime.demo_issuer is not None
    lidingo = bearer(runtime.demo_issuer.staff_token(OTHER_TENANT, "rektor.lidingo", "skola-lidingo", ["barnkontakt"]))
    other = client.post(
        f"{API}/children",
        json={"personnummer": CHILD_PNR, "given_name": "Ebba", "family_name": "Berg", "guardians": []},
        headers=lidingo,
    )
    assert other.status_code == 201, other.text
    other_id = other.json()["child_id"]
    assert client.post(f"{API}/children/{other_id}/discovery-cards", json=card_payload("skola-lidingo"), headers=lidingo).status_code == 201
    assert read(client, f"{API}/children/{other_id}", lidingo, "lidingö") == 200

    clock.set(burst_start + timedelta(hours=3))
    return Story(
        child_id=child_id,
        other_child_id=other_id,
        after_withdrawal=last_read(client, runtime, child_id, "efter återkallelse"),
        night=last_read(client, runtime, child_id, "nattläsning"),
        burst=[last_read(client, runtime, child_id, f"genomgång {n}") for n in range(21)],
        end=clock(),
    )


def auditor(rt: Runtime) -> dict[str, str]:
    return as_staff(rt, "granskare.ystad")


def period(story: Story) -> dict[str, str]:
    return {"since": (START - timedelta(hours=1)).isoformat(), "until": story.end.isoformat()}


# -- samples -----------------------------------------------------------------------------


def test_a_sample_is_drawn_again_from_its_seed_and_only_from_the_tenant(
    runtime: Runtime, clock: SettableClock, client: TestClient[Any], story: Story
) -> None:
    query = {**period(story), "size": 5}
    first = client.get(f"{API}/audit/review-sample", params=query, headers=auditor(runtime))
    assert first.status_code == 200, first.text
    drawn = first.json()
    again = client.get(f"{API}/audit/review-sample", params={**query, "seed": drawn["seed"]}, headers=auditor(runtime))
    other_seed = client.get(f"{API}/audit/review-sample", params={**query, "seed": drawn["seed"] + 1}, headers=auditor(runtime))
    everything = client.get(f"{API}/audit/review-sample", params={**query, "size": 1000, "seed": 7}, headers=auditor(runtime))

    assert again.status_code == other_seed.status_code == everything.status_code == 200
    assert [e["event_id"] for e in again.json()["entries"]] == [e["event_id"] for e in drawn["entries"]]
    assert len(drawn["entries"]) == 5
    assert [e["event_id"] for e in other_seed.json()["entries"]] != [e["event_id"] for e in drawn["entries"]]
    population = everything.json()
    assert population["population"] == drawn["population"] == len(population["entries"])
    assert {e["child_id"] for e in population["entries"]} == {story.child_id}
    assert "auditor" not in {e["role"] for e in population["entries"]}
    runtime.hub.refresh_views()
    ystad = [e for e in runtime.hub.views.access.search(TENANT, limit=10_000) if e.accessor_role.value != "auditor"]
    assert population["population"] == len([e for e in ystad if e.accessed_at < story.end])


def test_drawing_a_sample_is_itself_recorded_and_refused_to_staff(runtime: Runtime, client: TestClient[Any], story: Story) -> None:
    before = runtime.hub.log_length()
    staff = client.get(f"{API}/audit/review-sample", params={"size": 3}, headers=as_staff(runtime, "rektor.ostra"))
    assert staff.status_code == 403
    assert staff.headers["content-type"].startswith("application/problem+json")
    assert runtime.hub.log_length() == before

    sample = client.get(f"{API}/audit/review-sample", params={**period(story), "size": 3}, headers=auditor(runtime))
    assert sample.status_code == 200
    runtime.hub.refresh_views()
    audit_reads = [e for e in runtime.hub.views.access.search(TENANT, limit=10_000) if e.view == "review_sample"]
    assert [(e.child_id, e.accessor_id, e.bases[0].value) for e in audit_reads] == [
        (audit_trail_id(TENANT), "granskare.ystad", "audit_duty")
    ], "one fact in the area's loggkontroll stream, not one per child in the sample"
    assert "3 reads of 1 children shown" in audit_reads[0].purpose


# -- flagged reads -----------------------------------------------------------------------


def test_flagged_reads_name_the_withdrawal_the_night_and_the_burst(runtime: Runtime, client: TestClient[Any], story: Story) -> None:
    response = client.get(f"{API}/audit/flagged", params=period(story), headers=auditor(runtime))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rules"] == ["outside_team_or_consent", "after_withdrawal_attempt", "unusual_hours", "burst", "sent_to_unit_outside_case"]
    flags = {e["event_id"]: {f["rule"] for f in e["flags"]} for e in body["entries"]}
    assert flags[story.after_withdrawal] == {"after_withdrawal_attempt"}
    assert flags[story.night] == {"unusual_hours"}
    for event_id in story.burst:
        assert flags[event_id] == {"burst"}
    daytime = last_read(client, runtime, story.child_id, "dagtid")
    assert daytime not in flags
    consent_only = last_read(client, runtime, story.child_id, "kartläggning")
    assert flags[consent_only] == {"outside_team_or_consent"}
    assert {e["child_id"] for e in body["entries"]} == {story.child_id}
    assert all(e["reviewed"] is False for e in body["entries"])


def test_flagged_reads_by_chosen_rules_and_none_when_no_rule_is_chosen(runtime: Runtime, client: TestClient[Any], story: Story) -> None:
    night_only = client.get(f"{API}/audit/flagged", params={**period(story), "rules": "unusual_hours"}, headers=auditor(runtime))
    none = client.get(f"{API}/audit/flagged", params={**period(story), "rules": ""}, headers=auditor(runtime))
    unknown = client.get(f"{API}/audit/flagged", params={**period(story), "rules": "burst,midnight"}, headers=auditor(runtime))

    assert night_only.status_code == none.status_code == 200
    assert night_only.json()["rules"] == ["unusual_hours"]
    assert [e["event_id"] for e in night_only.json()["entries"]] == [story.night]
    assert none.json() == {**none.json(), "rules": [], "entries": []}
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["rules"]


# -- review findings ---------------------------------------------------------------------


def test_a_review_appends_one_fact_and_is_listed_and_shown_on_the_read(
    runtime: Runtime, client: TestClient[Any], story: Story
) -> None:
    before = runtime.hub.log_length()
    response = client.post(
        f"{API}/audit/reviews",
        json={"child_id": story.child_id, "access_event_ids": [story.night], "outcome": "justified", "note": NOTE},
        headers=auditor(runtime),
    )

    assert response.status_code == 201, response.text
    assert runtime.hub.log_length() == before + 1
    review_id = response.json()["review_id"]
    listed = client.get(f"{API}/audit/reviews", headers=auditor(runtime))
    assert listed.status_code == 200
    assert [(r["review_id"], r["outcome"], r["note"], r["access_event_ids"], r["reviewer_id"]) for r in listed.json()] == [
        (review_id, "justified", NOTE, [story.night], "granskare.ystad")
    ]
    flagged = client.get(f"{API}/audit/flagged", params={**period(story), "rules": "unusual_hours"}, headers=auditor(runtime))
    assert [(e["reviewed"], e["review_outcomes"]) for e in flagged.json()["entries"]] == [(True, ["justified"])]


def test_the_family_never_sees_a_reviewers_note(runtime: Runtime, client: TestClient[Any], story: Story) -> None:
    recorded = client.post(
        f"{API}/audit/reviews",
        json={"child_id": story.child_id, "access_event_ids": [story.night], "outcome": "needs_follow_up", "note": NOTE},
        headers=auditor(runtime),
    )
    assert recorded.status_code == 201
    guardian = as_guardian(runtime, GUARDIAN_1_PNR)

    record = client.get(f"{API}/children/{story.child_id}", params={"purpose": "min insyn"}, headers=guardian)
    log = client.get(f"{API}/children/{story.child_id}/access-log", headers=guardian)

    assert record.status_code == log.status_code == 200
    assert NOTE not in record.text and "AccessReviewed" not in record.text
    assert NOTE not in log.text and recorded.json()["review_id"] not in log.text


def test_only_an_auditor_records_a_review_and_nothing_is_appended_otherwise(
    runtime: Runtime, client: TestClient[Any], story: Story
) -> None:
    before = runtime.hub.log_length()
    body = {"child_id": story.child_id, "access_event_ids": [story.night], "outcome": "unjustified", "note": NOTE}

    staff = client.post(f"{API}/audit/reviews", json=body, headers=as_staff(runtime, "rektor.ostra"))
    family = client.post(f"{API}/audit/reviews", json=body, headers=as_guardian(runtime, GUARDIAN_1_PNR))
    listing = client.get(f"{API}/audit/reviews", headers=as_staff(runtime, "rektor.ostra"))

    assert staff.status_code == family.status_code == listing.status_code == 403
    assert staff.headers["content-type"].startswith("application/problem+json")
    assert runtime.hub.log_length() == before


@pytest.mark.parametrize("which", ["unknown", "other_tenant", "child_of_other_tenant"])
def test_a_read_not_in_the_tenants_log_for_the_child_is_refused_naming_the_field(
    runtime: Runtime, client: TestClient[Any], story: Story, which: str
) -> None:
    if which == "unknown":
        access_id = str(uuid4())
        child_id = story.child_id
    elif which == "other_tenant":
        runtime.hub.refresh_views()
        access_id = str([e for e in runtime.hub.views.access.search(OTHER_TENANT, limit=100)][0].event_id)
        child_id = story.child_id
    else:
        access_id = story.night
        child_id = story.other_child_id
    before = runtime.hub.log_length()

    response = client.post(
        f"{API}/audit/reviews",
        json={"child_id": child_id, "access_event_ids": [story.night, access_id], "outcome": "justified"},
        headers=auditor(runtime),
    )

    if which == "child_of_other_tenant":
        assert response.status_code == 404  # the other tenant's child does not exist in this tenant
    else:
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == ["access_event_ids[1]"]
    assert runtime.hub.log_length() == before
