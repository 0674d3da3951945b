"""The hub's core: commands that append the facts of the support process, and reads that
show each viewer what consent and the law allow now, each read itself recorded.

Methods take the caller and plain values and return plain values. Every rejection
happens before anything is appended; library errors are translated here.
"""

from __future__ import annotations

import copy
import functools
import logging
import secrets
import threading
import time
from dataclasses import replace
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from contracts.events import (
    AccessReviewed,
    Actor,
    ConsentRequested,
    ConsentWithdrawn,
    Guardian,
    InformationAccessed,
    SupportCoordinatorAssigned,
    TeamDecided,
)
from contracts.vocabulary import (
    UNIT_KIND_PRINCIPAL,
    CardKind,
    Category,
    Decision,
    HomeVisit,
    LegalBasis,
    PartyKind,
    ReviewOutcome,
    Role,
    UnitKind,
)
from consent import age_on, ChildFacts, Information, PolicyRules, Viewer, ViewerKind, consent_status, decide, required_parties
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Mapper, OperationalError, InterfaceError
from projections.accesslog import AccessEntry, AccessLogProjection, AccessLogView, ReviewEntry
from projections.caselist import CaseListProjection, CaseListView, case_row, concerns_unit
from projections.figures import TermFiguresProjection, TermFiguresView, term_order
from projections.record import ChildRecordProjection, ChildRecordView, RecordItem, VisibleRecord, visible_items
from pydantic import ValidationError

from hub.runtime.clock import Clock
from hub.runtime.commit import GroupCommitter
from hub.identity.directory import Directory
from hub.domain.child import Child, Recorded, project_child
from hub.runtime.follower import LogFollower, ViewStalledError
from hub.errors import (
    HubError,
    ChildAlreadyRegisteredError,
    ChildNotFoundError,
    ConflictError,
    ErasureUnavailableError,
    InvalidInputError,
    NoBasisError,
    NotPermittedError,
    RecordErasedError,
    StoreUnavailableError,
)
from hub.identity.personnummer import BlindIndex, parse_identity_number
from hub.identity.principals import Principal
from hub.application.review_rules import ReviewFacts, ReviewRules, RuleCode, TeamChange, Withdrawal, draw_sample, flag
from hub.keys.sealing import FactMapper, PlainSealer, Sealer
from hub.runtime.telemetry import Telemetry, build_telemetry, current_traceparent

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("backa.hub")


def traced(kind: str) -> Callable[[F], F]:
    """A span and a count for each command or read, named by the method, never by its data."""

    def wrap(method: F) -> F:
        name = method.__name__

        @functools.wraps(method)
        def inner(self: BackaHub, *args: Any, **kwargs: Any) -> Any:
            counter = self.telemetry.commands if kind == "command" else self.telemetry.reads_served
            with self.telemetry.span(f"backa.{kind} {name}", **{f"backa.{kind}": name}):
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

FAMILY = (ViewerKind.GUARDIAN, ViewerKind.CHILD)
CASE_ROLES = (Role.BARNKONTAKT, Role.SUPPORT_COORDINATOR)


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


