//! The public-welfare job subsidy (社区公益性岗位补贴): an employer's application for the
//! recognised persons it placed on public-welfare jobs. The chain is the flexible
//! subsidy's (`super::take`); what differs is here:
//! - the station's rules: the signed form, each placement a public-welfare job of this
//!   employer, each person recognised with their labour contract and wage records on file,
//!   and before 初审 passes an on-site check (实地核查): an employer visit naming the
//!   application;
//! - the figures, per person (`lines`): the months of the period the person was on the
//!   job, cut by their retirement, their period cap and their own stop; the application's
//!   months and amount are the sums;
//! - stops, per person: a stop ends one person's subsidy from a month, and the application
//!   is stopped when every person's is.

use chrono::NaiveDate;
use liuqing_schema::casefile::{self, PersonRow};
use liuqing_schema::domain::gates::Unmet;
use liuqing_schema::domain::months::{Month, Span};
use liuqing_schema::domain::subsidies::{
    self, Bounds, Fen, Level, Observed, StopCondition, SubsidyAction, SubsidyKind, SubsidyState,
};
use liuqing_schema::domain::EvidenceType;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records::{self, Record};
use liuqing_schema::scope::Scope;
use liuqing_schema::DbConn;
use liuqing_sync::engine::Env;
use serde_json::{json, Map, Value};

use super::{
    lines_of, materials_on_file, month, record_step, retired, retirement_of, state_of, text, Step,
};
use crate::auth::Caller;
use crate::config::Config;
use crate::error::ApiError;

const KIND: SubsidyKind = SubsidyKind::PublicWelfareJob;

/// A step being taken: the step, the state it reaches by the chain, and whether it is the
/// station's step forward (which checks the rules).
pub(super) struct Taking<'a> {
    pub step: &'a Step,
    pub to: SubsidyState,
    pub station_forward: bool,
}

/// A placement the application names, as far as it can be read.
struct Placed {
    placement_id: String,
    placement: Option<Value>,
    person: Option<PersonRow>,
}

impl Placed {
    fn found(&self) -> Option<(&Value, &PersonRow)> {
        Some((self.placement.as_ref()?, self.person.as_ref()?))
    }
}

fn placed(conn: &mut DbConn, doc: &Value) -> Result<Vec<Placed>, ApiError> {
    let ids: Vec<String> = get_path(doc, "placement_ids")
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    for placement_id in ids {
        let rec = records::find(conn, Entity::Placement, &placement_id)?.filter(|r| !r.deleted);
        let (placement, person) = match rec {
            Some(rec) => {
                let person = match rec.parent_id.as_deref() {
                    Some(p) => casefile::person_row(conn, p)?,
                    None => None,
                };
                (Some(rec.document()?), person)
            }
            None => (None, None),
        };
        found.push(Placed {
            placement_id,
            placement,
            person,
        });
    }
    Ok(found)
}

