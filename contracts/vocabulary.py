"""The model's own words, as the hub publishes them.

Swedish names are the model's; the English meaning is in each docstring or label.
The need statements are those of the concern-report form in seed 000 ("ANMÄLAN till
socialnämnden"); that form has no statements for Hälsa and Omvårdad, so those two
areas carry statements written in the same form from the areas' definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum
from zoneinfo import ZoneInfo

SWEDISH_TIME = ZoneInfo("Europe/Stockholm")
"""Swedish local time (CET/CEST): where the model's days begin and end, so a birthday, a
half-year term, a follow-up date and the office hours of the access review are Swedish ones."""


class Area(str, Enum):
    """The eight areas of Behovskompassen (the needs compass), GIRFEC's SHANARRI."""

    TRYGGHET = "trygghet"
    HALSA = "halsa"
    UTVECKLAS = "utvecklas"
    OMVARDAD = "omvardad"
    FRITID = "fritid"
    RESPEKTERAS = "respekteras"
    ANSVARSTAGANDE = "ansvarstagande"
    TILLHORIGHET = "tillhorighet"


CENTRAL_GOAL_SV = "Bästa möjliga start i livet"
CENTRAL_GOAL_EN = "The best possible start in life"


@dataclass(frozen=True)
class AreaDescription:
    """One compass area: its labels, definition and the statements that flag an unmet need."""

    area: Area
    label_sv: str
    label_en: str
    girfec: str
    colour: str
    definition_sv: str
    need_statements_sv: tuple[str, ...]


COMPASS: dict[Area, AreaDescription] = {
    d.area: d
    for d in (
        AreaDescription(
            Area.TRYGGHET,
            "Trygghet",
            "Safe",
            "Safe",
            "#1f5fa8",
            "Barnet känner sig trygg och skyddat från sådant som kan skada hen i och utanför hemmet.",
            (
                "Barnet kan inte lita på de som finns i dess nätverk",
                "Barnet är inte tryggt i hemmet, skolan, på nätet eller i sin närmiljö",
                "Barnet visar ingen förmåga att hantera situationer som innebär en risk för sig själv eller andra",
                "Barnet är inte skyddat från kränkningar, kriminalitet eller utnyttjande av andra",
                "Barnet misstänks befinna sig i en möjlig koppling till kriminalitet",
                "Barnet misstänks begå kriminella handlingar",
                "Barnet misstänks befinna sig i en möjlig koppling till kriminella nätverk",
                "Barnet misstänks leva i hedersvåld och förtryck",
            ),
        ),
        AreaDescription(
            Area.HALSA,
            "Hälsa",
            "Healthy",
            "Healthy",
            "#2e8540",
            "Barnet har bästa möjliga fysiska och psykiska hälsa och får den vård det behöver.",
            (
                "Barnet får inte den hälso- och sjukvård eller tandvård det behöver",
                "Barnet visar tecken på psykisk ohälsa",
                "Barnet har en ohälsosam livsstil som påverkar dess hälsa",
            ),
        ),
        AreaDescription(
            Area.UTVECKLAS,
            "Utvecklas",
            "Developing",
            "Achieving",
            "#7a3e9d",
            "Barnet utvecklas i takt med sin ålder och har förmågor att klara av det vardagliga livet.",
            ("Barnet upplevs inte utvecklat i förhållande till sin ålder",),
        ),
        AreaDescription(
            Area.OMVARDAD,
            "Omvårdad",
            "Cared for",
            "Nurtured",
            "#c0392b",
            "Barnet har en trygg plats att bo på och får omsorg, mat, kläder och vila efter sina behov.",
            (
                "Barnet har inte en trygg och stabil boendesituation",
                "Barnet får inte mat, kläder, sömn eller hygien efter sina behov",
                "Barnets vårdnadshavare har svårt att ge barnet den omsorg det behöver",
            ),
        ),
        AreaDescription(
            Area.FRITID,
            "Fritid",
            "Active",
            "Active",
            "#e67e22",
            "Barnet har fritidsintresse med delaktighet från vårdnadshavare eller annan trygg person i dess nätverk.",
            ("Barnet har inga fritidsintressen eller tid för återhämtning",),
        ),
        AreaDescription(
            Area.RESPEKTERAS,
            "Respekteras",
            "Respected",
            "Respected",
            "#16a085",
            "Barnet känner sig sedd, hörd och bekräftad av viktiga personer i sin vardag.",
            (
                "Barnet känner sig inte tagen på allvar och inte delaktig i viktiga beslut",
                "Barnet har inga vänner som stöttar det",
                "Barnet känner sig retad/utstött eller kränkt av andra",
            ),
        ),
        AreaDescription(
            Area.ANSVARSTAGANDE,
            "Ansvarstagande",
            "Responsible",
            "Responsible",
            "#8e6c00",
            "Barnet förstår vad som förväntas av det och tar ansvar för sina handlingar.",
            (
                "Barnet deltar inte i undervisningen i skolan",
                "Barnet har inga vänner som tar ansvar",
                "Barnet kan inte hantera svårigheter och problem",
                "Barnet visar ingen hänsyn till andra",
            ),
        ),
        AreaDescription(
            Area.TILLHORIGHET,
            "Tillhörighet",
            "Included",
            "Included",
            "#5d6d7e",
            "Barnet känner tillhörighet och uppskattning av personer som barnet möter i sin vardag.",
            (
                "Barnet känner sig inte viktig eller uppskattad av sina vårdnadshavare",
                "Barnet känner sig inte viktig eller uppskattad av barn eller vuxna i dess nätverk",
                "Barnets familj saknar ett socialt nätverk som deltar aktivt i dess liv",
            ),
        ),
    )
}


