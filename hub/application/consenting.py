"""Consent: requested by the Barnkontakt or coordinator, answered by guardians and the child."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from consent.permissions import Action, Target
from contracts.vocabulary import FamilyLanguage, PartyKind
from hub.application.commands import RequestConsent
from hub.application.core import HubCore, handles, typed
from hub.domain.child import Child
from hub.identity.principals import Principal, ViewerKind


class Consenting(HubCore):
    """Consent: requested by the Barnkontakt or coordinator, answered by guardians and the child."""

    @handles(Action.REQUEST_CONSENT, RequestConsent)
    def request_consent(self, p: Principal, child_id: UUID, command: RequestConsent | None = None, **fields: Any) -> UUID:
        cmd = typed(RequestConsent, command, fields)
        for i, r in enumerate(cmd.recipients):
            if r.unit_id:
                self.directory.unit(p.tenant_id, r.unit_id, f"recipients[{i}].unit_id")

        def verb(child: Child) -> UUID:
            self._permit(p, Action.REQUEST_CONSENT, child)
            return child.request_consent(
                actor=self._actor(p),
                at=self.now(),
                rules=self.rules,
                recipients=tuple(cmd.recipients),
                categories=tuple(cmd.categories),
                purpose=cmd.purpose,
                valid_until=cmd.valid_until,
            )

        return self._command(p, child_id, verb)

    def _answer(self, p: Principal, child_id: UUID, consent_id: UUID, answer: str, language: FamilyLanguage | None) -> None:
        party = (PartyKind.GUARDIAN if p.kind is ViewerKind.GUARDIAN else PartyKind.CHILD, p.party_id or "")

        def verb(child: Child) -> None:
            self._permit(p, Action.ANSWER_CONSENT, child, Target(consent_id=consent_id, withdrawal=answer == "withdraw_consent"))
            getattr(child, answer)(
                actor=self._actor(p), at=self.now(), rules=self.rules, consent_id=consent_id, party=party, language=language
            )

        self._command(p, child_id, verb)

    @handles(Action.ANSWER_CONSENT)
    def grant_consent(self, p: Principal, child_id: UUID, consent_id: UUID, *, language: FamilyLanguage | None = None) -> None:
        self._answer(p, child_id, consent_id, "grant_consent", language)

    @handles(Action.ANSWER_CONSENT)
    def decline_consent(self, p: Principal, child_id: UUID, consent_id: UUID, *, language: FamilyLanguage | None = None) -> None:
        self._answer(p, child_id, consent_id, "decline_consent", language)

    @handles(Action.ANSWER_CONSENT)
    def withdraw_consent(self, p: Principal, child_id: UUID, consent_id: UUID, *, language: FamilyLanguage | None = None) -> None:
        self._answer(p, child_id, consent_id, "withdraw_consent", language)