fn date(doc: &Value, path: &str) -> Option<NaiveDate> {
    text(doc, path).and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

/// The on-site checks (实地核查) recorded of the application `id`: the employer's visits
/// with purpose `site_check` naming it.
pub(crate) fn site_checks(
    conn: &mut DbConn,
    employer_id: &str,
    id: &str,
) -> Result<Vec<Record>, ApiError> {
    let mut checks = Vec::new();
    for visit in casefile::children_of(conn, employer_id, Entity::EmployerVisit)? {
        let doc = visit.document()?;
        if text(&doc, "purpose") == Some("site_check")
            && text(&doc, "welfare_subsidy_id") == Some(id)
        {
            checks.push(visit);
        }
    }
    Ok(checks)
}

/// The name of the employer `id`, if it is one.
pub(crate) fn employer_name(conn: &mut DbConn, id: &str) -> Result<Option<String>, ApiError> {
    Ok(match records::find(conn, Entity::Employer, id)? {
        Some(e) => text(&e.document()?, "name").map(str::to_string),
        None => None,
    })
}

fn rule(rule: &'static str, reason: String, evidence: Vec<EvidenceType>) -> Unmet {
    Unmet {
        rule,
        category: None,
        standing: None,
        reason,
        evidence,
    }
}

/// The rules on the placements themselves, checked at every level's pass (a placement
/// stays editable, so what the station checked is checked again above it): each listed
/// placement exists and is a public-welfare job of this employer paying at least the
/// minimum wage, each person is listed once, and nobody's months are paid already by
/// another application (`paid`).
fn placement_rules(config: &Config, doc: &Value, placed: &[Placed], paid: &[Value]) -> Vec<Unmet> {
    let mut unmet = Vec::new();
    if placed.is_empty() {
        unmet.push(rule(
            "placements",
            "申请须列明在公益性岗位上安置的人员".into(),
            Vec::new(),
        ));
    }
    let employer_id = text(doc, "employer_id").unwrap_or_default();
    let minimum = config.subsidy_standards().thresholds.minimum_wage;
    let applied = month(doc, "period_from").zip(month(doc, "period_to"));
    for (i, p) in placed.iter().enumerate() {
        let Some((placement, person)) = p.found() else {
            unmet.push(rule(
                "placements",
                format!("安置记录 {} 不存在或已删除", p.placement_id),
                Vec::new(),
            ));
            continue;
        };
        let name = &person.name;
        if text(placement, "kind") != Some("public_welfare") {
            unmet.push(rule(
                "placements",
                format!("{name}的安置不是公益性岗位"),
                Vec::new(),
            ));
        }
        if text(placement, "employer_id") != Some(employer_id) {
            unmet.push(rule(
                "placements",
                format!("{name}不是由本单位安置的"),
                Vec::new(),
            ));
        }
        let listed_before = placed[..i]
            .iter()
            .any(|q| q.person.as_ref().is_some_and(|o| o.id == person.id));
        if listed_before {
            unmet.push(rule(
                "placements",
                format!("{name}在申请中列了两次"),
                Vec::new(),
            ));
        }
        let wage = get_path(placement, "monthly_wage").and_then(Value::as_i64);
        if let Some(w) = wage.filter(|w| Fen(w.saturating_mul(100)) < minimum) {
            unmet.push(rule(
                "wage_below_minimum",
                format!("{name}的月工资 {w} 元低于本地最低工资标准 {minimum} 元"),
                Vec::new(),
            ));
        }
        let Some((from, to)) = applied else {
            continue;
        };
        let mine = on_the_job(Span::new(from, to), placement);
        let already = paid
            .iter()
            .flat_map(lines_of)
            .filter(|l| text(l, "person_id") == Some(person.id.as_str()))
            .filter_map(|l| {
                Some(Span::new(
                    month(&l, "payable_from")?,
                    month(&l, "payable_to")?,
                ))
            })
            .find(|other| !other.intersect(mine).is_empty());
        if let Some(other) = already {
            unmet.push(rule(
                "already_paid",
                format!(
                    "{name}在 {} 至 {} 已享受公益性岗位补贴（另一份申请）",
                    other.from, other.to
                ),
                Vec::new(),
            ));
        }
    }
    unmet
}

/// What a station step needs and the application lacks, at once: the form, the
/// placements' rules, each person's standing, materials and age; and for `pass`, the
/// on-site check the initial review does before it passes.
fn unmet(
    conn: &mut DbConn,
    config: &Config,
    rec: &Record,
    doc: &Value,
    placed: &[Placed],
    paid: &[Value],
    pass: bool,
) -> Result<Vec<Unmet>, ApiError> {
    let mut unmet = Vec::new();
    if text(doc, "form_sha256").is_none() {
        unmet.push(rule(
            "application_form",
            "缺少《社区公益性岗位补贴申请表》（单位签章）的照片".into(),
            Vec::new(),
        ));
    }
    unmet.extend(placement_rules(config, doc, placed, paid));
    let employer_id = text(doc, "employer_id").unwrap_or_default();
    let needed: Vec<EvidenceType> = [EvidenceType::LabourContract, EvidenceType::WageRecord]
        .into_iter()
        .filter(|m| !config.shared_evidence().contains(m))
        .collect();
    for (placement, person) in placed.iter().filter_map(Placed::found) {
        let name = &person.name;
        if person.status != "recognised" {
            unmet.push(rule(
                "recognised",
                format!("{name}须为已认定的就业困难人员"),
                Vec::new(),
            ));
        }
        let on_file =
            materials_on_file(&casefile::children_of(conn, &person.id, Entity::Evidence)?)?;
        let missing: Vec<EvidenceType> = needed
            .iter()
            .copied()
            .filter(|m| !on_file.contains(m))
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|m| m.chinese_name()).collect();
            unmet.push(rule(
                "materials",
                format!("{name}缺少材料：{}", names.join("、")),
                missing,
            ));
        }
        if person.birth().is_none() || person.sex.is_none() {
            unmet.push(rule(
                "birth_date",
                format!("{name}的出生日期和性别未知，无法计算享受期限"),
                vec![EvidenceType::ResidentIdCard],
            ));
        }
        let applied = match (month(doc, "period_from"), month(doc, "period_to")) {
            (Some(from), Some(to)) => Some(on_the_job(Span::new(from, to), placement).from),
            _ => None,
        };
        if let Some(u) = retired(retirement_of(person, config, KIND), applied, name) {
            unmet.push(u);
        }
    }
    if pass && site_checks(conn, employer_id, &rec.id)?.is_empty() {
        unmet.push(rule(
            "site_check",
            "初审须实地核查：协理员走访单位，记录一次目的为“实地核查”、注明本申请的单位走访".into(),
            Vec::new(),
        ));
    }
    Ok(unmet)
}

