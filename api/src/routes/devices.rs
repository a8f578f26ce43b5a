//! Devices, as admins and station staff manage them: list, look at, retire or revoke.

use actix_web::{web, HttpResponse};
use liuqing_schema::audit;
use liuqing_schema::devices::{self, Device, DeviceState};
use liuqing_schema::domain::Permission;
use liuqing_schema::sessions::{self, Sessions};
use liuqing_schema::DbConn;
use serde::Deserialize;
use serde_json::json;
use validator::Validate;

use super::views::Items;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use crate::state::AppState;

pub async fn list(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let items = state.db.run(move |conn| devices_of(conn, &caller)).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// The devices of the caller's scope (the API's list and the console's).
pub(crate) fn devices_of(conn: &mut DbConn, caller: &Caller) -> Result<Vec<Device>, ApiError> {
    caller.require(Permission::ViewDevices)?;
    let scope = caller.scope(conn)?;
    Ok(devices::list_in_scope(conn, &scope)?)
}

pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(Permission::ViewDevices)?;
    let id = id.into_inner();
    let device = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            devices::find_in_scope(conn, &scope, &id)?.ok_or_else(|| ApiError::not_found("device"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(device))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    pub state: DeviceState,
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    pub reason: Option<String>,
}

/// Moves a device to `retiring` or `revoked`. Revocation is final and ends the device's
/// sessions at once.
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Body(req): Body<UpdateDevice>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let device = state
        .db
        .transaction(move |conn| update_in(conn, &caller, &id, &req))
        .await?;
    Ok(HttpResponse::Ok().json(device))
}

/// Moves a device in the caller's scope, in the caller's transaction (the API's and the
/// console's).
pub(crate) fn update_in(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: &UpdateDevice,
) -> Result<Device, ApiError> {
    caller.require(Permission::ManageDevices)?;
    req.validate()?;
    let scope = caller.scope(conn)?;
    let device =
        devices::find_in_scope(conn, &scope, id)?.ok_or_else(|| ApiError::not_found("device"))?;
    if device.id == caller.device_id && req.state != device.state {
        return Err(ApiError::Conflict(
            "self_lockout",
            "this is the device you are using; log out instead".into(),
        ));
    }
    if !device.state.can_become(req.state) {
        return Err(ApiError::Conflict(
            "illegal_transition",
            format!("the device is `{}`; revocation is final", device.state),
        ));
    }
    if device.state != req.state {
        devices::set_state(conn, &device.id, req.state, &caller.user_id)?;
        if req.state == DeviceState::Revoked {
            sessions::revoke(conn, Sessions::OnDevice(&device.id), "device_revoked")?;
        }
        audit::record(
            conn,
            caller.actor(),
            &format!("device_{}", req.state),
            "device",
            &device.id,
            req.reason.as_deref(),
            Some(json!({ "from": device.state, "to": req.state })),
        )?;
    }
    devices::find(conn, &device.id)?.ok_or_else(|| ApiError::not_found("device"))
}
