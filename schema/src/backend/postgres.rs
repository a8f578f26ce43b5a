//! PostgreSQL's statements. Each statement is a round trip to the server while every
//! writer waits, so these ask for many rows at once; and the planner prices plans by
//! statistics a new deployment does not have yet, so they are written to be planned well
//! without them.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};

use super::{merged_arm, FEED_COLUMNS};
use crate::entities::Entity;
use crate::error::StoreResult;
use crate::records::Record;
use crate::tables::records;
use crate::time::Micros;
use crate::DbConn;

/// The records with any of `keys` (entity, id), in one statement that probes the primary
/// key once per key. The plain `entity = $1 AND id = ANY($2)` was planned, on tables not
/// yet analysed (a new deployment's first minutes, every benchmark run), as a scan of all
/// the entity's rows filtered by id: the planner's default guess is that few rows have a
/// given `entity`. A join with the keys fared no better: the planner, pricing random reads
/// at four times sequential ones, hashed the whole table. Either cost a millisecond or
/// more a call, growing with the table, while every writer waited. A `LIMIT` keeps the
/// subquery a probe per key, which is what a handful of keys against any table past a few
/// pages wants; statements built with `sql_query` are not kept prepared, so each is
/// planned afresh.
pub(super) fn find_records(
    pg: &mut PgConnection,
    keys: &[(Entity, &str)],
) -> StoreResult<Vec<Record>> {
    let (entities, ids): (Vec<&str>, Vec<&str>) =
        keys.iter().map(|(e, id)| (e.as_str(), *id)).unzip();
    Ok(diesel::sql_query(
        "SELECT r.* FROM unnest($1::text[], $2::text[]) AS k(entity, id), LATERAL \
         (SELECT entity, id, community_id, parent_id, version, deleted, data, clocks, \
         created_at, updated_at, created_by, updated_by, updated_device FROM records \
         WHERE entity = k.entity AND id = k.id LIMIT 1) AS r",
    )
    .bind::<Array<Text>, _>(entities)
    .bind::<Array<Text>, _>(ids)
    .load(pg)?)
}

/// Three text columns for each of `keys`, by a probe of an index per key (for the reasons
/// [`find_records`] gives). `probe` is the query for one key, `k.key`, naming its columns
/// `a`, `b` and `c`; it is run with `LIMIT 1`. A constant, never input.
pub(super) fn probe_texts(
    pg: &mut PgConnection,
    probe: &'static str,
    keys: &[&str],
) -> StoreResult<Vec<(String, String, String)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        a: String,
        #[diesel(sql_type = Text)]
        b: String,
        #[diesel(sql_type = Text)]
        c: String,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT p.* FROM unnest($1::text[]) AS k(key), LATERAL ({probe} LIMIT 1) AS p"
    ))
    .bind::<Array<Text>, _>(keys)
    .load(pg)?;
    Ok(rows.into_iter().map(|r| (r.a, r.b, r.c)).collect())
}

/// The columns a write changes on a record that exists. Leaving out the key, community
/// and parent keeps the database from rewriting their index entries: with every column
/// in the `SET`, SQLite updated all four of the table's indexes on each edit, and that
/// was half of an edit's time. (SQLite's statement, `SqliteSave` in `sqlite.rs`, sets
/// the same columns.)
#[derive(AsChangeset)]
#[diesel(table_name = records, treat_none_as_null = true)]
struct Changes<'a> {
    version: i64,
    deleted: bool,
    data: &'a str,
    clocks: &'a str,
    updated_at: Micros,
    updated_by: Option<&'a str>,
    updated_device: Option<&'a str>,
}

/// Sets the changing columns of an existing record; how many rows it updated.
pub(super) fn update_record(conn: &mut DbConn, record: &Record) -> StoreResult<usize> {
    Ok(
        diesel::update(records::table.find((record.entity, &record.id)))
            .set(&Changes {
                version: record.version,
                deleted: record.deleted,
                data: &record.data,
                clocks: &record.clocks,
                updated_at: record.updated_at,
                updated_by: record.updated_by.as_deref(),
                updated_device: record.updated_device.as_deref(),
            })
            .execute(conn)?,
    )
}

