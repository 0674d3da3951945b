"""The evaluation's figures per half-year term: how the support process is used.

Each figure is a count per tenant and term (``vt``, January to June; ``ht``, July to
December, in Swedish local time), computed from the facts alone:

==============================  ====================  =======================================
figure                          key                   what is counted
==============================  ====================  =======================================
``discovery_cards``             internal, external    discovery cards submitted
``child_conversations``         child, guardian       child conversations held, by with whom
``decisions``                   own_support,          decisions after the conversation
                                barnteam,
                                individual_team
``barnteam_meetings``           (none)                Barnteam meetings held
``barnteam_children``           (none)                children with a Barnteam meeting
``joint_compasses``             (none)                meetings that made a joint Behovskompass
``follow_up_conversations``     (none)                follow-up conversations held
``individual_teams``            (none)                children for whom an individual team
                                                      was decided
``individual_teams_with_plan``  (none)                children in an individual team whose
                                                      plan was written, changed or worked on
``needs_met``                   (none)                children whose needs were met, shown by
                                                      a follow-up Behovskompass
``home_visits``                 1 ... 6               home visits, by visit number
==============================  ====================  =======================================

A figure that counts children counts each child once per term: the children already
counted are kept (``figure_children``), so a second meeting for the same child in the
same term adds a meeting but not a child. Whether a child is in an individual team is
the latest decision for the child (``figure_decisions``).

**Erasure.** Counts are kept per child, and summed when read, so an erasure
(``RecordErased``) takes the child's part out of every term, as a view rebuilt from the
log would (no key opens the erased child's facts any more): the figures never depend on
whether the view followed the erasure or was built after it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from contracts.events import (
    ConversationHeld,
    DiscoveryCardSubmitted,
    FollowUpHeld,
    HomeVisitRecorded,
    NeedsMet,
    PlanActionCompleted,
    PlanUpdated,
    RecordErased,
    TeamDecided,
    TeamMeetingHeld,
)
from contracts.vocabulary import SWEDISH_TIME, CardKind, ConversationWith, Decision, HomeVisit
from projections.base import Page, PageProjection, View, ViewCursor, types_of

IN_LIST = 200
"""Children asked for in one ``IN (...)`` query."""

FIGURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("discovery_cards", tuple(k.value for k in CardKind)),
    ("child_conversations", tuple(w.value for w in ConversationWith)),
    ("decisions", tuple(d.value for d in Decision)),
    ("barnteam_meetings", ("",)),
    ("barnteam_children", ("",)),
    ("joint_compasses", ("",)),
    ("follow_up_conversations", ("",)),
    ("individual_teams", ("",)),
    ("individual_teams_with_plan", ("",)),
    ("needs_met", ("",)),
    ("home_visits", tuple(str(int(v)) for v in HomeVisit)),
)
"""Every figure with its keys, in the order the evaluation reports them."""

FIGURE_NAMES: tuple[str, ...] = tuple(name for name, _ in FIGURES)

BOUNDED_BY: dict[str, tuple[str, str]] = {
    "individual_teams": ("decisions", Decision.INDIVIDUAL_TEAM.value),
    "barnteam_children": ("barnteam_meetings", ""),
    "joint_compasses": ("barnteam_meetings", ""),
}
"""Figures that cannot exceed another figure's count in the same term, as they are counted
here: a child's individual team starts with an individual-team decision, and a child is
discussed, and a joint compass made, at a Barnteam meeting. Where the bounding count is
hidden, the figure is hidden too, or it would tell the least the hidden count can be."""

TERM_PATTERN = r"^[0-9]{4} (vt|ht)$"
"""A term as the figures name it: ``2026 vt`` or ``2026 ht``."""


def in_terms(term: str, first: str | None, last: str | None) -> bool:
    """Whether ``term`` lies from ``first`` to ``last``, both included (either may be open)."""
    at = term_order(term)
    return (first is None or term_order(first) <= at) and (last is None or at <= term_order(last))


CHILD_FIGURES = frozenset({"barnteam_children", "individual_teams", "individual_teams_with_plan", "needs_met"})
"""The figures that count children, each child once per term."""


def term_of(moment: datetime) -> str:
    """The half-year term of a moment in Swedish local time: ``"2026 vt"`` or ``"2026 ht"``."""
    local = moment.astimezone(SWEDISH_TIME)
    return f"{local.year} {'vt' if local.month <= 6 else 'ht'}"


def term_order(term: str) -> tuple[int, int]:
    """Terms in time order (``vt`` before ``ht`` of the same year)."""
    year, half = term.split(" ", 1)
    return int(year), 0 if half == "vt" else 1


def figure_order(figure: str, key: str) -> tuple[int, int]:
    for i, (name, keys) in enumerate(FIGURES):
        if name == figure:
            return i, keys.index(key) if key in keys else len(keys)
    return len(FIGURES), 0


class TermFiguresView(View):
    name = "term_figures"
    view_version = 1
    tables = ("figure_counts", "figure_children", "figure_decisions")
    table_statements = (
        "CREATE TABLE IF NOT EXISTS figure_counts ("
        "tenant_id TEXT NOT NULL, term TEXT NOT NULL, figure TEXT NOT NULL, key TEXT NOT NULL, "
        "child_id TEXT NOT NULL, count BIGINT NOT NULL, PRIMARY KEY (tenant_id, term, figure, key, child_id))",
        "CREATE INDEX IF NOT EXISTS figure_counts_child ON figure_counts (child_id)",
        "CREATE TABLE IF NOT EXISTS figure_children ("
        "tenant_id TEXT NOT NULL, term TEXT NOT NULL, figure TEXT NOT NULL, key TEXT NOT NULL, "
        "child_id TEXT NOT NULL, PRIMARY KEY (tenant_id, term, figure, key, child_id))",
        "CREATE INDEX IF NOT EXISTS figure_children_child ON figure_children (child_id)",
        "CREATE TABLE IF NOT EXISTS figure_decisions ("
        "child_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, decision TEXT NOT NULL)",
    )

    def counts(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tenant's figures: ``{term, figure, key, count}``, terms in time order and
        figures in the evaluation's order."""
        with self.read() as c:
            c.execute(
                "SELECT term, figure, key, SUM(count) AS count FROM figure_counts WHERE tenant_id = ? "
                "GROUP BY term, figure, key",
                (tenant_id,),
            )
            found = c.fetchall()
        out = [{"term": r["term"], "figure": r["figure"], "key": r["key"], "count": int(r["count"])} for r in found]
        out.sort(key=lambda r: (term_order(r["term"]), figure_order(r["figure"], r["key"])))
        return out


