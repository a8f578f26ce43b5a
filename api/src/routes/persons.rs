//! Persons: search, the whole case file in one call, enrolment and edits, revealing an ID
//! number or phone (logged), and the one-time notice of missing materials.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use liuqing_schema::audit;
use liuqing_schema::casefile::{self, PersonFilter, PersonSort};
use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::domain::gates::{CategoryCheck, Facts};
use liuqing_schema::domain::six_clears::Section;
use liuqing_schema::domain::Permission;
use liuqing_schema::domain::{
    one_time_notice, Category, EvidenceType, IdNumber, MobilePhone, ObligationState,
    ObligationStatus, Tier,
};
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records::{self, Record};
use liuqing_schema::time::now_micros;
use liuqing_schema::DbConn;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use validator::Validate;

use super::casework::record_in_scope;
use super::views::{self, RecordView};
use crate::auth::throttling::LookupAllowance;
use crate::auth::Caller;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Query};
use crate::paging;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub name: Option<String>,
    pub community_id: Option<String>,
    pub household_id: Option<String>,
    pub category: Option<Category>,
    pub tier: Option<Tier>,
    pub status: Option<casefile::PersonStatus>,
    pub obligation: Option<ObligationState>,
    /// A full ID number: exact lookup through the keyed hash (the search is logged).
    pub id_number: Option<String>,
    /// A full mobile number: exact lookup through the keyed hash.
    pub phone: Option<String>,
    pub sort: Option<PersonSort>,
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let app = state.clone();
    let page = state
        .db
        .run(move |conn| list_of(conn, &app, &caller, &q))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A page of the persons in the caller's scope that `q` asks for (the API's list and the
/// console's). An exact lookup by ID number or phone spends the hourly allowance and is
/// logged, hit or miss.
pub(crate) fn list_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    q: &ListQuery,
) -> Result<views::Page<views::PersonItem>, ApiError> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::ReadCaseFiles)?;
    let limit = paging::limit(q.limit)?;
    let after = paging::decode(q.cursor.as_deref())?;
    let today = app.config.today();
    let id_number_hash = match &q.id_number {
        Some(text) => {
            let id = IdNumber::parse(text, today)
                .map_err(|e| ApiError::validation("id_number", e.to_string()))?;
            Some(app.cipher.lookup_hash(id.expose()))
        }
        None => None,
    };
    let phone_hash = match &q.phone {
        Some(text) => {
            let phone = MobilePhone::parse(text)
                .map_err(|e| ApiError::validation("phone", e.to_string()))?;
            Some(app.cipher.lookup_hash(phone.as_str()))
        }
        None => None,
    };
    for (field, value) in [("name", &q.name), ("community_id", &q.community_id)] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 100) {
            return Err(ApiError::validation(
                field,
                "must be at most 100 characters",
            ));
        }
    }
    let filter = PersonFilter {
        name: q.name.clone().filter(|n| !n.trim().is_empty()),
        community_id: q.community_id.clone(),
        household_id: q.household_id.clone(),
        category: q.category.map(|c| c.to_string()),
        tier: q.tier,
        status: q.status,
        id_number_hash,
        phone_hash,
        obligation: q.obligation,
    };
    let sort = q.sort.unwrap_or(PersonSort::Name);
    // An exact lookup confirms or denies a whole ID number or phone: the question a sweep
    // of candidates for a masked value asks. Each is counted against the user's hourly
    // allowance and logged, hit or miss.
    let lookup = match (&filter.id_number_hash, &filter.phone_hash) {
        (Some(_), _) => Some("id_number"),
        (None, Some(_)) => Some("phone"),
        (None, None) => None,
    };
    let now = now_micros();
    if lookup.is_some() {
        LookupAllowance::new(&app.config, &app.cipher, &caller.user_id).spend(conn, now)?;
    }
    let scope = caller.scope(conn)?;
    let page = casefile::list_persons(conn, &scope, &filter, sort, after.as_ref(), limit, today)?;
    if let Some(field) = lookup {
        let found = page.items.first().map(|p| p.id.as_str());
        audit::record(
            conn,
            caller.actor(),
            &format!("lookup_{field}"),
            "person",
            found.unwrap_or("*"),
            None,
            Some(json!({ "field": field, "hit": found.is_some() })),
        )?;
    }
    Ok(views::Page {
        items: page
            .items
            .iter()
            .map(|p| views::person_item(p, today, birth_dates))
            .collect::<Result<_, _>>()?,
        next_cursor: page.next.as_ref().map(paging::encode),
    })
}

