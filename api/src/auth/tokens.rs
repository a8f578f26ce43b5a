//! Access tokens (HS256 JWTs, algorithm pinned) and opaque refresh tokens.
//!
//! An access token names the user (`sub`), the device (`did`) and the login session
//! (`sid`); the session is checked on every request, so logout, refresh-token reuse and
//! device revocation end it at once rather than at expiry.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub sid: String,
    pub did: String,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    access_ttl_secs: u64,
}

/// Why a token was refused; the distinction is for the log and the problem code.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str, access_ttl_secs: u64, leeway_secs: u64) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        validation.leeway = leeway_secs;
        validation.validate_exp = true;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_string(),
            access_ttl_secs,
        }
    }

    pub fn access_ttl_secs(&self) -> u64 {
        self.access_ttl_secs
    }

    /// Signs an access token; returns it with its lifetime in seconds.
    pub fn issue(
        &self,
        user_id: &str,
        session_id: &str,
        device_id: &str,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            did: device_id.to_string(),
            iat: now,
            exp: now + self.access_ttl_secs,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

/// A new refresh token and the hash under which it is stored.
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The signing key: the configured one, else the one kept in `<data_dir>/jwt.key`, made
/// on first start (mode 0600) so that restarts keep sessions valid.
pub fn load_or_create_key(configured: &str, data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if !configured.is_empty() {
        return Ok(configured.as_bytes().to_vec());
    }
    key_file(data_dir, "jwt.key", 64)
}

/// A random key kept in a private file of the data folder, made on first use.
pub fn key_file(data_dir: &Path, name: &str, len: usize) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = hex::decode(text.trim())
                .map_err(|_| anyhow::anyhow!("{} is not a hex key", path.display()))?;
            anyhow::ensure!(
                key.len() >= 32,
                "{} holds a key shorter than 32 bytes",
                path.display()
            );
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            let mut key = vec![0u8; len];
            rand::thread_rng().fill_bytes(&mut key);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            match options.open(&path) {
                Ok(mut file) => {
                    file.write_all(hex::encode(&key).as_bytes())?;
                    file.sync_all()?;
                    Ok(key)
                }
                // Another process made it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    key_file(data_dir, name, len)
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &[u8]) -> TokenKeys {
        TokenKeys::new(secret, "liuqing", 900, 0)
    }

    #[test]
    fn issued_tokens_verify_with_the_same_key_only() {
        let k = keys(b"0123456789abcdef0123456789abcdef");
        let t = k.issue("u", "s", "d").expect("issue");
        let c = k.verify(&t).expect("valid");
        assert_eq!(
            (c.sub.as_str(), c.sid.as_str(), c.did.as_str()),
            ("u", "s", "d")
        );
        let other = keys(b"another key, also 32 bytes long!!");
        assert_eq!(other.verify(&t), Err(TokenError::Invalid));
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, ha) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(ha, hash_refresh_token(&a));
        assert_ne!(ha, a);
    }

    #[test]
    fn the_generated_key_is_kept_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("liuqing-key-{}", uuid::Uuid::new_v4()));
        let first = load_or_create_key("", &dir).expect("create");
        let second = load_or_create_key("", &dir).expect("reuse");
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("jwt.key"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
