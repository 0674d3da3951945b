-- relay_position.sqlite as adapters.relay_store made it before migrations. IF NOT EXISTS: a file made then adopts it.
CREATE TABLE IF NOT EXISTS relay_position (name TEXT PRIMARY KEY, position INTEGER NOT NULL, stream_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS relay_sent (name TEXT NOT NULL, child_id TEXT NOT NULL, stream_seq INTEGER NOT NULL,
    PRIMARY KEY (name, child_id, stream_seq));
