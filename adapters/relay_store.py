"""Where the relay keeps its place in the hub's log, and how it learns of new commits.

The position is recorded only after JetStream acknowledged every delivery up to it
(:mod:`adapters.jetstream_relay`); beside it, the stream sequence of every message that
carries a child's information, so an erasure can take those messages back, and the sealed
deliveries held for units' daily digests (:mod:`adapters.digests`). All live in
a small SQLite file, or in the hub's own PostgreSQL schema beside the log, so a database
restored from backup carries the relay's place in it too. On PostgreSQL the relay is
woken by the recorder's ``NOTIFY`` on every commit instead of polling the log often.
The tables are made by the migrations the hub's store kit applies (``hub.runtime.migrations``).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

from adapters.digests import HeldItem

log = logging.getLogger("backa.relay")


@dataclass(frozen=True)
class RelayPosition:
    position: int = 0
    """The last log position whose deliveries all were acknowledged."""
    stream_seq: int = 0
    """The highest stream sequence acknowledged up to then."""


class PositionStore(Protocol):
    """The relay's position, and which stream messages carry which child's information."""

    name: str
    """The name the position is stored under (one per relay partition)."""
    sent_name: str
    """The name the messages sent are listed under (the same for every partition)."""

    def load(self) -> RelayPosition: ...

    def save(self, position: RelayPosition) -> None: ...

    def remember(self, sent: Sequence[tuple[str, int]]) -> None:
        """``(child id, stream sequence)`` of messages just acknowledged."""
        ...

    def sent(self, child_id: str) -> list[int]:
        """The stream sequences of the child's messages not yet taken back."""
        ...

    def forget(self, child_id: str, seqs: Sequence[int]) -> None: ...

    def names(self) -> list[str]:
        """The names of every position stored."""
        ...

    def keep(self, held: Sequence[HeldItem], position: RelayPosition) -> None:
        """Hold sealed deliveries for their digests and record the position after them, in
        one transaction: a relay that stops holds each once, whenever it stops."""
        ...

    def due(self, now: datetime) -> list[tuple[str, str, date, datetime]]:
        """``(tenant, unit, day, due at)`` of every digest with held items due by ``now``."""
        ...

    def held(self, tenant_id: str, unit_id: str, day: date) -> list[HeldItem]:
        """The items of one digest, in the order their facts were committed."""
        ...

    def digested(self, tenant_id: str, unit_id: str, day: date) -> None:
        """Forget a digest's items once JetStream has stored the digest."""
        ...

    def drop_held(self, child_id: str) -> int:
        """Take an erased child's held items back out; how many there were."""
        ...

    def create(self, name: str) -> None:
        """Store a position at the start of the log under ``name``, unless one is there."""
        ...

    def replace(self, old: Iterable[str], new: Mapping[str, RelayPosition]) -> None:
        """Remove the ``old`` positions and store the ``new`` ones, all at once or not at all."""
        ...

    def hold(self, name: str) -> bool:
        """Hold the lock of the position ``name`` until :meth:`release` or the process ends;
        false when another relay holds it."""
        ...

    def release(self) -> None: ...


