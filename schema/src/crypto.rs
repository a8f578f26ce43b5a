//! Field encryption for personal data at rest (ID numbers first).
//!
//! One 32-byte master key (from configuration) derives two keys: an AES-256-GCM key that
//! encrypts the value, and an HMAC-SHA256 key that makes a keyed hash of it for exact lookup
//! and duplicate detection without decrypting anything. Ciphertexts name the key that made
//! them (`v1.<key id>.<base64 nonce+ciphertext>`), so keys can be rotated: old keys stay
//! configured for decryption while a re-encryption pass moves records to the new key. The
//! lookup key follows the *current* master key, so rotation also recomputes hashes.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the key must be 32 bytes (64 hex characters)")]
    BadKey,
    #[error("the ciphertext is malformed")]
    Malformed,
    #[error("no configured key has id {0}")]
    UnknownKey(String),
    #[error("the ciphertext does not authenticate (wrong key or tampered)")]
    Tampered,
    #[error("the value is too long to encrypt")]
    TooLong,
}

struct Key {
    id: String,
    aead: Aes256Gcm,
}

impl Key {
    fn derive(master: &[u8; 32]) -> Key {
        let enc = derive(master, b"liuqing field encryption v1");
        // The id is a short fingerprint, so operators can tell keys apart without seeing them.
        let id = hex::encode(&Sha256::digest(derive(master, b"liuqing key id v1"))[..4]);
        Key {
            id,
            aead: Aes256Gcm::new(&enc.into()),
        }
    }
}

/// HMAC accepts keys of any length, so making one cannot fail.
fn hmac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// A key for one purpose, derived from the master key by its label (HMAC-SHA256), so one
/// configured secret serves fields and blobs without reusing a key.
pub fn derive_key(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    derive(master, label)
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = hmac(master);
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Parses a master key written as 64 hex characters.
pub fn parse_key(hex_key: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = hex::decode(hex_key.trim()).map_err(|_| CryptoError::BadKey)?;
    bytes.try_into().map_err(|_| CryptoError::BadKey)
}

/// Encrypts and hashes sensitive fields. Cheap to clone behind an `Arc`.
pub struct FieldCipher {
    current: Key,
    previous: Vec<Key>,
    lookup: [u8; 32],
}

impl std::fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldCipher")
            .field("key_id", &self.current.id)
            .finish_non_exhaustive()
    }
}

impl FieldCipher {
    pub fn new(current: &[u8; 32], previous: &[[u8; 32]]) -> FieldCipher {
        FieldCipher {
            current: Key::derive(current),
            previous: previous.iter().map(Key::derive).collect(),
            lookup: derive(current, b"liuqing field lookup v1"),
        }
    }

    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// Encrypts `plain`, bound to `context` (e.g. the record id and field name) so a
    /// ciphertext copied onto another record does not decrypt.
    pub fn encrypt(&self, plain: &str, context: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .current
            .aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::TooLong)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!(
            "v1.{}.{}",
            self.current.id,
            STANDARD_NO_PAD.encode(out)
        ))
    }

    pub fn decrypt(&self, sealed: &str, context: &str) -> Result<String, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Malformed);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_string()))?;
        let bytes = STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Malformed)?;
        if bytes.len() < 12 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = key
            .aead
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Malformed)
    }

    /// Whether a ciphertext was made with an old key and should be re-encrypted.
    pub fn needs_rotation(&self, sealed: &str) -> bool {
        !sealed.starts_with(&format!("v1.{}.", self.current.id))
    }

    /// A keyed hash for exact lookup: equal inputs, equal hashes; no way back without the key.
    pub fn lookup_hash(&self, value: &str) -> String {
        let mut mac = hmac(&self.lookup);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7u8; 32];
    const OTHER: [u8; 32] = [9u8; 32];

    #[test]
    fn round_trips_and_never_repeats_a_ciphertext() {
        let c = FieldCipher::new(&KEY, &[]);
        let a = c
            .encrypt("11010519491231002X", "person:1:id_number")
            .expect("sealed");
        let b = c
            .encrypt("11010519491231002X", "person:1:id_number")
            .expect("sealed");
        assert_ne!(a, b, "random nonces");
        assert!(!a.contains("11010519491231002X"));
        assert_eq!(
            c.decrypt(&a, "person:1:id_number").as_deref(),
            Ok("11010519491231002X")
        );
    }

    #[test]
    fn the_context_and_the_bytes_are_authenticated() {
        let c = FieldCipher::new(&KEY, &[]);
        let a = c.encrypt("secret", "person:1:id_number").expect("sealed");
        assert_eq!(
            c.decrypt(&a, "person:2:id_number"),
            Err(CryptoError::Tampered)
        );
        let mut tampered = a.clone();
        let last = tampered
            .pop()
            .map(|ch| if ch == 'A' { 'B' } else { 'A' })
            .unwrap_or('A');
        tampered.push(last);
        assert!(c.decrypt(&tampered, "person:1:id_number").is_err());
        assert_eq!(c.decrypt("nonsense", "x"), Err(CryptoError::Malformed));
    }

    #[test]
    fn rotation_keeps_old_ciphertexts_readable() {
        let old = FieldCipher::new(&OTHER, &[]);
        let sealed = old.encrypt("value", "ctx").expect("sealed");
        let rotated = FieldCipher::new(&KEY, &[OTHER]);
        assert!(rotated.needs_rotation(&sealed));
        assert_eq!(rotated.decrypt(&sealed, "ctx").as_deref(), Ok("value"));
        let fresh = rotated.encrypt("value", "ctx").expect("sealed");
        assert!(!rotated.needs_rotation(&fresh));
        let without_old = FieldCipher::new(&KEY, &[]);
        assert!(matches!(
            without_old.decrypt(&sealed, "ctx"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn lookup_hashes_are_stable_and_keyed() {
        let a = FieldCipher::new(&KEY, &[]);
        let b = FieldCipher::new(&OTHER, &[]);
        assert_eq!(a.lookup_hash("x"), a.lookup_hash("x"));
        assert_ne!(a.lookup_hash("x"), a.lookup_hash("y"));
        assert_ne!(a.lookup_hash("x"), b.lookup_hash("x"));
        assert_eq!(a.lookup_hash("x").len(), 64);
    }

    #[test]
    fn keys_are_parsed_from_hex() {
        assert_eq!(parse_key(&"07".repeat(32)), Ok(KEY));
        assert_eq!(parse_key("abcd"), Err(CryptoError::BadKey));
        assert_eq!(parse_key(&"zz".repeat(32)), Err(CryptoError::BadKey));
    }
}
