-- child_keys.sqlite as hub.keys.key_stores made it before migrations. IF NOT EXISTS: a file made then adopts it.
CREATE TABLE IF NOT EXISTS child_keys (child_id BLOB PRIMARY KEY, kek_id TEXT NOT NULL, wrapped BLOB NOT NULL) WITHOUT ROWID;