class SQLitePositionStore:
    """The relay's position in a small SQLite file, written with a full sync."""

    def __init__(self, path: Path, name: str = "relay") -> None:
        self.path = path
        self.name = name
        """The position's name: ``relay``, or one partition's (:mod:`adapters.relay_partition`)."""
        self.sent_name = name
        """Whose messages ``relay_sent`` lists: one name for every partition, as each child's
        messages are sent by one partition only and stay listed when it is re-partitioned."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock: Any = None
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # the relay calls it from one thread of its own
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")

    def load(self) -> RelayPosition:
        row = self._db.execute(
            "SELECT position, stream_seq FROM relay_position WHERE name = ?", (self.name,)
        ).fetchone()
        return RelayPosition(*row) if row else RelayPosition()

    def save(self, position: RelayPosition) -> None:
        self._db.execute(
            "INSERT INTO relay_position (name, position, stream_seq) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET position = excluded.position, stream_seq = excluded.stream_seq",
            (self.name, position.position, position.stream_seq),
        )

    def remember(self, sent: Sequence[tuple[str, int]]) -> None:
        if sent:
            self._db.executemany(
                "INSERT INTO relay_sent VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [(self.sent_name, c, q) for c, q in sent]
            )

    def sent(self, child_id: str) -> list[int]:
        rows = self._db.execute(
            "SELECT stream_seq FROM relay_sent WHERE name = ? AND child_id = ? ORDER BY stream_seq", (self.sent_name, child_id)
        )
        return [int(r[0]) for r in rows]

    def forget(self, child_id: str, seqs: Sequence[int]) -> None:
        self._db.executemany(
            "DELETE FROM relay_sent WHERE name = ? AND child_id = ? AND stream_seq = ?", [(self.sent_name, child_id, q) for q in seqs]
        )

    def names(self) -> list[str]:
        """The names of every position stored."""
        return [str(r[0]) for r in self._db.execute("SELECT name FROM relay_position ORDER BY name")]

    def keep(self, held: Sequence[HeldItem], position: RelayPosition) -> None:
        if not held:
            self.save(position)
            return
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO relay_held VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [_held_row(self.sent_name, h) for h in held],
            )
            self.save(position)

    def due(self, now: datetime) -> list[tuple[str, str, date, datetime]]:
        rows = self._db.execute(
            "SELECT tenant_id, unit_id, day, MIN(due_at) FROM relay_held WHERE name = ? AND due_at <= ? "
            "GROUP BY tenant_id, unit_id, day ORDER BY 4, 1, 2",
            (self.sent_name, _utc(now)),
        )
        return [(r[0], r[1], date.fromisoformat(r[2]), datetime.fromisoformat(r[3])) for r in rows]

    def held(self, tenant_id: str, unit_id: str, day: date) -> list[HeldItem]:
        rows = self._db.execute(
            "SELECT msg_id, tenant_id, unit_id, child_id, day, due_at, position, idx, subject, event FROM relay_held "
            "WHERE name = ? AND tenant_id = ? AND unit_id = ? AND day = ? ORDER BY position, idx",
            (self.sent_name, tenant_id, unit_id, day.isoformat()),
        )
        return [_held_item(r) for r in rows]

    def digested(self, tenant_id: str, unit_id: str, day: date) -> None:
        self._db.execute(
            "DELETE FROM relay_held WHERE name = ? AND tenant_id = ? AND unit_id = ? AND day = ?",
            (self.sent_name, tenant_id, unit_id, day.isoformat()),
        )

    def drop_held(self, child_id: str) -> int:
        cursor = self._db.execute("DELETE FROM relay_held WHERE name = ? AND child_id = ?", (self.sent_name, child_id))
        return int(cursor.rowcount)

    def create(self, name: str) -> None:
        """Store a position at the start of the log under ``name``, unless one is there."""
        self._db.execute("INSERT INTO relay_position VALUES (?, 0, 0) ON CONFLICT(name) DO NOTHING", (name,))

    def replace(self, old: Iterable[str], new: Mapping[str, RelayPosition]) -> None:
        """Remove the ``old`` positions and store the ``new`` ones, all at once or not at all."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM relay_position WHERE name = ?", [(n,) for n in old])
            self._db.executemany(
                "INSERT INTO relay_position VALUES (?, ?, ?)", [(n, p.position, p.stream_seq) for n, p in new.items()]
            )

    def hold(self, name: str) -> bool:
        """An exclusive ``flock`` on a file beside the store's, released by the kernel when
        the process ends however it ends."""
        import fcntl

        if self._lock is not None:
            return True
        handle = open(self.path.with_name(f"{self.path.name}.{name}.lock"), "a+b")  # noqa: SIM115 - held until released
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock = handle
        return True

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def close(self) -> None:
        self.release()
        self._db.close()


