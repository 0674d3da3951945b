"""A realistic cooperation area to try the hub on: Backa barnet in Ystad.

One tenant, ``ystad`` (Ystads kommun, Region Skåne and Polisen LPO Ystad), with every
kind of unit the model knows, about twenty staff in the model's roles, and as many
children as asked for (two hundred by default). Each child gets a story: the home
visits of a newborn, a discovery card that ends in own support, a Barnteam, an
individual team with a plan, a consent declined, withdrawn, expired or still awaited,
a concern report, a card nobody took up. The stories start over several half-year
terms and run up to the moment of the load, so the evaluation's figures per term,
the Barnkontakt's case list (overdue actions, children with no next step) and the
families' access logs all have something to show.

Everything goes through the hub's own commands, with a :class:`SettableClock` moved
from step to step, in the order the steps happened: the log is what the hub would
have recorded had the cooperation area used it all along. The same seed (and end
date) gives the same people and the same stories.

People are fictional. Their personal identity numbers have correct check digits and
serials from 980 to 999.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts.vocabulary import COMPASS, AgeGroup, Area, PartyKind, ReviewOutcome, Role, UnitKind
from consent import ViewerKind, age_on, required_parties

from hub.application import BackaHub
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import Clock, SettableClock, system_clock
from hub.identity.directory import Directory, Staff, Tenant, Unit
from hub.errors import HubError, NoBasisError
from hub.identity.personnummer import parse_identity_number
from hub.identity.principals import Principal
from hub.runtime.settings import Settings
from hub.identity.tokens import DemoIssuer

TENANT_ID = "ystad"
TENANT_NAME = "Backa barnet Ystad (Ystads kommun, Region Skåne, Polisen LPO Ystad)"
DEFAULT_SEED = 2019
DEFAULT_CHILDREN = 200


@lru_cache(maxsize=1)
def _local() -> tzinfo:
    """Swedish time for office hours; a fixed UTC+1 where the system has no time-zone data."""
    try:
        return ZoneInfo("Europe/Stockholm")
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=1), "CET")


DEMO_FOLDER = "demo"
USERS_FILE = "users.json"
STATE_FILE = "demo.json"

ProgressCallback = Callable[[int, int], None]
QUIET_HOUR = timedelta(hours=1)
"""The stories stop an hour before the end of the load; the auditor's checks fill that hour."""

# -- the cooperation area --------------------------------------------------------------

UNITS: tuple[tuple[str, UnitKind, str], ...] = (
    ("mvc-ystad", UnitKind.MIDWIFE_CLINIC, "Barnmorskemottagningen Ystad"),
    ("bvc-ystad", UnitKind.BVC, "Barnavårdscentralen Ystad"),
    ("forskola-solrosen", UnitKind.PRESCHOOL, "Förskolan Solrosen"),
    ("forskola-backen", UnitKind.PRESCHOOL, "Förskolan Backen"),
    ("skola-vastervang", UnitKind.SCHOOL, "Västervångskolan F-6"),
    ("skola-edvinshem", UnitKind.SCHOOL, "Edvinshemsskolan F-6"),
    ("skola-norreport", UnitKind.SCHOOL, "Norreportskolan 7-9"),
    ("elevhalsa-ystad", UnitKind.PUPIL_HEALTH, "Barn- och elevhälsan Ystad"),
    ("soc-ystad", UnitKind.SOCIAL_SERVICES, "Socialtjänsten Ystad, barn och unga"),
    ("polis-ystad", UnitKind.POLICE, "Polisen LPO Ystad"),
    ("forsta-linjen-ystad", UnitKind.FIRST_LINE_PSYCHIATRY, "Första linjen Ystad"),
    ("bup-ystad", UnitKind.BUP, "BUP Ystad"),
    ("hab-ystad", UnitKind.HAB, "Barn- och ungdomshabiliteringen Ystad"),
    ("ungdomens-hus", UnitKind.YOUTH_CENTRE, "Ungdomens hus Ystad"),
)

_R = Role
STAFF: tuple[tuple[str, str | None, frozenset[Role], str, str], ...] = (
    ("anna.lindqvist", "mvc-ystad", frozenset({_R.DISCOVERER}), "Anna Lindqvist", "Barnmorska"),
    ("karin.holm", "bvc-ystad", frozenset({_R.BARNKONTAKT, _R.DISCOVERER, _R.TEAM_MEMBER}), "Karin Holm", "BVC-sjuksköterska"),
    ("sara.nilsson", "bvc-ystad", frozenset({_R.BARNKONTAKT, _R.DISCOVERER, _R.TEAM_MEMBER}), "Sara Nilsson", "BVC-sjuksköterska"),
    ("maria.persson", "forskola-solrosen", frozenset({_R.BARNKONTAKT, _R.TEAM_MEMBER}), "Maria Persson", "Förskolechef"),
    ("johan.berg", "forskola-solrosen", frozenset({_R.DISCOVERER}), "Johan Berg", "Förskollärare"),
    ("lena.ek", "forskola-backen", frozenset({_R.BARNKONTAKT, _R.TEAM_MEMBER, _R.DISCOVERER}), "Lena Ek", "Förskolechef"),
    ("per.sandberg", "skola-vastervang", frozenset({_R.BARNKONTAKT, _R.TEAM_MEMBER}), "Per Sandberg", "Rektor"),
    ("emma.strand", "skola-vastervang", frozenset({_R.DISCOVERER}), "Emma Strand", "Klasslärare"),
    ("annika.westin", "skola-edvinshem", frozenset({_R.BARNKONTAKT, _R.TEAM_MEMBER}), "Annika Westin", "Rektor"),
    ("oskar.lind", "skola-edvinshem", frozenset({_R.DISCOVERER}), "Oskar Lind", "Lärare"),
    ("henrik.olsson", "skola-norreport", frozenset({_R.BARNKONTAKT, _R.TEAM_MEMBER}), "Henrik Olsson", "Rektor"),
    ("lisa.andersson", "skola-norreport", frozenset({_R.BARNKONTAKT, _R.DISCOVERER, _R.TEAM_MEMBER}), "Lisa Andersson", "Biträdande rektor"),
    ("ali.hassan", "skola-norreport", frozenset({_R.DISCOVERER}), "Ali Hassan", "Mentor"),
    ("eva.bjork", "elevhalsa-ystad", frozenset({_R.TEAM_MEMBER, _R.SUPPORT_COORDINATOR, _R.DISCOVERER}), "Eva Björk", "Skolkurator"),
    ("sofia.lund", "elevhalsa-ystad", frozenset({_R.TEAM_MEMBER, _R.DISCOVERER}), "Sofia Lund", "Skolsköterska"),
    ("jonas.wikstrom", "soc-ystad", frozenset({_R.TEAM_MEMBER, _R.SUPPORT_COORDINATOR}), "Jonas Wikström", "Socialsekreterare"),
    ("nadia.elmi", "soc-ystad", frozenset({_R.TEAM_MEMBER, _R.DISCOVERER}), "Nadia Elmi", "Föräldrarådgivare"),
    ("mikael.forsberg", "polis-ystad", frozenset({_R.DISCOVERER, _R.TEAM_MEMBER}), "Mikael Forsberg", "Kommunpolis"),
    ("ingrid.sjoberg", "forsta-linjen-ystad", frozenset({_R.TEAM_MEMBER, _R.DISCOVERER}), "Ingrid Sjöberg", "Psykolog"),
    ("david.karlsson", "bup-ystad", frozenset({_R.TEAM_MEMBER}), "David Karlsson", "Specialistläkare"),
    ("helena.gustafsson", "hab-ystad", frozenset({_R.TEAM_MEMBER, _R.SUPPORT_COORDINATOR}), "Helena Gustafsson", "Arbetsterapeut"),
    ("amir.rahimi", "ungdomens-hus", frozenset({_R.DISCOVERER, _R.TEAM_MEMBER}), "Amir Rahimi", "Fritidsledare"),
    ("birgitta.mattsson", None, frozenset({_R.TENANT_ADMIN}), "Birgitta Mattsson", "Samordnare Backa barnet"),
    ("lars.ahlgren", None, frozenset({_R.AUDITOR}), "Lars Ahlgren", "Loggranskare"),
)


def demo_directory() -> Directory:
    """The Ystad cooperation area: its units and staff."""
    units = {uid: Unit(uid, TENANT_ID, kind, name) for uid, kind, name in UNITS}
    staff = {
        uid: Staff(uid, TENANT_ID, unit, roles, name, title) for uid, unit, roles, name, title in STAFF
    }
    return Directory({TENANT_ID: Tenant(TENANT_ID, TENANT_NAME, units, staff)})


@dataclass(frozen=True)
class _Setting:
    """Where a child meets its Barnkontakt: the unit, its Barnkontakter, ages, who discovers."""

    unit_id: str
    barnkontakter: tuple[str, ...]
    ages: tuple[int, int]
    discoverers: tuple[str, ...]
    team_units: tuple[str, ...]


SETTINGS: dict[str, _Setting] = {
    s.unit_id: s
    for s in (
        _Setting(
            "bvc-ystad", ("karin.holm", "sara.nilsson"), (0, 0),
            ("sara.nilsson", "karin.holm", "anna.lindqvist", "nadia.elmi"),
            ("soc-ystad", "hab-ystad"),
        ),
        _Setting(
            "forskola-solrosen", ("maria.persson",), (1, 5),
            ("johan.berg", "johan.berg", "karin.holm", "nadia.elmi", "helena.gustafsson"),
            ("bvc-ystad", "soc-ystad", "hab-ystad"),
        ),
        _Setting(
            "forskola-backen", ("lena.ek",), (1, 5),
            ("lena.ek", "sara.nilsson", "karin.holm", "nadia.elmi"),
            ("bvc-ystad", "soc-ystad", "hab-ystad"),
        ),
        _Setting(
            "skola-vastervang", ("per.sandberg",), (6, 12),
            ("emma.strand", "emma.strand", "eva.bjork", "sofia.lund", "mikael.forsberg", "ingrid.sjoberg", "amir.rahimi"),
            ("elevhalsa-ystad", "soc-ystad", "forsta-linjen-ystad", "bup-ystad", "hab-ystad"),
        ),
        _Setting(
            "skola-edvinshem", ("annika.westin",), (6, 12),
            ("oskar.lind", "oskar.lind", "sofia.lund", "eva.bjork", "mikael.forsberg", "helena.gustafsson"),
            ("elevhalsa-ystad", "soc-ystad", "forsta-linjen-ystad", "hab-ystad"),
        ),
        _Setting(
            "skola-norreport", ("henrik.olsson", "lisa.andersson"), (13, 15),
            ("ali.hassan", "ali.hassan", "lisa.andersson", "eva.bjork", "mikael.forsberg", "amir.rahimi", "ingrid.sjoberg", "david.karlsson"),
            ("elevhalsa-ystad", "soc-ystad", "polis-ystad", "ungdomens-hus", "bup-ystad", "forsta-linjen-ystad"),
        ),
    )
}
"""Where children meet their Barnkontakt; a name twice among the discoverers finds children twice as often."""

