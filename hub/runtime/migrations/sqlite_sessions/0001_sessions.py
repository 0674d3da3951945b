"""sessions.sqlite as the identity stores made it before migrations; IF NOT EXISTS, so a
file made then adopts it. A ``web_sessions`` table made before sessions recorded their
origin gains the two columns (SQLite has no ADD COLUMN IF NOT EXISTS, hence Python)."""

from typing import Any

from yoyo import step

ORIGIN = {"issuer": "TEXT NOT NULL DEFAULT ''", "demo": "INTEGER NOT NULL DEFAULT 1"}


def add_origin_columns(conn: Any) -> None:
    cursor = conn.cursor()
    have = {row[1] for row in cursor.execute("PRAGMA table_info(web_sessions)").fetchall()}
    for column, kind in ORIGIN.items():
        if column not in have:
            cursor.execute(f"ALTER TABLE web_sessions ADD COLUMN {column} {kind}")


steps = [
    # hub.identity.sessions
    step(
        "CREATE TABLE IF NOT EXISTS web_sessions (key TEXT PRIMARY KEY, principal TEXT NOT NULL, csrf TEXT NOT NULL, "
        "started_at TEXT NOT NULL, last_seen TEXT NOT NULL, expires_at TEXT NOT NULL, "
        "issuer TEXT NOT NULL DEFAULT '', demo INTEGER NOT NULL DEFAULT 1)"
    ),
    step(add_origin_columns),
    step("CREATE INDEX IF NOT EXISTS web_sessions_seen ON web_sessions (last_seen)"),
    step("CREATE INDEX IF NOT EXISTS web_sessions_expires ON web_sessions (expires_at)"),
    # hub.identity.limit_stores
    step("CREATE TABLE IF NOT EXISTS rate_limits (key TEXT PRIMARY KEY, hits BIGINT NOT NULL, ends DOUBLE PRECISION NOT NULL)"),
    # hub.identity.sign_in_store
    step(
        "CREATE TABLE IF NOT EXISTS oidc_pending (key TEXT PRIMARY KEY, issuer TEXT NOT NULL, browser TEXT NOT NULL, "
        "nonce TEXT NOT NULL, verifier TEXT NOT NULL, redirect_uri TEXT NOT NULL, next_page TEXT, started_at TEXT NOT NULL)"
    ),
    step("CREATE INDEX IF NOT EXISTS oidc_pending_started ON oidc_pending (started_at)"),
    step(
        "CREATE TABLE IF NOT EXISTS oidc_signed_in (session_key TEXT PRIMARY KEY, issuer TEXT NOT NULL, sid TEXT, "
        "subject TEXT NOT NULL, id_token TEXT NOT NULL, expires_at TEXT NOT NULL)"
    ),
    step("CREATE INDEX IF NOT EXISTS oidc_signed_in_sid ON oidc_signed_in (issuer, sid)"),
    step("CREATE INDEX IF NOT EXISTS oidc_signed_in_subject ON oidc_signed_in (issuer, subject)"),
    step("CREATE INDEX IF NOT EXISTS oidc_signed_in_expires ON oidc_signed_in (expires_at)"),
    step("CREATE TABLE IF NOT EXISTS oidc_logout_tokens (key TEXT PRIMARY KEY, until TEXT NOT NULL)"),
    step("CREATE INDEX IF NOT EXISTS oidc_logout_tokens_until ON oidc_logout_tokens (until)"),
    # hub.identity.invitation_store
    step(
        "CREATE TABLE IF NOT EXISTS conversation_invitations (digest TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
        "child_id TEXT NOT NULL, invitation_id TEXT NOT NULL, expires_at TEXT NOT NULL)"
    ),
    step("CREATE INDEX IF NOT EXISTS conversation_invitations_id ON conversation_invitations (invitation_id)"),
    step("CREATE INDEX IF NOT EXISTS conversation_invitations_expires ON conversation_invitations (expires_at)"),
]
