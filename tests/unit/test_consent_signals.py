"""Reminders about consent, decided at a moment given to them: the parties who have not
answered a pending request are reminded once, after the area's waiting days; the case owner
is warned once before a consent in effect ends, as many days before as the area set; and a
unit that a withdrawal took information from is told so, while other units are told nothing."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from adapters.deliveries import UnitRecipient, reminder_notices
from contracts.events import ConsentReminderSent
from contracts.notices import ConsentReminder
from contracts.vocabulary import Category, UnitKind
from hub.application.consent_signals import SignalDays
from hub.errors import ChildNotFoundError, NotPermittedError
from hub.runtime.bootstrap import Runtime
from hub.runtime.clock import SettableClock
from tests.conftest import family, register_child
from tests.factories import GUARDIAN_1_PNR, GUARDIAN_2_PNR, conversation_payload, staff

BK = "rektor.ostra"
ADMIN = staff("admin.ystad")
DAYS = SignalDays(remind_after_days=7, warn_before_days=30)


@pytest.fixture
def rt(memory_runtime: Runtime) -> Runtime:
    return memory_runtime


@pytest.fixture
def child_id(rt: Runtime) -> UUID:
    child = UUID(str(register_child(rt)))
    rt.hub.assign_barnkontakt(staff(BK), child, staff_id=BK)
    rt.hub.hold_conversation(staff(BK), child, **conversation_payload())
    return child


def ask(rt: Runtime, child_id: UUID, days: int | None = None) -> UUID:
    until = rt.hub.now() + timedelta(days=days) if days else None
    return rt.hub.request_consent(
        staff(BK), child_id, recipients=[{"unit_id": "bup-ystad"}], categories=["needs"], purpose="Stöd", valid_until=until
    )


def reminders(rt: Runtime, child_id: UUID) -> list[ConsentReminderSent]:
    """The reminders on record (the facts themselves: the policy shows them to no unit's view)."""
    return [r.fact for r in rt.hub.repository.event_store.get(child_id) if isinstance(r.fact, ConsentReminderSent)]


def test_only_the_guardian_who_has_not_answered_is_reminded_and_only_once(rt: Runtime, child_id: UUID) -> None:
    consent = ask(rt, child_id)
    rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child_id, consent)
    later = rt.hub.now() + timedelta(days=8)
    assert rt.hub.consent_reminders_due(ADMIN, later, DAYS) == [child_id]
    assert rt.hub.send_consent_reminders(ADMIN, child_id, at=later, days=DAYS) == 1
    (sent,) = reminders(rt, child_id)
    assert sent.reminder == "answer" and sent.to_unit_id == "skola-ostra"
    assert [p.party_id for p in sent.parties] == [family(rt, GUARDIAN_2_PNR).party_id]
    before = rt.hub.log_length()
    assert rt.hub.send_consent_reminders(ADMIN, child_id, at=later + timedelta(days=3), days=DAYS) == 0
    assert rt.hub.consent_reminders_due(ADMIN, later + timedelta(days=3), DAYS) == []
    assert rt.hub.log_length() == before


def test_no_reminder_before_the_waiting_days_have_passed(rt: Runtime, child_id: UUID) -> None:
    ask(rt, child_id)
    soon = rt.hub.now() + timedelta(days=6)
    assert rt.hub.consent_reminders_due(ADMIN, soon, DAYS) == []
    assert rt.hub.send_consent_reminders(ADMIN, child_id, at=soon, days=DAYS) == 0
    assert rt.hub.send_consent_reminders(ADMIN, child_id, at=soon, days=SignalDays(remind_after_days=5)) == 1


def test_a_request_everyone_has_answered_is_never_reminded(rt: Runtime, child_id: UUID) -> None:
    consent = ask(rt, child_id)
    rt.hub.decline_consent(family(rt, GUARDIAN_1_PNR), child_id, consent)
    assert rt.hub.send_consent_reminders(ADMIN, child_id, at=rt.hub.now() + timedelta(days=30), days=DAYS) == 0


def test_the_case_owner_is_warned_once_as_many_days_before_the_end_as_the_area_set(
    rt: Runtime, child_id: UUID, clock: SettableClock
) -> None:
    consent = ask(rt, child_id, days=60)
    for pnr in (GUARDIAN_1_PNR, GUARDIAN_2_PNR):
        rt.hub.grant_consent(family(rt, pnr), child_id, consent)
    at = rt.hub.now() + timedelta(days=40)  # 20 days left
    assert rt.hub.send_consent_reminders(ADMIN, child_id, at=at, days=SignalDays(warn_before_days=10)) == 0
    assert rt.hub.send_consent_reminders(ADMIN, child_id, at=at, days=SignalDays(warn_before_days=30)) == 1
    assert rt.hub.send_consent_reminders(ADMIN, child_id, at=at + timedelta(days=5), days=DAYS) == 0
    (sent,) = reminders(rt, child_id)
    assert sent.reminder == "expiry" and sent.to_unit_id == "skola-ostra" and sent.parties == ()
    clock.set(at)
    signals = rt.hub.consent_signals(staff(BK), child_id, DAYS)
    assert [e.consent_id for e in signals.expiring] == [consent]
    with pytest.raises(ChildNotFoundError):
        rt.hub.consent_signals(staff(BK), child_id, SignalDays(warn_before_days=10))


