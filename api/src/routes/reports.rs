//! Lists staff work from: the publicity list (公示名单), possible duplicate persons, exit
//! candidates (no contact for six months or more), and the month's zero-employment
//! households (当月动态清零).

use actix_web::{web, HttpResponse};
use liuqing_schema::casefile;
use liuqing_schema::casefile::DuplicateReason;
use liuqing_schema::domain::Permission;
use liuqing_schema::domain::{age_on, Category};
use liuqing_schema::entities::get_path;
use liuqing_schema::org;
use liuqing_schema::users;
use liuqing_sync::narrowing::BirthDates;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::views::{self, HouseholdItem, Items, PersonItem};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::state::AppState;
use liuqing_schema::DbConn;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicityQuery {
    /// A station (or any node) in the caller's scope; default: the whole scope.
    pub org_node_id: Option<String>,
}

/// One line of the publicity list (`PublicityList` in openapi.yaml).
#[derive(Serialize)]
pub(crate) struct PublicityEntry {
    pub name: String,
    pub sex: Option<String>,
    pub age: Option<u32>,
    pub community: Option<String>,
    pub categories: Vec<NamedCategory>,
    pub publicity_started_on: Option<String>,
    pub publicity_ends_on: Option<String>,
    pub handler: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct NamedCategory {
    pub category: Category,
    pub name: &'static str,
}

#[derive(Serialize)]
pub(crate) struct DuplicateGroup {
    pub reason: DuplicateReason,
    pub persons: Vec<PersonItem>,
}

#[derive(Serialize)]
pub(crate) struct ZeroEmploymentItem {
    #[serde(flatten)]
    pub household: HouseholdItem,
    pub standing: &'static str,
    pub clearance_deadline: String,
}

#[derive(Serialize)]
pub(crate) struct ZeroEmploymentMonth {
    pub month: String,
    pub open: usize,
    pub items: Vec<ZeroEmploymentItem>,
}

/// The applications in publicity: name, sex, age, categories, period and handler, and
/// nothing else, since the list is posted publicly.
pub async fn publicity(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<PublicityQuery>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let items = state
        .db
        .run(move |conn| publicity_of(conn, &app, &caller, &q))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// The publicity list of the caller's scope, or of a node in it (the API's and the
/// console's printable one).
pub(crate) fn publicity_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    q: &PublicityQuery,
) -> Result<Vec<PublicityEntry>, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let today = app.config.today();
    let mut scope = caller.scope(conn)?;
    if let Some(node_id) = &q.org_node_id {
        let node = org::find_in_scope(conn, &scope, node_id)?
            .ok_or_else(|| ApiError::not_found("org node"))?;
        scope = liuqing_schema::scope::Scope::Subtrees(vec![node.path]);
    }
    let mut items = Vec::new();
    for (rec, person) in casefile::in_publicity(conn, &scope)? {
        let doc = views::document(&rec)?;
        let categories: Vec<NamedCategory> = get_path(&doc, "claimed_categories")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str()?.parse::<Category>().ok())
                    .map(|category| NamedCategory {
                        category,
                        name: category.chinese_name(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        // The handler is whoever posted it.
        let handler_id = get_path(&doc, "history")
            .and_then(Value::as_array)
            .and_then(|h| {
                h.iter()
                    .rev()
                    .find(|e| e.get("state").and_then(Value::as_str) == Some("publicity"))
            })
            .and_then(|e| e.get("by")?.as_str().map(str::to_string));
        let handler = match handler_id {
            Some(id) => users::find(conn, &id)?.map(|u| u.display_name),
            None => None,
        };
        let community = org::find(conn, &person.community_id)?.map(|n| n.name);
        let date = |path| {
            get_path(&doc, path)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        items.push(PublicityEntry {
            age: person.birth().map(|b| age_on(b, today)),
            name: person.name,
            sex: person.sex,
            community,
            categories,
            publicity_started_on: date("publicity_started_on"),
            publicity_ends_on: date("publicity_ends_on"),
            handler,
        });
    }
    Ok(items)
}

/// Persons who may be one person (same phone, or same name and birth date), for review.
pub async fn duplicates(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let items = state
        .db
        .run(move |conn| duplicates_of(conn, &app, &caller))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// The possible duplicates of the caller's scope (the API's list and the console's).
pub(crate) fn duplicates_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
) -> Result<Vec<DuplicateGroup>, ApiError> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::ReadCaseFiles)?;
    let today = app.config.today();
    let scope = caller.scope(conn)?;
    let mut groups = casefile::possible_duplicates(conn, &scope)?;
    if birth_dates == BirthDates::YearOnly {
        // A group of one name and birth date tells the date of everyone in it: a
        // caller who may see only the year could learn any date by enrolling
        // look-alikes. They are left to the roles that may see it.
        groups.retain(|g| g.reason != DuplicateReason::SameNameAndBirthDate);
    }
    groups
        .iter()
        .map(|g| {
            Ok(DuplicateGroup {
                reason: g.reason,
                persons: g
                    .persons
                    .iter()
                    .map(|p| views::person_item(p, today, birth_dates))
                    .collect::<Result<_, ApiError>>()?,
            })
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidatesQuery {
    pub limit: Option<usize>,
}

/// A person staff may exit, and why (the API's item and the console's row).
#[derive(Serialize)]
pub struct ExitCandidateItem {
    #[serde(flatten)]
    pub person: PersonItem,
    pub reason: liuqing_schema::domain::ExitReason,
    /// Out of contact since, or in work since.
    pub since: String,
    pub placement_id: Option<String>,
}

/// Recognised persons staff may exit: out of contact for six months or more, or in work by
/// a placement, the longest-standing first. Staff decide; nobody is exited automatically.
pub async fn exit_candidates(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<CandidatesQuery>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let items = state
        .db
        .run(move |conn| exit_candidates_of(conn, &app, &caller, &q))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// The exit candidates of the caller's scope (the API's list and the console's).
pub(crate) fn exit_candidates_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    q: &CandidatesQuery,
) -> Result<Vec<ExitCandidateItem>, ApiError> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::ReadCaseFiles)?;
    let limit = crate::paging::limit(q.limit)?;
    let today = app.config.today();
    let scope = caller.scope(conn)?;
    casefile::exit_candidates(conn, &scope, today, limit)?
        .into_iter()
        .map(|c| {
            Ok(ExitCandidateItem {
                person: views::person_item(&c.person, today, birth_dates)?,
                reason: c.reason,
                since: c.since.to_string(),
                placement_id: c.placement_id,
            })
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// `YYYY-MM`; default: this month.
    pub month: Option<String>,
}

/// The zero-employment households open at any time in a month, each with where it stands
/// against the rule that a household found in a month is cleared within that month.
pub async fn zero_employment(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<MonthQuery>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let month = state
        .db
        .run(move |conn| zero_employment_of(conn, &app, &caller, &q))
        .await?;
    Ok(HttpResponse::Ok().json(month))
}

/// The month's zero-employment households of the caller's scope (the API's list and the
/// console's).
pub(crate) fn zero_employment_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    q: &MonthQuery,
) -> Result<ZeroEmploymentMonth, ApiError> {
    use chrono::Datelike;
    use liuqing_schema::domain::zero_employment as rule;
    caller.require(Permission::ReadCaseFiles)?;
    let today = app.config.today();
    let (year, month) = match q.month.as_deref() {
        None => (today.year(), today.month()),
        Some(text) => chrono::NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
            .map(|d| (d.year(), d.month()))
            .map_err(|_| ApiError::validation("month", "must be a month, YYYY-MM"))?,
    };
    let scope = caller.scope(conn)?;
    let rows = casefile::zero_employment_households(conn, &scope)?;
    let month_end = liuqing_schema::domain::dates::month_bounds(year, month)
        .map(|(_, last)| last)
        .unwrap_or(today);
    // Judged at the month's end, or today for the running month.
    let at = month_end.min(today);
    let mut open = 0;
    let mut items = Vec::new();
    for row in &rows {
        let Some(found) = row.found_on() else {
            continue;
        };
        let cleared = row.cleared_on();
        if !rule::open_in_month(found, cleared, year, month) {
            continue;
        }
        let standing = match rule::cleared_within_month(found, cleared) {
            Some(true) if cleared.is_some_and(|c| c <= at) => "cleared_in_time",
            Some(false) if cleared.is_some_and(|c| c <= at) => "cleared_late",
            // Not cleared by then: overdue once its own month is over.
            _ if rule::missed_clearance(found, None, today) => "open_overdue",
            _ => "open",
        };
        if standing.starts_with("open") {
            open += 1;
        }
        items.push(ZeroEmploymentItem {
            household: views::household_item(row),
            standing,
            clearance_deadline: rule::clearance_deadline(found).to_string(),
        });
    }
    Ok(ZeroEmploymentMonth {
        month: format!("{year:04}-{month:02}"),
        open,
        items,
    })
}

/// An application whose initial review (初审) is past its deadline.
#[derive(Serialize)]
struct OverdueReview {
    application_id: String,
    person_id: String,
    name: String,
    community_id: String,
    state: String,
    received_on: String,
    review_due_on: String,
    days_overdue: i64,
}

/// Applications still received or in initial review after `initial_review_working_days`
/// working days from 受理, most overdue first.
pub async fn overdue_reviews(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    use liuqing_schema::domain::recognition::initial_review_due;
    caller.require(Permission::ReadCaseFiles)?;
    let today = state.config.today();
    let (days, calendar) = (
        state.config.initial_review_working_days,
        state.config.calendar(),
    );
    let items = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            let open =
                casefile::applications_in(conn, &scope, &["received", "preliminary_review"])?;
            let mut items = Vec::new();
            for (rec, person) in open {
                let doc = views::document(&rec)?;
                let text = |path| get_path(&doc, path).and_then(Value::as_str);
                let Some(received) = text("received_on")
                    .and_then(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
                else {
                    continue;
                };
                let due = initial_review_due(received, days, &calendar);
                if today <= due {
                    continue;
                }
                items.push(OverdueReview {
                    application_id: rec.id.clone(),
                    person_id: person.id,
                    name: person.name,
                    community_id: person.community_id,
                    state: text("state").unwrap_or("received").to_string(),
                    received_on: received.to_string(),
                    review_due_on: due.to_string(),
                    days_overdue: (today - due).num_days(),
                });
            }
            items.sort_by_key(|i: &OverdueReview| std::cmp::Reverse(i.days_overdue));
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Open tasks past their due day in the caller's scope (follow-ups after a placement,
/// visits asked for, photos to retake), the longest overdue first.
pub async fn overdue_tasks(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let items = state
        .db
        .run(move |conn| overdue_tasks_of(conn, &app, &caller))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// The overdue tasks of the caller's scope, each with its due day (the API's list and the
/// console's).
pub(crate) fn overdue_tasks_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
) -> Result<Vec<views::RecordView>, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let today = app.config.today();
    let birth_dates = caller.birth_dates();
    let scope = caller.scope(conn)?;
    let communities = liuqing_schema::records::communities_in_scope(conn, &scope)?;
    let tasks = liuqing_schema::records::live_of_entity(
        conn,
        liuqing_schema::entities::Entity::Task,
        &communities,
    )?;
    let mut overdue = Vec::new();
    for task in &tasks {
        let doc = views::document(task)?;
        let text = |path| get_path(&doc, path).and_then(Value::as_str);
        let due =
            text("due_on").and_then(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok());
        if let Some(due) = due.filter(|d| *d < today && text("state") == Some("open")) {
            overdue.push((due, views::record(task, birth_dates)?));
        }
    }
    overdue.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    Ok(overdue.into_iter().map(|(_, r)| r).collect())
}
