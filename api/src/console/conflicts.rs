//! 冲突处理: the values two phones wrote to one field without seeing each other's (the
//! later one kept, the other here so it is not lost), and coordinators' proposals for
//! fields the station owns. Both values side by side with who wrote them, when and on
//! which device; keep one, or enter the right value. Resolving goes through the API's
//! own function (`routes::conflicts::resolve_in`), so the phones pull the outcome.

use actix_web::web;
use liuqing_schema::entities::{self, Entity, FieldType, Policy};
use liuqing_schema::{casefile, records, DbConn};
use liuqing_sync::hlc::Hlc;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ConsoleError, ConsoleResult};
use super::labels;
use super::names::Names;
use super::page::{self, Section};
use super::session::{Console, Posted};
use super::zh;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::conflicts::{open_of, resolve_in, ConflictView, Resolution, Resolve};
use crate::state::AppState;

/// One side of a conflict, as the page shows it.
struct Side {
    value: Value,
    who: String,
    when: String,
    device: String,
}

struct Shown {
    conflict: ConflictView,
    subject: String,
    kept: Side,
    yours: Side,
}

/// When a write was made, from its clock (physical milliseconds).
fn when(hlc: &str, offset: i32) -> String {
    match hlc.parse::<Hlc>() {
        Ok(h) => zh::instant(h.millis as i64 * 1000, offset),
        Err(_) => String::new(),
    }
}

