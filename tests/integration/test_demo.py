"""The demo: a small Ystad loaded through the hub's own commands shows every step of the process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from personnummer import personnummer

from consent import ConsentStatus, ViewerKind, age_on, consent_status
from contracts.events import (
    EVENT_TYPES,
    ChildRegistered,
    DiscoveryCardSubmitted,
    ErasedFact,
    Event,
    GuardianLinkChecked,
    RecordErased,
    TeamDecided,
)
from contracts.vocabulary import CardKind, Decision, RegisterAnswer, Role, UnitKind
from hub import demo
from hub.errors import ChildNotFoundError
from hub.identity.principals import Principal
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings

UNTIL = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CHILDREN = 12


@dataclass
class LoadedDemo:
    data_dir: Path
    summary: demo.DemoSummary
    progress: list[tuple[int, int]]
    runtime: Runtime
    facts: list[Event]

    def users(self) -> dict[str, dict[str, Any]]:
        return demo.demo_users(self.data_dir)

    def principal(self, user: str) -> Principal:
        token = demo.issue_demo_token(self.data_dir, user, audience=self.runtime.settings.audience, clock=self.runtime.hub.clock)
        return self.runtime.verifier.verify(token)


def _facts(rt: Runtime) -> list[Event]:
    """Every fact that still opens: the demo's one erased child's facts do not."""
    facts = [rt.hub.mapper.to_domain_event(n).fact for n in rt.hub.recorder.select_notifications(1, 100_000)]
    return [f for f in facts if not isinstance(f, ErasedFact)]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedDemo]:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    calls: list[tuple[int, int]] = []
    summary = demo.build_demo_data(
        Settings(data_dir=data_dir), children=CHILDREN, until=UNTIL, progress=lambda done, total: calls.append((done, total))
    )
    # served afterwards by a fresh runtime, as `backa demo` does; here with the clock at the load's end
    rt = bootstrap(Settings(data_dir=data_dir, demo_mode=True), clock=SettableClock(UNTIL))
    yield LoadedDemo(data_dir, summary, calls, rt, _facts(rt))
    rt.close()


def _of(facts: list[Event], kind: type[Event]) -> list[Any]:
    return [f for f in facts if isinstance(f, kind)]


def test_the_demo_writes_the_directory_and_its_users_into_the_data_folder(loaded: LoadedDemo) -> None:
    assert (loaded.data_dir / "directory.json").exists()
    assert demo.demo_ready(loaded.data_dir)
    tenant = loaded.runtime.hub.directory.tenants[demo.TENANT_ID]
    assert {u.kind for u in tenant.units.values()} == set(UnitKind)
    roles = [r for s in tenant.staff.values() for r in s.roles]
    for role in (Role.BARNKONTAKT, Role.SUPPORT_COORDINATOR, Role.TEAM_MEMBER, Role.DISCOVERER):
        assert roles.count(role) >= 3, role
    assert roles.count(Role.TENANT_ADMIN) == 1 and roles.count(Role.AUDITOR) == 1
    users = loaded.users()
    assert set(tenant.staff) <= set(users)
    assert any(u["kind"] == "guardian" for u in users.values()) and any(u["kind"] == "child" for u in users.values())


def test_every_published_fact_occurs_in_a_small_demo(loaded: LoadedDemo) -> None:
    assert {f.type_name for f in loaded.facts} == set(EVENT_TYPES)
    assert len(_of(loaded.facts, ChildRegistered)) == CHILDREN  # the child registered by mistake is erased
    erased = [n for n in loaded.runtime.hub.recorder.select_notifications(1, 100_000)
              if isinstance(loaded.runtime.hub.mapper.to_domain_event(n).fact, ErasedFact)]
    (erasure,) = _of(loaded.facts, RecordErased)
    assert [n.originator_id for n in erased] == [erasure.child_id] and erased[0].topic == ChildRegistered.type_name


def test_the_demo_s_guardians_with_custody_are_confirmed_by_its_population_register(loaded: LoadedDemo) -> None:
    """The demo writes its own population register, and every guardian it names with custody
    is in it: each link is checked at registration and confirmed (and one checked again later)."""
    assert (loaded.data_dir / "population.json").exists()
    custodial = [g for f in _of(loaded.facts, ChildRegistered) for g in f.guardians if g.has_custody]
    assert custodial and {g.register_answer for g in custodial} == {RegisterAnswer.CONFIRMED}
    assert {g.register_answer for f in _of(loaded.facts, ChildRegistered) for g in f.guardians if not g.has_custody} <= {None}
    assert {f.answer for f in _of(loaded.facts, GuardianLinkChecked)} == {RegisterAnswer.CONFIRMED}


def test_every_decision_kind_and_both_card_kinds_occur(loaded: LoadedDemo) -> None:
    assert {f.decision for f in _of(loaded.facts, TeamDecided)} == set(Decision)
    assert {f.kind for f in _of(loaded.facts, DiscoveryCardSubmitted)} == set(CardKind)


def test_consents_stand_in_several_states_at_the_end_of_the_load(loaded: LoadedDemo) -> None:
    hub = loaded.runtime.hub
    admin = loaded.principal("birgitta.mattsson")
    statuses = set()
    for registered in _of(loaded.facts, ChildRegistered):
        facts = hub.child_facts(admin, registered.child_id)
        statuses |= {consent_status(c, facts, UNTIL, hub.rules) for c in facts.consents}
    assert statuses >= {
        ConsentStatus.IN_EFFECT, ConsentStatus.PENDING, ConsentStatus.DECLINED, ConsentStatus.WITHDRAWN, ConsentStatus.EXPIRED,
    }


def test_histories_spread_over_several_terms_and_stop_before_the_end(loaded: LoadedDemo) -> None:
    terms = {f"{f.occurred_at.year} {'vt' if f.occurred_at.month <= 6 else 'ht'}" for f in _of(loaded.facts, DiscoveryCardSubmitted)}
    assert len(terms) >= 3
    assert max(f.occurred_at for f in loaded.facts) <= UNTIL
    ordered = [f.occurred_at for f in loaded.facts]
    assert ordered == sorted(ordered), "the log records the steps in the order they happened"


def test_people_have_valid_personnummer_and_the_children_are_children(loaded: LoadedDemo) -> None:
    for registered in _of(loaded.facts, ChildRegistered):
        assert 0 <= age_on(registered.birth_date, registered.occurred_at) <= 17
        assert registered.personnummer.startswith(registered.birth_date.strftime("%Y%m%d"))
        assert any(g.has_custody for g in registered.guardians)
        for number in (registered.personnummer, *(g.personnummer for g in registered.guardians)):
            assert personnummer.valid(number), "check digit, date and format hold"
            assert 980 <= int(number[8:11]) <= 999
    shapes = {tuple(g.has_custody for g in r.guardians) for r in _of(loaded.facts, ChildRegistered)}
    assert (True, True) in shapes and any(False in s for s in shapes)
    children = [r.personnummer for r in _of(loaded.facts, ChildRegistered)]
    assert len(set(children)) == len(children)


def test_a_barnkontakt_list_shows_a_child_with_no_next_step_and_one_with_overdue_actions(loaded: LoadedDemo) -> None:
    hub = loaded.runtime.hub
    tenant = hub.directory.tenants[demo.TENANT_ID]
    found = {}
    for staff in tenant.staff.values():
        if Role.BARNKONTAKT not in staff.roles:
            continue
        rows = hub.case_list(loaded.principal(staff.user_id))
        found[staff.user_id] = (
            any(r.no_next_step for r in rows),
            any(r.overdue_actions > 0 and not r.closed for r in rows),
        )
    assert any(no_next and overdue for no_next, overdue in found.values()), found


def test_family_users_see_their_children_and_a_parent_without_custody_does_not(loaded: LoadedDemo) -> None:
    hub = loaded.runtime.hub
    users = loaded.users()
    guardians = [name for name, u in users.items() if u["kind"] == "guardian" and u.get("has_custody", True)]
    assert len(guardians) >= 4
    for name in guardians:
        p = loaded.principal(name)
        assert p.kind is ViewerKind.GUARDIAN
        mine = {c.child_id for c in hub.family_children(p)}
        for child in users[name]["children"]:
            assert UUID(child["child_id"]) in mine
            record = hub.read_child(p, UUID(child["child_id"]), purpose="demo check", view="family_view")
            identity = record.of_type("ChildRegistered")[0]
            assert f"{identity.fields['given_name']} {identity.fields['family_name']}" == child["name"]
    outsiders = [name for name, u in users.items() if u.get("has_custody") is False]
    assert outsiders
    for name in outsiders:
        p = loaded.principal(name)
        assert hub.family_children(p) == []
        with pytest.raises(ChildNotFoundError):  # not told the child exists
            hub.read_child(p, UUID(users[name]["children"][0]["child_id"]), purpose="demo check")
    child_user = next(name for name, u in users.items() if u["kind"] == "child")
    p = loaded.principal(child_user)
    assert p.kind is ViewerKind.CHILD
    assert hub.read_child(p, UUID(users[child_user]["child_id"]), purpose="my own record").items


def test_progress_is_reported_up_to_every_child(loaded: LoadedDemo) -> None:
    assert loaded.progress and loaded.progress[-1] == (CHILDREN, CHILDREN)
    done = [d for d, _ in loaded.progress]
    assert done == sorted(done)


def test_the_same_seed_tells_the_same_stories(loaded: LoadedDemo, tmp_path: Path) -> None:
    def stories(facts: list[Event]) -> list[tuple[str, datetime]]:
        return [(f.type_name, f.occurred_at) for f in facts]

    again = demo.build_demo_data(Settings(data_dir=tmp_path / "again"), children=CHILDREN, until=UNTIL)
    other = demo.build_demo_data(Settings(data_dir=tmp_path / "other"), children=CHILDREN, until=UNTIL, seed=7)
    with_runtime = [bootstrap(Settings(data_dir=tmp_path / name, demo_mode=True), clock=SettableClock(UNTIL)) for name in ("again", "other")]
    try:
        same, different = (_facts(rt) for rt in with_runtime)
    finally:
        for rt in with_runtime:
            rt.close()
    assert again.stories == loaded.summary.stories
    assert stories(same) == stories(loaded.facts)
    names = [(f.given_name, f.family_name, f.personnummer) for f in _of(loaded.facts, ChildRegistered)]
    assert [(f.given_name, f.family_name, f.personnummer) for f in _of(same, ChildRegistered)] == names
    assert [(f.given_name, f.family_name, f.personnummer) for f in _of(different, ChildRegistered)] != names
    assert other.children == CHILDREN


def test_the_demo_refuses_a_hub_not_built_for_it(memory_runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="demo_directory"):
        demo.load_demo(memory_runtime, children=1)


def test_the_demo_refuses_a_hub_on_the_system_clock() -> None:
    rt = bootstrap(Settings(store="memory"), directory=demo.demo_directory())
    try:
        with pytest.raises(ValueError, match="SettableClock"):
            demo.load_demo(rt, children=1)
        assert rt.hub.log_length() == 0
    finally:
        rt.close()
