"""The Barnkontakt's case list: nobody may fall into a gap between agencies.

One document per child with what the list needs: cards and their feedback, who holds
the Barnkontakt role, the decision, plan actions with due dates, the next follow-up.
Flags that depend on the date (overdue, stalled) are computed at read time from the
clock the caller passes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from contracts.events import (
    BarnkontaktAssigned,
    BarnkontaktDelegated,
    CaseClosed,
    ChildRegistered,
    ConsentRequested,
    ConversationHeld,
    DiscoveryCardSubmitted,
    Event,
    FeedbackSent,
    FollowUpHeld,
    InformationAccessed,
    NeedsMet,
    PlanActionCompleted,
    PlanUpdated,
    RecordErased,
    SupportCoordinatorAssigned,
    TeamDecided,
    TeamMeetingHeld,
)
from projections.base import Page, PageProjection, View, ViewCursor, types_of

STALE_AFTER = timedelta(days=30)
"""How long a step of the process owed may wait, with nothing happening, before the case
counts as having no next step."""
FEEDBACK_WITHIN = timedelta(days=14)
"""How long after a card its discoverer may wait for the Barnkontakt's feedback, unless
the hub is told otherwise (the setting ``case_list_feedback_days``)."""
IN_LIST = 200
"""Children asked for in one ``IN (...)`` query."""


class CaseListView(View):
    name = "case_list"
    view_version = 1
    tables = ("cases", "case_people")
    table_statements = (
        "CREATE TABLE IF NOT EXISTS cases ("
        "child_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, doc TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS cases_tenant ON cases (tenant_id)",
        "CREATE TABLE IF NOT EXISTS case_people ("
        "child_id TEXT NOT NULL, tenant_id TEXT NOT NULL, unit_id TEXT NOT NULL, staff_id TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS case_people_unit ON case_people (tenant_id, unit_id)",
        "CREATE INDEX IF NOT EXISTS case_people_staff ON case_people (tenant_id, staff_id)",
        "CREATE INDEX IF NOT EXISTS case_people_child ON case_people (child_id)",
    )

    def create_table(self, now: float | None = None) -> None:
        """The tables, and the ``case_people`` index filled from the cases when it is new
        beside a view that already holds cases (a view written before the index was)."""
        super().create_table(now)
        with self.store.transaction(commit=True) as c:
            c.execute("SELECT 1 AS found FROM case_people LIMIT 1")
            if c.fetchone() is not None:
                return
            c.execute("SELECT child_id, tenant_id, doc FROM cases")
            rows = c.fetchall()
            index = []
            for r in rows:
                doc = self.open(r["doc"])
                if doc is not None:
                    index += [(r["child_id"], r["tenant_id"], unit, person) for unit, person in sorted(people(doc))]
            c.executemany("INSERT INTO case_people VALUES (?, ?, ?, ?)", index)

    def documents(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's cases (a child erased since the views last followed is left out)."""
        with self.read() as c:
            c.execute("SELECT doc FROM cases WHERE tenant_id = ? ORDER BY child_id", (tenant_id,))
            rows = c.fetchall()
        return [doc for doc in (self.open(r["doc"]) for r in rows) if doc is not None]

    def documents_of(self, tenant_id: str, *, unit_id: str, staff_id: str) -> list[dict[str, Any]]:
        """The cases that concern one unit or one member of staff, found through the
        ``case_people`` index (no scan of the area's every child): what a case list reads."""
        with self.read() as c:
            c.execute(
                "SELECT doc FROM cases WHERE child_id IN (SELECT child_id FROM case_people "
                "WHERE tenant_id = ? AND ((unit_id = ? AND unit_id <> '') OR (staff_id = ? AND staff_id <> ''))) "
                "ORDER BY child_id",
                (tenant_id, unit_id, staff_id),
            )
            rows = c.fetchall()
        return [doc for doc in (self.open(r["doc"]) for r in rows) if doc is not None]

    def document(self, child_id: UUID) -> dict[str, Any] | None:
        with self.read() as c:
            c.execute("SELECT doc FROM cases WHERE child_id = ?", (str(child_id),))
            row = c.fetchone()
        return self.open(row["doc"]) if row else None


_HANDLERS: dict[type, Any] = {}
"""Each fact type's handler in :meth:`CaseListProjection._on`, found once."""


