"""What a unit's subscription does to what the relay sends it: the types and categories it
chose narrow what consent allows, never widen it; notices come whatever it chose, and at
once even to a unit that takes a daily digest."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.deliveries import (
    ERASURE_TYPE,
    REVOCATION_TYPE,
    Delivery,
    LogEntry,
    UnitRecipient,
    plan_deliveries,
    split_by_cadence,
)
from adapters.digests import HeldItem, digest_messages, digest_msg_id, digest_slot, stored_part
from consent import ChildFacts, PolicyRules
from contracts.directory import Cadence, Subscription
from contracts.events import Actor, RecordErased
from contracts.vocabulary import Category, Role, UnitKind
from hub.runtime.bootstrap import Runtime
from hub.runtime.relay import facts_reader, log_reader
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, TENANT, card_payload, conversation_payload, staff

BK = "rektor.ostra"
OWN = "skola-ostra"
SHARED = "elevhalsa-ostra"


def child_with_team_decision(rt: Runtime) -> UUID:
    """A child with a conversation and a team decision; the pupil health unit may see the
    needs part under a consent, the school sees all of it as the case owner's unit."""
    hub = rt.hub
    child = register_child(rt)
    assert isinstance(child, UUID)
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload(OWN))
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    consent = hub.request_consent(staff(BK), child, recipients=[{"unit_id": SHARED}], categories=["needs"], purpose="Samordning")
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child, consent)
    hub.decide_team(staff(BK), child, decision="own_support", family_informed=True, rationale="Behov av stöd")
    return child


def planned(rt: Runtime, child: UUID, units: list[UnitRecipient]) -> list[Delivery]:
    facts = facts_reader(rt.hub)(TENANT, child, None)
    assert facts is not None
    out: list[Delivery] = []
    for entry in log_reader(rt.hub)(0, 1000):
        out.extend(plan_deliveries(entry, units, facts, rt.hub.now(), rt.hub.rules))
    return out


def team(deliveries: list[Delivery], unit: str) -> dict[str, Any] | None:
    found = [d.body for d in deliveries if d.unit_id == unit and d.type_name.endswith("TeamDecided")]
    return found[0] if found else None


CASES: list[tuple[str, Subscription, set[str] | None, set[str]]] = [
    # (what the unit chose, the subscription, the team decision's categories it gets (None: not sent), the types it gets)
    ("everything", Subscription(), {"needs", "team"}, {"DiscoveryCardSubmitted", "ConversationHeld", "TeamDecided"}),
    ("team decisions only", Subscription(event_types=("TeamDecided",)), {"needs", "team"}, {"TeamDecided"}),
    ("needs only", Subscription(categories=(Category.NEEDS,)), {"needs"}, {"TeamDecided", "DiscoveryCardSubmitted"}),
    ("a category the decision does not carry", Subscription(event_types=("TeamDecided",), categories=(Category.HEALTH,)), None, set()),
]


@pytest.mark.parametrize(("chose", "subscription", "categories", "types"), CASES, ids=[c[0] for c in CASES])
def test_the_case_owners_unit_gets_only_the_types_and_categories_it_chose(
    memory_runtime: Runtime, chose: str, subscription: Subscription, categories: set[str] | None, types: set[str]
) -> None:
    child = child_with_team_decision(memory_runtime)

    deliveries = planned(memory_runtime, child, [UnitRecipient(TENANT, OWN, UnitKind.SCHOOL, subscription)])

    body = team(deliveries, OWN)
    if categories is None:
        assert body is None
    else:
        assert body is not None and {a["category"] for a in body["access"]} == categories
        assert ("decision" in body["event"]) is ("team" in categories)
        assert body["event"]["rationale"] == "Behov av stöd"
    got = {d.type_name.rsplit(".", 1)[-1] for d in deliveries}
    assert types <= got and got <= types | {"ChildRegistered", "BarnkontaktAssigned", "ConsentRequested", "ConsentGranted"}
    for d in deliveries:
        assert subscription.wants_type(d.type_name.rsplit(".", 1)[-1])


def test_choices_never_widen_what_consent_allows(memory_runtime: Runtime) -> None:
    child = child_with_team_decision(memory_runtime)
    everything = Subscription(categories=tuple(Category))

    deliveries = planned(memory_runtime, child, [UnitRecipient(TENANT, SHARED, UnitKind.PUPIL_HEALTH, everything)])

    body = team(deliveries, SHARED)
    assert body is not None and [a["category"] for a in body["access"]] == ["needs"]
    assert "decision" not in body["event"]
    assert not [d for d in deliveries if d.type_name.endswith("ConversationHeld")], "the conversation is not consented"


