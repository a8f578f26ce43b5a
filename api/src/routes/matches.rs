//! Matching people and jobs (人岗匹配): the vacancies that suit a person, the persons a
//! vacancy suits, and a recommendation made from a match in one call. The scoring is
//! `liuqing_schema::domain::matching`'s; these routes read inside the caller's scope and
//! explain every result.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use liuqing_schema::casefile;
use liuqing_schema::domain::matching::{self, Ranked, ReasonView, MAX_MATCHES};
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::Entity;
use liuqing_schema::matches::{self, VacancyCache};
use liuqing_schema::time::now_micros;
use liuqing_schema::DbConn;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};
use validator::Validate;

use super::views::{self, RecordView};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Query};
use crate::staff::{self, record_in_scope, Edit};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchQuery {
    /// How many to show, best first (1–100, default 20).
    pub limit: Option<usize>,
}

impl MatchQuery {
    fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(20),
            Some(n @ 1..=MAX_MATCHES) => Ok(n),
            Some(_) => Err(ApiError::validation(
                "limit",
                format!("must be between 1 and {MAX_MATCHES}"),
            )),
        }
    }
}

/// One vacancy for a person.
#[derive(Serialize)]
pub(crate) struct VacancyMatch {
    pub vacancy_id: String,
    pub employer_id: String,
    pub title: String,
    pub job_type: String,
    pub places_left: i64,
    pub score: u32,
    pub reasons: Vec<ReasonView>,
}

#[derive(Serialize)]
pub(crate) struct VacancyMatches {
    pub person_id: String,
    pub as_of: NaiveDate,
    /// Open vacancies of the caller's streets looked at.
    pub considered: usize,
    pub matches: Vec<VacancyMatch>,
}

/// One person for a vacancy.
#[derive(Serialize)]
pub(crate) struct PersonMatch {
    pub person_id: String,
    pub name: String,
    pub community_id: String,
    pub score: u32,
    pub reasons: Vec<ReasonView>,
}

#[derive(Serialize)]
pub(crate) struct PersonMatches {
    pub vacancy_id: String,
    pub as_of: NaiveDate,
    /// Job seekers of the caller's communities looked at.
    pub considered: usize,
    pub matches: Vec<PersonMatch>,
}

fn reasons(ranked: &Ranked) -> Vec<ReasonView> {
    ranked.factors.iter().map(ReasonView::from).collect()
}

/// `GET /v1/persons/{id}/matches`: the open, approved vacancies of the caller's streets
/// that suit the person, best first, each with its reasons.
pub async fn for_person(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Query(q): Query<MatchQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let cache = Arc::clone(&state.vacancies);
    read(state, q, move |conn, today, limit| {
        vacancies_for(conn, &cache, &caller, &id, today, limit)
    })
    .await
}

/// A matching read on the station's day, limited by `?limit=`: 200 with what it found.
async fn read<T: Serialize + Send + 'static>(
    state: web::Data<AppState>,
    q: MatchQuery,
    find: impl FnOnce(&mut DbConn, NaiveDate, usize) -> Result<T, ApiError> + Send + 'static,
) -> ApiResult<HttpResponse> {
    let today = state.config.today();
    let limit = q.limit()?;
    let found = state.db.run(move |conn| find(conn, today, limit)).await?;
    Ok(HttpResponse::Ok().json(found))
}

pub(crate) fn vacancies_for(
    conn: &mut DbConn,
    cache: &VacancyCache,
    caller: &Caller,
    person_id: &str,
    today: NaiveDate,
    limit: usize,
) -> Result<VacancyMatches, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let scope = caller.scope(conn)?;
    let row = casefile::person_in_scope(conn, &scope, person_id)?
        .ok_or_else(|| ApiError::not_found("person"))?;
    let vacancies = matches::vacancies(conn, &scope, cache)?;
    let openings = vacancies.open_on(today);
    let ranked = match matches::seeker_of(conn, &row, today)? {
        Some(seeker) => matching::vacancies_for(&seeker, &openings, today, limit),
        // Exited or in work: nothing to look for.
        None => Vec::new(),
    };
    Ok(VacancyMatches {
        person_id: row.id,
        as_of: today,
        considered: openings.len(),
        matches: ranked
            .iter()
            .map(|r| {
                let job = &openings[r.index];
                VacancyMatch {
                    vacancy_id: job.vacancy_id.clone(),
                    employer_id: job.employer_id.clone(),
                    title: job.title.clone(),
                    job_type: job.job_type.clone(),
                    places_left: job.count - job.filled,
                    score: r.score,
                    reasons: reasons(r),
                }
            })
            .collect(),
    })
}

