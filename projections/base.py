"""What every view shares: rows and the tracking position commit in one transaction.

A view is written once, in SQL both engines speak: ``?`` placeholders, upserts as
``INSERT ... ON CONFLICT ... DO ...``, rows read by column name. Where the view lives
is a :class:`ViewStore`: an SQLite file (or shared in-memory database), or a schema in
PostgreSQL where every view has its own tracking table.

``write`` runs the rows' statements and records the tracking position in one
transaction. A :class:`PageProjection` hands it a page of facts at a time, so a view
pays one transaction per page rather than one per fact. The tracking record is a single row per application, moved forward only
by a higher position; an event the view already holds makes that upsert fail with
:class:`IntegrityError` and its rows roll back with it. So a projection stopped at any
point and started again ends in the same state as one that never stopped.
"""

from __future__ import annotations

import json
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from uuid import UUID, uuid4

import orjson
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    Tracking,
)
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder, SQLiteTransaction
from psycopg.sql import SQL, Composed, Identifier

from contracts.events import EVENT_TYPES, ErasedFact, RecordErased

Row = Mapping[str, Any]
_VALUES = re.compile(r"^(INSERT INTO \w+ )VALUES (\(\?(?:, ?\?)*\))(.*)$", re.S)
_DELETE = re.compile(r"^(DELETE FROM \w+ WHERE \w+) = \?$")
VERSIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS view_versions (view TEXT PRIMARY KEY, version INTEGER NOT NULL, tables TEXT NOT NULL)"
)
"""The version each view's tables were built at, as releases before ``view_builds`` kept it
(one version per view, rebuilt in place). Read to adopt those tables, never written otherwise:
a process of such a release that starts during a deploy still finds its own version there
and keeps its tables."""
BUILDS_TABLE = (
    "CREATE TABLE IF NOT EXISTS view_builds (view TEXT NOT NULL, version INTEGER NOT NULL, tables TEXT NOT NULL, "
    "caught_up_at BIGINT, used_at BIGINT NOT NULL, PRIMARY KEY (view, version))"
)
"""Every version of every view whose tables exist, side by side: their names, when the
version first caught up with the log and when a process last served from it (seconds
since the epoch, by the hubs' clocks). See :meth:`ViewStore.prune`."""
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
UNREACHABLE = (OperationalError, InterfaceError)
"""What a database that cannot be reached raises, on either engine."""


def memory_db_name(label: str) -> str:
    """A private in-memory SQLite database shared by the pool's connections."""
    return f"file:{label}_{uuid4().hex}?mode=memory&cache=shared"


def versioned(name: str, version: int) -> str:
    """A table's (or index's) name at a view's version: as it always was at version 1, so
    the tables of releases before versions were kept side by side are version 1's."""
    return name if version == 1 else f"{name}_v{version}"


_MADE = re.compile(r"CREATE (?:UNIQUE )?(?:TABLE|INDEX) IF NOT EXISTS (\w+)")
_TABLES = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")


class Names:
    """A view's table and index names at one version, and its statements rewritten to them.

    Every statement a view runs names its tables as version 1 did (``cases``); its store's
    cursor rewrites them to the version's (``cases_v2``), so two releases with different
    versions of a view keep their tables side by side in one database and each reads only
    its own. Quoted text is left alone. ``None`` as the rewrite: names are as written."""

    def __init__(self, statements: Sequence[str], version: int) -> None:
        made = list(dict.fromkeys(_MADE.findall(" ".join(statements))))
        self.version = version
        self.tables = [versioned(t, version) for t in _TABLES.findall(" ".join(statements))]
        """The version's tables (their indexes go with them)."""
        self.mapping = {n: versioned(n, version) for n in made}
        self.rename: Callable[[str], str] | None = None
        if version != 1 and made:
            pattern = re.compile(r"'(?:[^']|'')*'|\b(?:" + "|".join(map(re.escape, made)) + r")\b")
            mapping = self.mapping

            def rename(sql: str) -> str:
                return pattern.sub(lambda m: mapping.get(m.group(0), m.group(0)), sql)

            self.rename = lru_cache(maxsize=1024)(rename)
        self.statements = tuple(self.rename(s) for s in statements) if self.rename else tuple(statements)


