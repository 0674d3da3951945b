"""Attacks on the new pages as an outsider makes them: another family's proof pasted on a
child's access log, or one nested past any depth; an invitation form sent again; a follow-up sent
on a closed case."""

from __future__ import annotations

import re

from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.factories import GUARDIAN_1_PNR, NON_CUSTODIAL_PNR, staff
from tests.web.test_closure_pages import form, planned
from tests.web.test_family_access_log import BK, alva, client, sign_in, verify_link
from tests.web.test_survey_pages import BARNKONTAKT, case, hidden, signed_in


def test_a_proof_of_another_childs_read_is_not_verified_on_this_childs_log(rt: Runtime) -> None:
    child = alva(rt)
    other = rt.hub.register_child(
        staff("larare.ostra"), personnummer="201103202386", given_name="Olle", family_name="Berg",
        guardians=[{"name": "Ove Berg", "personnummer": NON_CUSTODIAL_PNR, "has_custody": True}],
    )
    rt.hub.read_child(staff(BK), child, purpose="Förbereda barnsamtalet", view="unit_view")
    rt.hub.read_child(staff("larare.ostra"), other, purpose="Olles skolstart", view="unit_view")
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        link = verify_link(anna.get(f"/family/children/{child}/access-log").text)
        alvas_proof = anna.get(link.split("?")[0].replace("/verify", "/proof.json")).text
    with client(rt) as ove:
        sign_in(ove, NON_CUSTODIAL_PNR)
        page = ove.get(verify_link(ove.get(f"/family/children/{other}/access-log").text))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        checked = ove.post(f"/family/children/{other}/access-log/check", data={"csrf_token": csrf, "proof": alvas_proof})

    assert checked.status_code == 422
    assert "Inte kontrollerad." in checked.text and "Kontrollerad." not in checked.text.replace("Inte kontrollerad.", "")
    assert "inte en av de gånger någon har tittat på det här barnets uppgifter" in checked.text


def test_an_invitation_form_sent_twice_makes_one_invitation_and_says_the_code_was_shown_then(rt: Runtime) -> None:
    child = case(rt)
    bk = signed_in(rt, kind="staff", user=BARNKONTAKT)
    page = bk.get(f"/staff/children/{child}/survey").text
    form = {"csrf_token": hidden(page, "csrf_token"), "form_id": hidden(page, "form_id"),
            "with_whom": "child", "age_group": "10-12", "answers_withheld": "no"}

    first = bk.post(f"/staff/children/{child}/survey", data=form)
    again = bk.post(f"/staff/children/{child}/survey", data=form)

    assert first.status_code == 200 and 'id="survey-code"' in first.text
    assert again.status_code == 409 and 'id="survey-code"' not in again.text
    assert "Formuläret är redan skickat" in again.text
    invited = rt.hub.read_child(staff(BARNKONTAKT), child, purpose="test").merged("ConversationInvited")
    assert len(invited) == 1


def test_a_follow_up_sent_on_a_closed_case_is_refused_in_swedish_and_appends_nothing(rt: Runtime, clock: SettableClock) -> None:
    child = planned(rt, clock)
    rt.hub.close_case(
        staff("rektor.ostra"), child, reason="moved_away",
        closed_actions=[{"action_id": f"a{i}", "reason": "Familjen har flyttat"} for i in (1, 2, 3)],
    )
    kurator = signed_in(rt, kind="staff", user="kurator.ostra")
    action = f"/staff/children/{child}/follow-up"
    follow_ups = len(rt.hub.read_child(staff("rektor.ostra"), child, purpose="test").merged("FollowUpHeld"))

    sent = kurator.post(action, data={**form(kurator, action), "summary": "Efter avslutet", "score_trygghet": "3"})

    assert sent.status_code == 409
    assert "Ärendet är avslutat: ett nytt upptäckarkort öppnar det igen." in sent.text and "the case is closed" not in sent.text
    assert len(rt.hub.read_child(staff("rektor.ostra"), child, purpose="test").merged("FollowUpHeld")) == follow_ups


def test_a_pasted_proof_nested_past_any_depth_is_not_a_proof_and_no_server_error(rt: Runtime) -> None:
    child = alva(rt)
    rt.hub.read_child(staff(BK), child, purpose="Förbereda barnsamtalet", view="unit_view")
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        page = anna.get(verify_link(anna.get(f"/family/children/{child}/access-log").text))
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        deep = anna.post(f"/family/children/{child}/access-log/check", data={"csrf_token": csrf, "proof": "[" * 5000 + "]" * 5000})

    assert deep.status_code == 422
    assert "inte ett bevis från loggen" in deep.text