COORDINATORS = {"elevhalsa-ystad": "eva.bjork", "soc-ystad": "jonas.wikstrom", "hab-ystad": "helena.gustafsson"}

# -- words -----------------------------------------------------------------------------

GIRLS = (
    "Alice", "Maja", "Elsa", "Astrid", "Wilma", "Freja", "Olivia", "Selma", "Alma", "Ella", "Ebba", "Saga", "Vera",
    "Agnes", "Stella", "Signe", "Clara", "Ellen", "Ines", "Lilly", "Juni", "Nora", "Leah", "Amira", "Noor", "Hanna",
    "Linnea", "Tyra", "Isabelle", "Matilda",
)
BOYS = (
    "William", "Noah", "Hugo", "Lucas", "Liam", "Oliver", "Adam", "Matteo", "Elias", "Nils", "Leo", "Alexander",
    "Theo", "Viktor", "Ludvig", "Oscar", "Axel", "Vincent", "Isak", "Sixten", "Omar", "Yusuf", "Melvin", "Albin",
    "Edvin", "Charlie", "Sam", "Malte", "Gustav", "Ali",
)
WOMEN = (
    "Anna", "Maria", "Sara", "Emma", "Johanna", "Karin", "Jenny", "Linda", "Sofia", "Malin", "Elin", "Frida",
    "Hanna", "Therese", "Camilla", "Jessica", "Amanda", "Lina", "Fatima", "Petra",
)
MEN = (
    "Johan", "Erik", "Anders", "Daniel", "Fredrik", "Andreas", "Marcus", "Peter", "Mikael", "Martin", "Jonas",
    "Niklas", "Christoffer", "Magnus", "Mattias", "Ahmed", "Patrik", "Robin", "Henrik", "Sebastian",
)
SURNAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson",
    "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Jönsson", "Lindberg", "Jakobsson",
    "Magnusson", "Lindström", "Olofsson", "Lindqvist", "Lindgren", "Axelsson", "Berg", "Bergström", "Lundberg",
    "Lundgren", "Mattsson", "Håkansson", "Nordström", "Sjöberg", "Holm", "Ali", "Hassan", "Mohammadi", "Nyberg",
    "Åberg", "Blom", "Ekström",
)

AREA_NOTES: dict[Area, tuple[str, ...]] = {
    Area.TRYGGHET: (
        "Berättar att det är mycket bråk hemma på kvällarna.",
        "Otrygg på rasterna, håller sig nära vuxna.",
        "Vill inte gå hem efter skoldagen.",
        "Har varit med om en händelse i närmiljön som oroar.",
    ),
    Area.HALSA: (
        "Ofta trött och har ont i magen.",
        "Berättar om sömnproblem och mycket oro.",
        "Har missat flera kallelser till tandvården.",
        "Har gått ner i vikt under terminen.",
    ),
    Area.UTVECKLAS: (
        "Språket utvecklas långsammare än hos jämnåriga.",
        "Svårt att följa instruktioner i grupp.",
        "Når inte målen i flera ämnen.",
        "Motoriken behöver stöd.",
    ),
    Area.OMVARDAD: (
        "Kommer ofta utan mat och ombyteskläder.",
        "Hämtas sent och ser mycket trött ut.",
        "Familjen har flyttat flera gånger under året.",
        "Vårdnadshavaren säger att hen inte orkar just nu.",
    ),
    Area.FRITID: (
        "Har slutat på fotbollen och gör lite efter skolan.",
        "Sitter mycket ensam med skärm på fritiden.",
        "Saknar aktiviteter efter skoltid.",
    ),
    Area.RESPEKTERAS: (
        "Upplever att ingen lyssnar på hen.",
        "Blir retad av klasskamrater.",
        "Hamnar utanför i leken.",
    ),
    Area.ANSVARSTAGANDE: (
        "Hög frånvaro de senaste veckorna.",
        "Svårt att ta ansvar för skoluppgifter.",
        "Hamnar ofta i konflikter med vuxna.",
    ),
    Area.TILLHORIGHET: (
        "Har få kamrater och känner sig ensam.",
        "Nyinflyttad, familjen saknar nätverk här.",
        "Säger att ingen bryr sig om hen.",
    ),
}

CHILD_VIEWS: dict[Area, tuple[str, ...]] = {
    Area.TRYGGHET: ("Jag vill att en vuxen ser mig på rasten.", "Det är jobbigt hemma ibland när de bråkar."),
    Area.HALSA: ("Jag sover dåligt och har ont i magen.", "Jag är trött hela tiden."),
    Area.UTVECKLAS: ("Det är svårt att hänga med på lektionerna.", "Jag vill bli bättre på att läsa."),
    Area.OMVARDAD: ("Ibland finns det ingen frukost.", "Mamma är ledsen och trött."),
    Area.FRITID: ("Jag vill börja på något efter skolan.", "Jag saknar fotbollen."),
    Area.RESPEKTERAS: ("Ingen lyssnar när jag säger något.", "De andra skrattar åt mig."),
    Area.ANSVARSTAGANDE: ("Jag orkar inte gå till skolan.", "Jag blir arg och vet inte varför."),
    Area.TILLHORIGHET: ("Jag har ingen att vara med.", "Jag vill ha en kompis i klassen."),
}

GUARDIAN_VIEWS: dict[Area, tuple[str, ...]] = {
    Area.TRYGGHET: ("Vi är oroliga för hur hen har det på rasterna.", "Det har varit en orolig tid hemma."),
    Area.HALSA: ("Hen sover dåligt och klagar på magont.", "Vi har svårt att få tid hos vården."),
    Area.UTVECKLAS: ("Vi har också sett att språket dröjer.", "Vi vill ha hjälp med läxorna."),
    Area.OMVARDAD: ("Vi har det tufft ekonomiskt just nu.", "Vi behöver stöd i vardagen."),
    Area.FRITID: ("Hen har tappat lusten för fritidsaktiviteter.", "Vi har svårt att skjutsa till aktiviteter."),
    Area.RESPEKTERAS: ("Hen känner sig inte sedd i skolan.", "Hen kommer hem ledsen."),
    Area.ANSVARSTAGANDE: ("Morgnarna är en kamp.", "Vi vet inte hur vi ska få hen till skolan."),
    Area.TILLHORIGHET: ("Vi känner ingen här än.", "Hen har inga kompisar hemma."),
}

GOALS: dict[Area, str] = {
    Area.TRYGGHET: "Känna sig trygg hemma, i skolan och på vägen mellan.",
    Area.HALSA: "Sova bättre och må bättre i kroppen.",
    Area.UTVECKLAS: "Utvecklas i egen takt med rätt stöd.",
    Area.OMVARDAD: "Få mat, vila och omsorg efter sina behov varje dag.",
    Area.FRITID: "Ha en fritidsaktivitet varje vecka.",
    Area.RESPEKTERAS: "Bli lyssnad på och vara med när beslut tas.",
    Area.ANSVARSTAGANDE: "Vara i skolan varje dag och klara skoluppgifterna.",
    Area.TILLHORIGHET: "Ha minst en kompis och en trygg vuxen i vardagen.",
}

ACTIONS_BY_KIND: dict[UnitKind, tuple[str, ...]] = {
    UnitKind.SCHOOL: ("Anpassningar i klassrummet och veckovis avstämning med mentor", "Rastvärd och trygg vuxen på rasterna", "Anpassad studiegång i två ämnen"),
    UnitKind.PRESCHOOL: ("Extra stöd i språkutvecklingen i barngruppen", "Trygg vuxen vid lämning och hämtning", "Bildstöd i vardagen"),
    UnitKind.BVC: ("Tätare besök på BVC", "Stöd kring sömn och måltider"),
    UnitKind.PUPIL_HEALTH: ("Stödsamtal med kurator varannan vecka", "Hälsosamtal med skolsköterskan"),
    UnitKind.SOCIAL_SERVICES: ("Föräldrastödsprogram för vårdnadshavarna", "Familjebehandlare på hembesök"),
    UnitKind.FIRST_LINE_PSYCHIATRY: ("Samtalsbehandling, fem tillfällen", "Kartläggning av oro och sömn"),
    UnitKind.BUP: ("Bedömning och behandling av ångest", "Uppföljande läkarbesök"),
    UnitKind.HAB: ("Bedömning av behov av hjälpmedel", "Föräldrautbildning om barnets funktionsnedsättning"),
    UnitKind.POLICE: ("Orosamtal med barn och vårdnadshavare (SSPF)",),
    UnitKind.YOUTH_CENTRE: ("Plats i fritidsverksamheten på Ungdomens hus", "Läxhjälp på Ungdomens hus"),
}

SUMMARIES = {
    "health": ("Barnet har kontakt med oss för oro och sömnsvårigheter; behandling pågår.", "Utredning klar; rekommenderar anpassningar i skolan."),
    "police": ("Barnet har förekommit i ärende som rör bråk i centrum; inga misstankar mot barnet.", "Orosamtal har hållits med barn och vårdnadshavare."),
    "social_services": ("Familjen har beviljats föräldrastöd.", "Utredning pågår; familjen samarbetar."),
}

