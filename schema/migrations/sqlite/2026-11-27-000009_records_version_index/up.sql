-- Every edit of a record moves its entries in each index that holds `version`: out of a
-- page somewhere in the index (where its old number was) and into the last page. On
-- SQLite each page a transaction changes is written to the WAL again at commit, and the
-- old entries of a group's edits are spread over the whole index. Two indexes held it:
-- the column's own `UNIQUE` index, which served a pull page's one ordered scan of all its
-- communities, and `records_community_version`, which migration 000007 widened so that
-- the scope digest could read every live key from it alone.
--
-- Neither is needed any more. A pull page now merges one ordered scan per community
-- (`liuqing_schema::records::changed_since`), which the community index serves; the scope
-- digest is kept per community (migration 000008), so only the hourly check reads keys.
-- Change numbers stay unique by construction: each comes from `change_counter` under its
-- lock. Without the `UNIQUE` index and with the community index back to its key, an
-- edit changes about a sixth fewer pages (load generator, BENCHMARKS.md, ninth session).
--
-- SQLite cannot drop a column constraint, so the table is made again: on upgrade every
-- record is copied once, in the migration's transaction (a station's 50,000 records: a
-- few seconds, and the file's size again in free disk until the next checkpoint).
CREATE TABLE records_new (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    community_id TEXT NOT NULL REFERENCES org_nodes (id),
    -- The record this one belongs to (a person's household, a visit's household, …).
    parent_id TEXT,
    -- The change number of the record's last change (unique: see above).
    version BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL,
    data TEXT NOT NULL,
    -- The clock of the write each field's value came from (`liuqing_sync::clocks`).
    clocks TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    created_by TEXT,
    updated_by TEXT,
    updated_device TEXT,
    PRIMARY KEY (entity, id)
);
INSERT INTO records_new (entity, id, community_id, parent_id, version, deleted, data, clocks,
                         created_at, updated_at, created_by, updated_by, updated_device)
SELECT entity, id, community_id, parent_id, version, deleted, data, clocks,
       created_at, updated_at, created_by, updated_by, updated_device
FROM records;
DROP TABLE records;
ALTER TABLE records_new RENAME TO records;
CREATE INDEX records_community_version ON records (community_id, version);
CREATE INDEX records_parent ON records (parent_id, entity);
