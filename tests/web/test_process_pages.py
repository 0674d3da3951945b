"""The pages of the Stödprocess's later steps, over HTTP with a session: the support
coordinator appointed with a deputy and handed over, the follow-up set beside the first
Behovskompass, secrecy towards the guardians and the BVC's home visits. Each step is taken
by the role that does it, confirmed in plain Swedish, and refused, with nothing appended,
to whoever may not take it or sends what the step cannot take."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import TestClient

from hub.errors import InvalidInputError
from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, RATED_AT_TEN, card_payload, conversation_payload, staff
from tests.web.conftest import BASE_URL, post_sign_in

BK, KURATOR, SOCSEK, BVC = "rektor.ostra", "kurator.ostra", "socsek.ystad", "sjukskoterska.bvc"
TEAM = ["skola-ostra", "elevhalsa-ostra", "soc-ystad"]
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ISO_DAY_TEXT = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def signed_in(rt: Runtime, **who: str) -> TestClient[Any]:
    c = TestClient(create_app(rt), base_url=BASE_URL)
    c.__enter__()
    r = post_sign_in(c, **who)
    assert r.status_code == 303, r.text
    return c


def as_staff(rt: Runtime, user: str) -> TestClient[Any]:
    return signed_in(rt, kind="staff", user=user)


def hidden_fields(page: str, action: str, step: str | None = None) -> dict[str, str]:
    for form in re.findall(r"<form\b.*?</form>", page, re.S):
        found = re.search(r'action="([^"]*)"', form)
        if found and html.unescape(found.group(1)) == action and (step is None or f'name="step" value="{step}"' in form):
            return {n: html.unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    raise AssertionError(f"no form posting to {action}")


def visible_text(page: str) -> str:
    """What a reader sees: the page without its markup, attributes and hidden form values."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def send(client: TestClient[Any], action: str, step: str | None = None, **fields: Any) -> Any:
    page = client.get(action)
    assert page.status_code == 200, page.text
    return client.post(action, data={**hidden_fields(page.text, action, step), **fields}, follow_redirects=False)


def appended(rt: Runtime, before: int) -> list[str]:
    """The facts of the child's process appended since ``before``: every kind but the reads,
    which each look at a page records of itself."""
    found = rt.hub.recorder.select_notifications(start=before + 1, limit=10_000)
    return [n.topic for n in found if not n.topic.endswith("InformationAccessed")]


def individual_team(rt: Runtime, clock: SettableClock, *, compass: bool = True) -> UUID:
    """Alva, with the principal as Barnkontakt, consent for pupil health and social services,
    an individual team and, with ``compass``, a first joint Behovskompass (Trygghet 2)."""
    child_id = register_child(rt)
    assert isinstance(child_id, UUID)
    hub, bk = rt.hub, staff(BK)
    hub.submit_discovery_card(staff("larare.ostra"), child_id, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(bk, child_id, staff_id=BK)
    hub.hold_conversation(bk, child_id, **conversation_payload())
    consent_id = hub.request_consent(
        bk, child_id, recipients=[{"unit_kind": "pupil_health"}, {"unit_id": "soc-ystad"}],
        categories=["identity", "needs", "conversations", "team", "ratings", "plan"], purpose="Barnteam kring stödet i skolan",
    )
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child_id, consent_id)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child_id, consent_id)
    hub.decide_team(bk, child_id, decision="individual_team", family_informed=True, member_unit_ids=TEAM)
    if compass:
        hub.submit_rating(bk, child_id, scores=[{"area": "trygghet", "indicator": RATED_AT_TEN["trygghet"], "score": 2}])
        hub.hold_team_meeting(bk, child_id, participant_unit_ids=TEAM)
    clock.set(clock() + timedelta(days=30))
    return child_id


def coordinated(rt: Runtime, clock: SettableClock, deputy: str | None = SOCSEK) -> UUID:
    child_id = individual_team(rt, clock)
    rt.hub.assign_support_coordinator(staff(BK), child_id, staff_id=KURATOR, deputy_staff_id=deputy)
    return child_id


# -- the support coordinator -------------------------------------------------------------------


def test_the_barnkontakt_appoints_a_coordinator_and_a_deputy_chosen_by_name_and_unit_and_is_told_so(
    rt: Runtime, clock: SettableClock
) -> None:
    child_id = individual_team(rt, clock)
    rektor = as_staff(rt, BK)
    action = f"/staff/children/{child_id}/coordinator"

    form = rektor.get(action)
    sent = send(rektor, action, "appoint", staff_id=KURATOR, deputy_staff_id=SOCSEK)
    done = rektor.get(sent.headers["location"])

    assert form.status_code == 200
    assert "Kurator Ostra, Elevhalsa Ostra" in visible_text(form.text)
    assert KURATOR not in visible_text(form.text) and SOCSEK not in visible_text(form.text)
    assert sent.status_code == 303
    text = visible_text(done.text)
    assert "Kurator Ostra, Elevhalsa Ostra är nu barnets stödsamordnare." in text
    assert "Socsek Ystad, Soc Ystad är ersättare" in text
    assert not UUID_TEXT.search(text) and not ISO_DAY_TEXT.search(text)


