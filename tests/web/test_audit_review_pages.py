"""The auditor's pages for a cooperation area in use: a child found by name or personnummer
(and the search recorded where the family sees it), reads one page at a time, people and
children by name, the rules in Swedish, and a Barnkontakt who opens her case list of
twenty children not flagged as a burst."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from litestar.testing import TestClient

from hub.demo.planner import make_personnummer
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.conftest import register_child
from tests.factories import CHILD_PNR, GUARDIAN_1_PNR, card_payload, staff
from tests.web.conftest import post_sign_in

BK = "rektor.ostra"
AUDITOR = "granskare.ystad"


def sign_in(client: TestClient[Any], user: str) -> None:
    assert post_sign_in(client, kind="staff", user=user).status_code == 303


def advance(rt: Runtime, **delta: float) -> None:
    assert isinstance(rt.hub.clock, SettableClock)
    rt.hub.clock.advance(timedelta(**delta))


def at_hour(rt: Runtime, hour: int, minute: int = 0) -> None:
    """The same day, at ``hour``:``minute`` UTC."""
    clock = rt.hub.clock
    assert isinstance(clock, SettableClock)
    clock.set(clock.now.replace(hour=hour, minute=minute))


def main(page: Any) -> str:
    """The page's main part as a reader sees it: its text, without the tags (forms carry ids in hidden fields)."""
    return re.sub(r"<[^>]+>", " ", page.text[page.text.index("<main"):])


def alva_read(rt: Runtime, times: int = 1) -> UUID:
    child = UUID(str(register_child(rt)))
    rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    for _ in range(times):
        rt.hub.read_child(staff(BK), child, purpose="Förbereda barnsamtalet", view="unit_view")
        advance(rt, minutes=1)
    return child


