"""The digital conversation's pages: the Barnkontakt makes a link and a code, the child or a
guardian answers on their own phone without signing in, once, and the answers arrive as the
conversation's record. Attacks on the public pages (guessed codes, reuse, ended or withdrawn
invitations, an erased record, a forged form, absurd sizes) all get one plain answer."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from hub.application.surveys import CODE_ALPHABET, CODE_LENGTH
from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, OTHER_TENANT, card_payload, directory, staff
from tests.web.conftest import BASE_URL, post_sign_in

BARNKONTAKT = "rektor.ostra"
REFUSED = "Koden eller länken fungerar inte"


def signed_in(rt: Runtime, **who: str) -> TestClient[Any]:
    c = TestClient(create_app(rt), base_url=BASE_URL)
    c.__enter__()
    assert post_sign_in(c, **who).status_code == 303
    return c


def phone(rt: Runtime) -> TestClient[Any]:
    """The child's or guardian's own phone: a browser that never signed in."""
    c = TestClient(create_app(rt), base_url=BASE_URL)
    c.__enter__()
    return c


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name}"
    return html.unescape(found.group(1))


def case(rt: Runtime) -> UUID:
    child = UUID(str(register_child(rt)))
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BARNKONTAKT), child, staff_id=BARNKONTAKT)
    return child


def invite(rt: Runtime, child: UUID, **answers: str) -> tuple[str, str]:
    """The Barnkontakt makes an invitation on the page; the link and the code it shows."""
    bk = signed_in(rt, kind="staff", user=BARNKONTAKT)
    form = bk.get(f"/staff/children/{child}/survey")
    assert form.status_code == 200, form.text
    made = bk.post(
        f"/staff/children/{child}/survey",
        data={"csrf_token": hidden(form.text, "csrf_token"), "form_id": hidden(form.text, "form_id"),
              "with_whom": "child", "age_group": "10-12", "answers_withheld": "no", **answers},
    )
    assert made.status_code == 200, made.text
    code = re.search(r'id="survey-code" class="code">([A-Z0-9-]+)<', made.text)
    link = re.search(r'id="survey-link" href="([^"]+)"', made.text)
    assert code and link
    return html.unescape(link.group(1)).removeprefix(BASE_URL), code.group(1)


def open_code(c: TestClient[Any], code: str) -> Any:
    page = c.get("/samtal")
    return c.post("/samtal", data={"form_token": hidden(page.text, "form_token"), "code": code})


def send(c: TestClient[Any], opened: Any, **answers: str) -> Any:
    return c.post(
        "/samtal/svar",
        data={"form_token": hidden(opened.text, "form_token"), "secret": hidden(opened.text, "secret"), **answers},
        follow_redirects=False,
    )


def conversations(rt: Runtime, child: UUID) -> list[dict[str, Any]]:
    return rt.hub.read_child(staff(BARNKONTAKT), child, purpose="test").merged("ConversationHeld")


def test_a_child_answers_by_code_on_a_phone_and_the_answers_are_the_conversations_record(rt: Runtime) -> None:
    child = case(rt)
    _, code = invite(rt, child)
    c = phone(rt)

    opened = open_code(c, code.lower().replace("-", " "))  # read aloud, typed as heard
    assert opened.status_code == 200, opened.text
    assert "Hej Alva!" in opened.text and "Lind" not in opened.text
    assert "Känner du dig trygg hemma" in opened.text
    sent = send(c, opened, view_trygghet="Jag är rädd på rasten", summary="Jag vill ha en vuxen ute")

    assert sent.status_code == 303 and sent.headers["location"] == "/samtal/tack"
    assert "Tack för dina svar!" in c.get("/samtal/tack").text
    (held,) = conversations(rt, child)
    assert held["digital_survey"] is True and held["with_whom"] == "child" and held["age_group"] == "10-12"
    assert held["views"] == [{"area": "trygghet", "view": "Jag är rädd på rasten"}]
    assert held["unit_id"] == "skola-ostra"  # the inviting unit's own record


def test_a_whole_link_pasted_into_the_code_field_opens_the_questions(rt: Runtime) -> None:
    child = case(rt)
    link, _ = invite(rt, child)
    c = phone(rt)

    assert "Hej Alva!" in open_code(c, BASE_URL + link).text


def test_the_barnkontakt_sees_the_invitation_answered_and_the_timeline_shows_the_conversation(rt: Runtime) -> None:
    child = case(rt)
    link, _ = invite(rt, child)
    c = phone(rt)
    assert send(c, c.get(link), view_fritid="Fotboll").status_code == 303

    bk = signed_in(rt, kind="staff", user=BARNKONTAKT)
    page = bk.get(f"/staff/children/{child}/survey")
    assert "Besvarad" in page.text and "Väntar på svar" not in page.text
    timeline = bk.get(f"/staff/children/{child}/timeline").text
    assert "Inbjudan till digitalt samtal" in timeline
    assert "Fotboll" in bk.get(f"/staff/children/{child}").text


def test_the_conversation_page_links_to_the_digital_conversation(rt: Runtime) -> None:
    child = case(rt)
    bk = signed_in(rt, kind="staff", user=BARNKONTAKT)
    page = bk.get(f"/staff/children/{child}/conversation").text
    assert f'href="/staff/children/{child}/survey"' in page and "Skicka digitalt samtal" in page


def test_a_guardian_answers_about_the_child_by_first_name_and_the_answers_are_marked_as_theirs(rt: Runtime) -> None:
    child = case(rt)
    anna = family(rt, GUARDIAN_1_PNR)
    made = rt.hub.invite_to_conversation(staff(BARNKONTAKT), child, with_whom="guardian", guardian_id=anna.party_id, age_group="4-6")
    c = phone(rt)

    opened = c.get(f"/samtal/l/{made.link_secret}")
    assert "Frågor om Alva" in opened.text and "Verkar Alva trygg" in opened.text
    assert send(c, opened, view_halsa="Sover dåligt").status_code == 303

    (held,) = conversations(rt, child)
    assert held["with_whom"] == "guardian" and held["age_group"] == "4-6"


def test_a_used_code_a_wrong_code_and_a_guessed_code_get_the_same_plain_answer(rt: Runtime) -> None:
    child = case(rt)
    link, code = invite(rt, child)
    c = phone(rt)
    assert send(c, open_code(c, code), view_trygghet="Bra").status_code == 303

    answers = [open_code(c, code), c.get(link), open_code(c, "ABCDE-FGHJK"), open_code(c, "hej")]

    for answer in answers:
        assert answer.status_code == 404
        assert REFUSED in answer.text and "Alva" not in answer.text
    bodies = {re.sub(r'value="[^"]*"', "", a.text) for a in answers}
    assert len(bodies) == 1  # nothing tells one refusal from another
    assert len(conversations(rt, child)) == 1


def test_an_answer_sent_twice_is_recorded_once(rt: Runtime) -> None:
    child = case(rt)
    _, code = invite(rt, child)
    c = phone(rt)
    opened = open_code(c, code)

    first = send(c, opened, view_trygghet="Första")
    again = send(c, opened, view_trygghet="Andra")

    assert first.status_code == 303 and again.status_code == 404
    assert [h["views"][0]["view"] for h in conversations(rt, child)] == ["Första"]


def test_an_invitation_ends_after_the_set_days(rt: Runtime, clock: SettableClock) -> None:
    child = case(rt)
    link, code = invite(rt, child)
    c = phone(rt)
    opened = c.get(link)

    clock.advance(timedelta(days=14))

    assert open_code(c, code).status_code == 404
    assert send(c, opened, view_trygghet="För sent").status_code == 404
    assert conversations(rt, child) == []


def test_the_setting_of_days_changes_how_long_an_invitation_works(clock: SettableClock) -> None:
    rt = bootstrap(Settings(store="memory", demo_mode=True, conversation_invitation_days=2), clock=clock, directory=directory())
    try:
        child = case(rt)
        made = rt.hub.invite_to_conversation(staff(BARNKONTAKT), child, with_whom="child", age_group="10-12")
        assert made.expires_at == clock() + timedelta(days=2)
        clock.advance(timedelta(days=2))
        assert phone(rt).get(f"/samtal/l/{made.link_secret}").status_code == 404
    finally:
        rt.close()


def test_a_withdrawn_invitation_stops_working(rt: Runtime) -> None:
    child = case(rt)
    link, _ = invite(rt, child)
    c = phone(rt)
    opened = c.get(link)
    bk = signed_in(rt, kind="staff", user=BARNKONTAKT)
    page = bk.get(f"/staff/children/{child}/survey")
    action = re.search(r'action="(/staff/children/[^"]+/withdraw)"', page.text)
    assert action

    bk.post(action.group(1), data={"csrf_token": hidden(page.text, "csrf_token"), "form_id": "w1"})

    assert "Tillbakadragen" in bk.get(f"/staff/children/{child}/survey").text
    assert c.get(link).status_code == 404
    assert send(c, opened, view_trygghet="Hej").status_code == 404


def test_an_invitation_is_refused_after_the_record_is_erased(rt: Runtime) -> None:
    child = case(rt)
    link, code = invite(rt, child)
    rt.hub.erase_child(staff("admin.ystad"), child, reason="Ärende 2026-17")

    c = phone(rt)
    assert c.get(link).status_code == 404
    assert REFUSED in open_code(c, code).text


def test_a_forged_form_without_the_browsers_token_is_refused_and_records_nothing(rt: Runtime) -> None:
    child = case(rt)
    link, code = invite(rt, child)
    c = phone(rt)
    opened = c.get(link)

    forged = c.post("/samtal/svar", data={"form_token": "forged", "secret": hidden(opened.text, "secret"), "view_trygghet": "x"})
    elsewhere = phone(rt).post("/samtal", data={"form_token": hidden(opened.text, "form_token"), "code": code})

    assert forged.status_code == 404 and elsewhere.status_code == 404
    assert conversations(rt, child) == []


def test_codes_are_readable_aloud_and_guessing_them_is_rate_limited(rt: Runtime) -> None:
    child = case(rt)
    _, code = invite(rt, child)
    assert len(code.replace("-", "")) == CODE_LENGTH and set(code.replace("-", "")) <= set(CODE_ALPHABET)
    assert not set("ILO01") & set(CODE_ALPHABET)
    c = phone(rt)
    page = c.get("/samtal")

    token = hidden(page.text, "form_token")
    guesses = [c.post("/samtal", data={"form_token": token, "code": f"AAAAA-AAAA{d}"}) for d in "23456789AB"]
    right_but_too_late = c.post("/samtal", data={"form_token": token, "code": code})

    assert {g.status_code for g in guesses} == {404}  # ten tries a minute (the default)
    assert right_but_too_late.status_code == 429 and "Retry-After" in right_but_too_late.headers
    assert "Alva" not in right_but_too_late.text


def test_the_limit_on_codes_is_a_setting(clock: SettableClock) -> None:
    rt = bootstrap(Settings(store="memory", demo_mode=True, survey_code_limit="2/minute"), clock=clock, directory=directory())
    try:
        c = phone(rt)
        page = c.get("/samtal")
        tries = [c.post("/samtal", data={"form_token": hidden(page.text, "form_token"), "code": "ABCDE-FGHJK"}) for _ in range(3)]
        assert [t.status_code for t in tries] == [404, 404, 429]
    finally:
        rt.close()


def test_a_code_of_another_area_opens_nothing_of_this_area(rt: Runtime) -> None:
    """The lookup names its area: an entry pointed at a child of another area opens nothing."""
    child = case(rt)
    made = rt.hub.invite_to_conversation(staff(BARNKONTAKT), child, with_whom="child", age_group="10-12")
    digest = rt.hub.blind_index.digest("conversation-link", made.link_secret)
    entry = rt.hub.invitations.find(digest)
    assert entry is not None
    rt.hub.invitations.add((rt.hub.blind_index.digest("conversation-link", "other-area-secret"),), type(entry)(
        OTHER_TENANT, entry.child_id, entry.invitation_id, entry.expires_at))

    assert phone(rt).get("/samtal/l/other-area-secret").status_code == 404


@pytest.mark.parametrize("size", [4001, 300_000])
def test_absurd_sizes_are_refused_plainly_and_record_no_answer(rt: Runtime, size: int) -> None:
    child = case(rt)
    link, _ = invite(rt, child)
    c = phone(rt)
    opened = c.get(link)

    answer = send(c, opened, view_trygghet="x" * size)
    long_code = open_code(c, "A" * 5000)
    long_link = c.get("/samtal/l/" + "a" * 5000)

    assert answer.status_code in (413, 422)
    if answer.status_code == 422:
        assert "Svaret är för långt" in answer.text
    assert long_code.status_code == 404 and long_link.status_code in (404, 414)
    assert conversations(rt, child) == []
    assert send(c, opened, view_trygghet="Kort svar").status_code == 303  # the invitation still works


def test_opening_the_questions_is_a_read_on_record_by_the_child(rt: Runtime) -> None:
    child = case(rt)
    link, _ = invite(rt, child)

    phone(rt).get(link)

    reads = [e for e in rt.hub.audit_search(staff("granskare.ystad"), child_id=child) if e.view == "conversation_survey"]
    assert [(e.accessor_id, e.role.value, [b.value for b in e.bases]) for e in reads] == [
        (str(child), "child", ["data_subject"])
    ]


def test_an_empty_answer_is_refused_with_a_message_and_the_invitation_still_works(rt: Runtime) -> None:
    child = case(rt)
    link, _ = invite(rt, child)
    c = phone(rt)
    opened = c.get(link)

    empty = send(c, opened)

    assert empty.status_code == 422 and "Svara på minst en fråga" in empty.text
    assert send(c, opened, view_trygghet="Nu svarar jag").status_code == 303


def test_the_form_asks_for_who_and_the_age_group_and_refuses_a_child_younger_than_seven(rt: Runtime) -> None:
    child = case(rt)
    bk = signed_in(rt, kind="staff", user=BARNKONTAKT)
    form = bk.get(f"/staff/children/{child}/survey")
    assert 'value="10-12" selected' in form.text  # the child's age group, from the birth date
    assert "Anna Lind, vårdnadshavare" in form.text
    base = {"csrf_token": hidden(form.text, "csrf_token"), "answers_withheld": "no"}
    before = rt.hub.log_length()

    nobody = bk.post(f"/staff/children/{child}/survey", data={**base, "form_id": "a", "age_group": "10-12"})
    young = bk.post(f"/staff/children/{child}/survey", data={**base, "form_id": "b", "with_whom": "child", "age_group": "4-6"})

    assert nobody.status_code == 422 and "Välj vem som ska svara" in nobody.text
    assert young.status_code == 422 and "yngre än 7 år" in young.text
    assert rt.hub.log_length() > before  # only the page's reads
    assert not [i for i in rt.hub.read_child(staff(BARNKONTAKT), child, purpose="t").items if i.type == "ConversationInvited"]


def test_answers_the_invitation_keeps_from_the_family_never_reach_the_guardian(rt: Runtime) -> None:
    child = case(rt)
    link, _ = invite(rt, child, answers_withheld="yes")
    c = phone(rt)
    assert send(c, c.get(link), view_trygghet="Pappa slår").status_code == 303

    anna = family(rt, GUARDIAN_1_PNR)
    seen = rt.hub.read_child(anna, child, purpose="Familj", view="family_view")
    assert not [i for i in seen.items if i.type == "ConversationHeld"]
    assert [h for h in conversations(rt, child) if h.get("views")]


def test_only_the_case_holder_makes_invitations(rt: Runtime) -> None:
    child = case(rt)
    teacher = signed_in(rt, kind="staff", user="larare.ostra")
    assert teacher.get(f"/staff/children/{child}/survey").status_code == 403
