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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Applied,
    Merged,
    Conflict,
    Rejected,
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

/// The answer to one mutation. `reason` is a machine code on rejections
/// (`duplicate_person`, `unknown_parent`, …).
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
    pub reason: Option<String>,
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
    pub fn rejected(mutation_id: &str, reason: &str, errors: Vec<FieldProblem>) -> MutationResult {
        MutationResult {
            mutation_id: mutation_id.to_string(),
            status: Status::Rejected,
            version: None,
            conflicts: Vec::new(),
            errors,
            reason: Some(reason.to_string()),
            existing_id: None,
            clock_clamped: false,
            attachments: Vec::new(),
        }
    }
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
