"""The application's plumbing: loading and saving a child, recording reads, the views kept
up to date. The handlers by process area build on it (:mod:`hub.application`).

Every rejection happens before anything is appended; library errors are translated here.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Mapper,
    OperationalError,
)
from pydantic import ValidationError

from consent import ChildFacts, PolicyRules, Viewer, ViewerKind
from consent.permissions import Action, CaseState, Holder, Permission, Rule, StaffRef, Target, may
from contracts.directory import UnsuppressedFiguresViewed
from contracts.events import (
    AccessReviewed,
    Actor,
    InformationAccessed,
)
from contracts.vocabulary import (
    Category,
    LegalBasis,
)
from hub.application.commands import Command
from hub.application.directory_log import LiveDirectory
from hub.application.readmodels import Filed
from hub.domain.child import WITHHELD_WHEN_FILED, Child, Recorded, no_such_consent, project_child
from hub.errors import (
    ChildNotFoundError,
    ConflictError,
    ConsentError,
    HubError,
    InvalidInputError,
    NotPermittedError,
    OutOfOrderError,
    StoreUnavailableError,
    ViewsCatchingUpError,
)
from hub.identity.directory import Directory
from hub.identity.invitation_store import InvitationStore, MemoryInvitationStore
from hub.identity.personnummer import BlindIndex
from hub.identity.population import NoRegister, RegisterLookup
from hub.identity.principals import Principal
from hub.keys.sealing import FactMapper, PlainSealer, Sealer
from hub.runtime.clock import Clock
from hub.runtime.commit import GroupCommitter
from hub.runtime.delivery_failure_store import DeliveryFailureStore, MemoryDeliveryFailureStore
from hub.runtime.follower import LogFollower, ViewStalledError
from hub.runtime.log_head import last_fact_position
from hub.runtime.telemetry import Telemetry, build_telemetry, current_traceparent
from projections.accesslog import AccessLogProjection, AccessLogView
from projections.caselist import CaseListProjection, CaseListView
from projections.figures import TermFiguresProjection, TermFiguresView
from projections.record import (
    ChildRecordProjection,
    ChildRecordView,
    VisibleRecord,
    visible_items,
)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("backa.hub")


@dataclass(frozen=True)
class Handler:
    """One command handler: its method, the act it asks the permission policy about, and
    the typed command it takes (None for commands whose only input is in the path)."""

    name: str
    action: Action
    command: type[Command] | None


HANDLERS: dict[str, Handler] = {}
"""Every command handler of the application, by method name."""

C = TypeVar("C", bound="Command")


def handles(action: Action, command: type[Command] | None = None) -> Callable[[F], F]:
    """Register a method as the handler of ``command``, asking about ``action``; traced."""

    def wrap(method: F) -> F:
        HANDLERS[method.__name__] = Handler(method.__name__, action, command)
        return traced("command")(method)

    return wrap


def typed(kind: type[C], command: C | None, fields: dict[str, Any]) -> C:
    """The command as given, or validated from keyword fields (strictly: no coercion)."""
    if command is not None:
        if fields:
            raise TypeError("give a command or its fields, not both")
        return command
    try:
        return kind.model_validate(fields)
    except ValidationError as e:
        raise _invalid(e) from None


def traced(kind: str) -> Callable[[F], F]:
    """A span and a count for each command or read, named by the method, never by its data."""

    def wrap(method: F) -> F:
        name = method.__name__

        @functools.wraps(method)
        def inner(self: HubCore, *args: Any, **kwargs: Any) -> Any:
            counter = self.telemetry.commands if kind == "command" else self.telemetry.reads_served
            with self.telemetry.span(f"backa.{kind} {name}", **cast(dict[str, Any], {f"backa.{kind}": name})):
                try:
                    result = method(self, *args, **kwargs)
                except HubError as e:
                    counter.add(1, {f"backa.{kind}": name, "outcome": type(e).__name__})
                    raise
                counter.add(1, {f"backa.{kind}": name, "outcome": "ok"})
                return result

        return inner  # type: ignore[return-value]

    return wrap


SAVE_ATTEMPTS = 3
NO_TARGET = Target()

FAMILY = (ViewerKind.GUARDIAN, ViewerKind.CHILD)


@dataclass
class Views:
    """The projections the hub keeps, and the follower that feeds them."""

    record: ChildRecordView
    cases: CaseListView
    access: AccessLogView
    figures: TermFiguresView | None = None
    """The evaluation's figures per term; a hub built without it offers no figures."""

    def all(self) -> list[Any]:
        return [v for v in (self.record, self.cases, self.access, self.figures) if v is not None]

    def projections(self) -> list[Any]:
        out: list[Any] = [ChildRecordProjection(self.record), CaseListProjection(self.cases), AccessLogProjection(self.access)]
        if self.figures is not None:
            out.append(TermFiguresProjection(self.figures))
        return out

    def close(self) -> None:
        for view in self.all():
            view.close()


