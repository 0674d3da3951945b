"""Signals about consent: reminders to the parties who have not answered a request, a
warning to the case owner before a consent runs out, and what a unit that lost sight
through a withdrawal is told.

Time and the cooperation area's settings are parameters: a sweep (``backa consents
remind``) asks :meth:`ConsentSignals.send_consent_reminders` for each child that
:meth:`ConsentSignals.consent_reminders_due` lists. Each reminder is a fact
(``ConsentReminderSent``), so none is sent twice; the relay turns it into a notice to the
unit (:mod:`adapters.deliveries`), which reaches the family through its own channels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from consent import ConsentState, ConsentStatus, Information, consent_status, decide, required_parties
from consent.permissions import Action, Target
from consent.policy import consent_outlives_closure
from contracts.vocabulary import Category, PartyKind
from hub.application.core import HubCore, handles
from hub.application.readmodels import ReadModel
from hub.domain.child import Child
from hub.errors import ChildNotFoundError, RecordErasedError
from hub.identity.principals import Principal


@dataclass(frozen=True)
class SignalDays:
    """The cooperation area's settings: how long a request waits before the parties who
    have not answered are reminded, and how long before its end a consent is warned of."""

    remind_after_days: int = 7
    warn_before_days: int = 30

    @classmethod
    def of(cls, settings: Any) -> SignalDays:
        """The days as the runtime's settings give them (``consent_reminder_after_days``,
        ``consent_expiry_warning_days``)."""
        return cls(settings.consent_reminder_after_days, settings.consent_expiry_warning_days)


class LostSight(ReadModel):
    """A withdrawal that took information from the viewer's unit."""

    consent_id: UUID
    withdrawn_at: datetime
    withdrawn_by: PartyKind
    categories: list[Category]


class Expiring(ReadModel):
    """A consent in effect that ends soon: the case owner may renew it."""

    consent_id: UUID
    valid_until: datetime


class Awaiting(ReadModel):
    """A pending request some parties have not answered, and whether they were reminded."""

    consent_id: UUID
    not_answered: int
    reminded: bool


class ConsentSignalsOut(ReadModel):
    """What the child's page tells the viewer's unit about consent: never a person."""

    lost_sight: list[LostSight]
    expiring: list[Expiring]
    awaiting: list[Awaiting]


def _answered(c: ConsentState) -> set[tuple[PartyKind, str]]:
    return set(c.granted | c.declined | c.withdrawn)


