//! 单位档案: one employer as a station knows it — its details (the contact's phone masked
//! like a person's), the visits coordinators made to it (单位走访), its vacancies and where
//! each stands, and the persons placed with it. Staff confirm the details they checked
//! (核实), an edit through the engine like any other, so the phones pull it.

use actix_web::web;
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::job_report::{employer_file, EmployerFile};
use liuqing_schema::matches::opening_of;
use liuqing_schema::time::now_micros;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::ConsoleResult;
use super::jobs::state_name;
use super::labels;
use super::names::Names;
use super::page::{self, Section};
use super::session::{Console, Posted};
use super::zh;
use crate::routes::views::{self, RecordView};
use crate::staff::{self, record_in_scope, Edit};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct EmployerQuery {
    done: Option<String>,
}

/// What the page shows, read and masked in one go.
struct Shown {
    employer: RecordView,
    street: String,
    /// Visit, and who made it.
    visits: Vec<(RecordView, String)>,
    /// Vacancy, and where it stands (`open`, or why not).
    vacancies: Vec<(RecordView, String)>,
    /// Placement, and the person's name (`None`: not in the caller's scope).
    placements: Vec<(RecordView, Option<String>)>,
    /// The employer's public-welfare job subsidy applications in the caller's scope.
    subsidies: Vec<RecordView>,
}

fn text<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    get_path(doc, path).and_then(Value::as_str)
}

fn size_name(code: &str) -> &'static str {
    match code {
        "micro" => "微型",
        "small" => "小型",
        "medium" => "中型",
        "large" => "大型",
        _ => "—",
    }
}

/// `GET /console/jobs/employers/{id}`.
pub async fn employer(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    query: web::Query<EmployerQuery>,
) -> ConsoleResult {
    let caller = console.caller.clone();
    let today = state.config.today();
    let birth_dates = caller.birth_dates();
    let id = id.into_inner();
    let shown = state
        .db
        .run(move |conn| {
            caller.require(Permission::ReadCaseFiles)?;
            let scope = caller.scope(conn)?;
            let employer = record_in_scope(conn, &scope, Entity::Employer, &id)?;
            let EmployerFile {
                employer,
                visits,
                vacancies,
                placements,
            } = employer_file(conn, &scope, employer)?;
            let mut names = Names::default();
            let street = names.node(conn, &employer.community_id)?;
            let visits = visits
                .iter()
                .map(|v| {
                    let by = names.user(conn, v.created_by.as_deref())?;
                    Ok((views::record(v, birth_dates)?, by))
                })
                .collect::<Result<_, crate::error::ApiError>>()?;
            let vacancies = vacancies
                .iter()
                .map(|v| {
                    let stands = match opening_of(v)?.open_on(today) {
                        Ok(()) => "open".to_string(),
                        Err(why) => why.to_string(),
                    };
                    Ok((views::record(v, birth_dates)?, stands))
                })
                .collect::<Result<_, crate::error::ApiError>>()?;
            let placements = placements
                .iter()
                .map(|(p, person)| {
                    Ok((
                        views::record(p, birth_dates)?,
                        person.as_ref().map(|r| r.name.clone()),
                    ))
                })
                .collect::<Result<_, crate::error::ApiError>>()?;
            let communities = liuqing_schema::records::communities_in_scope(conn, &scope)?;
            let mut subsidies = Vec::new();
            for a in
                liuqing_schema::records::live_of_entity(conn, Entity::WelfareSubsidy, &communities)?
            {
                if text(&a.document()?, "employer_id") == Some(employer.id.as_str()) {
                    subsidies.push(views::record(&a, birth_dates)?);
                }
            }
            Ok(Shown {
                employer: views::record(&employer, birth_dates)?,
                street,
                visits,
                vacancies,
                placements,
                subsidies,
            })
        })
        .await?;
    let offset = state.config.utc_offset_minutes;
    let title = text(&shown.employer.data, "name")
        .unwrap_or("用人单位")
        .to_string();
    let body = page_body(&console, &shown, query.done.is_some(), offset);
    Ok(console.html(page::shell(&console, Section::Jobs, &title, body)))
}

