"""Rebuilding the views from the log with several processes, each owning a part of the children.

Every view keeps its rows per child: the record, the case list and the access log by the
child's id, and the figures too (a count per child and term, summed when read; the children
counted and the latest decision per child). So the children are split into ``N`` parts by a
hash of the child's id, and each process writes every view for its part alone: it reads the
whole log (cheap), decodes only its own children's facts (the costly part: the sealed state
names its child in the clear, so the others are never opened) and writes their rows. No row
is written by two parts, so the parts need nothing from each other. Splitting by view instead
would not scale: the record and the case list each take nearly every fact, so each would
decode the whole log. The figures must not be split by view either way: they aggregate across
children only when read, and a count kept per tenant and term would be a row every part adds to.

Each part keeps its own position in each view's tracking table, under a name of its own
(``backa#2/1``: part 1 of 2). Its rows and its position commit together, page by page, as the
follower's do (:class:`hub.runtime.follower.LogFollower`), so a part killed at any moment
resumes from its position and applies nothing twice. When every part holds the log up to the
position the rebuild aimed at, one transaction per view moves the view's own position there
and deletes the parts'; a rebuild stopped before that is finished by running it again with
the same number of processes.

While the parts' positions are there, nobody else moves the view: a hub's follower is refused
(its view stalls, and is retried) until the rebuild is done, and then follows from there. Run
it with the hub stopped all the same: a hub cannot serve the views meanwhile.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import resource
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Notification, Tracking

from contracts.events import RecordErased
from hub.keys.child_keys import HEADER, MAGIC
from hub.keys.sealing import FactMapper, PlainSealer
from hub.runtime.follower import LogFollower
from hub.runtime.settings import Settings
from hub.runtime.stores import APP_NAME, store_kit
from projections.base import PostgresViewStore, RowSealer, View

log = logging.getLogger("backa.views")

REBUILD_PAGE = 2_000
"""Facts per page while rebuilding: fewer transactions than the follower's pages, which are
kept short so that a running hub's views follow each commit soon."""
ERASURE = RecordErased.type_name
COLLECT_EVERY = 50_000
"""Allocations between the garbage collector's young collections while rebuilding (Python's
default is 700): see :func:`few_collections`."""


class RebuildError(RuntimeError):
    """The rebuild did not finish; running it again resumes where it stopped."""


@dataclass(frozen=True)
class ChildPart:
    """The children whose id hashes to ``part`` of ``parts`` (CRC-32 of the id's bytes)."""

    part: int
    parts: int

    def owns(self, child_id: UUID) -> bool:
        return zlib.crc32(child_id.bytes) % self.parts == self.part

    def owns_stored(self, notification: Notification) -> bool | None:
        """Whose fact it is, from what is stored in the clear: an erasure's stream is its
        child's; any other sealed fact names its child after the format bytes. A fact stored
        unsealed is decoded first (``None``)."""
        if notification.topic == ERASURE:
            return self.owns(UUID(str(notification.originator_id)))
        state = notification.state
        if len(state) >= HEADER and bytes(state[: len(MAGIC)]) == MAGIC:
            return zlib.crc32(bytes(state[len(MAGIC) : HEADER])) % self.parts == self.part
        return None

    @property
    def tracking_name(self) -> str:
        return part_name(self.part, self.parts)