class CaseListProjection(PageProjection[CaseListView]):
    name = "case_list"
    ignores = types_of(InformationAccessed)

    def apply(self, c: ViewCursor, page: Page) -> None:
        """Each child's document is read once per page, changed by each of its facts in
        order, and written once."""
        erased = {str(f.child_id) for _, f in page if isinstance(f, RecordErased)}
        if erased:
            c.executemany("DELETE FROM cases WHERE child_id = ?", [(key,) for key in erased])
            c.executemany("DELETE FROM case_people WHERE child_id = ?", [(key,) for key in erased])
        keyed = [(str(fact.child_id), fact) for _, fact in page if not isinstance(fact, InformationAccessed)]
        facts = [(key, fact) for key, fact in keyed if key not in erased] if erased else keyed
        wanted = list(dict.fromkeys(key for key, _ in facts))
        docs: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), IN_LIST):
            chunk = wanted[i : i + IN_LIST]
            c.execute(
                f"SELECT child_id, doc FROM cases WHERE child_id IN ({','.join('?' * len(chunk))})",  # noqa: S608 - placeholders only
                chunk,
            )
            docs.update((r["child_id"], self.view.open(r["doc"])) for r in c.fetchall())
        latest: dict[str, Any] = {}
        """Each child's last fact of the page: its tenant and time are the document's."""
        handlers = _HANDLERS
        for key, fact in facts:
            doc = docs.get(key)
            if doc is None:
                doc = docs[key] = _new_doc(fact)
            kind = type(fact)
            on = handlers.get(kind)
            if on is None:  # a singledispatchmethod makes a new bound wrapper on every call
                on = handlers[kind] = vars(CaseListProjection)["_on"].dispatcher.dispatch(kind)
            on(self, fact, doc)
            latest[key] = fact
        tenants: dict[str, str] = {}
        for key, fact in latest.items():
            docs[key]["last_activity"] = fact.occurred_at.isoformat()
            tenants[key] = fact.tenant_id
        c.executemany(
            "INSERT INTO cases VALUES (?, ?, ?) ON CONFLICT (child_id) "
            "DO UPDATE SET tenant_id = excluded.tenant_id, doc = excluded.doc",
            [(key, tenants[key], self.view.seal(UUID(key), docs[key])) for key in tenants],
        )
        c.executemany("DELETE FROM case_people WHERE child_id = ?", [(key,) for key in tenants])
        c.executemany(
            "INSERT INTO case_people VALUES (?, ?, ?, ?)",
            [(key, tenants[key], unit, person) for key in tenants for unit, person in sorted(people(docs[key]))],
        )

    @singledispatchmethod
    def _on(self, fact: Event, doc: dict[str, Any]) -> None:
        """Other facts only count as activity; a deputy to the support coordinator is read
        from whichever fact names one (:func:`deputy_named`)."""
        deputy = deputy_named(fact)
        if deputy is not None:
            doc["deputy"] = deputy
        elif type(fact).__name__.startswith("SupportCoordinator"):
            staff, unit = getattr(fact, "staff_id", None), getattr(fact, "unit_id", None)
            if isinstance(staff, str) and isinstance(unit, str):
                doc["coordinator"] = {"staff_id": staff, "unit_id": unit}  # a handover

    @_on.register
    def _(self, fact: ChildRegistered, doc: dict[str, Any]) -> None:
        doc["registered_at"] = fact.occurred_at.isoformat()

    @_on.register
    def _(self, fact: DiscoveryCardSubmitted, doc: dict[str, Any]) -> None:
        doc["cards"].append(
            {
                "card_id": fact.card_id,
                "kind": fact.kind.value,
                "to_unit_id": fact.to_unit_id,
                "named_unit_id": fact.named_unit_id,
                "from_unit_id": fact.actor.unit_id,
                "from_user_id": fact.actor.user_id,
                "submitted_at": fact.occurred_at.isoformat(),
                "feedback_sent": False,
                "taken_up": False,
            }
        )
        doc["needs_met_at"] = None
        doc["closed_at"] = None

    @_on.register
    def _(self, fact: BarnkontaktAssigned | BarnkontaktDelegated, doc: dict[str, Any]) -> None:
        doc["barnkontakt"] = {"staff_id": fact.staff_id, "unit_id": fact.unit_id}
        _take_up_cards(doc)

    @_on.register
    def _(self, fact: FeedbackSent, doc: dict[str, Any]) -> None:
        for card in doc["cards"]:
            if card["card_id"] == fact.card_id:
                card["feedback_sent"] = True
                card["taken_up"] = True

    @_on.register
    def _(self, fact: ConversationHeld | ConsentRequested | TeamMeetingHeld | FollowUpHeld, doc: dict[str, Any]) -> None:
        _take_up_cards(doc)
        if isinstance(fact, TeamMeetingHeld):
            doc["meetings"] = doc.get("meetings", 0) + 1

    @_on.register
    def _(self, fact: TeamDecided, doc: dict[str, Any]) -> None:
        doc["decision"] = fact.decision.value
        doc["team_unit_ids"] = list(fact.member_unit_ids)
        _take_up_cards(doc)

    @_on.register
    def _(self, fact: SupportCoordinatorAssigned, doc: dict[str, Any]) -> None:
        doc["coordinator"] = {"staff_id": fact.staff_id, "unit_id": fact.unit_id}
        doc["deputy"] = deputy_named(fact)

    @_on.register
    def _(self, fact: PlanUpdated, doc: dict[str, Any]) -> None:
        done = {a["action_id"] for a in doc["actions"] if a["done"]}
        doc["actions"] = [
            {
                "action_id": a.action_id,
                "unit_id": a.unit_id,
                "due": a.due.isoformat(),
                "done": a.action_id in done or a.status.value in ("done", "cancelled"),
                "what": a.what,
                "person": a.responsible_person,
            }
            for a in fact.actions
        ]
        doc["plan_unit_id"] = fact.actor.unit_id
        doc["next_follow_up"] = fact.next_follow_up.isoformat() if fact.next_follow_up else None
        doc["plan_version"] = fact.plan_version

    @_on.register
    def _(self, fact: PlanActionCompleted, doc: dict[str, Any]) -> None:
        for a in doc["actions"]:
            if a["action_id"] == fact.action_id:
                a["done"] = True

    @_on.register
    def _(self, fact: NeedsMet, doc: dict[str, Any]) -> None:
        doc["needs_met_at"] = fact.occurred_at.isoformat()

    @_on.register
    def _(self, fact: CaseClosed, doc: dict[str, Any]) -> None:
        """Closed for any reason (needs met, moved away, declined): the actions still open
        end with it, and the case owes no next step until a new card opens it."""
        doc["closed_at"] = fact.occurred_at.isoformat()
        ended = {c.action_id for c in fact.closed_actions}
        for a in doc["actions"]:
            if a["action_id"] in ended:
                a["done"] = True


