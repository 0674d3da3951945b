"""The case list page: "Mina barn" and "Min enhets barn", one row per child, who does what
next by when, the groups that need action, filters, and a search that is recorded as reads
and shows nothing of another unit's or area's children."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from hub.demo import make_personnummer
from hub.http import create_app
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from hub.web.filters import format_day
from tests.conftest import family
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, STAFF, TENANT, card_payload, conversation_payload, directory, staff
from tests.web.conftest import BASE_URL, post_sign_in

BK, TEACHER, COORDINATOR = "rektor.ostra", "larare.ostra", "kurator.ostra"


def browser(rt: Runtime, user: str) -> TestClient[Any]:
    client = TestClient(create_app(rt), base_url=BASE_URL)
    client.__enter__()
    r = post_sign_in(client, kind="staff", user=user)
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
def clients(rt: Runtime) -> Iterator[dict[str, TestClient[Any]]]:
    opened: dict[str, TestClient[Any]] = {}

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, user: str) -> TestClient[Any]:
            self[user] = opened[user] = browser(rt, user)
            return opened[user]

    yield Lazy()
    for c in opened.values():
        c.__exit__(None, None, None)


def child(rt: Runtime, n: int, given_name: str, family_name: str = "Lind") -> UUID:
    return rt.hub.register_child(
        staff(TEACHER), personnummer=number(n), given_name=given_name, family_name=family_name,
        guardians=[{"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
                   {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True}],
    )


def number(n: int) -> str:
    return make_personnummer(date(2016, 1, 1) + timedelta(days=n), 980 + n)


def carded(rt: Runtime, n: int, given_name: str) -> UUID:
    """A child a teacher sent a card about to her own school."""
    child_id = child(rt, n, given_name)
    rt.hub.submit_discovery_card(staff(TEACHER), child_id, **card_payload("skola-ostra"))
    return child_id


def taken_up(rt: Runtime, n: int, given_name: str, *, feedback: bool = True) -> UUID:
    child_id = carded(rt, n, given_name)
    rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)
    if feedback:
        (card,) = [c for c in rt.hub.cards_sent_by(staff(TEACHER)) if c.child_id == child_id]
        rt.hub.send_feedback(staff(BK), child_id, card_id=card.card_id, message="Vi har tagit emot kortet")
    return child_id


def with_coordinator(rt: Runtime, n: int, given_name: str) -> UUID:
    """Decided on an individual team with pupil health's kurator as coordinator; no plan yet."""
    child_id = taken_up(rt, n, given_name)
    rt.hub.hold_conversation(staff(BK), child_id, **conversation_payload())
    rt.hub.decide_team(staff(BK), child_id, decision="individual_team", family_informed=True,
                       member_unit_ids=["skola-ostra", "elevhalsa-ostra"])
    rt.hub.assign_support_coordinator(staff(BK), child_id, staff_id=COORDINATOR)
    return child_id


def planned(rt: Runtime, n: int, given_name: str, *, due_in: int = 14) -> UUID:
    child_id = with_coordinator(rt, n, given_name)
    today = rt.hub.now().date()
    rt.hub.update_plan(
        staff(BK), child_id, goals=[{"area": "trygghet", "goal": "Trygg på rasten"}],
        actions=[{"action_id": "rast", "what": "Rastvärd varje dag", "unit_id": "skola-ostra",
                  "responsible_person": "Rektor Ostra", "due": today + timedelta(days=due_in)}],
        child_view="", guardian_view="", next_follow_up=None,
    )
    return child_id


def consented(rt: Runtime, n: int, given_name: str, *, days: int) -> tuple[UUID, UUID]:
    child_id = taken_up(rt, n, given_name)
    consent = rt.hub.request_consent(
        staff(BK), child_id, recipients=[{"unit_id": "elevhalsa-ostra"}], categories=["needs"],
        purpose="Stöd i skolan", valid_until=rt.hub.now() + timedelta(days=days),
    )
    for pnr in (GUARDIAN_1_PNR, GUARDIAN_2_PNR):
        rt.hub.grant_consent(family(rt, pnr), child_id, consent)
    return child_id, consent


