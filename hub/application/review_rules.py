"""Loggkontroll: which reads of children's information an auditor should look at first.

Pure: the reads, what each child's log says about its team and its consents, the units'
kinds and the moment of review are passed in; nothing here reads a clock or a store. Each
rule has a code and returns the reads it flags; :func:`flag` runs the rules a
:class:`ReviewRules` enables. A rule set with no rules enabled flags nothing, and says so
(``ReviewRules.enabled`` is part of every answer), so an empty result is never mistaken
for a clean log.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import Enum
from uuid import UUID

from contracts.vocabulary import STAFF_ROLES, SWEDISH_TIME, LegalBasis, Role, UnitKind
from projections.accesslog import AccessEntry

INVOLVEMENT_BASES = frozenset({LegalBasis.OWN_RECORD, LegalBasis.SENT_TO_UNIT, LegalBasis.STATUTORY_CONCERN_REPORT})
"""The bases that come from the unit's own part in the child's process: its own record,
what was sent to it, a concern report filed to it. Consent is not among them."""


class RuleCode(str, Enum):
    OUTSIDE_TEAM_OR_CONSENT = "outside_team_or_consent"
    AFTER_WITHDRAWAL_ATTEMPT = "after_withdrawal_attempt"
    UNUSUAL_HOURS = "unusual_hours"
    BURST = "burst"
    SENT_TO_UNIT_OUTSIDE_CASE = "sent_to_unit_outside_case"


@dataclass(frozen=True)
class Withdrawal:
    """A consent withdrawn by one party at ``at``, and the recipients it named."""

    consent_id: UUID
    at: datetime
    recipient_unit_ids: frozenset[str] = frozenset()
    recipient_unit_kinds: frozenset[UnitKind] = frozenset()

    def names(self, unit_id: str | None, unit_kind: UnitKind | None) -> bool:
        return (unit_id is not None and unit_id in self.recipient_unit_ids) or (
            unit_kind is not None and unit_kind in self.recipient_unit_kinds
        )


@dataclass(frozen=True)
class TeamChange:
    """From ``at`` on, the units of the child's team (a team decision or a coordinator)."""

    at: datetime
    unit_ids: frozenset[str]
    replaces: bool = True
    """A team decision replaces the members; a coordinator's unit is added to them."""


@dataclass(frozen=True)
class BarnkontaktChange:
    """From ``at`` on, the child's Barnkontakt is at ``unit_id`` (an assignment or a handover)."""

    at: datetime
    unit_id: str


@dataclass(frozen=True)
class ReviewFacts:
    """What the rules need from one child's log, each with its time."""

    child_id: UUID
    team_changes: tuple[TeamChange, ...] = ()
    withdrawals: tuple[Withdrawal, ...] = ()
    barnkontakt_changes: tuple[BarnkontaktChange, ...] = ()
    """Every ``BarnkontaktAssigned`` and ``BarnkontaktDelegated`` of the child, in any order."""

    def barnkontakt_at(self, at: datetime) -> str | None:
        """The unit of the child's Barnkontakt at ``at``: the last assignment or handover at or before it."""
        unit: str | None = None
        for change in sorted(self.barnkontakt_changes, key=lambda c: c.at):
            if change.at > at:
                break
            unit = change.unit_id
        return unit

    def team_at(self, at: datetime) -> frozenset[str]:
        units: frozenset[str] = frozenset()
        for change in sorted(self.team_changes, key=lambda c: c.at):
            if change.at > at:
                break
            units = change.unit_ids if change.replaces else units | change.unit_ids
        return units


@dataclass(frozen=True)
class ReviewRules:
    """Which rules run, and their settings. ``enabled=frozenset()`` flags nothing."""

    enabled: frozenset[RuleCode] = frozenset(RuleCode)
    night_starts: time = time(22, 0)
    night_ends: time = time(6, 0)
    weekend_days: frozenset[int] = frozenset({5, 6})
    """``datetime.weekday()`` numbers: Saturday and Sunday."""
    burst_reads: int = 20
    """More than this many looks by one accessor (a list opened is one look) ..."""
    burst_window: timedelta = timedelta(minutes=10)
    """... within this long is a burst."""
    roles: frozenset[Role] = STAFF_ROLES
    """Whose reads the rules look at: staff. A family reading its own child's information
    at night is no finding, and auditors' reads are reviewed through the search."""


