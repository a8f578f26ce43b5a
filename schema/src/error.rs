//! The storage layer's error type.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("could not get a database connection: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("could not connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("{0}")]
    Config(String),
    /// A row held a value that no longer parses into its domain type.
    #[error("corrupt value in column {column}: {value:?}")]
    Corrupt { column: &'static str, value: String },
}

impl StoreError {
    /// True when the database could not be reached or dropped the connection (no free
    /// connection in time, a restart, a failover): the request may succeed if tried again.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Pool(_)
                | StoreError::Connect(_)
                | StoreError::Database(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ClosedConnection,
                    _
                ))
        )
    }

    /// True when the error is a unique-constraint violation (a concurrent insert won).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
