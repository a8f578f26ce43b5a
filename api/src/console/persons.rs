//! 人员 and 档案: the persons of the caller's scope with the API's filters and search, and
//! one person's case file — the person and household, the six clears by section with what
//! is missing, evidence, visits as a timeline, commitments, tier and obligations as
//! progress, services, applications with their history, tasks — and the reveal of the ID
//! number or phone with a reason (audited). Everything comes from the API's functions
//! (`routes::persons::{list_of, case_file_of, reveal_in}`).

use actix_web::{web, ResponseError};
use liuqing_schema::casefile::PersonStatus;
use liuqing_schema::domain::recognition::{allowed_roles, next_state};
use liuqing_schema::domain::six_clears::Section;
use liuqing_schema::domain::subsidies::{Fen, StopCondition, SubsidyAction, SubsidyKind};
use liuqing_schema::domain::{
    Category, EvidenceType, ExitReason, ObligationState, Permission, RecognitionAction,
    RecognitionState, ServiceKind, Tier,
};
use liuqing_schema::entities::{self, get_path, Entity};
use liuqing_schema::time::now_micros;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::error::{ConsoleError, ConsoleResult};
use super::labels;
use super::names::Names;
use super::page::{self, Section as Nav};
use super::session::{check_token, Console, Posted};
use super::zh;
use crate::error::ApiError;
use crate::recognitions::{self, Step};
use crate::routes::casework::{create_in, RecordWrite};
use crate::routes::commitments::{binding_of, Binding};
use crate::routes::persons::{
    case_file_of, list_of, reveal_in, CaseFile, ListQuery, Reveal, RevealField,
};
use crate::routes::views::{self, PersonItem, RecordView};
use crate::staff;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Search {
    name: Option<String>,
    /// The members of one household (from the households list).
    household: Option<String>,
    status: Option<String>,
    tier: Option<String>,
    obligation: Option<String>,
    cursor: Option<String>,
}

fn text<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    get_path(doc, path).and_then(Value::as_str)
}

/// `GET /console/persons`.
pub async fn list(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<Search>,
) -> ConsoleResult {
    let s = query.into_inner();
    let blank = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let q = ListQuery {
        name: blank(&s.name),
        status: blank(&s.status).and_then(|v| v.parse().ok()),
        tier: blank(&s.tier).and_then(|v| v.parse().ok()),
        obligation: blank(&s.obligation).and_then(|v| v.parse().ok()),
        household_id: blank(&s.household),
        cursor: blank(&s.cursor),
        limit: Some(50),
        ..ListQuery::default()
    };
    let found = find(&state, &console, q).await?;
    Ok(console.html(list_page(&console, &s, found, None)))
}

#[derive(Deserialize)]
struct LookupForm {
    number: String,
}

/// `POST /console/persons/lookup`: the API's exact lookup by a whole ID number or mobile
/// number. Posted, not a query, so the number stays out of addresses, history and logs;
/// each lookup spends the user's hourly allowance and is logged, hit or miss, as in the API.
pub async fn lookup(
    state: web::Data<AppState>,
    console: Console,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: LookupForm = console.form(&body)?;
    let number: String = form.number.chars().filter(|c| !c.is_whitespace()).collect();
    // An 11-digit number starting with 1 is a mobile number; anything else is taken as an
    // ID number, whose parser names what is wrong with it.
    let is_phone = number.len() == 11 && number.starts_with('1');
    let q = ListQuery {
        id_number: (!is_phone).then(|| number.clone()),
        phone: is_phone.then(|| number.clone()),
        limit: Some(50),
        ..ListQuery::default()
    };
    let what = if is_phone {
        "手机号"
    } else {
        "身份证号"
    };
    let (found, flash) = match find(&state, &console, q).await {
        Ok(found) => {
            let flash = html! { p.notice role="status" { "按" (what) "精确查找（已记入访问日志）：找到 " (found.0.items.len()) " 人。" } };
            (found, flash)
        }
        Err(ConsoleError::Api(ApiError::Validation(errors))) => {
            let flash = html! {
                p.error role="alert" { (what) "格式不对："
                    @for f in &errors { (f.reason) } }
            };
            let none = views::Page {
                items: Vec::new(),
                next_cursor: None,
            };
            (Found(none, Vec::new()), flash)
        }
        Err(e) => return Err(e),
    };
    Ok(console.html(list_page(&console, &Search::default(), found, Some(flash))))
}

/// A page of persons and the names of their communities.
struct Found(views::Page<PersonItem>, Vec<String>);

async fn find(
    state: &web::Data<AppState>,
    console: &Console,
    q: ListQuery,
) -> Result<Found, ConsoleError> {
    let caller = console.caller.clone();
    let app = state.clone();
    Ok(state
        .db
        .run(move |conn| {
            let page = list_of(conn, &app, &caller, &q)?;
            let mut names = Names::default();
            let communities = page
                .items
                .iter()
                .map(|p| names.node(conn, &p.community_id))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Found(page, communities))
        })
        .await?)
}

