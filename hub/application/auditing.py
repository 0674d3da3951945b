"""Loggkontroll: the auditors' search of the access log, review samples, flagged reads and findings."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid4, uuid5

from pydantic import ValidationError

from consent.permissions import Action
from contracts.events import (
    AccessReviewed,
    BarnkontaktAssigned,
    BarnkontaktDelegated,
    ConsentRequested,
    ConsentWithdrawn,
    SupportCoordinatorAssigned,
    TeamDecided,
)
from contracts.vocabulary import (
    Category,
    LegalBasis,
    ReviewOutcome,
    Role,
)
from hub.application.core import HubCore, _invalid, handles, traced
from hub.application.readmodels import (
    AuditEntry,
    FlaggedEntry,
    FlaggedReads,
    FlagOut,
    ReviewedEntry,
    ReviewOut,
    ReviewSample,
    access_fields,
)
from hub.application.review_rules import (
    BarnkontaktChange,
    ReviewFacts,
    ReviewRules,
    RuleCode,
    TeamChange,
    Withdrawal,
    draw_sample,
    flag,
)
from hub.domain.child import Recorded
from hub.errors import (
    InvalidInputError,
)
from hub.identity.principals import Principal
from projections.accesslog import AccessEntry

AUDIT_TRAIL = UUID("0b6f3c1e-8d27-5a94-b1c3-7e2d9f40a615")
"""Namespace of each cooperation area's loggkontroll stream id (UUIDv5 of the area's id)."""


def audit_trail_id(tenant_id: str) -> UUID:
    """The stream where an area's auditors' looks at lists over several children are recorded,
    one fact per list; no child has this id, so no family is shown these facts."""
    return uuid5(AUDIT_TRAIL, tenant_id)


FLAG_CACHE_SIZE = 8
"""Flagged lists kept per process: a few periods an auditor pages through."""


def _plain(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class Auditing(HubCore):
    """Loggkontroll: the auditors' search of the access log, review samples, flagged reads and findings."""

    @traced("read")
    def audit_search(
        self,
        p: Principal,
        *,
        child_id: UUID | None = None,
        accessor_id: str | None = None,
        unit_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
        offset: int = 0,
        names: bool = False,
    ) -> list[AuditEntry]:
        """The auditor's search of the access log, itself recorded per child it shows.
        ``names``: the children are shown by name (:meth:`child_names`), recorded with it."""
        self._permit(p, Action.SEARCH_ACCESS_LOG)
        at = self.now()
        self._views_hold(self._committed)
        entries = self.views.access.search(
            p.tenant_id,
            child_id=child_id,
            accessor_id=accessor_id,
            unit_id=unit_id,
            since=since,
            until=until,
            limit=max(1, min(limit, 1000)),
            offset=max(0, offset),
        )
        query = {"child": child_id, "accessor": accessor_id, "unit": unit_id, "since": since, "until": until, "offset": offset}
        self._audited(p, entries, "audit_search", at, query=query, child_id=child_id, names=names)
        return [AuditEntry.of(e) for e in entries]

    def _audited(
        self,
        p: Principal,
        entries: Iterable[AccessEntry],
        view: str,
        at: datetime,
        *,
        query: Mapping[str, object],
        child_id: UUID | None = None,
        names: bool = False,
    ) -> None:
        """Record an auditor's look at the access log with one fact, however many children it shows.

        Opening one child's trail (a list asked for that child) is a read of that child's
        access log, in the child's stream, where the family sees it. A list over several
        children is one fact in the area's own loggkontroll stream (:func:`audit_trail_id`)
        naming the query and how many reads of how many children it showed; the children
        appear in it only by their pseudonymous ids, and opening one of them is recorded
        for that child. So a list of a thousand reads costs one fact, not one per child
        (PDL 4 kap. 3 §: who looked at what, when and why stays answerable).
        """
        shown = list(entries)
        if child_id is not None and shown:  # only a child of this area whose reads were found
            recorded, purpose = child_id, "loggkontroll"
        else:
            children = len(dict.fromkeys(e.child_id for e in shown))
            asked = ", ".join(f"{k}={_plain(v)}" for k, v in query.items() if v is not None and v != 0)
            recorded = audit_trail_id(p.tenant_id)
            purpose = f"loggkontroll: {len(shown)} reads of {children} children shown; asked {asked or 'everything'}"[:500]
        self._record_access(
            p,
            recorded,
            view=view,
            purpose=purpose,
            categories=[Category.ACCESS_LOG, *([Category.IDENTITY] if names else [])],
            bases=[LegalBasis.AUDIT_DUTY],
            at=at,
        )

    @staticmethod
    def _period(since: datetime | None, until: datetime | None, at: datetime) -> tuple[datetime, datetime]:
        """A review period, ending now unless it ends earlier: the end is fixed when the
        review is drawn, so reads recorded after it (the review's own) never change it."""
        end = min(until, at) if until is not None else at
        start = since if since is not None else datetime.min.replace(tzinfo=UTC)
        if start >= end:
            raise InvalidInputError("the period must start before it ends, and not in the future", field="since")
        return start, end

    @staticmethod
    def _review_marks(e: AccessEntry, outcomes: dict[UUID, list[ReviewOutcome]]) -> dict[str, Any]:
        """Whether auditors have reviewed the read, and what they found."""
        found = outcomes.get(e.event_id, [])
        return {**access_fields(e), "reviewed": bool(found), "review_outcomes": found}

    @traced("read")
    def review_sample(
        self,
        p: Principal,
        *,
        size: int,
        seed: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        names: bool = False,
    ) -> ReviewSample:
        """A random sample of the tenant's reads in a period, for review. The same seed and
        period draw the same sample again; without a seed, a secure random one is chosen
        and returned. Auditors' own reads are not drawn."""
        self._permit(p, Action.SEARCH_ACCESS_LOG)
        if size < 1:
            raise InvalidInputError("the sample needs at least one read", field="size")
        at = self.now()
        start, end = self._period(since, until, at)
        if seed is None:
            seed = secrets.randbits(63)
        self._views_hold(self._committed)
        population = self.views.access.positions(p.tenant_id, since=start, until=end, exclude_role=Role.AUDITOR)
        entries = self.views.access.at_positions(p.tenant_id, draw_sample(population, size, seed))
        outcomes = self.views.access.outcomes_for(p.tenant_id, [e.event_id for e in entries])
        self._audited(
            p, entries, "review_sample", at, query={"size": size, "seed": seed, "since": since, "until": until}, names=names
        )
        return ReviewSample(
            seed=seed,
            since=start if since is not None else None,
            until=end,
            population=len(population),
            entries=[ReviewedEntry(**self._review_marks(e, outcomes)) for e in entries],
        )

    def _review_facts(self, tenant_id: str, child_id: UUID) -> ReviewFacts:
        """The child's team changes and consent withdrawals with their times, from its stream."""
        recipients: dict[UUID, ConsentRequested] = {}
        teams: list[TeamChange] = []
        withdrawals: list[Withdrawal] = []
        holders: list[BarnkontaktChange] = []
        for stored in self.recorder.select_events(child_id):
            fact = cast(Recorded, self.mapper.to_domain_event(stored)).fact
            if fact.tenant_id != tenant_id:
                break
            if isinstance(fact, ConsentRequested):
                recipients[fact.consent_id] = fact
            elif isinstance(fact, ConsentWithdrawn) and fact.consent_id in recipients:
                asked = recipients[fact.consent_id].recipients
                withdrawals.append(
                    Withdrawal(
                        fact.consent_id,
                        fact.occurred_at,
                        frozenset(r.unit_id for r in asked if r.unit_id),
                        frozenset(r.unit_kind for r in asked if r.unit_kind),
                    )
                )
            elif isinstance(fact, TeamDecided):
                teams.append(TeamChange(fact.occurred_at, frozenset(fact.member_unit_ids)))
            elif isinstance(fact, SupportCoordinatorAssigned):
                units = {fact.unit_id, fact.deputy_unit_id} - {None}  # the deputy acts as the coordinator
                teams.append(TeamChange(fact.occurred_at, frozenset(u for u in units if u), replaces=False))
            elif isinstance(fact, BarnkontaktAssigned | BarnkontaktDelegated):
                holders.append(BarnkontaktChange(fact.occurred_at, fact.unit_id))
        return ReviewFacts(child_id, tuple(teams), tuple(withdrawals), tuple(holders))

    def _flags(
        self, tenant_id: str, start: datetime, end: datetime, settings: ReviewRules, at: datetime, *, asked_until: datetime | None
    ) -> list[Any]:
        """The rules run over the period's reads, kept until a read (other than an auditor's)
        or a fact of a child's record arrives: an auditor paging through the flagged reads,
        or recording findings, does not run them over the whole period again. The key holds
        the period as asked (its end is "now" unless given), the rules, and both versions."""
        key = (
            tenant_id, start, asked_until, settings,
            self.views.access.last_position(tenant_id, exclude_role=Role.AUDITOR), self.views.record.version(),
        )
        cache: dict[Any, list[Any]] = self.__dict__.setdefault("_flag_cache", {})
        lock: threading.Lock = self.__dict__.setdefault("_flag_lock", threading.Lock())
        with lock:
            found = cache.get(key)
        if found is not None:
            return found
        entries = self.views.access.in_period(tenant_id, since=start, until=end, exclude_role=Role.AUDITOR)
        facts = {c: self._review_facts(tenant_id, c) for c in dict.fromkeys(e.child_id for e in entries)} if settings.enabled else {}
        units = {u.unit_id: u.kind for u in self.directory.tenants[tenant_id].units.values()}
        every = flag(entries, facts, units, settings, at)
        with lock:
            while len(cache) >= FLAG_CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[key] = every
        return every

    @traced("read")
    def flagged_accesses(
        self,
        p: Principal,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        rules: Iterable[RuleCode] | None = None,
        review_rules: ReviewRules | None = None,
        limit: int | None = None,
        offset: int = 0,
        names: bool = False,
    ) -> FlaggedReads:
        """The tenant's reads in a period that the review rules flag, each with the rules
        that flagged it. ``rules`` narrows the enabled rules; none enabled flags nothing.
        The rules run over the whole period (a burst needs its neighbours); ``limit`` and
        ``offset`` page the flagged reads, of which ``total`` says how many there are."""
        self._permit(p, Action.SEARCH_ACCESS_LOG)
        base = review_rules or ReviewRules()
        chosen = base.enabled if rules is None else base.enabled & frozenset(rules)
        settings = replace(base, enabled=chosen)
        at = self.now()
        start, end = self._period(since, until, at)
        self._views_hold(self._committed)
        every = self._flags(p.tenant_id, start, end, settings, at, asked_until=until)
        start_at = max(0, offset)
        shown = every[start_at : start_at + max(1, limit)] if limit is not None else every[start_at:]
        opened = {e.position: e for e in self.views.access.at_positions(p.tenant_id, [f.entry.position for f in shown])}
        flagged = [replace(f, entry=opened[f.entry.position]) for f in shown if f.entry.position in opened]
        outcomes = self.views.access.outcomes_for(p.tenant_id, [f.entry.event_id for f in flagged])
        self._audited(
            p, (f.entry for f in flagged), "flagged_accesses", at,
            query={"rules": ",".join(sorted(c.value for c in chosen)), "since": since, "until": until, "offset": offset},
            names=names,
        )
        return FlaggedReads(
            rules=[c for c in RuleCode if c in chosen],
            since=start if since is not None else None,
            until=end,
            total=len(every),
            entries=[
                FlaggedEntry(**self._review_marks(f.entry, outcomes), flags=[FlagOut.of(x) for x in f.flags])
                for f in flagged
            ],
        )

    @handles(Action.RECORD_REVIEW)
    def record_review(
        self,
        p: Principal,
        child_id: UUID,
        *,
        access_event_ids: list[UUID],
        outcome: ReviewOutcome | str,
        note: str = "",
    ) -> UUID:
        """An auditor's finding on reads of one child, appended as a fact of its own stream."""
        self._permit(p, Action.RECORD_REVIEW, self._load(p.tenant_id, child_id))
        ids = list(dict.fromkeys(access_event_ids))
        if not ids:
            raise InvalidInputError("name at least one read", field="access_event_ids")
        self._views_hold(self._committed)
        known = self.views.access.by_event_ids(p.tenant_id, ids)
        for i, event_id in enumerate(ids):
            entry = known.get(event_id)
            if entry is None or entry.child_id != child_id:
                raise InvalidInputError("no read with this id in the access log for this child", field=f"access_event_ids[{i}]")
        at = self.now()
        event_id = uuid4()
        try:
            fact = AccessReviewed(
                event_id=event_id,
                tenant_id=p.tenant_id,
                child_id=child_id,
                occurred_at=at,
                actor=self._actor(p),
                withheld_from_guardians=True,
                access_event_ids=tuple(ids),
                outcome=ReviewOutcome(outcome),
                note=note,
            )
        except ValidationError as e:
            raise _invalid(e) from None
        except ValueError:
            raise InvalidInputError("unknown outcome", field="outcome") from None
        self._save(Recorded(event_id, 1, at, fact))
        return event_id

    @traced("read")
    def review_outcomes(
        self,
        p: Principal,
        *,
        child_id: UUID | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
        offset: int = 0,
        names: bool = False,
    ) -> list[ReviewOut]:
        """The auditors' findings in the tenant, itself recorded per child it shows."""
        self._permit(p, Action.SEARCH_ACCESS_LOG)
        at = self.now()
        self._views_hold(self._committed)
        found = self.views.access.reviews(
            p.tenant_id, child_id=child_id, since=since, until=until, limit=max(1, min(limit, 1000)), offset=max(0, offset)
        )
        children = len(dict.fromkeys(r.child_id for r in found))
        one_child = child_id is not None and bool(found)
        recorded = child_id if child_id is not None and one_child else audit_trail_id(p.tenant_id)
        purpose = "loggkontroll" if one_child else f"loggkontroll: {len(found)} findings on {children} children shown"
        self._record_access(
            p, recorded, view="review_outcomes", purpose=purpose,
            categories=[Category.ACCESS_LOG, *([Category.IDENTITY] if names else [])], bases=[LegalBasis.AUDIT_DUTY], at=at,
        )
        return [ReviewOut.of(r) for r in found]

