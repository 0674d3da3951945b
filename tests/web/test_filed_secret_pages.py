"""The card and conversation forms ask whether the fact is kept from the guardians (OSL 12 kap.
3 §): answered yes, the guardian's pages never show it, nor who read it; anything but an
explicit yes or no is shown again as a problem, and nothing is appended."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from hub.runtime.bootstrap import Runtime
from tests.factories import GUARDIAN_1_PNR, staff
from tests.web.conftest import post_sign_in
from tests.web.test_staff_pages import browser, card_form, hidden, register, with_barnkontakt

VIEW = "Vill ha en vuxen på rasten"
NEEDS, CONVERSATIONS = "Behov", "Samtal"
"""How the guardian's "who has seen" names what a unit's reads showed: the card's needs, the conversations."""


def conversation_form(secret: str | None) -> dict[str, Any]:
    form: dict[str, Any] = {"with_whom": "child", "age_group": "10-12", "view_trygghet": VIEW, "summary": "Barnsamtal"}
    if secret is not None:
        form["withheld_from_guardians"] = secret
    return form


def file_card(rt: Runtime, child_id: UUID, secret: str | None) -> tuple[int, Any]:
    """The log's length once the form is open (opening it records a read), and the answer to sending it."""
    teacher = browser(rt, "larare.ostra")
    try:
        form = teacher.get(f"/staff/cards/new?child_id={child_id}")
        data = {**hidden(form.text), **card_form(child_id)}
        data.pop("withheld_from_guardians")
        if secret is not None:
            data["withheld_from_guardians"] = secret
        return rt.hub.log_length(), teacher.post("/staff/cards/new", data=data, follow_redirects=False)
    finally:
        teacher.__exit__(None, None, None)


def hold_conversation(rt: Runtime, child_id: UUID, secret: str | None) -> tuple[int, Any]:
    """The log's length once the form is open, and the answer to sending it."""
    bk = browser(rt, "rektor.ostra")
    try:
        page = bk.get(f"/staff/children/{child_id}/conversation")
        before = rt.hub.log_length()
        return before, bk.post(
            f"/staff/children/{child_id}/conversation", data={**hidden(page.text), **conversation_form(secret)}, follow_redirects=False
        )
    finally:
        bk.__exit__(None, None, None)


def shown_to_readers(rt: Runtime, client: TestClient[Any], child_id: UUID) -> set[str]:
    """What the guardian's "who has seen" says the reads showed, over every unit and month it
    lists, after the filer read the record (nothing, where the log leaves that read out); the
    guardian's page of the child must answer too."""
    rt.hub.read_child(staff("rektor.ostra"), child_id, purpose="Förbereda samtalet")
    assert post_sign_in(client, kind="guardian", personnummer=GUARDIAN_1_PNR).status_code == 303
    assert client.get(f"/family/children/{child_id}").status_code == 200
    log = client.get(f"/family/children/{child_id}/access-log")
    assert log.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", log.text))
    shown = re.findall(r"Vad som visades\s*:\s*(.*?)\s*\.", text)
    # a read that may have touched a secret is left out whole (consent.policy.family_sees_read)
    return {category.strip() for line in shown for category in line.split(",")}


def test_the_card_form_asks_whether_the_card_is_kept_from_the_guardians(rt: Runtime) -> None:
    child_id = register(rt)
    teacher = browser(rt, "larare.ostra")
    try:
        form = teacher.get(f"/staff/cards/new?child_id={child_id}")
    finally:
        teacher.__exit__(None, None, None)
    assert 'name="withheld_from_guardians" value="yes"' in form.text
    assert 'name="withheld_from_guardians" value="no"' in form.text


@pytest.mark.parametrize("secret", ["no", "yes"])
def test_a_card_filed_secret_through_the_form_never_reaches_the_guardians_pages(
    rt: Runtime, client: TestClient[Any], secret: str
) -> None:
    child_id = with_barnkontakt(rt)

    _, sent = file_card(rt, child_id, secret)

    assert sent.status_code == 303, sent.text
    assert (NEEDS in shown_to_readers(rt, client, child_id)) is (secret == "no")


@pytest.mark.parametrize("secret", ["no", "yes"])
def test_a_conversation_held_secret_through_the_form_never_reaches_the_guardians_pages(
    rt: Runtime, client: TestClient[Any], secret: str
) -> None:
    child_id = with_barnkontakt(rt)

    _, held = hold_conversation(rt, child_id, secret)

    assert held.status_code == 303, held.text
    assert (CONVERSATIONS in shown_to_readers(rt, client, child_id)) is (secret == "no")


@pytest.mark.parametrize("value", [None, "", "true", "ja", "on"])
@pytest.mark.parametrize("form", ["card", "conversation"])
def test_a_form_without_an_explicit_yes_or_no_to_secrecy_is_shown_again_and_nothing_is_appended(
    rt: Runtime, form: str, value: str | None
) -> None:
    child_id = with_barnkontakt(rt)

    before, r = file_card(rt, child_id, value) if form == "card" else hold_conversation(rt, child_id, value)

    assert r.status_code == 422, r.text
    assert 'id="withheld_from_guardians-error"' in r.text
    assert rt.hub.log_length() == before
