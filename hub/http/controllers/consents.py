"""Consent: requested by the Barnkontakt or coordinator, answered by guardians and the child."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller
from litestar.params import FromPath, JSONBody, QueryParameter

from contracts.vocabulary import FamilyLanguage
from hub.application.commands import RequestConsent
from hub.application.readmodels import ConsentOut
from hub.http.controllers._base import Caller, ChildId, Hub, command, query
from hub.http.problems import problem_responses
from hub.http.schemas import ConsentCreated, Done

ANSWER_PROBLEMS = problem_responses(403, 404, 409, 422)
Language = Annotated[
    FamilyLanguage | None,
    QueryParameter(description="The language the request was shown in by an e-service that took the answer; its receipt is given in it"),
]


class ConsentController(Controller):
    path = "/children/{child_id:uuid}/consents"
    tags = ["consent"]

    @command("/", summary="Ask the family for consent", responses=problem_responses(403, 404, 409, 422))
    def request_consent(self, hub: Hub, caller: Caller, child_id: ChildId, data: JSONBody[RequestConsent]) -> ConsentCreated:
        consent_id = hub.request_consent(caller, child_id, **data.values())
        return ConsentCreated(child_id=child_id, consent_id=consent_id)

    @query("/", summary="Each consent: what, to whom, why, until when, who has answered", responses=problem_responses(403, 404))
    def overview(self, hub: Hub, caller: Caller, child_id: ChildId) -> list[ConsentOut]:
        return hub.consent_overview(caller, child_id)

    @command("/{consent_id:uuid}/grant", summary="Grant (guardian or child)", responses=ANSWER_PROBLEMS)
    def grant(self, hub: Hub, caller: Caller, child_id: ChildId, consent_id: FromPath[UUID], language: Language = None) -> Done:
        hub.grant_consent(caller, child_id, consent_id, language=language)
        return Done(child_id=child_id)

    @command("/{consent_id:uuid}/decline", summary="Decline (guardian or child)", responses=ANSWER_PROBLEMS)
    def decline(self, hub: Hub, caller: Caller, child_id: ChildId, consent_id: FromPath[UUID], language: Language = None) -> Done:
        hub.decline_consent(caller, child_id, consent_id, language=language)
        return Done(child_id=child_id)

    @command(
        "/{consent_id:uuid}/withdraw",
        summary="Withdraw (guardian or child): ends the consent at once",
        responses=ANSWER_PROBLEMS,
    )
    def withdraw(self, hub: Hub, caller: Caller, child_id: ChildId, consent_id: FromPath[UUID], language: Language = None) -> Done:
        hub.withdraw_consent(caller, child_id, consent_id, language=language)
        return Done(child_id=child_id)
