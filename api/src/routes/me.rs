//! The caller's own view: who they are, on which device, and the org nodes they act on.

use actix_web::{web, HttpResponse};
use liuqing_schema::devices::DeviceState;
use liuqing_schema::org::OrgNode;
use liuqing_schema::users::UserView;
use liuqing_schema::{devices, org, users};
use serde::Serialize;

use crate::auth::CallerAllowingPasswordChange;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The caller (`Me` in openapi.yaml).
#[derive(Serialize)]
struct Me {
    user: UserView,
    device: DeviceView,
    org_nodes: Vec<OrgNode>,
}

#[derive(Serialize)]
struct DeviceView {
    id: String,
    name: String,
    platform: String,
    state: DeviceState,
}

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
            Ok(Me {
                user: view,
                device: DeviceView {
                    id: device.id,
                    name: device.name,
                    platform: device.platform,
                    state: device.state,
                },
                org_nodes: bound,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
