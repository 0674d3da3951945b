"""Where the log stands, as another process may have moved it: what a read must find in the
views before it answers, when several processes append to one PostgreSQL log.

Records of reads (``InformationAccessed``, ``AccessReviewed``) are passed over: a read does
not wait for the views to take in other readers' records, only for the facts that change
what it shows. The records of reads arrive with the next fact, or the next poll.
"""

from __future__ import annotations

from typing import Any

import psycopg
from eventsourcing.persistence import OperationalError
from psycopg import sql

from contracts.events import AccessReviewed, InformationAccessed

PASSED_OVER = (InformationAccessed.type_name, AccessReviewed.type_name)
_PASSED_OVER = list(PASSED_OVER)
_TEXTS: dict[tuple[str, str], bytes] = {}


def last_fact_position(recorder: Any, after: int = 0) -> int:
    """The position of the log's last fact other than a read's record, if it lies beyond
    ``after`` (else 0).

    The stored topic is the published event type, so the newest such fact is found walking
    the notification index backwards from the end, past the reads committed after it and
    never further back than ``after`` (where the views stand): however long a stretch of
    reads the log ends with, the walk is as long as what the views have still to take in.
    A recorder other than PostgreSQL's gives its last position."""
    datastore = getattr(recorder, "datastore", None)
    table = getattr(recorder, "events_table_name", None)
    if datastore is None or table is None or not hasattr(datastore, "get_connection"):
        last = int(recorder.max_notification_id() or 0)
        return last if last > after else 0
    try:
        with datastore.get_connection() as conn, conn.cursor() as cursor:
            statement = _TEXTS.get((datastore.schema, table))
            if statement is None:  # rendered once: composing it cost more than the query
                statement = _TEXTS[(datastore.schema, table)] = sql.SQL(
                    "SELECT notification_id FROM {schema}.{table} WHERE notification_id > %s AND topic <> ALL(%s) "
                    "ORDER BY notification_id DESC LIMIT 1"
                ).format(schema=sql.Identifier(datastore.schema), table=sql.Identifier(table)).as_bytes(conn)
            cursor.execute(statement, (after, _PASSED_OVER))
            row = cursor.fetchone()
    except psycopg.Error as e:
        raise OperationalError(type(e).__name__) from None
    return int(row["notification_id"]) if row else 0


__all__ = ["PASSED_OVER", "last_fact_position"]
