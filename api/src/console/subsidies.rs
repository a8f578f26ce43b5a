//! 补贴: the subsidy applications of the caller's scope, of both kinds, as a level works
//! through them — those waiting for the caller's step (待我办理), those with a stop
//! recommended (建议停止), the unsuccessful applicants sent back with their reasons
//! (申请不成功人员花名册, printable), and all — and the page of one public-welfare job
//! application (公益性岗位补贴): the employer, each person's months, amount and stop, the
//! on-site check, the history, and a form for each step the caller's level may take. A
//! flexible-employment application is worked on its person's case file.

use actix_web::{web, ResponseError};
use liuqing_schema::casefile;
use liuqing_schema::domain::subsidies::{
    Fen, StopCondition, SubsidyAction, SubsidyKind, SubsidyState, WelfareJob,
};
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records::{self, Record};
use liuqing_schema::time::now_micros;
use liuqing_schema::DbConn;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::error::ConsoleResult;
use super::labels;
use super::names::Names;
use super::page::{self, Section};
use super::session::{Console, Posted};
use super::zh;
use crate::auth::Caller;
use crate::config::Config;
use crate::error::ApiError;
use crate::routes::views::{self, RecordView};
use crate::staff;
use crate::state::AppState;
use crate::subsidies::{self, Step};

fn text<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    get_path(doc, path).and_then(Value::as_str)
}

fn int(doc: &Value, path: &str) -> Option<i64> {
    get_path(doc, path).and_then(Value::as_i64)
}

fn yuan(doc: &Value) -> String {
    int(doc, "amount_fen").map_or_else(|| "—".into(), |f| Fen(f).to_string())
}

fn span(doc: &Value, from: &str, to: &str) -> String {
    match (text(doc, from), text(doc, to)) {
        (Some(a), Some(b)) => format!("{a} 至 {b}"),
        _ => "—".into(),
    }
}

/// The lists of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Waiting for a step the caller's level takes.
    #[default]
    Mine,
    /// Funded, with a stop recommended and not decided.
    Stops,
    /// Sent back with reasons: the unsuccessful-applicant roster.
    Returned,
    All,
    /// The monthly totals of both subsidies.
    Months,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    view: View,
}

/// One application as the lists show it.
struct Row {
    kind: SubsidyKind,
    href: String,
    applicant: String,
    community: String,
    state: SubsidyState,
    months: Option<i64>,
    amount: String,
    received_on: Option<String>,
    reason: Option<String>,
    stop: Option<String>,
    /// The last step's day and who took it.
    last: Option<(String, String)>,
}

/// Whether an application waits for one of `open` (the steps the caller may take): any
/// step but recommending a stop, which is always open on a funded one, and a stop only
/// when one was recommended.
fn waits_for(open: &[SubsidyAction], recommended: bool) -> bool {
    open.iter().any(|a| match a {
        SubsidyAction::RecommendStop => false,
        SubsidyAction::Stop => recommended,
        _ => true,
    })
}

