"""The log and the views in PostgreSQL: each fact counts once in every view, whatever
stops and starts, and a hub started again on the same database carries on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from psycopg import sql

from hub.application import Views
from hub.errors import OutOfOrderError
from hub.runtime.bootstrap import PostgresConfig, Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.follower import LogFollower
from hub.runtime.settings import Settings
from projections.accesslog import AccessLogView
from projections.caselist import CaseListView
from projections.record import ChildRecordView
from tests.conftest import POSTGRES_URL, family, postgres_url
from tests.crashes import Crash, crash_on_nth_write
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    card_payload,
    conversation_payload,
    directory,
    plan_payload,
    staff,
)

BK = "rektor.ostra"
OTHER_CHILD_PNR = "201103202386"


def settings(schema: str, data_dir: Path) -> Settings:
    return Settings(database_url=postgres_url(schema), data_dir=data_dir, demo_mode=True)


@pytest.fixture
def rt(pg_schema: str, clock: SettableClock, tmp_path: Path) -> Iterator[Runtime]:
    runtime = bootstrap(settings(pg_schema, tmp_path / "data"), clock=clock, directory=directory())
    yield runtime
    runtime.close()


def register(rt: Runtime, pnr: str = CHILD_PNR) -> UUID:
    return rt.hub.register_child(
        staff("larare.ostra"), personnummer=pnr, given_name="Alva", family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )


def busy_log(rt: Runtime, clock: SettableClock) -> list[UUID]:
    """Two children, each kind of fact the views handle, and reads in between."""
    hub = rt.hub
    children = [register(rt), register(rt, OTHER_CHILD_PNR)]
    g1, g2 = family(rt, GUARDIAN_1_PNR), family(rt, GUARDIAN_2_PNR)
    for child in children:
        card = hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload()).card_id
        hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
        hub.send_feedback(staff(BK), child, card_id=card, message="Barnsamtal bokat")
        hub.hold_conversation(staff(BK), child, **conversation_payload("child"))
        consent = hub.request_consent(
            staff(BK), child, recipients=[{"unit_kind": "bup"}], categories=["needs", "conversations", "plan"],
            purpose="Individuellt barnteam",
        )
        hub.grant_consent(g1, child, consent)
        hub.grant_consent(g2, child, consent)
        hub.read_child(staff("bup.ystad"), child, purpose="Förbereda barnteam")
        clock.advance(timedelta(days=2))
    first = children[0]
    hub.decide_team(staff(BK), first, decision="individual_team", family_informed=True, member_unit_ids=["elevhalsa-ostra", "soc-ystad"])
    hub.update_plan(staff(BK), first, **plan_payload(hub.now().date()))
    hub.share_agency_summary(staff("socsek.ystad"), first, social_services="Insats pågår")
    (summary,) = hub.read_child(staff("socsek.ystad"), first, purpose="Insats").of_type("AgencySummaryShared")
    hub.withhold_information(staff("socsek.ystad"), first, event_ids=[summary.event_id], reason="Skada för barnet")
    hub.complete_plan_action(staff(BK), first, action_id="a1")
    hub.family_access_log(g1, first)
    hub.case_list(staff(BK))
    return children


def views_in(schema: str) -> Views:
    database = PostgresConfig.from_url(postgres_url(schema)).views()
    database.create_schema()
    views = Views(ChildRecordView(database), CaseListView(database), AccessLogView(database))
    for view in (views.record, views.cases, views.access):
        view.create_table()
    return views


def dump(schema: str) -> dict[str, list[str]]:
    """Every row of every table in ``schema``, in a stable order (but when each view's
    version was last marked in use, which moves with every start)."""
    with psycopg.connect(POSTGRES_URL) as db:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY table_name", (schema,)
            )
            if r[0] != "view_builds"
        ]
        return {
            t: sorted(repr(r) for r in db.execute(sql.SQL("SELECT * FROM {0}.{1}").format(sql.Identifier(schema), sql.Identifier(t))))
            for t in tables
        }


def crash_before_nth_page(projection: Any, n: int) -> None:
    """Make the projection die as it takes its n-th page of facts, before it writes anything."""
    original = projection.process_page
    calls = {"count": 0}

    def process_page(*args: Any, **kwargs: Any) -> None:
        calls["count"] += 1
        if calls["count"] == n:
            raise Crash
        original(*args, **kwargs)

    projection.process_page = process_page


def test_views_killed_mid_batch_and_restarted_end_with_the_rows_of_views_that_never_stopped(
    rt: Runtime, clock: SettableClock, pg_schemas: Callable[[], str]
) -> None:
    (_, second) = busy_log(rt, clock)
    rt.hub.refresh_views()
    total = rt.hub.log_length()
    assert [n.id for n in rt.hub.recorder.select_notifications(1, total)] == list(range(1, total + 1))
    (card_at,) = [
        n.id for n in rt.hub.recorder.select_notifications(1, total)
        if n.topic.endswith("DiscoveryCardSubmitted") and n.originator_id == second
    ]
    batch = 4
    card_page = (card_at - 1) // batch + 1
    later_page = card_page + 2
    assert later_page * batch < total
    assert (card_at - 1) % batch  # the card is not the first fact of its page

    reference_schema = pg_schemas()
    reference = views_in(reference_schema)
    LogFollower(rt.hub, reference.projections(), batch=500).catch_up()
    reference.close()

    # First process: the case list dies inside the write of the page holding the second
    # child's card, the card already in its document, before the commit.
    crashed_schema = pg_schemas()
    crashed = views_in(crashed_schema)
    crash_on_nth_write(crashed.cases, card_page)
    with pytest.raises(Crash):
        LogFollower(rt.hub, crashed.projections(), batch=batch).catch_up()
    assert crashed.cases.max_tracking_id(rt.hub.name) == (card_page - 1) * batch
    assert (crashed.cases.document(second) or {"cards": []})["cards"] == []
    crashed.close()

    # Second process on the same schema: the case list dies again as it takes a later
    # page, this time before writing anything.
    crashed = views_in(crashed_schema)
    projections = crashed.projections()
    case_list = next(p for p in projections if p.view is crashed.cases)
    crash_before_nth_page(case_list, later_page - card_page + 1)
    with pytest.raises(Crash):
        LogFollower(rt.hub, projections, batch=batch).catch_up()
    assert crashed.cases.max_tracking_id(rt.hub.name) == (later_page - 1) * batch
    assert len(crashed.cases.document(second)["cards"]) == 1  # type: ignore[index]
    crashed.close()
    assert dump(crashed_schema) != dump(reference_schema)

    # Third process goes through.
    crashed = views_in(crashed_schema)
    LogFollower(rt.hub, crashed.projections(), batch=batch).catch_up()
    for view in (crashed.record, crashed.cases, crashed.access):
        assert view.max_tracking_id(rt.hub.name) == total
    crashed.close()

    assert dump(crashed_schema) == dump(reference_schema)


def test_a_page_is_not_applied_over_a_part_another_follower_wrote_meanwhile(
    rt: Runtime, clock: SettableClock, pg_schemas: Callable[[], str]
) -> None:
    """Two followers on one schema: the slow one reads a page; before it writes, the quick
    one writes the same facts in smaller pages. The compare-and-set on the position
    refuses the slow one's page; it learns where the view is and each fact counts once."""
    busy_log(rt, clock)
    rt.hub.refresh_views()
    total = rt.hub.log_length()
    reference_schema = pg_schemas()
    reference = views_in(reference_schema)
    LogFollower(rt.hub, reference.projections()).catch_up()
    reference.close()

    schema = pg_schemas()
    views = views_in(schema)
    first_part = [(n.id, rt.hub.mapper.to_domain_event(n).fact) for n in rt.hub.recorder.select_notifications(1, 12)]
    slow_projections = views.projections()
    case_list = next(p for p in slow_projections if p.view is views.cases)
    original = case_list.process_page
    overtaken = {"pages": 0}

    def overtaken_first(*args: Any, **kwargs: Any) -> None:
        if overtaken["pages"] == 0:
            overtaken["pages"] += 1
            # the other follower writes the first 12 facts while this one prepares its page
            other = next(p for p in views.projections() if p.view is views.cases)
            other.process_page(first_part, Tracking(rt.hub.name, 12), after=0)
        original(*args, **kwargs)

    case_list.process_page = overtaken_first  # type: ignore[method-assign]
    LogFollower(rt.hub, slow_projections, batch=30).catch_up()
    assert overtaken["pages"] == 1
    for view in (views.record, views.cases, views.access):
        assert view.max_tracking_id(rt.hub.name) == total
    views.close()
    assert dump(schema) == dump(reference_schema)


