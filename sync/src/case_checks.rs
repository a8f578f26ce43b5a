//! The guide's rules for a new record of a case (`domain::case_rules`), checked in the
//! write path so that a phone's push and a staff edit are held to the same ones: an
//! application while one is open, a tier for a person who is not recognised, a service
//! dated in the future, a second exit. A refusal rejects the mutation, naming the field.

use chrono::NaiveDate;
use liuqing_schema::casefile;
use liuqing_schema::domain::case_rules::{self, Application, Person, Refusal};
use liuqing_schema::domain::ExitReason;
use liuqing_schema::entities::{self, get_path, Entity};
use liuqing_schema::{DbConn, StoreError};
use serde_json::Value;

use crate::batch::Batch;
use crate::protocol::FieldProblem;

/// What the rules need beyond the record: the day and the settings.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub today: NaiveDate,
    /// Days a rejected applicant waits before applying again.
    pub reapply_wait_days: u32,
}

fn date(doc: &Value, path: &str) -> Option<NaiveDate> {
    get_path(doc, path)
        .and_then(Value::as_str)
        .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

/// The rule a new record of `entity` under `parent_id` breaks, if any.
pub(crate) fn check_new(
    conn: &mut DbConn,
    batch: &mut Batch,
    rules: Rules,
    entity: Entity,
    parent_id: Option<&str>,
    doc: &Value,
) -> Result<Option<FieldProblem>, StoreError> {
    let refusal: Result<(), Refusal> = match (entity, parent_id) {
        (Entity::ServiceRecord, _) => match date(doc, "delivered_on") {
            Some(on) => case_rules::may_record_service(on, rules.today),
            None => Ok(()),
        },
        (Entity::Referral | Entity::Placement | Entity::FollowUp, Some(person)) => {
            let field = match entity {
                Entity::Referral => "referred_on",
                Entity::Placement => "started_on",
                _ => "followed_on",
            };
            match date(doc, field) {
                Some(on) => case_rules::not_after_today(field, on, rules.today),
                None => Ok(()),
            }
            .and(jobs_rules(conn, batch, entity, person, doc)?)
        }
        (Entity::Recognition | Entity::Assessment | Entity::Plan | Entity::Exit, Some(p)) => {
            // Rare records: the database answers once it holds every decided write.
            batch.flush(conn)?;
            let Some(row) = casefile::person_row(conn, p)? else {
                return Ok(None);
            };
            let person = Person {
                recognised: row.status == "recognised",
                exited: row.status == "exited",
            };
            match entity {
                Entity::Recognition => {
                    let mut applications = Vec::new();
                    for r in casefile::children_of(conn, p, Entity::Recognition)? {
                        let d = r.document()?;
                        applications.push(Application {
                            state: get_path(&d, "state")
                                .and_then(Value::as_str)
                                .unwrap_or("received")
                                .to_string(),
                            received_on: date(&d, "received_on"),
                            decided_on: date(&d, "decided_on"),
                        });
                    }
                    case_rules::may_apply(
                        person,
                        &applications,
                        rules.today,
                        rules.reapply_wait_days,
                    )
                }
                Entity::Assessment | Entity::Plan => case_rules::may_assess(person),
                _ => {
                    let reason = get_path(doc, "reason")
                        .and_then(Value::as_str)
                        .and_then(|r| r.parse::<ExitReason>().ok());
                    match (reason, date(doc, "exit_on"), row.enrolled()) {
                        (Some(reason), Some(exit_on), Some(enrolled)) => case_rules::may_exit(
                            person,
                            reason,
                            exit_on,
                            rules.today,
                            row.last_contact(),
                            enrolled,
                        ),
                        _ => Ok(()),
                    }
                }
            }
        }
        _ => Ok(()),
    };
    Ok(refusal.err().map(|(field, reason)| FieldProblem {
        field: field.to_string(),
        reason,
    }))
}

/// How a placement or follow-up hangs together with the records it names: a placement
/// names an employer, a vacancy or an employer's name, and its vacancy's employer when it
/// names both; a follow-up follows one of the same person's placements.
fn jobs_rules(
    conn: &mut DbConn,
    batch: &mut Batch,
    entity: Entity,
    person: &str,
    doc: &Value,
) -> Result<Result<(), Refusal>, StoreError> {
    let text = |path| get_path(doc, path).and_then(Value::as_str);
    let mut parent_of = |entity, id: &str| -> Result<Option<String>, StoreError> {
        Ok(batch
            .find(conn, entity, id)?
            .and_then(|r| r.parent_id.clone()))
    };
    Ok(match entity {
        Entity::Placement => {
            let named = text("employer_id").is_some()
                || text("vacancy_id").is_some()
                || text("employer_name").is_some_and(|n| !n.trim().is_empty());
            match (text("employer_id"), text("vacancy_id")) {
                _ if !named => Err((
                    "employer_name",
                    "name the employer: `employer_id`, `vacancy_id` or `employer_name`".into(),
                )),
                (Some(employer), Some(vacancy))
                    if parent_of(Entity::Vacancy, vacancy)?.as_deref() != Some(employer) =>
                {
                    Err((
                        "vacancy_id",
                        "is a vacancy of another employer than `employer_id`".into(),
                    ))
                }
                _ => Ok(()),
            }
        }
        Entity::FollowUp => match text("placement_id") {
            Some(placement)
                if parent_of(Entity::Placement, placement)?.as_deref() != Some(person) =>
            {
                Err(("placement_id", "is a placement of another person".into()))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    })
}

/// The rule an edit of an existing record breaks, if any: the claimed categories are
/// fixed once an application is publicised (what is recognised is what was posted), a
/// subsidy application's own fields once the station passed it up, and a person's birth
/// date and sex are their ID number's, not typed in beside it.
pub(crate) fn check_update(
    entity: Entity,
    before: &Value,
    mutation: &crate::protocol::Mutation,
) -> Option<FieldProblem> {
    let touches =
        |path: &str| mutation.fields.contains_key(path) || mutation.set_ops.contains_key(path);
    let refusal = match entity {
        Entity::Recognition if touches("claimed_categories") => {
            let state = get_path(before, "state")
                .and_then(Value::as_str)
                .unwrap_or("received");
            case_rules::may_change_claim(state)
        }
        Entity::FlexibleSubsidy | Entity::WelfareSubsidy => {
            let state = get_path(before, "state")
                .and_then(Value::as_str)
                .unwrap_or("received");
            entities::spec(entity)
                .fields
                .iter()
                .filter(|f| f.policy != entities::Policy::StaffLocked && touches(f.path))
                .map(|f| f.path)
                .next()
                .map_or(Ok(()), |field| {
                    case_rules::may_change_application(field, state)
                })
        }
        Entity::Person if !touches("id_number") && get_path(before, "id_number").is_some() => {
            ["birth_date", "sex"]
                .into_iter()
                .find(|f| touches(f))
                .map_or(Ok(()), case_rules::derived_from_id_number)
        }
        _ => Ok(()),
    };
    refusal.err().map(|(field, reason)| FieldProblem {
        field: field.to_string(),
        reason,
    })
}

/// The rule deleting this record breaks, if any (`case_rules::may_delete`).
pub(crate) fn check_delete(entity: Entity, doc: &Value, by_staff: bool) -> Option<FieldProblem> {
    case_rules::may_delete(entity, doc, by_staff)
        .err()
        .map(|(field, reason)| FieldProblem {
            field: field.to_string(),
            reason,
        })
}
