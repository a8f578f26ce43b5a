-- The scope digest of each community, kept up by every write: how many live records it
-- holds and the wrapping sum of their key hashes (see liuqing_sync::feed::key_hash), so
-- a pull's last page adds up one row per community instead of hashing every record in
-- scope. `sum` holds the unsigned sum's 64 bits. Filled for existing records when the
-- server first starts after this migration (the database has no SHA-256 to do it here).
CREATE TABLE community_digests (
    community_id TEXT PRIMARY KEY NOT NULL,
    live BIGINT NOT NULL,
    sum BIGINT NOT NULL
);
