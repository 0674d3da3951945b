"""Who may have an inclusion proof of a log position: every kind of asker against every
kind of record that matters, each row named after the rule that decides it."""

from __future__ import annotations

from uuid import UUID

import pytest

from consent import ViewerKind
from consent.proofs import LeafFacts, ProofAnswer, ProofAsker, ProofRule, may_check_the_log, may_prove

YSTAD, LIDINGO = "ystad", "lidingo"
ALVA = UUID("00000000-0000-4000-8000-00000000a1a0")
OLLE = UUID("00000000-0000-4000-8000-0000000011e0")

AUDITOR = ProofAsker(ViewerKind.AUDITOR, YSTAD)
GUARDIAN = ProofAsker(ViewerKind.GUARDIAN, YSTAD, frozenset({ALVA}))
CHILD = ProofAsker(ViewerKind.CHILD, YSTAD, frozenset({ALVA}))
STAFF = ProofAsker(ViewerKind.STAFF, YSTAD)

REGISTRATION = LeafFacts(YSTAD, ALVA)
"""A fact of Alva's record (not a read)."""
READ_SHOWN = LeafFacts(YSTAD, ALVA, access_read=True, shown_to_family=True)
READ_NOT_SHOWN = LeafFacts(YSTAD, ALVA, access_read=True, shown_to_family=False)
"""A read the family's access log leaves out (withheld from guardians, or a bare denial)."""
OTHER_CHILDS_READ = LeafFacts(YSTAD, OLLE, access_read=True, shown_to_family=True)
OTHER_AREA_FACT = LeafFacts(LIDINGO, OLLE)
OTHER_AREA_READ = LeafFacts(LIDINGO, ALVA, access_read=True, shown_to_family=True)
"""Even with the same child id and shown: the area decides first."""
UNKNOWN_AREA = LeafFacts(None, ALVA)
"""A record no key opens any more and no erasure recorded for it."""