/// Whose record it is: the person's name, or the household's address.
fn subject(conn: &mut DbConn, caller: &Caller, c: &ConflictView) -> Result<String, ApiError> {
    let scope = caller.scope(conn)?;
    let person_id = match c.entity {
        Entity::Person | Entity::SixClears => Some(c.record_id.clone()),
        Entity::Household => None,
        _ => records::find(conn, c.entity, &c.record_id)?
            .map(|r| r.document())
            .transpose()?
            .and_then(|d| {
                d.get("person_id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
    };
    if let Some(p) = person_id {
        if let Some(row) = casefile::person_in_scope(conn, &scope, &p)? {
            return Ok(row.name);
        }
    }
    if c.entity == Entity::Household {
        if let Some(r) = records::find(conn, c.entity, &c.record_id)? {
            if let Some(address) = r.document()?.get("address").and_then(Value::as_str) {
                return Ok(address.to_string());
            }
        }
    }
    Ok(labels::entity(c.entity).to_string())
}

/// A value as a person reads it.
fn shown_value(v: &Value) -> String {
    match v {
        Value::Null => "（空）".into(),
        Value::Bool(true) => "是".into(),
        Value::Bool(false) => "否".into(),
        Value::String(s) if s.is_empty() => "（空）".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(shown_value).collect::<Vec<_>>().join("、"),
        other => other.to_string(),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    done: Option<String>,
    error: Option<String>,
}

/// `GET /console/conflicts`.
pub async fn list(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<ListQuery>,
) -> ConsoleResult {
    let caller = console.caller.clone();
    let offset = state.config.utc_offset_minutes;
    let shown = state
        .db
        .run(move |conn| {
            let mut names = Names::default();
            let mut shown = Vec::new();
            for c in open_of(conn, &caller)? {
                let side = |names: &mut Names,
                            conn: &mut DbConn,
                            value: &Value,
                            user: Option<&str>,
                            device: Option<&str>,
                            hlc: &str|
                 -> Result<Side, ApiError> {
                    Ok(Side {
                        value: value.clone(),
                        who: names.user(conn, user)?,
                        device: names.device(conn, device)?,
                        when: when(hlc, offset),
                    })
                };
                let kept = side(
                    &mut names,
                    conn,
                    &c.kept,
                    c.kept_user.as_deref(),
                    c.kept_device.as_deref(),
                    &c.kept_hlc,
                )?;
                let yours = side(
                    &mut names,
                    conn,
                    &c.yours,
                    c.yours_user.as_deref(),
                    c.yours_device.as_deref(),
                    &c.yours_hlc,
                )?;
                shown.push(Shown {
                    subject: subject(conn, &caller, &c)?,
                    conflict: c,
                    kept,
                    yours,
                });
            }
            Ok(shown)
        })
        .await?;
    let error = query.error.as_deref().map(refusal);
    let body = html! {
        p.lede { "两台手机离线时改了同一项，或协理员修改了应由服务站确定的内容。后写的值已生效，另一个值保留在这里，请确认哪个正确。" }
        @if query.done.is_some() { p.notice role="status" { "已处理。手机下次同步时会收到结果。" } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if shown.is_empty() {
            p.empty { "没有待处理的冲突。" }
        }
        @for s in &shown { (card(&console, s)) }
    };
    Ok(console.html(page::shell(&console, Section::Conflicts, "冲突处理", body)))
}

fn refusal(code: &str) -> &'static str {
    match code {
        "already_resolved" => "这条冲突已经有人处理过了。",
        "value" => "输入的值不符合这一项的要求，请检查后重新输入。",
        _ => "这项操作没有完成，请重试。",
    }
}

fn side(title: &str, s: &Side, masked: bool) -> Markup {
    html! {
        div.side {
            h3 { (title) }
            p.value { (shown_value(&s.value)) @if masked { " " span.hint { "（已遮盖）" } } }
            dl {
                dt { "填写人" } dd { (s.who) }
                dt { "时间" } dd { (s.when) }
                dt { "设备" } dd { (s.device) }
            }
        }
    }
}

fn card(console: &Console, s: &Shown) -> Markup {
    let c = &s.conflict;
    let field = labels::field(c.entity, &c.field).map_or_else(|| c.field.clone(), str::to_string);
    let proposal = c.policy == Policy::StaffLocked.as_str();
    let sealed = matches!(
        entities::spec(c.entity).field(&c.field).map(|f| f.ty),
        Some(FieldType::IdNumber | FieldType::MobilePhone | FieldType::AccountNumber)
    );
    let action = format!("/console/conflicts/{}", c.id);
    html! {
        article.conflict id={ "c-" (c.id) } {
            h2 { (s.subject) " · " (labels::entity(c.entity)) " · " (field) }
            @if proposal { p.hint { "这一项由服务站确定；协理员提出了修改。" } }
            div.sides {
                (side("现在的值", &s.kept, sealed))
                (side(if proposal { "协理员的提议" } else { "另一台手机的值" }, &s.yours, sealed))
            }
            div.actions {
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(console.csrf);
                    input type="hidden" name="resolution" value="keep_server";
                    button type="submit" { @if proposal { "不接受提议" } @else { "保留现在的值" } }
                }
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(console.csrf);
                    input type="hidden" name="resolution" value="take_phone";
                    button.primary type="submit" { @if proposal { "接受提议" } @else { "改用另一个值" } }
                }
                @if !sealed {
                    form.inline method="post" action=(action) {
                        input type="hidden" name="csrf" value=(console.csrf);
                        input type="hidden" name="resolution" value="new_value";
                        label { "都不对，正确的是" input name="value" required maxlength="2000"; }
                        button type="submit" { "保存" }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct ResolveForm {
    resolution: Resolution,
    value: Option<String>,
}

/// What a typed value means for the field: a number, a yes/no, a list, or text.
fn typed(entity: Entity, field: &str, text: &str) -> Value {
    let text = text.trim();
    match entities::spec(entity).field(field).map(|f| f.ty) {
        Some(FieldType::Int { .. }) => text
            .parse::<i64>()
            .map_or_else(|_| json!(text), |n| json!(n)),
        Some(FieldType::Float { .. }) => text
            .parse::<f64>()
            .map_or_else(|_| json!(text), |n| json!(n)),
        Some(FieldType::Bool) => match text {
            "是" | "true" | "1" => json!(true),
            "否" | "false" | "0" => json!(false),
            other => json!(other),
        },
        Some(FieldType::Set { .. } | FieldType::RefList(_)) => json!(text
            .split(['、', ',', '，'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()),
        Some(FieldType::Json { .. }) => serde_json::from_str(text).unwrap_or_else(|_| json!(text)),
        _ => json!(text),
    }
}

/// `POST /console/conflicts/{id}`.
pub async fn resolve(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: ResolveForm = console.form(&body)?;
    let id = id.into_inner();
    let caller = console.caller.clone();
    let app = state.clone();
    let done = state
        .db
        .write(move |conn| {
            let value = match form.resolution {
                Resolution::NewValue => {
                    let scope = caller.scope(conn)?;
                    let c = records::conflict_in_scope(conn, &scope, &id)?
                        .ok_or_else(|| ApiError::not_found("conflict"))?;
                    Some(typed(
                        c.entity,
                        &c.field,
                        form.value.as_deref().unwrap_or_default(),
                    ))
                }
                _ => None,
            };
            resolve_in(
                conn,
                &app,
                &caller,
                &id,
                Resolve {
                    resolution: form.resolution,
                    value,
                },
            )
        })
        .await;
    match done {
        Ok(_) => Ok(console.see_other("/console/conflicts?done=1")),
        Err(ApiError::Conflict(code, _)) => {
            Ok(console.see_other(&format!("/console/conflicts?error={code}")))
        }
        Err(ApiError::Validation(_)) => Ok(console.see_other("/console/conflicts?error=value")),
        Err(e) => Err(ConsoleError::Api(e)),
    }
}