def test_the_coordinator_hands_the_role_over_with_a_reason_and_everyone_sees_who_took_over(
    rt: Runtime, clock: SettableClock
) -> None:
    child_id = coordinated(rt, clock, deputy=None)
    kurator = as_staff(rt, KURATOR)
    action = f"/staff/children/{child_id}/coordinator"
    before = rt.hub.log_length()

    no_reason = send(kurator, action, "hand_over", new_staff_id=SOCSEK, new_deputy_staff_id="", reason="")
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.text
    assert appended(rt, before) == []

    sent = send(kurator, action, "hand_over", new_staff_id=SOCSEK, new_deputy_staff_id="", reason="Kuratorn byter skola")
    done = visible_text(kurator.get(sent.headers["location"]).text)

    assert sent.status_code == 303
    assert "Rollen är överlämnad från Kurator Ostra, Elevhalsa Ostra till Socsek Ystad, Soc Ystad." in done
    assert "Skäl: Kuratorn byter skola" in done
    assert "Ingen ersättare är utsedd." in done


def test_the_deputy_holds_the_follow_up_while_named_and_the_former_coordinator_may_not_after_a_hand_over(
    rt: Runtime, clock: SettableClock
) -> None:
    child_id = coordinated(rt, clock, deputy=SOCSEK)
    deputy = as_staff(rt, SOCSEK)
    follow_up = f"/staff/children/{child_id}/follow-up"

    held = send(deputy, follow_up, score_trygghet="4", summary="Tryggare på rasten")
    assert held.status_code == 303, held.text

    rt.hub.hand_over_support_coordinator(staff(KURATOR), child_id, staff_id=SOCSEK, reason="Samordningen flyttar till socialtjänsten")
    refused = as_staff(rt, KURATOR).get(follow_up)
    assert refused.status_code == 403
    assert "Bara barnets Barnkontakt, stödsamordnare eller dess ersättare håller uppföljningen." in visible_text(refused.text)


def test_the_deputy_must_be_someone_else_and_a_support_coordinator(rt: Runtime, clock: SettableClock) -> None:
    child_id = individual_team(rt, clock)
    rektor = as_staff(rt, BK)
    action = f"/staff/children/{child_id}/coordinator"
    before = rt.hub.log_length()

    same = send(rektor, action, "appoint", staff_id=KURATOR, deputy_staff_id=KURATOR)
    police = send(rektor, action, "appoint", staff_id=KURATOR, deputy_staff_id="polis.ystad")
    unknown = send(rektor, action, "appoint", staff_id="ingen.alls", deputy_staff_id="")

    assert same.status_code == 422 and "Ersättaren måste vara någon annan än stödsamordnaren." in same.text
    assert police.status_code == 422 and 'id="deputy_staff_id-error"' in police.text
    assert unknown.status_code == 422 and 'id="staff_id-error"' in unknown.text
    assert appended(rt, before) == []
    with pytest.raises(InvalidInputError) as lacking:
        rt.hub.assign_support_coordinator(staff(BK), child_id, staff_id=KURATOR, deputy_staff_id="polis.ystad")
    assert lacking.value.field == "deputy_staff_id"


# -- the follow-up ------------------------------------------------------------------------------


def test_the_follow_up_sets_the_new_compass_beside_the_first_per_area_in_plain_swedish(rt: Runtime, clock: SettableClock) -> None:
    child_id = coordinated(rt, clock)
    kurator = as_staff(rt, KURATOR)
    action = f"/staff/children/{child_id}/follow-up"
    statement = "Barnet är inte tryggt i hemmet, skolan, på nätet eller i sin närmiljö"

    sent = send(kurator, action, score_trygghet="4", score_fritid="3", need_trygghet=statement, summary="Bättre på rasten")
    page = kurator.get(sent.headers["location"])

    assert sent.status_code == 303
    text = visible_text(page.text)
    assert "Uppföljningen är sparad med sin nya Behovskompass." in text
    assert re.search(r"Trygghet\s+2,0\s+4,0\s+Bättre med 2,0", text), text
    assert re.search(r"Fritid\s+Inget värde\s+3,0\s+Kan inte jämföras", text)
    assert not UUID_TEXT.search(text) and not ISO_DAY_TEXT.search(text.replace("2026-03-02", ""))
    (held,) = [f for f in rt.hub.read_child(staff(KURATOR), child_id, purpose="Test").merged("FollowUpHeld")]
    assert held["unmet_needs"][0]["statements"] == [statement]


