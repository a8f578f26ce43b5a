//! `column IN (…many keys…)` on SQLite as one fixed statement.
//!
//! Diesel writes `eq_any(keys)` as `IN (?, ?, …)`, one placeholder a key, so the
//! statement's text changes with the number of keys and is prepared again on every call.
//! The push writer asks three such questions for every group it commits (the records, the
//! earlier answers and the enrolled ID numbers of about 200 mutations); preparing them
//! was about 3% of its time. [`in_list`] passes the keys as one JSON array instead,
//! `column IN (SELECT value FROM json_each(?))`: the same text every time, so the
//! connection keeps it prepared, and SQLite still probes the column's index once per key.

use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Nullable, Text};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

/// `column IN (SELECT value FROM json_each(keys))`, for SQLite.
#[derive(Debug, Clone)]
pub struct InList<C> {
    column: C,
    /// The keys as a JSON array of strings.
    keys: String,
}

/// `column IN keys`, the keys bound as one value (see the module's comment).
pub fn in_list<C>(column: C, keys: &[&str]) -> InList<C> {
    InList {
        column,
        // Not a fallback to "no keys": that would answer "none found" wrongly (the
        // duplicate-enrolment check would pass).
        keys: serde_json::to_string(keys).expect("a list of strings always serializes"),
    }
}

/// The columns [`in_list`] compares: text, nullable or not (the keys are strings).
pub trait TextColumn {}
impl TextColumn for Text {}
impl TextColumn for Nullable<Text> {}

/// Nullable, as SQL's `IN` is: a NULL column is neither in nor out.
impl<C> Expression for InList<C>
where
    C: Expression,
    C::SqlType: TextColumn,
{
    type SqlType = Nullable<Bool>;
}

impl<C: QueryId> QueryId for InList<C> {
    type QueryId = InList<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for InList<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.keys)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<C, QS> AppearsOnTable<QS> for InList<C>
where
    C: AppearsOnTable<QS>,
    C::SqlType: TextColumn,
{
}

impl<C, QS> SelectableExpression<QS> for InList<C>
where
    C: SelectableExpression<QS>,
    C::SqlType: TextColumn,
{
}

impl<C: ValidGrouping<G>, G> ValidGrouping<G> for InList<C> {
    type IsAggregate = C::IsAggregate;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::org_nodes;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    fn query<'k>(keys: &[&'k str]) -> impl QueryFragment<Sqlite> + QueryId + 'k {
        org_nodes::table
            .filter(org_nodes::kind.eq("community"))
            .filter(in_list(org_nodes::id, keys))
            .select(org_nodes::id)
    }

    #[test]
    fn the_statement_is_one_text_for_any_number_of_keys_and_kept_prepared() {
        let text = |keys: &[&str]| {
            diesel::debug_query::<Sqlite, _>(&query(keys))
                .to_string()
                .split(" -- binds")
                .next()
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(text(&["a"]), text(&["a", "b", "c"]));
        assert!(query(&["a"])
            .is_safe_to_cache_prepared(&Sqlite)
            .expect("checked"));
    }

    #[test]
    fn it_finds_exactly_the_keys_given_whatever_they_hold() {
        let mut conn = SqliteConnection::establish(":memory:").expect("database");
        conn.batch_execute(
            "CREATE TABLE org_nodes (id TEXT PRIMARY KEY, parent_id TEXT, kind TEXT, \
             name TEXT, path TEXT, created_at BIGINT);
             INSERT INTO org_nodes (id, kind) VALUES ('a', 'community'), ('b\"q', 'community'), \
             ('c\\d', 'community'), ('社区', 'community'), ('e', 'community'), ('f', 'street');",
        )
        .expect("rows");
        let find = |conn: &mut SqliteConnection, keys: &[&str]| {
            let mut found: Vec<String> = org_nodes::table
                .filter(org_nodes::kind.eq("community"))
                .filter(in_list(org_nodes::id, keys))
                .select(org_nodes::id)
                .load(conn)
                .expect("found");
            found.sort();
            found
        };
        assert_eq!(
            find(&mut conn, &["社区", "b\"q", "c\\d", "x", "f"]),
            ["b\"q", "c\\d", "社区"]
        );
        assert_eq!(find(&mut conn, &["a"]), ["a"]);
        assert!(find(&mut conn, &[]).is_empty());
        // A NULL column is neither in the list nor out of it.
        let parent_in: Vec<Option<bool>> = org_nodes::table
            .filter(org_nodes::id.eq("a"))
            .select(in_list(org_nodes::parent_id, &["x"]))
            .load(&mut conn)
            .expect("selected");
        assert_eq!(parent_in, [None]);
    }
}