class ConsentSignals(HubCore):
    """Reminders and warnings about consent, and the banner after a withdrawal."""

    def _due(self, child: Child, at: datetime, days: SignalDays) -> list[tuple[UUID, str, tuple[tuple[PartyKind, str], ...], str]]:
        """Each reminder the child's consents call for now and that was not sent: consent,
        kind, parties, unit."""
        facts = child.facts()
        owner = child.coordinator or child.barnkontakt
        out: list[tuple[UUID, str, tuple[tuple[PartyKind, str], ...], str]] = []
        for consent_id, c in child.consents.items():
            if not consent_outlives_closure(c, facts, at):
                continue  # the closure ended it: nothing to answer or renew, and a reminder would be an entry
            status = consent_status(c, facts, at, self.rules)
            if status is ConsentStatus.PENDING and at - c.valid_from >= timedelta(days=days.remind_after_days):
                before = child.reminded.get((consent_id, "answer"), frozenset())
                waiting = tuple(sorted(set(required_parties(facts, at, self.rules)) - _answered(c) - before))
                if waiting and c.requested_by_unit_id:
                    out.append((consent_id, "answer", waiting, c.requested_by_unit_id))
            elif (
                status is ConsentStatus.IN_EFFECT and owner is not None
                and c.valid_until - at <= timedelta(days=days.warn_before_days)
                and (consent_id, "expiry") not in child.reminded
            ):
                out.append((consent_id, "expiry", (), owner[1]))
        return out

    def consent_reminders_due(self, p: Principal, at: datetime, days: SignalDays) -> list[UUID]:
        """The children of the caller's area with a reminder due at ``at`` that the caller
        may send. Child ids only, in the views' order; nothing of the record is read."""
        self._permit(p, Action.SWEEP_CONSENT_REMINDERS)
        self._views_hold(self._committed_facts)
        viewer = self.viewer(p)
        out = []
        for doc in self.views.cases.documents(p.tenant_id):
            try:
                child = self._load(p.tenant_id, UUID(doc["child_id"]))
            except (ChildNotFoundError, RecordErasedError):
                continue
            if not self._due(child, at, days):
                continue
            if self.permissions(viewer, Action.SEND_CONSENT_REMINDERS, self.case_state(child), at, self.rules, Target()).allowed:
                out.append(child.id)
        return out

    @handles(Action.SEND_CONSENT_REMINDERS)
    def send_consent_reminders(self, p: Principal, child_id: UUID, *, at: datetime, days: SignalDays) -> int:
        """Send every reminder due for the child at ``at``; how many were sent."""

        def verb(child: Child) -> int:
            self._permit(p, Action.SEND_CONSENT_REMINDERS, child)
            due = self._due(child, at, days)
            for consent_id, reminder, parties, unit_id in due:
                child.send_consent_reminder(
                    actor=self._actor(p), at=self.now(), consent_id=consent_id, reminder=reminder, parties=parties,
                    to_unit_id=unit_id,
                )
            return len(due)

        return self._command(p, child_id, verb)

    def consent_signals(self, p: Principal, child_id: UUID, days: SignalDays) -> ConsentSignalsOut:
        """What the viewer's unit is told about the child's consents now: the withdrawals that
        took information from it (as the relay's revocation notice says), and, for the case
        owner, the consents ending soon and the requests not yet answered. Dates and
        categories only, as in the units' notices; nothing else of the record is shown."""
        at = self.now()
        child = self._load(p.tenant_id, child_id)
        child.check_not_erased()
        if p.unit_id is None:
            raise ChildNotFoundError(child_id)
        viewer = self.viewer(p)
        facts = child.facts()
        lost = []
        for consent_id, (withdrawn_at, by) in child.withdrawals.items():
            c = child.consents[consent_id]
            if not c.names_recipient(viewer.unit_id, viewer.unit_kind):
                continue
            before = replace(c, withdrawn=frozenset())
            if consent_status(before, facts, withdrawn_at, self.rules) is not ConsentStatus.IN_EFFECT:
                continue
            gone = sorted(
                (x for x in c.categories if not decide(viewer, facts, Information(x), at, self.rules).allowed),
                key=lambda x: x.value,
            )
            if gone:
                lost.append(LostSight(consent_id=consent_id, withdrawn_at=withdrawn_at, withdrawn_by=by, categories=gone))
        expiring: list[Expiring] = []
        awaiting: list[Awaiting] = []
        case = self.case_state(child)
        if self.permissions(viewer, Action.REQUEST_CONSENT, case, at, self.rules, Target()).allowed:  # the case owner renews
            for consent_id, c in child.consents.items():
                status = consent_status(c, facts, at, self.rules)
                if status is ConsentStatus.IN_EFFECT and c.valid_until - at <= timedelta(days=days.warn_before_days):
                    expiring.append(Expiring(consent_id=consent_id, valid_until=c.valid_until))
                elif status is ConsentStatus.PENDING:
                    waiting = set(required_parties(facts, at, self.rules)) - _answered(c)
                    if waiting:
                        reminded = bool(child.reminded.get((consent_id, "answer"), frozenset()) & waiting)
                        awaiting.append(Awaiting(consent_id=consent_id, not_answered=len(waiting), reminded=reminded))
        if not (lost or expiring or awaiting):
            raise ChildNotFoundError(child_id)  # nothing to tell this unit, and nothing said of whether the child exists
        return ConsentSignalsOut(lost_sight=lost, expiring=expiring, awaiting=awaiting)