def test_a_withdrawal_notice_comes_to_a_unit_that_chose_no_consent_facts(memory_runtime: Runtime) -> None:
    hub = memory_runtime.hub
    child = child_with_team_decision(memory_runtime)
    facts = facts_reader(hub)(TENANT, child, None)
    assert facts is not None
    consent = facts.consents[0].consent_id
    hub.withdraw_consent(family(memory_runtime, GUARDIAN_1_PNR), child, consent)
    withdrawal = log_reader(hub)(hub.log_length() - 1, 1)[0]
    facts_for = facts_reader(hub)
    narrow = Subscription(event_types=("TeamDecided",), cadence=Cadence.DAILY)
    unit = UnitRecipient(TENANT, SHARED, UnitKind.PUPIL_HEALTH, narrow)

    deliveries = plan_deliveries(
        withdrawal, [unit], facts_for(TENANT, child, None), hub.now(), hub.rules,
        facts_before=facts_for(TENANT, child, withdrawal.version - 1),
    )

    assert [d.type_name for d in deliveries] == [REVOCATION_TYPE]
    now, held = split_by_cadence(deliveries, [unit])
    assert [d.type_name for d in now] == [REVOCATION_TYPE] and held == []


def test_an_erasure_notice_comes_at_once_whatever_the_unit_chose() -> None:
    child = UUID("5b0c1d9e-6f3a-4c2b-8e71-0a9d4f6b2c13")
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    fact = RecordErased(
        event_id=UUID(int=7), tenant_id=TENANT, child_id=child, occurred_at=at,
        actor=Actor(user_id="admin.ystad", role=Role.TENANT_ADMIN), reason="Fel",
    )
    unit = UnitRecipient(
        TENANT, OWN, UnitKind.SCHOOL,
        Subscription(event_types=("TeamDecided",), categories=(Category.NEEDS,), cadence=Cadence.DAILY),
    )
    notices = plan_deliveries(
        LogEntry(1, 1, fact), [unit], ChildFacts(TENANT, child, date(2015, 7, 12), erased=True), at, PolicyRules()
    )

    now, held = split_by_cadence(notices, [unit])
    assert [d.type_name for d in now] == [ERASURE_TYPE] and held == []


def test_a_daily_units_facts_are_held_and_an_immediate_units_are_not(memory_runtime: Runtime) -> None:
    child = child_with_team_decision(memory_runtime)
    daily = UnitRecipient(TENANT, OWN, UnitKind.SCHOOL, Subscription(cadence=Cadence.DAILY))
    at_once = UnitRecipient(TENANT, SHARED, UnitKind.PUPIL_HEALTH)

    now, held = split_by_cadence(planned(memory_runtime, child, [daily, at_once]), [daily, at_once])

    assert held and {d.unit_id for d in held} == {OWN}
    assert now and {d.unit_id for d in now} == {SHARED}


SLOTS = [
    # (held at, UTC; the digest hour; the digest's Swedish day; due at, UTC)
    (datetime(2026, 12, 5, 9, 0, tzinfo=UTC), 7, date(2026, 12, 6), datetime(2026, 12, 6, 6, 0, tzinfo=UTC)),
    (datetime(2026, 12, 5, 5, 59, tzinfo=UTC), 7, date(2026, 12, 5), datetime(2026, 12, 5, 6, 0, tzinfo=UTC)),
    (datetime(2026, 12, 5, 6, 0, tzinfo=UTC), 7, date(2026, 12, 6), datetime(2026, 12, 6, 6, 0, tzinfo=UTC)),
    (datetime(2026, 12, 5, 23, 30, tzinfo=UTC), 0, date(2026, 12, 7), datetime(2026, 12, 6, 23, 0, tzinfo=UTC)),
    (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), 7, date(2026, 7, 2), datetime(2026, 7, 2, 5, 0, tzinfo=UTC)),  # summer time
]


@pytest.mark.parametrize(("held_at", "hour", "day", "due"), SLOTS)
def test_an_item_goes_out_in_the_first_digest_at_the_units_hour_swedish_time_after_it_was_held(
    held_at: datetime, hour: int, day: date, due: datetime
) -> None:
    assert digest_slot(held_at, hour) == (day, due)