@dataclass(frozen=True)
class Flag:
    rule: RuleCode
    detail: str


@dataclass(frozen=True)
class FlaggedEntry:
    entry: AccessEntry
    flags: tuple[Flag, ...] = field(default=())


def outside_team_or_consent(
    entries: Sequence[AccessEntry], facts: Mapping[UUID, ReviewFacts], unit_kinds: Mapping[str, UnitKind], rules: ReviewRules, at: datetime
) -> dict[int, str]:
    """An allowed read by a unit that rests on none of the involvement bases (its own
    record, what was sent to it, a concern report to it: :data:`INVOLVEMENT_BASES`) while
    the unit was not in the child's team at the time of the read (the members of the last
    team decision before it, and the support coordinator's unit).

    Such a read rests on consent alone, given to a unit that has no part in the child's
    support: legal while the consent stands, and exactly what a consent to a whole kind of
    unit can let through, so it is worth a look.
    """
    out: dict[int, str] = {}
    for e in entries:
        if not e.allowed or e.accessor_unit_id is None:
            continue
        if INVOLVEMENT_BASES & set(e.bases):
            continue
        child = facts.get(e.child_id)
        team = child.team_at(e.accessed_at) if child else frozenset()
        if e.accessor_unit_id not in team:
            out[e.position] = "read on " + (", ".join(b.value for b in e.bases) or "no basis") + " by a unit outside the child's team"
    return out


def after_withdrawal_attempt(
    entries: Sequence[AccessEntry], facts: Mapping[UUID, ReviewFacts], unit_kinds: Mapping[str, UnitKind], rules: ReviewRules, at: datetime
) -> dict[int, str]:
    """Any read, allowed or denied, by a unit after a consent that named it (by id or by
    kind) was withdrawn for that child. The withdrawal must be known at ``at``."""
    out: dict[int, str] = {}
    for e in entries:
        if e.accessor_unit_id is None:
            continue
        child = facts.get(e.child_id)
        if child is None:
            continue
        kind = unit_kinds.get(e.accessor_unit_id)
        for w in child.withdrawals:
            if w.at <= at and w.at < e.accessed_at and w.names(e.accessor_unit_id, kind):
                out[e.position] = ("denied " if not e.allowed else "") + "read after a consent naming the unit was withdrawn"
                break
    return out


def unusual_hours(
    entries: Sequence[AccessEntry], facts: Mapping[UUID, ReviewFacts], unit_kinds: Mapping[str, UnitKind], rules: ReviewRules, at: datetime
) -> dict[int, str]:
    """A read at night or on a weekend, in Swedish time (Europe/Stockholm)."""
    out: dict[int, str] = {}
    for e in entries:
        local = e.accessed_at.astimezone(SWEDISH_TIME)
        clock = local.timetz().replace(tzinfo=None)
        if rules.night_starts > rules.night_ends:
            night = clock >= rules.night_starts or clock < rules.night_ends
        else:
            night = rules.night_starts <= clock < rules.night_ends
        if night:
            out[e.position] = f"read at {clock:%H:%M} Swedish time"
        elif local.weekday() in rules.weekend_days:
            out[e.position] = f"read on a {local:%A}"
    return out


LIST_VIEWS = frozenset({"case_list"})
"""Views that show many children at once. Opening one records a read per child shown, all
at the same instant; for the burst rule that is one look, not one per child."""


def _looks(reads: Sequence[AccessEntry]) -> list[list[AccessEntry]]:
    """One accessor's reads as looks: a list opened (every read of a :data:`LIST_VIEWS` view
    at one instant) is one look, any other read is a look of its own."""
    looks: list[list[AccessEntry]] = []
    opened: dict[tuple[str, datetime], list[AccessEntry]] = {}
    for e in sorted(reads, key=lambda e: (e.accessed_at, e.position)):
        if e.view in LIST_VIEWS:
            key = (e.view, e.accessed_at)
            if key in opened:
                opened[key].append(e)
                continue
            opened[key] = [e]
            looks.append(opened[key])
        else:
            looks.append([e])
    return looks


