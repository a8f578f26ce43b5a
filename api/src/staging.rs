//! A resumable upload's bytes at rest, sealed. Phones on bad networks leave uploads
//! unfinished for hours (up to `upload_expiry_hours`): their staging files hold photos of
//! ID cards, so they are encrypted like the blob store, with a key derived from the field
//! key.
//!
//! Format: a sequence of records, each `length (u32, big-endian) | nonce (12) |
//! ciphertext and tag (16)`, of at most [`RECORD`] plaintext bytes, appended as chunks
//! arrive. Each is
//! sealed with AES-256-GCM under a random nonce, the upload's id and the record's index
//! bound in (so records cannot be moved between uploads or reordered). The upload's
//! offset in the database counts plaintext bytes: a resumed upload cuts the file back to
//! that offset, re-sealing the part of a record that reaches past it.

use std::io::{Read, Write};
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// The most plaintext in one record.
pub const RECORD: usize = 64 * 1024;
const LEN: usize = 4;
const NONCE: usize = 12;
const TAG: usize = 16;

fn corrupt(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("staging file: {what}"),
    )
}

/// The key that seals staging files.
#[derive(Clone)]
pub struct SealedStaging {
    aead: Aes256Gcm,
}

impl SealedStaging {
    pub fn new(key: &[u8; 32]) -> SealedStaging {
        SealedStaging {
            aead: Aes256Gcm::new(&(*key).into()),
        }
    }

    fn aad(upload_id: &str, index: u64) -> Vec<u8> {
        let mut aad = Vec::with_capacity(upload_id.len() + 9);
        aad.extend_from_slice(upload_id.as_bytes());
        aad.push(0);
        aad.extend_from_slice(&index.to_be_bytes());
        aad
    }

    fn seal(&self, upload_id: &str, index: u64, plain: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = Self::aad(upload_id, index);
        let sealed = self
            .aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .map_err(|_| corrupt("cannot seal"))?;
        let len = u32::try_from(sealed.len()).map_err(|_| corrupt("record too long"))?;
        let mut record = Vec::with_capacity(LEN + NONCE + sealed.len());
        record.extend_from_slice(&len.to_be_bytes());
        record.extend_from_slice(&nonce);
        record.extend_from_slice(&sealed);
        Ok(record)
    }

    fn open(
        &self,
        upload_id: &str,
        index: u64,
        nonce: &[u8],
        sealed: &[u8],
    ) -> std::io::Result<Vec<u8>> {
        let aad = Self::aad(upload_id, index);
        self.aead
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| corrupt("a record does not open (changed, moved or cut)"))
    }

    /// Opens the staging file at `path` for appending after its first `held` plaintext
    /// bytes: what follows them (a write whose offset never committed) is cut off, and a
    /// record that reaches past them is sealed again to end there.
    pub async fn append_after(
        &self,
        path: &Path,
        upload_id: &str,
        held: u64,
    ) -> std::io::Result<SealedWriter> {
        let mut file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .await?;
        let (mut position, mut index, mut sum) = (0u64, 0u64, 0u64);
        let mut carried = Vec::new();
        while sum < held {
            let (nonce, sealed) = read_record(&mut file, position).await?;
            let plain_len = (sealed.len() - TAG) as u64;
            if sum + plain_len <= held {
                sum += plain_len;
                position += (LEN + NONCE + sealed.len()) as u64;
                index += 1;
                continue;
            }
            // The committed offset ends inside this record: keep its first part.
            let plain = self.open(upload_id, index, &nonce, &sealed)?;
            let keep = usize::try_from(held - sum).map_err(|_| corrupt("offset"))?;
            carried = plain[..keep].to_vec();
            sum = held;
        }
        file.set_len(position).await?;
        file.seek(std::io::SeekFrom::Start(position)).await?;
        Ok(SealedWriter {
            staging: self.clone(),
            file,
            upload_id: upload_id.to_string(),
            index,
            buffer: carried,
        })
    }

    /// Writes the first `size` plaintext bytes of the staging file at `path` to `out`
    /// (created readable by the owner only). Blocking.
    pub fn unseal_to(
        &self,
        path: &Path,
        upload_id: &str,
        size: u64,
        out: &Path,
    ) -> std::io::Result<()> {
        let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
        let mut target = std::io::BufWriter::new(crate::files::create_private_blocking(out)?);
        let (mut index, mut written) = (0u64, 0u64);
        while written < size {
            let mut len = [0u8; LEN];
            file.read_exact(&mut len)?;
            let len = u32::from_be_bytes(len) as usize;
            if !(TAG..=RECORD + TAG).contains(&len) {
                return Err(corrupt("a record's length"));
            }
            let mut nonce = [0u8; NONCE];
            file.read_exact(&mut nonce)?;
            let mut sealed = vec![0u8; len];
            file.read_exact(&mut sealed)?;
            let plain = self.open(upload_id, index, &nonce, &sealed)?;
            let take = plain
                .len()
                .min(usize::try_from(size - written).unwrap_or(usize::MAX));
            target.write_all(&plain[..take])?;
            written += take as u64;
            index += 1;
        }
        target.flush()?;
        target.get_ref().sync_all()
    }
}