def test_a_digests_message_id_is_the_same_for_every_send_of_a_units_day() -> None:
    assert digest_msg_id("ystad", OWN, date(2026, 12, 6)) == digest_msg_id("ystad", OWN, date(2026, 12, 6))
    assert digest_msg_id("ystad", OWN, date(2026, 12, 6)) != digest_msg_id("ystad", OWN, date(2026, 12, 7))
    assert digest_msg_id("ystad", OWN, date(2026, 12, 6)) != digest_msg_id("ystad", SHARED, date(2026, 12, 6))



def test_the_relays_units_follow_the_directory_and_a_missing_key_is_looked_for_again_only_so_often(tmp_path: Path) -> None:
    from dataclasses import replace
    from datetime import timedelta

    from adapters.sealed_box import generate_key_pair
    from hub.runtime.clock import SettableClock
    from hub.runtime.relay import DirectoryRecipients
    from tests.factories import START, directory

    area = directory()
    clock = SettableClock(START)
    keys = tmp_path / "keys"
    keys.mkdir()
    generate_key_pair(SHARED, keys)
    source = DirectoryRecipients(area, keys, clock, key_lookup=timedelta(minutes=5))

    units, found = source.current()
    assert (TENANT, SHARED) in found and (TENANT, OWN) not in found
    assert source.current() == (units, found) and source.current()[0] is units, "nothing changed: nothing rebuilt"

    tenant = area.tenants[TENANT]
    tenant.units[SHARED] = replace(tenant.units[SHARED], subscription=Subscription(cadence=Cadence.DAILY))
    changed, _ = source.current()
    assert next(u for u in changed if u.unit_id == SHARED).subscription.cadence is Cadence.DAILY

    generate_key_pair(OWN, keys)  # the unit's key arrives while the relay runs
    assert (TENANT, OWN) not in source.current()[1], "not looked for again at once"
    clock.advance(timedelta(minutes=5))
    assert (TENANT, OWN) in source.current()[1]


def held_item(n: int, size: int = 100) -> HeldItem:
    event = json.dumps({"id": f"e{n}:{OWN}", "data": {"ciphertext": "x" * size}}).encode()
    due = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
    return HeldItem(f"e{n}:{OWN}", TENANT, OWN, None, date(2026, 12, 6), due, n, 0, f"backa.v1.{TENANT}.{OWN}.TeamDecided", event)


def test_a_digest_lists_its_items_in_log_order_in_one_message_and_a_large_one_goes_in_ordered_parts() -> None:
    day, due = date(2026, 12, 6), datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
    items = [held_item(n) for n in (3, 1, 2)]

    (one,) = digest_messages(TENANT, OWN, day, due, items)
    data = json.loads(one.payload)["data"]
    assert one.msg_id == digest_msg_id(TENANT, OWN, day) and one.subject == f"backa.v1.{TENANT}.{OWN}.Digest"
    assert [i["event"]["id"] for i in data["items"]] == [f"e{n}:{OWN}" for n in (1, 2, 3)]
    assert (data["part"], data["parts"]) == (1, 1)

    parts = digest_messages(TENANT, OWN, day, due, [held_item(n, 400) for n in range(1, 6)], max_bytes=1000)
    assert [p.msg_id for p in parts] == [digest_msg_id(TENANT, OWN, day)] + [f"{digest_msg_id(TENANT, OWN, day)}:{n}" for n in range(2, len(parts) + 1)]
    listed = [i["event"]["id"] for p in parts for i in json.loads(p.payload)["data"]["items"]]
    assert listed == [f"e{n}:{OWN}" for n in range(1, 6)], "nothing lost or repeated across the parts"
    assert {json.loads(p.payload)["data"]["parts"] for p in parts} == {len(parts)} and len(parts) > 1
    # a relay started again knows from the last message on the subject which parts the stream holds
    assert stored_part(parts[1].msg_id, TENANT, OWN, day) == 2
    assert stored_part(parts[0].msg_id, TENANT, OWN, day) == 1
    assert stored_part(digest_msg_id(TENANT, OWN, date(2026, 12, 5)), TENANT, OWN, day) == 0
    assert stored_part(None, TENANT, OWN, day) == 0
