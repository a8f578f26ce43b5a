//! 材料审核: the queue of evidence to review, and one piece at a time — the photo large
//! (zoom and rotate), the person's other evidence as a strip, what the one-time notice
//! still asks of them, and the decision: approve, reject with a reason, or ask for a
//! retake (a `retake_photo` task for the phone that sent it). The next piece opens at
//! once. Everything goes through the API's own functions (`routes::review`).

use actix_web::{web, HttpRequest};
use liuqing_schema::casefile::{self, PersonRow};
use maud::{html, Markup};
use serde::Deserialize;

use super::error::{ConsoleError, ConsoleResult};
use super::page::{self, Section};
use super::session::{Console, Posted};
use super::zh;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::attachments::{get_derivative, original_of};
use crate::routes::persons::{notice_of, Notice};
use crate::routes::review::{
    decide_in, evidence_of, evidence_of_person, queue_of, Decide, Decision, EvidenceItem,
    QueueQuery,
};
use crate::state::AppState;
use liuqing_schema::domain::Permission;

/// The most items the list shows at once.
const LIST: i64 = 200;

const STATES: &[(&str, &str)] = &[
    ("pending", "待审核"),
    ("retake", "待重拍"),
    ("rejected", "已驳回"),
    ("approved", "已通过"),
    ("all", "全部"),
];

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    done: Option<String>,
}

fn person_name(
    conn: &mut liuqing_schema::DbConn,
    caller: &Caller,
    id: Option<&str>,
) -> Result<Option<PersonRow>, ApiError> {
    let Some(id) = id else { return Ok(None) };
    let scope = caller.scope(conn)?;
    Ok(casefile::person_in_scope(conn, &scope, id)?)
}

/// `GET /console/review`.
pub async fn list(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<ListQuery>,
) -> ConsoleResult {
    let q = query.into_inner();
    let wanted = q
        .state
        .filter(|s| STATES.iter().any(|(code, _)| code == s))
        .unwrap_or_else(|| "pending".into());
    let caller = console.caller.clone();
    let queue = QueueQuery {
        state: Some(wanted.clone()),
        limit: Some(LIST),
        ..QueueQuery::default()
    };
    let rows = state
        .db
        .run(move |conn| {
            let items = queue_of(conn, &caller, &queue)?;
            let mut rows = Vec::with_capacity(items.len());
            for item in items {
                let person = person_name(conn, &caller, item.person_id.as_deref())?;
                rows.push((item, person));
            }
            Ok(rows)
        })
        .await?;
    let offset = state.config.utc_offset_minutes;
    let body = html! {
        @if q.done.is_some() { p.notice role="status" { "待审核的材料都审完了。" } }
        nav.filters aria-label="按状态筛选" {
            @for (code, label) in STATES {
                a href={ "/console/review?state=" (code) } aria-current=[(*code == wanted).then_some("page")] { (label) }
            }
        }
        @if rows.is_empty() {
            p.empty { "没有" (STATES.iter().find(|(c, _)| *c == wanted).map_or("", |(_, l)| *l)) "的材料。" }
        } @else {
            p.count { "共 " (rows.len()) " 件" @if rows.len() as i64 >= LIST { "（只显示最早的 " (LIST) " 件）" } "，最早提交的在前。" }
            table.list {
                thead { tr { th { "照片" } th { "人员" } th { "材料" } th { "拍摄时间" } th { "提交时间" } th { "状态" } } }
                tbody {
                    @for (item, person) in &rows {
                        tr {
                            td.thumb { (thumbnail(item, "")) }
                            td { a href={ "/console/review/" (item.id) } { (person.as_ref().map_or("（未知人员）", |p| p.name.as_str())) } }
                            td { (item.evidence_type.as_deref().map(zh::evidence_type).unwrap_or_default()) }
                            td { (item.captured_at.as_deref().map(|t| zh::date_text(t, offset)).unwrap_or_default()) }
                            td { (zh::date_text(&item.created_at, offset)) }
                            td { span.state data-state=(item.review_state) { (zh::review_state(&item.review_state)) } }
                        }
                    }
                }
            }
        }
    };
    Ok(console.html(page::shell(&console, Section::Review, "材料审核", body)))
}

fn thumbnail(item: &EvidenceItem, alt: &str) -> Markup {
    html! {
        @if item.derivatives_ready {
            img src={ "/console/photos/" (item.attachment_sha256) "/thumbnail" } alt=(alt) loading="lazy" width="96" height="96";
        } @else if item.attachment_received {
            span.nophoto { "处理中" }
        } @else {
            span.nophoto { "未上传" }
        }
    }
}

