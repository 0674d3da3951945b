"""The digital conversation: the Barnkontakt invites the child or a guardian, who answers the
age group's questions on their own phone, without signing in (the evaluation's "Genomföra
Barnsamtal med vårdnadshavare digitalt genom enkät", seed 002).

The Barnkontakt is handed a link and a short code, shown once: only a keyed digest of each
is kept (:mod:`hub.identity.invitation_store`), and the invitation itself is a fact in the
child's log (``ConversationInvited``). Whoever holds the link or the code answers as the
party the invitation names, once, before it ends; the answers are the conversation's
record (``ConversationHeld`` marked digital, at the inviting unit). A link or code that
opens nothing now (never made, mistyped, used, withdrawn, ended, the record erased, the
guardian's custody gone) gets one and the same answer, :class:`InvitationNotValidError`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

from consent.permissions import Action, Target
from contracts.events import Actor
from contracts.vocabulary import AgeGroup, Category, ConversationWith, LegalBasis, PartyKind, Role
from hub.application.commands import AnswerConversation, InviteToConversation
from hub.application.core import HubCore, handles, traced, typed
from hub.application.readmodels import ChildView, ConversationFiled, ReadModel
from hub.domain.child import Child, Invitation
from hub.errors import (
    ChildNotFoundError,
    ConflictError,
    InvalidInputError,
    NotPermittedError,
    OutOfOrderError,
    RecordErasedError,
)
from hub.identity.invitation_store import InvitationEntry
from hub.identity.principals import Principal, ViewerKind

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
"""Letters and digits that are not mistaken for each other when read aloud or typed (no I, L, O, 0, 1)."""
CODE_LENGTH = 10
"""About 50 bits: with the rate limit on tries, far beyond guessing while the code works."""
MAX_SECRET = 200
"""A link's secret or a code longer than this is refused unread."""
OPENED_VIEW = "conversation_survey"
OPENED_PURPOSE = "Digitalt samtal: frågorna visas för den som är inbjuden"


class InvitationNotValidError(NotPermittedError):
    """The one answer to a link or code that opens nothing now, whatever the reason, so the
    answer tells nothing of whether it ever existed or whose it was."""

    def __init__(self) -> None:
        super().__init__("this link or code does not work", field="code")


class InvitationMade(ReadModel):
    """A new invitation: the link's secret and the code, shown to the Barnkontakt this once."""

    child_id: UUID
    invitation_id: str
    link_secret: str
    code: str
    """Grouped in fives for reading aloud (``ABCDE-FGHJK``)."""
    expires_at: datetime


class SurveyForm(ReadModel):
    """What the answer page may show: the child's first name, whom it asks, and the age group's questions."""

    greeting_name: str
    with_whom: ConversationWith
    age_group: AgeGroup
    expires_at: datetime


class InvitationStatus(ReadModel):
    """One invitation as the Barnkontakt follows it."""

    invitation_id: str
    with_whom: ConversationWith
    guardian_id: str | None
    age_group: AgeGroup
    invited_at: datetime
    expires_at: datetime
    state: Literal["open", "answered", "withdrawn", "expired"]
    answered_at: datetime | None = None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def shown_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def normal_code(text: str) -> str | None:
    """A code as typed (any case, spaces or dashes), or None if it cannot be one."""
    cleaned = "".join(c for c in text.upper() if c not in " -\t")
    if len(cleaned) == CODE_LENGTH and all(c in CODE_ALPHABET for c in cleaned):
        return cleaned
    return None


def invitation_statuses(view: ChildView) -> list[InvitationStatus]:
    """The invitations the viewer may see in a child's record, newest first, each with where it stands."""
    answered = {c["invitation_id"]: c["occurred_at"] for c in view.merged("ConversationHeld") if c.get("invitation_id")}
    withdrawn = {w["invitation_id"] for w in view.merged("ConversationInvitationWithdrawn") if "invitation_id" in w}
    out = []
    for i in view.merged("ConversationInvited"):
        if "invitation_id" not in i:
            continue
        expires = datetime.fromisoformat(i["expires_at"])
        key = i["invitation_id"]
        state: Literal["open", "answered", "withdrawn", "expired"] = (
            "answered" if key in answered else "withdrawn" if key in withdrawn else "expired" if view.as_of >= expires else "open"
        )
        out.append(
            InvitationStatus(
                invitation_id=key, with_whom=ConversationWith(i["with_whom"]), guardian_id=i.get("guardian_id"),
                age_group=AgeGroup(i["age_group"]), invited_at=i["occurred_at"], expires_at=expires, state=state,
                answered_at=answered.get(key),
            )
        )
    return sorted(out, key=lambda s: s.invited_at, reverse=True)


def _respondent(child: Child, invitation: Invitation) -> Principal:
    """The party the invitation names, as the caller the policy is asked about."""
    kind, party = invitation.party
    if kind is PartyKind.GUARDIAN:
        return Principal(ViewerKind.GUARDIAN, child.tenant_id, party, frozenset({Role.GUARDIAN}), party_id=party)
    child_party = str(child.id)
    return Principal(ViewerKind.CHILD, child.tenant_id, child_party, frozenset({Role.CHILD}), party_id=child_party)


NOT_OPEN = (ChildNotFoundError, RecordErasedError, NotPermittedError, OutOfOrderError, InvalidInputError, ConflictError)
"""Every refusal that means the invitation opens nothing now."""


