"""The population register: its file is parsed strictly, it is asked with a timeout, and an
unconfirmed guardian link gives nobody a say in the policies."""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import pytest

from adapters.population_file import FileRegister, RegisterFileError, parse_register, register_text
from consent import ChildFacts, GuardianFact, Information, PolicyRules, Reason, Viewer, ViewerKind, decide, required_parties
from consent.permissions import Action, CaseState, may
from contracts.vocabulary import Category, PartyKind, Role
from hub.errors import RegisterUnavailableError
from hub.identity.population import NoRegister, RegisterLookup

CHILD = "201507122388"
ANNA = "198203142396"
BO = "198407202384"
OTHER = "197911302391"


def register_file(children: list[dict[str, object]]) -> str:
    return json.dumps({"format": "backa-population-register", "version": 1, "children": children})


GOOD = register_file([{"personnummer": CHILD, "custodians": [ANNA, BO]}])


def test_a_clean_register_file_gives_each_child_its_custodians() -> None:
    assert parse_register(GOOD) == {CHILD: frozenset({ANNA, BO})}
    assert parse_register(register_text({CHILD: {ANNA}})) == {CHILD: frozenset({ANNA})}


BAD_FILES = {
    "not JSON": "{",
    "a list, not an object": json.dumps([]),
    "a key twice": GOOD[:-1] + ', "version": 1}',
    "an unknown field": GOOD[:-1] + ', "source": "navet"}',
    "another format": GOOD.replace("backa-population-register", "navet"),
    "a later version": GOOD.replace('"version": 1', '"version": 2'),
    "the version as text": GOOD.replace('"version": 1', '"version": "1"'),
    "NaN": GOOD.replace('"version": 1', '"version": NaN'),
    "a number with a dash": register_file([{"personnummer": "20150712-2388", "custodians": [ANNA]}]),
    "a ten-digit number": register_file([{"personnummer": CHILD[2:], "custodians": [ANNA]}]),
    "a wrong check digit": register_file([{"personnummer": CHILD, "custodians": [ANNA[:-1] + "7"]}]),
    "a number as a JSON number": register_file([{"personnummer": int(CHILD), "custodians": [ANNA]}]),
    "non-ASCII digits": register_file([{"personnummer": CHILD, "custodians": ["١٩٨٢٠٣١٤٢٣٩٦"]}]),
    "a child listed twice": register_file([{"personnummer": CHILD, "custodians": [ANNA]}, {"personnummer": CHILD, "custodians": [BO]}]),
    "a custodian named twice": register_file([{"personnummer": CHILD, "custodians": [ANNA, ANNA]}]),
    "three custodians": register_file([{"personnummer": CHILD, "custodians": [ANNA, BO, OTHER]}]),
    "a child its own custodian": register_file([{"personnummer": CHILD, "custodians": [CHILD]}]),
    "custodians missing": register_file([{"personnummer": CHILD}]),
    "a child's field unknown": register_file([{"personnummer": CHILD, "custodians": [ANNA], "name": "Alva"}]),
}


