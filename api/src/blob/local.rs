//! Blobs as files under one folder; written to a temporary file, synced, then renamed into
//! place, so a crash never leaves a half-written object under its key.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use super::{BlobError, BlobKey, BlobStore};

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn open(root: impl Into<PathBuf>) -> Result<LocalStore, BlobError> {
        let root = root.into();
        crate::files::private_dir(&root)?;
        crate::files::private_dir(&root.join(".tmp"))?;
        Ok(LocalStore { root })
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn temp_path(&self) -> PathBuf {
        self.root
            .join(".tmp")
            .join(uuid::Uuid::new_v4().to_string())
    }
}

async fn write_atomically(temp: &Path, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = target.parent() {
        crate::files::private_dir_async(dir).await?;
    }
    let mut file = crate::files::create_private(temp).await?;
    file.write_all(bytes).await?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(temp, target).await
}

#[async_trait]
impl BlobStore for LocalStore {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError> {
        let temp = self.temp_path();
        let result = write_atomically(&temp, &self.path(key), &bytes).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        Ok(result?)
    }

    async fn put_file(&self, key: &BlobKey, path: &Path) -> Result<(), BlobError> {
        let temp = self.temp_path();
        let target = self.path(key);
        let result = async {
            if let Some(dir) = target.parent() {
                crate::files::private_dir_async(dir).await?;
            }
            // `copy` streams through a small kernel or user-space buffer.
            tokio::fs::copy(path, &temp).await?;
            tokio::fs::File::open(&temp).await?.sync_all().await?;
            tokio::fs::rename(&temp, &target).await
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        Ok(result?)
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Bytes>, BlobError> {
        match tokio::fs::read(self.path(key)).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn size(&self, key: &BlobKey) -> Result<Option<u64>, BlobError> {
        match tokio::fs::metadata(self.path(key)).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn check(&self) -> Result<(), BlobError> {
        let probe = self.temp_path();
        tokio::fs::write(&probe, b"ok").await?;
        tokio::fs::remove_file(&probe).await?;
        Ok(())
    }
}