fn rows(
    conn: &mut DbConn,
    caller: &Caller,
    config: &Config,
    view: View,
) -> Result<Vec<Row>, ApiError> {
    let scope = caller.scope(conn)?;
    let communities = records::communities_in_scope(conn, &scope)?;
    let mut found: Vec<Record> = Vec::new();
    for entity in subsidies::APPLICATIONS {
        found.extend(records::live_of_entity(conn, entity, &communities)?);
    }
    found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut names = Names::default();
    let mut rows = Vec::new();
    for rec in found {
        let doc = rec.document()?;
        let state = subsidies::state_of(&doc);
        let recommended = state == SubsidyState::Funded && text(&doc, "recommended_stop").is_some();
        let keep = match view {
            View::All | View::Months => true,
            View::Stops => recommended,
            View::Returned => state == SubsidyState::Returned,
            View::Mine => {
                caller.may(Permission::EditCaseFiles)
                    && waits_for(
                        &subsidies::open_to(conn, caller, config, state, &rec.community_id)?,
                        recommended,
                    )
            }
        };
        if !keep {
            continue;
        }
        let kind = subsidies::kind_of(rec.entity);
        let (applicant, href) = match kind {
            SubsidyKind::FlexibleInsurance => {
                let person = rec.parent_id.clone().unwrap_or_default();
                let name =
                    casefile::person_row(conn, &person)?.map_or_else(String::new, |p| p.name);
                (name, format!("/console/persons/{person}#subsidies"))
            }
            SubsidyKind::PublicWelfareJob => {
                let employer = employer_name(conn, text(&doc, "employer_id"))?;
                let persons = get_path(&doc, "placement_ids")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                (
                    format!("{employer}（{persons} 人）"),
                    format!("/console/subsidies/{}", rec.id),
                )
            }
        };
        let last = match get_path(&doc, "history")
            .and_then(Value::as_array)
            .and_then(|h| h.last())
        {
            Some(h) => Some((
                text(h, "on").unwrap_or_default().to_string(),
                names.user(conn, text(h, "by"))?,
            )),
            None => None,
        };
        rows.push(Row {
            kind,
            href,
            applicant,
            community: names.node(conn, &rec.community_id)?,
            state,
            months: int(&doc, "months"),
            amount: yuan(&doc),
            received_on: text(&doc, "received_on").map(str::to_string),
            reason: text(&doc, "reason").map(str::to_string),
            stop: labels::subsidy_stop(&doc)
                .filter(|_| matches!(state, SubsidyState::Funded | SubsidyState::Stopped)),
            last,
        });
    }
    Ok(rows)
}

fn employer_name(conn: &mut DbConn, id: Option<&str>) -> Result<String, ApiError> {
    let name = match id {
        Some(id) => subsidies::welfare::employer_name(conn, id)?,
        None => None,
    };
    Ok(name.unwrap_or_else(|| "—".into()))
}

fn kind_name(kind: SubsidyKind) -> &'static str {
    match kind {
        SubsidyKind::FlexibleInsurance => "灵活就业社保补贴",
        SubsidyKind::PublicWelfareJob => "公益性岗位补贴",
    }
}

fn tabs(active: View) -> Markup {
    let tab = |view: View, href: &str, label: &str| {
        html! { a href=(href) aria-current=[(active == view).then_some("page")] { (label) } }
    };
    html! {
        nav.filters aria-label="补贴" {
            (tab(View::Mine, "/console/subsidies", "待我办理"))
            (tab(View::Stops, "/console/subsidies?view=stops", "建议停止"))
            (tab(View::Returned, "/console/subsidies?view=returned", "申请不成功人员花名册"))
            (tab(View::All, "/console/subsidies?view=all", "全部"))
            (tab(View::Months, "/console/subsidies?view=months", "月度统计"))
        }
    }
}

