//! The binding of a signed service commitment: when a commitment first arrives the server
//! stores SHA-256 over its text hash, person, signature hash and signed time, so a later
//! change of any of them (in the database or the blob store) is detectable.

use actix_web::{web, HttpResponse};
use liuqing_schema::attachments as store;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records::{self, Record};
use liuqing_schema::time::now_micros;
use liuqing_schema::users::Role;
use liuqing_schema::DbConn;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::casework::record_in_scope;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const VIEWERS: &[Role] = &[Role::StationStaff, Role::Supervisor, Role::Admin];

/// SHA-256 of the four bound values, each length-prefixed so no two sets of values can
/// produce the same input.
pub fn binding(
    text_sha256: &str,
    person_id: &str,
    signature_sha256: &str,
    signed_at: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"liuqing commitment binding v1\n");
    for part in [text_sha256, person_id, signature_sha256, signed_at] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The binding of a commitment record as it is now.
pub fn binding_of(record: &Record) -> Option<String> {
    let doc: Value = serde_json::from_str(&record.data).ok()?;
    let field = |p: &str| {
        get_path(&doc, p)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Some(binding(
        &field("text_sha256")?,
        &field("person_id")?,
        &field("signature_sha256")?,
        &field("signed_at")?,
    ))
}

/// Seals a commitment the first time it is seen (later calls keep the first seal).
pub fn seal(conn: &mut DbConn, commitment_id: &str) -> Result<(), ApiError> {
    if store::seal_of(conn, commitment_id)?.is_some() {
        return Ok(());
    }
    let Some(record) = records::find(conn, Entity::Commitment, commitment_id)? else {
        return Ok(());
    };
    if let Some(b) = binding_of(&record) {
        store::add_seal(conn, commitment_id, &b, now_micros())?;
    }
    Ok(())
}

/// `GET /v1/commitments/{id}/binding`: the stored seal, the binding recomputed now, and
/// whether the signature is a PNG the server holds.
pub async fn get_binding(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(VIEWERS)?;
    let id = id.into_inner();
    let answer = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            let record = record_in_scope(conn, &scope, Entity::Commitment, &id)?;
            let sealed = store::seal_of(conn, &id)?;
            let current = binding_of(&record);
            let doc: Value = serde_json::from_str(&record.data).unwrap_or(Value::Null);
            let signature = get_path(&doc, "signature_sha256")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let attachment = store::find(conn, &signature)?;
            Ok(json!({
                "commitment_id": id,
                "seal": sealed,
                "current": current,
                "intact": sealed.is_some() && sealed == current,
                "signature_received": attachment.is_some(),
                "signature_is_png": attachment.is_some_and(|a| a.media_type == "image/png"),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
