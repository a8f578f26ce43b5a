//! The wire types of the sync protocol (`shared/sync-protocol.md`): push requests and
//! their per-mutation results, and pull pages.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The schema versions this server can serve.
pub const SCHEMA_VERSIONS: &[u32] = &[1];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Upsert,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetOp {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

/// One offline edit from a phone's outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    pub mutation_id: uuid::Uuid,
    /// Kept as text so that an unknown entity rejects this mutation, not the whole push.
    pub entity: String,
    pub id: uuid::Uuid,
    pub op: Op,
    #[serde(default)]
    pub base_version: Option<i64>,
    pub hlc: String,
    #[serde(default)]
    pub fields: Map<String, Value>,
    #[serde(default)]
    pub set_ops: Map<String, Value>,
}

impl Mutation {
    /// Whether the server answers this mutation by comparing an ID number with every
    /// enrolled one (a person written with `id_number`): an exact lookup, as far as the
    /// lookup allowance is concerned.
    pub fn asks_for_an_id_number(&self) -> bool {
        self.entity == "person" && self.op == Op::Upsert && self.fields.contains_key("id_number")
    }

    /// Fills what the protocol lets a phone leave out: a `six_clears` record has its
    /// person's id, so its `person_id` (the parent the server places it by) is derived from
    /// that when absent. A different one given is refused by the engine, by name.
    pub fn normalise(&mut self) {
        if self.entity == "six_clears" && self.op == Op::Upsert {
            self.fields
                .entry("person_id")
                .or_insert_with(|| Value::String(self.id.to_string()));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Applied,
    Merged,
    Conflict,
    Rejected,
}

/// Why a mutation was rejected: the stable machine code a phone acts on (`reason` on the
/// wire; `errors` say which field, and why, in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A value, or the mutation itself, is malformed or breaks a rule.
    Invalid,
    /// The writer's role may not write this.
    Forbidden,
    /// No such record in the writer's scope.
    UnknownRecord,
    /// The record names a parent (or community) the writer's scope does not hold.
    UnknownParent,
    /// Another person is enrolled with this ID number (`existing_id` names them where the
    /// writer may see them).
    DuplicatePerson,
    /// The record was deleted.
    Deleted,
    /// The record is never edited after it is created.
    AppendOnly,
    /// The record still has live records under it.
    HasChildren,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Invalid => "invalid",
            Reason::Forbidden => "forbidden",
            Reason::UnknownRecord => "unknown_record",
            Reason::UnknownParent => "unknown_parent",
            Reason::DuplicatePerson => "duplicate_person",
            Reason::Deleted => "deleted",
            Reason::AppendOnly => "append_only",
            Reason::HasChildren => "has_children",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictNote {
    pub conflict_id: String,
    pub field: String,
    pub kept: Value,
    pub yours: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
}

/// The answer to one mutation; `reason` on rejections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutationResult {
    pub mutation_id: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<ConflictNote>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// For `duplicate_person`: the enrolled person's id, where the caller may see them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
    /// The phone's clock was further ahead than allowed and was clamped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clock_clamped: bool,
    /// Attachment hashes this record refers to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
}

impl MutationResult {
    pub fn rejected(
        mutation_id: &str,
        reason: Reason,
        errors: Vec<FieldProblem>,
    ) -> MutationResult {
        MutationResult {
            mutation_id: mutation_id.to_string(),
            status: Status::Rejected,
            version: None,
            conflicts: Vec::new(),
            errors,
            reason: Some(reason),
            existing_id: None,
            clock_clamped: false,
            attachments: Vec::new(),
        }
    }
}

/// The answer to a push: one result per mutation, in order, and the attachments that
/// accepted records refer to but the server does not hold yet (the phone uploads them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PushAnswer {
    pub results: Vec<MutationResult>,
    pub missing_attachments: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub entity: String,
    pub id: String,
    /// The community the record belongs to (an addition to the protocol: lets a phone drop
    /// a purged community's records without walking parents).
    pub community_id: String,
    pub version: i64,
    pub deleted: bool,
    /// The document as JSON text: the server sends what it stores (sealed values masked)
    /// without building it up again, and a phone can keep it as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purge {
    pub community_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDigest {
    pub count: u64,
    /// Order-independent: the wrapping sum of SHA-256 prefixes of `entity:id:version`.
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullPage {
    pub changes: Vec<Change>,
    pub purge: Vec<Purge>,
    pub cursor: String,
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_digest: Option<ScopeDigest>,
}