/// Every public-welfare application that paid (funded or stopped), with its id: the
/// period cap counts from a person's first month ever paid, with whichever employer, and
/// no month is paid twice. Read once per step or upkeep round.
fn paid_applications(conn: &mut DbConn) -> Result<Vec<(String, Value)>, ApiError> {
    let all = records::communities_in_scope(conn, &Scope::All)?;
    let mut paid = Vec::new();
    for rec in records::live_of_entity(conn, Entity::WelfareSubsidy, &all)? {
        let doc = rec.document()?;
        if matches!(state_of(&doc), SubsidyState::Funded | SubsidyState::Stopped) {
            paid.push((rec.id, doc));
        }
    }
    Ok(paid)
}

/// The paid applications other than `this`.
fn others(paid: &[(String, Value)], this: &str) -> Vec<Value> {
    paid.iter()
        .filter(|(id, _)| id != this)
        .map(|(_, doc)| doc.clone())
        .collect()
}

/// The first month `person_id` was ever paid this subsidy: `from`, or an earlier month
/// of `paid` (other applications).
fn first_enjoyed(paid: &[Value], person_id: &str, from: Month) -> Month {
    paid.iter()
        .flat_map(lines_of)
        .filter(|l| text(l, "person_id") == Some(person_id))
        .filter(|l| get_path(l, "months").and_then(Value::as_i64) > Some(0))
        .filter_map(|l| month(&l, "payable_from"))
        .fold(from, Month::min)
}

/// The months of `applied` a placement covers: from the month it started to the month it
/// ended (if it has).
fn on_the_job(applied: Span, placement: &Value) -> Span {
    let started = date(placement, "started_on").map(Month::of);
    let ended = date(placement, "ended_on").map(Month::of);
    Span::new(
        started.map_or(applied.from, |s| s.max(applied.from)),
        ended.map_or(applied.to, |e| e.min(applied.to)),
    )
}

/// One person's bounds: their retirement and their first month ever paid.
fn bounds_of(
    config: &Config,
    paid: &[Value],
    person: &PersonRow,
    from: Month,
    stopped_from: Option<Month>,
) -> Option<Bounds> {
    Some(Bounds {
        first_enjoyed: first_enjoyed(paid, &person.id, from),
        retirement: retirement_of(person, config, KIND)?,
        stopped_from,
    })
}

