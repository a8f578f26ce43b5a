//! Station staff's writes to the case file, as HTTP sees them. A REST request becomes
//! one edit applied by the sync engine inside `liuqing_sync::writer::transaction` (see
//! `Db::write`), the same path phone pushes take, so the change gets a change number,
//! merges by the field policies and reaches the phones on their next pull. There is no
//! other way to write a record. This module only maps the engine's answer to HTTP.

use chrono::NaiveDate;
use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::entities::Entity;
use liuqing_schema::records;
use liuqing_schema::records::Record;
use liuqing_schema::scope::Scope;
use liuqing_schema::time::Micros;
use liuqing_schema::{org, DbConn};
use liuqing_sync::engine::Env;
use liuqing_sync::protocol::{MutationResult, Status};
pub use liuqing_sync::writer::Edit;
use serde_json::{json, Map};

use crate::auth::Caller;
use crate::config::Config;
use crate::error::ApiError;

/// The engine's surroundings for one request: the caller's scope, the cipher, the time.
pub fn engine_env<'a>(
    scope: &'a Scope,
    cipher: &'a FieldCipher,
    config: &Config,
    now: Micros,
) -> Env<'a> {
    config.sync_settings().env(scope, cipher, now)
}

/// Applies an edit as the caller, inside the request's write transaction. A rejection
/// becomes the matching HTTP problem, so the transaction rolls back with it.
pub fn apply(
    conn: &mut DbConn,
    caller: &Caller,
    env: &Env<'_>,
    edit: Edit,
) -> Result<MutationResult, ApiError> {
    let entity = edit.entity;
    let result = liuqing_sync::writer::apply_edit(conn, &caller.author(), env, edit)?;
    if result.status == Status::Rejected {
        return Err(ApiError::rejected(entity, &result));
    }
    Ok(result)
}

/// A task the server gives a phone (`task` records reach the assignee's phone on its next
/// pull): about a person, in their household.
pub struct NewTask {
    /// A given id makes the task once only (the server's own tasks); `None`: a new one.
    pub id: Option<uuid::Uuid>,
    pub of: TaskOf,
    pub assignee_id: String,
    /// `retake_photo`, `follow_up_due`, `visit`, `job_match`, `subsidy_check`, `other`.
    pub kind: &'static str,
    pub title: String,
    pub due_on: Option<NaiveDate>,
    pub notes: Option<String>,
    /// What else the task names: the vacancy a `job_match` proposes, the subsidy and the
    /// month a `subsidy_check` verifies.
    pub links: Vec<(&'static str, String)>,
}

/// Whom a task is about: a person (in their household), or a whole household.
#[derive(Debug, Clone)]
pub enum TaskOf {
    Person(String),
    /// A person whose household the caller has read already (a batch saves the read).
    PersonIn {
        person: String,
        household: String,
    },
    Household(String),
}

/// Writes `task` as the caller, in the request's transaction; returns its id.
pub fn add_task(
    conn: &mut DbConn,
    caller: &Caller,
    env: &Env<'_>,
    task: NewTask,
) -> Result<String, ApiError> {
    let mut fields = Map::new();
    match task.of {
        TaskOf::Person(person_id) => {
            let person = records::find(conn, Entity::Person, &person_id)?.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("a task for an unknown person"))
            })?;
            let household_id = person.parent_id.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("a person without a household"))
            })?;
            fields.insert("household_id".into(), json!(household_id));
            fields.insert("person_id".into(), json!(person_id));
        }
        TaskOf::PersonIn { person, household } => {
            fields.insert("household_id".into(), json!(household));
            fields.insert("person_id".into(), json!(person));
        }
        TaskOf::Household(household_id) => {
            fields.insert("household_id".into(), json!(household_id));
        }
    }
    fields.insert("assignee_id".into(), json!(task.assignee_id));
    fields.insert("kind".into(), json!(task.kind));
    fields.insert("title".into(), json!(task.title));
    fields.insert("state".into(), json!("open"));
    if let Some(due) = task.due_on {
        fields.insert("due_on".into(), json!(due.format("%Y-%m-%d").to_string()));
    }
    if let Some(notes) = task.notes {
        fields.insert("notes".into(), json!(notes));
    }
    for (field, value) in task.links {
        fields.insert(field.into(), json!(value));
    }
    let mut edit = Edit::create(Entity::Task, fields);
    if let Some(id) = task.id {
        edit.id = id;
    }
    let id = edit.id.to_string();
    apply(conn, caller, env, edit)?;
    Ok(id)
}

/// A record of the caller's scope (its community, or the street whose employers and
/// vacancies it shares), or 404 (outside the scope looks like missing).
pub fn record_in_scope(
    conn: &mut DbConn,
    scope: &Scope,
    entity: Entity,
    id: &str,
) -> Result<Record, ApiError> {
    let not_found = || ApiError::not_found(entity.to_string());
    let rec = records::find(conn, entity, id)?.ok_or_else(not_found)?;
    if rec.deleted || org::find_partition_in_scope(conn, scope, &rec.community_id)?.is_none() {
        return Err(not_found());
    }
    Ok(rec)
}
