"""The rating form's indicators (Skattningsformulär): what a team member scores 1 to 5.

Each indicator belongs to one compass area and is worded so that the scale reads one way:
5 means the need is fully met, 1 that it is far from met. The concern-report form of
seed 000 ("ANMÄLAN till socialnämnden") words its statements as concerns ("Barnet kan
inte lita på ..."); on a 1-5 scale of how well a need is met that reads backwards, so
each statement here is the seed's, turned positive (``source_sv`` keeps the seed's
words). Hälsa and Omvårdad have no statements in the seed; theirs are written from the
areas' definitions (``source_sv`` says so). The seed's "home, school, online or
neighbourhood" statement is two indicators, since being safe online is asked only from
school age; Respekteras has one statement written from its definition, so that the area
is rated for the youngest too. Ansvarstagande is not asked below four: its definition
(the child understands what is expected and takes responsibility) does not fit a baby.

**Age groups.** The seeds give the conversation guides by age (Barnsamtal 4-6 år,
Barnteam 13-16 år) but do not say which statement fits which age; the groups here are
the hub's, one line of reasoning per indicator in ``age_reason``. What a very young child
cannot do themselves (handle risks, take part in decisions, choose friends) is asked
from the age the child does it; crime, criminal networks and honour-based oppression
are asked from 10, the age group in which a child's own drift towards crime and the
control of honour-based oppression usually begin to show, while a younger child's safety
at home and protection from abuse are asked at every age by ``trygghet-skyddat`` and
``trygghet-hemma``. School attendance is asked from 7, the first grade. The groups are a
judgement, not a rule of the model: a cooperation area that draws them otherwise changes
them here, and the form and the core follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from contracts.vocabulary import AgeGroup, Area

ALL_AGES = frozenset(AgeGroup)
FROM_4 = ALL_AGES - {AgeGroup.AGE_0_3}
FROM_7 = FROM_4 - {AgeGroup.AGE_4_6}
FROM_10 = FROM_7 - {AgeGroup.AGE_7_9}


class Indicator(str, Enum):
    """An indicator of the rating form, by a code that does not change when its wording does."""

    TRYGGHET_NATVERK = "trygghet-natverk"
    TRYGGHET_HEMMA = "trygghet-hemma"
    TRYGGHET_NATET = "trygghet-natet"
    TRYGGHET_RISKER = "trygghet-risker"
    TRYGGHET_SKYDDAT = "trygghet-skyddat"
    TRYGGHET_KRIMINALITET = "trygghet-kriminalitet"
    TRYGGHET_BROTT = "trygghet-brott"
    TRYGGHET_KRIMINELLA_NATVERK = "trygghet-kriminella-natverk"
    TRYGGHET_HEDER = "trygghet-heder"
    HALSA_VARD = "halsa-vard"
    HALSA_PSYKISK = "halsa-psykisk"
    HALSA_LEVNADSVANOR = "halsa-levnadsvanor"
    UTVECKLAS_ALDER = "utvecklas-alder"
    OMVARDAD_BOENDE = "omvardad-boende"
    OMVARDAD_GRUNDBEHOV = "omvardad-grundbehov"
    OMVARDAD_OMSORG = "omvardad-omsorg"
    FRITID_INTRESSEN = "fritid-intressen"
    RESPEKTERAS_SEDD = "respekteras-sedd"
    RESPEKTERAS_DELAKTIG = "respekteras-delaktig"
    RESPEKTERAS_VANNER = "respekteras-vanner"
    RESPEKTERAS_BEMOTT = "respekteras-bemott"
    ANSVAR_UNDERVISNING = "ansvar-undervisning"
    ANSVAR_VANNER = "ansvar-vanner"
    ANSVAR_SVARIGHETER = "ansvar-svarigheter"
    ANSVAR_HANSYN = "ansvar-hansyn"
    TILLHORIGHET_VARDNADSHAVARE = "tillhorighet-vardnadshavare"
    TILLHORIGHET_NATVERK = "tillhorighet-natverk"
    TILLHORIGHET_FAMILJ = "tillhorighet-familj"


@dataclass(frozen=True)
class IndicatorDescription:
    """One indicator: its area, its positive statement in Swedish and English, the seed's
    words it comes from, and the age groups it is asked for (with why)."""

    indicator: Indicator
    area: Area
    statement_sv: str
    statement_en: str
    source_sv: str
    age_groups: frozenset[AgeGroup]
    age_reason: str


_WRITTEN = "Skriven utifrån områdets definition; seed 000 har inga påståenden för området."
_SEED = "Seed 000: "

INDICATORS: dict[Indicator, IndicatorDescription] = {
    d.indicator: d
    for d in (
        IndicatorDescription(
            Indicator.TRYGGHET_NATVERK, Area.TRYGGHET,
            "Barnet kan lita på de vuxna och andra i sitt nätverk",
            "The child can trust the adults and others around them",
            _SEED + "Barnet kan inte lita på de som finns i dess nätverk",
            ALL_AGES, "Trust in the people around the child matters from birth.",
        ),
        IndicatorDescription(
            Indicator.TRYGGHET_HEMMA, Area.TRYGGHET,
            "Barnet är tryggt hemma, i förskolan eller skolan och i sin närmiljö",
            "The child is safe at home, in preschool or school and in the neighbourhood",
            _SEED + "Barnet är inte tryggt i hemmet, skolan, på nätet eller i sin närmiljö",
            ALL_AGES, "Safety at home and where the child spends the day is asked at every age.",
        ),
        IndicatorDescription(
            Indicator.TRYGGHET_NATET, Area.TRYGGHET,
            "Barnet är tryggt på nätet",
            "The child is safe online",
            _SEED + "Barnet är inte tryggt i hemmet, skolan, på nätet eller i sin närmiljö",
            FROM_7, "Children use the internet on their own from school age.",
        ),
        IndicatorDescription(
            Indicator.TRYGGHET_RISKER, Area.TRYGGHET,
            "Barnet kan efter sin ålder hantera situationer som innebär en risk för sig själv eller andra",
            "For their age, the child handles situations that put themselves or others at risk",
            _SEED + "Barnet visar ingen förmåga att hantera situationer som innebär en risk för sig själv eller andra",
            FROM_4, "Below four, keeping the child from risks is the adults' task, not the child's.",
        ),
        IndicatorDescription(
            Indicator.TRYGGHET_SKYDDAT, Area.TRYGGHET,
            "Barnet är skyddat från kränkningar, brott och utnyttjande av andra",
            "The child is protected from abuse, crime and exploitation by others",
            _SEED + "Barnet är inte skyddat från kränkningar, kriminalitet eller utnyttjande av andra",
            ALL_AGES, "A child of any age can be abused or exploited.",
        ),
        IndicatorDescription(
            Indicator.TRYGGHET_KRIMINALITET, Area.TRYGGHET,
            "Barnet står långt från kriminalitet",
            "The child keeps well away from crime",
            _SEED + "Barnet misstänks befinna sig i en möjlig koppling till kriminalitet",
            FROM_10, "A child's own drift towards crime shows from about ten.",
        ),
        IndicatorDescription(
            Indicator.TRYGGHET_BROTT, Area.TRYGGHET,
            "Barnet håller sig från att begå brott",
            "The child keeps from committing crimes",
            _SEED + "Barnet misstänks begå kriminella handlingar",
            FROM_10, "Asked from ten, as the social services' and police's work with young offenders is.",
        ),
        IndicatorDescription(
            Indicator.TRYGGHET_KRIMINELLA_NATVERK, Area.TRYGGHET,
            "Barnet står fritt från kriminella nätverk",
            "The child is free of criminal networks",
            _SEED + "Barnet misstänks befinna sig i en möjlig koppling till kriminella nätverk",
            FROM_10, "Criminal networks approach children from about ten, not in preschool.",
        ),
        IndicatorDescription(
            Indicator.TRYGGHET_HEDER, Area.TRYGGHET,
            "Barnet lever fritt från hedersrelaterat våld och förtryck",
            "The child lives free of honour-based violence and oppression",
            _SEED + "Barnet misstänks leva i hedersvåld och förtryck",
            FROM_10,
            "Honour-based control grows strong around puberty; a younger child's safety at home is "
            "asked by trygghet-hemma and trygghet-skyddat.",
        ),
        IndicatorDescription(
            Indicator.HALSA_VARD, Area.HALSA,
            "Barnet får den hälso- och sjukvård och tandvård det behöver",
            "The child gets the health care and dental care they need",
            _WRITTEN, ALL_AGES, "Care is needed at every age.",
        ),
        IndicatorDescription(
            Indicator.HALSA_PSYKISK, Area.HALSA,
            "Barnet mår bra psykiskt och känslomässigt",
            "The child is well in mind and feelings",
            _WRITTEN, ALL_AGES, "Even an infant shows how they feel.",
        ),
        IndicatorDescription(
            Indicator.HALSA_LEVNADSVANOR, Area.HALSA,
            "Barnet har levnadsvanor som är bra för dess hälsa",
            "The child's habits are good for their health",
            _WRITTEN, FROM_7, "Before school age the child's habits are the guardians' care (omvardad-grundbehov).",
        ),
        IndicatorDescription(
            Indicator.UTVECKLAS_ALDER, Area.UTVECKLAS,
            "Barnet har utvecklats i förhållande till sin ålder",
            "The child has developed as expected for their age",
            _SEED + "Barnet upplevs inte utvecklat i förhållande till sin ålder",
            ALL_AGES, "Development is followed from birth (BVC).",
        ),
        IndicatorDescription(
            Indicator.OMVARDAD_BOENDE, Area.OMVARDAD,
            "Barnet har en trygg och stabil boendesituation",
            "The child has a safe and stable place to live",
            _WRITTEN, ALL_AGES, "A home is needed at every age.",
        ),
        IndicatorDescription(
            Indicator.OMVARDAD_GRUNDBEHOV, Area.OMVARDAD,
            "Barnet får mat, kläder, sömn och hygien efter sina behov",
            "The child gets food, clothes, sleep and hygiene as they need",
            _WRITTEN, ALL_AGES, "Basic care is needed at every age.",
        ),
        IndicatorDescription(
            Indicator.OMVARDAD_OMSORG, Area.OMVARDAD,
            "Barnets vårdnadshavare kan ge barnet den omsorg det behöver",
            "The child's guardians can give the child the care they need",
            _WRITTEN, ALL_AGES, "The guardians' care matters at every age.",
        ),
        IndicatorDescription(
            Indicator.FRITID_INTRESSEN, Area.FRITID,
            "Barnet har tid för lek, fritidsintressen och återhämtning",
            "The child has time for play, leisure interests and rest",
            _SEED + "Barnet har inga fritidsintressen eller tid för återhämtning",
            ALL_AGES, "Worded with play, so that it fits the youngest too.",
        ),
        IndicatorDescription(
            Indicator.RESPEKTERAS_SEDD, Area.RESPEKTERAS,
            "Barnet blir sett, hört och bekräftat av viktiga vuxna i sin vardag",
            "The child is seen, heard and affirmed by the important adults in their everyday life",
            "Skriven utifrån områdets definition, så att området skattas också för de yngsta.",
            ALL_AGES, "Being seen and answered by adults matters from birth.",
        ),
        IndicatorDescription(
            Indicator.RESPEKTERAS_DELAKTIG, Area.RESPEKTERAS,
            "Barnet blir taget på allvar och är delaktigt i beslut som rör det",
            "The child is taken seriously and takes part in decisions about them",
            _SEED + "Barnet känner sig inte tagen på allvar och inte delaktig i viktiga beslut",
            FROM_4, "A child takes part in decisions once they can say what they think (about four).",
        ),
        IndicatorDescription(
            Indicator.RESPEKTERAS_VANNER, Area.RESPEKTERAS,
            "Barnet har vänner som stöttar det",
            "The child has friends who support them",
            _SEED + "Barnet har inga vänner som stöttar det",
            FROM_4, "Friendships form in preschool from about four.",
        ),
        IndicatorDescription(
            Indicator.RESPEKTERAS_BEMOTT, Area.RESPEKTERAS,
            "Barnet blir bemött med respekt och accepterat av andra",
            "The child is met with respect and accepted by others",
            _SEED + "Barnet känner sig retad/utstött eller kränkt av andra",
            FROM_4, "Teasing and exclusion among children are seen from preschool.",
        ),
        IndicatorDescription(
            Indicator.ANSVAR_UNDERVISNING, Area.ANSVARSTAGANDE,
            "Barnet deltar i undervisningen i skolan",
            "The child takes part in teaching at school",
            _SEED + "Barnet deltar inte i undervisningen i skolan",
            FROM_7, "Asked from the first grade.",
        ),
        IndicatorDescription(
            Indicator.ANSVAR_VANNER, Area.ANSVARSTAGANDE,
            "Barnet har vänner som tar ansvar",
            "The child has friends who act responsibly",
            _SEED + "Barnet har inga vänner som tar ansvar",
            FROM_10, "Friends' influence on what a child does grows from about ten.",
        ),
        IndicatorDescription(
            Indicator.ANSVAR_SVARIGHETER, Area.ANSVARSTAGANDE,
            "Barnet kan efter sin ålder hantera svårigheter och problem",
            "For their age, the child can handle difficulties and problems",
            _SEED + "Barnet kan inte hantera svårigheter och problem",
            FROM_4, "Below four, difficulties are met by the adults.",
        ),
        IndicatorDescription(
            Indicator.ANSVAR_HANSYN, Area.ANSVARSTAGANDE,
            "Barnet visar hänsyn till andra",
            "The child shows consideration for others",
            _SEED + "Barnet visar ingen hänsyn till andra",
            FROM_4, "Consideration for others is learnt in preschool.",
        ),
        IndicatorDescription(
            Indicator.TILLHORIGHET_VARDNADSHAVARE, Area.TILLHORIGHET,
            "Barnet känner sig viktigt och uppskattat av sina vårdnadshavare",
            "The child feels important to and valued by their guardians",
            _SEED + "Barnet känner sig inte viktig eller uppskattad av sina vårdnadshavare",
            ALL_AGES, "Attachment matters from birth.",
        ),
        IndicatorDescription(
            Indicator.TILLHORIGHET_NATVERK, Area.TILLHORIGHET,
            "Barnet känner sig viktigt och uppskattat av barn och vuxna omkring sig",
            "The child feels important to and valued by children and adults around them",
            _SEED + "Barnet känner sig inte viktig eller uppskattad av barn eller vuxna i dess nätverk",
            ALL_AGES, "Belonging matters at every age.",
        ),
        IndicatorDescription(
            Indicator.TILLHORIGHET_FAMILJ, Area.TILLHORIGHET,
            "Barnets familj har ett socialt nätverk som deltar aktivt i dess liv",
            "The child's family has a social network that takes an active part in its life",
            _SEED + "Barnets familj saknar ett socialt nätverk som deltar aktivt i dess liv",
            ALL_AGES, "The family's network matters at every age.",
        ),
    )
}

SCALE = (1, 2, 3, 4, 5)
"""The rating scale: 1, the need is far from met; 5, the need is fully met. A blank
(``None``) is "vet ej", not rated: the rater does not know."""


def indicators_for(group: AgeGroup) -> tuple[IndicatorDescription, ...]:
    """The indicators asked for a child in ``group``, by area in the compass's order."""
    order = {area: i for i, area in enumerate(Area)}
    found = [d for d in INDICATORS.values() if group in d.age_groups]
    return tuple(sorted(found, key=lambda d: order[d.area]))


__all__ = ["INDICATORS", "SCALE", "Indicator", "IndicatorDescription", "indicators_for"]
