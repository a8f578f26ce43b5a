//! Field values: checking what a phone sends against the declared type, the form values
//! are stored in, and the form they are shown in. Sensitive values (ID numbers, phones) are
//! stored sealed — `{"sealed", "hash", "masked"}` — and shown masked.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::domain::account::AccountNumber;
use liuqing_schema::domain::months::Month;
use liuqing_schema::domain::{CreditCode, IdNumber, MobilePhone};
use liuqing_schema::entities::{FieldSpec, FieldType};

use serde_json::value::RawValue;
use serde_json::{json, Value};

/// A value checked and in its stored form, with the parsed ID number when it is one.
#[derive(Debug)]
pub struct Checked {
    pub stored: Value,
    pub id_number: Option<IdNumber>,
}

fn plain(stored: Value) -> Result<Checked, String> {
    Ok(Checked {
        stored,
        id_number: None,
    })
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.hyphenated().to_string() == s)
}

fn string_list(value: &Value, max_items: usize) -> Result<Vec<String>, String> {
    let items = value.as_array().ok_or("must be a list of strings")?;
    if items.len() > max_items {
        return Err(format!("must have at most {max_items} items"));
    }
    let mut out: Vec<String> = items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or("must be a list of strings")
        })
        .collect::<Result<_, _>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

/// Checks one set element against the field's allowed values.
pub fn check_set_item(ty: &FieldType, item: &str) -> Result<(), String> {
    let FieldType::Set { allowed, .. } = ty else {
        return Err("is not a set".into());
    };
    match allowed {
        Some(list) if !list.contains(&item) => {
            Err(format!("`{item}` is not one of: {}", list.join(", ")))
        }
        None if item.trim().is_empty() || item.chars().count() > 100 => {
            Err("items must be 1 to 100 characters".into())
        }
        None => liuqing_schema::domain::text::check_plain(item),
        _ => Ok(()),
    }
}

/// Checks a value sent for `spec` and returns its stored form. `context` binds sealed
/// values to their record and field; it is built only for a value that is sealed.
pub fn check(
    spec: &FieldSpec,
    value: &Value,
    today: NaiveDate,
    cipher: &FieldCipher,
    context: impl FnOnce() -> String,
) -> Result<Checked, String> {
    if value.is_null() {
        return if spec.required {
            Err("is required".into())
        } else {
            plain(Value::Null)
        };
    }
    match spec.ty {
        FieldType::Text { max } => {
            let s = value.as_str().ok_or("must be text")?.trim();
            if spec.required && s.is_empty() {
                return Err("must not be empty".into());
            }
            if s.chars().count() > max {
                return Err(format!("must be at most {max} characters"));
            }
            liuqing_schema::domain::text::check_plain(s)?;
            plain(json!(s))
        }
        FieldType::Int { min, max } => match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => plain(json!(n)),
            _ => Err(format!("must be a whole number from {min} to {max}")),
        },
        FieldType::Float { min, max } => match value.as_f64() {
            Some(x) if x.is_finite() && (min..=max).contains(&x) => plain(json!(x)),
            _ => Err(format!("must be a number from {min} to {max}")),
        },
        FieldType::Bool => value
            .as_bool()
            .map(|b| json!(b))
            .ok_or_else(|| "must be true or false".into())
            .and_then(plain),
        FieldType::Date => {
            let s = value.as_str().ok_or("must be a date (YYYY-MM-DD)")?;
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| "must be a date (YYYY-MM-DD)")?;
            if !(1900..=2100).contains(&chrono::Datelike::year(&d)) {
                return Err("must be between 1900 and 2100".into());
            }
            plain(json!(d.format("%Y-%m-%d").to_string()))
        }
        FieldType::Timestamp => {
            let s = value.as_str().ok_or("must be an RFC 3339 time")?;
            let t = DateTime::parse_from_rfc3339(s).map_err(|_| "must be an RFC 3339 time")?;
            plain(json!(t
                .with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Millis, true)))
        }
        FieldType::Choice(options) => match value.as_str() {
            Some(s) if options.contains(&s) => plain(json!(s)),
            _ => Err(format!("must be one of: {}", options.join(", "))),
        },
        FieldType::Set { max_items, .. } => {
            let items = string_list(value, max_items)?;
            for item in &items {
                check_set_item(&spec.ty, item)?;
            }
            plain(json!(items))
        }
        FieldType::Ref(_) => match value.as_str() {
            Some(s) if is_uuid(s) => plain(json!(s)),
            _ => Err("must be a record id (lower-case UUID)".into()),
        },
        FieldType::RefList(_) => {
            let items = string_list(value, 50)?;
            if let Some(bad) = items.iter().find(|s| !is_uuid(s)) {
                return Err(format!("`{bad}` is not a record id"));
            }
            plain(json!(items))
        }
        FieldType::Sha256 => match value.as_str() {
            Some(s)
                if s.len() == 64
                    && s.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
            {
                plain(json!(s))
            }
            _ => Err("must be a SHA-256 hash (64 lower-case hex characters)".into()),
        },
        FieldType::IdNumber => {
            let s = value.as_str().ok_or("must be text")?;
            let id = IdNumber::parse(s, today).map_err(|e| e.to_string())?;
            let stored = seal(cipher, id.expose(), &id.masked(), &context())?;
            Ok(Checked {
                stored,
                id_number: Some(id),
            })
        }
        FieldType::MobilePhone => {
            let s = value.as_str().ok_or("must be text")?;
            let phone = MobilePhone::parse(s).map_err(|e| e.to_string())?;
            plain(seal(cipher, phone.as_str(), &phone.masked(), &context())?)
        }
        FieldType::AccountNumber => {
            let s = value.as_str().ok_or("must be text")?;
            let account = AccountNumber::parse(s).map_err(|e| e.to_string())?;
            plain(seal(
                cipher,
                account.as_str(),
                &account.masked(),
                &context(),
            )?)
        }
        FieldType::Month => match value.as_str().and_then(Month::parse) {
            Some(m) if (1900..=2100).contains(&m.year()) => plain(json!(m.to_string())),
            _ => Err("must be a month (YYYY-MM) between 1900 and 2100".into()),
        },
        FieldType::CreditCode => {
            let s = value.as_str().ok_or("must be text")?;
            let code = CreditCode::parse(s).map_err(|e| e.to_string())?;
            plain(json!(code.as_str()))
        }
        FieldType::Json { max_bytes } => {
            if !(value.is_array() || value.is_object()) {
                return Err("must be a list or an object".into());
            }
            if text(value).len() > max_bytes {
                return Err(format!("must be at most {max_bytes} bytes"));
            }
            plain(value.clone())
        }
    }
}

