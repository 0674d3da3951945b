"""The rating form's indicators: each fits an age, reads the same way as the scale, and the
core refuses a score for an indicator the child's age does not ask, however it is sent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from uuid import UUID

import pytest

from contracts.indicators import INDICATORS, Indicator, indicators_for
from contracts.labels import label
from contracts.vocabulary import AgeGroup, Area, age_group_for
from hub.demo.planner import make_personnummer
from hub.errors import InvalidInputError
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.conftest import register_child
from tests.factories import GUARDIAN_1_PNR, START, card_payload, conversation_payload, directory, staff

OLDER_CHILDREN_ONLY = {
    Indicator.TRYGGHET_KRIMINALITET,
    Indicator.TRYGGHET_BROTT,
    Indicator.TRYGGHET_KRIMINELLA_NATVERK,
    Indicator.TRYGGHET_HEDER,
    Indicator.ANSVAR_VANNER,
    Indicator.ANSVAR_UNDERVISNING,
    Indicator.TRYGGHET_NATET,
    Indicator.HALSA_LEVNADSVANOR,
}
"""Questions about crime, criminal networks, honour-based oppression, school and life online:
none of them is put to the team of a preschool child."""

NEGATION = re.compile(r"\b(inte|ej|ingen|inget|inga|saknar|misstänks|aldrig|utan)\b", re.IGNORECASE)

BK = "rektor.ostra"
FIVE_YEAR_OLD = make_personnummer(date(2020, 9, 10), 990)


def test_every_indicator_names_its_age_groups_its_source_and_a_statement_in_both_languages() -> None:
    assert set(INDICATORS) == set(Indicator)
    for indicator, d in INDICATORS.items():
        assert d.indicator is indicator
        assert d.age_groups, indicator
        assert d.age_reason.strip() and d.source_sv.strip(), indicator
        assert label(indicator, "sv") == d.statement_sv and label(indicator, "en") == d.statement_en


@pytest.mark.parametrize("indicator", list(Indicator), ids=lambda i: i.value)
def test_each_statement_is_worded_so_that_agreeing_means_the_need_is_met(indicator: Indicator) -> None:
    statement = INDICATORS[indicator].statement_sv
    assert not NEGATION.search(statement), statement
    assert statement.startswith("Barnet"), statement


def test_a_five_year_old_is_asked_none_of_the_questions_for_older_children() -> None:
    asked = {d.indicator for d in indicators_for(age_group_for(5))}
    assert asked & OLDER_CHILDREN_ONLY == set()
    assert Indicator.TRYGGHET_SKYDDAT in asked and Indicator.TRYGGHET_HEMMA in asked  # safety itself is still asked


def test_a_teenager_is_asked_every_indicator() -> None:
    assert {d.indicator for d in indicators_for(AgeGroup.AGE_13_15)} == set(Indicator)


def test_every_area_is_asked_at_every_age_except_responsibility_before_four() -> None:
    for group in AgeGroup:
        areas = {d.area for d in indicators_for(group)}
        expected = set(Area) - ({Area.ANSVARSTAGANDE} if group is AgeGroup.AGE_0_3 else set())
        assert areas == expected, group


def test_the_form_lists_the_indicators_in_the_compass_order() -> None:
    order = [d.area for d in indicators_for(AgeGroup.AGE_16_18)]
    assert order == sorted(order, key=list(Area).index)


# -- the core refuses what the age does not ask --------------------------------------------------


@pytest.fixture
def rt() -> Iterator[Runtime]:
    runtime = bootstrap(Settings(store="memory", demo_mode=True), clock=SettableClock(START), directory=directory())
    yield runtime
    runtime.close()


def teamed(rt: Runtime, personnummer: str | None = None) -> UUID:
    hub = rt.hub
    if personnummer is None:
        child = register_child(rt)
    else:
        child = hub.register_child(
            staff("larare.ostra"), personnummer=personnummer, given_name="Elsa", family_name="Berg",
            guardians=[{"name": "Anna Berg", "personnummer": GUARDIAN_1_PNR, "has_custody": True}],
        )
    assert isinstance(child, UUID)
    hub.submit_discovery_card(staff("larare.ostra"), child, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    hub.decide_team(staff(BK), child, decision="barnteam", family_informed=True, member_unit_ids=["skola-ostra", "elevhalsa-ostra"])
    return child


@pytest.mark.parametrize("indicator", sorted(OLDER_CHILDREN_ONLY, key=lambda i: i.value), ids=lambda i: i.value)
def test_the_core_refuses_to_record_a_question_for_older_children_about_a_five_year_old(rt: Runtime, indicator: Indicator) -> None:
    child = teamed(rt, FIVE_YEAR_OLD)
    before = rt.hub.log_length()
    area = INDICATORS[indicator].area.value
    with pytest.raises(InvalidInputError) as refused:
        rt.hub.submit_rating(
            staff(BK), child,
            scores=[{"area": "trygghet", "indicator": "trygghet-natverk", "score": 4}, {"area": area, "indicator": indicator.value, "score": 3}],
        )
    assert refused.value.field == "scores[1].indicator"
    assert "not asked for a child of this age" in refused.value.detail
    assert rt.hub.log_length() == before


def test_the_same_question_is_recorded_for_a_ten_year_old(rt: Runtime) -> None:
    child = teamed(rt)
    filed = rt.hub.submit_rating(staff(BK), child, scores=[{"area": "trygghet", "indicator": "trygghet-kriminella-natverk", "score": 5}])
    assert filed.rating_id


def test_a_child_turning_ten_is_asked_the_questions_of_ten_from_the_birthday(rt: Runtime) -> None:
    nine = make_personnummer(date(2016, 3, 10), 991)  # nine at START (2 March 2026), ten on 10 March
    child = teamed(rt, nine)
    rating = [{"area": "trygghet", "indicator": "trygghet-kriminalitet", "score": 4}]
    with pytest.raises(InvalidInputError):
        rt.hub.submit_rating(staff(BK), child, scores=rating)
    assert rt.hub.rating_form(staff(BK), child).age_group is AgeGroup.AGE_7_9
    clock = rt.hub.clock
    assert isinstance(clock, SettableClock)
    clock.set(START + timedelta(days=8))
    assert rt.hub.rating_form(staff(BK), child).age_group is AgeGroup.AGE_10_12
    assert rt.hub.submit_rating(staff(BK), child, scores=rating).rating_id


@pytest.mark.parametrize(
    ("scores", "field", "detail"),
    [
        ([{"area": "trygghet", "indicator": "Barnet misstänks begå kriminella handlingar", "score": 1}], "scores.0.indicator", "Input should be"),
        ([{"area": "halsa", "indicator": "trygghet-natverk", "score": 4}], "scores[0].area", "belongs to another area"),
        (
            [{"area": "trygghet", "indicator": "trygghet-natverk", "score": 4}, {"area": "trygghet", "indicator": "trygghet-natverk", "score": 1}],
            "scores[1].indicator", "scored twice",
        ),
    ],
    ids=["a free-text statement", "an indicator under another area", "one indicator twice"],
)
def test_a_rating_that_names_no_indicator_of_the_form_once_is_refused(
    rt: Runtime, scores: list[dict[str, object]], field: str, detail: str
) -> None:
    child = teamed(rt)
    before = rt.hub.log_length()
    with pytest.raises(InvalidInputError) as refused:
        rt.hub.submit_rating(staff(BK), child, scores=scores)
    assert refused.value.field == field
    assert detail in refused.value.detail
    assert rt.hub.log_length() == before


def test_the_published_vocabulary_names_each_indicators_area_age_groups_and_source() -> None:
    from contracts.schemas import vocabulary_schema

    published = {e["const"]: e for e in vocabulary_schema()["$defs"]["Indicator"]["oneOf"]}
    assert set(published) == {i.value for i in Indicator}
    heder = published["trygghet-heder"]
    assert heder["x-area"] == "trygghet" and "0-3" not in heder["x-age-groups"] and "4-6" not in heder["x-age-groups"]
    assert heder["x-source-sv"].startswith("Seed 000: Barnet misstänks leva i hedersvåld")
    assert heder["x-label-sv"] == "Barnet lever fritt från hedersrelaterat våld och förtryck"
