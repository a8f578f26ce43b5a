CREATE TABLE records_old (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    community_id TEXT NOT NULL REFERENCES org_nodes (id),
    parent_id TEXT,
    version BIGINT NOT NULL UNIQUE,
    deleted BOOLEAN NOT NULL,
    data TEXT NOT NULL,
    clocks TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    created_by TEXT,
    updated_by TEXT,
    updated_device TEXT,
    PRIMARY KEY (entity, id)
);
INSERT INTO records_old (entity, id, community_id, parent_id, version, deleted, data, clocks,
                         created_at, updated_at, created_by, updated_by, updated_device)
SELECT entity, id, community_id, parent_id, version, deleted, data, clocks,
       created_at, updated_at, created_by, updated_by, updated_device
FROM records;
DROP TABLE records;
ALTER TABLE records_old RENAME TO records;
CREATE INDEX records_community_version ON records (community_id, version, deleted, entity, id);
CREATE INDEX records_parent ON records (parent_id, entity);
