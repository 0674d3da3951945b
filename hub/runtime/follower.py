"""The views follow the log: a page of facts at a time, off the command path.

A command commits its facts and returns; it does not wait for the views. One follower
per hub brings them up to the log: a background thread, woken after each commit (and
now and then by itself, for facts another process appended), applies each page of new
facts to each view in one transaction. A read that needs the views to hold what its
caller committed waits for that position only (:meth:`LogFollower.catch_up` with
``upto``); when the follower is already there it does not wait at all.

The embedded store offers no subscription, so the follower reads the notification log
from the lowest position any view has tracked. A view's rows and its position commit
together; a page a view already holds (in part) is refused by its tracking insert, the
follower learns the view's true position and applies only the rest, so a follower
stopped at any point and started again loses nothing and applies nothing twice.

A page that fails for another reason is applied again one fact per transaction, so the
view stops at the fact before the one it cannot apply (retried next time) while the
other views go on.

A hub starts serving before its views have caught up (a view rebuilt at a new version,
or a new process beside a long log, may be minutes behind). :meth:`LogFollower.hold_reads`
puts a gate on each view: until the view holds the log as it was when the follower
started, a read of it waits a bounded time and is then refused
(:class:`~hub.errors.ViewsCatchingUpError`, a 503 with ``Retry-After``), never answered
from a view that lags; :attr:`LogFollower.ready` says whether every gate is open.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Protocol
from uuid import UUID

from contracts.events import ErasedFact, RecordErased
from contracts.upcasting import SchemaVersionError
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking
from opentelemetry.propagate import extract
from opentelemetry.trace import Link, get_current_span

from hub.errors import StoreUnavailableError, ViewsCatchingUpError, ViewsStoppedError

log = logging.getLogger("backa.views")

PAGE = 500
"""Facts per page: read from the log in one query, written to each view in one transaction."""
PARALLEL_FROM = 100
"""Pages this long are written by the views side by side; shorter ones in turn, which
costs less than handing them to other threads."""
COALESCE = 0.2
"""Seconds the background follower waits after a commit wakes it, so that a busy hub
writes each view once per many facts; a read that needs them sooner applies them itself,
so no reader waits this long."""
RECENT = 10_000
"""Committed facts kept for the follower, beyond which it decodes from the log."""
LINKS = 32
"""Traces a page's span links to besides its parent (the first fact's)."""
BACKGROUND_NICENESS = 10
"""How far the follower's threads step back for the others (Linux schedules threads one by one)."""
STUCK = 30.0
"""Seconds a read waits for views that had caught up to reach its own commit before it
is refused: they are then stuck, most likely on a store that does not answer."""


class ViewStalledError(RuntimeError):
    """A view could not apply a fact; it stays at the fact before and is retried."""


class ViewGate:
    """A view's reads, held back until the view has caught up with the log as it was
    when the hub started; then open for good (a read after the caller's own command
    waits for its position through :meth:`LogFollower.catch_up` instead)."""

    def __init__(self, wait: float, refusal: Callable[[], Exception] = ViewsCatchingUpError) -> None:
        self.wait = wait
        self.refusal = refusal
        self._open = threading.Event()

    def hold(self) -> None:
        if not self._open.is_set() and not self._open.wait(self.wait):
            raise self.refusal()

    def open(self) -> None:
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()