/// The whole case file of a person: every record under them, with what the rules make of
/// it (six-clears completeness, obligations, the one-time notice). Each read is logged.
pub async fn case_file(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let config = state.config.clone();
    let file = state
        .db
        .run(move |conn| case_file_of(conn, &config, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok().json(file))
}

/// The whole case file of a person in the caller's scope (the API's and the console's);
/// the read is logged.
pub(crate) fn case_file_of(
    conn: &mut DbConn,
    config: &Config,
    caller: &Caller,
    id: &str,
) -> Result<CaseFile, ApiError> {
    let birth_dates = caller.birth_dates();
    caller.require(Permission::ReadCaseFiles)?;
    let id = id.to_string();
    let scope = caller.scope(conn)?;
    let person = record_in_scope(conn, &scope, Entity::Person, &id)?;
    let row = casefile::person_in_scope(conn, &scope, &id)?
        .ok_or_else(|| ApiError::not_found("person"))?;
    let today = config.today();
    let household = person
        .parent_id
        .as_deref()
        .map(|h| records::find(conn, Entity::Household, h))
        .transpose()?
        .flatten();
    let children = casefile::children(conn, &id)?;
    let of = |entity: Entity| -> Vec<&Record> {
        children.iter().filter(|r| r.entity == entity).collect()
    };
    let six_clears = match of(Entity::SixClears).first() {
        Some(r) => {
            let doc = views::document(r)?;
            let sections = Section::ALL
                .iter()
                .map(|s| {
                    let state = SectionState {
                        complete: s.is_complete(&doc),
                        missing: s.missing(&doc),
                    };
                    (s.to_string(), state)
                })
                .collect();
            Some(SixClearsView {
                record: views::record(r, birth_dates)?,
                sections,
            })
        }
        None => None,
    };
    // Visits are made to the household, tasks to its coordinator: the person's are
    // those that name them.
    let mut naming = |entity: Entity, path: &str| -> Result<Vec<RecordView>, ApiError> {
        let Some(h) = &person.parent_id else {
            return Ok(Vec::new());
        };
        let mut shown = Vec::new();
        for r in casefile::children_of(conn, h, entity)? {
            let doc = views::document(&r)?;
            let names = match get_path(&doc, path) {
                Some(Value::Array(ids)) => ids.iter().any(|p| p.as_str() == Some(&id)),
                Some(one) => one.as_str() == Some(&id),
                None => false,
            };
            if names {
                shown.push(views::record(&r, birth_dates)?);
            }
        }
        Ok(shown)
    };
    let visits = naming(Entity::Visit, "persons_seen")?;
    let tasks = naming(Entity::Task, "person_id")?;
    let obligations = casefile::obligation_of(conn, &row, today)?;
    let latest = |entity: Entity| {
        of(entity)
            .last()
            .map(|r| views::record(r, birth_dates))
            .transpose()
    };
    let list = |entity: Entity| -> Result<Vec<RecordView>, ApiError> {
        of(entity)
            .into_iter()
            .map(|r| views::record(r, birth_dates))
            .collect()
    };
    let placed = of(Entity::Placement)
        .into_iter()
        .map(|r| Ok((r.id.as_str(), views::document(r)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let followed = of(Entity::FollowUp)
        .into_iter()
        .map(views::document)
        .collect::<Result<Vec<_>, ApiError>>()?;
    let work = casefile::current_work(&placed, &followed, today).map(|(placement_id, w)| Work {
        placement_id,
        since: w.started_on.to_string(),
        reason: w.exit_reason(),
    });
    let (notice, eligibility) = judged(conn, &person, &children, &config.shared_evidence(), today)?;
    audit::record(
        conn,
        caller.actor(),
        "read_person",
        "person",
        &id,
        None,
        None,
    )?;
    Ok(CaseFile {
        person: views::record(&person, birth_dates)?,
        summary: views::person_item(&row, today, birth_dates)?,
        household: household
            .as_ref()
            .map(|r| views::record(r, birth_dates))
            .transpose()?,
        six_clears,
        evidence: list(Entity::Evidence)?,
        commitments: list(Entity::Commitment)?,
        visits,
        service_records: list(Entity::ServiceRecord)?,
        obligations,
        recognitions: list(Entity::Recognition)?,
        objections: list(Entity::Objection)?,
        referrals: list(Entity::Referral)?,
        placements: list(Entity::Placement)?,
        follow_ups: list(Entity::FollowUp)?,
        work,
        subsidies: list(Entity::FlexibleSubsidy)?,
        assessment: latest(Entity::Assessment)?,
        plan: latest(Entity::Plan)?,
        exit: latest(Entity::Exit)?,
        tasks,
        missing_materials: notice,
        eligibility,
    })
}

/// The work a person is in by a placement that holds today (started, not ended, no
/// follow-up found them gone), and the exit it suggests.
#[derive(Serialize)]
pub(crate) struct Work {
    pub placement_id: String,
    pub since: String,
    pub reason: liuqing_schema::domain::ExitReason,
}

/// The case file as `GET /v1/persons/{id}` answers it (`CaseFile` in openapi.yaml).
#[derive(Serialize)]
pub(crate) struct CaseFile {
    pub person: RecordView,
    pub summary: views::PersonItem,
    pub household: Option<RecordView>,
    pub six_clears: Option<SixClearsView>,
    pub evidence: Vec<RecordView>,
    pub commitments: Vec<RecordView>,
    pub visits: Vec<RecordView>,
    pub service_records: Vec<RecordView>,
    pub obligations: Option<ObligationStatus>,
    pub recognitions: Vec<RecordView>,
    pub objections: Vec<RecordView>,
    /// Jobs recommended to the person (岗位推荐), the jobs they took up (上岗) and the
    /// follow-ups after (跟踪回访).
    pub referrals: Vec<RecordView>,
    pub placements: Vec<RecordView>,
    pub follow_ups: Vec<RecordView>,
    /// The work the person is in today, if any: their unemployment has ended.
    pub work: Option<Work>,
    /// Applications for the flexible-employment subsidy (灵活就业社保补贴).
    pub subsidies: Vec<RecordView>,
    pub assessment: Option<RecordView>,
    pub plan: Option<RecordView>,
    pub exit: Option<RecordView>,
    pub tasks: Vec<RecordView>,
    pub missing_materials: Notice,
    pub eligibility: Vec<CategoryCheck>,
}

#[derive(Serialize)]
pub(crate) struct SixClearsView {
    pub record: RecordView,
    pub sections: BTreeMap<String, SectionState>,
}

#[derive(Serialize)]
pub(crate) struct SectionState {
    pub complete: bool,
    pub missing: Vec<&'static str>,
}

#[derive(Serialize)]
pub(crate) struct Notice {
    pub claimed_categories: Vec<Category>,
    pub items: Vec<NoticeItem>,
}

#[derive(Serialize)]
pub(crate) struct NoticeItem {
    pub evidence_type: EvidenceType,
    pub name: &'static str,
    pub always_required: bool,
    pub for_categories: Vec<Category>,
}

#[derive(Serialize)]
pub(crate) struct Revealed {
    pub field: &'static str,
    pub value: String,
}

/// The categories a person claims: the open application's (with the day it was received),
/// else those recorded in the six clears.
fn claimed_of(parsed: &[(Entity, Value)]) -> (Vec<Category>, Option<NaiveDate>) {
    let docs = |entity: Entity| {
        parsed
            .iter()
            .filter(move |(e, _)| *e == entity)
            .map(|(_, doc)| doc)
    };
    let names = |doc: &Value, path: &str| -> Vec<Category> {
        get_path(doc, path)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().and_then(|c| c.parse().ok()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let open_claim = docs(Entity::Recognition).rfind(|d| {
        !matches!(
            get_path(d, "state").and_then(Value::as_str),
            Some("recognised" | "rejected")
        )
    });
    match open_claim {
        Some(d) => {
            let received = get_path(d, "received_on")
                .and_then(Value::as_str)
                .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok());
            (names(d, "claimed_categories"), received)
        }
        None => {
            let recorded = docs(Entity::SixClears)
                .next()
                .map(|d| names(d, "difficulty.categories"))
                .unwrap_or_default();
            (recorded, None)
        }
    }
}

/// The one-time notice (一次性告知) for a person: every material still missing for the
/// categories they claim, at once. The claim is the open application's, else the categories
/// recorded in the six clears.
/// Evidence counts when it is approved, its photo arrived from its author and it has not
/// expired by `today` (`gates::Facts::holds`).
fn notice_for(claimed: Vec<Category>, facts: &Facts, today: NaiveDate) -> Notice {
    let held: Vec<EvidenceType> = EvidenceType::ALL
        .iter()
        .copied()
        .filter(|e| facts.holds(*e, today))
        .collect();
    let items = one_time_notice(&claimed, &held, &facts.shared)
        .into_iter()
        .map(|m| NoticeItem {
            evidence_type: m.evidence,
            name: m.evidence.chinese_name(),
            always_required: m.always_required,
            for_categories: m.for_categories,
        })
        .collect();
    Notice {
        claimed_categories: claimed,
        items,
    }
}

/// What the rules make of a person's file today: the categories they claim, the facts the
/// rules read, and each category's standing.
fn judged(
    conn: &mut DbConn,
    person: &Record,
    children: &[Record],
    shared: &[EvidenceType],
    today: NaiveDate,
) -> Result<(Notice, Vec<CategoryCheck>), ApiError> {
    let parsed: Vec<(Entity, Value)> = children
        .iter()
        .map(|r| Ok((r.entity, views::document(r)?)))
        .collect::<Result<_, ApiError>>()?;
    let (claimed, applied_on) = claimed_of(&parsed);
    let mut facts = casefile::eligibility_facts(conn, person, children, shared)?;
    facts.applied_on = applied_on;
    let eligibility = claimed.iter().map(|c| facts.check(*c, today)).collect();
    Ok((notice_for(claimed, &facts, today), eligibility))
}

pub async fn notice(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let app = state.clone();
    let notice = state
        .db
        .run(move |conn| notice_of(conn, &app, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok().json(notice))
}

/// The one-time notice of what a person in the caller's scope still has to bring (the
/// API's and the console's).
pub(crate) fn notice_of(
    conn: &mut DbConn,
    app: &AppState,
    caller: &Caller,
    person_id: &str,
) -> Result<Notice, ApiError> {
    caller.require(Permission::ReadCaseFiles)?;
    let scope = caller.scope(conn)?;
    let person = record_in_scope(conn, &scope, Entity::Person, person_id)?;
    let children = casefile::children(conn, person_id)?;
    let (shared, today) = (app.config.shared_evidence(), app.config.today());
    Ok(judged(conn, &person, &children, &shared, today)?.0)
}

liuqing_schema::text_enum! {
    /// The sealed fields of a person that can be revealed.
    pub enum RevealField {
        IdNumber = "id_number",
        Phone = "phone",
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Reveal {
    pub field: RevealField,
    /// Why the full value is needed; kept in the access log.
    #[validate(length(min = 4, max = 500, message = "must be 4 to 500 characters"))]
    pub reason: String,
}

/// The full ID number or phone of a person, for roles that need it, with the reason
/// written to the access log.
pub async fn reveal(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Body(req): Body<Reveal>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let cipher = state.cipher.clone();
    let value = state
        .db
        .transaction(move |conn| reveal_in(conn, &cipher, &caller, &id, &req))
        .await?;
    Ok(HttpResponse::Ok().json(value))
}

/// A person's full ID number or phone, with the reason written to the access log, in the
/// caller's transaction (the API's and the console's).
pub(crate) fn reveal_in(
    conn: &mut DbConn,
    cipher: &FieldCipher,
    caller: &Caller,
    id: &str,
    req: &Reveal,
) -> Result<Revealed, ApiError> {
    caller.require(Permission::RevealIdentity)?;
    req.validate()?;
    let scope = caller.scope(conn)?;
    let rec = record_in_scope(conn, &scope, Entity::Person, id)?;
    let path = req.field.as_str();
    let stored = get_path(&views::document(&rec)?, path).cloned();
    let sealed = stored
        .as_ref()
        .and_then(|v| v.get("sealed"))
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::not_found(format!("the person's {path}")))?;
    let plain = cipher
        .decrypt(sealed, &format!("person:{id}:{path}"))
        .map_err(|e| ApiError::Internal(e.into()))?;
    audit::record(
        conn,
        caller.actor(),
        "reveal",
        "person",
        id,
        Some(&req.reason),
        Some(json!({ "field": path })),
    )?;
    Ok(Revealed {
        field: path,
        value: plain,
    })
}