def rows_of(html: str) -> list[str]:
    """The children's links in the list, in order."""
    return re.findall(r'<th scope="row"><a href="/staff/children/([0-9a-f-]+)"', html)


def listed(client: TestClient[Any], query: str = "") -> list[UUID]:
    page = client.get("/staff" + query)
    assert page.status_code == 200, page.text
    return [UUID(i) for i in rows_of(page.text)]


def test_a_case_with_a_decision_a_coordinator_and_no_dated_step_is_on_its_barnkontakts_and_coordinators_lists(
    rt: Runtime, clients: dict[str, TestClient[Any]], clock: SettableClock
) -> None:
    """The coordinator just appointed finds the child at once, and so does the Barnkontakt,
    with the step owed worded as who does what; a month later with nothing done it is in
    "no next step"."""
    child_id = with_coordinator(rt, 1, "Alva")
    clock.set(clock() + timedelta(days=2))  # active within the month, no dated step
    for user in (BK, COORDINATOR):
        assert listed(clients[user]) == [child_id], user
        assert listed(clients[user], "?scope=unit") == [child_id], user
    page = clients[COORDINATOR].get("/staff").text
    assert "Kurator Ostra (Elevhalsa Ostra) ska upprätta Barnets plan" in page
    clock.set(clock() + timedelta(days=30))  # a month with nothing done, and signed in again
    for user in (BK, COORDINATOR):
        again = browser(rt, user)
        assert listed(again, "?group=no_next_step") == [child_id], user
        again.__exit__(None, None, None)


def test_a_plan_without_an_open_action_or_follow_up_asks_its_coordinator_for_the_next_step(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    child_id = planned(rt, 1, "Alva")
    rt.hub.complete_plan_action(staff(BK), child_id, action_id="rast")
    page = clients[BK].get("/staff?group=no_next_step").text
    assert rows_of(page) == [str(child_id)]
    assert "Kurator Ostra (Elevhalsa Ostra) ska bestämma nästa steg i planen" in page


def test_each_child_has_one_row_whatever_groups_it_is_in(
    rt: Runtime, clients: dict[str, TestClient[Any]], clock: SettableClock
) -> None:
    """A child with an overdue action and a new card is one row, with both groups named."""
    child_id = planned(rt, 1, "Alva", due_in=3)
    clock.set(clock() + timedelta(days=10))
    rt.hub.submit_discovery_card(staff(TEACHER), child_id, **card_payload("skola-ostra"))
    page = clients[BK].get("/staff").text
    assert rows_of(page) == [str(child_id)]
    row = page.split(f'/staff/children/{child_id}"')[1].split("</tr>")[0]
    assert "Försenade insatser" in row and "Nya Upptäckarkort" in row
    assert "Försenat" in row, "the next step is the overdue action, marked late"
    assert "Rektor Ostra (Skola Ostra): Rastvärd varje dag, senast" in row


def test_the_next_step_says_who_gives_feedback_to_whom_by_when(rt: Runtime, clients: dict[str, TestClient[Any]]) -> None:
    taken_up(rt, 1, "Alva", feedback=False)
    due = format_day(rt.hub.now().date() + timedelta(days=14), "long", "sv")
    page = clients[BK].get("/staff?group=feedback_owed").text
    assert f"Rektor Ostra (Skola Ostra) ska ge återkoppling till Larare Ostra (Skola Ostra) senast {due}" in page


def test_each_group_holds_the_children_that_need_that_action(
    rt: Runtime, clients: dict[str, TestClient[Any]], clock: SettableClock
) -> None:
    stalled = taken_up(rt, 6, "Stilla")  # the Barnkontakt's decision owed, then nothing for a month
    clock.set(clock() + timedelta(days=31))
    late = planned(rt, 3, "Sen", due_in=2)
    clock.set(clock() + timedelta(days=5))
    new = carded(rt, 1, "Nya")
    owed = taken_up(rt, 2, "Vantar", feedback=False)
    expiring, _ = consented(rt, 4, "Utgar", days=20)
    withdrawn, consent = consented(rt, 5, "Aterkallad", days=200)
    rt.hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), withdrawn, consent)
    expected = {
        "new_cards": {new},
        "feedback_owed": {owed},
        "overdue_actions": {late},
        "consent_expiring": {expiring},
        "consent_withdrawn": {withdrawn},
    }
    unit = clients[BK]
    for group, children in expected.items():
        assert set(listed(unit, f"?scope=unit&group={group}")) == children, group
    assert stalled in listed(unit, "?scope=unit&group=no_next_step")
    assert late not in listed(unit, "?scope=unit&group=no_next_step"), "an overdue action is a next step, late"
    assert set(listed(unit, "?scope=unit")) == {new, owed, late, expiring, withdrawn, stalled}
    counts = unit.get("/staff?scope=unit").text
    assert re.search(r"Nya Upptäckarkort\s*<span class=\"count\">1</span>", counts)


