"""The team and the plan: the decision, ratings, the joint Behovskompass, the support
coordinator, Barnets plan and its follow-up."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consent.permissions import Action, StaffRef, Target
from contracts.indicators import indicators_for
from hub.application.commands import (
    AssignSupportCoordinator,
    CompletePlanAction,
    DecideTeam,
    HandOverSupportCoordinator,
    HoldFollowUp,
    HoldTeamMeeting,
    RecordNeedsMet,
    SubmitRating,
    UpdatePlan,
)
from hub.application.core import HubCore, handles, traced, typed
from hub.application.readmodels import Filed, MeetingFiled, PlanFiled, RatingFiled, RatingForm
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

    @traced("read")
    def rating_form(self, p: Principal, child_id: UUID) -> RatingForm:
        """The indicators the caller may score for the child now: those of the child's age
        group. It tells the age group and nothing else of the child, to whom the policy lets
        rate; the page that shows the form records its own read."""
        child = self._load(p.tenant_id, child_id)
        self._permit(p, Action.SUBMIT_RATING, child)
        group = child.rating_age_group(self.now())
        return RatingForm(child_id=child_id, age_group=group, indicators=[d.indicator for d in indicators_for(group)])

    @traced("read")
    def ratings_sent(self, p: Principal, child_id: UUID) -> int:
        """How many ratings the next joint Behovskompass will be drawn from: every rating sent
        since the team was decided or last met, also those the caller may not read.

        Only the number is told, and only to whom the policy lets hold the team meeting (who
        convenes it and must know whether the team has rated). It names no rater, unit, day,
        area or score, so it reveals no rating's content; that a rating exists is known to the
        team that is asked to rate, so counting every one reveals nothing the convener may not
        know, while counting only the visible ones would understate what the compass is drawn from."""
        child = self._load(p.tenant_id, child_id)
        self._permit(p, Action.HOLD_TEAM_MEETING, child)
        return len(child.ratings)

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

    def _coordinator_named(
        self, tenant_id: str, staff_id: str, deputy_staff_id: str | None
    ) -> tuple[Target, str, tuple[str, str] | None]:
        """The coordinator and deputy a command names, from the area's directory: what the
        policy is asked about, the coordinator's unit, and the deputy with theirs."""
        staff = self.directory.staff(tenant_id, staff_id)
        deputy = self.directory.staff(tenant_id, deputy_staff_id, "deputy_staff_id") if deputy_staff_id else None
        target = Target(
            staff=StaffRef(staff.user_id, staff.unit_id, staff.roles),
            deputy=StaffRef(deputy.user_id, deputy.unit_id, deputy.roles) if deputy else None,
        )
        return target, staff.unit_id or "", (deputy.user_id, deputy.unit_id or "") if deputy else None

    @handles(Action.APPOINT_SUPPORT_COORDINATOR, AssignSupportCoordinator)
    def assign_support_coordinator(
        self, p: Principal, child_id: UUID, command: AssignSupportCoordinator | None = None, **fields: Any
    ) -> Filed:
        """Utse stödsamordnare, with an ersättare if one is named."""
        cmd = typed(AssignSupportCoordinator, command, fields)
        target, unit_id, deputy = self._coordinator_named(p.tenant_id, cmd.staff_id, cmd.deputy_staff_id)
        staff_id = cmd.staff_id

        def verb(child: Child) -> Filed:
            self._permit(p, Action.APPOINT_SUPPORT_COORDINATOR, child, target)
            fact = child.assign_support_coordinator(
                actor=self._actor(p), at=self.now(), staff_id=staff_id, unit_id=unit_id, deputy=deputy
            )
            return Filed(child_id=child.id, event_id=fact.event_id, withheld_from_guardians=False)

        return self._command(p, child_id, verb)

    @handles(Action.HAND_OVER_SUPPORT_COORDINATOR, HandOverSupportCoordinator)
    def hand_over_support_coordinator(
        self, p: Principal, child_id: UUID, command: HandOverSupportCoordinator | None = None, **fields: Any
    ) -> Filed:
        """Lämna över stödsamordnarskapet: to another coordinator, with a reason."""
        cmd = typed(HandOverSupportCoordinator, command, fields)
        target, unit_id, deputy = self._coordinator_named(p.tenant_id, cmd.staff_id, cmd.deputy_staff_id)
        staff_id = cmd.staff_id

        def verb(child: Child) -> Filed:
            self._permit(p, Action.HAND_OVER_SUPPORT_COORDINATOR, child, target)
            fact = child.hand_over_support_coordinator(
                actor=self._actor(p), at=self.now(), staff_id=staff_id, unit_id=unit_id, reason=cmd.reason, deputy=deputy
            )
            return Filed(child_id=child.id, event_id=fact.event_id, withheld_from_guardians=False)

        return self._command(p, child_id, verb)

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
            held = child.hold_follow_up(
                actor=self._actor(p), at=self.now(), summary=cmd.summary, compass=tuple(cmd.compass),
                unmet_needs=tuple(cmd.unmet_needs),
            )
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