fn seal(cipher: &FieldCipher, value: &str, masked: &str, context: &str) -> Result<Value, String> {
    let sealed = cipher.encrypt(value, context).map_err(|e| e.to_string())?;
    Ok(json!({ "sealed": sealed, "hash": cipher.lookup_hash(value), "masked": masked }))
}

/// A document's text, as stored. `serde_json::to_string` writes into one buffer; the
/// `Display` of a `Value` (`.to_string()`) goes through the formatter a token at a time,
/// two and a half times slower for a six-clears document, and an edit writes one under
/// the write lock.
pub fn text(doc: &Value) -> String {
    // A `Value` always serializes (its keys are strings); were it ever not to, `Display`
    // writes the same text.
    serde_json::to_string(doc).unwrap_or_else(|_| doc.to_string())
}

/// The lookup hash of a stored sensitive value.
pub fn sealed_hash(stored: &Value) -> Option<&str> {
    stored.get("hash").and_then(Value::as_str)
}

/// Whether two stored values are the same value (sealed ones compare by hash).
pub fn same(a: &Value, b: &Value) -> bool {
    match (sealed_hash(a), sealed_hash(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A stored value as phones and staff see it: sealed values masked.
pub fn shown(stored: &Value) -> Value {
    match stored.get("masked") {
        Some(masked) if stored.get("sealed").is_some() => masked.clone(),
        _ => stored.clone(),
    }
}

/// The whole stored document as shown: every sealed value masked. It takes the document
/// and masks in place: a pull page shows a thousand documents, and copying each cost more
/// than parsing it.
pub fn shown_document(mut doc: Value) -> Value {
    mask_in_place(&mut doc);
    doc
}

/// JSON `null` as text: what an unreadable or missing document is shown as.
pub fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_string()).expect("null is JSON")
}

fn mask_in_place(doc: &mut Value) {
    match doc {
        Value::Object(map) if map.contains_key("sealed") => {
            if let Some(masked) = map.remove("masked") {
                *doc = masked;
            }
        }
        Value::Object(map) => map.values_mut().for_each(mask_in_place),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liuqing_schema::entities::Policy;

    fn spec(ty: FieldType) -> FieldSpec {
        FieldSpec {
            path: "x",
            ty,
            policy: Policy::Lww,
            required: false,
        }
    }

    fn checked(ty: FieldType, value: Value) -> Result<Value, String> {
        let cipher = FieldCipher::new(&[3; 32], &[]);
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).expect("a day");
        check(&spec(ty), &value, today, &cipher, || "record/x".into()).map(|c| c.stored)
    }

    #[test]
    fn an_account_is_sealed_and_shown_by_its_last_four() {
        let stored = checked(FieldType::AccountNumber, json!("6222 0212 3456 7890")).expect("ok");
        assert!(!stored.to_string().contains("6222021234567890"), "{stored}");
        assert_eq!(shown(&stored), json!("****7890"));
        assert!(sealed_hash(&stored).is_some());
        let err = checked(FieldType::AccountNumber, json!("12")).expect_err("too short");
        assert!(err.contains("12 to 25 digits"), "{err}");
    }

    #[test]
    fn a_month_is_yyyy_mm() {
        assert_eq!(
            checked(FieldType::Month, json!("2026-12")),
            Ok(json!("2026-12"))
        );
        for bad in [
            json!("2026-13"),
            json!("2026-1"),
            json!("1899-12"),
            json!(202612),
        ] {
            assert!(checked(FieldType::Month, bad.clone()).is_err(), "{bad}");
        }
    }
}