def test_a_closed_case_leaves_the_open_list_for_the_closed_group(rt: Runtime, clients: dict[str, TestClient[Any]]) -> None:
    child_id = taken_up(rt, 1, "Alva")
    rt.hub.hold_conversation(staff(BK), child_id, **conversation_payload())
    rt.hub.decide_team(staff(BK), child_id, decision="own_support", family_informed=True)
    rt.hub.record_needs_met(staff(BK), child_id, follow_up_compass=[{"area": "trygghet", "score": 4}], summary="Klart")
    assert listed(clients[BK]) == []
    assert listed(clients[BK], "?group=closed") == [child_id]


def test_my_children_are_the_ones_i_hold_and_my_units_children_also_the_teams(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    """The coordinator's own list holds the child she coordinates; her unit's list also a
    child whose team her unit is in, coordinated by someone else."""
    mine = with_coordinator(rt, 1, "Alva")
    other = taken_up(rt, 2, "Bea")
    rt.hub.hold_conversation(staff(BK), other, **conversation_payload())
    rt.hub.decide_team(staff(BK), other, decision="barnteam", family_informed=True, member_unit_ids=["elevhalsa-ostra"])
    assert listed(clients[COORDINATOR]) == [mine]
    assert set(listed(clients[COORDINATOR], "?scope=unit")) == {mine, other}
    assert set(listed(clients[COORDINATOR], "?scope=unit&unit=skola-ostra")) == {mine, other}


def test_a_search_by_name_or_number_finds_the_child_and_is_recorded_as_a_read(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    alva = carded(rt, 1, "Alva")
    bea = carded(rt, 2, "Bea", )
    rt.hub.refresh_views()
    before = {e.event_id for e in rt.hub.audit_search(staff("granskare.ystad"), limit=10_000)}
    assert listed(clients[BK], "?q=alva+LIND") == [alva]
    pnr = number(2)
    assert listed(clients[BK], f"?q={pnr[2:8]}-{pnr[8:]}") == [bea], "a ten-digit number with its dash"
    assert listed(clients[BK], "?q=Cecilia") == []
    rt.hub.refresh_views()
    searches = [
        e for e in rt.hub.audit_search(staff("granskare.ystad"), limit=10_000)
        if e.event_id not in before and e.view == "case_search"
    ]
    assert sorted(e.child_id for e in searches) == sorted([alva, bea])
    assert all(e.accessor_id == BK and e.allowed for e in searches)
    assert not any(pnr in e.purpose or "alva" in e.purpose.casefold() for e in searches), "the query is not logged"


def test_another_unit_and_another_area_see_nothing_of_the_childrens_names_or_rows(
    rt: Runtime, clients: dict[str, TestClient[Any]]
) -> None:
    child_id = carded(rt, 1, "Alva")
    for user in ("sjukskoterska.bvc", "socsek.ystad"):
        for query in ("", "?scope=unit", "?q=Alva", f"?q={number(1)}", "?group=new_cards&scope=unit"):
            page = clients[user].get("/staff" + query)
            assert page.status_code == 200
            assert rows_of(page.text) == [] and "Alva Lind" not in page.text and str(child_id) not in page.text, (user, query)
    other_area = clients["rektor.lidingo"].get(f"/staff?scope=unit&q={number(1)}")
    assert other_area.status_code == 200
    assert rows_of(other_area.text) == [] and "Alva Lind" not in other_area.text


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("a" * 101, "Sökningen får vara högst 100 tecken."),
        ("x" * 60_000, "Sökningen får vara högst 100 tecken."),
        ("Alva\x00", "Sökningen får bara innehålla bokstäver, siffror och skiljetecken."),
        ("Al\u202eva", "Sökningen får bara innehålla bokstäver, siffror och skiljetecken."),
        ("1234", "Sök på minst 6 siffror av personnumret."),
    ],
)
def test_a_search_that_cannot_be_a_name_or_number_is_named_as_the_problem(
    rt: Runtime, clients: dict[str, TestClient[Any]], query: str, problem: str
) -> None:
    carded(rt, 1, "Alva")
    page = clients[BK].get("/staff", params={"q": query})
    assert page.status_code == 422
    assert problem in page.text
    assert rows_of(page.text) == []


