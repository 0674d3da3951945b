"""On a phone the guardian's answer comes first: the request in one line and the two
buttons straight after it, the details below. Withdrawing asks once more, on a page of its
own, before anything is recorded; a withdrawal posted without that step records nothing."""

from __future__ import annotations

import re
from uuid import UUID

from hub.runtime.bootstrap import Runtime
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, NON_CUSTODIAL_PNR
from tests.web.test_family_pages import answer, child_with_request, client, form_of, sign_in, status_of


def test_the_answer_buttons_come_right_after_a_one_line_summary_and_before_the_details(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        page = anna.get(f"/family/children/{child}/consents").text
    section = page.split(f'id="consent-{consent}"')[1]
    summary = section.index('class="consent-summary"')
    yes = section.index("Ja, jag samtycker")
    details = section.index('class="consent-facts"')
    assert summary < yes < details
    assert "till och med" in section[summary:yes]
    assert page.index("Ja, jag samtycker") < page.index("Uppgifter om barnet delas bara")  # the long explanation comes last


def test_withdrawing_shows_a_confirmation_page_first_and_records_only_after_it(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        answer(anna, child, consent, "grant")
        page = anna.get(f"/family/children/{child}/consents").text
        link = f"/family/children/{child}/consents/{consent}/withdraw"
        assert f'href="{link}' in page and f'action="{link}' not in page  # a link to the step, not a form that records
        confirm = anna.get(link)
        assert confirm.status_code == 200
        assert "Ta tillbaka samtycket?" in confirm.text and "Ja, ta tillbaka samtycket" in confirm.text
        assert "Nej, behåll samtycket" in confirm.text
        before = rt.hub.log_length()
        fields = form_of(confirm.text, link)
        assert fields.pop("confirmed") == "yes"
        skipped = anna.post(link, data=fields, follow_redirects=False)
        assert skipped.status_code == 303 and skipped.headers["location"].startswith(link)
        assert rt.hub.log_length() == before
        done = anna.post(link, data={**fields, "confirmed": "yes"}, follow_redirects=False)
        assert done.status_code == 303
    assert status_of(rt, child, GUARDIAN_1_PNR) == "withdrawn"


def test_a_replayed_confirmation_records_the_withdrawal_once(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        answer(anna, child, consent, "grant")
        link = f"/family/children/{child}/consents/{consent}/withdraw"
        fields = form_of(anna.get(link).text, link)
        first = anna.post(link, data=fields, follow_redirects=False)
        before = rt.hub.log_length()
        again = anna.post(link, data=fields, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert rt.hub.log_length() == before


def test_the_withdrawal_step_of_a_consent_one_has_not_given_says_it_cannot_be_withdrawn(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as bo:
        sign_in(bo, GUARDIAN_2_PNR)
        page = bo.get(f"/family/children/{child}/consents/{consent}/withdraw")
    assert page.status_code == 409 and 'name="confirmed"' not in page.text


def test_a_parent_without_custody_gets_no_withdrawal_step_and_a_forged_one_records_nothing(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        answer(anna, child, consent, "grant")
    with client(rt) as stranger:
        sign_in(stranger, NON_CUSTODIAL_PNR)
        link = f"/family/children/{child}/consents/{consent}/withdraw"
        assert stranger.get(link).status_code in (403, 404)
        token = stranger.get("/family").text
        before = rt.hub.log_length()
        found = re.search(r'name="csrf_token" value="([^"]+)"', token)
        if found:
            stranger.post(link, data={"csrf_token": found.group(1), "form_id": "forged", "confirmed": "yes"})
    assert status_of(rt, child, GUARDIAN_1_PNR) == "pending"
    assert rt.hub.log_length() <= before + 1  # at most the refused attempt, never a withdrawal


def test_the_withdrawal_step_of_another_childs_consent_is_not_found(rt: Runtime) -> None:
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        answer(anna, child, consent, "grant")
        other = UUID(int=consent.int ^ 1)
        assert anna.get(f"/family/children/{child}/consents/{other}/withdraw").status_code == 404