INDICATORS: dict[Area, tuple[str, str]] = {
    Area.TRYGGHET: ("Trygg i hemmet", "Trygg i skolan och närmiljön"),
    Area.HALSA: ("Fysisk hälsa", "Psykisk hälsa"),
    Area.UTVECKLAS: ("Lärande och utveckling", "Klarar vardagen"),
    Area.OMVARDAD: ("Boende och ekonomi", "Mat, sömn och hygien"),
    Area.FRITID: ("Fritidsintressen", "Tid för återhämtning"),
    Area.RESPEKTERAS: ("Blir lyssnad på", "Kamratrelationer"),
    Area.ANSVARSTAGANDE: ("Närvaro och delaktighet i undervisningen", "Hänsyn till andra"),
    Area.TILLHORIGHET: ("Uppskattad av vuxna", "Socialt nätverk"),
}

FOCUS_WEIGHTS = {
    Area.TRYGGHET: 5, Area.HALSA: 4, Area.UTVECKLAS: 4, Area.OMVARDAD: 3,
    Area.FRITID: 2, Area.RESPEKTERAS: 3, Area.ANSVARSTAGANDE: 4, Area.TILLHORIGHET: 3,
}

SEVERE = ("krimin", "heders")


# -- people ----------------------------------------------------------------------------


