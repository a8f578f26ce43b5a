//! Station staff's writes to the case file, as HTTP sees them. A REST request becomes
//! one edit applied by the sync engine inside `liuqing_sync::writer::transaction` (see
//! `Db::write`), the same path phone pushes take, so the change gets a change number,
//! merges by the field policies and reaches the phones on their next pull. There is no
//! other way to write a record. This module only maps the engine's answer to HTTP.

use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::scope::Scope;
use liuqing_schema::time::Micros;
use liuqing_schema::DbConn;
use liuqing_sync::engine::Env;
use liuqing_sync::protocol::{MutationResult, Status};
pub use liuqing_sync::writer::Edit;

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
