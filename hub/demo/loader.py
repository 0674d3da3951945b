"""Loading the demo: every story's steps run through the hub's own commands, in the order
they happened, with a :class:`SettableClock` moved from step to step; then the auditor's
checks, an erasure, and the demo users.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.population_file import register_text
from consent import ViewerKind, age_on, required_parties
from contracts.vocabulary import SWEDISH_TIME, PartyKind, ReviewOutcome, Role
from hub.application import BackaHub
from hub.application.consent_signals import SignalDays
from hub.demo.directory import TENANT_ID, check_directory, demo_directory
from hub.demo.files import (
    DemoFolderError,
    clear_demo_folder,
    has_hub_data,
    is_demo_folder,
    write_demo_files,
    write_state,
)
from hub.demo.planner import QUIET_HOUR, ChildPlan, ChildState, Planner
from hub.demo.stories import Stories
from hub.errors import HubError
from hub.identity.directory import Directory
from hub.identity.personnummer import parse_identity_number
from hub.identity.principals import Principal
from hub.runtime.bootstrap import DEMO_REGISTER_FILE, Runtime, bootstrap
from hub.runtime.clock import SettableClock, system_clock
from hub.runtime.settings import Settings

DEFAULT_SEED = 2019
DEFAULT_CHILDREN = 200

ProgressCallback = Callable[[int, int], None]


class Run:
    """Executes steps against the hub, as the people in them."""

    def __init__(self, hub: BackaHub, clock: SettableClock) -> None:
        self.hub = hub
        self.clock = clock
        self._staff: dict[str, Principal] = {}
        self._guardians: dict[str, Principal] = {}
        self.invitation_withdrawn = False
        """Whether the demo has shown a withdrawn invitation to the digital conversation yet."""

    def staff(self, user_id: str) -> Principal:
        if user_id not in self._staff:
            s = self.hub.directory.staff(TENANT_ID, user_id)
            kind = ViewerKind.AUDITOR if Role.AUDITOR in s.roles else ViewerKind.STAFF
            self._staff[user_id] = Principal(kind, TENANT_ID, user_id, s.roles, unit_id=s.unit_id)
        return self._staff[user_id]

    def guardian(self, personnummer: str) -> Principal:
        if personnummer not in self._guardians:
            gid = self.hub.blind_index.guardian_id(TENANT_ID, parse_identity_number(personnummer))
            self._guardians[personnummer] = Principal(ViewerKind.GUARDIAN, TENANT_ID, gid, frozenset({Role.GUARDIAN}), party_id=gid)
        return self._guardians[personnummer]

    def child(self, child_id: UUID) -> Principal:
        return Principal(ViewerKind.CHILD, TENANT_ID, str(child_id), frozenset({Role.CHILD}), party_id=str(child_id))

    def required_parties(self, child_id: UUID) -> frozenset[tuple[PartyKind, str]]:
        facts = self.hub.child_facts(self.staff("birgitta.mattsson"), child_id)
        return required_parties(facts, self.hub.now(), self.hub.rules)


class DemoLoadError(RuntimeError):
    """A step of the demo was refused by the hub: the demo and the hub disagree."""


@dataclass
class DemoSummary:
    children: int
    facts: int
    seconds: float
    until: datetime
    stories: dict[str, int]
    steps: dict[str, int]
    users: dict[str, dict[str, Any]]


def directory_snapshot(directory: Any) -> Directory:
    """The directory as it is now, whether the hub's live one or a snapshot."""
    snapshot = getattr(directory, "snapshot", None)
    return snapshot() if callable(snapshot) else directory


