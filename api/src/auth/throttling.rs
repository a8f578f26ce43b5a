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

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::throttle::{self, Attempt, Policy, Spend};
use liuqing_schema::time::{seconds, Micros};
use liuqing_schema::DbConn;

use crate::config::Config;
use crate::error::ApiError;

/// The client's address as the throttle counts it: the peer's, or behind a trusted proxy
/// the last hop its `X-Forwarded-For` (or `Forwarded`) names. The last, because a proxy
/// that appends (nginx's `$proxy_add_x_forwarded_for`) leaves whatever the client sent in
/// front of it: the first entry is the client's to choose. An IPv6 address counts as its
/// /64, which one client holds whole and could otherwise walk through.
pub fn source_address(req: &HttpRequest, trusted_proxy: bool) -> String {
    let forwarded = trusted_proxy.then(|| last_forwarded(req)).flatten();
    let address = forwarded.or_else(|| req.peer_addr().map(|a| a.ip()));
    match address {
        Some(ip) => counted(ip),
        None => String::new(),
    }
}

fn last_forwarded(req: &HttpRequest) -> Option<IpAddr> {
    let headers = req.headers();
    let last_of = |name: &str| -> Option<String> {
        let values: Vec<&str> = headers
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect();
        let joined = values.join(",");
        joined.rsplit(',').next().map(|s| s.trim().to_string())
    };
    if let Some(entry) = last_of("x-forwarded-for").filter(|e| !e.is_empty()) {
        return parse_ip(&entry);
    }
    let entry = last_of("forwarded")?;
    let node = entry
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))?
        .1;
    parse_ip(node.trim().trim_matches('"'))
}

/// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let inner = text.strip_prefix('[')?.split(']').next()?;
            inner.parse().ok()
        })
}

fn counted(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The counters one login attempt goes through.
#[derive(Clone)]
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
        counted
            .map(Counted)
            .map_err(|until| ApiError::too_many(until, now))
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
            Ok(Some(until)) => ApiError::too_many(until, now),
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
            Attempt::Locked { until } => Err(ApiError::too_many(until, now)),
        }
    }

    /// What a push that asks `n` lookups spends (each person it writes with an ID number
    /// is checked against every enrolled one: the answer `duplicate_person` or `applied`
    /// tells whether the number is enrolled), all or none: the writer makes it in the
    /// push's first transaction, and a push that asks more than is left of the hour's
    /// allowance is refused (429 until the hour is over) with nothing counted or applied.
    pub fn for_push(&self, n: usize) -> Option<Spend> {
        (n > 0).then(|| Spend {
            key: self.key.clone(),
            amount: i32::try_from(n).unwrap_or(i32::MAX),
            policy: self.policy,
        })
    }
}

/// A counter's row key: the kind's label and the value, under the keyed hash, so no row
/// holds what was typed and no two kinds can collide.
fn counter_key(cipher: &FieldCipher, label: &str, value: &str) -> String {
    cipher.lookup_hash(&format!("{label}\0{value}"))
}

#[cfg(test)]
mod source_addresses {
    use actix_web::test::TestRequest;

    use super::*;

    fn from(headers: &[(&str, &str)], trusted: bool) -> String {
        let mut req = TestRequest::default().peer_addr("198.51.100.9:5000".parse().expect("peer"));
        for (name, value) in headers {
            req = req.append_header((*name, *value));
        }
        source_address(&req.to_http_request(), trusted)
    }

    #[test]
    fn the_peer_counts_unless_a_proxy_is_trusted() {
        assert_eq!(
            from(&[("x-forwarded-for", "203.0.113.7")], false),
            "198.51.100.9"
        );
        assert_eq!(from(&[], true), "198.51.100.9");
    }

    #[test]
    fn the_last_forwarded_hop_counts_not_what_the_client_wrote_first() {
        let spoofed = [("x-forwarded-for", "1.2.3.4, 203.0.113.7")];
        assert_eq!(from(&spoofed, true), "203.0.113.7");
        let two = [
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.8"),
        ];
        assert_eq!(from(&two, true), "203.0.113.8");
        let standard = [(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8::1]:4711\";proto=https",
        )];
        assert_eq!(from(&standard, true), "2001:db8:0:0::/64");
        // Garbage from the proxy falls back to the peer, never to the text itself.
        assert_eq!(
            from(&[("x-forwarded-for", "not an address")], true),
            "198.51.100.9"
        );
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64() {
        let a = from(&[("x-forwarded-for", "2001:db8:1:2:aaaa::1")], true);
        let b = from(&[("x-forwarded-for", "2001:db8:1:2:bbbb::9")], true);
        assert_eq!(a, b);
        assert_eq!(
            from(&[("x-forwarded-for", "::ffff:203.0.113.7")], true),
            "203.0.113.7"
        );
    }
}
