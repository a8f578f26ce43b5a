//! One connection type for both backends, the pool, and the embedded migrations.
//!
//! The backend is chosen from the database URL: `postgres://` or `postgresql://` selects
//! PostgreSQL; a plain path or a `sqlite://` URL selects SQLite; any other scheme is refused.

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{StoreError, StoreResult};

/// A connection to either backend; every repository function takes `&mut DbConn`.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type DbPool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Where the data lives, parsed from the configured URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    /// Parses a database URL. Errors say what is accepted.
    pub fn from_url(url: &str) -> Result<Backend, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("is empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres(url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path".into());
            }
            return Ok(Backend::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(format!(
                "unsupported scheme `{scheme}`: use postgres://… or a SQLite file path"
            ));
        }
        Ok(Backend::Sqlite(PathBuf::from(url)))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Opens one connection, with SQLite's pragmas set explicitly (bundled and system
    /// SQLite differ in their defaults). Checkpoints are the server's background work
    /// ([`checkpoint`]): a commit that passes the automatic threshold checkpoints inline,
    /// syncing the database file while every writer queued behind it waits, so that
    /// threshold is only a backstop (100,000 pages, 400 MB of WAL; at 10,000 the writer
    /// checkpointed inside most commits of a push phase once the WAL had grown that far).
    /// Temporary files in memory: a push's savepoint per
    /// mutation keeps a sub-journal of the pages it touched, which SQLite would otherwise
    /// write to a temporary file (a quarter of a push's time went to those writes).
    pub fn connect(&self) -> StoreResult<DbConn> {
        match self {
            Backend::Postgres(url) => Ok(DbConn::Pg(PgConnection::establish(url)?)),
            Backend::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    StoreError::Config("the SQLite path is not valid UTF-8".into())
                })?;
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA temp_store = MEMORY;
                     PRAGMA wal_autocheckpoint = 100000;",
                )?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// Makes a connection the push writer's. The writer keeps one pool connection for every
/// group it commits, so on SQLite what one group read or wrote is still in that
/// connection's page cache for the next, and a larger cache (16 MB) holds more of it. (A
/// connection's cache is discarded whenever another connection has committed: a staff
/// edit, a login; between pushes that is rare.)
pub fn make_writer(conn: &mut DbConn) -> StoreResult<()> {
    if let DbConn::Sqlite(c) = conn {
        c.batch_execute("PRAGMA cache_size = -16000;")?;
    }
    Ok(())
}

/// The WAL's length, in pages, past which a checkpoint also starts it again from the
/// beginning (80 MB).
const RESTART_AFTER_PAGES: i32 = 20_000;

/// Copies what the WAL holds into the SQLite database file, as far as readers allow,
/// without waiting for them or blocking writers (`PASSIVE`); nothing for PostgreSQL.
///
/// A writer starts the WAL again from its beginning only if it finds it wholly copied,
/// which under a steady stream of pushes it never does: the WAL then grows without end.
/// Past [`RESTART_AFTER_PAGES`] the checkpoint waits for the writer of the moment, copies
/// the rest and has the next writer start over (`RESTART`), holding writers up once for
/// a few milliseconds (and the next writer syncs the WAL's new header). The WAL file
/// keeps its size, about what 20,000 pages and a quarter second of writes make:
/// cutting it back (`journal_size_limit`) had the writer truncate a 100 MB file inside
/// its commit, 37 ms each time.
pub fn checkpoint(conn: &mut DbConn) -> StoreResult<()> {
    checkpoint_restarting_after(conn, RESTART_AFTER_PAGES)
}

fn checkpoint_restarting_after(conn: &mut DbConn, pages: i32) -> StoreResult<()> {
    if let DbConn::Sqlite(c) = conn {
        if wal_checkpoint(c, "PASSIVE")? > pages {
            wal_checkpoint(c, "RESTART")?;
        }
    }
    Ok(())
}

/// Runs a checkpoint in `mode`; returns the WAL's length in pages.
fn wal_checkpoint(conn: &mut SqliteConnection, mode: &str) -> StoreResult<i32> {
    #[derive(QueryableByName)]
    struct Outcome {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        log: i32,
    }
    let outcome: Vec<Outcome> =
        diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).load(conn)?;
    Ok(outcome.first().map_or(0, |o| o.log))
}

/// r2d2 manager that builds connections for the configured backend.
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConn, StoreError> {
        self.backend.connect()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), StoreError> {
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// Builds the pool. SQLite allows one writer at a time; WAL plus the busy timeout let
/// readers run beside it.
pub fn pool(backend: &Backend, max_size: u32) -> StoreResult<DbPool> {
    if let Backend::Sqlite(path) = backend {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10))
        .build(Manager {
            backend: backend.clone(),
        })
        .map_err(StoreError::from)
}

