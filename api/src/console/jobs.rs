//! 岗位: job development as a station works it — each street's employers and how many
//! were visited lately, the vacancies coordinators proposed (approve or decline them,
//! with a reason), every vacancy with its places and fill rate, and the gap list (job
//! seekers for whom no open vacancy suits: where to look for work next). The figures are
//! the API's (`routes::supervision::jobs_of`); a decision is an edit through the engine,
//! as `PATCH /v1/records/vacancy/{id}` makes it, so the phones pull it.

use actix_web::web;
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::Entity;
use liuqing_schema::job_report::JobReport;
use liuqing_schema::time::now_micros;
use maud::html;
use serde::Deserialize;
use serde_json::{json, Map};

use super::error::{ConsoleError, ConsoleResult};
use super::page::{self, Section};
use super::session::{Console, Posted};
use super::zh;
use crate::error::ApiError;
use crate::routes::supervision::jobs_of;
use crate::staff::{self, record_in_scope, Edit};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct JobsQuery {
    done: Option<String>,
    error: Option<String>,
}

fn rate(r: Option<u32>) -> String {
    r.map_or_else(|| "—".to_string(), |r| format!("{r}%"))
}

pub(super) fn state_name(state: &str) -> &'static str {
    match state {
        "open" => "在招",
        "not_approved" => "待审核",
        "not_yet_open" => "未开始",
        "closed" => "已截止",
        "filled" => "已招满",
        _ => "—",
    }
}

