"""Closing a case (ärendet avslutat) for a reason other than needs met: the family moved
away or declined. Needs met is recorded with its follow-up compass (:mod:`hub.application.team`).

:meth:`Closure.closure_status` is what the closing pages show: whether the case is closed,
and the plan actions still open, which must each be closed with a reason in the same step.
An action's text and responsible person are shown only when the policy lets the viewer see
the plan; its unit, due date and number always, since the one who closes the case must be
able to name what ends unfinished. The read is recorded like every other.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from consent import Information, PolicyRules, decide
from consent.permissions import Action
from consent.retention import whole_years
from contracts.vocabulary import SWEDISH_TIME, Category, ClosureReason, UnitKind
from hub.application.commands import CloseCase
from hub.application.core import HubCore, handles, traced, typed
from hub.application.readmodels import Filed, ReadModel
from hub.domain.child import Child
from hub.identity.principals import Principal

CLOSING_ACTS = (Action.CLOSE_CASE, Action.RECORD_NEEDS_MET)


class OpenAction(ReadModel):
    """A plan action still open: what closing the case must give a reason for."""

    action_id: str
    number: int
    unit_id: str
    due: date
    overdue: bool
    what: str | None
    responsible_person: str | None


class ClosureStatus(ReadModel):
    child_id: UUID
    closed_at: datetime | None
    reason: ClosureReason | None
    decided: bool
    """A decision is made: needs met can be recorded (it follows the decision)."""
    open_actions: list[OpenAction]


class Closure(HubCore):
    """Closing a case; what closure changes for reading is the consent policy's."""

    @handles(Action.CLOSE_CASE, CloseCase)
    def close_case(self, p: Principal, child_id: UUID, command: CloseCase | None = None, **fields: Any) -> Filed:
        cmd = typed(CloseCase, command, fields)

        def verb(child: Child) -> Filed:
            self._permit(p, Action.CLOSE_CASE, child)
            closed = child.close_case(
                actor=self._actor(p), at=self.now(), reason=cmd.reason, closed_actions=tuple(cmd.closed_actions)
            )
            return Filed(child_id=child.id, event_id=closed.event_id, withheld_from_guardians=False)

        return self._command(p, child_id, verb)

    def retention_periods(self, p: Principal) -> list[RetentionRow]:
        """The caller's area's retention periods, every kind and category (no child's information)."""
        self._permit(p, Action.READ_RETENTION)
        return retention_rows(self.rules, p.tenant_id)

    @traced("read")
    def closure_status(self, p: Principal, child_id: UUID, *, purpose: str = "Avslut av ärendet") -> ClosureStatus:
        """For whoever may close the case or record needs met: its state and open actions."""
        at = self.now()
        child = self._load(p.tenant_id, child_id)
        act = Action.RECORD_NEEDS_MET if self.may(p, Action.RECORD_NEEDS_MET, child_id) else Action.CLOSE_CASE
        self._permit(p, act, child)
        plan = Information(Category.PLAN, origin_unit_id=child.plan_unit_id, recorded_at=child.plan_recorded_at)
        seen = decide(self.viewer(p), child.facts(), plan, at, self.rules)
        open_ids = child.open_action_ids()
        if open_ids:
            self._record_access(
                p, child_id, view="closure", purpose=purpose,
                categories=(Category.PLAN,) if seen.allowed else (),
                bases=(seen.basis,) if seen.basis else (),
                denied=() if seen.allowed else (Category.PLAN,),
                at=at,
            )
        today = at.astimezone(SWEDISH_TIME).date()
        order = list(child.actions)
        actions = []
        for action_id in open_ids:
            a = child.actions[action_id].action
            actions.append(
                OpenAction(
                    action_id=action_id,
                    number=order.index(action_id) + 1,
                    unit_id=a.unit_id,
                    due=a.due,
                    overdue=a.due < today,
                    what=a.what if seen.allowed else None,
                    responsible_person=a.responsible_person if seen.allowed else None,
                )
            )
        return ClosureStatus(
            child_id=child_id,
            closed_at=child.closed_at,
            reason=child.closure_reason,
            decided=child.decision is not None,
            open_actions=actions,
        )


class RetentionRow(ReadModel):
    """One period of the area: a kind of unit, a category, the days, and whether the area set it."""

    unit_kind: UnitKind
    category: Category
    days: int
    years: int | None
    """The days in whole years, when they are."""
    set_by_area: bool


def retention_rows(rules: PolicyRules, tenant_id: str) -> list[RetentionRow]:
    periods = rules.retention.for_tenant(tenant_id)
    return [RetentionRow(unit_kind=k, category=c, days=d, years=whole_years(d), set_by_area=own) for k, c, d, own in periods.table()]
