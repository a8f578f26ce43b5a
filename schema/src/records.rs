//! The `records` table and its companions: change numbers, the idempotent mutation log,
//! conflict records. Only the sync engine writes here; everything else reads.

use diesel::prelude::*;
use serde::Serialize;

use crate::backend;
use crate::entities::Entity;
use crate::error::StoreResult;
use crate::in_list::in_list;
use crate::scope::Scope;
use crate::tables::{
    change_counter, conflicts, households_index, mutations, persons_index, records, sync_state,
};
use crate::time::Micros;
use crate::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = records, treat_none_as_default_value = false)]
pub struct Record {
    pub entity: Entity,
    pub id: String,
    pub community_id: String,
    pub parent_id: Option<String>,
    pub version: i64,
    pub deleted: bool,
    pub data: String,
    pub clocks: String,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    pub updated_device: Option<String>,
}

impl Record {
    /// The stored document, parsed. A row that does not parse is corrupt, and says so: it
    /// is never read as an empty document.
    pub fn document(&self) -> StoreResult<serde_json::Value> {
        parse_json("records.data", &self.data)
    }
}

/// A stored JSON column's text, parsed; `column` names it when it is corrupt.
pub fn parse_json(column: &'static str, text: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| crate::StoreError::Corrupt {
        column,
        value: e.to_string(),
    })
}

/// Takes the case file's write lock (the change counter's row) and returns the last change
/// number handed out. The lock lasts until the transaction ends, so writers commit in the
/// order of their numbers: call it first in every writing transaction of the case file.
/// A request that reads records to decide what to write is thus safe from other writers
/// between its read and its write. A push takes its numbers from the returned value in
/// memory and stores the last with [`set_counter`] before it commits; it takes the lock
/// outside its savepoints, because a row lock first taken inside a savepoint that rolls
/// back would be given up with it.
pub fn lock_for_write(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(diesel::update(change_counter::table.find(1))
        .set(change_counter::value.eq(change_counter::value))
        .returning(change_counter::value)
        .get_result(conn)?)
}

/// Stores the last change number a transaction holding the lock has handed out.
pub fn set_counter(conn: &mut DbConn, value: i64) -> StoreResult<()> {
    diesel::update(change_counter::table.find(1))
        .set(change_counter::value.eq(value))
        .execute(conn)?;
    Ok(())
}

/// The last change number handed out and committed. Every record with a number up to it is
/// committed (the counter's lock orders commits), so a pull bounded by it never skips one.
pub fn committed_version(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(change_counter::table
        .find(1)
        .select(change_counter::value)
        .first(conn)?)
}

pub fn find(conn: &mut DbConn, entity: Entity, id: &str) -> StoreResult<Option<Record>> {
    Ok(records::table
        .find((entity, id))
        .select(Record::as_select())
        .first(conn)
        .optional()?)
}

/// The records with any of `keys` (entity, id): those a transaction's mutations will look
/// up, read together (as each database answers that best: [`backend::find_records`]).
pub fn find_many(conn: &mut DbConn, keys: &[(Entity, &str)]) -> StoreResult<Vec<Record>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    backend::find_records(conn, keys)
}

/// Writes a record's current state (insert or replace). Its community and parent never
/// change once it exists.
pub fn save(conn: &mut DbConn, record: &Record) -> StoreResult<()> {
    if backend::update_record(conn, record)? == 0 {
        diesel::insert_into(records::table)
            .values(record)
            .execute(conn)?;
    }
    Ok(())
}

/// [`save`] for many records: together where the database takes them together
/// ([`backend::update_records`]), otherwise one by one.
pub fn save_many(conn: &mut DbConn, records: &[&Record]) -> StoreResult<()> {
    if backend::update_records(conn, records)? {
        return Ok(());
    }
    // One by one, inserting what was not there (saving again what was is harmless).
    for record in records {
        save(conn, record)?;
    }
    Ok(())
}

/// Writes records the table does not hold yet.
pub fn insert_many(conn: &mut DbConn, records: &[&Record]) -> StoreResult<()> {
    backend::insert_rows!(conn, records::table, Record, records.iter().copied())
}

