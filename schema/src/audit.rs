//! The append-only audit log: who did or read what, when and why. Rows are only ever
//! inserted; no function here updates or deletes one.

use diesel::prelude::*;
use serde::Serialize;

use crate::error::StoreResult;
use crate::tables::audit_log;
use crate::time::{now_micros, Micros};
use crate::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct Entry {
    pub id: String,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub at: Micros,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
}

/// Who acted: a user on a device, or the system itself (`None`s).
#[derive(Debug, Clone, Copy, Default)]
pub struct Actor<'a> {
    pub user_id: Option<&'a str>,
    pub device_id: Option<&'a str>,
}

pub fn record(
    conn: &mut DbConn,
    actor: Actor<'_>,
    action: &str,
    target_kind: &str,
    target_id: &str,
    reason: Option<&str>,
    detail: Option<serde_json::Value>,
) -> StoreResult<()> {
    diesel::insert_into(audit_log::table)
        .values(&Entry {
            id: uuid::Uuid::now_v7().to_string(),
            at: now_micros(),
            user_id: actor.user_id.map(str::to_string),
            device_id: actor.device_id.map(str::to_string),
            action: action.to_string(),
            target_kind: target_kind.to_string(),
            target_id: target_id.to_string(),
            reason: reason.map(str::to_string),
            detail: detail.map(|d| d.to_string()),
        })
        .execute(conn)?;
    Ok(())
}

/// The entries about one target, oldest first.
pub fn for_target(conn: &mut DbConn, kind: &str, id: &str) -> StoreResult<Vec<Entry>> {
    Ok(audit_log::table
        .filter(audit_log::target_kind.eq(kind))
        .filter(audit_log::target_id.eq(id))
        .order((audit_log::at.asc(), audit_log::id.asc()))
        .select(Entry::as_select())
        .load(conn)?)
}

/// What an audit read of the log asks for; every part optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub user_id: Option<String>,
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// From this instant (inclusive) to that one (exclusive).
    pub from: Option<Micros>,
    pub to: Option<Micros>,
}

/// Entries matching `filter`, newest first, at most `limit`, after the entry `(at, id)`
/// a previous page ended on.
pub fn search(
    conn: &mut DbConn,
    filter: &Filter,
    after: Option<(Micros, String)>,
    limit: i64,
) -> StoreResult<Vec<Entry>> {
    use audit_log as a;
    let mut query = a::table.select(Entry::as_select()).into_boxed();
    if let Some(v) = &filter.user_id {
        query = query.filter(a::user_id.eq(v.clone()));
    }
    if let Some(v) = &filter.action {
        query = query.filter(a::action.eq(v.clone()));
    }
    if let Some(v) = &filter.target_kind {
        query = query.filter(a::target_kind.eq(v.clone()));
    }
    if let Some(v) = &filter.target_id {
        query = query.filter(a::target_id.eq(v.clone()));
    }
    if let Some(v) = filter.from {
        query = query.filter(a::at.ge(v));
    }
    if let Some(v) = filter.to {
        query = query.filter(a::at.lt(v));
    }
    if let Some((at, id)) = after {
        query = query.filter(a::at.lt(at).or(a::at.eq(at).and(a::id.lt(id))));
    }
    Ok(query
        .order((a::at.desc(), a::id.desc()))
        .limit(limit)
        .load(conn)?)
}