async fn read_record(
    file: &mut tokio::fs::File,
    at: u64,
) -> std::io::Result<([u8; NONCE], Vec<u8>)> {
    file.seek(std::io::SeekFrom::Start(at)).await?;
    let mut len = [0u8; LEN];
    file.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if !(TAG..=RECORD + TAG).contains(&len) {
        return Err(corrupt("a record's length"));
    }
    let mut nonce = [0u8; NONCE];
    file.read_exact(&mut nonce).await?;
    let mut sealed = vec![0u8; len];
    file.read_exact(&mut sealed).await?;
    Ok((nonce, sealed))
}

/// Appends plaintext to a staging file as sealed records.
pub struct SealedWriter {
    staging: SealedStaging,
    file: tokio::fs::File,
    upload_id: String,
    index: u64,
    buffer: Vec<u8>,
}

impl SealedWriter {
    pub async fn write_all(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            let room = RECORD - self.buffer.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = rest;
            if self.buffer.len() == RECORD {
                self.seal_buffer().await?;
            }
        }
        Ok(())
    }

    async fn seal_buffer(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let record = self
            .staging
            .seal(&self.upload_id, self.index, &self.buffer)?;
        self.file.write_all(&record).await?;
        self.index += 1;
        self.buffer.clear();
        Ok(())
    }

    /// Seals what is buffered and syncs the file: every byte written so far is on disk.
    pub async fn finish(&mut self) -> std::io::Result<()> {
        self.seal_buffer().await?;
        self.file.sync_all().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staging() -> SealedStaging {
        SealedStaging::new(&[7u8; 32])
    }

    async fn append(s: &SealedStaging, path: &Path, held: u64, bytes: &[u8]) {
        let mut w = s.append_after(path, "u1", held).await.expect("open");
        w.write_all(bytes).await.expect("write");
        w.finish().await.expect("finish");
    }

    fn unseal(s: &SealedStaging, path: &Path, size: u64) -> Vec<u8> {
        let out = path.with_extension("plain");
        s.unseal_to(path, "u1", size, &out).expect("unseal");
        std::fs::read(out).expect("read")
    }

    #[actix_web::test]
    async fn bytes_resume_at_any_committed_offset_and_come_back_exact() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("u1.upload");
        std::fs::File::create(&path).expect("create");
        let s = staging();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
        append(&s, &path, 0, &data[..70_000]).await;
        // A write that never committed its offset: cut back to 50,000 (inside a record).
        append(&s, &path, 50_000, &data[50_000..150_000]).await;
        append(&s, &path, 150_000, &data[150_000..]).await;
        assert_eq!(unseal(&s, &path, 200_000), data);
        let stored = std::fs::read(&path).expect("stored");
        assert!(
            !stored.windows(64).any(|w| w == &data[1000..1064]),
            "sealed at rest"
        );
    }

    #[actix_web::test]
    async fn a_record_changed_or_moved_does_not_open() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("u1.upload");
        std::fs::File::create(&path).expect("create");
        let s = staging();
        append(&s, &path, 0, &[1u8; 1000]).await;
        let mut stored = std::fs::read(&path).expect("stored");
        let last = stored.len() - 1;
        stored[last] ^= 1;
        std::fs::write(&path, &stored).expect("tamper");
        let out = dir.path().join("out");
        assert!(s.unseal_to(&path, "u1", 1000, &out).is_err());
        stored[last] ^= 1;
        std::fs::write(&path, &stored).expect("restore");
        assert!(s.unseal_to(&path, "another upload", 1000, &out).is_err());
        assert!(s.unseal_to(&path, "u1", 1000, &out).is_ok());
    }
}