def load_demo(
    target: Runtime | BackaHub,
    *,
    children: int = DEFAULT_CHILDREN,
    seed: int = DEFAULT_SEED,
    progress: ProgressCallback | None = None,
    progress_every: int = 20,
    until: datetime | None = None,
    data_dir: Path | None = None,
) -> DemoSummary:
    """Load the Ystad demo into a hub built with :func:`demo_directory` and a :class:`SettableClock`.

    The stories run up to ``until`` (by default the moment of the load). ``progress``
    is called with (children done, children in all) every ``progress_every`` children.
    With a runtime on the SQLite store, the directory and the demo users are written
    into its data folder (or ``data_dir``).
    """
    began = time.perf_counter()
    hub = target.hub if isinstance(target, Runtime) else target
    if data_dir is None and isinstance(target, Runtime) and target.settings.store == "sqlite":
        data_dir = target.settings.data_dir
    clock = hub.clock
    if not isinstance(clock, SettableClock):
        raise ValueError("the demo moves the hub's clock: bootstrap the runtime with a SettableClock")
    check_directory(hub.directory)
    if children < 1:
        raise ValueError("the demo needs at least one child")
    end = (until or system_clock()).astimezone(UTC)

    planner, plans = _plans(hub.directory, seed, end, children)
    steps = sorted(s for p in plans for s in p.steps)
    last = {p.index: max(p.steps).seq for p in plans}
    audits = _audit_steps(planner, plans)
    states = {p.index: ChildState() for p in plans}

    run = Run(hub, clock)
    done = 0
    counts: Counter[str] = Counter()
    for step in steps:
        clock.set(step.at)
        state = states[step.child]
        try:
            step.run(run, state)
        except HubError as e:
            raise DemoLoadError(f"demo step {step.label} for child #{step.child} was refused: {e.detail}") from e
        counts[step.label] += 1
        if step.seq == last[step.child]:
            done += 1
            if progress is not None and (done % max(1, progress_every) == 0 or done == len(plans)):
                progress(done, len(plans))
    for at, auditor, index in audits:
        child_id = states[index].child_id
        if child_id is None:
            continue
        clock.set(at)
        found = hub.audit_search(run.staff(auditor), child_id=child_id)
        counts["audit_search"] += 1
        reads = [e for e in found if e.role is not Role.AUDITOR]
        if reads:
            hub.record_review(
                run.staff(auditor), child_id, access_event_ids=[reads[0].event_id],
                outcome=ReviewOutcome.JUSTIFIED, note="Läsningen hör till barnets stöd.",
            )
            counts["access_review"] += 1
    if _check_guardians_again(run, plans, states):
        counts["check_guardians"] += 1
    counts["consent_reminders"] += _remind_about_consents(run)
    if _erase_mistaken_registration(run, planner, end):
        counts["erase_child"] += 1
    clock.set(end)

    users = _demo_users(hub, plans, states, end)
    summary = DemoSummary(
        children=len(plans),
        facts=hub.log_length(),
        seconds=round(time.perf_counter() - began, 2),
        until=end,
        stories=dict(Counter(p.story for p in plans)),
        steps=dict(counts),
        users=users,
    )
    if data_dir is not None:
        write_demo_files(Path(data_dir), directory_snapshot(hub.directory), summary, seed=seed)
    return summary


def _plans(directory: Directory, seed: int, until: datetime, children: int) -> tuple[Planner, list[ChildPlan]]:
    """The demo's children and their stories: the same for the same seed, moment and number."""
    planner = Planner(seed, until, directory)
    stories = Stories(planner)
    plans = [stories.showcase(i) or stories.random_story(i) for i in range(children)]
    return planner, [p for p in plans if p.steps]


def demo_custodians(directory: Directory, *, children: int, seed: int, until: datetime) -> dict[str, set[str]]:
    """Each demo child's guardians with custody, by personnummer: the demo's population
    register, so that the guardians the demo registers are confirmed as a real register would."""
    _, plans = _plans(directory, seed, until, children)
    out: dict[str, set[str]] = {}
    for plan in plans:
        out.setdefault(plan.person.personnummer, set()).update(g.person.personnummer for g in plan.guardians if g.has_custody)
    return out


def _check_guardians_again(run: Run, plans: list[ChildPlan], states: dict[int, ChildState]) -> bool:
    """The administrator asks the population register again about one showcase child's
    guardians (as after a register outage at registration): the demo's re-check."""
    for plan in plans:
        child_id = states[plan.index].child_id
        if plan.showcase and child_id is not None and any(g.has_custody for g in plan.guardians):
            run.clock.set(run.hub.now() + timedelta(minutes=2))
            run.hub.check_guardians(run.staff("birgitta.mattsson"), child_id)
            return True
    return False


def _remind_about_consents(run: Run) -> int:
    """The administrator's nightly ``backa consents remind``: guardians who have not
    answered a request are reminded, case owners warned of consents ending soon."""
    hub, admin = run.hub, run.staff("birgitta.mattsson")
    run.clock.set(hub.now() + timedelta(minutes=2))
    days = SignalDays()
    return sum(hub.send_consent_reminders(admin, child_id, at=hub.now(), days=days) for child_id in hub.consent_reminders_due(admin, hub.now(), days))


def _erase_mistaken_registration(run: Run, planner: Planner, end: datetime) -> bool:
    """A child registered by mistake (a wrong number typed), whose record the administrator
    erases half an hour later: the demo's erasure, for auditors to find. Only a log sealed per
    child can be erased."""
    hub = run.hub
    if not callable(getattr(hub.sealer, "destroy", None)):
        return False
    at = hub.now() + timedelta(minutes=10)
    if at + timedelta(minutes=30) > end:
        return False
    run.clock.set(at)
    birth = at.astimezone(SWEDISH_TIME).date() - timedelta(days=6 * 365)
    child = planner.child_person(birth)
    parent = planner.adult(birth, True, child.family_name)
    child_id = hub.register_child(
        run.staff("lena.ek"),
        personnummer=child.personnummer,
        given_name=child.given_name,
        family_name=child.family_name,
        guardians=[{"name": parent.name, "personnummer": parent.personnummer, "has_custody": True}],
    )
    run.clock.set(at + timedelta(minutes=30))
    hub.erase_child(run.staff("birgitta.mattsson"), child_id, reason="Registrerad av misstag: fel personnummer angivet")
    return True


