"""The evaluation's figures per term come from the facts alone: they match what was done,
term by term in Swedish time, whether kept while the log grows or rebuilt from scratch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from hub.application.readmodels import TermFigures
from hub.errors import NotPermittedError
from hub.identity.directory import Directory, disclosure_rule
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.follower import LogFollower
from hub.runtime.settings import Settings
from projections.figures import TermFiguresProjection, TermFiguresView
from tests.conftest import family, register_child
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    START,
    TENANT,
    card_payload,
    conversation_payload,
    directory,
    plan_payload,
    staff,
)

BK = "rektor.ostra"
SECOND_CHILD_PNR = "201103202386"
Key = tuple[str, str, str]


@pytest.fixture
def rt(clock: SettableClock, tmp_path: Path) -> Iterator[Runtime]:
    runtime = bootstrap(Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True), clock=clock, directory=directory())
    yield runtime
    runtime.close()


def register(rt: Runtime, pnr: str) -> UUID:
    return rt.hub.register_child(
        staff("larare.ostra"), personnummer=pnr, given_name="Alva", family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )


def run_process(rt: Runtime, clock: SettableClock) -> Counter[Key]:
    """Two children through the process over two terms; returns what was done, tallied
    by the test as it acts: (term, figure, key) -> how many."""
    hub, done = rt.hub, Counter[Key]()
    first, second = register(rt, CHILD_PNR), register(rt, SECOND_CHILD_PNR)

    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))  # spring term
    hub.submit_discovery_card(staff("polis.ystad"), first, **card_payload())  # the police: another organisation
    hub.submit_discovery_card(staff("larare.ostra"), first, **card_payload())  # the school's own teacher
    hub.submit_discovery_card(staff("larare.ostra"), second, **card_payload())
    done.update({("2026 vt", "discovery_cards", "external"): 1, ("2026 vt", "discovery_cards", "internal"): 2})
    for child in (first, second):
        hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
        hub.hold_conversation(staff(BK), child, **conversation_payload("child"))
        done[("2026 vt", "child_conversations", "child")] += 1
    hub.hold_conversation(staff(BK), first, **conversation_payload("guardian"))
    done[("2026 vt", "child_conversations", "guardian")] += 1
    hub.read_child(staff(BK), first, purpose="Barnkontakt: case page")  # a read counts for nothing
    hub.decide_team(staff(BK), first, decision="barnteam", family_informed=True, member_unit_ids=["elevhalsa-ostra"])
    hub.decide_team(staff(BK), second, decision="own_support", family_informed=True)
    done.update({("2026 vt", "decisions", "barnteam"): 1, ("2026 vt", "decisions", "own_support"): 1})
    for _ in range(2):
        hub.submit_rating(staff("kurator.ostra"), first, scores=[{"area": "trygghet", "indicator": "trygghet-hemma", "score": 2}])
        hub.hold_team_meeting(staff(BK), first, participant_unit_ids=["elevhalsa-ostra"])
    done.update({("2026 vt", "barnteam_meetings", ""): 2, ("2026 vt", "barnteam_children", ""): 1, ("2026 vt", "joint_compasses", ""): 2})

    # 22:30 UTC on 30 June is half past midnight on 1 July in Sweden: the autumn term.
    clock.set(datetime(2026, 6, 30, 22, 30, tzinfo=UTC))
    hub.submit_discovery_card(staff("polis.ystad"), second, **card_payload())
    done[("2026 ht", "discovery_cards", "external")] += 1
    hub.hold_follow_up(staff(BK), first, summary="Bättre på rasten")
    done[("2026 ht", "follow_up_conversations", "")] += 1
    hub.decide_team(staff(BK), first, decision="individual_team", family_informed=True, member_unit_ids=["elevhalsa-ostra", "soc-ystad"])
    done.update({("2026 ht", "decisions", "individual_team"): 1, ("2026 ht", "individual_teams", ""): 1})
    hub.assign_support_coordinator(staff(BK), first, staff_id="kurator.ostra")
    hub.update_plan(staff(BK), first, **plan_payload(hub.now().date()))
    hub.complete_plan_action(staff("kurator.ostra"), first, action_id="a2")
    done[("2026 ht", "individual_teams_with_plan", "")] += 1  # one child, however often its plan is worked on
    hub.record_needs_met(staff(BK), second, follow_up_compass=[{"area": "trygghet", "score": 4}])
    done[("2026 ht", "needs_met", "")] += 1
    for child, visit in ((second, 1), (second, 2), (first, 1)):
        hub.record_home_visit(staff("sjukskoterska.bvc"), child, visit=visit)
        done[("2026 ht", "home_visits", str(visit))] += 1
    return done


def as_counter(figures: TermFigures) -> Counter[Key]:
    return Counter({(r.term, r.figure, r.key): r.count for r in figures.rows})


def test_the_figures_per_term_are_what_the_process_did_counted_in_swedish_time(rt: Runtime, clock: SettableClock) -> None:
    done = run_process(rt, clock)
    # the counting itself, before disclosure control hides its small counts: the administrator's view
    figures = rt.hub.term_figures(staff("admin.ystad"), TENANT, unsuppressed=True)
    assert figures.terms == ["2026 vt", "2026 ht"]
    assert as_counter(figures) == done
    publishable = rt.hub.term_figures(staff("admin.ystad"), TENANT)
    assert rt.hub.term_figures(staff("rektor.ostra"), TENANT) == publishable


def test_the_figures_rebuilt_from_the_log_equal_the_ones_kept_while_it_grew(
    rt: Runtime, clock: SettableClock, tmp_path: Path
) -> None:
    """Whole log in one page or in pages of three facts: the same counts as the live view."""
    run_process(rt, clock)
    rt.hub.refresh_views()
    live = rt.hub.views.figures
    assert live is not None
    for batch, name in ((500, "one_page.sqlite"), (3, "small_pages.sqlite")):
        rebuilt = TermFiguresView(str(tmp_path / name))
        rebuilt.create_table()
        LogFollower(rt.hub, [TermFiguresProjection(rebuilt)], batch=batch).catch_up()
        assert rebuilt.max_tracking_id(rt.hub.name) == rt.hub.log_length()
        assert rebuilt.counts(TENANT) == live.counts(TENANT)
        assert rebuilt.counts(TENANT)  # not trivially equal
        rebuilt.close()


def test_only_the_areas_staff_and_administrator_see_its_figures(rt: Runtime, clock: SettableClock) -> None:
    run_process(rt, clock)
    for outsider in (family(rt, GUARDIAN_1_PNR), staff("granskare.ystad"), staff("rektor.lidingo", "lidingo")):
        with pytest.raises(NotPermittedError):
            rt.hub.term_figures(outsider, TENANT)
    assert rt.hub.term_figures(staff("rektor.lidingo", "lidingo"), "lidingo").rows == []


def test_an_erased_childs_part_leaves_the_figures_as_a_rebuild_would_count_them(tmp_path: Path) -> None:
    """Live and rebuilt figures agree after an erasure: the erased child's cards are no longer counted."""
    clock = SettableClock(START)
    settings = Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True)
    rt = bootstrap(settings, clock=clock, directory=directory())
    try:
        child = register_child(rt)
        rt.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload("skola-ostra"))
        other = rt.hub.register_child(
            staff("larare.ostra"), personnummer=SECOND_CHILD_PNR, given_name="Elis", family_name="Berg", guardians=[]
        )
        rt.hub.submit_discovery_card(staff("larare.ostra"), other, **card_payload("skola-ostra"))
        # the counts before disclosure control, so that one child's part shows (the administrator's view)
        before = rt.hub.term_figures(staff("admin.ystad"), TENANT, unsuppressed=True).rows
        assert sum(r.count or 0 for r in before if r.figure == "discovery_cards") == 2

        rt.hub.erase_child(staff("admin.ystad"), child, reason="Registrerad av misstag")
        rt.hub.refresh_views()
        live = rt.hub.term_figures(staff("admin.ystad"), TENANT, unsuppressed=True).rows
    finally:
        rt.close()
    assert sum(r.count or 0 for r in live if r.figure == "discovery_cards") == 1

    (settings.data_dir / "view_term_figures.sqlite").unlink()
    again = bootstrap(settings, clock=clock, directory=directory())
    try:
        again.hub.refresh_views()
        assert again.hub.term_figures(staff("admin.ystad"), TENANT, unsuppressed=True).rows == live
    finally:
        again.close()


