"""Table tests for the consent and legal-basis policy: one row per rule, named after it.

Every row builds the child's facts, the viewer and the piece of information by hand,
so each rule of ``consent.policy`` is checked on its own, at the moments that matter
(the day before and the day of a birthday, the instant a consent expires).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from consent import (
    ChildFacts,
    ConsentState,
    ConsentStatus,
    GuardianFact,
    Information,
    PolicyRules,
    Reason,
    Viewer,
    ViewerKind,
    age_on,
    consent_status,
    decide,
    required_parties,
)
from contracts.vocabulary import Category, LegalBasis, PartyKind, Role, UnitKind

TENANT = "ystad"
CHILD_ID = UUID("00000000-0000-4000-8000-00000000c0de")
OTHER_CHILD_ID = UUID("00000000-0000-4000-8000-0000000000ff")
BIRTH = date(2012, 6, 15)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the child is 13
RULES = PolicyRules()  # every basis, child consent and access age 15

# The 15th birthday, 00:00 UTC, and the moment just before it.
FIFTEENTH = datetime(2027, 6, 15, 0, 0, tzinfo=UTC)
DAY_BEFORE_FIFTEENTH = datetime(2027, 6, 14, 12, 0, tzinfo=UTC)
AFTER_FIFTEENTH = datetime(2028, 1, 10, 12, 0, tzinfo=UTC)

G1, G2, G3 = "g-anna", "g-bo", "g-non-custodial"
GUARDIANS = (GuardianFact(G1, True, confirmed=True), GuardianFact(G2, True, confirmed=True), GuardianFact(G3, False, confirmed=True))
BOTH = frozenset({(PartyKind.GUARDIAN, G1), (PartyKind.GUARDIAN, G2)})
CHILD_PARTY = (PartyKind.CHILD, str(CHILD_ID))

CONSENT_ID = UUID("00000000-0000-4000-8000-00000000c001")
VALID_FROM = NOW - timedelta(days=10)
VALID_UNTIL = NOW + timedelta(days=100)


def consent(**changes: object) -> ConsentState:
    """A consent from the school's Barnkontakt for BUP to see needs and conversations,
    granted by both custodial guardians unless the row says otherwise."""
    base = ConsentState(
        consent_id=CONSENT_ID,
        requested_by_unit_id="skola-ostra",
        recipient_unit_ids=frozenset({"bup-ystad"}),
        recipient_unit_kinds=frozenset(),
        categories=frozenset({Category.NEEDS, Category.CONVERSATIONS}),
        purpose="Samordnat stöd",
        valid_from=VALID_FROM,
        valid_until=VALID_UNTIL,
        granted=BOTH,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def facts(**changes: object) -> ChildFacts:
    base = ChildFacts(
        tenant_id=TENANT,
        child_id=CHILD_ID,
        birth_date=BIRTH,
        guardians=GUARDIANS,
        consents=(),
        units_sent_to=frozenset({"skola-ostra"}),
        concern_report_units=frozenset(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def staff(unit_id: str | None, kind: UnitKind | None, tenant: str = TENANT) -> Viewer:
    return Viewer(ViewerKind.STAFF, tenant, f"user@{unit_id}", frozenset({Role.TEAM_MEMBER}), unit_id, kind)


def guardian(party_id: str) -> Viewer:
    return Viewer(ViewerKind.GUARDIAN, TENANT, party_id, frozenset({Role.GUARDIAN}), party_id=party_id)


def child(child_id: UUID = CHILD_ID) -> Viewer:
    return Viewer(ViewerKind.CHILD, TENANT, str(child_id), frozenset({Role.CHILD}), party_id=str(child_id))


def auditor(roles: frozenset[Role] = frozenset({Role.AUDITOR})) -> Viewer:
    return Viewer(ViewerKind.AUDITOR, TENANT, "granskare", roles)


def rules_without(*bases: LegalBasis) -> PolicyRules:
    return PolicyRules(bases=frozenset(LegalBasis) - set(bases))


BUP = staff("bup-ystad", UnitKind.BUP)
SCHOOL = staff("skola-ostra", UnitKind.SCHOOL)
POLICE = staff("polis-ystad", UnitKind.POLICE)
SOCIAL = staff("soc-ystad", UnitKind.SOCIAL_SERVICES)
OTHER_SOCIAL = staff("soc-annan", UnitKind.SOCIAL_SERVICES)

NEEDS_FROM_SCHOOL = Information(Category.NEEDS, origin_unit_id="skola-ostra")
NEEDS_WITHHELD = Information(Category.NEEDS, origin_unit_id="soc-ystad", withheld_from_guardians=True)
IDENTITY = Information(Category.IDENTITY, origin_unit_id="skola-ostra")
CONCERN_REPORT = Information(Category.CONCERN_REPORT, origin_unit_id="forskola-solen", sent_to_unit_id="soc-ystad")
ACCESS_LOG = Information(Category.ACCESS_LOG)
REPORTED = facts(concern_report_units=frozenset({"soc-ystad"}))
WITH_CONSENT = facts(consents=(consent(),))


ALLOW_CASES = [
    pytest.param(
        guardian(G1), facts(), NEEDS_FROM_SCHOOL, NOW, RULES,
        Reason.GUARDIAN_WITH_CUSTODY, LegalBasis.CUSTODY,
        id="guardian_with_custody_sees_child_information",
    ),
    pytest.param(
        guardian(G2), facts(), CONCERN_REPORT, NOW, RULES,
        Reason.GUARDIAN_WITH_CUSTODY, LegalBasis.CUSTODY,
        id="guardian_with_custody_sees_a_concern_report_not_withheld_from_guardians",
    ),
    pytest.param(
        child(), facts(), NEEDS_FROM_SCHOOL, FIFTEENTH, RULES,
        Reason.CHILD_OWN_INFORMATION, LegalBasis.DATA_SUBJECT,
        id="child_sees_own_information_on_the_day_it_reaches_access_age",
    ),
    pytest.param(
        child(), facts(), NEEDS_FROM_SCHOOL, AFTER_FIFTEENTH, RULES,
        Reason.CHILD_OWN_INFORMATION, LegalBasis.DATA_SUBJECT,
        id="child_sees_own_information_after_access_age",
    ),
    pytest.param(
        child(), facts(), NEEDS_FROM_SCHOOL, NOW, PolicyRules(child_access_age=13),
        Reason.CHILD_OWN_INFORMATION, LegalBasis.DATA_SUBJECT,
        id="child_access_age_is_the_tenants_setting",
    ),
    pytest.param(
        auditor(), facts(), ACCESS_LOG, NOW, RULES,
        Reason.AUDITOR_ACCESS_LOG, LegalBasis.AUDIT_DUTY,
        id="auditor_sees_the_access_log",
    ),
    pytest.param(
        auditor(), facts(), IDENTITY, NOW, RULES,
        Reason.AUDITOR_IDENTITY_OF_LOGGED_CHILD, LegalBasis.AUDIT_DUTY,
        id="auditor_sees_whose_information_was_read",
    ),
    pytest.param(
        SCHOOL, facts(units_sent_to=frozenset()), NEEDS_FROM_SCHOOL, NOW, RULES,
        Reason.OWN_RECORD, LegalBasis.OWN_RECORD,
        id="unit_sees_its_own_record",
    ),
    pytest.param(
        staff("forskola-solen", UnitKind.PRESCHOOL), facts(), CONCERN_REPORT, NOW, RULES,
        Reason.OWN_RECORD, LegalBasis.OWN_RECORD,
        id="unit_that_filed_a_concern_report_sees_its_own_report",
    ),
    pytest.param(
        SCHOOL, facts(), Information(Category.NEEDS, origin_unit_id="polis-ystad", sent_to_unit_id="skola-ostra"),
        NOW, RULES, Reason.SENT_TO_UNIT, LegalBasis.SENT_TO_UNIT,
        id="unit_sees_what_was_sent_to_it",
    ),
    pytest.param(
        SCHOOL, facts(), Information(Category.IDENTITY, origin_unit_id="bvc-ystad"), NOW, RULES,
        Reason.IDENTITY_OF_CHILD_SENT_TO_UNIT, LegalBasis.SENT_TO_UNIT,
        id="unit_sees_identity_of_a_child_sent_to_it",
    ),
    pytest.param(
        SOCIAL, REPORTED, CONCERN_REPORT, NOW, RULES,
        Reason.STATUTORY_CONCERN_REPORT, LegalBasis.STATUTORY_CONCERN_REPORT,
        id="social_services_recipient_sees_concern_report_on_statutory_basis",
    ),
    pytest.param(
        SOCIAL, REPORTED, IDENTITY, NOW, RULES,
        Reason.STATUTORY_CONCERN_REPORT, LegalBasis.STATUTORY_CONCERN_REPORT,
        id="social_services_recipient_sees_identity_of_reported_child_on_statutory_basis",
    ),
    pytest.param(
        BUP, WITH_CONSENT, NEEDS_FROM_SCHOOL, NOW, RULES,
        Reason.CONSENT_IN_EFFECT, LegalBasis.CONSENT,
        id="consent_granted_by_every_custodial_guardian_lets_named_unit_see",
    ),
    pytest.param(
        BUP, facts(consents=(consent(recipient_unit_ids=frozenset(), recipient_unit_kinds=frozenset({UnitKind.BUP})),)),
        NEEDS_FROM_SCHOOL, NOW, RULES, Reason.CONSENT_IN_EFFECT, LegalBasis.CONSENT,
        id="consent_naming_recipient_by_unit_kind_lets_unit_of_that_kind_see",
    ),
    pytest.param(
        BUP, facts(consents=(consent(valid_from=NOW),)), NEEDS_FROM_SCHOOL, NOW, RULES,
        Reason.CONSENT_IN_EFFECT, LegalBasis.CONSENT,
        id="consent_is_in_effect_from_the_instant_of_valid_from",
    ),
    pytest.param(
        BUP, facts(consents=(consent(valid_until=NOW + timedelta(microseconds=1)),)), NEEDS_FROM_SCHOOL, NOW, RULES,
        Reason.CONSENT_IN_EFFECT, LegalBasis.CONSENT,
        id="consent_is_in_effect_until_the_instant_before_valid_until",
    ),
    pytest.param(
        BUP, facts(consents=(consent(valid_until=AFTER_FIFTEENTH + timedelta(days=1), granted=BOTH | {CHILD_PARTY}),)),
        NEEDS_FROM_SCHOOL, AFTER_FIFTEENTH, RULES, Reason.CONSENT_IN_EFFECT, LegalBasis.CONSENT,
        id="consent_from_child_consent_age_takes_effect_when_child_grants_too",
    ),
    pytest.param(
        BUP, facts(consents=(consent(recipient_unit_ids=frozenset({"polis-ystad"})), consent(consent_id=UUID(int=7)))),
        NEEDS_FROM_SCHOOL, NOW, RULES, Reason.CONSENT_IN_EFFECT, LegalBasis.CONSENT,
        id="any_one_consent_in_effect_that_names_the_unit_is_enough",
    ),
    pytest.param(
        SCHOOL, facts(consents=(consent(recipient_unit_ids=frozenset({"skola-ostra"}), categories=frozenset({Category.IDENTITY})),)),
        Information(Category.IDENTITY, origin_unit_id="bvc-ystad"), NOW, rules_without(LegalBasis.SENT_TO_UNIT),
        Reason.CONSENT_IN_EFFECT, LegalBasis.CONSENT,
        id="identity_falls_back_to_consent_when_sent_to_unit_basis_is_disabled",
    ),
]


DENY_CASES = [
    pytest.param(
        guardian(G1), facts(), NEEDS_FROM_SCHOOL, NOW, PolicyRules(bases=frozenset()), Reason.NO_RULES,
        id="empty_rule_set_denies_even_a_custodial_guardian",
    ),
    pytest.param(
        SCHOOL, facts(), NEEDS_FROM_SCHOOL, NOW, PolicyRules(bases=frozenset()), Reason.NO_RULES,
        id="empty_rule_set_denies_a_units_own_record",
    ),
    pytest.param(
        staff("skola-ostra", UnitKind.SCHOOL, tenant="lidingo"), facts(), NEEDS_FROM_SCHOOL, NOW, RULES,
        Reason.OTHER_TENANT,
        id="viewer_from_another_cooperation_area_is_denied_even_its_unit_id_matches",
    ),
    pytest.param(
        guardian(G1), facts(erased=True), NEEDS_FROM_SCHOOL, NOW, RULES, Reason.CHILD_ERASED,
        id="erased_child_is_denied_to_guardian",
    ),
    pytest.param(
        SCHOOL, facts(erased=True), NEEDS_FROM_SCHOOL, NOW, RULES, Reason.CHILD_ERASED,
        id="erased_child_is_denied_to_own_unit",
    ),
    pytest.param(
        guardian(G3), facts(), NEEDS_FROM_SCHOOL, NOW, RULES, Reason.NOT_A_CUSTODIAL_GUARDIAN,
        id="guardian_without_custody_is_denied",
    ),
    pytest.param(
        guardian("g-stranger"), facts(), NEEDS_FROM_SCHOOL, NOW, RULES, Reason.NOT_A_CUSTODIAL_GUARDIAN,
        id="guardian_of_another_child_is_denied",
    ),
    pytest.param(
        guardian(G1), facts(), NEEDS_WITHHELD, NOW, RULES, Reason.WITHHELD_FROM_FAMILY,
        id="information_withheld_from_guardians_is_denied_to_guardian",
    ),
    pytest.param(
        child(), facts(), NEEDS_WITHHELD, AFTER_FIFTEENTH, RULES, Reason.WITHHELD_FROM_FAMILY,
        id="information_withheld_from_guardians_is_denied_to_child",
    ),
    pytest.param(
        child(), facts(), NEEDS_FROM_SCHOOL, DAY_BEFORE_FIFTEENTH, RULES, Reason.CHILD_TOO_YOUNG,
        id="child_is_denied_own_information_the_day_before_access_age",
    ),
    pytest.param(
        child(), facts(), NEEDS_FROM_SCHOOL, NOW, RULES, Reason.CHILD_TOO_YOUNG,
        id="child_below_access_age_is_denied",
    ),
    pytest.param(
        child(OTHER_CHILD_ID), facts(), NEEDS_FROM_SCHOOL, AFTER_FIFTEENTH, RULES, Reason.NOT_THIS_CHILD,
        id="child_is_denied_another_childs_information",
    ),
    pytest.param(
        auditor(), facts(), NEEDS_FROM_SCHOOL, NOW, RULES, Reason.AUDITOR_SEES_ACCESS_LOG_ONLY,
        id="auditor_sees_access_log_only_not_needs",
    ),
    pytest.param(
        auditor(frozenset()), facts(), IDENTITY, NOW, RULES, Reason.AUDITOR_SEES_ACCESS_LOG_ONLY,
        id="auditor_viewer_without_auditor_role_is_denied_identity",
    ),
    pytest.param(
        auditor(frozenset()), facts(), ACCESS_LOG, NOW, RULES, Reason.AUDITOR_SEES_ACCESS_LOG_ONLY,
        id="auditor_viewer_without_auditor_role_is_denied_the_access_log",
    ),
    pytest.param(
        staff(None, None), facts(), Information(Category.NEEDS), NOW, RULES, Reason.STAFF_WITHOUT_UNIT,
        id="staff_without_unit_is_denied",
    ),
    pytest.param(
        SCHOOL, facts(), Information(Category.ACCESS_LOG, origin_unit_id="skola-ostra"), NOW, RULES,
        Reason.ACCESS_LOG_NOT_FOR_STAFF,
        id="staff_never_see_the_access_log_even_of_their_own_reads",
    ),
    pytest.param(
        POLICE, REPORTED, CONCERN_REPORT, NOW, RULES, Reason.CONCERN_REPORT_ONLY_TO_RECIPIENT,
        id="concern_report_is_denied_to_a_unit_it_was_not_filed_to",
    ),
    pytest.param(
        OTHER_SOCIAL, REPORTED, CONCERN_REPORT, NOW, RULES, Reason.CONCERN_REPORT_ONLY_TO_RECIPIENT,
        id="concern_report_is_denied_to_another_social_services_unit",
    ),
    pytest.param(
        SCHOOL, facts(), Information(Category.CONCERN_REPORT, origin_unit_id="polis-ystad", sent_to_unit_id="skola-ostra"),
        NOW, RULES, Reason.CONCERN_REPORT_ONLY_TO_RECIPIENT,
        id="concern_report_sent_to_a_unit_that_is_not_social_services_is_denied",
    ),
    pytest.param(
        POLICE,
        facts(consents=(consent(recipient_unit_ids=frozenset({"polis-ystad"}), categories=frozenset({Category.CONCERN_REPORT})),)),
        CONCERN_REPORT, NOW, RULES, Reason.CONCERN_REPORT_ONLY_TO_RECIPIENT,
        id="concern_report_is_denied_even_with_a_consent_naming_that_category",
    ),
    pytest.param(
        SOCIAL, REPORTED, CONCERN_REPORT, NOW, rules_without(LegalBasis.STATUTORY_CONCERN_REPORT), Reason.NO_BASIS,
        id="concern_report_is_denied_when_the_statutory_basis_is_disabled",
    ),
    pytest.param(
        OTHER_SOCIAL, REPORTED, IDENTITY, NOW, RULES, Reason.NO_BASIS,
        id="identity_is_denied_to_social_services_that_received_no_report",
    ),
    pytest.param(
        BUP, facts(), Information(Category.CONSENT, origin_unit_id="skola-ostra"), NOW, RULES, Reason.NO_BASIS,
        id="consent_records_are_denied_to_other_units",
    ),
    pytest.param(
        BUP, facts(consents=(consent(categories=frozenset({Category.CONSENT})),)),
        Information(Category.CONSENT, origin_unit_id="skola-ostra"), NOW, RULES, Reason.NO_BASIS,
        id="consent_records_are_denied_even_to_a_unit_a_consent_names_for_that_category",
    ),
    pytest.param(
        BUP, facts(), NEEDS_FROM_SCHOOL, NOW, RULES, Reason.NO_BASIS,
        id="unit_without_any_consent_is_denied",
    ),
    pytest.param(
        BUP, facts(consents=(consent(granted=frozenset({(PartyKind.GUARDIAN, G1)})),)), NEEDS_FROM_SCHOOL, NOW, RULES,
        Reason.NO_BASIS,
        id="consent_granted_by_one_of_two_custodial_guardians_is_not_in_effect",
    ),
    pytest.param(
        BUP, facts(consents=(consent(granted=frozenset({(PartyKind.GUARDIAN, G1), (PartyKind.GUARDIAN, G3)})),)),
        NEEDS_FROM_SCHOOL, NOW, RULES, Reason.NO_BASIS,
        id="grant_of_a_guardian_without_custody_does_not_stand_in_for_a_custodial_one",
    ),
    pytest.param(
        BUP, facts(consents=(consent(valid_until=AFTER_FIFTEENTH + timedelta(days=1)),)),
        NEEDS_FROM_SCHOOL, FIFTEENTH, RULES, Reason.NO_BASIS,
        id="consent_granted_by_guardians_stops_when_child_reaches_consent_age_without_granting",
    ),
    pytest.param(
        BUP, facts(consents=(consent(valid_until=AFTER_FIFTEENTH + timedelta(days=1), granted=frozenset({CHILD_PARTY})),)),
        NEEDS_FROM_SCHOOL, AFTER_FIFTEENTH, RULES, Reason.NO_BASIS,
        id="consent_granted_by_child_of_consent_age_alone_is_not_in_effect",
    ),
    pytest.param(
        BUP, facts(consents=(consent(declined=frozenset({(PartyKind.GUARDIAN, G2)}), granted=frozenset({(PartyKind.GUARDIAN, G1)})),)),
        NEEDS_FROM_SCHOOL, NOW, RULES, Reason.NO_BASIS,
        id="one_guardians_decline_keeps_consent_from_effect",
    ),
    pytest.param(
        BUP, facts(consents=(consent(withdrawn=frozenset({(PartyKind.GUARDIAN, G2)})),)), NEEDS_FROM_SCHOOL, NOW, RULES,
        Reason.NO_BASIS,
        id="one_withdrawal_ends_a_consent_every_party_had_granted",
    ),
    pytest.param(
        BUP, facts(consents=(consent(valid_until=NOW),)), NEEDS_FROM_SCHOOL, NOW, RULES, Reason.NO_BASIS,
        id="consent_is_expired_at_the_instant_of_valid_until",
    ),
    pytest.param(
        BUP, facts(consents=(consent(valid_from=NOW + timedelta(seconds=1)),)), NEEDS_FROM_SCHOOL, NOW, RULES,
        Reason.NO_BASIS,
        id="consent_is_not_yet_in_effect_before_valid_from",
    ),
    pytest.param(
        POLICE, WITH_CONSENT, NEEDS_FROM_SCHOOL, NOW, RULES, Reason.NO_BASIS,
        id="consent_naming_another_unit_id_is_denied",
    ),
    pytest.param(
        POLICE, facts(consents=(consent(recipient_unit_ids=frozenset(), recipient_unit_kinds=frozenset({UnitKind.BUP})),)),
        NEEDS_FROM_SCHOOL, NOW, RULES, Reason.NO_BASIS,
        id="consent_naming_another_unit_kind_is_denied",
    ),
    pytest.param(
        BUP, WITH_CONSENT, Information(Category.POLICE, origin_unit_id="polis-ystad"), NOW, RULES, Reason.NO_BASIS,
        id="category_the_consent_does_not_name_is_denied",
    ),
    pytest.param(
        BUP, WITH_CONSENT, NEEDS_FROM_SCHOOL, NOW, rules_without(LegalBasis.CONSENT), Reason.NO_BASIS,
        id="consent_in_effect_is_denied_when_the_consent_basis_is_disabled",
    ),
    pytest.param(
        guardian(G1), facts(), NEEDS_FROM_SCHOOL, NOW, rules_without(LegalBasis.CUSTODY), Reason.NO_BASIS,
        id="guardian_is_denied_when_the_custody_basis_is_disabled",
    ),
    pytest.param(
        child(), facts(), NEEDS_FROM_SCHOOL, AFTER_FIFTEENTH, rules_without(LegalBasis.DATA_SUBJECT), Reason.NO_BASIS,
        id="child_is_denied_when_the_data_subject_basis_is_disabled",
    ),
    pytest.param(
        SCHOOL, facts(), NEEDS_FROM_SCHOOL, NOW, rules_without(LegalBasis.OWN_RECORD), Reason.NO_BASIS,
        id="own_record_is_denied_when_the_own_record_basis_is_disabled",
    ),
    pytest.param(
        SCHOOL, facts(), Information(Category.NEEDS, origin_unit_id="polis-ystad", sent_to_unit_id="skola-ostra"),
        NOW, rules_without(LegalBasis.SENT_TO_UNIT), Reason.NO_BASIS,
        id="what_was_sent_to_a_unit_is_denied_when_the_sent_to_unit_basis_is_disabled",
    ),
    pytest.param(
        SCHOOL, facts(), Information(Category.IDENTITY, origin_unit_id="bvc-ystad"), NOW,
        rules_without(LegalBasis.SENT_TO_UNIT), Reason.NO_BASIS,
        id="identity_of_child_sent_to_unit_is_denied_when_the_sent_to_unit_basis_is_disabled",
    ),
    pytest.param(
        auditor(), facts(), ACCESS_LOG, NOW, rules_without(LegalBasis.AUDIT_DUTY), Reason.NO_BASIS,
        id="auditor_is_denied_when_the_audit_duty_basis_is_disabled",
    ),
]


@pytest.mark.parametrize(("viewer", "child_facts", "info", "at", "rules", "reason", "basis"), ALLOW_CASES)
def test_policy_allows(
    viewer: Viewer,
    child_facts: ChildFacts,
    info: Information,
    at: datetime,
    rules: PolicyRules,
    reason: Reason,
    basis: LegalBasis,
) -> None:
    decision = decide(viewer, child_facts, info, at, rules)
    assert decision.allowed
    assert decision.reason is reason
    assert decision.basis is basis
    if basis is LegalBasis.CONSENT:
        assert decision.consent_id is not None
    else:
        assert decision.consent_id is None


@pytest.mark.parametrize(("viewer", "child_facts", "info", "at", "rules", "reason"), DENY_CASES)
def test_policy_denies(
    viewer: Viewer, child_facts: ChildFacts, info: Information, at: datetime, rules: PolicyRules, reason: Reason
) -> None:
    decision = decide(viewer, child_facts, info, at, rules)
    assert not decision.allowed
    assert decision.reason is reason
    assert decision.basis is None
    assert decision.consent_id is None


def test_concern_report_access_is_never_recorded_as_consent_even_when_a_consent_covers_the_unit() -> None:
    consents = (consent(recipient_unit_ids=frozenset({"soc-ystad"}), categories=frozenset({Category.IDENTITY, Category.NEEDS})),)
    child_facts = replace(REPORTED, consents=consents)
    for info in (CONCERN_REPORT, IDENTITY):
        decision = decide(SOCIAL, child_facts, info, NOW, RULES)
        assert decision.basis is LegalBasis.STATUTORY_CONCERN_REPORT
        assert decision.consent_id is None


def test_consent_decision_names_the_consent_that_allowed_it() -> None:
    pending = consent(consent_id=UUID(int=1), granted=frozenset())
    in_effect = consent(consent_id=UUID(int=2))
    decision = decide(BUP, facts(consents=(pending, in_effect)), NEEDS_FROM_SCHOOL, NOW, RULES)
    assert decision.consent_id == UUID(int=2)


# -- consent_status ------------------------------------------------------------------

STATUS_CASES = [
    pytest.param(consent(granted=frozenset()), facts(), NOW, ConsentStatus.PENDING, id="pending_before_any_answer"),
    pytest.param(
        consent(granted=frozenset({(PartyKind.GUARDIAN, G2)})), facts(), NOW, ConsentStatus.PENDING,
        id="pending_while_one_custodial_guardian_has_not_answered",
    ),
    pytest.param(consent(), facts(), NOW, ConsentStatus.IN_EFFECT, id="in_effect_when_every_custodial_guardian_granted"),
    pytest.param(
        consent(valid_until=FIFTEENTH + timedelta(days=30)), facts(), FIFTEENTH, ConsentStatus.PENDING,
        id="pending_again_when_child_reaches_consent_age_without_granting",
    ),
    pytest.param(
        consent(valid_until=FIFTEENTH + timedelta(days=30)), facts(), DAY_BEFORE_FIFTEENTH, ConsentStatus.IN_EFFECT,
        id="in_effect_without_the_child_the_day_before_consent_age",
    ),
    pytest.param(
        consent(valid_until=FIFTEENTH + timedelta(days=30), granted=BOTH | {CHILD_PARTY}), facts(), FIFTEENTH,
        ConsentStatus.IN_EFFECT, id="in_effect_from_consent_age_when_child_granted_too",
    ),
    pytest.param(
        consent(declined=frozenset({(PartyKind.GUARDIAN, G1)}), granted=frozenset()), facts(), NOW,
        ConsentStatus.DECLINED, id="declined_by_one_guardian",
    ),
    pytest.param(
        consent(withdrawn=frozenset({(PartyKind.GUARDIAN, G1)})), facts(), NOW, ConsentStatus.WITHDRAWN,
        id="withdrawn_by_one_guardian_after_all_granted",
    ),
    pytest.param(
        consent(withdrawn=frozenset({(PartyKind.GUARDIAN, G1)}), valid_until=NOW - timedelta(days=1)), facts(), NOW,
        ConsentStatus.WITHDRAWN, id="withdrawn_is_reported_before_expired",
    ),
    pytest.param(
        consent(declined=frozenset({(PartyKind.GUARDIAN, G1)}), valid_until=NOW - timedelta(days=1)), facts(), NOW,
        ConsentStatus.DECLINED, id="declined_is_reported_before_expired",
    ),
    pytest.param(consent(valid_until=NOW), facts(), NOW, ConsentStatus.EXPIRED, id="expired_at_the_instant_of_valid_until"),
    pytest.param(
        consent(valid_until=NOW + timedelta(microseconds=1)), facts(), NOW, ConsentStatus.IN_EFFECT,
        id="in_effect_the_instant_before_valid_until",
    ),
    pytest.param(
        consent(valid_from=NOW + timedelta(days=1)), facts(), NOW, ConsentStatus.NOT_YET_VALID,
        id="not_yet_valid_before_valid_from",
    ),
    pytest.param(
        consent(granted=frozenset()),
        facts(guardians=(GuardianFact(G3, False, confirmed=True),)),
        NOW,
        ConsentStatus.PENDING,
        id="pending_forever_for_a_young_child_with_no_custodial_guardian",
    ),
]


@pytest.mark.parametrize(("state", "child_facts", "at", "expected"), STATUS_CASES)
def test_consent_status(state: ConsentState, child_facts: ChildFacts, at: datetime, expected: ConsentStatus) -> None:
    assert consent_status(state, child_facts, at, RULES) is expected


# -- required_parties and age_on -------------------------------------------------------


def test_required_parties_are_the_custodial_guardians_below_consent_age() -> None:
    assert required_parties(facts(), DAY_BEFORE_FIFTEENTH, RULES) == BOTH


def test_required_parties_include_the_child_from_consent_age() -> None:
    assert required_parties(facts(), FIFTEENTH, RULES) == BOTH | {CHILD_PARTY}


def test_child_consent_age_is_the_tenants_setting() -> None:
    assert CHILD_PARTY in required_parties(facts(), NOW, PolicyRules(child_consent_age=13))
    assert CHILD_PARTY not in required_parties(facts(), NOW, PolicyRules(child_consent_age=14))


AGE_CASES = [
    pytest.param(date(2012, 6, 15), date(2027, 6, 14), 14, id="day_before_birthday_is_still_the_younger_age"),
    pytest.param(date(2012, 6, 15), date(2027, 6, 15), 15, id="birthday_is_the_new_age"),
    pytest.param(date(2012, 6, 15), date(2027, 6, 16), 15, id="day_after_birthday"),
    pytest.param(date(2012, 6, 15), date(2027, 1, 1), 14, id="earlier_month_same_year"),
    pytest.param(date(2012, 6, 15), date(2012, 6, 15), 0, id="day_of_birth_is_age_zero"),
    pytest.param(date(2012, 12, 31), date(2013, 12, 30), 0, id="turns_one_only_on_first_birthday"),
    pytest.param(
        date(2012, 6, 15), datetime(2027, 6, 14, 21, 59, 59, tzinfo=UTC), 14,
        id="last_second_before_swedish_midnight_on_the_birthday",
    ),
    pytest.param(
        date(2012, 6, 15), datetime(2027, 6, 14, 22, 0, tzinfo=UTC), 15,
        id="birthday_begins_at_swedish_midnight_not_utc_midnight",
    ),
    pytest.param(
        date(2012, 1, 15), datetime(2027, 1, 14, 23, 0, tzinfo=UTC), 15,
        id="winter_birthday_begins_at_swedish_midnight_under_cet",
    ),
]


@pytest.mark.parametrize(("born", "on", "expected"), AGE_CASES)
def test_age_on(born: date, on: date | datetime, expected: int) -> None:
    assert age_on(born, on) == expected
