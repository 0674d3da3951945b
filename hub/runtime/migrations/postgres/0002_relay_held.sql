-- adapters.relay_store: deliveries held for a unit's daily digest, each sealed to the unit's key.
CREATE TABLE IF NOT EXISTS relay_held (name TEXT NOT NULL, msg_id TEXT NOT NULL, tenant_id TEXT NOT NULL,
    unit_id TEXT NOT NULL, child_id TEXT, day TEXT NOT NULL, due_at TEXT NOT NULL, position BIGINT NOT NULL,
    idx INTEGER NOT NULL, subject TEXT NOT NULL, event BYTEA NOT NULL, PRIMARY KEY (name, msg_id));
CREATE INDEX IF NOT EXISTS relay_held_due ON relay_held (name, due_at);
CREATE INDEX IF NOT EXISTS relay_held_child ON relay_held (name, child_id);
