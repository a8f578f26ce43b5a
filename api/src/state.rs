//! What every handler can reach: configuration, database, token keys, blob store.

use std::sync::Arc;

use liuqing_schema::crypto::FieldCipher;

use crate::auth::TokenKeys;
use crate::blob::BlobStore;
use crate::config::Config;
use crate::db::Db;

pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: TokenKeys,
    /// Signs the console's session cookies: another issuer, so neither kind of token
    /// passes for the other; they expire after `console_idle_minutes`.
    pub console_keys: TokenKeys,
    pub blobs: Arc<dyn BlobStore>,
    /// Seals ID numbers and phones at rest.
    pub cipher: Arc<FieldCipher>,
    /// Turns to decode an uploaded image (`image_max_concurrent_decodes`).
    pub decodes: Arc<tokio::sync::Semaphore>,
    /// Seals resumable uploads' staging files.
    pub staging: crate::staging::SealedStaging,
    /// Sync pushes waiting for the write lock, committed in groups.
    pub pushes: Arc<liuqing_sync::writer::Pushes>,
    /// The streets' vacancies as matching reads them, kept while unchanged.
    pub vacancies: Arc<liuqing_schema::matches::VacancyCache>,
}
