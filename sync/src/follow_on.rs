//! What a write brings about in other records, in the same transaction: a `met` visit to a
//! household closes the open `visit` tasks the server raised for it (the household was due
//! a visit; now it has had one), so the phone that pushed the visit pulls the task done.
//! The server's edits go through the engine like any other, as the server.

use liuqing_schema::casefile;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records::Record;
use liuqing_schema::scope::Scope;
use liuqing_schema::users::Role;
use liuqing_schema::{DbConn, StoreError};
use serde_json::{json, Map, Value};

use crate::engine::{Env, Part, PartAnswer, Writer};
use crate::protocol::Status;
use crate::writer::{self, Author, Edit};

/// The server as a writer: its own edits (tasks it raises and closes).
pub const SERVER: Writer<'static> = Writer {
    user_id: "server",
    device_id: "server",
    role: Role::StationStaff,
    lifecycle: false,
    from_outbox: false,
};

/// The households that a `met` visit among `parts`' applied mutations reached.
pub(crate) fn reached(parts: &[Part<'_>], answers: &[PartAnswer]) -> Vec<String> {
    let mut households = Vec::new();
    for (part, answer) in parts.iter().zip(answers) {
        let Ok(answer) = answer else { continue };
        for (m, r) in part.mutations.iter().zip(&answer.results) {
            let met = m.entity == Entity::Visit.as_str()
                && r.status == Status::Applied
                && m.fields.get("outcome").and_then(Value::as_str) == Some("met");
            if let Some(h) = m
                .fields
                .get("household_id")
                .and_then(Value::as_str)
                .filter(|_| met)
            {
                if !households.iter().any(|k| k == h) {
                    households.push(h.to_string());
                }
            }
        }
    }
    households
}

fn is_open_visit_task(task: &Record) -> Result<bool, StoreError> {
    let doc = task.document()?;
    let text = |p| get_path(&doc, p).and_then(Value::as_str);
    Ok(text("kind") == Some("visit") && text("state") == Some("open"))
}

/// Closes the open `visit` tasks of `households`, as the server.
pub(crate) fn close_visit_tasks(
    conn: &mut DbConn,
    households: &[String],
    env: &Env<'_>,
) -> Result<(), StoreError> {
    let all = Scope::All;
    let env = Env {
        scope: &all,
        ..*env
    };
    let server = Author {
        user_id: SERVER.user_id.into(),
        device_id: SERVER.device_id.into(),
        role: SERVER.role,
        retiring: false,
    };
    for household in households {
        for task in casefile::children_of(conn, household, Entity::Task)? {
            if !is_open_visit_task(&task)? {
                continue;
            }
            let mut fields = Map::new();
            fields.insert("state".into(), json!("done"));
            writer::apply_edit(conn, &server, &env, Edit::update(&task, fields)?)?;
        }
    }
    Ok(())
}