class TermFiguresProjection(PageProjection[TermFiguresView]):
    name = "term_figures"
    takes = types_of(
        DiscoveryCardSubmitted, ConversationHeld, TeamDecided, TeamMeetingHeld, FollowUpHeld, PlanUpdated,
        PlanActionCompleted, NeedsMet, HomeVisitRecorded,
    )

    def apply(self, c: ViewCursor, page: Page) -> None:
        """Counts for the page's facts, added to the stored ones in one statement; the
        children already counted and the latest decisions are read once per page. Facts
        are counted wherever the page ends, so the figures do not depend on how the log
        was cut into pages; an erasure deletes everything the view kept by the child's id."""
        keyed = [(str(fact.child_id), fact) for _, fact in page]  # each id made text once
        erased = {child for child, f in keyed if isinstance(f, RecordErased)}
        wanted = list(dict.fromkeys(child for child, _ in keyed))
        counted: set[tuple[str, str, str, str, str]] = set()
        decisions: dict[str, str] = {}
        for i in range(0, len(wanted), IN_LIST):
            chunk = wanted[i : i + IN_LIST]
            marks = ",".join("?" * len(chunk))
            c.execute(f"SELECT tenant_id, term, figure, key, child_id FROM figure_children WHERE child_id IN ({marks})", chunk)  # noqa: S608
            counted.update((r["tenant_id"], r["term"], r["figure"], r["key"], r["child_id"]) for r in c.fetchall())
            c.execute(f"SELECT child_id, decision FROM figure_decisions WHERE child_id IN ({marks})", chunk)  # noqa: S608
            decisions.update((r["child_id"], r["decision"]) for r in c.fetchall())

        counts: dict[tuple[str, str, str, str, str], int] = defaultdict(int)
        new_children: list[tuple[str, str, str, str, str]] = []
        changed: dict[str, tuple[str, str]] = {}

        def add(tenant: str, term: str, figure: str, key: str = "", *, child: str, once_per_child: bool = False) -> None:
            if once_per_child:
                mark = (tenant, term, figure, key, child)
                if mark in counted:
                    return
                counted.add(mark)
                new_children.append(mark)
            counts[(tenant, term, figure, key, child)] += 1

        for child, fact in keyed:
            tenant, term = fact.tenant_id, term_of(fact.occurred_at)
            if isinstance(fact, DiscoveryCardSubmitted):
                add(tenant, term, "discovery_cards", fact.kind.value, child=child)
            elif isinstance(fact, ConversationHeld):
                add(tenant, term, "child_conversations", fact.with_whom.value, child=child)
            elif isinstance(fact, TeamDecided):
                add(tenant, term, "decisions", fact.decision.value, child=child)
                decisions[child] = fact.decision.value
                changed[child] = (tenant, fact.decision.value)
                if fact.decision is Decision.INDIVIDUAL_TEAM:
                    add(tenant, term, "individual_teams", child=child, once_per_child=True)
            elif isinstance(fact, TeamMeetingHeld):
                add(tenant, term, "barnteam_meetings", child=child)
                add(tenant, term, "barnteam_children", child=child, once_per_child=True)
                if any(score.score is not None for score in fact.joint_compass):
                    add(tenant, term, "joint_compasses", child=child)
            elif isinstance(fact, FollowUpHeld):
                add(tenant, term, "follow_up_conversations", child=child)
            elif isinstance(fact, PlanUpdated | PlanActionCompleted):
                if decisions.get(child) == Decision.INDIVIDUAL_TEAM.value:
                    add(tenant, term, "individual_teams_with_plan", child=child, once_per_child=True)
            elif isinstance(fact, NeedsMet):
                add(tenant, term, "needs_met", child=child, once_per_child=True)
            elif isinstance(fact, HomeVisitRecorded):
                add(tenant, term, "home_visits", str(int(fact.visit)), child=child)

        if erased:
            gone = [(key,) for key in erased]
            c.executemany("DELETE FROM figure_children WHERE child_id = ?", gone)
            c.executemany("DELETE FROM figure_decisions WHERE child_id = ?", gone)
            c.executemany("DELETE FROM figure_counts WHERE child_id = ?", gone)
        c.executemany("INSERT INTO figure_children VALUES (?, ?, ?, ?, ?)", [m for m in new_children if m[4] not in erased])
        c.executemany(
            "INSERT INTO figure_decisions VALUES (?, ?, ?) ON CONFLICT (child_id) "
            "DO UPDATE SET tenant_id = excluded.tenant_id, decision = excluded.decision",
            [(child, tenant, decision) for child, (tenant, decision) in changed.items() if child not in erased],
        )
        c.executemany(
            "INSERT INTO figure_counts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, term, figure, key, child_id) "
            "DO UPDATE SET count = figure_counts.count + excluded.count",
            [(*key, n) for key, n in counts.items() if key[4] not in erased],
        )


__all__ = [
    "CHILD_FIGURES",
    "FIGURES",
    "FIGURE_NAMES",
    "TERM_PATTERN",
    "BOUNDED_BY",
    "TermFiguresProjection",
    "TermFiguresView",
    "figure_order",
    "in_terms",
    "term_of",
    "term_order",
]
