//! The blob store: where attachment bytes live. A small trait with two implementations,
//! a local folder (the default) and any S3-protocol server, which pass the same test suite.

mod encrypted;
mod local;
mod s3;

use async_trait::async_trait;
use bytes::Bytes;

pub use encrypted::EncryptedStore;
pub use local::LocalStore;
pub use s3::{S3Settings, S3Store};

/// A validated object key: relative, `/`-separated, of `[a-z0-9._-]` segments, never `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(key: &str) -> Result<BlobKey, BlobError> {
        let ok_segment = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        };
        if key.len() > 512 || !key.split('/').all(ok_segment) {
            return Err(BlobError::BadKey(key.to_string()));
        }
        Ok(BlobKey(key.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where an attachment's bytes are kept (`None`: not a hash).
    pub fn attachment(sha256: &str) -> Option<BlobKey> {
        BlobKey::parse(&format!("sha256/{}/{sha256}", sha256.get(..2)?)).ok()
    }

    /// Where a derivative (`thumbnail`, `review`) of an attachment is kept.
    pub fn derivative(sha256: &str, which: &str) -> Option<BlobKey> {
        BlobKey::parse(&format!("derived/{}/{sha256}/{which}", sha256.get(..2)?)).ok()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("not a valid blob key: {0:?}")]
    BadKey(String),
    #[error("blob store I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("S3 request failed: {0}")]
    S3(String),
    #[error("the stored object does not decrypt (wrong key or tampered)")]
    Decrypt,
}

/// Where blobs are kept. Writes are atomic (a reader sees the old state or the whole new
/// object) and idempotent (writing the same key twice is harmless).
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// A short name for logs and readiness (`local`, `s3`).
    fn kind(&self) -> &'static str;
    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError>;
    /// Stores a file's contents, read in small pieces (uploads are never held whole in
    /// memory). The file is left in place.
    async fn put_file(&self, key: &BlobKey, path: &std::path::Path) -> Result<(), BlobError>;
    /// The object's bytes, or `None` if there is none under the key.
    async fn get(&self, key: &BlobKey) -> Result<Option<Bytes>, BlobError>;
    /// The object's size, or `None` if there is none under the key.
    async fn size(&self, key: &BlobKey) -> Result<Option<u64>, BlobError>;
    /// Removes the object; removing a missing one is not an error.
    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;
    /// Whether the store can be reached and written (readiness).
    async fn check(&self) -> Result<(), BlobError>;
}
