"""The child's pages for staff: what a member of staff sees of one child, its timeline,
the rating form, the joint Behovskompass and Barnets plan, over real HTTP with a session."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar.testing import TestClient

from hub.application.readmodels import AuditEntry
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from hub.web.filters import format_day
from tests.conftest import family, register_child
from tests.e2e.swedish_scan import html_offences, visible_text
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, card_payload, conversation_payload, staff
from tests.web.conftest import post_sign_in

CONSENTED = ["identity", "needs", "conversations", "team", "ratings", "plan"]


def sign_in(client: TestClient[Any], user: str) -> None:
    client.cookies.clear()
    response = post_sign_in(client, kind="staff", user=user)
    assert response.status_code == 303, response.text


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return found.group(1)


def consented_team(rt: Runtime, clock: SettableClock) -> UUID:
    """Alva, discovered by her teacher, with the principal as Barnkontakt, consent from both
    guardians for pupil health and social services, and an individual team."""
    child_id = register_child(rt)
    assert isinstance(child_id, UUID)
    hub, bk = rt.hub, staff("rektor.ostra")
    hub.submit_discovery_card(staff("larare.ostra"), child_id, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(bk, child_id, staff_id="rektor.ostra")
    hub.hold_conversation(bk, child_id, **conversation_payload())
    consent_id = hub.request_consent(
        bk, child_id, recipients=[{"unit_kind": "pupil_health"}, {"unit_id": "soc-ystad"}],
        categories=CONSENTED, purpose="Barnteam kring stödet i skolan",
    )
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child_id, consent_id)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child_id, consent_id)
    hub.decide_team(bk, child_id, decision="individual_team", family_informed=True,
                    member_unit_ids=["skola-ostra", "elevhalsa-ostra", "soc-ystad"])
    clock.set(clock() + timedelta(days=1))
    return child_id


def write_plan(rt: Runtime, child_id: UUID, goal: str = "Känna sig trygg på rasten") -> None:
    today = rt.hub.now().date()
    rt.hub.update_plan(
        staff("rektor.ostra"), child_id, goals=[{"area": "trygghet", "goal": goal}],
        actions=[{"action_id": "rast", "what": "Rastvärd varje dag", "unit_id": "skola-ostra",
                  "responsible_person": "Rektor", "due": today + timedelta(days=14)}],
        child_view="Jag vill ha en vuxen på rasten", guardian_view="Vi vill veta hur det går", next_follow_up=None,
    )


def reads_of(rt: Runtime, child_id: UUID) -> list[AuditEntry]:
    rt.hub.refresh_views()
    return rt.hub.audit_search(staff("granskare.ystad"), child_id=child_id, limit=1000)


def test_the_child_page_shows_the_plan_first_and_records_the_read(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    """The Barnkontakt opens the case: name, Barnkontakt, decision and the plan before the record; the look is logged."""
    child_id = consented_team(rt, clock)
    write_plan(rt, child_id)
    sign_in(client, "rektor.ostra")
    before = len(reads_of(rt, child_id))
    page = client.get(f"/staff/children/{child_id}")
    assert page.status_code == 200
    html = page.text
    assert "Alva Lind" in html and "10 år" in html
    assert "Individuellt barnteam" in html and "Rektor Ostra" in html
    assert html.index("Känna sig trygg på rasten") < html.index("Det du får se av journalen")
    assert f"/staff/children/{child_id}/cards/" in html  # the way to the discoverer's feedback
    after = reads_of(rt, child_id)
    assert len(after) == before + 1
    assert after[-1].accessor_id == "rektor.ostra" and after[-1].allowed is True


def test_an_unrelated_unit_is_refused_and_sees_nothing_of_the_child(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id = consented_team(rt, clock)
    sign_in(client, "forskola.solen")
    page = client.get(f"/staff/children/{child_id}")
    assert page.status_code == 404  # a unit with no part in the case is not told the child exists
    assert "Alva" not in page.text and "Lind" not in page.text
    refused = reads_of(rt, child_id)[-1]
    assert refused.accessor_id == "forskola.solen" and refused.allowed is False


def test_a_recipient_unit_sees_no_consented_category_after_the_guardian_withdraws(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    child_id = consented_team(rt, clock)
    write_plan(rt, child_id)
    sign_in(client, "socsek.ystad")
    shared = client.get(f"/staff/children/{child_id}")
    assert shared.status_code == 200 and "Alva Lind" in shared.text and "Rastvärd varje dag" in shared.text
    consent_id = rt.hub.consent_overview(family(rt, GUARDIAN_2_PNR), child_id)[0].consent_id
    rt.hub.withdraw_consent(family(rt, GUARDIAN_2_PNR), child_id, UUID(str(consent_id)))
    withdrawn = client.get(f"/staff/children/{child_id}")
    assert withdrawn.status_code == 403
    assert "Alva" not in withdrawn.text and "Rastvärd" not in withdrawn.text


def test_the_rating_form_accepts_blanks_and_refuses_a_six(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id = consented_team(rt, clock)
    sign_in(client, "kurator.ostra")
    form = client.get(f"/staff/children/{child_id}/rating").text
    assert "<fieldset" in form and "<legend" in form and "Vet ej" in form
    token = hidden(form, "csrf_token")
    length = rt.hub.log_length()
    refused = client.post(
        f"/staff/children/{child_id}/rating",
        data={"csrf_token": token, "form_id": "r1", "score-trygghet-natverk": "6", "score-halsa-vard": "3"},
    )
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text and "Välj en skattning från 1 till 5" in refused.text
    assert 'id="score-halsa-vard-3" name="score-halsa-vard" value="3" checked' in refused.text  # what was chosen is kept
    assert rt.hub.log_length() == length + 1  # only the read of the form shown again
    sent = {"csrf_token": token, "form_id": "r2", "score-trygghet-natverk": "2", "score-halsa-vard": "unknown"}
    first = client.post(f"/staff/children/{child_id}/rating", data=sent, follow_redirects=False)
    assert first.status_code == 303
    after_one = rt.hub.log_length()
    again = client.post(f"/staff/children/{child_id}/rating", data=sent, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert rt.hub.log_length() == after_one
    ratings = rt.hub.read_child(staff("kurator.ostra"), child_id, purpose="check").of_type("RatingSubmitted")
    assert len(ratings) == 1
    scores = ratings[0].fields["scores"]
    assert [s["score"] for s in scores if s["score"] is not None] == [2]
    assert any(s["area"] == "halsa" and s["score"] is None for s in scores)
    assert after_one == length + 2


def test_the_compass_page_shows_the_joint_scores_and_the_central_goal(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id = consented_team(rt, clock)
    rt.hub.submit_rating(staff("rektor.ostra"), child_id, scores=[{"area": "trygghet", "indicator": "trygghet-natverk", "score": 4}])
    rt.hub.submit_rating(staff("kurator.ostra"), child_id, scores=[{"area": "trygghet", "indicator": "trygghet-natverk", "score": 2}, {"area": "fritid", "indicator": "fritid-intressen", "score": 5}])
    sign_in(client, "rektor.ostra")
    empty = client.get(f"/staff/children/{child_id}/compass").text
    assert "Ingen gemensam Behovskompass ännu" in empty
    token = hidden(empty, "csrf_token")
    length = rt.hub.log_length()
    no_units = client.post(f"/staff/children/{child_id}/compass", data={"csrf_token": token, "form_id": "m0", "advice": "Fortsätt så"})
    assert no_units.status_code == 422
    assert "Välj minst en verksamhet som deltog." in no_units.text and "Fortsätt så</textarea>" in no_units.text
    assert rt.hub.log_length() == length + 1  # only the read of the page shown again, no meeting
    held = client.post(
        f"/staff/children/{child_id}/compass",
        data={"csrf_token": token, "form_id": "m1", "participant_unit_ids": ["skola-ostra", "elevhalsa-ostra"], "advice": "Fortsätt"},
    )
    assert held.status_code == 200
    html = held.text
    assert "Bästa möjliga start i livet" in html and "<svg" in html and "<title" in html
    row = re.search(r"Trygghet</th>\s*<td>([^<]*)</td>", html)
    assert row and row.group(1).strip() == "3,0"  # (4 + 2) / 2, with the Swedish decimal comma
    assert re.search(r"Fritid</th>\s*<td>5,0</td>", html)
    assert "style=" not in html
    english = client.get(f"/staff/children/{child_id}/compass?lang=en").text
    assert "The best possible start in life" in english and "Safe" in english
    assert re.search(r"Safe</th>\s*<td>3\.0</td>", english)  # the English decimal point


def test_the_plan_form_keeps_typed_input_on_422_and_saves_a_new_version(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id = consented_team(rt, clock)
    write_plan(rt, child_id)
    sign_in(client, "rektor.ostra")
    page = client.get(f"/staff/children/{child_id}/plan").text
    assert "Version 1" in page and "Rastvärd varje dag" in page
    token = hidden(page, "csrf_token")
    form = {
        "csrf_token": token, "form_id": "p1", "goal-trygghet": "Trygg på rasten\nTrygg i klassrummet",
        "action-0-id": "rast", "action-0-what": "Rastvärd varje dag", "action-0-unit_id": "skola-ostra",
        "action-0-responsible_person": "Rektor", "action-0-due": "2026-04-01", "action-0-status": "in_progress", "action-0-area": "",
        "action-1-id": "", "action-1-what": "Samtalsstöd hos kuratorn", "action-1-unit_id": "elevhalsa-ostra",
        "action-1-responsible_person": "Kurator", "action-1-due": "", "action-1-status": "planned", "action-1-area": "halsa",
        "child_view": "Jag vill ha en kompis", "guardian_view": "Tät kontakt", "next_follow_up": "2026-05-01",
    }
    length = rt.hub.log_length()
    refused = client.post(f"/staff/children/{child_id}/plan", data=form)
    assert refused.status_code == 422
    assert rt.hub.log_length() == length + 1  # only the read of the form shown again
    html = refused.text
    assert 'id="action-1-due-error"' in html and "Ange ett datum" in html
    assert "Samtalsstöd hos kuratorn" in html and "Jag vill ha en kompis" in html and "Trygg i klassrummet" in html
    form["action-1-due"] = "2026-04-15"
    saved = client.post(f"/staff/children/{child_id}/plan", data=form, follow_redirects=False)
    assert saved.status_code == 303
    again = client.post(f"/staff/children/{child_id}/plan", data=form, follow_redirects=False)
    assert again.status_code == 303
    assert rt.hub.log_length() == length + 2  # the read above and one new version, however often it is sent
    after = client.get(saved.headers["location"]).text
    assert "Version 2" in after and "Samtalsstöd hos kuratorn" in after and "Trygg i klassrummet" in after
    history = after[after.index("Tidigare versioner"):]
    assert "Version 2," in history and "Version 1," in history


def test_an_action_is_marked_done_from_the_plan_page(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id = consented_team(rt, clock)
    write_plan(rt, child_id)
    sign_in(client, "rektor.ostra")
    token = hidden(client.get(f"/staff/children/{child_id}/plan").text, "csrf_token")
    done = client.post(f"/staff/children/{child_id}/plan/actions/rast/done", data={"csrf_token": token, "form_id": "d1", "note": "Klart"})
    assert done.status_code == 200 and "Insatsen är markerad som klar." in done.text
    assert "Klar" in done.text and "Markera ”Rastvärd varje dag” som klar" not in done.text


def test_the_printable_plan_and_the_timeline_render_in_swedish_and_english(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id = consented_team(rt, clock)
    write_plan(rt, child_id)
    sign_in(client, "rektor.ostra")
    printable = client.get(f"/staff/children/{child_id}/plan/print")
    assert printable.status_code == 200
    assert "Barnets plan: Alva Lind" in printable.text and "Rastvärd varje dag" in printable.text and "<form method=\"post\" action=\"/staff" not in printable.text
    timeline = client.get(f"/staff/children/{child_id}/timeline")
    assert timeline.status_code == 200 and '<html lang="sv"' in timeline.text
    steps = re.findall(r'class="step-name">([^<]+)<', timeline.text)
    assert steps[:3] == ["Barnet registrerat", "Upptäckarkort", "Barnkontakt utsedd"] and steps[-1] == "Barnets plan"
    english = client.get(f"/staff/children/{child_id}/timeline?lang=en")
    assert '<html lang="en"' in english.text and "Child registered" in english.text and "Timeline" in english.text


def test_the_child_page_leads_with_the_next_step_as_who_does_what_by_when_and_the_team(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    """The coordinator opens the case: the plan's first open action (who, what, by when), then
    the Barnkontakt, the coordinator and the team's units with the people the plan names."""
    child_id = consented_team(rt, clock)
    rt.hub.assign_support_coordinator(staff("rektor.ostra"), child_id, staff_id="kurator.ostra")
    write_plan(rt, child_id)
    sign_in(client, "rektor.ostra")
    html = client.get(f"/staff/children/{child_id}").text
    text = visible_text(html)
    due = rt.hub.now().date() + timedelta(days=14)
    step = text[text.index("Nästa steg"):text.index("Mål")]
    assert "Vem\nRektor, Skola Ostra" in step and "Vad\nRastvärd varje dag" in step
    assert format_day(due, "long") in step
    team = text[text.index("Teamet runt barnet"):text.index("Att göra")]
    assert "Barnkontakt\nRektor Ostra, Skola Ostra" in team
    assert "Stödsamordnare\nKurator Ostra, Elevhalsa Ostra" in team
    assert "Skola Ostra: Rektor" in team and "Soc Ystad" in team
    assert text.index("Nästa steg") < text.index("Teamet runt barnet") < text.index("Att göra") < text.index("Det du får se av journalen")


