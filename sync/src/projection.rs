//! Keeps the typed, indexed projections (`persons_index`, `households_index`) in step with
//! `records`, inside the same transaction. They serve searches and reports; everything in
//! them can be rebuilt from `records`.

use chrono::NaiveDate;
use diesel::prelude::*;
use liuqing_schema::backend;
use liuqing_schema::domain::six_clears::Section;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::in_list::in_list;
use liuqing_schema::records::Record;
use liuqing_schema::tables::{households_index, persons_index, visits_index};
use liuqing_schema::{DbConn, StoreError};
use serde_json::Value;

use crate::values::sealed_hash;

fn text(doc: &Value, path: &str) -> Option<String> {
    get_path(doc, path)
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The person already enrolled with this ID number hash, other than `except`, and their
/// community.
pub fn enrolled(
    conn: &mut DbConn,
    hash: &str,
    except: &str,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(persons_index::table
        .filter(persons_index::id_number_hash.eq(hash))
        .filter(persons_index::id.ne(except))
        .filter(persons_index::deleted.eq(false))
        .select((persons_index::id, persons_index::community_id))
        .first(conn)
        .optional()?)
}

/// The persons enrolled with any of `hashes`: `(hash, person, community)`.
pub fn enrolled_any(
    conn: &mut DbConn,
    hashes: &[&str],
) -> Result<Vec<(String, String, String)>, StoreError> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    backend::probe_texts(
        conn,
        "SELECT id_number_hash AS a, id AS b, community_id AS c FROM persons_index \
         WHERE id_number_hash = k.key AND NOT deleted",
        hashes,
        || {
            persons_index::table
                .filter(in_list(persons_index::id_number_hash, hashes))
                .filter(persons_index::deleted.eq(false))
                .select((
                    persons_index::id_number_hash.assume_not_null(),
                    persons_index::id,
                    persons_index::community_id,
                ))
        },
    )
}

/// What a write did to its record.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A new record: its own projection row is inserted without trying an update first.
    Created,
    /// Fields (by path) of a record that was there before; a deletion names none.
    Edited(&'a [&'static str]),
}

/// The fields of each entity that the projections read. An edit that touches none of them
/// leaves the projections alone (most edits: a push of six-clears answers would otherwise
/// write every person's projection row again, unchanged).
fn reads(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Household => &[
            "address",
            "zero_employment",
            "zero_employment_found_on",
            "zero_employment_cleared_on",
        ],
        Entity::Person => &[
            "household_id",
            "name",
            "sex",
            "birth_date",
            "id_number",
            "phone",
        ],
        // Its categories, and every item a section needs (completeness).
        Entity::SixClears => SIX_CLEARS_READS,
        Entity::Assessment => &["person_id", "tier", "assessed_on"],
        Entity::Recognition => &["person_id", "state"],
        Entity::Exit => &["person_id"],
        // Append-only: a visit is projected when it is created, and edited only by deletion.
        Entity::Visit => &["started_at", "persons_seen"],
        Entity::ServiceRecord => &["person_id", "delivered_on"],
        // A referral, a placement and a follow-up with the person are contact with them.
        Entity::Referral => &["person_id", "referred_on"],
        Entity::Placement => &["person_id", "started_on"],
        Entity::FollowUp => &["person_id", "followed_on", "with"],
        _ => &[],
    }
}

/// Every item the six sections need (`difficulty.categories` among them), flattened.
const SIX_CLEARS_READS: &[&str] = &[
    "basic.education",
    "basic.health",
    "basic.phone",
    "difficulty.categories",
    "family.members",
    "family.employed_members",
    "family.monthly_income",
    "family.zero_employment",
    "needs.job_types",
    "needs.training",
    "needs.hours",
    "insurance.pension",
    "insurance.medical",
    "insurance.unemployment",
    "insurance.paying",
    "policies.enjoyed",
];

/// Persons renamed during one flush whose projection rows are written together
/// ([`Renames::write`]) rather than one statement each, where the database takes them so
/// ([`backend::writes_renames_together`] says where, and why).
#[derive(Default)]
pub struct Renames(Vec<(String, String)>);

