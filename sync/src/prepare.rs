//! What deciding a mutation needs that does not depend on the case file: its values
//! checked and sealed and, for a record it creates, the record's whole document.
//!
//! Every push waits for the one write lock (see [`crate::engine`]), so what the writer
//! holding it does bounds how fast pushes go. This work depends only on the mutation and
//! its writer, so [`prepare`] does it first, on the request's own thread, and the writer
//! is left with what depends on the records as they stand: whether the record exists, its
//! parent and scope, the duplicate check, the merge and the change number. Whether an
//! upsert creates is a guess here (a phone sends no base version for a record it made);
//! when the guess is wrong the engine does the same work under the lock, with the same
//! functions, so the answer never depends on it.

use std::collections::HashMap;

use liuqing_schema::entities::{self, Entity, EntitySpec, FieldSpec, FieldType, Policy};
use serde_json::{json, Map, Value};

use crate::clocks::FieldClocks;
use crate::engine::{problem, Env, Writer};
use crate::protocol::{FieldProblem, Mutation, Op, SetOp};
use crate::values::{check, Checked};

/// A mutation's work done before the lock; see the module's comment.
#[derive(Default)]
pub struct Prepared {
    /// The sent fields' checks, by path, for an edit.
    checks: HashMap<&'static str, Result<Checked, String>>,
    /// The record as this mutation would create it.
    new: Option<NewRecord>,
}

impl Prepared {
    /// The check of the value sent for `field`, if it was made in advance.
    pub(crate) fn take_check(&mut self, field: &FieldSpec) -> Option<Result<Checked, String>> {
        self.checks.remove(field.path)
    }

    /// The record as this mutation would create it, if it was built in advance.
    pub(crate) fn take_new(&mut self) -> Option<NewRecord> {
        self.new.take()
    }

    /// Whether the record this mutation would create was built in advance.
    pub(crate) fn has_new(&self) -> bool {
        self.new.is_some()
    }

    /// The lookup hash of the ID number of a person this mutation would create.
    pub(crate) fn new_id_number_hash(&self) -> Option<&str> {
        match &self.new {
            Some(NewRecord::Built(built)) => built.id_number_hash.as_deref(),
            _ => None,
        }
    }
}

/// Does, for `m`, the work that needs no database; see the module's comment.
pub fn prepare(who: Writer<'_>, env: &Env<'_>, m: &Mutation) -> Prepared {
    let Ok(entity) = m.entity.parse::<Entity>() else {
        return Prepared::default();
    };
    let spec = entities::spec(entity);
    match (m.op, m.base_version) {
        (Op::Delete, _) => Prepared::default(),
        (Op::Upsert, None) => Prepared {
            checks: HashMap::new(),
            new: Some(new_record(who, env, spec, m)),
        },
        (Op::Upsert, Some(_)) => Prepared {
            checks: m
                .fields
                .iter()
                .filter_map(|(path, value)| spec.field(path).map(|f| (f, value)))
                .map(|(field, value)| (field.path, check_field(env, spec, m, field, value)))
                .collect(),
            new: None,
        },
    }
}

/// Checks the value sent for one field (sealing it, bound to the record and field, when
/// the field is sensitive).
pub(crate) fn check_field(
    env: &Env<'_>,
    spec: &EntitySpec,
    m: &Mutation,
    field: &FieldSpec,
    value: &Value,
) -> Result<Checked, String> {
    check(field, value, env.today, env.cipher, || {
        format!("{}:{}:{}", spec.entity, m.id, field.path)
    })
}

/// Unknown field paths are refused, never dropped.
pub(crate) fn known_paths(spec: &EntitySpec, m: &Mutation) -> Vec<FieldProblem> {
    let mut errors = Vec::new();
    for path in m.fields.keys() {
        if spec.field(path).is_none() {
            errors.push(problem(path, "unknown field"));
        }
    }
    for (path, _) in &m.set_ops {
        match spec.field(path) {
            None => errors.push(problem(path, "unknown field")),
            Some(f) if !matches!(f.ty, FieldType::Set { .. }) => {
                errors.push(problem(path, "is not a set; send it in `fields`"))
            }
            Some(_) => {}
        }
    }
    errors
}

/// The set operation sent for `path`, if any.
pub(crate) fn set_op(m: &Mutation, path: &str) -> Result<Option<SetOp>, FieldProblem> {
    match m.set_ops.get(path) {
        None => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|_| problem(path, "must be {\"add\": [...], \"remove\": [...]}")),
    }
}

/// A record as a mutation creates it, before its parent, its scope and the duplicate
/// check are known. The engine refuses it in this order: unknown paths, then (once the
/// parent is found) a malformed set operation, then the errors of a built record.
pub(crate) enum NewRecord {
    Unknown(Vec<FieldProblem>),
    BadSetOp(FieldProblem),
    Built(Box<Built>),
}

