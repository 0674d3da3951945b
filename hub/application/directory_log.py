"""The directory as its own log says now, shared by every hub process.

The directory's facts (:mod:`contracts.directory`) are appended to a log apart from the
children's: they concern staff and units, are sealed under no child's key, are never
delivered to units and outlive any child's erasure. Each process keeps the directory in
memory, built from that log and brought forward

- at once after a change this process made,
- when a unit, a staff member or an area it is asked about is not known yet (another
  process may have just added it, so a person added there signs in here at once), at most
  once per :data:`MISS_REFRESH_SECONDS`, so made-up ids cannot hammer the store,
- and every ``poll`` seconds in the background, so a removal or a closed unit made by another
  process takes effect here within that time.

``directory.json`` is only an import: the first time an area is seen, its entry becomes the
area's first facts (:meth:`LiveDirectory.bring_in`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from pydantic import ValidationError

from consent.retention import tenant_periods
from contracts.directory import (
    AreaOpened,
    DirectoryFact,
    FigureDisclosure,
    RetentionOverride,
    StaffAdded,
    Subscription,
    SubscriptionChosen,
    UnitAdded,
)
from contracts.events import Actor
from contracts.upcasting import SchemaVersionError
from contracts.vocabulary import Role, UnitKind
from hub.domain.directory import Area, AreaState, area_id, fact_from_json
from hub.errors import ConflictError, InvalidInputError, StoreUnavailableError, UnknownStaffError, UnknownUnitError
from hub.identity.directory import Directory, Staff, Tenant, Unit, disclosure_rule

log = logging.getLogger("backa.directory")

MISS_REFRESH_SECONDS = 0.05
"""How often at most an unknown id makes the directory be read again."""
PAGE = 500


class DirectoryLog(Application):
    """The log of the directory's facts: one stream per cooperation area."""

    name = "directory"


def tenant_of(state: AreaState) -> Tenant:
    """One area's snapshot: present units and staff, the rest kept by name."""
    tid = state.tenant_id

    def unit(u: Any) -> Unit:
        return Unit(u.unit_id, tid, u.kind, u.name, u.subscription)

    def staff(s: Any) -> Staff:
        return Staff(s.user_id, tid, s.unit_id, s.roles, s.name, s.title)

    return Tenant(
        tid,
        state.name,
        units={u.unit_id: unit(u) for u in state.units.values() if not u.closed},
        staff={s.user_id: staff(s) for s in state.staff.values() if not s.removed},
        retention=tenant_periods(r.model_dump(mode="json", exclude_none=True) for r in state.retention),
        disclosure=disclosure_rule(state.disclosure),
        former_units={u.unit_id: unit(u) for u in state.units.values() if u.closed},
        former_staff={s.user_id: staff(s) for s in state.staff.values() if s.removed},
        delegations=tuple(d for d in state.delegations.values() if not d.revoked),
    )


