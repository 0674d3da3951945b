"""The family pages: a guardian sees the child's team and plan in plain words, answers
consent requests with one action each, keeps a receipt, and sees who has looked at the
child's information with proof from the tamper-evident log; nobody else sees any of it."""

from __future__ import annotations

import html
import re
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar.testing import TestClient

from contracts.vocabulary import LegalBasis
from hub.errors import NoBasisError
from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from tests.conftest import family, register_child
from tests.factories import (
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    NON_CUSTODIAL_PNR,
    card_payload,
    staff,
)
from tests.web.conftest import BASE_URL, post_sign_in

BK = "rektor.ostra"
PURPOSE = "Samordna stödet kring rasterna"


def client(rt: Runtime) -> TestClient[Any]:
    return TestClient(create_app(rt), base_url=BASE_URL)


def child_with_request(rt: Runtime) -> tuple[UUID, UUID]:
    """Alva with two custodial guardians, a card, a Barnkontakt and a consent request to BUP."""
    child = UUID(str(register_child(rt)))
    rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    consent = rt.hub.request_consent(
        staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose=PURPOSE
    )
    return child, consent


def sign_in(c: TestClient[Any], personnummer: str, kind: str = "guardian") -> None:
    r = post_sign_in(c, kind=kind, personnummer=personnummer)
    assert r.status_code == 303, r.text


