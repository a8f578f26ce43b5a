//! What the two databases do differently, in one place: the statements and transaction
//! modes that are written once per backend. Everything else in `schema`, `sync` and `api`
//! reads the same on SQLite and PostgreSQL.

use diesel::connection::SimpleConnection;
use diesel::Connection;

use crate::DbConn;

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
