"""What each term of the vocabulary is called, in Swedish and in English: the one source.

The published vocabulary schema annotates each term with these names, and the pages show
them: the web's catalogues take every term's name from here under its message id
(:func:`label_key`, e.g. ``unitkind:bvc``), so a term is worded once per language. Texts
written for one audience about a term (the family pages' own explanations) are page
texts and stay in the pages' catalogues.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from contracts.indicators import INDICATORS, Indicator
from contracts.vocabulary import (
    COMPASS,
    ActionStatus,
    AgeGroup,
    Area,
    CardKind,
    Category,
    ClosureReason,
    ConversationWith,
    Decision,
    HomeVisit,
    LegalBasis,
    Principal,
    RegisterAnswer,
    ReviewOutcome,
    Role,
    UnitKind,
)

LANGUAGES = ("sv", "en")


@dataclass(frozen=True)
class Label:
    """A term's name in Swedish and English, and what it means (in English)."""

    sv: str
    en: str
    description: str = ""

    def in_language(self, language: str) -> str:
        return self.sv if language == "sv" else self.en


AREA_LABELS: dict[Area, Label] = {a: Label(d.label_sv, d.label_en, d.definition_sv) for a, d in COMPASS.items()}

ROLE_LABELS: dict[Role, Label] = {
    Role.DISCOVERER: Label("Upptäckare", "Discoverer", "Every adult who meets the child in their role; files a discovery card."),
    Role.BARNKONTAKT: Label(
        "Barnkontakt",
        "Barnkontakt (child contact)",
        "The family's one first contact: receives discovery cards, holds the child conversation, decides the next step.",
    ),
    Role.SUPPORT_COORDINATOR: Label(
        "Stödsamordnare",
        "Support coordinator",
        "Holds support from several agencies together and owns the child's plan in an individual child team.",
    ),
    Role.TEAM_MEMBER: Label("Teammedlem", "Team member", "A member of a Barnteam or an individual child team."),
    Role.GUARDIAN: Label("Vårdnadshavare", "Guardian", "Co-creator of the support; gives or withholds consent."),
    Role.CHILD: Label("Barn", "Child", "Co-creator of the support; answers consent requests from the set age."),
    Role.AUDITOR: Label("Loggranskare", "Auditor", "Reviews who saw which information, when and on which basis."),
    Role.TENANT_ADMIN: Label("Administratör", "Administrator", "Administers one cooperation area."),
}

UNIT_KIND_LABELS: dict[UnitKind, Label] = {
    UnitKind.MIDWIFE_CLINIC: Label("Barnmorskemottagning", "Midwife clinic"),
    UnitKind.BVC: Label("Barnhälsovård (BVC)", "Child health care (BVC)"),
    UnitKind.PRESCHOOL: Label("Förskola", "Preschool"),
    UnitKind.SCHOOL: Label("Grundskola", "School"),
    UnitKind.PUPIL_HEALTH: Label("Barn- och elevhälsan", "Pupil health"),
    UnitKind.SOCIAL_SERVICES: Label("Socialtjänsten", "Social services"),
    UnitKind.POLICE: Label("Polisen", "Police"),
    UnitKind.FIRST_LINE_PSYCHIATRY: Label("Första linjen", "First-line psychiatry"),
    UnitKind.BUP: Label("Barn- och ungdomspsykiatrin (BUP)", "Child and adolescent psychiatry (BUP)"),
    UnitKind.HAB: Label("Barn- och ungdomshabiliteringen (HAB)", "Child and youth habilitation (HAB)"),
    UnitKind.YOUTH_CENTRE: Label("Ungdomens hus", "Youth centre (Ungdomens hus)"),
}

PRINCIPAL_LABELS: dict[Principal, Label] = {
    Principal.MUNICIPALITY: Label("Kommunen", "Municipality"),
    Principal.REGION: Label("Regionen", "Region"),
    Principal.POLICE: Label("Polisen", "Police"),
}