def part_name(part: int, parts: int) -> str:
    return f"{APP_NAME}#{parts}/{part}"


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild did: the facts read (from the lowest start to its end), in how long."""

    start: int
    end: int
    reached: int
    seconds: float
    processes: int
    cpu: float = 0.0
    """CPU seconds the rebuild's processes used between them (the database's not counted)."""

    @property
    def complete(self) -> bool:
        return self.reached >= self.end

    @property
    def facts(self) -> int:
        return max(0, self.reached - self.start)


# -- the log and the views, as one process opens them ---------------------------------------


class _Log:
    """What :class:`LogFollower` needs of an application: its name, recorder and mapper;
    ``stop`` caps the log at a position, ``deadline`` (``time.time()``) ends it early."""

    def __init__(self, recorder: Any, mapper: FactMapper, stop: int, deadline: float | None) -> None:
        self.name = APP_NAME
        self.mapper = mapper
        self._recorder = recorder
        self._stop = stop
        self._deadline = deadline
        self.recorder = self

    def select_notifications(self, start: int, limit: int, *args: Any, **kwargs: Any) -> Sequence[Notification]:
        if start > self._stop or (self._deadline is not None and time.time() >= self._deadline):
            return []
        return self._recorder.select_notifications(start, limit, stop=self._stop)


@dataclass
class _Opened:
    recorder: Any
    mapper: FactMapper
    views: Any
    sealer: Any


@contextmanager
def _opened(settings: Settings, *, create: bool = True) -> Iterator[_Opened]:
    """The log's recorder, a mapper that opens it and the hub's views, as the hub opens them
    (their tables made unless ``create`` is false: the parts leave that to the rebuild)."""
    from hub.runtime.bootstrap import child_key_sealer, log_keyring

    kit = store_kit(settings)
    if not kit.persistent:
        kit.close()
        raise RebuildError("the views of a hub in memory are rebuilt when it starts")
    with ExitStack() as stack:
        stack.callback(kit.close)
        ring = log_keyring(settings, kit)
        sealer: Any = PlainSealer()
        if ring is not None:
            sealer = child_key_sealer(settings, ring, kit)
            stack.callback(sealer.close)
        rows: RowSealer | None = sealer if callable(getattr(sealer, "seal_row", None)) else None
        views = kit.views(unreachable=lambda: RebuildError("the views' store cannot be reached"), rows=rows)
        stack.callback(views.close)
        for view in views.all():
            if create:
                view.create_table()
            if isinstance(view.store, PostgresViewStore):
                view.store.durable = False  # a page lost in a crash is lost with its position
        mapper = FactMapper(JSONTranscoder())
        mapper.sealer = sealer
        yield _Opened(kit.log_recorder(create=False), mapper, views, sealer)


def _erased(sealer: Any) -> Any:
    """What the hub does on reading an erasure: nothing of the child opens from then on."""

    def erased(erasure: Any) -> None:
        if callable(getattr(sealer, "destroy", None)) and not sealer.is_destroyed(erasure.originator_id):
            sealer.destroy(erasure.originator_id)

    return erased


@contextmanager
def few_collections() -> Iterator[None]:
    """Fewer garbage collections while the rebuild runs, and none over what was there before.

    Decoding a page makes tens of thousands of small objects (the facts, their values, the
    rows), so with Python's default thresholds the collector runs every few facts and, as
    the page's objects survive into the older generations, scans the whole heap (the
    contracts' validators and every imported module) again and again: a quarter of the
    rebuild's time went there. The facts and rows make no reference cycles (they are freed
    as soon as a page is written), so collecting rarely frees nothing later than it would
    have; what the process held when the rebuild began is frozen out of the collections."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(COLLECT_EVERY, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def rebuild_part(
    settings: Settings, part: int, parts: int, end: int, *, batch: int = REBUILD_PAGE, deadline: float | None = None
) -> None:
    """One part's work: every view, for the part's children, up to ``end``."""
    with _opened(settings, create=parts == 1) as opened:
        chosen = ChildPart(part, parts) if parts > 1 else None
        follower = LogFollower(
            _Log(opened.recorder, opened.mapper, end, deadline),  # type: ignore[arg-type]
            opened.views.projections(),
            batch,
            on_erased=_erased(opened.sealer),
            tracking_name=chosen.tracking_name if chosen else None,
            partition=chosen,
        )
        try:
            with few_collections():
                follower.catch_up()
        finally:
            follower.close()


def _part_main(settings: Settings, part: int, parts: int, end: int, batch: int, deadline: float | None) -> None:
    logging.basicConfig(level=logging.WARNING)
    try:
        rebuild_part(settings, part, parts, end, batch=batch, deadline=deadline)
    except Exception as e:
        log.error("part %d of %d of the rebuild stopped: %s", part, parts, type(e).__name__)
        raise SystemExit(1) from None


# -- positions ----------------------------------------------------------------------------


def _table(view: View) -> str:
    return str(getattr(view.store.recorder, "tracking_table_name", "tracking"))


def _positions(view: View, names: Sequence[str]) -> dict[str, int]:
    with view.store.transaction(commit=False) as c:
        c.execute(
            f"SELECT application_name, notification_id FROM {_table(view)} "  # noqa: S608 - our table
            f"WHERE application_name IN ({','.join('?' * len(names))})",
            list(names),
        )
        return {r["application_name"]: int(r["notification_id"]) for r in c.fetchall()}


def _others(view: View, parts: int) -> list[str]:
    """Parts of a rebuild with another number of processes that has not finished."""
    with view.store.transaction(commit=False) as c:
        c.execute(f"SELECT application_name FROM {_table(view)} WHERE application_name LIKE ?", (f"{APP_NAME}#%",))  # noqa: S608
        mine = {part_name(k, parts) for k in range(parts)}
        return [r["application_name"] for r in c.fetchall() if r["application_name"] not in mine]


