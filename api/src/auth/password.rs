//! Passwords: argon2id with a per-password salt (the PHC string keeps the parameters).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 256;

type Job = Box<dyn FnOnce() + Send>;

/// The one thread that runs argon2. Each hash takes 19 MiB of working memory, and the
/// allocator keeps what a thread freed for that thread's next use: spread over the
/// blocking pool, a handful of logins left ~300 MiB resident for good (BENCHMARKS.md).
/// On one thread at most one block is ever live and kept, and a flood of logins queues
/// instead of taking every core and a block each.
static HASHER: LazyLock<Option<mpsc::Sender<Job>>> = LazyLock::new(|| {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("argon2".into())
        .spawn(move || {
            for job in rx {
                job();
            }
        })
        .ok()
        .map(|_| tx)
});

/// Runs `f` on the argon2 thread and waits for it; inline if that thread is gone. `None`
/// only if `f` panicked there.
fn on_hasher_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = done_tx.send(f());
    });
    let unsent = match HASHER.as_ref() {
        Some(tx) => tx.send(job).err().map(|mpsc::SendError(job)| job),
        None => Some(job),
    };
    if let Some(job) = unsent {
        job();
    }
    done_rx.recv().ok()
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    on_hasher_thread(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .unwrap_or_else(|| Err(anyhow::anyhow!("hashing a password failed")))
}

pub fn verify(password: &str, phc: &str) -> bool {
    let (password, phc) = (password.to_string(), phc.to_string());
    on_hasher_thread(move || {
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .unwrap_or(false)
}

/// Spends the same time as a real check, for usernames that do not exist, so response
/// times do not tell which usernames do.
pub fn verify_nothing(password: &str) {
    static DUMMY: LazyLock<String> =
        LazyLock::new(|| hash("not a real password at all").unwrap_or_default());
    let _ = verify(password, &DUMMY);
}

/// Logins waiting for, or in, the argon2 thread.
static WAITING: AtomicU32 = AtomicU32::new(0);

/// More logins wait for the hasher than allowed: this one is refused at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Checks a login's password against `phc` (`None`: no such user; the same time is spent
/// on nothing, so timing does not tell), unless `limit` logins wait for the hasher
/// already: then [`Busy`], at once. One argon2 check takes tens of milliseconds on the one
/// hasher thread, so without a bound a flood of logins made every login wait seconds.
pub fn verify_login(password: &str, phc: Option<&str>, limit: u32) -> Result<bool, Busy> {
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    if WAITING.fetch_add(1, Ordering::SeqCst) >= limit {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        return Err(Busy);
    }
    let _waiting = Waiting;
    Ok(match phc {
        Some(phc) => verify(password, phc),
        None => {
            verify_nothing(password);
            false
        }
    })
}

/// Why a new password is not acceptable, if it is not.
pub fn policy_violation(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Some(format!("must be at least {MIN_LEN} characters"));
    }
    if chars > MAX_LEN {
        return Some(format!("must be at most {MAX_LEN} characters"));
    }
    None
}

/// The policy as a `validator` rule, for request bodies that carry a new password.
pub fn validate_policy(password: &str) -> Result<(), validator::ValidationError> {
    match policy_violation(password) {
        None => Ok(()),
        Some(reason) => {
            Err(validator::ValidationError::new("password_policy").with_message(reason.into()))
        }
    }
}

/// A random password for one-time use (first admin, resets).
pub fn generate() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash("correct horse battery").expect("hash");
        let b = hash("correct horse battery").expect("hash");
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &a));
        assert!(!verify("wrong horse battery", &a));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn a_login_past_the_waiting_limit_is_refused_at_once() {
        let phc = hash("correct horse battery").expect("hash");
        assert_eq!(
            verify_login("correct horse battery", Some(&phc), 1),
            Ok(true)
        );
        assert_eq!(verify_login("nope", None, 1), Ok(false));
        // Others waiting: this one is not checked.
        WAITING.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            verify_login("correct horse battery", Some(&phc), 1),
            Err(Busy)
        );
        WAITING.fetch_sub(1, Ordering::SeqCst);
        assert_eq!(
            verify_login("correct horse battery", Some(&phc), 1),
            Ok(true)
        );
    }

    #[test]
    fn policy() {
        assert!(policy_violation("short").is_some());
        assert!(policy_violation("long enough!").is_none());
        assert!(policy_violation(&"x".repeat(300)).is_some());
        assert!(policy_violation(&generate()).is_none());
    }
}
