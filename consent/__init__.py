"""The consent and legal-basis policy: pure decisions, no I/O, the clock passed in."""

from consent.policy import (
    AccessDecision,
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
    consent_ends_by,
    consent_status,
    decide,
    required_parties,
)

__all__ = [
    "AccessDecision",
    "ChildFacts",
    "ConsentState",
    "ConsentStatus",
    "GuardianFact",
    "Information",
    "PolicyRules",
    "Reason",
    "Viewer",
    "ViewerKind",
    "age_on",
    "consent_ends_by",
    "consent_status",
    "decide",
    "required_parties",
]