/// The fields `at.step` writes on a public-welfare application, and the state it reaches:
/// the rules first (the station's all of them, the levels above the placements'), then
/// each person's line and the totals. Until funding the lines are computed afresh; once
/// funded they are what was approved, and a stop or a recommendation changes only its
/// person's line (a placement edited later changes no approved figure).
pub(super) fn fields(
    conn: &mut DbConn,
    config: &Config,
    rec: &Record,
    doc: &Value,
    at: Taking<'_>,
) -> Result<(SubsidyState, Map<String, Value>), ApiError> {
    let step = at.step;
    let placed = placed(conn, doc)?;
    let funded = state_of(doc) == SubsidyState::Funded;
    // Other applications' paid months matter to the rules and to fresh figures; a stop or
    // a recommendation on a funded application needs neither.
    let paid = if at.station_forward || step.action == SubsidyAction::Pass || !funded {
        others(&paid_applications(conn)?, &rec.id)
    } else {
        Vec::new()
    };
    let unmet = if at.station_forward {
        let pass = step.action == SubsidyAction::Pass;
        unmet(conn, config, rec, doc, &placed, &paid, pass)?
    } else if step.action == SubsidyAction::Pass {
        placement_rules(config, doc, &placed, &paid)
    } else {
        Vec::new()
    };
    if !unmet.is_empty() {
        return Err(ApiError::RulesUnmet {
            action: step.action.to_string(),
            unmet,
        });
    }
    let lines = if funded {
        approved_lines(doc, step)?
    } else {
        match (month(doc, "period_from"), month(doc, "period_to")) {
            (Some(from), Some(to)) => fresh_lines(config, &placed, &paid, Span::new(from, to)),
            _ => return Ok((at.to, Map::new())),
        }
    };
    Ok(totals(at.to, step, lines))
}

/// Each person's line computed afresh from the period, their placement, retirement,
/// period cap (`paid`: other applications) and stop.
fn fresh_lines(config: &Config, placed: &[Placed], paid: &[Value], period: Span) -> Vec<Value> {
    let standards = config.subsidy_standards();
    let mut lines = Vec::new();
    for p in placed {
        let Some((placement, person)) = p.found() else {
            continue;
        };
        let applied = on_the_job(period, placement);
        let figured = bounds_of(config, paid, person, applied.from, None)
            .map(|bounds| subsidies::payable(applied, standards.period, bounds));
        let payable = figured.unwrap_or(Span::new(applied.from, applied.from.plus(-1)));
        let amount = subsidies::public_welfare_amount(payable, standards.public_welfare_monthly);
        lines.push(line(&p.placement_id, &person.id, payable, amount));
    }
    lines
}

/// A person's line as first computed: the months paid and the amount, no stop yet. No
/// month paid shows no span (an empty one would run backwards).
fn line(placement_id: &str, person_id: &str, payable: Span, amount: Fen) -> Value {
    let paying = payable.months() > 0;
    json!({
        "placement_id": placement_id,
        "person_id": person_id,
        "payable_from": paying.then(|| payable.from.to_string()),
        "payable_to": paying.then(|| payable.to.to_string()),
        "months": payable.months(),
        "amount_fen": amount.0,
        "stopped_from": null,
        "stop_condition": null,
        "recommended_stop": null,
        "recommended_stop_from": null,
    })
}

/// The approved lines, with `step`'s stop or recommendation on its person's: a stop cuts
/// that person's months at the month before it and pays each month left what each paid.
fn approved_lines(doc: &Value, step: &Step) -> Result<Vec<Value>, ApiError> {
    let mut lines = lines_of(doc);
    let Some(named) = step.person_id.as_deref() else {
        return Ok(lines);
    };
    let Some(line_of) = lines
        .iter_mut()
        .find(|l| text(l, "person_id") == Some(named))
    else {
        return Err(ApiError::validation(
            "person_id",
            "is not a person this application is for",
        ));
    };
    if text(line_of, "stopped_from").is_some() {
        return Err(ApiError::validation(
            "person_id",
            "this person's subsidy is stopped already",
        ));
    }
    let condition = json!(step.stop_condition);
    let from = json!(step.stop_from.map(|m| m.to_string()));
    match step.action {
        SubsidyAction::RecommendStop => {
            line_of["recommended_stop"] = condition;
            line_of["recommended_stop_from"] = from;
        }
        SubsidyAction::Stop => {
            line_of["stopped_from"] = from;
            line_of["stop_condition"] = condition;
            line_of["recommended_stop"] = Value::Null;
            line_of["recommended_stop_from"] = Value::Null;
            let span = month(line_of, "payable_from").zip(month(line_of, "payable_to"));
            if let (Some((first, last)), Some(stop)) = (span, step.stop_from) {
                let months = get_path(line_of, "months")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let amount = get_path(line_of, "amount_fen")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                let monthly = if months > 0 { amount / months } else { 0 };
                let payable = Span::new(first, last.min(stop.plus(-1)));
                let paying = payable.months() > 0;
                line_of["payable_from"] = json!(paying.then(|| first.to_string()));
                line_of["payable_to"] = json!(paying.then(|| payable.to.to_string()));
                line_of["months"] = json!(payable.months());
                line_of["amount_fen"] = json!(monthly.saturating_mul(i64::from(payable.months())));
            }
        }
        _ => {}
    }
    Ok(lines)
}