def test_the_follow_up_form_takes_only_scores_1_to_5_and_the_forms_own_statements(rt: Runtime, clock: SettableClock) -> None:
    child_id = coordinated(rt, clock)
    kurator = as_staff(rt, KURATOR)
    action = f"/staff/children/{child_id}/follow-up"
    before = rt.hub.log_length()

    for fields in ({}, {"score_trygghet": "6"}, {"score_trygghet": "yes"}, {"score_trygghet": "4", "need_trygghet": "Påhittat påstående"}):
        response = send(kurator, action, **fields)
        assert response.status_code == 422, fields
        assert "field-error" in response.text

    assert appended(rt, before) == []


# -- secrecy towards the guardians --------------------------------------------------------------


def test_a_unit_keeps_its_own_fact_from_the_guardians_chosen_by_kind_and_day(rt: Runtime, clock: SettableClock) -> None:
    child_id = individual_team(rt, clock, compass=False)
    rektor = as_staff(rt, BK)
    action = f"/staff/children/{child_id}/withhold"
    page = rektor.get(action)
    text = visible_text(page.text)
    assert "Samtal, 2 mars 2026 (Skola Ostra)" in re.sub(r"\s+", " ", text)
    assert not UUID_TEXT.search(text)
    conversation_id = next(i.event_id for i in rt.hub.read_child(staff(BK), child_id, purpose="Test").of_type("ConversationHeld"))

    sent = send(rektor, action, event_ids=str(conversation_id), reason="Barnet berättade i förtroende")
    done = visible_text(rektor.get(sent.headers["location"]).text)

    assert sent.status_code == 303
    assert "Klart: 1 uppgifter hålls nu hemliga för vårdnadshavarna och barnet." in done
    assert "Redan sekretessbelagd" in done
    seen = rt.hub.read_child(family(rt, GUARDIAN_1_PNR), child_id, purpose="Familj", view="family_view")
    assert not seen.of_type("ConversationHeld")


def test_withholding_another_units_fact_an_unknown_id_or_without_a_reason_is_refused_and_nothing_appended(
    rt: Runtime, clock: SettableClock
) -> None:
    child_id = individual_team(rt, clock)
    kurator_rating = rt.hub.submit_rating(staff(KURATOR), child_id, scores=[{"area": "halsa", "indicator": RATED_AT_TEN["halsa"], "score": 3}])
    rektor = as_staff(rt, BK)
    action = f"/staff/children/{child_id}/withhold"
    own = next(i.event_id for i in rt.hub.read_child(staff(BK), child_id, purpose="Test").of_type("ConversationHeld"))
    before = rt.hub.log_length()

    for fields in (
        {"event_ids": str(kurator_rating.event_id), "reason": "Skydd"},
        {"event_ids": str(uuid4()), "reason": "Skydd"},
        {"event_ids": "inte-ett-id", "reason": "Skydd"},
        {"reason": "Skydd"},
        {"event_ids": str(own), "reason": ""},
    ):
        response = send(rektor, action, **fields)
        assert response.status_code == 422, fields
        assert "field-error" in response.text

    assert appended(rt, before) == []


# -- home visits ------------------------------------------------------------------------------------


def test_the_bvc_records_a_home_visit_with_its_day_and_sees_which_visits_are_done(rt: Runtime, clock: SettableClock) -> None:
    child_id = register_child(rt, by=BVC)  # the BVC registers the newborn it visits
    nurse = as_staff(rt, BVC)
    action = f"/staff/children/{child_id}/home-visits"

    sent = send(nurse, action, visit="2", visited_on="2026-02-27", notes="Familjen mår bra")
    page = nurse.get(sent.headers["location"])

    assert sent.status_code == 303
    text = visible_text(page.text)
    assert "Hembesök 2 är registrerat." in text
    assert re.search(r"2\. Att lära känna sitt barn\s+27 februari 2026\s*, Bvc Ystad", text), text
    assert re.search(r"1\. Att ta emot sitt barn\s+Inte ännu", text)
    assert 'id="visit-2"' not in page.text  # a visit done is not offered again


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"visit": "0"}, "visit"),
        ({"visit": "7"}, "visit"),
        ({"visit": "yes"}, "visit"),
        ({"visit": "1.0"}, "visit"),
        ({"visit": ""}, "visit"),
        ({"visited_on": "9999-12-31"}, "visited_on"),
        ({"visited_on": "1800-01-01"}, "visited_on"),
        ({"visited_on": "2026-02-30"}, "visited_on"),
        ({"visited_on": "2026-03-03"}, "visited_on"),
        ({"visited_on": "2010-01-01"}, "visited_on"),
        ({"visited_on": "igår"}, "visited_on"),
    ],
)
def test_a_home_visit_that_cannot_be_is_refused_next_to_its_field_and_nothing_appended(
    rt: Runtime, fields: dict[str, str], field: str
) -> None:
    child_id = register_child(rt, by=BVC)  # the BVC registers the newborn it visits
    nurse = as_staff(rt, BVC)
    before = rt.hub.log_length()

    response = send(nurse, f"/staff/children/{child_id}/home-visits", **{"visit": "1", "visited_on": "2026-03-01", "notes": "", **fields})

    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    assert appended(rt, before) == []


