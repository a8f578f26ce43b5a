//! Taking a step of a recognition application (受理→初审→公示→认定, or reject): the one
//! function that decides it, for the route and for the demo alike. The state machine and
//! its roles say whether the step exists; the guide's rules (`domain::gates`) whether the
//! application has what it needs; an override passes those with a reason, logged; and the
//! new state, its dates and history are written through the sync engine in the caller's
//! transaction.

use chrono::NaiveDate;
use liuqing_schema::audit;
use liuqing_schema::casefile;
use liuqing_schema::domain::recognition::publicity_last_day;
use liuqing_schema::domain::{
    gates, transition, Category, Permission, RecognitionAction, RecognitionState, TransitionError,
};
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records::Record;
use liuqing_schema::DbConn;
use liuqing_sync::engine::Env;
use serde_json::{json, Map, Value};

use crate::auth::Caller;
use crate::config::Config;
use crate::error::ApiError;
use crate::staff::{self, record_in_scope, Edit};

/// A step as asked for.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: RecognitionAction,
    /// Why: required to reject, kept in the history for every step.
    pub reason: Option<String>,
    /// Takes the step although rules are unmet: why.
    pub override_reason: Option<String>,
}

impl Step {
    /// What can be checked before the database is read: a rejection needs a reason.
    pub fn check(&self) -> Result<(), ApiError> {
        if self.action == RecognitionAction::Reject
            && self.reason.as_deref().is_none_or(|r| r.trim().is_empty())
        {
            return Err(ApiError::validation("reason", "is required to reject"));
        }
        Ok(())
    }
}

fn date_of(doc: &Value, path: &str) -> Option<NaiveDate> {
    get_path(doc, path)
        .and_then(Value::as_str)
        .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

/// Takes `step` on the application `id` as `caller`, on `env`'s day; returns the
/// application as it is then.
pub fn take(
    conn: &mut DbConn,
    caller: &Caller,
    env: &Env<'_>,
    config: &Config,
    id: &str,
    step: &Step,
) -> Result<Record, ApiError> {
    let rec = record_in_scope(conn, env.scope, Entity::Recognition, id)?;
    let doc = rec.document()?;
    let from: RecognitionState = get_path(&doc, "state")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(RecognitionState::Received);
    let today = env.today;
    // Recognition is allowed from the day after the last day of publicity.
    let allowed_from = date_of(&doc, "publicity_ends_on").and_then(|d| d.succ_opt());
    let to =
        transition(from, step.action, caller.role, today, allowed_from).map_err(|e| match e {
            // The message names the current state.
            TransitionError::Illegal { .. } => {
                ApiError::Conflict("illegal_transition", e.to_string())
            }
            TransitionError::Forbidden { .. } => {
                ApiError::Forbidden("forbidden_role", e.to_string())
            }
            TransitionError::PublicityNotOver { .. } | TransitionError::PublicityEndUnknown => {
                ApiError::Conflict("publicity_not_over", e.to_string())
            }
        })?;
    let claimed: Vec<Category> = get_path(&doc, "claimed_categories")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|c| c.as_str()?.parse().ok()).collect())
        .unwrap_or_default();
    let person = match rec.parent_id.as_deref() {
        Some(p) => record_in_scope(conn, env.scope, Entity::Person, p)?,
        None => return Err(ApiError::not_found("the application's person")),
    };
    let children = casefile::children(conn, &person.id)?;
    let mut facts =
        casefile::eligibility_facts(conn, &person, &children, &config.shared_evidence())?;
    facts.unresolved_objections = casefile::unresolved_objections(&children, id)?;
    facts.applied_on = date_of(&doc, "received_on");
    if let Some(household) = person.parent_id.as_deref() {
        facts.open_site_checks = casefile::open_site_checks(conn, household, id)?;
    }
    let unmet = gates::unmet(step.action, &claimed, &facts, today);
    // An objection is decided, never waved through: no override passes it.
    let objected = unmet.iter().any(|u| u.rule == "objection");
    let overridden = match (&step.override_reason, unmet.is_empty()) {
        (_, true) => None,
        (None, false) | (Some(_), false) if objected => {
            return Err(ApiError::RulesUnmet {
                action: step.action.to_string(),
                unmet,
            })
        }
        (None, false) => {
            return Err(ApiError::RulesUnmet {
                action: step.action.to_string(),
                unmet,
            })
        }
        (Some(reason), false) => {
            caller.require(Permission::OverrideGates)?;
            audit::record(
                conn,
                caller.actor(),
                "gate_override",
                "recognition",
                id,
                Some(reason),
                Some(json!({ "action": step.action, "unmet": unmet })),
            )?;
            Some(json!({ "reason": reason, "unmet": unmet }))
        }
    };
    let on = today.format("%Y-%m-%d").to_string();
    let mut history = get_path(&doc, "history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    history.push(json!({
        "state": to,
        "action": step.action,
        "by": caller.user_id,
        "on": on,
        "reason": step.reason,
        "override": overridden,
    }));
    let mut fields = Map::new();
    fields.insert("state".into(), json!(to));
    fields.insert("history".into(), Value::Array(history));
    match to {
        RecognitionState::Publicity => {
            let last = publicity_last_day(today, config.publicity_working_days, &config.calendar());
            fields.insert("publicity_started_on".into(), json!(on));
            fields.insert(
                "publicity_ends_on".into(),
                json!(last.format("%Y-%m-%d").to_string()),
            );
        }
        RecognitionState::Recognised | RecognitionState::Rejected => {
            fields.insert("decided_on".into(), json!(on));
            if let Some(reason) = &step.reason {
                fields.insert("reason".into(), json!(reason));
            }
        }
        RecognitionState::Received | RecognitionState::PreliminaryReview => {}
    }
    let mut edit = Edit::update(&rec, fields)?;
    edit.lifecycle = true;
    staff::apply(conn, caller, env, edit)?;
    record_in_scope(conn, env.scope, Entity::Recognition, id)
}
