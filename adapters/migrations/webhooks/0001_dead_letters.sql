-- The signed webhook sender's file: deliveries the receiver did not take after the last attempt.
CREATE TABLE IF NOT EXISTS dead_letters (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    body BLOB NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at TEXT NOT NULL
);
