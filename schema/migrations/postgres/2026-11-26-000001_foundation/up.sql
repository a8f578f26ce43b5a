-- Foundation: the org tree, users and their org bindings, devices, login sessions with
-- rotating refresh tokens, login throttling, and the append-only audit log.
-- Types shared with PostgreSQL: ids are TEXT (UUID), times are BIGINT UTC microseconds.

CREATE TABLE org_nodes (
    id TEXT PRIMARY KEY NOT NULL,
    parent_id TEXT REFERENCES org_nodes (id),
    kind TEXT NOT NULL CHECK (kind IN ('district', 'street', 'station', 'community')),
    name TEXT NOT NULL,
    -- Materialised path "/<root id>/…/<own id>/": a node's subtree is `path LIKE '<path>%'`.
    path TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX org_nodes_parent_id ON org_nodes (parent_id);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('coordinator', 'station_staff', 'supervisor', 'admin')),
    must_change_password BOOLEAN NOT NULL,
    disabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE user_org_nodes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_node_id TEXT NOT NULL REFERENCES org_nodes (id),
    PRIMARY KEY (user_id, org_node_id)
);
CREATE INDEX user_org_nodes_org_node_id ON user_org_nodes (org_node_id);

CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    platform TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'revoked')),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    state_changed_at BIGINT NOT NULL,
    state_changed_by TEXT REFERENCES users (id)
);
CREATE INDEX devices_user_id ON devices (user_id);

-- One login on one device. Its refresh tokens form a family; revoking the session ends
-- every token of the family, access tokens included (they name the session).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    device_id TEXT NOT NULL REFERENCES devices (id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_device_id ON sessions (device_id);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token: the token itself is never stored.
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

-- Failed logins per username (known or not), so throttling holds across API replicas.
CREATE TABLE login_throttle (
    username TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_started_at BIGINT NOT NULL,
    locked_until BIGINT
);

-- Append-only: who did or read what, when and why.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    user_id TEXT,
    device_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    reason TEXT,
    detail TEXT
);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id);
CREATE INDEX audit_log_at ON audit_log (at);
