"""The digital conversation in the child's record: an invitation is answered once, by the party
it names, before it ends, unless withdrawn; the answers are the conversation's record."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.events import Actor, AreaView, ConversationHeld
from contracts.vocabulary import AgeGroup, Area, ConversationWith, Role
from hub.application.surveys import CODE_ALPHABET, normal_code, shown_code
from hub.domain.child import Child
from hub.errors import InvalidInputError, OutOfOrderError, RecordErasedError
from hub.runtime.bootstrap import Runtime
from tests.conftest import register_child
from tests.factories import START, card_payload, staff

BK = Actor(user_id="rektor.ostra", unit_id="skola-ostra", role=Role.BARNKONTAKT)
ENDS = START + timedelta(days=14)


def held_child(rt: Runtime) -> Child:
    child_id = register_child(rt)
    rt.hub.submit_discovery_card(staff("polis.ystad"), child_id, **card_payload())  # type: ignore[arg-type]
    rt.hub.assign_barnkontakt(staff("rektor.ostra"), child_id, staff_id="rektor.ostra")  # type: ignore[arg-type]
    return rt.hub._load("ystad", child_id)  # type: ignore[arg-type]


def invited(child: Child, **kw: object) -> str:
    args: dict[str, object] = {"with_whom": ConversationWith.CHILD, "guardian_id": None, "age_group": AgeGroup.AGE_10_12, "expires_at": ENDS}
    args.update(kw)
    return child.invite_to_conversation(actor=BK, at=START, **args).invitation_id  # type: ignore[arg-type]


def answer(child: Child, invitation_id: str, at: object = START) -> ConversationHeld:
    actor = Actor(user_id=str(child.id), unit_id="skola-ostra", role=Role.CHILD)
    views = (AreaView(area=Area.TRYGGHET, view="Bra"),)
    return child.answer_conversation_invitation(actor=actor, at=at, invitation_id=invitation_id, views=views, summary="")  # type: ignore[arg-type]


def test_an_answer_is_a_digital_conversation_of_the_inviting_unit_greeting_the_child_by_first_name(memory_runtime: Runtime) -> None:
    child = held_child(memory_runtime)
    invitation_id = invited(child)

    held = answer(child, invitation_id)

    assert held.digital_survey and held.with_whom is ConversationWith.CHILD and held.age_group is AgeGroup.AGE_10_12
    assert held.invitation_id == invitation_id and held.actor.unit_id == "skola-ostra"
    assert child.invitations[invitation_id].greeting_name == "Alva"
    assert child.conversations == 1


def test_an_invitation_is_answered_once(memory_runtime: Runtime) -> None:
    child = held_child(memory_runtime)
    invitation_id = invited(child)
    answer(child, invitation_id)

    with pytest.raises(OutOfOrderError):
        answer(child, invitation_id)


def test_an_invitation_is_not_answered_after_it_ends_or_is_withdrawn(memory_runtime: Runtime) -> None:
    child = held_child(memory_runtime)
    ended, withdrawn = invited(child), invited(child)
    child.withdraw_conversation_invitation(actor=BK, at=START, invitation_id=withdrawn)

    with pytest.raises(OutOfOrderError):
        answer(child, ended, at=ENDS)
    with pytest.raises(OutOfOrderError):
        answer(child, withdrawn)
    with pytest.raises(OutOfOrderError):
        child.withdraw_conversation_invitation(actor=BK, at=START, invitation_id=withdrawn)


def test_an_invitation_needs_a_barnkontakt_a_future_end_a_custodial_guardian_and_a_child_of_seven(memory_runtime: Runtime) -> None:
    child = held_child(memory_runtime)
    with pytest.raises(InvalidInputError):
        invited(child, expires_at=START)
    with pytest.raises(InvalidInputError):
        invited(child, with_whom=ConversationWith.GUARDIAN, guardian_id="g-nobody")
    with pytest.raises(InvalidInputError):
        invited(child, age_group=AgeGroup.AGE_4_6)
    with pytest.raises(InvalidInputError):
        answer(child, "inv-unknown")
    fresh = Child.register(
        child_id=child.id, tenant_id="ystad", actor=BK, at=START, given_name="Alva", family_name="Lind",
        personnummer="201507122388", birth_date=START.date().replace(year=2015), guardians=(),
    )
    with pytest.raises(OutOfOrderError):
        invited(fresh)


def test_an_invitation_kept_from_the_family_makes_an_answer_kept_from_the_family(memory_runtime: Runtime) -> None:
    child = held_child(memory_runtime)
    assert answer(child, invited(child, answers_withheld=True)).withheld_from_guardians


def test_nothing_is_invited_or_answered_on_an_erased_record(memory_runtime: Runtime) -> None:
    child = held_child(memory_runtime)
    invitation_id = invited(child)
    child.erase(BK, START, reason="Ärende 1")

    with pytest.raises(RecordErasedError):
        answer(child, invitation_id)
    assert child.invitations == {}


def test_a_code_is_read_aloud_in_two_groups_and_typed_back_in_any_case_or_spacing() -> None:
    code = "ABCDEFGH23"
    assert shown_code(code) == "ABCDE-FGH23"
    assert normal_code(" abcde fgh23 ") == code and normal_code("ABCDE-FGH23") == code
    assert normal_code("ABCDE-FGH21") is None  # 1 is not in the alphabet: never mistaken for I or L
    assert normal_code("ABC") is None
    assert not set("ILO01") & set(CODE_ALPHABET)