def test_an_area_that_sets_its_own_rule_has_its_figures_published_by_it(clock: SettableClock, tmp_path: Path) -> None:
    """``"disclosure"`` in the area's entry travels with the area into the directory's log
    (``AreaOpened``) and decides what its figures publish: a threshold of 0 hides nothing,
    rounding to 5 shows 2 cards as 0."""
    for rule, shown in (({"threshold": 0}, 2), ({"threshold": 0, "rounding": 5}, 0), ({}, None)):
        seed = directory().to_json()
        for area in seed["tenants"]:
            if area["tenant_id"] == TENANT and rule:
                area["disclosure"] = rule
        settings = Settings(store="sqlite", data_dir=tmp_path / str(len(rule)), demo_mode=True)
        rt = bootstrap(settings, clock=clock, directory=Directory.from_json(seed))
        try:
            child = register_child(rt)
            rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
            rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
            counts = {(r.term, r.figure, r.key): r.count for r in rt.hub.term_figures(staff("larare.ostra"), TENANT).rows}
            assert counts[("2026 vt", "discovery_cards", "external")] == shown, rule
            assert rt.hub.directory.tenants[TENANT].disclosure == disclosure_rule(rule or None)
        finally:
            rt.close()


def test_a_wrong_disclosure_entry_is_refused_naming_its_field() -> None:
    seed = directory().to_json()
    seed["tenants"][0]["disclosure"] = {"threshold": 2, "rounding": 2}
    with pytest.raises(ValueError, match="rounding"):
        Directory.from_json(seed)
