//! Cursor pagination for the staff lists: a page ends with an opaque `next_cursor` naming
//! where it stopped (sort key and id), so pages stay consistent while records change.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use liuqing_schema::casefile::After;

use crate::error::ApiError;

/// Largest page the lists serve, and the default.
pub const MAX_LIMIT: usize = 200;
pub const DEFAULT_LIMIT: usize = 50;

pub fn encode(after: &After) -> String {
    let text = serde_json::json!([after.key, after.id]).to_string();
    URL_SAFE_NO_PAD.encode(text)
}

pub fn decode(cursor: Option<&str>) -> Result<Option<After>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let bad = || ApiError::validation("cursor", "is not a cursor this server made");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let (key, id): (String, String) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(Some(After { key, id }))
}

/// The page size asked for, checked.
pub fn limit(asked: Option<usize>) -> Result<usize, ApiError> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::validation(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let after = After {
            key: "张三".into(),
            id: "0193a5c2-7d1e-7000-8000-000000000001".into(),
        };
        assert_eq!(decode(Some(&encode(&after))).ok().flatten(), Some(after));
        assert!(decode(Some("not-a-cursor")).is_err());
        assert!(decode(None).is_ok_and(|c| c.is_none()));
    }
}
