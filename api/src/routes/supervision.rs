//! Supervision (督导): visit coverage by street, station, community or coordinator, the
//! households due a visit, and the visits that look unreal. The figures are counted by
//! `liuqing_schema::coverage` within the caller's scope; a node outside it is 404.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use liuqing_schema::casefile::After;
use liuqing_schema::coverage::{self, Area, Facts, GroupBy, GroupKey, Period};
use liuqing_schema::domain::visit_flags::Flagged;
use liuqing_schema::domain::Permission;
use liuqing_schema::org;
use liuqing_schema::time::now_micros;
use liuqing_schema::DbConn;
use serde::{Deserialize, Serialize};

use super::views::{self, Page};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::paging;
use crate::state::AppState;

/// The longest period one report counts: a year, and a day for a leap year.
const MAX_PERIOD_DAYS: i64 = 366;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageQuery {
    /// An org node in the caller's scope; default: the whole scope.
    pub node: Option<String>,
    /// Station-local days, inclusive; default: the current month.
    pub from: Option<String>,
    pub to: Option<String>,
    pub group_by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagsQuery {
    pub node: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DueQuery {
    pub node: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// The settings a report was counted with, so its figures can be read right.
#[derive(Serialize)]
pub(crate) struct CountedWith {
    pub visit_interval_days: u32,
    pub six_clears_stale_days: u32,
    pub visit_gps_far_m: f64,
    pub visit_min_minutes: i64,
}

#[derive(Serialize)]
pub(crate) struct CoverageReport {
    /// When the figures were counted: a visit synced later, made in the period, changes them.
    pub as_of: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub node: Option<GroupKey>,
    pub group_by: GroupBy,
    pub settings: CountedWith,
    pub rows: Vec<coverage::CoverageRow>,
    pub total: coverage::CoverageRow,
}

#[derive(Serialize)]
pub(crate) struct FlaggedVisit {
    pub visit_id: String,
    pub household_id: String,
    pub community_id: String,
    pub community_name: Option<String>,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub started_at: String,
    #[serde(flatten)]
    pub flagged: Flagged,
}

#[derive(Serialize)]
pub(crate) struct DueHousehold {
    pub household_id: String,
    pub address: String,
    pub community_id: String,
    pub community_name: Option<String>,
    /// The station-local day of the last `met` visit (absent: never reached).
    pub last_reached_on: Option<NaiveDate>,
    pub days_since: Option<i64>,
}

fn day(field: &'static str, text: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    text.map(|t| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| ApiError::validation(field, "must be a date (YYYY-MM-DD)"))
    })
    .transpose()
}

/// The period asked for (default: this month), checked.
pub(super) fn period(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
    now: i64,
) -> Result<Period, ApiError> {
    let settings = state.config.coverage_settings();
    let month = Period::month_of(&settings, state.config.day_at(now), now);
    let from = day("from", from)?.unwrap_or(month.from);
    let to = day("to", to)?.unwrap_or(if from == month.from { month.to } else { from });
    if to < from {
        return Err(ApiError::validation("to", "must not be before from"));
    }
    if (to - from).num_days() >= MAX_PERIOD_DAYS {
        return Err(ApiError::validation(
            "to",
            format!("a period is at most {MAX_PERIOD_DAYS} days"),
        ));
    }
    Ok(Period::new(&settings, from, to, now))
}

/// The communities a report counts: under `node` (in scope, else 404) or the whole scope.
pub(super) fn area(
    conn: &mut DbConn,
    caller: &Caller,
    node: Option<&str>,
) -> Result<Area, ApiError> {
    let scope = caller.scope(conn)?;
    let node = match node {
        Some(id) => Some(
            org::find_in_scope(conn, &scope, id)?.ok_or_else(|| ApiError::not_found("org node"))?,
        ),
        None => None,
    };
    let in_scope = liuqing_schema::records::communities_in_scope(conn, &scope)?;
    Ok(Area::load(conn, node, &in_scope)?)
}

/// Visit coverage for a period, grouped, with the area's total.
pub async fn coverage(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<CoverageQuery>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let report = state
        .db
        .run(move |conn| coverage_of(conn, &app, &caller, &q, now_micros()))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The coverage report `q` asks for, counted at `now` in the caller's scope (the API's and
/// the console's).
pub(crate) fn coverage_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    q: &CoverageQuery,
    now: i64,
) -> Result<CoverageReport, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let period = period(app, q.from.as_deref(), q.to.as_deref(), now)?;
    let group_by = match q.group_by.as_deref() {
        None => GroupBy::Community,
        Some(g) => g.parse().map_err(|_| {
            ApiError::validation(
                "group_by",
                "must be one of: street, station, community, coordinator",
            )
        })?,
    };
    let settings = app.config.coverage_settings();
    let area = area(conn, caller, q.node.as_deref())?;
    let facts = Facts::load(conn, &area, period, &settings, now)?;
    let counted = coverage::coverage(conn, &area, &facts, period, &settings, group_by)?;
    Ok(CoverageReport {
        as_of: views::time(now),
        from: period.from,
        to: period.to,
        node: Some(counted.total.group.clone()).filter(|_| area.node.is_some()),
        group_by,
        settings: CountedWith {
            visit_interval_days: settings.visit_interval_days,
            six_clears_stale_days: settings.six_clears_stale_days,
            visit_gps_far_m: settings.flags.far_m,
            visit_min_minutes: settings.flags.min_minutes,
        },
        rows: counted.rows,
        total: counted.total,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    pub node: Option<String>,
    /// `YYYY-MM`; default: eleven months before `to`.
    pub from: Option<String>,
    /// `YYYY-MM`; default: this month.
    pub to: Option<String>,
    /// Also a series for each street, station or community; default: the total only.
    pub group_by: Option<String>,
}

/// The most months one trend spans.
const MAX_TREND_MONTHS: u32 = 24;

/// A grouping by org node (coordinators group coverage only).
fn node_grouping(text: Option<&str>, default: GroupBy) -> Result<GroupBy, ApiError> {
    match text {
        None => Ok(default),
        Some(g) => match g.parse() {
            Ok(GroupBy::Coordinator) | Err(_) => Err(ApiError::validation(
                "group_by",
                "must be one of: street, station, community",
            )),
            Ok(g) => Ok(g),
        },
    }
}

#[derive(Serialize)]
pub(crate) struct CasesReport {
    pub as_of: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: GroupBy,
    pub rows: Vec<liuqing_schema::cases::CasesRow>,
    pub total: liuqing_schema::cases::CasesRow,
}

/// Applications, recognitions, obligations, exits and zero-employment households for a
/// period, grouped, with the area's total.
pub async fn cases(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<CoverageQuery>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let report = state
        .db
        .run(move |conn| cases_of(conn, &app, &caller, &q, now_micros()))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The cases report `q` asks for, in the caller's scope (the API's and the console's).
pub(crate) fn cases_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    q: &CoverageQuery,
    now: i64,
) -> Result<CasesReport, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let period = period(app, q.from.as_deref(), q.to.as_deref(), now)?;
    let group_by = node_grouping(q.group_by.as_deref(), GroupBy::Community)?;
    let rules = liuqing_schema::cases::Rules {
        calendar: app.config.calendar(),
        initial_review_working_days: app.config.initial_review_working_days,
        at: period.to.min(app.config.day_at(now)),
    };
    let area = area(conn, caller, q.node.as_deref())?;
    let counted = liuqing_schema::cases::cases(conn, &area, period, &rules, group_by)?;
    Ok(CasesReport {
        as_of: views::time(now),
        from: period.from,
        to: period.to,
        group_by,
        rows: counted.rows,
        total: counted.total,
    })
}

fn month(field: &'static str, text: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    text.map(|t| {
        NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d")
            .ok()
            .filter(|_| t.len() == 7)
            .ok_or_else(|| ApiError::validation(field, "must be a month (YYYY-MM)"))
    })
    .transpose()
}

