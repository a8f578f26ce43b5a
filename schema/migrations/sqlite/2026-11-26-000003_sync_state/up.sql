-- Small facts the sync engine keeps, by name. `tombstone_horizon`: the highest change
-- number of a tombstone removed so far; a cursor below it may have missed a deletion.
CREATE TABLE sync_state (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO sync_state (name, value) VALUES ('tombstone_horizon', 0);
