"""Registering a child, the discovery card and the Barnkontakt's first steps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from pydantic import ValidationError

from consent import age_on
from consent.permissions import Action, StaffRef, Target, route_card
from contracts.events import Guardian
from contracts.vocabulary import CardKind, RegisterAnswer
from hub.application.commands import (
    AssignBarnkontakt,
    DelegateBarnkontakt,
    HoldConversation,
    RegisterChild,
    SendFeedback,
    SubmitDiscoveryCard,
)
from hub.application.core import HubCore, _invalid, handles, traced, typed
from hub.application.readmodels import CardFiled, ConversationFiled
from hub.domain.child import Child
from hub.errors import ChildNotFoundError, InvalidInputError, RecordErasedError, RegisterUnavailableError
from hub.identity.personnummer import IdentityNumber, parse_identity_number
from hub.identity.principals import Principal

NAMED_BY_REGISTER = "Vårdnadshavare enligt folkbokföringen"
"""The name of a vårdnadshavare (guardian with custody) the registration form left out and
the population register added: the register gives their number, not their name."""


class Registration(HubCore):
    """Registering a child, the discovery card and the Barnkontakt's first steps."""

    @handles(Action.REGISTER_CHILD, RegisterChild)
    def register_child(self, p: Principal, command: RegisterChild | None = None, **fields: Any) -> UUID:
        """Register a child, or find the one registered: both answer the child's id, so that
        registering is no way to learn whether a personnummer is known to the hub. The id
        comes from the blind index, so it is the same either way; a known child is left as
        it is, and the card that follows goes to its Barnkontakt."""
        cmd = typed(RegisterChild, command, fields)
        self._permit(p, Action.REGISTER_CHILD)
        now = self.now()
        number = self._child_number(cmd.personnummer, now)
        child_id = self.blind_index.child_id(p.tenant_id, number)
        numbers = [parse_identity_number(g.personnummer, field=f"guardians[{i}].personnummer") for i, g in enumerate(cmd.guardians)]
        try:
            self._load(p.tenant_id, child_id)
        except ChildNotFoundError:
            pass
        else:
            return child_id
        ids = [self.blind_index.guardian_id(p.tenant_id, n) for n in numbers]
        custodial = {gid: n.digits for gid, n, g in zip(ids, numbers, cmd.guardians, strict=True) if g.has_custody}
        added = dict(custodial)
        answers = self._ask_register(number.digits, added, fill_in=lambda digits: self.blind_index.guardian_id(
            p.tenant_id, parse_identity_number(digits)))
        guardians = [
            Guardian(guardian_id=gid, name=g.name, personnummer=n.digits, has_custody=g.has_custody, register_answer=answers.get(gid))
            for gid, n, g in zip(ids, numbers, cmd.guardians, strict=True)
        ] + [
            Guardian(guardian_id=gid, name=NAMED_BY_REGISTER, personnummer=digits, has_custody=True, register_answer=answers.get(gid))
            for gid, digits in added.items() if gid not in custodial and gid not in ids
        ]
        try:
            child = Child.register(
                child_id=child_id,
                tenant_id=p.tenant_id,
                actor=self._actor(p),
                at=now,
                given_name=cmd.given_name,
                family_name=cmd.family_name,
                personnummer=number.digits,
                birth_date=number.birth_date,
                guardians=guardians,
            )
        except ValidationError as e:
            raise _invalid(e) from None
        try:
            self._save(child)
        except IntegrityError:
            return child_id  # registered by another command meanwhile
        self._keep(child)
        return child_id

    @staticmethod
    def _child_number(personnummer: str, now: datetime) -> IdentityNumber:
        """The personnummer of a child the hub may register: born, and under 18 ``now``."""
        number = parse_identity_number(personnummer)
        if number.birth_date > now.date():
            raise InvalidInputError("the date of birth is in the future", field="personnummer")
        if age_on(number.birth_date, now) >= 18:
            raise InvalidInputError("the hub serves children under 18", field="personnummer")
        return number

    def _ask_register(
        self, child: str, custodial: dict[str, str], *, or_raise: bool = False, fill_in: Callable[[str], str] | None = None
    ) -> dict[str, RegisterAnswer]:
        """What the population register says of each guardian named with custody (``custodial``:
        their personnummer by guardian id): a link counts only once the register lists the
        person as the child's vårdnadshavare, so a number typed into the form, the registering
        staff member's own included, gives nobody a say in the child's case (FB 6 kap. 11 §),
        and only while every vårdnadshavare it lists is named with custody, so leaving one out
        lets no other answer alone (FB 6 kap. 13 §).
        An unreachable register leaves the links unconfirmed, to be checked again later,
        unless ``or_raise``.

        With ``fill_in`` (at registration), a vårdnadshavare the register lists and the form
        left out is added to ``custodial`` under the id ``fill_in`` gives their number, once the
        register lists one number the form named: one guardian's number is enough, the register
        names the rest, and each gets a say."""
        if not custodial:
            return {}
        try:
            custodians = self.population.custodians(child)
        except RegisterUnavailableError:
            if or_raise:
                raise
            return dict.fromkeys(custodial, RegisterAnswer.REGISTER_UNAVAILABLE)
        named = set(custodial.values())
        if fill_in is not None and any(n in custodians for n in named):  # one right number is enough
            for digits in sorted(n for n in custodians if n not in named):
                custodial[fill_in(digits)] = digits
        # a vårdnadshavare left out would have no say: one named parent must not answer alone
        complete = all(number in custodial.values() for number in custodians)
        listed = RegisterAnswer.CONFIRMED if complete else RegisterAnswer.CUSTODIAN_NOT_NAMED
        return {
            gid: listed if digits in custodians else RegisterAnswer.NOT_A_CUSTODIAN
            for gid, digits in custodial.items()
        }

    @handles(Action.CHECK_GUARDIANS)
    def check_guardians(self, p: Principal, child_id: UUID) -> dict[str, RegisterAnswer]:
        """Ask the population register again about the child's guardians with custody (when
        it could not be reached at registration, or custody may have changed); answers what
        it said per guardian id. An unreachable register is an error here, and changes nothing."""

        child = self._load(p.tenant_id, child_id)
        self._permit(p, Action.CHECK_GUARDIANS, child)
        custodial = {g.guardian_id: child.guardian_numbers[g.guardian_id] for g in child.guardians if g.has_custody}
        answers = self._ask_register(child.personnummer, custodial, or_raise=True)  # asked once, outside the retries of the append
        if not answers:
            return answers

        def verb(child: Child) -> dict[str, RegisterAnswer]:
            self._permit(p, Action.CHECK_GUARDIANS, child)
            child.check_guardian_links(actor=self._actor(p), at=self.now(), answers=answers)
            return answers

        return self._command(p, child_id, verb)

    @traced("read")
    def guardian_links_to_check(self, p: Principal) -> list[UUID]:
        """The children of the caller's cooperation area with a guardian with custody whose
        link the register has not confirmed (registered while it was away, before links were
        checked at all, or answered no), and which the permission policy lets the caller
        check again: what an upgrade leaves for the administrator to check. Child ids only,
        in id order, so that a run that stops can be started again; nothing of the record is
        read, so nothing is recorded as read."""
        self._views_hold(self._committed_facts)
        viewer, at = self.viewer(p), self.now()
        out = []
        for doc in self.views.cases.documents(p.tenant_id):
            try:
                child = self._load(p.tenant_id, UUID(doc["child_id"]))
            except (ChildNotFoundError, RecordErasedError):
                continue  # erased by another process; the views drop it when they follow
            if not any(g.has_custody and not g.confirmed for g in child.guardians):
                continue
            if self.permissions(viewer, Action.CHECK_GUARDIANS, self.case_state(child), at, self.rules, Target()).allowed:
                out.append(child.id)
        return out

    @handles(Action.SUBMIT_DISCOVERY_CARD, SubmitDiscoveryCard)
    def submit_discovery_card(
        self, p: Principal, child_id: UUID, command: SubmitDiscoveryCard | None = None, *, card_id: str | None = None,
        imported_by: str | None = None, **fields: Any,
    ) -> CardFiled:
        """File an Upptäckarkort. Any staff member at a unit may, about any child of the area:
        the card goes to the child's Barnkontakt when it has one (:func:`route_card`), and the
        answer is the same either way, so the discoverer learns nothing of the child.
        ``card_id`` is given by an import only (from the e-service's own id), so that the same
        card imported again is refused by the child as already submitted; ``imported_by``
        names the importer when it is not the discoverer the card is filed for."""
        cmd = typed(SubmitDiscoveryCard, command, fields)
        given: dict[str, str] = {"card_id": card_id} if card_id is not None else {}
        if imported_by is not None and imported_by != p.user_id:
            given["imported_by"] = imported_by
        self.directory.unit(p.tenant_id, cmd.to_unit_id, "to_unit_id")

        def verb(child: Child) -> CardFiled:
            self._permit(p, Action.SUBMIT_DISCOVERY_CARD, child)
            to_unit_id = route_card(self.case_state(child), cmd.to_unit_id)
            own = self.directory.unit(p.tenant_id, p.unit_id or "")
            target = self.directory.unit(p.tenant_id, to_unit_id, "to_unit_id")
            card = child.submit_discovery_card(
                actor=self._actor(p),
                at=self.now(),
                kind=CardKind.INTERNAL if own.principal is target.principal else CardKind.EXTERNAL,
                to_unit_id=to_unit_id,
                named_unit_id=cmd.to_unit_id if to_unit_id != cmd.to_unit_id else None,
                unmet_needs=tuple(cmd.unmet_needs),
                five_questions=cmd.five_questions,
                own_support_taken=cmd.own_support_taken,
                guardians_informed=cmd.guardians_informed,
                **given,
            )
            filed = self._filed(p, child, card.event_id, withheld_from_guardians=cmd.withheld_from_guardians)
            return CardFiled(**filed.model_dump(), card_id=card.card_id)

        return self._command(p, child_id, verb)

    def _staff_target(self, p: Principal, staff_id: str) -> tuple[Target, str]:
        staff = self.directory.staff(p.tenant_id, staff_id)
        return Target(staff=StaffRef(staff.user_id, staff.unit_id, staff.roles)), staff.unit_id or ""

    @handles(Action.TAKE_BARNKONTAKT_ROLE, AssignBarnkontakt)
    def assign_barnkontakt(self, p: Principal, child_id: UUID, command: AssignBarnkontakt | None = None, **fields: Any) -> None:
        cmd = typed(AssignBarnkontakt, command, fields)
        target, unit_id = self._staff_target(p, cmd.staff_id)

        def verb(child: Child) -> None:
            self._permit(p, Action.TAKE_BARNKONTAKT_ROLE, child, target)
            child.assign_barnkontakt(actor=self._actor(p), at=self.now(), staff_id=cmd.staff_id, unit_id=unit_id)

        self._command(p, child_id, verb)

    @handles(Action.HAND_OVER_BARNKONTAKT_ROLE, DelegateBarnkontakt)
    def delegate_barnkontakt(self, p: Principal, child_id: UUID, command: DelegateBarnkontakt | None = None, **fields: Any) -> None:
        cmd = typed(DelegateBarnkontakt, command, fields)
        target, unit_id = self._staff_target(p, cmd.staff_id)

        def verb(child: Child) -> None:
            self._permit(p, Action.HAND_OVER_BARNKONTAKT_ROLE, child, target)
            child.delegate_barnkontakt(actor=self._actor(p), at=self.now(), staff_id=cmd.staff_id, unit_id=unit_id, reason=cmd.reason)

        self._command(p, child_id, verb)

    @handles(Action.SEND_FEEDBACK, SendFeedback)
    def send_feedback(self, p: Principal, child_id: UUID, command: SendFeedback | None = None, *, card_id: str, **fields: Any) -> None:
        cmd = typed(SendFeedback, command, fields)

        def verb(child: Child) -> None:
            self._permit(p, Action.SEND_FEEDBACK, child)
            child.send_feedback(actor=self._actor(p), at=self.now(), card_id=card_id, message=cmd.message)

        self._command(p, child_id, verb)

    @handles(Action.HOLD_CONVERSATION, HoldConversation)
    def hold_conversation(
        self, p: Principal, child_id: UUID, command: HoldConversation | None = None, **fields: Any
    ) -> ConversationFiled:
        cmd = typed(HoldConversation, command, fields)

        def verb(child: Child) -> ConversationFiled:
            self._permit(p, Action.HOLD_CONVERSATION, child)
            held = child.hold_conversation(actor=self._actor(p), at=self.now(), **cmd.model_dump(exclude={"withheld_from_guardians"}))
            filed = self._filed(p, child, held.event_id, withheld_from_guardians=cmd.withheld_from_guardians)
            return ConversationFiled(**filed.model_dump(), conversation_id=held.conversation_id)

        return self._command(p, child_id, verb)
