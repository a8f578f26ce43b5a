//! The org tree: district → street → station → community. A community is the unit of data
//! scope; every case belongs to one.

use diesel::prelude::*;
use serde::Serialize;

use crate::error::StoreResult;
use crate::scope::Scope;
use crate::tables::org_nodes;
use crate::time::{now_micros, Micros};
use crate::DbConn;

crate::text_enum! {
    /// The level of an org node.
    pub enum OrgKind {
        District = "district",
        Street = "street",
        Station = "station",
        Community = "community",
    }
}

impl OrgKind {
    /// The kind a node of this kind may have as parent (`None`: a root).
    pub fn parent_kind(self) -> Option<OrgKind> {
        match self {
            OrgKind::District => None,
            OrgKind::Street => Some(OrgKind::District),
            OrgKind::Station => Some(OrgKind::Street),
            OrgKind::Community => Some(OrgKind::Station),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = org_nodes)]
pub struct OrgNode {
    pub id: String,
    pub parent_id: Option<String>,
    pub kind: OrgKind,
    pub name: String,
    #[serde(skip)]
    pub path: String,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub created_at: Micros,
}

/// Why a node cannot be created where it was asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum PlacementError {
    ParentNotFound,
    /// `expected` is `None` when the kind must be a root.
    WrongParentKind {
        expected: Option<OrgKind>,
    },
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<OrgNode>> {
    Ok(org_nodes::table
        .find(id)
        .select(OrgNode::as_select())
        .first(conn)
        .optional()?)
}

/// Creates a node under `parent_id`, checking that the kinds nest properly.
pub fn create(
    conn: &mut DbConn,
    id: &str,
    parent_id: Option<&str>,
    kind: OrgKind,
    name: &str,
) -> StoreResult<Result<OrgNode, PlacementError>> {
    let parent = match parent_id {
        Some(pid) => match find(conn, pid)? {
            Some(p) => Some(p),
            None => return Ok(Err(PlacementError::ParentNotFound)),
        },
        None => None,
    };
    if parent.as_ref().map(|p| p.kind) != kind.parent_kind() {
        return Ok(Err(PlacementError::WrongParentKind {
            expected: kind.parent_kind(),
        }));
    }
    let path = match &parent {
        Some(p) => format!("{}{id}/", p.path),
        None => format!("/{id}/"),
    };
    let node = OrgNode {
        id: id.to_string(),
        parent_id: parent.map(|p| p.id),
        kind,
        name: name.to_string(),
        path,
        created_at: now_micros(),
    };
    diesel::insert_into(org_nodes::table)
        .values(&node)
        .execute(conn)?;
    Ok(Ok(node))
}

/// Every node inside the scope, ordered by path (parents before children).
pub fn list_in_scope(conn: &mut DbConn, scope: &Scope) -> StoreResult<Vec<OrgNode>> {
    let mut query = org_nodes::table
        .select(OrgNode::as_select())
        .order(org_nodes::path.asc())
        .into_boxed();
    if let Some(in_scope) = scope.nodes_condition("org_nodes.id") {
        query = query.filter(in_scope);
    }
    Ok(query.load(conn)?)
}

/// One node, only if it lies inside the scope. The node is read by its key and its path
/// tested here, so the statement is the same for every scope and prepared once per
/// connection (a push asks this of each community it writes in).
pub fn find_in_scope(conn: &mut DbConn, scope: &Scope, id: &str) -> StoreResult<Option<OrgNode>> {
    let node = org_nodes::table
        .find(id)
        .select(OrgNode::as_select())
        .first(conn)
        .optional()?;
    Ok(node.filter(|n| scope.covers(&n.path)))
}

/// One node, only if a record partition there is visible in the scope: inside it, or a
/// street above it ([`Scope::sees_partition`]).
pub fn find_partition_in_scope(
    conn: &mut DbConn,
    scope: &Scope,
    id: &str,
) -> StoreResult<Option<OrgNode>> {
    let node = org_nodes::table
        .find(id)
        .select(OrgNode::as_select())
        .first(conn)
        .optional()?;
    Ok(node.filter(|n| scope.sees_partition(n.kind, &n.path)))
}

/// The street a node lies in (itself, if it is one); `None` above streets.
pub fn street_of(conn: &mut DbConn, id: &str) -> StoreResult<Option<String>> {
    let Some(path) = org_nodes::table
        .find(id)
        .select(org_nodes::path)
        .first::<String>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    Ok(street_in_path(&path))
}

/// The street of a node's path, if it is a street or below one. A path is
/// `/district/street/…/` (a street's parent is always a district; see
/// `OrgKind::parent_kind`): the street is its second id.
pub fn street_in_path(path: &str) -> Option<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .nth(1)
        .map(str::to_string)
}

/// The paths of the given nodes (for building a scope).
pub fn paths_of(conn: &mut DbConn, ids: &[String]) -> StoreResult<Vec<String>> {
    Ok(org_nodes::table
        .filter(org_nodes::id.eq_any(ids))
        .select(org_nodes::path)
        .load(conn)?)
}