def luhn_check_digit(nine_digits: str) -> int:
    """The personnummer check digit over YYMMDDNNN (Luhn, weights 2 and 1)."""
    total = 0
    for i, ch in enumerate(nine_digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def make_personnummer(birth: date, serial: int) -> str:
    """A 12-digit personnummer for ``birth`` with the three-digit ``serial``."""
    body = birth.strftime("%y%m%d") + f"{serial:03d}"
    return birth.strftime("%Y%m%d") + f"{serial:03d}" + str(luhn_check_digit(body))


@dataclass
class Person:
    given_name: str
    family_name: str
    personnummer: str
    birth_date: date

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass
class _GuardianPlan:
    person: Person
    has_custody: bool


@dataclass(order=True)
class _Step:
    at: datetime
    child: int
    seq: int
    label: str = field(compare=False)
    run: Callable[[_Run, _ChildState], None] = field(compare=False)


@dataclass
class _ChildPlan:
    index: int
    story: str
    person: Person
    guardians: list[_GuardianPlan]
    setting: str | None
    steps: list[_Step] = field(default_factory=list)
    showcase: bool = False


@dataclass
class _ChildState:
    child_id: UUID | None = None
    cards: list[str] = field(default_factory=list)
    consents: dict[str, UUID] = field(default_factory=dict)


# -- the plan: who, what, when -------------------------------------------------------


class _Planner:
    def __init__(self, seed: int, until: datetime, directory: Directory) -> None:
        self.rng = random.Random(seed)
        self.until = until
        self.until_day = until.astimezone(_local()).date()
        self.window_start = date(self.until_day.year - 2, 1, 8)
        self.directory = directory
        self.tenant = directory.tenants[TENANT_ID]
        self.used_numbers: set[str] = set()
        self.families: list[list[_GuardianPlan]] = []
        self.sibling = False

    # people -------------------------------------------------------------------------

    def personnummer(self, birth: date, female: bool) -> str:
        while True:
            serial = self.rng.randrange(980, 1000)
            if (serial % 2 == 0) != female:
                continue
            number = make_personnummer(birth, serial)
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def adult(self, child_birth: date, female: bool, family_name: str) -> Person:
        age_at_birth = self.rng.randint(22, 44)
        birth = child_birth - timedelta(days=age_at_birth * 365 + self.rng.randint(0, 364))
        given = self.rng.choice(WOMEN if female else MEN)
        return Person(given, family_name, self.personnummer(birth, female), birth)

    def guardians_for(self, child_birth: date, family_name: str, shape: str | None = None) -> list[_GuardianPlan]:
        """Two guardians with custody mostly, sometimes one, sometimes a parent without custody."""
        # a few children are siblings of a child already planned, with the same guardians
        self.sibling = False
        if shape is None and self.families and self.rng.random() < 0.08:
            candidates = [
                f for f in self.families
                if all(18 <= (child_birth - g.person.birth_date).days // 365 <= 48 for g in f)
            ]
            if candidates:
                self.sibling = True
                return self.rng.choice(candidates)
        roll = {"one": 0.0, "one_custody": 0.2, "two": 0.9}.get(shape or "", self.rng.random())
        mother = self.adult(child_birth, True, family_name)
        if roll < 0.15:
            family = [_GuardianPlan(mother if self.rng.random() < 0.75 else self.adult(child_birth, False, family_name), True)]
        else:
            other_name = family_name if self.rng.random() < 0.7 else self.rng.choice(SURNAMES)
            father = self.adult(child_birth, False, other_name)
            if roll < 0.25:
                custodial, other = (mother, father) if self.rng.random() < 0.7 else (father, mother)
                family = [_GuardianPlan(custodial, True), _GuardianPlan(other, False)]
            else:
                family = [_GuardianPlan(mother, True), _GuardianPlan(father, True)]
        self.families.append(family)
        return family

    def child_person(self, birth: date) -> Person:
        female = self.rng.random() < 0.5
        family_name = self.rng.choice(SURNAMES)
        given = self.rng.choice(GIRLS if female else BOYS)
        return Person(given, family_name, self.personnummer(birth, female), birth)

    # time ---------------------------------------------------------------------------

    def moment(self, day: date, *, school: bool = False) -> datetime:
        """A working moment on ``day`` or the next working day (school steps skip July)."""
        if school and day.month == 7:
            day = date(day.year, 8, 12)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        minutes = self.rng.randint(8 * 60, 16 * 60)
        return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=_local()).astimezone(UTC)

    def start_day(self, earliest: date | None = None, latest: date | None = None) -> date:
        lo = earliest or self.window_start
        hi = latest or (self.until_day - timedelta(days=14))
        if hi <= lo:
            return lo
        return lo + timedelta(days=self.rng.randint(0, (hi - lo).days))

    # needs --------------------------------------------------------------------------

    def focus(self, age: int, count: int | None = None) -> list[Area]:
        n = count or self.rng.choice((1, 1, 2, 2, 3))
        areas = list(FOCUS_WEIGHTS)
        weights = [FOCUS_WEIGHTS[a] if not (age < 6 and a is Area.ANSVARSTAGANDE) else 0 for a in areas]
        chosen: list[Area] = []
        while len(chosen) < n:
            a = self.rng.choices(areas, weights)[0]
            if a not in chosen:
                chosen.append(a)
        return chosen

    def statements(self, area: Area, age: int) -> list[str]:
        pool = [s for s in COMPASS[area].need_statements_sv if age >= 13 or not any(w in s.lower() for w in SEVERE)]
        if not pool:
            return []
        return self.rng.sample(pool, k=min(len(pool), self.rng.choice((1, 1, 2))))

    def unmet_needs(self, areas: list[Area], age: int) -> list[dict[str, Any]]:
        return [
            {"area": a.value, "statements": self.statements(a, age), "note": self.rng.choice(AREA_NOTES[a])}
            for a in areas
        ]

    def five_questions(self, areas: list[Area]) -> dict[str, str]:
        labels = ", ".join(COMPASS[a].label_sv for a in areas)
        return {
            "unmet_needs": f"{labels}.",
            "information_enough": self.rng.choice(("Nej, behöver höra barnet och vårdnadshavarna.", "Delvis; vill veta mer om hemsituationen.")),
            "child_and_guardian_views": self.rng.choice(("Barnet vill ha hjälp; vårdnadshavarna är oroliga.", "Vårdnadshavarna ser samma sak hemma.", "Barnet säger lite; vårdnadshavarna är osäkra.")),
            "what_i_can_do": self.rng.choice(("Extra stöd i vardagen här hos oss.", "Tätare kontakt med familjen.", "Anpassningar i gruppen.")),
            "further_help_needed": self.rng.choice(("Barnkontakten bör träffa familjen.", "Elevhälsan och kanske socialtjänsten.", "Vet inte än.")),
        }

    def ratings(self, focus: list[Area]) -> list[dict[str, Any]]:
        scores = []
        for area in Area:
            indicators = INDICATORS[area]
            if area in focus:
                for ind in indicators:
                    scores.append({"area": area.value, "indicator": ind, "score": self.rng.randint(1, 3)})
            elif self.rng.random() < 0.55:
                scores.append({"area": area.value, "indicator": self.rng.choice(indicators), "score": self.rng.randint(3, 5)})
            elif self.rng.random() < 0.3:
                scores.append({"area": area.value, "indicator": indicators[0], "score": None})
        return scores

    def compass(self, focus: list[Area], met: bool) -> list[dict[str, Any]]:
        return [
            {
                "area": a.value,
                "score": float(self.rng.randint(4, 5) if met or a not in focus else self.rng.randint(2, 4)),
            }
            for a in Area
        ]

    def age_group(self, age: int) -> str:
        for group, hi in ((AgeGroup.AGE_0_3, 3), (AgeGroup.AGE_4_6, 6), (AgeGroup.AGE_7_9, 9), (AgeGroup.AGE_10_12, 12), (AgeGroup.AGE_13_15, 15)):
            if age <= hi:
                return group.value
        return AgeGroup.AGE_16_18.value

    def staff_at(self, unit_id: str, role: Role = Role.TEAM_MEMBER) -> Staff:
        found = [s for s in self.tenant.staff.values() if s.unit_id == unit_id and role in s.roles]
        if not found:
            found = [s for s in self.tenant.staff.values() if s.unit_id == unit_id]
        return self.rng.choice(sorted(found, key=lambda s: s.user_id))

    def team(self, setting: _Setting, focus: list[Area], age: int, size: int | None = None) -> list[str]:
        pool = list(setting.team_units)
        wanted: list[str] = []
        if "elevhalsa-ystad" in pool:
            wanted.append("elevhalsa-ystad")
        if set(focus) & {Area.OMVARDAD, Area.TRYGGHET} and "soc-ystad" in pool:
            wanted.append("soc-ystad")
        if Area.UTVECKLAS in focus and "hab-ystad" in pool and self.rng.random() < 0.6:
            wanted.append("hab-ystad")
        if Area.HALSA in focus:
            for u in ("forsta-linjen-ystad", "bup-ystad"):
                if u in pool and self.rng.random() < 0.6:
                    wanted.append(u)
                    break
        if set(focus) & {Area.TRYGGHET, Area.ANSVARSTAGANDE} and "polis-ystad" in pool and age >= 12 and self.rng.random() < 0.5:
            wanted.append("polis-ystad")
        if set(focus) & {Area.FRITID, Area.TILLHORIGHET} and "ungdomens-hus" in pool:
            wanted.append("ungdomens-hus")
        if "bvc-ystad" in pool and age < 6:
            wanted.append("bvc-ystad")
        if not wanted:
            wanted.append(pool[0])
        wanted = list(dict.fromkeys(wanted))
        return wanted[: size or 3]


class _Story:
    """One child's steps, each at a moment later than the one before."""

    def __init__(self, planner: _Planner, plan: _ChildPlan, start: date, *, school: bool) -> None:
        self.p = planner
        self.plan = plan
        self.rng = planner.rng
        self.school = school
        self.t = planner.moment(start, school=school)
        self.seq = 0
        self.bk: str | None = None

    @property
    def day(self) -> date:
        return self.t.astimezone(_local()).date()

    def age(self) -> int:
        return age_on(self.plan.person.birth_date, self.day)

    def add(self, label: str, run: Callable[[_Run, _ChildState], None], *, after: tuple[int, int] = (0, 0), on: date | None = None) -> None:
        if on is not None:
            moment = self.p.moment(on, school=self.school)
        elif after == (0, 0):
            moment = self.t + timedelta(minutes=self.rng.randint(5, 40))
        else:
            moment = self.p.moment(self.day + timedelta(days=self.rng.randint(*after)), school=self.school)
        if moment <= self.t:
            moment = self.t + timedelta(minutes=self.rng.randint(5, 40))
        self.t = moment
        if moment >= self.p.until - QUIET_HOUR:
            return
        self.plan.steps.append(_Step(moment, self.plan.index, self.seq, label, run))
        self.seq += 1

    # the hub's commands, as steps ------------------------------------------------------

    def register(self, by: str) -> None:
        person, guardians = self.plan.person, self.plan.guardians

        def run(r: _Run, s: _ChildState) -> None:
            s.child_id = r.hub.register_child(
                r.staff(by),
                personnummer=person.personnummer,
                given_name=person.given_name,
                family_name=person.family_name,
                guardians=[
                    {"name": g.person.name, "personnummer": g.person.personnummer, "has_custody": g.has_custody}
                    for g in guardians
                ],
            )

        self.add("register_child", run)

    def card(self, by: str, to_unit: str, focus: list[Area], *, after: tuple[int, int] = (0, 0)) -> None:
        age = self.age()
        needs = self.p.unmet_needs(focus, age)
        questions = self.p.five_questions(focus)
        own = self.rng.choice(("", "Extra vuxenstöd i vardagen.", "Samtal med vårdnadshavarna vid hämtning.", "Anpassat schema under två veckor."))

        def run(r: _Run, s: _ChildState) -> None:
            s.cards.append(
                r.hub.submit_discovery_card(
                    r.staff(by), s.child_id, to_unit_id=to_unit, unmet_needs=needs, five_questions=questions,
                    own_support_taken=own, guardians_informed=True,
                )
            )

        self.add("submit_discovery_card", run, after=after)

    def assign(self, bk: str, *, after: tuple[int, int] = (1, 8)) -> None:
        self.bk = bk
        self.add("assign_barnkontakt", lambda r, s: r.hub.assign_barnkontakt(r.staff(bk), s.child_id, staff_id=bk), after=after)

    def delegate(self, to: str, *, after: tuple[int, int] = (2, 10)) -> None:
        by = self.bk
        self.bk = to
        reason = self.rng.choice(("Biträdande rektor har redan kontakt med familjen.", "Fördelning av ärenden inför ny termin.", "Kollegan känner barnet bäst."))
        self.add(
            "delegate_barnkontakt",
            lambda r, s: r.hub.delegate_barnkontakt(r.staff(by), s.child_id, staff_id=to, reason=reason),
            after=after,
        )

    def feedback(self, *, after: tuple[int, int] = (2, 12)) -> None:
        bk = self.bk
        message = self.rng.choice(
            (
                "Tack för kortet. Vi har träffat familjen och går vidare med samtal.",
                "Barnkontakten har tagit emot kortet och kallar till barnsamtal.",
                "Vi har pratat med barnet och vårdnadshavarna; vi återkommer efter beslut.",
            )
        )
        self.add("send_feedback", lambda r, s: r.hub.send_feedback(r.staff(bk), s.child_id, card_id=s.cards[-1], message=message), after=after)

    def conversation(self, with_whom: str, focus: list[Area], *, after: tuple[int, int] = (4, 18), by: str | None = None) -> None:
        owner = by or self.bk
        views_pool = CHILD_VIEWS if with_whom == "child" else GUARDIAN_VIEWS
        payload = {
            "with_whom": with_whom,
            "age_group": self.p.age_group(self.age()),
            "views": [{"area": a.value, "view": self.rng.choice(views_pool[a])} for a in focus],
            "digital_survey": with_whom == "guardian" and self.rng.random() < 0.4,
            "summary": self.rng.choice(
                (
                    "Samtal enligt samtalsunderlaget; barnet deltog aktivt." if with_whom == "child" else "Vårdnadshavarna delar oron och vill ha stöd.",
                    "Samtalet gick lugnt; vi använde samtalskorten." if with_whom == "child" else "Vårdnadshavarna svarade digitalt på frågorna inför mötet.",
                )
            ),
        }
        self.add("hold_conversation", lambda r, s: r.hub.hold_conversation(r.staff(owner), s.child_id, **payload), after=after)

    def consent(self, key: str, units: list[str], categories: list[str], purpose: str, *, valid_days: int | None = None, by_kind: bool = False, after: tuple[int, int] = (2, 8)) -> None:
        owner = self.bk
        recipients: list[dict[str, Any]] = []
        for u in units:
            if by_kind:
                kind = self.p.tenant.units[u].kind.value
                recipients.append({"unit_kind": kind})
            else:
                recipients.append({"unit_id": u})

        def run(r: _Run, s: _ChildState) -> None:
            until = r.hub.now() + timedelta(days=valid_days) if valid_days else None
            s.consents[key] = r.hub.request_consent(
                r.staff(owner), s.child_id, recipients=recipients, categories=categories, purpose=purpose, valid_until=until
            )

        self.add("request_consent", run, after=after)

    def answer(self, key: str, party: str, verb: str, *, after: tuple[int, int] = (1, 6)) -> None:
        """``party`` is ``g0``/``g1`` (the custodial guardians in order) or ``child``.

        The child answers only when the rules ask for its consent at that moment.
        """
        custodial = [g.person for g in self.plan.guardians if g.has_custody]
        if party != "child" and int(party[1:]) >= len(custodial):
            return
        person = self.plan.person if party == "child" else custodial[int(party[1:])]

        def run(r: _Run, s: _ChildState) -> None:
            if party == "child":
                if (PartyKind.CHILD, str(s.child_id)) not in r.required_parties(s.child_id):
                    return
                principal = r.child(s.child_id)
            else:
                principal = r.guardian(person.personnummer)
            getattr(r.hub, f"{verb}_consent")(principal, s.child_id, s.consents[key])

        self.add(f"{verb}_consent", run, after=after)

    def answer_all(self, key: str, verb: str = "grant") -> None:
        for party in ("g0", "g1", "child"):
            self.answer(key, party, verb)

    def decide(self, decision: str, members: list[str], shared: list[str], rationale: str, *, after: tuple[int, int] = (1, 7)) -> None:
        owner = self.bk
        team = decision != "own_support"
        self.add(
            "decide_team",
            lambda r, s: r.hub.decide_team(
                r.staff(owner), s.child_id, decision=decision, family_informed=True,
                shared_categories=shared if team else [], member_unit_ids=members if team else [], rationale=rationale,
            ),
            after=after,
        )

    def rate(self, by: str, focus: list[Area], *, after: tuple[int, int] = (2, 10)) -> None:
        scores = self.p.ratings(focus)
        self.add("submit_rating", lambda r, s: r.hub.submit_rating(r.staff(by), s.child_id, scores=scores), after=after)

    def meeting(self, units: list[str], advice: str, *, by: str | None = None, after: tuple[int, int] = (1, 6)) -> None:
        owner = by or self.bk
        self.add(
            "hold_team_meeting",
            lambda r, s: r.hub.hold_team_meeting(r.staff(owner), s.child_id, participant_unit_ids=units, advice=advice),
            after=after,
        )

    def read(self, by: str, purpose: str, *, denied_ok: bool = False, after: tuple[int, int] = (0, 3)) -> None:
        def run(r: _Run, s: _ChildState) -> None:
            try:
                r.hub.read_child(r.staff(by), s.child_id, purpose=purpose)
            except NoBasisError:
                if not denied_ok:
                    raise

        self.add("read_child", run, after=after)

    def summary(self, by: str, kind: str, *, after: tuple[int, int] = (2, 10)) -> None:
        text = self.rng.choice(SUMMARIES[kind])
        self.add("share_agency_summary", lambda r, s: r.hub.share_agency_summary(r.staff(by), s.child_id, **{kind: text}), after=after)

    def withhold(self, by: str, *, after: tuple[int, int] = (1, 5)) -> None:
        def run(r: _Run, s: _ChildState) -> None:
            record = r.hub.read_child(r.staff(by), s.child_id, purpose="Sekretessprövning mot vårdnadshavare")
            unit = r.hub.directory.staff(TENANT_ID, by).unit_id
            ids = [UUID(i["event_id"]) for i in record["items"] if i["type"] == "AgencySummaryShared" and i["unit_id"] == unit]
            if ids:
                r.hub.withhold_information(
                    r.staff(by), s.child_id, event_ids=ids[-1:],
                    reason="Uppgiften omfattas av sekretess mot vårdnadshavarna (OSL 12 kap. 3 §).",
                )

        self.add("withhold_information", run, after=after)

    def coordinator(self, staff_id: str, *, after: tuple[int, int] = (1, 7)) -> None:
        owner = self.bk
        self.add("assign_support_coordinator", lambda r, s: r.hub.assign_support_coordinator(r.staff(owner), s.child_id, staff_id=staff_id), after=after)

    def plan_update(self, by: str, focus: list[Area], actions: list[dict[str, Any]], follow_up: date | None, *, after: tuple[int, int] = (5, 14), on: date | None = None) -> None:
        goals = [{"area": a.value, "goal": GOALS[a]} for a in focus]
        child_view = self.rng.choice(("Jag vill att det ska kännas bättre i skolan.", "Jag vill ha någon att prata med.", "Jag vill vara med och bestämma."))
        guardian_view = self.rng.choice(("Vi vill ha en kontaktperson som håller ihop.", "Vi vill ha tät återkoppling.", "Vi är nöjda med planen."))
        payload = {"goals": goals, "actions": actions, "child_view": child_view, "guardian_view": guardian_view, "next_follow_up": follow_up}
        self.add("update_plan", lambda r, s: r.hub.update_plan(r.staff(by), s.child_id, **payload), after=after, on=on)

    def complete(self, by: str, action_id: str, *, on: date | None = None, after: tuple[int, int] = (5, 20)) -> None:
        note = self.rng.choice(("Genomfört enligt plan.", "Klart; fungerar bra för barnet.", "Genomfört, följs upp på nästa möte."))
        self.add("complete_plan_action", lambda r, s: r.hub.complete_plan_action(r.staff(by), s.child_id, action_id=action_id, note=note), on=on, after=after)

    def follow_up(self, by: str, focus: list[Area], *, after: tuple[int, int] = (30, 60), on: date | None = None) -> None:
        summary = self.rng.choice(("Uppföljande samtal: det går åt rätt håll.", "Uppföljning med barn och vårdnadshavare; stödet fortsätter.", "Barnet säger att det känns bättre."))
        compass = self.p.compass(focus, met=False)
        self.add("hold_follow_up", lambda r, s: r.hub.hold_follow_up(r.staff(by), s.child_id, summary=summary, compass=compass), after=after, on=on)

    def needs_met(self, by: str, focus: list[Area], *, after: tuple[int, int] = (20, 60)) -> None:
        compass = self.p.compass(focus, met=True)
        summary = self.rng.choice(("Uppföljande Behovskompass visar att behoven är tillgodosedda.", "Barnet och vårdnadshavarna är nöjda; ärendet avslutas."))
        self.add("record_needs_met", lambda r, s: r.hub.record_needs_met(r.staff(by), s.child_id, follow_up_compass=compass, summary=summary), after=after)

    def concern(self, by: str, focus: list[Area], *, acute: bool, after: tuple[int, int] = (0, 0)) -> None:
        needs = self.p.unmet_needs(focus, self.age())
        description = self.rng.choice(
            (
                "Barnet har vid flera tillfällen berättat om våld i hemmet.",
                "Barnet kommer upprepat hungrigt och utan kläder efter väder; vårdnadshavarna nås inte.",
                "Barnet har påträffats sent på kvällen i centrum i sällskap med äldre ungdomar.",
                "Stark oro för barnets hemsituation efter samtal med barnet.",
            )
        )
        self.add(
            "file_concern_report",
            lambda r, s: r.hub.file_concern_report(r.staff(by), s.child_id, to_unit_id="soc-ystad", unmet_needs=needs, description=description, acute=acute),
            after=after,
        )

    def home_visit(self, by: str, visit: int, on: date) -> None:
        notes = self.rng.choice(("Besöket genomfört tillsammans med föräldrarådgivare.", "Familjen mår bra; samtal om sömn och amning.", "Samtal om lek och samspel.", "Föräldrarna har frågor om vardagsrutiner."))
        self.add("record_home_visit", lambda r, s: r.hub.record_home_visit(r.staff(by), s.child_id, visit=visit, notes=notes), on=on)

    def family_looks(self, party: str = "g0", *, after: tuple[int, int] = (1, 20)) -> None:
        custodial = [g.person for g in self.plan.guardians if g.has_custody]
        person = custodial[0] if party == "g0" or len(custodial) < 2 else custodial[1]

        def run(r: _Run, s: _ChildState) -> None:
            p = r.guardian(person.personnummer)
            r.hub.read_child(p, s.child_id, purpose="Vårdnadshavare ser sitt barns uppgifter", view="family_view")
            r.hub.family_access_log(p, s.child_id)

        self.add("family_reads", run, after=after)


# -- the stories ---------------------------------------------------------------------


def _plan_actions(planner: _Planner, units: list[str], plan_day: date, dues: list[int], focus: list[Area]) -> list[dict[str, Any]]:
    actions = []
    for i, (unit_id, due_in) in enumerate(zip(units, dues, strict=False)):
        unit = planner.tenant.units[unit_id]
        responsible = planner.staff_at(unit_id)
        actions.append(
            {
                "action_id": f"a{i + 1}",
                "what": planner.rng.choice(ACTIONS_BY_KIND.get(unit.kind, ("Stöd enligt överenskommelse",))),
                "unit_id": unit_id,
                "responsible_person": f"{responsible.name}, {responsible.title.lower()}",
                "due": (plan_day + timedelta(days=due_in)).isoformat(),
                "area": focus[i % len(focus)].value,
            }
        )
    return actions


def _categories(units: list[str], directory: Directory, *, plan: bool) -> list[str]:
    cats = ["identity", "needs", "conversations", "team", "ratings"]
    kinds = {directory.tenants[TENANT_ID].units[u].kind for u in units}
    if kinds & {UnitKind.BVC, UnitKind.BUP, UnitKind.FIRST_LINE_PSYCHIATRY, UnitKind.HAB, UnitKind.MIDWIFE_CLINIC}:
        cats.append("health")
    if UnitKind.POLICE in kinds:
        cats.append("police")
    if UnitKind.SOCIAL_SERVICES in kinds:
        cats.append("social_services")
    if plan:
        cats.append("plan")
    return cats


PURPOSES = (
    "Barnteam kring barnets trygghet och skolgång",
    "Samordnat stöd till barnet och familjen",
    "Gemensam bedömning av barnets behov i Barnteam",
)


class _Stories:
    """Each story plans one child's steps from its start to at most the moment of the load."""

    def __init__(self, planner: _Planner) -> None:
        self.p = planner
        self.rng = planner.rng

    # the child and its setting ----------------------------------------------------------

    def new_child(self, index: int, story: str, setting_id: str | None, start: date, *, age: int | None = None, birth: date | None = None, family: str | None = None) -> tuple[_ChildPlan, _Story]:
        if birth is None:
            setting = SETTINGS[setting_id] if setting_id else None
            lo, hi = setting.ages if setting else (1, 15)
            years = age if age is not None else self.rng.randint(lo, hi)
            birth = start - timedelta(days=years * 365 + self.rng.randint(10 if years == 0 else 0, 300))
        person = self.p.child_person(birth)
        guardians = self.p.guardians_for(birth, person.family_name, family)
        if self.p.sibling:
            person.family_name = guardians[0].person.family_name  # a sibling takes the family's name
        plan = _ChildPlan(index, story, person, guardians, setting_id)
        school = setting_id is not None and setting_id.startswith(("skola", "forskola"))
        return plan, _Story(self.p, plan, start, school=school)

    def discovery(self, s: _Story, setting: _Setting, focus: list[Area], *, by: str | None = None, feedback: bool | None = None, delegate: bool | None = None) -> None:
        discoverer = by or self.rng.choice(setting.discoverers)
        s.register(discoverer)
        s.card(discoverer, setting.unit_id, focus)
        s.assign(setting.barnkontakter[0] if len(setting.barnkontakter) == 1 or self.rng.random() < 0.7 else setting.barnkontakter[1])
        if delegate if delegate is not None else (len(setting.barnkontakter) > 1 and self.rng.random() < 0.15):
            other = [b for b in setting.barnkontakter if b != s.bk]
            if other:
                s.delegate(other[0])
        same_person = discoverer in setting.barnkontakter
        send = feedback if feedback is not None else self.rng.random() < 0.85
        if send and not same_person:
            s.feedback()

    def conversations(self, s: _Story, focus: list[Area]) -> None:
        if s.age() >= 3:
            s.conversation("child", focus)
            if self.rng.random() < 0.8:
                s.conversation("guardian", focus, after=(0, 10))
        else:
            s.conversation("guardian", focus)

    def team_path(self, s: _Story, setting: _Setting, focus: list[Area], members: list[str], *, decision: str, plan: bool, consent_key: str = "c1", valid_days: int | None = None) -> bool:
        """Consent, decision, ratings and meeting. False when the consent was not granted."""
        cats = _categories(members, self.p.directory, plan=plan)
        s.consent(consent_key, members, cats, self.rng.choice(PURPOSES), valid_days=valid_days, by_kind=self.rng.random() < 0.2)
        s.answer_all(consent_key, "grant")
        rationale = self.rng.choice(("Behoven spänner över flera verksamheter.", "Barnet behöver samordnat stöd.", "Flera verksamheter ser samma oro."))
        s.decide(decision, members, cats, rationale)
        for unit_id in members:
            if self.rng.random() < 0.35:
                s.read(self.p.staff_at(unit_id).user_id, "Förberedelse inför barnteamsmöte", after=(0, 4))
        for unit_id in [setting.unit_id, *members]:
            if unit_id == setting.unit_id:
                rater = s.bk or setting.barnkontakter[0]
            else:
                rater = self.p.staff_at(unit_id).user_id
            if unit_id == setting.unit_id or self.rng.random() < 0.85:
                s.rate(rater, focus, after=(1, 8))
        s.meeting([setting.unit_id, *members], self.rng.choice(("Barnteamet föreslår stöd i skolan och samtal.", "Fortsatt stöd från elevhälsan och föräldrastöd.", "Teamet rekommenderar ett individuellt barnteam om det inte vänder.")))
        return True

    def summaries(self, s: _Story, members: list[str]) -> None:
        for unit_id in members:
            kind = self.p.tenant.units[unit_id].kind
            if self.rng.random() > 0.45:
                continue
            if kind is UnitKind.POLICE:
                s.summary(self.p.staff_at(unit_id).user_id, "police")
            elif kind is UnitKind.SOCIAL_SERVICES:
                s.summary(self.p.staff_at(unit_id).user_id, "social_services")
            elif kind in (UnitKind.BUP, UnitKind.FIRST_LINE_PSYCHIATRY, UnitKind.HAB, UnitKind.BVC):
                s.summary(self.p.staff_at(unit_id).user_id, "health")

    # the stories -------------------------------------------------------------------------

    def home_visits(self, index: int, *, birth: date | None = None, with_card: bool | None = None) -> _ChildPlan:
        born = birth or self.p.start_day(self.p.window_start, self.p.until_day - timedelta(days=10))
        plan, s = self.new_child(index, "home_visits", "bvc-ystad", born, birth=born)
        s.school = False
        nurse = self.rng.choice(("karin.holm", "sara.nilsson"))
        first = born + timedelta(days=self.rng.randint(5, 12))
        s.t = self.p.moment(first)
        s.register(nurse)
        offsets = {1: 0, 2: self.rng.randint(45, 70), 3: self.rng.randint(110, 130), 4: self.rng.randint(230, 250), 5: self.rng.randint(320, 345), 6: self.rng.randint(440, 470)}
        for visit, days in offsets.items():
            by = "nadia.elmi" if visit in (2, 5) else nurse
            if visit > 1 and self.rng.random() < 0.08:
                continue  # the family declined this visit
            s.home_visit(by, visit, first + timedelta(days=days))
            if visit == 3 and (with_card if with_card is not None else self.rng.random() < 0.2):
                focus = [self.rng.choice((Area.OMVARDAD, Area.HALSA, Area.TILLHORIGHET))]
                s.card(nurse, "bvc-ystad", focus, after=(1, 10))
                s.assign(nurse, after=(1, 4))
                s.conversation("guardian", focus)
                s.decide("own_support", [], [], "BVC ger eget stöd med tätare besök.")
                s.follow_up(nurse, focus, after=(20, 30))
                if self.rng.random() < 0.85:
                    s.needs_met(nurse, focus, after=(10, 28))
        plan.story = "home_visits" + ("_with_card" if any(st.label == "submit_discovery_card" for st in plan.steps) else "")
        return plan

    def pick_setting(self, *, school_only: bool = False) -> _Setting:
        ids = list(SETTINGS)
        weights = [1, 3, 2, 4, 3, 4]
        if school_only:
            weights = [0, 0, 0, 4, 3, 4]
        return SETTINGS[self.rng.choices(ids, weights)[0]]

    def own_support(self, index: int, *, setting: _Setting | None = None, start: date | None = None, by: str | None = None, met: bool | None = None, family: str | None = None) -> _ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, "own_support", setting.unit_id, start or self.p.start_day(), family=family)
        focus = self.p.focus(s.age(), self.rng.choice((1, 1, 2)))
        self.discovery(s, setting, focus, by=by)
        self.conversations(s, focus)
        s.decide("own_support", [], [], self.rng.choice(("Verksamheten ger stödet själv.", "Behoven kan mötas med eget stöd.", "Vårdnadshavarna vill pröva eget stöd först.")))
        s.follow_up(s.bk or setting.barnkontakter[0], focus, after=(20, 30))
        if met if met is not None else self.rng.random() < 0.9:
            s.needs_met(s.bk or setting.barnkontakter[0], focus, after=(10, 28))
        return plan

    def barnteam(self, index: int, *, setting: _Setting | None = None, start: date | None = None, by: str | None = None, met: bool | None = None, valid_days: int | None = None, story: str = "barnteam", denied_reader: str | None = None, feedback: bool | None = None) -> _ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, story, setting.unit_id, start or self.p.start_day())
        focus = self.p.focus(s.age())
        members = self.p.team(setting, focus, s.age())
        self.discovery(s, setting, focus, by=by, feedback=feedback)
        self.conversations(s, focus)
        self.team_path(s, setting, focus, members, decision="barnteam", plan=False, valid_days=valid_days)
        if denied_reader is not None:
            # a unit outside the consent asks: refused, and the refusal is in the access log
            s.read(denied_reader, "Inför samverkansmöte", denied_ok=True, after=(2, 10))
        self.summaries(s, members)
        if self.rng.random() < 0.3:
            s.family_looks(after=(3, 20))
        s.follow_up(s.bk or setting.barnkontakter[0], focus, after=(20, 30))
        if met if met is not None else self.rng.random() < 0.85:
            s.needs_met(s.bk or setting.barnkontakter[0], focus, after=(10, 28))
        return plan

    def individual(self, index: int, *, setting: _Setting | None = None, start: date | None = None, by: str | None = None, overdue: bool = False, met: bool | None = None, age: int | None = None, withhold: bool = False, delegate: bool | None = None) -> _ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, "individual_team" + ("_overdue" if overdue else ""), setting.unit_id, start or self.p.start_day(), age=age)
        focus = self.p.focus(s.age(), self.rng.choice((2, 3)))
        members = self.p.team(setting, focus, s.age())
        coordinator_unit = next((u for u in members if u in COORDINATORS), None)
        if coordinator_unit is None:
            coordinator_unit = "soc-ystad" if "soc-ystad" in setting.team_units else "elevhalsa-ystad"
            members = [*members[:2], coordinator_unit]
        if withhold and "soc-ystad" not in members:
            members = [*members[:2], "soc-ystad"]
        self.discovery(s, setting, focus, by=by, delegate=delegate)
        self.conversations(s, focus)
        if self.rng.random() < 0.5 or overdue:
            self.team_path(s, setting, focus, members, decision="barnteam", plan=False)
            s.consent("c2", members, _categories(members, self.p.directory, plan=True), "Individuellt barnteam och barnets plan", after=(7, 20))
            s.answer_all("c2", "grant")
            s.decide("individual_team", members, _categories(members, self.p.directory, plan=True), "Stödet behöver samordnas i ett individuellt barnteam.")
        else:
            self.team_path(s, setting, focus, members, decision="individual_team", plan=True)
        coordinator = COORDINATORS[coordinator_unit]
        s.coordinator(coordinator)
        if withhold and "soc-ystad" in members:
            s.summary("jonas.wikstrom", "social_services")
            s.withhold("jonas.wikstrom")
        else:
            self.summaries(s, members)
        action_units = list(dict.fromkeys([setting.unit_id, *members]))[:4]
        if overdue:
            plan_day = self.p.until_day - timedelta(days=self.rng.randint(70, 85))
            dues = [self.rng.randint(20, 30), (self.p.until_day - plan_day).days - self.rng.randint(12, 20), (self.p.until_day - plan_day).days - self.rng.randint(2, 6), (self.p.until_day - plan_day).days + self.rng.randint(20, 40)]
            follow_up = self.p.until_day + timedelta(days=self.rng.randint(10, 25))
            actions = _plan_actions(self.p, action_units, plan_day, dues, focus)
            s.plan_update(coordinator, focus, actions, follow_up, on=plan_day)
            s.complete(self.p.staff_at(actions[0]["unit_id"]).user_id if actions[0]["unit_id"] != setting.unit_id else (s.bk or coordinator), "a1", on=date.fromisoformat(actions[0]["due"]) - timedelta(days=2))
            if self.rng.random() < 0.5:
                s.family_looks(after=(1, 5))
            return plan
        plan_day = s.day + timedelta(days=self.rng.randint(7, 14))
        dues = [self.rng.randint(14, 45) for _ in action_units]
        follow_up = plan_day + timedelta(days=max(dues) + self.rng.randint(5, 20))
        actions = _plan_actions(self.p, action_units, plan_day, dues, focus)
        s.plan_update(coordinator, focus, actions, follow_up, on=plan_day)
        self.carry_out(s, setting, coordinator, actions)
        s.follow_up(coordinator, focus, on=follow_up)
        if self.rng.random() < 0.4:
            # the follow-up adds a step to the plan
            revised_day = s.day + timedelta(days=self.rng.randint(1, 5))
            extra = _plan_actions(self.p, [self.rng.choice(action_units)], revised_day, [self.rng.randint(20, 40)], focus)
            extra[0]["action_id"] = f"a{len(actions) + 1}"
            revised = [{**a, "status": "done"} for a in actions] + extra
            next_follow_up = revised_day + timedelta(days=self.rng.randint(45, 60))
            s.plan_update(coordinator, focus, revised, next_follow_up, on=revised_day)
            self.carry_out(s, setting, coordinator, extra)
            s.follow_up(coordinator, focus, on=next_follow_up)
        if self.rng.random() < 0.4:
            s.family_looks(after=(2, 15))
        if met if met is not None else self.rng.random() < 0.85:
            s.needs_met(coordinator, focus, after=(7, 25))
        return plan

    def carry_out(self, s: _Story, setting: _Setting, coordinator: str, actions: list[dict[str, Any]]) -> None:
        """Each unit completes its action around its due date; now and then weeks late."""
        for a in sorted(actions, key=lambda a: a["due"]):
            doer = s.bk if a["unit_id"] == setting.unit_id else self.p.staff_at(a["unit_id"]).user_id
            due = date.fromisoformat(a["due"])
            late = self.rng.randint(10, 40) if self.rng.random() < 0.25 else self.rng.randint(-6, 6)
            s.complete(doer or coordinator, a["action_id"], on=due + timedelta(days=late))

    def individual_overdue(self, index: int) -> _ChildPlan:
        setting = self.pick_setting(school_only=True)
        return self.individual(index, setting=setting, start=self.p.until_day - timedelta(days=self.rng.randint(170, 230)), overdue=True)

    def consent_declined(self, index: int, *, setting: _Setting | None = None, start: date | None = None) -> _ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, "consent_declined", setting.unit_id, start or self.p.start_day())
        focus = self.p.focus(s.age())
        members = self.p.team(setting, focus, s.age())
        self.discovery(s, setting, focus)
        self.conversations(s, focus)
        s.consent("c1", members, _categories(members, self.p.directory, plan=False), self.rng.choice(PURPOSES))
        custodial = sum(1 for g in plan.guardians if g.has_custody)
        if custodial > 1:
            s.answer("c1", "g0", "grant")
            s.answer("c1", "g1", "decline")
        else:
            s.answer("c1", "g0", "decline")
        s.decide("own_support", [], [], "Vårdnadshavare har avböjt samtycke; verksamheten ger eget stöd.", after=(2, 10))
        s.follow_up(s.bk or setting.barnkontakter[0], focus, after=(20, 30))
        if self.rng.random() < 0.8:
            s.needs_met(s.bk or setting.barnkontakter[0], focus, after=(10, 28))
        return plan

    def consent_withdrawn(self, index: int, *, setting: _Setting | None = None, start: date | None = None) -> _ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, "consent_withdrawn", setting.unit_id, start or self.p.start_day())
        focus = self.p.focus(s.age())
        members = self.p.team(setting, focus, s.age())
        self.discovery(s, setting, focus)
        self.conversations(s, focus)
        self.team_path(s, setting, focus, members, decision="barnteam", plan=False)
        s.answer("c1", "g0", "withdraw", after=(10, 40))
        s.decide("own_support", [], [], "Samtycket är återkallat; verksamheten fortsätter med eget stöd.", after=(1, 7))
        s.family_looks(after=(1, 10))
        s.follow_up(s.bk or setting.barnkontakter[0], focus, after=(20, 30))
        if self.rng.random() < 0.8:
            s.needs_met(s.bk or setting.barnkontakter[0], focus, after=(10, 28))
        return plan

    def consent_pending(self, index: int, *, setting: _Setting | None = None) -> _ChildPlan:
        setting = setting or self.pick_setting()
        start = self.p.until_day - timedelta(days=self.rng.randint(30, 45))
        plan, s = self.new_child(index, "consent_pending", setting.unit_id, start)
        focus = self.p.focus(s.age())
        members = self.p.team(setting, focus, s.age())
        self.discovery(s, setting, focus)
        self.conversations(s, focus)
        s.consent("c1", members, _categories(members, self.p.directory, plan=False), self.rng.choice(PURPOSES), after=(1, 3))
        if sum(1 for g in plan.guardians if g.has_custody) > 1:
            s.answer("c1", "g0", "grant", after=(1, 2))  # the other guardian has not answered yet
        return plan

    def consent_expired(self, index: int, *, setting: _Setting | None = None, start: date | None = None) -> _ChildPlan:
        latest = self.p.until_day - timedelta(days=220)
        return self.barnteam(index, setting=setting, start=start or self.p.start_day(latest=latest), valid_days=self.rng.randint(75, 110), story="consent_expired")

    def no_owner(self, index: int, *, setting: _Setting | None = None) -> _ChildPlan:
        setting = setting or self.pick_setting(school_only=True)
        start = self.p.until_day - timedelta(days=self.rng.randint(12, 40))
        plan, s = self.new_child(index, "no_barnkontakt", setting.unit_id, start)
        focus = self.p.focus(s.age())
        by = self.rng.choice([d for d in setting.discoverers if d not in setting.barnkontakter])
        s.register(by)
        s.card(by, setting.unit_id, focus)
        return plan

    def stalled(self, index: int, *, setting: _Setting | None = None) -> _ChildPlan:
        setting = setting or self.pick_setting(school_only=True)
        start = self.p.until_day - timedelta(days=self.rng.randint(100, 140))
        plan, s = self.new_child(index, "stalled", setting.unit_id, start)
        focus = self.p.focus(s.age())
        self.discovery(s, setting, focus, feedback=False)
        s.conversation("child", focus, after=(5, 12))
        return plan

    def concern_report(self, index: int, *, setting: _Setting | None = None, start: date | None = None) -> _ChildPlan:
        setting = setting or self.pick_setting()
        plan, s = self.new_child(index, "concern_report", setting.unit_id, start or self.p.start_day())
        focus = [self.rng.choice((Area.TRYGGHET, Area.OMVARDAD))]
        reporter = self.rng.choice([d for d in setting.discoverers if self.p.tenant.staff[d].unit_id != "soc-ystad"])
        s.register(reporter)
        s.concern(reporter, focus, acute=self.rng.random() < 0.3)
        if self.rng.random() < 0.7:
            s.card(reporter, setting.unit_id, focus, after=(0, 3))
            s.assign(setting.barnkontakter[0])
            if reporter not in setting.barnkontakter:
                s.feedback()
            self.conversations(s, focus)
            s.decide("own_support", [], [], "Socialtjänsten utreder; skolan ger eget stöd under tiden.")
            s.follow_up(s.bk or setting.barnkontakter[0], focus, after=(20, 30))
            if self.rng.random() < 0.8:
                s.needs_met(s.bk or setting.barnkontakter[0], focus, after=(10, 28))
        return plan

    # the mix ----------------------------------------------------------------------------

    WEIGHTS = (
        ("home_visits", 14), ("own_support", 22), ("barnteam", 18), ("individual", 12), ("individual_overdue", 3),
        ("consent_declined", 5), ("consent_withdrawn", 4), ("consent_pending", 3), ("consent_expired", 3),
        ("no_owner", 3), ("stalled", 3), ("concern_report", 6),
    )

    def random_story(self, index: int) -> _ChildPlan:
        names = [n for n, _ in self.WEIGHTS]
        weights = [w for _, w in self.WEIGHTS]
        name = self.rng.choices(names, weights)[0]
        return getattr(self, name)(index)

    def showcase(self, index: int) -> _ChildPlan | None:
        """The first children cover every step, so that even a small demo shows them all."""
        norreport, vastervang = SETTINGS["skola-norreport"], SETTINGS["skola-vastervang"]
        edvinshem, solrosen, backen = SETTINGS["skola-edvinshem"], SETTINGS["forskola-solrosen"], SETTINGS["forskola-backen"]
        until = self.p.until_day
        builders: list[Callable[[], _ChildPlan]] = [
            lambda: self.individual(index, setting=norreport, start=until - timedelta(days=200), by="mikael.forsberg", overdue=True, age=15, delegate=True),
            lambda: self.barnteam(index, setting=vastervang, start=until - timedelta(days=330), by="ingrid.sjoberg", met=True, denied_reader="mikael.forsberg", feedback=True),
            lambda: self.home_visits(index, birth=until - timedelta(days=260), with_card=False),
            lambda: self.own_support(index, setting=edvinshem, start=until - timedelta(days=420), by="oskar.lind", met=True, family="one_custody"),
            lambda: self.no_owner(index, setting=norreport),
            lambda: self.consent_declined(index, setting=solrosen, start=until - timedelta(days=300)),
            lambda: self.consent_withdrawn(index, setting=vastervang, start=until - timedelta(days=380)),
            lambda: self.individual(index, setting=edvinshem, start=until - timedelta(days=560), met=True, withhold=True),
            lambda: self.consent_pending(index, setting=backen),
            lambda: self.concern_report(index, setting=norreport, start=until - timedelta(days=150)),
            lambda: self.stalled(index, setting=norreport),
            lambda: self.consent_expired(index, setting=solrosen, start=until - timedelta(days=640)),
        ]
        if index >= len(builders):
            return None
        plan = builders[index]()
        plan.showcase = True
        return plan