fn list_page(console: &Console, s: &Search, found: Found, flash: Option<Markup>) -> Markup {
    let Found(page, communities) = found;
    let selected = |v: &Option<String>, code: &str| v.as_deref() == Some(code);
    let next = page.next_cursor.as_ref().map(|c| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("name", &s.name),
            ("status", &s.status),
            ("tier", &s.tier),
            ("obligation", &s.obligation),
            ("household", &s.household),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                q.append_pair(k, v);
            }
        }
        q.append_pair("cursor", c);
        format!("/console/persons?{}", q.finish())
    });
    let body = html! {
        nav.filters aria-label="人员或家庭" {
            a href="/console/persons" aria-current="page" { "人员" }
            a href="/console/households" { "家庭" }
        }
        @if let Some(flash) = &flash { div.flash { (flash) } }
        form.search method="get" action="/console/persons" role="search" {
            @if let Some(h) = s.household.as_deref().filter(|h| !h.is_empty()) { input type="hidden" name="household" value=(h); }
            label { "姓名" input name="name" value=[s.name.as_deref()] maxlength="100" placeholder="输入姓名或其中几个字"; }
            label { "状态" select name="status" {
                option value="" { "全部" }
                @for st in PersonStatus::ALL { option value=(st.as_str()) selected[selected(&s.status, st.as_str())] { (labels::person_status(st.as_str())) } }
            } }
            label { "援助等级" select name="tier" {
                option value="" { "全部" }
                @for t in Tier::ALL { option value=(t.as_str()) selected[selected(&s.tier, t.as_str())] { (t.as_str()) "类" } }
            } }
            label { "服务进度" select name="obligation" {
                option value="" { "全部" }
                @for o in ObligationState::ALL { option value=(o.as_str()) selected[selected(&s.obligation, o.as_str())] { (labels::obligation_state(o.as_str())) } }
            } }
            button.primary type="submit" { "查询" }
        }
        details.lookup {
            summary { "按完整身份证号或手机号精确查找" }
            form.search method="post" action="/console/persons/lookup" autocomplete="off" {
                input type="hidden" name="csrf" value=(console.csrf);
                label { "身份证号或手机号" input name="number" required maxlength="40" inputmode="text" autocomplete="off"; }
                button type="submit" { "精确查找" }
                p.hint { "每次查找都记入访问日志，并计入每小时的查找次数。" }
            }
        }
        @if page.items.is_empty() {
            p.empty { "没有符合条件的人员。" }
        } @else {
            table.list {
                thead { tr { th { "姓名" } th { "性别" } th { "年龄" } th { "社区" } th { "状态" } th { "等级" } th { "困难类别" } th { "最近联系" } } }
                tbody {
                    @for (p, community) in page.items.iter().zip(&communities) { (row(p, community)) }
                }
            }
            @if let Some(next) = &next { p { a href=(next) { "下一页 →" } } }
        }
    };
    page::shell(console, Nav::Persons, "人员", body)
}

fn row(p: &PersonItem, community: &str) -> Markup {
    html! {
        tr {
            td { a href={ "/console/persons/" (p.id) } { (p.name) } }
            td { (p.sex.as_deref().map(labels::choice).unwrap_or_default()) }
            td { @if let Some(a) = p.age { (a) } }
            td { (community) }
            td { (labels::person_status(&p.status)) }
            td { @if let Some(t) = &p.tier { (t) "类" } }
            td.wrap { (categories(&p.categories)) }
            td { (p.last_contact_on.as_deref().map(|d| zh::date_text(d, 480)).unwrap_or_default()) }
        }
    }
}

fn categories(codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| {
            c.parse::<Category>()
                .map_or_else(|_| c.clone(), |c| c.chinese_name().to_string())
        })
        .collect::<Vec<_>>()
        .join("；")
}

/// What the case file page shows besides the file: names for ids.
struct Named {
    community: String,
    visitors: Vec<String>,
    history_by: Vec<Vec<String>>,
    /// The binding check of each commitment, for the roles that may make it.
    bindings: Vec<Option<Binding>>,
    /// The open vacancies of the caller's streets that suit the person, best first.
    matches: Option<crate::routes::matches::VacancyMatches>,
    /// The titles of the vacancies the person was referred to.
    vacancy_titles: std::collections::HashMap<String, String>,
    /// For each subsidy application: the steps the caller may take, and who took each
    /// step of its history.
    subsidy_steps: Vec<Vec<SubsidyAction>>,
    subsidy_history_by: Vec<Vec<String>>,
}

