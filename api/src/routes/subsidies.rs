//! `GET /v1/subsidies`: the subsidy applications of the caller's scope, of both kinds
//! (those awaiting a level's step, those with a stop recommended). `POST /v1/subsidies/{id}/actions`: a
//! step of an application's approval chain, decided by `crate::subsidies`. An illegal step is a 409 naming the state and the steps
//! open; a caller not of the step's level a 403; a station step whose rules are unmet a
//! 409 listing everything missing (the one-time notice).

use actix_web::{web, HttpResponse};
use liuqing_schema::domain::subsidies::{StopCondition, SubsidyAction, SubsidyKind, SubsidyState};
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::get_path;
use liuqing_schema::time::now_micros;
use serde::Deserialize;
use validator::Validate;

use super::views;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Body, Query};
use crate::staff;
use crate::state::AppState;
use crate::subsidies::{self, Step};

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct SubsidyActionBody {
    pub action: SubsidyAction,
    /// Why: required to return or stop, kept in the history for every step.
    #[validate(length(max = 4000, message = "must be at most 4000 characters"))]
    pub reason: Option<String>,
    /// To stop: the first month not paid, `YYYY-MM`.
    pub stop_from: Option<String>,
    /// To stop: the condition met.
    pub stop_condition: Option<StopCondition>,
    /// To stop a public-welfare job subsidy: the person whose subsidy stops.
    #[validate(length(max = 64, message = "must be at most 64 characters"))]
    pub person_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only applications for this subsidy.
    pub kind: Option<SubsidyKind>,
    /// Only applications in this state.
    pub state: Option<SubsidyState>,
    /// Only those with a stop recommended and not yet decided (true), or without (false).
    pub stop_recommended: Option<bool>,
    pub limit: Option<usize>,
}

/// The applications of the caller's scope, oldest first.
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::ReadCaseFiles)?;
    let limit = crate::paging::limit(q.limit)?;
    let items = state
        .db
        .run(move |conn| {
            let scope = caller.scope(conn)?;
            let communities = liuqing_schema::records::communities_in_scope(conn, &scope)?;
            let mut found = Vec::new();
            for entity in subsidies::APPLICATIONS {
                if q.kind.is_none_or(|k| k == subsidies::kind_of(entity)) {
                    found.extend(liuqing_schema::records::live_of_entity(
                        conn,
                        entity,
                        &communities,
                    )?);
                }
            }
            found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            let mut items = Vec::new();
            for rec in &found {
                let doc = rec.document()?;
                let text = |p| get_path(&doc, p).and_then(serde_json::Value::as_str);
                let at = subsidies::state_of(&doc);
                let recommended = text("recommended_stop").is_some() && at == SubsidyState::Funded;
                if q.state.is_some_and(|s| s != at)
                    || q.stop_recommended.is_some_and(|r| r != recommended)
                {
                    continue;
                }
                items.push(views::record(rec, birth_dates)?);
                if items.len() == limit {
                    break;
                }
            }
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(views::Items { items }))
}

/// Takes a step of a subsidy application.
pub async fn act(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Body(req): Body<SubsidyActionBody>,
) -> ApiResult<HttpResponse> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::EditCaseFiles)?;
    let step = Step::from_input(
        req.action,
        req.reason,
        req.stop_from.as_deref(),
        req.stop_condition,
        req.person_id,
    )?;
    let id = id.into_inner();
    let cipher = state.cipher.clone();
    let config = state.config.clone();
    let updated = state
        .db
        .write(move |conn| {
            let scope = caller.scope(conn)?;
            let env = staff::engine_env(&scope, &cipher, &config, now_micros());
            let rec = subsidies::take(conn, &caller, &env, &config, &id, &step)?;
            views::record(&rec, birth_dates)
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}
