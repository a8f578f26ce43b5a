//! Diesel table definitions, identical for SQLite and PostgreSQL (see the migrations).

diesel::table! {
    org_nodes (id) {
        id -> Text,
        parent_id -> Nullable<Text>,
        kind -> Text,
        name -> Text,
        path -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        must_change_password -> Bool,
        disabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    user_org_nodes (user_id, org_node_id) {
        user_id -> Text,
        org_node_id -> Text,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        platform -> Text,
        state -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        state_changed_at -> BigInt,
        state_changed_by -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        device_id -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    login_throttle (username) {
        username -> Text,
        failures -> Integer,
        window_started_at -> BigInt,
        locked_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        at -> BigInt,
        user_id -> Nullable<Text>,
        device_id -> Nullable<Text>,
        action -> Text,
        target_kind -> Text,
        target_id -> Text,
        reason -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::joinable!(user_org_nodes -> users (user_id));
diesel::joinable!(user_org_nodes -> org_nodes (org_node_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(sessions -> devices (device_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    org_nodes,
    users,
    user_org_nodes,
    devices,
    sessions,
    refresh_tokens,
    login_throttle,
    audit_log,
);