CASES = [
    pytest.param(AUDITOR, REGISTRATION, ProofAnswer.PROOF, ProofRule.AUDITOR_OF_THE_AREA, id="auditor_proves_a_fact_of_their_area"),
    pytest.param(AUDITOR, READ_NOT_SHOWN, ProofAnswer.PROOF, ProofRule.AUDITOR_OF_THE_AREA, id="auditor_proves_a_read_hidden_from_the_family"),
    pytest.param(AUDITOR, OTHER_AREA_FACT, ProofAnswer.AS_ABSENT, ProofRule.OTHER_AREA, id="auditor_gets_nothing_of_another_area_osl_10_1"),
    pytest.param(AUDITOR, OTHER_AREA_READ, ProofAnswer.AS_ABSENT, ProofRule.OTHER_AREA, id="auditor_gets_no_read_of_another_area"),
    pytest.param(AUDITOR, UNKNOWN_AREA, ProofAnswer.AS_ABSENT, ProofRule.AREA_UNKNOWN, id="auditor_gets_nothing_whose_area_cannot_be_told"),
    pytest.param(AUDITOR, None, ProofAnswer.AS_ABSENT, ProofRule.NO_SUCH_POSITION, id="auditor_asks_for_a_position_not_in_the_log"),
    pytest.param(GUARDIAN, READ_SHOWN, ProofAnswer.PROOF, ProofRule.ENTRY_SHOWN_TO_THE_FAMILY, id="guardian_proves_an_entry_shown_in_their_childs_log"),
    pytest.param(CHILD, READ_SHOWN, ProofAnswer.PROOF, ProofRule.ENTRY_SHOWN_TO_THE_FAMILY, id="child_proves_an_entry_shown_in_their_own_log"),
    pytest.param(GUARDIAN, READ_NOT_SHOWN, ProofAnswer.AS_ABSENT, ProofRule.NOT_SHOWN_TO_THE_FAMILY, id="guardian_gets_no_entry_the_log_did_not_show"),
    pytest.param(GUARDIAN, REGISTRATION, ProofAnswer.AS_ABSENT, ProofRule.NOT_AN_ACCESS_LOG_ENTRY, id="guardian_gets_no_fact_that_is_not_a_read"),
    pytest.param(GUARDIAN, OTHER_CHILDS_READ, ProofAnswer.AS_ABSENT, ProofRule.NOT_THEIR_CHILD, id="guardian_gets_no_read_of_another_child"),
    pytest.param(CHILD, OTHER_CHILDS_READ, ProofAnswer.AS_ABSENT, ProofRule.NOT_THEIR_CHILD, id="child_gets_no_read_of_another_child"),
    pytest.param(GUARDIAN, OTHER_AREA_READ, ProofAnswer.AS_ABSENT, ProofRule.OTHER_AREA, id="guardian_gets_no_read_of_another_area"),
    pytest.param(GUARDIAN, UNKNOWN_AREA, ProofAnswer.AS_ABSENT, ProofRule.AREA_UNKNOWN, id="guardian_gets_nothing_whose_area_cannot_be_told"),
    pytest.param(GUARDIAN, None, ProofAnswer.AS_ABSENT, ProofRule.NO_SUCH_POSITION, id="guardian_asks_for_a_position_not_in_the_log"),
    pytest.param(
        ProofAsker(ViewerKind.GUARDIAN, YSTAD), READ_SHOWN, ProofAnswer.AS_ABSENT, ProofRule.NOT_THEIR_CHILD,
        id="guardian_without_children_gets_nothing",
    ),
    pytest.param(STAFF, REGISTRATION, ProofAnswer.NOT_PERMITTED, ProofRule.NOT_FOR_STAFF, id="staff_get_no_proof_pdl_4_3"),
    pytest.param(STAFF, READ_SHOWN, ProofAnswer.NOT_PERMITTED, ProofRule.NOT_FOR_STAFF, id="staff_get_no_proof_of_a_read"),
    pytest.param(STAFF, OTHER_AREA_FACT, ProofAnswer.NOT_PERMITTED, ProofRule.NOT_FOR_STAFF, id="staff_refused_alike_for_another_area"),
    pytest.param(STAFF, None, ProofAnswer.NOT_PERMITTED, ProofRule.NOT_FOR_STAFF, id="staff_refused_alike_for_a_missing_position"),
]


@pytest.mark.parametrize(("asker", "leaf", "answer", "rule"), CASES)
def test_who_may_have_an_inclusion_proof(asker: ProofAsker, leaf: LeafFacts | None, answer: ProofAnswer, rule: ProofRule) -> None:
    decision = may_prove(asker, leaf)
    assert (decision.answer, decision.rule) == (answer, rule)
    assert decision.allowed is (answer is ProofAnswer.PROOF)


def test_every_rule_is_named_by_a_row() -> None:
    assert {c.values[3] for c in CASES} == set(ProofRule)


@pytest.mark.parametrize("kind", list(ViewerKind))
def test_a_refusal_that_depends_on_the_position_reads_as_a_missing_position(kind: ViewerKind) -> None:
    """Whatever lies at a refused position, the asker is told what a missing one tells them."""
    asker = ProofAsker(kind, YSTAD, frozenset({ALVA}))
    missing = may_prove(asker, None).answer
    for leaf in (REGISTRATION, READ_NOT_SHOWN, OTHER_CHILDS_READ, OTHER_AREA_FACT, OTHER_AREA_READ, UNKNOWN_AREA):
        decision = may_prove(asker, leaf)
        assert decision.allowed or decision.answer is missing, (kind, leaf)


@pytest.mark.parametrize(("kind", "allowed"), [(ViewerKind.AUDITOR, True), (ViewerKind.STAFF, False), (ViewerKind.GUARDIAN, False), (ViewerKind.CHILD, False)])
def test_only_auditors_have_the_log_checked_against_its_checkpoint(kind: ViewerKind, allowed: bool) -> None:
    assert may_check_the_log(kind) is allowed
