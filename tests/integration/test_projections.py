"""The views on SQLite files: they survive a crash, count each fact once, never decide
alone, and keep the Barnkontakt's case list honest."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from hub.application import Views
from hub.application.readmodels import CaseRow
from hub.errors import NoBasisError
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.follower import LogFollower, ViewStalledError
from hub.runtime.settings import Settings
from projections.accesslog import AccessLogView
from projections.caselist import CaseListView
from projections.record import ChildRecordView
from tests.conftest import family
from tests.crashes import Crash, Fault, crash_on_nth_write, fail_on_position
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    NON_CUSTODIAL_PNR,
    card_payload,
    conversation_payload,
    directory,
    plan_payload,
    staff,
)

BK = "rektor.ostra"
OTHER_CHILD_PNR = "201103202386"
VIEW_FILES = ("record.sqlite", "cases.sqlite", "access.sqlite")


@pytest.fixture
def rt(clock: SettableClock, tmp_path: Path) -> Iterator[Runtime]:
    runtime = bootstrap(Settings(store="sqlite", data_dir=tmp_path / "data", demo_mode=True), clock=clock, directory=directory())
    yield runtime
    runtime.close()


def register(rt: Runtime, pnr: str = CHILD_PNR) -> UUID:
    return rt.hub.register_child(
        staff("larare.ostra"), personnummer=pnr, given_name="Alva", family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
            {"name": "Carl Berg", "personnummer": NON_CUSTODIAL_PNR, "has_custody": False},
        ],
    )


def busy_log(rt: Runtime, clock: SettableClock) -> None:
    """Two children, every kind of fact the views handle, reads in between."""
    hub = rt.hub
    first = register(rt)
    second = register(rt, OTHER_CHILD_PNR)
    g1, g2 = family(rt, GUARDIAN_1_PNR), family(rt, GUARDIAN_2_PNR)
    for child in (first, second):
        card = hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload()).card_id
        hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
        hub.send_feedback(staff(BK), child, card_id=card, message="Barnsamtal bokat")
        hub.hold_conversation(staff(BK), child, **conversation_payload("child"))
        hub.hold_conversation(staff(BK), child, **conversation_payload("guardian"))
        consent = hub.request_consent(
            staff(BK), child, recipients=[{"unit_kind": "bup"}, {"unit_id": "soc-ystad"}],
            categories=["needs", "conversations", "plan"], purpose="Individuellt barnteam",
        )
        hub.grant_consent(g1, child, consent)
        hub.grant_consent(g2, child, consent)
        hub.read_child(staff("bup.ystad"), child, purpose="Förbereda barnteam")
        clock.advance(timedelta(days=3))
    hub.file_concern_report(
        staff("forskola.solen"), first, to_unit_id="soc-ystad",
        unmet_needs=[{"area": "omvardad", "statements": [], "note": "Hämtas sent"}], description="Oro",
    )
    hub.decide_team(staff(BK), first, decision="individual_team", family_informed=True, member_unit_ids=["elevhalsa-ostra", "soc-ystad"])
    hub.submit_rating(staff("kurator.ostra"), first, scores=[{"area": "trygghet", "indicator": "trygghet-hemma", "score": 2}])
    hub.hold_team_meeting(staff(BK), first, participant_unit_ids=["elevhalsa-ostra", "soc-ystad"])
    hub.assign_support_coordinator(staff(BK), first, staff_id="kurator.ostra")
    hub.update_plan(staff(BK), first, **plan_payload(hub.now().date()))
    hub.share_agency_summary(staff("socsek.ystad"), first, social_services="Insats pågår")
    (summary,) = hub.read_child(staff("socsek.ystad"), first, purpose="Insats").of_type("AgencySummaryShared")
    hub.withhold_information(staff("socsek.ystad"), first, event_ids=[summary.event_id], reason="Skada för barnet")
    clock.advance(timedelta(days=20))
    hub.complete_plan_action(staff("kurator.ostra"), first, action_id="a2")
    hub.read_child(g1, first, purpose="Se mitt barn")
    hub.family_access_log(g1, first)
    hub.case_list(staff(BK))
    hub.decide_team(staff(BK), second, decision="own_support", family_informed=True)
    hub.record_needs_met(staff(BK), second, follow_up_compass=[{"area": "trygghet", "score": 4}])


def fresh_views(folder: Path) -> Views:
    folder.mkdir(parents=True, exist_ok=True)
    views = Views(*(cls(str(folder / name)) for cls, name in zip((ChildRecordView, CaseListView, AccessLogView), VIEW_FILES, strict=True)))
    for view in (views.record, views.cases, views.access):
        view.create_table()
    return views


def dump(folder: Path) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Every row of every table of the views in ``folder``, in a stable order (but when
    each version was last marked in use, which is the wall clock's)."""
    out: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for name in VIEW_FILES:
        with sqlite3.connect(folder / name) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            tables.remove("view_builds")
            out[name] = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}  # noqa: S608
    return out