def _audit_steps(planner: Planner, plans: list[ChildPlan]) -> list[tuple[datetime, str, int]]:
    """The auditor's loggkontroll of a few children at the end of the load."""
    chosen = [p for p in plans if p.showcase][:3]
    at = planner.until - QUIET_HOUR + timedelta(minutes=5)
    return [(at + timedelta(minutes=5 * i), "lars.ahlgren", p.index) for i, p in enumerate(chosen)]


FAMILY_USERS_FROM = (0, 1, 2, 3, 6, 7)
"""The showcase children whose families (and, when old enough, who themselves) get demo users."""


def _demo_users(hub: BackaHub, plans: list[ChildPlan], states: dict[int, ChildState], until: datetime) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    tenant = hub.directory.tenants[TENANT_ID]
    for s in tenant.staff.values():
        users[s.user_id] = {
            "kind": "staff",
            "tenant": TENANT_ID,
            "user_id": s.user_id,
            "unit_id": s.unit_id,
            "roles": sorted(r.value for r in s.roles),
            "name": s.name,
            "title": s.title,
        }
    guardian_no, child_no, other_no = 0, 0, 0
    seen: dict[str, str] = {}
    for plan in [p for p in plans if p.showcase and p.index in FAMILY_USERS_FROM]:
        child_id = states[plan.index].child_id
        if child_id is None:
            continue
        child_ref = {"child_id": str(child_id), "name": plan.person.name, "story": plan.story}
        for g in plan.guardians:
            pnr = g.person.personnummer
            if pnr in seen:
                users[seen[pnr]]["children"].append(child_ref)
                continue
            if g.has_custody:
                guardian_no += 1
                name = f"vardnadshavare-{guardian_no}"
                users[name] = {"kind": "guardian", "tenant": TENANT_ID, "personnummer": pnr, "name": g.person.name, "children": [child_ref]}
            else:
                other_no += 1
                name = f"foralder-utan-vardnad-{other_no}"
                users[name] = {
                    "kind": "guardian", "tenant": TENANT_ID, "personnummer": pnr, "name": g.person.name,
                    "children": [child_ref], "has_custody": False,
                }
            seen[pnr] = name
        if age_on(plan.person.birth_date, until) >= hub.rules.child_access_age:
            child_no += 1
            users[f"barn-{child_no}"] = {
                "kind": "child", "tenant": TENANT_ID, "personnummer": plan.person.personnummer,
                "name": plan.person.name, "child_id": str(child_id), "story": plan.story,
            }
    return users


def build_demo_data(
    settings: Settings,
    *,
    children: int = DEFAULT_CHILDREN,
    seed: int = DEFAULT_SEED,
    progress: ProgressCallback | None = None,
    until: datetime | None = None,
) -> DemoSummary:
    """Load the demo into ``settings.data_dir`` (the log and the views into PostgreSQL when
    the settings' store is ``postgres``) with a runtime of its own, then close it.

    The load runs on a clock it moves; the hub that serves the folder afterwards is
    built afresh on the system clock.
    """
    data_dir = Path(settings.data_dir)
    if has_hub_data(data_dir) and not is_demo_folder(data_dir):
        raise DemoFolderError("this data folder already holds a hub; give the demo an empty --data-dir")
    clear_demo_folder(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_state(data_dir, {"state": "loading", "seed": seed, "children": children})
    directory = demo_directory()
    directory.save(data_dir / "directory.json")
    end = (until or system_clock()).astimezone(UTC)
    custodians = demo_custodians(directory, children=children, seed=seed, until=end)
    (data_dir / DEMO_REGISTER_FILE).write_text(register_text(custodians), encoding="utf-8")
    clock = SettableClock(end)
    store = "postgres" if settings.store == "postgres" else "sqlite"  # the demo keeps nothing only in memory
    runtime = bootstrap(settings.model_copy(update={"store": store, "demo_mode": True}), clock=clock, directory=directory)
    try:
        return load_demo(runtime, children=children, seed=seed, progress=progress, until=end, data_dir=data_dir)
    finally:
        runtime.close()


__all__ = [
    "DEFAULT_CHILDREN",
    "DEFAULT_SEED",
    "DemoLoadError",
    "DemoSummary",
    "ProgressCallback",
    "Run",
    "build_demo_data",
    "load_demo",
]
