//! 名单: the lists a station posts or works through — the publicity list (公示名单, printed
//! on A4 and posted), and the exit candidates (no contact for six months or more, or in work). The
//! entries are the API's (`routes::reports::{publicity_of, exit_candidates_of}`).

use actix_web::web;
use liuqing_schema::domain::ExitReason;
use maud::html;

use super::error::ConsoleResult;
use super::labels;
use super::names::Names;
use super::page::{self, Section};
use super::session::Console;
use super::zh;
use crate::routes::reports::{
    duplicates_of, exit_candidates_of, publicity_of, zero_employment_of, CandidatesQuery,
    MonthQuery, PublicityQuery,
};
use crate::state::AppState;

fn tabs(active: &str) -> maud::Markup {
    html! {
        nav.filters aria-label="名单" {
            a href="/console/lists/publicity" aria-current=[(active == "publicity").then_some("page")] { "公示名单" }
            a href="/console/lists/exit-candidates" aria-current=[(active == "exit").then_some("page")] { "可能退出" }
            a href="/console/lists/zero-employment" aria-current=[(active == "zero").then_some("page")] { "零就业家庭" }
            a href="/console/lists/duplicates" aria-current=[(active == "duplicates").then_some("page")] { "疑似重复" }
        }
    }
}

/// `GET /console/lists/publicity`: the applications in publicity, as posted (name, sex,
/// age, community, categories, period, handler: nothing else).
pub async fn publicity(state: web::Data<AppState>, console: Console) -> ConsoleResult {
    let caller = console.caller.clone();
    let app = state.clone();
    let items = state
        .db
        .run(move |conn| publicity_of(conn, &app, &caller, &PublicityQuery::default()))
        .await?;
    let offset = state.config.utc_offset_minutes;
    let body = html! {
        (tabs("publicity"))
        div.printable {
            h2.print-title { "就业困难人员认定公示名单" }
            @if items.is_empty() { p.empty { "目前没有公示中的申请。" } }
            @else {
                table.list.publicity {
                    thead { tr { th { "序号" } th { "姓名" } th { "性别" } th { "年龄" } th { "社区" } th { "认定类别" } th { "公示期" } th { "经办人" } } }
                    tbody {
                        @for (i, e) in items.iter().enumerate() {
                            tr {
                                td.n { (i + 1) }
                                td { (e.name) }
                                td { (e.sex.as_deref().map(labels::choice).unwrap_or_default()) }
                                td.n { @if let Some(a) = e.age { (a) } }
                                td { (e.community.as_deref().unwrap_or_default()) }
                                td.wrap { (e.categories.iter().map(|c| c.name).collect::<Vec<_>>().join("；")) }
                                td { (e.publicity_started_on.as_deref().map(|d| zh::date_text(d, offset)).unwrap_or_default())
                                     " 至 " (e.publicity_ends_on.as_deref().map(|d| zh::date_text(d, offset)).unwrap_or_default()) }
                                td { (e.handler.as_deref().unwrap_or_default()) }
                            }
                        }
                    }
                }
                p.print-note { "公示期内如有异议，请向所在社区服务站实名反映。" }
            }
        }
        p { button type="button" data-print="1" { "打印（A4）" } }
    };
    Ok(console.html(page::shell(&console, Section::Lists, "公示名单", body)))
}

/// `GET /console/lists/exit-candidates`.
pub async fn exit_candidates(state: web::Data<AppState>, console: Console) -> ConsoleResult {
    let caller = console.caller.clone();
    let app = state.clone();
    let (items, communities) = state
        .db
        .run(move |conn| {
            let q = CandidatesQuery { limit: Some(200) };
            let items = exit_candidates_of(conn, &app, &caller, &q)?;
            let mut names = Names::default();
            let communities = items
                .iter()
                .map(|p| names.node(conn, &p.person.community_id))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((items, communities))
        })
        .await?;
    let offset = state.config.utc_offset_minutes;
    let body = html! {
        (tabs("exit"))
        p.hint { "六个月以上没有走访或服务记录的人员，以及已上岗的人员，时间最久的在前。是否退出由服务站核实后决定。" }
        @if items.is_empty() { p.empty { "没有符合条件的人员。" } }
        @else {
            table.list {
                thead { tr { th { "姓名" } th { "社区" } th { "原因" } th { "起始" } th { "最近联系" } } }
                tbody {
                    @for (c, community) in items.iter().zip(&communities) {
                        tr {
                            td { a href={ "/console/persons/" (c.person.id) } { (c.person.name) } }
                            td { (community) }
                            td { (exit_why(c.reason)) }
                            td { (zh::date_text(&c.since, offset)) }
                            td { (c.person.last_contact_on.as_deref().map(|d| zh::date_text(d, offset)).unwrap_or_else(|| "从未".into())) }
                        }
                    }
                }
            }
        }
    };
    Ok(console.html(page::shell(
        &console,
        Section::Lists,
        "可能退出的人员",
        body,
    )))
}