def _begin(view: View, parts: int) -> int:
    """The view's own position, where each part starts unless it has gone further.

    The view's position row is made if missing and locked while it is read, and the parts'
    rows are written in the same transaction: a hub's follower that moved the view just
    before is waited for, and one that comes after is refused (``ViewRebuildingError``)."""
    others = _others(view, parts)
    if others:
        n = others[0].split("#", 1)[1].split("/", 1)[0]
        raise RebuildError(f"the view {view.name} is being rebuilt with {n} processes: run it again with --processes {n}")
    table = _table(view)
    lock = " FOR UPDATE" if isinstance(view.store, PostgresViewStore) else ""
    with view.store.transaction(commit=True) as c:
        c.execute(f"INSERT INTO {table} VALUES (?, 0) ON CONFLICT (application_name) DO NOTHING", (APP_NAME,))  # noqa: S608
        c.execute(f"SELECT notification_id FROM {table} WHERE application_name = ?{lock}", (APP_NAME,))  # noqa: S608
        row = c.fetchone()
        held = int(row["notification_id"]) if row else 0
        if parts > 1:
            c.executemany(
                f"INSERT INTO {table} VALUES (?, ?) ON CONFLICT (application_name) DO NOTHING",  # noqa: S608
                [(part_name(k, parts), held) for k in range(parts)],
            )
    return held


def _finish(view: View, parts: int, held: int, end: int) -> int:
    """Move the view to ``end`` and drop the parts' positions, in one transaction, once
    every part holds ``end``; return the position the slowest part holds."""
    names = [part_name(k, parts) for k in range(parts)]
    reached = min(_positions(view, names).get(n, held) for n in names)
    if reached < end:
        return reached
    if held >= end:
        with view.store.transaction(commit=True) as c:
            c.executemany(f"DELETE FROM {_table(view)} WHERE application_name = ?", [(n,) for n in names])  # noqa: S608
        return held
    with view.store.transaction(commit=True) as c:  # the parts' rows first: while they are there, the view does not move
        c.executemany(f"DELETE FROM {_table(view)} WHERE application_name = ?", [(n,) for n in names])  # noqa: S608
        view.store.insert_tracking(c, Tracking(APP_NAME, end), after=held)
    return end


def empty(view: View) -> None:
    """Delete every row of the view and every position it holds, in one transaction."""
    tables = [s.split("EXISTS", 1)[1].split("(", 1)[0].strip() for s in view.table_statements if " TABLE " in s]
    with view.store.transaction(commit=True) as c:
        for table in tables:  # TRUNCATE leaves no dead rows for the rebuild to wade through
            c.execute(f"{'TRUNCATE' if isinstance(view.store, PostgresViewStore) else 'DELETE FROM'} {table}")
        c.execute(  # the library keeps rows of its own in the tracking table
            f"DELETE FROM {_table(view)} WHERE application_name = ? OR application_name LIKE ?",  # noqa: S608
            (APP_NAME, f"{APP_NAME}#%"),
        )


# -- the rebuild ----------------------------------------------------------------------------


def rebuild(
    settings: Settings,
    *,
    processes: int = 1,
    batch: int = REBUILD_PAGE,
    from_scratch: bool = False,
    upto: int | None = None,
    deadline: float | None = None,
) -> Rebuilt:
    """Bring every view up to the log's end (or ``upto``) with ``processes`` processes.

    ``from_scratch`` empties the views first. With a ``deadline`` (``time.time()``) the
    parts stop there and the views are left to be finished by a run without one."""
    if processes < 1:
        raise ValueError("a rebuild needs at least one process")
    began = time.perf_counter()
    with _opened(settings) as opened:
        views = opened.views.all()
        if from_scratch:
            for view in views:
                empty(view)
        end = upto if upto is not None else int(opened.recorder.max_notification_id() or 0)
        held = {view.name: _begin(view, processes) for view in views}
    cpu = time.process_time()
    children = _children_cpu()
    if processes == 1:
        rebuild_part(settings, 0, 1, end, batch=batch, deadline=deadline)
        cpu = time.process_time() - cpu
    else:
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(target=_part_main, args=(settings, k, processes, end, batch, deadline), name=f"backa-rebuild-{k}")
            for k in range(processes)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        failed = [w.name for w in workers if w.exitcode != 0]
        if failed:
            raise RebuildError(f"{len(failed)} of {processes} processes of the rebuild failed; run it again to resume")
        cpu = _children_cpu() - children
    seconds = time.perf_counter() - began
    with _opened(settings) as opened:
        if processes == 1:
            reached = min((view.max_tracking_id(APP_NAME) or 0) for view in opened.views.all())
        else:
            reached = min(_finish(view, processes, held[view.name], end) for view in opened.views.all())
    return Rebuilt(min(held.values(), default=0), end, reached, seconds, processes, cpu)


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


__all__ = [
    "COLLECT_EVERY", "REBUILD_PAGE", "ChildPart", "RebuildError", "Rebuilt", "empty", "few_collections", "part_name", "rebuild",
    "rebuild_part",
]
