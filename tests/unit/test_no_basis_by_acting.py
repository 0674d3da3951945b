"""No unit gives itself a basis by acting: whatever another unit does, it never sees what the
unit holding a child's case has recorded, without consent or the law (issue 10).

A child's case is held at unit Y: registered there, a discovery card to Y, Y's Barnkontakt
assigned, a conversation, an individual team decided and a plan written by Y. Then staff of
another unit X send any sequence of the hub's commands, with any arguments X could choose:
registering the child again, cards to any unit, taking or handing over the Barnkontakt role,
asking for consent, answering it, concern reports, withholding, erasing, reviewing. After
each command ``consent.decide`` must allow X nothing of what Y recorded, except the child's
identity on the statutory basis (SoL 14 kap. 1 §) when X is a social-services unit that
received a concern report about the child. Refusals are expected; any error other than the
hub's own refusals fails the test, as it would answer 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from consent import Viewer, ViewerKind, decide
from contracts.vocabulary import (
    CONSENTABLE_CATEGORIES,
    AgeGroup,
    Area,
    Category,
    ConversationWith,
    Decision,
    LegalBasis,
    UnitKind,
)
from hub.errors import HubError
from hub.identity.principals import Principal
from hub.runtime.bootstrap import Runtime, bootstrap
from hub.runtime.clock import SettableClock
from hub.runtime.settings import Settings
from tests.factories import (
    CHILD_PNR,
    GUARDIAN_1_PNR,
    NON_CUSTODIAL_PNR,
    RATED_AT_TEN,
    STAFF,
    START,
    TENANT,
    UNITS,
    card_payload,
    conversation_payload,
    directory,
    plan_payload,
    registration_payload,
    staff,
)

HOLDERS = {"skola-ostra": ("larare.ostra", "rektor.ostra"), "bvc-ystad": ("sjukskoterska.bvc", "sjukskoterska.bvc")}
"""A unit Y that can hold a case: who registers and sends the card there, and its Barnkontakt."""
STAFF_IDS = sorted(STAFF)
UNIT_IDS = sorted(UNITS)
OTHER_AREA_UNIT = "skola-lidingo"
ANOTHER_CHILD_PNR = "201103202386"
CATEGORIES = sorted(CONSENTABLE_CATEGORIES, key=lambda c: c.value)
TEXT = st.sampled_from(["Oro", "Samtal", "Vi tar över ärendet", ""])


def staff_at(unit: str) -> list[str]:
    return [s for s, (u, _) in STAFF.items() if u == unit]


@dataclass
class World:
    """What X can know or guess: the child's id, the ids it was shown, and ids made up."""

    rt: Runtime
    child: UUID
    y: str
    x: str
    card_ids: list[str] = field(default_factory=list)
    consent_ids: list[UUID] = field(default_factory=list)
    event_ids: list[UUID] = field(default_factory=list)


def hold_case_at(rt: Runtime, y: str, team_extra: list[str]) -> UUID:
    discoverer, barnkontakt = HOLDERS[y]
    hub, bk = rt.hub, staff(barnkontakt)
    child = hub.register_child(staff(discoverer), **registration_payload())
    hub.submit_discovery_card(staff(discoverer), child, **card_payload(y))
    hub.assign_barnkontakt(bk, child, staff_id=barnkontakt)
    hub.hold_conversation(bk, child, **conversation_payload())
    hub.decide_team(bk, child, decision="individual_team", family_informed=True, member_unit_ids=[y, *team_extra])
    hub.update_plan(bk, child, **plan_payload(START.date()))
    return child


# -- every command, with the arguments X may choose -------------------------------------------------

Command = Callable[[World, Principal], Any]


def units_including(x: str) -> st.SearchStrategy[str]:
    """Any unit, with X's own (the one an attacker names) drawn often."""
    return st.one_of(st.just(x), st.sampled_from([*UNIT_IDS, OTHER_AREA_UNIT]))


def staff_including(x: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(staff_at(x)), st.sampled_from(STAFF_IDS))


