"""The Barnkontakt's case list: nobody may fall into a gap between agencies.

One document per child with what the list needs: cards and their feedback, who holds
the Barnkontakt role, the decision, plan actions with due dates, the next follow-up.
Flags that depend on the date (overdue, stalled) are computed at read time from the
clock the caller passes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from contracts.events import (
    BarnkontaktAssigned,
    BarnkontaktDelegated,
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
from projections.base import Page, PageProjection, View, ViewCursor

STALE_AFTER = timedelta(days=30)
IN_LIST = 200
"""Children asked for in one ``IN (...)`` query."""


class CaseListView(View):
    name = "case_list"
    table_statements = (
        "CREATE TABLE IF NOT EXISTS cases ("
        "child_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, doc TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS cases_tenant ON cases (tenant_id)",
    )

    def documents(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's cases (a child erased since the views last followed is left out)."""
        with self.read() as c:
            c.execute("SELECT doc FROM cases WHERE tenant_id = ? ORDER BY child_id", (tenant_id,))
            rows = c.fetchall()
        return [doc for doc in (self.open(r["doc"]) for r in rows) if doc is not None]

    def document(self, child_id: UUID) -> dict[str, Any] | None:
        with self.read() as c:
            c.execute("SELECT doc FROM cases WHERE child_id = ?", (str(child_id),))
            row = c.fetchone()
        return self.open(row["doc"]) if row else None


class CaseListProjection(PageProjection[CaseListView]):
    name = "case_list"

    def apply(self, c: ViewCursor, page: Page) -> None:
        """Each child's document is read once per page, changed by each of its facts in
        order, and written once."""
        erased = {str(f.child_id) for _, f in page if isinstance(f, RecordErased)}
        if erased:
            c.executemany("DELETE FROM cases WHERE child_id = ?", [(key,) for key in erased])
        facts = [
            fact for _, fact in page if not isinstance(fact, InformationAccessed) and str(fact.child_id) not in erased
        ]
        wanted = list(dict.fromkeys(str(f.child_id) for f in facts))
        docs: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), IN_LIST):
            chunk = wanted[i : i + IN_LIST]
            c.execute(
                f"SELECT child_id, doc FROM cases WHERE child_id IN ({','.join('?' * len(chunk))})",  # noqa: S608 - placeholders only
                chunk,
            )
            docs.update((r["child_id"], self.view.open(r["doc"])) for r in c.fetchall())
        tenants: dict[str, str] = {}
        for fact in facts:
            key = str(fact.child_id)
            doc = docs.get(key)
            if doc is None:
                doc = docs[key] = _new_doc(fact)
            self._on(fact, doc)
            doc["last_activity"] = fact.occurred_at.isoformat()
            tenants[key] = fact.tenant_id
        c.executemany(
            "INSERT INTO cases VALUES (?, ?, ?) ON CONFLICT (child_id) "
            "DO UPDATE SET tenant_id = excluded.tenant_id, doc = excluded.doc",
            [(key, tenants[key], self.view.seal(UUID(key), docs[key])) for key in tenants],
        )

    @singledispatchmethod
    def _on(self, fact: Event, doc: dict[str, Any]) -> None:
        """Other facts only count as activity."""

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

    @_on.register
    def _(self, fact: TeamDecided, doc: dict[str, Any]) -> None:
        doc["decision"] = fact.decision.value
        doc["team_unit_ids"] = list(fact.member_unit_ids)
        _take_up_cards(doc)

    @_on.register
    def _(self, fact: SupportCoordinatorAssigned, doc: dict[str, Any]) -> None:
        doc["coordinator"] = {"staff_id": fact.staff_id, "unit_id": fact.unit_id}

    @_on.register
    def _(self, fact: PlanUpdated, doc: dict[str, Any]) -> None:
        done = {a["action_id"] for a in doc["actions"] if a["done"]}
        doc["actions"] = [
            {
                "action_id": a.action_id,
                "unit_id": a.unit_id,
                "due": a.due.isoformat(),
                "done": a.action_id in done or a.status.value in ("done", "cancelled"),
            }
            for a in fact.actions
        ]
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


def _new_doc(fact: Event) -> dict[str, Any]:
    return {
        "child_id": str(fact.child_id),
        "tenant_id": fact.tenant_id,
        "cards": [],
        "barnkontakt": None,
        "coordinator": None,
        "decision": None,
        "actions": [],
        "next_follow_up": None,
        "plan_version": 0,
        "needs_met_at": None,
        "registered_at": None,
        "last_activity": None,
    }


def _take_up_cards(doc: dict[str, Any]) -> None:
    for card in doc["cards"]:
        card["taken_up"] = True


@dataclass(frozen=True)
class CaseFlags:
    """What needs doing for one child on ``today``: the case list's row (the application's
    ``CaseRow``) is these and the child's name, when the viewer may see it."""

    child_id: UUID
    barnkontakt_staff_id: str | None
    barnkontakt_unit_id: str | None
    decision: str | None
    new_cards: int
    awaiting_feedback: int
    overdue_actions: int
    next_step_due: date | None
    no_next_step: bool
    closed: bool


def case_flags(doc: dict[str, Any], today: date) -> CaseFlags:
    """Flags for one child on ``today``. A case with no owner, or with no dated next step
    and nothing happening for a month, has no next step: someone must act."""
    open_actions = [a for a in doc["actions"] if not a["done"]]
    overdue = [a for a in open_actions if date.fromisoformat(a["due"]) < today]
    upcoming = [date.fromisoformat(a["due"]) for a in open_actions if date.fromisoformat(a["due"]) >= today]
    follow_up = date.fromisoformat(doc["next_follow_up"]) if doc["next_follow_up"] else None
    if follow_up is not None and follow_up >= today:
        upcoming.append(follow_up)
    closed = doc["needs_met_at"] is not None
    has_process = bool(doc["cards"]) or doc["decision"] is not None
    last = datetime.fromisoformat(doc["last_activity"]).date() if doc["last_activity"] else today
    stalled = today - last > STALE_AFTER and not upcoming
    no_owner = doc["barnkontakt"] is None
    owner = None if no_owner else doc["barnkontakt"]["staff_id"]
    overdue_follow_up = follow_up is not None and follow_up < today
    return CaseFlags(
        child_id=UUID(doc["child_id"]),
        barnkontakt_staff_id=doc["barnkontakt"]["staff_id"] if doc["barnkontakt"] else None,
        barnkontakt_unit_id=doc["barnkontakt"]["unit_id"] if doc["barnkontakt"] else None,
        decision=doc["decision"],
        new_cards=sum(1 for c in doc["cards"] if not c["taken_up"]),
        awaiting_feedback=sum(1 for c in doc["cards"] if not c["feedback_sent"] and c.get("from_user_id") != owner),
        overdue_actions=len(overdue),
        next_step_due=min(upcoming) if upcoming else None,
        no_next_step=has_process and not closed and (no_owner or stalled or (overdue_follow_up and not upcoming)),
        closed=closed,
    )


def concerns_unit(doc: dict[str, Any], unit_id: str) -> bool:
    """Whether a child belongs on this unit's list: it is the Barnkontakt's or the
    coordinator's unit, a unit of the child's team, or a card was sent to it."""
    if doc["barnkontakt"] and doc["barnkontakt"]["unit_id"] == unit_id:
        return True
    if doc["coordinator"] and doc["coordinator"]["unit_id"] == unit_id:
        return True
    if unit_id in doc.get("team_unit_ids", ()):
        return True  # a unit of the child's team follows the child too
    return any(c["to_unit_id"] == unit_id for c in doc["cards"])
