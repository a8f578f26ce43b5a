//! Station staff's work on the case file: creating and editing any record (households,
//! persons, assessments, plans, service records, exits, tasks, …) and taking recognition
//! actions. Every write is one mutation through the sync engine, validated field by field
//! by the entity's declared spec, so phones receive it on their next pull.

use actix_web::{web, HttpResponse};
use liuqing_schema::domain::Permission;
use liuqing_schema::domain::{IdNumber, RecognitionAction};
use liuqing_schema::entities::{self, Entity, Policy};
use liuqing_schema::time::now_micros;
use liuqing_schema::{org, users, DbConn};
use liuqing_sync::engine::Env;
use liuqing_sync::protocol::{ConflictNote, Status};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use validator::Validate;

use super::views::{self, Items, RecordView};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use crate::recognitions;
use crate::staff::{self, Edit};
use crate::state::AppState;

/// The fields of a new record or of an edit, as in a sync mutation.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct RecordWrite {
    /// The version the edit is based on (edits only); an older one makes a concurrent edit
    /// whose losing values are kept as conflicts.
    pub base_version: Option<i64>,
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// `{"path": {"add": [...], "remove": [...]}}` for multi-select fields.
    #[serde(default)]
    pub set_ops: Map<String, Value>,
}

fn entity_of(name: &str) -> Result<Entity, ApiError> {
    name.parse()
        .map_err(|e: liuqing_schema::text_enum::UnknownVariant| {
            ApiError::validation("entity", e.to_string())
        })
}

pub use crate::staff::record_in_scope;

/// Checks a staff write beyond the field types: task assignees, and
/// enrolment of an ID number already enrolled (a 409 naming the community, number masked).
fn check_write(
    conn: &mut DbConn,
    env: &Env<'_>,
    entity: Entity,
    id: &str,
    req: &RecordWrite,
) -> Result<(), ApiError> {
    if entity == Entity::Task {
        if let Some(assignee) = req.fields.get("assignee_id").and_then(Value::as_str) {
            if users::find(conn, assignee)?.is_none_or(|u| u.disabled) {
                return Err(ApiError::validation(
                    "fields.assignee_id",
                    "is not an active user",
                ));
            }
        }
    }
    if entity == Entity::Person {
        enrolled_elsewhere(conn, env, &req.fields, id)?;
    }
    Ok(())
}

/// The 409 for an ID number already enrolled: names the community, masks the number.
fn enrolled_elsewhere(
    conn: &mut DbConn,
    env: &Env<'_>,
    fields: &Map<String, Value>,
    except: &str,
) -> Result<(), ApiError> {
    let Some(text) = fields.get("id_number").and_then(Value::as_str) else {
        return Ok(());
    };
    let Ok(number) = IdNumber::parse(text, env.today) else {
        // The engine names what is wrong with it.
        return Ok(());
    };
    let hash = env.cipher.lookup_hash(number.expose());
    let Some((_, community_id)) = liuqing_sync::projection::enrolled(conn, &hash, except)? else {
        return Ok(());
    };
    let community = org::find(conn, &community_id)?
        .map(|n| n.name)
        .unwrap_or_else(|| "another community".into());
    Err(ApiError::Conflict(
        "duplicate_person",
        format!(
            "the person with ID number {} is already enrolled in {community}",
            number.masked()
        ),
    ))
}

/// Creates a record of any case-file entity as staff.
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    entity: web::Path<String>,
    Body(req): Body<RecordWrite>,
) -> ApiResult<HttpResponse> {
    let entity = entity_of(&entity)?;
    let app = state.clone();
    let created = state
        .db
        .write(move |conn| create_in(conn, &app, &caller, entity, req))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Creates a record in the caller's scope, through the engine as the caller, in the
/// caller's unit of work (the API's and the console's). An exit schedules its follow-ups.
pub(crate) fn create_in(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    entity: Entity,
    req: RecordWrite,
) -> Result<RecordView, ApiError> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::EditCaseFiles)?;
    if req.base_version.is_some() {
        return Err(ApiError::validation(
            "base_version",
            "is for edits, not for a new record",
        ));
    }
    let config = &app.config;
    let scope = caller.scope(conn)?;
    let env = staff::engine_env(&scope, &app.cipher, config, now_micros());
    check_write(conn, &env, entity, "", &req)?;
    let mut edit = Edit::create(entity, req.fields);
    edit.set_ops = req.set_ops;
    let id = edit.id.to_string();
    staff::apply(conn, caller, &env, edit)?;
    // An exit for work schedules its follow-ups in the same write (sync's follow-on).
    let created = record_in_scope(conn, &scope, entity, &id)?;
    views::record(&created, birth_dates)
}

pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::ReadCaseFiles)?;
    let (entity, id) = path.into_inner();
    let entity = entity_of(&entity)?;
    let rec = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            let rec = record_in_scope(conn, &scope, entity, &id)?;
            if entity == Entity::Person {
                liuqing_schema::audit::record(
                    conn,
                    caller.actor(),
                    "read_person",
                    "person",
                    &id,
                    None,
                    None,
                )?;
            }
            views::record(&rec, birth_dates)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rec))
}

/// Edits a record as staff. Without `base_version` the edit is based on the current
/// version; with an older one, fields changed since are merged like a phone's edit.
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    Body(req): Body<RecordWrite>,
) -> ApiResult<HttpResponse> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::EditCaseFiles)?;
    let (entity, id) = path.into_inner();
    let entity = entity_of(&entity)?;
    let cipher = state.cipher.clone();
    let config = state.config.clone();
    let updated = state
        .db
        .write(move |conn| {
            let scope = caller.scope(conn)?;
            let rec = record_in_scope(conn, &scope, entity, &id)?;
            let env = staff::engine_env(&scope, &cipher, &config, now_micros());
            check_write(conn, &env, entity, &id, &req)?;
            if req.base_version.is_some_and(|v| v > rec.version || v < 0) {
                return Err(ApiError::validation(
                    "base_version",
                    format!("must be a version this record had (now {})", rec.version),
                ));
            }
            let mut edit = Edit::update(&rec, req.fields)?;
            edit.base_version = req.base_version.or(Some(rec.version));
            edit.set_ops = req.set_ops;
            let mut result = staff::apply(conn, &caller, &env, edit)?;
            birth_dates.notes(&mut result.conflicts);
            let rec = record_in_scope(conn, &scope, entity, &id)?;
            Ok(Updated {
                record: views::record(&rec, birth_dates)?,
                status: result.status,
                conflicts: result.conflicts,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub action: RecognitionAction,
    /// Why: required to reject, kept in the history for every action.
    #[validate(length(max = 4000, message = "must be at most 4000 characters"))]
    pub reason: Option<String>,
    /// Takes the step although rules are unmet (materials come by another road, say):
    /// why, for the access log and the application's history. Roles that may override only.
    #[validate(length(min = 10, max = 4000, message = "must be 10 to 4000 characters"))]
    pub override_reason: Option<String>,
}

/// Takes a recognition action (受理→初审→公示→认定, or reject) by the state machine's rules
/// and the guide's (`crate::recognitions`): an illegal action is a 409 naming the current
/// state, a role that may not take it a 403, unmet rules a 409 listing them.
pub async fn act(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Body(req): Body<Action>,
) -> ApiResult<HttpResponse> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::EditCaseFiles)?;
    let id = id.into_inner();
    let cipher = state.cipher.clone();
    let config = state.config.clone();
    let step = recognitions::Step {
        action: req.action,
        reason: req.reason,
        override_reason: req.override_reason,
    };
    step.check()?;
    let updated = state
        .db
        .write(move |conn| {
            // (The writer's transaction holds the write lock: two staff acting at once
            // are serialised, and the second sees the first one's result.)
            let scope = caller.scope(conn)?;
            let env = staff::engine_env(&scope, &cipher, &config, now_micros());
            let rec = recognitions::take(conn, &caller, &env, &config, &id, &step)?;
            views::record(&rec, birth_dates)
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}

#[derive(Serialize)]
struct EntityView {
    entity: Entity,
    parent: Option<ParentView>,
    /// For a record with no parent: the field naming its org node, and the node's kind.
    node: Option<NodeView>,
    append_only: bool,
    phone_writable: bool,
    fields: Vec<FieldView>,
}

#[derive(Serialize)]
struct ParentView {
    field: &'static str,
    entity: Entity,
}

#[derive(Serialize)]
struct NodeView {
    field: &'static str,
    kind: liuqing_schema::org::OrgKind,
}

#[derive(Serialize)]
struct FieldView {
    path: &'static str,
    policy: Policy,
    required: bool,
}

/// A staff edit's answer: the record now, and what the merge made of the edit.
#[derive(Serialize)]
struct Updated {
    record: RecordView,
    status: Status,
    conflicts: Vec<ConflictNote>,
}

/// The declared fields of every entity, for clients building forms.
pub async fn entities() -> HttpResponse {
    let items = Entity::ALL
        .iter()
        .map(|&entity| {
            let spec = entities::spec(entity);
            EntityView {
                entity,
                parent: spec
                    .parent
                    .map(|(field, entity)| ParentView { field, entity }),
                node: spec.node.map(|(field, kind)| NodeView { field, kind }),
                append_only: spec.append_only,
                phone_writable: spec.phone_writable,
                fields: spec
                    .fields
                    .iter()
                    .map(|f| FieldView {
                        path: f.path,
                        policy: f.policy,
                        required: f.required,
                    })
                    .collect(),
            }
        })
        .collect();
    HttpResponse::Ok().json(Items { items })
}