FIVE_QUESTIONS_SV: tuple[str, ...] = (
    "Vilka behov utifrån Behovskompassen är inte uppfyllda?",
    "Har jag den information jag behöver för att hjälpa barnet?",
    "Vad är barnets och vårdnadshavarens syn på situationen?",
    "Vad kan jag göra för att hjälpa barnet?",
    "Vilken ytterligare hjälp kan behövas från andra verksamheter?",
)
"""Fem frågor: the five questions a discoverer works through before a discovery card."""


class Role(str, Enum):
    """Who a person is in the model."""

    DISCOVERER = "discoverer"  # Upptäckare
    BARNKONTAKT = "barnkontakt"  # the family's one first contact
    SUPPORT_COORDINATOR = "support_coordinator"  # Stödsamordnare
    TEAM_MEMBER = "team_member"  # member of a Barnteam or individual team
    GUARDIAN = "guardian"  # Vårdnadshavare
    CHILD = "child"
    AUDITOR = "auditor"  # Loggranskare
    TENANT_ADMIN = "tenant_admin"


STAFF_ROLES = frozenset(
    {Role.DISCOVERER, Role.BARNKONTAKT, Role.SUPPORT_COORDINATOR, Role.TEAM_MEMBER, Role.TENANT_ADMIN}
)


class Principal(str, Enum):
    """Huvudman: the three principals of a cooperation area."""

    MUNICIPALITY = "municipality"
    REGION = "region"
    POLICE = "police"


class UnitKind(str, Enum):
    """The kinds of agency (verksamhet) that take part."""

    MIDWIFE_CLINIC = "midwife_clinic"  # barnmorskemottagning
    BVC = "bvc"  # barnhälsovård
    PRESCHOOL = "preschool"  # förskola
    SCHOOL = "school"  # grundskola
    PUPIL_HEALTH = "pupil_health"  # barn- och elevhälsan
    SOCIAL_SERVICES = "social_services"  # socialtjänsten
    POLICE = "police"  # polisen
    FIRST_LINE_PSYCHIATRY = "first_line_psychiatry"  # första linjen
    BUP = "bup"  # barn- och ungdomspsykiatrin
    HAB = "hab"  # barn- och ungdomshabiliteringen
    YOUTH_CENTRE = "youth_centre"  # Ungdomens hus


UNIT_KIND_PRINCIPAL: dict[UnitKind, Principal] = {
    UnitKind.MIDWIFE_CLINIC: Principal.REGION,
    UnitKind.BVC: Principal.REGION,
    UnitKind.PRESCHOOL: Principal.MUNICIPALITY,
    UnitKind.SCHOOL: Principal.MUNICIPALITY,
    UnitKind.PUPIL_HEALTH: Principal.MUNICIPALITY,
    UnitKind.SOCIAL_SERVICES: Principal.MUNICIPALITY,
    UnitKind.POLICE: Principal.POLICE,
    UnitKind.FIRST_LINE_PSYCHIATRY: Principal.REGION,
    UnitKind.BUP: Principal.REGION,
    UnitKind.HAB: Principal.REGION,
    UnitKind.YOUTH_CENTRE: Principal.MUNICIPALITY,
}


class Category(str, Enum):
    """Information categories: what consent and the law are given for, field by field."""

    IDENTITY = "identity"
    NEEDS = "needs"
    CONVERSATIONS = "conversations"
    TEAM = "team"
    RATINGS = "ratings"
    PLAN = "plan"
    HEALTH = "health"
    POLICE = "police"
    SOCIAL_SERVICES = "social_services"
    CONCERN_REPORT = "concern_report"
    CONSENT = "consent"
    ACCESS_LOG = "access_log"


CONSENTABLE_CATEGORIES = frozenset(Category) - {Category.CONCERN_REPORT, Category.ACCESS_LOG, Category.CONSENT}
"""What a consent request may name. A concern report travels on its statutory basis
only; consent records and the access log belong to the family and the auditors."""


