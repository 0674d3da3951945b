-- What a delivery report names of a dead letter: its CloudEvent type and source (the tenant).
ALTER TABLE dead_letters ADD COLUMN type TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN source TEXT NOT NULL DEFAULT '';