impl Renames {
    /// Holds a rename back where renames are written together; `false` says to write it
    /// at once.
    fn hold(&mut self, conn: &DbConn, id: &str, name: &str) -> bool {
        let together = backend::writes_renames_together(conn);
        if together {
            self.0.push((id.to_string(), name.to_string()));
        }
        together
    }

    /// Writes the renames held back, each person's last one.
    pub fn write(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut last: std::collections::HashMap<String, String> = Default::default();
        last.extend(self.0.drain(..));
        backend::rename_persons(conn, last.into_iter().collect())
    }
}

/// Brings the projections in step with `record` after `change`; a rename may wait in
/// `renames`, which the caller writes before the transaction ends.
pub fn update(
    conn: &mut DbConn,
    record: &Record,
    doc: &Value,
    change: Change<'_>,
    renames: &mut Renames,
    day: NaiveDate,
) -> Result<(), StoreError> {
    let created = matches!(change, Change::Created);
    if let Change::Edited(paths) = change {
        let read = reads(record.entity);
        if !record.deleted && !paths.iter().any(|p| read.contains(p)) {
            return Ok(());
        }
    }
    if created {
        let mut rows = NewRows::default();
        if rows.add(record, doc, None, day) {
            return rows.write(conn);
        }
    }
    match record.entity {
        Entity::Household => household(conn, record, doc, day),
        Entity::Person => person(conn, record, doc, change, renames),
        Entity::SixClears if !record.deleted => set_person(
            conn,
            &record.id,
            PersonFact::SixClears(SixClearsFacts::of(doc)),
        ),
        Entity::Assessment if !record.deleted => match text(doc, "person_id") {
            Some(person) => set_person(
                conn,
                &person,
                PersonFact::Tier {
                    tier: text(doc, "tier"),
                    assessed_on: text(doc, "assessed_on"),
                },
            ),
            None => Ok(()),
        },
        Entity::Recognition if !record.deleted => {
            let status = match text(doc, "state").as_deref() {
                Some("recognised") => "recognised",
                Some("rejected") => "rejected",
                _ => "applied",
            };
            match text(doc, "person_id") {
                Some(person) => {
                    diesel::update(
                        persons_index::table
                            .filter(persons_index::id.eq(person))
                            .filter(persons_index::status.ne("exited")),
                    )
                    .set(persons_index::status.eq(status))
                    .execute(conn)?;
                    Ok(())
                }
                None => Ok(()),
            }
        }
        Entity::Exit => match text(doc, "person_id") {
            Some(person) if !record.deleted => set_person(conn, &person, PersonFact::Exited),
            _ => Ok(()),
        },
        Entity::Visit => {
            if created {
                insert_visit(conn, record, doc)?;
            } else {
                diesel::update(visits_index::table.find(&record.id))
                    .set(visits_index::deleted.eq(record.deleted))
                    .execute(conn)?;
            }
            let on = text(doc, "started_at").map(|t| t.chars().take(10).collect::<String>());
            let seen: Vec<String> = get_path(doc, "persons_seen")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for person in seen {
                contact(conn, &person, on.as_deref())?;
            }
            Ok(())
        }
        Entity::ServiceRecord => contact(
            conn,
            &text(doc, "person_id").unwrap_or_default(),
            text(doc, "delivered_on").as_deref(),
        ),
        Entity::Referral | Entity::Placement => {
            let day = if record.entity == Entity::Referral {
                "referred_on"
            } else {
                "started_on"
            };
            contact(
                conn,
                &text(doc, "person_id").unwrap_or_default(),
                text(doc, day).as_deref(),
            )
        }
        // A follow-up with the employer alone did not reach the person.
        Entity::FollowUp if text(doc, "with").as_deref() != Some("employer") => contact(
            conn,
            &text(doc, "person_id").unwrap_or_default(),
            text(doc, "followed_on").as_deref(),
        ),
        _ => Ok(()),
    }
}

/// What a person's projection row keeps of their six-clears document: the difficulty
/// categories (JSON) and whether all six sections are complete. The six-clears record has
/// its person's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SixClearsFacts {
    pub categories: String,
    pub complete: bool,
}

impl SixClearsFacts {
    pub fn of(six_clears: &Value) -> SixClearsFacts {
        SixClearsFacts {
            categories: get_path(six_clears, "difficulty.categories")
                .cloned()
                .unwrap_or(Value::Array(vec![]))
                .to_string(),
            complete: Section::ALL.iter().all(|s| s.is_complete(six_clears)),
        }
    }
}