/// Applies every pending migration; returns the names of those applied.
pub fn migrate_up(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Reverts every applied migration (used by the migration tests and `liuqing migrate --down`).
pub fn migrate_down_all(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    let reverted = match conn {
        DbConn::Pg(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS),
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(reverted.iter().map(ToString::to_string).collect())
}

/// Reverts the migrations back to and including `version` (e.g. `20261206000012`) and
/// applies them again: their backfills run over the data there is (the tests check a
/// projection a migration rebuilds against the one the writes kept). Returns the versions
/// reverted, last first.
pub fn redo_from(conn: &mut DbConn, version: &str) -> StoreResult<Vec<String>> {
    let mut reverted = Vec::new();
    while !reverted.iter().any(|v| v == version) {
        let last = match conn {
            DbConn::Pg(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
            DbConn::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
        }
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        reverted.push(last.to_string());
    }
    migrate_up(conn)?;
    Ok(reverted)
}

/// Names of the user tables that exist now (for the migration tests).
pub fn table_names(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let sql = match conn {
        DbConn::Pg(_) => {
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'"
        }
        DbConn::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'"
        }
    };
    let mut names: Vec<String> = diesel::sql_query(sql)
        .load::<Name>(conn)?
        .into_iter()
        .map(|n| n.name)
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Ok(Backend::Postgres("postgres://u@h/db".into()))
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").map(|b| b.name()),
            Ok("postgres")
        );
        assert_eq!(
            Backend::from_url("./data/liuqing.db"),
            Ok(Backend::Sqlite("./data/liuqing.db".into()))
        );
        assert_eq!(
            Backend::from_url("sqlite:///var/lib/l.db"),
            Ok(Backend::Sqlite("/var/lib/l.db".into()))
        );
        let err = Backend::from_url("mysql://u@h/db").expect_err("refused");
        assert!(err.contains("unsupported scheme `mysql`"), "{err}");
        assert!(Backend::from_url("  ").is_err());
    }

    /// The WAL's length after a checkpoint made while a reader held an old snapshot
    /// (as one always does under a stream of pushes), the reader gone, and one more write.
    fn wal_after_a_checkpoint_behind_a_reader(restart_after: i32) -> i32 {
        let dir = tempfile::tempdir().expect("temporary folder");
        let backend = Backend::Sqlite(dir.path().join("wal.db"));
        let connect = || match backend.connect() {
            Ok(DbConn::Sqlite(c)) => c,
            _ => panic!("an SQLite connection"),
        };
        let (mut writer, mut reader) = (connect(), connect());
        let mut checkpointer = DbConn::Sqlite(connect());
        let write = |c: &mut SqliteConnection, rows: i32| {
            for _ in 0..rows {
                c.batch_execute("INSERT INTO t VALUES (zeroblob(4000));")
                    .expect("write");
            }
        };
        writer
            .batch_execute("CREATE TABLE t (x BLOB);")
            .expect("table");
        write(&mut writer, 40);
        reader
            .batch_execute("BEGIN; SELECT count(*) FROM t;")
            .expect("a read transaction");
        write(&mut writer, 40);
        // The reader finishes while the checkpoint is under way.
        let finishing = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            reader.batch_execute("COMMIT;").expect("end of the read");
        });
        checkpoint_restarting_after(&mut checkpointer, restart_after).expect("checkpoint");
        finishing.join().expect("reader");
        write(&mut writer, 1);
        wal_checkpoint(&mut writer, "PASSIVE").expect("length")
    }

    #[test]
    fn a_long_wal_is_started_over_by_the_checkpoint() {
        let kept = wal_after_a_checkpoint_behind_a_reader(i32::MAX);
        assert!(
            kept > 80,
            "without a restart the WAL grows on: {kept} pages"
        );
        let restarted = wal_after_a_checkpoint_behind_a_reader(10);
        assert!(
            restarted < 10,
            "the next write starts it over: {restarted} pages"
        );
    }

    /// Migration 000009 makes `records` again (to drop the `UNIQUE` on `version`): the
    /// records it held are all still there, column for column, and going back down
    /// restores the constraint with them.
    #[test]
    fn making_the_records_table_again_keeps_its_rows() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut conn = match Backend::Sqlite(dir.path().join("up.db")).connect() {
            Ok(DbConn::Sqlite(c)) => c,
            _ => panic!("an SQLite connection"),
        };
        let applied = |c: &mut SqliteConnection, number: &str| {
            c.applied_migrations()
                .expect("applied")
                .iter()
                .any(|v| v.to_string().ends_with(number))
        };
        while !applied(&mut conn, "000008") {
            conn.run_next_migration(SQLITE_MIGRATIONS).expect("one up");
        }
        conn.batch_execute(
            "INSERT INTO org_nodes (id, parent_id, kind, name, path, created_at) \
             VALUES ('d', NULL, 'district', 'd', '/d/', 1);
             INSERT INTO records VALUES ('household', 'h1', 'd', NULL, 7, 0, '{\"a\":1}', \
             '{}', 1, 2, 'u', 'u', 'p'), ('person', 'p1', 'd', 'h1', 9, 1, '{}', '{}', 3, \
             4, NULL, NULL, NULL);",
        )
        .expect("rows");
        let rows =
            |c: &mut SqliteConnection| -> Vec<(String, String, Option<String>, i64, bool, String)> {
                use crate::tables::records::dsl::*;
                records
                    .select((entity, id, parent_id, version, deleted, data))
                    .order(version)
                    .load(c)
                    .expect("rows")
            };
        let before = rows(&mut conn);
        conn.run_pending_migrations(SQLITE_MIGRATIONS)
            .expect("the rest");
        assert_eq!(rows(&mut conn), before);
        let unique_version = |c: &mut SqliteConnection| {
            c.batch_execute(
                "INSERT INTO records VALUES ('household', 'h2', 'd', NULL, 7, 0, '{}', '{}', \
                 1, 1, NULL, NULL, NULL); DELETE FROM records WHERE id = 'h2';",
            )
            .is_err()
        };
        assert!(!unique_version(&mut conn), "no unique index on version");
        while applied(&mut conn, "000009") {
            conn.revert_last_migration(SQLITE_MIGRATIONS)
                .expect("one down");
        }
        assert_eq!(rows(&mut conn), before);
        assert!(unique_version(&mut conn), "the unique index is back");
    }
}