#[derive(Deserialize)]
pub struct ItemQuery {
    error: Option<String>,
}

/// Why a decision was refused, in words for the reviewer (only known codes: nothing from
/// the request is shown back).
fn refusal(code: &str) -> &'static str {
    match code {
        "attachment_missing" => "照片还没有从手机上传，不能通过。可以要求重拍，或等照片到了再审。",
        "evidence_expired" => "证件已过有效期，不能通过。请驳回或要求提供有效证件。",
        "reason" => "驳回或要求重拍时必须写明原因（不超过 200 字）。",
        _ => "这项操作没有完成，请重试。",
    }
}

struct Shown {
    item: EvidenceItem,
    person: Option<PersonRow>,
    others: Vec<EvidenceItem>,
    notice: Option<Notice>,
    next: Option<String>,
}

/// `GET /console/review/{id}`.
pub async fn item(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    query: web::Query<ItemQuery>,
) -> ConsoleResult {
    let id = id.into_inner();
    let caller = console.caller.clone();
    let app = state.clone();
    let shown = state
        .db
        .run(move |conn| {
            let item = evidence_of(conn, &caller, &id)?;
            let person = person_name(conn, &caller, item.person_id.as_deref())?;
            let (others, notice) = match &person {
                Some(p) => (
                    evidence_of_person(conn, &caller, &p.id)?,
                    Some(notice_of(conn, &app, &caller, &p.id)?),
                ),
                None => (Vec::new(), None),
            };
            let next = next_pending(conn, &caller, &item.id, true)?;
            Ok(Shown {
                item,
                person,
                others,
                notice,
                next,
            })
        })
        .await?;
    let offset = state.config.utc_offset_minutes;
    let error = query.error.as_deref().map(refusal);
    let s = &shown;
    let item = &s.item;
    let kind = item
        .evidence_type
        .as_deref()
        .map(zh::evidence_type)
        .unwrap_or_default();
    let title = match &s.person {
        Some(p) => format!("{} · {}", p.name, kind),
        None => kind.clone(),
    };
    let may_see_original = console.caller.may(Permission::ViewOriginals);
    let body = html! {
        p.back { a href="/console/review" { "← 返回审核列表" } }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        div.review {
            figure.photo data-rotate="0" data-zoom="fit" {
                @if item.derivatives_ready {
                    img #photo src={ "/console/photos/" (item.attachment_sha256) "/review" } alt={ (kind) "照片" };
                } @else if item.attachment_received {
                    p.nophoto { "照片已收到，正在处理，请稍后刷新。" }
                } @else {
                    p.nophoto { "照片还没有从手机上传。" }
                }
                figcaption.tools {
                    button type="button" data-photo="rotate-left" title="向左旋转（[ 键）" { "↺ 旋转" }
                    button type="button" data-photo="rotate-right" title="向右旋转（] 键）" { "↻ 旋转" }
                    button type="button" data-photo="zoom-out" title="缩小（- 键）" { "− 缩小" }
                    output #zoom aria-live="polite" { "适应" }
                    button type="button" data-photo="zoom-in" title="放大，最多 4 倍（+ 键）" { "＋ 放大" }
                    button type="button" data-photo="fit" title="还原（0 键）" { "还原" }
                    @if may_see_original && item.attachment_received {
                        a href={ "/console/photos/" (item.attachment_sha256) "/original" } target="_blank" rel="noopener" title="原始文件，查看记入访问日志" { "原图" }
                    }
                }
            }
            aside.facts {
                dl {
                    dt { "人员" } dd { (s.person.as_ref().map_or("（未知人员）", |p| p.name.as_str())) }
                    dt { "材料" } dd { (kind) }
                    @if let Some(c) = &item.category { dt { "证明" } dd { (category_name(c)) } }
                    @if let Some(t) = &item.captured_at { dt { "拍摄时间" } dd { (zh::date_text(t, offset)) } }
                    @if let Some(v) = &item.valid_until { dt { "有效期至" } dd { (zh::date_text(v, offset)) } }
                    dt { "提交时间" } dd { (zh::date_text(&item.created_at, offset)) }
                    dt { "状态" } dd { span.state data-state=(item.review_state) { (zh::review_state(&item.review_state)) }
                        @if let Some(r) = &item.review_reason { " · " (r) } }
                }
                @if let Some(n) = &s.notice {
                    section.notice-gaps {
                        h2 { "一次性告知：还缺" }
                        @if n.items.is_empty() { p { "材料已齐全。" } }
                        @else { ul { @for i in &n.items { li { (i.name) } } } }
                    }
                }
                section.decide {
                    h2 { "审核" }
                    form method="post" action={ "/console/review/" (item.id) } {
                        input type="hidden" name="csrf" value=(console.csrf);
                        input type="hidden" name="decision" value="approved";
                        button.primary #approve type="submit" accesskey="a" { "通过" kbd { "A" } }
                    }
                    form method="post" action={ "/console/review/" (item.id) } {
                        input type="hidden" name="csrf" value=(console.csrf);
                        label { "原因（驳回或重拍时必填）"
                            textarea #reason name="reason" required maxlength="200" rows="3" {} }
                        div.buttons {
                            button type="submit" name="decision" value="retake" { "要求重拍" }
                            button.danger type="submit" name="decision" value="rejected" { "驳回" }
                        }
                    }
                    @if let Some(next) = &s.next {
                        p { a #next href={ "/console/review/" (next) } { "跳过，看下一件" kbd { "N" } } }
                    }
                    p.hint { "快捷键：A 通过，R 填写原因，N 下一件，[ ] 旋转，+ 放大。" }
                }
            }
        }
        @if s.others.len() > 1 {
            section.strip {
                h2 { "此人的其他材料" }
                ul {
                    @for o in &s.others {
                        li aria-current=[(o.id == item.id).then_some("true")] {
                            a href={ "/console/review/" (o.id) } {
                                (thumbnail(o, ""))
                                span { (o.evidence_type.as_deref().map(zh::evidence_type).unwrap_or_default()) }
                                span.state data-state=(o.review_state) { (zh::review_state(&o.review_state)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(console.html(page::shell(&console, Section::Review, &title, body)))
}

fn category_name(code: &str) -> String {
    code.parse::<liuqing_schema::domain::Category>()
        .map(|c| c.chinese_name().to_string())
        .unwrap_or_else(|_| code.to_string())
}

/// The oldest pending evidence other than `current`; with `after`, the first one queued
/// after it (skipping), else the oldest (after a decision).
fn next_pending(
    conn: &mut liuqing_schema::DbConn,
    caller: &Caller,
    current: &str,
    after: bool,
) -> Result<Option<String>, ApiError> {
    let queue = QueueQuery {
        limit: Some(500),
        ..QueueQuery::default()
    };
    let items = queue_of(conn, caller, &queue)?;
    let position = items.iter().position(|i| i.id == current);
    let next = match (after, position) {
        (true, Some(at)) => items[at + 1..].iter().chain(items[..at].iter()).next(),
        _ => items.iter().find(|i| i.id != current),
    };
    Ok(next.map(|i| i.id.clone()))
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: Decision,
    reason: Option<String>,
}

/// `POST /console/review/{id}`: the decision, then the next pending piece.
pub async fn decide(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: DecisionForm = console.form(&body)?;
    let id = id.into_inner();
    let caller = console.caller.clone();
    let app = state.clone();
    let here = id.clone();
    let decided = state
        .db
        .write(move |conn| {
            let decide = Decide {
                decision: form.decision,
                reason: form.reason,
            };
            decide_in(conn, &app, &caller, &here, decide)?;
            next_pending(conn, &caller, &here, false)
        })
        .await;
    match decided {
        Ok(Some(next)) => Ok(console.see_other(&format!("/console/review/{next}"))),
        Ok(None) => Ok(console.see_other("/console/review?done=1")),
        Err(ApiError::Conflict(code, _)) => {
            Ok(console.see_other(&format!("/console/review/{id}?error={code}")))
        }
        Err(ApiError::Validation(errors)) if errors.iter().any(|e| e.field == "reason") => {
            Ok(console.see_other(&format!("/console/review/{id}?error=reason")))
        }
        Err(e) => Err(ConsoleError::Api(e)),
    }
}

/// `GET /console/photos/{sha256}/{thumbnail|review|original}`: the API's images, under
/// the console's session (the same scope check: a hash no record in scope names is a 404;
/// the original only to roles that may see it, each view in the access log).
pub async fn photo(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> ConsoleResult {
    let (sha, which) = path.into_inner();
    let which = match which.as_str() {
        "thumbnail" => "thumbnail",
        "review" => "review",
        "original" => return Ok(original_of(state, console.caller, sha, req).await?),
        _ => return Err(ApiError::not_found("photo").into()),
    };
    Ok(get_derivative(state, console.caller, sha, req, which).await?)
}
