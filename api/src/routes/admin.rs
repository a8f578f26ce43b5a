//! Administration: the org tree and the users bound to it.

use actix_web::{web, HttpResponse};
use liuqing_schema::audit;
use liuqing_schema::domain::Permission;
use liuqing_schema::org::{self, OrgKind, PlacementError};
use liuqing_schema::sessions::{self, Sessions};
use liuqing_schema::users::{self, NewUser, Role};
use liuqing_schema::DbConn;
use serde::{Deserialize, Serialize};
use serde_json::json;
use validator::Validate;

use super::views::Items;
use crate::auth::{password, Caller};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::Body;
use crate::state::AppState;

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgNode {
    /// Optional client-chosen id (UUID); the server makes one when absent.
    pub id: Option<uuid::Uuid>,
    pub parent_id: Option<uuid::Uuid>,
    pub kind: OrgKind,
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[validate(custom(function = "crate::extract::plain_text"))]
    pub name: String,
}

pub async fn create_org_node(
    state: web::Data<AppState>,
    caller: Caller,
    Body(req): Body<CreateOrgNode>,
) -> ApiResult<HttpResponse> {
    let node = state
        .db
        .transaction(move |conn| create_org_node_in(conn, &caller, &req))
        .await?;
    Ok(HttpResponse::Created().json(node))
}

/// Adds a node to the org tree, in the caller's transaction (the API's and the console's).
pub(crate) fn create_org_node_in(
    conn: &mut DbConn,
    caller: &Caller,
    req: &CreateOrgNode,
) -> Result<org::OrgNode, ApiError> {
    caller.require(Permission::Administer)?;
    req.validate()?;
    let id = req.id.unwrap_or_else(uuid::Uuid::now_v7).to_string();
    if org::find(conn, &id)?.is_some() {
        return Err(ApiError::Conflict(
            "already_exists",
            format!("org node {id} already exists"),
        ));
    }
    let parent = req.parent_id.map(|p| p.to_string());
    let node = org::create(conn, &id, parent.as_deref(), req.kind, req.name.trim())?.map_err(
        |e| match e {
            PlacementError::ParentNotFound => ApiError::validation("parent_id", "no such org node"),
            PlacementError::WrongParentKind { expected: None } => {
                ApiError::validation("parent_id", format!("a {} has no parent", req.kind))
            }
            PlacementError::WrongParentKind {
                expected: Some(kind),
            } => ApiError::validation(
                "parent_id",
                format!("a {} must be under a {kind}", req.kind),
            ),
        },
    )?;
    audit::record(
        conn,
        caller.actor(),
        "create_org_node",
        "org_node",
        &node.id,
        None,
        None,
    )?;
    Ok(node)
}

