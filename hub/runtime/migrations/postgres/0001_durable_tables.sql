-- The durable tables of the hub's schema as the stores made them before migrations
-- (yoyo runs this with the schema as search_path). IF NOT EXISTS: a schema made then adopts it.

-- hub.keys.key_stores
CREATE TABLE IF NOT EXISTS child_keys (child_id uuid PRIMARY KEY, kek_id text NOT NULL, wrapped bytea NOT NULL);

-- hub.identity.sessions; a table made before sessions recorded their origin gains the two
-- columns, and its sessions count as demo sessions without an issuer (they end at the next use)
CREATE TABLE IF NOT EXISTS web_sessions (key TEXT PRIMARY KEY, principal TEXT NOT NULL, csrf TEXT NOT NULL,
    started_at TEXT NOT NULL, last_seen TEXT NOT NULL, expires_at TEXT NOT NULL,
    issuer TEXT NOT NULL DEFAULT '', demo INTEGER NOT NULL DEFAULT 1);
ALTER TABLE web_sessions ADD COLUMN IF NOT EXISTS issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE web_sessions ADD COLUMN IF NOT EXISTS demo INTEGER NOT NULL DEFAULT 1;
CREATE INDEX IF NOT EXISTS web_sessions_seen ON web_sessions (last_seen);
CREATE INDEX IF NOT EXISTS web_sessions_expires ON web_sessions (expires_at);

-- hub.identity.limit_stores
CREATE TABLE IF NOT EXISTS rate_limits (key TEXT PRIMARY KEY, hits BIGINT NOT NULL, ends DOUBLE PRECISION NOT NULL);

-- hub.identity.sign_in_store
CREATE TABLE IF NOT EXISTS oidc_pending (key TEXT PRIMARY KEY, issuer TEXT NOT NULL, browser TEXT NOT NULL,
    nonce TEXT NOT NULL, verifier TEXT NOT NULL, redirect_uri TEXT NOT NULL, next_page TEXT, started_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS oidc_pending_started ON oidc_pending (started_at);
CREATE TABLE IF NOT EXISTS oidc_signed_in (session_key TEXT PRIMARY KEY, issuer TEXT NOT NULL, sid TEXT,
    subject TEXT NOT NULL, id_token TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS oidc_signed_in_sid ON oidc_signed_in (issuer, sid);
CREATE INDEX IF NOT EXISTS oidc_signed_in_subject ON oidc_signed_in (issuer, subject);
CREATE INDEX IF NOT EXISTS oidc_signed_in_expires ON oidc_signed_in (expires_at);
CREATE TABLE IF NOT EXISTS oidc_logout_tokens (key TEXT PRIMARY KEY, until TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS oidc_logout_tokens_until ON oidc_logout_tokens (until);

-- hub.identity.invitation_store
CREATE TABLE IF NOT EXISTS conversation_invitations (digest TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,
    child_id TEXT NOT NULL, invitation_id TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversation_invitations_id ON conversation_invitations (invitation_id);
CREATE INDEX IF NOT EXISTS conversation_invitations_expires ON conversation_invitations (expires_at);

-- adapters.relay_store
CREATE TABLE IF NOT EXISTS relay_position (name TEXT PRIMARY KEY, position BIGINT NOT NULL, stream_seq BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS relay_sent (name TEXT NOT NULL, child_id TEXT NOT NULL, stream_seq BIGINT NOT NULL,
    PRIMARY KEY (name, child_id, stream_seq));