class BackaHub(Application):
    """The log of every child's support process, with the commands and reads on it."""

    name = "backa"

    def __init__(
        self,
        env: dict[str, str],
        *,
        directory: Directory,
        clock: Clock,
        rules: PolicyRules,
        blind_index: BlindIndex,
        views: Views,
        sealer: Sealer | None = None,
        record_reads: bool = True,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.sealer = sealer or PlainSealer()
        self.telemetry = telemetry or build_telemetry()
        super().__init__(env)
        self.directory = directory
        self.clock = clock
        self.rules = rules
        self.blind_index = blind_index
        self.views = views
        self.record_reads = record_reads
        self.follower = LogFollower(self, views.projections(), on_erased=self._erased)
        self.committer = GroupCommitter(self.save, on_commit=self.follower.remember)
        self._committed = 0
        """The last log position a commit of this process reached."""
        self._committed_facts = 0
        """The same, for facts other than reads: what the record and case views must hold."""
        self._position_lock = threading.Lock()
        self.on_store_error: Callable[[], None] = lambda: None
        """Called when the store cannot be reached (the composition root checks its pools)."""

    def construct_mapper(self) -> Mapper:
        mapper = FactMapper(self.construct_transcoder())
        mapper.sealer = self.sealer
        return mapper

    def close(self) -> None:
        self.follower.close()
        super().close()
        self.views.close()
        self.telemetry.shutdown()

    # -- plumbing ------------------------------------------------------------------

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
            with self.telemetry.span("backa.append", **{"backa.facts": len(facts)}):
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

    def _views_hold(self, position: int) -> None:
        """Let a read see what its process committed: wait until the views hold
        ``position`` (at once when they already do)."""
        if position > self.follower.reached:
            self.refresh_views(upto=position)

    def refresh_views(self, upto: int | None = None) -> None:
        """Bring the views up to the log (unless they already hold ``upto``). A fact is
        committed before its views follow, so a view that cannot follow now is left behind
        (and retried later) rather than turning a committed command or a read into a
        failure; consent is decided from the log, so a view that lags never shows more
        than the policy allows."""
        try:
            self.follower.catch_up(upto)
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
        from the store. Reads never take this shortcut: they always bring the child up to
        the store, because consent is decided on it.
        """
        for attempt in range(SAVE_ATTEMPTS):
            child = self._cached(p.tenant_id, child_id) if attempt == 0 else None
            child = child or self._load(p.tenant_id, child_id)
            child.check_not_erased()
            try:
                result = verb(child)
            except ValidationError as e:
                raise _invalid(e) from None
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

    # -- who may act -----------------------------------------------------------------

    @staticmethod
    def _require_staff(p: Principal, *roles: Role) -> str:
        if p.kind is not ViewerKind.STAFF or p.unit_id is None:
            raise NotPermittedError("only staff at a unit may do this")
        if roles and not p.has(*roles):
            raise NotPermittedError(f"this needs one of the roles: {', '.join(r.value for r in roles)}")
        return p.unit_id

    def _require_admin_or_staff(self, p: Principal, *roles: Role) -> None:
        """A tenant administrator, who may have no unit, or staff at a unit with one of ``roles``."""
        if p.kind is ViewerKind.STAFF and p.has(Role.TENANT_ADMIN):
            return
        self._require_staff(p, *roles)

    def _require_case_owner(self, p: Principal, child: Child, *, coordinator: bool = True) -> None:
        unit_id = self._require_staff(p)
        child.check_barnkontakt_assigned()
        if p.has(Role.BARNKONTAKT) and child.barnkontakt is not None and child.barnkontakt[1] == unit_id:
            return
        if coordinator and p.has(Role.SUPPORT_COORDINATOR) and child.coordinator and child.coordinator[1] == unit_id:
            return
        raise NotPermittedError("only the child's Barnkontakt" + (" or support coordinator" if coordinator else "") + " may do this")

    def _party(self, p: Principal) -> tuple[PartyKind, str]:
        if p.kind not in FAMILY or p.party_id is None:
            raise NotPermittedError("only a guardian or the child answers a consent request")
        return (PartyKind.GUARDIAN if p.kind is ViewerKind.GUARDIAN else PartyKind.CHILD, p.party_id)

    def _units(self, tenant_id: str, unit_ids: Iterable[str], field: str) -> tuple[str, ...]:
        ids = tuple(dict.fromkeys(unit_ids))
        for unit_id in ids:
            self.directory.unit(tenant_id, unit_id, field)
        return ids

    # -- commands --------------------------------------------------------------------

    @traced("command")
    def register_child(
        self,
        p: Principal,
        *,
        personnummer: str,
        given_name: str,
        family_name: str,
        guardians: list[dict[str, Any]],
    ) -> UUID:
        self._require_admin_or_staff(p)
        number = parse_identity_number(personnummer)
        now = self.now()
        if number.birth_date > now.date():
            raise InvalidInputError("the date of birth is in the future", field="personnummer")
        if age_on(number.birth_date, now) >= 18:
            raise InvalidInputError("the hub serves children under 18", field="personnummer")
        child_id = self.blind_index.child_id(p.tenant_id, number)
        try:
            self._load(p.tenant_id, child_id)
        except ChildNotFoundError:
            pass
        else:
            raise ChildAlreadyRegisteredError(child_id)
        parsed_guardians = []
        for i, g in enumerate(guardians):
            g_number = parse_identity_number(str(g.get("personnummer", "")), field=f"guardians[{i}].personnummer")
            parsed_guardians.append(
                {
                    "guardian_id": self.blind_index.guardian_id(p.tenant_id, g_number),
                    "name": g.get("name"),
                    "personnummer": g_number.digits,
                    "has_custody": g.get("has_custody"),
                }
            )
        try:
            child = Child.register(
                child_id=child_id,
                tenant_id=p.tenant_id,
                actor=self._actor(p),
                at=now,
                given_name=given_name,
                family_name=family_name,
                personnummer=number.digits,
                birth_date=number.birth_date,
                guardians=[Guardian.model_validate(g) for g in parsed_guardians],
            )
        except ValidationError as e:
            raise _invalid(e) from None
        try:
            self._save(child)
        except IntegrityError:
            raise ChildAlreadyRegisteredError(child_id) from None
        self._keep(child)
        return child_id

    @traced("command")
    def submit_discovery_card(
        self,
        p: Principal,
        child_id: UUID,
        *,
        to_unit_id: str,
        unmet_needs: list[dict[str, Any]],
        five_questions: dict[str, Any],
        own_support_taken: str = "",
        guardians_informed: bool,
    ) -> str:
        unit_id = self._require_staff(p)
        own = self.directory.unit(p.tenant_id, unit_id)
        target = self.directory.unit(p.tenant_id, to_unit_id, "to_unit_id")
        kind = CardKind.INTERNAL if own.principal is target.principal else CardKind.EXTERNAL
        return self._command(
            p,
            child_id,
            lambda child: child.submit_discovery_card(
                actor=self._actor(p),
                at=self.now(),
                kind=kind,
                to_unit_id=to_unit_id,
                unmet_needs=unmet_needs,
                five_questions=five_questions,
                own_support_taken=own_support_taken,
                guardians_informed=guardians_informed,
            ),
        )

    @traced("command")
    def assign_barnkontakt(self, p: Principal, child_id: UUID, *, staff_id: str) -> None:
        self._require_admin_or_staff(p, Role.BARNKONTAKT)
        staff = self.directory.staff(p.tenant_id, staff_id)
        if Role.BARNKONTAKT not in staff.roles or staff.unit_id is None:
            raise InvalidInputError("this staff member is not a Barnkontakt", field="staff_id")

        def verb(child: Child) -> None:
            if child.barnkontakt is not None:
                raise InvalidInputError("the child already has a Barnkontakt; delegate instead", field="staff_id")
            if not p.has(Role.TENANT_ADMIN) and p.unit_id != staff.unit_id:
                raise NotPermittedError("a Barnkontakt is assigned within their own unit")
            child.assign_barnkontakt(actor=self._actor(p), at=self.now(), staff_id=staff_id, unit_id=staff.unit_id or "")

        self._command(p, child_id, verb)

    @traced("command")
    def delegate_barnkontakt(self, p: Principal, child_id: UUID, *, staff_id: str, reason: str = "") -> None:
        self._require_admin_or_staff(p)
        staff = self.directory.staff(p.tenant_id, staff_id)
        if Role.BARNKONTAKT not in staff.roles or staff.unit_id is None:
            raise InvalidInputError("this staff member is not a Barnkontakt", field="staff_id")

        def verb(child: Child) -> None:
            if not p.has(Role.TENANT_ADMIN):
                self._require_case_owner(p, child, coordinator=False)
            child.delegate_barnkontakt(
                actor=self._actor(p), at=self.now(), staff_id=staff_id, unit_id=staff.unit_id or "", reason=reason
            )

        self._command(p, child_id, verb)

    @traced("command")
    def send_feedback(self, p: Principal, child_id: UUID, *, card_id: str, message: str) -> None:
        def verb(child: Child) -> None:
            self._require_case_owner(p, child, coordinator=False)
            child.send_feedback(actor=self._actor(p), at=self.now(), card_id=card_id, message=message)

        self._command(p, child_id, verb)

    @traced("command")
    def hold_conversation(self, p: Principal, child_id: UUID, **payload: Any) -> str:
        def verb(child: Child) -> str:
            self._require_case_owner(p, child)
            return child.hold_conversation(actor=self._actor(p), at=self.now(), **payload)

        return self._command(p, child_id, verb)

    @traced("command")
    def request_consent(
        self,
        p: Principal,
        child_id: UUID,
        *,
        recipients: list[dict[str, Any]],
        categories: list[str],
        purpose: str,
        valid_until: datetime | None = None,
    ) -> UUID:
        for i, r in enumerate(recipients):
            if isinstance(r, dict) and r.get("unit_id"):
                self.directory.unit(p.tenant_id, r["unit_id"], f"recipients[{i}].unit_id")
        try:
            cats = tuple(Category(c) for c in categories)
        except ValueError:
            raise InvalidInputError("unknown information category", field="categories") from None

        def verb(child: Child) -> UUID:
            self._require_case_owner(p, child)
            return child.request_consent(
                actor=self._actor(p),
                at=self.now(),
                rules=self.rules,
                recipients=tuple(recipients),
                categories=cats,
                purpose=purpose,
                valid_until=valid_until,
            )

        return self._command(p, child_id, verb)

    @traced("command")
    def grant_consent(self, p: Principal, child_id: UUID, consent_id: UUID) -> None:
        party = self._party(p)
        self._command(
            p,
            child_id,
            lambda c: c.grant_consent(actor=self._actor(p), at=self.now(), rules=self.rules, consent_id=consent_id, party=party),
        )

    @traced("command")
    def decline_consent(self, p: Principal, child_id: UUID, consent_id: UUID) -> None:
        party = self._party(p)
        self._command(
            p,
            child_id,
            lambda c: c.decline_consent(actor=self._actor(p), at=self.now(), rules=self.rules, consent_id=consent_id, party=party),
        )

    @traced("command")
    def withdraw_consent(self, p: Principal, child_id: UUID, consent_id: UUID) -> None:
        party = self._party(p)
        self._command(
            p,
            child_id,
            lambda c: c.withdraw_consent(actor=self._actor(p), at=self.now(), rules=self.rules, consent_id=consent_id, party=party),
        )

    @traced("command")
    def decide_team(
        self,
        p: Principal,
        child_id: UUID,
        *,
        decision: str,
        family_informed: bool,
        shared_categories: list[str] = (),  # type: ignore[assignment]
        member_unit_ids: list[str] = (),  # type: ignore[assignment]
        rationale: str = "",
    ) -> None:
        members = self._units(p.tenant_id, member_unit_ids, "member_unit_ids")
        try:
            chosen = Decision(decision)
            shared = tuple(Category(c) for c in shared_categories)
        except ValueError as e:
            raise InvalidInputError(str(e).split(":")[0], field="decision") from None

        def verb(child: Child) -> None:
            self._require_case_owner(p, child, coordinator=False)
            child.decide_team(
                actor=self._actor(p),
                at=self.now(),
                decision=chosen,
                family_informed=family_informed,
                shared_categories=shared,
                member_unit_ids=members,
                rationale=rationale,
            )

        self._command(p, child_id, verb)

    @traced("command")
    def submit_rating(self, p: Principal, child_id: UUID, *, scores: list[dict[str, Any]]) -> str:
        unit_id = self._require_staff(p)

        def verb(child: Child) -> str:
            in_team = unit_id in child.team_unit_ids or (child.barnkontakt is not None and child.barnkontakt[1] == unit_id)
            if not in_team:
                raise NotPermittedError("only a unit in the child's team rates the child's needs")
            return child.submit_rating(actor=self._actor(p), at=self.now(), scores=tuple(scores))

        return self._command(p, child_id, verb)

    @traced("command")
    def hold_team_meeting(self, p: Principal, child_id: UUID, *, participant_unit_ids: list[str], advice: str = "") -> list[dict[str, Any]]:
        units = self._units(p.tenant_id, participant_unit_ids, "participant_unit_ids")

        def verb(child: Child) -> list[dict[str, Any]]:
            self._require_case_owner(p, child)
            compass = child.hold_team_meeting(actor=self._actor(p), at=self.now(), participant_unit_ids=units, advice=advice)
            return [s.model_dump(mode="json") for s in compass]

        return self._command(p, child_id, verb)

    @traced("command")
    def assign_support_coordinator(self, p: Principal, child_id: UUID, *, staff_id: str) -> None:
        staff = self.directory.staff(p.tenant_id, staff_id)
        if Role.SUPPORT_COORDINATOR not in staff.roles or staff.unit_id is None:
            raise InvalidInputError("this staff member is not a support coordinator", field="staff_id")

        def verb(child: Child) -> None:
            self._require_case_owner(p, child, coordinator=False)
            child.assign_support_coordinator(actor=self._actor(p), at=self.now(), staff_id=staff_id, unit_id=staff.unit_id or "")

        self._command(p, child_id, verb)

    @traced("command")
    def update_plan(
        self,
        p: Principal,
        child_id: UUID,
        *,
        goals: list[dict[str, Any]],
        actions: list[dict[str, Any]],
        child_view: str = "",
        guardian_view: str = "",
        next_follow_up: date | None = None,
    ) -> int:
        for i, a in enumerate(actions):
            if isinstance(a, dict) and a.get("unit_id"):
                self.directory.unit(p.tenant_id, a["unit_id"], f"actions[{i}].unit_id")
        numbered = [{"action_id": a.get("action_id") or f"a{i + 1}", **{k: v for k, v in a.items() if k != "action_id"}} for i, a in enumerate(actions)]
        ids = [a["action_id"] for a in numbered]
        if len(set(ids)) != len(ids):
            raise InvalidInputError("two plan actions share an action_id", field="actions")

        def verb(child: Child) -> int:
            self._require_case_owner(p, child)
            return child.update_plan(
                actor=self._actor(p),
                at=self.now(),
                goals=tuple(goals),
                actions=tuple(numbered),
                child_view=child_view,
                guardian_view=guardian_view,
                next_follow_up=next_follow_up,
            )

        return self._command(p, child_id, verb)

    @traced("command")
    def complete_plan_action(self, p: Principal, child_id: UUID, *, action_id: str, note: str = "") -> None:
        unit_id = self._require_staff(p)

        def verb(child: Child) -> None:
            state = child.actions.get(action_id)
            if state is not None and state.action.unit_id != unit_id:
                self._require_case_owner(p, child)
            child.complete_plan_action(actor=self._actor(p), at=self.now(), action_id=action_id, note=note)

        self._command(p, child_id, verb)

    @traced("command")
    def hold_follow_up(self, p: Principal, child_id: UUID, *, summary: str, compass: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        def verb(child: Child) -> None:
            self._require_case_owner(p, child)
            child.hold_follow_up(actor=self._actor(p), at=self.now(), summary=summary, compass=tuple(compass))

        self._command(p, child_id, verb)

    @traced("command")
    def record_needs_met(self, p: Principal, child_id: UUID, *, follow_up_compass: list[dict[str, Any]], summary: str = "") -> None:
        def verb(child: Child) -> None:
            self._require_case_owner(p, child)
            child.record_needs_met(actor=self._actor(p), at=self.now(), follow_up_compass=tuple(follow_up_compass), summary=summary)

        self._command(p, child_id, verb)

    @traced("command")
    def file_concern_report(
        self,
        p: Principal,
        child_id: UUID,
        *,
        to_unit_id: str,
        unmet_needs: list[dict[str, Any]],
        description: str,
        acute: bool = False,
        withheld_from_guardians: bool = False,
    ) -> str:
        self._require_staff(p)
        target = self.directory.unit(p.tenant_id, to_unit_id, "to_unit_id")
        if target.kind is not UnitKind.SOCIAL_SERVICES:
            raise InvalidInputError("a concern report goes to a social services unit", field="to_unit_id")
        return self._command(
            p,
            child_id,
            lambda child: child.file_concern_report(
                actor=self._actor(p), at=self.now(), to_unit_id=to_unit_id, unmet_needs=unmet_needs, description=description, acute=acute,
                withheld_from_guardians=withheld_from_guardians,
            ),
        )

    @traced("command")
    def record_home_visit(self, p: Principal, child_id: UUID, *, visit: int, notes: str = "") -> None:
        unit_id = self._require_staff(p)
        kind = self.directory.unit(p.tenant_id, unit_id).kind
        if kind not in (UnitKind.MIDWIFE_CLINIC, UnitKind.BVC, UnitKind.SOCIAL_SERVICES):
            raise NotPermittedError("home visits are recorded by the midwife clinic, BVC or parent support")
        try:
            number = HomeVisit(int(visit))
        except (ValueError, TypeError):
            raise InvalidInputError("visit must be a number from 1 to 6", field="visit") from None
        self._command(
            p, child_id, lambda child: child.record_home_visit(actor=self._actor(p), at=self.now(), visit=number, unit_id=unit_id, notes=notes)
        )

    @traced("command")
    def share_agency_summary(
        self,
        p: Principal,
        child_id: UUID,
        *,
        health: str = "",
        police: str = "",
        social_services: str = "",
        withheld_from_guardians: bool = False,
    ) -> None:
        unit_id = self._require_staff(p)
        kind = self.directory.unit(p.tenant_id, unit_id).kind
        allowed = {
            "health": UNIT_KIND_PRINCIPAL[kind].value == "region",
            "police": kind is UnitKind.POLICE,
            "social_services": kind is UnitKind.SOCIAL_SERVICES,
        }
        for name, text in (("health", health), ("police", police), ("social_services", social_services)):
            if text and not allowed[name]:
                raise InvalidInputError(f"this unit does not record {name} information", field=name)
        self._command(
            p,
            child_id,
            lambda child: child.share_agency_summary(
                actor=self._actor(p),
                at=self.now(),
                health=health,
                police=police,
                social_services=social_services,
                withheld_from_guardians=withheld_from_guardians,
            ),
        )

    @traced("command")
    def erase_child(self, p: Principal, child_id: UUID, *, reason: str) -> None:
        """Erase the child's record (GDPR art. 17): record the erasure, then destroy the
        child's key, so that every fact sealed under it, in the log and in the views, is
        unreadable for good; the views then drop what they held of the child.

        Only the tenant's administrator may. The erasure is appended before the key is
        destroyed: a process that stops in between destroys the key when its views reach
        the erasure (:meth:`_erased`), so an erasure on record is never left undone.
        """
        if p.kind is not ViewerKind.STAFF or not p.has(Role.TENANT_ADMIN):
            raise NotPermittedError("only the cooperation area's administrator may erase a child's record")
        if not callable(getattr(self.sealer, "destroy", None)):
            raise ErasureUnavailableError(
                "this hub stores its log without per-child keys, so no record can be erased (turn on BACKA_ENCRYPT_LOG)"
            )
        reason = reason.strip()
        if not reason:
            raise InvalidInputError("say why the record is erased", field="reason")

        def verb(child: Child) -> Recorded:
            child.erase(self._actor(p), self.now(), reason=reason)
            return child._pending[-1]

        erasure = self._command(p, child_id, verb)
        try:
            self._erased(erasure)
        except Exception as e:
            log.error("an erasure is on record but its key could not be destroyed yet (%s)", type(e).__name__)
            raise StoreUnavailableError(
                "the erasure is on record, but the key store could not be reached to destroy the key; "
                "every hub process destroys it when it next reads the erasure"
            ) from None

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

    @traced("command")
    def withhold_information(self, p: Principal, child_id: UUID, *, event_ids: list[UUID], reason: str) -> None:
        self._require_staff(p)
        self._command(
            p, child_id, lambda child: child.withhold_information(actor=self._actor(p), at=self.now(), event_ids=tuple(event_ids), reason=reason)
        )

    # -- reads -------------------------------------------------------------------------

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

    def _visible(self, p: Principal, child_id: UUID, at: datetime) -> tuple[Child, VisibleRecord]:
        child = self._load(p.tenant_id, child_id)
        self._views_hold(self._committed_facts)
        items = self.views.record.items(child_id)
        visible = visible_items(self.viewer(p), child.facts(), items, at, self.rules)
        for decision in visible.decisions.values():
            self.telemetry.consent_decisions.add(
                1,
                {
                    "outcome": "allow" if decision.allowed else "deny",
                    "basis": decision.basis.value if decision.basis else "none",
                    "reason": decision.reason.value,
                },
            )
        return child, visible

    @traced("read")
    def read_child(self, p: Principal, child_id: UUID, *, purpose: str, view: str = "unit_view") -> dict[str, Any]:
        """A unit's or a family's view of one child: only what the policy allows now."""
        if p.kind is ViewerKind.AUDITOR:
            raise NotPermittedError("auditors read the access log, not the child's record")
        at = self.now()
        child, visible = self._visible(p, child_id, at)
        self._record_access(
            p,
            child_id,
            view=view,
            purpose=purpose,
            categories=visible.categories,
            bases=visible.bases,
            denied=visible.denied_categories,
            withheld=visible.touches_withheld,
            at=at,
        )
        if not visible.items:
            raise NoBasisError("neither consent nor the law lets you see this child's information now")
        return {
            "child_id": str(child_id),
            "as_of": at.isoformat(),
            "items": [_item_json(i, visible) for i in visible.items],
        }

    @traced("read")
    def timeline(self, p: Principal, child_id: UUID, *, purpose: str) -> dict[str, Any]:
        """The child's steps in order, as far as the viewer may see them."""
        if p.kind is ViewerKind.AUDITOR:
            raise NotPermittedError("auditors read the access log, not the child's record")
        at = self.now()
        child, visible = self._visible(p, child_id, at)
        steps: dict[int, dict[str, Any]] = {}
        for item in visible.items:
            step = steps.setdefault(
                item.position,
                {
                    "event_id": str(item.event_id),
                    "type": item.event_type.rsplit(".", 1)[-1],
                    "occurred_at": item.occurred_at.isoformat(),
                    "unit_id": item.origin_unit_id,
                    "categories": [],
                },
            )
            step["categories"].append(item.category.value)
        self._record_access(
            p, child_id, view="timeline", purpose=purpose, categories=visible.categories, bases=visible.bases,
            denied=visible.denied_categories, withheld=visible.touches_withheld, at=at,
        )
        if not steps:
            raise NoBasisError("neither consent nor the law lets you see this child's information now")
        return {"child_id": str(child_id), "as_of": at.isoformat(), "steps": [steps[k] for k in sorted(steps)]}

    @traced("read")
    def cards_sent_by(self, p: Principal) -> list[dict[str, Any]]:
        """The discovery cards this member of staff sent, newest first, each with whether the
        Barnkontakt has taken it up and sent feedback: what a discoverer follows up on. Ids,
        units and dates only, so nothing of the child is read here; the feedback itself is
        read (and recorded) on the child's page."""
        self._require_staff(p)
        self._views_hold(self._committed_facts)
        out = []
        for doc in self.views.cases.documents(p.tenant_id):
            for card in doc["cards"]:
                if card.get("from_user_id") == p.user_id:
                    out.append(
                        {
                            "child_id": doc["child_id"],
                            "card_id": card["card_id"],
                            "kind": card["kind"],
                            "to_unit_id": card["to_unit_id"],
                            "submitted_at": card["submitted_at"],
                            "taken_up": card["taken_up"],
                            "feedback_sent": card["feedback_sent"],
                        }
                    )
        return sorted(out, key=lambda c: c["submitted_at"], reverse=True)

    @traced("read")
    def case_list(self, p: Principal, *, purpose: str = "Barnkontakt case list") -> list[dict[str, Any]]:
        """The children a Barnkontakt or coordinator unit holds, with what needs doing."""
        unit_id = self._require_staff(p, *CASE_ROLES)
        at = self.now()
        self._views_hold(self._committed_facts)
        rows = []
        for doc in self.views.cases.documents(p.tenant_id):
            if not concerns_unit(doc, unit_id):
                continue
            row = case_row(doc, at.date())
            try:
                child = self._load(p.tenant_id, row.child_id)
            except RecordErasedError:
                continue  # erased by another process; the views drop it when they follow
            facts = child.facts()
            viewer = self.viewer(p)
            name = None
            identity = [i for i in self.views.record.items(row.child_id) if i.category is Category.IDENTITY and i.event_type.endswith("ChildRegistered")]
            bases = set()
            if identity:
                d = decide(viewer, facts, identity[0].information(), at, self.rules)
                if d.allowed and d.basis is not None:
                    name = f"{identity[0].fields['given_name']} {identity[0].fields['family_name']}"
                    bases.add(d.basis)
            self._record_access(
                p, row.child_id, view="case_list", purpose=purpose,
                categories=[Category.TEAM] + ([Category.IDENTITY] if name else []),
                bases=bases or {LegalBasis.SENT_TO_UNIT}, at=at,
            )
            rows.append(
                {
                    "child_id": str(row.child_id),
                    "name": name,
                    "barnkontakt_staff_id": row.barnkontakt_staff_id,
                    "barnkontakt_unit_id": row.barnkontakt_unit_id,
                    "decision": row.decision,
                    "new_cards": row.new_cards,
                    "awaiting_feedback": row.awaiting_feedback,
                    "overdue_actions": row.overdue_actions,
                    "next_step_due": row.next_step_due.isoformat() if row.next_step_due else None,
                    "no_next_step": row.no_next_step,
                    "closed": row.closed,
                }
            )
        return rows

    @traced("read")
    def family_children(self, p: Principal) -> list[dict[str, Any]]:
        """The children a guardian has custody of, or the child itself."""
        if p.kind not in FAMILY or p.party_id is None:
            raise NotPermittedError("only a guardian or the child")
        self._views_hold(self._committed_facts)
        if p.kind is ViewerKind.GUARDIAN:
            ids = self.views.record.children_of_guardian(p.tenant_id, p.party_id)
        else:
            ids = [UUID(p.party_id)]
        out = []
        for child_id in ids:
            try:
                child = self._load(p.tenant_id, child_id)
            except (ChildNotFoundError, RecordErasedError):
                continue
            d = decide(self.viewer(p), child.facts(), Information(Category.IDENTITY), self.now(), self.rules)
            if d.allowed:
                out.append({"child_id": str(child_id)})
        return out

    @traced("read")
    def consent_overview(self, p: Principal, child_id: UUID) -> list[dict[str, Any]]:
        """Each consent for the child: what, to whom, why, until when, who has answered."""
        at = self.now()
        child = self._load(p.tenant_id, child_id)
        facts = child.facts()
        viewer = self.viewer(p)
        needed = required_parties(facts, at, self.rules)
        out, bases = [], set()
        for c in facts.consents:
            d = decide(viewer, facts, Information(Category.CONSENT, origin_unit_id=c.requested_by_unit_id), at, self.rules)
            if not d.allowed:
                continue
            bases.add(d.basis)
            out.append(
                {
                    "consent_id": str(c.consent_id),
                    "status": consent_status(c, facts, at, self.rules).value,
                    "purpose": c.purpose,
                    "categories": sorted(x.value for x in c.categories),
                    "recipient_unit_ids": sorted(c.recipient_unit_ids),
                    "recipient_unit_kinds": sorted(k.value for k in c.recipient_unit_kinds),
                    "requested_by_unit_id": c.requested_by_unit_id,
                    "valid_from": c.valid_from.isoformat(),
                    "valid_until": c.valid_until.isoformat(),
                    "parties": [
                        {
                            "kind": k.value,
                            "party_id": pid,
                            "answer": "withdrawn" if (k, pid) in c.withdrawn else "declined" if (k, pid) in c.declined else "granted" if (k, pid) in c.granted else "awaiting",
                            "is_you": pid == p.party_id,
                        }
                        for k, pid in sorted(needed | c.granted | c.declined | c.withdrawn)
                    ],
                }
            )
        if not facts.consents:
            # No request yet: only those who would see one (the case's own unit, the family)
            # may learn that there is none; to anyone else the answer must not differ from
            # a child whose consents they may not see.
            owner = child.barnkontakt[1] if child.barnkontakt else None
            d = decide(viewer, facts, Information(Category.CONSENT, origin_unit_id=owner), at, self.rules)
            if d.allowed and d.basis is not None:
                bases.add(d.basis)
        seen = bool(out) or bool(bases)
        self._record_access(
            p, child_id, view="consent_overview", purpose="consent overview",
            categories=[Category.CONSENT] if seen else [], bases=[b for b in bases if b], denied=[] if seen else [Category.CONSENT], at=at,
        )
        if not seen:
            raise NoBasisError("you may not see this child's consents")
        return out

    @traced("read")
    def family_access_log(self, p: Principal, child_id: UUID) -> list[dict[str, Any]]:
        """Who has seen the child's information: for the guardians and the child."""
        if p.kind not in FAMILY:
            raise NotPermittedError("this log is for the child's guardians and the child")
        at = self.now()
        child = self._load(p.tenant_id, child_id)
        d = decide(self.viewer(p), child.facts(), Information(Category.ACCESS_LOG), at, self.rules)
        if not d.allowed:
            self._record_access(p, child_id, view="family_access_log", purpose="who has seen my child's information", categories=[], bases=[], denied=[Category.ACCESS_LOG], at=at)
            raise NoBasisError("you may not see this child's access log")
        self._views_hold(self._committed)
        entries = [
            e for e in self.views.access.search(p.tenant_id, child_id=child_id, limit=10_000)
            if e.allowed and not e.withheld_from_guardians
        ]
        self._record_access(
            p, child_id, view="family_access_log", purpose="who has seen my child's information",
            categories=[Category.ACCESS_LOG], bases=[d.basis] if d.basis else [], at=at,
        )
        return [self._family_entry(e) for e in entries]

    def _family_entry(self, e: AccessEntry) -> dict[str, Any]:
        unit_name = None
        if e.accessor_unit_id:
            unit_name = self.directory.tenants[e.tenant_id].units.get(e.accessor_unit_id)
        staff_name = None
        if self.rules.staff_names_visible_to_family and e.accessor_role not in (Role.GUARDIAN, Role.CHILD):
            staff = self.directory.tenants[e.tenant_id].staff.get(e.accessor_id)
            staff_name = staff.name if staff else None
        return {
            "event_id": str(e.event_id),
            "position": e.position,
            "accessed_at": e.accessed_at.isoformat(),
            "unit_id": e.accessor_unit_id,
            "unit_name": unit_name.name if unit_name else None,
            "role": e.accessor_role.value,
            "staff_name": staff_name,
            "purpose": e.purpose,
            "categories": [c.value for c in e.categories],
            "bases": [b.value for b in e.bases],
        }

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
    ) -> list[dict[str, Any]]:
        """The auditor's search of the access log, itself recorded per child it shows."""
        if p.kind is not ViewerKind.AUDITOR:
            raise NotPermittedError("only an auditor searches the access log")
        at = self.now()
        self._views_hold(self._committed)
        entries = self.views.access.search(
            p.tenant_id, child_id=child_id, accessor_id=accessor_id, unit_id=unit_id, since=since, until=until,
            limit=max(1, min(limit, 1000)), offset=max(0, offset),
        )
        self._audited(p, entries, "audit_search", at)
        return [_access_json(e) for e in entries]

    # -- loggkontroll: samples, flags and findings ------------------------------------------

    def _require_auditor(self, p: Principal, what: str) -> None:
        if p.kind is not ViewerKind.AUDITOR or not p.has(Role.AUDITOR):
            raise NotPermittedError(f"only an auditor {what}")

    def _audited(self, p: Principal, entries: Iterable[AccessEntry], view: str, at: datetime) -> None:
        """Each child whose reads an auditor is shown gets a read of its access log recorded."""
        for seen in dict.fromkeys(e.child_id for e in entries):
            self._record_access(
                p, seen, view=view, purpose="loggkontroll", categories=[Category.ACCESS_LOG],
                bases=[LegalBasis.AUDIT_DUTY], at=at,
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

    def _audit_entry(self, e: AccessEntry, outcomes: dict[UUID, list[ReviewOutcome]]) -> dict[str, Any]:
        found = outcomes.get(e.event_id, [])
        return {**_access_json(e), "reviewed": bool(found), "review_outcomes": [o.value for o in found]}

    @traced("read")
    def review_sample(
        self,
        p: Principal,
        *,
        size: int,
        seed: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """A random sample of the tenant's reads in a period, for review. The same seed and
        period draw the same sample again; without a seed, a secure random one is chosen
        and returned. Auditors' own reads are not drawn."""
        self._require_auditor(p, "draws a review sample")
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
        self._audited(p, entries, "review_sample", at)
        return {
            "seed": seed,
            "since": start.isoformat() if since is not None else None,
            "until": end.isoformat(),
            "population": len(population),
            "entries": [self._audit_entry(e, outcomes) for e in entries],
        }

    def _review_facts(self, tenant_id: str, child_id: UUID) -> ReviewFacts:
        """The child's team changes and consent withdrawals with their times, from its stream."""
        recipients: dict[UUID, ConsentRequested] = {}
        teams: list[TeamChange] = []
        withdrawals: list[Withdrawal] = []
        for stored in self.recorder.select_events(child_id):
            fact = self.mapper.to_domain_event(stored).fact
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
                teams.append(TeamChange(fact.occurred_at, frozenset({fact.unit_id}), replaces=False))
        return ReviewFacts(child_id, tuple(teams), tuple(withdrawals))

    @traced("read")
    def flagged_accesses(
        self,
        p: Principal,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        rules: Iterable[RuleCode] | None = None,
        review_rules: ReviewRules | None = None,
    ) -> dict[str, Any]:
        """The tenant's reads in a period that the review rules flag, each with the rules
        that flagged it. ``rules`` narrows the enabled rules; none enabled flags nothing."""
        self._require_auditor(p, "lists flagged reads")
        base = review_rules or ReviewRules()
        chosen = base.enabled if rules is None else base.enabled & frozenset(rules)
        settings = replace(base, enabled=chosen)
        at = self.now()
        start, end = self._period(since, until, at)
        self._views_hold(self._committed)
        entries = self.views.access.at_positions(
            p.tenant_id, self.views.access.positions(p.tenant_id, since=start, until=end, exclude_role=Role.AUDITOR)
        )
        facts = {c: self._review_facts(p.tenant_id, c) for c in dict.fromkeys(e.child_id for e in entries)} if chosen else {}
        units = {u.unit_id: u.kind for u in self.directory.tenants[p.tenant_id].units.values()}
        flagged = flag(entries, facts, units, settings, at)
        outcomes = self.views.access.outcomes_for(p.tenant_id, [f.entry.event_id for f in flagged])
        self._audited(p, (f.entry for f in flagged), "flagged_accesses", at)
        return {
            "rules": [c.value for c in RuleCode if c in chosen],
            "since": start.isoformat() if since is not None else None,
            "until": end.isoformat(),
            "entries": [
                {**self._audit_entry(f.entry, outcomes), "flags": [{"rule": x.rule.value, "detail": x.detail} for x in f.flags]}
                for f in flagged
            ],
        }

    @traced("command")
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
        self._require_auditor(p, "records a review")
        self._load(p.tenant_id, child_id)
        ids = list(dict.fromkeys(access_event_ids))
        if not ids:
            raise InvalidInputError("name at least one read", field="access_event_ids")
        self._views_hold(self._committed)
        known = self.views.access.by_event_ids(p.tenant_id, ids)
        for i, event_id in enumerate(ids):
            entry = known.get(event_id)
            if entry is None or entry.child_id != child_id:
                raise InvalidInputError(
                    "no read with this id in the access log for this child", field=f"access_event_ids[{i}]"
                )
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
    ) -> list[dict[str, Any]]:
        """The auditors' findings in the tenant, itself recorded per child it shows."""
        self._require_auditor(p, "lists review findings")
        at = self.now()
        self._views_hold(self._committed)
        found = self.views.access.reviews(
            p.tenant_id, child_id=child_id, since=since, until=until, limit=max(1, min(limit, 1000)), offset=max(0, offset)
        )
        for seen in dict.fromkeys(r.child_id for r in found):
            self._record_access(
                p, seen, view="review_outcomes", purpose="loggkontroll", categories=[Category.ACCESS_LOG],
                bases=[LegalBasis.AUDIT_DUTY], at=at,
            )
        return [_review_json(r) for r in found]

    # -- uppföljning: the evaluation's figures ----------------------------------------------

    @traced("read")
    def term_figures(self, p: Principal, tenant: str) -> dict[str, Any]:
        """The evaluation's figures per half-year term for a tenant, counted from the facts
        alone (:mod:`projections.figures`): for its staff and its administrator. They are
        anonymous counts, so reading them reads no child and records no read."""
        if p.kind is not ViewerKind.STAFF or p.tenant_id != tenant:
            raise NotPermittedError("only the cooperation area's staff and administrator see its figures")
        if p.unit_id is None and not p.has(Role.TENANT_ADMIN):
            raise NotPermittedError("only the cooperation area's staff and administrator see its figures")
        figures = self.views.figures
        if figures is None:
            raise StoreUnavailableError("this hub keeps no figures")
        self._views_hold(self._committed_facts)
        rows = figures.counts(tenant)
        terms = sorted({r["term"] for r in rows}, key=term_order)
        return {"tenant_id": tenant, "terms": terms, "rows": rows}

    def log_length(self) -> int:
        """How many facts the log holds: what tests compare before and after a refusal."""
        return self.recorder.max_notification_id() or 0

    def child_facts(self, p: Principal, child_id: UUID) -> ChildFacts:
        return self._load(p.tenant_id, child_id).facts()


def _access_json(e: AccessEntry) -> dict[str, Any]:
    """One access-log entry as an auditor sees it."""
    return {
        "event_id": str(e.event_id),
        "position": e.position,
        "child_id": str(e.child_id),
        "accessed_at": e.accessed_at.isoformat(),
        "accessor_id": e.accessor_id,
        "unit_id": e.accessor_unit_id,
        "role": e.accessor_role.value,
        "view": e.view,
        "purpose": e.purpose,
        "categories": [c.value for c in e.categories],
        "bases": [b.value for b in e.bases],
        "denied_categories": [c.value for c in e.denied_categories],
        "allowed": e.allowed,
    }


def _item_json(item: RecordItem, visible: VisibleRecord) -> dict[str, Any]:
    decision = visible.decisions[item]
    return {
        "event_id": str(item.event_id),
        "type": item.event_type.rsplit(".", 1)[-1],
        "category": item.category.value,
        "occurred_at": item.occurred_at.isoformat(),
        "unit_id": item.origin_unit_id,
        "basis": decision.basis.value if decision.basis else None,
        "fields": item.fields,
    }


def _review_json(r: ReviewEntry) -> dict[str, Any]:
    return {
        "review_id": str(r.event_id),
        "position": r.position,
        "child_id": str(r.child_id),
        "reviewed_at": r.reviewed_at.isoformat(),
        "reviewer_id": r.reviewer_id,
        "outcome": r.outcome.value,
        "note": r.note,
        "access_event_ids": [str(e) for e in r.access_event_ids],
    }


def _invalid(error: ValidationError) -> InvalidInputError:
    """A pydantic error as field-level problems, without echoing the input values."""
    errors = [
        {"field": ".".join(str(x) for x in e["loc"]) or "body", "message": e["msg"]}
        for e in error.errors(include_input=False, include_url=False)
    ]
    first = errors[0]["field"] if errors else None
    return InvalidInputError(
        "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "invalid input", errors=errors, field=first
    )
