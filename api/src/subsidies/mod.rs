//! Taking a step of a subsidy application (受理 → 初审 → 街道复审 → 区审核/审批 → 拨付, or
//! returned with reasons, resubmitted, stopped from a month): the one function that
//! decides it. The chain (`domain::subsidies::step`) says whether the step exists and
//! whose level it is; the caller must hold that level's role and be bound to a node of the
//! kind the deployment gives the level (`subsidy_levels`) above the application; the
//! station's steps need a recognised person and the materials on file; and every step
//! recomputes the months and the amount from the application and the person, never from
//! a client's figure. The new state, figures and history are written through the sync
//! engine in the caller's transaction.
//!
//! Both subsidies share the chain: the flexible-employment subsidy (灵活就业社保补贴, a
//! person's) is figured here, the public-welfare job subsidy (公益性岗位补贴, an
//! employer's for the persons it placed, with per-person figures and stops) in [`welfare`].

use chrono::NaiveDate;
use liuqing_schema::casefile::{self, PersonRow};
use liuqing_schema::domain::months::{Month, Span};
use liuqing_schema::domain::retirement::RetirementBase;
use liuqing_schema::domain::subsidies::{
    self, Bounds, Fen, InsuranceKind, Level, Paid, StopCondition, SubsidyAction, SubsidyKind,
    SubsidyState,
};
use liuqing_schema::domain::{gates::Unmet, EvidenceType, Role, Sex};
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records::Record;
use liuqing_schema::{org, users, DbConn};
use liuqing_sync::engine::Env;
use serde_json::{json, Map, Value};

use crate::auth::Caller;
use crate::config::Config;
use crate::error::ApiError;
use crate::staff::{self, record_in_scope, Edit};

pub mod checks;
pub mod report;
pub(crate) mod welfare;

/// The entities that are subsidy applications.
pub const APPLICATIONS: [Entity; 2] = [Entity::FlexibleSubsidy, Entity::WelfareSubsidy];

/// The subsidy an application entity asks for.
pub fn kind_of(entity: Entity) -> SubsidyKind {
    match entity {
        Entity::WelfareSubsidy => SubsidyKind::PublicWelfareJob,
        _ => SubsidyKind::FlexibleInsurance,
    }
}

/// The application `id` of either kind, inside `scope`.
pub fn application_in_scope(
    conn: &mut DbConn,
    scope: &liuqing_schema::scope::Scope,
    id: &str,
) -> Result<Record, ApiError> {
    for entity in APPLICATIONS {
        match record_in_scope(conn, scope, entity, id) {
            Err(ApiError::NotFound(..)) => continue,
            found => return found,
        }
    }
    Err(ApiError::not_found("subsidy application"))
}

/// A step as asked for.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: SubsidyAction,
    /// Why: required to return or stop, kept in the history for every step.
    pub reason: Option<String>,
    /// A stop: the first month not paid, and the condition met.
    pub stop_from: Option<Month>,
    pub stop_condition: Option<StopCondition>,
    /// A public-welfare job subsidy's stop is one person's: whose.
    pub person_id: Option<String>,
}

impl Step {
    /// A step as a form or a request body gives it (the month as text), checked.
    pub fn from_input(
        action: SubsidyAction,
        reason: Option<String>,
        stop_from: Option<&str>,
        stop_condition: Option<StopCondition>,
        person_id: Option<String>,
    ) -> Result<Step, ApiError> {
        let stop_from = match stop_from {
            None => None,
            Some(text) => Some(
                Month::parse(text)
                    .filter(|m| (1900..=2100).contains(&m.year()))
                    .ok_or_else(|| {
                        ApiError::validation("stop_from", "must be a month, YYYY-MM, 1900 to 2100")
                    })?,
            ),
        };
        let step = Step {
            action,
            reason,
            stop_from,
            stop_condition,
            person_id,
        };
        step.check()?;
        Ok(step)
    }