class PostgresPositionStore:
    """The relay's position in the hub's own PostgreSQL schema, beside the log it follows,
    so a database restored from backup carries the relay's place in it too.

    Its connections are made with ``conninfo``'s deadlines (connect timeout, statement
    timeout, keepalives, TCP user timeout) and of ``connection_class``, which the hub's
    store kit gives a deadline on every answer, as the hub's own connections have."""

    def __init__(
        self, conninfo: str, schema: str = "public", name: str = "relay", *, connection_class: type[Any] | None = None
    ) -> None:
        import psycopg
        from psycopg import sql

        self.name = name
        self.sent_name = name
        self._conninfo = conninfo
        self._schema = schema
        self._lock: Any = None
        self._connection_class: Any = connection_class or psycopg.Connection
        self._conn = self._connection_class.connect(conninfo, autocommit=True)
        self._table = sql.Identifier(schema, "relay_position")
        self._sent = sql.Identifier(schema, "relay_sent")
        self._held = sql.Identifier(schema, "relay_held")
        self._sql = sql

    @property
    def _db(self) -> Any:
        """The store's connection, made again when the last one broke or was given up."""
        if self._conn.closed:
            self._conn = self._connection_class.connect(self._conninfo, autocommit=True)
        return self._conn

    def load(self) -> RelayPosition:
        row = self._db.execute(
            self._sql.SQL("SELECT position, stream_seq FROM {} WHERE name = %s").format(self._table), (self.name,)
        ).fetchone()
        return RelayPosition(*row) if row else RelayPosition()

    def save(self, position: RelayPosition) -> None:
        self._db.execute(
            self._sql.SQL(
                "INSERT INTO {} (name, position, stream_seq) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, stream_seq = EXCLUDED.stream_seq"
            ).format(self._table),
            (self.name, position.position, position.stream_seq),
        )

    def remember(self, sent: Sequence[tuple[str, int]]) -> None:
        """One statement for a whole batch, not one per message."""
        if sent:
            self._db.execute(
                self._sql.SQL(
                    "INSERT INTO {} SELECT %s, c, q FROM unnest(%s::text[], %s::bigint[]) AS t(c, q) ON CONFLICT DO NOTHING"
                ).format(self._sent),
                (self.sent_name, [c for c, _ in sent], [q for _, q in sent]),
            )

    def sent(self, child_id: str) -> list[int]:
        rows = self._db.execute(
            self._sql.SQL("SELECT stream_seq FROM {} WHERE name = %s AND child_id = %s ORDER BY stream_seq").format(self._sent),
            (self.sent_name, child_id),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def forget(self, child_id: str, seqs: Sequence[int]) -> None:
        with self._db.cursor() as cur:
            cur.executemany(
                self._sql.SQL("DELETE FROM {} WHERE name = %s AND child_id = %s AND stream_seq = %s").format(self._sent),
                [(self.sent_name, child_id, q) for q in seqs],
            )

    def names(self) -> list[str]:
        """The names of every position stored."""
        rows = self._db.execute(self._sql.SQL("SELECT name FROM {} ORDER BY name").format(self._table)).fetchall()
        return [str(r[0]) for r in rows]

    def keep(self, held: Sequence[HeldItem], position: RelayPosition) -> None:
        if not held:
            self.save(position)
            return
        db = self._db
        with db.transaction(), db.cursor() as cur:
            cur.executemany(
                self._sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(
                    self._held
                ),
                [_held_row(self.sent_name, h) for h in held],
            )
            cur.execute(
                self._sql.SQL(
                    "INSERT INTO {} (name, position, stream_seq) VALUES (%s, %s, %s) "
                    "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, stream_seq = EXCLUDED.stream_seq"
                ).format(self._table),
                (self.name, position.position, position.stream_seq),
            )

    def due(self, now: datetime) -> list[tuple[str, str, date, datetime]]:
        rows = self._db.execute(
            self._sql.SQL(
                "SELECT tenant_id, unit_id, day, MIN(due_at) FROM {} WHERE name = %s AND due_at <= %s "
                "GROUP BY tenant_id, unit_id, day ORDER BY 4, 1, 2"
            ).format(self._held),
            (self.sent_name, _utc(now)),
        ).fetchall()
        return [(r[0], r[1], date.fromisoformat(r[2]), datetime.fromisoformat(r[3])) for r in rows]

    def held(self, tenant_id: str, unit_id: str, day: date) -> list[HeldItem]:
        rows = self._db.execute(
            self._sql.SQL(
                "SELECT msg_id, tenant_id, unit_id, child_id, day, due_at, position, idx, subject, event FROM {} "
                "WHERE name = %s AND tenant_id = %s AND unit_id = %s AND day = %s ORDER BY position, idx"
            ).format(self._held),
            (self.sent_name, tenant_id, unit_id, day.isoformat()),
        ).fetchall()
        return [_held_item(r) for r in rows]

    def digested(self, tenant_id: str, unit_id: str, day: date) -> None:
        self._db.execute(
            self._sql.SQL("DELETE FROM {} WHERE name = %s AND tenant_id = %s AND unit_id = %s AND day = %s").format(self._held),
            (self.sent_name, tenant_id, unit_id, day.isoformat()),
        )

    def drop_held(self, child_id: str) -> int:
        cursor = self._db.execute(
            self._sql.SQL("DELETE FROM {} WHERE name = %s AND child_id = %s").format(self._held), (self.sent_name, child_id)
        )
        return int(cursor.rowcount)

    def create(self, name: str) -> None:
        """Store a position at the start of the log under ``name``, unless one is there."""
        self._db.execute(
            self._sql.SQL("INSERT INTO {} VALUES (%s, 0, 0) ON CONFLICT (name) DO NOTHING").format(self._table), (name,)
        )

    def replace(self, old: Iterable[str], new: Mapping[str, RelayPosition]) -> None:
        """Remove the ``old`` positions and store the ``new`` ones, all at once or not at all."""
        with self._db.transaction(), self._db.cursor() as cur:
            cur.executemany(self._sql.SQL("DELETE FROM {} WHERE name = %s").format(self._table), [(n,) for n in old])
            cur.executemany(
                self._sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self._table),
                [(n, p.position, p.stream_seq) for n, p in new.items()],
            )

    def hold(self, name: str, timeout: float = 10.0) -> bool:
        """A session advisory lock, on a connection of its own that nothing else uses (a
        pooled one would hand the lock on), released by the server when the connection
        ends however the process ends. Asked again after a fault, it checks that the
        connection, and so the lock, is still there."""
        import psycopg

        if self._lock is not None:
            try:
                self._lock.execute("SELECT 1")  # a lock on a connection that broke is gone
                return True
            except psycopg.Error:
                self.release()
        conn = self._connection_class.connect(self._conninfo, autocommit=True, connect_timeout=max(1, round(timeout)))
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (f"backa.relay_position:{self._schema}.{name}",)
        ).fetchone()
        if not (row and row[0]):
            conn.close()
            return False
        self._lock = conn
        return True

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def close(self) -> None:
        self.release()
        self._conn.close()


