//! How case-file records are shown to staff: the stored document with every sealed value
//! (ID numbers, phones) masked, and the record's bookkeeping.

use chrono::NaiveDate;
use liuqing_schema::casefile::{HouseholdRow, PersonRow};
use liuqing_schema::domain::age_on;
use liuqing_schema::records::Record;
use liuqing_schema::time::to_datetime;
use liuqing_sync::values;
use serde_json::{json, Value};

use crate::error::ApiError;

pub fn time(micros: i64) -> String {
    to_datetime(micros).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A record's stored document, parsed (a corrupt row is an error, never an empty document).
pub fn document(rec: &Record) -> Result<Value, ApiError> {
    Ok(rec.document()?)
}

/// A record as staff see it.
pub fn record(rec: &Record) -> Result<Value, ApiError> {
    Ok(json!({
        "id": rec.id,
        "entity": rec.entity,
        "community_id": rec.community_id,
        "version": rec.version,
        "data": values::shown_document(document(rec)?),
        "created_at": time(rec.created_at),
        "updated_at": time(rec.updated_at),
        "created_by": rec.created_by,
        "updated_by": rec.updated_by,
    }))
}

/// A person as lists show them: no ID number or phone at all.
pub fn person_item(row: &PersonRow, today: NaiveDate) -> Value {
    json!({
        "id": row.id,
        "community_id": row.community_id,
        "household_id": row.household_id,
        "name": row.name,
        "sex": row.sex,
        "birth_date": row.birth_date,
        "age": row.birth().map(|b| age_on(b, today)),
        "status": row.status,
        "tier": row.tier,
        "categories": row.category_names(),
        "assessed_on": row.assessed_on,
        "last_contact_on": row.last_contact_on,
        "enrolled_on": row.enrolled_on,
        "version": row.version,
    })
}

pub fn household_item(row: &HouseholdRow) -> Value {
    json!({
        "id": row.id,
        "community_id": row.community_id,
        "address": row.address,
        "zero_employment": row.zero_employment,
        "zero_employment_found_on": row.zero_employment_found_on,
        "zero_employment_cleared_on": row.zero_employment_cleared_on,
        "version": row.version,
    })
}