CATEGORY_LABELS: dict[Category, Label] = {
    Category.IDENTITY: Label("Identitet", "Identity", "Who the child and the guardians are: names, personnummer, custody."),
    Category.NEEDS: Label("Behov", "Needs", "Unmet needs per compass area, the five questions, advice and rationale."),
    Category.CONVERSATIONS: Label("Samtal", "Conversations", "Child and guardian conversations and follow-ups."),
    Category.TEAM: Label(
        "Team och kort", "Team and cards", "Who holds the case: cards, Barnkontakt, decisions, meetings, coordinator."
    ),
    Category.RATINGS: Label("Skattningar", "Ratings", "Rating forms and the joint Behovskompass."),
    Category.PLAN: Label("Barnets plan", "Barnets plan", "Goals per area, actions, responsible units and persons, views."),
    Category.HEALTH: Label("Hälsa och sjukvård", "Health care", "What health care shares, and home visits."),
    Category.POLICE: Label("Polisen", "Police", "What the police share."),
    Category.SOCIAL_SERVICES: Label("Socialtjänsten", "Social services", "What social services share, and secrecy decisions."),
    Category.CONCERN_REPORT: Label(
        "Orosanmälan", "Concern report", "A concern report to social services; statutory, never consented."
    ),
    Category.CONSENT: Label("Samtycke", "Consent", "Consent requests and every answer to them."),
    Category.ACCESS_LOG: Label("Åtkomstlogg", "Access log", "Who read the child's information, when and on which basis."),
}

LEGAL_BASIS_LABELS: dict[LegalBasis, Label] = {
    LegalBasis.CONSENT: Label(
        "Samtycke", "Consent", "Every guardian with custody, and the child from the set age, has consented."
    ),
    LegalBasis.OWN_RECORD: Label("Egen dokumentation", "Own record", "The unit's own documentation."),
    LegalBasis.SENT_TO_UNIT: Label(
        "Skickat till enheten",
        "Sent to the unit",
        "Sent to the unit in the process: a card to its Barnkontakt, feedback to its discoverer.",
    ),
    LegalBasis.STATUTORY_CONCERN_REPORT: Label(
        "Orosanmälan enligt lag", "Statutory concern report", "A concern report to social services (SoL 14 kap. 1 §)."
    ),
    LegalBasis.CUSTODY: Label("Vårdnad", "Custody", "A guardian's right to their child's information."),
    LegalBasis.DATA_SUBJECT: Label("Egna uppgifter", "Own information", "The child's own information."),
    LegalBasis.AUDIT_DUTY: Label(
        "Loggkontroll", "Audit duty", "The duty to review the access log (PDL 4 kap. 3 §, GDPR art. 32)."
    ),
}

DECISION_LABELS: dict[Decision, Label] = {
    Decision.OWN_SUPPORT: Label("Eget stöd", "Own support"),
    Decision.BARNTEAM: Label("Barnteam", "Barnteam"),
    Decision.INDIVIDUAL_TEAM: Label("Individuellt barnteam", "Individual team (individuellt barnteam)"),
}

HOME_VISIT_LABELS: dict[HomeVisit, Label] = {
    HomeVisit.RECEIVING_YOUR_CHILD: Label("Att ta emot sitt barn", "Receiving your child"),
    HomeVisit.GETTING_TO_KNOW_YOUR_CHILD: Label("Att lära känna sitt barn", "Getting to know your child"),
    HomeVisit.BEING_TOGETHER: Label("Att vara tillsammans", "Being together"),
    HomeVisit.LEADING_AND_FOLLOWING: Label("Att leda och följa", "Leading and following"),
    HomeVisit.MAKING_AN_EVERYDAY_LIFE: Label("Att skapa en vardag", "Making an everyday life"),
    HomeVisit.BEING_A_FAMILY: Label("Att vara familj", "Being a family"),
}

REVIEW_OUTCOME_LABELS: dict[ReviewOutcome, Label] = {
    ReviewOutcome.JUSTIFIED: Label("Befogad", "Justified", "The reads had a reason in the child's support."),
    ReviewOutcome.UNJUSTIFIED: Label("Obefogad", "Unjustified", "The reads had no reason in the child's support."),
    ReviewOutcome.NEEDS_FOLLOW_UP: Label("Behöver följas upp", "Needs follow-up", "The reads need to be looked into further."),
}

INDICATOR_LABELS: dict[Indicator, Label] = {
    i: Label(d.statement_sv, d.statement_en, d.source_sv) for i, d in INDICATORS.items()
}
"""Each rating-form indicator by its positive statement (:mod:`contracts.indicators`)."""

CARD_KIND_LABELS: dict[CardKind, Label] = {
    CardKind.INTERNAL: Label(
        "Från Barnkontaktens egen verksamhet", "From the Barnkontakt's own organisation",
        "The discoverer works where the Barnkontakt does.",
    ),
    CardKind.EXTERNAL: Label(
        "Från en annan verksamhet", "From another organisation", "The discoverer works at another unit."
    ),
}