def _utc(moment: datetime) -> str:
    """A moment as stored: ISO 8601 in UTC, which sorts as text in the order of time."""
    return moment.astimezone(UTC).isoformat()


def _held_row(name: str, h: HeldItem) -> tuple[Any, ...]:
    return (
        name, h.msg_id, h.tenant_id, h.unit_id, h.child_id, h.day.isoformat(), _utc(h.due_at), h.position, h.index,
        h.subject, h.event,
    )


def _held_item(row: Sequence[Any]) -> HeldItem:
    return HeldItem(
        msg_id=row[0], tenant_id=row[1], unit_id=row[2], child_id=row[3], day=date.fromisoformat(row[4]),
        due_at=datetime.fromisoformat(row[5]), position=int(row[6]), index=int(row[7]), subject=row[8], event=bytes(row[9]),
    )


class CommitListener(Protocol):
    """Tells the relay as soon as the hub commits, so it need not poll the log often."""

    listening: bool
    """Whether it is listening now; while it is not, the relay polls at its short interval."""

    async def listen(self, committed: asyncio.Event, stop: asyncio.Event) -> None:
        """Set ``committed`` on every commit until ``stop`` is set, listening again after a
        fault; also set it when listening (re)starts, for what came while it did not."""


class PostgresCommitListener:
    """LISTENs on the channel the hub's PostgreSQL recorder NOTIFYs in every insert of
    facts (eventsourcing names it after the events table), on a connection of its own,
    made with ``conninfo``'s deadlines; connecting and starting to listen are given up
    after ``answer_timeout`` seconds, and tried again."""

    def __init__(self, conninfo: str, channel: str, retry_after: float = 1.0, answer_timeout: float | None = None) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.retry_after = retry_after
        self.answer_timeout = answer_timeout
        self.listening = False

    async def listen(self, committed: asyncio.Event, stop: asyncio.Event) -> None:
        import psycopg
        from psycopg import sql

        while not stop.is_set():
            try:
                async with asyncio.timeout(self.answer_timeout):
                    conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                async with conn:
                    async with asyncio.timeout(self.answer_timeout):
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self.listening = True
                    committed.set()
                    while not stop.is_set():
                        async for _ in conn.notifies(timeout=1.0):
                            committed.set()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the relay polls meanwhile; listen again later
                log.warning("relay: not notified of commits (%s); polling the log until listening again", type(e).__name__)
            finally:
                self.listening = False
            await wait_or_stop(stop, self.retry_after)


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Pause for ``seconds``, or less if ``stop`` is set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


__all__ = [
    "CommitListener",
    "PositionStore",
    "PostgresCommitListener",
    "PostgresPositionStore",
    "RelayPosition",
    "SQLitePositionStore",
    "wait_or_stop",
]