def test_views_killed_mid_batch_and_restarted_end_as_views_that_never_stopped(
    rt: Runtime, clock: SettableClock, tmp_path: Path
) -> None:
    busy_log(rt, clock)
    rt.hub.refresh_views()
    total = rt.hub.log_length()
    page = 7
    assert total > 4 * page

    reference = fresh_views(tmp_path / "reference")
    LogFollower(rt.hub, reference.projections(), batch=500).catch_up()
    reference.close()

    # First process: the record view dies inside the write of its second page, its rows
    # written and not committed; the process dies with it (the other views, which write
    # beside it, may or may not have committed that page).
    crashed = fresh_views(tmp_path / "crashed")
    crash_on_nth_write(crashed.record, 2)
    with pytest.raises(Crash):
        LogFollower(rt.hub, crashed.projections(), batch=page).catch_up()
    assert crashed.record.max_tracking_id(rt.hub.name) == page
    assert crashed.cases.max_tracking_id(rt.hub.name) in (page, 2 * page)
    crashed.close()

    # Second process on the same files dies the same way, one page further on.
    crashed = fresh_views(tmp_path / "crashed")
    crash_on_nth_write(crashed.record, 2)
    with pytest.raises(Crash):
        LogFollower(rt.hub, crashed.projections(), batch=page).catch_up()
    assert crashed.record.max_tracking_id(rt.hub.name) == 2 * page
    crashed.close()
    assert dump(tmp_path / "crashed") != dump(tmp_path / "reference")

    # Third process goes through.
    crashed = fresh_views(tmp_path / "crashed")
    LogFollower(rt.hub, crashed.projections(), batch=page).catch_up()
    for view in (crashed.record, crashed.cases, crashed.access):
        assert view.max_tracking_id(rt.hub.name) == total
    crashed.close()

    assert dump(tmp_path / "crashed") == dump(tmp_path / "reference")


def test_a_view_that_cannot_apply_a_fact_stops_just_before_it_while_the_others_go_on(
    rt: Runtime, clock: SettableClock, tmp_path: Path
) -> None:
    busy_log(rt, clock)
    total = rt.hub.log_length()
    bad = total // 3 + 2

    reference = fresh_views(tmp_path / "reference")
    LogFollower(rt.hub, reference.projections()).catch_up()
    reference.close()

    views = fresh_views(tmp_path / "views")
    projections = views.projections()
    fail_on_position(projections[0], bad)
    with pytest.raises(ViewStalledError) as stalled:
        LogFollower(rt.hub, projections).catch_up()
    assert isinstance(stalled.value.__cause__, Fault)
    assert views.record.max_tracking_id(rt.hub.name) == bad - 1
    assert views.cases.max_tracking_id(rt.hub.name) == total
    assert views.access.max_tracking_id(rt.hub.name) == total
    views.close()

    views = fresh_views(tmp_path / "views")
    LogFollower(rt.hub, views.projections()).catch_up()
    assert views.record.max_tracking_id(rt.hub.name) == total
    views.close()
    assert dump(tmp_path / "views") == dump(tmp_path / "reference")