def test_without_a_plan_the_next_step_is_the_step_the_case_waits_for(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id = consented_team(rt, clock)  # an individual team, and no coordinator yet
    sign_in(client, "rektor.ostra")
    text = visible_text(client.get(f"/staff/children/{child_id}").text)
    assert "Vad\nUtse en stödsamordnare." in text and "Vem\nRektor Ostra, Skola Ostra" in text
    rt.hub.assign_support_coordinator(staff("rektor.ostra"), child_id, staff_id="kurator.ostra")
    text = visible_text(client.get(f"/staff/children/{child_id}").text)
    assert "Vad\nSkriv Barnets plan tillsammans med teamet och familjen." in text
    assert "Vem\nKurator Ostra, Elevhalsa Ostra" in text


def test_an_action_past_its_date_is_shown_as_overdue_in_the_next_step(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id = consented_team(rt, clock)
    write_plan(rt, child_id)
    clock.set(clock() + timedelta(days=20))
    sign_in(client, "rektor.ostra")
    text = visible_text(client.get(f"/staff/children/{child_id}").text)
    assert "försenad" in text[text.index("Nästa steg"):text.index("Mål")]


def test_the_record_reads_area_by_area_and_step_by_step_in_plain_swedish(
    rt: Runtime, client: TestClient[Any], clock: SettableClock
) -> None:
    """No field code, card id, user id, unit id or ISO time: what the card says about Trygghet
    under Trygghet, the card's kind by its label, the feedback link by unit and date."""
    child_id = consented_team(rt, clock)
    sign_in(client, "rektor.ostra")
    html = client.get(f"/staff/children/{child_id}").text
    assert html_offences(html) == []
    text = visible_text(html)
    areas = text[text.index("Område för område i Behovskompassen"):text.index("Steg för steg")]
    trygghet = areas[areas.index("Trygghet"):areas.index("Fritid")]
    assert "Upptäckarkort" in trygghet and "Oro efter rast" in trygghet
    assert "Slag\nFrån Barnkontaktens egen verksamhet" in text and "internal" not in text
    assert "Återkoppling på upptäckarkortet från Skola Ostra, 2 mars 2026" in text
    assert "card-" not in text and "rektor.ostra" not in text and "skola-ostra" not in text
    assert "Med vem\nBarnet" in text and "Åldersgrupp\n10–12 år" in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", text)


def test_the_partials_of_the_process_and_closure_links_and_the_consent_banner_are_on_the_page() -> None:
    """Other steps of the process add their links and banner through these includes."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "hub/web/templates/child/child.html").read_text(encoding="utf-8")
    for partial in ("_consent_banner", "_process_links", "_closure_links"):
        assert f'{{% include "child/{partial}.html" %}}' in page
    assert page.index("_consent_banner") < page.index("plan-heading") < page.index("todo-heading") < page.index("_process_links")


def test_the_child_page_reads_in_english_too(rt: Runtime, client: TestClient[Any], clock: SettableClock) -> None:
    child_id = consented_team(rt, clock)
    write_plan(rt, child_id)
    sign_in(client, "rektor.ostra")
    page = client.get(f"/staff/children/{child_id}?lang=en")
    assert page.status_code == 200 and '<html lang="en"' in page.text
    text = visible_text(page.text)
    assert "Next step" in text and "The team around the child" in text and "From the Barnkontakt's own organisation" in text