def _identifier(name: str) -> str:
    """A table's name as written into a statement, refused unless it is a plain one."""
    if not _NAME.fullmatch(name):
        raise ProgrammingError("a view's table must have a plain lower-case name")
    return name


@lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _array(column: Sequence[Any]) -> tuple[str, list[Any]]:
    """A column of values as a PostgreSQL array and its type (a view's columns hold text and integers)."""
    kind = next((type(v) for v in column if v is not None), str)
    return ("bigint[]" if kind is int else "text[]"), list(column)


class ViewCursor:
    """A cursor in a view's transaction that takes ``?`` placeholders on every engine
    and gives rows that are read by column name. ``rename`` rewrites the view's table names
    to its version's (:class:`Names`)."""

    __slots__ = ("raw", "_translate", "_rename")

    def __init__(
        self, raw: Any, translate: Callable[[str], str] | None = None, rename: Callable[[str], str] | None = None
    ) -> None:
        self.raw = raw
        self._translate = translate
        self._rename = rename

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self._rename is not None:
            sql = self._rename(sql)
        self.raw.execute(self._translate(sql) if self._translate else sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement for many rows. On PostgreSQL an ``INSERT ... VALUES (?, ...)``
        becomes one ``INSERT ... SELECT * FROM unnest(?, ...)`` with an array per column, and a ``DELETE ... WHERE
        column = ?`` one with ``= ANY(?)``: PostgreSQL then runs one statement, where
        psycopg's ``executemany`` (pipelined) still makes it run one per row. An upsert
        that updates must be given rows with distinct keys, as PostgreSQL asks of one
        statement. In SQLite, one loop."""
        if not rows:
            return
        if self._rename is not None:
            sql = self._rename(sql)
        if self._translate is not None and len(rows) > 1:
            if (values := _VALUES.match(sql)) is not None:
                head, _, tail = values.groups()
                columns = [_array(column) for column in zip(*rows, strict=True)]
                arrays = ", ".join(f"%b::{kind}" for kind, _ in columns)  # binary: no quoting of each element
                query = f"{head}SELECT * FROM unnest(?){tail}"  # noqa: S608 - our statement, placeholders only
                self.raw.execute(self._translate(query).replace("%s", arrays, 1), [values for _, values in columns])
                return
            if (delete := _DELETE.match(sql)) is not None:
                self.raw.execute(self._translate(delete.group(1) + " = ANY(?)"), ([r[0] for r in rows],))
                return
        self.raw.executemany(self._translate(sql) if self._translate else sql, [tuple(r) for r in rows])

    def fetchone(self) -> Row | None:
        return self.raw.fetchone()  # type: ignore[no-any-return]

    def insert_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        """Plain inserts of many whole rows: ``COPY`` on PostgreSQL (one round trip for a
        page, where an ``executemany`` pays per row), ``executemany`` on SQLite. Like an
        ``INSERT``, a row that breaks a key fails the transaction."""
        if not rows:
            return
        if self._rename is not None:
            table = self._rename(table)
        if self._translate is None:
            self.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(rows[0]))})", rows)  # noqa: S608 - our table
            return
        with self.raw.copy(SQL("COPY {0} FROM STDIN").format(Identifier(table))) as copy:
            for row in rows:
                copy.write_row(row)

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed (the library wraps SQLite's cursor)."""
        return int(getattr(self.raw, "sqlite_cursor", self.raw).rowcount)

    def fetchall(self) -> list[Row]:
        return list(self.raw.fetchall())


class ViewRebuildingError(RuntimeError):
    """The view is being rebuilt by parts (``backa views rebuild``); it stays where it is."""


class ViewStore(ABC):
    """Where one view's tables and its tracking record live."""

    recorder: SQLiteTrackingRecorder | PostgresTrackingRecorder

    @abstractmethod
    def transaction(self, *, commit: bool, renamed: bool = True) -> AbstractContextManager[ViewCursor]:
        """A transaction on the view's tables, committed only when asked and nothing failed.
        Its statements name the tables as version 1 did and run on this version's
        (:class:`Names`); with ``renamed`` false they run as written (the records of every
        version, and the dropping of another version's tables)."""

    @abstractmethod
    def insert_tracking(self, cursor: ViewCursor, tracking: Tracking, after: int | None = None) -> None:
        """Move the view's position to ``tracking`` inside the cursor's transaction.

        With ``after`` the move is a compare-and-set: it succeeds only if the view is at
        exactly ``after``, so a page of facts is never applied on top of a part of it
        that another follower wrote meanwhile. Without it the position only moves forward
        (the library's own rule, enough for one fact at a time). Either way a refusal is
        :class:`IntegrityError` (or :class:`ViewRebuildingError` while the view is rebuilt
        by parts) and the transaction rolls back."""

    @staticmethod
    def _move(cursor: ViewCursor, table: str, tracking: Tracking, after: int | None) -> None:
        """The position's move, refused while the view is rebuilt by parts: a part's
        position is kept under the application's name and ``#`` (see
        :mod:`hub.runtime.rebuild`), and nobody else writes the view until they are done."""
        name, position = tracking.application_name, tracking.notification_id
        parts = f"{name}#%"
        guard = f"NOT EXISTS (SELECT 1 FROM {table} AS part WHERE part.application_name LIKE ?)"  # noqa: S608
        if after is None:  # forward only
            cursor.execute(
                f"INSERT INTO {table} SELECT ?, ? WHERE {guard} ON CONFLICT (application_name) DO UPDATE "  # noqa: S608
                f"SET notification_id = excluded.notification_id WHERE {table}.notification_id < excluded.notification_id",
                (name, position, parts),
            )
        elif after == 0:  # a view that holds nothing has no position, or one at 0
            cursor.execute(
                f"INSERT INTO {table} SELECT ?, ? WHERE {guard} ON CONFLICT (application_name) DO UPDATE "  # noqa: S608
                f"SET notification_id = excluded.notification_id WHERE {table}.notification_id = 0",
                (name, position, parts),
            )
        else:
            cursor.execute(
                f"UPDATE {table} SET notification_id = ? WHERE application_name = ? AND notification_id = ? AND {guard}",  # noqa: S608
                (position, name, after, parts),
            )
        if cursor.rowcount == 1:
            return
        cursor.execute(f"SELECT 1 AS found FROM {table} WHERE application_name LIKE ?", (parts,))  # noqa: S608
        if cursor.fetchone() is not None:
            raise ViewRebuildingError("the view is being rebuilt by parts; it is written by them alone until they finish")
        raise IntegrityError(f"the view is no longer at position {after}" if after is not None else "the view is past this position")

    def create_table(self) -> None:
        self.recorder.create_table()

    @property
    @abstractmethod
    def tracking_table(self) -> str:
        """The table that holds the view's position."""

    names: Names
    """The view's table names at the version this store serves."""

    @abstractmethod
    def tracking_at(self, version: int) -> str:
        """The name of the table that holds the view's position at ``version``."""

    def register(self, name: str, now: int) -> bool:
        """Record that this process serves the view at its version from now on; ``True`` if
        the version is new beside another one, whose tables are kept (it is built beside them).

        Called before the version's tables are made: a version that :meth:`prune` dropped
        just before is then made anew (and rebuilt from the log), and one it has not
        dropped is now in use, so it will not be. Tables of a release before versions were
        kept side by side (recorded in ``view_versions``) are adopted as version 1's."""
        version = self.names.version
        own = " ".join([*self.names.tables, self.tracking_at(version)])
        with self.transaction(commit=True, renamed=False) as c:
            c.execute(VERSIONS_TABLE)
            c.execute(BUILDS_TABLE)
            c.execute("SELECT version, tables FROM view_versions WHERE view = ?", (name,))
            legacy = c.fetchone()
            if legacy is not None and int(legacy["version"]) == 1:  # no release recorded another
                c.execute(
                    "INSERT INTO view_builds VALUES (?, 1, ?, NULL, ?) ON CONFLICT (view, version) DO NOTHING",
                    (name, " ".join([*str(legacy["tables"]).split(), self.tracking_at(1)]), now),
                )
            c.execute("SELECT version FROM view_builds WHERE view = ?", (name,))
            kept = {int(r["version"]) for r in c.fetchall()}
            c.execute(
                "INSERT INTO view_builds VALUES (?, ?, ?, NULL, ?) ON CONFLICT (view, version) DO UPDATE SET used_at = "
                "CASE WHEN excluded.used_at > view_builds.used_at THEN excluded.used_at ELSE view_builds.used_at END",
                (name, version, own, now),
            )
        return version not in kept and bool(kept)

    def heartbeat(self, name: str, now: int, *, caught_up: bool) -> bool:
        """Mark the view's version in use now (and caught up with the log, the first time it
        is); ``False`` if its record is gone: it was pruned while this process was silent."""
        with self.transaction(commit=True, renamed=False) as c:
            c.execute(
                "UPDATE view_builds SET used_at = CASE WHEN used_at < ? THEN ? ELSE used_at END WHERE view = ? AND version = ?",
                (now, now, name, self.names.version),
            )
            found = c.rowcount == 1
            if caught_up:
                c.execute(
                    "UPDATE view_builds SET caught_up_at = ? WHERE view = ? AND version = ? AND caught_up_at IS NULL",
                    (now, name, self.names.version),
                )
        return found

    def prune(self, name: str, now: int, grace: float) -> list[int]:
        """Drop the tables of the view's versions nobody needs any more; the versions dropped.

        A version is dropped when a newer one has caught up with the log and no process has
        served from it for ``grace`` seconds. Until the newer version holds the log, the
        older one is the only one a reader (or a release rolled back) can be answered from;
        and every process marks the versions it serves in use (:meth:`heartbeat`) far more
        often than ``grace``, so a version still marked within it may still be read by a
        process of an older release, which would break if its tables went. A process of
        a release before versions were kept side by side marks nothing: ``grace`` must
        outlast the replacement of its processes. Newer versions than the newest caught up
        (a release rolled back) are never dropped here, nor the caller's own. Deleting the
        record and dropping its tables is one transaction, and the record is deleted only if
        its mark is still old, so a process marking it meanwhile keeps it."""
        own = self.names.version
        with self.transaction(commit=True, renamed=False) as c:
            c.execute(VERSIONS_TABLE)
            c.execute(BUILDS_TABLE)
            c.execute("SELECT MAX(version) AS version FROM view_builds WHERE view = ? AND caught_up_at IS NOT NULL", (name,))
            row = c.fetchone()
            if row is None or row["version"] is None:
                return []
            c.execute(
                "DELETE FROM view_builds WHERE view = ? AND version < ? AND version <> ? AND used_at <= ? "
                "RETURNING version, tables",
                (name, int(row["version"]), own, now - grace),
            )
            gone = c.fetchall()
            for old in gone:
                for table in str(old["tables"]).split():
                    c.execute(f"DROP TABLE IF EXISTS {_identifier(table)}")
                c.execute("DELETE FROM view_versions WHERE view = ? AND version = ?", (name, int(old["version"])))
            return sorted(int(old["version"]) for old in gone)

    def max_tracking_id(self, application_name: str) -> int | None:
        return self.recorder.max_tracking_id(application_name)

    @abstractmethod
    def close(self) -> None: ...


# -- SQLite ------------------------------------------------------------------------------


_TRACKING = re.compile(r"\btracking\b")


class _SQLiteViewRecorder(SQLiteTrackingRecorder):
    """The library's recorder, its position kept in ``tracking_table_name`` (the library's
    ``tracking`` at version 1)."""

    def __init__(self, datastore: SQLiteDatastore, statements: Sequence[str], tracking_table_name: str = "tracking") -> None:
        self.view_statements = tuple(statements)
        self.tracking_table_name = tracking_table_name
        super().__init__(datastore)
        self.insert_tracking_statement = self._named(self.insert_tracking_statement)
        self.select_max_tracking_id_statement = self._named(self.select_max_tracking_id_statement)

    def _named(self, sql: str) -> str:
        return sql if self.tracking_table_name == "tracking" else _TRACKING.sub(self.tracking_table_name, sql)

    def construct_create_table_statements(self) -> list[str]:
        return [*map(self._named, super().construct_create_table_statements()), *self.view_statements]


class _Immediate(SQLiteTransaction):
    """A transaction that begins as a writer (``BEGIN IMMEDIATE``), waiting for the lock."""

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        return cursor


class SQLiteViewStore(ViewStore):
    """A view in its own SQLite database (a file, or a shared in-memory database)."""

    def __init__(self, db_name: str, statements: Sequence[str], version: int = 1) -> None:
        self.names = Names(statements, version)
        self.recorder: _SQLiteViewRecorder = _SQLiteViewRecorder(
            SQLiteDatastore(db_name, lock_timeout=30), self.names.statements, self.tracking_at(version)
        )

    def tracking_at(self, version: int) -> str:
        return versioned("tracking", version)

    @contextmanager
    def transaction(self, *, commit: bool, renamed: bool = True) -> Iterator[ViewCursor]:
        rename = self.names.rename if renamed else None
        if not commit:
            with self.recorder.datastore.transaction(commit=False) as c:
                yield ViewCursor(c, rename=rename)
            return
        # A writing transaction takes the file's write lock at its start: a deferred one
        # that reads first (its position) could not turn into a writer while another
        # process writes the same view (the rebuild's parts), and would fail at once
        # instead of waiting its turn.
        with self.recorder.datastore.get_connection(commit=True) as conn, _Immediate(conn, commit=True) as c, c:
            yield ViewCursor(c, rename=rename)

    @property
    def tracking_table(self) -> str:
        return self.recorder.tracking_table_name

    def insert_tracking(self, cursor: ViewCursor, tracking: Tracking, after: int | None = None) -> None:
        self._move(cursor, self.recorder.tracking_table_name, tracking, after)

    def close(self) -> None:
        self.recorder.datastore.close()


# -- PostgreSQL --------------------------------------------------------------------------


class PostgresViews:
    """The PostgreSQL schema that holds every view, on a datastore whose connections
    resolve unqualified table names in that schema (the hub's, see
    :meth:`hub.runtime.stores.PostgresConfig.datastore`).

    A hub's views share the one connection pool of its process with the log and the
    key store; their key look-ups inside a view's transaction borrow that transaction's
    connection instead of waiting for another (:mod:`hub.runtime.pg_pool`). Each view
    keeps its position in its own tracking table (``<view>_tracking``) next to its rows.
    ``own`` says whether closing the views closes the datastore too.
    """

    def __init__(self, datastore: PostgresDatastore, *, own: bool = False) -> None:
        self.datastore = datastore
        self.schema = datastore.schema
        self.own = own

    def create_schema(self) -> None:
        """Create the schema unless it is there (checked first: a role may own a schema
        without the right to create one)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,))
            if c.fetchone() is None:
                c.execute(SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(Identifier(self.schema)))

    def store(self, name: str, statements: Sequence[str], version: int = 1) -> PostgresViewStore:
        return PostgresViewStore(self, name, statements, version)

    def close(self) -> None:
        """Close the datastore if it is the views' own; a shared one is its owner's to close."""
        if self.own:
            self.datastore.close()


class _PostgresViewRecorder(PostgresTrackingRecorder):
    """A view's tables and tracking table. Its position is asked for on every catch-up,
    so while the database is away the question fails at once instead of being retried."""

    def __init__(self, datastore: PostgresDatastore, tracking_table_name: str, statements: Sequence[str]) -> None:
        super().__init__(datastore, tracking_table_name=tracking_table_name)
        self.sql_create_statements.extend(Composed([SQL(s)]) for s in statements)

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self._max_tracking_id(application_name, curs)


class PostgresViewStore(ViewStore):
    """A view in the views' PostgreSQL schema, with its own tracking table."""

    def __init__(self, database: PostgresViews, name: str, statements: Sequence[str], version: int = 1) -> None:
        if not name:
            raise ProgrammingError("a view on PostgreSQL needs a name for its tracking table")
        self.database = database
        self.view_name = name
        self.names = Names(statements, version)
        self.recorder: _PostgresViewRecorder = _PostgresViewRecorder(
            database.datastore, self.tracking_at(version), self.names.statements
        )

    def tracking_at(self, version: int) -> str:
        return f"{versioned(self.view_name, version)}_tracking"

    durable: bool = True
    """Whether a commit waits for the write-ahead log to reach the disk. A rebuild turns it
    off: a page lost in a crash is lost with its tracking position, so it is applied again."""

    @contextmanager
    def transaction(self, *, commit: bool, renamed: bool = True) -> Iterator[ViewCursor]:
        with self.database.datastore.transaction(commit=commit) as c:
            if commit and not self.durable:
                c.execute("SET LOCAL synchronous_commit TO OFF")
            yield ViewCursor(c, _pyformat, self.names.rename if renamed else None)

    @property
    def tracking_table(self) -> str:
        return self.recorder.tracking_table_name

    def insert_tracking(self, cursor: ViewCursor, tracking: Tracking, after: int | None = None) -> None:
        self._move(cursor, self.recorder.tracking_table_name, tracking, after)

    def close(self) -> None:
        self.database.close()


# -- the view ----------------------------------------------------------------------------


class RowSealer(Protocol):
    """Seals the personal part of a view row under its child's key, as text.

    ``open_row`` gives ``None`` for a row whose child's key was destroyed: the child was
    erased, and a reader passes over the row (which the views delete when they reach the
    erasure)."""

    def seal_row(self, child_id: UUID, text: str) -> str: ...

    def open_row(self, text: str) -> str | None: ...


class PlainRows:
    """Rows as they are, for a hub whose log is not sealed per child."""

    def seal_row(self, child_id: UUID, text: str) -> str:
        return text

    def open_row(self, text: str) -> str | None:
        return text



class ReadGate(Protocol):
    """Holds a view's reads back while the view has not caught up with the log."""

    def hold(self) -> None:
        """Return once the view may be read; raise if it cannot be within the reader's wait."""


class View:
    """A view's tables and queries, on whichever engine its store is.

    ``where`` is an SQLite database name (a file path, or :func:`memory_db_name`) or
    the :class:`PostgresViews` schema. ``unreachable`` makes the exception a read raises
    when the database cannot be reached, so the caller can say "try again later"
    instead of failing with an engine's error.

    ``view_version`` names the shape of the view's rows: a release that changes what a
    view keeps (its columns, or what it makes of a fact) raises it. Each version has tables
    of its own (:class:`Names`: ``cases`` at version 1, ``cases_v2`` at 2), so a hub of the
    new release builds the new version's from the log, in the background, beside the old
    ones that processes of the old release keep serving from; its reads of the view wait
    or answer 503 until they have caught up. The old version's tables are dropped once
    nobody uses them (:meth:`ViewStore.prune`). ``tables`` are the tables its statements
    create, as version 1 names them.
    """

    name: ClassVar[str] = ""
    table_statements: ClassVar[tuple[str, ...]] = ()
    view_version: ClassVar[int] = 1
    tables: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        where: str | PostgresViews,
        *,
        unreachable: Callable[[], Exception] | None = None,
        rows: RowSealer | None = None,
    ) -> None:
        if isinstance(where, str):
            self.store: ViewStore = SQLiteViewStore(where, self.table_statements, self.view_version)
        else:
            self.store = where.store(self.name, self.table_statements, self.view_version)
        self.unreachable = unreachable
        self.rows: RowSealer = rows or PlainRows()
        self.gate: ReadGate | None = None
        """Set while the hub serves: reads wait for the view to catch up, or are refused."""
        self.rebuilt = False
        """Whether :meth:`create_table` found the view at another version only, and began
        building this one beside it (from the log, by the follower)."""

    def seal(self, child_id: UUID, value: Any) -> str:
        """``value`` as JSON, sealed under the child's key."""
        return self.rows.seal_row(child_id, dumps(value))

    def open(self, text: str) -> Any:
        """What :meth:`seal` sealed; ``None`` if the child has been erased meanwhile."""
        opened = self.rows.open_row(text)
        return None if opened is None else loads(opened)

    def create_table(self, now: float | None = None) -> None:
        """The view's tables at this release's version, made beside those of other versions
        (empty, if new: the follower fills them from the log), and the version marked in use
        at ``now`` (seconds since the epoch; the wall clock if not given)."""
        self.rebuilt = self.store.register(self.name, int(time.time() if now is None else now))
        self.store.create_table()

    def max_tracking_id(self, application_name: str) -> int | None:
        return self.store.max_tracking_id(application_name)

    def write(self, tracking: Tracking, apply: Callable[[ViewCursor], None], *, after: int | None = None) -> None:
        """Apply the rows and move the position to ``tracking``, all or nothing (from
        exactly ``after``, when given: see :meth:`ViewStore.insert_tracking`)."""
        with self.store.transaction(commit=True) as c:
            apply(c)
            self._insert_tracking(c, tracking, after)

    def _insert_tracking(self, cursor: ViewCursor, tracking: Tracking, after: int | None = None) -> None:
        self.store.insert_tracking(cursor, tracking, after)

    @contextmanager
    def read(self) -> Iterator[ViewCursor]:
        if self.gate is not None:
            self.gate.hold()
        try:
            with self.store.transaction(commit=False) as c:
                yield c
        except UNREACHABLE:
            if self.unreachable is None:
                raise
            raise self.unreachable() from None

    def close(self) -> None:
        self.store.close()


