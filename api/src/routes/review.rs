//! Station staff's review of evidence: a queue of evidence in scope (oldest first), and a
//! decision written as staff-owned fields through the sync engine. A rejected or retake
//! decision also creates a `retake_photo` task for the coordinator who sent the photo;
//! both reach the phone on its next pull like any change. Approved evidence feeds the
//! one-time notice of missing materials (`GET /v1/persons/{id}/notice`).

use actix_web::{web, HttpResponse};
use liuqing_schema::attachments as attachment_store;
use liuqing_schema::domain::EvidenceType;
use liuqing_schema::domain::Permission;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records::{self, Record};
use liuqing_schema::scope::Scope;
use liuqing_schema::time::{now_micros, seconds, to_datetime, Micros};
use liuqing_schema::DbConn;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use validator::Validate;

use super::casework::record_in_scope;
use super::views::Items;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use crate::staff::{self, Edit};
use crate::state::AppState;

const STATES: &[&str] = &["pending", "approved", "rejected", "retake"];

fn text<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    get_path(doc, path).and_then(Value::as_str)
}

fn rfc3339(micros: Micros) -> String {
    to_datetime(micros).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A piece of evidence as the queue shows it.
#[derive(Serialize)]
pub(crate) struct EvidenceItem {
    pub id: String,
    pub community_id: String,
    pub person_id: Option<String>,
    pub evidence_type: Option<String>,
    pub category: Option<String>,
    pub attachment_sha256: String,
    pub attachment_received: bool,
    pub derivatives_ready: bool,
    pub captured_at: Option<String>,
    pub valid_until: Option<String>,
    pub review_state: String,
    pub review_reason: Option<String>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub version: i64,
}

#[derive(Serialize)]
pub(crate) struct Decided {
    pub evidence: EvidenceItem,
    pub task_id: Option<String>,
}

fn item(conn: &mut DbConn, r: &Record) -> Result<EvidenceItem, ApiError> {
    let doc = r.document()?;
    let sha = text(&doc, "attachment_sha256")
        .unwrap_or_default()
        .to_string();
    let attachment = attachment_store::held_for(conn, &sha, r.created_by.as_deref())?;
    let owned = |path| text(&doc, path).map(str::to_string);
    Ok(EvidenceItem {
        id: r.id.clone(),
        community_id: r.community_id.clone(),
        person_id: owned("person_id"),
        evidence_type: owned("evidence_type"),
        category: owned("category"),
        attachment_received: attachment.is_some(),
        derivatives_ready: attachment.as_ref().is_some_and(|a| a.derived_at.is_some()),
        attachment_sha256: sha,
        captured_at: owned("captured_at"),
        valid_until: owned("valid_until"),
        review_state: owned("review_state").unwrap_or_else(|| "pending".into()),
        review_reason: owned("review_reason"),
        created_by: r.created_by.clone(),
        created_at: rfc3339(r.created_at),
        version: r.version,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    pub community_id: Option<String>,
    pub evidence_type: Option<String>,
    /// `pending` unless given; `all` for every state.
    pub state: Option<String>,
    /// Only evidence that arrived at least this many days ago.
    pub min_age_days: Option<i64>,
    pub limit: Option<i64>,
}

/// `GET /v1/review/evidence`: evidence in the caller's scope, oldest first.
pub async fn queue(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<QueueQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let items = state
        .db
        .run(move |conn| queue_of(conn, &caller, &q))
        .await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// The review queue as `q` asks for it: evidence in the caller's scope, oldest first
/// (the API's queue and the console's).
pub(crate) fn queue_of(
    conn: &mut DbConn,
    caller: &Caller,
    q: &QueueQuery,
) -> Result<Vec<EvidenceItem>, ApiError> {
    caller.require(Permission::ReviewEvidence)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit", "must be from 1 to 500"));
    }
    let wanted_state = q.state.clone().unwrap_or_else(|| "pending".into());
    if wanted_state != "all" && !STATES.contains(&wanted_state.as_str()) {
        return Err(ApiError::validation(
            "state",
            format!("must be one of {STATES:?} or `all`"),
        ));
    }
    if let Some(t) = &q.evidence_type {
        t.parse::<EvidenceType>()
            .map_err(|e| ApiError::validation("evidence_type", e.to_string()))?;
    }
    let min_age = q.min_age_days.unwrap_or(0);
    if !(0..=3650).contains(&min_age) {
        return Err(ApiError::validation(
            "min_age_days",
            "must be from 0 to 3650",
        ));
    }
    let scope = caller.scope(conn)?;
    let mut communities = records::communities_in_scope(conn, &scope)?;
    if let Some(c) = &q.community_id {
        communities.retain(|id| id == c);
    }
    let newest = now_micros().saturating_sub(seconds(min_age.saturating_mul(86_400)));
    let mut found = records::live_of_entity(conn, Entity::Evidence, &communities)?;
    found.retain(|r| r.created_at <= newest);
    found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut items = Vec::new();
    for r in &found {
        let doc = r.document()?;
        let review_state = text(&doc, "review_state").unwrap_or("pending");
        if wanted_state != "all" && review_state != wanted_state {
            continue;
        }
        if q.evidence_type
            .as_deref()
            .is_some_and(|t| text(&doc, "evidence_type") != Some(t))
        {
            continue;
        }
        items.push(item(conn, r)?);
        if items.len() as i64 >= limit {
            break;
        }
    }
    Ok(items)
}

/// The evidence of a person in the caller's scope, oldest first.
pub(crate) fn evidence_of_person(
    conn: &mut DbConn,
    caller: &Caller,
    person_id: &str,
) -> Result<Vec<EvidenceItem>, ApiError> {
    caller.require(Permission::ReviewEvidence)?;
    let scope = caller.scope(conn)?;
    record_in_scope(conn, &scope, Entity::Person, person_id)?;
    let mut found = liuqing_schema::casefile::children_of(conn, person_id, Entity::Evidence)?;
    found.retain(|r| !r.deleted);
    found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    found.iter().map(|r| item(conn, r)).collect()
}

/// One piece of evidence in the caller's scope, as the queue shows it.
pub(crate) fn evidence_of(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<EvidenceItem, ApiError> {
    caller.require(Permission::ReviewEvidence)?;
    let scope = caller.scope(conn)?;
    let evidence_id = parse_id(id)?;
    let record = record_in_scope(conn, &scope, Entity::Evidence, &evidence_id.to_string())?;
    item(conn, &record)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approved,
    Rejected,
    Retake,
}

impl Decision {
    fn name(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Rejected => "rejected",
            Decision::Retake => "retake",
        }
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Decide {
    pub decision: Decision,
    /// Required with `rejected` and `retake`: told to the coordinator and the applicant.
    #[validate(length(min = 1, max = 200))]
    pub reason: Option<String>,
}

fn parse_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("evidence"))
}

/// `POST /v1/review/evidence/{id}/decision`.
/// Evidence can be approved only if it can count: its photo arrived from the record's
/// author, and it has not expired (`valid_until` today or later, or none).
fn approvable(
    conn: &mut DbConn,
    record: &Record,
    doc: &Value,
    today: chrono::NaiveDate,
) -> Result<(), ApiError> {
    let sha = text(doc, "attachment_sha256").unwrap_or_default();
    if attachment_store::held_for(conn, sha, record.created_by.as_deref())?.is_none() {
        return Err(ApiError::Conflict(
            "attachment_missing",
            "the photo of this evidence has not arrived; it cannot be approved until it does"
                .into(),
        ));
    }
    let valid_until = text(doc, "valid_until")
        .and_then(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok());
    if let Some(until) = valid_until.filter(|until| *until < today) {
        return Err(ApiError::Conflict(
            "evidence_expired",
            format!("the certificate was valid until {until}; ask for a current one"),
        ));
    }
    Ok(())
}

pub async fn decide(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Body(req): Body<Decide>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let id = id.into_inner();
    let answer = state
        .db
        .write(move |conn| decide_in(conn, &app, &caller, &id, req))
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Writes a review decision (with the retake task it may need) in the caller's unit of
/// work: the API's decision and the console's.
pub(crate) fn decide_in(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    id: &str,
    req: Decide,
) -> Result<Decided, ApiError> {
    caller.require(Permission::ReviewEvidence)?;
    let reason = req
        .reason
        .clone()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if req.decision != Decision::Approved && reason.is_none() {
        return Err(ApiError::validation(
            "reason",
            "is required when the evidence is rejected or must be retaken",
        ));
    }
    if let Some(r) = &reason {
        if r.chars().count() > 200 {
            return Err(ApiError::validation(
                "reason",
                "must be at most 200 characters",
            ));
        }
    }
    let evidence_id = parse_id(id)?;
    let scope = caller.scope(conn)?;
    let record = record_in_scope(conn, &scope, Entity::Evidence, &evidence_id.to_string())?;
    let doc = record.document()?;
    let now = now_micros();
    if req.decision == Decision::Approved {
        approvable(conn, &record, &doc, app.config.today())?;
    }
    let mut fields = Map::new();
    fields.insert("review_state".into(), json!(req.decision.name()));
    if let Some(reason) = &reason {
        fields.insert("review_reason".into(), json!(reason));
    }
    let env = staff::engine_env(&scope, &app.cipher, &app.config, now);
    staff::apply(conn, caller, &env, Edit::update(&record, fields)?)?;
    let mut task_id = None;
    if req.decision != Decision::Approved {
        task_id = Some(retake_task(
            conn,
            caller,
            &scope,
            app,
            &record,
            &doc,
            reason.as_deref(),
            now,
        )?);
    }
    let updated = records::find(conn, Entity::Evidence, &evidence_id.to_string())?
        .ok_or_else(|| ApiError::not_found("evidence"))?;
    Ok(Decided {
        evidence: item(conn, &updated)?,
        task_id,
    })
}

/// The task asking the coordinator who sent the photo to take it again.
#[allow(clippy::too_many_arguments)]
fn retake_task(
    conn: &mut DbConn,
    caller: &Caller,
    scope: &Scope,
    state: &AppState,
    evidence: &Record,
    doc: &Value,
    reason: Option<&str>,
    now: Micros,
) -> Result<String, ApiError> {
    let person_id = text(doc, "person_id")
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("evidence without a person")))?;
    // The coordinator who sent the evidence; staff's own uploads fall to the reviewer.
    let assignee = evidence
        .created_by
        .clone()
        .unwrap_or_else(|| caller.user_id.clone());
    let kind = text(doc, "evidence_type").unwrap_or("evidence");
    let kind_name = kind
        .parse::<EvidenceType>()
        .map(|e| e.chinese_name().to_string())
        .unwrap_or_else(|_| kind.to_string());
    let env = staff::engine_env(scope, &state.cipher, &state.config, now);
    let task_id = staff::add_task(
        conn,
        caller,
        &env,
        staff::NewTask {
            id: None,
            of: staff::TaskOf::Person(person_id.to_string()),
            assignee_id: assignee,
            kind: "retake_photo",
            title: format!("重新拍摄：{kind_name}"),
            due_on: None,
            notes: reason.map(str::to_string),
            links: Vec::new(),
        },
    )?;
    Ok(task_id)
}
