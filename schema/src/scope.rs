//! Data scope: the communities a user may see are those under the org nodes they are bound
//! to. A `Scope` becomes a SQL condition inside each query that lists or searches, so scope
//! is enforced by the database rather than by filtering what was loaded; one org node read
//! by its key is tested against the scope's paths (`Scope::covers`).
//!
//! Records live in partitions: most in a community, employers and their vacancies in a
//! street (every community under a street works with the same employers). A street's
//! partition is seen by everyone bound inside that street as well as by those above it
//! (`Scope::sees_partition`); nothing else about a street is (its reports, its other
//! communities) — that stays `covers`.

use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::sql_types::Bool;

use crate::org::OrgKind;

/// The part of the org tree a user may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole tree (system administrators).
    All,
    /// The subtrees under these materialised paths; empty means nothing.
    Subtrees(Vec<String>),
}

/// A materialised path holds only UUIDs and slashes; anything else is refused before it
/// could reach SQL text.
fn is_plain_path(path: &str) -> bool {
    path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'/')
}

impl Scope {
    /// `SELECT id FROM org_nodes WHERE <inside the scope>`; `None` for the whole tree.
    fn node_ids_sql(&self) -> Option<String> {
        let paths = match self {
            Scope::All => return None,
            Scope::Subtrees(paths) => paths,
        };
        // The conditions are plain literals (checked above), so the condition is one fixed
        // SQL type that nests in any query on both backends.
        let mut condition = String::from("1 = 0");
        for path in paths.iter().filter(|p| is_plain_path(p)) {
            condition.push_str(&format!(" OR org_nodes.path LIKE '{path}%'"));
        }
        Some(format!(
            "SELECT org_nodes.id FROM org_nodes WHERE {condition}"
        ))
    }

    /// Whether the node with this materialised path lies inside the scope: the same test
    /// as [`Scope::nodes_condition`]'s `LIKE '<path>%'`, made on a path already read.
    pub fn covers(&self, path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Subtrees(paths) => paths
                .iter()
                .any(|p| is_plain_path(p) && path.starts_with(p.as_str())),
        }
    }

    /// Whether a record partition at a node of `kind` with this path is visible: a node
    /// inside the scope, or a street above a node the user is bound to.
    pub fn sees_partition(&self, kind: OrgKind, path: &str) -> bool {
        self.covers(path)
            || (kind == OrgKind::Street
                && match self {
                    Scope::All => true,
                    Scope::Subtrees(paths) => paths
                        .iter()
                        .any(|p| is_plain_path(p) && is_plain_path(path) && p.starts_with(path)),
                })
    }

    /// `<column> IN (record partitions visible in the scope)`: the nodes inside it and
    /// the streets above its bound nodes ([`Scope::sees_partition`] in SQL); `None` means
    /// no filter is needed.
    pub fn partitions_condition(&self, column: &'static str) -> Option<SqlLiteral<Bool>> {
        let paths = match self {
            Scope::All => return None,
            Scope::Subtrees(paths) => paths,
        };
        let mut condition = String::from("1 = 0");
        for path in paths.iter().filter(|p| is_plain_path(p)) {
            condition.push_str(&format!(
                " OR org_nodes.path LIKE '{path}%' \
                 OR (org_nodes.kind = 'street' AND '{path}' LIKE org_nodes.path || '%')"
            ));
        }
        Some(sql::<Bool>(&format!(
            "{column} IN (SELECT org_nodes.id FROM org_nodes WHERE {condition})"
        )))
    }

    /// `<column> IN (org nodes inside the scope)`; `None` means no filter is needed.
    /// `column` is a qualified column name written in code, never input.
    pub fn nodes_condition(&self, column: &'static str) -> Option<SqlLiteral<Bool>> {
        self.node_ids_sql()
            .map(|ids| sql::<Bool>(&format!("{column} IN ({ids})")))
    }

    /// `<column> IN (users bound to a node inside the scope)`; `None`: no filter needed.
    pub fn users_condition(&self, column: &'static str) -> Option<SqlLiteral<Bool>> {
        self.node_ids_sql().map(|ids| {
            sql::<Bool>(&format!(
                "{column} IN (SELECT user_org_nodes.user_id FROM user_org_nodes \
                 WHERE user_org_nodes.org_node_id IN ({ids}))"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_scope_matches_nothing_and_all_needs_no_filter() {
        assert_eq!(Scope::All.node_ids_sql(), None);
        let empty = Scope::Subtrees(vec![]).node_ids_sql().expect("filter");
        assert!(empty.ends_with("WHERE 1 = 0"), "{empty}");
    }

    #[test]
    fn a_scope_covers_the_paths_under_its_own() {
        let station = "/0193a5c2-7d1e-7000-8000-000000000001/0193a5c2-7d1e-7000-8000-000000000002/";
        let scope = Scope::Subtrees(vec![station.into()]);
        assert!(scope.covers(station));
        assert!(scope.covers(&format!("{station}0193a5c2-7d1e-7000-8000-000000000003/")));
        assert!(
            !scope.covers("/0193a5c2-7d1e-7000-8000-000000000001/"),
            "its parent"
        );
        assert!(!scope.covers("/0193a5c2-7d1e-7000-8000-000000000009/"));
        assert!(Scope::All.covers("/anything/"));
        assert!(!Scope::Subtrees(vec![]).covers(station));
        // A path that would not reach SQL covers nothing here either.
        assert!(!Scope::Subtrees(vec!["/x' OR '1'='1/".into()]).covers("/x' OR '1'='1/"));
    }

    #[test]
    fn a_street_partition_is_seen_from_below_and_nothing_else_is() {
        let street = "/0193a5c2-7d1e-7000-8000-000000000001/0193a5c2-7d1e-7000-8000-000000000002/";
        let community = format!(
            "{street}0193a5c2-7d1e-7000-8000-000000000003/0193a5c2-7d1e-7000-8000-000000000004/"
        );
        let coordinator = Scope::Subtrees(vec![community.clone()]);
        assert!(coordinator.sees_partition(OrgKind::Street, street));
        assert!(coordinator.sees_partition(OrgKind::Community, &community));
        assert!(
            !coordinator.covers(street),
            "the street itself stays outside"
        );
        // The district above the street, a station above the community, another street.
        assert!(!coordinator
            .sees_partition(OrgKind::District, "/0193a5c2-7d1e-7000-8000-000000000001/"));
        assert!(!coordinator.sees_partition(
            OrgKind::Station,
            &format!("{street}0193a5c2-7d1e-7000-8000-000000000003/")
        ));
        assert!(!coordinator.sees_partition(
            OrgKind::Street,
            "/0193a5c2-7d1e-7000-8000-000000000001/0193a5c2-7d1e-7000-8000-000000000009/"
        ));
        // A street's supervisor sees it as their own.
        assert!(Scope::Subtrees(vec![street.into()]).sees_partition(OrgKind::Street, street));
        assert!(Scope::All.sees_partition(OrgKind::Street, street));
        assert!(!Scope::Subtrees(vec![]).sees_partition(OrgKind::Street, street));
        let sql = coordinator
            .partitions_condition("records.community_id")
            .map(|_| ())
            .is_some();
        assert!(sql);
    }

    #[test]
    fn paths_that_are_not_plain_never_reach_sql() {
        let scope = Scope::Subtrees(vec![
            "/0193a5c2-7d1e-7000-8000-000000000001/".into(),
            "/x' OR '1'='1/".into(),
        ]);
        let text = scope.node_ids_sql().expect("filter");
        assert!(text.contains("0193a5c2"));
        assert!(!text.contains("OR '1'"), "{text}");
    }
}
