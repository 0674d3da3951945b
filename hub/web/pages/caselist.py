"""The case list page: "Mina barn" (my children) and "Min enhets barn" (my unit's children),
one row per child, each with who does what next by when, the groups that need action,
filters by group and unit, and a search by name or personnummer.

The core answers the rows of a list (and records each as read); the groups and the unit
filter only choose which of them the page shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.application.readmodels import CaseGroup, CaseRow, CaseScope, NextStepOut, Step
from hub.errors import InvalidInputError
from hub.identity.principals import Principal
from hub.web.app import Web
from hub.web.filters import format_day
from hub.web.pages.forms import Problems, problems_from
from hub.web.session import Visitor

GROUPS: tuple[tuple[str, str], ...] = (
    ("", "All open cases"),
    (CaseGroup.NEW_CARDS.value, "New discovery cards"),
    (CaseGroup.FEEDBACK_OWED.value, "Feedback owed"),
    (CaseGroup.OVERDUE_ACTIONS.value, "Overdue actions"),
    (CaseGroup.CONSENT_EXPIRING.value, "Consent expiring"),
    (CaseGroup.CONSENT_WITHDRAWN.value, "Consent withdrawn"),
    (CaseGroup.NO_NEXT_STEP.value, "No next step"),
    ("closed", "Closed cases"),
)
"""The groups the page offers, in the order a working day takes them: "" is every open case."""

SCOPES: tuple[tuple[str, str], ...] = ((CaseScope.MINE.value, "My children"), (CaseScope.UNIT.value, "My unit's children"))


@dataclass
class CaseListPage:
    """What the template shows: the chosen filters, the groups with their counts, the rows."""

    scope: str
    group: str
    unit: str
    query: str
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    units: list[tuple[str, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    total: int = 0

    @property
    def heading(self) -> str:
        return dict(GROUPS).get(self.group, GROUPS[0][1])


def case_list_page(web: Web, who: Visitor, p: Principal, *, scope: str, group: str, unit: str, query: str) -> CaseListPage:
    """The page's rows for the filters asked for; a filter that is not one of the page's
    choices is named as the problem, and no row is read."""
    page = CaseListPage(scope=scope or CaseScope.MINE.value, group=group, unit=unit, query=query[:200])
    problems = Problems(who, {})
    if page.scope not in {s for s, _ in SCOPES}:
        problems.add("scope", "Choose my children or my unit's children.")
    if group not in {g for g, _ in GROUPS}:
        problems.add("group", "Choose one of the groups in the list.")
    units = web.hub.directory.tenants[p.tenant_id].units
    if unit and unit not in units:
        problems.add("unit", "Choose one of the units in the list.")
    if problems:
        page.errors = problems.by_field
        return page
    try:
        rows = web.hub.case_list(p, purpose="Barnkontakt: case list", scope=CaseScope(page.scope), query=query)
    except InvalidInputError as e:
        page.errors = problems_from(who, e, lambda _: "q").by_field
        return page
    page.total = len(rows)
    page.counts = {g: sum(1 for r in rows if _in_group(r, g)) for g, _ in GROUPS}
    page.units = sorted({(u, units[u].name) for r in rows for u in r.unit_ids if u in units}, key=lambda u: u[1])
    shown = [r for r in rows if _in_group(r, group) and (not unit or unit in r.unit_ids)]
    shown.sort(key=_urgency)
    page.rows = [_row(web, who, p, r) for r in shown]
    return page


def _in_group(row: CaseRow, group: str) -> bool:
    if group == "closed":
        return row.closed
    if row.closed:
        return False
    return not group or CaseGroup(group) in row.groups


def _urgency(row: CaseRow) -> tuple[int, str, str]:
    """The cases that need action first, then by the date of their next step."""
    step = row.next_step
    due = step.due.isoformat() if step and step.due else "9999"
    return (0 if row.groups else 1, due, row.name or "")


def _row(web: Web, who: Visitor, p: Principal, row: CaseRow) -> dict[str, Any]:
    return {
        "row": row,
        "name": row.name or who.t("A child whose name you may not see"),
        "next": next_step_text(web, who, p, row.next_step, row) if row.next_step else "",
        "overdue": bool(row.next_step and row.next_step.overdue),
        "barnkontakt": _person(web, p, row.barnkontakt_staff_id, row.barnkontakt_unit_id),
        "coordinator": _person(web, p, row.coordinator_staff_id, row.coordinator_unit_id),
        "groups": [label for g, label in GROUPS if g and g != "closed" and CaseGroup(g) in row.groups],
    }


def _person(web: Web, p: Principal, staff_id: str | None, unit_id: str | None) -> str:
    """A member of staff by name and unit, as the directory names them."""
    tenant = web.hub.directory.tenants[p.tenant_id]
    staff = tenant.staff.get(staff_id or "")
    unit = tenant.units.get(unit_id or "") or (tenant.units.get(staff.unit_id or "") if staff else None)
    names = [n for n in (staff.name if staff else None, unit.name if unit else None) if n]
    if len(names) == 2:
        return f"{names[0]} ({names[1]})"
    return names[0] if names else ""


def next_step_text(web: Web, who: Visitor, p: Principal, step: NextStepOut, row: CaseRow) -> str:
    """Who does what by when, as a sentence in the visitor's language."""
    who_acts = _person(web, p, step.staff_id, step.unit_id)
    if step.step is Step.ACTION and step.person:
        unit = web.hub.directory.tenants[p.tenant_id].units.get(step.unit_id or "")
        who_acts = f"{step.person} ({unit.name})" if unit else step.person
    due = format_day(step.due, "long", who.language) if step.due else ""
    texts = {
        Step.APPOINT_BARNKONTAKT: ("{who} should take up the card and appoint a Barnkontakt", {}),
        Step.FEEDBACK: (
            "{who} should give feedback to {to} by {date}",
            {"to": _person(web, p, step.to_staff_id, step.to_unit_id) or who.t("the discoverer")},
        ),
        Step.DECIDE: ("{who} should hold the child conversation and decide on support", {}),
        Step.APPOINT_COORDINATOR: ("{who} should appoint a support coordinator", {}),
        Step.PLAN: ("{who} should draw up Barnets plan", {}),
        Step.TEAM_MEETING: ("{who} should hold the Barnteam meeting", {}),
        Step.FOLLOW_UP: ("{who} holds the follow-up by {date}", {}),
        Step.SET_NEXT_STEP: ("{who} should set the next step of the plan", {}),
    }
    if step.step is Step.ACTION:
        if step.what:
            return who.t("{who}: {what}, by {date}", who=who_acts, what=step.what, date=due)
        return who.t("{who}: a step of the plan, by {date}", who=who_acts, date=due)
    text, extra = texts[step.step]
    return who.t(text, who=who_acts or who.t("Nobody yet"), date=due, **extra)


def scope_links(page: CaseListPage) -> Sequence[tuple[str, str, bool]]:
    return [(s, label, s == page.scope) for s, label in SCOPES]