class Surveys(HubCore):
    """The digital conversation: invitations, and the answers that arrive through them."""

    def _digest(self, secret: Any) -> str:
        """The stored digest of a link's secret or a code; the same refusal for anything that cannot be one."""
        if not isinstance(secret, str) or not secret or len(secret) > MAX_SECRET:
            raise InvitationNotValidError()
        code = normal_code(secret)
        if code is not None:
            return self.blind_index.digest("conversation-code", code)
        return self.blind_index.digest("conversation-link", secret)

    def _entry(self, secret: Any) -> InvitationEntry:
        entry = self.invitations.find(self._digest(secret))
        if entry is None or entry.expires_at <= self.now():
            raise InvitationNotValidError()
        return entry

    def _open(self, child: Child, entry: InvitationEntry) -> tuple[Invitation, Principal]:
        """The invitation, if it works now for the party it names; else the one refusal."""
        invitation = child.check_invitation_open(entry.invitation_id, self.now())
        respondent = _respondent(child, invitation)
        self._permit(respondent, Action.ANSWER_CONVERSATION_INVITATION, child, Target(invitation_id=invitation.invitation_id))
        return invitation, respondent

    @handles(Action.INVITE_TO_CONVERSATION, InviteToConversation)
    def invite_to_conversation(
        self, p: Principal, child_id: UUID, command: InviteToConversation | None = None, **fields: Any
    ) -> InvitationMade:
        """Make a link and a code for the child or a named guardian, working for the area's set
        number of days; answers to be kept from the family are decided now, as withholding
        the inviting unit's own fact (OSL 12 kap. 3 §)."""
        cmd = typed(InviteToConversation, command, fields)
        at = self.now()
        expires = at + timedelta(days=self.invitation_days)
        code, link = new_code(), secrets.token_urlsafe(32)

        def verb(child: Child) -> str:
            self._permit(p, Action.INVITE_TO_CONVERSATION, child)
            if cmd.answers_withheld:
                self._permit(p, Action.WITHHOLD_INFORMATION, child, Target(fact_unit_ids=(p.unit_id,)))
            invited = child.invite_to_conversation(
                actor=self._actor(p), at=at, with_whom=cmd.with_whom, guardian_id=cmd.guardian_id,
                age_group=cmd.age_group, expires_at=expires, answers_withheld=cmd.answers_withheld,
            )
            return invited.invitation_id

        invitation_id = self._command(p, child_id, verb)
        self.invitations.sweep(at)
        digests = (self.blind_index.digest("conversation-code", code), self.blind_index.digest("conversation-link", link))
        self.invitations.add(digests, InvitationEntry(p.tenant_id, child_id, invitation_id, expires))
        return InvitationMade(
            child_id=child_id, invitation_id=invitation_id, link_secret=link, code=shown_code(code), expires_at=expires
        )

    @handles(Action.WITHDRAW_CONVERSATION_INVITATION)
    def withdraw_conversation_invitation(self, p: Principal, child_id: UUID, invitation_id: str) -> None:
        """The link and the code stop working at once."""

        def verb(child: Child) -> None:
            self._permit(p, Action.WITHDRAW_CONVERSATION_INVITATION, child)
            child.withdraw_conversation_invitation(actor=self._actor(p), at=self.now(), invitation_id=invitation_id)

        self._command(p, child_id, verb)
        self.invitations.remove(invitation_id)

    @traced("read")
    def open_conversation_invitation(self, secret: Any) -> SurveyForm:
        """What the answer page shows for a link or code that works now; nothing of the child
        but the first name the invitation greets with. Opening it is a read on record, by
        the party invited (the child as data subject, a guardian by custody)."""
        entry = self._entry(secret)
        try:
            child = self._load(entry.tenant_id, entry.child_id)
            invitation, respondent = self._open(child, entry)
        except NOT_OPEN:
            raise InvitationNotValidError() from None
        basis = LegalBasis.CUSTODY if invitation.with_whom is ConversationWith.GUARDIAN else LegalBasis.DATA_SUBJECT
        self._record_access(
            respondent, child.id, view=OPENED_VIEW, purpose=OPENED_PURPOSE, categories=(Category.CONVERSATIONS,),
            bases=(basis,), withheld=invitation.answers_withheld, at=self.now(),
        )
        return SurveyForm(
            greeting_name=invitation.greeting_name, with_whom=invitation.with_whom, age_group=invitation.age_group,
            expires_at=invitation.expires_at,
        )

    @handles(Action.ANSWER_CONVERSATION_INVITATION, AnswerConversation)
    def answer_conversation_invitation(
        self, secret: Any, command: AnswerConversation | None = None, **fields: Any
    ) -> ConversationFiled:
        """The answers, once, as the conversation's record: by the party invited, at the unit
        that invited them. The link and the code stop working with it."""
        cmd = typed(AnswerConversation, command, fields)
        if not cmd.summary.strip() and not any(v.view.strip() for v in cmd.views):
            raise InvalidInputError("answer at least one question", field="views")
        entry = self._entry(secret)

        def verb(child: Child) -> ConversationFiled:
            invitation, respondent = self._open(child, entry)
            actor = Actor(user_id=respondent.user_id, unit_id=invitation.unit_id, role=respondent.acting_role)
            held = child.answer_conversation_invitation(
                actor=actor, at=self.now(), invitation_id=invitation.invitation_id, views=tuple(cmd.views),
                summary=cmd.summary,
            )
            return ConversationFiled(
                child_id=child.id, event_id=held.event_id, withheld_from_guardians=held.withheld_from_guardians,
                conversation_id=held.conversation_id,
            )

        tenant = Principal(ViewerKind.CHILD, entry.tenant_id, "-")  # only the area is read from it
        try:
            filed = self._command(tenant, entry.child_id, verb)
        except NOT_OPEN:
            raise InvitationNotValidError() from None
        self.invitations.remove(entry.invitation_id)
        return filed


__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "InvitationMade",
    "InvitationNotValidError",
    "InvitationStatus",
    "Surveys",
    "SurveyForm",
    "invitation_statuses",
    "new_code",
    "normal_code",
    "shown_code",
]
