-- The case file as the sync engine keeps it.
--
-- `records` is the source of truth for every syncable entity (household, person,
-- six_clears, visit, …): one row per record at its current state, the record's fields as a
-- JSON document (sensitive fields encrypted), and per-field clocks for merging. Its
-- `version` is the server change number of the record's last change, unique across all
-- records, handed out from `change_counter` inside the writing transaction: the counter's
-- row lock makes commit order equal number order, so a pull "everything above my cursor"
-- never skips a change (also on PostgreSQL). A pull page is therefore one ordered scan.
--
-- The *_index tables are projections of `records` kept in the same transaction, typed
-- and indexed for the staff API's searches and the reports; they can be rebuilt from
-- `records` at any time.

CREATE TABLE change_counter (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO change_counter (id, value) VALUES (1, 0);

CREATE TABLE records (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    community_id TEXT NOT NULL REFERENCES org_nodes (id),
    -- The record this one belongs to (a person's household, a visit's household, …).
    parent_id TEXT,
    version BIGINT NOT NULL UNIQUE,
    deleted BOOLEAN NOT NULL,
    data TEXT NOT NULL,
    -- {"field.path": "<hlc>"}: the clock of the write each field's value came from.
    clocks TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    created_by TEXT,
    updated_by TEXT,
    updated_device TEXT,
    PRIMARY KEY (entity, id)
);
CREATE INDEX records_community_version ON records (community_id, version);
CREATE INDEX records_parent ON records (parent_id, entity);

-- A losing value of a concurrent edit, or a coordinator's proposal for a staff-owned field:
-- kept for review, never dropped.
CREATE TABLE conflicts (
    id TEXT PRIMARY KEY NOT NULL,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    community_id TEXT NOT NULL REFERENCES org_nodes (id),
    field TEXT NOT NULL,
    policy TEXT NOT NULL CHECK (policy IN ('lww', 'staff_locked')),
    kept TEXT NOT NULL,
    yours TEXT NOT NULL,
    kept_hlc TEXT NOT NULL,
    yours_hlc TEXT NOT NULL,
    kept_device TEXT,
    yours_device TEXT,
    kept_user TEXT,
    yours_user TEXT,
    mutation_id TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    resolution TEXT CHECK (resolution IN ('keep_server', 'take_phone', 'new_value')),
    resolved_value TEXT,
    resolved_by TEXT,
    resolved_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX conflicts_community_status ON conflicts (community_id, status, created_at);
CREATE INDEX conflicts_record ON conflicts (entity, record_id);

-- Idempotency: the first answer to each mutation id, returned again on a retry.
CREATE TABLE mutations (
    mutation_id TEXT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    result TEXT NOT NULL
);

CREATE TABLE persons_index (
    id TEXT PRIMARY KEY NOT NULL,
    community_id TEXT NOT NULL REFERENCES org_nodes (id),
    household_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sex TEXT,
    birth_date TEXT,
    -- Keyed hash of the ID number: exact lookup and "one person, one enrolment".
    id_number_hash TEXT UNIQUE,
    phone_hash TEXT,
    status TEXT NOT NULL,
    tier TEXT,
    -- JSON array of category names.
    categories TEXT NOT NULL,
    last_contact_on TEXT,
    deleted BOOLEAN NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX persons_index_community_name ON persons_index (community_id, name);
CREATE INDEX persons_index_phone ON persons_index (phone_hash);
CREATE INDEX persons_index_name_birth ON persons_index (name, birth_date);

CREATE TABLE households_index (
    id TEXT PRIMARY KEY NOT NULL,
    community_id TEXT NOT NULL REFERENCES org_nodes (id),
    address TEXT NOT NULL,
    zero_employment BOOLEAN NOT NULL,
    zero_employment_found_on TEXT,
    zero_employment_cleared_on TEXT,
    deleted BOOLEAN NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX households_index_community ON households_index (community_id, address);
