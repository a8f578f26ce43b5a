//! Keeps the typed, indexed projections (`persons_index`, `households_index`) in step with
//! `records`, inside the same transaction. They serve searches and reports; everything in
//! them can be rebuilt from `records`.

use diesel::prelude::*;
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::records::Record;
use liuqing_schema::tables::{households_index, persons_index};
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

/// What a write did to its record.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A new record: its own projection row is inserted without trying an update first.
    Created,
    /// Fields (by path) of a record that was there before; a deletion names none.
    Edited(&'a [String]),
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
        Entity::SixClears => &["difficulty.categories"],
        Entity::Assessment => &["person_id", "tier", "assessed_on"],
        Entity::Recognition => &["person_id", "state"],
        Entity::Exit => &["person_id"],
        Entity::Visit => &["started_at", "persons_seen"],
        Entity::ServiceRecord => &["person_id", "delivered_on"],
        _ => &[],
    }
}

/// Brings the projections in step with `record` after `change`.
pub fn update(
    conn: &mut DbConn,
    record: &Record,
    doc: &Value,
    change: Change<'_>,
) -> Result<(), StoreError> {
    let created = matches!(change, Change::Created);
    if let Change::Edited(paths) = change {
        let read = reads(record.entity);
        if !record.deleted && !paths.iter().any(|p| read.contains(&p.as_str())) {
            return Ok(());
        }
    }
    match record.entity {
        Entity::Household => household(conn, record, doc, created),
        Entity::Person => person(conn, record, doc, change),
        Entity::SixClears if !record.deleted => {
            let categories = get_path(doc, "difficulty.categories")
                .cloned()
                .unwrap_or(Value::Array(vec![]));
            set_person(
                conn,
                &record.id,
                PersonFact::Categories(categories.to_string()),
            )
        }
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
        _ => Ok(()),
    }
}

/// One column of a person's projection that another entity decides.
enum PersonFact {
    Categories(String),
    Tier {
        tier: Option<String>,
        assessed_on: Option<String>,
    },
    Exited,
}

fn set_person(conn: &mut DbConn, person: &str, fact: PersonFact) -> Result<(), StoreError> {
    let row = persons_index::table.filter(persons_index::id.eq(person));
    match fact {
        PersonFact::Categories(c) => diesel::update(row)
            .set(persons_index::categories.eq(c))
            .execute(conn)?,
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
    created: bool,
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
    let updated = !created
        && diesel::update(households_index::table.find(&record.id))
            .set(values.clone())
            .execute(conn)?
            > 0;
    if !updated {
        diesel::insert_into(households_index::table)
            .values((households_index::id.eq(&record.id), values))
            .execute(conn)?;
    }
    Ok(())
}

fn person(
    conn: &mut DbConn,
    record: &Record,
    doc: &Value,
    change: Change<'_>,
) -> Result<(), StoreError> {
    let id_hash = || {
        get_path(doc, "id_number")
            .and_then(sealed_hash)
            .map(str::to_string)
    };
    let phone_hash = || {
        get_path(doc, "phone")
            .and_then(sealed_hash)
            .map(str::to_string)
    };
    let Change::Edited(paths) = change else {
        return Ok(diesel::insert_into(persons_index::table)
            .values((
                persons_index::id.eq(&record.id),
                persons_index::status.eq("registered"),
                persons_index::categories.eq("[]"),
                persons_index::enrolled_on.eq(liuqing_schema::time::to_datetime(record.created_at)
                    .date_naive()
                    .format("%Y-%m-%d")
                    .to_string()),
                persons_index::community_id.eq(&record.community_id),
                persons_index::household_id.eq(text(doc, "household_id").unwrap_or_default()),
                persons_index::name.eq(text(doc, "name").unwrap_or_default()),
                persons_index::sex.eq(text(doc, "sex")),
                persons_index::birth_date.eq(text(doc, "birth_date")),
                persons_index::id_number_hash.eq(id_hash()),
                persons_index::phone_hash.eq(phone_hash()),
                persons_index::deleted.eq(false),
                persons_index::version.eq(record.version),
            ))
            .execute(conn)
            .map(|_| ())?);
    };
    let touched = |path: &str| paths.iter().any(|p| p == path);
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
            id_number_hash: touched("id_number").then(id_hash),
            phone_hash: touched("phone").then(phone_hash),
            ..PersonChanges::default()
        }
    };
    if changes != PersonChanges::default() {
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
