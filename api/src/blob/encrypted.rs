//! Encryption at rest for a store that has none of its own (the local folder): AES-256-GCM
//! over segments of 64 KiB, so a file is encrypted and decrypted piece by piece.
//!
//! Format: `LQB1` + a random 7-byte nonce prefix, then segments of `ciphertext + 16-byte
//! tag`. A segment's nonce is the prefix, its index (u32, big-endian) and a byte that is 1
//! only on the last segment, so segments cannot be reordered, dropped or cut off unnoticed
//! (the STREAM construction). An empty object is one empty last segment.

use std::path::Path;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use bytes::Bytes;
use rand::RngCore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{BlobError, BlobKey, BlobStore};

const MAGIC: &[u8; 4] = b"LQB1";
const PREFIX: usize = 7;
const HEADER: usize = MAGIC.len() + PREFIX;
const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;

pub struct EncryptedStore {
    inner: Arc<dyn BlobStore>,
    aead: Aes256Gcm,
    /// Where whole-file encryption writes its output before handing it to the inner store.
    temp_dir: std::path::PathBuf,
}

impl EncryptedStore {
    pub fn new(inner: Arc<dyn BlobStore>, key: &[u8; 32], temp_dir: &Path) -> EncryptedStore {
        EncryptedStore {
            inner,
            aead: Aes256Gcm::new(&(*key).into()),
            temp_dir: temp_dir.to_path_buf(),
        }
    }

    fn nonce(prefix: &[u8], index: u32, last: bool) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..PREFIX].copy_from_slice(prefix);
        n[PREFIX..PREFIX + 4].copy_from_slice(&index.to_be_bytes());
        n[11] = u8::from(last);
        n
    }

    fn seal(
        &self,
        prefix: &[u8],
        index: u32,
        last: bool,
        plain: &[u8],
        key: &BlobKey,
    ) -> Result<Vec<u8>, BlobError> {
        let nonce = Self::nonce(prefix, index, last);
        self.aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    // The key is bound in, so an object copied under another key fails.
                    aad: key.as_str().as_bytes(),
                },
            )
            .map_err(|_| BlobError::Decrypt)
    }

    fn new_prefix() -> [u8; PREFIX] {
        let mut p = [0u8; PREFIX];
        rand::thread_rng().fill_bytes(&mut p);
        p
    }

    fn encrypt_all(&self, key: &BlobKey, plain: &[u8]) -> Result<Vec<u8>, BlobError> {
        let prefix = Self::new_prefix();
        let mut out = Vec::with_capacity(HEADER + plain.len() + (plain.len() / SEGMENT + 1) * TAG);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&prefix);
        let mut chunks: Vec<&[u8]> = plain.chunks(SEGMENT).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        let n = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let index = u32::try_from(i).map_err(|_| BlobError::Decrypt)?;
            out.extend(self.seal(&prefix, index, i + 1 == n, chunk, key)?);
        }
        Ok(out)
    }

    fn decrypt_all(&self, key: &BlobKey, sealed: &[u8]) -> Result<Vec<u8>, BlobError> {
        if sealed.len() < HEADER + TAG || &sealed[..MAGIC.len()] != MAGIC {
            return Err(BlobError::Decrypt);
        }
        let prefix = &sealed[MAGIC.len()..HEADER];
        let body = &sealed[HEADER..];
        let segments: Vec<&[u8]> = body.chunks(SEGMENT + TAG).collect();
        let n = segments.len();
        let mut out = Vec::with_capacity(body.len());
        for (i, segment) in segments.into_iter().enumerate() {
            let index = u32::try_from(i).map_err(|_| BlobError::Decrypt)?;
            let nonce = Self::nonce(prefix, index, i + 1 == n);
            let plain = self
                .aead
                .decrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: segment,
                        aad: key.as_str().as_bytes(),
                    },
                )
                .map_err(|_| BlobError::Decrypt)?;
            out.extend_from_slice(&plain);
        }
        Ok(out)
    }
}

/// The plaintext size of an object of `sealed` bytes.
fn plain_size(sealed: u64) -> u64 {
    let body = sealed.saturating_sub(HEADER as u64);
    let seg = (SEGMENT + TAG) as u64;
    let full = body / seg;
    let rest = body % seg;
    full * SEGMENT as u64 + rest.saturating_sub(TAG as u64)
}

#[async_trait]
impl BlobStore for EncryptedStore {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<(), BlobError> {
        let sealed = self.encrypt_all(key, &bytes)?;
        self.inner.put(key, Bytes::from(sealed)).await
    }