def school_children(rt: Runtime, count: int) -> list[UUID]:
    """``count`` children with a card to the school and its principal as their Barnkontakt."""
    out = []
    for n in range(count):
        pnr = make_personnummer(date(2016, 1 + n % 12, 1 + n // 12), 980 + n % 20)
        child = UUID(str(rt.hub.register_child(
            staff("larare.ostra"), personnummer=pnr, given_name=f"Barn{n}", family_name="Skolgård",
            guardians=[{"name": f"Förälder {n}", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
        )))
        rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())
        rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    return out


def test_a_child_is_found_by_name_and_by_personnummer_and_shown_by_name(rt: Runtime, client: TestClient[Any]) -> None:
    child = alva_read(rt)
    sign_in(client, AUDITOR)
    by_name = client.get("/audit", params={"child": "alva"})
    by_number = client.get("/audit", params={"child": CHILD_PNR[:8] + "-" + CHILD_PNR[8:]})
    for page in (by_name, by_number):
        assert page.status_code == 200
        text = main(page)
        assert "Förbereda barnsamtalet" in text and "Alva Lind" in text
        assert "Rektor Ostra" in text and "Skola Ostra" in text
        assert str(child) not in text and "rektor.ostra ·" not in text
    nobody = client.get("/audit", params={"child": "Ingen Alls"})
    assert nobody.status_code == 422 and "Inget barn i samverkansområdet har det namnet" in nobody.text


def test_the_search_by_name_is_recorded_where_the_family_sees_it(rt: Runtime, client: TestClient[Any]) -> None:
    child = alva_read(rt)
    sign_in(client, AUDITOR)
    client.get("/audit", params={"child": "Alva Lind"})
    rt.hub.refresh_views()
    searches = [e for e in rt.hub.views.access.search("ystad", child_id=child) if e.view == "audit_child_search"]
    assert [(e.accessor_id, e.purpose) for e in searches] == [(AUDITOR, "loggkontroll: sökning på namn")]
    assert "Alva" not in searches[0].purpose


def test_several_children_of_a_name_are_offered_to_choose_from(rt: Runtime, client: TestClient[Any]) -> None:
    school_children(rt, 3)
    sign_in(client, AUDITOR)
    page = client.get("/audit", params={"child": "skolgård"})
    assert "Flera barn passar: välj ett" in page.text
    assert page.text.count("Skolgård</a>") == 3
    assert "född " in page.text


def test_the_reads_come_a_page_at_a_time(rt: Runtime, client: TestClient[Any]) -> None:
    alva_read(rt, times=30)
    sign_in(client, AUDITOR)
    first = client.get("/audit", params={"child": "Alva", "accessor_id": BK})
    assert "Läsningar som hittades: 1–25" in first.text
    assert first.text.count('class="entry"') == 25
    following = re.search(r'href="([^"]+)" rel="next">Nästa sida', first.text)
    assert following is not None
    second = client.get(following.group(1).replace("&amp;", "&"))
    assert "Läsningar som hittades: 26–30" in second.text
    assert second.text.count('class="entry"') == 5
    assert 'rel="prev">Föregående sida' in second.text and 'rel="next"' not in second.text


def test_a_bad_page_number_is_named_and_nothing_else_is_done(rt: Runtime, client: TestClient[Any]) -> None:
    alva_read(rt)
    sign_in(client, AUDITOR)
    page = client.get("/audit", params={"child": "Alva", "page": "-3"})
    assert page.status_code == 422 and "Ange ett sidnummer från 1 till" in page.text


def test_the_rules_are_worded_in_swedish_and_the_review_names_people(rt: Runtime, client: TestClient[Any]) -> None:
    child = alva_read(rt)
    advance(rt, days=5)  # Saturday night: 2026-03-07 22.30 in Sweden
    at_hour(rt, 21, 30)
    rt.hub.read_child(staff(BK), child, purpose="Sen läsning", view="unit_view")
    advance(rt, days=1)
    sign_in(client, AUDITOR)
    page = client.get("/audit/review")
    text = main(page)
    assert "Ovanlig tid" in text and "Läsningen gjordes på natten eller en helg." in text
    assert "Swedish time" not in text and "read at" not in text and "read on a" not in text
    assert "Rektor Ostra" in text and "Alva Lind" in text and str(child) not in text


def test_opening_the_case_list_with_twenty_children_flags_nobody(rt: Runtime, client: TestClient[Any]) -> None:
    school_children(rt, 22)
    advance(rt, hours=1)
    rt.hub.case_list(staff(BK), purpose="Barnkontakt: case list")
    advance(rt, hours=1)
    flagged = rt.hub.flagged_accesses(staff(AUDITOR))
    assert not [e for e in flagged.entries if any(f.rule.value == "burst" for f in e.flags)]
    sign_in(client, AUDITOR)
    assert "Många läsningar i följd" not in client.get("/audit/review").text


def test_the_flagged_reads_come_a_page_at_a_time(rt: Runtime, client: TestClient[Any]) -> None:
    child = alva_read(rt)
    at_hour(rt, 23)
    for _ in range(30):
        rt.hub.read_child(staff(BK), child, purpose="Nattläsning", view="unit_view")
        advance(rt, seconds=30)
    advance(rt, hours=10)
    sign_in(client, AUDITOR)
    page = client.get("/audit/review", params={"size": "1"})
    assert "Flaggade läsningar 1–25 av" in page.text
    following = re.search(r'href="([^"]+)" rel="next">Nästa sida', page.text)
    assert following is not None
    second = client.get(following.group(1).replace("&amp;", "&"))
    assert "Flaggade läsningar 26–" in second.text


def test_only_an_auditor_gets_the_pages(rt: Runtime, client: TestClient[Any]) -> None:
    alva_read(rt)
    sign_in(client, BK)
    for path in ("/audit?child=Alva", "/audit/review", "/audit/reviews"):
        page = client.get(path)
        assert page.status_code == 403 and "Alva" not in main(page)


def test_a_read_after_the_flagged_list_was_drawn_is_flagged_on_the_next_visit(rt: Runtime) -> None:
    """The rules' run is kept while the log is unchanged, and only then."""
    child = alva_read(rt)
    auditor = staff(AUDITOR)
    before = rt.hub.flagged_accesses(auditor)
    again = rt.hub.flagged_accesses(auditor)
    assert again.total == before.total
    at_hour(rt, 23)  # midnight in Sweden
    rt.hub.read_child(staff(BK), child, purpose="Nattläsning", view="unit_view")
    advance(rt, hours=1)
    after = rt.hub.flagged_accesses(auditor)
    assert after.total == before.total + 1
    assert any(e.purpose == "Nattläsning" for e in after.entries)