def commands(w: World) -> st.SearchStrategy[tuple[str, Command]]:
    hub, child, x = w.rt.hub, w.child, w.x
    some_units = st.lists(units_including(x), min_size=1, max_size=3, unique=True)
    recipient = st.one_of(
        units_including(x).map(lambda u: {"unit_id": u}), st.sampled_from(list(UnitKind)).map(lambda k: {"unit_kind": k.value})
    )
    consent_ids = st.one_of(st.sampled_from(w.consent_ids), st.just(uuid4())) if w.consent_ids else st.just(uuid4())
    card_ids = st.sampled_from(w.card_ids) if w.card_ids else st.just("card-okant")
    event_ids = st.lists(st.sampled_from(w.event_ids), min_size=1, max_size=3, unique=True) if w.event_ids else st.just([uuid4()])
    guardians = st.lists(
        st.sampled_from([GUARDIAN_1_PNR, NON_CUSTODIAL_PNR]).map(lambda n: {"name": "Eva Ek", "personnummer": n, "has_custody": True}),
        max_size=2,
    )
    scores = st.lists(
        st.builds(lambda a, s: {"area": a.value, "indicator": RATED_AT_TEN[a.value], "score": s}, st.sampled_from(list(Area)), st.integers(1, 5)),
        min_size=1, max_size=3, unique_by=lambda s: s["area"],
    )

    def called(name: str, **fixed: Any) -> Callable[..., tuple[str, Command]]:
        def command(**kwargs: Any) -> tuple[str, Command]:
            return name, lambda w, p: getattr(hub, name)(p, **fixed, **kwargs)

        return command

    def on_child(name: str, *args: Any) -> Callable[..., tuple[str, Command]]:
        def command(**kwargs: Any) -> tuple[str, Command]:
            return name, lambda w, p: getattr(hub, name)(p, child, *args, **kwargs)

        return command

    def answer(name: str) -> st.SearchStrategy[tuple[str, Command]]:
        return consent_ids.map(lambda c: (name, lambda w, p: getattr(hub, name)(p, child, c)))

    return st.one_of(
        st.builds(
            called("register_child"), personnummer=st.sampled_from([CHILD_PNR, ANOTHER_CHILD_PNR]),
            given_name=st.sampled_from(["Alva", "Okänd"]), family_name=st.just("Lind"), guardians=guardians,
        ),
        st.builds(
            on_child("submit_discovery_card"), to_unit_id=units_including(x), unmet_needs=st.just(card_payload()["unmet_needs"]),
            five_questions=st.just(card_payload()["five_questions"]), own_support_taken=TEXT, guardians_informed=st.booleans(),
        ),
        st.builds(on_child("assign_barnkontakt"), staff_id=staff_including(x)),
        st.builds(on_child("delegate_barnkontakt"), staff_id=staff_including(x), reason=TEXT),
        st.builds(on_child("send_feedback"), card_id=card_ids, message=st.just("Återkoppling")),
        st.builds(
            on_child("hold_conversation"), with_whom=st.sampled_from([c.value for c in ConversationWith]),
            age_group=st.sampled_from([a.value for a in AgeGroup]), views=st.just(conversation_payload()["views"]),
            digital_survey=st.booleans(), summary=TEXT,
        ),
        st.builds(
            on_child("request_consent"), recipients=st.lists(recipient, min_size=1, max_size=3),
            categories=st.lists(st.sampled_from([c.value for c in CATEGORIES]), min_size=1, max_size=4, unique=True),
            purpose=st.just("Vi vill läsa"),
        ),
        answer("grant_consent"),
        answer("decline_consent"),
        answer("withdraw_consent"),
        st.builds(
            on_child("decide_team"), decision=st.sampled_from([d.value for d in Decision]), family_informed=st.booleans(),
            shared_categories=st.lists(st.sampled_from([c.value for c in CATEGORIES]), max_size=3, unique=True),
            member_unit_ids=some_units, rationale=TEXT,
        ),
        st.builds(on_child("submit_rating"), scores=scores),
        st.builds(on_child("hold_team_meeting"), participant_unit_ids=some_units, advice=TEXT),
        st.builds(on_child("assign_support_coordinator"), staff_id=staff_including(x)),
        st.just(("update_plan", lambda w, p: hub.update_plan(p, child, **plan_payload(START.date())))),
        st.builds(on_child("complete_plan_action"), action_id=st.sampled_from(["a1", "a2", "a3", "a9"]), note=TEXT),
        st.builds(on_child("hold_follow_up"), summary=TEXT, compass=st.just([{"area": "trygghet", "score": 3.0}])),
        st.builds(on_child("record_needs_met"), follow_up_compass=st.just([{"area": "trygghet", "score": 5.0}]), summary=TEXT),
        st.builds(
            on_child("file_concern_report"), to_unit_id=st.one_of(st.just("soc-ystad"), units_including(x)),
            unmet_needs=st.just(card_payload()["unmet_needs"]), description=st.just("Oro för barnet"), acute=st.booleans(),
            withheld_from_guardians=st.booleans(),
        ),
        st.builds(on_child("record_home_visit"), visit=st.integers(1, 6), notes=TEXT),
        st.builds(
            on_child("share_agency_summary"), health=st.sampled_from(["", "Hälsa"]), police=st.sampled_from(["", "Polis"]),
            social_services=st.sampled_from(["", "Soc"]), withheld_from_guardians=st.booleans(),
        ),
        st.builds(on_child("withhold_information"), event_ids=event_ids, reason=st.just("Sekretess")),
        st.builds(on_child("erase_child"), reason=st.just("Radera")),
        st.builds(on_child("record_review"), access_event_ids=st.just([uuid4()]), outcome=st.just("justified")),
    )


