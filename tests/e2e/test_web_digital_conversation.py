"""The digital conversation in a real headless Chromium: the Barnkontakt makes a link and a
code for Alva, Alva types the code on her own phone without signing in and answers the
questions for her age, and the Barnkontakt sees the invitation answered and the answers in
the record. A used code, typed again, gets the plain answer. Every page is screenshotted
and checked with axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import register_child
from tests.e2e.browser import ServedHub, Shots, new_page, serve
from tests.factories import card_payload, staff

ANSWER = "Jag vill ha någon att vara med på rasten"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ServedHub]:
    served = serve(tmp_path / "data")
    yield served
    served.close()


def test_a_child_answers_the_digital_conversation_on_a_phone(hub: ServedHub, browser: Browser) -> None:
    shots = Shots("digital-conversation")
    rt = hub.runtime
    child_id = register_child(rt)
    rt.hub.submit_discovery_card(staff("polis.ystad"), child_id, **card_payload())  # type: ignore[arg-type]
    rt.hub.assign_barnkontakt(staff("rektor.ostra"), child_id, staff_id="rektor.ostra")  # type: ignore[arg-type]

    # The Barnkontakt, from the conversation page, makes a link and a code for the child.
    bk = new_page(browser)
    bk.goto(hub.url + "/sign-in")
    bk.get_by_role("button", name="Rektor Ostra").click()
    bk.goto(f"{hub.url}/staff/children/{child_id}/conversation")
    bk.get_by_role("link", name="Skicka digitalt samtal").click()
    expect(bk.get_by_role("heading", level=1)).to_have_text("Digitalt samtal")
    expect(bk.get_by_label("Åldersgrupp för frågorna")).to_have_value("10-12")
    bk.get_by_label("barnet", exact=True).check()
    bk.get_by_role("group", name="Ska svaren hållas hemliga för vårdnadshavarna och barnet (OSL 12 kap. 3 §)?").get_by_label("Nej").check()
    shots.visit(bk, "invite-form")
    bk.get_by_role("button", name="Skapa länk och kod").click()
    expect(bk.get_by_role("heading", level=1)).to_have_text("Länken och koden")
    code = bk.locator("#survey-code").inner_text()
    assert len(code) == 11 and code[5] == "-"
    shots.visit(bk, "link-and-code")

    # Alva, on her own phone, never signed in, types the code as she heard it.
    alva = new_page(browser, phone=True)
    alva.goto(hub.url + "/samtal")
    expect(alva.get_by_role("heading", level=1)).to_have_text("Frågor inför ditt samtal")
    shots.visit(alva, "phone-code")
    alva.get_by_label("Kod").fill(code.lower().replace("-", " "))
    alva.get_by_role("button", name="Fortsätt").click()
    expect(alva.get_by_role("heading", level=1)).to_have_text("Hej Alva!")
    expect(alva.get_by_text("Lind")).to_have_count(0)
    width = alva.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the questions fit the phone's width"
    alva.get_by_label("Vilka är dina kompisar, och vilka är viktiga för dig?").fill(ANSWER)
    shots.visit(alva, "phone-questions")
    alva.get_by_role("button", name="Skicka mina svar").click()
    expect(alva.get_by_role("heading", level=1)).to_have_text("Tack för dina svar!")
    shots.visit(alva, "phone-thanks")

    # The code works once.
    alva.goto(hub.url + "/samtal")
    alva.get_by_label("Kod").fill(code)
    alva.get_by_role("button", name="Fortsätt").click()
    expect(alva.get_by_role("alert")).to_contain_text("Koden eller länken fungerar inte")
    shots.visit(alva, "phone-code-used")

    # The Barnkontakt sees the invitation answered, and the answers on the child's page.
    bk.get_by_role("link", name="Tillbaka till digitalt samtal").click()
    expect(bk.locator(".invitation")).to_contain_text("Besvarad")
    shots.visit(bk, "invitation-answered")
    bk.goto(f"{hub.url}/staff/children/{child_id}")
    expect(bk.get_by_text(ANSWER)).to_be_visible()
