//! 督导: visit coverage by street, station, community or coordinator for a month, with
//! bars; drill-down from a street to its stations, communities and coordinators; the
//! twelve-month trend as a line chart drawn by the server (SVG); the households due a
//! visit and the overdue tasks; and the ledgers (台账) to export, with the reason the access log keeps. The
//! figures are the API's (`routes::supervision::{coverage_of, trend_of, due_of}`).

use actix_web::web;
use chrono::NaiveDate;
use liuqing_schema::casefile;
use liuqing_schema::coverage::{CoverageRow, GroupBy};
use liuqing_schema::entities::get_path;
use liuqing_schema::time::now_micros;
use maud::{html, Markup};
use serde::Deserialize;

use super::error::{ConsoleError, ConsoleResult};
use super::labels;
use super::names::Names;
use super::page::{self, Section};
use super::session::{Console, Posted};
use super::zh;
use crate::ledgers::Ledger;
use crate::routes::exports::{export_as, ExportQuery};
use crate::routes::reports::overdue_tasks_of;
use crate::routes::supervision::{
    cases_of, coverage_of, due_of, flagged_of, trend_of, CoverageQuery, DueQuery, FlagsQuery,
    TrendQuery, TrendReport,
};
use crate::routes::views::RecordView;
use crate::state::AppState;
use liuqing_schema::domain::visit_flags::Flag;
use liuqing_schema::trend::Series;

#[derive(Deserialize, Default)]
pub struct Ask {
    node: Option<String>,
    /// `YYYY-MM`; default: this month.
    month: Option<String>,
    group_by: Option<String>,
}

/// A month's first and last day, from `YYYY-MM`.
fn month_span(month: &str) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let last = first
        .checked_add_months(chrono::Months::new(1))?
        .pred_opt()?;
    (month.len() == 7).then_some((first, last))
}

/// The grouping one level below a row of `kind`.
fn below(kind: &str) -> Option<&'static str> {
    match kind {
        "district" => Some("street"),
        "street" => Some("station"),
        "station" => Some("community"),
        "community" => Some("coordinator"),
        _ => None,
    }
}

fn group_name(g: GroupBy) -> &'static str {
    match g {
        GroupBy::Street => "街道",
        GroupBy::Station => "服务站",
        GroupBy::Community => "社区",
        GroupBy::Coordinator => "协理员",
    }
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "—".into(), |s| format!("{:.0}%", s * 100.0))
}

