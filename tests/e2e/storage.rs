//! The storage layer on the configured backend: migrations up and down, SQLite pragmas, and
//! a type round trip.

use diesel::prelude::*;
use liuqing_schema::db::{self, Backend};

use crate::helpers::*;

const TABLES: &[&str] = &[
    "attachment_uploaders",
    "attachments",
    "audit_log",
    "blob_intents",
    "change_counter",
    "commitment_seals",
    "community_digests",
    "conflicts",
    "devices",
    "households_index",
    "jobs",
    "login_throttle",
    "mutations",
    "org_nodes",
    "persons_index",
    "records",
    "refresh_tokens",
    "sessions",
    "sync_state",
    "uploads",
    "user_org_nodes",
    "users",
    "visits_index",
];

#[test]
fn migrations_run_up_down_and_up_again() {
    let dir = tempfile::tempdir().expect("dir");
    let backend = Backend::from_url(&fresh_database_url(dir.path())).expect("url");
    let mut conn = backend.connect().expect("connect");
    assert!(db::table_names(&mut conn).expect("tables").is_empty());

    let applied = db::migrate_up(&mut conn).expect("up");
    assert!(!applied.is_empty());
    assert_eq!(db::table_names(&mut conn).expect("tables"), TABLES);
    assert!(
        db::migrate_up(&mut conn).expect("up again").is_empty(),
        "idempotent"
    );

    let reverted = db::migrate_down_all(&mut conn).expect("down");
    assert_eq!(reverted.len(), applied.len());
    assert!(db::table_names(&mut conn).expect("tables").is_empty());

    db::migrate_up(&mut conn).expect("up after down");
    assert_eq!(db::table_names(&mut conn).expect("tables"), TABLES);
}

#[test]
fn sqlite_connections_enforce_foreign_keys_and_use_wal() {
    if on_postgres() {
        return; // PostgreSQL always enforces them; this checks SQLite's pragmas.
    }
    let dir = tempfile::tempdir().expect("dir");
    let backend = Backend::Sqlite(dir.path().join("t.db"));
    let mut conn = backend.connect().expect("connect");
    db::migrate_up(&mut conn).expect("up");
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut conn)
        .expect("pragma");
    assert_eq!(mode.journal_mode, "wal");
    let orphan = diesel::sql_query(
        "INSERT INTO user_org_nodes (user_id, org_node_id) VALUES ('no-user', 'no-node')",
    )
    .execute(&mut conn);
    assert!(orphan.is_err(), "a row pointing at nothing must be refused");
}

#[test]
fn times_and_flags_round_trip_exactly() {
    let dir = tempfile::tempdir().expect("dir");
    let backend = Backend::from_url(&fresh_database_url(dir.path())).expect("url");
    let mut conn = backend.connect().expect("connect");
    db::migrate_up(&mut conn).expect("up");
    let id = new_id();
    let node = liuqing_schema::org::create(
        &mut conn,
        &id,
        None,
        liuqing_schema::org::OrgKind::District,
        "区",
    )
    .expect("db")
    .expect("placed");
    let back = liuqing_schema::org::find(&mut conn, &id)
        .expect("db")
        .expect("found");
    assert_eq!(back, node);
    assert_eq!(
        back.created_at, node.created_at,
        "microsecond times survive"
    );
}
