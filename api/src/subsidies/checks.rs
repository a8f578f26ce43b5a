//! The monthly verification of running subsidies (补贴跟踪回访). For each month a funded
//! subsidy pays a person, the person's coordinator gets a `subsidy_check` task, once (its
//! id derives from the application, the person and the month); the `subsidy_check`
//! record they make closes it (`liuqing_sync::follow_on`), and the latest one's answers
//! feed the stop recommendations ([`observed`]).

use liuqing_schema::domain::months::Month;
use liuqing_schema::domain::subsidies::{Fen, Observed, SubsidyKind, SubsidyState};
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records::{self, Record};
use liuqing_schema::{casefile, DbConn};
use liuqing_sync::engine::Env;
use serde_json::Value;

use super::{kind_of, month, persons_paid, state_of, text, APPLICATIONS};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::maintenance::Assignees;
use crate::staff::{self, NewTask, TaskOf};

/// The persons a funded application pays for `m` (not stopped before it).
fn paid_in(rec: &Record, doc: &Value, m: Month) -> Vec<String> {
    persons_paid(rec, doc)
        .into_iter()
        .filter(|(_, span)| span.is_some_and(|(first, last)| first <= m && m <= last))
        .map(|(person, _)| person)
        .collect()
}

/// What the coordinator is to find out, for the task's notes.
fn questions(kind: SubsidyKind) -> &'static str {
    match kind {
        SubsidyKind::FlexibleInsurance => {
            "核实：是否仍在灵活就业、本月社保是否按时缴纳、是否已有单位为其缴纳社保、月收入"
        }
        SubsidyKind::PublicWelfareJob => {
            "核实：是否仍在公益性岗位、工资是否不低于最低工资、工作量是否达标、实际岗位是否与申报一致"
        }
    }
}

/// Raises this month's `subsidy_check` tasks for the funded subsidies of `env`'s scope;
/// returns how many it raised. A person no coordinator serves gets none (the station's
/// lists still show the subsidy).
pub fn raise(conn: &mut DbConn, env: &Env<'_>) -> Result<usize, ApiError> {
    let this_month = Month::of(env.today);
    let due = this_month.plus(1).first_day() - chrono::Duration::days(1);
    let communities = records::communities_in_scope(conn, env.scope)?;
    let caller = Caller::server();
    let mut assignees = Assignees::default();
    let mut raised = 0;
    for entity in APPLICATIONS {
        let kind = kind_of(entity);
        for rec in records::live_of_entity(conn, entity, &communities)? {
            let doc = rec.document()?;
            if state_of(&doc) != SubsidyState::Funded {
                continue;
            }
            for person in paid_in(&rec, &doc, this_month) {
                let id = liuqing_sync::follow_on::derived_id(&format!(
                    "subsidy check\0{}\0{person}\0{this_month}",
                    rec.id
                ));
                if records::find(conn, Entity::Task, &id.to_string())?.is_some() {
                    continue;
                }
                let Some(household) = records::find(conn, Entity::Person, &person)?
                    .filter(|p| !p.deleted)
                    .and_then(|p| p.parent_id)
                else {
                    continue;
                };
                let Some(household_rec) =
                    records::find(conn, Entity::Household, &household)?.filter(|h| !h.deleted)
                else {
                    continue;
                };
                let Some(assignee) = assignees.of(conn, &household_rec)? else {
                    continue;
                };
                let task = NewTask {
                    id: Some(id),
                    of: TaskOf::PersonIn { person, household },
                    assignee_id: assignee,
                    kind: "subsidy_check",
                    title: format!("补贴跟踪回访（{this_month}）：{}", kind.chinese_name()),
                    due_on: Some(due),
                    notes: Some(questions(kind).to_string()),
                    links: vec![
                        ("subsidy_id", rec.id.clone()),
                        ("month", this_month.to_string()),
                    ],
                };
                // In a savepoint of its own, as the other task raisers: one task the
                // server cannot write holds up none of the others.
                match crate::db::transaction(conn, |conn| staff::add_task(conn, &caller, env, task))
                {
                    Ok(_) => raised += 1,
                    Err(e) => tracing::warn!(application = %rec.id, error = ?e,
                        "could not raise a subsidy verification task"),
                }
            }
        }
    }
    Ok(raised)
}

/// What the latest verification of `subsidy` for `person` found (the answers left empty
/// stay unknown), and the month it verified; `None` when there is none.
pub(super) fn observed(
    conn: &mut DbConn,
    person: &str,
    subsidy: &Record,
) -> Result<Option<(Observed, Month)>, ApiError> {
    let field = match kind_of(subsidy.entity) {
        SubsidyKind::FlexibleInsurance => "flexible_subsidy_id",
        SubsidyKind::PublicWelfareJob => "welfare_subsidy_id",
    };
    let mut latest: Option<(Month, String, Value)> = None;
    for check in casefile::children_of(conn, person, Entity::SubsidyCheck)? {
        let doc = check.document()?;
        if text(&doc, field) != Some(subsidy.id.as_str()) {
            continue;
        }
        let (Some(m), Some(on)) = (month(&doc, "month"), text(&doc, "checked_on")) else {
            continue;
        };
        let key = (m, on.to_string());
        if latest
            .as_ref()
            .is_none_or(|(lm, lon, _)| key > (*lm, lon.clone()))
        {
            latest = Some((key.0, key.1, doc));
        }
    }
    Ok(latest.map(|(m, _, doc)| {
        let flag = |path: &str| get_path(&doc, path).and_then(Value::as_bool);
        let fen = |path: &str| {
            get_path(&doc, path)
                .and_then(Value::as_i64)
                .map(|yuan| Fen(yuan.saturating_mul(100)))
        };
        let seen = Observed {
            wage: fen("wage"),
            workload_below_standard: flag("workload_below_standard"),
            job_as_declared: flag("job_as_declared"),
            unit_pays_insurance: flag("unit_pays_insurance"),
            still_working_flexibly: flag("still_working"),
            insurance_paid: flag("insurance_paid"),
            monthly_income: fen("monthly_income"),
            ..Default::default()
        };
        (seen, m)
    }))
}
