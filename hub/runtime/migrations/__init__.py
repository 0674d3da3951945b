"""The durable tables' migrations, a folder for each database they live in.

On PostgreSQL every durable table of the hub lives in its schema, with one history
(``schema_migrations``, see :mod:`adapters.migrations`); on SQLite each file in the data
folder has its own. The store kit (:mod:`hub.runtime.stores`) applies a database's
migrations once, before it builds the first store on it. The views are not here: they
are rebuilt from the log, never migrated.

``0001`` is the tables as the stores made them before there were migrations, written so
that a database made then adopts it unchanged. A later change is a new file
(``0002_...``) in each folder whose database holds the table; released files are never
edited (``docs/schema-evolution.md``).
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).parent

POSTGRES = FOLDER / "postgres"
"""Everything in the hub's PostgreSQL schema: keys, sessions, sign-ins, limits, invitations, the relay's place."""
SQLITE_KEYS = FOLDER / "sqlite_keys"
"""``child_keys.sqlite``: the children's wrapped keys."""
SQLITE_SESSIONS = FOLDER / "sqlite_sessions"
"""``sessions.sqlite``: web sessions, sign-ins, rate limits and the conversations' invitations."""
SQLITE_REPORTS = FOLDER / "sqlite_reports"
"""``delivery_failures.sqlite``: the agencies' reports of webhooks no receiver took."""
SQLITE_RELAY = FOLDER / "sqlite_relay"
"""``relay_position.sqlite``: the relay's place in the log and what it sent of each child."""

__all__ = ["FOLDER", "POSTGRES", "SQLITE_KEYS", "SQLITE_RELAY", "SQLITE_REPORTS", "SQLITE_SESSIONS"]