def test_a_crash_inside_a_write_leaves_neither_its_rows_nor_its_position(rt: Runtime, tmp_path: Path) -> None:
    child = register(rt)
    views = fresh_views(tmp_path / "views")
    crash_on_nth_write(views.record, 1)
    record_only = [p for p in views.projections() if p.view is views.record]
    with pytest.raises(Crash):
        LogFollower(rt.hub, record_only).catch_up()
    assert views.record.items(child) == []
    assert views.record.children_of_guardian("ystad", rt.hub.child_facts(staff(BK), child).guardians[0].guardian_id) == []
    assert views.record.max_tracking_id(rt.hub.name) is None
    views.close()


class ForgetfulFollower(LogFollower):
    """A follower that has lost its place and delivers the whole log again."""

    def position(self, projection: Any) -> int:
        return 0


def test_redelivering_the_whole_log_changes_no_row(rt: Runtime, clock: SettableClock, tmp_path: Path) -> None:
    busy_log(rt, clock)
    data = tmp_path / "data"
    rt.hub.follower.catch_up()
    before = {name: dump_file(data / f"view_{name}.sqlite") for name in ("child_record", "case_list", "access_log")}
    assert ForgetfulFollower(rt.hub, rt.hub.views.projections()).catch_up() == rt.hub.log_length()
    after = {name: dump_file(data / f"view_{name}.sqlite") for name in ("child_record", "case_list", "access_log")}
    assert after == before


def test_an_event_already_tracked_is_refused_by_each_view(rt: Runtime, clock: SettableClock) -> None:
    busy_log(rt, clock)
    hub = rt.hub
    hub.refresh_views()
    for notification in hub.recorder.select_notifications(1, hub.log_length()):
        event = hub.mapper.to_domain_event(notification)
        for projection in hub.views.projections():
            with pytest.raises(IntegrityError):
                projection.process_event(event, Tracking(hub.name, notification.id))


def dump_file(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}  # noqa: S608


# -- consent is decided on the log, not on the view ----------------------------------------


def test_withdrawal_takes_effect_on_the_next_read_even_when_the_views_lag(rt: Runtime) -> None:
    hub = rt.hub
    child = register(rt)
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    consent = hub.request_consent(
        staff(BK), child, recipients=[{"unit_id": "bup-ystad"}], categories=["conversations"], purpose="Samordning"
    )
    g1, g2 = family(rt, GUARDIAN_1_PNR), family(rt, GUARDIAN_2_PNR)
    hub.grant_consent(g1, child, consent)
    hub.grant_consent(g2, child, consent)
    seen = hub.read_child(staff("bup.ystad"), child, purpose="Förbereda möte").items
    assert [i.type for i in seen] == ["ConversationHeld"]

    hub.follower.stop()
    hub.follower.catch_up = lambda *args, **kwargs: 0  # the views stop following the log
    hub.withdraw_consent(g2, child, consent)
    assert (hub.views.record.max_tracking_id(hub.name) or 0) < hub.log_length()
    assert "backa.v1.ConsentWithdrawn" not in {i.event_type for i in hub.views.record.items(child)}

    with pytest.raises(NoBasisError):
        hub.read_child(staff("bup.ystad"), child, purpose="Förbereda möte")
    with pytest.raises(NoBasisError):
        hub.timeline(staff("bup.ystad"), child, purpose="Förbereda möte")


def test_a_consent_that_expires_ends_on_the_next_read_without_any_new_fact(rt: Runtime, clock: SettableClock) -> None:
    hub = rt.hub
    child = register(rt)
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    consent = hub.request_consent(
        staff(BK), child, recipients=[{"unit_kind": "bup"}], categories=["conversations"], purpose="Samordning",
        valid_until=hub.now() + timedelta(days=30),
    )
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child, consent)
    clock.advance(timedelta(days=30) - timedelta(seconds=1))
    assert hub.read_child(staff("bup.ystad"), child, purpose="Möte").items
    clock.advance(timedelta(seconds=1))
    with pytest.raises(NoBasisError):
        hub.read_child(staff("bup.ystad"), child, purpose="Möte")


# -- the case list ---------------------------------------------------------------------------