#[derive(Serialize)]
pub(crate) struct TrendReport {
    pub as_of: String,
    pub from: String,
    pub to: String,
    pub group_by: Option<GroupBy>,
    pub rows: Vec<liuqing_schema::trend::Series>,
    pub total: liuqing_schema::trend::Series,
}

/// `GET /v1/reports/jobs`: job development in the caller's scope — each street's
/// employers and their coverage, its vacancies with fill rates and the referrals and
/// hires they led to, and the gap list (seekers with no suitable open vacancy).
pub async fn jobs(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let report = state
        .db
        .run(move |conn| jobs_of(conn, &app, &caller, now_micros()))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The job-development report in the caller's scope (the API's and the console's).
pub(crate) fn jobs_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    now: i64,
) -> Result<liuqing_schema::job_report::JobReport, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let scope = caller.scope(conn)?;
    let interval = i64::from(app.config.visit_interval_days) * 86_400_000_000;
    let rules = liuqing_schema::job_report::Rules {
        today: app.config.day_at(now),
        covered_since: now - interval,
        suitable_score: app.config.match_task_min_score,
    };
    Ok(liuqing_schema::job_report::job_report(
        conn,
        &scope,
        &app.vacancies,
        rules,
    )?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsidiesQuery {
    pub node: Option<String>,
    /// `YYYY-MM`; default: eleven months before `to`.
    pub from: Option<String>,
    /// `YYYY-MM`; default: this month.
    pub to: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct SubsidiesReport {
    pub as_of: String,
    pub node: Option<String>,
    pub from: String,
    pub to: String,
    pub months: Vec<crate::subsidies::report::MonthRow>,
}

/// Month by month, for each subsidy: applications received, returned and funded, the
/// amount funded, stops, persons paid.
pub async fn subsidies(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<SubsidiesQuery>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let report = state
        .db
        .run(move |conn| subsidies_of(conn, &app, &caller, &q, now_micros()))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The subsidies report `q` asks for, in the caller's scope (the API's and the console's).
pub(crate) fn subsidies_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    q: &SubsidiesQuery,
    now: i64,
) -> Result<SubsidiesReport, ApiError> {
    use liuqing_schema::domain::months::Month;
    caller.require(Permission::ReadCaseFiles)?;
    let this_month = Month::of(app.config.day_at(now));
    let to = month("to", q.to.as_deref())?.map_or(this_month, Month::of);
    let from = month("from", q.from.as_deref())?.map_or(to.plus(-11), Month::of);
    if from > to {
        return Err(ApiError::validation("to", "must not be before from"));
    }
    if from.until(to) >= MAX_TREND_MONTHS as i32 {
        return Err(ApiError::validation(
            "to",
            format!("a report spans at most {MAX_TREND_MONTHS} months"),
        ));
    }
    let area = area(conn, caller, q.node.as_deref())?;
    let months =
        crate::subsidies::report::monthly(conn, &app.config, &area.community_ids(), from, to)?;
    Ok(SubsidiesReport {
        as_of: views::time(now),
        node: area.node.as_ref().map(|n| n.id.clone()),
        from: from.to_string(),
        to: to.to_string(),
        months,
    })
}

/// Month by month: coverage, households reached, recognitions, exits, placements and
/// zero-employment households open at the month's end.
pub async fn trend(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<TrendQuery>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let report = state
        .db
        .run(move |conn| trend_of(conn, &app, &caller, &q, now_micros()))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The trend `q` asks for, in the caller's scope (the API's and the console's).
pub(crate) fn trend_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    q: &TrendQuery,
    now: i64,
) -> Result<TrendReport, ApiError> {
    use chrono::Datelike;
    caller.require(Permission::ReadCaseFiles)?;
    let today = app.config.day_at(now);
    let this_month = today.with_day(1).unwrap_or(today);
    let to = month("to", q.to.as_deref())?.unwrap_or(this_month);
    let from = month("from", q.from.as_deref())?.unwrap_or(to - chrono::Months::new(11));
    if from > to {
        return Err(ApiError::validation("to", "must not be before from"));
    }
    if from + chrono::Months::new(MAX_TREND_MONTHS) <= to {
        return Err(ApiError::validation(
            "to",
            format!("a trend spans at most {MAX_TREND_MONTHS} months"),
        ));
    }
    let group_by = match q.group_by.as_deref() {
        None => None,
        Some(g) => Some(node_grouping(Some(g), GroupBy::Community)?),
    };
    let settings = app.config.coverage_settings();
    let area = area(conn, caller, q.node.as_deref())?;
    let counted = liuqing_schema::trend::trend(conn, &area, &settings, from, to, group_by, now)?;
    Ok(TrendReport {
        as_of: views::time(now),
        from: from.format("%Y-%m").to_string(),
        to: to.format("%Y-%m").to_string(),
        group_by,
        rows: counted.rows,
        total: counted.total,
    })
}

/// The period's flagged visits, in time order, paged.
pub async fn flagged_visits(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<FlagsQuery>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let page = state
        .db
        .run(move |conn| flagged_of(conn, &app, &caller, &q, now_micros()))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A page of the period's flagged visits in the caller's scope (the API's list and the
/// console's).
pub(crate) fn flagged_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    q: &FlagsQuery,
    now: i64,
) -> Result<Page<FlaggedVisit>, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let period = period(app, q.from.as_deref(), q.to.as_deref(), now)?;
    let limit = paging::limit(q.limit)?;
    let after = paging::decode(q.cursor.as_deref())?;
    let settings = app.config.coverage_settings();
    let area = area(conn, caller, q.node.as_deref())?;
    let mut facts = Facts::load(conn, &area, period, &settings, now)?;
    let mut items = Vec::new();
    for v in &facts.visits {
        let Some(flagged) = facts.flags.remove(&v.id) else {
            continue;
        };
        items.push((
            sort_key(Some(v.started_at)),
            FlaggedVisit {
                visit_id: v.id.clone(),
                household_id: v.household_id.clone(),
                community_name: area.name_of(&v.community_id).map(str::to_string),
                community_id: v.community_id.clone(),
                user_id: v.user_id.clone(),
                device_id: v.device_id.clone(),
                started_at: views::time(v.started_at),
                flagged,
            },
        ));
    }
    Ok(page_of(items, after, limit, |f| &f.visit_id))
}

/// The households due a visit now (not reached within `visit_interval_days`), never
/// reached first, then the longest unvisited; paged.
pub async fn due(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<DueQuery>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let page = state
        .db
        .run(move |conn| due_of(conn, &app, &caller, &q, now_micros()))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A page of the households due a visit at `now` in the caller's scope (the API's list
/// and the console's).
pub(crate) fn due_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    q: &DueQuery,
    now: i64,
) -> Result<Page<DueHousehold>, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let limit = paging::limit(q.limit)?;
    let after = paging::decode(q.cursor.as_deref())?;
    let settings = app.config.coverage_settings();
    let today = app.config.day_at(now);
    let area = area(conn, caller, q.node.as_deref())?;
    let due = coverage::due_now(conn, &area.community_ids(), now, &settings)?;
    let ids: Vec<String> = due.iter().map(|d| d.0.clone()).collect();
    let mut addresses = coverage::addresses(conn, &ids)?;
    let items = due
        .into_iter()
        .map(|(household, community, last)| {
            let last_day = last.map(|at| settings.day_of(at));
            (
                sort_key(last),
                DueHousehold {
                    address: addresses.remove(&household).unwrap_or_default(),
                    household_id: household,
                    community_name: area.name_of(&community).map(str::to_string),
                    community_id: community,
                    last_reached_on: last_day,
                    days_since: last_day.map(|d| (today - d).num_days()),
                },
            )
        })
        .collect();
    Ok(page_of(items, after, limit, |d| &d.household_id))
}

/// A time as a cursor key that sorts as text: absent first, then zero-padded microseconds.
fn sort_key(at: Option<i64>) -> String {
    at.map_or_else(String::new, |t| format!("{:020}", t.max(0)))
}

/// One page of `items` (already in order of key and id) after the cursor.
fn page_of<T>(
    items: Vec<(String, T)>,
    after: Option<After>,
    limit: usize,
    id: impl Fn(&T) -> &String,
) -> Page<T> {
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(key, item)| {
            after
                .as_ref()
                .is_none_or(|a| (key, id(item)) > (&a.key, &a.id))
        })
        .collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next_cursor = more.then(|| rest.last()).flatten().map(|(key, item)| {
        paging::encode(&After {
            key: key.clone(),
            id: id(item).clone(),
        })
    });
    Page {
        items: rest.into_iter().map(|(_, item)| item).collect(),
        next_cursor,
    }
}