def _new_doc(fact: Event) -> dict[str, Any]:
    return {
        "child_id": str(fact.child_id),
        "tenant_id": fact.tenant_id,
        "cards": [],
        "barnkontakt": None,
        "coordinator": None,
        "deputy": None,
        "decision": None,
        "actions": [],
        "next_follow_up": None,
        "plan_version": 0,
        "needs_met_at": None,
        "closed_at": None,
        "registered_at": None,
        "last_activity": None,
    }


def _take_up_cards(doc: dict[str, Any]) -> None:
    for card in doc["cards"]:
        card["taken_up"] = True


def deputy_named(fact: Event) -> dict[str, str] | None:
    """The deputy support coordinator a fact names, read without knowing its type: a
    ``deputy_staff_id`` and ``deputy_unit_id`` beside the coordinator, or a fact of its own
    whose type names a deputy and which carries ``staff_id`` and ``unit_id``."""
    staff, unit = getattr(fact, "deputy_staff_id", None), getattr(fact, "deputy_unit_id", None)
    if not (staff and unit) and "Deputy" in type(fact).__name__:
        staff, unit = getattr(fact, "staff_id", None), getattr(fact, "unit_id", None)
    if isinstance(staff, str) and isinstance(unit, str) and staff and unit:
        return {"staff_id": staff, "unit_id": unit}
    return None