async fn load(
    state: &web::Data<AppState>,
    console: &Console,
    id: String,
) -> Result<(CaseFile, Named), ConsoleError> {
    let caller = console.caller.clone();
    let config = state.config.clone();
    let cache = std::sync::Arc::clone(&state.vacancies);
    Ok(state
        .db
        .run(move |conn| {
            let file = case_file_of(conn, &config, &caller, &id)?;
            let mut titles = crate::ledgers::VacancyTitles::default();
            let mut vacancy_titles = std::collections::HashMap::new();
            for v in file
                .referrals
                .iter()
                .filter_map(|r| text(&r.data, "vacancy_id"))
            {
                let title = titles.of(conn, v)?;
                if !title.is_empty() {
                    vacancy_titles.insert(v.to_string(), title);
                }
            }
            let matches = crate::routes::matches::vacancies_for(
                conn,
                &cache,
                &caller,
                &id,
                config.today(),
                SHOWN_MATCHES,
            )?;
            let mut names = Names::default();
            let community = names.node(conn, &file.summary.community_id)?;
            let visitors = file
                .visits
                .iter()
                .map(|v| names.user(conn, v.created_by.as_deref()))
                .collect::<Result<_, _>>()?;
            let history_by = file
                .recognitions
                .iter()
                .map(|r| {
                    history(&r.data)
                        .iter()
                        .map(|h| names.user(conn, h.get("by").and_then(Value::as_str)))
                        .collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<_, _>>()?;
            let mut subsidy_steps = Vec::new();
            let mut subsidy_history_by = Vec::new();
            for a in &file.subsidies {
                let at = crate::subsidies::state_of(&a.data);
                subsidy_steps.push(if caller.may(Permission::EditCaseFiles) {
                    crate::subsidies::open_to(conn, &caller, &config, at, &a.community_id)?
                } else {
                    Vec::new()
                });
                subsidy_history_by.push(
                    history(&a.data)
                        .iter()
                        .map(|h| names.user(conn, h.get("by").and_then(Value::as_str)))
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            let bindings = if caller.may(Permission::CheckCommitments) {
                file.commitments
                    .iter()
                    .map(|c| binding_of(conn, &caller, &c.id).map(Some))
                    .collect::<Result<_, _>>()?
            } else {
                file.commitments.iter().map(|_| None).collect()
            };
            Ok((
                file,
                Named {
                    community,
                    visitors,
                    history_by,
                    bindings,
                    matches: Some(matches),
                    vacancy_titles,
                    subsidy_steps,
                    subsidy_history_by,
                },
            ))
        })
        .await?)
}

fn history(doc: &Value) -> Vec<Value> {
    get_path(doc, "history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub struct FileQuery {
    done: Option<String>,
}

/// `GET /console/persons/{id}`.
pub async fn case_file(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    query: web::Query<FileQuery>,
) -> ConsoleResult {
    let (file, named) = load(&state, &console, id.into_inner()).await?;
    let offset = state.config.utc_offset_minutes;
    let flash = query.done.as_deref().map(|done| {
        let what = match done
            .strip_prefix("subsidy_")
            .map(str::parse::<SubsidyAction>)
        {
            Some(Ok(action)) => labels::subsidy_action(action),
            _ => labels::recognition_action(done),
        };
        html! { p.notice role="status" { (what) "：已办理。" } }
    });
    Ok(console.html(case_file_page(&console, &file, &named, flash, offset)))
}

#[derive(Deserialize)]
struct RevealForm {
    field: RevealField,
    reason: String,
}

/// `POST /console/persons/{id}/reveal`: the file again, with the full value shown once
/// (never in an address, never kept by the page).
pub async fn reveal(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: RevealForm = console.form(&body)?;
    let id = id.into_inner();
    let caller = console.caller.clone();
    let cipher = state.cipher.clone();
    let person = id.clone();
    let revealed = state
        .db
        .transaction(move |conn| {
            let req = Reveal {
                field: form.field,
                reason: form.reason.trim().to_string(),
            };
            reveal_in(conn, &cipher, &caller, &person, &req)
        })
        .await;
    let flash = match revealed {
        Ok(r) => html! {
            p.notice role="status" { (if r.field == "id_number" { "身份证号" } else { "手机号" }) "：" strong { (r.value) } "（已记入访问日志）" }
        },
        Err(ApiError::Validation(_)) => {
            html! { p.error role="alert" { "请写明查看的原因（4 到 500 个字）。" } }
        }
        Err(ApiError::NotFound(_)) => html! { p.error role="alert" { "档案里没有这一项。" } },
        Err(e) => return Err(e.into()),
    };
    let (file, named) = load(&state, &console, id).await?;
    let offset = state.config.utc_offset_minutes;
    Ok(console.html(case_file_page(&console, &file, &named, Some(flash), offset)))
}

/// A six-clears value as a person reads it (`path` says what its codes name).
fn field_value(path: &str, v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(true) => "是".into(),
        Value::Bool(false) => "否".into(),
        Value::String(s) if path == "difficulty.categories" => s
            .parse::<Category>()
            .map_or_else(|_| s.clone(), |c| c.chinese_name().to_string()),
        Value::String(s) => labels::choice(s).to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|i| field_value(path, i))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("、"),
        Value::Object(_) => v.to_string(),
    }
}

/// What the binding check found, in words: the seal taken at signing against the
/// commitment now, and whether the signature image arrived.
fn binding_state(b: &Binding) -> Markup {
    let (state, text) = match (b.intact, b.signature_received && b.signature_is_png) {
        (true, true) => ("approved", "签署后未被改动，签名已收到"),
        (true, false) => ("pending", "签署后未被改动，签名图片尚未收到"),
        (false, _) if b.seal.is_none() => ("pending", "没有签署时的校验记录"),
        (false, _) => ("rejected", "签署后内容被改动过，请核实"),
    };
    html! { p.binding { "绑定校验：" span.state data-state=(state) { (text) } } }
}

/// 就业情况: the jobs recommended to the person and how each went, their placements, and
/// the follow-ups after them, newest first.
fn work_card(f: &CaseFile, named: &Named, offset: i32) -> Markup {
    let date = |d: &Value, field: &str| {
        text(d, field)
            .map(|t| zh::date_text(t, offset))
            .unwrap_or_default()
    };
    let yes = |d: &Value, field: &str| labels::yes_no(get_path(d, field).and_then(Value::as_bool));
    html! {
        section.card #work {
            h2 { "就业情况" }
            @if !f.referrals.is_empty() {
                h3 { "岗位推荐" }
                table.list {
                    thead { tr { th { "推荐日期" } th { "岗位" } th { "方式" } th { "结果" } } }
                    tbody {
                        @for r in f.referrals.iter().rev() {
                            tr {
                                td { (date(&r.data, "referred_on")) }
                                td { (text(&r.data, "vacancy_id").and_then(|v| named.vacancy_titles.get(v)).map(String::as_str).unwrap_or("—")) }
                                td { (labels::referral_channel(text(&r.data, "channel").unwrap_or_default())) }
                                td { (labels::referral_outcome(text(&r.data, "outcome")))
                                     @if let Some(why) = text(&r.data, "decline_reason") { "：" (why) } }
                            }
                        }
                    }
                }
            }
            @for p in f.placements.iter().rev() {
                h3 { "上岗：" (text(&p.data, "job_title").or(text(&p.data, "employer_name")).unwrap_or("—"))
                     @if let Some(employer) = text(&p.data, "employer_id") { " " a.small href={ "/console/jobs/employers/" (employer) } { "单位档案" } } }
                p { (date(&p.data, "started_on")) " 上岗"
                    @if text(&p.data, "ended_on").is_some() { "，" (date(&p.data, "ended_on")) " 离岗" }
                    " · 签订合同：" (yes(&p.data, "contract_signed"))
                    " · 单位缴纳社保：" (yes(&p.data, "insurance_paid"))
                    @if let Some(w) = get_path(&p.data, "monthly_wage").and_then(Value::as_i64) { " · 月工资 " (w) " 元" } }
                @let follow_ups: Vec<_> = f.follow_ups.iter().rev().filter(|u| text(&u.data, "placement_id") == Some(p.id.as_str())).collect();
                @if !follow_ups.is_empty() {
                    ul.follow-ups {
                        @for u in follow_ups {
                            li { "跟踪回访 " (date(&u.data, "followed_on"))
                                 " · 仍在岗：" (yes(&u.data, "still_employed"))
                                 " · 工资按时：" (yes(&u.data, "wages_on_time"))
                                 @if let Some(problems) = text(&u.data, "problems") { " · 问题：" (problems) }
                                 @if let Some(action) = text(&u.data, "action") { " · 处理：" (action) } }
                        }
                    }
                }
            }
        }
    }
}

/// Tasks in the order they fall due (those without a day last).
fn by_due_date(tasks: &[RecordView]) -> Vec<&RecordView> {
    let mut sorted: Vec<&RecordView> = tasks.iter().collect();
    sorted.sort_by_key(|t| {
        (
            text(&t.data, "due_on").is_none(),
            text(&t.data, "due_on").map(str::to_string),
        )
    });
    sorted
}

/// Matches a case file shows.
const SHOWN_MATCHES: usize = 5;

/// 推荐岗位: the best open vacancies for the person, each with its reasons, and (for those
/// who may) a button that recommends it, recorded as a referral.
fn matches_card(c: &Console, person: &str, m: &crate::routes::matches::VacancyMatches) -> Markup {
    let may_refer = c.caller.may(Permission::EditCaseFiles);
    html! {
        section.card #matches {
            h2 { "推荐岗位" }
            p.hint { "按人岗匹配得分排列（求职意向、距离、工作时间、技能、薪酬等）。" }
            ol.matches {
                @for v in &m.matches {
                    li {
                        strong { (v.title) } " · " (v.job_type) " · 还缺 " (v.places_left) " 人 · "
                        span.score { (v.score) " 分" }
                        p.reasons { (v.reasons.iter().filter(|r| r.points > 0).map(|r| format!("{}（+{}）", r.chinese, r.points)).collect::<Vec<_>>().join("；")) }
                        @if may_refer {
                            form.inline method="post" action={ "/console/persons/" (person) "/referrals" } {
                                input type="hidden" name="csrf" value=(c.csrf);
                                input type="hidden" name="vacancy_id" value=(v.vacancy_id);
                                button type="submit" { "推荐此岗位" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn case_file_page(
    c: &Console,
    f: &CaseFile,
    named: &Named,
    flash: Option<Markup>,
    offset: i32,
) -> Markup {
    let person = &f.person.data;
    let household = f.household.as_ref().map(|h| &h.data);
    let may_reveal = c.caller.may(Permission::RevealIdentity);
    let may_review = c.caller.may(Permission::ReviewEvidence);
    let title = format!("{} 的档案", f.summary.name);
    let body = html! {
        p.back { a href="/console/persons" { "← 返回人员列表" } }
        @if let Some(flash) = &flash { div.flash { (flash) } }
        section.card.person {
            h2 { "基本信息" }
            dl.facts {
                dt { "姓名" } dd { (f.summary.name) }
                dt { "性别" } dd { (f.summary.sex.as_deref().map(labels::choice).unwrap_or_default()) }
                dt { "出生日期" } dd { (f.summary.birth_date.as_deref().map(|d| zh::date_text(d, offset)).unwrap_or_default()) @if let Some(a) = f.summary.age { "（" (a) " 岁）" } }
                dt { "身份证号" } dd { (text(person, "id_number").unwrap_or("—")) }
                dt { "手机号" } dd { (text(person, "phone").unwrap_or("—")) }
                dt { "住址" } dd { (household.and_then(|h| text(h, "address")).unwrap_or("—")) }
                dt { "社区" } dd { (named.community) }
                dt { "状态" } dd { (labels::person_status(&f.summary.status)) }
                @if let Some(w) = &f.work {
                    dt { "就业" } dd { span.state data-state="approved" { "在岗" } " 自 " (zh::date_text(&w.since, offset)) " 起"
                        @if w.reason == ExitReason::SelfEmployed { "（自主经营）" } }
                }
                dt { "援助等级" } dd { @if let Some(t) = &f.summary.tier { (t) "类" } @else { "未评估" } }
                dt { "困难类别" } dd { (categories(&f.summary.categories)) }
                dt { "最近联系" } dd { (f.summary.last_contact_on.as_deref().map(|d| zh::date_text(d, offset)).unwrap_or_else(|| "—".into())) }
                @if household.and_then(|h| get_path(h, "zero_employment")).and_then(Value::as_bool) == Some(true) {
                    dt { "家庭" } dd { span.state data-state="retake" { "零就业家庭" } }
                }
            }
            @if may_reveal {
                details.reveal {
                    summary { "查看完整身份证号或手机号" }
                    form method="post" action={ "/console/persons/" (f.person.id) "/reveal" } {
                        input type="hidden" name="csrf" value=(c.csrf);
                        fieldset {
                            legend { "查看哪一项" }
                            label.radio { input type="radio" name="field" value="id_number" checked; "身份证号" }
                            label.radio { input type="radio" name="field" value="phone"; "手机号" }
                        }
                        label { "原因（会记入访问日志）" input name="reason" required minlength="4" maxlength="500"; }
                        button type="submit" { "查看" }
                    }
                }
            }
        }
        (six_clears(f))
        section.card {
            h2 { "一次性告知：还缺的材料" }
            @if f.missing_materials.items.is_empty() { p { "材料已齐全。" } }
            @else { ul { @for i in &f.missing_materials.items { li { (i.name) } } } }
        }
        section.card {
            h2 { "证明材料" }
            @if f.evidence.is_empty() { p.hint { "还没有材料。" } }
            ul.gallery {
                @for e in &f.evidence {
                    li {
                        @let kind = text(&e.data, "evidence_type").map(|t| t.parse::<EvidenceType>().map_or_else(|_| t.to_string(), |t| t.chinese_name().to_string())).unwrap_or_default();
                        @let state = text(&e.data, "review_state").unwrap_or("pending");
                        @let inner = html! {
                            @if let Some(sha) = text(&e.data, "attachment_sha256") {
                                img src={ "/console/photos/" (sha) "/thumbnail" } alt=(kind) width="96" height="96" loading="lazy";
                            }
                            span { (kind) }
                            span.state data-state=(state) { (zh::review_state(state)) }
                        };
                        @if may_review { a href={ "/console/review/" (e.id) } { (inner) } } @else { div { (inner) } }
                    }
                }
            }
        }
        section.card {
            h2 { "走访记录" }
            @if f.visits.is_empty() { p.hint { "还没有走访记录。" } }
            ol.timeline {
                @for (v, who) in f.visits.iter().rev().zip(named.visitors.iter().rev()) {
                    li {
                        strong { (text(&v.data, "started_at").map(|t| zh::date_text(t, offset)).unwrap_or_default()) }
                        " · " (labels::visit_outcome(text(&v.data, "outcome").unwrap_or("other")))
                        " · " (who)
                        @if let (Some(lat), Some(lon)) = (get_path(&v.data, "latitude").and_then(Value::as_f64), get_path(&v.data, "longitude").and_then(Value::as_f64)) {
                            " · " span.hint { "GPS " (format!("{lat:.5}, {lon:.5}")) }
                        }
                        @if let Some(n) = text(&v.data, "notes") { p { (n) } }
                    }
                }
            }
        }
        section.card {
            h2 { "服务承诺" }
            @if f.commitments.is_empty() { p.hint { "还没有签署服务承诺。" } }
            @for (cm, binding) in f.commitments.iter().zip(&named.bindings) {
                div.commitment {
                    @if let Some(sha) = text(&cm.data, "signature_sha256") {
                        img src={ "/console/photos/" (sha) "/thumbnail" } alt="签名" width="160" height="80" loading="lazy";
                    }
                    p { "签署于 " (text(&cm.data, "signed_at").map(|t| zh::date_text(t, offset)).unwrap_or_default())
                        " · 承诺书版本 " (text(&cm.data, "template_version").unwrap_or_default()) }
                    @if let Some(b) = binding { (binding_state(b)) }
                }
            }
        }
        section.card {
            h2 { "援助等级与服务进度" }
            @if let Some(o) = &f.obligations {
                p { (f.summary.tier.as_deref().unwrap_or_default()) "类 · 评估于 " (f.summary.assessed_on.as_deref().map(|d| zh::date_text(d, offset)).unwrap_or_default())
                    " · 应在 " (zh::date(o.due)) " 前完成 · " span.state data-state=(if o.state.as_str() == "overdue" { "rejected" } else if o.state.as_str() == "done" { "approved" } else { "pending" }) { (labels::obligation_state(o.state.as_str())) } }
                ul.progress {
                    @for i in &o.items {
                        li {
                            span.kind { (i.kind.chinese_name()) }
                            progress max=(i.required) value=(i.done.min(i.required)) {}
                            span { (i.done) " / " (i.required) }
                        }
                    }
                }
            } @else { p.hint { "还没有分级评估。" } }
            @if !f.service_records.is_empty() {
                h3 { "服务记录" }
                table.list {
                    thead { tr { th { "日期" } th { "服务" } th { "说明" } } }
                    tbody {
                        @for s in f.service_records.iter().rev() {
                            tr {
                                td { (text(&s.data, "delivered_on").map(|d| zh::date_text(d, offset)).unwrap_or_default()) }
                                td { (text(&s.data, "kind").and_then(|k| k.parse::<ServiceKind>().ok()).map(|k| k.chinese_name()).unwrap_or_default()) }
                                td { (text(&s.data, "job_title").or(text(&s.data, "notes")).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
        @if !(f.referrals.is_empty() && f.placements.is_empty()) {
            (work_card(f, named, offset))
        }
        @if let Some(m) = named.matches.as_ref().filter(|m| !m.matches.is_empty()) {
            (matches_card(c, &f.summary.id, m))
        }
        section.card #applications {
            h2 { "认定申请" }
            @if f.recognitions.is_empty() { p.hint { "没有申请。" } }
            @if may_apply(c, f) { (apply_form(c, f)) }
            @for (r, by) in f.recognitions.iter().zip(&named.history_by) {
                div.application {
                    p { strong { (labels::recognition_state(text(&r.data, "state").unwrap_or_default())) }
                        @if let Some(d) = text(&r.data, "received_on") { " · 受理于 " (zh::date_text(d, offset)) }
                        @if let Some(d) = text(&r.data, "publicity_ends_on") { " · 公示至 " (zh::date_text(d, offset)) }
                        @if let Some(d) = text(&r.data, "decided_on") { " · 决定于 " (zh::date_text(d, offset)) } }
                    (steps_form(c, f, r, offset))
                    @let steps = history(&r.data);
                    @if !steps.is_empty() {
                        ol.history {
                            @for (h, who) in steps.iter().zip(by) {
                                li {
                                    (h.get("on").and_then(Value::as_str).map(|d| zh::date_text(d, offset)).unwrap_or_default())
                                    " · " (labels::recognition_action(h.get("action").and_then(Value::as_str).or(h.get("state").and_then(Value::as_str)).unwrap_or_default()))
                                    " · " (who)
                                    @if let Some(reason) = h.get("reason").and_then(Value::as_str) { " · " (reason) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !f.subsidies.is_empty() {
            (subsidies_card(c, f, named, offset))
        }
        @if !f.tasks.is_empty() {
            section.card {
                h2 { "任务" }
                ul {
                    @for t in by_due_date(&f.tasks) {
                        li { (text(&t.data, "title").unwrap_or_default()) " · " (labels::task_state(text(&t.data, "state").unwrap_or_default()))
                            @if let Some(d) = text(&t.data, "due_on") { " · 截止 " (zh::date_text(d, offset)) } }
                    }
                }
            }
        }
        @if let Some(exit) = &f.exit {
            section.card {
                h2 { "退出" }
                p { (text(&exit.data, "reason").and_then(|r| r.parse::<ExitReason>().ok()).map(|r| r.chinese_name()).unwrap_or_default())
                    " · " (text(&exit.data, "exit_on").map(|d| zh::date_text(d, offset)).unwrap_or_default())
                    @if let Some(n) = text(&exit.data, "notes") { " · " (n) } }
            }
        } @else if f.summary.status == "recognised" && c.caller.may(Permission::EditCaseFiles) {
            section.card {
                h2 { "退出" }
                details.apply {
                    summary { "办理退出" }
                    form.narrow method="post" action={ "/console/persons/" (f.person.id) "/exit" } {
                        input type="hidden" name="csrf" value=(c.csrf);
                        label { "退出原因" select name="reason" required {
                            @for r in ExitReason::ALL { option value=(r.as_str()) { (r.chinese_name()) } }
                        } }
                        label { "退出日期" input type="date" name="exit_on" required; }
                        label { "说明" input name="notes" maxlength="2000"; }
                        button.danger type="submit" { "办理退出" }
                    }
                }
            }
        }
    };
    page::shell(c, Nav::Persons, &title, body)
}

fn six_clears(f: &CaseFile) -> Markup {
    let spec = entities::spec(Entity::SixClears);
    html! {
        section.card {
            h2 { "六清" }
            @match &f.six_clears {
                None => p.hint { "还没有六清记录。" },
                Some(sc) => {
                    div.sections {
                        @for s in Section::ALL {
                            @let state = sc.sections.get(s.as_str());
                            @let complete = state.is_some_and(|st| st.complete);
                            div.section {
                                h3 { (labels::section(*s)) " "
                                    @if complete { span.state data-state="approved" { "完整" } }
                                    @else { span.state data-state="retake" { "不完整" } } }
                                dl {
                                    @for field in spec.fields.iter().filter(|fs| fs.path.starts_with(&format!("{}.", s.as_str()))) {
                                        @let value = get_path(&sc.record.data, field.path).map(|v| field_value(field.path, v)).unwrap_or_default();
                                        dt { (labels::field(Entity::SixClears, field.path).map_or(field.path, |l| l.split('·').next_back().unwrap_or(l))) }
                                        dd { @if value.is_empty() { span.hint { "—" } } @else { (value) } }
                                    }
                                }
                                @if let Some(st) = state.filter(|st| !st.missing.is_empty()) {
                                    p.hint { "缺：" (st.missing.iter().map(|m| labels::field(Entity::SixClears, m).unwrap_or(m)).collect::<Vec<_>>().join("、")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn state_of(r: &RecordView) -> RecognitionState {
    text(&r.data, "state")
        .and_then(|s| s.parse().ok())
        .unwrap_or(RecognitionState::Received)
}

/// Whether the caller may take in (受理) a new application: a role that edits case files,
/// and none of the person's applications is still open.
fn may_apply(c: &Console, f: &CaseFile) -> bool {
    c.caller.may(Permission::EditCaseFiles)
        && f.summary.status != "recognised"
        && f.summary.status != "exited"
        && f.recognitions.iter().all(|r| state_of(r).is_terminal())
}

fn apply_form(c: &Console, f: &CaseFile) -> Markup {
    html! {
        details.apply {
            summary { "受理就业困难人员认定申请" }
            form method="post" action={ "/console/persons/" (f.person.id) "/applications" } {
                input type="hidden" name="csrf" value=(c.csrf);
                fieldset {
                    legend { "申请认定的类别（六清登记的已勾选）" }
                    @for cat in Category::ALL {
                        label.check {
                            input type="checkbox" name="category" value=(cat.as_str()) checked[f.summary.categories.iter().any(|k| k == cat.as_str())];
                            (cat.chinese_name())
                        }
                    }
                }
                button.primary type="submit" { "受理" }
            }
        }
    }
}

/// The steps the caller's role may take on an open application, each a form.
fn steps_form(c: &Console, f: &CaseFile, r: &RecordView, offset: i32) -> Markup {
    let from = state_of(r);
    if from.is_terminal() || !c.caller.may(Permission::EditCaseFiles) {
        return html! {};
    }
    let actions: Vec<RecognitionAction> = RecognitionAction::ALL
        .iter()
        .copied()
        .filter(|a| {
            next_state(from, *a).is_some() && allowed_roles(from, *a).contains(&c.caller.role)
        })
        .collect();
    let may_override = c.caller.may(Permission::OverrideGates);
    let action = format!("/console/persons/{}/applications/{}", f.person.id, r.id);
    html! {
        @if from == RecognitionState::Publicity {
            @if let Some(end) = text(&r.data, "publicity_ends_on") {
                p.hint { "公示至 " (zh::date_text(end, offset)) "，期满后的第二天起可以认定。" }
            }
        }
        @if actions.is_empty() {
            p.hint { "下一步由" (if from == RecognitionState::Publicity { "街道或区里认定" } else { "服务站办理" }) "。" }
        }
        div.steps {
            @for a in &actions {
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(c.csrf);
                    input type="hidden" name="action" value=(a.as_str());
                    label { @if *a == RecognitionAction::Reject { "不予认定的原因（必填）" } @else { "意见（可不填）" }
                        input name="reason" maxlength="500" required[*a == RecognitionAction::Reject]; }
                    @if may_override && *a != RecognitionAction::Reject {
                        details {
                            summary { "材料已在窗口核验？" }
                            label { "核验说明（填写后，未满足的规则将被放行并记入访问日志）" input name="override_reason" maxlength="500"; }
                        }
                    }
                    button.primary[*a != RecognitionAction::Reject].danger[*a == RecognitionAction::Reject] type="submit" data-action=(a.as_str()) { (labels::recognition_action(a.as_str())) }
                }
            }
        }
    }
}

/// 灵活就业社保补贴: each application with the months and amount the server computed, its
/// history, and a form for each step the caller's level may take.
fn subsidies_card(c: &Console, f: &CaseFile, named: &Named, offset: i32) -> Markup {
    let span = |d: &Value, from: &str, to: &str| match (text(d, from), text(d, to)) {
        (Some(a), Some(b)) => format!("{a} 至 {b}"),
        _ => "—".to_string(),
    };
    html! {
        section.card #subsidies {
            h2 { "灵活就业社保补贴" }
            @for ((a, steps), by) in f.subsidies.iter().zip(&named.subsidy_steps).zip(&named.subsidy_history_by) {
                @let d = &a.data;
                div.application {
                    p { strong { (labels::subsidy_state(crate::subsidies::state_of(&a.data))) }
                        " · 申请 " (span(d, "period_from", "period_to"))
                        " · 享受 " (span(d, "payable_from", "payable_to"))
                        @if let Some(m) = get_path(d, "months").and_then(Value::as_i64) { "（" (m) " 个月）" }
                        @if let Some(fen) = get_path(d, "amount_fen").and_then(Value::as_i64) { " · 补贴 " (Fen(fen).to_string()) " 元" }
                        @if let Some(acct) = text(d, "account") { " · 账户 " (acct) } }
                    @if let (Some(from), Some(why)) = (text(d, "recommended_stop_from"), text(d, "recommended_stop").and_then(|c| c.parse::<StopCondition>().ok())) {
                        @if text(d, "stopped_from").is_none() {
                            p.error { "建议自 " (from) " 停止：" (why.chinese_name()) }
                        }
                    }
                    @if let (Some(from), Some(why)) = (text(d, "stopped_from"), text(d, "stop_condition").and_then(|c| c.parse::<StopCondition>().ok())) {
                        p { "自 " (from) " 停止：" (why.chinese_name()) }
                    }
                    (subsidy_steps_form(c, f, a, steps))
                    @let done = history(d);
                    @if !done.is_empty() {
                        ol.history {
                            @for (h, who) in done.iter().zip(by) {
                                li {
                                    (h.get("on").and_then(Value::as_str).map(|t| zh::date_text(t, offset)).unwrap_or_default())
                                    " · " (h.get("action").and_then(Value::as_str).and_then(|t| t.parse::<SubsidyAction>().ok()).map(labels::subsidy_action).unwrap_or_default())
                                    " · " (who)
                                    @if let Some(reason) = h.get("reason").and_then(Value::as_str) { " · " (reason) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A form for each step the caller may take on a flexible-employment application.
fn subsidy_steps_form(
    c: &Console,
    f: &CaseFile,
    a: &RecordView,
    steps: &[SubsidyAction],
) -> Markup {
    let stop = super::subsidies::StopForm {
        kind: SubsidyKind::FlexibleInsurance,
        persons: None,
        recommended: a.data.clone(),
    };
    let action = format!("/console/persons/{}/subsidies/{}", f.person.id, a.id);
    super::subsidies::step_forms(c, &action, steps, &stop)
}

#[derive(Deserialize)]
struct SubsidyForm {
    action: SubsidyAction,
    reason: Option<String>,
    stop_from: Option<String>,
    stop_condition: Option<StopCondition>,
}

/// `POST /console/persons/{id}/subsidies/{sid}`: a step, through `subsidies::take`.
pub async fn subsidy_step(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<(String, String)>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: SubsidyForm = console.form(&body)?;
    let (person, application) = path.into_inner();
    let blank = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let step = crate::subsidies::Step::from_input(
        form.action,
        blank(form.reason),
        blank(form.stop_from).as_deref(),
        form.stop_condition,
        None,
    );
    let caller = console.caller.clone();
    let app = state.clone();
    let taken = match step {
        Err(e) => Err(e),
        Ok(step) => {
            state
                .db
                .write(move |conn| {
                    let scope = caller.scope(conn)?;
                    let env = staff::engine_env(&scope, &app.cipher, &app.config, now_micros());
                    crate::subsidies::take(conn, &caller, &env, &app.config, &application, &step)
                })
                .await
        }
    };
    let done = format!("subsidy_{}", form.action);
    step_answer(&state, &console, &person, taken.map(|_| done.as_str())).await
}

/// `POST /console/persons/{id}/applications`: 受理, through the API's create.
pub async fn apply(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    check_token(&body, &console.csrf)?;
    let categories: Vec<String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "category")
        .map(|(_, v)| v.into_owned())
        .collect();
    let person = id.into_inner();
    let caller = console.caller.clone();
    let app = state.clone();
    let target = person.clone();
    let created = state
        .db
        .write(move |conn| {
            let mut fields = serde_json::Map::new();
            fields.insert("person_id".into(), Value::String(target));
            fields.insert("claimed_categories".into(), serde_json::json!(categories));
            let write = RecordWrite {
                base_version: None,
                fields,
                set_ops: Default::default(),
            };
            create_in(conn, &app, &caller, Entity::Recognition, write)
        })
        .await;
    step_answer(&state, &console, &person, created.map(|_| "received")).await
}

#[derive(Deserialize)]
struct StepForm {
    action: RecognitionAction,
    reason: Option<String>,
    override_reason: Option<String>,
}

/// `POST /console/persons/{id}/applications/{rid}`: a step, through `recognitions::take`.
pub async fn step(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<(String, String)>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: StepForm = console.form(&body)?;
    let (person, application) = path.into_inner();
    let blank = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let step = Step {
        action: form.action,
        reason: blank(form.reason),
        override_reason: blank(form.override_reason),
    };
    let caller = console.caller.clone();
    let app = state.clone();
    let taken = match step.check() {
        Err(e) => Err(e),
        Ok(()) => {
            state
                .db
                .write(move |conn| {
                    let scope = caller.scope(conn)?;
                    let env = staff::engine_env(&scope, &app.cipher, &app.config, now_micros());
                    recognitions::take(conn, &caller, &env, &app.config, &application, &step)
                })
                .await
        }
    };
    step_answer(
        &state,
        &console,
        &person,
        taken.map(|_| form.action.as_str()),
    )
    .await
}

/// After an application's step: back to the file, saying what was done, or the file with
/// what stood in the way.
async fn step_answer(
    state: &web::Data<AppState>,
    console: &Console,
    person: &str,
    done: Result<&str, ApiError>,
) -> ConsoleResult {
    let status = match &done {
        Err(e) => e.status_code(),
        Ok(_) => actix_web::http::StatusCode::OK,
    };
    let refusal = match done {
        Ok(action) => {
            // A recognition step lands at the applications; a referral at the top, where
            // its notice is.
            let anchor = if action == "referral" {
                ""
            } else if action.starts_with("subsidy_") {
                "#subsidies"
            } else {
                "#applications"
            };
            return Ok(
                console.see_other(&format!("/console/persons/{person}?done={action}{anchor}"))
            );
        }
        Err(e) => page::refusal(
            e,
            "材料齐全后再办理；如原件已在窗口核验，可填写核验说明后办理。",
        )?,
    };
    let (file, named) = load(state, console, person.to_string()).await?;
    let offset = state.config.utc_offset_minutes;
    let mut res = console.html(case_file_page(
        console,
        &file,
        &named,
        Some(refusal),
        offset,
    ));
    // The page says why; the status says what kind of refusal it was, as the API does
    // (403 for a step the role may not take, 409 for the guide's rules, 400/422 for input).
    *res.status_mut() = status;
    Ok(res)
}

#[derive(Deserialize)]
struct ExitForm {
    reason: ExitReason,
    exit_on: String,
    notes: Option<String>,
}

/// `POST /console/persons/{id}/exit`: the API's exit (its rules checked, follow-ups
/// scheduled for a placement).
pub async fn exit(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: ExitForm = console.form(&body)?;
    let person = id.into_inner();
    let caller = console.caller.clone();
    let app = state.clone();
    let target = person.clone();
    let made = state
        .db
        .write(move |conn| {
            let mut fields = serde_json::Map::new();
            fields.insert("person_id".into(), Value::String(target));
            fields.insert("reason".into(), Value::String(form.reason.as_str().into()));
            fields.insert("exit_on".into(), Value::String(form.exit_on));
            if let Some(notes) = form.notes.filter(|n| !n.trim().is_empty()) {
                fields.insert("notes".into(), Value::String(notes));
            }
            let write = RecordWrite {
                base_version: None,
                fields,
                set_ops: Default::default(),
            };
            create_in(conn, &app, &caller, Entity::Exit, write)
        })
        .await;
    step_answer(&state, &console, &person, made.map(|_| "exit")).await
}

#[derive(Deserialize)]
struct ReferralForm {
    vacancy_id: String,
}

/// `POST /console/persons/{id}/referrals`: recommends a matched vacancy at the window,
/// through the API's own function (`routes::matches::recommend_in`).
pub async fn refer(
    state: web::Data<AppState>,
    console: Console,
    id: web::Path<String>,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: ReferralForm = console.form(&body)?;
    let person = id.into_inner();
    let caller = console.caller.clone();
    let app = state.clone();
    let target = person.clone();
    let made = state
        .db
        .write(move |conn| {
            let req = crate::routes::matches::Recommend {
                vacancy_id: form.vacancy_id,
                channel: Some("window".into()),
                notes: None,
            };
            crate::routes::matches::recommend_in(conn, &app, &caller, &target, req)
        })
        .await;
    step_answer(&state, &console, &person, made.map(|_| "referral")).await
}

#[derive(Deserialize, Default)]
pub struct HouseholdSearch {
    address: Option<String>,
    zero: Option<String>,
    cursor: Option<String>,
}

/// `GET /console/households`: the households of the scope, by address, each leading to
/// its members.
pub async fn households(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<HouseholdSearch>,
) -> ConsoleResult {
    let s = query.into_inner();
    let q = crate::routes::households::ListQuery {
        address: s.address.clone().filter(|a| !a.trim().is_empty()),
        zero_employment_open: s.zero.as_deref().map(|z| z == "1").filter(|z| *z),
        cursor: s.cursor.clone().filter(|c| !c.is_empty()),
        limit: Some(50),
        ..Default::default()
    };
    let caller = console.caller.clone();
    let (page, communities) = state
        .db
        .run(move |conn| {
            let page = crate::routes::households::list_of(conn, &caller, q)?;
            let mut names = Names::default();
            let communities = page
                .items
                .iter()
                .map(|h| names.node(conn, &h.community_id))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((page, communities))
        })
        .await?;
    let offset = state.config.utc_offset_minutes;
    let next = page.next_cursor.as_ref().map(|c| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(a) = s.address.as_deref().filter(|a| !a.is_empty()) {
            q.append_pair("address", a);
        }
        if s.zero.as_deref() == Some("1") {
            q.append_pair("zero", "1");
        }
        q.append_pair("cursor", c);
        format!("/console/households?{}", q.finish())
    });
    let body = html! {
        nav.filters aria-label="人员或家庭" {
            a href="/console/persons" { "人员" }
            a href="/console/households" aria-current="page" { "家庭" }
        }
        form.search method="get" action="/console/households" role="search" {
            label { "住址" input name="address" value=[s.address.as_deref()] maxlength="200" placeholder="输入住址中的几个字"; }
            label.check { input type="checkbox" name="zero" value="1" checked[s.zero.as_deref() == Some("1")]; "只看未清零的零就业家庭" }
            button.primary type="submit" { "查询" }
        }
        @if page.items.is_empty() { p.empty { "没有符合条件的家庭。" } }
        @else {
            table.list {
                thead { tr { th { "住址" } th { "社区" } th { "零就业" } th { "" } } }
                tbody {
                    @for (h, community) in page.items.iter().zip(&communities) {
                        tr {
                            td { (h.address) }
                            td { (community) }
                            td { @if h.zero_employment {
                                @if let Some(c) = &h.zero_employment_cleared_on { "已于 " (zh::date_text(c, offset)) " 清零" }
                                @else { span.state data-state="rejected" { "未清零" } }
                            } }
                            td { a href={ "/console/persons?household=" (h.id) } { "家庭成员 →" } }
                        }
                    }
                }
            }
            @if let Some(next) = &next { p { a href=(next) { "下一页 →" } } }
        }
    };
    Ok(console.html(page::shell(&console, Nav::Persons, "家庭", body)))
}
