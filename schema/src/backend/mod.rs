//! What the two databases do differently, in one place: the statements and transaction
//! modes that are written once per backend. Everything else in `schema`, `sync` and `api`
//! reads the same on SQLite and PostgreSQL.
//!
//! Each function here decides by the connection in hand and runs the statement written for
//! it: PostgreSQL's in `postgres.rs`, SQLite's in `sqlite.rs`, each with the reasons it is
//! written as it is. (Connection setup, pragmas and migrations are `db.rs`'s.)

mod postgres;
mod sqlite;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::entities::Entity;
use crate::error::StoreResult;
use crate::records::{FeedRow, Record};
use crate::DbConn;

#[doc(hidden)]
pub use self::sqlite::SameSql;

/// Runs `f` in one read-only snapshot: every statement in it sees the database as of the
/// same instant, whatever commits meanwhile. On PostgreSQL that is a `REPEATABLE READ,
/// READ ONLY` transaction; on SQLite (WAL) a read transaction is a snapshot already, taken
/// at its first read.
pub fn read_snapshot<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.transaction(|conn| {
        if let DbConn::Pg(pg) = conn {
            // Must be the transaction's first statement.
            pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        f(conn)
    })
}

/// Inserts rows of type `$row`: on PostgreSQL in one multi-row statement (one round trip);
/// on SQLite, in process, one row at a time through one prepared single-row statement
/// ([`SameSql`]). diesel prepares a multi-row statement anew each time (its text depends
/// on the number of rows), and building, parsing and binding it cost SQLite as much as
/// writing the rows. Through the connection of the backend in use: diesel's two-backend
/// connection does not build multi-row inserts. Evaluates to `Ok(())`; an error returns
/// from the caller with `?`. (Exported for the sync engine's projections; call it as
/// `backend::insert_rows!`.)
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $row:ty, $rows:expr) => {{
        use diesel::RunQueryDsl as _;
        let rows: Vec<_> = $rows.into_iter().collect();
        match $conn {
            $crate::DbConn::Pg(_) if rows.is_empty() => {}
            $crate::DbConn::Pg(c) => {
                diesel::insert_into($table).values(rows).execute(c)?;
            }
            $crate::DbConn::Sqlite(c) => {
                for row in rows {
                    $crate::backend::SameSql::<$row, _>::new(
                        diesel::insert_into($table).values(row),
                    )
                    .execute(c)?;
                }
            }
        }
        Ok(())
    }};
}

pub use crate::insert_rows;

/// The records with any of `keys` (entity, id), read together: on PostgreSQL in one
/// statement that probes the primary key once per key, on SQLite one statement per entity.
pub fn find_records(conn: &mut DbConn, keys: &[(Entity, &str)]) -> StoreResult<Vec<Record>> {
    match conn {
        DbConn::Pg(pg) => postgres::find_records(pg, keys),
        DbConn::Sqlite(c) => sqlite::find_records(c, keys),
    }
}

/// Three text columns for each of `keys`, the same question asked the way each database
/// answers it best. `probe` is PostgreSQL's: the query for one key, `k.key`, naming its
/// columns `a`, `b` and `c`, run as a probe of an index per key with `LIMIT 1` (a
/// constant, never input). `listed` builds SQLite's: one statement for all the keys, with
/// [`in_list`](crate::in_list::in_list); it is built only on SQLite.
pub fn probe_texts<Q>(
    conn: &mut DbConn,
    probe: &'static str,
    keys: &[&str],
    listed: impl FnOnce() -> Q,
) -> StoreResult<Vec<(String, String, String)>>
where
    Q: diesel::query_dsl::LoadQuery<'static, diesel::SqliteConnection, (String, String, String)>,
{
    match conn {
        DbConn::Pg(pg) => postgres::probe_texts(pg, probe, keys),
        DbConn::Sqlite(c) => Ok(listed().load(c)?),
    }
}

/// Holds the user's row until the transaction ends, so that a count of their rows read
/// after it sees every other transaction's that did the same (a per-user cap). SQLite
/// writers are one at a time already: the insert before the count took the lock.
pub fn lock_user(conn: &mut DbConn, user_id: &str) -> QueryResult<()> {
    match conn {
        DbConn::Pg(pg) => {
            diesel::sql_query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind::<diesel::sql_types::Text, _>(user_id)
                .execute(pg)?;
            Ok(())
        }
        DbConn::Sqlite(_) => Ok(()),
    }
}

