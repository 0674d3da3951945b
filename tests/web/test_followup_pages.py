"""Uppföljning: the staff and the administrator see the evaluation's figures per term as
tables and charts and take them away as CSV with the same numbers; a guardian does not."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from litestar.testing import TestClient

from hub.runtime.bootstrap import Runtime
from tests.conftest import register_child
from tests.factories import GUARDIAN_1_PNR, TENANT, card_payload, conversation_payload, staff
from tests.web.conftest import post_sign_in

BK = "rektor.ostra"


def sign_in(client: TestClient[Any], **form: str) -> None:
    response = post_sign_in(client, **form)
    assert response.status_code == 303, response.text


def some_work(rt: Runtime) -> None:
    hub = rt.hub
    child = register_child(rt)
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload("guardian"))
    hub.decide_team(staff(BK), child, decision="own_support", family_informed=True)
    hub.record_home_visit(staff("sjukskoterska.bvc"), child, visit=3)


def test_the_administrator_sees_each_figure_of_the_term_and_downloads_the_same_numbers(rt: Runtime, client: TestClient[Any]) -> None:
    """By default the page and the file are publishable: the spring's 1 and 2 cards are ".."
    (counts 1-2 point at a family); the administrator's unsuppressed view shows them."""
    some_work(rt)
    expected = {
        (r.term, r.figure, r.key): r.count
        for r in rt.hub.term_figures(staff("admin.ystad"), TENANT, unsuppressed=True).rows
        if r.count
    }
    assert expected[("2026 vt", "discovery_cards", "external")] == 2
    sign_in(client, kind="staff", user="admin.ystad")

    published = client.get("/follow-up", headers={"Accept-Language": "sv"}).text
    cards = published[published.index('id="discovery-cards"'):published.index('id="child-conversations"')]
    assert re.search(r'<th scope="row">Interna</th>\s*<td class="num"><abbr[^>]*>\.\.</abbr></td>', cards)
    assert re.search(r'<th scope="row">Externa</th>\s*<td class="num"><abbr[^>]*>\.\.</abbr></td>', cards)
    assert "2026 vt, Externa: 2" not in cards and "2026 vt, Externa: .." in cards
    assert {r["count"] for r in csv.DictReader(io.StringIO(client.get("/follow-up.csv").text))} <= {"..", "0"}

    page = client.get("/follow-up?unsuppressed=true", headers={"Accept-Language": "sv"})
    assert page.status_code == 200
    html = page.text
    assert "<h1>Uppföljning" in html
    assert '<th scope="col" class="num">2026 vt</th>' in html
    cards = html[html.index('id="discovery-cards"'):html.index('id="child-conversations"')]
    assert re.search(r'<th scope="row">Interna</th>\s*<td class="num">1</td>', cards)
    assert re.search(r'<th scope="row">Externa</th>\s*<td class="num">2</td>', cards)
    assert "<svg role=\"img\"" in cards and "2026 vt, Externa: 2" in cards  # the chart's text equivalent
    visits = html[html.index('id="home-visits"'):]
    assert re.search(r"Besök 3: Att vara tillsammans</th>\s*<td class=\"num\">1</td>", visits)

    download = client.get("/follow-up.csv?unsuppressed=true")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    got = {(r["term"], r["figure"], r["key"]): int(r["count"]) for r in rows}
    assert {k: v for k, v in got.items() if v} == expected
    assert all(r["tenant"] == TENANT for r in rows)
    assert got[("2026 vt", "needs_met", "")] == 0  # every figure of the term is a row, counted or not


def test_a_member_of_staff_sees_the_figures_too(rt: Runtime, client: TestClient[Any]) -> None:
    some_work(rt)
    sign_in(client, kind="staff", user="larare.ostra")
    page = client.get("/follow-up?lang=en")
    assert page.status_code == 200
    assert "2026 spring (vt)" in page.text


def test_a_guardian_is_refused_the_figures_and_the_file(rt: Runtime, client: TestClient[Any]) -> None:
    some_work(rt)
    sign_in(client, kind="guardian", personnummer=GUARDIAN_1_PNR)
    page = client.get("/follow-up")
    assert page.status_code == 403
    assert "discovery-cards" not in page.text
    assert client.get("/follow-up.csv").status_code == 403


def test_without_a_session_the_figures_send_you_to_sign_in(client: TestClient[Any]) -> None:
    response = client.get("/follow-up.csv", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=/follow-up.csv")