class HubCore(Application):
    """The log of every child's support process, and what every handler shares."""

    name = "backa"

    def __init__(
        self,
        env: dict[str, str],
        *,
        directory: Directory | LiveDirectory,
        clock: Clock,
        rules: PolicyRules,
        blind_index: BlindIndex,
        views: Views,
        sealer: Sealer | None = None,
        record_reads: bool = True,
        telemetry: Telemetry | None = None,
        transparency: Callable[[Any], Any] | None = None,
        on_store_error: Callable[[], None] | None = None,
        population: RegisterLookup | None = None,
        invitations: InvitationStore | None = None,
        invitation_days: int = 14,
        delivery_failures: DeliveryFailureStore | None = None,
    ) -> None:
        """Every part is built by the composition root and passed in; the hub closes only
        what it makes itself (the log's recorder and the views' follower).

        ``transparency`` makes the Merkle tree over the log (a
        :class:`hub.tlog.service.TransparencyLog`) from the log's recorder, which exists
        only once the library's constructor has run; every commit is then observed by it.
        ``on_store_error`` is called when the store cannot be reached (the composition
        root checks its connection pools). ``population`` is the population register that
        confirms guardian links; without one, no link is ever confirmed."""
        self.sealer = sealer or PlainSealer()
        self._own_telemetry = telemetry is None
        self.telemetry = telemetry or build_telemetry()
        super().__init__(env)
        self.directory = directory
        self.clock = clock
        self.rules = rules
        self.blind_index = blind_index
        self.views = views
        self.record_reads = record_reads
        self._own_population = population is None
        self.population = population if population is not None else RegisterLookup(NoRegister(), 1.0, workers=1)
        self.on_store_error: Callable[[], None] = on_store_error or (lambda: None)
        self.invitations: InvitationStore = invitations if invitations is not None else MemoryInvitationStore()
        """Where the digital conversation's links and codes are found (:mod:`hub.application.surveys`)."""
        self.invitation_days = invitation_days
        self.delivery_failures: DeliveryFailureStore = delivery_failures or MemoryDeliveryFailureStore()
        """How many days a digital conversation's link and code work."""
        self.follower = LogFollower(self, views.projections(), on_erased=self._erased)
        self.transparency = transparency(self.recorder) if transparency is not None else None
        """The Merkle tree over the log and its signed checkpoints, if the hub keeps one."""
        save = self.transparency.observing(self.save) if self.transparency is not None else self.save
        self.committer = GroupCommitter(save, on_commit=self.follower.remember)
        self._committed = 0
        """The last log position a commit of this process reached."""
        self._committed_facts = 0
        """The same, for facts other than reads: what the record and case views must hold."""
        self._position_lock = threading.Lock()

    def construct_mapper(self) -> Mapper:
        mapper = FactMapper(self.construct_transcoder())
        mapper.sealer = self.sealer
        return mapper

    def close(self) -> None:
        """Stop the follower and close the log; the views and the telemetry passed in are
        the composition root's to close."""
        self.follower.close()
        super().close()
        if self._own_population:
            self.population.close()
        if self._own_telemetry:
            self.telemetry.shutdown()

    def now(self) -> datetime:
        return self.clock()

    def _load(self, tenant_id: str, child_id: UUID) -> Child:
        try:
            child = self.repository.get(child_id, projector_func=project_child)
        except AggregateNotFoundError:
            raise ChildNotFoundError(child_id) from None
        except (OperationalError, InterfaceError):
            self.on_store_error()
            raise StoreUnavailableError("the event store cannot be reached") from None
        if not isinstance(child, Child) or child.tenant_id != tenant_id:
            raise ChildNotFoundError(child_id)
        child.check_not_erased()
        return child

    def _save(self, *items: Any) -> None:
        traceparent = current_traceparent()
        facts: list[Recorded] = []
        for item in items:
            pending = item.collect_events() if isinstance(item, Child) else [item]
            facts.extend(replace(f, traceparent=traceparent) for f in pending)
        started = time.perf_counter()
        try:
            with self.telemetry.span("backa.append", **cast(dict[str, Any], {"backa.facts": len(facts)})):
                position = self.committer.commit(facts)
        except IntegrityError:
            raise
        except (OperationalError, InterfaceError):
            self.on_store_error()
            raise StoreUnavailableError("the event store cannot be reached") from None
        self.telemetry.append_latency.record((time.perf_counter() - started) * 1000, {"backa.facts": len(facts)})
        if position:
            with self._position_lock:
                self._committed = max(self._committed, position)
                if any(not isinstance(f.fact, InformationAccessed | AccessReviewed) for f in facts):
                    self._committed_facts = max(self._committed_facts, position)
        self.follower.wake()

    shared_log = False
    """Whether other processes append to this log (worker processes or machines on one
    PostgreSQL schema): a read then waits for the facts any of them committed before it."""

    def _views_hold(self, position: int) -> None:
        """Let a read see what was committed before it: wait until the views hold
        ``position`` (at once when they already do) and, when other processes share the
        log, its last fact other than a read's record, so a command answered by one
        process is in the views another process reads next."""
        if self.shared_log:
            position = max(position, self._log_head())
        if position > self.follower.reached:
            self.refresh_views(upto=position, wait=self.follower.reads_wait)

    def _log_head(self) -> int:
        try:
            return last_fact_position(self.recorder, after=self.follower.reached)
        except (OperationalError, InterfaceError):
            self.on_store_error()
            raise StoreUnavailableError("the event store cannot be reached") from None

    def refresh_views(self, upto: int | None = None, *, wait: float | None = None) -> None:
        """Bring the views up to the log (unless they already hold ``upto``). A fact is
        committed before its views follow, so a view that cannot follow now is left behind
        (and retried later) rather than turning a committed command or a read into a
        failure; consent is decided from the log, so a view that lags never shows more
        than the policy allows. With ``wait``, a read that would wait longer for the views
        is refused (:class:`ViewsCatchingUpError`) rather than answered stale."""
        try:
            self.follower.catch_up(upto, wait=wait)
        except (ViewsCatchingUpError, StoreUnavailableError):
            raise
        except ViewStalledError as e:
            log.error("%s (%s)", e, type(e.__cause__).__name__)
        except Exception as e:  # noqa: BLE001 - any projection fault must not undo a committed fact
            log.error("views could not follow the log: %s", type(e).__name__)

    def _command(self, p: Principal, child_id: UUID, verb: Callable[[Child], T]) -> T:
        """Run ``verb`` on the child and append what it decided.

        The first attempt starts from the child as this process last saved or loaded it,
        without asking the store for what came after. That is safe because an append is
        conditional on the version it follows: if anything was appended meanwhile (by
        another process), the append fails as a conflict and the next attempt starts
        from the store. A refusal decided on that copy is not answered either: another
        process may have appended the step it waits for (a Barnkontakt assigned there),
        so the command is decided again on the stored child, and only that refusal is
        answered. Reads never take this shortcut: they always bring the child up to the
        store, because consent is decided on it.
        """
        for attempt in range(SAVE_ATTEMPTS):
            cached = self._cached(p.tenant_id, child_id) if attempt == 0 else None
            child = cached or self._load(p.tenant_id, child_id)
            child.check_not_erased()
            try:
                result = verb(child)
            except ValidationError as e:
                raise _invalid(e) from None
            except HubError:
                if cached is not None:
                    continue  # decided on what this process last knew: decide again on the store's
                raise
            try:
                self._save(child)
            except IntegrityError:
                continue
            self._keep(child)
            return result
        raise ConflictError("the child's record changed while this was saved; try again")

    def _cached(self, tenant_id: str, child_id: UUID) -> Child | None:
        """A copy of the child as this process last knew it, if it is in memory."""
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            known = cache.get(child_id)
        except KeyError:
            return None
        if not isinstance(known, Child) or known.tenant_id != tenant_id:
            return None
        return copy.deepcopy(known)

    def _keep(self, child: Child) -> None:
        """Remember the child as just saved, unless a newer version is already known."""
        cache = self.repository.cache
        if cache is None:
            return
        with self._position_lock:
            try:
                known = cache.get(child.id)
            except KeyError:
                known = None
            if not isinstance(known, Child) or known.version < child.version:
                cache.put(child.id, child)

    def _actor(self, p: Principal) -> Actor:
        return Actor(user_id=p.user_id, unit_id=p.unit_id, role=p.acting_role)

    def viewer(self, p: Principal) -> Viewer:
        unit_kind = None
        if p.unit_id is not None:
            unit_kind = self.directory.unit(p.tenant_id, p.unit_id).kind
        return Viewer(p.kind, p.tenant_id, p.user_id, p.roles, p.unit_id, unit_kind, p.party_id)

    def _erased(self, erasure: Recorded) -> None:
        """Make an erasure on record take effect in this process: the key destroyed (once),
        and nothing of the child left in memory for the views or a command to use (the
        follower calls this for every erasure it reads, whichever process recorded it)."""
        child_id = erasure.originator_id
        sealer: Any = self.sealer
        if callable(getattr(sealer, "destroy", None)):
            if not sealer.is_destroyed(child_id):
                sealer.destroy(child_id)
            sealer.forget_cached(child_id)
        self.follower.forget(child_id)
        self.views.record.forget(child_id)
        cache = self.repository.cache
        if cache is not None:
            with self._position_lock:
                try:
                    known = cache.get(child_id)
                except KeyError:
                    known = None
                if isinstance(known, Child) and known.version < erasure.originator_version:
                    erased = copy.deepcopy(known)
                    erased.apply(erasure)  # what it knew is dropped with it
                    cache.put(child_id, erased)
        self.follower.wake()

    # -- who may act: consent.permissions decides, this asks it once per command -------

    permissions: Callable[..., Permission] = staticmethod(may)
    """The permission policy (:func:`consent.permissions.may`); a subclass may stand in
    another with the same signature, as the tests that walk every handler do."""

    @staticmethod
    def case_state(child: Child) -> CaseState:
        """What the permission policy needs to know of the child's case."""
        return CaseState(
            facts=child.facts(),
            barnkontakt=Holder(*child.barnkontakt) if child.barnkontakt else None,
            coordinator=Holder(*child.coordinator) if child.coordinator else None,
            deputy=Holder(*child.coordinator_deputy) if child.coordinator_deputy else None,
            card_unit_ids=frozenset(c.to_unit_id for c in child.cards.values()),
            first_card_unit_id=next((c.to_unit_id for c in child.cards.values()), None),
            team_unit_ids=frozenset(child.team_unit_ids),
            origin_unit_ids=frozenset(u for u in child.event_origins.values() if u is not None),
            registered_by_unit_id=next(iter(child.event_origins.values()), None),
            withheld_consent_ids=frozenset(c for c, request in child.consent_requests.items() if request in child.withheld),
            invited=frozenset(
                (i.invitation_id, i.party[0], i.party[1] or str(child.id)) for i in child.invitations.values()
            ),
        )

    def may(self, p: Principal, action: Action, child_id: UUID | None = None, *, staff_id: str | None = None) -> bool:
        """Whether the caller may take ``action`` now (on the child, if one is named): what a
        page asks before it offers a form. It reads no information and records nothing; the
        command itself is decided again when it is sent."""
        child = None
        if child_id is not None:
            try:
                child = self._load(p.tenant_id, child_id)
            except HubError:
                return False
        target = NO_TARGET if child_id is not None else Target(tenant_id=p.tenant_id)  # an act on the caller's own area
        if staff_id is not None:
            staff = self.directory.tenants[p.tenant_id].staff.get(staff_id)
            if staff is None:
                return False
            target = Target(staff=StaffRef(staff.user_id, staff.unit_id, staff.roles))
        case = self.case_state(child) if child is not None else None
        return self.permissions(self.viewer(p), action, case, self.now(), self.rules, target).allowed

    def _permit(self, p: Principal, action: Action, child: Child | None = None, target: Target = NO_TARGET) -> Permission:
        """Ask the permission policy; a refusal raises before anything is appended."""
        case = self.case_state(child) if child is not None else None
        decision = self.permissions(self.viewer(p), action, case, self.now(), self.rules, target)
        self.telemetry.permission_decisions.add(
            1, {"backa.action": action.value, "outcome": "allow" if decision.allowed else "deny", "rule": decision.rule.value}
        )
        if decision.allowed:
            return decision
        if decision.conceal:
            raise ChildNotFoundError(child.id if child is not None else "")
        raise _refusal(decision.rule, target)

    def _filed(self, p: Principal, child: Child, event_id: UUID, *, withheld_from_guardians: bool) -> Filed:
        """A fact just recorded, kept from the guardians when its filer says so: asked of the
        policy as withholding it afterwards would be (OSL 12 kap. 3 §), and recorded in the
        same append as the fact, so it is never seen by the family even for a moment. The
        answer names the fact, for the filer to act on it later."""
        if withheld_from_guardians:
            origin = child.event_origins.get(event_id)
            self._permit(p, Action.WITHHOLD_INFORMATION, child, Target(fact_unit_ids=(origin,)))
            child.withhold_information(actor=self._actor(p), at=self.now(), event_ids=(event_id,), reason=WITHHELD_WHEN_FILED)
        return Filed(child_id=child.id, event_id=event_id, withheld_from_guardians=withheld_from_guardians)

    def _units(self, tenant_id: str, unit_ids: Iterable[str], field: str) -> tuple[str, ...]:
        ids = tuple(dict.fromkeys(unit_ids))
        for unit_id in ids:
            self.directory.unit(tenant_id, unit_id, field)
        return ids

    def _record_unsuppressed(self, p: Principal, tenant: str, chosen: Any) -> None:
        """Keep in the area's log that its administrator saw the unsuppressed figures; a hub
        whose directory keeps no log cannot record it, so it does not show them."""
        if not isinstance(self.directory, LiveDirectory):
            raise StoreUnavailableError("this hub's directory keeps no log to record the view in")
        area = self.directory.area(tenant)
        if area is None:
            raise StoreUnavailableError("the area's log cannot be read")
        area.record(
            UnsuppressedFiguresViewed(
                event_id=uuid4(), tenant_id=tenant, occurred_at=self.now(), actor=self._actor(p), viewer_id=p.user_id,
                from_term=chosen.from_term, to_term=chosen.to_term, figure=chosen.figure,
            )
        )
        self.directory.append(area)

    def _record_access(
        self,
        p: Principal,
        child_id: UUID,
        *,
        view: str,
        purpose: str,
        categories: Iterable[Category],
        bases: Iterable[LegalBasis],
        denied: Iterable[Category] = (),
        withheld: bool = False,
        at: datetime,
    ) -> None:
        if not self.record_reads:
            return
        event_id = uuid4()
        fact = InformationAccessed(
            event_id=event_id,
            tenant_id=p.tenant_id,
            child_id=child_id,
            occurred_at=at,
            actor=self._actor(p),
            withheld_from_guardians=withheld,
            accessor_id=p.user_id,
            accessor_unit_id=p.unit_id,
            accessor_role=p.acting_role,
            view=view,
            purpose=purpose,
            categories=tuple(sorted(set(categories), key=lambda c: c.value)),
            bases=tuple(sorted(set(bases), key=lambda b: b.value)),
            denied_categories=tuple(sorted(set(denied), key=lambda c: c.value)),
        )
        self._save(Recorded(event_id, 1, at, fact))

    def _visible(
        self, p: Principal, child_id: UUID, at: datetime, *, view: str = "unit_view", purpose: str = ""
    ) -> tuple[Child, VisibleRecord]:
        child = self._load(p.tenant_id, child_id)
        try:
            self._permit(p, Action.READ_RECORD, child)
        except HubError:
            # a refused attempt is itself a read on record, for the auditors
            self._record_access(p, child_id, view=view, purpose=purpose, categories=(), bases=(), denied=tuple(Category), at=at)
            raise
        self._views_hold(self._committed_facts)
        items = self.views.record.items(child_id)
        visible = visible_items(self.viewer(p), child.facts(), items, at, self.rules)
        counted = Counter(
            ("allow" if d.allowed else "deny", d.basis.value if d.basis else "none", d.reason.value)
            for d in visible.decisions.values()
        )
        for (outcome, basis, reason), n in counted.items():  # one measurement per kind, however long the record
            self.telemetry.consent_decisions.add(n, {"outcome": outcome, "basis": basis, "reason": reason})
        return child, visible

    def log_length(self) -> int:
        """How many facts the log holds: what tests compare before and after a refusal."""
        return self.recorder.max_notification_id() or 0

    def child_facts(self, p: Principal, child_id: UUID) -> ChildFacts:
        return self._load(p.tenant_id, child_id).facts()