pub async fn list_users(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let items = state.db.run(move |conn| users_of(conn, &caller)).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// The users of the caller's scope (the API's list and the console's).
pub(crate) fn users_of(
    conn: &mut DbConn,
    caller: &Caller,
) -> Result<Vec<users::UserView>, ApiError> {
    caller.require(Permission::Administer)?;
    let scope = caller.scope(conn)?;
    let mut views = Vec::new();
    for user in users::list_in_scope(conn, &scope)? {
        views.push(users::view(conn, &user)?);
    }
    Ok(views)
}

fn validate_username(name: &str) -> Result<(), validator::ValidationError> {
    let ok = (3..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(validator::ValidationError::new("username")
            .with_message("must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-'".into()))
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[validate(custom(function = "validate_username"))]
    pub username: String,
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[validate(custom(function = "crate::extract::plain_text"))]
    pub display_name: String,
    /// Initial password; the user must change it at first login.
    #[validate(custom(function = "password::validate_policy"))]
    pub password: String,
    pub role: Role,
    #[serde(default)]
    pub org_node_ids: Vec<uuid::Uuid>,
}

/// Checks org bindings: every node exists, and coordinators work in communities.
fn check_bindings(
    conn: &mut DbConn,
    role: Role,
    ids: &[uuid::Uuid],
) -> Result<Vec<String>, ApiError> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let id = id.to_string();
        match org::find(conn, &id)? {
            None => errors.push(FieldError::new(
                format!("org_node_ids[{i}]"),
                "no such org node",
            )),
            Some(node) if role == Role::Coordinator && node.kind != OrgKind::Community => errors
                .push(FieldError::new(
                    format!("org_node_ids[{i}]"),
                    "a coordinator is bound to communities only",
                )),
            Some(_) if !out.contains(&id) => out.push(id),
            Some(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::Validation(errors))
    }
}

pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    Body(req): Body<CreateUser>,
) -> ApiResult<HttpResponse> {
    caller.require(Permission::Administer)?;
    let hash = password::hash(&req.password)?;
    let view = state
        .db
        .transaction(move |conn| create_user_in(conn, &caller, &req, &hash))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Creates a user with the one-time password hashed as `hash`, in the caller's
/// transaction (the API's and the console's).
pub(crate) fn create_user_in(
    conn: &mut DbConn,
    caller: &Caller,
    req: &CreateUser,
    hash: &str,
) -> Result<users::UserView, ApiError> {
    caller.require(Permission::Administer)?;
    req.validate()?;
    if users::find_by_username(conn, &req.username)?.is_some() {
        return Err(ApiError::Conflict(
            "username_taken",
            format!("the username `{}` is taken", req.username),
        ));
    }
    let nodes = check_bindings(conn, req.role, &req.org_node_ids)?;
    let id = uuid::Uuid::now_v7().to_string();
    let user = users::create(
        conn,
        &NewUser {
            id: &id,
            username: &req.username,
            display_name: req.display_name.trim(),
            password_hash: hash,
            role: req.role,
            must_change_password: true,
        },
    )?;
    users::set_org_nodes(conn, &id, &nodes)?;
    audit::record(
        conn,
        caller.actor(),
        "create_user",
        "user",
        &id,
        None,
        Some(json!({ "role": req.role, "org_node_ids": nodes })),
    )?;
    Ok(users::view(conn, &user)?)
}

fn find_user(conn: &mut DbConn, id: &str) -> Result<users::User, ApiError> {
    users::find(conn, id)?.ok_or_else(|| ApiError::not_found("user"))
}

pub async fn get_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(Permission::Administer)?;
    let id = id.into_inner();
    let view = state
        .db
        .run(move |conn| {
            let user = find_user(conn, &id)?;
            Ok(users::view(conn, &user)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    #[validate(custom(function = "crate::extract::plain_text"))]
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

/// Changes a user's name, role or disabled flag. Disabling ends their sessions at once.
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Body(req): Body<UpdateUser>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let view = state
        .db
        .transaction(move |conn| update_user_in(conn, &caller, &id, &req))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes a user, in the caller's transaction (the API's and the console's).
pub(crate) fn update_user_in(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: &UpdateUser,
) -> Result<users::UserView, ApiError> {
    caller.require(Permission::Administer)?;
    req.validate()?;
    let user = find_user(conn, id)?;
    if user.id == caller.user_id
        && (req.disabled == Some(true) || req.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(ApiError::Conflict(
            "self_lockout",
            "an admin cannot disable or demote themselves".into(),
        ));
    }
    if let Some(role) = req.role {
        // A coordinator's bindings must stay communities.
        let bound: Vec<uuid::Uuid> = users::org_node_ids(conn, &user.id)?
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        check_bindings(conn, role, &bound)?;
    }
    users::update(
        conn,
        &user.id,
        req.display_name.as_deref().map(str::trim),
        req.role,
        req.disabled,
    )?;
    if req.disabled == Some(true) {
        sessions::revoke(conn, Sessions::OfUser(&user.id), "user_disabled")?;
    }
    audit::record(
        conn,
        caller.actor(),
        "update_user",
        "user",
        &user.id,
        None,
        Some(
            json!({ "role": req.role, "disabled": req.disabled, "display_name": req.display_name.is_some() }),
        ),
    )?;
    let updated = find_user(conn, &user.id)?;
    Ok(users::view(conn, &updated)?)
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct SetOrgNodes {
    #[validate(length(max = 1000, message = "must have at most 1000 entries"))]
    pub org_node_ids: Vec<uuid::Uuid>,
}

pub async fn set_user_org_nodes(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Body(req): Body<SetOrgNodes>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let view = state
        .db
        .transaction(move |conn| set_org_nodes_in(conn, &caller, &id, &req))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Binds a user to org nodes, in the caller's transaction (the API's and the console's).
pub(crate) fn set_org_nodes_in(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: &SetOrgNodes,
) -> Result<users::UserView, ApiError> {
    caller.require(Permission::Administer)?;
    req.validate()?;
    let user = find_user(conn, id)?;
    let nodes = check_bindings(conn, user.role, &req.org_node_ids)?;
    users::set_org_nodes(conn, &user.id, &nodes)?;
    audit::record(
        conn,
        caller.actor(),
        "set_user_org_nodes",
        "user",
        &user.id,
        None,
        Some(json!({ "org_node_ids": nodes })),
    )?;
    Ok(users::view(conn, &user)?)
}

#[derive(Debug, Serialize)]
struct PasswordReset {
    temporary_password: String,
}

/// Gives the user a new one-time password (shown once, here) and ends their sessions.
pub async fn reset_password(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(Permission::Administer)?;
    let id = id.into_inner();
    let temporary = password::generate();
    let hash = password::hash(&temporary)?;
    state
        .db
        .transaction(move |conn| reset_password_in(conn, &caller, &id, &hash))
        .await?;
    Ok(HttpResponse::Ok().json(PasswordReset {
        temporary_password: temporary,
    }))
}

/// Sets a one-time password (hashed as `hash`) for another user and ends their sessions,
/// in the caller's transaction (the API's and the console's).
pub(crate) fn reset_password_in(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    hash: &str,
) -> Result<(), ApiError> {
    caller.require(Permission::Administer)?;
    let user = find_user(conn, id)?;
    if user.id == caller.user_id {
        return Err(ApiError::Conflict(
            "self_lockout",
            "change your own password with POST /v1/auth/password".into(),
        ));
    }
    users::set_password(conn, &user.id, hash, true)?;
    sessions::revoke(conn, Sessions::OfUser(&user.id), "password_reset")?;
    audit::record(
        conn,
        caller.actor(),
        "reset_password",
        "user",
        &user.id,
        None,
        None,
    )?;
    Ok(())
}
