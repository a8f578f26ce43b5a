//! The change feed: pull pages of records changed since a cursor, in the caller's scope.
//!
//! The cursor (opaque to phones) maps each partition the phone holds (a community, or the
//! street whose employers and vacancies it shares) to the change number it has seen there.
//! A partition newly in scope starts at 0, so it is delivered whole; one no longer in
//! scope is answered as `purge`. Pages are bounded by the last committed
//! change number, read before the page: every change up to it has committed (the counter's
//! lock orders commits), so nothing is ever skipped.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use liuqing_schema::digests::{self, Digest};
use liuqing_schema::scope::Scope;
use liuqing_schema::{backend, records};
use liuqing_schema::{DbConn, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::masking::shown_text;
use crate::narrowing::BirthDates;
use crate::protocol::{Change, PullPage, Purge, ScopeDigest};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// partition (community or street) id → the change number seen there.
    c: BTreeMap<String, i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("the cursor is not one this server made")]
    BadCursor,
    /// The cursor is older than the tombstones still kept: start again from no cursor.
    #[error("the cursor is too old; pull again without a cursor")]
    Gone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for FeedError {
    fn from(e: diesel::result::Error) -> Self {
        FeedError::Store(e.into())
    }
}

fn encode(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode(text: &str) -> Result<Cursor, FeedError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| FeedError::BadCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| FeedError::BadCursor)
}

/// One page of changes after `cursor` (none: everything in scope), at most `limit` records,
/// with the scope digest on the last page. Scope, page, cursor and digest are read from one
/// snapshot, so a change committed meanwhile is in neither the page nor the digest (it
/// comes with the next pull): a phone whose copy is whole never sees a digest that
/// disagrees with what it was sent.
pub fn pull(
    conn: &mut DbConn,
    scope: &Scope,
    cursor: Option<&str>,
    limit: i64,
    birth_dates: BirthDates,
) -> Result<PullPage, FeedError> {
    backend::read_snapshot(conn, |conn| {
        let horizon = records::tombstone_horizon(conn)?;
        page(conn, scope, cursor, limit, horizon, birth_dates)
    })
}

/// One page, read inside the caller's snapshot. `horizon` is the oldest change number whose
/// tombstones may have been removed.
fn page(
    conn: &mut DbConn,
    scope: &Scope,
    cursor: Option<&str>,
    limit: i64,
    horizon: i64,
    birth_dates: BirthDates,
) -> Result<PullPage, FeedError> {
    let upto = records::committed_version(conn)?;
    let current = records::partitions_in_scope(conn, scope)?;
    let seen = match cursor {
        Some(text) => decode(text)?,
        None => Cursor::default(),
    };
    if seen.c.values().any(|v| *v < horizon) {
        return Err(FeedError::Gone);
    }
    let purge: Vec<Purge> = seen
        .c
        .keys()
        .filter(|c| !current.contains(c))
        .map(|c| Purge {
            community_id: c.clone(),
        })
        .collect();
    let mut from: BTreeMap<String, i64> = current
        .iter()
        .map(|c| (c.clone(), seen.c.get(c).copied().unwrap_or(0)))
        .collect();
    let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (community, after) in &from {
        groups.entry(*after).or_default().push(community.clone());
    }
    let groups: Vec<(i64, Vec<String>)> = groups.into_iter().collect();
    let mut rows = if groups.is_empty() {
        Vec::new()
    } else {
        records::changed_since(conn, &groups, upto, limit + 1)?
    };
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    // Every group has now delivered all its changes up to the page's last change number.
    let reached = if has_more {
        rows.last().map_or(upto, |r| r.version)
    } else {
        upto
    };
    for after in from.values_mut() {
        *after = (*after).max(reached);
    }
    let changes = rows
        .into_iter()
        .map(|r| {
            let data = (!r.deleted).then(|| birth_dates.text(r.entity, shown_text(r.data)));
            Change {
                entity: r.entity.to_string(),
                id: r.id,
                community_id: r.community_id,
                version: r.version,
                deleted: r.deleted,
                data,
            }
        })
        .collect();
    let scope_digest = if has_more {
        None
    } else {
        Some(digest(conn, &current)?)
    };
    Ok(PullPage {
        changes,
        purge,
        cursor: encode(&Cursor { c: from }),
        has_more,
        scope_digest,
    })
}

/// A count and an order-independent hash of every live `(entity, id, version)` in scope,
/// added up from the communities' digests, which the engine keeps up with every write
/// ([`liuqing_schema::digests`]).
pub fn digest(conn: &mut DbConn, communities: &[String]) -> Result<ScopeDigest, StoreError> {
    Ok(shown(digests::total(conn, communities)?))
}

/// The digest over any set of keys: phones compute the same over their copy.
pub fn digest_of<'a>(keys: impl Iterator<Item = (&'a str, &'a str, i64)>) -> ScopeDigest {
    let mut digest = Digest::default();
    for (entity, id, version) in keys {
        digest.add(key_hash(entity, id, version));
    }
    shown(digest)
}