def _refusal(rule: Rule, target: Target = NO_TARGET) -> HubError:
    """A refusal of the permission policy as the core's error: what the caller can do about it."""
    if rule is Rule.CONSENT_REQUEST_WITHHELD and target.consent_id is not None:
        return no_such_consent(target.consent_id)  # the same answer as an id the child has no consent under
    if rule is Rule.NO_BARNKONTAKT_YET:
        return OutOfOrderError("no Barnkontakt is assigned to this child yet")
    if rule is Rule.ROLE_ALREADY_HELD:
        return InvalidInputError("the child already has a Barnkontakt; delegate instead", field="staff_id")
    if rule is Rule.TARGET_LACKS_ROLE:
        return InvalidInputError("this staff member does not hold the role this step needs", field="staff_id")
    if rule is Rule.DEPUTY_LACKS_ROLE:
        return InvalidInputError("the deputy must be a support coordinator", field="deputy_staff_id")
    if rule is Rule.NO_COORDINATOR_YET:
        return OutOfOrderError("no support coordinator is appointed for this child yet")
    if rule is Rule.NOT_A_PARTY:
        return ConsentError("only a guardian with custody, or the child from the set age, answers")
    if rule is Rule.RECORD_ERASED:
        return NotPermittedError("the record has been erased")
    return NotPermittedError(REFUSAL_TEXT.get(rule, "you may not do this"))


