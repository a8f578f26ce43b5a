//! SQLite's statements. SQLite runs in process: a statement is a call, not a round trip,
//! and what costs is preparing it, so these are written to be prepared once per
//! connection.

use diesel::prelude::*;
use diesel::sqlite::{Sqlite, SqliteConnection};

use super::merged_arm;
use crate::entities::Entity;
use crate::error::StoreResult;
use crate::in_list::in_list;
use crate::records::Record;
use crate::tables::records;

/// A statement whose SQL is the same every time it is built: a single-row `INSERT` of a
/// row type that binds every column, `None` as NULL (`treat_none_as_default_value =
/// false`; by default diesel leaves a `None` column out, and the SQL then depends on the
/// row). diesel cannot know that of an `INSERT` and builds the SQL text each time to find
/// the prepared statement; marked as the same, it is found by type (`Row` names it, and
/// a row type inserts into one table). Building the text was a third of what a row cost
/// diesel and SQLite on a push. (The tables have no column defaults, so NULL is what
/// leaving a column out gave.)
pub struct SameSql<Row, Q>(Q, std::marker::PhantomData<fn() -> Row>);

impl<Row, Q> SameSql<Row, Q> {
    pub fn new(query: Q) -> Self {
        SameSql(query, std::marker::PhantomData)
    }
}

impl<Row: 'static, Q> diesel::query_builder::QueryId for SameSql<Row, Q> {
    type QueryId = SameSql<Row, ()>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Row, Q> diesel::query_builder::QueryFragment<Sqlite> for SameSql<Row, Q>
where
    Q: diesel::query_builder::QueryFragment<Sqlite>,
{
    fn walk_ast<'b>(
        &'b self,
        out: diesel::query_builder::AstPass<'_, 'b, Sqlite>,
    ) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

impl<Row, Q> RunQueryDsl<SqliteConnection> for SameSql<Row, Q> {}

/// The records with any of `keys`. SQLite uses the key for `entity = ? AND id IN (…)`;
/// one call per entity.
pub(super) fn find_records(
    c: &mut SqliteConnection,
    keys: &[(Entity, &str)],
) -> StoreResult<Vec<Record>> {
    let mut by_entity: std::collections::BTreeMap<Entity, Vec<&str>> = Default::default();
    for (entity, id) in keys {
        by_entity.entry(*entity).or_default().push(id);
    }
    let mut found = Vec::with_capacity(keys.len());
    for (entity, ids) in by_entity {
        found.extend(
            records::table
                .filter(records::entity.eq(entity))
                .filter(in_list(records::id, &ids))
                .select(Record::as_select())
                .load(c)?,
        );
    }
    Ok(found)
}

/// Sets the changing columns of an existing record; how many rows it updated.
pub(super) fn update_record(c: &mut SqliteConnection, record: &Record) -> StoreResult<usize> {
    Ok(SqliteSave(record).execute(c)?)
}

/// The columns a write changes on a record that exists (PostgreSQL's `Changes`, in
/// `postgres.rs`), written by hand for SQLite, so that the statement is prepared once per
/// connection: diesel prepares every `UPDATE` it builds anew, and on SQLite, where there
/// is no round trip, preparing cost more than the write (an edit of 100 records prepared
/// the same statement 100 times).
struct SqliteSave<'a>(&'a Record);

impl diesel::query_builder::QueryId for SqliteSave<'_> {
    type QueryId = SqliteSave<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::QueryFragment<Sqlite> for SqliteSave<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, Sqlite>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Bool, Nullable, Text};
        let r = self.0;
        out.push_sql("UPDATE records SET version = ");
        out.push_bind_param::<BigInt, _>(&r.version)?;
        out.push_sql(", deleted = ");
        out.push_bind_param::<Bool, _>(&r.deleted)?;
        out.push_sql(", data = ");
        out.push_bind_param::<Text, _>(&r.data)?;
        out.push_sql(", clocks = ");
        out.push_bind_param::<Text, _>(&r.clocks)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<BigInt, _>(&r.updated_at)?;
        out.push_sql(", updated_by = ");
        out.push_bind_param::<Nullable<Text>, _>(&r.updated_by)?;
        out.push_sql(", updated_device = ");
        out.push_bind_param::<Nullable<Text>, _>(&r.updated_device)?;
        out.push_sql(" WHERE entity = ");
        out.push_bind_param::<Text, _>(r.entity.as_str())?;
        out.push_sql(" AND id = ");
        out.push_bind_param::<Text, _>(&r.id)?;
        Ok(())
    }
}

impl RunQueryDsl<SqliteConnection> for SqliteSave<'_> {}

/// [`super::set_six_clears_facts`], written by hand so that it is prepared once per
/// connection, as [`SqliteSave`] is: diesel builds and prepares every `UPDATE` anew, and
/// for this one that cost as much as running it. It runs on a quarter of the load
/// generator's edits (those of `family.monthly_income` and `basic.phone`).
pub(super) fn set_six_clears_facts(
    c: &mut SqliteConnection,
    person: &str,
    categories: &str,
    complete: bool,
) -> StoreResult<usize> {
    let facts = SqliteSixClears {
        person,
        categories,
        complete,
    };
    Ok(facts.execute(c)?)
}

struct SqliteSixClears<'a> {
    person: &'a str,
    categories: &'a str,
    complete: bool,
}

impl diesel::query_builder::QueryId for SqliteSixClears<'_> {
    type QueryId = SqliteSixClears<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::QueryFragment<Sqlite> for SqliteSixClears<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, Sqlite>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Bool, Text};
        out.push_sql("UPDATE persons_index SET categories = ");
        out.push_bind_param::<Text, _>(self.categories)?;
        out.push_sql(", six_clears_complete = ");
        out.push_bind_param::<Bool, _>(&self.complete)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(self.person)?;
        // A row that holds both already is left unwritten.
        out.push_sql(" AND (categories != ");
        out.push_bind_param::<Text, _>(self.categories)?;
        out.push_sql(" OR six_clears_complete != ");
        out.push_bind_param::<Bool, _>(&self.complete)?;
        out.push_sql(")");
        Ok(())
    }
}

impl RunQueryDsl<SqliteConnection> for SqliteSixClears<'_> {}

/// PostgreSQL's limit (`postgres::MERGED_COMMUNITIES`) on SQLite, which has no index on
/// `version` alone (migration 000009): a wider scope's one scan reads and sorts every
/// record of the scope past the cursor for each page. The merged statement is prepared
/// for every page, about 14 µs a community, so past a couple of hundred communities the
/// one scan costs less when little has changed (a review's measurements, 60,000 records:
/// with nothing new, 0.3 ms merged against 2.3 ms for 40 communities, 2.3 against 2.3 for
/// 200, 7.2 against 2.3 for 500; a whole pull's page, 9.1 against 15.5 ms for 500). SQLite
/// allows 500 terms in a compound.
pub(super) const MERGED_COMMUNITIES: usize = 128;

/// A merged pull page's statement (see `merged_page`): the scans without inner limits.
pub(super) fn merged_sql(communities: usize) -> String {
    let arms: Vec<String> = (0..communities).map(|i| merged_arm(i, '?')).collect();
    format!("{} ORDER BY version LIMIT ?2", arms.join(" UNION ALL "))
}
