//! 系统管理: users and roles, the org tree, devices. Admins run the system (and read no
//! case file); station staff see and retire or revoke the devices of their station.
//! Every action is the API's own (`routes::admin`, `routes::devices`), audited as there.

use actix_web::web;
use liuqing_schema::devices::{Device, DeviceState};
use liuqing_schema::domain::Permission;
use liuqing_schema::org::{self, OrgKind, OrgNode};
use liuqing_schema::users::{Role, UserView};
use maud::{html, Markup};
use serde::Deserialize;

use super::error::{ConsoleError, ConsoleResult};
use super::names::Names;
use super::page::{self, Section};
use super::session::{check_token, Console, Posted};
use super::zh;
use crate::auth::password::{self, MIN_LEN};
use crate::error::ApiError;
use crate::routes::admin::{
    create_org_node_in, create_user_in, reset_password_in, set_org_nodes_in, update_user_in,
    users_of, CreateOrgNode, CreateUser, SetOrgNodes, UpdateUser,
};
use crate::routes::devices::{devices_of, update_in, UpdateDevice};
use crate::state::AppState;

fn kind_name(k: OrgKind) -> &'static str {
    match k {
        OrgKind::District => "区",
        OrgKind::Street => "街道",
        OrgKind::Station => "服务站",
        OrgKind::Community => "社区",
    }
}

fn depth(k: OrgKind) -> usize {
    match k {
        OrgKind::District => 0,
        OrgKind::Street => 1,
        OrgKind::Station => 2,
        OrgKind::Community => 3,
    }
}

/// A node's name indented by its depth, for a `<select>`.
fn indented(n: &OrgNode) -> String {
    format!(
        "{}{}（{}）",
        "　".repeat(depth(n.kind)),
        n.name,
        kind_name(n.kind)
    )
}

fn tabs(c: &Console, active: &str) -> Markup {
    html! {
        nav.filters aria-label="系统管理" {
            @if c.caller.may(Permission::Administer) {
                a href="/console/admin/users" aria-current=[(active == "users").then_some("page")] { "用户" }
                a href="/console/admin/org" aria-current=[(active == "org").then_some("page")] { "组织" }
            }
            @if c.caller.may(Permission::ViewDevices) {
                a href="/console/admin/devices" aria-current=[(active == "devices").then_some("page")] { "设备" }
            }
        }
    }
}

/// `GET /console/admin`: the first page the role has.
pub async fn index(console: Console) -> ConsoleResult {
    if console.caller.may(Permission::Administer) {
        return Ok(console.see_other("/console/admin/users"));
    }
    console.caller.require(Permission::ViewDevices)?;
    Ok(console.see_other("/console/admin/devices"))
}

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    done: Option<String>,
    error: Option<String>,
}