/// Sets the columns a write changes on a record that exists (its community and parent
/// never change); returns how many rows it updated (0: the record is not there yet).
/// On SQLite through a statement prepared once per connection.
pub fn update_record(conn: &mut DbConn, record: &Record) -> StoreResult<usize> {
    match conn {
        DbConn::Sqlite(c) => sqlite::update_record(c, record),
        DbConn::Pg(_) => postgres::update_record(conn, record),
    }
}

/// [`update_record`] for many records at once where the database takes them at once:
/// on PostgreSQL, where each statement is a round trip to the server, one statement for
/// all of them (a push of edits made one round trip per edit, most of its time). `true`
/// when that updated every one; `false` says to save them one by one, as SQLite, in
/// process, always does.
pub fn update_records(conn: &mut DbConn, records: &[&Record]) -> StoreResult<bool> {
    match conn {
        DbConn::Pg(pg) => {
            Ok(records.len() > 1 && postgres::update_records(pg, records)? == records.len())
        }
        DbConn::Sqlite(_) => Ok(false),
    }
}

/// Up to how many communities a pull page is read community by community
/// ([`merged_page`]); a wider scope takes one scan of them all.
pub fn merged_community_limit(conn: &DbConn) -> usize {
    match conn {
        DbConn::Pg(_) => postgres::MERGED_COMMUNITIES,
        DbConn::Sqlite(_) => sqlite::MERGED_COMMUNITIES,
    }
}

/// A pull page as one ordered index scan per community, merged, for `bounds` of
/// `(community, after)`: the records changed after each community's bound, up to `upto`,
/// oldest change first, at most `limit`. A community must appear once (as
/// [`changed_since`](crate::records::changed_since)'s groups hold it): the scans are
/// added up, not made distinct.
///
/// - PostgreSQL: `(… ORDER BY version LIMIT n) UNION ALL (…) ORDER BY version LIMIT n`,
///   answered with a Merge Append that reads about one page of rows whatever its
///   statistics say. A one-scan form depends on them: on a freshly loaded table (before
///   autovacuum's first ANALYZE) it read and sorted every row after the cursor for each
///   page, 30 ms a page for 14,000 records instead of 2.
/// - SQLite: `… UNION ALL … ORDER BY version LIMIT n` without the inner limits, which
///   SQLite runs as a merge of the index scans, stopping at the limit (with them, it
///   sorted each community's rows again).
pub fn merged_page(
    conn: &mut DbConn,
    bounds: &[(&str, i64)],
    upto: i64,
    limit: i64,
) -> StoreResult<Vec<FeedRow>> {
    use diesel::sql_types::{BigInt, Text};
    if bounds.is_empty() {
        return Ok(Vec::new());
    }
    macro_rules! load {
        ($conn:expr, $backend:ty, $sql:expr) => {{
            let mut query = diesel::sql_query($sql)
                .into_boxed::<$backend>()
                .bind::<BigInt, _>(upto)
                .bind::<BigInt, _>(limit);
            for (community, after) in bounds {
                query = query.bind::<Text, _>(*community).bind::<BigInt, _>(*after);
            }
            query.load($conn)?
        }};
    }
    Ok(match conn {
        DbConn::Pg(pg) => load!(pg, diesel::pg::Pg, postgres::merged_sql(bounds.len())),
        DbConn::Sqlite(c) => load!(c, diesel::sqlite::Sqlite, sqlite::merged_sql(bounds.len())),
    })
}

/// The columns of a pull page's rows ([`FeedRow`]).
const FEED_COLUMNS: &str = "entity, id, community_id, version, deleted, data";

/// The scan of community `i` of a [`merged_page`], its parameters written with `p`. The
/// upper bound is parameter 1 and the limit 2; community i binds its id and lower bound
/// as 2i + 3 and 2i + 4 (SQLite's `?N` numbers parameters as PostgreSQL's `$N`).
fn merged_arm(i: usize, p: char) -> String {
    format!(
        "SELECT {FEED_COLUMNS} FROM records WHERE community_id = {p}{} AND version > {p}{} \
         AND version <= {p}1",
        2 * i + 3,
        2 * i + 4
    )
}