/// Sets the changing columns of many existing records in one statement (one round trip,
/// where one per record was most of a push of edits' time); returns how many rows it
/// updated.
pub(super) fn update_records(pg: &mut PgConnection, records: &[&Record]) -> StoreResult<usize> {
    let column = |f: fn(&Record) -> String| records.iter().map(|r| f(r)).collect::<Vec<_>>();
    let optional =
        |f: fn(&Record) -> Option<String>| records.iter().map(|r| f(r)).collect::<Vec<_>>();
    Ok(diesel::sql_query(
        "UPDATE records AS r SET version = u.version, deleted = u.deleted, data = u.data, \
         clocks = u.clocks, updated_at = u.updated_at, updated_by = u.updated_by, \
         updated_device = u.updated_device \
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::boolean[], $5::text[], \
         $6::text[], $7::bigint[], $8::text[], $9::text[]) \
         AS u(entity, id, version, deleted, data, clocks, updated_at, updated_by, updated_device) \
         WHERE r.entity = u.entity AND r.id = u.id",
    )
    .bind::<Array<Text>, _>(column(|r| r.entity.as_str().to_string()))
    .bind::<Array<Text>, _>(column(|r| r.id.clone()))
    .bind::<Array<BigInt>, _>(records.iter().map(|r| r.version).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(records.iter().map(|r| r.deleted).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(column(|r| r.data.clone()))
    .bind::<Array<Text>, _>(column(|r| r.clocks.clone()))
    .bind::<Array<BigInt>, _>(records.iter().map(|r| r.updated_at).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.updated_by.clone()))
    .bind::<Array<Nullable<Text>>, _>(optional(|r| r.updated_device.clone()))
    .execute(pg)?)
}

/// Up to this many communities, a PostgreSQL pull page is read community by community
/// (`merged_page`); a wider scope (a district's) takes the one scan, which the `UNIQUE`
/// index on `version` serves there.
pub(super) const MERGED_COMMUNITIES: usize = 64;

/// A merged pull page's statement (see `merged_page`): each scan limited, then merged.
pub(super) fn merged_sql(communities: usize) -> String {
    let arms: Vec<String> = (0..communities)
        .map(|i| format!("({} ORDER BY version LIMIT $2)", merged_arm(i, '$')))
        .collect();
    format!(
        "SELECT {FEED_COLUMNS} FROM ({}) page ORDER BY version LIMIT $2",
        arms.join(" UNION ALL ")
    )
}

/// Sets `(community, live, sum)` digest rows that exist, in one statement: a flush touches
/// a few communities, and each statement is a round trip.
pub(super) fn update_digests(pg: &mut PgConnection, rows: &[(&str, i64, i64)]) -> StoreResult<()> {
    diesel::sql_query(
        "UPDATE community_digests AS d SET live = u.live, sum = u.sum \
         FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(community_id, live, sum) \
         WHERE d.community_id = u.community_id",
    )
    .bind::<Array<Text>, _>(rows.iter().map(|r| r.0).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.1).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.2).collect::<Vec<_>>())
    .execute(pg)?;
    Ok(())
}

/// Sets persons' names in their projection rows, `(person, name)`, in one statement.
pub(super) fn rename_persons(
    pg: &mut PgConnection,
    renames: Vec<(String, String)>,
) -> StoreResult<()> {
    let (ids, names): (Vec<String>, Vec<String>) = renames.into_iter().unzip();
    diesel::sql_query(
        "UPDATE persons_index AS p SET name = u.name \
         FROM unnest($1::text[], $2::text[]) AS u(id, name) WHERE p.id = u.id",
    )
    .bind::<Array<Text>, _>(ids)
    .bind::<Array<Text>, _>(names)
    .execute(pg)?;
    Ok(())
}