/// `GET /console/supervision`.
pub async fn coverage(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<Ask>,
) -> ConsoleResult {
    let ask = query.into_inner();
    let span = ask
        .month
        .as_deref()
        .filter(|m| !m.is_empty())
        .and_then(month_span);
    let q = CoverageQuery {
        node: ask.node.clone().filter(|n| !n.is_empty()),
        from: span.map(|(f, _)| f.to_string()),
        to: span.map(|(_, t)| t.to_string()),
        group_by: ask.group_by.clone().filter(|g| !g.is_empty()),
    };
    // The trend's lines follow the table's grouping; coordinators are not a trend's
    // grouping (the API groups trends by org node), so their table shows the total only.
    let t = TrendQuery {
        node: q.node.clone(),
        from: None,
        to: span.map(|(f, _)| f.format("%Y-%m").to_string()),
        group_by: q.group_by.clone().filter(|g| g != "coordinator"),
    };
    let caller = console.caller.clone();
    let app = state.clone();
    let (report, trend) = state
        .db
        .run(move |conn| {
            let now = now_micros();
            Ok((
                coverage_of(conn, &app, &caller, &q, now)?,
                trend_of(conn, &app, &caller, &t, now)?,
            ))
        })
        .await?;
    let month = report.from.format("%Y-%m").to_string();
    let title = match &report.node {
        Some(n) => format!("督导 · {}", n.name),
        None => "督导".to_string(),
    };
    let node_param = ask.node.clone().unwrap_or_default();
    let body = html! {
        form.search method="get" action="/console/supervision" {
            @if !node_param.is_empty() { input type="hidden" name="node" value=(node_param); }
            label { "月份" select name="month" { @for (v, l) in zh::months(&month, state.config.today()) { option value=(v) selected[v == month] { (l) } } } }
            label { "分组" select name="group_by" {
                @for g in [GroupBy::Street, GroupBy::Station, GroupBy::Community, GroupBy::Coordinator] {
                    option value=(g.as_str()) selected[g == report.group_by] { (group_name(g)) }
                }
            } }
            button.primary type="submit" { "查看" }
            @if report.node.is_some() { a href="/console/supervision" { "回到全部" } }
        }
        p.hint { (zh::date(report.from)) " 至 " (zh::date(report.to)) "的走访情况，统计于 " (zh::date_text(&report.as_of, app_offset(&state))) "。超过 "
            (report.settings.visit_interval_days) " 天未见面的家庭为应走访。" }
        table.list.coverage {
            thead { tr {
                th { (group_name(report.group_by)) } th { "家庭" } th { "已见面" } th { "走访覆盖" }
                th { "应走访" } th { "从未见面" } th { "六清完整" } th { "六清过期" } th { "走访次数" } th { "中位时长" } th { "有定位" } th { "可疑走访" }
            } }
            tbody {
                @for r in &report.rows { (row(r, &month, false)) }
                (row(&report.total, &month, true))
            }
        }
        p.links {
            a href={ "/console/supervision/due" @if !node_param.is_empty() { "?node=" (node_param) } } { "应走访家庭名单 →" }
            " "
            a href="/console/supervision/overdue" { "逾期任务（含跟踪回访）→" }
            " "
            a href={ "/console/supervision/flags?month=" (month) @if !node_param.is_empty() { "&node=" (node_param) } } { "可疑走访 →" }
            " "
            a href={ "/console/supervision/cases?month=" (month) @if !node_param.is_empty() { "&node=" (node_param) } } { "认定与服务 →" }
        }
        section.card {
            h2 { "近 12 个月走访覆盖" }
            (chart(&lines(&trend)))
        }
        section.card {
            h2 { "导出台账" }
            form.search method="post" action="/console/exports" {
                input type="hidden" name="csrf" value=(console.csrf);
                @if !node_param.is_empty() { input type="hidden" name="node" value=(node_param); }
                input type="hidden" name="from" value=(report.from.to_string());
                input type="hidden" name="to" value=(report.to.to_string());
                label { "台账" select name="ledger" {
                    @for l in Ledger::ALL { option value=(l.as_str()) { (l.title()) } }
                } }
                label { "格式" select name="format" { option value="xlsx" { "Excel（xlsx）" } option value="csv" { "CSV" } } }
                label { "用途（记入访问日志）" input name="reason" required maxlength="500" placeholder="如：月度督导"; }
                button.primary type="submit" { "导出" }
            }
        }
    };
    Ok(console.html(page::shell(&console, Section::Supervision, &title, body)))
}

fn app_offset(state: &AppState) -> i32 {
    state.config.utc_offset_minutes
}

fn row(r: &CoverageRow, month: &str, total: bool) -> Markup {
    let drill = below(&r.group.kind).filter(|_| !total || r.group.kind != "scope");
    html! {
        tr.total[total] {
            td {
                @if let (Some(next), false) = (drill, total) {
                    a href={ "/console/supervision?node=" (r.group.id) "&group_by=" (next) "&month=" (month) } { (r.group.name) }
                } @else if total { "合计" } @else { (r.group.name) }
            }
            td.n { (zh::count(r.households as i64)) }
            td.n { (zh::count(r.reached as i64)) }
            td.bar {
                meter min="0" max="1" low="0.6" high="0.85" optimum="1" value=(r.coverage.unwrap_or(0.0)) {}
                span { (percent(r.coverage)) }
            }
            td.n { (zh::count(r.due as i64)) }
            td.n { (zh::count(r.never_reached as i64)) }
            td.n { (zh::count(r.six_clears_complete as i64)) " / " (zh::count(r.persons as i64)) }
            td.n { (zh::count(r.six_clears_stale as i64)) }
            td.n { (zh::count(r.visits as i64)) }
            td.n { @if let Some(m) = r.median_minutes { (format!("{m:.0}")) " 分钟" } @else { "—" } }
            td.n { (percent(r.gps_share)) }
            td.n { (zh::count(r.flagged.visits as i64)) }
        }
    }
}

/// One line of the trend chart: its name and each month's coverage.
struct Line {
    name: String,
    points: Vec<(String, Option<f64>)>,
}

/// The most group lines one chart draws; past that, lines stop being readable and the
/// chart shows the total alone (the table above has every group).
const MAX_LINES: usize = 8;

/// The total's line first, then one per group when there are few enough to read.
fn lines(trend: &TrendReport) -> Vec<Line> {
    let line = |name: String, s: &Series| Line {
        name,
        points: s
            .months
            .iter()
            .map(|m| (m.month.clone(), m.coverage))
            .collect(),
    };
    let mut all = vec![line("合计".into(), &trend.total)];
    if trend.rows.len() > 1 && trend.rows.len() <= MAX_LINES {
        all.extend(trend.rows.iter().map(|r| line(r.group.name.clone(), r)));
    }
    all
}