# -- running the plan ------------------------------------------------------------------


class _Run:
    """Executes steps against the hub, as the people in them."""

    def __init__(self, hub: BackaHub, clock: SettableClock) -> None:
        self.hub = hub
        self.clock = clock
        self._staff: dict[str, Principal] = {}
        self._guardians: dict[str, Principal] = {}

    def staff(self, user_id: str) -> Principal:
        if user_id not in self._staff:
            s = self.hub.directory.staff(TENANT_ID, user_id)
            kind = ViewerKind.AUDITOR if Role.AUDITOR in s.roles else ViewerKind.STAFF
            self._staff[user_id] = Principal(kind, TENANT_ID, user_id, s.roles, unit_id=s.unit_id)
        return self._staff[user_id]

    def guardian(self, personnummer: str) -> Principal:
        if personnummer not in self._guardians:
            gid = self.hub.blind_index.guardian_id(TENANT_ID, parse_identity_number(personnummer))
            self._guardians[personnummer] = Principal(ViewerKind.GUARDIAN, TENANT_ID, gid, frozenset({Role.GUARDIAN}), party_id=gid)
        return self._guardians[personnummer]

    def child(self, child_id: UUID) -> Principal:
        return Principal(ViewerKind.CHILD, TENANT_ID, str(child_id), frozenset({Role.CHILD}), party_id=str(child_id))

    def required_parties(self, child_id: UUID) -> frozenset[tuple[PartyKind, str]]:
        facts = self.hub.child_facts(self.staff("birgitta.mattsson"), child_id)
        return required_parties(facts, self.hub.now(), self.hub.rules)


