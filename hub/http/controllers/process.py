"""The support process for one child: each step a command the core checks and records."""

from __future__ import annotations

from litestar import Controller
from litestar.params import FromPath, JSONBody

from hub.application.commands import (
    AssignBarnkontakt,
    AssignSupportCoordinator,
    CloseCase,
    CompletePlanAction,
    DecideTeam,
    DelegateBarnkontakt,
    FileConcernReport,
    HandOverSupportCoordinator,
    HoldConversation,
    HoldFollowUp,
    HoldTeamMeeting,
    RecordHomeVisit,
    RecordNeedsMet,
    SendFeedback,
    ShareAgencySummary,
    SubmitDiscoveryCard,
    SubmitRating,
    UpdatePlan,
    WithholdInformation,
)
from hub.http.controllers._base import Caller, ChildId, Hub, command, replace
from hub.http.problems import problem_responses
from hub.http.schemas import (
    CardCreated,
    ConversationCreated,
    Done,
    FactCreated,
    MeetingHeld,
    PlanSaved,
    RatingCreated,
    ReportCreated,
)

STEP_PROBLEMS = problem_responses(403, 404, 409, 422)


class SupportProcessController(Controller):
    path = "/children/{child_id:uuid}"
    tags = ["support process"]

    @command("/discovery-cards", summary="Submit a discovery card (Upptäckarkort)", responses=STEP_PROBLEMS)
    def submit_discovery_card(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[SubmitDiscoveryCard]) -> CardCreated:
        return CardCreated.model_validate(hub.submit_discovery_card(caller, child_id, **data.values()).model_dump())

    @command("/barnkontakt", summary="Assign the child's Barnkontakt", responses=STEP_PROBLEMS)
    def assign_barnkontakt(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[AssignBarnkontakt]) -> Done:
        hub.assign_barnkontakt(caller, child_id, **data.values())
        return Done(child_id=child_id)

    @command("/barnkontakt/delegations", summary="Delegate the Barnkontakt role", responses=STEP_PROBLEMS)
    def delegate_barnkontakt(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[DelegateBarnkontakt]) -> Done:
        hub.delegate_barnkontakt(caller, child_id, **data.values())
        return Done(child_id=child_id)

    @command(
        "/discovery-cards/{card_id:str}/feedback",
        summary="Tell the discoverer what happens next (återkoppling)",
        responses=STEP_PROBLEMS,
    )
    def send_feedback(self, hub: Hub, caller: Caller, child_id: ChildId, card_id: FromPath[str], data: JSONBody[SendFeedback]) -> Done:
        hub.send_feedback(caller, child_id, card_id=card_id, **data.values())
        return Done(child_id=child_id)

    @command("/conversations", summary="Record a conversation with the child or a guardian", responses=STEP_PROBLEMS)
    def hold_conversation(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[HoldConversation]) -> ConversationCreated:
        return ConversationCreated.model_validate(hub.hold_conversation(caller, child_id, **data.values()).model_dump())

    @command(
        "/team-decisions",
        summary="Decide: own support, Barnteam or individual team",
        responses=STEP_PROBLEMS,
    )
    def decide_team(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[DecideTeam]) -> FactCreated:
        return FactCreated.model_validate(hub.decide_team(caller, child_id, **data.values()).model_dump())

    @command("/ratings", summary="Submit a rating form (Skattningsformulär)", responses=STEP_PROBLEMS)
    def submit_rating(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[SubmitRating]) -> RatingCreated:
        return RatingCreated.model_validate(hub.submit_rating(caller, child_id, **data.values()).model_dump())

    @command("/team-meetings", summary="Hold a Barnteam meeting: the joint Behovskompass", responses=STEP_PROBLEMS)
    def hold_team_meeting(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[HoldTeamMeeting]) -> MeetingHeld:
        return MeetingHeld.model_validate(hub.hold_team_meeting(caller, child_id, **data.values()).model_dump())

    @command("/support-coordinator", summary="Assign a support coordinator (Stödsamordnare)", responses=STEP_PROBLEMS)
    def assign_support_coordinator(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[AssignSupportCoordinator]) -> Done:
        hub.assign_support_coordinator(caller, child_id, **data.values())
        return Done(child_id=child_id)

    @command("/support-coordinator/hand-over", summary="Hand the support coordinator's role over, with a reason", responses=STEP_PROBLEMS)
    def hand_over_support_coordinator(
        self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[HandOverSupportCoordinator]
    ) -> Done:
        hub.hand_over_support_coordinator(caller, child_id, **data.values())
        return Done(child_id=child_id)

    @replace("/plan", summary="Write the child's plan (Barnets plan), replacing the previous version", responses=STEP_PROBLEMS)
    def update_plan(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[UpdatePlan]) -> PlanSaved:
        return PlanSaved.model_validate(hub.update_plan(caller, child_id, **data.values()).model_dump())

    @command(
        "/plan/actions/{action_id:str}/completion",
        summary="Mark a plan action done",
        responses=STEP_PROBLEMS,
    )
    def complete_plan_action(
        self, hub: Hub, caller: Caller, child_id: ChildId, action_id: FromPath[str], data: JSONBody[CompletePlanAction]
    ) -> FactCreated:
        return FactCreated.model_validate(hub.complete_plan_action(caller, child_id, action_id=action_id, **data.values()).model_dump())

    @command("/follow-ups", summary="Record a follow-up conversation", responses=STEP_PROBLEMS)
    def hold_follow_up(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[HoldFollowUp]) -> FactCreated:
        return FactCreated.model_validate(hub.hold_follow_up(caller, child_id, **data.values()).model_dump())

    @command("/needs-met", summary="The follow-up compass shows the needs met; the case closes", responses=STEP_PROBLEMS)
    def record_needs_met(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[RecordNeedsMet]) -> FactCreated:
        return FactCreated.model_validate(hub.record_needs_met(caller, child_id, **data.values()).model_dump())

    @command("/closure", summary="Close the case: the family moved away or declined", responses=STEP_PROBLEMS)
    def close_case(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[CloseCase]) -> FactCreated:
        return FactCreated.model_validate(hub.close_case(caller, child_id, **data.values()).model_dump())

    @command("/concern-reports", summary="File a concern report to social services (statutory)", responses=STEP_PROBLEMS)
    def file_concern_report(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[FileConcernReport]) -> ReportCreated:
        return ReportCreated.model_validate(hub.file_concern_report(caller, child_id, **data.values()).model_dump())

    @command("/home-visits", summary="Record a visit of the extended home-visit programme", responses=STEP_PROBLEMS)
    def record_home_visit(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[RecordHomeVisit]) -> FactCreated:
        return FactCreated.model_validate(hub.record_home_visit(caller, child_id, **data.values()).model_dump())

    @command("/agency-summaries", summary="Share what matters from your own agency", responses=STEP_PROBLEMS)
    def share_agency_summary(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[ShareAgencySummary]) -> FactCreated:
        return FactCreated.model_validate(hub.share_agency_summary(caller, child_id, **data.values()).model_dump())

    @command(
        "/withheld-information",
        summary="Put earlier facts under secrecy towards the guardians, or only who filed a concern report",
        responses=STEP_PROBLEMS,
    )
    def withhold_information(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[WithholdInformation]) -> Done:
        hub.withhold_information(caller, child_id, **data.values())
        return Done(child_id=child_id)
