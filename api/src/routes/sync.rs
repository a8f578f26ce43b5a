//! The sync protocol's endpoints: push, pull, status. Thin: the engine and the feed in
//! `liuqing-sync` do the work, inside the caller's scope.

use actix_web::{web, HttpResponse};
use liuqing_schema::devices::DeviceState;
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records;
use liuqing_schema::time::now_micros;
use liuqing_sync::feed::{self, FeedError};
use liuqing_sync::protocol::{Mutation, SCHEMA_VERSIONS};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use validator::Validate;

use crate::auth::throttling::LookupAllowance;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use crate::state::AppState;

#[derive(Serialize)]
struct SyncStatus {
    server_time: String,
    schema_versions: &'static [u32],
    device_state: DeviceState,
    open_tasks: usize,
}

fn check_schema_version(v: u32) -> ApiResult<()> {
    if SCHEMA_VERSIONS.contains(&v) {
        Ok(())
    } else {
        Err(ApiError::UpgradeRequired(format!(
            "schema_version {v} is not served; accepted: {SCHEMA_VERSIONS:?}"
        )))
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub schema_version: u32,
    pub mutations: Vec<Mutation>,
}

/// Applies a phone's outbox in order, each mutation atomic (committed a chunk at a time,
/// possibly with other phones' chunks: see `liuqing_sync::writer`): a rejected mutation
/// is answered and the rest go on. Everything a chunk does (merge, seals, a retiring
/// device's lock, the attachments still missing) is one transaction in the writer.
pub async fn push(
    state: web::Data<AppState>,
    caller: Caller,
    Body(req): Body<PushRequest>,
) -> ApiResult<HttpResponse> {
    caller.require(Permission::Sync)?;
    check_schema_version(req.schema_version)?;
    let max = state.config.sync_max_mutations;
    if req.mutations.len() > max {
        return Err(ApiError::PayloadTooLarge { limit: max });
    }
    let pushes = state.pushes.clone();
    let birth_dates = caller.birth_dates();
    let lookups = req
        .mutations
        .iter()
        .filter(|m| m.asks_for_an_id_number())
        .count();
    let spend =
        LookupAllowance::new(&state.config, &state.cipher, &caller.user_id).for_push(lookups);
    let mut answer = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            let author = caller.author();
            Ok(pushes.apply(conn, &author, &scope, now_micros(), req.mutations, spend)?)
        })
        .await?;
    birth_dates.results(&mut answer.results);
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    pub schema_version: u32,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

pub async fn pull(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PullQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Permission::Sync)?;
    let q = query.into_inner();
    check_schema_version(q.schema_version)?;
    let max = state.config.sync_max_page;
    let limit = q.limit.unwrap_or(500.min(max));
    if !(1..=max).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!("must be from 1 to {max}"),
        ));
    }
    let birth_dates = caller.birth_dates();
    let page = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            feed::pull(conn, &scope, q.cursor.as_deref(), limit, birth_dates).map_err(|e| match e {
                FeedError::BadCursor => {
                    ApiError::validation("cursor", "is not a cursor this server made")
                }
                FeedError::Gone => ApiError::Gone(
                    "the cursor is older than the changes still kept; pull again without a cursor"
                        .into(),
                ),
                FeedError::Store(e) => e.into(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    pub schema_version: Option<u32>,
}

/// Server time, accepted schema versions, this device's state, the caller's open tasks.
pub async fn status(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<StatusQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(Permission::Sync)?;
    if let Some(v) = query.schema_version {
        check_schema_version(v)?;
    }
    let device_state = caller.device_state;
    let open_tasks = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            let communities = records::communities_in_scope(conn, &scope)?;
            let tasks = records::live_of_entity(conn, Entity::Task, &communities)?;
            let mut open = 0;
            for task in &tasks {
                let d = task.document()?;
                let text = |path| get_path(&d, path).and_then(Value::as_str);
                if text("assignee_id") == Some(caller.user_id.as_str())
                    && text("state") == Some("open")
                {
                    open += 1;
                }
            }
            Ok(open)
        })
        .await?;
    Ok(HttpResponse::Ok().json(SyncStatus {
        server_time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        schema_versions: SCHEMA_VERSIONS,
        device_state,
        open_tasks,
    }))
}