class LiveDirectory:
    """The directory now: the same reads as a :class:`Directory` snapshot, kept current."""

    def __init__(self, log_: DirectoryLog, *, poll_seconds: float = 1.0) -> None:
        self.log = log_
        self.poll_seconds = poll_seconds
        self._areas: dict[UUID, Area] = {}
        self._position = 0
        self._snapshot = Directory()
        self._lock = threading.Lock()
        self._last_miss = 0.0
        self._stuck_at = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    # -- reads, as a snapshot answers them ---------------------------------------------------

    @property
    def tenants(self) -> dict[str, Tenant]:
        return self._snapshot.tenants

    def snapshot(self) -> Directory:
        return self._snapshot

    def unit(self, tenant_id: str, unit_id: str, field: str = "unit_id") -> Unit:
        try:
            return self._snapshot.unit(tenant_id, unit_id, field)
        except UnknownUnitError:
            if not self._refresh_on_miss():
                raise
            return self._snapshot.unit(tenant_id, unit_id, field)

    def staff(self, tenant_id: str, user_id: str, field: str = "staff_id") -> Staff:
        try:
            return self._snapshot.staff(tenant_id, user_id, field)
        except UnknownStaffError:
            if not self._refresh_on_miss():
                raise
            return self._snapshot.staff(tenant_id, user_id, field)

    def knows(self, tenant_id: str, unit_id: str | None = None, user_id: str | None = None) -> bool:
        """Whether the area (and the unit, and the staff member) is present now, reading the
        log again once if not: what sign-in asks before it trusts a token's names."""

        def present() -> bool:
            tenant = self._snapshot.tenants.get(tenant_id)
            return (
                tenant is not None
                and (unit_id is None or unit_id in tenant.units)
                and (user_id is None or user_id in tenant.staff)
            )

        return present() or (self._refresh_on_miss() and present())

    def units_of_kind(self, tenant_id: str, kind: UnitKind) -> list[Unit]:
        return self._snapshot.units_of_kind(tenant_id, kind)

    def roles_on(self, tenant_id: str, user_id: str, day: date) -> frozenset[Role]:
        return self._snapshot.roles_on(tenant_id, user_id, day)

    def to_json(self) -> dict[str, Any]:
        return self._snapshot.to_json()

    # -- following the log -------------------------------------------------------------------

    def refresh(self) -> bool:
        """Read the facts appended since the last look; whether any were."""
        with self._lock:
            changed = False
            try:
                while True:
                    page = self.log.recorder.select_notifications(self._position + 1, PAGE)
                    for notification in page:
                        try:
                            fact_event: Any = self.log.mapper.to_domain_event(notification)
                            area = fact_event.mutate(self._areas.get(fact_event.originator_id))
                        except (SchemaVersionError, KeyError, ValueError, TypeError, AttributeError):
                            # a fact this release cannot read (a later release's): the directory
                            # stops before it rather than skip a removal or a closed unit
                            if self._stuck_at != notification.id:
                                self._stuck_at = notification.id
                                log.error("the directory's fact at position %d cannot be read by this release; "
                                          "the directory stays as it was before it", notification.id)
                            page = []
                            break
                        self._areas[fact_event.originator_id] = area
                        self._position = notification.id
                        changed = True
                    if len(page) < PAGE:
                        break
            except (OperationalError, InterfaceError):
                raise StoreUnavailableError("the directory cannot be read") from None
            if changed:
                self._snapshot = Directory({a.state.tenant_id: tenant_of(a.state) for a in self._areas.values()})
            return changed

    def _refresh_on_miss(self) -> bool:
        now = time.monotonic()
        if now - self._last_miss < MISS_REFRESH_SECONDS:
            return False
        self._last_miss = now
        return self.refresh()

    def start(self) -> None:
        """Follow the log in the background, every ``poll_seconds``."""
        if self._thread is not None or self.poll_seconds <= 0:
            return
        self._thread = threading.Thread(target=self._follow, name="backa-directory", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except StoreUnavailableError:
                log.warning("the directory could not be read; trying again in %.1f s", self.poll_seconds)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.log.close()

    # -- changing it ---------------------------------------------------------------------------

    def area(self, tenant_id: str) -> Area | None:
        """The area as its log holds it now (for a command to change)."""
        try:
            found: Any = self.log.repository.get(area_id(tenant_id))
        except AggregateNotFoundError:
            return None
        except (OperationalError, InterfaceError):
            raise StoreUnavailableError("the directory cannot be read") from None
        except SchemaVersionError:
            raise  # a later release's fact: answered as an unreadable fact, nothing changed
        return found if isinstance(found, Area) else None

    def append(self, area: Area) -> None:
        """Append what the area decided; another process's change meanwhile is a conflict."""
        try:
            self.log.save(area)
        except IntegrityError:
            raise ConflictError("the directory changed meanwhile; nothing was changed, try again") from None
        except (OperationalError, InterfaceError):
            raise StoreUnavailableError("the directory cannot be reached") from None
        self.refresh()

    def history(self, tenant_id: str) -> list[DirectoryFact]:
        """Every fact of the area, oldest first: who changed what, when."""
        try:
            events = self.log.events.get(area_id(tenant_id))
        except (OperationalError, InterfaceError):
            raise StoreUnavailableError("the directory cannot be read") from None
        return [fact_from_json(e.fact) for e in events]  # type: ignore[attr-defined]

    def bring_in(self, directory: Directory, *, actor: Actor, at: datetime, save: bool = True) -> list[str]:
        """Make each area of ``directory`` not yet on the log its first facts (the one-time
        import of ``directory.json``); areas already on the log are left as the log has them.
        Every area is checked before any is saved: a file the directory cannot hold (a guardian
        among the staff, a unit id that is no subject token, a name that breaks a line) brings
        nothing in. Returns the ids of the areas brought in (``save`` False: checked, that would be)."""
        areas: list[Area] = []
        for tenant in directory.tenants.values():
            if self.area(tenant.tenant_id) is not None:
                continue
            areas.append(self._first_facts(tenant, actor, at))
        if not save:
            return [a.state.tenant_id for a in areas]
        brought: list[str] = []
        for area in areas:
            try:
                self.log.save(area)
            except IntegrityError:
                continue  # another process brought the same area in first: the log has it
            except (OperationalError, InterfaceError):
                raise StoreUnavailableError("the directory cannot be reached") from None
            brought.append(area.state.tenant_id)
        self.refresh()
        return brought

    @staticmethod
    def _first_facts(tenant: Tenant, actor: Actor, at: datetime) -> Area:
        """The area as ``directory.json`` has it, as facts not yet saved."""
        tid = tenant.tenant_id
        envelope = lambda: {"event_id": uuid4(), "tenant_id": tid, "occurred_at": at, "actor": actor}  # noqa: E731
        with _checked(tid, "area"):
            area = Area.open(
                AreaOpened(
                    **envelope(),
                    name=tenant.name,
                    retention=tuple(
                        RetentionOverride(unit_kind=k, category=c, days=d) for k, c, d in tenant.retention.overrides
                    ),
                    disclosure=FigureDisclosure(threshold=tenant.disclosure.threshold, rounding=tenant.disclosure.rounding),
                )
            )
        for j, u in enumerate(tenant.units.values()):
            with _checked(tid, f"units[{j}]"):
                area.add_unit(UnitAdded(**envelope(), unit_id=u.unit_id, kind=u.kind, name=u.name))
                if u.subscription != Subscription():
                    area.choose_subscription(SubscriptionChosen(**envelope(), unit_id=u.unit_id, subscription=u.subscription))
        for j, s in enumerate(tenant.staff.values()):
            with _checked(tid, f"staff[{j}]"):
                area.add_staff(
                    StaffAdded(
                        **envelope(), user_id=s.user_id, unit_id=s.unit_id, roles=tuple(s.roles), name=s.name, title=s.title
                    )
                )
        return area

    def __iter__(self) -> Iterator[Tenant]:
        return iter(self._snapshot.tenants.values())


@contextmanager
def _checked(tenant_id: str, where: str) -> Iterator[None]:
    """A file's entry the directory cannot hold, named by where it is and what is wrong with
    it, never by its value (a name, an e-mail address)."""
    try:
        yield
    except ValidationError as e:
        first = e.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        what = "is not in the form the directory takes" if first["type"] == "string_pattern_mismatch" else first["msg"]
        raise InvalidInputError(f"area {tenant_id!r}: {where}.{name}: {what}", field=f"{where}.{name}") from None


def import_actor(source: str = "directory.json") -> Actor:
    """Who an import's facts name: the import itself, as the administrator's act."""
    return Actor(user_id=f"import-{source.replace('.', '-')}"[:100], role=Role.TENANT_ADMIN)


__all__ = ["DirectoryLog", "LiveDirectory", "import_actor", "tenant_of"]