/// The application's fields from its `lines`: the totals, the span, and for a stop the
/// state (it stops when no person is paid on) and the recommendation still waiting.
fn totals(to: SubsidyState, step: &Step, lines: Vec<Value>) -> (SubsidyState, Map<String, Value>) {
    let mut fields = Map::new();
    let months_of = |l: &Value| get_path(l, "months").and_then(Value::as_i64).unwrap_or(0);
    let paid_lines: Vec<&Value> = lines.iter().filter(|l| months_of(l) > 0).collect();
    let total_months: i64 = lines.iter().map(months_of).sum();
    let total = lines
        .iter()
        .filter_map(|l| get_path(l, "amount_fen").and_then(Value::as_i64))
        .sum::<i64>();
    let first = paid_lines
        .iter()
        .filter_map(|l| month(l, "payable_from"))
        .min();
    let last = paid_lines
        .iter()
        .filter_map(|l| month(l, "payable_to"))
        .max();
    fields.insert("payable_from".into(), json!(first.map(|m| m.to_string())));
    fields.insert("payable_to".into(), json!(last.map(|m| m.to_string())));
    fields.insert("months".into(), json!(total_months));
    fields.insert("amount_fen".into(), json!(Fen(total).0));
    let stopped = |l: &Value| text(l, "stopped_from").is_some();
    let mut to = to;
    if step.action == SubsidyAction::Stop {
        // The application stops when nobody is paid on (each person stopped, or never
        // paid); until then it runs, and says which recommendation still waits.
        let every_one_done = lines.iter().all(|l| stopped(l) || months_of(l) == 0);
        let waiting = lines
            .iter()
            .find(|l| text(l, "recommended_stop").is_some() && !stopped(l));
        fields.insert(
            "recommended_stop".into(),
            json!(waiting.and_then(|l| text(l, "recommended_stop"))),
        );
        fields.insert(
            "recommended_stop_from".into(),
            json!(waiting.and_then(|l| text(l, "recommended_stop_from"))),
        );
        if !every_one_done {
            to = SubsidyState::Funded;
            fields.insert("stopped_from".into(), Value::Null);
            fields.insert("stop_condition".into(), Value::Null);
        }
    }
    fields.insert("lines".into(), Value::Array(lines));
    (to, fields)
}