def burst(
    entries: Sequence[AccessEntry], facts: Mapping[UUID, ReviewFacts], unit_kinds: Mapping[str, UnitKind], rules: ReviewRules, at: datetime
) -> dict[int, str]:
    """More than ``burst_reads`` looks by one accessor within ``burst_window``: every read in
    such a window is flagged. Opening the case list is one look however many children it
    shows (:func:`_looks`), so a Barnkontakt with twenty children who opens her list is no
    burst; opening it over and over is. Only the reads passed in are counted, so a burst
    that spans the edge of the period is seen only in part."""
    by_accessor: dict[str, list[AccessEntry]] = defaultdict(list)
    for e in entries:
        by_accessor[e.accessor_id].append(e)
    out: dict[int, str] = {}
    minutes = int(rules.burst_window.total_seconds() // 60)
    for reads in by_accessor.values():
        looks = _looks(reads)
        start = 0
        for end, look in enumerate(looks):
            while look[0].accessed_at - looks[start][0].accessed_at >= rules.burst_window:
                start += 1
            if end - start + 1 > rules.burst_reads:
                for seen in looks[start : end + 1]:
                    for r in seen:
                        out[r.position] = f"more than {rules.burst_reads} reads by one accessor within {minutes} minutes"
    return out


def sent_to_unit_outside_case(
    entries: Sequence[AccessEntry], facts: Mapping[UUID, ReviewFacts], unit_kinds: Mapping[str, UnitKind], rules: ReviewRules, at: datetime
) -> dict[int, str]:
    """An allowed read on the ``sent_to_unit`` basis by a unit that, at the time of the
    read, was neither the child's Barnkontakt unit nor in its team (the members of the
    last team decision and the support coordinator's unit).

    That basis follows from what was sent to the unit in the process, and the sender
    names the unit: a discoverer who knows a child's identity number can send a card to
    their own unit and read the child's identity on it (OSL 10 kap. 1 §: secrecy holds
    between units unless a rule of law or consent lifts it). The model sends cards to the
    Barnkontakt, who is at the unit the card went to or where the child is enrolled, so
    such a read by a unit with no part in the case is exactly what PDL 4 kap. 3 § asks
    the systematic follow-up of access to look at.
    """
    out: dict[int, str] = {}
    for e in entries:
        if not e.allowed or e.accessor_unit_id is None or LegalBasis.SENT_TO_UNIT not in e.bases:
            continue
        child = facts.get(e.child_id)
        if child is not None and (
            e.accessor_unit_id == child.barnkontakt_at(e.accessed_at) or e.accessor_unit_id in child.team_at(e.accessed_at)
        ):
            continue
        out[e.position] = "read on sent_to_unit by a unit that is neither the child's Barnkontakt unit nor in its team"
    return out


Rule = Callable[
    [Sequence[AccessEntry], Mapping[UUID, ReviewFacts], Mapping[str, UnitKind], ReviewRules, datetime], dict[int, str]
]

RULES: dict[RuleCode, Rule] = {
    RuleCode.OUTSIDE_TEAM_OR_CONSENT: outside_team_or_consent,
    RuleCode.AFTER_WITHDRAWAL_ATTEMPT: after_withdrawal_attempt,
    RuleCode.UNUSUAL_HOURS: unusual_hours,
    RuleCode.BURST: burst,
    RuleCode.SENT_TO_UNIT_OUTSIDE_CASE: sent_to_unit_outside_case,
}


def flag(
    entries: Iterable[AccessEntry],
    facts: Mapping[UUID, ReviewFacts],
    unit_kinds: Mapping[str, UnitKind],
    rules: ReviewRules,
    at: datetime,
) -> list[FlaggedEntry]:
    """The reads at least one enabled rule flags, in log order, each with every rule that did."""
    considered = [e for e in entries if e.accessor_role in rules.roles]
    found: dict[int, list[Flag]] = defaultdict(list)
    for code in RuleCode:
        if code not in rules.enabled:
            continue
        for position, detail in RULES[code](considered, facts, unit_kinds, rules, at).items():
            found[position].append(Flag(code, detail))
    return [FlaggedEntry(e, tuple(found[e.position])) for e in sorted(considered, key=lambda e: e.position) if e.position in found]


def draw_sample(positions: Sequence[int], size: int, seed: int) -> list[int]:
    """``size`` of ``positions`` (fewer if there are fewer), the same for the same seed and
    positions, in log order."""
    ordered = sorted(positions)
    return sorted(random.Random(seed).sample(ordered, min(max(size, 0), len(ordered))))
