//! The access log, read for an audit of how personal information is used: who read or
//! revealed what, when and why. Only a supervisor bound to the whole district reads it
//! (the role that answers for the district's personal information); every read is itself
//! written to the log.

use actix_web::{web, HttpResponse};
use liuqing_schema::audit::{self, Filter};
use liuqing_schema::casefile::After;
use liuqing_schema::domain::Permission;
use liuqing_schema::org::{self, OrgKind};
use liuqing_schema::{records, users};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::views::{self, Page};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::paging;
use crate::state::AppState;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    pub user_id: Option<String>,
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// RFC 3339; from (inclusive) and to (exclusive).
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// One entry as an auditor reads it.
#[derive(Serialize)]
struct AccessEntry {
    id: String,
    at: String,
    user_id: Option<String>,
    username: Option<String>,
    device_id: Option<String>,
    action: String,
    target_kind: String,
    target_id: String,
    reason: Option<String>,
    detail: Value,
}

fn instant(field: &'static str, text: Option<&str>) -> Result<Option<i64>, ApiError> {
    text.map(|t| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp_micros())
            .map_err(|_| ApiError::validation(field, "must be an RFC 3339 time"))
    })
    .transpose()
}

pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<LogQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Permission::ReadAccessLog)?;
    let limit = paging::limit(q.limit)?;
    let after = paging::decode(q.cursor.as_deref())?
        .map(|After { key, id }| key.parse::<i64>().map(|at| (at, id)))
        .transpose()
        .map_err(|_| ApiError::validation("cursor", "is not a cursor this server made"))?;
    let filter = Filter {
        user_id: q.user_id.clone(),
        action: q.action.clone(),
        target_kind: q.target_kind.clone(),
        target_id: q.target_id.clone(),
        from: instant("from", q.from.as_deref())?,
        to: instant("to", q.to.as_deref())?,
    };
    let page = state
        .db
        .transaction(move |conn| {
            let mut district = false;
            for id in users::org_node_ids(conn, &caller.user_id)? {
                district |= org::find(conn, &id)?.is_some_and(|n| n.kind == OrgKind::District);
            }
            if !district {
                return Err(ApiError::Forbidden(
                    "forbidden_scope",
                    "the access log is read by a supervisor of the whole district".into(),
                ));
            }
            let entries = audit::search(conn, &filter, after, limit as i64 + 1)?;
            let mut items = Vec::with_capacity(entries.len().min(limit));
            for e in entries.iter().take(limit) {
                let username = match &e.user_id {
                    Some(u) => users::find(conn, u)?.map(|u| u.username),
                    None => None,
                };
                let detail = match &e.detail {
                    Some(d) => records::parse_json("audit_log.detail", d)?,
                    None => Value::Null,
                };
                items.push(AccessEntry {
                    id: e.id.clone(),
                    at: views::time(e.at),
                    user_id: e.user_id.clone(),
                    username,
                    device_id: e.device_id.clone(),
                    action: e.action.clone(),
                    target_kind: e.target_kind.clone(),
                    target_id: e.target_id.clone(),
                    reason: e.reason.clone(),
                    detail,
                });
            }
            let next_cursor = (entries.len() > limit)
                .then(|| entries.get(limit - 1))
                .flatten()
                .map(|e| {
                    paging::encode(&After {
                        key: e.at.to_string(),
                        id: e.id.clone(),
                    })
                });
            // Reading the log is an access too.
            audit::record(
                conn,
                caller.actor(),
                "read_access_log",
                "audit_log",
                "*",
                None,
                Some(json!(q)),
            )?;
            Ok(Page { items, next_cursor })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}
