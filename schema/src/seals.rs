//! The seal of a signed service commitment (就业援助服务承诺): when a commitment is first
//! written the server stores SHA-256 over its text hash, person, signature hash and signed
//! time, so a later change of any of them (in the database or the blob store) is
//! detectable. The sync engine seals in the same transaction that writes the commitment,
//! whichever way it arrives (a phone's push, staff entering a paper one).

use diesel::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::attachments::insert_once;
use crate::entities::get_path;
use crate::error::StoreResult;
use crate::time::Micros;
use crate::DbConn;

/// SHA-256 of the four bound values, each length-prefixed so no two sets of values can
/// produce the same input.
pub fn binding(
    text_sha256: &str,
    person_id: &str,
    signature_sha256: &str,
    signed_at: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"liuqing commitment binding v1\n");
    for part in [text_sha256, person_id, signature_sha256, signed_at] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The binding of a commitment document as it is now (`None`: a bound value is missing).
pub fn binding_of(doc: &Value) -> Option<String> {
    let field = |p: &str| get_path(doc, p).and_then(Value::as_str);
    Some(binding(
        field("text_sha256")?,
        field("person_id")?,
        field("signature_sha256")?,
        field("signed_at")?,
    ))
}

/// Fixes a commitment's binding once; a later call for the same commitment changes nothing.
pub fn add(conn: &mut DbConn, commitment_id: &str, seal: &str, at: Micros) -> StoreResult<()> {
    use crate::tables::commitment_seals;
    insert_once(conn, |c| {
        diesel::insert_into(commitment_seals::table)
            .values((
                commitment_seals::commitment_id.eq(commitment_id),
                commitment_seals::seal.eq(seal),
                commitment_seals::sealed_at.eq(at),
            ))
            .execute(c)
    })?;
    Ok(())
}

/// The stored seal of a commitment.
pub fn of(conn: &mut DbConn, commitment_id: &str) -> StoreResult<Option<String>> {
    use crate::tables::commitment_seals;
    Ok(commitment_seals::table
        .find(commitment_id)
        .select(commitment_seals::seal)
        .first(conn)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bound_value_changes_the_binding_and_values_cannot_shift_between_parts() {
        let base = binding("t", "p", "s", "2026-12-05T08:00:00Z");
        assert_ne!(base, binding("t2", "p", "s", "2026-12-05T08:00:00Z"));
        assert_ne!(base, binding("t", "p2", "s", "2026-12-05T08:00:00Z"));
        assert_ne!(base, binding("t", "p", "s2", "2026-12-05T08:00:00Z"));
        assert_ne!(base, binding("t", "p", "s", "2026-12-05T08:00:01Z"));
        // Without length prefixes these two would hash the same concatenation.
        assert_ne!(binding("ab", "c", "s", "x"), binding("a", "bc", "s", "x"));
    }

    #[test]
    fn a_document_missing_a_bound_value_has_no_binding() {
        let doc = serde_json::json!({
            "text_sha256": "t", "person_id": "p", "signature_sha256": "s"
        });
        assert_eq!(binding_of(&doc), None);
        let mut whole = doc.clone();
        whole["signed_at"] = "2026-12-05T08:00:00Z".into();
        assert_eq!(
            binding_of(&whole),
            Some(binding("t", "p", "s", "2026-12-05T08:00:00Z"))
        );
    }
}