def test_only_the_administrator_sends_reminders(rt: Runtime, child_id: UUID) -> None:
    ask(rt, child_id)
    before = rt.hub.log_length()
    with pytest.raises(NotPermittedError):
        rt.hub.send_consent_reminders(staff(BK), child_id, at=rt.hub.now() + timedelta(days=8), days=DAYS)
    assert rt.hub.log_length() == before
    with pytest.raises(NotPermittedError):  # nor lists which children have reminders due
        rt.hub.consent_reminders_due(staff(BK), rt.hub.now() + timedelta(days=8), DAYS)


def test_the_unit_that_lost_sight_is_told_when_and_what_and_no_other_unit_is_told_anything(rt: Runtime, child_id: UUID) -> None:
    consent = ask(rt, child_id)
    for pnr in (GUARDIAN_1_PNR, GUARDIAN_2_PNR):
        rt.hub.grant_consent(family(rt, pnr), child_id, consent)
    withdrawn_at = rt.hub.now()
    rt.hub.withdraw_consent(family(rt, GUARDIAN_2_PNR), child_id, consent)
    (lost,) = rt.hub.consent_signals(staff("bup.ystad"), child_id, DAYS).lost_sight
    assert lost.withdrawn_at == withdrawn_at and lost.categories == [Category.NEEDS] and lost.withdrawn_by.value == "guardian"
    for other in ("socsek.ystad", "polis.ystad"):
        with pytest.raises(ChildNotFoundError):
            rt.hub.consent_signals(staff(other), child_id, DAYS)


def test_a_withdrawal_before_the_consent_was_in_effect_takes_nothing_and_tells_nothing(rt: Runtime, child_id: UUID) -> None:
    consent = ask(rt, child_id)
    rt.hub.grant_consent(family(rt, GUARDIAN_1_PNR), child_id, consent)
    rt.hub.withdraw_consent(family(rt, GUARDIAN_1_PNR), child_id, consent)
    with pytest.raises(ChildNotFoundError):
        rt.hub.consent_signals(staff("bup.ystad"), child_id, DAYS)


def test_the_reminder_notice_goes_to_the_one_unit_it_names() -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from contracts.events import Actor, Party
    from contracts.vocabulary import Role

    fact = ConsentReminderSent(
        event_id=uuid4(), tenant_id="ystad", child_id=uuid4(), occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
        actor=Actor(user_id="admin.ystad", role=Role.TENANT_ADMIN), consent_id=uuid4(), reminder="answer",
        parties=(Party(kind="guardian", party_id="g-2"),), to_unit_id="skola-ostra",
    )
    units = [UnitRecipient("ystad", "skola-ostra", UnitKind.SCHOOL), UnitRecipient("ystad", "bup-ystad", UnitKind.BUP)]
    (delivery,) = reminder_notices(fact, units)
    assert delivery.unit_id == "skola-ostra" and delivery.subject == "backa.v1.ystad.skola-ostra.ConsentReminder"
    notice = ConsentReminder.model_validate(delivery.body)
    assert notice.reminder == "answer" and [p.party_id for p in notice.parties] == ["g-2"]


def test_the_relay_plans_the_reminder_notice_beside_the_fact(rt: Runtime, child_id: UUID) -> None:
    from adapters.deliveries import REMINDER_TYPE, LogEntry, plan_deliveries
    from consent import PolicyRules

    consent = ask(rt, child_id)
    rt.hub.send_consent_reminders(ADMIN, child_id, at=rt.hub.now() + timedelta(days=8), days=DAYS)
    (fact,) = reminders(rt, child_id)
    facts = rt.hub.repository.get(child_id).facts()
    units = [UnitRecipient("ystad", u, k) for u, k in (("skola-ostra", UnitKind.SCHOOL), ("bup-ystad", UnitKind.BUP))]
    planned = plan_deliveries(LogEntry(1, 1, fact), units, facts, rt.hub.now(), PolicyRules())
    notices = [d for d in planned if d.type_name == REMINDER_TYPE]
    assert [d.unit_id for d in notices] == ["skola-ostra"]
    assert ConsentReminder.model_validate(notices[0].body).consent_id == consent
