"""Every staff, family, audit and follow-up page of one child's way through the model,
rendered in Swedish and scanned: no English word, code, id, user id or ISO time on any."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar.testing import TestClient

from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.conftest import family, register_child
from tests.e2e.swedish_scan import assert_swedish, html_offences
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, card_payload, conversation_payload, plan_payload, staff
from tests.web.conftest import post_sign_in

SHARED = ["identity", "needs", "conversations", "team", "ratings", "plan"]


def the_whole_way(rt: Runtime, clock: SettableClock) -> tuple[UUID, UUID, str]:
    """Alva from a card to a plan with a coordinator, a joint compass and a concern report."""
    child_id = UUID(str(register_child(rt)))
    hub, bk = rt.hub, staff("rektor.ostra")
    card_id = hub.submit_discovery_card(staff("larare.ostra"), child_id, **card_payload("skola-ostra")).card_id
    hub.assign_barnkontakt(bk, child_id, staff_id="rektor.ostra")
    hub.send_feedback(bk, child_id, card_id=card_id, message="Tack, vi har samtal nästa vecka")
    clock.set(clock() + timedelta(hours=3, minutes=7, microseconds=123456))
    hub.hold_conversation(bk, child_id, **conversation_payload())
    consent_id = hub.request_consent(
        bk, child_id, recipients=[{"unit_kind": "pupil_health"}, {"unit_id": "soc-ystad"}],
        categories=SHARED, purpose="Barnteam kring stödet i skolan",
    )
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child_id, consent_id)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child_id, consent_id)
    hub.decide_team(bk, child_id, decision="individual_team", family_informed=True,
                    member_unit_ids=["skola-ostra", "elevhalsa-ostra", "soc-ystad"])
    hub.assign_support_coordinator(bk, child_id, staff_id="kurator.ostra")
    hub.submit_rating(bk, child_id, scores=[{"area": "trygghet", "indicator": "trygghet-hemma", "score": 2}])
    hub.submit_rating(staff("kurator.ostra"), child_id, scores=[{"area": "trygghet", "indicator": "trygghet-hemma", "score": 3},
                                                                {"area": "fritid", "indicator": "fritid-intressen", "score": 4}])
    hub.hold_team_meeting(bk, child_id, participant_unit_ids=["skola-ostra", "elevhalsa-ostra"], advice="Fortsätt")
    hub.update_plan(staff("kurator.ostra"), child_id, **plan_payload(hub.now().date()))
    hub.file_concern_report(staff("larare.ostra"), child_id, to_unit_id="soc-ystad", unmet_needs=card_payload()["unmet_needs"],
                            description="Oro för hemmet", acute=False)
    clock.set(clock() + timedelta(days=1))
    return child_id, UUID(str(consent_id)), card_id


def sign_in(client: TestClient[Any], **form: str) -> None:
    client.cookies.clear()
    assert post_sign_in(client, **form).status_code == 303


def scanned(client: TestClient[Any], path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    assert '<html lang="sv"' in page.text
    assert_swedish(page.text, path)
    return page.text


def test_every_page_of_the_way_is_plain_swedish(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id, consent_id, card_id = the_whole_way(rt, clock)
    child = f"/staff/children/{child_id}"
    scanned(client, "/sign-in")
    sign_in(client, kind="staff", user="rektor.ostra")
    for path in ("/staff", child, f"{child}/timeline", f"{child}/compass", f"{child}/plan", f"{child}/plan/print",
                 f"{child}/barnkontakt", f"{child}/cards/{card_id}/feedback", f"{child}/conversation",
                 f"{child}/decision", f"{child}/consent-request", f"{child}/concern-report", "/staff/children/new",
                 "/staff/cards/new", "/follow-up"):
        scanned(client, path)
    sign_in(client, kind="staff", user="larare.ostra")
    for path in ("/staff", "/staff/cards", "/staff/cards/new"):
        scanned(client, path)
    sign_in(client, kind="staff", user="kurator.ostra")
    for path in ("/staff", child, f"{child}/plan", f"{child}/compass"):
        scanned(client, path)
    sign_in(client, kind="guardian", personnummer=GUARDIAN_1_PNR)
    family_child = f"/family/children/{child_id}"
    for path in ("/family", family_child, f"{family_child}/consents", f"{family_child}/consents/{consent_id}/receipt",
                 f"{family_child}/access-log"):
        scanned(client, path)
    sign_in(client, kind="staff", user="granskare.ystad")
    for path in ("/audit", f"/audit?child_id={child_id}", "/audit/review", "/audit/reviews", "/audit/checkpoint"):
        scanned(client, path)
    sign_in(client, kind="staff", user="admin.ystad")
    scanned(client, "/follow-up")
    sign_in(client, kind="child", personnummer=CHILD_PNR)
    scanned(client, "/family")


def test_the_pages_after_a_withdrawal_are_plain_swedish(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id, consent_id, _ = the_whole_way(rt, clock)
    rt.hub.withdraw_consent(family(rt, GUARDIAN_2_PNR), child_id, consent_id)
    sign_in(client, kind="staff", user="kurator.ostra")
    scanned(client, f"/staff/children/{child_id}")
    sign_in(client, kind="guardian", personnummer=GUARDIAN_1_PNR)
    for path in (f"/family/children/{child_id}", f"/family/children/{child_id}/consents",
                 f"/family/children/{child_id}/access-log"):
        scanned(client, path)


def test_the_header_names_the_signed_in_person_and_unit(rt: Runtime, client: TestClient[Any]) -> None:
    sign_in(client, kind="staff", user="rektor.ostra")
    header = re.search(r'<span class="who">(.*?)</span>', client.get("/staff").text, re.S)
    assert header and "Rektor Ostra" in header.group(1) and "Skola Ostra" in header.group(1)
    assert "rektor.ostra" not in header.group(1)


def test_the_sign_in_page_names_units_not_their_ids(client: TestClient[Any]) -> None:
    page = client.get("/sign-in").text
    assert "Skola Ostra" in page and not html_offences(page)