fn users_page(c: &Console, users: &[UserView], nodes: &[OrgNode], flash: Option<Markup>) -> Markup {
    let name_of = |id: &str| {
        nodes
            .iter()
            .find(|n| n.id == id)
            .map_or("（未知）", |n| n.name.as_str())
    };
    let body = html! {
        (tabs(c, "users"))
        @if let Some(f) = &flash { div.flash { (f) } }
        table.list {
            thead { tr { th { "用户名" } th { "姓名" } th { "角色" } th { "负责范围" } th { "状态" } th { "操作" } } }
            tbody {
                @for u in users {
                    tr {
                        td { (u.username) }
                        td { (u.display_name) }
                        td { (zh::role(u.role)) }
                        td.wrap { (u.org_node_ids.iter().map(|id| name_of(id)).collect::<Vec<_>>().join("、")) }
                        td {
                            @if u.disabled { span.state data-state="rejected" { "已停用" } }
                            @else if u.must_change_password { span.state data-state="retake" { "待改密码" } }
                            @else { span.state data-state="approved" { "正常" } }
                        }
                        td.actions {
                            @if u.id != c.caller.user_id {
                                a href={ "/console/admin/users/" (u.id) "/edit" } { "角色与范围" }
                                form method="post" action={ "/console/admin/users/" (u.id) } {
                                    input type="hidden" name="csrf" value=(c.csrf);
                                    input type="hidden" name="disabled" value=(if u.disabled { "false" } else { "true" });
                                    button type="submit" { @if u.disabled { "启用" } @else { "停用" } }
                                }
                                form method="post" action={ "/console/admin/users/" (u.id) "/password-reset" } {
                                    input type="hidden" name="csrf" value=(c.csrf);
                                    button type="submit" { "重置密码" }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "新建用户" }
            form.narrow method="post" action="/console/admin/users" {
                input type="hidden" name="csrf" value=(c.csrf);
                label { "用户名（小写字母、数字、. _ -）" input name="username" required minlength="3" maxlength="64" pattern="[a-z0-9._\\-]+"; }
                label { "姓名" input name="display_name" required maxlength="100"; }
                label { "角色" select name="role" {
                    @for r in [Role::Coordinator, Role::StationStaff, Role::Supervisor, Role::Admin] {
                        option value=(r.as_str()) { (zh::role(r)) }
                    }
                } }
                label { "负责范围（协理员选社区；可多选）" select name="org_node_ids" multiple size="8" {
                    @for n in nodes { option value=(n.id) { (indented(n)) } }
                } }
                label { "初始密码（首次登录须修改，至少 " (MIN_LEN) " 个字符）" input name="password" type="password" required minlength=(MIN_LEN) autocomplete="new-password"; }
                button type="submit" { "新建" }
            }
        }
    };
    page::shell(c, Section::Admin, "系统管理 · 用户", body)
}

/// The org nodes of the caller's scope, in tree order.
async fn nodes_of(state: &web::Data<AppState>, c: &Console) -> Result<Vec<OrgNode>, ConsoleError> {
    let caller = c.caller.clone();
    Ok(state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            Ok(org::list_in_scope(conn, &scope)?)
        })
        .await?)
}

/// The users page again, saying what became of a form, with `status`.
async fn users_again(
    state: &web::Data<AppState>,
    c: &Console,
    flash: Markup,
    status: actix_web::http::StatusCode,
) -> ConsoleResult {
    let (users, nodes) = users_view(state, c).await?;
    let mut res = c.html(users_page(c, &users, &nodes, Some(flash)));
    *res.status_mut() = status;
    Ok(res)
}

async fn users_view(
    state: &web::Data<AppState>,
    c: &Console,
) -> Result<(Vec<UserView>, Vec<OrgNode>), ConsoleError> {
    let caller = c.caller.clone();
    Ok(state
        .db
        .run(move |conn| {
            let users = users_of(conn, &caller)?;
            let scope = caller.scope(conn)?;
            Ok((users, org::list_in_scope(conn, &scope)?))
        })
        .await?)
}

fn refusal(e: &ApiError) -> Markup {
    let why = match e {
        ApiError::Validation(errors) => errors
            .iter()
            .map(|f| format!("{}：{}", f.field, f.reason))
            .collect::<Vec<_>>()
            .join("；"),
        ApiError::Conflict("username_taken", _) => "这个用户名已经有人用了。".into(),
        ApiError::Conflict("self_lockout", _) => "不能停用或重置自己的账户。".into(),
        other => other.to_string(),
    };
    html! { p.error role="alert" { "没有完成：" (why) } }
}

/// `GET /console/admin/users`.
pub async fn users(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<UsersQuery>,
) -> ConsoleResult {
    let (users, nodes) = users_view(&state, &console).await?;
    let flash = match (query.done.as_deref(), query.error.as_deref()) {
        (Some(_), _) => Some(html! { p.notice role="status" { "已保存。" } }),
        _ => None,
    };
    Ok(console.html(users_page(&console, &users, &nodes, flash)))
}

/// Every value of a repeated form field.
fn all(body: &[u8], name: &str) -> Vec<String> {
    form_urlencoded::parse(body)
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect()
}

fn one(body: &[u8], name: &str) -> String {
    all(body, name).into_iter().next().unwrap_or_default()
}

/// `POST /console/admin/users`.
pub async fn create_user(
    state: web::Data<AppState>,
    console: Console,
    Posted(body): Posted,
) -> ConsoleResult {
    check_token(&body, &console.csrf)?;
    let role = one(&body, "role").parse::<Role>();
    let nodes: Result<Vec<uuid::Uuid>, _> = all(&body, "org_node_ids")
        .iter()
        .map(|n| n.parse())
        .collect();
    let made = match (role, nodes) {
        (Ok(role), Ok(org_node_ids)) => {
            let req = CreateUser {
                username: one(&body, "username").trim().to_string(),
                display_name: one(&body, "display_name"),
                password: one(&body, "password"),
                role,
                org_node_ids,
            };
            match password::hash(&req.password) {
                Err(e) => Err(ApiError::Internal(e)),
                Ok(hash) => {
                    let caller = console.caller.clone();
                    state
                        .db
                        .transaction(move |conn| create_user_in(conn, &caller, &req, &hash))
                        .await
                }
            }
        }
        _ => Err(ApiError::validation(
            "role",
            "choose a role and nodes from the lists",
        )),
    };
    match made {
        Ok(_) => Ok(console.see_other("/console/admin/users?done=1")),
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(..))) => {
            let status = actix_web::ResponseError::status_code(&e);
            users_again(&state, &console, refusal(&e), status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/admin/users/{id}`: disable or enable.
pub async fn update_user(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    check_token(&body, &console.csrf)?;
    let req = UpdateUser {
        display_name: None,
        role: None,
        disabled: Some(one(&body, "disabled") == "true"),
    };
    let caller = console.caller.clone();
    let id = id.into_inner();
    match state
        .db
        .transaction(move |conn| update_user_in(conn, &caller, &id, &req))
        .await
    {
        Ok(_) => Ok(console.see_other("/console/admin/users?done=1")),
        Err(e @ ApiError::Conflict(..)) => {
            let status = actix_web::ResponseError::status_code(&e);
            users_again(&state, &console, refusal(&e), status).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/admin/users/{id}/password-reset`: a one-time password, shown once.
pub async fn reset_password(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    check_token(&body, &console.csrf)?;
    let temporary = password::generate();
    let hash = password::hash(&temporary).map_err(ApiError::Internal)?;
    let caller = console.caller.clone();
    let id = id.into_inner();
    let done = state
        .db
        .transaction(move |conn| reset_password_in(conn, &caller, &id, &hash))
        .await;
    let flash = match done {
        Ok(()) => html! {
            p.notice role="status" { "一次性密码：" strong { code { (temporary) } } "。只显示这一次，请当面或电话告知本人；其在所有设备上的登录已结束。" }
        },
        Err(e @ ApiError::Conflict(..)) => refusal(&e),
        Err(e) => return Err(e.into()),
    };
    users_again(&state, &console, flash, actix_web::http::StatusCode::OK).await
}

/// `GET /console/admin/org`.
pub async fn org_tree(state: web::Data<AppState>, console: Console) -> ConsoleResult {
    console.caller.require(Permission::Administer)?;
    let nodes = nodes_of(&state, &console).await?;
    Ok(console.html(org_page(&console, &nodes, None)))
}

fn org_page(c: &Console, nodes: &[OrgNode], flash: Option<Markup>) -> Markup {
    let body = html! {
        (tabs(c, "org"))
        @if let Some(f) = &flash { div.flash { (f) } }
        ul.tree {
            @for n in nodes {
                li data-depth=(depth(n.kind)) { span.kind { (kind_name(n.kind)) } " " (n.name) }
            }
        }
        section.card {
            h2 { "新建组织" }
            form.narrow method="post" action="/console/admin/org" {
                input type="hidden" name="csrf" value=(c.csrf);
                label { "上级" select name="parent_id" {
                    option value="" { "（无：新建一个区）" }
                    @for n in nodes.iter().filter(|n| n.kind != OrgKind::Community) { option value=(n.id) { (indented(n)) } }
                } }
                label { "类型" select name="kind" {
                    @for k in [OrgKind::District, OrgKind::Street, OrgKind::Station, OrgKind::Community] {
                        option value=(k.as_str()) { (kind_name(k)) }
                    }
                } }
                label { "名称" input name="name" required maxlength="100"; }
                button type="submit" { "新建" }
            }
        }
    };
    page::shell(c, Section::Admin, "系统管理 · 组织", body)
}

/// `POST /console/admin/org`.
pub async fn create_node(
    state: web::Data<AppState>,
    console: Console,
    Posted(body): Posted,
) -> ConsoleResult {
    check_token(&body, &console.csrf)?;
    let parent = one(&body, "parent_id");
    let parent_id = if parent.is_empty() {
        Ok(None)
    } else {
        parent.parse::<uuid::Uuid>().map(Some)
    };
    let req = match (parent_id, one(&body, "kind").parse::<OrgKind>()) {
        (Ok(parent_id), Ok(kind)) => Ok(CreateOrgNode {
            id: None,
            parent_id,
            kind,
            name: one(&body, "name"),
        }),
        _ => Err(ApiError::validation(
            "kind",
            "choose the parent and kind from the lists",
        )),
    };
    let caller = console.caller.clone();
    let made = match req {
        Ok(req) => {
            state
                .db
                .transaction(move |conn| create_org_node_in(conn, &caller, &req))
                .await
        }
        Err(e) => Err(e),
    };
    let nodes = nodes_of(&state, &console).await?;
    let flash = match made {
        Ok(node) => html! { p.notice role="status" { "已新建：" (node.name) } },
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(..))) => refusal(&e),
        Err(e) => return Err(e.into()),
    };
    Ok(console.html(org_page(&console, &nodes, Some(flash))))
}

fn device_state(s: DeviceState) -> &'static str {
    match s {
        DeviceState::Active => "使用中",
        DeviceState::Retiring => "退役中（同步一次后锁定）",
        DeviceState::Revoked => "已吊销",
    }
}

/// `GET /console/admin/devices`.
pub async fn devices(state: web::Data<AppState>, console: Console) -> ConsoleResult {
    let (devices, owners) = devices_view(&state, &console).await?;
    Ok(console.html(devices_page(
        &console,
        &devices,
        &owners,
        None,
        state.config.utc_offset_minutes,
    )))
}

async fn devices_view(
    state: &web::Data<AppState>,
    c: &Console,
) -> Result<(Vec<Device>, Vec<String>), ConsoleError> {
    let caller = c.caller.clone();
    Ok(state
        .db
        .run(move |conn| {
            let devices = devices_of(conn, &caller)?;
            let mut names = Names::default();
            let owners = devices
                .iter()
                .map(|d| names.user(conn, Some(&d.user_id)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((devices, owners))
        })
        .await?)
}

fn devices_page(
    c: &Console,
    devices: &[Device],
    owners: &[String],
    flash: Option<Markup>,
    offset: i32,
) -> Markup {
    let may_manage = c.caller.may(Permission::ManageDevices);
    let body = html! {
        (tabs(c, "devices"))
        @if let Some(f) = &flash { div.flash { (f) } }
        p.hint { "手机丢失时请吊销（立即失效）；换手机时选退役（把离线数据同步一次后锁定）。" }
        table.list {
            thead { tr { th { "使用人" } th { "设备" } th { "平台" } th { "状态" } th { "最后使用" } @if may_manage { th { "操作" } } } }
            tbody {
                @for (d, owner) in devices.iter().zip(owners) {
                    tr {
                        td { (owner) }
                        td { (d.name) }
                        td { (d.platform) }
                        td { span.state data-state=(match d.state { DeviceState::Active => "approved", DeviceState::Retiring => "retake", DeviceState::Revoked => "rejected" }) { (device_state(d.state)) } }
                        td { (zh::instant(d.last_seen_at, offset)) }
                        @if may_manage {
                            td.actions {
                                @if d.state != DeviceState::Revoked && d.id != c.caller.device_id {
                                    form method="post" action={ "/console/admin/devices/" (d.id) } {
                                        input type="hidden" name="csrf" value=(c.csrf);
                                        input name="reason" placeholder="原因" maxlength="500" required;
                                        @if d.state == DeviceState::Active { button type="submit" name="state" value="retiring" { "退役" } }
                                        button.danger type="submit" name="state" value="revoked" { "吊销" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page::shell(c, Section::Admin, "系统管理 · 设备", body)
}

#[derive(Deserialize)]
struct DeviceForm {
    state: DeviceState,
    reason: Option<String>,
}

/// `POST /console/admin/devices/{id}`.
pub async fn update_device(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: DeviceForm = console.form(&body)?;
    let caller = console.caller.clone();
    let id = id.into_inner();
    let req = UpdateDevice {
        state: form.state,
        reason: form.reason,
    };
    let done = state
        .db
        .transaction(move |conn| update_in(conn, &caller, &id, &req))
        .await;
    let flash = match done {
        Ok(d) => html! { p.notice role="status" { (d.name) "：" (device_state(d.state)) } },
        Err(e @ (ApiError::Conflict(..) | ApiError::Validation(_))) => refusal(&e),
        Err(e) => return Err(e.into()),
    };
    let (devices, owners) = devices_view(&state, &console).await?;
    Ok(console.html(devices_page(
        &console,
        &devices,
        &owners,
        Some(flash),
        state.config.utc_offset_minutes,
    )))
}

/// `GET /console/admin/users/{id}/edit`: a user's role and the nodes they are bound to.
pub async fn edit_user(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
) -> ConsoleResult {
    let (users, nodes) = users_view(&state, &console).await?;
    let id = id.into_inner();
    let user = users
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| ConsoleError::Api(ApiError::not_found("user")))?;
    Ok(console.html(edit_page(&console, &user, &nodes, None)))
}

fn edit_page(c: &Console, u: &UserView, nodes: &[OrgNode], flash: Option<Markup>) -> Markup {
    let body = html! {
        (tabs(c, "users"))
        p.back { a href="/console/admin/users" { "← 返回用户列表" } }
        @if let Some(f) = &flash { div.flash { (f) } }
        form.narrow method="post" action={ "/console/admin/users/" (u.id) "/edit" } {
            input type="hidden" name="csrf" value=(c.csrf);
            p { (u.username) " · " (u.display_name) }
            label { "角色" select name="role" {
                @for r in [Role::Coordinator, Role::StationStaff, Role::Supervisor, Role::Admin] {
                    option value=(r.as_str()) selected[r == u.role] { (zh::role(r)) }
                }
            } }
            label { "负责范围（协理员选社区；可多选）" select name="org_node_ids" multiple size="10" {
                @for n in nodes { option value=(n.id) selected[u.org_node_ids.contains(&n.id)] { (indented(n)) } }
            } }
            button type="submit" { "保存" }
        }
    };
    page::shell(c, Section::Admin, "系统管理 · 角色与范围", body)
}

/// `POST /console/admin/users/{id}/edit`: role and bindings together, in one transaction
/// (bindings first when the user becomes a coordinator, whose nodes must be communities).
pub async fn save_user(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    check_token(&body, &console.csrf)?;
    let id = id.into_inner();
    let role = one(&body, "role").parse::<Role>();
    let nodes: Result<Vec<uuid::Uuid>, _> = all(&body, "org_node_ids")
        .iter()
        .map(|n| n.parse())
        .collect();
    let saved = match (role, nodes) {
        (Ok(role), Ok(org_node_ids)) => {
            let caller = console.caller.clone();
            let user = id.clone();
            state
                .db
                .transaction(move |conn| {
                    let change = UpdateUser {
                        display_name: None,
                        role: Some(role),
                        disabled: None,
                    };
                    let bind = SetOrgNodes { org_node_ids };
                    if role == Role::Coordinator {
                        set_org_nodes_in(conn, &caller, &user, &bind)?;
                        update_user_in(conn, &caller, &user, &change)
                    } else {
                        update_user_in(conn, &caller, &user, &change)?;
                        set_org_nodes_in(conn, &caller, &user, &bind)
                    }
                })
                .await
        }
        _ => Err(ApiError::validation(
            "role",
            "choose a role and nodes from the lists",
        )),
    };
    match saved {
        Ok(_) => Ok(console.see_other("/console/admin/users?done=1")),
        Err(e @ (ApiError::Validation(_) | ApiError::Conflict(..))) => {
            let (users, nodes) = users_view(&state, &console).await?;
            let user = users
                .into_iter()
                .find(|u| u.id == id)
                .ok_or_else(|| ConsoleError::Api(ApiError::not_found("user")))?;
            let mut res = console.html(edit_page(&console, &user, &nodes, Some(refusal(&e))));
            *res.status_mut() = actix_web::ResponseError::status_code(&e);
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}
