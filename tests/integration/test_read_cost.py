"""A read of a child costs the same for a long record as for a new one, and still shows
only what the current facts allow.

Cost is counted, never timed: the record rows a read opens (decrypts and decodes) and
the child's facts it replays. A child's opened rows are kept in the process while the
view's head for the child says they are current; a withholding, a withdrawal, a fact
written by another process and an erasure each take effect on the next read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from hub.domain.child import Child
from hub.errors import HubError, RecordErasedError
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import family, postgres_url
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, card_payload, conversation_payload, directory, staff

BK = "rektor.ostra"
CONSENTED = ["identity", "needs", "conversations", "team", "plan"]


def personnummer(serial: int) -> str:
    digits = f"140310{serial:03d}"
    total = sum(v - 9 if v > 9 else v for v in (int(d) * (2 if n % 2 == 0 else 1) for n, d in enumerate(digits)))
    return f"20{digits}{(10 - total % 10) % 10}"


def a_child(rt: Runtime, serial: int) -> UUID:
    """A child discovered by her teacher, with the principal as Barnkontakt, consent from
    both guardians for pupil health and social services, and an individual team."""
    hub, bk = rt.hub, staff(BK)
    child = UUID(str(hub.register_child(
        staff("larare.ostra"), personnummer=personnummer(serial), given_name="Alva", family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Bo Lind", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
        ],
    )))
    hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(bk, child, staff_id=BK)
    hub.hold_conversation(bk, child, **conversation_payload())
    consent = hub.request_consent(
        bk, child, recipients=[{"unit_kind": "pupil_health"}, {"unit_id": "soc-ystad"}],
        categories=CONSENTED, purpose="Barnteam kring stödet i skolan",
    )
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child, consent)
    hub.decide_team(bk, child, decision="individual_team", family_informed=True,
                    member_unit_ids=["skola-ostra", "elevhalsa-ostra", "soc-ystad"])
    return child


def with_history(rt: Runtime, child: UUID, steps: int) -> None:
    """``steps`` more steps of the case (conversations and plan versions), and reads of it."""
    for n in range(steps):
        if n % 2:
            today = rt.hub.now().date()
            rt.hub.update_plan(
                staff(BK), child, goals=[{"area": "trygghet", "goal": f"Känna sig trygg på rasten ({n})"}],
                actions=[{"action_id": "rast", "what": "Rastvärd varje dag", "unit_id": "skola-ostra",
                          "responsible_person": "Rektor", "due": today + timedelta(days=14)}],
                child_view="Jag vill ha en vuxen på rasten", guardian_view="Vi vill veta hur det går", next_follow_up=None,
            )
        else:
            rt.hub.hold_conversation(staff(BK), child, **conversation_payload())
        rt.hub.read_child(staff("socsek.ystad"), child, purpose="uppföljning")


class Costs:
    """Counts what a read pays for: record rows opened, and facts of a child replayed."""

    def __init__(self, rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened = 0
        self.replayed = 0
        view = rt.hub.views.record
        real_open, real_apply = view.open, Child.apply

        def counting_open(text: str) -> Any:
            self.opened += 1
            return real_open(text)

        def counting_apply(child: Child, recorded: Any) -> None:
            self.replayed += 1
            real_apply(child, recorded)

        monkeypatch.setattr(view, "open", counting_open)
        monkeypatch.setattr(Child, "apply", counting_apply)

    def of(self, read: Any) -> tuple[int, int, Any]:
        opened, replayed = self.opened, self.replayed
        answer = read()
        return self.opened - opened, self.replayed - replayed, answer


def test_a_read_of_a_long_record_opens_and_replays_no_more_than_a_read_of_a_new_one(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    new, old = a_child(runtime, 1), a_child(runtime, 2)
    with_history(runtime, old, 60)
    reader = staff("socsek.ystad")
    for child in (new, old):
        runtime.hub.read_child(reader, child, purpose="uppföljning")  # the first read in this process opens the record
    costs = Costs(runtime, monkeypatch)

    new_opened, new_replayed, new_view = costs.of(lambda: runtime.hub.read_child(reader, new, purpose="uppföljning"))
    old_opened, old_replayed, old_view = costs.of(lambda: runtime.hub.read_child(reader, old, purpose="uppföljning"))

    assert len(old_view.items) >= len(new_view.items) + 60  # the long record is all there
    assert old_opened == new_opened
    assert old_replayed == new_replayed


def test_after_a_new_fact_a_read_opens_only_the_new_facts_rows(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    child = a_child(runtime, 3)
    with_history(runtime, child, 30)
    reader = staff("socsek.ystad")
    before = runtime.hub.read_child(reader, child, purpose="uppföljning")
    costs = Costs(runtime, monkeypatch)
    runtime.hub.hold_conversation(staff(BK), child, **conversation_payload())

    opened, _, after = costs.of(lambda: runtime.hub.read_child(reader, child, purpose="uppföljning"))

    added = len(after.items) - len(before.items)
    assert added >= 1
    assert opened == added
    assert [i.event_id for i in after.items[: len(before.items)]] == [i.event_id for i in before.items]


def test_with_no_children_kept_every_read_opens_the_whole_record_again(
    clock: SettableClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = []
    for kept in (1_000, 0):
        settings = Settings(store="sqlite", data_dir=tmp_path / str(kept), demo_mode=True, record_cache_children=kept)
        rt = bootstrap(settings, clock=clock, directory=directory())
        try:
            child = a_child(rt, 8)
            with_history(rt, child, 6)
            rt.hub.read_child(staff(BK), child, purpose="uppföljning")
            rows = len(rt.hub.views.record.items(child))
            costs = Costs(rt, monkeypatch)
            n, _, _ = costs.of(lambda: rt.hub.read_child(staff(BK), child, purpose="uppföljning"))  # noqa: B023
            opened.append((n, rows))
        finally:
            rt.close()
    (kept_opened, _), (none_opened, rows) = opened
    assert kept_opened == 0
    assert none_opened == rows > 0


def test_a_withdrawal_just_committed_is_honoured_by_the_next_read(runtime: Runtime) -> None:
    child = a_child(runtime, 4)
    with_history(runtime, child, 10)
    reader = staff("socsek.ystad")
    assert runtime.hub.read_child(reader, child, purpose="uppföljning").items  # kept in memory now
    consent = runtime.hub.consent_overview(family(runtime, GUARDIAN_2_PNR), child)[0].consent_id
    runtime.hub.withdraw_consent(family(runtime, GUARDIAN_2_PNR), child, consent)

    with pytest.raises(HubError):
        runtime.hub.read_child(reader, child, purpose="uppföljning")


def test_a_fact_withheld_after_the_record_was_kept_is_hidden_from_the_guardian_at_once(runtime: Runtime) -> None:
    child = a_child(runtime, 5)
    talk = runtime.hub.hold_conversation(staff(BK), child, **conversation_payload())
    guardian = family(runtime, GUARDIAN_1_PNR)
    seen = runtime.hub.read_child(guardian, child, purpose="mitt barn", view="family_view")
    assert talk.event_id in {i.event_id for i in seen.items}

    runtime.hub.withhold_information(staff(BK), child, event_ids=[talk.event_id], reason="Sekretess (OSL 12 kap. 3 §)")

    again = runtime.hub.read_child(guardian, child, purpose="mitt barn", view="family_view")
    assert talk.event_id not in {i.event_id for i in again.items}


def test_an_erased_child_leaves_nothing_opened_in_memory(runtime: Runtime) -> None:
    child = a_child(runtime, 6)
    with_history(runtime, child, 4)
    runtime.hub.read_child(staff(BK), child, purpose="uppföljning")
    assert runtime.hub.views.record.holds(child)

    runtime.hub.erase_child(staff("admin.ystad"), child, reason="Gallring")
    runtime.hub.refresh_views()

    assert not runtime.hub.views.record.holds(child)
    assert runtime.hub.views.record.items(child) == []
    with pytest.raises(RecordErasedError):
        runtime.hub.read_child(staff(BK), child, purpose="uppföljning")


def test_rows_a_read_opened_as_the_child_was_erased_are_not_kept(runtime: Runtime) -> None:
    child = a_child(runtime, 9)
    runtime.hub.refresh_views()
    view = runtime.hub.views.record
    view.items(child)
    assert view.holds(child)

    view.forget(child)  # what the erasure does in this process, before the view has followed it
    late = view.items(child)  # a read that was under way

    assert late and not view.holds(child)


@pytest.fixture(params=["sqlite", "postgres"])
def two_processes(request: pytest.FixtureRequest, clock: SettableClock, tmp_path: Path) -> Iterator[tuple[Runtime, Runtime]]:
    """Two runtimes on one data folder (SQLite) or one schema (PostgreSQL)."""
    data = tmp_path / "data"
    if request.param == "postgres":
        settings = Settings(database_url=postgres_url(request.getfixturevalue("pg_schema")), data_dir=data, demo_mode=True)
    else:
        settings = Settings(store="sqlite", data_dir=data, demo_mode=True)
    one = bootstrap(settings, clock=clock, directory=directory())
    two = bootstrap(settings, clock=clock, directory=directory())
    try:
        yield one, two
    finally:
        one.close()
        two.close()


def test_what_another_process_records_reaches_the_next_read_and_its_withdrawal_at_once(
    two_processes: tuple[Runtime, Runtime], clock: SettableClock
) -> None:
    a, b = two_processes
    child = a_child(a, 7)
    reader = staff("socsek.ystad")
    a.hub.read_child(reader, child, purpose="uppföljning")  # kept in a's memory

    talk = b.hub.hold_conversation(staff(BK), child, **conversation_payload())
    b.hub.refresh_views()
    assert talk.event_id in {i.event_id for i in a.hub.read_child(reader, child, purpose="uppföljning").items}

    clock.set(clock() + timedelta(minutes=1))
    consent = b.hub.consent_overview(family(b, GUARDIAN_1_PNR), child)[0].consent_id
    b.hub.withdraw_consent(family(b, GUARDIAN_1_PNR), child, consent)
    with pytest.raises(HubError):
        a.hub.read_child(reader, child, purpose="uppföljning")