/// A line chart of monthly shares, drawn as SVG (no script, no style attribute): the
/// total thick, each group in its own colour (classes `s1`…`s8`), and a legend.
fn chart(lines: &[Line]) -> Markup {
    let (w, h, left, bottom, top) = (720.0, 220.0, 44.0, 28.0, 12.0);
    let months = lines
        .first()
        .map(|l| l.points.as_slice())
        .unwrap_or_default();
    let n = months.len().max(1) as f64;
    let x = |i: usize| left + (w - left - 12.0) * (i as f64 + 0.5) / n;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v.clamp(0.0, 1.0));
    let polyline = |points: &[(String, Option<f64>)]| -> String {
        points
            .iter()
            .enumerate()
            .filter_map(|(i, (_, v))| v.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    html! {
        svg.chart viewBox={ "0 0 " (w) " " (h) } role="img" aria-label="近 12 个月走访覆盖率折线图" {
            @for pct in [0.0, 0.5, 1.0] {
                line.grid x1=(left) x2=(w - 8.0) y1=(y(pct)) y2=(y(pct)) {}
                text.axis x=(left - 6.0) y=(y(pct) + 4.0) text-anchor="end" { (format!("{:.0}%", pct * 100.0)) }
            }
            @for (i, (month, _)) in months.iter().enumerate() {
                text.axis x=(format!("{:.1}", x(i))) y=(h - 8.0) text-anchor="middle" { (month.get(5..).and_then(|m| m.parse::<u32>().ok()).map_or_else(|| month.clone(), |m| m.to_string())) "月" }
            }
            // Groups under the total, so the total stays readable on top.
            @for (k, l) in lines.iter().enumerate().skip(1) {
                polyline class={ "series s" (k) } points=(polyline(&l.points)) { title { (l.name) } }
            }
            @if let Some(total) = lines.first() {
                polyline.series.total points=(polyline(&total.points)) {}
                @for (i, (month, v)) in total.points.iter().enumerate() {
                    @if let Some(v) = v {
                        circle.dot cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(*v))) r="3" { title { "合计 " (month) "：" (percent(Some(*v))) } }
                    }
                }
            }
        }
        @if lines.len() > 1 {
            ul.legend aria-label="图例" {
                @for (k, l) in lines.iter().enumerate() {
                    li {
                        span class={ "swatch s" (k) } aria-hidden="true" {}
                        (l.name) " "
                        span.hint { (percent(l.points.last().and_then(|(_, v)| *v))) }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct DueAsk {
    node: Option<String>,
    cursor: Option<String>,
}

/// `GET /console/supervision/due`.
pub async fn due(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<DueAsk>,
) -> ConsoleResult {
    let ask = query.into_inner();
    let q = DueQuery {
        node: ask.node.clone().filter(|n| !n.is_empty()),
        cursor: ask.cursor.clone(),
        limit: Some(100),
    };
    let caller = console.caller.clone();
    let app = state.clone();
    let page = state
        .db
        .run(move |conn| due_of(conn, &app, &caller, &q, now_micros()))
        .await?;
    let node = ask.node.unwrap_or_default();
    let body = html! {
        p.back { a href={ "/console/supervision" @if !node.is_empty() { "?node=" (node) } } { "← 返回督导" } }
        p.hint { "从未见面的在前，其余按上次见面时间从早到晚。" }
        @if page.items.is_empty() { p.empty { "没有应走访的家庭。" } }
        @else {
            table.list {
                thead { tr { th { "住址" } th { "社区" } th { "上次见面" } th { "已过天数" } } }
                tbody {
                    @for d in &page.items {
                        tr {
                            td { (d.address) }
                            td { (d.community_name.as_deref().unwrap_or_default()) }
                            td { @if let Some(day) = d.last_reached_on { (zh::date(day)) } @else { "从未见面" } }
                            td.n { @if let Some(days) = d.days_since { (days) } }
                        }
                    }
                }
            }
            @if let Some(next) = &page.next_cursor {
                p { a href={ "/console/supervision/due?" (form_urlencoded::Serializer::new(String::new()).append_pair("node", &node).append_pair("cursor", next).finish()) } { "下一页 →" } }
            }
        }
    };
    Ok(console.html(page::shell(
        &console,
        Section::Supervision,
        "应走访家庭",
        body,
    )))
}

/// One overdue task as the list shows it.
struct OverdueRow {
    task: RecordView,
    person: Option<(String, String)>,
    assignee: String,
    community: String,
}

/// `GET /console/supervision/overdue`: open tasks past their due day (follow-ups after a
/// placement among them), the longest overdue first.
pub async fn overdue(state: web::Data<AppState>, console: Console) -> ConsoleResult {
    let caller = console.caller.clone();
    let app = state.clone();
    let rows = state
        .db
        .run(move |conn| {
            let tasks = overdue_tasks_of(conn, &app, &caller)?;
            let mut names = Names::default();
            let mut rows = Vec::with_capacity(tasks.len());
            for task in tasks {
                let text = |p| get_path(&task.data, p).and_then(serde_json::Value::as_str);
                let person = match text("person_id") {
                    Some(id) => casefile::person_row(conn, id)?.map(|p| (p.id, p.name)),
                    None => None,
                };
                let assignee = names.user(conn, text("assignee_id"))?;
                let community = names.node(conn, &task.community_id)?;
                rows.push(OverdueRow {
                    task,
                    person,
                    assignee,
                    community,
                });
            }
            Ok(rows)
        })
        .await?;
    let today = state.config.today();
    let offset = app_offset(&state);
    let body = html! {
        p.back { a href="/console/supervision" { "← 返回督导" } }
        p.hint { "已过应完成日期仍未办结的任务：跟踪回访、应走访、重拍材料、实地核查等，逾期最久的在前。" }
        @if rows.is_empty() { p.empty { "没有逾期任务。" } }
        @else {
            table.list.overdue {
                thead { tr { th { "任务" } th { "类型" } th { "人员" } th { "社区" } th { "负责人" } th { "应完成" } th.n { "逾期天数" } } }
                tbody {
                    @for r in &rows {
                        @let data = &r.task.data;
                        @let text = |p| get_path(data, p).and_then(serde_json::Value::as_str);
                        @let due = text("due_on").and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                        tr {
                            td { (text("title").unwrap_or_default()) }
                            td { (labels::task_kind(text("kind").unwrap_or_default())) }
                            td { @if let Some((id, name)) = &r.person { a href={ "/console/persons/" (id) } { (name) } } @else { "—" } }
                            td { (r.community) }
                            td { (r.assignee) }
                            td { (text("due_on").map(|d| zh::date_text(d, offset)).unwrap_or_default()) }
                            td.n { @if let Some(due) = due { ((today - due).num_days()) } }
                        }
                    }
                }
            }
        }
    };
    Ok(console.html(page::shell(
        &console,
        Section::Supervision,
        "逾期任务",
        body,
    )))
}

#[derive(Deserialize)]
struct ExportForm {
    ledger: String,
    format: Option<String>,
    reason: Option<String>,
    node: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `POST /console/exports`: the API's export, downloaded by the browser.
pub async fn export(
    state: web::Data<AppState>,
    console: Console,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: ExportForm = console.form(&body)?;
    let q = ExportQuery {
        node: form.node.filter(|n| !n.is_empty()),
        from: form.from,
        to: form.to,
        format: form.format,
        reason: form.reason,
    };
    export_as(state, console.caller, &form.ledger, q)
        .await
        .map_err(ConsoleError::Api)
}

#[derive(Deserialize)]
pub struct FlagsAsk {
    node: Option<String>,
    month: Option<String>,
    cursor: Option<String>,
}

fn flag_name(f: Flag) -> &'static str {
    match f {
        Flag::Far => "定位偏远",
        Flag::Short => "时间过短",
        Flag::Simultaneous => "同时多处",
    }
}

/// `GET /console/supervision/flags`: the month's visits that look unreal, with why.
pub async fn flags(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<FlagsAsk>,
) -> ConsoleResult {
    let ask = query.into_inner();
    let span = ask
        .month
        .as_deref()
        .filter(|m| !m.is_empty())
        .and_then(month_span);
    let q = FlagsQuery {
        node: ask.node.clone().filter(|n| !n.is_empty()),
        from: span.map(|(f, _)| f.to_string()),
        to: span.map(|(_, t)| t.to_string()),
        cursor: ask.cursor.clone(),
        limit: Some(100),
    };
    let caller = console.caller.clone();
    let app = state.clone();
    let (page, who) = state
        .db
        .run(move |conn| {
            let page = flagged_of(conn, &app, &caller, &q, now_micros())?;
            let mut names = Names::default();
            let who = page
                .items
                .iter()
                .map(|f| names.user(conn, f.user_id.as_deref()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((page, who))
        })
        .await?;
    let offset = app_offset(&state);
    let body = html! {
        p.back { a href="/console/supervision" { "← 返回督导" } }
        p.hint { "定位离家庭常用位置过远、时长过短、或同一设备同时在两户的走访。请核实，不等于造假。" }
        @if page.items.is_empty() { p.empty { "这个月没有可疑走访。" } }
        @else {
            table.list {
                thead { tr { th { "时间" } th { "社区" } th { "协理员" } th { "疑点" } th { "说明" } } }
                tbody {
                    @for (f, name) in page.items.iter().zip(&who) {
                        tr {
                            td { (zh::date_text(&f.started_at, offset)) }
                            td { (f.community_name.as_deref().unwrap_or_default()) }
                            td { (name) }
                            td { (f.flagged.flags.iter().map(|x| flag_name(*x)).collect::<Vec<_>>().join("、")) }
                            td {
                                @if let Some(d) = f.flagged.distance_m { "距常用位置 " (format!("{:.0}", d)) " 米 " }
                                @if let Some(m) = f.flagged.minutes { "时长 " (format!("{:.0}", m)) " 分钟 " }
                                @if !f.flagged.with.is_empty() { "同时另有 " (f.flagged.with.len()) " 次走访" }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = &page.next_cursor {
                p { a href={ "/console/supervision/flags?" (form_urlencoded::Serializer::new(String::new())
                    .append_pair("node", ask.node.as_deref().unwrap_or_default())
                    .append_pair("month", ask.month.as_deref().unwrap_or_default())
                    .append_pair("cursor", next).finish()) } { "下一页 →" } }
            }
        }
    };
    Ok(console.html(page::shell(
        &console,
        Section::Supervision,
        "可疑走访",
        body,
    )))
}

/// `GET /console/supervision/cases`: the month's applications, recognitions, "131"
/// obligations, exits and zero-employment households, by street, station or community.
pub async fn cases(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<Ask>,
) -> ConsoleResult {
    let ask = query.into_inner();
    let span = ask
        .month
        .as_deref()
        .filter(|m| !m.is_empty())
        .and_then(month_span);
    let group_by = ask
        .group_by
        .clone()
        .filter(|g| !g.is_empty() && g != "coordinator");
    let q = CoverageQuery {
        node: ask.node.clone().filter(|n| !n.is_empty()),
        from: span.map(|(f, _)| f.to_string()),
        to: span.map(|(_, t)| t.to_string()),
        group_by,
    };
    let caller = console.caller.clone();
    let app = state.clone();
    let report = state
        .db
        .run(move |conn| cases_of(conn, &app, &caller, &q, now_micros()))
        .await?;
    let body = html! {
        p.back { a href="/console/supervision" { "← 返回督导" } }
        p.hint { (zh::date(report.from)) " 至 " (zh::date(report.to)) "。申请按现在所处的环节统计；认定、退出、零就业按本期统计。" }
        table.list {
            thead { tr {
                th { (group_name(report.group_by)) } th { "已受理" } th { "初审中" } th { "公示中" } th { "初审逾期" }
                th { "本期认定" } th { "认定用时（工作日）" } th { "已认定 Ⅰ/Ⅱ/Ⅲ/未评估" } th { "服务完成/进行/逾期" }
                th { "本期退出" } th { "其中上岗" } th { "零就业 新增/当月清零/未清零" }
            } }
            tbody {
                @for r in report.rows.iter().chain(std::iter::once(&report.total)) {
                    @let total = std::ptr::eq(r, &report.total);
                    tr.total[total] {
                        td { @if total { "合计" } @else { (r.group.name) } }
                        td.n { (r.applications.received) }
                        td.n { (r.applications.preliminary_review) }
                        td.n { (r.applications.publicity) }
                        td.n { (r.overdue_initial_reviews) }
                        td.n { (r.recognised_in_period) }
                        td.n { @if let Some(d) = r.median_working_days_to_recognition { (format!("{d:.0}")) } @else { "—" } }
                        td.n { (r.recognised_persons.one) " / " (r.recognised_persons.two) " / " (r.recognised_persons.three) " / " (r.recognised_persons.none) }
                        td.n { (r.obligations.done) " / " (r.obligations.on_track) " / " (r.obligations.overdue) }
                        td.n { (r.exits_in_period) }
                        td.n { (r.placements_in_period) }
                        td.n { (r.zero_employment.found) " / " (r.zero_employment.cleared_within_month) " / " (r.zero_employment.open) }
                    }
                }
            }
        }
    };
    Ok(console.html(page::shell(
        &console,
        Section::Supervision,
        "认定与服务",
        body,
    )))
}
