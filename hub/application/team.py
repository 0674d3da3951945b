"""The team and the plan: the decision, ratings, the joint Behovskompass, the support
coordinator, Barnets plan and its follow-up."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consent.permissions import Action, StaffRef, Target
from hub.application.commands import (
    AssignSupportCoordinator,
    CompletePlanAction,
    DecideTeam,
    HoldFollowUp,
    HoldTeamMeeting,
    RecordNeedsMet,
    SubmitRating,
    UpdatePlan,
)
from hub.application.core import HubCore, handles, typed
from hub.application.readmodels import Filed, MeetingFiled, PlanFiled, RatingFiled
from hub.domain.child import Child
from hub.errors import InvalidInputError
from hub.identity.principals import Principal


class TeamAndPlan(HubCore):
    """The team and the plan: the decision, ratings, the joint Behovskompass, the support
    coordinator, Barnets plan and its follow-up."""

    @handles(Action.DECIDE_TEAM, DecideTeam)
    def decide_team(self, p: Principal, child_id: UUID, command: DecideTeam | None = None, **fields: Any) -> Filed:
        cmd = typed(DecideTeam, command, fields)
        members = self._units(p.tenant_id, cmd.member_unit_ids, "member_unit_ids")

        def verb(child: Child) -> Filed:
            self._permit(p, Action.DECIDE_TEAM, child)
            fact = child.decide_team(
                actor=self._actor(p),
                at=self.now(),
                decision=cmd.decision,
                family_informed=cmd.family_informed,
                shared_categories=tuple(cmd.shared_categories),
                member_unit_ids=members,
                rationale=cmd.rationale,
            )
            return self._filed(p, child, fact.event_id, withheld_from_guardians=cmd.withheld_from_guardians)

        return self._command(p, child_id, verb)

    @handles(Action.SUBMIT_RATING, SubmitRating)
    def submit_rating(self, p: Principal, child_id: UUID, command: SubmitRating | None = None, **fields: Any) -> RatingFiled:
        cmd = typed(SubmitRating, command, fields)

        def verb(child: Child) -> RatingFiled:
            self._permit(p, Action.SUBMIT_RATING, child)
            rating = child.submit_rating(actor=self._actor(p), at=self.now(), scores=tuple(cmd.scores))
            filed = self._filed(p, child, rating.event_id, withheld_from_guardians=cmd.withheld_from_guardians)
            return RatingFiled(**filed.model_dump(), rating_id=rating.rating_id)

        return self._command(p, child_id, verb)

    @handles(Action.HOLD_TEAM_MEETING, HoldTeamMeeting)
    def hold_team_meeting(
        self, p: Principal, child_id: UUID, command: HoldTeamMeeting | None = None, **fields: Any
    ) -> MeetingFiled:
        cmd = typed(HoldTeamMeeting, command, fields)
        units = self._units(p.tenant_id, cmd.participant_unit_ids, "participant_unit_ids")

        def verb(child: Child) -> MeetingFiled:
            self._permit(p, Action.HOLD_TEAM_MEETING, child)
            meeting = child.hold_team_meeting(actor=self._actor(p), at=self.now(), participant_unit_ids=units, advice=cmd.advice)
            filed = self._filed(p, child, meeting.event_id, withheld_from_guardians=cmd.withheld_from_guardians)
            return MeetingFiled(**filed.model_dump(), joint_compass=[s.model_dump(mode="json") for s in meeting.joint_compass])

        return self._command(p, child_id, verb)

    @handles(Action.APPOINT_SUPPORT_COORDINATOR, AssignSupportCoordinator)
    def assign_support_coordinator(
        self, p: Principal, child_id: UUID, command: AssignSupportCoordinator | None = None, **fields: Any
    ) -> None:
        cmd = typed(AssignSupportCoordinator, command, fields)
        staff = self.directory.staff(p.tenant_id, cmd.staff_id)
        target = Target(staff=StaffRef(staff.user_id, staff.unit_id, staff.roles))

        def verb(child: Child) -> None:
            self._permit(p, Action.APPOINT_SUPPORT_COORDINATOR, child, target)
            child.assign_support_coordinator(actor=self._actor(p), at=self.now(), staff_id=cmd.staff_id, unit_id=staff.unit_id or "")

        self._command(p, child_id, verb)

    @handles(Action.UPDATE_PLAN, UpdatePlan)
    def update_plan(self, p: Principal, child_id: UUID, command: UpdatePlan | None = None, **fields: Any) -> PlanFiled:
        cmd = typed(UpdatePlan, command, fields)
        for i, a in enumerate(cmd.actions):
            self.directory.unit(p.tenant_id, a.unit_id, f"actions[{i}].unit_id")
        numbered = [{**a.model_dump(), "action_id": a.action_id or f"a{i + 1}"} for i, a in enumerate(cmd.actions)]
        ids = [a["action_id"] for a in numbered]
        if len(set(ids)) != len(ids):
            raise InvalidInputError("two plan actions share an action_id", field="actions")

        def verb(child: Child) -> PlanFiled:
            self._permit(p, Action.UPDATE_PLAN, child)
            plan = child.update_plan(
                actor=self._actor(p),
                at=self.now(),
                goals=tuple(cmd.goals),
                actions=tuple(numbered),
                child_view=cmd.child_view,
                guardian_view=cmd.guardian_view,
                next_follow_up=cmd.next_follow_up,
            )
            filed = self._filed(p, child, plan.event_id, withheld_from_guardians=cmd.withheld_from_guardians)
            return PlanFiled(**filed.model_dump(), plan_version=plan.plan_version)

        return self._command(p, child_id, verb)

    @handles(Action.COMPLETE_PLAN_ACTION, CompletePlanAction)
    def complete_plan_action(
        self, p: Principal, child_id: UUID, command: CompletePlanAction | None = None, *, action_id: str, **fields: Any
    ) -> Filed:
        cmd = typed(CompletePlanAction, command, fields)

        def verb(child: Child) -> Filed:
            state = child.actions.get(action_id)
            target = Target(action_unit_id=state.action.unit_id if state is not None else None)
            self._permit(p, Action.COMPLETE_PLAN_ACTION, child, target)
            done = child.complete_plan_action(actor=self._actor(p), at=self.now(), action_id=action_id, note=cmd.note)
            return self._filed(p, child, done.event_id, withheld_from_guardians=cmd.withheld_from_guardians)

        return self._command(p, child_id, verb)

    @handles(Action.HOLD_FOLLOW_UP, HoldFollowUp)
    def hold_follow_up(self, p: Principal, child_id: UUID, command: HoldFollowUp | None = None, **fields: Any) -> Filed:
        cmd = typed(HoldFollowUp, command, fields)

        def verb(child: Child) -> Filed:
            self._permit(p, Action.HOLD_FOLLOW_UP, child)
            held = child.hold_follow_up(actor=self._actor(p), at=self.now(), summary=cmd.summary, compass=tuple(cmd.compass))
            return self._filed(p, child, held.event_id, withheld_from_guardians=cmd.withheld_from_guardians)

        return self._command(p, child_id, verb)

    @handles(Action.RECORD_NEEDS_MET, RecordNeedsMet)
    def record_needs_met(self, p: Principal, child_id: UUID, command: RecordNeedsMet | None = None, **fields: Any) -> Filed:
        cmd = typed(RecordNeedsMet, command, fields)

        def verb(child: Child) -> Filed:
            self._permit(p, Action.RECORD_NEEDS_MET, child)
            met = child.record_needs_met(
                actor=self._actor(p),
                at=self.now(),
                follow_up_compass=tuple(cmd.follow_up_compass),
                summary=cmd.summary,
                closed_actions=tuple(cmd.closed_actions),
            )
            return self._filed(p, child, met.event_id, withheld_from_guardians=cmd.withheld_from_guardians)

        return self._command(p, child_id, verb)
