//! The merge engine: applies one mutation to the case file, per field, by the declared
//! policies, in one transaction with its change number, conflict records, projections and
//! its entry in the idempotent mutation log. Phones' pushes and station staff's edits both
//! come through here: there is no other way to write a record.

use liuqing_schema::domain::follow_ups::Months;
use std::collections::HashSet;

use chrono::NaiveDate;
use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::devices::{self, DeviceState};
use liuqing_schema::domain::IdNumber;
use liuqing_schema::entities::{self, Entity, EntitySpec, FieldType, Policy};
use liuqing_schema::records::{Conflict, LoggedMutation, Record};
use liuqing_schema::scope::Scope;
use liuqing_schema::sessions::{self, Sessions};
use liuqing_schema::throttle::{Attempt, Spend};
use liuqing_schema::time::Micros;
use liuqing_schema::users::Role;
use liuqing_schema::{attachments, org, DbConn, StoreError};
use serde_json::{json, Value};

use crate::batch::{Batch, ScopeMemo};
use crate::case_checks::{self, Rules};
use crate::clocks::{FieldClock, FieldClocks};
use crate::follow_on;
use crate::hlc::Hlc;
use crate::prepare::{check_field, known_paths, new_record, set_op, NewRecord};
pub use crate::prepare::{prepare, Prepared};
use crate::protocol::{
    ConflictNote, FieldProblem, Mutation, MutationResult, Op, PushAnswer, Reason, Status,
};
use crate::values::{self, check_set_item, same};

/// Who is writing.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    pub user_id: &'a str,
    pub device_id: &'a str,
    pub role: Role,
    /// Whether this write may set a recognition's or a subsidy's lifecycle fields: only
    /// their actions, which have checked the state machine and the role first. Staff edits and
    /// pushes may not, so the state machine cannot be bypassed through sync.
    pub lifecycle: bool,
    /// Whether this is a device pushing its outbox: it sends its edits in the order it
    /// made them, each made on a local copy that showed the ones before, so its own
    /// earlier write is never concurrent with its later one. Not so an edit through the
    /// API: two browser tabs of one session each edit the page they loaded.
    pub from_outbox: bool,
}

impl Writer<'_> {
    pub(crate) fn is_staff(&self) -> bool {
        matches!(
            self.role,
            Role::StationStaff | Role::Supervisor | Role::Admin
        )
    }
}

/// What the engine needs from its surroundings.
pub struct Env<'a> {
    pub scope: &'a Scope,
    pub cipher: &'a FieldCipher,
    pub now: Micros,
    pub today: NaiveDate,
    pub max_skew_ms: u64,
    /// Days a rejected applicant waits before applying again.
    pub reapply_wait_days: u32,
    /// When a placement's follow-ups fall due (tasks raised with the placement).
    pub follow_up_months: Months,
}

/// One of the two values of a conflict, with the write it came from.
struct Side<'v> {
    value: &'v Value,
    hlc: String,
    device: Option<String>,
    user: Option<String>,
}

/// The side of a conflict the record's current value stands on.
fn server_side<'v>(value: &'v Value, clock: Option<&FieldClock>) -> Side<'v> {
    Side {
        value,
        hlc: clock.map(|c| c.hlc.clone()).unwrap_or_default(),
        device: clock.and_then(|c| c.d.clone()),
        user: clock.and_then(|c| c.u.clone()),
    }
}

/// Why a mutation ends early.
enum Abort {
    Reject(Box<MutationResult>),
    Store(StoreError),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Store(e.into())
    }
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Self {
        Abort::Store(e)
    }
}

pub(crate) fn problem(field: &str, reason: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// The most mutations of one push that commit in one transaction (a push's chunk; see
/// [`apply_group`]). A bounded chunk keeps the counter's lock (which every writer waits
/// for) short, and a long push still commits as it goes.
pub const CHUNK: usize = 100;

/// Applies one mutation in a transaction of its own (a staff edit, a review decision). A
/// mutation id seen before returns its first answer and changes nothing; a rejection is
/// final and logged like any answer.
pub fn apply(
    conn: &mut DbConn,
    who: Writer<'_>,
    env: &Env<'_>,
    m: &Mutation,
) -> Result<MutationResult, StoreError> {
    let part = Part {
        who,
        env,
        mutations: std::slice::from_ref(m),
        prepared: Vec::new(),
        retire_device: false,
        spend: None,
    };
    let answer = apply_group(conn, &mut [part])?
        .pop()
        .and_then(Result::ok)
        .and_then(|mut a| a.results.pop());
    answer.ok_or_else(|| StoreError::Config("the engine gave no answer to a mutation".into()))
}

/// One writer's chunk of a group: see [`apply_group`].
pub struct Part<'a> {
    pub who: Writer<'a>,
    pub env: &'a Env<'a>,
    /// At most [`CHUNK`] mutations, in the order the writer sent them.
    pub mutations: &'a [Mutation],
    /// What [`prepare`] made of each mutation before the lock (in the same order; missing
    /// or already used ones are made under the lock instead).
    pub prepared: Vec<Prepared>,
    /// The last chunk of a retiring device's push: the device may push what it holds
    /// once, then it is locked (revoked, its sessions ended) in the same transaction.
    pub retire_device: bool,
    /// An allowance the writer spends before anything of the chunk is applied (the
    /// lookups a push asks for), in the group's transaction; if it does not fit, the
    /// chunk is refused whole and nothing of it is counted.
    pub spend: Option<&'a Spend>,
}

