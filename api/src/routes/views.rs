//! How case-file records are shown to staff: the stored document with every sealed value
//! (ID numbers, phones) masked, and the record's bookkeeping.

use chrono::NaiveDate;
use liuqing_schema::casefile::{HouseholdRow, PersonRow};
use liuqing_schema::domain::age_on;
use liuqing_schema::entities::Entity;
use liuqing_schema::records::Record;
use liuqing_schema::time::to_datetime;
use liuqing_sync::narrowing::BirthDates;
use liuqing_sync::values;
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;

pub fn time(micros: i64) -> String {
    to_datetime(micros).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A record's stored document, parsed (a corrupt row is an error, never an empty document).
pub fn document(rec: &Record) -> Result<Value, ApiError> {
    Ok(rec.document()?)
}

/// A record as staff see it.
#[derive(Debug, Serialize)]
pub struct RecordView {
    pub id: String,
    pub entity: Entity,
    pub community_id: String,
    pub version: i64,
    pub data: Value,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

/// A record as `birth_dates` allows it to be shown (sealed values are always masked).
pub fn record(rec: &Record, birth_dates: BirthDates) -> Result<RecordView, ApiError> {
    let mut data = values::shown_document(document(rec)?);
    birth_dates.document(rec.entity, &mut data);
    Ok(RecordView {
        id: rec.id.clone(),
        entity: rec.entity,
        community_id: rec.community_id.clone(),
        version: rec.version,
        data,
        created_at: time(rec.created_at),
        updated_at: time(rec.updated_at),
        created_by: rec.created_by.clone(),
        updated_by: rec.updated_by.clone(),
    })
}

/// A person as lists show them: no ID number or phone at all.
#[derive(Debug, Serialize)]
pub struct PersonItem {
    pub id: String,
    pub community_id: String,
    pub household_id: String,
    pub name: String,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub age: Option<u32>,
    pub status: String,
    pub tier: Option<String>,
    pub categories: Vec<String>,
    pub assessed_on: Option<String>,
    pub last_contact_on: Option<String>,
    pub enrolled_on: Option<String>,
    pub version: i64,
}

pub fn person_item(
    row: &PersonRow,
    today: NaiveDate,
    birth_dates: BirthDates,
) -> Result<PersonItem, ApiError> {
    Ok(PersonItem {
        id: row.id.clone(),
        community_id: row.community_id.clone(),
        household_id: row.household_id.clone(),
        name: row.name.clone(),
        sex: row.sex.clone(),
        birth_date: row.birth_date.as_deref().map(|d| birth_dates.date(d)),
        age: row.birth().map(|b| age_on(b, today)),
        status: row.status.clone(),
        tier: row.tier.clone(),
        categories: row.category_names()?,
        assessed_on: row.assessed_on.clone(),
        last_contact_on: row.last_contact_on.clone(),
        enrolled_on: row.enrolled_on.clone(),
        version: row.version,
    })
}

#[derive(Debug, Serialize)]
pub struct HouseholdItem {
    pub id: String,
    pub community_id: String,
    pub address: String,
    pub zero_employment: bool,
    pub zero_employment_found_on: Option<String>,
    pub zero_employment_cleared_on: Option<String>,
    pub version: i64,
}

pub fn household_item(row: &HouseholdRow) -> HouseholdItem {
    HouseholdItem {
        id: row.id.clone(),
        community_id: row.community_id.clone(),
        address: row.address.clone(),
        zero_employment: row.zero_employment,
        zero_employment_found_on: row.zero_employment_found_on.clone(),
        zero_employment_cleared_on: row.zero_employment_cleared_on.clone(),
        version: row.version,
    }
}

/// `{ "items": [...] }`, the shape of every unpaged list.
#[derive(Debug, Serialize)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// One page of a cursor-paged list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