def form_of(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the form that posts to ``action`` on ``page``."""
    for form in re.findall(r"<form\b.*?</form>", page, re.S):
        found = re.search(r'action="([^"]*)"', form)
        if found and html.unescape(found.group(1)).split("?")[0] == action:
            return {n: html.unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    raise AssertionError(f"no form posting to {action}")


def answer(c: TestClient[Any], child: UUID, consent: UUID, verb: str) -> httpx.Response:
    page = c.get(f"/family/children/{child}/consents")
    assert page.status_code == 200, page.text
    action = f"/family/children/{child}/consents/{consent}/{verb}"
    if verb == "withdraw":  # a withdrawal is sent from its confirmation page
        page = c.get(action)
        assert page.status_code == 200, page.text
        return c.post(action, data={**form_of(page.text, action), "confirmed": "yes"}, follow_redirects=False)
    return c.post(action, data=form_of(page.text, action), follow_redirects=False)


def status_of(rt: Runtime, child: UUID, personnummer: str) -> str:
    """The consent's status as the core gives it (the child has one request)."""
    (only,) = rt.hub.consent_overview(family(rt, personnummer), child)
    return only.status.value


def bup_consented_categories(rt: Runtime, child: UUID) -> set[str]:
    try:
        view = rt.hub.read_child(staff("bup.ystad"), child, purpose="Samordning", view="unit_view")
    except NoBasisError:
        return set()
    return {i.category.value for i in view.items if i.basis is LegalBasis.CONSENT}


def test_consent_is_in_effect_only_after_both_guardians_grant_on_their_pages(rt: Runtime) -> None:
    """Consent needs every guardian with custody: one yes is not enough to share."""
    child, consent = child_with_request(rt)
    with client(rt) as anna, client(rt) as bo:
        sign_in(anna, GUARDIAN_1_PNR)
        sign_in(bo, GUARDIAN_2_PNR)
        first = answer(anna, child, consent, "grant")
        assert first.status_code == 303
        shown = anna.get(first.headers["location"])
        assert "Tack. Ditt ja är sparat." in shown.text
        assert "Väntar på svar" in shown.text
        assert status_of(rt, child, GUARDIAN_1_PNR) == "pending"
        assert bup_consented_categories(rt, child) == set()
        second = answer(bo, child, consent, "grant")
        assert second.status_code == 303
        assert "Gäller" in bo.get(second.headers["location"]).text
    assert status_of(rt, child, GUARDIAN_1_PNR) == "in_effect"
    assert bup_consented_categories(rt, child) == {"needs"}


def test_a_double_submitted_grant_is_recorded_once(rt: Runtime) -> None:
    """A double click or a resend must not append the answer twice."""
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        page = anna.get(f"/family/children/{child}/consents").text
        action = f"/family/children/{child}/consents/{consent}/grant"
        fields = form_of(page, action)
        before = rt.hub.log_length()
        first = anna.post(action, data=fields, follow_redirects=False)
        again = anna.post(action, data=fields, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert rt.hub.log_length() == before + 1


def test_withdrawal_with_one_action_ends_what_the_recipient_unit_sees(rt: Runtime) -> None:
    """Taking back a yes ends the consent at once: BUP has nothing on consent afterwards."""
    child, consent = child_with_request(rt)
    with client(rt) as anna, client(rt) as bo:
        sign_in(anna, GUARDIAN_1_PNR)
        sign_in(bo, GUARDIAN_2_PNR)
        answer(anna, child, consent, "grant")
        answer(bo, child, consent, "grant")
        assert bup_consented_categories(rt, child) == {"needs"}
        withdrawn = answer(bo, child, consent, "withdraw")
        assert withdrawn.status_code == 303
        page = bo.get(withdrawn.headers["location"]).text
    assert "Samtycket är taget tillbaka" in page
    assert "Tillbakataget" in page
    assert status_of(rt, child, GUARDIAN_1_PNR) == "withdrawn"
    assert bup_consented_categories(rt, child) == set()


def test_a_stale_grant_after_withdrawal_shows_a_clear_message_and_appends_nothing(rt: Runtime) -> None:
    """A page opened before the other guardian withdrew must not reopen the consent."""
    child, consent = child_with_request(rt)
    with client(rt) as anna, client(rt) as bo:
        sign_in(anna, GUARDIAN_1_PNR)
        sign_in(bo, GUARDIAN_2_PNR)
        action = f"/family/children/{child}/consents/{consent}/grant"
        stale = form_of(anna.get(f"/family/children/{child}/consents").text, action)
        answer(bo, child, consent, "grant")
        answer(bo, child, consent, "withdraw")
        before = rt.hub.log_length()
        response = anna.post(action, data=stale, follow_redirects=False)
    assert response.status_code == 409
    assert "Frågan går inte längre att svara på" in response.text
    assert "Samtycket har redan tagits tillbaka." in response.text
    assert PURPOSE not in response.text
    assert rt.hub.log_length() == before
    assert status_of(rt, child, GUARDIAN_1_PNR) == "withdrawn"


def test_the_receipt_names_what_to_whom_why_and_until_when(rt: Runtime) -> None:
    """A guardian keeps proof of what they agreed to, to print or save."""
    child, consent = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        answer(anna, child, consent, "grant")
        receipt = anna.get(f"/family/children/{child}/consents/{consent}/receipt")
    assert receipt.status_code == 200
    text = receipt.text
    assert "Kvitto på samtycke" in text
    assert "Behov" in text  # what
    assert "Bup Ystad" in text  # to whom, by the unit's name
    assert PURPOSE in text  # why
    assert "2 mars 2027" in text  # until when: a year after the request
    answers = re.search(r'<ul class="consent-answers">.*?</ul>', text, re.S)
    assert answers is not None
    assert re.search(r"Du</strong>.*?har sagt ja.*?ja 2 mars 2026 kl. 10.00", answers.group(0), re.S)  # who answered, when
    assert re.search(r"Bo Lind</strong>.*?har inte svarat än", answers.group(0), re.S)
    assert "webbläsarens utskrift" in text
    assert "<script" not in text and "onclick" not in text


def test_the_child_page_names_the_barnkontakt_in_plain_words(rt: Runtime) -> None:
    """The guardian learns who to turn to without knowing the model."""
    child, _ = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        listing = anna.get("/family")
        page = anna.get(f"/family/children/{child}")
    assert listing.status_code == 200
    assert f'href="/family/children/{child}' in listing.text and "Alva Lind" in listing.text
    assert page.status_code == 200
    assert "Barnkontakt är Rektor Ostra, på Skola Ostra." in page.text
    assert "Inget är bestämt än." in page.text


@pytest.mark.parametrize("who", [NON_CUSTODIAL_PNR, GUARDIAN_2_PNR])
def test_a_guardian_without_custody_or_of_another_family_sees_nothing_of_the_child(rt: Runtime, who: str) -> None:
    """Only the guardians with custody (and the child from the set age) see the child."""
    child = UUID(str(rt.hub.register_child(
        staff("larare.ostra"), personnummer="201507122388", given_name="Alva", family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Carl Berg", "personnummer": NON_CUSTODIAL_PNR, "has_custody": False},
        ],
    )))
    rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    consent = rt.hub.request_consent(staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose=PURPOSE)
    with client(rt) as other:
        sign_in(other, who)
        listing = other.get("/family")
        pages = [
            other.get(f"/family/children/{child}"),
            other.get(f"/family/children/{child}/consents"),
            other.get(f"/family/children/{child}/consents/{consent}/receipt"),
            other.get(f"/family/children/{child}/access-log"),
        ]
    assert "Alva" not in listing.text
    for page in pages:
        assert page.status_code in (403, 404), page.request.url
        for secret in ("Alva", "Lind", PURPOSE, "Rektor Ostra"):
            assert secret not in page.text


def test_the_pages_are_swedish_by_default_and_english_on_request(rt: Runtime) -> None:
    """A family reads Swedish first; English is a switch away, and links keep it."""
    child, _ = child_with_request(rt)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        swedish = anna.get(f"/family/children/{child}/consents")
        english = anna.get(f"/family/children/{child}/consents?lang=en")
    assert '<html lang="sv" dir="ltr">' in swedish.text and "Frågor om samtycke" in swedish.text
    assert '<html lang="en" dir="ltr">' in english.text and "Consent requests" in english.text
    assert "Waiting for answers" in english.text and "Needs" in english.text
    assert "/consents/" in english.text and "?lang=en" in english.text


@pytest.mark.parametrize("verb", ["grant", "decline"])
def test_a_form_for_a_consent_request_withheld_since_it_was_opened_is_answered_as_one_for_no_consent(
    rt: Runtime, verb: str
) -> None:
    """The page was opened before the unit withheld the request from the guardians
    (OSL 12 kap. 3 §): sending its form records nothing, and the page that answers is the one
    a consent the child does not have gets, so it does not tell the guardian the request is
    still there, nor what it asks."""
    child, consent = child_with_request(rt)
    unknown = UUID(int=consent.int ^ 1)
    with client(rt) as anna:
        sign_in(anna, GUARDIAN_1_PNR)
        page = anna.get(f"/family/children/{child}/consents").text
        action = f"/family/children/{child}/consents/{consent}/{verb}"
        fields = form_of(page, action)
        (request,) = [
            i.event_id for i in rt.hub.read_child(staff(BK), child, purpose="Samordna").items
            if i.type == "ConsentRequested" and i.fields["consent_id"] == str(consent)
        ]
        rt.hub.withhold_information(staff(BK), child, event_ids=[request], reason="Skydd av barnet")
        before = rt.hub.log_length()

        kept = anna.post(action, data=fields, follow_redirects=False)
        none = anna.post(
            f"/family/children/{child}/consents/{unknown}/{verb}", data={**fields, "form_id": "another-form"},
            follow_redirects=False,
        )

    assert kept.status_code == none.status_code == 422, kept.text
    assert kept.text.replace(str(consent), "ID") == none.text.replace(str(unknown), "ID")
    assert PURPOSE not in kept.text
    assert rt.hub.log_length() == before
    (seen,) = rt.hub.consent_overview(staff(BK), child)
    assert (seen.purpose, seen.status.value) == (PURPOSE, "pending"), "the unit that asked still sees its request"