/// A chunk refused because its allowance is spent, until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    pub until: Micros,
}

/// What became of one part of a group.
pub type PartAnswer = Result<PushAnswer, Exhausted>;

/// Applies several writers' chunks in one transaction, one after the other, in order.
/// Everything one mutation does is kept or none of it (its writes join the batch only
/// once it is decided), a rejected one does not stop the ones after it, and a mutation id
/// seen before returns its first answer. Pushes that queue for the write lock at the same
/// time commit together (group commit), so the pages they share are written and synced
/// once, not once per push. Answers come back per part, in order, each with the
/// attachments its records name that the server does not hold, read in the same
/// transaction. A database error fails the whole group and nothing of it is kept (the
/// phones never heard an answer and send again); the caller can then apply each part on
/// its own, so one writer's failure is not another's.
pub fn apply_group(
    conn: &mut DbConn,
    parts: &mut [Part<'_>],
) -> Result<Vec<PartAnswer>, StoreError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        let mut batch = Batch::begin(conn, parts.iter().flat_map(|p| p.mutations.iter()))?;
        let hashes: Vec<String> = parts.iter().flat_map(new_id_numbers).collect();
        batch.look_up_enrolled(conn, &hashes.iter().map(String::as_str).collect::<Vec<_>>())?;
        let mut answers = Vec::with_capacity(parts.len());
        for part in parts.iter_mut() {
            let (who, env) = (part.who, part.env);
            if let Some(spend) = part.spend {
                if let Attempt::Locked { until } = spend.make(conn, env.now)? {
                    answers.push(Err(Exhausted { until }));
                    continue;
                }
            }
            let mut memo = ScopeMemo::new();
            let mut prepared = std::mem::take(&mut part.prepared).into_iter();
            let results = part
                .mutations
                .iter()
                .map(|m| {
                    let prepared = prepared.next().unwrap_or_default();
                    apply_in(&mut batch, conn, who, env, &mut memo, m, prepared)
                })
                .collect::<Result<Vec<_>, _>>()?;
            answers.push(Ok(PushAnswer {
                results,
                missing_attachments: Vec::new(),
            }));
        }
        crash_point("merged");
        batch.finish(conn)?;
        let consequences = follow_on::of(parts, &answers);
        if let Some(part) = parts.first().filter(|_| !consequences.is_empty()) {
            follow_on::bring_about(conn, &consequences, part.env)?;
        }
        crash_point("written");
        note_missing_attachments(conn, parts, &mut answers)?;
        crash_point("attachments");
        for part in parts.iter().filter(|p| p.retire_device) {
            retire(conn, part.who)?;
        }
        crash_point("retired");
        Ok(answers)
    })
}