/// `GET /console/subsidies`.
pub async fn list(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<ListQuery>,
) -> ConsoleResult {
    let view = query.view;
    if view == View::Months {
        return months(state, console).await;
    }
    let caller = console.caller.clone();
    let config = state.config.clone();
    let rows = state
        .db
        .run(move |conn| {
            caller.require(Permission::ReadCaseFiles)?;
            rows(conn, &caller, &config, view)
        })
        .await?;
    let offset = state.config.utc_offset_minutes;
    let date = |d: &Option<String>| {
        d.as_deref()
            .map(|t| zh::date_text(t, offset))
            .unwrap_or_else(|| "—".into())
    };
    let body = html! {
        (tabs(view))
        @if view == View::Returned {
            div.printable {
                h2.print-title { "补贴申请不成功人员花名册" }
                @if rows.is_empty() { p.empty { "没有退回的申请。" } }
                @else {
                    table.list.roster {
                        thead { tr { th { "序号" } th { "补贴" } th { "申请人" } th { "社区" } th { "受理日期" } th { "退回日期" } th { "退回原因" } } }
                        tbody {
                            @for (i, r) in rows.iter().enumerate() {
                                tr {
                                    td.n { (i + 1) }
                                    td { (kind_name(r.kind)) }
                                    td.wrap { a href=(r.href) { (r.applicant) } }
                                    td { (r.community) }
                                    td { (date(&r.received_on)) }
                                    td { (date(&r.last.as_ref().map(|l| l.0.clone()))) }
                                    td.wrap { (r.reason.as_deref().unwrap_or("—")) }
                                }
                            }
                        }
                    }
                    p.print-note { "基层平台据此告知申请人未成功的原因，并协助其补齐材料后重新申请。" }
                }
            }
            p { button type="button" data-print="1" { "打印（A4）" } }
        } @else {
            @if rows.is_empty() {
                p.empty { @match view {
                    View::Mine => "没有等待您办理的补贴申请。",
                    View::Stops => "没有建议停止的补贴。",
                    _ => "还没有补贴申请。",
                } }
            } @else {
                @let with_stop = matches!(view, View::Stops | View::All);
                table.list.subsidies {
                    thead { tr { th { "补贴" } th { "申请人" } th { "社区" } th { "状态" } th.n { "月数" } th.n { "金额（元）" } th { "受理日期" } th { "最近办理" } @if with_stop { th { "停止" } } } }
                    tbody {
                        @for r in &rows {
                            tr data-state=(r.state.as_str()) {
                                td { (kind_name(r.kind)) }
                                td { a href=(r.href) { (r.applicant) } }
                                td { (r.community) }
                                td { span.state { (labels::subsidy_state(r.state)) } }
                                td.n { (r.months.map_or_else(|| "—".to_string(), |m| m.to_string())) }
                                td.n { (r.amount) }
                                td { (date(&r.received_on)) }
                                td { @if let Some((on, by)) = &r.last { (zh::date_text(on, offset)) " · " (by) } @else { "—" } }
                                @if with_stop { td.wrap { (r.stop.as_deref().unwrap_or("—")) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(console.html(page::shell(&console, Section::Subsidies, "补贴", body)))
}

/// `GET /console/subsidies?view=months`: the twelve months to this one, for each subsidy.
async fn months(state: web::Data<AppState>, console: Console) -> ConsoleResult {
    let caller = console.caller.clone();
    let app = state.clone();
    let report = state
        .db
        .run(move |conn| {
            let q = crate::routes::supervision::SubsidiesQuery::default();
            crate::routes::supervision::subsidies_of(conn, &app, &caller, &q, now_micros())
        })
        .await?;
    let cells = |t: &crate::subsidies::report::Totals| {
        html! {
            td.n { (t.received) } td.n { (t.returned) } td.n { (t.funded) }
            td.n { (Fen(t.funded_amount_fen).to_string()) } td.n { (t.stopped) } td.n { (t.persons_paid) }
        }
    };
    let heads = html! {
        th.n { "受理" } th.n { "退回" } th.n { "核定" } th.n { "核定金额（元）" } th.n { "停止" } th.n { "享受人数" }
    };
    let body = html! {
        (tabs(View::Months))
        p.hint { "每月受理、退回、核定拨付的申请数和核定金额，作出的停止决定，以及当月享受补贴的人数。公益性岗位补贴按人计停止和享受人数。" }
        table.list.months {
            thead {
                tr { th rowspan="2" { "月份" } th colspan="6" { "灵活就业社保补贴" } th colspan="6" { "公益性岗位补贴" } }
                tr { (heads) (heads) }
            }
            tbody {
                @for m in report.months.iter().rev() {
                    tr { td { (m.month) } (cells(&m.flexible_insurance)) (cells(&m.public_welfare_job)) }
                }
            }
        }
    };
    Ok(console.html(page::shell(
        &console,
        Section::Subsidies,
        "补贴 · 月度统计",
        body,
    )))
}

/// One person of a public-welfare application, as the page shows them.
struct Person {
    id: String,
    name: String,
    started_on: Option<String>,
    wage: Option<i64>,
    line: Value,
}

/// What the application page shows.
struct Shown {
    application: RecordView,
    employer: String,
    employer_id: String,
    community: String,
    persons: Vec<Person>,
    /// The on-site checks: the day and who made each.
    site_checks: Vec<(String, String)>,
    open: Vec<SubsidyAction>,
    /// Who took each step of the history.
    history_by: Vec<String>,
}

fn load(
    conn: &mut DbConn,
    caller: &Caller,
    config: &Config,
    id: &str,
) -> Result<Result<Shown, String>, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let scope = caller.scope(conn)?;
    let rec = subsidies::application_in_scope(conn, &scope, id)?;
    if rec.entity == Entity::FlexibleSubsidy {
        let person = rec.parent_id.clone().unwrap_or_default();
        return Ok(Err(format!("/console/persons/{person}#subsidies")));
    }
    let doc = rec.document()?;
    let mut names = Names::default();
    let employer_id = text(&doc, "employer_id").unwrap_or_default().to_string();
    let mut persons = Vec::new();
    for line in subsidies::lines_of(&doc) {
        let id = text(&line, "person_id").unwrap_or_default().to_string();
        let name = casefile::person_row(conn, &id)?.map_or_else(|| "—".into(), |p| p.name);
        let placement = match text(&line, "placement_id") {
            Some(p) => records::find(conn, Entity::Placement, p)?
                .map(|r| r.document())
                .transpose()?,
            None => None,
        };
        persons.push(Person {
            id,
            name,
            started_on: placement
                .as_ref()
                .and_then(|p| text(p, "started_on"))
                .map(str::to_string),
            wage: placement.as_ref().and_then(|p| int(p, "monthly_wage")),
            line,
        });
    }
    let mut site_checks = Vec::new();
    for visit in subsidies::welfare::site_checks(conn, &employer_id, &rec.id)? {
        let by = names.user(conn, visit.created_by.as_deref())?;
        let on = text(&visit.document()?, "visited_at")
            .unwrap_or_default()
            .to_string();
        site_checks.push((on, by));
    }
    let state = subsidies::state_of(&doc);
    let open = if caller.may(Permission::EditCaseFiles) {
        subsidies::open_to(conn, caller, config, state, &rec.community_id)?
    } else {
        Vec::new()
    };
    let history_by = get_path(&doc, "history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|h| names.user(conn, text(h, "by")))
        .collect::<Result<_, _>>()?;
    Ok(Ok(Shown {
        application: views::record(&rec, caller.birth_dates())?,
        employer: employer_name(conn, Some(&employer_id))?,
        employer_id,
        community: names.node(conn, &rec.community_id)?,
        persons,
        site_checks,
        open,
        history_by,
    }))
}

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<SubsidyAction>,
}

/// `GET /console/subsidies/{id}`: a public-welfare application (a flexible one is on its
/// person's case file).
pub async fn application(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> ConsoleResult {
    let notice = query.done.map(|a| {
        html! { p.notice role="status" { "已办理：" (labels::subsidy_action(a)) "。" } }
    });
    show(&state, &console, id.into_inner(), notice, None).await
}

async fn show(
    state: &web::Data<AppState>,
    console: &Console,
    id: String,
    notice: Option<Markup>,
    status: Option<actix_web::http::StatusCode>,
) -> ConsoleResult {
    let caller = console.caller.clone();
    let config = state.config.clone();
    let shown = state
        .db
        .run(move |conn| load(conn, &caller, &config, &id))
        .await?;
    let shown = match shown {
        Ok(shown) => shown,
        Err(elsewhere) => return Ok(console.see_other(&elsewhere)),
    };
    let offset = state.config.utc_offset_minutes;
    let title = format!("公益性岗位补贴 · {}", shown.employer);
    let body = page_body(console, &shown, notice, offset);
    let mut res = console.html(page::shell(console, Section::Subsidies, &title, body));
    if let Some(status) = status {
        *res.status_mut() = status;
    }
    Ok(res)
}

fn page_body(c: &Console, s: &Shown, notice: Option<Markup>, offset: i32) -> Markup {
    let d = &s.application.data;
    let date = |t: Option<&str>| {
        t.map(|t| zh::date_text(t, offset))
            .unwrap_or_else(|| "—".into())
    };
    let job = text(d, "job")
        .and_then(|j| j.parse::<WelfareJob>().ok())
        .map_or("—", WelfareJob::chinese_name);
    let history = get_path(d, "history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    html! {
        p.back { a href="/console/subsidies" { "← 返回补贴" } }
        @if let Some(n) = notice { (n) }
        section.card #application {
            h2 { "社区公益性岗位补贴申请" }
            dl.facts {
                dt { "用人单位" } dd { a href={ "/console/jobs/employers/" (s.employer_id) } { (s.employer) } }
                dt { "受理社区" } dd { (s.community) }
                dt { "岗位类别" } dd { (job) }
                dt { "状态" } dd { span.state data-state=(subsidies::state_of(d).as_str()) { (labels::subsidy_state(subsidies::state_of(d))) } }
                dt { "申请期限" } dd { (span(d, "period_from", "period_to")) }
                dt { "享受期限" } dd { (span(d, "payable_from", "payable_to")) }
                dt { "合计月数" } dd { (int(d, "months").map_or_else(|| "—".to_string(), |m| m.to_string())) }
                dt { "补贴金额" } dd { (yuan(d)) " 元" }
                dt { "单位基本账户" } dd { (text(d, "account").unwrap_or("—")) }
                dt { "申请表" } dd { @if text(d, "form_sha256").is_some() { "已上传" } @else { "未上传" } }
                dt { "受理日期" } dd { (date(text(d, "received_on"))) }
                dt { "实地核查" } dd {
                    @if s.site_checks.is_empty() { "尚未核查" }
                    @for (on, by) in &s.site_checks { (zh::date_text(on, offset)) " · " (by) " " }
                }
                @if let Some(reason) = text(d, "reason") { dt { "意见" } dd { (reason) } }
            }
        }
        section.card #persons {
            h2 { "享受补贴人员" }
            @if s.persons.is_empty() { p.empty { "初审时计算各人的享受月数和金额。" } }
            @else {
                table.list {
                    thead { tr { th { "姓名" } th { "上岗日期" } th.n { "月工资（元）" } th { "享受期限" } th.n { "月数" } th.n { "金额（元）" } th { "停止" } } }
                    tbody {
                        @for p in &s.persons {
                            tr {
                                td { a href={ "/console/persons/" (p.id) } { (p.name) } }
                                td { (date(p.started_on.as_deref())) }
                                td.n { (p.wage.map_or_else(|| "—".to_string(), |w| w.to_string())) }
                                td { (span(&p.line, "payable_from", "payable_to")) }
                                td.n { (int(&p.line, "months").unwrap_or(0)) }
                                td.n { (yuan(&p.line)) }
                                td { (labels::subsidy_stop(&p.line).unwrap_or_else(|| "—".into())) }
                            }
                        }
                    }
                }
            }
            (steps_form(c, s))
        }
        @if !history.is_empty() {
            section.card #history {
                h2 { "办理记录" }
                ol.history {
                    @for (h, who) in history.iter().zip(&s.history_by) {
                        li {
                            (date(text(h, "on")))
                            " · " (text(h, "action").and_then(|t| t.parse::<SubsidyAction>().ok()).map(labels::subsidy_action).unwrap_or_default())
                            " · " (who)
                            @if let Some(p) = text(h, "person_id").and_then(|id| s.persons.iter().find(|p| p.id == id)) { " · " (p.name) }
                            @if let Some(reason) = text(h, "reason") { " · " (reason) }
                        }
                    }
                }
            }
        }
    }
}

/// A form for each step the caller's level may take on a public-welfare application; a
/// stop names one person (the one with a recommendation waiting comes chosen).
fn steps_form(c: &Console, s: &Shown) -> Markup {
    let running: Vec<(&str, &str)> = s
        .persons
        .iter()
        .filter(|p| text(&p.line, "stopped_from").is_none())
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    let recommended = s.persons.iter().find(|p| {
        text(&p.line, "stopped_from").is_none() && text(&p.line, "recommended_stop").is_some()
    });
    let stop = StopForm {
        kind: SubsidyKind::PublicWelfareJob,
        persons: Some(Whose {
            persons: running.as_slice(),
            chosen: recommended.map(|p| p.id.as_str()),
        }),
        recommended: recommended.map_or(Value::Null, |p| p.line.clone()),
    };
    step_forms(
        c,
        &format!("/console/subsidies/{}", s.application.id),
        &s.open,
        &stop,
    )
}

/// What a stop's form offers: the subsidy's conditions, whose stop (a public-welfare
/// application's persons and the one chosen), and the recommendation it starts from
/// (`recommended_stop`, `recommended_stop_from`).
pub(super) struct StopForm<'a> {
    pub kind: SubsidyKind,
    pub persons: Option<Whose<'a>>,
    pub recommended: Value,
}

/// The persons a stop may name (id, name), and the one chosen.
pub(super) struct Whose<'a> {
    pub persons: &'a [(&'a str, &'a str)],
    pub chosen: Option<&'a str>,
}

/// A form posting to `action` for each of `steps`: a reason (required to return or stop),
/// and for a stop or a recommendation the person, the month and the condition.
pub(super) fn step_forms(
    c: &Console,
    action: &str,
    steps: &[SubsidyAction],
    stop: &StopForm<'_>,
) -> Markup {
    let suggested = |path: &str| text(&stop.recommended, path);
    html! {
        div.steps {
            @for a in steps {
                @let stopping = matches!(a, SubsidyAction::Stop | SubsidyAction::RecommendStop);
                @let needs_reason = stopping || *a == SubsidyAction::Return;
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(c.csrf);
                    input type="hidden" name="action" value=(a.as_str());
                    label { @if needs_reason { "原因（必填）" } @else { "意见（可不填）" }
                        input name="reason" maxlength="500" required[needs_reason]; }
                    @if stopping {
                        @if let Some(whose) = &stop.persons {
                            label { "人员" select name="person_id" required {
                                @for (id, name) in whose.persons {
                                    option value=(id) selected[whose.chosen == Some(*id)] { (name) }
                                }
                            } }
                        }
                        label { "自哪个月起停止（YYYY-MM）"
                            input name="stop_from" required pattern="[0-9]{4}-[0-9]{2}"
                                value=[suggested("recommended_stop_from")]; }
                        label { "停止情形" select name="stop_condition" required {
                            @for cond in StopCondition::ALL.iter().filter(|c| c.applies_to(stop.kind)) {
                                option value=(cond.as_str())
                                    selected[suggested("recommended_stop") == Some(cond.as_str())] { (cond.chinese_name()) }
                            }
                        } }
                    }
                    button.primary[!needs_reason].danger[needs_reason] type="submit" data-action=(a.as_str()) { (labels::subsidy_action(*a)) }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct StepForm {
    action: SubsidyAction,
    reason: Option<String>,
    stop_from: Option<String>,
    stop_condition: Option<StopCondition>,
    person_id: Option<String>,
}

/// `POST /console/subsidies/{id}`: a step, through `subsidies::take`.
pub async fn step(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: StepForm = console.form(&body)?;
    let id = id.into_inner();
    let blank = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let step = Step::from_input(
        form.action,
        blank(form.reason),
        blank(form.stop_from).as_deref(),
        form.stop_condition,
        blank(form.person_id),
    );
    let caller = console.caller.clone();
    let app = state.clone();
    let target = id.clone();
    let taken = match step {
        Err(e) => Err(e),
        Ok(step) => {
            state
                .db
                .write(move |conn| {
                    let scope = caller.scope(conn)?;
                    let env = staff::engine_env(&scope, &app.cipher, &app.config, now_micros());
                    subsidies::take(conn, &caller, &env, &app.config, &target, &step).map(|_| ())
                })
                .await
        }
    };
    match taken {
        Ok(()) => Ok(console.see_other(&format!("/console/subsidies/{id}?done={}", form.action))),
        Err(e) => {
            let status = e.status_code();
            let refusal = page::refusal(e, "材料齐全、实地核查后再办理。")?;
            show(&state, &console, id, Some(refusal), Some(status)).await
        }
    }
}
