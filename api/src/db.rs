//! Running diesel work off the async workers: each unit of work takes one pooled connection
//! on a blocking thread, so a slow query never stalls request handling.

use liuqing_schema::{DbConn, DbPool, StoreError};

use crate::error::ApiError;

#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    /// Taken around sync pushes on SQLite, which has one writer at a time anyway: waiting
    /// here wakes the next writer as soon as the last commits, where SQLite's busy handler
    /// would sleep and retry (most of a contended push's time, measured with the load
    /// generator).
    writers: Option<std::sync::Arc<std::sync::Mutex<()>>>,
}

impl Db {
    pub fn new(pool: DbPool) -> Db {
        Db {
            pool,
            writers: None,
        }
    }

    /// Queues heavy writers (sync pushes) in this process instead of in the database.
    pub fn queue_writers(mut self) -> Db {
        self.writers = Some(Default::default());
        self
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

    /// Runs `f` like [`Db::run`], one heavy writer at a time where the database wants that.
    pub async fn run_writer<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let writers = self.writers.clone();
        self.run(move |conn| {
            // A writer that panicked left nothing half-done (its transaction rolled back),
            // so a poisoned queue is still a queue.
            let _turn = writers
                .as_ref()
                .map(|w| w.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            f(conn)
        })
        .await
    }

    /// Runs `f` inside one transaction: every write it makes commits together or not at all.
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