class DemoLoadError(RuntimeError):
    """A step of the demo was refused by the hub: the demo and the hub disagree."""


@dataclass
class DemoSummary:
    children: int
    facts: int
    seconds: float
    until: datetime
    stories: dict[str, int]
    steps: dict[str, int]
    users: dict[str, dict[str, Any]]


def load_demo(
    target: Runtime | BackaHub,
    *,
    children: int = DEFAULT_CHILDREN,
    seed: int = DEFAULT_SEED,
    progress: ProgressCallback | None = None,
    progress_every: int = 20,
    until: datetime | None = None,
    data_dir: Path | None = None,
) -> DemoSummary:
    """Load the Ystad demo into a hub built with :func:`demo_directory` and a :class:`SettableClock`.

    The stories run up to ``until`` (by default the moment of the load). ``progress``
    is called with (children done, children in all) every ``progress_every`` children.
    With a runtime on the SQLite store, the directory and the demo users are written
    into its data folder (or ``data_dir``).
    """
    began = time.perf_counter()
    hub = target.hub if isinstance(target, Runtime) else target
    if data_dir is None and isinstance(target, Runtime) and target.settings.store == "sqlite":
        data_dir = target.settings.data_dir
    clock = hub.clock
    if not isinstance(clock, SettableClock):
        raise ValueError("the demo moves the hub's clock: bootstrap the runtime with a SettableClock")
    _check_directory(hub.directory)
    if children < 1:
        raise ValueError("the demo needs at least one child")
    end = (until or system_clock()).astimezone(UTC)

    planner = _Planner(seed, end, hub.directory)
    stories = _Stories(planner)
    plans = [stories.showcase(i) or stories.random_story(i) for i in range(children)]
    plans = [p for p in plans if p.steps]
    steps = sorted(s for p in plans for s in p.steps)
    last = {p.index: max(p.steps).seq for p in plans}
    audits = _audit_steps(planner, plans)
    states = {p.index: _ChildState() for p in plans}

    run = _Run(hub, clock)
    done = 0
    counts: Counter[str] = Counter()
    for step in steps:
        clock.set(step.at)
        state = states[step.child]
        try:
            step.run(run, state)
        except HubError as e:
            raise DemoLoadError(f"demo step {step.label} for child #{step.child} was refused: {e.detail}") from e
        counts[step.label] += 1
        if step.seq == last[step.child]:
            done += 1
            if progress is not None and (done % max(1, progress_every) == 0 or done == len(plans)):
                progress(done, len(plans))
    for at, auditor, index in audits:
        child_id = states[index].child_id
        if child_id is None:
            continue
        clock.set(at)
        found = hub.audit_search(run.staff(auditor), child_id=child_id)
        counts["audit_search"] += 1
        reads = [e for e in found if e["role"] != Role.AUDITOR.value]
        if reads:
            hub.record_review(
                run.staff(auditor), child_id, access_event_ids=[UUID(reads[0]["event_id"])],
                outcome=ReviewOutcome.JUSTIFIED, note="Läsningen hör till barnets stöd.",
            )
            counts["access_review"] += 1
    if _erase_mistaken_registration(run, planner, end):
        counts["erase_child"] += 1
    clock.set(end)

    users = _demo_users(hub, plans, states, end)
    summary = DemoSummary(
        children=len(plans),
        facts=hub.log_length(),
        seconds=round(time.perf_counter() - began, 2),
        until=end,
        stories=dict(Counter(p.story for p in plans)),
        steps=dict(counts),
        users=users,
    )
    if data_dir is not None:
        write_demo_files(Path(data_dir), hub.directory, summary, seed=seed)
    return summary