@pytest.mark.parametrize(("name", "value"), [("group", "alla"), ("scope", "everyone"), ("unit", "skola-okand")])
def test_a_filter_that_is_not_offered_is_named_and_nothing_is_listed(
    rt: Runtime, clients: dict[str, TestClient[Any]], name: str, value: str
) -> None:
    carded(rt, 1, "Alva")
    page = clients[BK].get("/staff", params={name: value})
    assert page.status_code == 422 and "Välj " in page.text
    assert rows_of(page.text) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=300))
def test_any_search_text_answers_a_page_never_an_error(rt: Runtime, clients: dict[str, TestClient[Any]], query: str) -> None:
    page = clients[BK].get("/staff", params={"q": query, "group": "", "scope": "unit"})
    assert page.status_code in (200, 422), page.text[:500]
    assert "<h1>Ärenden</h1>" in page.text


@pytest.mark.parametrize(("days", "expiring"), [(30, True), (10, False)])
def test_the_setting_for_expiring_consent_decides_which_consents_show_as_expiring(
    clock: SettableClock, days: int, expiring: bool
) -> None:
    runtime = bootstrap(
        Settings(store="memory", demo_mode=True, case_list_consent_expiring_days=days), clock=clock, directory=directory()
    )
    try:
        child_id, _ = consented(runtime, 1, "Alva", days=20)
        client = browser(runtime, BK)
        assert (child_id in listed(client, "?group=consent_expiring")) is expiring
        client.__exit__(None, None, None)
    finally:
        runtime.close()


@pytest.mark.parametrize("days", [14, 3])
def test_the_setting_for_feedback_days_sets_when_feedback_is_due(clock: SettableClock, days: int) -> None:
    runtime = bootstrap(Settings(store="memory", demo_mode=True, case_list_feedback_days=days), clock=clock, directory=directory())
    try:
        taken_up(runtime, 1, "Alva", feedback=False)
        client = browser(runtime, BK)
        due = format_day(runtime.hub.now().date() + timedelta(days=days), "long", "sv")
        assert f"återkoppling till Larare Ostra (Skola Ostra) senast {due}" in client.get("/staff").text
        client.__exit__(None, None, None)
    finally:
        runtime.close()


def test_the_api_answers_the_same_list_with_its_scope_and_search(rt: Runtime) -> None:
    alva = taken_up(rt, 1, "Alva", feedback=False)
    carded(rt, 2, "Bea")
    assert rt.demo_issuer is not None
    unit, roles = STAFF[BK]
    token = rt.demo_issuer.staff_token(TENANT, BK, unit, sorted(r.value for r in roles))
    with TestClient(create_app(rt), base_url=BASE_URL) as api:
        headers = {"Authorization": f"Bearer {token}"}
        found = api.get("/api/v1/case-list", params={"scope": "mine", "q": "alva"}, headers=headers)
        assert found.status_code == 200, found.text
        (row,) = found.json()
        assert row["child_id"] == str(alva) and row["mine"] is True
        assert row["next_step"]["step"] == "feedback" and row["next_step"]["to_staff_id"] == TEACHER
        assert row["groups"] == ["feedback_owed"]
        assert len(api.get("/api/v1/case-list", headers=headers).json()) == 2
        too_long = api.get("/api/v1/case-list", params={"q": "a" * 101}, headers=headers)
        assert too_long.status_code in (400, 422)
        unknown = api.get("/api/v1/case-list", params={"scope": "everyone"}, headers=headers)
        assert unknown.status_code in (400, 422)