/// Whether any live record of `entity` names `parent_id` as its parent.
pub fn has_live_children(conn: &mut DbConn, parent_id: &str) -> StoreResult<bool> {
    let n: i64 = records::table
        .filter(records::parent_id.eq(parent_id))
        .filter(records::deleted.eq(false))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// A record as a pull page carries it. The field clocks (about as large as the data) are
/// left out: only the engine reads them.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = records)]
pub struct FeedRow {
    pub entity: Entity,
    pub id: String,
    pub community_id: String,
    pub version: i64,
    pub deleted: bool,
    pub data: String,
}

/// One pull page: records in `communities` changed after the version given for each group,
/// up to `upto`, oldest change first.
///
/// Read as one ordered scan of the community index per community, merged
/// ([`backend::merged_page`]), which reads about one page of rows whatever the table
/// holds. A scope of more communities than one statement should carry
/// ([`backend::merged_community_limit`]) takes one scan of them all.
pub fn changed_since(
    conn: &mut DbConn,
    groups: &[(i64, Vec<String>)],
    upto: i64,
    limit: i64,
) -> StoreResult<Vec<FeedRow>> {
    use diesel::sql_types::Bool;
    let bounds: Vec<(&str, i64)> = groups
        .iter()
        .flat_map(|(after, communities)| communities.iter().map(|c| (c.as_str(), *after)))
        .collect();
    if bounds.len() <= backend::merged_community_limit(conn) {
        return backend::merged_page(conn, &bounds, upto, limit);
    }
    type Condition =
        Box<dyn BoxableExpression<records::table, <DbConn as Connection>::Backend, SqlType = Bool>>;
    // `1 = 0 OR (group 1) OR (group 2) …`, ANDed with the version bounds. The lowest bound
    // of all groups, outside the `OR`, lets PostgreSQL start its version index there
    // rather than at the oldest record on every page of a delta pull.
    let mut any: Condition = Box::new(diesel::dsl::sql::<Bool>("1 = 0"));
    for (after, communities) in groups {
        any = Box::new(
            any.or(records::community_id
                .eq_any(communities.clone())
                .and(records::version.gt(*after))),
        );
    }
    let lowest = groups.iter().map(|(after, _)| *after).min().unwrap_or(0);
    let query = records::table
        .select(FeedRow::as_select())
        .filter(records::version.gt(lowest))
        .filter(records::version.le(upto))
        .filter(any);
    Ok(query
        .order(records::version.asc())
        .limit(limit)
        .load(conn)?)
}

/// The live records of `entities` under any of `parents`, through the parent index, a
/// thousand parents a statement.
pub fn live_children_of(
    conn: &mut DbConn,
    parents: &[&str],
    entities: &[Entity],
) -> StoreResult<Vec<Record>> {
    let mut found = Vec::new();
    for chunk in parents.chunks(1000) {
        found.extend(
            records::table
                .filter(records::parent_id.eq_any(chunk))
                .filter(records::entity.eq_any(entities))
                .filter(records::deleted.eq(false))
                .select(Record::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

/// Every live record of one entity in the communities, without the field clocks: for
/// readers of many documents, which the clocks would double.
pub fn live_rows_of_entity(
    conn: &mut DbConn,
    entity: Entity,
    communities: &[String],
) -> StoreResult<Vec<FeedRow>> {
    Ok(records::table
        .filter(records::entity.eq(entity))
        .filter(records::community_id.eq_any(communities))
        .filter(records::deleted.eq(false))
        .select(FeedRow::as_select())
        .load(conn)?)
}

/// Every live record of one entity in the communities.
pub fn live_of_entity(
    conn: &mut DbConn,
    entity: Entity,
    communities: &[String],
) -> StoreResult<Vec<Record>> {
    Ok(records::table
        .filter(records::entity.eq(entity))
        .filter(records::community_id.eq_any(communities))
        .filter(records::deleted.eq(false))
        .select(Record::as_select())
        .load(conn)?)
}

/// The communities (org nodes of kind community) inside a scope, sorted.
pub fn communities_in_scope(conn: &mut DbConn, scope: &Scope) -> StoreResult<Vec<String>> {
    use crate::tables::org_nodes;
    let mut query = org_nodes::table
        .filter(org_nodes::kind.eq("community"))
        .select(org_nodes::id)
        .order(org_nodes::id.asc())
        .into_boxed();
    if let Some(in_scope) = scope.nodes_condition("org_nodes.id") {
        query = query.filter(in_scope);
    }
    Ok(query.load(conn)?)
}

/// The record partitions visible in a scope, sorted: its communities, and the streets
/// whose employers and vacancies it shares ([`Scope::sees_partition`]). The change feed
/// keeps a cursor, a digest and a purge per partition.
pub fn partitions_in_scope(conn: &mut DbConn, scope: &Scope) -> StoreResult<Vec<String>> {
    use crate::tables::org_nodes;
    let mut query = org_nodes::table
        .filter(org_nodes::kind.eq_any(["community", "street"]))
        .select(org_nodes::id)
        .order(org_nodes::id.asc())
        .into_boxed();
    if let Some(visible) = scope.partitions_condition("org_nodes.id") {
        query = query.filter(visible);
    }
    Ok(query.load(conn)?)
}

/// Change numbers held by more than one record. None, by construction: every writer takes
/// its numbers under the counter's lock. A pull page ends at the last number it holds, so
/// a shared one split across two pages would skip a change; SQLite has no unique index
/// to refuse it (migration 000009), so the tests check.
pub fn shared_versions(conn: &mut DbConn) -> StoreResult<Vec<i64>> {
    Ok(records::table
        .group_by(records::version)
        .having(diesel::dsl::count_star().gt(1))
        .select(records::version)
        .load(conn)?)
}

/// The first answers of those of `ids` seen before: `(mutation_id, device_id, result)`.
pub fn logged_mutations(
    conn: &mut DbConn,
    ids: &[&str],
) -> StoreResult<Vec<(String, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    backend::probe_texts(
        conn,
        "SELECT mutation_id AS a, device_id AS b, result AS c FROM mutations \
         WHERE mutation_id = k.key",
        ids,
        || {
            mutations::table
                .filter(in_list(mutations::mutation_id, ids))
                .select((
                    mutations::mutation_id,
                    mutations::device_id,
                    mutations::result,
                ))
        },
    )
}

/// A mutation's first answer, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = mutations, treat_none_as_default_value = false)]
pub struct LoggedMutation {
    pub mutation_id: String,
    pub device_id: String,
    pub user_id: String,
    pub received_at: Micros,
    /// The answer's JSON.
    pub result: String,
}

/// Logs answers, in one statement.
pub fn log_mutations(conn: &mut DbConn, entries: &[LoggedMutation]) -> StoreResult<()> {
    backend::insert_rows!(conn, mutations::table, LoggedMutation, entries)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = conflicts, treat_none_as_default_value = false)]
pub struct Conflict {
    pub id: String,
    pub entity: Entity,
    pub record_id: String,
    pub community_id: String,
    pub field: String,
    pub policy: String,
    /// JSON of the value the record holds.
    pub kept: String,
    /// JSON of the value that lost (or was proposed).
    pub yours: String,
    pub kept_hlc: String,
    pub yours_hlc: String,
    pub kept_device: Option<String>,
    pub yours_device: Option<String>,
    pub kept_user: Option<String>,
    pub yours_user: Option<String>,
    pub mutation_id: Option<String>,
    pub status: String,
    pub resolution: Option<String>,
    pub resolved_value: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<Micros>,
    #[serde(serialize_with = "crate::time::rfc3339")]
    pub created_at: Micros,
}

/// Records conflicts, in one statement.
pub fn add_conflicts(conn: &mut DbConn, conflicts: &[Conflict]) -> StoreResult<()> {
    backend::insert_rows!(conn, conflicts::table, Conflict, conflicts)
}

/// Conflicts of one record, oldest first.
pub fn conflicts_of(
    conn: &mut DbConn,
    entity: Entity,
    record_id: &str,
) -> StoreResult<Vec<Conflict>> {
    Ok(conflicts::table
        .filter(conflicts::entity.eq(entity))
        .filter(conflicts::record_id.eq(record_id))
        .order((conflicts::created_at.asc(), conflicts::id.asc()))
        .select(Conflict::as_select())
        .load(conn)?)
}

/// Open conflicts in the scope, oldest first.
pub fn open_conflicts(conn: &mut DbConn, scope: &Scope, limit: i64) -> StoreResult<Vec<Conflict>> {
    let mut query = conflicts::table
        .filter(conflicts::status.eq("open"))
        .order((conflicts::created_at.asc(), conflicts::id.asc()))
        .select(Conflict::as_select())
        .limit(limit)
        .into_boxed();
    if let Some(in_scope) = scope.partitions_condition("conflicts.community_id") {
        query = query.filter(in_scope);
    }
    Ok(query.load(conn)?)
}

/// One conflict, only if it lies inside the scope.
pub fn conflict_in_scope(
    conn: &mut DbConn,
    scope: &Scope,
    id: &str,
) -> StoreResult<Option<Conflict>> {
    let mut query = conflicts::table
        .filter(conflicts::id.eq(id))
        .select(Conflict::as_select())
        .into_boxed();
    if let Some(in_scope) = scope.partitions_condition("conflicts.community_id") {
        query = query.filter(in_scope);
    }
    Ok(query.first(conn).optional()?)
}

/// Marks a conflict resolved; false when it was no longer open (someone resolved it first).
pub fn resolve_conflict(
    conn: &mut DbConn,
    id: &str,
    resolution: &str,
    value: Option<&str>,
    by: &str,
    at: Micros,
) -> StoreResult<bool> {
    let n = diesel::update(
        conflicts::table
            .filter(conflicts::id.eq(id))
            .filter(conflicts::status.eq("open")),
    )
    .set((
        conflicts::status.eq("resolved"),
        conflicts::resolution.eq(resolution),
        conflicts::resolved_value.eq(value),
        conflicts::resolved_by.eq(by),
        conflicts::resolved_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The highest change number of a tombstone removed so far.
pub fn tombstone_horizon(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(sync_state::table
        .find("tombstone_horizon")
        .select(sync_state::value)
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

/// Removes tombstones last changed before `before`, and raises the horizon past them, in
/// one transaction. Returns how many were removed. Safe to run on several replicas.
pub fn purge_tombstones(conn: &mut DbConn, before: Micros) -> StoreResult<usize> {
    use diesel::Connection;
    conn.transaction(|conn| {
        let old = records::table
            .filter(records::deleted.eq(true))
            .filter(records::updated_at.lt(before));
        let newest: Option<i64> = old.select(diesel::dsl::max(records::version)).first(conn)?;
        let Some(newest) = newest else { return Ok(0) };
        let removed = diesel::delete(
            records::table
                .filter(records::deleted.eq(true))
                .filter(records::version.le(newest)),
        )
        .execute(conn)?;
        // Their projection rows go with them: a record created again under the same id
        // inserts its projection row afresh.
        diesel::delete(
            persons_index::table
                .filter(persons_index::deleted.eq(true))
                .filter(persons_index::version.le(newest)),
        )
        .execute(conn)?;
        diesel::delete(
            households_index::table
                .filter(households_index::deleted.eq(true))
                .filter(households_index::version.le(newest)),
        )
        .execute(conn)?;
        diesel::update(
            sync_state::table
                .find("tombstone_horizon")
                .filter(sync_state::value.lt(newest)),
        )
        .set(sync_state::value.eq(newest))
        .execute(conn)?;
        Ok(removed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQL of a query, without its binds.
    fn sql<Q: diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>>(query: &Q) -> String {
        let text = diesel::debug_query::<diesel::sqlite::Sqlite, _>(query).to_string();
        text.split(" -- binds")
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// [`SameSql`](backend::SameSql) holds only if a row's `INSERT` is the same SQL whatever the row holds:
    /// a `None` must bind NULL, not leave its column out.
    #[test]
    fn an_insert_names_every_column_whatever_the_row_holds() {
        let text = |s: &str| Some(s.to_string());
        let record = |parent: Option<String>, by: Option<String>| Record {
            entity: Entity::Person,
            id: "r".into(),
            community_id: "c".into(),
            parent_id: parent,
            version: 1,
            deleted: false,
            data: "{}".into(),
            clocks: "{}".into(),
            created_at: 1,
            updated_at: 1,
            created_by: by.clone(),
            updated_by: by.clone(),
            updated_device: by,
        };
        let (bare, full) = (record(None, None), record(text("h"), text("u")));
        assert_eq!(
            sql(&diesel::insert_into(records::table).values(&bare)),
            sql(&diesel::insert_into(records::table).values(&full))
        );
        let conflict = |some: Option<String>| Conflict {
            id: "x".into(),
            entity: Entity::Person,
            record_id: "r".into(),
            community_id: "c".into(),
            field: "name".into(),
            policy: "lww".into(),
            kept: "1".into(),
            yours: "2".into(),
            kept_hlc: "h".into(),
            yours_hlc: "h".into(),
            kept_device: some.clone(),
            yours_device: some.clone(),
            kept_user: some.clone(),
            yours_user: some.clone(),
            mutation_id: some.clone(),
            status: "open".into(),
            resolution: some.clone(),
            resolved_value: some.clone(),
            resolved_by: some.clone(),
            resolved_at: some.map(|_| 1),
            created_at: 1,
        };
        let (bare, full) = (conflict(None), conflict(text("v")));
        assert_eq!(
            sql(&diesel::insert_into(conflicts::table).values(&bare)),
            sql(&diesel::insert_into(conflicts::table).values(&full))
        );
    }

    /// A pull page, read either way ([`backend::merged_page`] for up to 128 communities on SQLite, one
    /// scan for more), is the records of those communities after each one's bound and up to
    /// `upto`, oldest change first, at most `limit` of them.
    #[test]
    fn pull_pages_hold_the_next_changes_of_the_communities_asked_for() {
        use crate::org::{self, OrgKind};
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut conn = crate::Backend::Sqlite(dir.path().join("pages.db"))
            .connect()
            .expect("database");
        crate::db::migrate_up(&mut conn).expect("migrations");
        let mut parent: Option<String> = None;
        for (i, kind) in [OrgKind::District, OrgKind::Street, OrgKind::Station]
            .into_iter()
            .enumerate()
        {
            let id = format!("00000000-0000-0000-0000-00000000000{i}");
            org::create(&mut conn, &id, parent.as_deref(), kind, "node")
                .expect("store")
                .expect("placed");
            parent = Some(id);
        }
        let communities: Vec<String> = (0..510)
            .map(|i| format!("00000000-0000-0000-0001-{i:012}"))
            .collect();
        for c in &communities {
            org::create(&mut conn, c, parent.as_deref(), OrgKind::Community, "c")
                .expect("store")
                .expect("placed");
        }
        // Record k has change number k and lies in community k mod 510.
        let stored: Vec<Record> = (1..=1_200_i64)
            .map(|k| Record {
                entity: Entity::Household,
                id: format!("r{k:04}"),
                community_id: communities[(k % 510) as usize].clone(),
                parent_id: None,
                version: k,
                deleted: k % 9 == 0,
                data: "{}".into(),
                clocks: "{}".into(),
                created_at: 1,
                updated_at: 1,
                created_by: None,
                updated_by: None,
                updated_device: None,
            })
            .collect();
        insert_many(&mut conn, &stored.iter().collect::<Vec<_>>()).expect("records");

        let check = |conn: &mut DbConn, groups: Vec<(i64, Vec<String>)>, upto: i64, limit: i64| {
            let page = changed_since(conn, &groups, upto, limit).expect("page");
            let expected: Vec<i64> = stored
                .iter()
                .filter(|r| r.version <= upto)
                .filter(|r| {
                    groups
                        .iter()
                        .any(|(after, cs)| r.version > *after && cs.contains(&r.community_id))
                })
                .map(|r| r.version)
                .take(limit as usize)
                .collect();
            let got: Vec<i64> = page.iter().map(|r| r.version).collect();
            assert_eq!(
                got,
                expected,
                "groups of {} communities",
                groups.iter().map(|g| g.1.len()).sum::<usize>()
            );
            assert!(!expected.is_empty());
        };
        // Communities with different bounds, up to the most one statement carries:
        // merged scans.
        let few = |range: std::ops::Range<usize>| communities[range].to_vec();
        check(
            &mut conn,
            vec![(0, few(0..3)), (600, few(10..20))],
            1_100,
            10,
        );
        check(&mut conn, vec![(0, few(0..1))], 1_200, 1_000);
        check(
            &mut conn,
            vec![(40, few(0..64)), (700, few(64..128))],
            1_200,
            300,
        );
        // More: one scan.
        check(
            &mut conn,
            vec![(40, few(0..64)), (700, few(64..129))],
            1_200,
            300,
        );
        check(
            &mut conn,
            vec![(0, few(0..40)), (100, few(40..510))],
            1_000,
            300,
        );
        // Nothing after the bound.
        assert!(changed_since(&mut conn, &[(1_200, few(0..5))], 1_200, 10)
            .expect("page")
            .is_empty());

        // Every number held once; a second record with one is found.
        assert!(shared_versions(&mut conn).expect("versions").is_empty());
        let twin = Record {
            id: "twin".into(),
            ..stored[0].clone()
        };
        insert_many(&mut conn, &[&twin]).expect("twin");
        assert_eq!(shared_versions(&mut conn).expect("versions"), [1]);
    }
}