    /// What can be checked before the database is read.
    pub fn check(&self) -> Result<(), ApiError> {
        let needs_reason = matches!(
            self.action,
            SubsidyAction::Return | SubsidyAction::Stop | SubsidyAction::RecommendStop
        );
        if needs_reason && self.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(ApiError::validation(
                "reason",
                format!("is required to {}", self.action),
            ));
        }
        let stopping = matches!(
            self.action,
            SubsidyAction::Stop | SubsidyAction::RecommendStop
        );
        if stopping {
            if self.stop_from.is_none() {
                return Err(ApiError::validation(
                    "stop_from",
                    format!(
                        "is required to {}: the first month not paid (YYYY-MM)",
                        self.action
                    ),
                ));
            }
            if self.stop_condition.is_none() {
                return Err(ApiError::validation(
                    "stop_condition",
                    format!("is required to {}", self.action),
                ));
            }
        } else if self.stop_from.is_some() || self.stop_condition.is_some() {
            return Err(ApiError::validation(
                "stop_from",
                "is given only to stop a subsidy or recommend a stop",
            ));
        } else if self.person_id.is_some() {
            return Err(ApiError::validation(
                "person_id",
                "is given only to stop a person's subsidy or recommend a stop",
            ));
        }
        Ok(())
    }

    /// What depends on the subsidy: its stop conditions, and whether a stop is a person's.
    fn check_for(&self, kind: SubsidyKind) -> Result<(), ApiError> {
        if let Some(c) = self.stop_condition.filter(|c| !c.applies_to(kind)) {
            return Err(ApiError::validation(
                "stop_condition",
                format!("`{c}` is not a stop condition of this subsidy"),
            ));
        }
        let stopping = self.stop_condition.is_some();
        match (kind, &self.person_id) {
            (SubsidyKind::PublicWelfareJob, None) if stopping => Err(ApiError::validation(
                "person_id",
                format!(
                    "is required to {}: a public-welfare job subsidy stops one person's",
                    self.action
                ),
            )),
            (SubsidyKind::FlexibleInsurance, Some(_)) => Err(ApiError::validation(
                "person_id",
                "is not given for a flexible-employment subsidy: it is one person's",
            )),
            _ => Ok(()),
        }
    }
}

fn text<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    get_path(doc, path).and_then(Value::as_str)
}

fn month(doc: &Value, path: &str) -> Option<Month> {
    text(doc, path).and_then(Month::parse)
}

/// Where an application stands: as created it has no state yet, and is received.
pub fn state_of(doc: &Value) -> SubsidyState {
    text(doc, "state")
        .and_then(|s| s.parse().ok())
        .unwrap_or(SubsidyState::Received)
}

/// The month a person reaches statutory retirement age under a subsidy of `kind`; `None`
/// when their birth date or sex is unknown.
pub(crate) fn retirement_of(
    person: &PersonRow,
    config: &Config,
    kind: SubsidyKind,
) -> Option<Month> {
    let sex = match person.sex.as_deref() {
        Some("male") => Sex::Male,
        Some("female") => Sex::Female,
        _ => return None,
    };
    let women = config.subsidy_standards().women_base(kind);
    Some(RetirementBase::of(sex, women).retirement_month(person.birth()?))
}

/// The materials the flexible-employment subsidy asks for (the guide's list), less what
/// the deployment gets by data sharing; a business licence only from the self-employed.
fn required_materials(doc: &Value, shared: &[EvidenceType]) -> Vec<EvidenceType> {
    let mut needed = vec![
        EvidenceType::EmploymentCard,
        EvidenceType::InsuranceReceipt,
        EvidenceType::FlexibleWorkStatement,
        EvidenceType::BankCard,
    ];
    if text(doc, "work") == Some("self_employed") {
        needed.push(EvidenceType::BusinessLicence);
    }
    needed.retain(|m| !shared.contains(m));
    needed
}

