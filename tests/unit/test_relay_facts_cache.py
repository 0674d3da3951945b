"""The relay's children's facts in memory: brought forward with the facts it reads, they
must decide exactly as the child's record read from the store would."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.deliveries import REVOCATION_TYPE, Delivery, LogEntry
from adapters.jetstream_relay import JetStreamRelay
from consent import ConsentStatus, consent_status
from hub.runtime.bootstrap import Runtime
from hub.runtime.relay import ChildFactsCache, RelayConfigError, build_relay, facts_reader, log_reader
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, UNITS, card_payload, conversation_payload, staff
from tests.nats_server import generate_unit_keys

BK = "rektor.ostra"
SHARED_WITH = "elevhalsa-ostra"


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    return generate_unit_keys(tmp_path / "keys", UNITS)


@pytest.fixture
def relay_for(memory_runtime: Runtime, keys: Path, tmp_path: Path) -> Iterator[Any]:
    made: list[JetStreamRelay] = []

    def make(**options: Any) -> JetStreamRelay:
        relay = build_relay(
            memory_runtime, nats_url="nats://127.0.0.1:1", keys_dir=keys,
            position_path=tmp_path / f"position-{len(made)}.sqlite", **options,
        )
        made.append(relay)
        return relay

    yield make
    for relay in made:
        relay.positions.close()  # type: ignore[attr-defined]


def child_with_consent(rt: Runtime) -> tuple[UUID, UUID]:
    """A child whose guardians let pupil health see its conversations."""
    hub = rt.hub
    child = register_child(rt)
    assert isinstance(child, UUID)
    hub.submit_discovery_card(staff("polis.ystad"), child, **card_payload("skola-ostra"))
    hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    consent = hub.request_consent(
        staff(BK), child, recipients=[{"unit_id": SHARED_WITH}], categories=["conversations"], purpose="Samordning"
    )
    hub.grant_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    hub.grant_consent(family(rt, GUARDIAN_2_PNR), child, consent)
    return child, consent


def new_entries(rt: Runtime, after: int) -> list[LogEntry]:
    return list(log_reader(rt.hub)(after, 100_000))


def conversations_to(deliveries: list[Delivery], unit: str) -> list[Delivery]:
    return [d for d in deliveries if d.unit_id == unit and d.type_name.endswith("ConversationHeld")]


def test_after_a_withdrawal_the_relay_decides_with_the_withdrawn_consent_and_notifies_from_the_state_before(
    memory_runtime: Runtime, relay_for: Any
) -> None:
    rt, hub = memory_runtime, memory_runtime.hub
    child, consent = child_with_consent(rt)
    relay = relay_for()
    cache = relay.facts
    assert isinstance(cache, ChildFactsCache)

    hub.hold_conversation(staff(BK), child, **conversation_payload())
    first = new_entries(rt, 0)
    shared = conversations_to(relay.plan(first, complete=True), SHARED_WITH)
    assert len(shared) == 1  # under the consent
    assert cache.loads == 1

    hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    hub.hold_conversation(staff(BK), child, **conversation_payload("guardian"))
    second = new_entries(rt, first[-1].position)
    deliveries = relay.plan(second, complete=True)

    assert cache.loads == 1, "the child was brought forward in memory, not read again"
    assert not conversations_to(deliveries, SHARED_WITH)
    assert conversations_to(deliveries, "skola-ostra")  # the school's own record still goes to it
    notices = [d for d in deliveries if d.type_name == REVOCATION_TYPE]
    assert [(d.unit_id, d.body["categories"], d.body["consent_id"]) for d in notices] == [
        (SHARED_WITH, ["conversations"], str(consent))
    ]
    withdrawal = next(e for e in second if e.fact is not None and e.fact.type_name.endswith("ConsentWithdrawn"))
    before = cache.facts_for("ystad", child, withdrawal.version - 1)
    now = cache.facts_for("ystad", child, None)
    assert before is not None and now is not None
    at = hub.now()
    assert consent_status(next(c for c in before.consents if c.consent_id == consent), before, at, hub.rules) is ConsentStatus.IN_EFFECT
    assert consent_status(next(c for c in now.consents if c.consent_id == consent), now, at, hub.rules) is ConsentStatus.WITHDRAWN
    assert cache.loads == 1
    assert now == facts_reader(hub)("ystad", child, None)


def test_an_evicted_child_is_read_again_and_decides_as_the_store_does(memory_runtime: Runtime, relay_for: Any) -> None:
    rt, hub = memory_runtime, memory_runtime.hub
    first, first_consent = child_with_consent(rt)
    second = hub.register_child(
        staff("larare.ostra"), personnummer="201602152389", given_name="Elis", family_name="Berg",
        guardians=[{"name": "Cia Berg", "personnummer": "198501012382", "has_custody": True}],
    )
    assert isinstance(second, UUID)
    cached = relay_for(cached_children=1)
    cache = cached.facts
    assert isinstance(cache, ChildFactsCache)

    position = 0
    planned: list[Delivery] = []
    for step in range(3):
        hub.hold_conversation(staff(BK), first, **conversation_payload())
        hub.submit_discovery_card(staff("polis.ystad"), second, **card_payload("skola-ostra"))
        if step == 1:
            hub.withdraw_consent(family(rt, GUARDIAN_2_PNR), first, first_consent)
        entries = new_entries(rt, position)
        planned += cached.plan(entries, complete=True)
        position = entries[-1].position
        assert len(cache) == 1

    # each batch touched both children: each was evicted by the other and read again
    assert cache.loads >= 4
    every = new_entries(rt, 0)
    from_store = relay_for(facts_for=facts_reader(hub)).plan(every)
    assert sorted((d.msg_id, str(d.body)) for d in planned if d.unit_id != SHARED_WITH) == sorted(
        (d.msg_id, str(d.body)) for d in from_store if d.unit_id != SHARED_WITH
    )
    assert len(conversations_to(planned, SHARED_WITH)) == 1  # step 0's; step 1's batch ends withdrawn
    assert Counter(d.type_name for d in planned if d.unit_id == SHARED_WITH)[REVOCATION_TYPE] == 1


def test_a_batch_that_skips_versions_of_a_child_reads_the_child_again(memory_runtime: Runtime, relay_for: Any) -> None:
    rt, hub = memory_runtime, memory_runtime.hub
    child, consent = child_with_consent(rt)
    relay = relay_for()
    cache = relay.facts
    assert isinstance(cache, ChildFactsCache)
    relay.plan(new_entries(rt, 0), complete=True)
    mark = hub.log_length()

    hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), child, consent)  # not given to the cache
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    after_gap = [e for e in new_entries(rt, mark) if e.fact is not None and e.fact.type_name.endswith("ConversationHeld")]
    deliveries = relay.plan(after_gap, complete=True)

    assert cache.loads == 2
    assert not conversations_to(deliveries, SHARED_WITH)
    assert cache.facts_for("ystad", child, None) == facts_reader(hub)("ystad", child, None)


def test_a_batch_that_did_not_reach_the_end_of_the_log_decides_with_what_is_stored_now(
    memory_runtime: Runtime, relay_for: Any
) -> None:
    rt, hub = memory_runtime, memory_runtime.hub
    child, consent = child_with_consent(rt)
    lagging, at_the_end = relay_for(), relay_for()
    for relay in (lagging, at_the_end):
        relay.plan(new_entries(rt, 0), complete=True)
    mark = hub.log_length()
    hub.hold_conversation(staff(BK), child, **conversation_payload())
    hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), child, consent)

    behind = new_entries(rt, mark)[:1]  # the conversation only; the withdrawal is after it in the log
    assert conversations_to(at_the_end.plan(behind, complete=True), SHARED_WITH), "as of the batch, the consent holds"
    assert not conversations_to(lagging.plan(behind, complete=False), SHARED_WITH), "now it is withdrawn"


def test_the_relay_keeps_at_least_one_child(memory_runtime: Runtime) -> None:
    with pytest.raises(RelayConfigError):
        ChildFactsCache(memory_runtime.hub, 0)


def test_a_relay_that_starts_at_a_withdrawal_reads_the_facts_before_it_without_mistaking_them_for_now(
    memory_runtime: Runtime, relay_for: Any
) -> None:
    rt, hub = memory_runtime, memory_runtime.hub
    child, consent = child_with_consent(rt)
    mark = hub.log_length()
    hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), child, consent)
    relay = relay_for()
    cache = relay.facts
    assert isinstance(cache, ChildFactsCache)
    withdrawal = new_entries(rt, mark)
    cache.advance(withdrawal, complete=True)  # read as it is now: no state before the withdrawal in memory

    before = cache.facts_for("ystad", child, withdrawal[0].version - 1)
    assert before is not None and not before.consents[0].withdrawn
    now = cache.facts_for("ystad", child, None)
    assert now is not None and now.consents[0].withdrawn

    notices = [d for d in relay.plan(withdrawal, complete=True) if d.type_name == REVOCATION_TYPE]
    assert [(d.unit_id, d.body["categories"]) for d in notices] == [(SHARED_WITH, ["conversations"])]
