//! What a write brings about in other records, in the same transaction:
//! - a `met` visit to a household closes the open `visit` tasks the server raised for it
//!   (the household was due a visit; now it has had one);
//! - a placement (上岗), or an exit for work with no placement recorded, schedules its
//!   follow-ups (跟踪回访) as `follow_up_due` tasks at the configured months;
//! - a placement on a vacancy fills a place: the vacancy's `filled` rises to the number
//!   of its placements still running;
//! - a follow-up recorded closes the earliest open follow-up task of its placement;
//! - a referral closes the open `job_match` task that proposed its vacancy to the person;
//! - a subsidy's monthly verification closes that month's `subsidy_check` task.
//!
//! So the phone that pushed the cause pulls the effect. The server's edits go through the
//! engine like any other, as the server.

use chrono::NaiveDate;
use liuqing_schema::casefile;
use liuqing_schema::domain::exits::ExitReason;
use liuqing_schema::domain::follow_ups;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::org;
use liuqing_schema::records::{self, Record};
use liuqing_schema::scope::Scope;
use liuqing_schema::users::Role;
use liuqing_schema::{DbConn, StoreError};
use serde_json::{json, Map, Value};

use crate::engine::{Env, Part, PartAnswer, Writer};
use crate::protocol::{Op, Status};
use crate::writer::{self, Author, Edit};

/// The server as a writer: its own edits (tasks it raises and closes).
pub const SERVER: Writer<'static> = Writer {
    user_id: "server",
    device_id: "server",
    role: Role::StationStaff,
    lifecycle: false,
    from_outbox: false,
};

/// What a group's applied mutations bring about.
#[derive(Debug, Default)]
pub(crate) struct Consequences {
    /// Households a `met` visit reached: their open `visit` tasks close.
    met: Vec<String>,
    /// Placements and exits written: the follow-ups of a placement (or of an exit for
    /// work with no placement recorded) are scheduled.
    placed: Vec<(Entity, String)>,
    /// Follow-ups recorded: each closes its placement's earliest open follow-up task.
    followed: Vec<String>,
    /// Referrals written: each closes the open `job_match` task that proposed its vacancy.
    referred: Vec<String>,
    /// Subsidy verifications written: each closes its subsidy's task of its month.
    checked: Vec<String>,
}

impl Consequences {
    pub(crate) fn is_empty(&self) -> bool {
        self.met.is_empty()
            && self.placed.is_empty()
            && self.followed.is_empty()
            && self.referred.is_empty()
            && self.checked.is_empty()
    }
}