/// Why a person is listed for exit, in a few words (the exit form gives the guide's full
/// wording).
fn exit_why(reason: ExitReason) -> &'static str {
    match reason {
        ExitReason::NoContactSixMonths => "六个月未联系",
        ExitReason::Employed => "已上岗",
        ExitReason::SelfEmployed => "自主经营",
        other => other.chinese_name(),
    }
}

#[derive(serde::Deserialize, Default)]
pub struct MonthAsk {
    month: Option<String>,
}

fn standing(code: &str) -> (&'static str, &'static str) {
    match code {
        "cleared_in_time" => ("当月已清零", "approved"),
        "cleared_late" => ("逾期清零", "retake"),
        "open_overdue" => ("逾期未清零", "rejected"),
        _ => ("待清零", "pending"),
    }
}

/// `GET /console/lists/zero-employment`: the month's zero-employment households and where
/// each stands against the rule that one found in a month is cleared within it (当月动态清零).
pub async fn zero_employment(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<MonthAsk>,
) -> ConsoleResult {
    let caller = console.caller.clone();
    let app = state.clone();
    let q = MonthQuery {
        month: query.into_inner().month.filter(|m| !m.is_empty()),
    };
    let (month, communities) = state
        .db
        .run(move |conn| {
            let month = zero_employment_of(conn, &app, &caller, &q)?;
            let mut names = Names::default();
            let communities = month
                .items
                .iter()
                .map(|i| names.node(conn, &i.household.community_id))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((month, communities))
        })
        .await?;
    let offset = state.config.utc_offset_minutes;
    let body = html! {
        (tabs("zero"))
        form.search method="get" action="/console/lists/zero-employment" {
            label { "月份" select name="month" { @for (v, l) in zh::months(&month.month, state.config.today()) { option value=(v) selected[v == month.month] { (l) } } } }
            button.primary type="submit" { "查看" }
        }
        p.hint { "本月发现的零就业家庭应在本月内帮扶至少一人就业（动态清零）。本月仍未清零：" strong { (month.open) } " 户。" }
        @if month.items.is_empty() { p.empty { "这个月没有零就业家庭。" } }
        @else {
            table.list {
                thead { tr { th { "住址" } th { "社区" } th { "发现日期" } th { "清零期限" } th { "清零日期" } th { "情况" } } }
                tbody {
                    @for (i, community) in month.items.iter().zip(&communities) {
                        @let (label, tone) = standing(i.standing);
                        tr {
                            td { (i.household.address) }
                            td { (community) }
                            td { (i.household.zero_employment_found_on.as_deref().map(|d| zh::date_text(d, offset)).unwrap_or_default()) }
                            td { (zh::date_text(&i.clearance_deadline, offset)) }
                            td { (i.household.zero_employment_cleared_on.as_deref().map(|d| zh::date_text(d, offset)).unwrap_or_else(|| "—".into())) }
                            td { span.state data-state=(tone) { (label) } }
                        }
                    }
                }
            }
        }
    };
    Ok(console.html(page::shell(&console, Section::Lists, "零就业家庭", body)))
}

/// `GET /console/lists/duplicates`: persons who may be one person, for the station to check.
pub async fn duplicates(state: web::Data<AppState>, console: Console) -> ConsoleResult {
    let caller = console.caller.clone();
    let app = state.clone();
    let groups = state
        .db
        .run(move |conn| duplicates_of(conn, &app, &caller))
        .await?;
    let body = html! {
        (tabs("duplicates"))
        p.hint { "手机号相同，或姓名和出生日期相同的人员，可能是同一人被登记了两次。请打开档案核对。" }
        @if groups.is_empty() { p.empty { "没有疑似重复的人员。" } }
        @for g in &groups {
            section.card {
                h2 { (match g.reason {
                    liuqing_schema::casefile::DuplicateReason::SamePhone => "手机号相同",
                    liuqing_schema::casefile::DuplicateReason::SameNameAndBirthDate => "姓名和出生日期相同",
                }) }
                ul {
                    @for p in &g.persons {
                        li { a href={ "/console/persons/" (p.id) } { (p.name) } " · " (labels::person_status(&p.status))
                            @if let Some(b) = &p.birth_date { " · " (b) } }
                    }
                }
            }
        }
    };
    Ok(console.html(page::shell(&console, Section::Lists, "疑似重复", body)))
}