fn shown(digest: Digest) -> ScopeDigest {
    // A negative count only drift could make; shown as 0, it fails the phone's check all
    // the same (see `liuqing rebuild-digests`).
    ScopeDigest {
        count: digest.live.max(0).unsigned_abs(),
        hash: format!("{:016x}", digest.sum),
    }
}

/// What the scope digest sums for a record: the first 8 bytes of the SHA-256 of
/// `entity:id:version`, big-endian.
pub fn key_hash(entity: &str, id: &str, version: i64) -> u64 {
    // Fed in pieces rather than formatted first.
    let h = Sha256::new()
        .chain_update(entity)
        .chain_update(b":")
        .chain_update(id)
        .chain_update(b":")
        .chain_update(itoa::Buffer::new().format(version))
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&h[..8]);
    u64::from_be_bytes(first)
}

/// Fills the communities' digests from the records, once: for a database whose records
/// were written before the digests were kept. Call at start-up, after the migrations;
/// returns whether it filled them. The mark is checked again under the write lock, so two
/// servers starting at once fill them once, and no write of this version is missed.
pub fn build_digests(conn: &mut DbConn) -> Result<bool, StoreError> {
    if digests::built(conn)? {
        return Ok(false);
    }
    use diesel::Connection;
    conn.transaction(|conn| {
        records::lock_for_write(conn)?;
        if digests::built(conn)? {
            return Ok(false);
        }
        fill_digests(conn)?;
        Ok(true)
    })
}

/// Computes every community's digest again from its records (`liuqing rebuild-digests`):
/// the repair if a server that did not keep them wrote records after they were filled.
/// Returns how many communities hold live records.
pub fn rebuild_digests(conn: &mut DbConn) -> Result<usize, StoreError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        records::lock_for_write(conn)?;
        fill_digests(conn)
    })
}

/// Compares every community's stored digest with one computed from its records, both
/// read in one snapshot, and rebuilds them all ([`rebuild_digests`]) if any differs.
/// Returns the communities that differed.
///
/// Every writer keeps records and digests in step in one transaction, so in a snapshot
/// they agree unless something wrote records without the digests: a server of an older
/// version during a rolling upgrade, or a hand-made repair. A wrong digest is not lost
/// data, but every phone of that community would see drift on every pull and start
/// again from no cursor; the upkeep runs this hourly so that it heals.
pub fn check_digests(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    // One snapshot for both reads.
    let (computed, stored) = backend::read_snapshot(conn, |conn| {
        Ok::<_, StoreError>((computed_digests(conn)?, digests::all(conn)?))
    })?;
    let differ: Vec<String> = computed
        .keys()
        .chain(stored.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|c| {
            computed.get(*c).copied().unwrap_or_default()
                != stored.get(*c).copied().unwrap_or_default()
        })
        .cloned()
        .collect();
    if !differ.is_empty() {
        rebuild_digests(conn)?;
    }
    Ok(differ)
}

/// Every community's digest, computed from its live records (a community without any
/// is left out).
fn computed_digests(conn: &mut DbConn) -> Result<BTreeMap<String, Digest>, StoreError> {
    let mut all: BTreeMap<String, Digest> = BTreeMap::new();
    for community in digests::communities_with_records(conn)? {
        let mut digest = Digest::default();
        for (entity, id, version) in digests::live_keys(conn, &community)? {
            digest.add(key_hash(entity.as_str(), &id, version));
        }
        if digest != Digest::default() {
            all.insert(community, digest);
        }
    }
    Ok(all)
}

/// Replaces the digests with ones computed from the records; the caller holds the lock.
fn fill_digests(conn: &mut DbConn) -> Result<usize, StoreError> {
    let all = computed_digests(conn)?;
    digests::replace_all(conn, &all)?;
    Ok(all.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let mut c = Cursor::default();
        c.c.insert("a".into(), 7);
        assert_eq!(decode(&encode(&c)).ok(), Some(c));
        assert!(matches!(decode("%%%"), Err(FeedError::BadCursor)));
        assert!(matches!(
            decode(&URL_SAFE_NO_PAD.encode(b"[1]")),
            Err(FeedError::BadCursor)
        ));
    }

    #[test]
    fn the_digest_hashes_entity_id_and_version_as_text() {
        for version in [0, 7, 1234567890123, i64::MAX, i64::MIN, -5] {
            let h = Sha256::digest(format!("person:abc:{version}").as_bytes());
            let mut first = [0u8; 8];
            first.copy_from_slice(&h[..8]);
            let want = format!("{:016x}", u64::from_be_bytes(first));
            assert_eq!(
                digest_of([("person", "abc", version)].into_iter()).hash,
                want
            );
        }
    }

    #[test]
    fn the_digest_does_not_depend_on_order() {
        let a = digest_of([("person", "1", 3), ("household", "2", 5)].into_iter());
        let b = digest_of([("household", "2", 5), ("person", "1", 3)].into_iter());
        assert_eq!(a, b);
        assert_eq!(a.count, 2);
        let c = digest_of([("household", "2", 6), ("person", "1", 3)].into_iter());
        assert_ne!(a.hash, c.hash);
    }
}
