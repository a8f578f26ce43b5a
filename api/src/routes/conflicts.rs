//! The staff conflict queue: the losing values of concurrent edits and coordinators'
//! proposals for staff-owned fields. Resolving one writes through the sync engine, so the
//! decision reaches every phone on its next pull like any change.

use actix_web::{web, HttpResponse};
use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::Entity;
use liuqing_schema::records::{self, Conflict};
use liuqing_schema::time::now_micros;
use liuqing_schema::DbConn;
use liuqing_sync::values;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use validator::Validate;

use super::views::{self, Items};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::Body;
use crate::staff::{self, Edit};
use crate::state::AppState;

/// A conflict as staff see it: values parsed, sensitive ones masked.
#[derive(Serialize)]
pub(crate) struct ConflictView {
    pub id: String,
    pub entity: Entity,
    pub record_id: String,
    pub community_id: String,
    pub field: String,
    pub policy: String,
    pub kept: Value,
    pub yours: Value,
    pub kept_hlc: String,
    pub yours_hlc: String,
    pub kept_device: Option<String>,
    pub yours_device: Option<String>,
    pub kept_user: Option<String>,
    pub yours_user: Option<String>,
    pub status: String,
    pub resolution: Option<String>,
    pub created_at: String,
}

fn view(c: &Conflict) -> Result<ConflictView, ApiError> {
    let parse = |column, s: &str| records::parse_json(column, s).map(|v| values::shown(&v));
    Ok(ConflictView {
        id: c.id.clone(),
        entity: c.entity,
        record_id: c.record_id.clone(),
        community_id: c.community_id.clone(),
        field: c.field.clone(),
        policy: c.policy.clone(),
        kept: parse("conflicts.kept", &c.kept)?,
        yours: parse("conflicts.yours", &c.yours)?,
        kept_hlc: c.kept_hlc.clone(),
        yours_hlc: c.yours_hlc.clone(),
        kept_device: c.kept_device.clone(),
        yours_device: c.yours_device.clone(),
        kept_user: c.kept_user.clone(),
        yours_user: c.yours_user.clone(),
        status: c.status.clone(),
        resolution: c.resolution.clone(),
        created_at: views::time(c.created_at),
    })
}

pub async fn list(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let items = state.db.run(move |conn| open_of(conn, &caller)).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// The open conflicts in the caller's scope, oldest first (the API's queue and the
/// console's).
pub(crate) fn open_of(conn: &mut DbConn, caller: &Caller) -> Result<Vec<ConflictView>, ApiError> {
    caller.require(Permission::ResolveConflicts)?;
    let scope = caller.scope(conn)?;
    records::open_conflicts(conn, &scope, 500)?
        .iter()
        .map(view)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    KeepServer,
    TakePhone,
    NewValue,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    pub resolution: Resolution,
    /// The value to write, with `new_value`.
    pub value: Option<Value>,
}

/// The plain value of a stored one: sealed values are opened (they are written again
/// through the engine, which seals them anew).
fn plain(cipher: &FieldCipher, c: &Conflict, stored: &str) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_str(stored).map_err(|e| ApiError::Internal(e.into()))?;
    match v.get("sealed").and_then(Value::as_str) {
        Some(sealed) => {
            let context = format!("{}:{}:{}", c.entity, c.record_id, c.field);
            Ok(json!(cipher
                .decrypt(sealed, &context)
                .map_err(|e| ApiError::Internal(e.into()))?))
        }
        None => Ok(v),
    }
}

pub async fn resolve(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Body(req): Body<Resolve>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let app = state.clone();
    let resolved = state
        .db
        .write(move |conn| resolve_in(conn, &app, &caller, &id, req))
        .await?;
    Ok(HttpResponse::Ok().json(resolved))
}

/// Resolves a conflict in the caller's scope, in the caller's unit of work: the chosen
/// value is written through the engine as the caller, and the conflict closed.
pub(crate) fn resolve_in(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    id: &str,
    req: Resolve,
) -> Result<ConflictView, ApiError> {
    caller.require(Permission::ResolveConflicts)?;
    if (req.resolution == Resolution::NewValue) != req.value.is_some() {
        return Err(ApiError::validation(
            "value",
            "is given with `new_value` and only then",
        ));
    }
    let scope = caller.scope(conn)?;
    let conflict = records::conflict_in_scope(conn, &scope, id)?
        .ok_or_else(|| ApiError::not_found("conflict"))?;
    if conflict.status != "open" {
        return Err(ApiError::Conflict(
            "already_resolved",
            "this conflict is already resolved".into(),
        ));
    }
    let value = match req.resolution {
        Resolution::KeepServer => None,
        Resolution::TakePhone => Some(plain(&app.cipher, &conflict, &conflict.yours)?),
        Resolution::NewValue => req.value.clone(),
    };
    let now = now_micros();
    if let Some(value) = &value {
        let record = records::find(conn, conflict.entity, &conflict.record_id)?
            .ok_or_else(|| ApiError::not_found("record"))?;
        let mut fields = Map::new();
        fields.insert(conflict.field.clone(), value.clone());
        let env = staff::engine_env(&scope, &app.cipher, &app.config, now);
        staff::apply(conn, caller, &env, Edit::update(&record, fields)?).map_err(|e| match e {
            // The value is the request's; the field is the record's.
            ApiError::Validation(errors) => ApiError::Validation(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(format!("value ({})", e.field), e.reason))
                    .collect(),
            ),
            other => other,
        })?;
    }
    let stored = value.as_ref().map(Value::to_string);
    if !records::resolve_conflict(
        conn,
        &conflict.id,
        resolution_name(req.resolution),
        stored.as_deref(),
        &caller.user_id,
        now,
    )? {
        return Err(ApiError::Conflict(
            "already_resolved",
            "this conflict is already resolved".into(),
        ));
    }
    let updated = records::conflict_in_scope(conn, &scope, &conflict.id)?
        .ok_or_else(|| ApiError::not_found("conflict"))?;
    view(&updated)
}

fn resolution_name(r: Resolution) -> &'static str {
    match r {
        Resolution::KeepServer => "keep_server",
        Resolution::TakePhone => "take_phone",
        Resolution::NewValue => "new_value",
    }
}
