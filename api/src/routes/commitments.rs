//! The binding check of a signed service commitment: the seal the writer stored when the
//! commitment was first written (`liuqing_schema::seals`) against the binding now.

use actix_web::{web, HttpResponse};
use liuqing_schema::attachments as store;
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::seals;
use liuqing_schema::DbConn;
use serde::Serialize;
use serde_json::Value;

use super::casework::record_in_scope;
use super::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Whether a commitment still matches what was sealed when it was signed.
#[derive(Serialize)]
pub(crate) struct Binding {
    pub commitment_id: String,
    pub seal: Option<String>,
    pub current: Option<String>,
    pub intact: bool,
    pub signature_received: bool,
    pub signature_is_png: bool,
}

/// `GET /v1/commitments/{id}/binding`: the stored seal, the binding recomputed now, and
/// whether the signature is a PNG the server holds.
pub async fn get_binding(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let answer = state
        .db
        .run(move |conn| binding_of(conn, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The binding check of commitment `id` in the caller's scope (the API's and the case
/// file page's).
pub(crate) fn binding_of(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<Binding, ApiError> {
    caller.require(Permission::CheckCommitments)?;
    let scope = caller.scope(conn)?;
    let record = record_in_scope(conn, &scope, Entity::Commitment, id)?;
    let sealed = seals::of(conn, id)?;
    let doc = views::document(&record)?;
    let current = seals::binding_of(&doc);
    let signature = get_path(&doc, "signature_sha256")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let attachment = store::held_for(conn, &signature, record.created_by.as_deref())?;
    Ok(Binding {
        intact: sealed.is_some() && sealed == current,
        commitment_id: id.to_string(),
        seal: sealed,
        current,
        signature_received: attachment.is_some(),
        signature_is_png: attachment.is_some_and(|a| a.media_type == "image/png"),
    })
}
