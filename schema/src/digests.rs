//! Each community's scope digest, kept up by the sync engine with every record it writes:
//! how many live records the community holds and the wrapping sum of their key hashes
//! (the hash is the sync crate's: `liuqing_sync::feed::key_hash`). A pull's last page adds
//! up one row per community in scope instead of reading and hashing every record there.

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::backend;
use crate::entities::Entity;
use crate::error::StoreResult;
use crate::tables::{community_digests, records, sync_state};
use crate::DbConn;

/// A change to one community's digest, or a digest: live records (fewer when negative)
/// and the wrapping sum of key hashes (a removed record's hash subtracted).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    pub live: i64,
    pub sum: u64,
}

impl Digest {
    pub fn add(&mut self, hash: u64) {
        self.live += 1;
        self.sum = self.sum.wrapping_add(hash);
    }

    pub fn remove(&mut self, hash: u64) {
        self.live -= 1;
        self.sum = self.sum.wrapping_sub(hash);
    }

    fn plus(self, other: Digest) -> Digest {
        Digest {
            live: self.live + other.live,
            sum: self.sum.wrapping_add(other.sum),
        }
    }
}

/// The `sync_state` entry saying the digests were filled for the records written before
/// they were kept.
const BUILT: &str = "community_digests_built";

/// Adds changes to the communities' digests. The caller holds the write lock, so no one
/// changes a row between its read and its write here. The sum wraps in Rust: PostgreSQL
/// refuses to overflow a BIGINT, and the column holds the sum's 64 bits as they are. One
/// read for all the communities, and on PostgreSQL one statement for the new rows and one
/// for the changed: a flush touches a few communities, and each statement there is a
/// round trip.
pub fn apply(conn: &mut DbConn, changes: &BTreeMap<String, Digest>) -> StoreResult<()> {
    let changed: Vec<&String> = changes
        .iter()
        .filter(|(_, change)| **change != Digest::default())
        .map(|(community, _)| community)
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    let current: BTreeMap<String, Digest> = community_digests::table
        .filter(community_digests::community_id.eq_any(&changed))
        .select((
            community_digests::community_id,
            community_digests::live,
            community_digests::sum,
        ))
        .load::<(String, i64, i64)>(conn)?
        .into_iter()
        .map(|(community, live, sum)| (community, stored((live, sum))))
        .collect();
    let (mut fresh, mut kept) = (Vec::new(), Vec::new());
    for community in changed {
        let old = current.get(community);
        let now = old.copied().unwrap_or_default().plus(changes[community]);
        let row = (community.as_str(), now.live, now.sum as i64);
        if old.is_some() { &mut kept } else { &mut fresh }.push(row);
    }
    let inserted: StoreResult<()> = backend::insert_rows!(
        conn,
        community_digests::table,
        DigestRow<'static>,
        fresh.iter().map(|&(community_id, live, sum)| DigestRow {
            community_id,
            live,
            sum
        })
    );
    inserted?;
    backend::update_digests(conn, &kept)
}

/// A digest row as written.
#[derive(Insertable)]
#[diesel(table_name = community_digests, treat_none_as_default_value = false)]
struct DigestRow<'a> {
    community_id: &'a str,
    live: i64,
    sum: i64,
}

fn stored((live, sum): (i64, i64)) -> Digest {
    Digest {
        live,
        sum: sum as u64,
    }
}

/// The digest of several communities together.
pub fn total(conn: &mut DbConn, communities: &[String]) -> StoreResult<Digest> {
    let rows: Vec<(i64, i64)> = community_digests::table
        .filter(community_digests::community_id.eq_any(communities))
        .select((community_digests::live, community_digests::sum))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(stored)
        .fold(Digest::default(), Digest::plus))
}

/// Every community's digest as stored.
pub fn all(conn: &mut DbConn) -> StoreResult<BTreeMap<String, Digest>> {
    let rows: Vec<(String, i64, i64)> = community_digests::table
        .select((
            community_digests::community_id,
            community_digests::live,
            community_digests::sum,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(community, live, sum)| (community, stored((live, sum))))
        .collect())
}

/// Whether the digests have been filled for the records already there.
pub fn built(conn: &mut DbConn) -> StoreResult<bool> {
    let found: Option<i64> = sync_state::table
        .find(BUILT)
        .select(sync_state::value)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Replaces every digest with `digests` (computed from the records) and notes that they
/// are built. The caller holds the write lock.
pub fn replace_all(conn: &mut DbConn, digests: &BTreeMap<String, Digest>) -> StoreResult<()> {
    diesel::delete(community_digests::table).execute(conn)?;
    apply(conn, digests)?;
    diesel::delete(sync_state::table.find(BUILT)).execute(conn)?;
    diesel::insert_into(sync_state::table)
        .values((sync_state::name.eq(BUILT), sync_state::value.eq(1)))
        .execute(conn)?;
    Ok(())
}

/// The communities that hold records, live or not.
pub fn communities_with_records(conn: &mut DbConn) -> StoreResult<Vec<String>> {
    Ok(records::table
        .select(records::community_id)
        .distinct()
        .load(conn)?)
}

/// `(entity, id, version)` of every live record of one community, for computing its digest
/// (read a community at a time, so memory stays one community's keys).
pub fn live_keys(conn: &mut DbConn, community: &str) -> StoreResult<Vec<(Entity, String, i64)>> {
    Ok(records::table
        .filter(records::community_id.eq(community))
        .filter(records::deleted.eq(false))
        .select((records::entity, records::id, records::version))
        .load(conn)?)
}