REFUSAL_TEXT: dict[Rule, str] = {
    Rule.STAFF_AT_A_UNIT_ONLY: "only staff at a unit may do this",
    Rule.ADMINISTRATOR_ONLY: "only the cooperation area's administrator may do this",
    Rule.AUDITOR_ONLY: "only an auditor may do this",
    Rule.AUDITORS_ONLY_REVIEW: "auditors review the access log and do nothing else",
    Rule.NOT_A_CARD_UNIT: "a Barnkontakt takes the role at the unit that registered the child or a discovery card was sent to",
    Rule.NOT_HOLDER_OR_HEAD: "only the Barnkontakt, a Barnkontakt of their unit or the administrator hands the role over",
    Rule.NOT_CASE_HOLDER: "only the child's Barnkontakt (or, for this step, the support coordinator) may do this",
    Rule.NOT_IN_TEAM: "only a unit in the child's team may do this",
    Rule.NOT_A_HOME_VISIT_UNIT: "home visits are recorded by the midwife clinic, BVC or parent support",
    Rule.AGENCY_FIELD_NOT_OWN: "a unit shares only its own agency's part of the summary",
    Rule.NOT_OWN_FACTS: "a unit withholds only facts it recorded itself, or a concern report filed to it",
    Rule.FAMILY_ONLY: "only a guardian or the child may do this",
    Rule.NO_CASE_ROLE: "this needs the Barnkontakt or support coordinator role",
    Rule.OTHER_TENANT: "only the cooperation area's own staff and administrator may do this",
    Rule.NOT_REGISTERING_OR_CASE_UNIT: "only the registering unit, the Barnkontakt's unit or the administrator checks the guardians",
    Rule.NOT_INVITED: "only the child or guardian the invitation names answers it",
    Rule.NOT_AN_IMPORTER: "only the cooperation area's administrator or the staff member who filed a card imports it",
}


def _invalid(error: ValidationError) -> InvalidInputError:
    """A pydantic error as field-level problems, without echoing the input values."""
    errors = [
        {"field": ".".join(str(x) for x in e["loc"]) or "body", "message": e["msg"]}
        for e in error.errors(include_input=False, include_url=False)
    ]
    first = errors[0]["field"] if errors else None
    return InvalidInputError("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "invalid input", errors=errors, field=first)
