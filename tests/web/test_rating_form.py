"""The rating form: the scale explained, only the questions of the child's age, every
statement reading the same way as the scale, and bad values refused naming the question."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from contracts.indicators import INDICATORS, Indicator
from hub.runtime.bootstrap import Runtime
from tests.factories import staff
from tests.unit.test_rating_indicators import BK, FIVE_YEAR_OLD, NEGATION, OLDER_CHILDREN_ONLY, teamed
from tests.web.conftest import post_sign_in

HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')
LEGEND = re.compile(r"<legend>([^<]+)</legend>")


def sign_in(client: TestClient[Any], user: str = BK) -> None:
    assert post_sign_in(client, kind="staff", user=user).status_code == 303


def form(client: TestClient[Any], child: UUID) -> tuple[str, str]:
    page = client.get(f"/staff/children/{child}/rating")
    assert page.status_code == 200, page.text
    found = HIDDEN.search(page.text)
    assert found
    return page.text, found.group(1)


def test_the_form_explains_what_one_and_five_mean_and_what_dont_know_does(rt: Runtime, client: TestClient[Any]) -> None:
    child = teamed(rt)
    sign_in(client)
    html, _ = form(client, child)
    assert "Så läser du skalan" in html
    assert "<dt>1</dt><dd>Behovet är långt ifrån tillgodosett" in html
    assert "<dt>5</dt><dd>Behovet är helt tillgodosett" in html
    assert "<dt>Vet ej</dt><dd>Du vet inte. Frågan lämnas utanför den gemensamma Behovskompassen" in html
    assert html.count('aria-describedby="scale-summary"') == len(INDICATORS)  # each question points to the explanation
    english = client.get(f"/staff/children/{child}/rating?lang=en").text
    assert "How to read the scale" in english and "The child is free of criminal networks" in english


def test_a_five_year_olds_form_asks_nothing_about_crime_honour_or_school(rt: Runtime, client: TestClient[Any]) -> None:
    child = teamed(rt, FIVE_YEAR_OLD)
    sign_in(client)
    html, _ = form(client, child)
    assert "Frågorna är de som gäller barn i åldern 4–6 år." in html
    legends = LEGEND.findall(html)
    for indicator in OLDER_CHILDREN_ONLY:
        assert INDICATORS[indicator].statement_sv not in legends
        assert f'name="score-{indicator.value}"' not in html
    assert [s for s in legends if "kriminell" in s or "heder" in s] == []
    assert INDICATORS[Indicator.TRYGGHET_SKYDDAT].statement_sv in legends  # protection itself is asked at every age


def test_a_ten_year_olds_form_asks_every_statement_worded_so_that_five_is_best(rt: Runtime, client: TestClient[Any]) -> None:
    child = teamed(rt)
    sign_in(client)
    html, _ = form(client, child)
    legends = LEGEND.findall(html)
    assert len(legends) == len(INDICATORS)
    assert "Barnet står fritt från kriminella nätverk" in legends
    assert [s for s in legends if NEGATION.search(s)] == []


@pytest.mark.parametrize("value", ["yes", "0", "6", "-1", "3.5", "3,5", "٣", "9" * 40, "4 "[:1] + "x"])
def test_a_value_that_is_not_a_score_is_refused_next_to_its_question_and_nothing_is_recorded(
    rt: Runtime, client: TestClient[Any], value: str
) -> None:
    child = teamed(rt)
    sign_in(client)
    _, token = form(client, child)
    before = rt.hub.log_length()
    sent = {"csrf_token": token, "form_id": "f1", "score-trygghet-natverk": "4", "score-halsa-vard": value}
    refused = client.post(f"/staff/children/{child}/rating", data=sent)
    assert refused.status_code == 422
    html = refused.text
    assert 'id="score-halsa-vard-error">Välj en skattning från 1 till 5, eller ”Vet ej”.</p>' in html
    assert 'id="score-trygghet-natverk-4" name="score-trygghet-natverk" value="4" checked' in html  # what was chosen is kept
    assert rt.hub.log_length() == before + 1  # only the read of the form shown again
    assert rt.hub.read_child(staff(BK), child, purpose="check").of_type("RatingSubmitted") == []


def test_a_score_for_a_question_the_childs_age_does_not_ask_is_refused_by_the_core(rt: Runtime, client: TestClient[Any]) -> None:
    child = teamed(rt, FIVE_YEAR_OLD)
    sign_in(client)
    _, token = form(client, child)
    before = rt.hub.log_length()
    for n, extra in enumerate(("score-trygghet-kriminella-natverk", "score-ingen-sadan-fraga")):
        sent = {"csrf_token": token, "form_id": f"f{n}", "score-trygghet-natverk": "4", extra: "3"}
        refused = client.post(f"/staff/children/{child}/rating", data=sent)
        assert refused.status_code == 422
        assert "Skattningen innehöll en fråga som inte ställs för ett barn i den här åldern. Inget registrerades." in refused.text
    assert rt.hub.log_length() == before + 2  # the two reads of the form shown again, no rating


def test_a_form_with_only_dont_know_is_refused_and_one_score_is_recorded_with_the_indicators_code(rt: Runtime, client: TestClient[Any]) -> None:
    child = teamed(rt)
    sign_in(client)
    _, token = form(client, child)
    blank = client.post(f"/staff/children/{child}/rating", data={"csrf_token": token, "form_id": "b", "score-halsa-vard": "unknown"})
    assert blank.status_code == 422 and "Ge minst en skattning" in blank.text
    sent = client.post(
        f"/staff/children/{child}/rating",
        data={"csrf_token": token, "form_id": "s", "score-trygghet-heder": "5", "score-halsa-vard": "unknown"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    (rating,) = rt.hub.read_child(staff(BK), child, purpose="check").of_type("RatingSubmitted")
    scores = {s["indicator"]: s["score"] for s in rating.fields["scores"]}
    assert scores["trygghet-heder"] == 5 and scores["halsa-vard"] is None


# -- the count of ratings on the compass page ---------------------------------------------------


def hint(html: str) -> str:
    found = re.search(r"För Barnkontakten: (\d+) skattningar har kommit in", html)
    assert found, "no count of ratings on the page"
    return found.group(1)


def test_the_barnkontakt_is_told_every_rating_sent_also_those_she_may_not_read(rt: Runtime, client: TestClient[Any]) -> None:
    child = teamed(rt)  # no consent: the school may not read pupil health's rating
    rt.hub.submit_rating(staff(BK), child, scores=[{"area": "trygghet", "indicator": "trygghet-natverk", "score": 4}])
    rt.hub.submit_rating(staff("kurator.ostra"), child, scores=[{"area": "halsa", "indicator": "halsa-psykisk", "score": 2}])
    assert len(rt.hub.read_child(staff(BK), child, purpose="check").merged("RatingSubmitted")) == 1
    sign_in(client)
    page = client.get(f"/staff/children/{child}/compass").text
    assert hint(page) == "2"
    assert "halsa-psykisk" not in page and "Barnet mår bra psykiskt" not in page  # the count, not the content

    rt.hub.hold_team_meeting(staff(BK), child, participant_unit_ids=["skola-ostra", "elevhalsa-ostra"])
    assert hint(client.get(f"/staff/children/{child}/compass").text) == "0"  # the next compass starts afresh


def test_a_team_member_who_does_not_convene_the_meeting_is_not_told_the_count(rt: Runtime, client: TestClient[Any]) -> None:
    child = teamed(rt)
    rt.hub.submit_rating(staff(BK), child, scores=[{"area": "trygghet", "indicator": "trygghet-natverk", "score": 4}])
    rt.hub.submit_rating(staff("kurator.ostra"), child, scores=[{"area": "halsa", "indicator": "halsa-psykisk", "score": 2}])
    sign_in(client, "kurator.ostra")
    page = client.get(f"/staff/children/{child}/compass")
    assert page.status_code == 200
    assert "skattningar har kommit in" not in page.text