CONVERSATION_WITH_LABELS: dict[ConversationWith, Label] = {
    ConversationWith.CHILD: Label("Barnet", "The child"),
    ConversationWith.GUARDIAN: Label("Vårdnadshavare", "Guardian"),
}

AGE_GROUP_LABELS: dict[AgeGroup, Label] = {
    g: Label(f"{g.value.replace('-', '–')} år", f"{g.value.replace('-', '–')} years") for g in AgeGroup
}

ACTION_STATUS_LABELS: dict[ActionStatus, Label] = {
    ActionStatus.PLANNED: Label("Planerad", "Planned"),
    ActionStatus.IN_PROGRESS: Label("Pågår", "In progress"),
    ActionStatus.DONE: Label("Klar", "Done"),
    ActionStatus.CANCELLED: Label("Avbruten", "Cancelled"),
}

REGISTER_ANSWER_LABELS: dict[RegisterAnswer, Label] = {
    RegisterAnswer.CONFIRMED: Label("Bekräftad av folkbokföringen", "Confirmed by the population register"),
    RegisterAnswer.NOT_A_CUSTODIAN: Label(
        "Inte vårdnadshavare enligt folkbokföringen", "Not a guardian according to the population register"
    ),
    RegisterAnswer.REGISTER_UNAVAILABLE: Label(
        "Folkbokföringen kunde inte svara", "The population register could not answer"
    ),
    RegisterAnswer.CUSTODIAN_NOT_NAMED: Label(
        "Ytterligare vårdnadshavare finns", "Another guardian with custody is not named"
    ),
}

CLOSURE_REASON_LABELS: dict[ClosureReason, Label] = {
    ClosureReason.NEEDS_MET: Label("Behoven är tillgodosedda", "The needs are met", "A follow-up Behovskompass shows the needs met."),
    ClosureReason.MOVED_AWAY: Label("Familjen har flyttat", "The family moved away", "The child no longer lives in the cooperation area."),
    ClosureReason.DECLINED: Label(
        "Vårdnadshavarna har tackat nej", "The guardians declined", "The guardians (or the child) declined the support offered."
    ),
}

LABELS: dict[type[Enum], tuple[str, Mapping[Any, Label]]] = {
    Area: ("area", AREA_LABELS),
    Role: ("role", ROLE_LABELS),
    UnitKind: ("unitkind", UNIT_KIND_LABELS),
    Principal: ("principal", PRINCIPAL_LABELS),
    Category: ("category", CATEGORY_LABELS),
    LegalBasis: ("basis", LEGAL_BASIS_LABELS),
    Decision: ("decision", DECISION_LABELS),
    HomeVisit: ("homevisit", HOME_VISIT_LABELS),
    ReviewOutcome: ("outcome", REVIEW_OUTCOME_LABELS),
    Indicator: ("indicator", INDICATOR_LABELS),
    CardKind: ("cardkind", CARD_KIND_LABELS),
    ConversationWith: ("with", CONVERSATION_WITH_LABELS),
    AgeGroup: ("agegroup", AGE_GROUP_LABELS),
    ActionStatus: ("status", ACTION_STATUS_LABELS),
    RegisterAnswer: ("register", REGISTER_ANSWER_LABELS),
    ClosureReason: ("closure", CLOSURE_REASON_LABELS),
}
"""Each labelled term kind: the prefix of its message ids, and its terms' names. Keyed by
kind, not by term: ``Category.POLICE`` and ``UnitKind.POLICE`` are equal strings."""


def label_of(term: Enum) -> Label:
    return LABELS[type(term)][1][term]


def label_key(term: Enum) -> str:
    """The message id the pages show ``term`` by: ``<prefix>:<value>``, e.g. ``category:health``."""
    return f"{LABELS[type(term)][0]}:{term.value}"


def label(term: Enum, language: str) -> str:
    """``term``'s name in ``language`` (``sv`` or ``en``)."""
    return label_of(term).in_language(language)


def vocabulary_messages(language: str) -> dict[str, str]:
    """Every term's name in ``language``, by its message id: the pages' catalogue of the vocabulary."""
    return {
        f"{prefix}:{term.value}": name.in_language(language)
        for prefix, names in LABELS.values()
        for term, name in names.items()
    }


__all__ = [
    "LABELS",
    "LANGUAGES",
    "Label",
    "label",
    "label_key",
    "label_of",
    "vocabulary_messages",
]
