//! Station staff's writes to the case file. A REST request becomes one mutation applied by
//! the sync engine, the same path phone pushes take, so the change gets a change number,
//! merges by the field policies and reaches the phones on their next pull. There is no
//! other way to write a record.

use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::entities::Entity;
use liuqing_schema::records::Record;
use liuqing_schema::scope::Scope;
use liuqing_schema::time::Micros;
use liuqing_schema::DbConn;
use liuqing_sync::engine::{self, Env, Writer};
use liuqing_sync::hlc::Hlc;
use liuqing_sync::protocol::{Mutation, MutationResult, Op, Status};
use serde_json::{Map, Value};

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

/// One edit by the caller: which record, and what to set.
pub struct Edit {
    pub entity: Entity,
    pub id: uuid::Uuid,
    pub op: Op,
    /// The version the caller saw; `None` for a new record.
    pub base_version: Option<i64>,
    pub fields: Map<String, Value>,
    pub set_ops: Map<String, Value>,
    /// A recognition action, whose state machine has been checked (see `Writer`).
    pub lifecycle: bool,
}

impl Edit {
    /// A new record with these fields.
    pub fn create(entity: Entity, fields: Map<String, Value>) -> Edit {
        Edit {
            entity,
            id: uuid::Uuid::now_v7(),
            op: Op::Upsert,
            base_version: None,
            fields,
            set_ops: Map::new(),
            lifecycle: false,
        }
    }

    /// Changes to a record the caller read at `record.version`.
    pub fn update(record: &Record, fields: Map<String, Value>) -> Result<Edit, ApiError> {
        Ok(Edit {
            entity: record.entity,
            id: record
                .id
                .parse()
                .map_err(|e: uuid::Error| ApiError::Internal(e.into()))?,
            op: Op::Upsert,
            base_version: Some(record.version),
            fields,
            set_ops: Map::new(),
            lifecycle: false,
        })
    }
}

/// Applies an edit as the caller, inside the caller's transaction. A rejection becomes the
/// matching HTTP problem, so the caller's transaction rolls back with it.
pub fn apply(
    conn: &mut DbConn,
    caller: &Caller,
    env: &Env<'_>,
    edit: Edit,
) -> Result<MutationResult, ApiError> {
    let now = env.now;
    let mutation = Mutation {
        mutation_id: uuid::Uuid::now_v7(),
        entity: edit.entity.to_string(),
        id: edit.id,
        op: edit.op,
        base_version: edit.base_version,
        hlc: Hlc {
            millis: (now / 1000).max(0) as u64,
            counter: 0,
            node: caller.device_id.clone(),
        }
        .to_string(),
        fields: edit.fields,
        set_ops: edit.set_ops,
    };
    let author = caller.author();
    let who = Writer {
        lifecycle: edit.lifecycle,
        ..author.writer()
    };
    let result = engine::apply(conn, who, env, &mutation)?;
    if result.status != Status::Rejected {
        return Ok(result);
    }
    // (The rejection rolls the caller's transaction back with it.)
    Err(ApiError::rejected(edit.entity, &result))
}