/// `GET /v1/vacancies/{id}/matches`: the job seekers of the caller's communities the
/// vacancy suits, best first; none while the vacancy is not open.
pub async fn for_vacancy(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Query(q): Query<MatchQuery>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    read(state, q, move |conn, today, limit| {
        persons_for(conn, &caller, &id, today, limit)
    })
    .await
}

pub(crate) fn persons_for(
    conn: &mut DbConn,
    caller: &Caller,
    vacancy_id: &str,
    today: NaiveDate,
    limit: usize,
) -> Result<PersonMatches, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let scope = caller.scope(conn)?;
    let record = record_in_scope(conn, &scope, Entity::Vacancy, vacancy_id)?;
    let job = matches::opening_of(&record)?;
    let seekers = matches::seekers_in_scope(conn, &scope, today, &matches::SEEKING)?;
    let ranked = matching::seekers_for(&job, &seekers, today, limit);
    let mut shown = Vec::with_capacity(ranked.len());
    for r in &ranked {
        let seeker = &seekers[r.index];
        let Some(row) = casefile::person_row(conn, &seeker.person_id)? else {
            continue;
        };
        shown.push(PersonMatch {
            person_id: row.id,
            name: row.name,
            community_id: row.community_id,
            score: r.score,
            reasons: reasons(r),
        });
    }
    Ok(PersonMatches {
        vacancy_id: record.id,
        as_of: today,
        considered: seekers.len(),
        matches: shown,
    })
}

/// A recommendation made from a match (岗位推荐).
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Recommend {
    pub vacancy_id: String,
    /// `visit`, `phone`, `message` or `window` (default `window`: at the station).
    pub channel: Option<String>,
    #[validate(length(max = 2000))]
    pub notes: Option<String>,
}

/// `POST /v1/persons/{id}/referrals`: recommends a vacancy to a person, as a referral
/// record written through the engine. Refused (409) when matching excludes the vacancy
/// for the person, naming why: closed, filled, declined before, outside its age range ….
pub async fn recommend(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Body(req): Body<Recommend>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let id = id.into_inner();
    let created = state
        .db
        .write(move |conn| recommend_in(conn, &app, &caller, &id, req))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

pub(crate) fn recommend_in(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    person_id: &str,
    req: Recommend,
) -> Result<RecordView, ApiError> {
    caller.require(Permission::EditCaseFiles)?;
    let today = app.config.today();
    let scope = caller.scope(conn)?;
    let row = casefile::person_in_scope(conn, &scope, person_id)?
        .ok_or_else(|| ApiError::not_found("person"))?;
    let record =
        record_in_scope(conn, &scope, Entity::Vacancy, &req.vacancy_id).map_err(|e| match e {
            ApiError::NotFound(_) => {
                ApiError::validation("vacancy_id", "no such vacancy in your scope")
            }
            other => other,
        })?;
    let job = matches::opening_of(&record)?;
    let seeker = matches::seeker_of(conn, &row, today)?.ok_or(ApiError::Conflict(
        "not_seeking_work",
        "the person has exited or is in work".into(),
    ))?;
    if let Err(excluded) = matching::score(&seeker, &job, today) {
        return Err(ApiError::Conflict(
            "match_excluded",
            format!("the vacancy is not offered to this person: {excluded}"),
        ));
    }
    let mut fields = Map::new();
    fields.insert("person_id".into(), json!(row.id));
    fields.insert("vacancy_id".into(), json!(record.id));
    fields.insert(
        "referred_on".into(),
        json!(today.format("%Y-%m-%d").to_string()),
    );
    fields.insert(
        "channel".into(),
        json!(req.channel.unwrap_or_else(|| "window".into())),
    );
    if let Some(notes) = req.notes {
        fields.insert("notes".into(), json!(notes));
    }
    let env = staff::engine_env(&scope, &app.cipher, &app.config, now_micros());
    let edit = Edit::create(Entity::Referral, fields);
    let id = edit.id.to_string();
    staff::apply(conn, caller, &env, edit)?;
    let created = record_in_scope(conn, &scope, Entity::Referral, &id)?;
    views::record(&created, caller.birth_dates())
}
