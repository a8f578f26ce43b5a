//! The binding check of a signed service commitment: the seal the writer stored when the
//! commitment was first written (`liuqing_schema::seals`) against the binding now.

use actix_web::{web, HttpResponse};
use liuqing_schema::attachments as store;
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::seals;
use serde::Serialize;
use serde_json::Value;

use super::casework::record_in_scope;
use super::views;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

/// Whether a commitment still matches what was sealed when it was signed.
#[derive(Serialize)]
struct Binding {
    commitment_id: String,
    seal: Option<String>,
    current: Option<String>,
    intact: bool,
    signature_received: bool,
    signature_is_png: bool,
}

/// `GET /v1/commitments/{id}/binding`: the stored seal, the binding recomputed now, and
/// whether the signature is a PNG the server holds.
pub async fn get_binding(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(Permission::CheckCommitments)?;
    let id = id.into_inner();
    let answer = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            let record = record_in_scope(conn, &scope, Entity::Commitment, &id)?;
            let sealed = seals::of(conn, &id)?;
            let doc = views::document(&record)?;
            let current = seals::binding_of(&doc);
            let signature = get_path(&doc, "signature_sha256")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let attachment = store::held_for(conn, &signature, record.created_by.as_deref())?;
            Ok(Binding {
                intact: sealed.is_some() && sealed == current,
                commitment_id: id,
                seal: sealed,
                current,
                signature_received: attachment.is_some(),
                signature_is_png: attachment.is_some_and(|a| a.media_type == "image/png"),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