def _erase_mistaken_registration(run: _Run, planner: _Planner, end: datetime) -> bool:
    """A child registered by mistake (a wrong number typed), whose record the administrator
    erases half an hour later: the demo's erasure, for auditors to find. Only a log sealed per
    child can be erased."""
    hub = run.hub
    if not callable(getattr(hub.sealer, "destroy", None)):
        return False
    at = hub.now() + timedelta(minutes=10)
    if at + timedelta(minutes=30) > end:
        return False
    run.clock.set(at)
    birth = at.astimezone(_local()).date() - timedelta(days=6 * 365)
    child = planner.child_person(birth)
    parent = planner.adult(birth, True, child.family_name)
    child_id = hub.register_child(
        run.staff("lena.ek"),
        personnummer=child.personnummer,
        given_name=child.given_name,
        family_name=child.family_name,
        guardians=[{"name": parent.name, "personnummer": parent.personnummer, "has_custody": True}],
    )
    run.clock.set(at + timedelta(minutes=30))
    hub.erase_child(run.staff("birgitta.mattsson"), child_id, reason="Registrerad av misstag: fel personnummer angivet")
    return True


def _check_directory(directory: Directory) -> None:
    tenant = directory.tenants.get(TENANT_ID)
    expected = demo_directory().tenants[TENANT_ID]
    if tenant is None or not set(expected.units) <= set(tenant.units) or not set(expected.staff) <= set(tenant.staff):
        raise ValueError("the demo needs the hub built with directory=demo_directory()")


