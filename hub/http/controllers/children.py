"""Children: registration, and the views of one child a caller may have."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response
from litestar.params import JSONBody, QueryParameter

from hub.application.commands import RegisterChild
from hub.application.readmodels import ChildView, FamilyAccessEntry, Timeline
from hub.http.controllers._base import Caller, ChildId, Hub, command, is_family, query
from hub.http.problems import problem_responses
from hub.http.schemas import ChildCreated, GuardianLinkAnswer, GuardiansChecked

Purpose = Annotated[
    str | None,
    QueryParameter(
        min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$",
        description="Why you look, on one line without control characters; written to the access log the family and auditors see",
    ),
]


class ChildrenController(Controller):
    path = "/children"
    tags = ["children"]

    @command("/", summary="Register a child", responses=problem_responses(403, 409, 422))
    def register(self, hub: Hub, caller: Caller, data: JSONBody[RegisterChild]) -> Response[ChildCreated]:
        """The child's id is derived from the identity number; registering twice answers 409 with that id."""
        child_id = hub.register_child(caller, **data.values())
        return Response(
            ChildCreated(child_id=child_id), status_code=201, headers={"Location": f"/api/v1/children/{child_id}"}
        )

    @query("/{child_id:uuid}", summary="The child as the caller may see it now", responses=problem_responses(403, 404))
    def read(self, hub: Hub, caller: Caller, child_id: ChildId, purpose: Purpose = None) -> ChildView:
        """A unit's view, or the family's view for a guardian or the child: only what consent or the law allows now."""
        family = is_family(caller)
        return hub.read_child(
            caller,
            child_id,
            purpose=purpose or ("family view" if family else "unit view"),
            view="family_view" if family else "unit_view",
        )

    @query("/{child_id:uuid}/timeline", summary="The child's steps in order", responses=problem_responses(403, 404))
    def timeline(self, hub: Hub, caller: Caller, child_id: ChildId, purpose: Purpose = None) -> Timeline:
        return hub.timeline(caller, child_id, purpose=purpose or "timeline")

    @query(
        "/{child_id:uuid}/access-log",
        summary="Who has seen the child's information (for the guardians and the child)",
        responses=problem_responses(403, 404),
    )
    def access_log(self, hub: Hub, caller: Caller, child_id: ChildId) -> list[FamilyAccessEntry]:
        return hub.family_access_log(caller, child_id)

    @command(
        "/{child_id:uuid}/guardians/check",
        status_code=200,
        summary="Check the guardians with custody against the population register again",
        responses=problem_responses(403, 404, 503),
    )
    def check_guardians(self, hub: Hub, caller: Caller, child_id: ChildId) -> GuardiansChecked:
        """A guardian has a say only once the register confirms the custody; when it could not be
        reached at registration, or custody may have changed, the registering unit, the
        Barnkontakt's unit or the administrator asks again. 503 when the register cannot be reached."""
        answers = hub.check_guardians(caller, child_id)
        return GuardiansChecked(
            child_id=child_id, guardians=[GuardianLinkAnswer(guardian_id=g, answer=a) for g, a in sorted(answers.items())]
        )
