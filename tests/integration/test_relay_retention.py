"""The relay plans what it delivers with the policy at its own clock: a relay catching up
after the retention period (a new unit's backlog, an outage) delivers nothing another unit
shared, and after closure nothing shared on an earlier consent; the units' own facts still go."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from uuid import UUID

from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from hub.runtime.relay import log_reader
from tests.factories import conversation_payload, staff
from tests.integration.test_nats_relay import BK, child_with_barnkontakt, consent_in_effect, make_relay
from tests.nats_server import keys, nats_server, rt

__all__ = ["keys", "nats_server", "rt"]


def delivered_to(rt: Runtime, unit: str) -> Counter[str]:
    relay = make_relay(rt)
    return Counter(d.type_name.rsplit(".", 1)[-1] for d in relay.plan(log_reader(rt.hub)(0, 100_000)) if d.unit_id == unit)


def shared_with_pupil_health(rt: Runtime) -> UUID:
    child = child_with_barnkontakt(rt)
    consent_in_effect(rt, child, [{"unit_id": "elevhalsa-ostra"}], ["conversations"])
    rt.hub.hold_conversation(staff(BK), child, **conversation_payload())
    return child


def test_the_relay_stops_delivering_shared_facts_after_the_receiving_units_period(rt: Runtime, clock: SettableClock) -> None:
    shared_with_pupil_health(rt)
    assert delivered_to(rt, "elevhalsa-ostra")["ConversationHeld"] == 1

    clock.set(clock() + timedelta(days=5 * 365 + 2))  # pupil health's default: five years after the last entry

    assert delivered_to(rt, "elevhalsa-ostra")["ConversationHeld"] == 0
    assert delivered_to(rt, "skola-ostra")["ConversationHeld"] == 1  # the school's own record still goes to it


def test_the_relay_stops_delivering_what_was_shared_on_consent_once_the_case_is_closed(rt: Runtime, clock: SettableClock) -> None:
    child = shared_with_pupil_health(rt)
    clock.set(clock() + timedelta(minutes=5))
    rt.hub.close_case(staff(BK), child, reason="moved_away")
    clock.set(clock() + timedelta(minutes=5))

    assert delivered_to(rt, "elevhalsa-ostra")["ConversationHeld"] == 0
    assert delivered_to(rt, "skola-ostra")["CaseClosed"] == 1