def _audit_steps(planner: _Planner, plans: list[_ChildPlan]) -> list[tuple[datetime, str, int]]:
    """The auditor's loggkontroll of a few children at the end of the load."""
    chosen = [p for p in plans if p.showcase][:3]
    at = planner.until - QUIET_HOUR + timedelta(minutes=5)
    return [(at + timedelta(minutes=5 * i), "lars.ahlgren", p.index) for i, p in enumerate(chosen)]


FAMILY_USERS_FROM = (0, 1, 2, 3, 6, 7)
"""The showcase children whose families (and, when old enough, who themselves) get demo users."""


def _demo_users(hub: BackaHub, plans: list[_ChildPlan], states: dict[int, _ChildState], until: datetime) -> dict[str, dict[str, Any]]:
    users: dict[str, dict[str, Any]] = {}
    tenant = hub.directory.tenants[TENANT_ID]
    for s in tenant.staff.values():
        users[s.user_id] = {
            "kind": "staff",
            "tenant": TENANT_ID,
            "user_id": s.user_id,
            "unit_id": s.unit_id,
            "roles": sorted(r.value for r in s.roles),
            "name": s.name,
            "title": s.title,
        }
    guardian_no, child_no, other_no = 0, 0, 0
    seen: dict[str, str] = {}
    for plan in [p for p in plans if p.showcase and p.index in FAMILY_USERS_FROM]:
        child_id = states[plan.index].child_id
        if child_id is None:
            continue
        child_ref = {"child_id": str(child_id), "name": plan.person.name, "story": plan.story}
        for g in plan.guardians:
            pnr = g.person.personnummer
            if pnr in seen:
                users[seen[pnr]]["children"].append(child_ref)
                continue
            if g.has_custody:
                guardian_no += 1
                name = f"vardnadshavare-{guardian_no}"
                users[name] = {"kind": "guardian", "tenant": TENANT_ID, "personnummer": pnr, "name": g.person.name, "children": [child_ref]}
            else:
                other_no += 1
                name = f"foralder-utan-vardnad-{other_no}"
                users[name] = {
                    "kind": "guardian", "tenant": TENANT_ID, "personnummer": pnr, "name": g.person.name,
                    "children": [child_ref], "has_custody": False,
                }
            seen[pnr] = name
        if age_on(plan.person.birth_date, until) >= hub.rules.child_access_age:
            child_no += 1
            users[f"barn-{child_no}"] = {
                "kind": "child", "tenant": TENANT_ID, "personnummer": plan.person.personnummer,
                "name": plan.person.name, "child_id": str(child_id), "story": plan.story,
            }
    return users


# -- the demo folder -------------------------------------------------------------------


def demo_folder(data_dir: Path) -> Path:
    return Path(data_dir) / DEMO_FOLDER


def is_demo_folder(data_dir: Path) -> bool:
    """Whether ``backa demo`` made this data folder (finished or not)."""
    return (demo_folder(data_dir) / STATE_FILE).exists()


def demo_state(data_dir: Path) -> dict[str, Any]:
    path = demo_folder(data_dir) / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def demo_ready(data_dir: Path) -> bool:
    return demo_state(data_dir).get("state") == "complete" and (demo_folder(data_dir) / USERS_FILE).exists()


def has_hub_data(data_dir: Path) -> bool:
    data_dir = Path(data_dir)
    return (data_dir / "events.sqlite").exists() or (data_dir / "directory.json").exists()


HUB_FILES = ("events.sqlite*", "view_*.sqlite*", "child_keys.sqlite*", "directory.json", "index.key", "kek.key", "transparency.*")


def clear_demo_folder(data_dir: Path) -> None:
    """Remove what the hub and the demo wrote into a demo data folder, and nothing else."""
    data_dir = Path(data_dir)
    if has_hub_data(data_dir) and not is_demo_folder(data_dir):
        raise DemoFolderError("this data folder holds a hub that was not loaded by `backa demo`; it is left untouched")
    for pattern in HUB_FILES:
        for path in data_dir.glob(pattern):
            path.unlink()
    shutil.rmtree(demo_folder(data_dir), ignore_errors=True)


def write_demo_files(data_dir: Path, directory: Directory, summary: DemoSummary, *, seed: int) -> None:
    folder = demo_folder(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    directory.save(data_dir / "directory.json")
    users = folder / USERS_FILE
    users.write_text(json.dumps(summary.users, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    users.chmod(0o600)
    _write_state(
        data_dir,
        {
            "state": "complete",
            "seed": seed,
            "children": summary.children,
            "facts": summary.facts,
            "until": summary.until.isoformat(),
            "seconds": summary.seconds,
            "stories": summary.stories,
        },
    )


def _write_state(data_dir: Path, state: dict[str, Any]) -> None:
    folder = demo_folder(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STATE_FILE).write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def build_demo_data(
    settings: Settings,
    *,
    children: int = DEFAULT_CHILDREN,
    seed: int = DEFAULT_SEED,
    progress: ProgressCallback | None = None,
    until: datetime | None = None,
) -> DemoSummary:
    """Load the demo into ``settings.data_dir`` with a runtime of its own, then close it.

    The load runs on a clock it moves; the hub that serves the folder afterwards is
    built afresh on the system clock.
    """
    data_dir = Path(settings.data_dir)
    if has_hub_data(data_dir) and not is_demo_folder(data_dir):
        raise DemoFolderError("this data folder already holds a hub; give the demo an empty --data-dir")
    clear_demo_folder(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_state(data_dir, {"state": "loading", "seed": seed, "children": children})
    directory = demo_directory()
    directory.save(data_dir / "directory.json")
    end = (until or system_clock()).astimezone(UTC)
    clock = SettableClock(end)
    runtime = bootstrap(settings.model_copy(update={"store": "sqlite", "demo_mode": True}), clock=clock, directory=directory)
    try:
        return load_demo(runtime, children=children, seed=seed, progress=progress, until=end, data_dir=data_dir)
    finally:
        runtime.close()


# -- demo users and their tokens -------------------------------------------------------


class DemoFolderError(Exception):
    """The data folder is not (or not yet) a demo folder."""


def demo_users(data_dir: Path) -> dict[str, dict[str, Any]]:
    if not demo_ready(data_dir):
        raise DemoFolderError(
            "no demo data in this data folder: tokens are issued only for demo users; run `backa demo` first"
        )
    return json.loads((demo_folder(data_dir) / USERS_FILE).read_text(encoding="utf-8"))


def issue_demo_token(data_dir: Path, user: str, *, audience: str, clock: Clock = system_clock, lifetime: timedelta | None = None) -> str:
    """A bearer token for a demo user: a staff user id or a family name like ``vardnadshavare-1``."""
    users = demo_users(data_dir)
    entry = users.get(user)
    if entry is None:
        raise DemoFolderError(f"no such demo user; see {DEMO_FOLDER}/{USERS_FILE} in the data folder")
    issuer = DemoIssuer.from_folder(demo_folder(data_dir), audience, clock)
    kw = {"lifetime": lifetime} if lifetime else {}
    if entry["kind"] == "staff":
        return issuer.staff_token(entry["tenant"], entry["user_id"], entry.get("unit_id"), list(entry["roles"]), **kw)
    return issuer.family_token(entry["tenant"], entry["kind"], entry["personnummer"], **kw)


__all__ = [
    "DEFAULT_CHILDREN",
    "DEFAULT_SEED",
    "DemoFolderError",
    "DemoLoadError",
    "DemoSummary",
    "TENANT_ID",
    "build_demo_data",
    "clear_demo_folder",
    "demo_directory",
    "demo_ready",
    "demo_users",
    "is_demo_folder",
    "issue_demo_token",
    "load_demo",
    "luhn_check_digit",
    "make_personnummer",
]