@pytest.mark.parametrize("text", list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_a_bad_register_file_is_refused_naming_the_place_never_the_number(text: str) -> None:
    with pytest.raises(RegisterFileError) as refused:
        parse_register(text)
    message = str(refused.value)
    assert message
    for number in (CHILD, ANNA, BO, OTHER, CHILD[2:]):
        assert number not in message


def test_a_register_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "population.json"
    path.write_text(register_text({CHILD: {ANNA}}), encoding="utf-8")
    register = FileRegister(path)
    assert set(register.custodians(CHILD)) == {ANNA}
    assert set(register.custodians(BO)) == set()

    path.write_text(register_text({CHILD: {ANNA, BO}}), encoding="utf-8")
    assert set(register.custodians(CHILD)) == {ANNA, BO}


def test_a_register_file_that_is_missing_or_bad_stops_the_register_from_being_built(tmp_path: Path) -> None:
    with pytest.raises(RegisterFileError, match="cannot be read"):
        FileRegister(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe")
    with pytest.raises(RegisterFileError):
        FileRegister(bad)


def test_a_register_file_gone_after_the_start_is_an_unreachable_register(tmp_path: Path) -> None:
    path = tmp_path / "population.json"
    path.write_text(GOOD, encoding="utf-8")
    lookup = RegisterLookup(FileRegister(path), timeout=2)
    path.rename(tmp_path / "elsewhere.json")
    try:
        with pytest.raises(RegisterUnavailableError):
            lookup.custodians(CHILD)
    finally:
        lookup.close()


class SlowRegister:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.released = threading.Event()

    def custodians(self, child: str) -> Collection[str]:
        self.released.wait(self.seconds)
        return {ANNA}


def test_a_register_that_does_not_answer_in_time_is_unavailable_and_the_question_is_not_waited_for() -> None:
    slow = SlowRegister(10)
    lookup = RegisterLookup(slow, timeout=0.2)
    started = datetime.now(UTC)
    try:
        with pytest.raises(RegisterUnavailableError, match="in time"):
            lookup.custodians(CHILD)
        assert (datetime.now(UTC) - started).total_seconds() < 2
    finally:
        slow.released.set()
        lookup.close()


def test_a_register_that_answers_within_the_timeout_is_believed() -> None:
    lookup = RegisterLookup(SlowRegister(0.05), timeout=5)
    try:
        assert set(lookup.custodians(CHILD)) == {ANNA}
    finally:
        lookup.close()


class Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def custodians(self, child: str) -> Collection[str]:
        raise self.error


@pytest.mark.parametrize("error", [ConnectionError(CHILD), TimeoutError(CHILD), RegisterFileError(CHILD), OSError(CHILD)])
def test_every_failure_of_the_register_is_unavailability_without_the_number(error: Exception, caplog: pytest.LogCaptureFixture) -> None:
    lookup = RegisterLookup(Failing(error), timeout=2)
    try:
        with pytest.raises(RegisterUnavailableError) as refused:
            lookup.custodians(CHILD)
    finally:
        lookup.close()
    assert CHILD not in str(refused.value)
    assert CHILD not in caplog.text


def test_without_a_register_no_link_is_ever_confirmed() -> None:
    lookup = RegisterLookup(NoRegister(), timeout=1)
    try:
        with pytest.raises(RegisterUnavailableError):
            lookup.custodians(CHILD)
    finally:
        lookup.close()


# -- the policies: an unconfirmed guardian is a stranger -------------------------------------------------

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHILD_ID = UUID("00000000-0000-4000-8000-00000000c0de")
RULES = PolicyRules()


def facts(*guardians: GuardianFact, born: date = date(2013, 1, 5)) -> ChildFacts:
    return ChildFacts(tenant_id="ystad", child_id=CHILD_ID, birth_date=born, guardians=guardians)


def guardian(party: str) -> Viewer:
    return Viewer(ViewerKind.GUARDIAN, "ystad", party, frozenset({Role.GUARDIAN}), party_id=party)


def test_a_guardian_with_custody_the_register_has_not_confirmed_sees_nothing() -> None:
    unconfirmed = facts(GuardianFact("g-named", True))
    confirmed = facts(GuardianFact("g-named", True, confirmed=True))
    info = Information(Category.IDENTITY)

    assert decide(guardian("g-named"), unconfirmed, info, NOW, RULES).reason is Reason.NOT_A_CUSTODIAL_GUARDIAN
    assert not decide(guardian("g-named"), unconfirmed, info, NOW, RULES).allowed
    assert decide(guardian("g-named"), confirmed, info, NOW, RULES).allowed


def test_an_unconfirmed_guardian_is_no_party_to_consent_and_does_not_know_of_the_child() -> None:
    both = facts(GuardianFact("g-real", True, confirmed=True), GuardianFact("g-named", True))
    assert required_parties(both, NOW, RULES) == {(PartyKind.GUARDIAN, "g-real")}
    case = CaseState(facts=both)
    refused = may(guardian("g-named"), Action.ANSWER_CONSENT, case, NOW, RULES)
    assert not refused.allowed and refused.conceal
    assert may(guardian("g-real"), Action.ANSWER_CONSENT, case, NOW, RULES).allowed


def test_a_child_whose_only_guardians_are_unconfirmed_has_no_guardian_to_answer_for_it() -> None:
    assert required_parties(facts(GuardianFact("g-named", True)), NOW, RULES) == frozenset()