    async fn put_file(&self, key: &BlobKey, path: &Path) -> Result<(), BlobError> {
        // Encrypt into a temporary file one segment at a time, then store that file.
        tokio::fs::create_dir_all(&self.temp_dir).await?;
        let temp = self
            .temp_dir
            .join(format!("{}.sealed", uuid::Uuid::new_v4()));
        let result = async {
            let total = tokio::fs::metadata(path).await?.len();
            let mut input = tokio::fs::File::open(path).await?;
            let mut output = crate::files::create_private(&temp).await?;
            let prefix = Self::new_prefix();
            output.write_all(MAGIC).await?;
            output.write_all(&prefix).await?;
            let mut buf = vec![0u8; SEGMENT];
            let mut done: u64 = 0;
            let mut index: u32 = 0;
            loop {
                let want = usize::try_from((total - done).min(SEGMENT as u64)).unwrap_or(SEGMENT);
                input.read_exact(&mut buf[..want]).await?;
                done += want as u64;
                let last = done >= total;
                output
                    .write_all(&self.seal(&prefix, index, last, &buf[..want], key)?)
                    .await?;
                if last {
                    break;
                }
                index = index.checked_add(1).ok_or(BlobError::Decrypt)?;
            }
            output.sync_all().await?;
            drop(output);
            self.inner.put_file(key, &temp).await
        }
        .await;
        let _ = tokio::fs::remove_file(&temp).await;
        result
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Bytes>, BlobError> {
        match self.inner.get(key).await? {
            Some(sealed) => Ok(Some(Bytes::from(self.decrypt_all(key, &sealed)?))),
            None => Ok(None),
        }
    }

    async fn size(&self, key: &BlobKey) -> Result<Option<u64>, BlobError> {
        Ok(self.inner.size(key).await?.map(plain_size))
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        self.inner.delete(key).await
    }

    async fn check(&self) -> Result<(), BlobError> {
        self.inner.check().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::LocalStore;

    fn store(dir: &Path) -> (EncryptedStore, LocalStore) {
        let local = LocalStore::open(dir.join("blobs")).expect("open");
        let enc = EncryptedStore::new(Arc::new(local.clone()), &[7u8; 32], &dir.join("tmp"));
        (enc, local)
    }

    #[actix_web::test]
    async fn round_trips_every_size_and_is_not_plaintext_at_rest() {
        let dir = tempfile_dir();
        let (enc, local) = store(&dir);
        for len in [
            0usize,
            1,
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            3 * SEGMENT + 5,
        ] {
            let key = BlobKey::parse(&format!("t/{len}")).expect("key");
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            enc.put(&key, Bytes::from(plain.clone()))
                .await
                .expect("put");
            assert_eq!(
                enc.get(&key).await.expect("get").as_deref(),
                Some(&plain[..])
            );
            assert_eq!(enc.size(&key).await.expect("size"), Some(len as u64));
            // Through a file, too.
            let file = dir.join(format!("plain-{len}"));
            std::fs::write(&file, &plain).expect("write");
            enc.put_file(&key, &file).await.expect("put_file");
            assert_eq!(
                enc.get(&key).await.expect("get").as_deref(),
                Some(&plain[..])
            );
            let raw = local.get(&key).await.expect("raw").expect("present");
            if len > 16 {
                assert!(
                    !raw.windows(16).any(|w| w == &plain[..16]),
                    "no plaintext at rest"
                );
            }
        }
    }

    #[actix_web::test]
    async fn tampering_truncation_and_moving_are_detected() {
        let dir = tempfile_dir();
        let (enc, local) = store(&dir);
        let key = BlobKey::parse("t/a").expect("key");
        let plain = vec![42u8; 2 * SEGMENT + 10];
        enc.put(&key, Bytes::from(plain)).await.expect("put");
        let raw = local.get(&key).await.expect("raw").expect("present");
        let mut flipped = raw.to_vec();
        flipped[HEADER + 3] ^= 1;
        local.put(&key, Bytes::from(flipped)).await.expect("put");
        assert!(matches!(enc.get(&key).await, Err(BlobError::Decrypt)));
        // Cut off after whole segments: the last-segment flag no longer matches.
        let cut = raw.slice(..HEADER + 2 * (SEGMENT + TAG));
        local.put(&key, cut).await.expect("put");
        assert!(matches!(enc.get(&key).await, Err(BlobError::Decrypt)));
        let other = BlobKey::parse("t/b").expect("key");
        local.put(&other, raw).await.expect("put");
        assert!(matches!(enc.get(&other).await, Err(BlobError::Decrypt)));
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("liuqing-enc-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }
}