/// The evidence types on file for a person: not rejected or sent back for a retake.
fn materials_on_file(children: &[Record]) -> Result<Vec<EvidenceType>, ApiError> {
    let mut found = Vec::new();
    for r in children.iter().filter(|r| r.entity == Entity::Evidence) {
        let doc = r.document()?;
        if matches!(text(&doc, "review_state"), Some("rejected" | "retake")) {
            continue;
        }
        if let Some(t) = text(&doc, "evidence_type").and_then(|t| t.parse().ok()) {
            found.push(t);
        }
    }
    Ok(found)
}

/// What a station step needs and the application lacks, at once.
fn unmet(
    this: &Record,
    doc: &Value,
    person: &PersonRow,
    children: &[Record],
    config: &Config,
) -> Result<Vec<Unmet>, ApiError> {
    let mut unmet = Vec::new();
    if person.status != "recognised" {
        unmet.push(Unmet {
            rule: "recognised",
            category: None,
            standing: None,
            reason: "申请人须为已认定的就业困难人员".into(),
            evidence: Vec::new(),
        });
    }
    let on_file = materials_on_file(children)?;
    let missing: Vec<EvidenceType> = required_materials(doc, &config.shared_evidence())
        .into_iter()
        .filter(|m| !on_file.contains(m))
        .collect();
    if !missing.is_empty() {
        unmet.push(Unmet {
            rule: "materials",
            category: None,
            standing: None,
            reason: format!(
                "缺少材料：{}",
                missing
                    .iter()
                    .map(|m| m.chinese_name())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            evidence: missing,
        });
    }
    if text(doc, "work") == Some("self_employed") && text(doc, "business_credit_code").is_none() {
        unmet.push(Unmet {
            rule: "business_credit_code",
            category: None,
            standing: None,
            reason: "个体经营的申请人须填写营业执照的统一社会信用代码".into(),
            evidence: vec![EvidenceType::BusinessLicence],
        });
    }
    if person.birth().is_none() || person.sex.is_none() {
        unmet.push(Unmet {
            rule: "birth_date",
            category: None,
            standing: None,
            reason: "申请人的出生日期和性别未知，无法计算享受期限".into(),
            evidence: vec![EvidenceType::ResidentIdCard],
        });
    }
    let retirement = retirement_of(person, config, SubsidyKind::FlexibleInsurance);
    if let Some(unmet_retired) = retired(retirement, month(doc, "period_from"), "申请人") {
        unmet.push(unmet_retired);
    }
    // No month is paid twice: another application of the person's that paid these months.
    if let (Some(from), Some(to)) = (month(doc, "period_from"), month(doc, "period_to")) {
        for other in children
            .iter()
            .filter(|r| r.entity == Entity::FlexibleSubsidy)
        {
            let o = other.document()?;
            let paid = matches!(state_of(&o), SubsidyState::Funded | SubsidyState::Stopped);
            let span = month(&o, "payable_from").zip(month(&o, "payable_to"));
            if let Some((a, b)) = span.filter(|_| paid && other.id != this.id) {
                if !Span::new(a, b).intersect(Span::new(from, to)).is_empty() {
                    unmet.push(Unmet {
                        rule: "already_paid",
                        category: None,
                        standing: None,
                        reason: format!("申请人在 {a} 至 {b} 已享受灵活就业社保补贴（另一份申请）"),
                        evidence: Vec::new(),
                    });
                }
            }
        }
    }
    Ok(unmet)
}

/// The rule that nobody enjoys a subsidy from the month they reach retirement age:
/// unmet when `retirement` is no later than the first month applied for (`from`).
fn retired(retirement: Option<Month>, from: Option<Month>, who: &str) -> Option<Unmet> {
    let (retirement, from) = (retirement?, from?);
    (retirement <= from).then(|| Unmet {
        rule: "retirement_age",
        category: None,
        standing: None,
        reason: format!("{who}已于 {retirement} 到达法定退休年龄，申请期限内不能享受补贴"),
        evidence: Vec::new(),
    })
}

/// The first month the person was ever paid this subsidy: `from` (this application's
/// first month) or an earlier paid application's (`others`: the person's applications).
/// The period cap counts from it.
fn first_enjoyed(others: &[Record], this: &Record, from: Month) -> Result<Month, ApiError> {
    let mut first = from;
    for other in others.iter().filter(|o| o.id != this.id) {
        let doc = other.document()?;
        let paid = matches!(text(&doc, "state"), Some("funded" | "stopped"))
            && get_path(&doc, "months").and_then(Value::as_i64) > Some(0);
        if let Some(start) = month(&doc, "payable_from").filter(|_| paid) {
            first = first.min(start);
        }
    }
    Ok(first)
}

/// The months paid and the amount, from the application, the person and the person's
/// earlier subsidies of this kind; `None` when the person's birth date or sex is unknown.
fn figures(
    conn: &mut DbConn,
    config: &Config,
    rec: &Record,
    doc: &Value,
    person: &PersonRow,
    stopped_from: Option<Month>,
) -> Result<Option<(Span, Fen)>, ApiError> {
    let standards = config.subsidy_standards();
    let (Some(from), Some(to)) = (month(doc, "period_from"), month(doc, "period_to")) else {
        return Ok(None);
    };
    let Some(retirement) = retirement_of(person, config, SubsidyKind::FlexibleInsurance) else {
        return Ok(None);
    };
    let others = casefile::children_of(conn, &person.id, Entity::FlexibleSubsidy)?;
    let bounds = Bounds {
        first_enjoyed: first_enjoyed(&others, rec, from)?,
        retirement,
        stopped_from,
    };
    let payable = subsidies::payable(Span::new(from, to), standards.period, bounds);
    let paid_months = match (month(doc, "paid_from"), month(doc, "paid_to")) {
        (Some(a), Some(b)) => Span::new(a, b),
        _ => Span::new(from, from.plus(-1)),
    };
    let paid: Vec<Paid> = [
        (InsuranceKind::Pension, "pension_monthly"),
        (InsuranceKind::Medical, "medical_monthly"),
        (InsuranceKind::Unemployment, "unemployment_monthly"),
    ]
    .into_iter()
    .filter_map(|(kind, path)| {
        let yuan = get_path(doc, path).and_then(Value::as_i64)?;
        Some(Paid {
            kind,
            months: paid_months,
            monthly: Fen(yuan.saturating_mul(100)),
        })
    })
    .collect();
    let amount = subsidies::flexible_amount(payable, &paid, |k| standards.insurance_monthly(k));
    Ok(Some((payable, amount)))
}

/// Whether `caller` takes `level`'s steps for a record of `community`: the level's role,
/// bound to a node of the level's kind above the record.
fn authorize(
    conn: &mut DbConn,
    caller: &Caller,
    config: &Config,
    level: Level,
    community: &str,
) -> Result<(), ApiError> {
    let role = match level {
        Level::Station => Role::StationStaff,
        Level::Street | Level::District => Role::Supervisor,
    };
    let kind = config.subsidy_level_kind(level);
    let refuse = || {
        ApiError::Forbidden(
            "forbidden_level",
            format!("this step is taken at the {level} level: a {role} bound to a {kind}"),
        )
    };
    if caller.role != role {
        return Err(refuse());
    }
    let Some(under) = org::find(conn, community)?.map(|n| n.path) else {
        return Err(refuse());
    };
    for id in users::org_node_ids(conn, &caller.user_id)? {
        if let Some(node) = org::find(conn, &id)? {
            if node.kind == kind && under.starts_with(&node.path) {
                return Ok(());
            }
        }
    }
    Err(refuse())
}

/// The steps `caller` may take on an application in `state` in `community` (the
/// console offers these).
pub fn open_to(
    conn: &mut DbConn,
    caller: &Caller,
    config: &Config,
    state: SubsidyState,
    community: &str,
) -> Result<Vec<SubsidyAction>, ApiError> {
    let mut open = Vec::new();
    for action in subsidies::actions_in(state) {
        let Ok((_, level)) = subsidies::step(state, action) else {
            continue;
        };
        match authorize(conn, caller, config, level, community) {
            Ok(()) => open.push(action),
            Err(ApiError::Forbidden(..)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(open)
}

/// Takes `step` on the application `id` (of either subsidy) as `caller`, on `env`'s day;
/// returns the application as it is then.
pub fn take(
    conn: &mut DbConn,
    caller: &Caller,
    env: &Env<'_>,
    config: &Config,
    id: &str,
    step: &Step,
) -> Result<Record, ApiError> {
    let rec = application_in_scope(conn, env.scope, id)?;
    let kind = kind_of(rec.entity);
    step.check_for(kind)?;
    let doc = rec.document()?;
    let from = state_of(&doc);
    let (to, level) = subsidies::step(from, step.action).map_err(|_| {
        ApiError::Conflict(
            "illegal_transition",
            format!(
                "`{}` is not a step from `{from}`; open now: {}",
                step.action,
                subsidies::actions_in(from)
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    authorize(conn, caller, config, level, &rec.community_id)?;
    // The station's steps forward need everything the guide asks for, named at once
    // (the one-time notice); returning or stopping needs nothing.
    let station_forward = matches!(
        step.action,
        SubsidyAction::StartReview | SubsidyAction::Pass
    ) && level == Level::Station;
    let (to, mut fields) = match kind {
        SubsidyKind::FlexibleInsurance => {
            let fields = flexible_fields(conn, config, &rec, &doc, step, station_forward)?;
            (to, fields)
        }
        SubsidyKind::PublicWelfareJob => {
            let at = welfare::Taking {
                step,
                to,
                station_forward,
            };
            welfare::fields(conn, config, &rec, &doc, at)?
        }
    };
    if text(&doc, "received_on").is_none() {
        // 受理 is the day the application was recorded.
        fields.insert(
            "received_on".into(),
            json!(config.day_at(rec.created_at).to_string()),
        );
    }
    let enjoyed = enjoyed_spans(&rec, &doc, &fields, step);
    record_step(conn, caller, env, &rec, step, (to, level), fields)?;
    let enjoyment_changes = matches!(
        (step.action, to),
        (SubsidyAction::Pass, SubsidyState::Funded) | (SubsidyAction::Stop, _)
    );
    if enjoyment_changes {
        for e in enjoyed {
            record_enjoyed(conn, caller, env, kind, &e.person, e.before, e.now)?;
        }
    }
    record_in_scope(conn, env.scope, rec.entity, id)
}

/// Whose months a step changes: each person, the first month paid before the step (how
/// their six clears' entry is found again), and the months paid now (first and last). The
/// applicant of a flexible subsidy; each person of a public-welfare one, or the one a
/// stop names.
/// A person's months of a subsidy, before a step and after it.
struct Enjoyed {
    person: String,
    /// The first month paid before the step.
    before: Option<Month>,
    /// The first and last months paid now.
    now: Option<(Month, Month)>,
}

fn enjoyed_spans(
    rec: &Record,
    before: &Value,
    fields: &Map<String, Value>,
    step: &Step,
) -> Vec<Enjoyed> {
    let was = persons_paid(rec, before);
    persons_paid(rec, &Value::Object(fields.clone()))
        .into_iter()
        .filter(|(person, _)| step.person_id.as_deref().is_none_or(|p| p == person))
        .map(|(person, now)| Enjoyed {
            before: was
                .iter()
                .find(|(p, _)| *p == person)
                .and_then(|(_, span)| span.map(|(first, _)| first)),
            now,
            person,
        })
        .collect()
}

/// The server's per-person lines of a public-welfare application, as last written.
pub(crate) fn lines_of(doc: &Value) -> Vec<Value> {
    get_path(doc, "lines")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Each person an application pays, with the first and last months paid (`None`: no
/// month): the applicant of a flexible subsidy, each person's line of a public-welfare one.
pub(crate) fn persons_paid(rec: &Record, doc: &Value) -> Vec<(String, Option<(Month, Month)>)> {
    let span = |d: &Value| month(d, "payable_from").zip(month(d, "payable_to"));
    match kind_of(rec.entity) {
        SubsidyKind::FlexibleInsurance => rec
            .parent_id
            .iter()
            .map(|person| (person.clone(), span(doc)))
            .collect(),
        SubsidyKind::PublicWelfareJob => lines_of(doc)
            .iter()
            .filter_map(|l| Some((text(l, "person_id")?.to_string(), span(l))))
            .collect(),
    }
}

/// The person's six clears say the subsidy enjoyed and its period (政策享受清, which the
/// guide has the station note on the 就业创业证 as 享受就业扶持政策情况): an entry per
/// subsidy, found again by its policy and the first day it had (`before`), so a stop
/// moves its end, and a stop before any month paid takes it out.
fn record_enjoyed(
    conn: &mut DbConn,
    caller: &Caller,
    env: &Env<'_>,
    kind: SubsidyKind,
    person_id: &str,
    before: Option<Month>,
    span: Option<(Month, Month)>,
) -> Result<(), ApiError> {
    let policy = kind.chinese_name();
    let entry = span.map(|(from, to)| {
        let last = to.plus(1).first_day() - chrono::Duration::days(1);
        json!({ "policy": policy, "from": from.first_day().to_string(), "to": last.to_string() })
    });
    let was = before
        .or(span.map(|(from, _)| from))
        .map(|m| m.first_day().to_string());
    let same = |e: &Value| text(e, "policy") == Some(policy) && text(e, "from") == was.as_deref();
    let six_clears = casefile::children_of(conn, person_id, Entity::SixClears)?;
    let mut fields = Map::new();
    let edit = match (six_clears.first(), entry) {
        (Some(rec), entry) => {
            let mut enjoyed = get_path(&rec.document()?, "policies.enjoyed")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let at = enjoyed.iter().position(same);
            match (at, entry) {
                (Some(i), Some(e)) => enjoyed[i] = e,
                (Some(i), None) => {
                    enjoyed.remove(i);
                }
                (None, Some(e)) => enjoyed.push(e),
                (None, None) => return Ok(()),
            }
            fields.insert("policies.enjoyed".into(), Value::Array(enjoyed));
            Edit::update(rec, fields)?
        }
        (None, Some(entry)) => {
            fields.insert("person_id".into(), json!(person_id));
            fields.insert("policies.enjoyed".into(), json!([entry]));
            // A person's six clears share the person's id.
            let mut edit = Edit::create(Entity::SixClears, fields);
            edit.id = person_id
                .parse()
                .map_err(|_| ApiError::not_found("the subsidy's person"))?;
            edit
        }
        (None, None) => return Ok(()),
    };
    staff::apply(conn, caller, env, edit)?;
    Ok(())
}

/// A flexible-employment application's figures for `step`, after the station's rules.
fn flexible_fields(
    conn: &mut DbConn,
    config: &Config,
    rec: &Record,
    doc: &Value,
    step: &Step,
    station_forward: bool,
) -> Result<Map<String, Value>, ApiError> {
    let person_id = rec
        .parent_id
        .clone()
        .ok_or_else(|| ApiError::not_found("the application's person"))?;
    let person = casefile::person_row(conn, &person_id)?
        .ok_or_else(|| ApiError::not_found("the application's person"))?;
    if station_forward {
        let children = casefile::children(conn, &person_id)?;
        let unmet = unmet(rec, doc, &person, &children, config)?;
        if !unmet.is_empty() {
            return Err(ApiError::RulesUnmet {
                action: step.action.to_string(),
                unmet,
            });
        }
    }
    let stopped_from = match step.action {
        SubsidyAction::Stop => step.stop_from,
        _ => month(doc, "stopped_from"),
    };
    let mut fields = Map::new();
    if let Some((payable, amount)) = figures(conn, config, rec, doc, &person, stopped_from)? {
        // No month paid: no span to show (an empty one would run backwards).
        let paying = payable.months() > 0;
        fields.insert(
            "payable_from".into(),
            json!(paying.then(|| payable.from.to_string())),
        );
        fields.insert(
            "payable_to".into(),
            json!(paying.then(|| payable.to.to_string())),
        );
        fields.insert("months".into(), json!(payable.months()));
        fields.insert("amount_fen".into(), json!(amount.0));
    }
    Ok(fields)
}

/// Writes `step`, taken as `caller` to reach `to` at `level`, through the engine: the new
/// state, the fields the step itself sets, a line of history, and `fields` besides (the
/// figures the caller computed, which win over the step's own: a public-welfare stop is
/// one person's, and says so in `fields`).
fn record_step(
    conn: &mut DbConn,
    caller: &Caller,
    env: &Env<'_>,
    rec: &Record,
    step: &Step,
    (to, level): (SubsidyState, Level),
    mut fields: Map<String, Value>,
) -> Result<(), ApiError> {
    let on = env.today.format("%Y-%m-%d").to_string();
    let month_text = |m: Option<Month>| m.map(|m| m.to_string());
    let mut history = get_path(&rec.document()?, "history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    history.push(json!({
        "state": to,
        "action": step.action,
        "level": level,
        "by": caller.user_id,
        "on": on,
        "reason": step.reason,
        "stop_from": month_text(step.stop_from),
        "stop_condition": step.stop_condition,
        "person_id": step.person_id,
    }));
    fields.insert("state".into(), json!(to));
    fields.insert("history".into(), Value::Array(history));
    let mut own = Map::new();
    match step.action {
        SubsidyAction::Pass if to == SubsidyState::Funded => {
            own.insert("decided_on".into(), json!(on));
        }
        SubsidyAction::Return => {
            own.insert("reason".into(), json!(step.reason));
        }
        SubsidyAction::RecommendStop => {
            own.insert("recommended_stop".into(), json!(step.stop_condition));
            own.insert(
                "recommended_stop_from".into(),
                json!(month_text(step.stop_from)),
            );
            own.insert("recommended_on".into(), json!(on));
            own.insert("reason".into(), json!(step.reason));
        }
        SubsidyAction::Stop => {
            own.insert("reason".into(), json!(step.reason));
            own.insert("stopped_from".into(), json!(month_text(step.stop_from)));
            own.insert("stop_condition".into(), json!(step.stop_condition));
        }
        SubsidyAction::StartReview | SubsidyAction::Pass | SubsidyAction::Resubmit => {}
    }
    for (key, value) in own {
        fields.entry(key).or_insert(value);
    }
    let mut edit = Edit::update(rec, fields)?;
    edit.lifecycle = true;
    staff::apply(conn, caller, env, edit)?;
    Ok(())
}

/// A stop condition the data shows for a funded application, and the first month it
/// would not pay; `None` when none is met.
fn detected_stop(
    conn: &mut DbConn,
    config: &Config,
    rec: &Record,
    doc: &Value,
    person: &PersonRow,
    today: NaiveDate,
) -> Result<Option<(StopCondition, Month)>, ApiError> {
    let standards = config.subsidy_standards();
    let (Some(retirement), Some(from)) = (
        retirement_of(person, config, SubsidyKind::FlexibleInsurance),
        month(doc, "payable_from"),
    ) else {
        return Ok(None);
    };
    let children = casefile::children(conn, &person.id)?;
    let of = |entity: Entity| children.iter().filter(move |r| r.entity == entity);
    let placements: Vec<(&str, Value)> = of(Entity::Placement)
        .map(|r| Ok((r.id.as_str(), r.document()?)))
        .collect::<Result<_, ApiError>>()?;
    let follow_ups: Vec<Value> = of(Entity::FollowUp)
        .map(|r| r.document().map_err(ApiError::from))
        .collect::<Result<_, ApiError>>()?;
    // Work with an employer (not one's own business) that holds today.
    let hired = casefile::current_work(&placements, &follow_ups, today)
        .filter(|(_, work)| !work.self_employed)
        .map(|(_, work)| Month::of(work.started_on));
    let mut imprisoned = false;
    for exit in of(Entity::Exit) {
        imprisoned |= text(&exit.document()?, "reason") == Some("imprisoned");
    }
    // The case file's facts, the declared income, and what the latest monthly
    // verification found (its income over the declared one).
    let checked = checks::observed(conn, &person.id, rec)?;
    let found = checked.map(|(seen, _)| seen).unwrap_or_default();
    let declared = get_path(doc, "monthly_income")
        .and_then(Value::as_i64)
        .map(|yuan| Fen(yuan.saturating_mul(100)));
    let seen = subsidies::Observed {
        employed_by_unit: hired.is_some(),
        imprisoned,
        monthly_income: found.monthly_income.or(declared),
        unit_pays_insurance: found.unit_pays_insurance,
        still_working_flexibly: found.still_working_flexibly,
        insurance_paid: found.insurance_paid,
        ..Default::default()
    };
    let others: Vec<Record> = of(Entity::FlexibleSubsidy).cloned().collect();
    let bounds = Bounds {
        first_enjoyed: first_enjoyed(&others, rec, from)?,
        retirement,
        stopped_from: None,
    };
    let period_end = subsidies::period_end(standards.period, bounds);
    let this_month = Month::of(today);
    let met = subsidies::stops_met(
        SubsidyKind::FlexibleInsurance,
        this_month,
        period_end,
        retirement,
        &seen,
        standards.thresholds,
    );
    Ok(met.first().map(|condition| {
        let from = match condition {
            StopCondition::RetirementAge => retirement,
            StopCondition::PeriodExceeded => period_end.plus(1),
            StopCondition::EmployedByUnit => hired.unwrap_or(this_month),
            // What a verification found, from the month it verified.
            _ => checked.map_or(this_month, |(_, m)| m),
        };
        (*condition, from)
    }))
}

/// The upkeep's check of every funded subsidy against the stop conditions the data shows
/// (for the flexible-employment subsidy: retirement age reached, the period over, work
/// with an employer, an exit for imprisonment, a declared income at the average wage; for
/// the public-welfare job, person by person, in [`welfare`]): a condition met becomes a stop recommendation
/// to the approving level, as the server, once (an application recommended already is
/// left to that level). Returns how many were recommended.
pub fn recommend_stops(
    conn: &mut DbConn,
    env: &Env<'_>,
    config: &Config,
) -> Result<usize, ApiError> {
    let communities = liuqing_schema::records::communities_in_scope(conn, env.scope)?;
    let applications =
        liuqing_schema::records::live_of_entity(conn, Entity::FlexibleSubsidy, &communities)?;
    let caller = Caller::server();
    let today = env.today;
    let mut recommended = 0;
    for rec in applications {
        let doc = rec.document()?;
        if state_of(&doc) != SubsidyState::Funded || text(&doc, "recommended_stop").is_some() {
            continue;
        }
        let Some(person) = rec
            .parent_id
            .as_deref()
            .map(|p| casefile::person_row(conn, p))
            .transpose()?
            .flatten()
        else {
            continue;
        };
        let Some((condition, from)) = detected_stop(conn, config, &rec, &doc, &person, today)?
        else {
            continue;
        };
        let step = Step {
            action: SubsidyAction::RecommendStop,
            reason: Some(format!("系统核查：{}", condition.chinese_name())),
            stop_from: Some(from),
            stop_condition: Some(condition),
            person_id: None,
        };
        let at = (SubsidyState::Funded, Level::Station);
        // In a savepoint of its own: one application the server cannot write does not
        // hold up the others, nor the next rounds.
        match crate::db::transaction(conn, |conn| {
            record_step(conn, &caller, env, &rec, &step, at, Map::new())
        }) {
            Ok(()) => recommended += 1,
            Err(e) => tracing::warn!(application = %rec.id, error = ?e,
                "could not recommend stopping a flexible-employment subsidy"),
        }
    }
    Ok(recommended + welfare::recommend_stops(conn, env, config)?)
}