/// Sets `(community, live, sum)` rows of the scope digests that exist: on PostgreSQL in
/// one statement (each is a round trip), on SQLite one row at a time.
pub fn update_digests(conn: &mut DbConn, rows: &[(&str, i64, i64)]) -> StoreResult<()> {
    if let DbConn::Pg(pg) = conn {
        if rows.len() > 1 {
            return postgres::update_digests(pg, rows);
        }
    }
    use crate::tables::community_digests;
    for &(community, live, sum) in rows {
        diesel::update(community_digests::table.find(community))
            .set((
                community_digests::live.eq(live),
                community_digests::sum.eq(sum),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether persons' renames during a flush are held back and written together
/// ([`rename_persons`]) rather than one statement each: on PostgreSQL, where a rename is
/// the most common edit of a person, and each statement is a round trip to the database
/// while every writer waits (1,246 of them in a run of the load generator's edits). On
/// SQLite a statement is a call, not a round trip, and renames are written at once.
pub fn writes_renames_together(conn: &DbConn) -> bool {
    matches!(conn, DbConn::Pg(_))
}

/// Sets the names of persons' projection rows, `(person, name)`, each person once: in one
/// statement where renames are written together ([`writes_renames_together`]), otherwise
/// one statement a person.
pub fn rename_persons(conn: &mut DbConn, renames: Vec<(String, String)>) -> StoreResult<()> {
    if renames.is_empty() {
        return Ok(());
    }
    if let DbConn::Pg(pg) = conn {
        return postgres::rename_persons(pg, renames);
    }
    use crate::tables::persons_index;
    for (id, name) in renames {
        diesel::update(persons_index::table.find(id))
            .set(persons_index::name.eq(name))
            .execute(conn)?;
    }
    Ok(())
}

/// Sets what a person's projection row keeps of their six-clears record (`categories`, as
/// JSON, and `six_clears_complete`), leaving the row unwritten when it holds both already
/// (most edits of six-clears answers change neither); returns how many rows it wrote. On
/// SQLite through a statement prepared once per connection: it runs on every edit of an
/// answer a section needs.
pub fn set_six_clears_facts(
    conn: &mut DbConn,
    person: &str,
    categories: &str,
    complete: bool,
) -> StoreResult<usize> {
    use crate::tables::persons_index;
    match conn {
        DbConn::Sqlite(c) => sqlite::set_six_clears_facts(c, person, categories, complete),
        DbConn::Pg(pg) => Ok(diesel::update(
            persons_index::table
                .filter(persons_index::id.eq(person))
                .filter(
                    persons_index::categories
                        .ne(categories)
                        .or(persons_index::six_clears_complete.ne(complete)),
                ),
        )
        .set((
            persons_index::categories.eq(categories),
            persons_index::six_clears_complete.eq(complete),
        ))
        .execute(pg)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{self, Backend};
    use crate::tables::persons_index;

    /// SQLite's hand-written statement writes the facts when either differs, and only
    /// then, and only the person's row.
    #[test]
    fn six_clears_facts_are_written_only_when_they_change() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut conn = Backend::Sqlite(dir.path().join("facts.db"))
            .connect()
            .expect("connect");
        db::migrate_up(&mut conn).expect("migrate");
        conn.batch_execute(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO persons_index
                 (id, community_id, household_id, name, status, categories, deleted, version)
             VALUES ('p', 'c', 'h', 'n', 'registered', '[]', 0, 1),
                    ('q', 'c', 'h', 'm', 'registered', '[]', 0, 2);",
        )
        .expect("persons");
        let mut set = |categories: &str, complete: bool| {
            set_six_clears_facts(&mut conn, "p", categories, complete).expect("set")
        };
        assert_eq!(set("[]", false), 0, "nothing new");
        assert_eq!(set("[]", true), 1);
        assert_eq!(set("[\"older_worker\"]", true), 1);
        assert_eq!(set("[\"older_worker\"]", true), 0, "nothing new");
        let rows: Vec<(String, String, bool)> = persons_index::table
            .select((
                persons_index::id,
                persons_index::categories,
                persons_index::six_clears_complete,
            ))
            .order(persons_index::id)
            .load(&mut conn)
            .expect("rows");
        assert_eq!(
            rows,
            [
                ("p".into(), "[\"older_worker\"]".into(), true),
                ("q".into(), "[]".into(), false),
            ]
        );
    }
}