class LegalBasis(str, Enum):
    """Why a viewer may see a piece of information. Consent is one basis among several."""

    CONSENT = "consent"  # samtycke from every guardian with custody (and the child from the set age)
    OWN_RECORD = "own_record"  # the unit's own documentation
    SENT_TO_UNIT = "sent_to_unit"  # a discovery card sent to the unit's Barnkontakt, feedback to the discoverer
    STATUTORY_CONCERN_REPORT = "statutory_concern_report"  # SoL 14 kap. 1 §, anmälningsplikt
    CUSTODY = "custody"  # a guardian's right to their child's information
    DATA_SUBJECT = "data_subject"  # the child's own information
    AUDIT_DUTY = "audit_duty"  # loggkontroll (PDL 4 kap. 3 §, GDPR art. 32)


class ReviewOutcome(str, Enum):
    """An auditor's finding on reviewed reads (loggkontroll)."""

    JUSTIFIED = "justified"
    UNJUSTIFIED = "unjustified"
    NEEDS_FOLLOW_UP = "needs_follow_up"


class Decision(str, Enum):
    """The three decisions after a child conversation."""

    OWN_SUPPORT = "own_support"  # eget stöd
    BARNTEAM = "barnteam"
    INDIVIDUAL_TEAM = "individual_team"  # individuellt barnteam


class CardKind(str, Enum):
    """Whether a discovery card comes from the Barnkontakt's own organisation."""

    INTERNAL = "internal"
    EXTERNAL = "external"


class ConversationWith(str, Enum):
    CHILD = "child"
    GUARDIAN = "guardian"


class AgeGroup(str, Enum):
    """The conversation guides (samtalsunderlag) by age."""

    AGE_0_3 = "0-3"
    AGE_4_6 = "4-6"
    AGE_7_9 = "7-9"
    AGE_10_12 = "10-12"
    AGE_13_15 = "13-15"
    AGE_16_18 = "16-18"


_AGE_GROUP_UP_TO: tuple[tuple[int, AgeGroup], ...] = (
    (3, AgeGroup.AGE_0_3),
    (6, AgeGroup.AGE_4_6),
    (9, AgeGroup.AGE_7_9),
    (12, AgeGroup.AGE_10_12),
    (15, AgeGroup.AGE_13_15),
)


def age_group_for(age: int) -> AgeGroup:
    """The conversation guide for a child of ``age`` whole years (``consent.age_on``);
    the oldest guide serves from 16 on."""
    for oldest, group in _AGE_GROUP_UP_TO:
        if age <= oldest:
            return group
    return AgeGroup.AGE_16_18


class HomeVisit(IntEnum):
    """The six visits of the extended home-visit programme."""

    RECEIVING_YOUR_CHILD = 1
    GETTING_TO_KNOW_YOUR_CHILD = 2
    BEING_TOGETHER = 3
    LEADING_AND_FOLLOWING = 4
    MAKING_AN_EVERYDAY_LIFE = 5
    BEING_A_FAMILY = 6


class ActionStatus(str, Enum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class ClosureReason(str, Enum):
    """Why a case was closed (ärendet avslutat): the needs are met (behoven tillgodosedda), the
    family moved away from the area (flyttat), or the guardians declined the support (avböjt)."""

    NEEDS_MET = "needs_met"
    MOVED_AWAY = "moved_away"
    DECLINED = "declined"


class RegisterAnswer(str, Enum):
    """What the population register (folkbokföringen) answered about a guardian link."""

    CONFIRMED = "confirmed"
    """The register lists the person as the child's vårdnadshavare."""
    NOT_A_CUSTODIAN = "not_a_custodian"
    """The register answered, and does not list the person as the child's vårdnadshavare."""
    REGISTER_UNAVAILABLE = "register_unavailable"
    """The register could not be asked; the link stays as it was until it is checked again."""
    CUSTODIAN_NOT_NAMED = "custodian_not_named"
    """The register lists the person, and also a vårdnadshavare not named with custody: no link
    counts until every one is named, since joint custody is exercised together (FB 6 kap. 13 §)."""


class PartyKind(str, Enum):
    """Who answers a consent request."""

    GUARDIAN = "guardian"
    CHILD = "child"


class FamilyLanguage(str, Enum):
    """The languages the family's and the child's pages are offered in (ISO 639-1): Swedish,
    English, and those many guardians read better than Swedish. A consent answer records the
    one its request was read in, so that its receipt is given in it (informed consent is
    consent to a text the guardian could read)."""

    SV = "sv"
    EN = "en"
    AR = "ar"
    SO = "so"
    TI = "ti"
    FA = "fa"
    UK = "uk"