def test_the_home_visit_command_takes_no_yes_for_a_boolean_and_no_text_for_a_number(rt: Runtime) -> None:
    child_id = register_child(rt, by=BVC)
    before = rt.hub.log_length()

    for fields in ({"visit": 1, "withheld_from_guardians": "yes"}, {"visit": "3"}, {"visit": 0}, {"visit": 7}):
        with pytest.raises(InvalidInputError):
            rt.hub.record_home_visit(staff(BVC), child_id, **fields)

    assert appended(rt, before) == []


# -- who may not ------------------------------------------------------------------------------------


def test_staff_of_another_unit_or_area_and_a_guardian_are_refused_with_a_clear_answer_and_nothing_appended(
    rt: Runtime, clock: SettableClock
) -> None:
    """A unit with a part in the case is told why it may not; a unit without one, another
    area and a guardian on the staff pages learn nothing of the child."""
    child_id = coordinated(rt, clock)
    before = rt.hub.log_length()
    teacher = as_staff(rt, "larare.ostra")  # sent the card: knows the child, holds no role in it
    unconnected = as_staff(rt, "polis.ystad")
    other_area = as_staff(rt, "rektor.lidingo")
    guardian = signed_in(rt, kind="guardian", personnummer=GUARDIAN_1_PNR)
    base = f"/staff/children/{child_id}"

    for path, words in (
        ("/coordinator", "kan utse eller byta stödsamordnare"),
        ("/follow-up", "håller uppföljningen"),
        ("/home-visits", "Hembesök registreras av barnmorskemottagningen, BVC eller föräldrastödet."),
    ):
        refused = teacher.get(base + path)
        assert refused.status_code == 403, path
        assert words in visible_text(refused.text)
    for path in ("/coordinator", "/follow-up", "/home-visits", "/withhold"):
        assert unconnected.get(base + path).status_code == 404, path
        assert other_area.get(base + path).status_code == 404, path
        assert guardian.get(base + path).status_code == 403, path
    listing = visible_text(as_staff(rt, KURATOR).get(base + "/withhold").text)
    assert "Det finns inga uppgifter om barnet som din enhet kan sekretessbelägga" in listing
    token = hidden_fields(as_staff(rt, BK).get(base + "/coordinator").text, base + "/coordinator", "hand_over")
    for client in (teacher, unconnected):
        forged = client.post(base + "/coordinator", data={**token, "step": "hand_over", "new_staff_id": SOCSEK, "reason": "Byte"})
        assert forged.status_code == 403
    assert appended(rt, before) == []


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/coordinator", {"step": "hand_over", "new_staff_id": SOCSEK, "reason": "Byte"}),
        ("/follow-up", {"score_trygghet": "4"}),
        ("/withhold", {"event_ids": "", "reason": "Skydd"}),
        ("/home-visits", {"visit": "1", "visited_on": "2026-03-01"}),
    ],
)
def test_a_forged_anti_forgery_token_is_refused_and_nothing_appended(
    rt: Runtime, clock: SettableClock, path: str, fields: dict[str, str]
) -> None:
    child_id = coordinated(rt, clock)
    user = BVC if path == "/home-visits" else KURATOR
    client = as_staff(rt, user)
    before = rt.hub.log_length()

    response = client.post(f"/staff/children/{child_id}{path}", data={"csrf_token": "förfalskad", "form_id": "x", **fields})

    assert response.status_code == 403
    assert "Formuläret är inaktuellt" in visible_text(response.text) or "inaktuell" in response.text
    assert appended(rt, before) == []


def test_the_childs_page_links_to_every_later_step(rt: Runtime, clock: SettableClock) -> None:
    child_id = coordinated(rt, clock)

    page = as_staff(rt, BK).get(f"/staff/children/{child_id}")

    assert page.status_code == 200
    for path in ("coordinator", "follow-up", "withhold", "home-visits"):
        assert f'href="/staff/children/{child_id}/{path}"' in page.text