Page = Sequence[tuple[int, Any]]
"""Facts in log order, each with its position in the log."""

V = TypeVar("V", bound=View)


class PageProjection(Projection[V], Generic[V]):  # type: ignore[type-var]
    """A projection that turns a page of facts into rows in one transaction.

    ``apply`` writes the rows for every fact of the page; the tracking position of the
    page's last fact commits with them. One fact at a time (``process_event``, the
    library's interface) is a page of one.
    """

    takes: ClassVar[frozenset[str] | None] = None
    """The stored types (published event types) the view takes; ``None``: every type."""
    ignores: ClassVar[frozenset[str]] = frozenset()
    """Types the view passes over, of those it would take."""

    def consumes(self, topic: str) -> bool:
        """Whether facts of this type change the view: a follower decodes and hands over
        only those. An erasure is taken by every view."""
        if topic == RecordErased.type_name:
            return True
        return topic not in self.ignores and (self.takes is None or topic in self.takes)

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_page([(tracking.notification_id, domain_event.fact)], tracking)

    def process_page(self, page: Page, tracking: Tracking, *, after: int | None = None) -> None:
        """Write the page's rows and move the view from ``after`` to ``tracking``. Facts
        of erased children (which no key opens) keep their place in the log and are
        passed over."""
        readable = [(position, fact) for position, fact in page if not isinstance(fact, ErasedFact)]
        self.view.write(tracking, lambda c: self.apply(c, readable), after=after)

    @abstractmethod
    def apply(self, c: ViewCursor, page: Page) -> None:
        """Write the rows for the facts of ``page``, in order, inside ``c``'s transaction."""


def types_of(*classes: type) -> frozenset[str]:
    """The stored types of these event classes and of every class derived from them."""
    return frozenset(name for name, cls in EVENT_TYPES.items() if issubclass(cls, classes))


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
"""Made once: ``json.dumps`` with these options makes an encoder on every call."""
_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    """Compact JSON, keys sorted, text as it is (not escaped to ASCII). orjson writes it
    several times faster than the standard library, which a rebuild pays per row; a value
    it does not take (an integer past 64 bits) is written by the standard library."""
    try:
        return orjson.dumps(value, option=_ORJSON).decode()
    except TypeError:
        return _ENCODER.encode(value)


def loads(text: str) -> Any:
    return orjson.loads(text)


__all__ = [
    "IntegrityError",
    "Page",
    "PageProjection",
    "PlainRows",
    "PostgresViewStore",
    "RowSealer",
    "PostgresViews",
    "ReadGate",
    "SQLiteViewStore",
    "View",
    "ViewCursor",
    "ViewRebuildingError",
    "ViewStore",
    "dumps",
    "loads",
    "memory_db_name",
    "types_of",
]