/// A stop condition the data shows for one person of a funded application, and the
/// first month it would not pay.
fn detected_stop(
    conn: &mut DbConn,
    config: &Config,
    rec: &Record,
    paid: &[Value],
    line: &Value,
    (placement, person): (&Value, &PersonRow),
    today: NaiveDate,
) -> Result<Option<(StopCondition, Month)>, ApiError> {
    let standards = config.subsidy_standards();
    let Some(from) = month(line, "payable_from") else {
        return Ok(None);
    };
    let Some(bounds) = bounds_of(config, paid, person, from, None) else {
        return Ok(None);
    };
    let this_month = Month::of(today);
    let period_end = subsidies::period_end(standards.period, bounds);
    // The placement's wage, unless the latest monthly verification found another; and
    // what else it found.
    let checked = super::checks::observed(conn, &person.id, rec)?;
    let found = checked.map(|(seen, _)| seen).unwrap_or_default();
    let seen = Observed {
        wage: found.wage.or(get_path(placement, "monthly_wage")
            .and_then(Value::as_i64)
            .map(|yuan| Fen(yuan.saturating_mul(100)))),
        workload_below_standard: found.workload_below_standard,
        job_as_declared: found.job_as_declared,
        ..Default::default()
    };
    let met = subsidies::stops_met(
        KIND,
        this_month,
        period_end,
        bounds.retirement,
        &seen,
        standards.thresholds,
    );
    if let Some(condition) = met.first() {
        let from = match condition {
            StopCondition::RetirementAge => bounds.retirement,
            StopCondition::PeriodExceeded => period_end.plus(1),
            _ => checked.map_or(this_month, |(_, m)| m),
        };
        return Ok(Some((*condition, from)));
    }
    // The verification found the person off the job (its `still_working`, which
    // `Observed` carries for both subsidies).
    let off_the_job = |(seen, _): &(Observed, Month)| seen.still_working_flexibly == Some(false);
    if let Some((_, m)) = checked.filter(off_the_job) {
        return Ok(Some((StopCondition::Other, m)));
    }
    // Off the job: the placement ended, or a follow-up found the person gone.
    let placement_id = text(line, "placement_id").unwrap_or_default();
    let mut gone = date(placement, "ended_on")
        .filter(|ended| *ended <= today)
        .map(|ended| Month::of(ended).plus(1));
    for follow_up in casefile::children_of(conn, &person.id, Entity::FollowUp)? {
        let doc = follow_up.document()?;
        if casefile::left_placement(&doc) == Some(placement_id) {
            gone = gone.or(date(&doc, "followed_on").map(Month::of));
        }
    }
    Ok(gone.map(|from| (StopCondition::Other, from)))
}

/// The upkeep's check of every funded public-welfare application of `env`'s scope, person
/// by person: a condition met (retirement age, the period over, a wage below the minimum,
/// off the job) becomes a stop recommendation for that person, as the server, once. One
/// person per application a round (the next round reads the application anew).
pub(super) fn recommend_stops(
    conn: &mut DbConn,
    env: &Env<'_>,
    config: &Config,
) -> Result<usize, ApiError> {
    let communities = records::communities_in_scope(conn, env.scope)?;
    let applications = records::live_of_entity(conn, Entity::WelfareSubsidy, &communities)?;
    let all_paid = paid_applications(conn)?;
    let caller = Caller::server();
    let mut recommended = 0;
    for rec in applications {
        let doc = rec.document()?;
        if state_of(&doc) != SubsidyState::Funded {
            continue;
        }
        let placed = placed(conn, &doc)?;
        let paid = others(&all_paid, &rec.id);
        for line in lines_of(&doc) {
            if text(&line, "stopped_from").is_some() || text(&line, "recommended_stop").is_some() {
                continue;
            }
            let Some(found) = placed
                .iter()
                .find(|p| Some(p.placement_id.as_str()) == text(&line, "placement_id"))
                .and_then(Placed::found)
            else {
                continue;
            };
            let Some((condition, from)) =
                detected_stop(conn, config, &rec, &paid, &line, found, env.today)?
            else {
                continue;
            };
            let step = Step {
                action: SubsidyAction::RecommendStop,
                reason: Some(format!("系统核查：{}", condition.chinese_name())),
                stop_from: Some(from),
                stop_condition: Some(condition),
                person_id: Some(found.1.id.clone()),
            };
            let at = Taking {
                step: &step,
                to: SubsidyState::Funded,
                station_forward: false,
            };
            // In a savepoint of its own: one application the server cannot write does
            // not hold up the others, nor the next rounds.
            let recorded = crate::db::transaction(conn, |conn| {
                let (to, fields) = fields(conn, config, &rec, &doc, at)?;
                record_step(
                    conn,
                    &caller,
                    env,
                    &rec,
                    &step,
                    (to, Level::Station),
                    fields,
                )
            });
            match recorded {
                Ok(()) => recommended += 1,
                Err(e) => tracing::warn!(application = %rec.id, error = ?e,
                    "could not recommend stopping a public-welfare subsidy"),
            }
            break;
        }
    }
    Ok(recommended)
}
