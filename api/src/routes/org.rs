//! The org tree as the caller may see it: the subtrees under the nodes they are bound to.

use actix_web::{web, HttpResponse};
use liuqing_schema::org;

use super::views::Items;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn list(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let items = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            Ok(org::list_in_scope(conn, &scope)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// One node; a node outside the caller's scope is answered exactly like a missing one.
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let node = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            org::find_in_scope(conn, &scope, &id)?.ok_or_else(|| ApiError::not_found("org node"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(node))
}