/// A new record's document and what it takes with it.
pub(crate) struct Built {
    pub doc: Value,
    /// The document as stored.
    pub text: String,
    /// The fields the mutation set (and the server's defaults): this write's clock is
    /// theirs.
    pub touched: Vec<&'static str>,
    /// Their clocks as stored, but for the write itself ([`FieldClocks::one_write_text`]).
    pub clocks: String,
    /// Values a coordinator sent for staff-owned fields: proposals for staff, not set.
    pub proposals: Vec<(&'static str, Value)>,
    pub errors: Vec<FieldProblem>,
    /// The lookup hash of a person's valid ID number.
    pub id_number_hash: Option<String>,
}

/// Builds the record `m` creates; see [`NewRecord`].
pub(crate) fn new_record(
    who: Writer<'_>,
    env: &Env<'_>,
    spec: &EntitySpec,
    m: &Mutation,
) -> NewRecord {
    let unknown = known_paths(spec, m);
    if !unknown.is_empty() {
        return NewRecord::Unknown(unknown);
    }
    let mut built = Built {
        doc: Value::Object(Map::new()),
        text: String::new(),
        touched: Vec::new(),
        clocks: String::new(),
        proposals: Vec::new(),
        errors: Vec::new(),
        id_number_hash: None,
    };
    let mut id_number = None;
    for field in spec.fields {
        let op = match set_op(m, field.path) {
            Ok(op) => op,
            Err(p) => return NewRecord::BadSetOp(p),
        };
        let value = match (m.fields.get(field.path), op) {
            (Some(v), _) => v.clone(),
            (None, Some(op)) => {
                if !op.remove.is_empty() {
                    built
                        .errors
                        .push(problem(field.path, "nothing to remove from a new record"));
                }
                json!(op.add)
            }
            (None, None) => continue,
        };
        match check_field(env, spec, m, field, &value) {
            Err(reason) => built.errors.push(problem(field.path, reason)),
            Ok(checked) if field.policy == Policy::StaffLocked && !who.is_staff() => {
                // Kept as a proposal for staff; the record starts without it.
                built.proposals.push((field.path, checked.stored));
            }
            Ok(checked) => {
                if checked.id_number.is_some() {
                    id_number = checked.id_number;
                }
                built.set(field.path, checked.stored);
            }
        }
    }
    built.defaults(who, env, spec.entity);
    for field in spec.fields.iter().filter(|f| f.required) {
        let missing = entities::get_path(&built.doc, field.path).is_none_or(Value::is_null);
        if missing && !built.errors.iter().any(|e| e.field == field.path) {
            built.errors.push(problem(field.path, "is required"));
        }
    }
    let id = m.id.to_string();
    if spec.entity == Entity::SixClears
        && entities::get_path(&built.doc, "person_id").and_then(Value::as_str) != Some(&id)
    {
        built.errors.push(problem(
            "person_id",
            "a six_clears record has the same id as its person",
        ));
    }
    if spec.entity == Entity::Person {
        if let Some(number) = id_number {
            built.derive_from_id_number(&number);
            built.id_number_hash = Some(env.cipher.lookup_hash(number.expose()));
        }
    }
    for (field, reason) in entities::check_document(spec.entity, &built.doc) {
        if !built.errors.iter().any(|e| e.field == field) {
            built.errors.push(problem(&field, reason));
        }
    }
    if built.errors.is_empty() {
        built.text = crate::values::text(&built.doc);
        built.clocks = FieldClocks::fields_of_one_write(&built.touched);
    }
    NewRecord::Built(Box::new(built))
}

impl Built {
    fn set(&mut self, path: &'static str, value: Value) {
        entities::set_path(&mut self.doc, path, value);
        self.touched.push(path);
    }

    /// Values the server sets on creation.
    fn defaults(&mut self, who: Writer<'_>, env: &Env<'_>, entity: Entity) {
        let today = env.today.format("%Y-%m-%d").to_string();
        let mut put = |path: &'static str, value: Value| {
            if entities::get_path(&self.doc, path).is_none_or(Value::is_null) {
                self.set(path, value);
            }
        };
        match entity {
            Entity::Recognition => {
                put("state", json!("received"));
                put("received_on", json!(today));
                put(
                    "history",
                    json!([{ "state": "received", "by": who.user_id, "on": today }]),
                );
            }
            Entity::Evidence => put("review_state", json!("pending")),
            Entity::Task => put("state", json!("open")),
            Entity::Objection => put("outcome", json!("pending")),
            // A vacancy is recommended once station staff approve it.
            Entity::Vacancy => put("approval", json!("pending")),
            Entity::Referral => put("outcome", json!("pending")),
            _ => {}
        }
    }

    /// A person's ID number decides their sex and birth date.
    fn derive_from_id_number(&mut self, number: &liuqing_schema::domain::IdNumber) {
        let derived = [
            ("sex", json!(number.sex().as_str())),
            (
                "birth_date",
                json!(number.birth_date().format("%Y-%m-%d").to_string()),
            ),
        ];
        for (path, value) in derived {
            match entities::get_path(&self.doc, path) {
                Some(given) if !given.is_null() && *given != value => self
                    .errors
                    .push(problem(path, "does not match the ID number")),
                _ => entities::set_path(&mut self.doc, path, value),
            }
        }
    }
}
