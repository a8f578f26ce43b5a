//! The caller's own view: who they are, on which device, and the org nodes they act on.

use actix_web::{web, HttpResponse};
use liuqing_schema::{devices, org, users};
use serde_json::json;

use crate::auth::CallerAllowingPasswordChange;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn me(
    state: web::Data<AppState>,
    CallerAllowingPasswordChange(caller): CallerAllowingPasswordChange,
) -> ApiResult<HttpResponse> {
    let body = state
        .db
        .run(move |conn| {
            let user =
                users::find(conn, &caller.user_id)?.ok_or_else(|| ApiError::not_found("user"))?;
            let device = devices::find(conn, &caller.device_id)?
                .ok_or_else(|| ApiError::not_found("device"))?;
            let view = users::view(conn, &user)?;
            let mut bound = Vec::new();
            for id in &view.org_node_ids {
                if let Some(node) = org::find(conn, id)? {
                    bound.push(node);
                }
            }
            Ok(json!({
                "user": view,
                "device": {
                    "id": device.id,
                    "name": device.name,
                    "platform": device.platform,
                    "state": device.state,
                },
                "org_nodes": bound,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