class LogFollower:
    """Feeds every new notification to every projection, once each, a page at a time."""

    def __init__(
        self,
        app: Application,
        projections: list[Any],
        batch: int = PAGE,
        *,
        on_erased: Callable[[Any], None] | None = None,
        tracking_name: str | None = None,
        partition: Partition | None = None,
    ) -> None:
        self.app = app
        self.stopped_by: SchemaVersionError | None = None
        """Set while the views stand before a fact this release cannot read."""
        self.on_erased = on_erased
        """Called with each erasure read, before its page reaches the views."""
        self.projections = projections
        self.batch = batch
        self.tracking_name = tracking_name or app.name
        """The name the views' positions are tracked under (a part of a rebuild has its own)."""
        self.partition = partition
        """The children this follower writes for, if not every child (see :mod:`hub.runtime.rebuild`)."""
        self._consumes = [_Consumes(p) for p in projections]
        self._wanted = _Consumes.any_of(self._consumes)
        self._lock = threading.Lock()
        self._positions: dict[int, int] | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.parallel_from = PARALLEL_FROM
        self._recent: dict[int, Any] = {}
        self._recent_lock = threading.Lock()
        self.shared = False
        """Whether other processes' followers write the same views (one PostgreSQL schema)."""
        self._workers = ThreadPoolExecutor(max(1, len(projections)), thread_name_prefix="backa-view", initializer=_yielding)
        """One writer per view: while one waits for its database, another turns facts into rows."""
        self._gates: dict[int, ViewGate] = {}
        self._target: int | None = None
        """The log's end when the follower started: what a view must hold to open its gate."""
        self._moved = threading.Condition()
        """Notified whenever the views move on, for readers waiting on a position."""
        self.reads_wait: float | None = None
        """How long a read waits for a lagging view before it is refused (None: as long as it takes)."""

    # -- positions ---------------------------------------------------------------------

    def position(self, projection: Any) -> int:
        """The view's tracked position, as its store has it."""
        return projection.view.max_tracking_id(self.tracking_name) or 0

    @property
    def reached(self) -> int:
        """The position every view is known to hold (0 until the follower has looked)."""
        positions = self._positions
        return min(positions.values(), default=0) if positions else 0

    # -- readiness ---------------------------------------------------------------------

    def hold_reads(self, wait: float) -> None:
        """Gate every view's reads until it has caught up with the log as it is when the
        follower next looks; a read waits up to ``wait`` seconds, then is refused."""
        self.reads_wait = wait
        self._target = None
        for projection in self.projections:
            gate = ViewGate(wait, self.refusal)
            self._gates[id(projection)] = gate
            projection.view.gate = gate

    def refusal(self) -> Exception:
        """Why a read that needs a lagging view gets no answer: the views are catching up
        (try again shortly), or they stopped before a fact this release cannot read."""
        return ViewsStoppedError() if self.stopped_by is not None else ViewsCatchingUpError()

    @property
    def ready(self) -> bool:
        """Whether every view has caught up with the log as it was at start."""
        return all(gate.is_open for gate in self._gates.values())

    @property
    def lagging(self) -> list[str]:
        """The views whose reads are still held back."""
        return sorted(p.name for p in self.projections if id(p) in self._gates and not self._gates[id(p)].is_open)

    def _moved_on(self, positions: dict[int, int]) -> None:
        """Open the gate of every view that holds the start's log, and wake the waiting readers."""
        target = self._target
        if target is not None:
            for projection in self.projections:
                gate = self._gates.get(id(projection))
                if gate is not None and not gate.is_open and positions.get(id(projection), 0) >= target:
                    gate.open()
        with self._moved:
            self._moved.notify_all()

    # -- catching up -------------------------------------------------------------------

    def catch_up(self, upto: int | None = None, *, wait: float | None = None) -> int:
        """Apply every new notification to every view, unless they already hold ``upto``.

        Returns how many notifications were read. A view that fails on a fact stops
        there (and is retried next time) while the others go on; the failure is then
        raised as :class:`ViewStalledError`.

        With ``wait`` (a reader's), the call returns as soon as the views hold ``upto``,
        whoever applies the facts. While the views are still catching up with the start's
        log, such a reader leaves the work to the background follower rather than take on
        all of it, and is refused with :class:`ViewsCatchingUpError` after ``wait``
        seconds; once they have caught up, it waits for its own position as long as the
        follower moves, up to :data:`STUCK` seconds (then :class:`StoreUnavailableError`:
        views that stop following cannot reach their store).
        """
        if wait is None:
            with self._lock:
                return self._locked_catch_up(upto)
        began = time.monotonic()
        while True:
            if upto is not None and self.reached >= upto:
                return 0
            ready = self.ready
            if ready and self._lock.acquire(blocking=False):
                try:
                    return self._locked_catch_up(upto)
                finally:
                    self._lock.release()
            left = began + (max(wait, STUCK) if ready else wait) - time.monotonic()
            if left <= 0:
                if not ready:
                    raise self.refusal()
                raise StoreUnavailableError("the event store cannot be reached")
            with self._moved:
                self._moved.wait(min(left, 0.05))

    def _locked_catch_up(self, upto: int | None) -> int:
        if upto is not None and self.reached >= upto:
            return 0
        try:
            if upto is not None and self.shared and self._positions is not None:
                # Another process's follower may have taken the views there already:
                # asking them costs a query per view, applying again a page's decoding.
                before = self.reached
                self._positions = {id(p): self.position(p) for p in self.projections}
                self._passed_over(before, self.reached)
                if self.reached >= upto:
                    return 0
            return self._catch_up()
        except BaseException:
            self._positions = None  # asked again next time: a write may have landed or not
            raise
        finally:
            with self._moved:
                self._moved.notify_all()

    def _catch_up(self) -> int:
        if self._positions is None:
            self._positions = {id(p): self.position(p) for p in self.projections}
        positions = self._positions
        if self._gates and self._target is None:
            self._target = self.app.recorder.max_notification_id() or 0  # the log at the start
        self._moved_on(positions)
        stalled: dict[int, Exception] = {}
        read = 0
        pending = self._read_page(min(positions.values(), default=0) + 1)
        while pending:
            page, last = pending
            with self._span(page):
                todo = [
                    (p, c) for p, c in zip(self.projections, self._consumes, strict=True)
                    if id(p) not in stalled and positions[id(p)] < last
                ]
                if len(page) < self.parallel_from:
                    outcomes = [(id(p), _outcome(self._apply, p, c.page(page), last, positions[id(p)])) for p, c in todo]
                    pending = self._read_page(last + 1)
                else:
                    futures = {
                        id(p): self._workers.submit(self._apply, p, c.page(page), last, positions[id(p)]) for p, c in todo
                    }
                    try:
                        pending = self._read_page(last + 1)  # the next page is read while the views write
                    finally:
                        wait(futures.values())
                    outcomes = [(key, _outcome(f.result)) for key, f in futures.items()]
                for key, (position, cause) in outcomes:
                    positions[key] = position
                    if cause is not None:
                        stalled[key] = cause
                self._moved_on(positions)
            read += len(page)
        telemetry = getattr(self.app, "telemetry", None)
        if telemetry is not None and read:
            telemetry.projection_lag.record(read)
        if stalled:
            names = ", ".join(sorted(p.name for p in self.projections if id(p) in stalled))
            raise ViewStalledError(f"views stalled: {names}") from next(iter(stalled.values()))
        return read

    def _read_page(self, start: int) -> tuple[list[tuple[int, Any]], int] | None:
        """The next page, each fact some view takes (of the follower's children) decoded
        once for every view; the others are never decoded. With the page's last position,
        which every view moves to."""
        notifications = self.app.recorder.select_notifications(start, self.batch)
        if not notifications:
            return None
        wanted, partition = self._wanted, self.partition
        chosen = [
            n for n in notifications
            if wanted(n.topic) and (partition is None or partition.owns_stored(n) is not False)
        ]
        recent, mapper = self._recent, self.app.mapper
        decode = mapper.to_domain_event
        with self._recent_lock:
            known = {n.id: recent.pop(n.id) for n in chosen if n.id in recent}
            for n in notifications if len(chosen) < len(notifications) else ():
                recent.pop(n.id, None)
        warm = getattr(getattr(mapper, "sealer", None), "warm", None)
        if callable(warm):
            warm([n.state for n in chosen if n.id not in known])  # every new child's key in one query
        page = [(n.id, known.get(n.id) or decode(n)) for n in chosen]
        if partition is not None:
            page = [(position, e) for position, e in page if partition.owns(e.fact.child_id)]
        erased = {e.originator_id: e for _, e in page if isinstance(e.fact, RecordErased)}
        if erased:
            for erasure in erased.values():
                if self.on_erased is not None:
                    self.on_erased(erasure)
            page = [(position, _passed_over(e) if _erased_by(e, erased) else e) for position, e in page]
        return page, notifications[-1].id

    def _passed_over(self, start: int, end: int) -> None:
        """Erasures between ``start`` and ``end`` that another process's follower took into the
        views: this process must still drop what it keeps of those children."""
        if self.on_erased is None or end <= start:
            return
        while start < end:
            found = self.app.recorder.select_notifications(
                start, self.batch, stop=end, topics=[RecordErased.type_name], inclusive_of_start=False
            )
            for notification in found:
                self.on_erased(self.app.mapper.to_domain_event(notification))
            if len(found) < self.batch:
                return
            start = found[-1].id

    def forget(self, child_id: Any) -> None:
        """Drop what this process remembers of an erased child's facts."""
        with self._recent_lock:
            for position in [p for p, e in self._recent.items() if e.fact.child_id == child_id]:
                del self._recent[position]

    def remember(self, committed: Sequence[tuple[int, Any]]) -> None:
        """Facts this process just committed, with their positions: the follower takes
        them from here instead of decoding what it reads back from the log."""
        with self._recent_lock:
            self._recent.update(committed)
            while len(self._recent) > RECENT:
                self._recent.pop(next(iter(self._recent)))

    @contextmanager
    def _span(self, page: Sequence[tuple[int, Any]]) -> Iterator[None]:
        """A span in the trace of the request that appended the page's first fact, linked
        to the others', so a request's trace goes on into its views."""
        telemetry = getattr(self.app, "telemetry", None)
        if telemetry is None:
            yield
            return
        parents = list(dict.fromkeys(e.traceparent for _, e in page if getattr(e, "traceparent", None)))
        context = extract({"traceparent": parents[0]}) if parents else None
        links = []
        for tp in parents[1 : LINKS + 1]:
            linked = get_current_span(extract({"traceparent": tp})).get_span_context()
            if linked.is_valid:
                links.append(Link(linked))
        with telemetry.tracer.start_as_current_span(
            "backa.project", context=context, links=links, attributes={"backa.facts": len(page)},
            record_exception=False,  # a database error's message may quote a row
        ):
            yield

    def _apply(self, projection: Any, page: Sequence[tuple[int, Any]], last: int, held: int) -> int:
        """Apply the part of ``page`` after ``held`` to one view and move it to ``last`` (a
        page may hold no fact the view takes, and still moves it); return its new position."""
        for _ in range(3):
            if last <= held:
                return held
            mine = [(position, event.fact) for position, event in page if position > held]
            try:
                projection.process_page(mine, Tracking(self.tracking_name, last), after=held)
                return last
            except IntegrityError:
                held = self.position(projection)  # another follower got there first
            except Exception:  # noqa: BLE001 - find the one fact that fails, below
                break
        for position, event in page:
            if position <= held:
                continue
            try:
                projection.process_event(event, Tracking(self.tracking_name, position))
            except IntegrityError:
                pass
            except Exception as e:  # noqa: BLE001 - reported by the caller, after the other views
                raise _Stalled(held, e) from e
            held = position
        if held < last:  # the page's last facts were none the view takes
            try:
                projection.process_page([], Tracking(self.tracking_name, last), after=held)
                held = last
            except IntegrityError:
                held = self.position(projection)
            except Exception as e:  # noqa: BLE001 - reported by the caller, after the other views
                raise _Stalled(held, e) from e
        return held

    # -- in the background -------------------------------------------------------------

    def start(self, poll_interval: float = 1.0) -> None:
        """Follow in a background thread: at once, then after each :meth:`wake`, and
        every ``poll_interval`` seconds for facts appended by another process."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(poll_interval,), name="backa-views", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop following in the background; :meth:`catch_up` still works."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout)

    def close(self) -> None:
        self.stop()
        self._workers.shutdown(wait=False)

    def _run(self, poll_interval: float) -> None:
        _yielding()
        failures = 0
        first = True
        while not self._stop.is_set():
            if not first:
                woken = self._wake.wait(poll_interval if failures == 0 else min(30.0, poll_interval * 2**failures))
                if woken and self._stop.wait(COALESCE):
                    return  # let the commits that follow this one join its page
            first = False
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.catch_up()
                failures = 0
                self.stopped_by = None
            except ViewStalledError as e:
                failures += 1
                log.error("%s (%s)", e, type(e.__cause__).__name__)
            except SchemaVersionError as e:  # its message names the type and version, never the fact
                failures += 1
                self.stopped_by = e
                log.error("views stopped before a fact this release cannot read: %s", e)
            except Exception as e:  # noqa: BLE001 - the thread must outlive a store that is away
                failures += 1
                log.warning("views cannot follow the log now (%s); trying again", type(e).__name__)


class Partition(Protocol):
    """Some of the children: a follower with one writes only their facts."""

    def owns_stored(self, notification: Any) -> bool | None:
        """Whether the stored fact is one of these children's, if that shows without
        opening it (``None``: decode it and ask :meth:`owns`)."""

    def owns(self, child_id: UUID) -> bool: ...


class _Consumes:
    """Which stored types a view takes (its projection's ``consumes``; every type if it
    has none), remembered per type."""

    def __init__(self, projection: Any) -> None:
        self._ask: Callable[[str], bool] | None = getattr(projection, "consumes", None)
        self._known: dict[str, bool] = {}

    def __call__(self, topic: str) -> bool:
        known = self._known.get(topic)
        if known is None:
            known = self._known[topic] = True if self._ask is None else bool(self._ask(topic))
        return known

    def page(self, page: Sequence[tuple[int, Any]]) -> Sequence[tuple[int, Any]]:
        if self._ask is None:
            return page
        return [(position, e) for position, e in page if self(e.fact.type_name)]

    @staticmethod
    def any_of(views: Sequence[_Consumes]) -> Callable[[str], bool]:
        known: dict[str, bool] = {}

        def wanted(topic: str) -> bool:
            found = known.get(topic)
            if found is None:
                found = known[topic] = topic == RecordErased.type_name or any(v(topic) for v in views)
            return found

        return wanted


def _yielding() -> None:
    """Let the threads that answer requests go first: a follower catching up with a long
    log would otherwise hold the interpreter while the hub is still starting to listen."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
    except (AttributeError, OSError):
        pass  # not on this system, or not allowed: the threads run as they are


def _erased_by(recorded: Any, erasures: dict[Any, Any]) -> bool:
    """A fact of a child erased in the same page (taken from memory, so still readable)."""
    fact = recorded.fact
    return not isinstance(fact, RecordErased | ErasedFact) and fact.child_id in erasures


def _passed_over(recorded: Any) -> Any:
    return replace(recorded, fact=ErasedFact(recorded.fact.child_id, recorded.fact.type_name), traceparent=None)


def _outcome(call: Any, *args: Any) -> tuple[int, Exception | None]:
    """A view's new position, and what stalled it there (if anything did)."""
    try:
        return call(*args), None
    except _Stalled as e:
        return e.position, e.cause


class _Stalled(Exception):
    def __init__(self, position: int, cause: Exception) -> None:
        super().__init__(position)
        self.position = position
        self.cause = cause


__all__ = ["PAGE", "LogFollower", "Partition", "ViewGate", "ViewStalledError"]
