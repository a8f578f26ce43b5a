//! Running diesel work off the async workers: each unit of work takes one pooled connection
//! on a blocking thread, so a slow query never stalls request handling.

use liuqing_schema::{DbConn, DbPool, StoreError};

use crate::error::ApiError;

#[derive(Clone)]
pub struct Db {
    pool: DbPool,
}

impl Db {
    pub fn new(pool: DbPool) -> Db {
        Db { pool }
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Runs `f` with a connection on a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// Runs a write to the case file: `f` reads and applies its edits in the sync writer's
    /// one transaction, which holds the write lock from its start
    /// (`liuqing_sync::writer::transaction`). The only way a route writes a case file.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| liuqing_sync::writer::transaction(conn, f))
            .await
    }

    /// Runs `f` inside one transaction: every write it makes commits together or not at all
    /// (accounts, devices, attachments, the access log: not case files, see [`Db::write`]).
    pub async fn transaction<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| transaction(conn, f)).await
    }
}

/// Runs `f` in a transaction on a connection the caller holds; an error rolls it back.
pub fn transaction<T, F>(conn: &mut DbConn, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConn) -> Result<T, ApiError>,
{
    use diesel::Connection;
    conn.transaction(f)
}