/// What `parts`' applied mutations bring about.
pub(crate) fn of(parts: &[Part<'_>], answers: &[PartAnswer]) -> Consequences {
    let mut found = Consequences::default();
    for (part, answer) in parts.iter().zip(answers) {
        let Ok(answer) = answer else { continue };
        for (m, r) in part.mutations.iter().zip(&answer.results) {
            if r.status != Status::Applied || m.op != Op::Upsert {
                continue;
            }
            let text = |field: &str| m.fields.get(field).and_then(Value::as_str);
            let id = m.id.to_string();
            match m.entity.parse::<Entity>() {
                Ok(Entity::Visit) if text("outcome") == Some("met") => {
                    if let Some(h) = text("household_id") {
                        if !found.met.iter().any(|k| k == h) {
                            found.met.push(h.to_string());
                        }
                    }
                }
                Ok(entity @ (Entity::Placement | Entity::Exit)) => {
                    found.placed.push((entity, id));
                }
                Ok(Entity::FollowUp) => found.followed.push(id),
                Ok(Entity::Referral) => found.referred.push(id),
                Ok(Entity::SubsidyCheck) => found.checked.push(id),
                _ => {}
            }
        }
    }
    found
}

/// Brings `consequences` about, as the server, in the group's transaction.
pub(crate) fn bring_about(
    conn: &mut DbConn,
    consequences: &Consequences,
    env: &Env<'_>,
) -> Result<(), StoreError> {
    let all = Scope::All;
    let env = Env {
        scope: &all,
        ..*env
    };
    close_visit_tasks(conn, &consequences.met, &env)?;
    for (entity, id) in &consequences.placed {
        schedule_follow_ups(conn, *entity, id, &env)?;
        if *entity == Entity::Placement {
            fill_vacancy(conn, id, &env)?;
        }
    }
    for id in &consequences.followed {
        close_follow_up_task(conn, id, &env)?;
    }
    for id in &consequences.referred {
        close_match_task(conn, id, &env)?;
    }
    for id in &consequences.checked {
        close_check_task(conn, id, &env)?;
    }
    Ok(())
}

/// The server as the author of its edits.
fn server() -> Author {
    Author {
        user_id: SERVER.user_id.into(),
        device_id: SERVER.device_id.into(),
        role: SERVER.role,
        retiring: false,
    }
}

/// A record id derived from what it is for: every replica, and every repeat of the same
/// write, makes the same one, so a task is raised once however often its cause is seen.
pub fn derived_id(what: &str) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(what);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn is_open_visit_task(task: &Record) -> Result<bool, StoreError> {
    let doc = task.document()?;
    let text = |p| get_path(&doc, p).and_then(Value::as_str);
    Ok(text("kind") == Some("visit") && text("state") == Some("open"))
}

/// Closes the open `visit` tasks of `households`.
fn close_visit_tasks(
    conn: &mut DbConn,
    households: &[String],
    env: &Env<'_>,
) -> Result<(), StoreError> {
    for household in households {
        for task in casefile::children_of(conn, household, Entity::Task)? {
            if !is_open_visit_task(&task)? {
                continue;
            }
            close(conn, &task, env)?;
        }
    }
    Ok(())
}

/// Marks a task done, as the server.
fn close(conn: &mut DbConn, task: &Record, env: &Env<'_>) -> Result<(), StoreError> {
    let mut fields = Map::new();
    fields.insert("state".into(), json!("done"));
    writer::apply_edit(conn, &server(), env, Edit::update(task, fields)?)?;
    Ok(())
}

/// The open tasks of a kind in a person's household, with their documents.
fn open_tasks_of(
    conn: &mut DbConn,
    person: &str,
    kind: &str,
) -> Result<Vec<(Record, Value)>, StoreError> {
    let Some(household) = records::find(conn, Entity::Person, person)?.and_then(|p| p.parent_id)
    else {
        return Ok(Vec::new());
    };
    let mut open = Vec::new();
    for task in casefile::children_of(conn, &household, Entity::Task)? {
        let doc = task.document()?;
        let text = |p| get_path(&doc, p).and_then(Value::as_str);
        if text("kind") == Some(kind) && text("state") == Some("open") {
            open.push((task, doc));
        }
    }
    Ok(open)
}

/// The follow-ups (跟踪回访) of a placement, or of an exit for a job or a business of
/// one's own when no placement of the person is recorded (a placement schedules its
/// own): `follow_up_due` tasks at the configured months after it, for the coordinator
/// who enrolled the household (else the record's author). Their ids derive from the
/// record and the month, so writing the record again raises nothing more; a placement
/// recorded as already ended raises none.
fn schedule_follow_ups(
    conn: &mut DbConn,
    entity: Entity,
    id: &str,
    env: &Env<'_>,
) -> Result<(), StoreError> {
    let Some(record) = records::find(conn, entity, id)?.filter(|r| !r.deleted) else {
        return Ok(());
    };
    let doc = record.document()?;
    let text = |field: &str| get_path(&doc, field).and_then(Value::as_str);
    let date = |field: &str| text(field).and_then(|t| t.parse::<NaiveDate>().ok());
    let Some(person_id) = record.parent_id.clone() else {
        return Ok(());
    };
    let (placed_on, what) = match entity {
        Entity::Placement if text("ended_on").is_none() => {
            let job = text("job_title")
                .or(text("employer_name"))
                .unwrap_or("新岗位");
            (date("started_on"), format!("上岗：{job}"))
        }
        Entity::Exit => {
            let reason = text("reason").and_then(|r| r.parse::<ExitReason>().ok());
            let Some(reason) = reason.filter(|r| follow_ups::is_placement(*r)) else {
                return Ok(());
            };
            if !casefile::children_of(conn, &person_id, Entity::Placement)?.is_empty() {
                return Ok(());
            }
            (
                date("exit_on"),
                format!("实现就业：{}", reason.chinese_name()),
            )
        }
        _ => return Ok(()),
    };
    let Some(placed_on) = placed_on else {
        return Ok(());
    };
    let Some(person) = records::find(conn, Entity::Person, &person_id)? else {
        return Ok(());
    };
    let Some(household_id) = person.parent_id else {
        return Ok(());
    };
    let enroller = records::find(conn, Entity::Household, &household_id)?
        .and_then(|h| h.created_by)
        .filter(|u| u != SERVER.user_id);
    let Some(assignee) = enroller.or(record.created_by.clone()) else {
        return Ok(());
    };
    let due = follow_ups::due_dates(placed_on, env.follow_up_months);
    let total = due.len();
    for (i, (month, due_on)) in due.into_iter().enumerate() {
        let task_id = derived_id(&format!("follow-up due\0{entity}\0{id}\0{month}"));
        if records::find(conn, Entity::Task, &task_id.to_string())?.is_some() {
            continue;
        }
        let mut fields = Map::new();
        fields.insert("household_id".into(), json!(household_id));
        fields.insert("person_id".into(), json!(person_id));
        if entity == Entity::Placement {
            fields.insert("placement_id".into(), json!(id));
        }
        fields.insert("assignee_id".into(), json!(assignee));
        fields.insert("kind".into(), json!("follow_up_due"));
        fields.insert(
            "title".into(),
            json!(format!(
                "跟踪回访（第{}次，共{total}次）：工资、合同、社保、工作量",
                i + 1
            )),
        );
        fields.insert(
            "due_on".into(),
            json!(due_on.format("%Y-%m-%d").to_string()),
        );
        fields.insert("state".into(), json!("open"));
        fields.insert("notes".into(), json!(format!("{placed_on} {what}")));
        let mut edit = Edit::create(Entity::Task, fields);
        edit.id = task_id;
        writer::apply_edit(conn, &server(), env, edit)?;
    }
    Ok(())
}

/// A placement on a vacancy fills one of its places: the vacancy's `filled` is raised to
/// the number of its placements not ended, never lowered (staff may count hires the
/// system did not see). Counting rather than adding one makes a repeated or edited
/// placement change nothing.
fn fill_vacancy(conn: &mut DbConn, id: &str, env: &Env<'_>) -> Result<(), StoreError> {
    let Some(placement) = records::find(conn, Entity::Placement, id)?.filter(|r| !r.deleted) else {
        return Ok(());
    };
    let doc = placement.document()?;
    let Some(vacancy_id) = get_path(&doc, "vacancy_id").and_then(Value::as_str) else {
        return Ok(());
    };
    let Some(vacancy) = records::find(conn, Entity::Vacancy, vacancy_id)?.filter(|r| !r.deleted)
    else {
        return Ok(());
    };
    // The vacancy's street holds the persons who may be placed on it.
    let street = Scope::Subtrees(org::paths_of(
        conn,
        std::slice::from_ref(&vacancy.community_id),
    )?);
    let communities = records::communities_in_scope(conn, &street)?;
    let mut running = 0;
    for row in records::live_rows_of_entity(conn, Entity::Placement, &communities)? {
        let other = records::parse_json("records.data (placement)", &row.data)?;
        let on_it = get_path(&other, "vacancy_id").and_then(Value::as_str) == Some(vacancy_id);
        if on_it && get_path(&other, "ended_on").is_none_or(Value::is_null) {
            running += 1;
        }
    }
    let recorded = get_path(&vacancy.document()?, "filled")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if running > recorded {
        let mut fields = Map::new();
        fields.insert("filled".into(), json!(running));
        writer::apply_edit(conn, &server(), env, Edit::update(&vacancy, fields)?)?;
    }
    Ok(())
}

/// A follow-up recorded closes the earliest open follow-up task of its placement.
fn close_follow_up_task(conn: &mut DbConn, id: &str, env: &Env<'_>) -> Result<(), StoreError> {
    let Some((person, doc)) = person_record(conn, Entity::FollowUp, id)? else {
        return Ok(());
    };
    let placement = get_path(&doc, "placement_id").and_then(Value::as_str);
    let earliest = open_tasks_of(conn, &person, "follow_up_due")?
        .into_iter()
        .filter(|(_, t)| get_path(t, "placement_id").and_then(Value::as_str) == placement)
        .min_by_key(|(_, t)| {
            get_path(t, "due_on")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        });
    if let Some((task, _)) = earliest {
        close(conn, &task, env)?;
    }
    Ok(())
}

/// A subsidy's verification closes the open `subsidy_check` task of its subsidy and month
/// (another month's stays: it was not verified).
fn close_check_task(conn: &mut DbConn, id: &str, env: &Env<'_>) -> Result<(), StoreError> {
    let Some((person, doc)) = person_record(conn, Entity::SubsidyCheck, id)? else {
        return Ok(());
    };
    let text = |p| get_path(&doc, p).and_then(Value::as_str);
    let subsidy = text("flexible_subsidy_id").or(text("welfare_subsidy_id"));
    let month = text("month");
    for (task, t) in open_tasks_of(conn, &person, "subsidy_check")? {
        let named = |p| get_path(&t, p).and_then(Value::as_str);
        if named("person_id") == Some(person.as_str())
            && named("subsidy_id") == subsidy
            && named("month") == month
        {
            close(conn, &task, env)?;
        }
    }
    Ok(())
}

/// A referral closes the open `job_match` task that proposed its vacancy to its person.
fn close_match_task(conn: &mut DbConn, id: &str, env: &Env<'_>) -> Result<(), StoreError> {
    let Some((person, doc)) = person_record(conn, Entity::Referral, id)? else {
        return Ok(());
    };
    let vacancy = get_path(&doc, "vacancy_id").and_then(Value::as_str);
    for (task, t) in open_tasks_of(conn, &person, "job_match")? {
        let text = |p| get_path(&t, p).and_then(Value::as_str);
        if text("person_id") == Some(person.as_str()) && text("vacancy_id") == vacancy {
            close(conn, &task, env)?;
        }
    }
    Ok(())
}

/// A record under a person: the person's id and the record's document.
fn person_record(
    conn: &mut DbConn,
    entity: Entity,
    id: &str,
) -> Result<Option<(String, Value)>, StoreError> {
    let Some(record) = records::find(conn, entity, id)? else {
        return Ok(None);
    };
    let doc = record.document()?;
    Ok(record.parent_id.map(|person| (person, doc)))
}
