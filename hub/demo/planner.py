"""Who the demo's children and families are, and when and what their steps are.

The :class:`Planner` draws people (with personnummer whose check digits are right and
serials from 980 to 999), working moments in Swedish time, and the needs, ratings and
team of a child, all from one seeded random generator: the same seed gives the same
people and the same stories.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from contracts.indicators import INDICATORS
from contracts.vocabulary import COMPASS, SWEDISH_TIME, AgeGroup, Area, Role
from hub.demo.directory import TENANT_ID, Setting
from hub.demo.words import (
    AREA_NOTES,
    BOYS,
    FOCUS_WEIGHTS,
    GIRLS,
    MEN,
    SEVERE,
    SURNAMES,
    WOMEN,
)
from hub.identity.directory import Directory, Staff

if TYPE_CHECKING:
    from hub.demo.loader import Run

QUIET_HOUR = timedelta(hours=1)
"""The stories stop an hour before the end of the load; the auditor's checks fill that hour."""


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
class GuardianPlan:
    person: Person
    has_custody: bool


@dataclass(order=True)
class Step:
    at: datetime
    child: int
    seq: int
    label: str = field(compare=False)
    run: Callable[[Run, ChildState], None] = field(compare=False)


@dataclass
class ChildPlan:
    index: int
    story: str
    person: Person
    guardians: list[GuardianPlan]
    setting: str | None
    steps: list[Step] = field(default_factory=list)
    showcase: bool = False


@dataclass
class ChildState:
    child_id: UUID | None = None
    cards: list[str] = field(default_factory=list)
    consents: dict[str, UUID] = field(default_factory=dict)


class Planner:
    def __init__(self, seed: int, until: datetime, directory: Directory) -> None:
        self.rng = random.Random(seed)
        self.until = until
        self.until_day = until.astimezone(SWEDISH_TIME).date()
        self.window_start = date(self.until_day.year - 2, 1, 8)
        self.directory = directory
        self.tenant = directory.tenants[TENANT_ID]
        self.used_numbers: set[str] = set()
        self.families: list[list[GuardianPlan]] = []
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

    def guardians_for(self, child_birth: date, family_name: str, shape: str | None = None) -> list[GuardianPlan]:
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
            family = [GuardianPlan(mother if self.rng.random() < 0.75 else self.adult(child_birth, False, family_name), True)]
        else:
            other_name = family_name if self.rng.random() < 0.7 else self.rng.choice(SURNAMES)
            father = self.adult(child_birth, False, other_name)
            if roll < 0.25:
                custodial, other = (mother, father) if self.rng.random() < 0.7 else (father, mother)
                family = [GuardianPlan(custodial, True), GuardianPlan(other, False)]
            else:
                family = [GuardianPlan(mother, True), GuardianPlan(father, True)]
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
        return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=SWEDISH_TIME).astimezone(UTC)

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

    def ratings(self, focus: list[Area], groups: set[AgeGroup]) -> list[dict[str, Any]]:
        """A rating of the indicators asked in every one of ``groups`` (the child's age group
        when planned and when sent, should a birthday fall between)."""
        scores = []
        for area in Area:
            indicators = [d.indicator.value for d in INDICATORS.values() if d.area is area and groups <= d.age_groups]
            if not indicators:
                continue
            if area in focus:
                for ind in indicators[:2]:
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

    def staff_at(self, unit_id: str, role: Role = Role.TEAM_MEMBER) -> Staff:
        found = [s for s in self.tenant.staff.values() if s.unit_id == unit_id and role in s.roles]
        if not found:
            found = [s for s in self.tenant.staff.values() if s.unit_id == unit_id]
        return self.rng.choice(sorted(found, key=lambda s: s.user_id))

    def team(self, setting: Setting, focus: list[Area], age: int, size: int | None = None) -> list[str]:
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


__all__ = [
    "QUIET_HOUR",
    "ChildPlan",
    "ChildState",
    "GuardianPlan",
    "Person",
    "Planner",
    "Step",
    "luhn_check_digit",
    "make_personnummer",
]