# -- what X may see of Y's record -------------------------------------------------------------------


def remember(w: World, result: Any) -> None:
    """Ids a command answered with: X may use them in later commands."""
    if isinstance(result, UUID) and result != w.child:
        w.consent_ids.append(result)
    elif isinstance(result, str) and result.startswith("card-"):
        w.card_ids.append(result)


def bases_on_ys_record(w: World) -> list[tuple[str, Category, LegalBasis | None]]:
    """Each piece Y recorded that ``consent.decide`` lets X see now, beyond the statutory exception."""
    hub = w.rt.hub
    hub.refresh_views()
    facts = hub.child_facts(staff(HOLDERS[w.y][1]), w.child)
    viewer = Viewer(ViewerKind.STAFF, TENANT, staff_at(w.x)[0], frozenset(STAFF[staff_at(w.x)[0]][1]), w.x, UNITS[w.x])
    found = []
    items = hub.views.record.items(w.child)
    w.event_ids = sorted({i.event_id for i in items}, key=str)
    for item in items:
        if item.origin_unit_id != w.y:
            continue
        d = decide(viewer, facts, item.information(), hub.now(), hub.rules)
        statutory = (
            item.category is Category.IDENTITY
            and d.basis is LegalBasis.STATUTORY_CONCERN_REPORT
            and UNITS[w.x] is UnitKind.SOCIAL_SERVICES
            and w.x in facts.concern_report_units
        )
        if d.allowed and not statutory:
            found.append((item.event_type.rsplit(".", 1)[-1], item.category, d.basis))
    return found


OUTSIDERS = sorted({u for u in UNITS if staff_at(u)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), y=st.sampled_from(sorted(HOLDERS)))
def test_no_sequence_of_commands_by_another_unit_gives_it_a_basis_on_the_case_holders_record(data: st.DataObject, y: str) -> None:
    x = data.draw(st.sampled_from([u for u in OUTSIDERS if u != y]), label="X")
    team_extra = data.draw(st.lists(st.sampled_from([x, "elevhalsa-ostra", "soc-ystad"]), max_size=2, unique=True), label="team")
    clock = SettableClock(START)
    rt = bootstrap(Settings(store="memory", demo_mode=True), clock=clock, directory=directory())
    try:
        w = World(rt, hold_case_at(rt, y, team_extra), y, x)
        assert bases_on_ys_record(w) == [], "X sees Y's record before acting"
        for step in range(data.draw(st.integers(1, 10), label="steps")):
            who = data.draw(st.sampled_from(staff_at(x)), label="as")
            name, command = data.draw(commands(w), label=f"step {step}")
            clock.advance(timedelta(minutes=1))
            try:
                remember(w, command(w, staff(who)))
            except HubError as refused:
                event(f"{name}: {type(refused).__name__}")
            else:
                event(f"{name}: taken")
            assert bases_on_ys_record(w) == [], f"after {name} by {who} at {x}"
    finally:
        rt.close()
