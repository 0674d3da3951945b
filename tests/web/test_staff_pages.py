"""The staff pages: a discoverer files a card through the form, the Barnkontakt finds it on
the case list and takes the child through the steps; wrong input is shown again with the
problems in place and nothing appended; a double submission appends once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from contracts.vocabulary import UnitKind
from hub.http import create_app
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, GUARDIAN_2_PNR, registration_payload, staff
from tests.web.conftest import BASE_URL, post_sign_in

STATEMENT = "Barnet är inte tryggt i hemmet, skolan, på nätet eller i sin närmiljö"


def browser(rt: Runtime, user: str | None = None) -> TestClient[Any]:
    client = TestClient(create_app(rt), base_url=BASE_URL)
    client.__enter__()
    if user is not None:
        r = post_sign_in(client, kind="staff", user=user)
        assert r.status_code == 303, r.text
    return client


@pytest.fixture
def clients(rt: Runtime) -> Iterator[dict[str, TestClient[Any]]]:
    opened: dict[str, TestClient[Any]] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, user: str) -> TestClient[Any]:
            opened[user] = browser(rt, user)
            return opened[user]

    yield Lazy()
    for c in opened.values():
        c.__exit__(None, None, None)


def hidden(page: str) -> dict[str, str]:
    """The anti-forgery token and the form id of the first form on the page."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    form_id = re.search(r'name="form_id" value="([^"]+)"', page)
    assert token and form_id, "the page has no form with csrf_token and form_id"
    return {"csrf_token": token.group(1), "form_id": form_id.group(1)}


def register(rt: Runtime) -> UUID:
    return rt.hub.register_child(staff("rektor.ostra"), **registration_payload())


def card_form(child_id: UUID, to_unit: str = "skola-ostra") -> dict[str, Any]:
    return {
        "child_id": str(child_id),
        "need_trygghet": [STATEMENT],
        "note_trygghet": "Oro efter rasten",
        "note_fritid": "Slutat på fotbollen",
        "q_unmet_needs": "Trygghet och fritid",
        "q_what_i_can_do": "Extra vuxen på rasten",
        "own_support_taken": "Rastvakt",
        "guardians_informed": "yes",
        "withheld_from_guardians": "no",
        "to_unit_id": to_unit,
    }


def steps(rt: Runtime, child_id: UUID) -> list[str]:
    """The child's steps as its Barnkontakt sees them."""
    return [s.type for s in rt.hub.timeline(staff("rektor.ostra"), child_id, purpose="test: the steps").steps]


def with_barnkontakt(rt: Runtime) -> UUID:
    child_id = register(rt)
    rt.hub.assign_barnkontakt(staff("rektor.ostra"), child_id, staff_id="rektor.ostra")
    return child_id


def test_a_teacher_files_a_card_through_the_form_and_the_barnkontakt_sees_it_on_the_case_list(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    """The whole discoverer's path: register, fill in the card, see to whom it went; the
    receiving unit's Barnkontakt then has the child among the new cards."""
    teacher = clients["larare.ostra"]
    page = teacher.get("/staff/children/new")
    assert page.status_code == 200
    r = teacher.post(
        "/staff/children/new",
        data={
            **hidden(page.text), "personnummer": CHILD_PNR, "given_name": "Alva", "family_name": "Lind",
            "guardian1_name": "Anna Lind", "guardian1_personnummer": GUARDIAN_1_PNR, "guardian1_custody": "yes",
            "guardian2_name": "Bo Lind", "guardian2_personnummer": GUARDIAN_2_PNR, "guardian2_custody": "yes",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/staff/cards/new?child_id=")
    child_id = UUID(re.search(r"child_id=([0-9a-f-]+)", r.headers["location"]).group(1))  # type: ignore[union-attr]

    form = teacher.get(f"/staff/cards/new?child_id={child_id}")
    assert form.status_code == 200
    assert STATEMENT in form.text and "Upptäckarkort" in form.text
    sent = teacher.post("/staff/cards/new", data={**hidden(form.text), **card_form(child_id)})
    assert sent.status_code == 200
    assert "Upptäckarkortet är skickat" in sent.text
    assert "Skola Ostra" in sent.text and "Rektor Ostra" in sent.text

    cases = clients["rektor.ostra"].get("/staff")
    assert cases.status_code == 200
    assert f"/staff/children/{child_id}" in cases.text
    assert "Alva Lind" in cases.text
    new_cards = clients["rektor.ostra"].get("/staff?group=new_cards")
    assert f"/staff/children/{child_id}" in new_cards.text

    mine = teacher.get("/staff/cards")
    assert mine.status_code == 200
    assert "Skola Ostra" in mine.text and "Väntar på återkoppling" in mine.text


def test_the_discoverer_sees_the_barnkontakts_feedback_under_my_cards(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    child_id = register(rt)
    teacher = clients["larare.ostra"]
    form = teacher.get(f"/staff/cards/new?child_id={child_id}")
    sent = teacher.post("/staff/cards/new", data={**hidden(form.text), **card_form(child_id)}, follow_redirects=False)
    card_id = re.search(r"card_id=([\w-]+)", sent.headers["location"]).group(1)  # type: ignore[union-attr]
    bk = clients["rektor.ostra"]
    rt.hub.assign_barnkontakt(staff("rektor.ostra"), child_id, staff_id="rektor.ostra")
    page = bk.get(f"/staff/children/{child_id}/cards/{card_id}/feedback")
    assert page.status_code == 200
    r = bk.post(
        f"/staff/children/{child_id}/cards/{card_id}/feedback",
        data={**hidden(page.text), "message": "Jag pratar med Alva i veckan"}, follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/staff/children/{child_id}/done/feedback"
    mine = teacher.get("/staff/cards")
    assert "Jag pratar med Alva i veckan" in mine.text
    assert "Återkoppling mottagen" in mine.text


def test_my_cards_show_the_swedish_day_a_card_was_sent_and_answered(
    rt: Runtime, clients: dict[str, TestClient[Any]], clock: SettableClock
) -> None:
    """Sent at 00:30 on 3 March in Sweden (23:30 UTC on 2 March): the discoverer sees the 3rd."""
    child_id = register(rt)
    clock.set(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))
    teacher = clients["larare.ostra"]
    form = teacher.get(f"/staff/cards/new?child_id={child_id}")
    sent = teacher.post("/staff/cards/new", data={**hidden(form.text), **card_form(child_id)}, follow_redirects=False)
    card_id = re.search(r"card_id=([\w-]+)", sent.headers["location"]).group(1)  # type: ignore[union-attr]
    clock.advance(timedelta(minutes=10))
    rt.hub.assign_barnkontakt(staff("rektor.ostra"), child_id, staff_id="rektor.ostra")
    rt.hub.send_feedback(staff("rektor.ostra"), child_id, card_id=card_id, message="Vi ses i veckan")
    mine = teacher.get("/staff/cards").text
    row = mine[mine.index("<tbody>"):mine.index("</tbody>")]
    assert '<time datetime="2026-03-02T23:30:00+00:00">2026-03-03</time>' in row
    assert "Återkoppling mottagen</span> 2026-03-03" in row
    assert "2026-03-02<" not in row


def test_a_bad_personnummer_gives_422_with_the_field_error_and_the_typed_values_kept(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    teacher = clients["larare.ostra"]
    page = teacher.get("/staff/children/new")
    before = rt.hub.log_length()
    r = teacher.post(
        "/staff/children/new",
        data={**hidden(page.text), "personnummer": "201507122389", "given_name": "Alva", "family_name": "Lind",
              "guardian1_name": "Anna Lind", "guardian1_personnummer": GUARDIAN_1_PNR, "guardian1_custody": "yes"},
    )
    assert r.status_code == 422
    assert 'id="personnummer-error"' in r.text
    assert "Inte ett giltigt personnummer" in r.text
    assert re.search(r'id="personnummer"[^>]*aria-invalid="true"', r.text)
    assert 'value="201507122389"' in r.text and 'value="Alva"' in r.text and 'value="Anna Lind"' in r.text
    assert rt.hub.log_length() == before


def test_a_card_without_any_need_gives_422_and_keeps_what_was_written(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    child_id = register(rt)
    teacher = clients["larare.ostra"]
    form = teacher.get(f"/staff/cards/new?child_id={child_id}")
    before = rt.hub.log_length()
    data = {**hidden(form.text), **card_form(child_id)}
    del data["need_trygghet"], data["note_trygghet"], data["note_fritid"]
    data["q_what_i_can_do"] = "Prata med mentorn"
    r = teacher.post("/staff/cards/new", data=data)
    assert r.status_code == 422
    assert 'id="needs-error"' in r.text
    assert "Prata med mentorn" in r.text
    assert rt.hub.log_length() == before


def test_a_double_sent_card_form_appends_once(rt: Runtime, clients: dict[str, TestClient[Any]]) -> None:
    child_id = register(rt)
    teacher = clients["larare.ostra"]
    form = teacher.get(f"/staff/cards/new?child_id={child_id}")
    data = {**hidden(form.text), **card_form(child_id)}
    before = rt.hub.log_length()
    first = teacher.post("/staff/cards/new", data=data, follow_redirects=False)
    second = teacher.post("/staff/cards/new", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert rt.hub.log_length() == before + 1


def test_a_child_typed_by_personnummer_goes_to_the_same_form_whether_known_or_not(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    """The search by personnummer is no way to learn who is registered: a known and an
    unknown child both lead to the registration form with the number filled in."""
    teacher = clients["larare.ostra"]
    page = teacher.get("/staff/cards/new")
    unknown = teacher.post("/staff/cards/find", data={**hidden(page.text), "personnummer": CHILD_PNR})
    register(rt)
    known = teacher.post("/staff/cards/find", data={**hidden(page.text), "personnummer": CHILD_PNR}, follow_redirects=False)
    assert unknown.status_code == known.status_code == 200
    assert f'value="{CHILD_PNR}"' in unknown.text and f'value="{CHILD_PNR}"' in known.text
    strip = lambda html: re.sub(r'name="(csrf_token|form_id)" value="[^"]*"', "", html)  # noqa: E731
    assert strip(unknown.text) == strip(known.text)


def test_registering_a_child_twice_goes_on_to_its_card(rt: Runtime, clients: dict[str, TestClient[Any]]) -> None:
    child_id = register(rt)
    teacher = clients["larare.ostra"]
    page = teacher.get("/staff/children/new")
    r = teacher.post(
        "/staff/children/new",
        data={**hidden(page.text), "personnummer": CHILD_PNR, "given_name": "Alva", "family_name": "Lind"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith(f"/staff/cards/new?child_id={child_id}")


def test_staff_without_a_case_role_get_the_start_page_and_are_refused_the_barnkontakt_steps(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    child_id = with_barnkontakt(rt)
    teacher = clients["larare.ostra"]
    start = teacher.get("/staff")
    assert start.status_code == 200
    assert 'href="/staff/cards/new"' in start.text and 'href="/staff/children/new"' in start.text
    assert f"/staff/children/{child_id}" not in start.text
    for step in ("barnkontakt", "conversation", "decision", "consent-request", "cards/card-x/feedback"):
        r = teacher.get(f"/staff/children/{child_id}/{step}")
        assert r.status_code == 403, step
        assert "Alva" not in r.text


def test_a_barnkontakt_of_another_unit_is_refused_and_nothing_is_appended(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    """The page lets a Barnkontakt open the form; the core refuses one who is not the child's."""
    child_id = with_barnkontakt(rt)
    other = clients["sjukskoterska.bvc"]
    page = other.get(f"/staff/children/{child_id}/conversation")
    assert page.status_code == 200
    before = rt.hub.log_length()
    r = other.post(
        f"/staff/children/{child_id}/conversation",
        data={**hidden(page.text), "with_whom": "child", "age_group": "10-12", "summary": "Samtal", "withheld_from_guardians": "no"},
    )
    assert r.status_code == 404  # a unit with no part in the case is not told the child exists
    assert "Alva" not in r.text
    assert rt.hub.log_length() == before


def test_pages_send_a_visitor_without_a_session_to_sign_in(rt: Runtime) -> None:
    anonymous = browser(rt)
    try:
        for path in ("/staff", "/staff/children/new", "/staff/cards/new", "/staff/cards"):
            r = anonymous.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/sign-in?next="), path
    finally:
        anonymous.__exit__(None, None, None)


def test_the_conversation_form_shows_the_guide_for_the_childs_age_and_appends_the_conversation(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    child_id = with_barnkontakt(rt)
    bk = clients["rektor.ostra"]
    page = bk.get(f"/staff/children/{child_id}/conversation")
    assert page.status_code == 200
    assert "åldersgruppen 10-12 år" in page.text
    assert re.search(r"<details open>\s*<summary>Samtalsunderlag för 10-12 år", page.text)
    before = rt.hub.log_length()
    r = bk.post(
        f"/staff/children/{child_id}/conversation",
        data={**hidden(page.text), "with_whom": "child", "age_group": "10-12",
              "view_trygghet": "Vill ha en vuxen på rasten", "summary": "Barnsamtal", "withheld_from_guardians": "no"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/staff/children/{child_id}"
    assert rt.hub.log_length() == before + 1
    assert "ConversationHeld" in steps(rt, child_id)


def test_the_decision_form_appends_the_decision_after_a_conversation(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    child_id = with_barnkontakt(rt)
    rt.hub.hold_conversation(staff("rektor.ostra"), child_id, with_whom="child", age_group="10-12", views=[], summary="Samtal")
    bk = clients["rektor.ostra"]
    page = bk.get(f"/staff/children/{child_id}/decision")
    assert page.status_code == 200
    before = rt.hub.log_length()
    missing = bk.post(
        f"/staff/children/{child_id}/decision",
        data={**hidden(page.text), "decision": "barnteam", "member_unit_ids": ["skola-ostra", "elevhalsa-ostra"],
              "rationale": "Behöver flera verksamheter"},
    )
    assert missing.status_code == 422 and 'id="family_informed-error"' in missing.text
    assert "Behöver flera verksamheter" in missing.text
    assert rt.hub.log_length() == before
    r = bk.post(
        f"/staff/children/{child_id}/decision",
        data={**hidden(page.text), "decision": "barnteam", "family_informed": "yes",
              "member_unit_ids": ["skola-ostra", "elevhalsa-ostra"], "shared_categories": ["needs"]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert rt.hub.log_length() == before + 1
    assert "TeamDecided" in steps(rt, child_id)


def test_the_consent_request_form_appends_the_request(rt: Runtime, clients: dict[str, TestClient[Any]]) -> None:
    child_id = with_barnkontakt(rt)
    bk = clients["rektor.ostra"]
    page = bk.get(f"/staff/children/{child_id}/consent-request")
    assert page.status_code == 200
    before = rt.hub.log_length()
    bad = bk.post(
        f"/staff/children/{child_id}/consent-request",
        data={**hidden(page.text), "categories": ["needs"], "purpose": "Barnteam"},
    )
    assert bad.status_code == 422 and 'id="recipients-error"' in bad.text and "Barnteam" in bad.text
    r = bk.post(
        f"/staff/children/{child_id}/consent-request",
        data={**hidden(page.text), "recipient_units": ["skola-ostra", "elevhalsa-ostra"], "recipient_kinds": ["bup"],
              "categories": ["needs", "conversations"], "purpose": "Barnteam med elevhälsan", "valid_until": "2026-12-31"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert rt.hub.log_length() == before + 1
    overview = rt.hub.consent_overview(staff("rektor.ostra"), child_id)
    assert [c.purpose for c in overview] == ["Barnteam med elevhälsan"]
    assert overview[0].recipient_unit_kinds == [UnitKind.BUP]
    # the last day typed is a Swedish day: the consent holds until 23:59 in Sweden (CET in winter)
    assert overview[0].valid_until == datetime(2026, 12, 31, 22, 59, tzinfo=UTC)


def test_the_barnkontakt_assigns_the_child_to_themself(rt: Runtime, clients: dict[str, TestClient[Any]]) -> None:
    child_id = register(rt)
    bk = clients["rektor.ostra"]
    page = bk.get(f"/staff/children/{child_id}/barnkontakt")
    assert page.status_code == 200
    before = rt.hub.log_length()
    r = bk.post(
        f"/staff/children/{child_id}/barnkontakt",
        data={**hidden(page.text), "step": "assign", "staff_id": "rektor.ostra"}, follow_redirects=False,
    )
    assert r.status_code == 303
    assert rt.hub.log_length() == before + 1
    again = bk.post(
        f"/staff/children/{child_id}/barnkontakt",
        data={**hidden(page.text), "step": "assign", "staff_id": "rektor.ostra", "form_id": "another"},
    )
    assert again.status_code == 422 and "Barnet har redan en Barnkontakt" in again.text


def test_pages_are_swedish_by_default_and_english_with_lang_en(rt: Runtime, clients: dict[str, TestClient[Any]]) -> None:
    teacher = clients["larare.ostra"]
    sv = teacher.get("/staff/children/new")
    assert '<html lang="sv" dir="ltr">' in sv.text and "Förnamn" in sv.text and "Given name" not in sv.text
    en = teacher.get("/staff/children/new?lang=en")
    assert '<html lang="en" dir="ltr">' in en.text and "Given name" in en.text and "Förnamn" not in en.text
