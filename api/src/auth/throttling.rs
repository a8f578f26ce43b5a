//! Who may try a password, how often. Three counters, each a row of
//! `liuqing_schema::throttle` under a keyed hash (no row holds what someone typed):
//!
//! - the username from one source address (`login_max_failures`, 5): guessing from one
//!   place stops there, and a stranger who fails five times locks out only themselves,
//!   not the coordinator in the field, who logs in from another address;
//! - the username from anywhere (`login_max_failures_per_user`, 50): a guess spread over
//!   many addresses;
//! - the source address, whatever the usernames (`login_max_failures_per_source`, 50): one
//!   place sweeping many usernames.
//!
//! Each attempt is counted before its password is checked, so however many arrive at
//! once, no more passwords are checked than the limits allow.
//!
//! Exact lookups of a person by ID number or phone are counted the same way, per user and
//! hour ([`LookupAllowance`]).

use actix_web::HttpRequest;
use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::throttle::{self, Attempt, Policy};
use liuqing_schema::time::{seconds, Micros};
use liuqing_schema::DbConn;

use crate::config::Config;
use crate::error::ApiError;

/// The client's address: the peer's, or behind a trusted proxy the one it forwards.
pub fn source_address(req: &HttpRequest, trusted_proxy: bool) -> String {
    let forwarded = trusted_proxy
        .then(|| {
            req.connection_info()
                .realip_remote_addr()
                .map(str::to_string)
        })
        .flatten();
    let address = forwarded.or_else(|| req.peer_addr().map(|a| a.to_string()));
    let address = address.unwrap_or_default();
    // The port changes with every connection: only the host counts.
    match address.parse::<std::net::SocketAddr>() {
        Ok(socket) => socket.ip().to_string(),
        Err(_) => address,
    }
}

/// The counters one login attempt goes through.
pub struct LoginGuard {
    counters: Vec<(String, Policy)>,
}

/// Attempt numbers of one login in each counter, from [`LoginGuard::begin`].
pub struct Counted(Vec<i32>);

impl LoginGuard {
    pub fn new(config: &Config, cipher: &FieldCipher, username: &str, source: &str) -> Self {
        let username = username.trim().to_lowercase();
        let policy = |max: u32| Policy {
            max_failures: i32::try_from(max).unwrap_or(i32::MAX),
            window: seconds(config.login_window_secs as i64),
            lockout: seconds(config.login_lockout_secs as i64),
        };
        let key = |label: &str, value: &str| counter_key(cipher, &format!("login-{label}"), value);

        LoginGuard {
            // In this order: an attempt a counter refuses is counted by none after it,
            // so one address's refused guesses never feed the username's counter.
            counters: vec![
                (
                    key("pair", &format!("{username}\0{source}")),
                    policy(config.login_max_failures),
                ),
                (
                    key("source", source),
                    policy(config.login_max_failures_per_source),
                ),
                (
                    key("user", &username),
                    policy(config.login_max_failures_per_user),
                ),
            ],
        }
    }

    /// Counts the attempt in each counter in turn, in one transaction; the first that is
    /// locked refuses it (429, with the time until its lock ends), and the counters after
    /// it do not count it.
    pub fn begin(&self, conn: &mut DbConn, now: Micros) -> Result<Counted, ApiError> {
        let counted = crate::db::transaction(conn, |conn| {
            let mut numbers = Vec::with_capacity(self.counters.len());
            for (key, policy) in &self.counters {
                match throttle::begin(conn, key, now, *policy)? {
                    Attempt::Allowed { number } => numbers.push(number),
                    Attempt::Locked { until } => return Ok(Err(until)),
                }
            }
            Ok(Ok(numbers))
        })?;
        counted.map(Counted).map_err(|until| too_many(until, now))
    }

    /// The attempt was not decided (the hasher was busy): it is taken back from every
    /// counter, so a user who comes back as told is not locked out for it.
    pub fn not_tried(&self, conn: &mut DbConn) -> Result<(), ApiError> {
        for (key, _) in &self.counters {
            throttle::uncount(conn, key)?;
        }
        Ok(())
    }

    /// The password was wrong: the counters it filled are locked. Returns the answer.
    pub fn failed(&self, conn: &mut DbConn, counted: Counted, now: Micros) -> ApiError {
        let locked = crate::db::transaction(conn, |conn| {
            let mut latest = None;
            for ((key, policy), number) in self.counters.iter().zip(counted.0) {
                latest = latest.max(throttle::failed(conn, key, number, now, *policy)?);
            }
            Ok(latest)
        });
        match locked {
            Ok(Some(until)) => too_many(until, now),
            Ok(None) => ApiError::Unauthenticated(
                "invalid_credentials",
                "the username or password is wrong".into(),
            ),
            Err(e) => e,
        }
    }

    /// The password was right: the username's counters start again; the address's only
    /// takes this attempt back (clearing it would let one valid account reset a sweep
    /// from the same place; counting it would lock out a station behind one NAT).
    pub fn succeeded(&self, conn: &mut DbConn) -> Result<(), ApiError> {
        let [pair, source, user] = &self.counters[..] else {
            return Ok(());
        };
        throttle::clear(conn, &pair.0)?;
        throttle::clear(conn, &user.0)?;
        throttle::uncount(conn, &source.0)?;
        Ok(())
    }
}

/// A user's hourly allowance of exact lookups by full ID number or phone (each confirms or
/// denies a whole value: the question a sweep of a masked value's candidates asks).
pub struct LookupAllowance {
    key: String,
    policy: Policy,
}

impl LookupAllowance {
    pub fn new(config: &Config, cipher: &FieldCipher, user_id: &str) -> Self {
        let hour = seconds(3600);
        LookupAllowance {
            key: counter_key(cipher, "lookup", user_id),
            policy: Policy {
                max_failures: i32::try_from(config.lookup_max_per_hour).unwrap_or(i32::MAX),
                window: hour,
                lockout: hour,
            },
        }
    }

    /// Counts one lookup; past the allowance, 429 until the hour is over.
    pub fn spend(&self, conn: &mut DbConn, now: Micros) -> Result<(), ApiError> {
        match throttle::begin(conn, &self.key, now, self.policy)? {
            Attempt::Allowed { .. } => Ok(()),
            Attempt::Locked { until } => Err(too_many(until, now)),
        }
    }
}

/// A counter's row key: the kind's label and the value, under the keyed hash, so no row
/// holds what was typed and no two kinds can collide.
fn counter_key(cipher: &FieldCipher, label: &str, value: &str) -> String {
    cipher.lookup_hash(&format!("{label}\0{value}"))
}

fn too_many(until: Micros, now: Micros) -> ApiError {
    let secs = ((until - now) / 1_000_000).max(1) as u64;
    ApiError::TooManyRequests {
        retry_after_secs: secs,
    }
}
