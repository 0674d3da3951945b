-- Webhooks no receiver took, as the agencies report them (hub.runtime.delivery_failure_store).
CREATE TABLE IF NOT EXISTS delivery_failures (tenant_id TEXT NOT NULL, unit_id TEXT NOT NULL, message_id TEXT NOT NULL,
    event_type TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL, failed_at TEXT NOT NULL, recovered_at TEXT,
    PRIMARY KEY (tenant_id, unit_id, message_id));
CREATE INDEX IF NOT EXISTS delivery_failures_listed ON delivery_failures (tenant_id, failed_at);
