"""The consent request starts from the decision: its team and categories are ticked, with
the asker's own unit; leaving a team unit out is warned about before anything is sent;
a double submit sends the family one request; and the Barnkontakt's steps say that they
were done."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from hub.runtime.bootstrap import Runtime
from tests.factories import conversation_payload, registration_payload, staff
from tests.web.test_staff_pages import browser, hidden

BK = "rektor.ostra"
TEAM = ["elevhalsa-ostra", "bup-ystad"]


@pytest.fixture
def bk(rt: Runtime) -> Iterator[TestClient[Any]]:
    c = browser(rt, BK)
    yield c
    c.__exit__(None, None, None)


def decided(rt: Runtime) -> UUID:
    child_id = rt.hub.register_child(staff(BK), **registration_payload())
    rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)
    rt.hub.hold_conversation(staff(BK), child_id, **conversation_payload())
    rt.hub.decide_team(
        staff(BK), child_id, decision="barnteam", family_informed=True,
        member_unit_ids=TEAM, shared_categories=["needs", "ratings"],
    )
    return child_id


def ticked(page: str, name: str) -> set[str]:
    return set(re.findall(rf'name="{name}" value="([^"]+)" checked', page))


def requests(rt: Runtime, child_id: UUID) -> int:
    return len(rt.hub.consent_overview(staff(BK), child_id))


def test_the_request_is_prefilled_with_the_decisions_team_its_categories_and_the_askers_own_unit(
    rt: Runtime, bk: TestClient[Any]
) -> None:
    child_id = decided(rt)
    page = bk.get(f"/staff/children/{child_id}/consent-request")
    assert page.status_code == 200
    assert ticked(page.text, "recipient_units") == {"skola-ostra", *TEAM}
    assert ticked(page.text, "categories") == {"needs", "ratings"}
    assert "Teamets arbete med det stöd barnet behöver" in page.text
    assert "(din enhet)" in page.text and "(i teamet)" in page.text
    assert set(re.findall(r'name="team_units" value="([^"]+)"', page.text)) == set(TEAM)  # what the warning compares with


def test_leaving_out_the_askers_own_unit_warns_before_anything_is_sent_and_sending_again_sends(
    rt: Runtime, bk: TestClient[Any]
) -> None:
    child_id = decided(rt)
    page = bk.get(f"/staff/children/{child_id}/consent-request")
    form = {**hidden(page.text), "team_units": TEAM, "recipient_units": TEAM, "categories": ["needs"], "purpose": "Barnteamet"}
    before = rt.hub.log_length()
    warned = bk.post(f"/staff/children/{child_id}/consent-request", data=form, follow_redirects=False)
    assert warned.status_code == 200
    assert "En enhet i teamet är inte med" in warned.text
    assert "Din egen enhet, Skola Ostra: du ser inte planen" in warned.text
    assert rt.hub.log_length() == before
    sent = bk.post(
        f"/staff/children/{child_id}/consent-request", data={**form, **hidden(warned.text), "left_out": "skola-ostra"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert requests(rt, child_id) == 1


def test_leaving_out_a_team_unit_names_it_in_the_warning(rt: Runtime, bk: TestClient[Any]) -> None:
    child_id = decided(rt)
    page = bk.get(f"/staff/children/{child_id}/consent-request")
    warned = bk.post(
        f"/staff/children/{child_id}/consent-request",
        data={**hidden(page.text), "team_units": TEAM, "recipient_units": ["skola-ostra", "elevhalsa-ostra"], "categories": ["needs"], "purpose": "Barnteamet"},
    )
    assert re.search(r"<li>[^<:]*Bup[^<:]*: enheten är med i teamet men ser inte", warned.text, re.I)
    assert requests(rt, child_id) == 0


def test_a_warning_confirmed_for_other_units_than_those_now_left_out_warns_again(rt: Runtime, bk: TestClient[Any]) -> None:
    child_id = decided(rt)
    page = bk.get(f"/staff/children/{child_id}/consent-request")
    replayed = bk.post(
        f"/staff/children/{child_id}/consent-request",
        data={**hidden(page.text), "team_units": TEAM, "recipient_units": ["elevhalsa-ostra"], "categories": ["needs"],
              "purpose": "Barnteamet", "left_out": "bup-ystad"},
    )
    assert "En enhet i teamet är inte med" in replayed.text
    assert requests(rt, child_id) == 0


def test_the_same_request_sent_from_two_opened_forms_reaches_the_family_once(rt: Runtime, bk: TestClient[Any]) -> None:
    child_id = decided(rt)
    first_tab = bk.get(f"/staff/children/{child_id}/consent-request")
    second_tab = bk.get(f"/staff/children/{child_id}/consent-request")
    form = {"recipient_units": ["skola-ostra", *TEAM], "categories": ["needs", "ratings"], "purpose": "Barnteamet"}
    for tab in (first_tab, second_tab):
        r = bk.post(f"/staff/children/{child_id}/consent-request", data={**hidden(tab.text), **form}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/staff/children/{child_id}/done/consent"
    assert requests(rt, child_id) == 1


def test_sending_the_request_says_it_was_sent(rt: Runtime, bk: TestClient[Any]) -> None:
    child_id = decided(rt)
    page = bk.get(f"/staff/children/{child_id}/consent-request")
    done = bk.post(
        f"/staff/children/{child_id}/consent-request",
        data={**hidden(page.text), "recipient_units": ["skola-ostra", *TEAM], "categories": ["needs"], "purpose": "Barnteamet"},
    )
    assert done.status_code == 200 and "Begäran om samtycke är skickad" in done.text


def test_taking_the_barnkontakt_role_says_so(rt: Runtime, bk: TestClient[Any]) -> None:
    child_id = rt.hub.register_child(staff(BK), **registration_payload())
    page = bk.get(f"/staff/children/{child_id}/barnkontakt")
    done = bk.post(f"/staff/children/{child_id}/barnkontakt", data={**hidden(page.text), "step": "assign", "staff_id": BK})
    assert done.status_code == 200
    assert "Du är Barnkontakt för barnet" in done.text and 'role="status"' in done.text


def test_an_unknown_confirmation_leads_back_to_the_child(rt: Runtime, bk: TestClient[Any]) -> None:
    child_id = decided(rt)
    r = bk.get(f"/staff/children/{child_id}/done/anything", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/staff/children/{child_id}"


def test_a_unit_outside_the_case_gets_no_prefill_and_a_forged_request_sends_nothing(rt: Runtime) -> None:
    child_id = decided(rt)
    police = browser(rt, "polis.ystad")
    try:
        page = police.get(f"/staff/children/{child_id}/consent-request")
        assert page.status_code in (403, 404) and "(i teamet)" not in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        r = police.post(
            f"/staff/children/{child_id}/consent-request",
            data={"csrf_token": token.group(1), "form_id": "forged", "recipient_units": ["polis-ystad", "skola-ostra", *TEAM],
                  "categories": ["needs"], "purpose": "x"},
        )
        assert r.status_code in (403, 404)
    finally:
        police.__exit__(None, None, None)
    assert requests(rt, child_id) == 0


def test_a_replayed_form_after_the_request_was_sent_sends_nothing_more(rt: Runtime, bk: TestClient[Any]) -> None:
    child_id = decided(rt)
    page = bk.get(f"/staff/children/{child_id}/consent-request")
    form = {**hidden(page.text), "recipient_units": ["skola-ostra", *TEAM], "categories": ["needs"], "purpose": "Barnteamet"}
    for _ in range(3):
        bk.post(f"/staff/children/{child_id}/consent-request", data=form, follow_redirects=False)
    assert requests(rt, child_id) == 1


def test_sending_feedback_says_it_was_sent_and_where_the_discoverer_sees_it(rt: Runtime, bk: TestClient[Any]) -> None:
    from tests.factories import card_payload

    child_id = rt.hub.register_child(staff("larare.ostra"), **registration_payload())
    card = rt.hub.submit_discovery_card(staff("larare.ostra"), child_id, **card_payload()).card_id
    rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)
    page = bk.get(f"/staff/children/{child_id}/cards/{card}/feedback")
    done = bk.post(f"/staff/children/{child_id}/cards/{card}/feedback", data={**hidden(page.text), "message": "Vi ses på torsdag"})
    assert done.status_code == 200
    assert "Återkopplingen är skickad" in done.text and "Mina kort" in done.text and 'role="status"' in done.text