/// A hook for the crash test: a debug build started with `LIUQING_TEST_CRASH_AT=<step>`
/// aborts the process at that step of a group's transaction, as a power cut would
/// (`merged`, `written`, `attachments`, `retired`: the last is just before the commit).
/// Release builds have no such hook.
fn crash_point(step: &str) {
    #[cfg(debug_assertions)]
    {
        static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let at = AT.get_or_init(|| std::env::var("LIUQING_TEST_CRASH_AT").ok());
        if at.as_deref() == Some(step) {
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}

/// Fills each answer's `missing_attachments`: the hashes its results name, in order, once
/// each, that the server does not hold *for this writer*. A hash is held for them if they
/// uploaded those bytes themselves, or a record in their scope by someone who did names
/// it (a colleague's photo of the same household). Otherwise it is missing, whether the
/// server has the bytes or not: a hash copied from elsewhere is no capability, and the
/// answer tells nothing of what the server holds. The phone uploads the bytes (stored
/// once), which proves possession. (A blob stored without its row, by a crash between
/// storing and committing, is an orphan the upkeep removes: also missing.)
fn note_missing_attachments(
    conn: &mut DbConn,
    parts: &[Part<'_>],
    answers: &mut [PartAnswer],
) -> Result<(), StoreError> {
    for (part, answer) in parts.iter().zip(answers) {
        let Ok(answer) = answer else { continue };
        let mut named: Vec<&str> = Vec::new();
        for hash in answer.results.iter().flat_map(|r| r.attachments.iter()) {
            if !named.contains(&hash.as_str()) {
                named.push(hash);
            }
        }
        if named.is_empty() {
            continue;
        }
        let own: HashSet<String> = attachments::uploaded_among(conn, &named, part.who.user_id)?
            .into_iter()
            .collect();
        let mut missing = Vec::new();
        for hash in named {
            if own.contains(hash) {
                continue;
            }
            // (An uploader row is written with its attachment's: no need to ask for both.)
            let shared = attachments::referenced_in_scope(conn, part.env.scope, hash)?;
            if !shared {
                missing.push(hash.to_string());
            }
        }
        answer.missing_attachments = missing;
    }
    Ok(())
}

/// Locks a retiring device after its last push: revoked, and its sessions ended.
fn retire(conn: &mut DbConn, who: Writer<'_>) -> Result<(), StoreError> {
    devices::set_state(conn, who.device_id, DeviceState::Revoked, who.user_id)?;
    sessions::revoke(conn, Sessions::OnDevice(who.device_id), "device_retired")
}

/// The lookup hashes of the valid ID numbers `part` sends for persons: the duplicate
/// check's questions, asked in one statement (most were hashed before the lock).
fn new_id_numbers<'p>(part: &'p Part<'_>) -> impl Iterator<Item = String> + 'p {
    part.mutations
        .iter()
        .enumerate()
        .filter(|(_, m)| m.entity == Entity::Person.as_str())
        .filter_map(
            |(i, m)| match part.prepared.get(i).filter(|p| p.has_new()) {
                Some(prepared) => prepared.new_id_number_hash().map(str::to_string),
                None => {
                    let number = m.fields.get("id_number")?.as_str()?;
                    let number = IdNumber::parse(number, part.env.today).ok()?;
                    Some(part.env.cipher.lookup_hash(number.expose()))
                }
            },
        )
}

/// One mutation inside a transaction that holds the counter's lock. Its writes wait in
/// the batch until it is decided: a rejected mutation leaves nothing behind but its logged
/// answer.
fn apply_in(
    batch: &mut Batch,
    conn: &mut DbConn,
    who: Writer<'_>,
    env: &Env<'_>,
    memo: &mut ScopeMemo,
    m: &Mutation,
    prepared: Prepared,
) -> Result<MutationResult, StoreError> {
    let mutation_id = m.mutation_id.to_string();
    if let Some(previous) = replay(batch, &mutation_id, who)? {
        return Ok(previous);
    }
    // The enclosing transaction holds the counter's lock, which orders this number
    // against all other writers.
    let version = batch.next_version();
    let outcome = Merge {
        conn,
        who,
        env,
        batch: &mut *batch,
        memo,
        m,
        version,
        mutation_id: &mutation_id,
        prepared,
    }
    .run();
    let (result, kept) = match outcome {
        Ok(result) => (result, true),
        Err(Abort::Reject(result)) => (*result, false),
        Err(Abort::Store(e)) => return Err(e),
    };
    let text = serde_json::to_string(&result).map_err(|e| StoreError::Config(e.to_string()))?;
    batch.settle(
        kept,
        LoggedMutation {
            mutation_id,
            device_id: who.device_id.to_string(),
            user_id: who.user_id.to_string(),
            received_at: env.now,
            result: text,
        },
    );
    Ok(result)
}

/// The first answer to a mutation id seen before.
fn replay(
    batch: &Batch,
    mutation_id: &str,
    who: Writer<'_>,
) -> Result<Option<MutationResult>, StoreError> {
    let Some((device, text)) = batch.logged(mutation_id) else {
        return Ok(None);
    };
    if device != who.device_id {
        return Ok(Some(MutationResult::rejected(
            mutation_id,
            Reason::Invalid,
            vec![problem("mutation_id", "is already used by another device")],
        )));
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| StoreError::Corrupt {
            column: "mutations.result",
            value: e.to_string(),
        })
}

struct Merge<'c, 'a> {
    conn: &'c mut DbConn,
    batch: &'c mut Batch,
    memo: &'c mut ScopeMemo,
    who: Writer<'a>,
    env: &'a Env<'a>,
    m: &'a Mutation,
    version: i64,
    mutation_id: &'a str,
    prepared: Prepared,
}

/// A record being built: its document, its field clocks, and what happened on the way.
struct Draft<'t> {
    doc: Value,
    clocks: FieldClocks<'t>,
    /// The clock of this mutation's writes.
    mine: FieldClock,
    /// The fields this mutation wrote.
    touched: Vec<&'static str>,
    status: Status,
    changed: bool,
    conflicts: Vec<ConflictNote>,
    pending_conflicts: Vec<Conflict>,
    errors: Vec<FieldProblem>,
    /// A record the server did not hold: inserted without trying an update first.
    created: bool,
}

impl Merge<'_, '_> {
    fn reject(&self, reason: Reason, errors: Vec<FieldProblem>) -> Abort {
        Abort::Reject(Box::new(MutationResult::rejected(
            self.mutation_id,
            reason,
            errors,
        )))
    }

    fn run(mut self) -> Result<MutationResult, Abort> {
        let entity: Entity =
            self.m
                .entity
                .parse()
                .map_err(|e: liuqing_schema::text_enum::UnknownVariant| {
                    self.reject(Reason::Invalid, vec![problem("entity", e.to_string())])
                })?;
        let spec = entities::spec(entity);
        if !self.who.is_staff() && !spec.phone_writable {
            return Err(self.reject(
                Reason::Forbidden,
                vec![problem(
                    "entity",
                    format!("phones may not write `{entity}` records"),
                )],
            ));
        }
        if self.who.is_staff() && !self.who.lifecycle {
            // (A coordinator's value for these staff-owned fields stays a proposal.)
            let errors: Vec<FieldProblem> = entities::lifecycle_fields(entity)
                .iter()
                .filter(|path| self.m.fields.contains_key(**path))
                .map(|path| problem(path, format!("is changed only by {entity} actions")))
                .collect();
            if !errors.is_empty() {
                return Err(self.reject(Reason::Invalid, errors));
            }
        }
        let (hlc, clamped) = self.clock()?;
        let id = self.m.id.to_string();
        let existing = self.batch.find(self.conn, entity, &id)?;
        let visible = match &existing {
            Some(rec) => self.in_scope(&rec.community_id)?,
            None => true,
        };
        if !visible {
            return Err(self.reject(Reason::UnknownRecord, vec![problem("id", "no such record")]));
        }
        if let (Some(base), Some(rec)) = (self.m.base_version, &existing) {
            // A phone learns versions only from this server, and they only grow: a base
            // above the record's own would make every server write look seen, so a newer
            // value would be overwritten with no conflict record. A client bug, refused.
            if base < 0 || base > rec.version {
                return Err(self.reject(
                    Reason::Invalid,
                    vec![problem(
                        "base_version",
                        format!("must be a version this record had (now {})", rec.version),
                    )],
                ));
            }
        }
        let mut result = match (self.m.op, existing) {
            (Op::Delete, None) => {
                return Err(
                    self.reject(Reason::UnknownRecord, vec![problem("id", "no such record")])
                )
            }
            (Op::Delete, Some(rec)) => self.delete(spec, &rec, &hlc)?,
            (Op::Upsert, None) => self.create(spec, &id, &hlc)?,
            (Op::Upsert, Some(rec)) => self.update(spec, &rec, &hlc)?,
        };
        result.clock_clamped = clamped;
        Ok(result)
    }

    /// The mutation's clock, clamped to the allowed skew ahead of the server.
    fn clock(&self) -> Result<(Hlc, bool), Abort> {
        let mut hlc: Hlc = self.m.hlc.parse().map_err(|e: crate::hlc::HlcError| {
            self.reject(Reason::Invalid, vec![problem("hlc", e.to_string())])
        })?;
        if hlc.node != self.who.device_id {
            return Err(self.reject(
                Reason::Invalid,
                vec![problem("hlc", "must end with this device's id")],
            ));
        }
        let now_ms = (self.env.now / 1000).max(0) as u64;
        let limit = now_ms.saturating_add(self.env.max_skew_ms);
        let clamped = hlc.millis > limit;
        if clamped {
            hlc.millis = limit;
        }
        Ok((hlc, clamped))
    }

    fn in_scope(&mut self, community_id: &str) -> Result<bool, Abort> {
        Ok(self.node_in_scope(community_id)?.is_some())
    }

    /// The kind of an org node whose records the caller may see (inside the scope, or
    /// the street above it: `Scope::sees_partition`).
    fn node_in_scope(&mut self, id: &str) -> Result<Option<org::OrgKind>, Abort> {
        if let Some(kind) = self.memo.get(id) {
            return Ok(*kind);
        }
        let kind = org::find_partition_in_scope(self.conn, self.env.scope, id)?.map(|n| n.kind);
        self.memo.insert(id.to_string(), kind);
        Ok(kind)
    }

    /// The clock this mutation's writes give the fields they set.
    fn field_clock(&self, hlc: &Hlc) -> FieldClock {
        FieldClock {
            hlc: hlc.to_string(),
            v: self.version,
            d: Some(self.who.device_id.to_string()),
            u: Some(self.who.user_id.to_string()),
        }
    }

    fn create(&mut self, spec: &EntitySpec, id: &str, hlc: &Hlc) -> Result<MutationResult, Abort> {
        let new = self
            .prepared
            .take_new()
            .unwrap_or_else(|| new_record(self.who, self.env, spec, self.m));
        let built = match new {
            NewRecord::Unknown(errors) => return Err(self.reject(Reason::Invalid, errors)),
            NewRecord::BadSetOp(p) => {
                self.placement(spec)?;
                return Err(self.reject(Reason::Invalid, vec![p]));
            }
            NewRecord::Built(built) => *built,
        };
        let (community_id, parent_id) = self.placement(spec)?;
        let mut draft = Draft::new(built.doc, FieldClocks::default(), self.field_clock(hlc));
        draft.created = true;
        draft.errors = built.errors;
        self.check_references(spec, &community_id, &mut draft.errors)?;
        if draft.errors.is_empty() {
            let rules = Rules {
                today: self.env.today,
                reapply_wait_days: self.env.reapply_wait_days,
            };
            let broken = case_checks::check_new(
                self.conn,
                self.batch,
                rules,
                spec.entity,
                parent_id.as_deref(),
                &draft.doc,
            )?;
            draft.errors.extend(broken);
        }
        draft.touched = built.touched;
        for (path, proposed) in built.proposals {
            self.propose(
                &mut draft,
                spec,
                &community_id,
                path,
                Value::Null,
                None,
                proposed,
                hlc,
            );
        }
        if let Some(hash) = &built.id_number_hash {
            self.refuse_enrolled(hash, id)?;
        }
        if !draft.errors.is_empty() {
            return Err(self.reject(Reason::Invalid, std::mem::take(&mut draft.errors)));
        }
        let record = Record {
            entity: spec.entity,
            id: id.to_string(),
            community_id,
            parent_id,
            version: self.version,
            deleted: false,
            data: built.text,
            clocks: FieldClocks::one_write_text(&draft.mine, &built.clocks),
            created_at: self.env.now,
            updated_at: self.env.now,
            created_by: Some(self.who.user_id.to_string()),
            updated_by: Some(self.who.user_id.to_string()),
            updated_device: Some(self.who.device_id.to_string()),
        };
        self.finish(spec, record, draft)
    }

    /// Every record a mutation's other references name (a visit's `persons_seen`, a task's
    /// `person_id`) must be a live record of the same community, or, for an employer or a
    /// vacancy, of the street the community lies in; a street's record may name one of a
    /// community under that street: an id from elsewhere, or none at all,
    /// is an unknown reference, named in the errors. `community_id` is the record's
    /// partition.
    fn check_references(
        &mut self,
        spec: &EntitySpec,
        community_id: &str,
        errors: &mut Vec<FieldProblem>,
    ) -> Result<(), Abort> {
        let parent = spec.parent.map(|(field, _)| field);
        for field in spec.fields {
            let (FieldType::Ref(entity) | FieldType::RefList(entity)) = field.ty else {
                continue;
            };
            if Some(field.path) == parent || errors.iter().any(|e| e.field == field.path) {
                continue;
            }
            let ids: Vec<&str> = match self.m.fields.get(field.path) {
                Some(Value::String(id)) => vec![id.as_str()],
                Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).collect(),
                _ => continue,
            };
            for id in ids {
                let partition = self
                    .batch
                    .find(self.conn, entity, id)?
                    .filter(|r| !r.deleted)
                    .map(|r| r.community_id.clone());
                let known = match partition {
                    Some(p) if p == community_id => true,
                    // An employer or vacancy lives in the street: a referral or placement
                    // of any community under that street may name it.
                    Some(p) if entities::partition_kind(entity) == org::OrgKind::Street => {
                        org::street_of(self.conn, community_id)?.as_deref() == Some(p.as_str())
                    }
                    // And a street's record may name one of a community under it that the
                    // writer works in (an employer visit, the application it checks).
                    Some(p) if entities::partition_kind(spec.entity) == org::OrgKind::Street => {
                        org::street_of(self.conn, &p)?.as_deref() == Some(community_id)
                            && self.in_scope(&p)?
                    }
                    _ => false,
                };
                if !known {
                    let whose = if entities::partition_kind(entity) == org::OrgKind::Street {
                        "this record's street"
                    } else if entities::partition_kind(spec.entity) == org::OrgKind::Street {
                        "a community you work in under this record's street"
                    } else {
                        "this record's community"
                    };
                    errors.push(problem(
                        field.path,
                        format!("`{id}` is no {entity} of {whose}"),
                    ));
                    break;
                }
            }
        }
        // Where in its street an employer or a vacancy sits is a community of that street.
        if entities::partition_kind(spec.entity) == org::OrgKind::Street {
            if let Some(community) = self.m.fields.get("community_id").and_then(Value::as_str) {
                let is_community = org::find(self.conn, community)?
                    .is_some_and(|n| n.kind == org::OrgKind::Community);
                if !is_community
                    || org::street_of(self.conn, community)?.as_deref() != Some(community_id)
                {
                    errors.push(problem(
                        "community_id",
                        "is not a community of this record's street",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The partition a new record belongs to: its parent's, or the org node it names (a
    /// household its community, an employer its street).
    fn placement(&mut self, spec: &EntitySpec) -> Result<(String, Option<String>), Abort> {
        let named = |field: &str| {
            self.m
                .fields
                .get(field)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        match (spec.parent, spec.node) {
            (Some((field, parent_entity)), _) => {
                let parent_id = named(field);
                let parent = self.batch.find(self.conn, parent_entity, &parent_id)?;
                match parent {
                    Some(p) if !p.deleted && self.in_scope(&p.community_id)? => {
                        Ok((p.community_id.clone(), Some(parent_id)))
                    }
                    _ => Err(self.reject(
                        Reason::UnknownParent,
                        vec![problem(field, format!("no such {parent_entity}"))],
                    )),
                }
            }
            (None, Some((field, kind))) => {
                let node = named(field);
                if self.node_in_scope(&node)? == Some(kind) {
                    return Ok((node, None));
                }
                let what = match kind {
                    org::OrgKind::Street => "not a street you may work in",
                    _ => "not a community you may work in",
                };
                Err(self.reject(Reason::UnknownParent, vec![problem(field, what)]))
            }
            (None, None) => Err(self.reject(
                Reason::UnknownParent,
                vec![problem("entity", "has no place in the org tree")],
            )),
        }
    }

    /// An ID number belongs to one person: another one enrolled with it refuses the write
    /// (naming them when they are in the writer's scope).
    fn refuse_enrolled(&mut self, hash: &str, id: &str) -> Result<(), Abort> {
        if let Some((existing, community)) = self.batch.enrolled(self.conn, hash, id)? {
            let visible = self.in_scope(&community)?;
            let mut result = MutationResult::rejected(
                self.mutation_id,
                Reason::DuplicatePerson,
                vec![problem("id_number", "this person is already enrolled")],
            );
            result.existing_id = visible.then_some(existing);
            return Err(Abort::Reject(Box::new(result)));
        }
        Ok(())
    }

    fn update(
        &mut self,
        spec: &EntitySpec,
        rec: &Record,
        hlc: &Hlc,
    ) -> Result<MutationResult, Abort> {
        if rec.deleted {
            return Err(self.reject(
                Reason::Deleted,
                vec![problem("id", "the record was deleted")],
            ));
        }
        let errors = known_paths(spec, self.m);
        if !errors.is_empty() {
            return Err(self.reject(Reason::Invalid, errors));
        }
        let doc = rec.document()?;
        // The guide's rules for an edit read the record as it was: asked of the document
        // before the draft changes it, so that it is parsed once (a second parse was about
        // 2% of the server's CPU in the load generator's edits).
        let broken = case_checks::check_update(spec.entity, &doc, self.m);
        let base = self.m.base_version.unwrap_or(0);
        let mut draft = Draft::new(doc, FieldClocks::parse(&rec.clocks), self.field_clock(hlc));
        for (path, value) in &self.m.fields {
            let Some(field) = spec.field(path) else {
                continue;
            };
            let checked = self
                .prepared
                .take_check(field)
                .unwrap_or_else(|| check_field(self.env, spec, self.m, field, value));
            let checked = match checked {
                Ok(c) => c,
                Err(reason) => {
                    draft.errors.push(problem(path, reason));
                    continue;
                }
            };
            let current = entities::get_path(&draft.doc, path)
                .cloned()
                .unwrap_or(Value::Null);
            if same(&current, &checked.stored) {
                continue;
            }
            let clock = draft.clocks.get(path).cloned();
            match field.policy {
                Policy::AppendOnly => draft.errors.push(problem(
                    path,
                    "cannot be changed after the record is created",
                )),
                Policy::Union => draft
                    .errors
                    .push(problem(path, "change a set with `set_ops`")),
                Policy::StaffLocked if !self.who.is_staff() => {
                    self.propose(
                        &mut draft,
                        spec,
                        &rec.community_id,
                        path,
                        current,
                        clock,
                        checked.stored,
                        hlc,
                    );
                }
                Policy::Lww | Policy::StaffLocked => {
                    if field.path == spec.parent.map(|(p, _)| p).unwrap_or("") {
                        draft.errors.push(problem(
                            path,
                            "cannot be changed; create the record again under its new parent",
                        ));
                        continue;
                    }
                    self.lww(
                        &mut draft,
                        spec,
                        &rec.community_id,
                        field.path,
                        current,
                        clock,
                        checked.stored,
                        hlc,
                        base,
                    );
                }
            }
        }
        for path in self.m.set_ops.keys() {
            let Some(field) = spec.field(path) else {
                continue;
            };
            let op = match set_op(self.m, path) {
                Ok(Some(op)) => op,
                Ok(None) => continue,
                Err(p) => {
                    draft.errors.push(p);
                    continue;
                }
            };
            if field.policy == Policy::StaffLocked && !self.who.is_staff() {
                draft.errors.push(problem(path, "is kept by station staff"));
                continue;
            }
            if let Some(both) = op.add.iter().find(|a| op.remove.contains(a)) {
                draft
                    .errors
                    .push(problem(path, format!("`{both}` is both added and removed")));
                continue;
            }
            if let Some(bad) = op
                .add
                .iter()
                .find_map(|item| check_set_item(&field.ty, item).err())
            {
                draft.errors.push(problem(path, bad));
                continue;
            }
            let mut set: Vec<String> = entities::get_path(&draft.doc, path)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let before = set.clone();
            set.retain(|s| !op.remove.contains(s));
            set.extend(op.add.iter().cloned());
            set.sort();
            set.dedup();
            if let FieldType::Set { max_items, .. } = field.ty {
                if set.len() > max_items {
                    draft.errors.push(problem(
                        path,
                        format!("must have at most {max_items} items"),
                    ));
                    continue;
                }
            }
            if set != before {
                let concurrent = draft.clocks.get(path).is_some_and(|c| c.v > base);
                if concurrent {
                    draft.status = draft.status.max(Status::Merged);
                }
                entities::set_path(&mut draft.doc, path, json!(set));
                draft.stamp(field.path);
                draft.changed = true;
            }
        }
        if spec.entity == Entity::Person && draft.touched.contains(&"id_number") {
            // A corrected ID number brings its own sex and birth date, as at enrolment.
            let corrected = self
                .m
                .fields
                .get("id_number")
                .and_then(Value::as_str)
                .and_then(|raw| IdNumber::parse(raw, self.env.today).ok());
            if let Some(number) = corrected {
                let derived = [
                    ("sex", json!(number.sex().as_str())),
                    (
                        "birth_date",
                        json!(number.birth_date().format("%Y-%m-%d").to_string()),
                    ),
                ];
                for (path, value) in derived {
                    if entities::get_path(&draft.doc, path) != Some(&value) {
                        entities::set_path(&mut draft.doc, path, value);
                        draft.stamp(path);
                        draft.changed = true;
                    }
                }
            }
        }
        if draft.changed {
            draft.check_document(spec.entity);
        }
        if spec.entity == Entity::Person && draft.touched.contains(&"id_number") {
            // A corrected ID number may be one already enrolled (the database's unique
            // index would otherwise fail the whole push).
            let hash = entities::get_path(&draft.doc, "id_number")
                .and_then(values::sealed_hash)
                .map(str::to_string);
            if let Some(hash) = hash {
                self.refuse_enrolled(&hash, &rec.id)?;
            }
        }
        self.check_references(spec, &rec.community_id, &mut draft.errors)?;
        if draft.errors.is_empty() {
            draft.errors.extend(broken);
        }
        if !draft.errors.is_empty() {
            return Err(self.reject(Reason::Invalid, std::mem::take(&mut draft.errors)));
        }
        if !draft.changed && draft.pending_conflicts.is_empty() {
            // Nothing new: the answer names the version the record already has.
            return Ok(self.result(Status::Applied, rec.version, Vec::new(), spec, &draft.doc));
        }
        if !draft.changed {
            // Only conflicts to record: the record keeps its state and version.
            for c in draft.pending_conflicts {
                self.batch.stage_conflict(c);
            }
            return Ok(self.result(draft.status, rec.version, draft.conflicts, spec, &draft.doc));
        }
        let record = self.successor(rec, false, values::text(&draft.doc), draft.clocks.to_text());
        self.finish(spec, record, draft)
    }

    /// Last writer wins, per field. A field the server changed after the phone's base
    /// version is a concurrent edit, unless this writer made that change itself
    /// ([`Merge::own_earlier`]): the later clock wins and the other value is recorded.
    #[allow(clippy::too_many_arguments)]
    fn lww(
        &self,
        draft: &mut Draft<'_>,
        spec: &EntitySpec,
        community_id: &str,
        path: &'static str,
        current: Value,
        clock: Option<FieldClock>,
        incoming: Value,
        hlc: &Hlc,
        base: i64,
    ) {
        let concurrent = clock
            .as_ref()
            .is_some_and(|c| c.v > base && !self.own_earlier(c, hlc));
        let incoming_wins = match &clock {
            Some(c) if concurrent => c.hlc.parse::<Hlc>().map_or(true, |server| *hlc > server),
            _ => true,
        };
        if incoming_wins {
            if concurrent {
                // The server's value loses: kept as a conflict record, reviewable.
                let c = self.conflict(
                    spec,
                    community_id,
                    path,
                    "lww",
                    self.writer_side(&incoming, hlc),
                    server_side(&current, clock.as_ref()),
                );
                draft.pending_conflicts.push(c);
                draft.status = draft.status.max(Status::Merged);
            }
            entities::set_path(&mut draft.doc, path, incoming);
            draft.stamp(path);
            draft.changed = true;
        } else {
            let c = self.conflict(
                spec,
                community_id,
                path,
                "lww",
                server_side(&current, clock.as_ref()),
                self.writer_side(&incoming, hlc),
            );
            draft.decided_against(c, &current, &incoming);
        }
    }

    /// Whether the field's current value was written by this same device and user, with
    /// an earlier clock (or the same one: two edits of a phone whose clock ran too far
    /// ahead are clamped to one), and this write comes from that device's outbox
    /// ([`Writer::from_outbox`]): this edit then follows that one, whatever the base
    /// version. A record made offline and edited before it was first pushed, or a field
    /// edited twice between two syncs, carries a base version older than the phone's own
    /// first write; counting those as concurrent filled the staff's queue with conflicts
    /// of a coordinator against themself.
    fn own_earlier(&self, clock: &FieldClock, hlc: &Hlc) -> bool {
        self.who.from_outbox
            && clock.d.as_deref() == Some(self.who.device_id)
            && clock.u.as_deref() == Some(self.who.user_id)
            && clock
                .hlc
                .parse::<Hlc>()
                .is_ok_and(|earlier| earlier <= *hlc)
    }

    /// A coordinator's value for a staff-owned field: recorded for staff, not applied.
    #[allow(clippy::too_many_arguments)]
    fn propose(
        &self,
        draft: &mut Draft<'_>,
        spec: &EntitySpec,
        community_id: &str,
        path: &str,
        current: Value,
        clock: Option<FieldClock>,
        proposed: Value,
        hlc: &Hlc,
    ) {
        let c = self.conflict(
            spec,
            community_id,
            path,
            "staff_locked",
            server_side(&current, clock.as_ref()),
            self.writer_side(&proposed, hlc),
        );
        draft.decided_against(c, &current, &proposed);
    }

    /// The side of a conflict this mutation's writer stands on.
    fn writer_side<'v>(&self, value: &'v Value, hlc: &Hlc) -> Side<'v> {
        Side {
            value,
            hlc: hlc.to_string(),
            device: Some(self.who.device_id.to_string()),
            user: Some(self.who.user_id.to_string()),
        }
    }

    fn conflict(
        &self,
        spec: &EntitySpec,
        community_id: &str,
        path: &str,
        policy: &str,
        kept: Side<'_>,
        yours: Side<'_>,
    ) -> Conflict {
        Conflict {
            id: uuid::Uuid::now_v7().to_string(),
            entity: spec.entity,
            record_id: self.m.id.to_string(),
            community_id: community_id.to_string(),
            field: path.to_string(),
            policy: policy.to_string(),
            kept: kept.value.to_string(),
            yours: yours.value.to_string(),
            kept_hlc: kept.hlc,
            yours_hlc: yours.hlc,
            kept_device: kept.device,
            yours_device: yours.device,
            kept_user: kept.user,
            yours_user: yours.user,
            mutation_id: Some(self.mutation_id.to_string()),
            status: "open".into(),
            resolution: None,
            resolved_value: None,
            resolved_by: None,
            resolved_at: None,
            created_at: self.env.now,
        }
    }

    fn delete(
        &mut self,
        spec: &EntitySpec,
        rec: &Record,
        hlc: &Hlc,
    ) -> Result<MutationResult, Abort> {
        if spec.append_only {
            return Err(self.reject(
                Reason::AppendOnly,
                vec![problem(
                    "op",
                    format!("`{}` records are never deleted", spec.entity),
                )],
            ));
        }
        if rec.deleted {
            let doc = Value::Null;
            return Ok(self.result(Status::Applied, rec.version, Vec::new(), spec, &doc));
        }
        if let Some(p) =
            case_checks::check_delete(spec.entity, &rec.document()?, self.who.is_staff())
        {
            return Err(self.reject(Reason::Forbidden, vec![p]));
        }
        if self.batch.has_live_children(self.conn, &rec.id)? {
            return Err(self.reject(
                Reason::HasChildren,
                vec![problem("id", "delete the records under it first")],
            ));
        }
        let doc = rec.document()?;
        let record = self.successor(rec, true, rec.data.clone(), rec.clocks.clone());
        let draft = Draft {
            doc,
            ..Draft::new(Value::Null, FieldClocks::default(), self.field_clock(hlc))
        };
        self.finish(spec, record, draft)
    }

    /// The state of `rec` this mutation writes: it takes the mutation's change number.
    fn successor(&self, rec: &Record, deleted: bool, data: String, clocks: String) -> Record {
        Record {
            entity: rec.entity,
            id: rec.id.clone(),
            community_id: rec.community_id.clone(),
            parent_id: rec.parent_id.clone(),
            version: self.version,
            deleted,
            data,
            clocks,
            created_at: rec.created_at,
            updated_at: self.env.now,
            created_by: rec.created_by.clone(),
            updated_by: Some(self.who.user_id.to_string()),
            updated_device: Some(self.who.device_id.to_string()),
        }
    }

    /// Stages the record and its conflicts: the batch writes them, with the projections,
    /// once the mutation is kept.
    fn finish(
        &mut self,
        spec: &EntitySpec,
        record: Record,
        draft: Draft<'_>,
    ) -> Result<MutationResult, Abort> {
        let result = self.result(
            draft.status,
            record.version,
            draft.conflicts,
            spec,
            &draft.doc,
        );
        for c in draft.pending_conflicts {
            self.batch.stage_conflict(c);
        }
        self.batch.stage_record(
            record,
            draft.doc,
            draft.created,
            draft.touched,
            self.env.today,
        );
        Ok(result)
    }

    fn result(
        &self,
        status: Status,
        version: i64,
        conflicts: Vec<ConflictNote>,
        spec: &EntitySpec,
        doc: &Value,
    ) -> MutationResult {
        let attachments = spec
            .fields
            .iter()
            .filter(|f| f.ty == FieldType::Sha256)
            .filter_map(|f| {
                entities::get_path(doc, f.path)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        MutationResult {
            mutation_id: self.mutation_id.to_string(),
            status,
            version: Some(version),
            conflicts,
            errors: Vec::new(),
            reason: None,
            existing_id: None,
            clock_clamped: false,
            attachments,
        }
    }
}

impl<'t> Draft<'t> {
    /// The record's cross-field rules, on its merged document.
    fn check_document(&mut self, entity: Entity) {
        for (field, reason) in entities::check_document(entity, &self.doc) {
            if !self.errors.iter().any(|e| e.field == field) {
                self.errors.push(problem(&field, reason));
            }
        }
    }

    /// A field decided against the writer: recorded, and told in the answer.
    fn decided_against(&mut self, conflict: Conflict, kept: &Value, yours: &Value) {
        self.conflicts.push(ConflictNote {
            conflict_id: conflict.id.clone(),
            field: conflict.field.clone(),
            kept: values::shown(kept),
            yours: values::shown(yours),
        });
        self.pending_conflicts.push(conflict);
        self.status = Status::Conflict;
    }

    /// Records that this mutation wrote `path`.
    fn stamp(&mut self, path: &'static str) {
        self.clocks.set(path, &self.mine);
        self.touched.push(path);
    }

    fn new(doc: Value, clocks: FieldClocks<'t>, mine: FieldClock) -> Draft<'t> {
        Draft {
            doc,
            clocks,
            mine,
            touched: Vec::new(),
            status: Status::Applied,
            changed: false,
            conflicts: Vec::new(),
            pending_conflicts: Vec::new(),
            errors: Vec::new(),
            created: false,
        }
    }
}
