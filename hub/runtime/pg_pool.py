"""The one PostgreSQL connection pool of a hub process, and a deadline on every answer.

Every store of a process (the log, the views, the children's keys, the sessions, the
sign-ins, the invitations, the rate limits) takes its connections from one
:class:`HubPool`. A connection waits at most ``answer_timeout`` seconds for the
server's answer to anything it sent: past it the connection is closed (its state is
unknown, so the pool replaces it) and the caller gets ``psycopg.OperationalError``,
which the stores turn into "try again later" (503). The server's own
``statement_timeout`` cancels a slow statement first; this deadline is for a server
that cannot answer at all (a partition, a frozen host), which TCP keepalives notice
only on an idle connection and never behind a proxy that still acknowledges.

The views seal and open their rows under the children's keys inside their own
transactions. A key look-up there *borrows* the connection the thread already holds
(:meth:`HubPool.borrow`) instead of waiting for a second one, so a pool whose every
connection is held by a view can never wait on itself; what still needs a connection
of its own waits at most the pool's ``timeout`` and then fails as unreachable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import pq
from psycopg.abc import PQGen
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool, PoolTimeout

_WAIT_INTERVAL = 0.1
_BORROWABLE = (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS)


class AnswerTimeoutError(psycopg.OperationalError):
    """The server did not answer within the connection's deadline (the connection is closed)."""


class DeadlineConnection(psycopg.Connection[DictRow]):
    """A connection that waits for an answer at most ``answer_timeout`` seconds (``None``:
    for ever). Set per pool (:func:`deadline_connection_class`); a statement meant to run
    longer (a migration) may set the attribute on its own connection for its time."""

    answer_timeout: float | None = None

    def wait(self, gen: PQGen[Any], interval: float = _WAIT_INTERVAL, timeout: float | None = None) -> Any:
        deadline = self.answer_timeout if timeout is None else timeout
        began = time.monotonic()
        try:
            return super().wait(gen, interval, deadline)
        except psycopg.OperationalError as e:
            if self.pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
                self.pgconn.finish()  # an answer may still come: nothing more can be sent on it
            if timeout is None and deadline is not None and time.monotonic() - began >= deadline:
                raise AnswerTimeoutError("the database did not answer in time") from e
            raise


def timed_out(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a deadline that passed: no answer in time,
    no free connection in time, or a statement the server cancelled. Trying such a call
    again at once would only wait as long again."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, AnswerTimeoutError | PoolTimeout | psycopg.errors.QueryCanceled):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def deadline_connection_class(answer_timeout: float | None) -> type[DeadlineConnection]:
    """A connection class whose waits end after ``answer_timeout`` seconds."""
    return type("HubConnection", (DeadlineConnection,), {"answer_timeout": answer_timeout})


class HubPool(ConnectionPool[Any]):
    """psycopg's pool, knowing which connection each thread holds, so a look-up made
    inside another store's transaction can use that connection (:meth:`borrow`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held = threading.local()

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[Any]:
        with super().connection(timeout) as conn:
            held: list[Any] = self._held.__dict__.setdefault("stack", [])
            held.append(conn)
            try:
                yield conn
            finally:
                held.pop()

    @contextmanager
    def borrow(self, timeout: float | None = None) -> Iterator[Any]:
        """The connection this thread holds, in whatever transaction it is in; a connection
        of the pool if the thread holds none. Only for reads: a write made on a borrowed
        connection would be rolled back with its holder's transaction."""
        held: list[Any] = getattr(self._held, "stack", [])
        if held and not held[-1].closed and held[-1].info.transaction_status in _BORROWABLE:
            yield held[-1]
            return
        with self.connection(timeout) as conn:
            yield conn


__all__ = ["AnswerTimeoutError", "DeadlineConnection", "HubPool", "deadline_connection_class", "timed_out"]
