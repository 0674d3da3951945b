-- The agency subscriber's file: the ids of the messages already handed over.
CREATE TABLE IF NOT EXISTS processed (id TEXT PRIMARY KEY);
