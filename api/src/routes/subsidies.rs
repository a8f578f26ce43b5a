//! `POST /v1/subsidies/{id}/actions`: a step of a subsidy application's approval chain,
//! decided by `crate::subsidies`. An illegal step is a 409 naming the state and the steps
//! open; a caller not of the step's level a 403; a station step whose rules are unmet a
//! 409 listing everything missing (the one-time notice).

use actix_web::{web, HttpResponse};
use liuqing_schema::domain::months::Month;
use liuqing_schema::domain::subsidies::{StopCondition, SubsidyAction};
use liuqing_schema::domain::Permission;
use liuqing_schema::time::now_micros;
use serde::Deserialize;
use validator::Validate;

use super::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
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
    let stop_from = match req.stop_from.as_deref() {
        None => None,
        Some(text) => Some(
            Month::parse(text)
                .ok_or_else(|| ApiError::validation("stop_from", "must be a month, YYYY-MM"))?,
        ),
    };
    let step = Step {
        action: req.action,
        reason: req.reason,
        stop_from,
        stop_condition: req.stop_condition,
    };
    step.check()?;
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