def people(doc: dict[str, Any]) -> set[tuple[str, str]]:
    """Who a case concerns, as (unit, staff) pairs ("" where one side is not named): the
    index a case list is read through."""
    out: set[tuple[str, str]] = set()
    for role in ("barnkontakt", "coordinator", "deputy"):
        if doc.get(role):
            out.add((doc[role]["unit_id"], doc[role]["staff_id"]))
    out.update((unit, "") for unit in doc.get("team_unit_ids", ()))
    for card in doc["cards"]:
        out.add((card["to_unit_id"], ""))
        if card.get("from_user_id"):
            out.add(("", card["from_user_id"]))
    return out


class Step(str, Enum):
    """What is next for a case: a dated plan action or follow-up, or the step of the
    Stödprocess (support process) that is owed."""

    APPOINT_BARNKONTAKT = "appoint_barnkontakt"
    FEEDBACK = "feedback"
    DECIDE = "decide"
    APPOINT_COORDINATOR = "appoint_coordinator"
    PLAN = "plan"
    TEAM_MEETING = "team_meeting"
    ACTION = "action"
    FOLLOW_UP = "follow_up"
    SET_NEXT_STEP = "set_next_step"


@dataclass(frozen=True)
class NextStep:
    """Who does what by when. ``what`` and ``person`` are the plan's own words (its
    category is the plan's); ``to_*`` names whom feedback is owed to."""

    step: Step
    unit_id: str | None
    staff_id: str | None
    due: date | None = None
    overdue: bool = False
    what: str | None = None
    person: str | None = None
    to_staff_id: str | None = None
    to_unit_id: str | None = None


@dataclass(frozen=True)
class CaseFlags:
    """What needs doing for one child on ``today``: the case list's row (the application's
    ``CaseRow``) is these and what the viewer may see of the child."""

    child_id: UUID
    barnkontakt_staff_id: str | None
    barnkontakt_unit_id: str | None
    coordinator_staff_id: str | None
    coordinator_unit_id: str | None
    deputy_staff_id: str | None
    decision: str | None
    new_cards: int
    awaiting_feedback: int
    overdue_actions: int
    next_step_due: date | None
    no_next_step: bool
    closed: bool
    unit_ids: tuple[str, ...]
    next_step: NextStep | None


def case_flags(doc: dict[str, Any], today: date, *, feedback_within: timedelta = FEEDBACK_WITHIN) -> CaseFlags:
    """Flags for one child on ``today``, with its one next step (:func:`next_step`)."""
    open_actions = [a for a in doc["actions"] if not a["done"]]
    overdue = [a for a in open_actions if date.fromisoformat(a["due"]) < today]
    upcoming = [date.fromisoformat(a["due"]) for a in open_actions if date.fromisoformat(a["due"]) >= today]
    follow_up = date.fromisoformat(doc["next_follow_up"]) if doc["next_follow_up"] else None
    if follow_up is not None and follow_up >= today:
        upcoming.append(follow_up)
    closed = doc["needs_met_at"] is not None or doc.get("closed_at") is not None
    owner = doc["barnkontakt"]["staff_id"] if doc["barnkontakt"] else None
    step = None if closed else next_step(doc, today, feedback_within=feedback_within)
    return CaseFlags(
        child_id=UUID(doc["child_id"]),
        barnkontakt_staff_id=owner,
        barnkontakt_unit_id=doc["barnkontakt"]["unit_id"] if doc["barnkontakt"] else None,
        coordinator_staff_id=doc["coordinator"]["staff_id"] if doc["coordinator"] else None,
        coordinator_unit_id=doc["coordinator"]["unit_id"] if doc["coordinator"] else None,
        deputy_staff_id=doc["deputy"]["staff_id"] if doc.get("deputy") else None,
        decision=doc["decision"],
        new_cards=sum(1 for c in doc["cards"] if not c["taken_up"]),
        awaiting_feedback=len(_feedback_owed(doc)),
        overdue_actions=len(overdue),
        next_step_due=min(upcoming) if upcoming else None,
        no_next_step=step is not None and _no_next_step(doc, step, today, upcoming),
        closed=closed,
        unit_ids=tuple(sorted({unit for unit, _ in people(doc) if unit})),
        next_step=step,
    )


