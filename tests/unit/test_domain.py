"""The child's record keeps the support process in order, and only the right roles act on it.

Each refusal is checked twice over: the right error, and an unchanged log.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts.events import Actor, AreaScore, Guardian, IndicatorScore, RatingSubmitted
from contracts.vocabulary import Area, Category, Role
from hub.domain.child import Child, joint_compass, project_child
from hub.errors import (
    ChildNotFoundError,
    ConsentError,
    HubError,
    InvalidInputError,
    NotPermittedError,
    OutOfOrderError,
)
from hub.runtime.bootstrap import Runtime
from tests.conftest import family, register_child
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    NON_CUSTODIAL_PNR,
    START,
    TENANT,
    card_payload,
    conversation_payload,
    plan_payload,
    staff,
)

BK = "rektor.ostra"  # Barnkontakt at the school
TEAM = ["elevhalsa-ostra", "soc-ystad", "bup-ystad"]


def refused(rt: Runtime, error: type[HubError], command: Callable[[], Any]) -> HubError:
    """Run a command that must be refused; the log must not grow."""
    before = rt.hub.log_length()
    with pytest.raises(error) as caught:
        command()
    assert rt.hub.log_length() == before
    return caught.value


@pytest.fixture
def rt(memory_runtime: Runtime) -> Runtime:
    return memory_runtime


@pytest.fixture
def child_id(rt: Runtime) -> UUID:
    return register_child(rt)  # type: ignore[return-value]


def with_barnkontakt(rt: Runtime, child_id: UUID) -> None:
    rt.hub.assign_barnkontakt(staff(BK), child_id, staff_id=BK)


def with_conversation(rt: Runtime, child_id: UUID) -> None:
    with_barnkontakt(rt, child_id)
    rt.hub.hold_conversation(staff(BK), child_id, **conversation_payload())


def with_decision(rt: Runtime, child_id: UUID, decision: str) -> None:
    with_conversation(rt, child_id)
    rt.hub.decide_team(
        staff(BK), child_id, decision=decision, family_informed=True,
        member_unit_ids=TEAM if decision != "own_support" else [],
    )


def today(rt: Runtime) -> date:
    return rt.hub.now().date()


# -- process order -------------------------------------------------------------------


def test_conversation_before_a_barnkontakt_is_out_of_order_in_the_record() -> None:
    actor = Actor(user_id=BK, unit_id="skola-ostra", role=Role.BARNKONTAKT)
    child = Child.register(
        child_id=uuid4(), tenant_id=TENANT, actor=actor, at=START, given_name="Alva", family_name="Lind",
        personnummer=CHILD_PNR, birth_date=date(2015, 7, 12),
        guardians=[Guardian(guardian_id="g1", name="Anna Lind", personnummer=GUARDIAN_1_PNR, has_custody=True)],
    )
    child.collect_events()
    with pytest.raises(OutOfOrderError):
        child.hold_conversation(actor=actor, at=START, **conversation_payload())
    assert child.collect_events() == []
    assert child.conversations == 0


def test_conversation_before_a_barnkontakt_is_refused_by_the_hub_as_out_of_order(rt: Runtime, child_id: UUID) -> None:
    # Nobody owns the case yet: the step that comes first is assigning a Barnkontakt.
    refused(rt, OutOfOrderError, lambda: rt.hub.hold_conversation(staff(BK), child_id, **conversation_payload()))


def test_decision_before_any_conversation_is_out_of_order(rt: Runtime, child_id: UUID) -> None:
    with_barnkontakt(rt, child_id)
    refused(
        rt, OutOfOrderError,
        lambda: rt.hub.decide_team(staff(BK), child_id, decision="own_support", family_informed=True),
    )


def test_team_without_informing_the_family_is_out_of_order(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    for decision in ("barnteam", "individual_team"):
        refused(
            rt, OutOfOrderError,
            lambda decision=decision: rt.hub.decide_team(staff(BK), child_id, decision=decision, family_informed=False, member_unit_ids=TEAM),
        )


def test_own_support_needs_no_team_and_no_family_information_step(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    before = rt.hub.log_length()
    rt.hub.decide_team(staff(BK), child_id, decision="own_support", family_informed=False)
    assert rt.hub.log_length() == before + 1


def test_rating_without_a_team_decision_is_out_of_order(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    scores = [{"area": "trygghet", "indicator": "trygghet-hemma", "score": 2}]
    refused(rt, OutOfOrderError, lambda: rt.hub.submit_rating(staff(BK), child_id, scores=scores))
    rt.hub.decide_team(staff(BK), child_id, decision="own_support", family_informed=True)
    refused(rt, OutOfOrderError, lambda: rt.hub.submit_rating(staff(BK), child_id, scores=scores))


def test_team_meeting_before_any_rating_is_out_of_order(rt: Runtime, child_id: UUID) -> None:
    with_decision(rt, child_id, "barnteam")
    refused(rt, OutOfOrderError, lambda: rt.hub.hold_team_meeting(staff(BK), child_id, participant_unit_ids=TEAM))


def test_plan_without_a_team_decision_is_out_of_order(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    refused(rt, OutOfOrderError, lambda: rt.hub.update_plan(staff(BK), child_id, **plan_payload(today(rt))))


def test_plan_without_an_individual_team_is_out_of_order(rt: Runtime, child_id: UUID) -> None:
    with_decision(rt, child_id, "barnteam")
    refused(rt, OutOfOrderError, lambda: rt.hub.update_plan(staff(BK), child_id, **plan_payload(today(rt))))
    refused(
        rt, OutOfOrderError,
        lambda: rt.hub.assign_support_coordinator(staff(BK), child_id, staff_id="kurator.ostra"),
    )


def test_plan_after_an_individual_team_is_accepted(rt: Runtime, child_id: UUID) -> None:
    with_decision(rt, child_id, "individual_team")
    assert rt.hub.update_plan(staff(BK), child_id, **plan_payload(today(rt))).plan_version == 1
    assert rt.hub.update_plan(staff(BK), child_id, **plan_payload(today(rt))).plan_version == 2


def test_needs_met_before_a_decision_is_out_of_order(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    compass = [{"area": "trygghet", "score": 4}]
    refused(rt, OutOfOrderError, lambda: rt.hub.record_needs_met(staff(BK), child_id, follow_up_compass=compass))


def test_needs_met_twice_is_out_of_order(rt: Runtime, child_id: UUID) -> None:
    with_decision(rt, child_id, "own_support")
    compass = [{"area": "trygghet", "score": 4}]
    rt.hub.record_needs_met(staff(BK), child_id, follow_up_compass=compass)
    refused(rt, OutOfOrderError, lambda: rt.hub.record_needs_met(staff(BK), child_id, follow_up_compass=compass))


def test_completing_an_action_the_plan_does_not_hold_is_refused(rt: Runtime, child_id: UUID) -> None:
    with_decision(rt, child_id, "individual_team")
    rt.hub.update_plan(staff(BK), child_id, **plan_payload(today(rt)))
    error = refused(rt, InvalidInputError, lambda: rt.hub.complete_plan_action(staff(BK), child_id, action_id="a9"))
    assert error.field == "action_id"


def test_completing_an_action_twice_is_out_of_order(rt: Runtime, child_id: UUID) -> None:
    with_decision(rt, child_id, "individual_team")
    rt.hub.update_plan(staff(BK), child_id, **plan_payload(today(rt)))
    rt.hub.complete_plan_action(staff("kurator.ostra"), child_id, action_id="a2")
    refused(rt, OutOfOrderError, lambda: rt.hub.complete_plan_action(staff("kurator.ostra"), child_id, action_id="a2"))


def test_completing_an_action_the_plan_already_marks_done_is_out_of_order(rt: Runtime, child_id: UUID) -> None:
    with_decision(rt, child_id, "individual_team")
    plan = plan_payload(today(rt))
    plan["actions"][0]["status"] = "done"
    rt.hub.update_plan(staff(BK), child_id, **plan)
    refused(rt, OutOfOrderError, lambda: rt.hub.complete_plan_action(staff(BK), child_id, action_id="a1"))


def test_a_completed_action_stays_completed_when_the_plan_is_revised(rt: Runtime, child_id: UUID) -> None:
    with_decision(rt, child_id, "individual_team")
    rt.hub.update_plan(staff(BK), child_id, **plan_payload(today(rt)))
    rt.hub.complete_plan_action(staff(BK), child_id, action_id="a1")
    rt.hub.update_plan(staff(BK), child_id, **plan_payload(today(rt)))
    refused(rt, OutOfOrderError, lambda: rt.hub.complete_plan_action(staff(BK), child_id, action_id="a1"))


# -- who may act -------------------------------------------------------------------------


def test_a_teacher_cannot_decide_the_team(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    refused(
        rt, NotPermittedError,
        lambda: rt.hub.decide_team(staff("larare.ostra"), child_id, decision="barnteam", family_informed=True, member_unit_ids=TEAM),
    )


def test_a_barnkontakt_of_another_unit_cannot_decide_the_team(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    refused(
        rt, ChildNotFoundError,  # a unit with no part in the case hears there is no such child
        lambda: rt.hub.decide_team(staff("sjukskoterska.bvc"), child_id, decision="own_support", family_informed=True),
    )


def test_an_auditor_cannot_read_a_child_and_the_attempt_is_itself_on_record(rt: Runtime, child_id: UUID) -> None:
    for read in (rt.hub.read_child, rt.hub.timeline):
        before = rt.hub.log_length()
        with pytest.raises(NotPermittedError):
            read(staff("granskare.ystad"), child_id, purpose="loggkontroll")
        assert rt.hub.log_length() == before + 1  # the refused read, for the auditors who review auditors


def test_a_guardian_cannot_request_consent(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    guardian = family(rt, GUARDIAN_1_PNR)
    refused(
        rt, NotPermittedError,
        lambda: rt.hub.request_consent(
            guardian, child_id, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd"
        ),
    )


def test_a_unit_outside_the_case_cannot_request_consent(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    refused(
        rt, ChildNotFoundError,  # a unit with no part in the case hears there is no such child
        lambda: rt.hub.request_consent(
            staff("polis.ystad"), child_id, recipients=[{"unit_id": "polis-ystad"}], categories=["needs"], purpose="Stöd"
        ),
    )


def test_staff_cannot_answer_a_consent_request_for_the_family(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    consent_id = rt.hub.request_consent(
        staff(BK), child_id, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd"
    )
    refused(rt, NotPermittedError, lambda: rt.hub.grant_consent(staff(BK), child_id, consent_id))


def test_a_guardian_without_custody_cannot_grant(rt: Runtime) -> None:
    child_id = rt.hub.register_child(
        staff("larare.ostra"), personnummer=CHILD_PNR, given_name="Alva", family_name="Lind",
        guardians=[
            {"name": "Anna Lind", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
            {"name": "Carl Berg", "personnummer": NON_CUSTODIAL_PNR, "has_custody": False},
        ],
    )
    with_conversation(rt, child_id)
    consent_id = rt.hub.request_consent(
        staff(BK), child_id, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd"
    )
    non_custodial = family(rt, NON_CUSTODIAL_PNR)
    refused(rt, ChildNotFoundError, lambda: rt.hub.grant_consent(non_custodial, child_id, consent_id))
    refused(rt, ChildNotFoundError, lambda: rt.hub.withdraw_consent(non_custodial, child_id, consent_id))


def test_a_child_below_consent_age_cannot_answer_for_itself(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    consent_id = rt.hub.request_consent(
        staff(BK), child_id, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd"
    )
    refused(rt, ChildNotFoundError, lambda: rt.hub.grant_consent(family(rt, CHILD_PNR, "child"), child_id, consent_id))


def test_only_a_unit_in_the_team_rates_the_child(rt: Runtime, child_id: UUID) -> None:
    with_decision(rt, child_id, "barnteam")
    scores = [{"area": "trygghet", "indicator": "trygghet-hemma", "score": 2}]
    refused(rt, ChildNotFoundError, lambda: rt.hub.submit_rating(staff("polis.ystad"), child_id, scores=scores))


# -- the joint compass -----------------------------------------------------------------------


def test_joint_compass_is_the_per_area_mean_of_every_rating_with_blanks_left_out(rt: Runtime, child_id: UUID) -> None:
    with_decision(rt, child_id, "barnteam")
    rt.hub.submit_rating(
        staff("kurator.ostra"), child_id,
        scores=[
            {"area": "trygghet", "indicator": "trygghet-hemma", "score": 2},
            {"area": "trygghet", "indicator": "trygghet-natverk", "score": 5},
            {"area": "halsa", "indicator": "halsa-vard", "score": None},
        ],
    )
    rt.hub.submit_rating(
        staff("socsek.ystad"), child_id,
        scores=[
            {"area": "trygghet", "indicator": "trygghet-hemma", "score": 3},
            {"area": "halsa", "indicator": "halsa-vard", "score": 4},
            {"area": "fritid", "indicator": "fritid-intressen", "score": None},
        ],
    )
    compass = {s["area"]: s["score"] for s in rt.hub.hold_team_meeting(staff(BK), child_id, participant_unit_ids=TEAM).joint_compass}
    assert compass["trygghet"] == pytest.approx((2 + 5 + 3) / 3, abs=0.01)
    assert compass["halsa"] == 4  # the blank does not pull the mean down
    assert compass["fritid"] is None  # only blanks: no score, not zero
    assert set(compass) == {a.value for a in Area}  # every area is drawn
    assert all(compass[a.value] is None for a in Area if a not in (Area.TRYGGHET, Area.HALSA))


def test_joint_compass_means_every_score_given_in_an_area_and_leaves_unscored_areas_blank() -> None:
    def rating(*scores: tuple[Area, int | None]) -> RatingSubmitted:
        return RatingSubmitted(
            event_id=uuid4(), tenant_id=TENANT, child_id=uuid4(), occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
            actor=Actor(user_id="kurator.ostra", unit_id="elevhalsa-ostra", role=Role.TEAM_MEMBER),
            rating_id=f"r-{uuid4().hex[:6]}",
            scores=tuple(IndicatorScore(area=a, indicator="i", score=s) for a, s in scores),
        )

    compass = joint_compass([rating((Area.UTVECKLAS, 1), (Area.UTVECKLAS, None)), rating((Area.UTVECKLAS, 2))])
    assert AreaScore(area=Area.UTVECKLAS, score=1.5) in compass
    assert AreaScore(area=Area.TRYGGHET, score=None) in compass


# -- consent commands ------------------------------------------------------------------------


def _consent(rt: Runtime, child_id: UUID, categories: list[str] | None = None) -> UUID:
    with_conversation(rt, child_id)
    return rt.hub.request_consent(
        staff(BK), child_id, recipients=[{"unit_id": "bup-ystad"}], categories=categories or ["needs"], purpose="Stöd"
    )


def test_a_guardian_cannot_grant_the_same_consent_twice(rt: Runtime, child_id: UUID) -> None:
    consent_id = _consent(rt, child_id)
    guardian = family(rt, GUARDIAN_1_PNR)
    rt.hub.grant_consent(guardian, child_id, consent_id)
    refused(rt, ConsentError, lambda: rt.hub.grant_consent(guardian, child_id, consent_id))


def test_a_guardian_who_granted_withdraws_rather_than_declines(rt: Runtime, child_id: UUID) -> None:
    consent_id = _consent(rt, child_id)
    guardian = family(rt, GUARDIAN_1_PNR)
    rt.hub.grant_consent(guardian, child_id, consent_id)
    refused(rt, ConsentError, lambda: rt.hub.decline_consent(guardian, child_id, consent_id))


def test_a_declined_consent_cannot_be_answered_again(rt: Runtime, child_id: UUID) -> None:
    consent_id = _consent(rt, child_id)
    rt.hub.decline_consent(family(rt, GUARDIAN_1_PNR), child_id, consent_id)
    refused(rt, ConsentError, lambda: rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child_id, consent_id))
    refused(rt, ConsentError, lambda: rt.hub.grant_consent(family(rt, GUARDIAN_2_PNR), child_id, consent_id))


def test_a_withdrawn_consent_cannot_be_withdrawn_or_granted_again(rt: Runtime, child_id: UUID) -> None:
    consent_id = _consent(rt, child_id)
    g1, g2 = family(rt, GUARDIAN_1_PNR), family(rt, GUARDIAN_2_PNR)
    rt.hub.grant_consent(g1, child_id, consent_id)
    rt.hub.withdraw_consent(g2, child_id, consent_id)
    refused(rt, ConsentError, lambda: rt.hub.withdraw_consent(g1, child_id, consent_id))
    refused(rt, ConsentError, lambda: rt.hub.grant_consent(g2, child_id, consent_id))


def test_an_expired_consent_cannot_be_granted(rt: Runtime, child_id: UUID, clock: Any) -> None:
    with_conversation(rt, child_id)
    consent_id = rt.hub.request_consent(
        staff(BK), child_id, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd",
        valid_until=rt.hub.now() + timedelta(days=7),
    )
    clock.advance(timedelta(days=7))
    refused(rt, ConsentError, lambda: rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child_id, consent_id))


def test_consent_cannot_be_asked_for_a_concern_report(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    error = refused(
        rt, InvalidInputError,
        lambda: rt.hub.request_consent(
            staff(BK), child_id, recipients=[{"unit_id": "soc-ystad"}], categories=["needs", Category.CONCERN_REPORT.value],
            purpose="Stöd",
        ),
    )
    assert error.field == "categories"


@pytest.mark.parametrize("category", [Category.ACCESS_LOG.value, Category.CONSENT.value, "no_such_category"])
def test_consent_cannot_be_asked_for_what_is_not_consentable(rt: Runtime, child_id: UUID, category: str) -> None:
    with_conversation(rt, child_id)
    refused(
        rt, InvalidInputError,
        lambda: rt.hub.request_consent(
            staff(BK), child_id, recipients=[{"unit_id": "bup-ystad"}], categories=[category], purpose="Stöd"
        ),
    )


def test_consent_cannot_end_before_it_starts(rt: Runtime, child_id: UUID) -> None:
    with_conversation(rt, child_id)
    error = refused(
        rt, InvalidInputError,
        lambda: rt.hub.request_consent(
            staff(BK), child_id, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd",
            valid_until=rt.hub.now(),
        ),
    )
    assert error.field == "valid_until"


def test_consent_runs_twelve_months_by_default(rt: Runtime, child_id: UUID) -> None:
    consent_id = _consent(rt, child_id)
    (c,) = rt.hub.child_facts(staff(BK), child_id).consents
    assert c.consent_id == consent_id
    assert c.valid_until - c.valid_from == timedelta(days=365)


# -- the repository's cache ----------------------------------------------------------------


def _is_immutable(value: Any) -> bool:
    if isinstance(value, str | int | float | bool | date | datetime | UUID | tuple | frozenset | type(None)):
        return True
    params = getattr(type(value), "__dataclass_params__", None)
    return bool(params and params.frozen) or bool(getattr(type(value), "model_config", {}).get("frozen"))


def test_a_copied_child_shares_no_mutable_state_with_the_cached_original(rt: Runtime, child_id: UUID) -> None:
    """Commands change a copy of the cached child; whatever a command does to its copy,
    the cached original must not change, and a state added to the record later must be
    copied too (this test names it)."""
    hub = rt.hub
    hub.submit_discovery_card(staff("polis.ystad"), child_id, **card_payload())
    with_decision(rt, child_id, "individual_team")
    hub.update_plan(staff(BK), child_id, **plan_payload(today(rt)))
    original = hub.repository.get(child_id, projector_func=project_child)
    copied = copy.deepcopy(original)
    for name, value in vars(original).items():
        if _is_immutable(value):
            continue
        assert getattr(copied, name) is not value, f"{name} is shared with the cached child"
        items = value.values() if isinstance(value, dict) else value
        for item in items:
            if not _is_immutable(item):
                assert all(item is not other for other in (getattr(copied, name).values() if isinstance(value, dict) else getattr(copied, name))), f"an item of {name} is shared"

    before = {name: repr(value) for name, value in vars(original).items()}
    actor = Actor(user_id=BK, unit_id="skola-ostra", role=Role.BARNKONTAKT)
    copied.complete_plan_action(actor=actor, at=hub.now(), action_id="a1")
    assert copied.actions["a1"].completed_at is not None
    assert {name: repr(value) for name, value in vars(original).items()} == before