def row(rt: Runtime, child: UUID, user: str = BK) -> CaseRow:
    (found,) = [r for r in rt.hub.case_list(staff(user)) if r.child_id == child]
    return found


def test_a_new_card_to_a_unit_with_no_barnkontakt_is_flagged_as_new_and_without_next_step(rt: Runtime) -> None:
    child = register(rt)
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    flags = row(rt, child)
    assert flags.new_cards == 1
    assert flags.awaiting_feedback == 1
    assert flags.barnkontakt_staff_id is None
    assert flags.no_next_step is True


def test_a_card_is_taken_up_when_the_barnkontakt_is_assigned_and_answered_by_feedback(rt: Runtime) -> None:
    child = register(rt)
    card = rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra")).card_id
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    flags = row(rt, child)
    assert (flags.new_cards, flags.awaiting_feedback, flags.no_next_step) == (0, 1, False)
    rt.hub.send_feedback(staff(BK), child, card_id=card, message="Vi har tagit emot kortet")
    assert row(rt, child).awaiting_feedback == 0


def test_the_case_list_holds_only_the_units_own_children(rt: Runtime) -> None:
    child = register(rt)
    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    assert rt.hub.case_list(staff("sjukskoterska.bvc")) == []


def test_a_plan_action_is_overdue_the_day_after_it_was_due_until_completed(rt: Runtime, clock: SettableClock) -> None:
    hub = rt.hub
    child = register(rt)
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    hub.decide_team(staff(BK), child, decision="individual_team", family_informed=True, member_unit_ids=["elevhalsa-ostra"])
    start = hub.now().date()
    hub.update_plan(staff(BK), child, **plan_payload(start))  # a1 due in 14 days, a2 in 30
    clock.advance(timedelta(days=14))
    flags = row(rt, child)
    assert flags.overdue_actions == 0
    assert flags.next_step_due == start + timedelta(days=14)
    clock.advance(timedelta(days=1))
    flags = row(rt, child)
    assert flags.overdue_actions == 1
    assert flags.next_step_due == start + timedelta(days=30)
    hub.complete_plan_action(staff(BK), child, action_id="a1")
    assert row(rt, child).overdue_actions == 0


def test_a_case_with_no_dated_next_step_has_no_next_step_after_thirty_idle_days(rt: Runtime, clock: SettableClock) -> None:
    hub = rt.hub
    child = register(rt)
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    clock.advance(timedelta(days=20))
    hub.read_child(staff(BK), child, purpose="Läsa in mig")  # reading is not acting on the case
    clock.advance(timedelta(days=10))
    assert row(rt, child).no_next_step is False
    clock.advance(timedelta(days=1))
    assert row(rt, child).no_next_step is True
    hub.hold_conversation(staff(BK), child, **conversation_payload("guardian"))
    assert row(rt, child).no_next_step is False


def test_a_case_with_a_dated_follow_up_is_not_stalled_until_the_date_passes(rt: Runtime, clock: SettableClock) -> None:
    hub = rt.hub
    child = register(rt)
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    hub.decide_team(staff(BK), child, decision="individual_team", family_informed=True, member_unit_ids=["elevhalsa-ostra"])
    plan = plan_payload(hub.now().date())
    plan["actions"] = []
    hub.update_plan(staff(BK), child, **plan)  # next follow-up in 60 days
    clock.advance(timedelta(days=60))
    flags = row(rt, child)
    assert flags.no_next_step is False
    assert flags.next_step_due == hub.now().date()
    clock.advance(timedelta(days=1))
    assert row(rt, child).no_next_step is True


def test_a_closed_case_is_never_flagged(rt: Runtime, clock: SettableClock) -> None:
    hub = rt.hub
    child = register(rt)
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    hub.decide_team(staff(BK), child, decision="own_support", family_informed=True)
    hub.record_needs_met(staff(BK), child, follow_up_compass=[{"area": "trygghet", "score": 4}])
    clock.advance(timedelta(days=200))
    flags = row(rt, child)
    assert flags.closed is True
    assert flags.no_next_step is False