def _no_next_step(doc: dict[str, Any], step: NextStep, today: date, upcoming: list[date]) -> bool:
    """Someone must act: nobody holds the case; or nothing is planned ahead (no open action
    or follow-up to come) and either the plan has run out, its follow-up date has passed,
    or nothing has happened for a month."""
    if doc["barnkontakt"] is None:
        return True
    if upcoming:
        return False
    if step.step is Step.SET_NEXT_STEP or (step.step is Step.FOLLOW_UP and step.overdue):
        return True
    last = datetime.fromisoformat(doc["last_activity"]).date() if doc["last_activity"] else today
    return today - last > STALE_AFTER


def _feedback_owed(doc: dict[str, Any]) -> list[dict[str, Any]]:
    owner = doc["barnkontakt"]["staff_id"] if doc["barnkontakt"] else None
    return [c for c in doc["cards"] if not c["feedback_sent"] and c.get("from_user_id") != owner]


def next_step(doc: dict[str, Any], today: date, *, feedback_within: timedelta) -> NextStep:
    """The one next step of an open case: the oldest overdue plan action first, then feedback
    owed to a discoverer, then the step of the process owed, then the plan's next action or
    follow-up, whichever comes first; a case where none is due is told to set one."""
    bk, coordinator = doc["barnkontakt"], doc["coordinator"]
    lead = coordinator or bk
    open_actions = sorted((a for a in doc["actions"] if not a["done"]), key=lambda a: a["due"])
    first = open_actions[0] if open_actions else None
    if first is not None and date.fromisoformat(first["due"]) < today:
        return _action(first, overdue=True)
    owed = _feedback_owed(doc)
    if bk is None:
        unit = doc["cards"][-1]["to_unit_id"] if doc["cards"] else None
        return NextStep(Step.APPOINT_BARNKONTAKT, unit, None)
    if owed:
        card = owed[0]
        due = datetime.fromisoformat(card["submitted_at"]).date() + feedback_within
        return NextStep(
            Step.FEEDBACK, bk["unit_id"], bk["staff_id"], due=due, overdue=due < today,
            to_staff_id=card.get("from_user_id"), to_unit_id=card.get("from_unit_id"),
        )
    if doc["decision"] is None:
        return NextStep(Step.DECIDE, bk["unit_id"], bk["staff_id"])
    if doc["decision"] == "individual_team" and coordinator is None:
        return NextStep(Step.APPOINT_COORDINATOR, bk["unit_id"], bk["staff_id"])
    if doc["decision"] == "individual_team" and not doc["plan_version"]:
        return NextStep(Step.PLAN, lead["unit_id"], lead["staff_id"])
    if doc["decision"] == "barnteam" and not doc.get("meetings") and not doc["plan_version"]:
        return NextStep(Step.TEAM_MEETING, bk["unit_id"], bk["staff_id"])
    follow_up = date.fromisoformat(doc["next_follow_up"]) if doc["next_follow_up"] else None
    if first is not None and (follow_up is None or follow_up < today or first["due"] <= doc["next_follow_up"]):
        return _action(first, overdue=False)
    if follow_up is not None:
        return NextStep(Step.FOLLOW_UP, lead["unit_id"], lead["staff_id"], due=follow_up, overdue=follow_up < today)
    return NextStep(Step.SET_NEXT_STEP, lead["unit_id"], lead["staff_id"])


def _action(a: dict[str, Any], *, overdue: bool) -> NextStep:
    return NextStep(
        Step.ACTION, a["unit_id"], None, due=date.fromisoformat(a["due"]), overdue=overdue,
        what=a.get("what"), person=a.get("person"),
    )


def concerns_unit(doc: dict[str, Any], unit_id: str) -> bool:
    """Whether a child belongs on this unit's list: it is the Barnkontakt's, the
    coordinator's or the deputy's unit, a unit of the child's team, or a card was sent to it."""
    return bool(unit_id) and any(unit == unit_id for unit, _ in people(doc))


def concerns_person(doc: dict[str, Any], staff_id: str, unit_id: str, *, is_barnkontakt: bool) -> bool:
    """Whether a child is on this person's own list ("Mina barn"): they are its Barnkontakt,
    coordinator or deputy, or sent a card about it; for a Barnkontakt also a card to their
    unit that nobody has taken up yet, so that no new case waits unseen."""
    if staff_id and any(person == staff_id for _, person in people(doc)):
        return True
    return is_barnkontakt and doc["barnkontakt"] is None and any(c["to_unit_id"] == unit_id for c in doc["cards"])