/// The projection row of a new visit: who made it, where and when, as the coverage
/// reports read it. (A visit without a readable start is not projected; validation
/// requires one.)
#[derive(Insertable)]
#[diesel(table_name = visits_index, treat_none_as_default_value = false)]
struct NewVisit {
    id: String,
    community_id: String,
    household_id: String,
    user_id: Option<String>,
    device_id: Option<String>,
    started_at: i64,
    ended_at: Option<i64>,
    outcome: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    deleted: bool,
}

fn instant(doc: &Value, path: &str) -> Option<i64> {
    let text = get_path(doc, path)?.as_str()?;
    Some(
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()?
            .timestamp_micros(),
    )
}

fn insert_visit(conn: &mut DbConn, record: &Record, doc: &Value) -> Result<(), StoreError> {
    let Some(started_at) = instant(doc, "started_at") else {
        return Ok(());
    };
    let float = |path| get_path(doc, path).and_then(Value::as_f64);
    let row = NewVisit {
        id: record.id.clone(),
        community_id: record.community_id.clone(),
        household_id: text(doc, "household_id").unwrap_or_default(),
        user_id: record.created_by.clone(),
        device_id: record.updated_device.clone(),
        started_at,
        ended_at: instant(doc, "ended_at"),
        outcome: text(doc, "outcome").unwrap_or_default(),
        latitude: float("latitude"),
        longitude: float("longitude"),
        deleted: record.deleted,
    };
    diesel::insert_into(visits_index::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

/// The projection row of a new person.
#[derive(Insertable)]
#[diesel(table_name = persons_index, treat_none_as_default_value = false)]
struct NewPerson {
    id: String,
    community_id: String,
    household_id: String,
    name: String,
    sex: Option<String>,
    birth_date: Option<String>,
    id_number_hash: Option<String>,
    phone_hash: Option<String>,
    status: &'static str,
    categories: String,
    six_clears_complete: bool,
    deleted: bool,
    version: i64,
    enrolled_on: Option<String>,
}

/// The projection row of a new household.
#[derive(Insertable)]
#[diesel(table_name = households_index, treat_none_as_default_value = false)]
struct NewHousehold {
    id: String,
    community_id: String,
    address: String,
    zero_employment: bool,
    zero_employment_found_on: Option<String>,
    zero_employment_cleared_on: Option<String>,
    deleted: bool,
    version: i64,
}

/// The projection rows of new persons and households, inserted together: on PostgreSQL
/// one statement per table, where one per record was a round trip each (most of a push
/// of new persons' time).
#[derive(Default)]
pub struct NewRows {
    persons: Vec<NewPerson>,
    households: Vec<NewHousehold>,
}

impl NewRows {
    /// Notes the row of `record` if it is a new person or household (`false` for any other
    /// record). A person's row carries what it keeps of their six-clears record when that
    /// is written in the same breath, and `day`, the stations' day the record was made, as
    /// the day they were enrolled (exits count from it).
    pub fn add(
        &mut self,
        record: &Record,
        doc: &Value,
        six_clears: Option<&SixClearsFacts>,
        day: NaiveDate,
    ) -> bool {
        match record.entity {
            Entity::Person => self.persons.push(NewPerson {
                id: record.id.clone(),
                community_id: record.community_id.clone(),
                household_id: text(doc, "household_id").unwrap_or_default(),
                name: text(doc, "name").unwrap_or_default(),
                sex: text(doc, "sex"),
                birth_date: text(doc, "birth_date"),
                id_number_hash: id_hash(doc),
                phone_hash: phone_hash(doc),
                status: "registered",
                categories: six_clears.map_or_else(|| "[]".to_string(), |f| f.categories.clone()),
                six_clears_complete: six_clears.is_some_and(|f| f.complete),
                deleted: record.deleted,
                version: record.version,
                enrolled_on: Some(day.format("%Y-%m-%d").to_string()),
            }),
            Entity::Household => self.households.push(NewHousehold {
                id: record.id.clone(),
                community_id: record.community_id.clone(),
                address: text(doc, "address").unwrap_or_default(),
                zero_employment: get_path(doc, "zero_employment")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                zero_employment_found_on: text(doc, "zero_employment_found_on"),
                zero_employment_cleared_on: text(doc, "zero_employment_cleared_on"),
                deleted: record.deleted,
                version: record.version,
            }),
            _ => return false,
        }
        true
    }

    /// Inserts the rows noted so far.
    pub fn write(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        insert_persons(conn, std::mem::take(&mut self.persons))?;
        insert_households(conn, std::mem::take(&mut self.households))
    }
}

fn insert_persons(conn: &mut DbConn, rows: Vec<NewPerson>) -> Result<(), StoreError> {
    backend::insert_rows!(conn, persons_index::table, NewPerson, rows)
}

fn insert_households(conn: &mut DbConn, rows: Vec<NewHousehold>) -> Result<(), StoreError> {
    backend::insert_rows!(conn, households_index::table, NewHousehold, rows)
}

fn id_hash(doc: &Value) -> Option<String> {
    get_path(doc, "id_number")
        .and_then(sealed_hash)
        .map(str::to_string)
}

fn phone_hash(doc: &Value) -> Option<String> {
    get_path(doc, "phone")
        .and_then(sealed_hash)
        .map(str::to_string)
}

/// One column of a person's projection that another entity decides.
enum PersonFact {
    SixClears(SixClearsFacts),
    Tier {
        tier: Option<String>,
        assessed_on: Option<String>,
    },
    Exited,
}

fn set_person(conn: &mut DbConn, person: &str, fact: PersonFact) -> Result<(), StoreError> {
    let row = persons_index::table.filter(persons_index::id.eq(person));
    match fact {
        PersonFact::SixClears(f) => {
            backend::set_six_clears_facts(conn, person, &f.categories, f.complete)?
        }
        PersonFact::Tier { tier, assessed_on } => diesel::update(row)
            .set((
                persons_index::tier.eq(tier),
                persons_index::assessed_on.eq(assessed_on),
            ))
            .execute(conn)?,
        PersonFact::Exited => diesel::update(row)
            .set(persons_index::status.eq("exited"))
            .execute(conn)?,
    };
    Ok(())
}

/// Moves a person's last contact forward to `on` (never back).
fn contact(conn: &mut DbConn, person: &str, on: Option<&str>) -> Result<(), StoreError> {
    let Some(on) = on else { return Ok(()) };
    diesel::update(
        persons_index::table
            .filter(persons_index::id.eq(person))
            .filter(
                persons_index::last_contact_on
                    .is_null()
                    .or(persons_index::last_contact_on.lt(on)),
            ),
    )
    .set(persons_index::last_contact_on.eq(on))
    .execute(conn)?;
    Ok(())
}

fn household(
    conn: &mut DbConn,
    record: &Record,
    doc: &Value,
    day: NaiveDate,
) -> Result<(), StoreError> {
    let values = (
        households_index::community_id.eq(&record.community_id),
        households_index::address.eq(text(doc, "address").unwrap_or_default()),
        households_index::zero_employment.eq(get_path(doc, "zero_employment")
            .and_then(Value::as_bool)
            .unwrap_or(false)),
        households_index::zero_employment_found_on.eq(text(doc, "zero_employment_found_on")),
        households_index::zero_employment_cleared_on.eq(text(doc, "zero_employment_cleared_on")),
        households_index::deleted.eq(record.deleted),
        households_index::version.eq(record.version),
    );
    let updated = diesel::update(households_index::table.find(&record.id))
        .set(values)
        .execute(conn)?;
    if updated == 0 {
        // (A household from before its projection existed.)
        let mut rows = NewRows::default();
        rows.add(record, doc, None, day);
        rows.write(conn)?;
    }
    Ok(())
}

fn person(
    conn: &mut DbConn,
    record: &Record,
    doc: &Value,
    change: Change<'_>,
    renames: &mut Renames,
) -> Result<(), StoreError> {
    let Change::Edited(paths) = change else {
        return Ok(());
    };
    let touched = |path: &str| paths.contains(&path);
    let changes = if record.deleted {
        // A deleted person frees their ID number for a new enrolment.
        PersonChanges {
            deleted: Some(true),
            version: Some(record.version),
            id_number_hash: Some(None),
            ..PersonChanges::default()
        }
    } else {
        PersonChanges {
            name: touched("name").then(|| text(doc, "name").unwrap_or_default()),
            sex: touched("sex").then(|| text(doc, "sex")),
            birth_date: touched("birth_date").then(|| text(doc, "birth_date")),
            id_number_hash: touched("id_number").then(|| id_hash(doc)),
            phone_hash: touched("phone").then(|| phone_hash(doc)),
            ..PersonChanges::default()
        }
    };
    if changes == PersonChanges::default() {
        return Ok(());
    }
    let rename = PersonChanges {
        name: changes.name.clone(),
        ..PersonChanges::default()
    };
    let held = match &changes.name {
        Some(name) if changes == rename => renames.hold(conn, &record.id, name),
        _ => false,
    };
    if !held {
        // Renames held back go first: this write may set the name too.
        renames.write(conn)?;
        diesel::update(persons_index::table.find(&record.id))
            .set(&changes)
            .execute(conn)?;
    }
    Ok(())
}

/// The columns of a person's projection row an edit rewrites: only those whose fields it
/// touched (`None` leaves a column as it is), so the database rewrites only their indexes.
/// The table has eight; rewriting them all on every edit of a name was most of its cost.
#[derive(AsChangeset, Default, PartialEq)]
#[diesel(table_name = persons_index)]
struct PersonChanges {
    name: Option<String>,
    sex: Option<Option<String>>,
    birth_date: Option<Option<String>>,
    id_number_hash: Option<Option<String>>,
    phone_hash: Option<Option<String>>,
    deleted: Option<bool>,
    version: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sqlite::Sqlite;

    fn sql<Q: diesel::query_builder::QueryFragment<Sqlite>>(query: &Q) -> String {
        let text = diesel::debug_query::<Sqlite, _>(query).to_string();
        text.split(" -- binds")
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The projections' rows go in through `SameSql` (see `insert_rows!`): their `INSERT`
    /// must be the same SQL whatever the row holds.
    #[test]
    fn a_new_rows_insert_names_every_column_whatever_it_holds() {
        let person = |some: Option<String>| NewPerson {
            id: "p".into(),
            community_id: "c".into(),
            household_id: "h".into(),
            name: "n".into(),
            sex: some.clone(),
            birth_date: some.clone(),
            id_number_hash: some.clone(),
            phone_hash: some.clone(),
            status: "registered",
            categories: "[]".into(),
            six_clears_complete: false,
            deleted: false,
            version: 1,
            enrolled_on: some,
        };
        let (bare, full) = (person(None), person(Some("x".into())));
        assert_eq!(
            sql(&diesel::insert_into(persons_index::table).values(&bare)),
            sql(&diesel::insert_into(persons_index::table).values(&full))
        );
        let household = |some: Option<String>| NewHousehold {
            id: "h".into(),
            community_id: "c".into(),
            address: "a".into(),
            zero_employment: false,
            zero_employment_found_on: some.clone(),
            zero_employment_cleared_on: some,
            deleted: false,
            version: 1,
        };
        let (bare, full) = (household(None), household(Some("x".into())));
        assert_eq!(
            sql(&diesel::insert_into(households_index::table).values(&bare)),
            sql(&diesel::insert_into(households_index::table).values(&full))
        );
    }

    /// The edits that can change completeness are those of the items the sections need,
    /// and the migration that first filled the column tested the same items.
    #[test]
    fn six_clears_reads_are_the_items_the_sections_need() {
        let needed: Vec<&str> = Section::ALL
            .iter()
            .flat_map(|s| s.required_items().iter().copied())
            .collect();
        assert_eq!(SIX_CLEARS_READS, needed.as_slice());
        let sqlite =
            include_str!("../../schema/migrations/sqlite/2026-12-06-000012_coverage/up.sql");
        let postgres =
            include_str!("../../schema/migrations/postgres/2026-12-06-000012_coverage/up.sql");
        for item in needed {
            assert!(sqlite.contains(&format!("'$.{item}')")), "{item}");
            let pg = format!("'{{{}}}'", item.replace('.', ","));
            assert!(postgres.contains(&pg), "{item}");
        }
    }
}
