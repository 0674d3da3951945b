"""The family's access-log filter (:func:`consent.family_sees_read`): a read that may have
touched what is withheld now is left out, whenever it was made; any other read stays."""

from __future__ import annotations

from consent import PastRead, Secret, family_sees_read
from contracts.vocabulary import Category, LegalBasis

REPORT = Secret(position=10, category=Category.CONCERN_REPORT, origin_unit_id="forskola-solen", sent_to_unit_id="soc-ystad")
REPORTER = Secret(10, Category.CONCERN_REPORT, "forskola-solen", "soc-ystad", reporter_only=True)
SUMMARY = Secret(20, Category.HEALTH, "bup-ystad")


def read(position: int, unit: str | None, categories: set[Category], bases: set[LegalBasis]) -> PastRead:
    return PastRead(position, unit, frozenset(categories), frozenset(bases))


def test_a_read_of_a_withheld_report_by_its_filer_or_its_recipient_is_left_out_even_if_made_before_the_withholding() -> None:
    filer = read(11, "forskola-solen", {Category.CONCERN_REPORT}, {LegalBasis.OWN_RECORD})
    recipient = read(12, "soc-ystad", {Category.CONCERN_REPORT, Category.IDENTITY}, {LegalBasis.STATUTORY_CONCERN_REPORT})

    assert not family_sees_read(filer, [REPORT])
    assert not family_sees_read(recipient, [REPORT])


def test_the_statutory_basis_alone_tells_of_a_withheld_report_so_the_read_is_left_out() -> None:
    identity_only = read(12, "soc-ystad", {Category.IDENTITY}, {LegalBasis.STATUTORY_CONCERN_REPORT})

    assert not family_sees_read(identity_only, [REPORT])


def test_reads_before_the_secret_existed_and_reads_that_could_not_see_it_stay() -> None:
    earlier = read(5, "soc-ystad", {Category.CONCERN_REPORT}, {LegalBasis.STATUTORY_CONCERN_REPORT})
    other_unit = read(30, "skola-ostra", {Category.HEALTH}, {LegalBasis.OWN_RECORD})
    guardian = read(31, None, {Category.HEALTH}, {LegalBasis.CUSTODY})

    assert family_sees_read(earlier, [REPORT, SUMMARY])
    assert family_sees_read(other_unit, [REPORT, SUMMARY])
    assert family_sees_read(guardian, [REPORT, SUMMARY])


def test_a_read_on_consent_of_a_withheld_category_is_left_out() -> None:
    on_consent = read(30, "skola-ostra", {Category.HEALTH}, {LegalBasis.CONSENT})

    assert not family_sees_read(on_consent, [SUMMARY])


def test_with_only_the_reporter_withheld_the_reporters_reads_of_the_report_go_and_the_recipients_stay() -> None:
    filer = read(11, "forskola-solen", {Category.CONCERN_REPORT}, {LegalBasis.OWN_RECORD})
    filer_elsewhere = read(12, "forskola-solen", {Category.TEAM}, {LegalBasis.OWN_RECORD})
    recipient = read(13, "soc-ystad", {Category.CONCERN_REPORT}, {LegalBasis.STATUTORY_CONCERN_REPORT})

    assert not family_sees_read(filer, [REPORTER])
    assert family_sees_read(filer_elsewhere, [REPORTER])
    assert family_sees_read(recipient, [REPORTER])
