"""The needs-met and close-case pages, and the retention periods page: Swedish, with the open
actions to give reasons for; refused to another unit, another area, a guardian; absurd and
forged input gives a clear answer and appends nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from uuid import UUID

from contracts.vocabulary import Category, UnitKind
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import register_child
from tests.factories import GUARDIAN_1_PNR, START, card_payload, conversation_payload, directory, plan_payload, staff
from tests.web.test_concern_report_pages import hidden_fields, signed_in


def planned(rt: Runtime, clock: SettableClock) -> UUID:
    hub = rt.hub
    child = UUID(str(register_child(rt)))
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")
    hub.hold_conversation(staff("rektor.ostra"), child, **conversation_payload())
    hub.decide_team(
        staff("rektor.ostra"), child, decision="individual_team", family_informed=True,
        member_unit_ids=["skola-ostra", "elevhalsa-ostra", "polis-ystad"],
    )
    hub.assign_support_coordinator(staff("rektor.ostra"), child, staff_id="kurator.ostra")
    hub.update_plan(staff("kurator.ostra"), child, **plan_payload(START.date()))
    clock.set(START + timedelta(days=20))  # a1 is overdue
    return child


def still_open(rt: Runtime, child: UUID) -> bool:
    """Nothing was closed: the case is open and its three actions with it (reads are recorded, so the log grows)."""
    status = rt.hub.closure_status(staff("rektor.ostra"), child)
    return status.closed_at is None and len(status.open_actions) == 3


def visible_text(page: str) -> str:
    return re.sub(r"<[^>]+>", " ", page)


def form(c: Any, action: str) -> dict[str, str]:
    page = c.get(action)
    assert page.status_code == 200, page.text
    return hidden_fields(page.text, action)


def test_the_needs_met_page_lists_the_open_actions_in_swedish_and_marks_the_overdue_one(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    page = signed_in(rt, kind="staff", user="rektor.ostra").get(f"/staff/children/{child}/needs-met")

    assert page.status_code == 200
    assert "Behoven är tillgodosedda" in page.text and "Åtgärd 1" in page.text and "försenad" in page.text
    assert "Varför åtgärd 3 avslutas utan att vara klar" in page.text
    shown = re.sub(r'name="(csrf_token|form_id)" value="[^"]*"', "", page.text)  # random tokens may hold any letters
    assert "a1" not in shown.replace('name="reason_a1"', "").replace('id="reason_a1"', "").replace('for="reason_a1"', "").replace("reason_a1-error", "")


def test_needs_met_without_reasons_for_open_actions_is_shown_again_and_appends_nothing(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    c = signed_in(rt, kind="staff", user="rektor.ostra")
    action = f"/staff/children/{child}/needs-met"

    r = c.post(action, data={**form(c, action), "score_trygghet": "5", "reason_a1": "Klar nog"})

    assert r.status_code == 422
    assert "Skriv varför åtgärden avslutas utan att vara klar." in r.text
    assert still_open(rt, child)


def test_needs_met_with_a_reason_for_each_open_action_closes_the_case(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    c = signed_in(rt, kind="staff", user="kurator.ostra")
    action = f"/staff/children/{child}/needs-met"
    reasons = {f"reason_a{i}": "Behövs inte längre" for i in (1, 2, 3)}

    r = c.post(action, data={**form(c, action), "score_trygghet": "5", "summary": "Bra", **reasons}, follow_redirects=True)

    assert r.status_code == 200, r.text
    assert "Ärendet är avslutat" in r.text and "Behoven är tillgodosedda" in r.text
    assert rt.hub.closure_status(staff("kurator.ostra"), child).closed_at is not None


def test_the_close_page_closes_for_moving_away(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    c = signed_in(rt, kind="staff", user="rektor.ostra")
    action = f"/staff/children/{child}/closure"
    reasons = {f"reason_a{i}": "Familjen har flyttat" for i in (1, 2, 3)}

    r = c.post(action, data={**form(c, action), "reason": "moved_away", **reasons}, follow_redirects=True)

    assert r.status_code == 200
    assert "Familjen har flyttat" in r.text and "Ärendet är avslutat" in r.text
    child_page = visible_text(c.get(f"/staff/children/{child}").text)
    assert "Ärendet avslutat" in child_page and "Åtgärder som avslutades utan att vara klara" in child_page
    assert "moved_away" not in child_page and "closed_actions" not in child_page


def test_absurd_input_is_refused_by_field_and_appends_nothing(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    c = signed_in(rt, kind="staff", user="rektor.ostra")
    met, close = f"/staff/children/{child}/needs-met", f"/staff/children/{child}/closure"
    reasons = {f"reason_a{i}": "x" for i in (1, 2, 3)}

    bad_score = c.post(met, data={**form(c, met), "score_trygghet": "99", **reasons})
    no_score = c.post(met, data={**form(c, met), **reasons})
    long_reason = c.post(met, data={**form(c, met), "score_trygghet": "4", **reasons, "reason_a2": "x" * 5000})
    needs_met_as_reason = c.post(close, data={**form(c, close), "reason": "needs_met", **reasons})
    unknown_reason = c.post(close, data={**form(c, close), "reason": "2026-13-45", **reasons})

    assert [r.status_code for r in (bad_score, no_score, long_reason, needs_met_as_reason, unknown_reason)] == [422] * 5
    assert "Välj en skattning från 1 till 5" in bad_score.text
    assert "Skatta minst ett område" in no_score.text
    assert "högst 2000 tecken" in long_reason.text
    assert "Välj varför ärendet avslutas." in needs_met_as_reason.text and "Välj varför ärendet avslutas." in unknown_reason.text
    assert still_open(rt, child)


def test_a_forged_token_closes_nothing(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    c = signed_in(rt, kind="staff", user="rektor.ostra")
    action = f"/staff/children/{child}/closure"
    fields = {**form(c, action), "csrf_token": "forged", "reason": "declined"}

    r = c.post(action, data={**fields, **{f"reason_a{i}": "Avböjt" for i in (1, 2, 3)}})

    assert r.status_code in (400, 403)
    assert still_open(rt, child)


def test_a_team_unit_not_holding_the_case_is_refused_the_pages(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    police = signed_in(rt, kind="staff", user="polis.ystad")
    assert police.get(f"/staff/children/{child}/closure").status_code == 403
    assert police.get(f"/staff/children/{child}/needs-met").status_code == 403


def test_a_unit_without_a_part_in_the_case_hears_that_there_is_no_such_child(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    other = signed_in(rt, kind="staff", user="forskola.solen")
    assert other.get(f"/staff/children/{child}/closure").status_code == 404


def test_another_areas_staff_hears_that_there_is_no_such_child(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    other = signed_in(rt, kind="staff", user="rektor.lidingo")
    assert other.get(f"/staff/children/{child}/closure").status_code == 404


def test_a_guardian_may_not_close_the_case(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    anna = signed_in(rt, kind="guardian", personnummer=GUARDIAN_1_PNR)
    assert anna.get(f"/staff/children/{child}/closure").status_code in (403, 404)


def test_the_retention_page_lists_each_kind_with_its_law_in_swedish(rt: Runtime) -> None:
    page = signed_in(rt, kind="staff", user="rektor.ostra").get("/staff/retention")

    assert page.status_code == 200
    assert "Hur länge delade uppgifter visas" in page.text
    assert "Patientdatalagen 3 kap. 17 §" in page.text and "Polisen" in page.text
    assert "5 år" in page.text and "10 år" in page.text and "bestämt av området" not in page.text
    assert "police" not in visible_text(page.text) and "social_services" not in visible_text(page.text)


def test_a_guardian_is_refused_the_retention_page(rt: Runtime) -> None:
    anna = signed_in(rt, kind="guardian", personnummer=GUARDIAN_1_PNR)
    assert anna.get("/staff/retention").status_code == 403


def test_the_areas_own_periods_from_its_directory_entry_are_applied_and_marked(clock: SettableClock, tmp_path: Any) -> None:
    """A setting test: the tenant's ``retention`` in directory.json is what the hub (pages and policy) applies."""
    folder = tmp_path / "data"
    folder.mkdir()
    data = directory().to_json()
    data["tenants"][0]["retention"] = [
        {"unit_kind": "police", "days": 30},
        {"unit_kind": "social_services", "category": "concern_report", "days": 100},
    ]
    (folder / "directory.json").write_text(json.dumps(data), encoding="utf-8")
    rt = bootstrap(Settings(store="memory", demo_mode=True, data_dir=folder), clock=clock)
    try:
        page = signed_in(rt, kind="staff", user="rektor.ostra").get("/staff/retention")
        text = visible_text(page.text)
        assert "30 dagar" in text and "100 dagar" in text and "bestämt av området" in text
        assert rt.hub.rules.retention.for_tenant("ystad").days(Category.PLAN, UnitKind.POLICE) == 30
    finally:
        rt.close()


def test_needs_met_sent_for_a_case_without_a_decision_is_refused_in_swedish(rt: Runtime) -> None:
    child = UUID(str(register_child(rt)))
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    rt.hub.assign_barnkontakt(staff("rektor.ostra"), child, staff_id="rektor.ostra")
    c = signed_in(rt, kind="staff", user="rektor.ostra")
    close = f"/staff/children/{child}/closure"
    fields = form(c, close)  # the needs-met page shows no form before the decision: its fields are forged from this one

    r = c.post(f"/staff/children/{child}/needs-met", data={**fields, "score_trygghet": "5"})

    assert r.status_code == 422
    assert "Ärendet kunde inte avslutas." in r.text
    assert rt.hub.closure_status(staff("rektor.ostra"), child).closed_at is None