fn page_body(c: &Console, s: &Shown, done: bool, offset: i32) -> Markup {
    let e = &s.employer.data;
    let or_dash = |path: &str| text(e, path).unwrap_or("—").to_string();
    let verified = get_path(e, "verified").and_then(Value::as_bool) == Some(true);
    let may_verify = c.caller.may(Permission::EditCaseFiles) && !verified;
    let date = |d: &Value, field: &str| {
        text(d, field)
            .map(|t| zh::date_text(t, offset))
            .unwrap_or_else(|| "—".into())
    };
    html! {
        p.back { a href="/console/jobs" { "← 返回岗位" } }
        @if done { p.notice role="status" { "已核实。协理员的手机下次同步时会收到。" } }
        section.card.employer {
            h2 { "单位信息" }
            dl.facts {
                dt { "单位名称" } dd { (or_dash("name")) }
                dt { "统一社会信用代码" } dd { (or_dash("credit_code")) }
                dt { "所在街道" } dd { (s.street) }
                dt { "地址" } dd { (or_dash("address")) }
                dt { "联系人" } dd { (or_dash("contact_name")) }
                dt { "联系电话" } dd { (or_dash("contact_phone")) }
                dt { "行业" } dd { (or_dash("industry")) }
                dt { "规模" } dd { (text(e, "size").map_or("—", size_name)) }
                dt { "核实" } dd {
                    @if verified { span.state data-state="approved" { "已核实" } }
                    @else { span.state data-state="pending" { "未核实" } }
                }
                @if let Some(notes) = text(e, "notes") { dt { "备注" } dd { (notes) } }
            }
            @if may_verify {
                form.inline method="post" action={ "/console/jobs/employers/" (s.employer.id) } {
                    input type="hidden" name="csrf" value=(c.csrf);
                    button.primary type="submit" name="verified" value="true" { "信息已核实" }
                }
            }
        }
        section.card #employer-visits {
            h2 { "单位走访" }
            @if s.visits.is_empty() { p.empty { "还没有走访记录。" } }
            @else {
                table.list {
                    thead { tr { th { "走访时间" } th { "走访人" } th.n { "发现岗位" } th { "情况" } } }
                    tbody {
                        @for (v, by) in &s.visits {
                            tr {
                                td { (date(&v.data, "visited_at")) }
                                td { (by) }
                                td.n { (get_path(&v.data, "vacancies_found").and_then(Value::as_i64).map_or_else(|| "—".to_string(), |n| n.to_string())) }
                                td { (text(&v.data, "notes").unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
        section.card #employer-vacancies {
            h2 { "岗位" }
            @if s.vacancies.is_empty() { p.empty { "还没有登记岗位。" } }
            @else {
                table.list {
                    thead { tr { th { "岗位" } th { "工种" } th { "状态" } th.n { "招聘人数" } th.n { "已招" } th { "截止" } } }
                    tbody {
                        @for (v, stands) in &s.vacancies {
                            tr data-state=(stands) {
                                td { (text(&v.data, "title").unwrap_or("—"))
                                     @if text(&v.data, "kind") == Some("public_welfare") { " " span.state { "公益性" } } }
                                td { (text(&v.data, "job_type").unwrap_or("—")) }
                                td { span.state { (state_name(stands)) } }
                                td.n { (get_path(&v.data, "count").and_then(Value::as_i64).unwrap_or(0)) }
                                td.n { (get_path(&v.data, "filled").and_then(Value::as_i64).unwrap_or(0)) }
                                td { (date(&v.data, "open_until")) }
                            }
                        }
                    }
                }
            }
        }
        section.card #employer-placements {
            h2 { "在此单位上岗的人员" }
            @if s.placements.is_empty() { p.empty { "管辖范围内还没有人员在此单位上岗。" } }
            @else {
                table.list {
                    thead { tr { th { "姓名" } th { "岗位" } th { "上岗日期" } th { "离岗日期" } th { "签订合同" } th { "单位缴纳社保" } } }
                    tbody {
                        @for (p, name) in &s.placements {
                            tr {
                                td {
                                    @let person = text(&p.data, "person_id").unwrap_or_default();
                                    a href={ "/console/persons/" (person) } { (name.as_deref().unwrap_or("—")) }
                                }
                                td { (text(&p.data, "job_title").unwrap_or("—")) }
                                td { (date(&p.data, "started_on")) }
                                td { (date(&p.data, "ended_on")) }
                                td { (labels::yes_no(get_path(&p.data, "contract_signed").and_then(Value::as_bool))) }
                                td { (labels::yes_no(get_path(&p.data, "insurance_paid").and_then(Value::as_bool))) }
                            }
                        }
                    }
                }
            }
        }
        section.card #employer-subsidies {
            h2 { "公益性岗位补贴申请" }
            @if s.subsidies.is_empty() { p.empty { "没有公益性岗位补贴申请。" } }
            @else {
                table.list {
                    thead { tr { th { "申请期限" } th.n { "人数" } th { "状态" } th.n { "月数" } th.n { "金额（元）" } th { "受理日期" } } }
                    tbody {
                        @for a in &s.subsidies {
                            @let at = crate::subsidies::state_of(&a.data);
                            tr data-state=(at.as_str()) {
                                td { a href={ "/console/subsidies/" (a.id) } {
                                    (text(&a.data, "period_from").unwrap_or("—")) " 至 " (text(&a.data, "period_to").unwrap_or("—")) } }
                                td.n { (get_path(&a.data, "placement_ids").and_then(Value::as_array).map_or(0, Vec::len)) }
                                td { span.state { (labels::subsidy_state(at)) } }
                                td.n { (get_path(&a.data, "months").and_then(Value::as_i64).map_or_else(|| "—".to_string(), |m| m.to_string())) }
                                td.n { (get_path(&a.data, "amount_fen").and_then(Value::as_i64).map_or_else(|| "—".to_string(), |f| liuqing_schema::domain::subsidies::Fen(f).to_string())) }
                                td { (date(&a.data, "received_on")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct VerifyForm {
    verified: bool,
}

/// `POST /console/jobs/employers/{id}`: station staff confirm the employer's details.
pub async fn verify(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: VerifyForm = console.form(&body)?;
    let caller = console.caller.clone();
    let app = state.clone();
    let id = id.into_inner();
    let back = format!("/console/jobs/employers/{id}?done=1");
    state
        .db
        .write(move |conn| {
            caller.require(Permission::EditCaseFiles)?;
            let scope = caller.scope(conn)?;
            let employer = record_in_scope(conn, &scope, Entity::Employer, &id)?;
            let env = staff::engine_env(&scope, &app.cipher, &app.config, now_micros());
            let mut fields = Map::new();
            fields.insert("verified".into(), json!(form.verified));
            staff::apply(conn, &caller, &env, Edit::update(&employer, fields)?)?;
            Ok(())
        })
        .await?;
    Ok(console.see_other(&back))
}