def test_an_event_a_view_already_holds_is_refused_and_its_rows_roll_back(rt: Runtime, clock: SettableClock) -> None:
    (first, _) = busy_log(rt, clock)
    hub = rt.hub
    hub.refresh_views()
    cards_before = hub.views.cases.document(first)["cards"]  # type: ignore[index]
    items_before = record_rows(rt, first)
    (card_fact,) = [
        n for n in hub.recorder.select_notifications(1, hub.log_length())
        if n.topic.endswith("DiscoveryCardSubmitted") and n.originator_id == first
    ]
    event = hub.mapper.to_domain_event(card_fact)
    for projection in hub.views.projections():
        with pytest.raises(IntegrityError):
            projection.process_event(event, Tracking(hub.name, card_fact.id))
    assert hub.views.cases.document(first)["cards"] == cards_before  # type: ignore[index]
    assert record_rows(rt, first) == items_before


def record_rows(rt: Runtime, child: UUID) -> list[tuple[Any, ...]]:
    return [(i.position, i.event_id, i.category, i.withheld_from_guardians, i.fields) for i in rt.hub.views.record.items(child)]


def test_a_hub_started_again_on_the_same_database_sees_every_child_and_carries_on(
    pg_schema: str, clock: SettableClock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    first_run = bootstrap(settings(pg_schema, data), clock=clock, directory=directory())
    children = busy_log(first_run, clock)
    before = first_run.hub.case_list(staff(BK))
    first_run.hub.follower.catch_up()
    length = first_run.hub.log_length()
    first_run.close()
    rows = dump(pg_schema)

    second_run = bootstrap(settings(pg_schema, data), clock=clock, directory=directory())
    try:
        hub = second_run.hub
        assert hub.log_length() == length
        assert dump(pg_schema) == rows  # the views as they were: nothing rebuilt, nothing applied twice
        assert hub.case_list(staff(BK)) == before
        guardian = family(second_run, GUARDIAN_1_PNR)
        assert {c.child_id for c in hub.family_children(guardian)} == set(children)

        card = hub.submit_discovery_card(staff("forskola.solen"), children[1], **card_payload()).card_id
        (row,) = [r for r in hub.case_list(staff(BK)) if r.child_id == children[1]]
        assert row.awaiting_feedback == 1
        hub.send_feedback(staff(BK), children[1], card_id=card, message="Tack, vi hör av oss")
        (row,) = [r for r in hub.case_list(staff(BK)) if r.child_id == children[1]]
        assert row.awaiting_feedback == 0
        assert hub.log_length() > length
    finally:
        second_run.close()


def test_two_hubs_on_one_database_keep_one_set_of_views_with_each_fact_once(
    pg_schema: str, clock: SettableClock, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    one = bootstrap(settings(pg_schema, data), clock=clock, directory=directory())
    two = bootstrap(settings(pg_schema, data), clock=clock, directory=directory())
    try:
        first, second = register(one), register(two, OTHER_CHILD_PNR)
        rounds = 6
        errors: list[BaseException] = []

        def work(rt: Runtime, child: UUID) -> None:
            try:
                for _ in range(rounds):
                    rt.hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload())
                    rt.hub.read_child(staff("polis.ystad"), child, purpose="Egen anmälan")
            except BaseException as e:  # noqa: BLE001 - reported by the test below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(one, first)), threading.Thread(target=work, args=(two, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        for rt in (one, two):
            rt.hub.follower.catch_up()

        total = one.hub.log_length()
        assert total == 2 + 2 * rounds * 2
        for view in (one.hub.views.record, one.hub.views.cases, one.hub.views.access):
            assert view.max_tracking_id(one.hub.name) == total
        for child in (first, second):
            assert len(one.hub.views.cases.document(child)["cards"]) == rounds  # type: ignore[index]
            assert len(one.hub.views.access.search("ystad", child_id=child)) == rounds
            cards = [i for i in one.hub.views.record.items(child) if i.event_type.endswith("DiscoveryCardSubmitted")]
            assert len({i.event_id for i in cards}) == rounds
    finally:
        one.close()
        two.close()


def test_a_store_asked_for_by_name_wins_over_the_database_url(pg_schema: str, clock: SettableClock, tmp_path: Path) -> None:
    """``backa demo`` asks for SQLite: a database URL left in the environment must not receive the demo."""
    demo = Settings(store="sqlite", database_url=postgres_url(pg_schema), data_dir=tmp_path / "data", demo_mode=True)
    rt = bootstrap(demo, clock=clock, directory=directory())
    try:
        register(rt)
    finally:
        rt.close()
    assert (tmp_path / "data" / "events.sqlite").exists()
    assert dump(pg_schema) == {}


@pytest.mark.parametrize(
    "url",
    [
        "mysql://backa:hunter2@db.example/backa",
        "postgresql://backa:hunter2@db.example:port/backa",
        "postgresql://backa:hunter2@db.example/",
        "postgresql://backa:hunter2@db.example/backa?pool_size=many",
        "postgresql://backa:hunter2@db.example/backa?sslmode=require",
    ],
)
def test_a_bad_database_url_is_refused_at_start_without_echoing_the_password(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="database URL") as refused:
        bootstrap(Settings(database_url=url, data_dir=tmp_path / "data"))
    assert "hunter2" not in str(refused.value)


def test_a_command_in_one_hub_is_decided_on_what_another_hub_appended_meanwhile(
    pg_schema: str, clock: SettableClock, tmp_path: Path
) -> None:
    """A hub keeps the children it worked on in memory and starts a command from there.
    When another hub has appended to the child since, the append conflicts and the command
    is decided again on the child as stored: here it is refused, as the step is done."""
    data = tmp_path / "data"
    one = bootstrap(settings(pg_schema, data), clock=clock, directory=directory())
    two = bootstrap(settings(pg_schema, data), clock=clock, directory=directory())
    try:
        child = register(one)
        one.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
        one.hub.hold_conversation(staff(BK), child, **conversation_payload())
        one.hub.decide_team(staff(BK), child, decision="own_support", family_informed=True)
        two.hub.record_needs_met(staff(BK), child, follow_up_compass=[{"area": "trygghet", "score": 4}])

        with pytest.raises(OutOfOrderError):
            one.hub.record_needs_met(staff(BK), child, follow_up_compass=[{"area": "trygghet", "score": 5}])
        stored = [n.topic for n in one.hub.recorder.select_notifications(1, one.hub.log_length())]
        assert stored.count("backa.v1.NeedsMet") == 1

        # and the hub that was behind now works from the child as stored
        one.hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload())  # a new card opens the closed case
        stored = [n.topic for n in two.hub.recorder.select_notifications(1, two.hub.log_length())]
        assert stored[-3:] == ["backa.v1.NeedsMet", "backa.v1.CaseClosed", "backa.v1.DiscoveryCardSubmitted"]
    finally:
        one.close()
        two.close()
