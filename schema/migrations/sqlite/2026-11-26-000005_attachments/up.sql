-- Attachments: certificate photos and signatures, addressed by the SHA-256 of their bytes.
-- One row per distinct content; the bytes live in the blob store under `sha256/<ab>/<hash>`.
CREATE TABLE attachments (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL,
    media_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    -- JSON: EXIF capture time, GPS, orientation (what the file said; never trusted further).
    metadata TEXT NOT NULL,
    -- Set when the thumbnail and the review image are in the blob store.
    derived_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Everyone who uploaded the same bytes may see them (they already hold them).
CREATE TABLE attachment_uploaders (
    sha256 TEXT NOT NULL,
    user_id TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (sha256, user_id)
);

-- Blobs being written before their row commits. A crash in between leaves a row here; the
-- cleanup removes the blob when no attachment row claims it.
CREATE TABLE blob_intents (
    id TEXT PRIMARY KEY NOT NULL,
    blob_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Resumable uploads: what was declared and how many bytes the server holds (the staged
-- file beyond `received` is never trusted; it is cut back before the next chunk).
CREATE TABLE uploads (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    received BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX uploads_updated ON uploads (updated_at);

-- Background jobs (thumbnails, …): restart-safe; a claim is a lease that expires, so a job
-- whose worker died is claimed again.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    run_after BIGINT NOT NULL,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (kind, target)
);
CREATE INDEX jobs_ready ON jobs (state, run_after);

-- The binding of a signed commitment: SHA-256 over (text hash, person, signature hash,
-- signed time), fixed when the commitment arrives, so a later change of any is detectable.
CREATE TABLE commitment_seals (
    commitment_id TEXT PRIMARY KEY NOT NULL,
    seal TEXT NOT NULL,
    sealed_at BIGINT NOT NULL
);
