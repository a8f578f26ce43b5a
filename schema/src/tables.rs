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
    login_throttle (throttle_key) {
        throttle_key -> Text,
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

diesel::table! {
    change_counter (id) {
        id -> Integer,
        value -> BigInt,
    }
}

diesel::table! {
    records (entity, id) {
        entity -> Text,
        id -> Text,
        community_id -> Text,
        parent_id -> Nullable<Text>,
        version -> BigInt,
        deleted -> Bool,
        data -> Text,
        clocks -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        created_by -> Nullable<Text>,
        updated_by -> Nullable<Text>,
        updated_device -> Nullable<Text>,
    }
}

diesel::table! {
    conflicts (id) {
        id -> Text,
        entity -> Text,
        record_id -> Text,
        community_id -> Text,
        field -> Text,
        policy -> Text,
        kept -> Text,
        yours -> Text,
        kept_hlc -> Text,
        yours_hlc -> Text,
        kept_device -> Nullable<Text>,
        yours_device -> Nullable<Text>,
        kept_user -> Nullable<Text>,
        yours_user -> Nullable<Text>,
        mutation_id -> Nullable<Text>,
        status -> Text,
        resolution -> Nullable<Text>,
        resolved_value -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    mutations (mutation_id) {
        mutation_id -> Text,
        device_id -> Text,
        user_id -> Text,
        received_at -> BigInt,
        result -> Text,
    }
}

diesel::table! {
    persons_index (id) {
        id -> Text,
        community_id -> Text,
        household_id -> Text,
        name -> Text,
        sex -> Nullable<Text>,
        birth_date -> Nullable<Text>,
        id_number_hash -> Nullable<Text>,
        phone_hash -> Nullable<Text>,
        status -> Text,
        tier -> Nullable<Text>,
        categories -> Text,
        last_contact_on -> Nullable<Text>,
        deleted -> Bool,
        version -> BigInt,
        assessed_on -> Nullable<Text>,
        enrolled_on -> Nullable<Text>,
        six_clears_complete -> Bool,
    }
}

diesel::table! {
    visits_index (id) {
        id -> Text,
        community_id -> Text,
        household_id -> Text,
        user_id -> Nullable<Text>,
        device_id -> Nullable<Text>,
        started_at -> BigInt,
        ended_at -> Nullable<BigInt>,
        outcome -> Text,
        latitude -> Nullable<Double>,
        longitude -> Nullable<Double>,
        deleted -> Bool,
    }
}

diesel::table! {
    households_index (id) {
        id -> Text,
        community_id -> Text,
        address -> Text,
        zero_employment -> Bool,
        zero_employment_found_on -> Nullable<Text>,
        zero_employment_cleared_on -> Nullable<Text>,
        deleted -> Bool,
        version -> BigInt,
    }
}

diesel::table! {
    sync_state (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    community_digests (community_id) {
        community_id -> Text,
        live -> BigInt,
        sum -> BigInt,
    }
}

diesel::table! {
    attachments (sha256) {
        sha256 -> Text,
        size -> BigInt,
        media_type -> Text,
        width -> Integer,
        height -> Integer,
        metadata -> Text,
        derived_at -> Nullable<BigInt>,
        created_by -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    attachment_uploaders (sha256, user_id) {
        sha256 -> Text,
        user_id -> Text,
        uploaded_at -> BigInt,
    }
}

diesel::table! {
    blob_intents (id) {
        id -> Text,
        blob_key -> Text,
        sha256 -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    uploads (id) {
        id -> Text,
        user_id -> Text,
        sha256 -> Text,
        size -> BigInt,
        received -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        target -> Text,
        state -> Text,
        attempts -> Integer,
        run_after -> BigInt,
        lease_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    commitment_seals (commitment_id) {
        commitment_id -> Text,
        seal -> Text,
        sealed_at -> BigInt,
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
    change_counter,
    records,
    conflicts,
    mutations,
    persons_index,
    households_index,
    visits_index,
    sync_state,
    community_digests,
    attachments,
    attachment_uploaders,
    blob_intents,
    uploads,
    jobs,
    commitment_seals,
);
