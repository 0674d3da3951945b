"""Consent at random: grants, declines, withdrawals, expiry and birthdays, read by everyone.

A state machine drives the real hub (in-memory store) for one child about to turn
fifteen, with two custodial guardians and one without custody, and facts recorded by
many units. After every step it reads the child as every unit, every guardian and the
child, and checks the answer against a small model kept here in the test: which facts
exist, who wrote them, where they were sent, when the case's last entry was, and every
consent's answers and validity. The model decides on its own; it never asks
``consent.decide``; it takes only the periods' table, :data:`consent.retention.DEFAULT_DAYS`.

It also checks that every read adds exactly one entry to the access log, naming the
reader and the categories the reader got.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from consent.retention import DEFAULT_DAYS
from contracts.vocabulary import CONSENTABLE_CATEGORIES, SWEDISH_TIME, Category, UnitKind
from hub.application.readmodels import RecordItemOut
from hub.errors import ChildNotFoundError, ConsentError, NoBasisError
from hub.identity.principals import Principal
from hub.runtime.bootstrap import bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from projections.accesslog import AccessEntry
from tests.conftest import family
from tests.factories import (
    GUARDIAN_1_PNR,
    GUARDIAN_2_PNR,
    NON_CUSTODIAL_PNR,
    START,
    TENANT,
    UNITS,
    card_payload,
    conversation_payload,
    directory,
    staff,
)

TEEN_PNR = "201106102385"  # born 2011-06-10: fifteen on 2026-06-10, a hundred days after START
FIFTEENTH_BIRTHDAY = date(2026, 6, 10)
SWEDEN = SWEDISH_TIME  # a birthday begins at Swedish midnight
BK = "rektor.ostra"

UNIT_STAFF = {
    "skola-ostra": "rektor.ostra",
    "polis-ystad": "polis.ystad",
    "bup-ystad": "bup.ystad",
    "soc-ystad": "socsek.ystad",
    "elevhalsa-ostra": "kurator.ostra",
    "bvc-ystad": "sjukskoterska.bvc",
    "forskola-solen": "forskola.solen",
    "mvc-ystad": "barnmorska.mvc",  # never writes, never receives: the outsider
}
FAMILY = ("g1", "g2", "g3", "child")
VIEWERS = (*UNIT_STAFF, *FAMILY)
RECIPIENT_KINDS = (UnitKind.BUP, UnitKind.POLICE, UnitKind.PUPIL_HEALTH, UnitKind.SOCIAL_SERVICES, UnitKind.MIDWIFE_CLINIC, UnitKind.BVC)
CATEGORIES = sorted(CONSENTABLE_CATEGORIES, key=lambda c: c.value)
TEAM = ["elevhalsa-ostra", "soc-ystad", "polis-ystad", "bup-ystad"]
TIME_STEPS: dict[str, timedelta | None] = {
    "6 hours": timedelta(hours=6),
    "1 day": timedelta(days=1),
    "9 days": timedelta(days=9),
    "31 days": timedelta(days=31),
    "80 days": timedelta(days=80),
    "to the fifteenth birthday": None,
    "to the second before the birthday": None,
}


@dataclass(frozen=True)
class Fact:
    seq: int
    type: str
    categories: frozenset[Category]
    origin: str | None
    sent_to: str | None = None


@dataclass
class ModelConsent:
    unit_ids: frozenset[str]
    kinds: frozenset[UnitKind]
    categories: frozenset[Category]
    valid_from: datetime
    valid_until: datetime
    granted: set[str] = field(default_factory=set)
    declined: set[str] = field(default_factory=set)
    withdrawn: set[str] = field(default_factory=set)


class ConsentMachine(RuleBasedStateMachine):
    consents = Bundle("consents")

    # -- the model ------------------------------------------------------------------

    def record(self, type_: str, categories: set[Category], origin: str | None, sent_to: str | None = None) -> Fact:
        fact = Fact(len(self.facts), type_, frozenset(categories), origin, sent_to)
        self.facts.append(fact)
        self.last_entry_at = self.now()  # every fact here is an entry; reads are not
        return fact

    def now(self) -> datetime:
        return self.clock.now

    def child_is_fifteen(self) -> bool:
        return self.now().astimezone(SWEDEN).date() >= FIFTEENTH_BIRTHDAY

    def required(self) -> set[str]:
        return {"g1", "g2", "child"} if self.child_is_fifteen() else {"g1", "g2"}

    def in_effect(self, c: ModelConsent) -> bool:
        return (
            not c.declined
            and not c.withdrawn
            and c.valid_from <= self.now() < c.valid_until
            and self.required() <= c.granted
        )

    def basis_for(self, viewer: str, fact: Fact, category: Category) -> str | None:
        """What the model says the viewer may see of one category of one fact, and why."""
        if viewer in ("g1", "g2"):
            return None if fact.seq in self.withheld else "custody"
        if viewer == "g3":
            return None
        if viewer == "child":
            return None if fact.seq in self.withheld or not self.child_is_fifteen() else "data_subject"
        unit, kind = viewer, UNITS[viewer]
        if fact.origin == unit:
            return "own_record"
        if self.now() >= self.last_entry_at + timedelta(days=DEFAULT_DAYS[kind]):
            return None  # gallring: the unit's period after the last entry has run out (docs/retention.md)
        if category is Category.CONCERN_REPORT:
            is_recipient = fact.sent_to == unit and kind is UnitKind.SOCIAL_SERVICES
            return "statutory_concern_report" if is_recipient else None
        if category is Category.IDENTITY:
            if unit in self.concern_units and kind is UnitKind.SOCIAL_SERVICES:
                return "statutory_concern_report"
            if unit in self.sent_units:
                return "sent_to_unit"
        if fact.sent_to == unit:
            return "sent_to_unit"
        if category is Category.CONSENT:
            return None
        for c in self.model_consents.values():
            names_unit = unit in c.unit_ids or kind in c.kinds
            if names_unit and category in c.categories and self.in_effect(c):
                return "consent"
        return None

    def expected(self, viewer: str) -> Counter[tuple[str, Category, str | None, str]]:
        out: Counter[tuple[str, Category, str | None, str]] = Counter()
        for fact in self.facts:
            for category in fact.categories:
                basis = self.basis_for(viewer, fact, category)
                if basis is not None:
                    out[(fact.type, category, fact.origin, basis)] += 1
        return out

    # -- the hub --------------------------------------------------------------------

    def principal(self, viewer: str) -> Principal:
        return self.family[viewer] if viewer in FAMILY else staff(UNIT_STAFF[viewer])

    def audited(self, p: Principal, read: Any) -> tuple[Any, bool, AccessEntry]:
        """Run one read; check it added exactly one access-log entry naming the reader."""
        hub = self.rt.hub
        hub.refresh_views()
        log_before, entries_before = hub.log_length(), hub.views.access.count()
        try:
            result, allowed = read(), True
        except (NoBasisError, ChildNotFoundError):  # a unit with no part in the case hears "no such child"
            result, allowed = None, False
        assert hub.log_length() == log_before + 1
        hub.refresh_views()
        assert hub.views.access.count() == entries_before + 1
        (entry,) = hub.views.access.search(TENANT, limit=1, offset=entries_before)
        assert entry.child_id == self.child_id
        assert entry.accessor_id == p.user_id
        assert entry.accessed_at == self.now()
        return result, allowed, entry

    def checked_read(self, viewer: str) -> list[RecordItemOut]:
        p = self.principal(viewer)
        result, allowed, entry = self.audited(p, lambda: self.rt.hub.read_child(p, self.child_id, purpose="Samordning"))
        items = result.items if allowed else []
        got = Counter((i.type, i.category, i.unit_id, i.basis.value if i.basis else None) for i in items)
        expected = self.expected(viewer)
        assert got == expected, (
            f"{viewer} at {self.now().isoformat()}: "
            f"shown but not allowed {sorted(map(str, (got - expected).elements()))}; "
            f"allowed but not shown {sorted(map(str, (expected - got).elements()))}"
        )
        assert set(entry.categories) == {i.category for i in items}
        return items

    # -- setting up ---------------------------------------------------------------------

    @initialize(
        target=consents,
        unit_ids=st.sets(st.sampled_from(sorted(UNIT_STAFF)), max_size=2),
        kinds=st.sets(st.sampled_from(RECIPIENT_KINDS), max_size=2),
        categories=st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=3),
        days=st.sampled_from([None, 1, 10, 30, 90]),
        granted_by=st.sampled_from([(), ("g1",), ("g1", "g2"), ("g1", "g2")]),
    )
    def a_child_known_to_many_units(
        self,
        unit_ids: set[str],
        kinds: set[UnitKind],
        categories: set[Category],
        days: int | None,
        granted_by: tuple[str, ...],
    ) -> UUID:
        """The child, its facts from many units, and a first consent request, perhaps answered."""
        self.clock = SettableClock(START)
        self.rt = bootstrap(Settings(store="memory", demo_mode=True), clock=self.clock, directory=directory())
        self.facts: list[Fact] = []
        self.withheld: set[int] = set()
        self.sent_units: set[str] = set()
        self.concern_units: set[str] = set()
        self.model_consents: dict[UUID, ModelConsent] = {}
        hub = self.rt.hub

        self.child_id = hub.register_child(
            staff("larare.ostra"), personnummer=TEEN_PNR, given_name="Elsa", family_name="Holm",
            guardians=[
                {"name": "Anna Holm", "personnummer": GUARDIAN_1_PNR, "has_custody": True},
                {"name": "Bo Holm", "personnummer": GUARDIAN_2_PNR, "has_custody": True},
                {"name": "Carl Berg", "personnummer": NON_CUSTODIAL_PNR, "has_custody": False},
            ],
        )
        self.record("ChildRegistered", {Category.IDENTITY}, "skola-ostra")
        self.family = {
            "g1": family(self.rt, GUARDIAN_1_PNR),
            "g2": family(self.rt, GUARDIAN_2_PNR),
            "g3": family(self.rt, NON_CUSTODIAL_PNR),
            "child": family(self.rt, TEEN_PNR, "child"),
        }

        self.card_id = hub.submit_discovery_card(staff("polis.ystad"), self.child_id, **card_payload("skola-ostra")).card_id
        self.record("DiscoveryCardSubmitted", {Category.TEAM, Category.NEEDS}, "polis-ystad", "skola-ostra")
        self.sent_units.add("skola-ostra")

        hub.assign_barnkontakt(staff(BK), self.child_id, staff_id=BK)
        self.record("BarnkontaktAssigned", {Category.TEAM}, "skola-ostra")

        hub.hold_conversation(staff(BK), self.child_id, **conversation_payload("child"))
        self.record("ConversationHeld", {Category.CONVERSATIONS}, "skola-ostra")

        hub.file_concern_report(
            staff("forskola.solen"), self.child_id, to_unit_id="soc-ystad",
            unmet_needs=[{"area": "omvardad", "statements": [], "note": "Hämtas sent"}], description="Oro för omsorgen",
        )
        self.record("ConcernReportFiled", {Category.CONCERN_REPORT}, "forskola-solen", "soc-ystad")
        self.concern_units.add("soc-ystad")

        hub.record_home_visit(staff("sjukskoterska.bvc"), self.child_id, visit=1, notes="Besök hemma")
        self.record("HomeVisitRecorded", {Category.HEALTH}, "bvc-ystad")

        hub.decide_team(
            staff(BK), self.child_id, decision="barnteam", family_informed=True,
            shared_categories=["needs", "health"], member_unit_ids=TEAM, rationale="Flera verksamheter behövs",
        )
        self.record("TeamDecided", {Category.TEAM, Category.NEEDS}, "skola-ostra")

        hub.share_agency_summary(staff("bup.ystad"), self.child_id, health="Utredning pågår")
        self.record("AgencySummaryShared", {Category.HEALTH}, "bup-ystad")
        hub.share_agency_summary(staff("polis.ystad"), self.child_id, police="Orosanmälan från polisen tidigare")
        self.record("AgencySummaryShared", {Category.POLICE}, "polis-ystad")
        hub.share_agency_summary(staff("socsek.ystad"), self.child_id, social_services="Pågående insats")
        self.record("AgencySummaryShared", {Category.SOCIAL_SERVICES}, "soc-ystad")

        hub.submit_rating(
            staff("kurator.ostra"), self.child_id, scores=[{"area": "trygghet", "indicator": "trygghet-hemma", "score": 2}]
        )
        self.record("RatingSubmitted", {Category.RATINGS}, "elevhalsa-ostra")
        consent_id = self.request_consent(unit_ids, kinds, categories, days)
        for guardian in granted_by:
            self.answer(consent_id, guardian, "grant")
        return consent_id

    def teardown(self) -> None:
        rt = getattr(self, "rt", None)
        if rt is not None:
            rt.close()

    # -- consent ---------------------------------------------------------------------------

    @rule(
        target=consents,
        unit_ids=st.sets(st.sampled_from(sorted(UNIT_STAFF)), max_size=2),
        kinds=st.sets(st.sampled_from(RECIPIENT_KINDS), max_size=2),
        categories=st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=3),
        days=st.sampled_from([None, 1, 10, 30, 90]),
    )
    def request_consent(
        self, unit_ids: set[str], kinds: set[UnitKind], categories: set[Category], days: int | None
    ) -> UUID:
        if not unit_ids and not kinds:
            unit_ids = {"bup-ystad"}
        recipients = [{"unit_id": u} for u in sorted(unit_ids)] + [{"unit_kind": k.value} for k in sorted(kinds)]
        until = self.now() + timedelta(days=days) if days else None
        consent_id = self.rt.hub.request_consent(
            staff(BK), self.child_id, recipients=recipients, categories=[c.value for c in sorted(categories)],
            purpose=f"Samordnat stöd {len(self.model_consents) + 1}", valid_until=until,  # each a new request
        )
        self.model_consents[consent_id] = ModelConsent(
            frozenset(unit_ids), frozenset(kinds), frozenset(categories), self.now(),
            until or self.now() + timedelta(days=365),
        )
        self.record("ConsentRequested", {Category.CONSENT}, "skola-ostra")
        return consent_id

    def answer(self, consent_id: UUID, who: str, verb: str) -> None:
        c = self.model_consents[consent_id]
        is_party = who in self.required()
        open_ = not c.declined and not c.withdrawn and c.valid_from <= self.now() < c.valid_until
        if verb in ("grant", "decline"):  # a party who granted withdraws instead
            ok = is_party and open_ and who not in c.granted
        else:
            ok = is_party and not c.withdrawn
        hub = self.rt.hub
        command = {"grant": hub.grant_consent, "decline": hub.decline_consent, "withdraw": hub.withdraw_consent}[verb]
        before = hub.log_length()
        if not ok:
            try:
                command(self.family[who], self.child_id, consent_id)
            except (ConsentError, ChildNotFoundError):  # no party, no basis: told there is no such child
                assert hub.log_length() == before
                return
            raise AssertionError(f"{who} could {verb} a consent the model says they may not answer")
        command(self.family[who], self.child_id, consent_id)
        {"grant": c.granted, "decline": c.declined, "withdraw": c.withdrawn}[verb].add(who)
        self.record({"grant": "ConsentGranted", "decline": "ConsentDeclined", "withdraw": "ConsentWithdrawn"}[verb],
                    {Category.CONSENT}, None)

    @rule(consent_id=consents, who=st.sampled_from(FAMILY), verb=st.sampled_from(["grant", "decline", "withdraw"]))
    def a_family_member_answers(self, consent_id: UUID, who: str, verb: str) -> None:
        self.answer(consent_id, who, verb)

    @rule(consent_id=consents, then_withdraws=st.sampled_from([None, "g1", "g2", "child"]))
    def both_guardians_grant(self, consent_id: UUID, then_withdraws: str | None) -> None:
        self.answer(consent_id, "g1", "grant")
        self.answer(consent_id, "g2", "grant")
        if then_withdraws is not None:
            self.every_viewer_sees_exactly_what_the_model_allows()
            self.answer(consent_id, then_withdraws, "withdraw")

    # -- time ---------------------------------------------------------------------------------

    @rule(step=st.sampled_from(list(TIME_STEPS)))
    def time_passes(self, step: str) -> None:
        delta = TIME_STEPS[step]
        if delta is not None:
            self.clock.advance(delta)
            return
        midnight = datetime.combine(FIFTEENTH_BIRTHDAY, datetime.min.time(), tzinfo=SWEDEN).astimezone(UTC)
        moment = midnight - (timedelta(seconds=1) if step == "to the second before the birthday" else timedelta())
        if moment > self.now():
            self.clock.set(moment)

    @rule(consent_id=consents, just_before=st.booleans())
    def time_reaches_a_consents_end(self, consent_id: UUID, just_before: bool) -> None:
        end = self.model_consents[consent_id].valid_until - (timedelta(microseconds=1) if just_before else timedelta())
        if end > self.now():
            self.clock.set(end)

    # -- more facts ---------------------------------------------------------------------------

    @rule(which=st.sampled_from(["conversation", "police", "social", "social, withheld", "rating", "feedback", "card"]))
    def a_unit_records_more(self, which: str) -> None:
        hub, cid = self.rt.hub, self.child_id
        if which == "conversation":
            hub.hold_conversation(staff(BK), cid, **conversation_payload("guardian"))
            self.record("ConversationHeld", {Category.CONVERSATIONS}, "skola-ostra")
        elif which == "police":
            hub.share_agency_summary(staff("polis.ystad"), cid, police="Ny händelse")
            self.record("AgencySummaryShared", {Category.POLICE}, "polis-ystad")
        elif which == "social":
            hub.share_agency_summary(staff("socsek.ystad"), cid, social_services="Uppföljning")
            self.record("AgencySummaryShared", {Category.SOCIAL_SERVICES}, "soc-ystad")
        elif which == "social, withheld":
            hub.share_agency_summary(
                staff("socsek.ystad"), cid, social_services="Skyddsbedömning", withheld_from_guardians=True
            )
            self.withheld.add(self.record("AgencySummaryShared", {Category.SOCIAL_SERVICES}, "soc-ystad").seq)
        elif which == "rating":
            hub.submit_rating(staff("bup.ystad"), cid, scores=[{"area": "halsa", "indicator": "halsa-vard", "score": 3}])
            self.record("RatingSubmitted", {Category.RATINGS}, "bup-ystad")
        elif which == "feedback":
            hub.send_feedback(staff(BK), cid, card_id=self.card_id, message="Vi har haft barnsamtal")
            self.record("FeedbackSent", {Category.TEAM}, "skola-ostra", "polis-ystad")
            self.sent_units.add("polis-ystad")
        else:
            hub.submit_discovery_card(staff("forskola.solen"), cid, **card_payload("skola-ostra"))
            self.record("DiscoveryCardSubmitted", {Category.TEAM, Category.NEEDS}, "forskola-solen", "skola-ostra")

    @rule()
    def social_services_withholds_its_summaries_from_the_guardians(self) -> None:
        items = self.checked_read("soc-ystad")
        ids = sorted({i.event_id for i in items if i.type == "AgencySummaryShared" and i.unit_id == "soc-ystad"})
        self.rt.hub.withhold_information(staff("socsek.ystad"), self.child_id, event_ids=ids, reason="Skada för barnet")
        self.withheld.update(f.seq for f in self.facts if f.type == "AgencySummaryShared" and f.origin == "soc-ystad")
        fact = self.record("InformationWithheld", {Category.SOCIAL_SERVICES}, "soc-ystad")
        self.withheld.add(fact.seq)

    # -- reads ---------------------------------------------------------------------------------

    @rule(viewer=st.sampled_from(VIEWERS))
    def read_the_timeline(self, viewer: str) -> None:
        p = self.principal(viewer)
        result, allowed, entry = self.audited(p, lambda: self.rt.hub.timeline(p, self.child_id, purpose="Samordning"))
        got = Counter((s.type, s.unit_id, frozenset(c.value for c in s.categories)) for s in (result.steps if allowed else []))
        expected: Counter[tuple[str, str | None, frozenset[str]]] = Counter()
        for fact in self.facts:
            shown = frozenset(c.value for c in fact.categories if self.basis_for(viewer, fact, c) is not None)
            if shown:
                expected[(fact.type, fact.origin, shown)] += 1
        assert got == expected, f"timeline of {viewer} at {self.now().isoformat()}"

    @invariant()
    def every_viewer_sees_exactly_what_the_model_allows(self) -> None:
        for viewer in VIEWERS:
            self.checked_read(viewer)


ConsentMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestConsentAtRandom = ConsentMachine.TestCase