/// `GET /console/jobs`.
pub async fn jobs(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<JobsQuery>,
) -> ConsoleResult {
    let caller = console.caller.clone();
    let app = state.clone();
    let report: JobReport = state
        .db
        .run(move |conn| jobs_of(conn, &app, &caller, now_micros()))
        .await?;
    let may_decide = console.caller.may(Permission::EditCaseFiles);
    let proposals: Vec<_> = report
        .vacancies
        .iter()
        .filter(|v| v.state == "not_approved")
        .collect();
    let street_names: std::collections::HashMap<&str, &str> = report
        .streets
        .iter()
        .map(|s| (s.street_id.as_str(), s.name.as_str()))
        .collect();
    let offset = state.config.utc_offset_minutes;
    let body = html! {
        p.lede { "单位走访、岗位信息与人岗匹配。协理员在走访中登记的岗位，经服务站审核后才会推荐给求职人员。" }
        @if query.done.is_some() { p.notice role="status" { "已保存。协理员的手机下次同步时会收到。" } }
        @if query.error.is_some() { p.error role="alert" { "请写明原因（最多 200 字）后再提交。" } }
        section.card {
            h2 { "各街道岗位开发" }
            @if report.streets.is_empty() { p.empty { "管辖范围内没有街道。" } }
            @else {
                table.list.jobs-streets {
                    thead { tr {
                        th { "街道" } th.n { "用人单位" } th.n { "近期走访" } th.n { "岗位" } th.n { "在招" }
                        th.n { "招聘人数" } th.n { "已招" } th.n { "招满率" } th.n { "推荐" } th.n { "录用" }
                    } }
                    tbody {
                        @for s in &report.streets {
                            tr {
                                td { (s.name) }
                                td.n { (s.employers) } td.n { (s.employers_visited) }
                                td.n { (s.vacancies) } td.n { (s.open) }
                                td.n { (s.places) } td.n { (s.filled) } td.n { (rate(s.fill_rate)) }
                                td.n { (s.referrals) } td.n { (s.hired) }
                            }
                        }
                    }
                }
            }
        }
        section.card #employers {
            h2 { "用人单位" }
            @if report.employers.is_empty() { p.empty { "还没有登记用人单位。" } }
            @else {
                table.list.employers {
                    thead { tr {
                        th { "单位" } th { "街道" } th { "行业" } th { "核实" } th { "最近走访" }
                        th.n { "走访次数" } th.n { "岗位" } th.n { "在招" }
                    } }
                    tbody {
                        @for e in &report.employers {
                            tr {
                                td { a href={ "/console/jobs/employers/" (e.employer_id) } { (e.name) } }
                                td { (street_names.get(e.street_id.as_str()).copied().unwrap_or("—")) }
                                td { (e.industry.as_deref().unwrap_or("—")) }
                                td { @if e.verified { "已核实" } @else { "未核实" } }
                                td { (e.last_visit_at.map(|t| zh::date_text(&t.to_rfc3339(), offset)).unwrap_or_else(|| "从未".into())) }
                                td.n { (e.visits) } td.n { (e.vacancies) } td.n { (e.open) }
                            }
                        }
                    }
                }
            }
        }
        section.card.proposals {
            h2 { "待审核的岗位" }
            @if proposals.is_empty() { p.empty { "没有待审核的岗位。" } }
            @for v in &proposals {
                article.proposal id={ "v-" (v.vacancy_id) } {
                    h3 { (v.title) " · " a href={ "/console/jobs/employers/" (v.employer_id) } { (v.employer_name) } }
                    p { "工种：" (v.job_type) "；招聘 " (v.count) " 人" @if v.public_welfare { "；公益性岗位" } }
                    @if may_decide {
                        form method="post" action={ "/console/jobs/vacancies/" (v.vacancy_id) } {
                            input type="hidden" name="csrf" value=(console.csrf);
                            label { "审核意见" input name="reason" required maxlength="200" placeholder="如：已电话核实用工需求"; }
                            button.primary type="submit" name="decision" value="approved" { "通过" }
                            button type="submit" name="decision" value="rejected" { "不通过" }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "岗位信息" }
            @if report.vacancies.is_empty() { p.empty { "还没有登记岗位。" } }
            @else {
                table.list.vacancies {
                    thead { tr {
                        th { "岗位" } th { "用人单位" } th { "工种" } th { "状态" }
                        th.n { "招聘人数" } th.n { "已招" } th.n { "招满率" } th.n { "推荐" } th.n { "录用" }
                    } }
                    tbody {
                        @for v in &report.vacancies {
                            tr data-state=(v.state) {
                                td { (v.title) @if v.public_welfare { " " span.state { "公益性" } } }
                                td { a href={ "/console/jobs/employers/" (v.employer_id) } { (v.employer_name) } }
                                td { (v.job_type) }
                                td { span.state { (state_name(&v.state)) } }
                                td.n { (v.count) } td.n { (v.filled) } td.n { (rate(v.fill_rate)) }
                                td.n { (v.referrals) } td.n { (v.hired) }
                            }
                        }
                    }
                }
            }
        }
        section.card.gaps {
            h2 { "暂无合适岗位的求职人员" }
            p.hint { "本街道在招岗位中没有匹配分达到 " (report.suitable_score) " 分的人员，岗位开发可从这里着手。" }
            @if report.gaps.is_empty() { p.empty { "每位求职人员都有合适的岗位。" } }
            @else {
                table.list {
                    thead { tr { th { "姓名" } th { "求职意向" } th.n { "最高匹配分" } } }
                    tbody {
                        @for g in &report.gaps {
                            tr {
                                td { a href={ "/console/persons/" (g.person_id) } { (g.name) } }
                                td { (g.job_types.join("、")) }
                                td.n { @if let Some(s) = g.best_score { (s) } @else { "—" } }
                            }
                        }
                    }
                }
            }
        }
        p.hint { "截至 " (zh::date(report.as_of)) }
    };
    Ok(console.html(page::shell(&console, Section::Jobs, "岗位", body)))
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
    reason: String,
}

/// `POST /console/jobs/vacancies/{id}`: approve or decline a proposed vacancy, with the
/// reason, as station staff's edit of the vacancy.
pub async fn decide(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: DecisionForm = console.form(&body)?;
    let reason = form.reason.trim().to_string();
    let approval = match form.decision.as_str() {
        "approved" | "rejected" => form.decision.clone(),
        _ => {
            return Err(ConsoleError::Api(ApiError::validation(
                "decision",
                "must be approved or rejected",
            )))
        }
    };
    if reason.is_empty() || reason.chars().count() > 200 {
        return Ok(console.see_other("/console/jobs?error=reason"));
    }
    let caller = console.caller.clone();
    let app = state.clone();
    let id = id.into_inner();
    state
        .db
        .write(move |conn| {
            caller.require(Permission::EditCaseFiles)?;
            let scope = caller.scope(conn)?;
            let vacancy = record_in_scope(conn, &scope, Entity::Vacancy, &id)?;
            let env = staff::engine_env(&scope, &app.cipher, &app.config, now_micros());
            let mut fields = Map::new();
            fields.insert("approval".into(), json!(approval));
            fields.insert("approval_reason".into(), json!(reason));
            staff::apply(conn, &caller, &env, Edit::update(&vacancy, fields)?)?;
            Ok(())
        })
        .await?;
    Ok(console.see_other("/console/jobs?done=1"))
}
