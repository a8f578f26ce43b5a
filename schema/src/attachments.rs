//! Attachments (photos, signatures) and their uploads: the rows that say which content the
//! server holds, who uploaded it, and how far a resumable upload has come. The bytes live
//! in the blob store; nothing here touches them.

use diesel::prelude::*;
use serde::Serialize;

use crate::entities::Entity;
use crate::error::{StoreError, StoreResult};
use crate::scope::Scope;
use crate::tables::{attachment_uploaders, attachments, blob_intents, records, uploads};
use crate::time::Micros;
use crate::DbConn;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = attachments)]
pub struct Attachment {
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub width: i32,
    pub height: i32,
    /// JSON text: capture time, GPS, orientation read from EXIF.
    pub metadata: String,
    pub derived_at: Option<Micros>,
    pub created_by: String,
    pub created_at: Micros,
}

pub fn find(conn: &mut DbConn, sha256: &str) -> StoreResult<Option<Attachment>> {
    Ok(attachments::table
        .find(sha256)
        .select(Attachment::as_select())
        .first(conn)
        .optional()?)
}

/// Which of `hashes` the server holds from `user_id`'s own upload (an uploader row is
/// written with its attachment's, in one transaction).
pub fn uploaded_among(
    conn: &mut DbConn,
    hashes: &[&str],
    user_id: &str,
) -> StoreResult<Vec<String>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(attachment_uploaders::table
        .filter(attachment_uploaders::user_id.eq(user_id))
        .filter(attachment_uploaders::sha256.eq_any(hashes))
        .select(attachment_uploaders::sha256)
        .load(conn)?)
}

/// Inserts inside a savepoint, so a duplicate (a concurrent upload of the same bytes) does
/// not abort the caller's transaction on PostgreSQL. Returns whether this call inserted.
pub(crate) fn insert_once<F>(conn: &mut DbConn, insert: F) -> StoreResult<bool>
where
    F: FnOnce(&mut DbConn) -> Result<usize, diesel::result::Error>,
{
    use diesel::Connection;
    match conn.transaction(insert) {
        Ok(_) => Ok(true),
        Err(e) => {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}

/// Records the attachment (first upload wins) and its uploader. Returns whether the
/// attachment row is new.
pub fn add(conn: &mut DbConn, attachment: &Attachment, uploader: &str) -> StoreResult<bool> {
    let new = insert_once(conn, |c| {
        diesel::insert_into(attachments::table)
            .values(attachment)
            .execute(c)
    })?;
    add_uploader(conn, &attachment.sha256, uploader, attachment.created_at)?;
    Ok(new)
}

pub fn add_uploader(conn: &mut DbConn, sha256: &str, user_id: &str, at: Micros) -> StoreResult<()> {
    insert_once(conn, |c| {
        diesel::insert_into(attachment_uploaders::table)
            .values((
                attachment_uploaders::sha256.eq(sha256),
                attachment_uploaders::user_id.eq(user_id),
                attachment_uploaders::uploaded_at.eq(at),
            ))
            .execute(c)
    })?;
    Ok(())
}

pub fn uploaded_by(conn: &mut DbConn, sha256: &str, user_id: &str) -> StoreResult<bool> {
    let n: i64 = attachment_uploaders::table
        .filter(attachment_uploaders::sha256.eq(sha256))
        .filter(attachment_uploaders::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The attachment a record names, if the record's author sent those bytes themselves:
/// what the record's readers may be told the server holds. Another's upload of the same
/// bytes does not count (naming a hash is no capability, and saying "received" would tell
/// that the server holds it).
pub fn held_for(
    conn: &mut DbConn,
    sha256: &str,
    author: Option<&str>,
) -> StoreResult<Option<Attachment>> {
    let Some(author) = author else {
        return Ok(None);
    };
    if !uploaded_by(conn, sha256, author)? {
        return Ok(None);
    }
    find(conn, sha256)
}

pub fn mark_derived(conn: &mut DbConn, sha256: &str, at: Micros) -> StoreResult<()> {
    diesel::update(attachments::table.find(sha256))
        .set(attachments::derived_at.eq(at))
        .execute(conn)?;
    Ok(())
}

/// The fields through which records name an attachment.
pub const REFERRING_FIELDS: &[(Entity, &str)] = &[
    (Entity::Evidence, "attachment_sha256"),
    (Entity::Commitment, "signature_sha256"),
    (Entity::Plan, "signature_sha256"),
    (Entity::WelfareSubsidy, "form_sha256"),
];

/// Whether a live record inside `scope` names the attachment *and was made by someone who
/// uploaded its bytes*. Naming a hash is no capability: anyone can copy a hash into a
/// record, so only a record whose author proved possession (sent the bytes themselves)
/// shares the photo with its scope. The text match narrows the rows (a hash is 64 hex
/// characters, checked by the caller); the JSON field decides.
pub fn referenced_in_scope(conn: &mut DbConn, scope: &Scope, sha256: &str) -> StoreResult<bool> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    let uploaders: Vec<String> = attachment_uploaders::table
        .filter(attachment_uploaders::sha256.eq(sha256))
        .select(attachment_uploaders::user_id)
        .load(conn)?;
    if uploaders.is_empty() {
        return Ok(false);
    }
    let entities: Vec<Entity> = REFERRING_FIELDS.iter().map(|(e, _)| *e).collect();
    let mut query = records::table
        .filter(records::entity.eq_any(entities))
        .filter(records::deleted.eq(false))
        .filter(records::created_by.eq_any(uploaders))
        .filter(records::data.like(format!("%{sha256}%")))
        .select((records::entity, records::data))
        .into_boxed();
    if let Some(in_scope) = scope.nodes_condition("records.community_id") {
        query = query.filter(in_scope);
    }
    let rows: Vec<(Entity, String)> = query.load(conn)?;
    Ok(rows.iter().any(|(entity, data)| {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(data) else {
            return false;
        };
        REFERRING_FIELDS
            .iter()
            .filter(|(e, _)| e == entity)
            .any(|(_, field)| doc.get(*field).and_then(|v| v.as_str()) == Some(sha256))
    }))
}

/// Notes that a blob is about to be written, before its row can commit.
pub fn add_intent(
    conn: &mut DbConn,
    id: &str,
    key: &str,
    sha256: &str,
    at: Micros,
) -> StoreResult<()> {
    diesel::insert_into(blob_intents::table)
        .values((
            blob_intents::id.eq(id),
            blob_intents::blob_key.eq(key),
            blob_intents::sha256.eq(sha256),
            blob_intents::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn remove_intent(conn: &mut DbConn, id: &str) -> StoreResult<()> {
    diesel::delete(blob_intents::table.find(id)).execute(conn)?;
    Ok(())
}

/// An intent older than the cutoff: `(id, blob key, sha256, whether an attachment row
/// claims the hash)`. Unclaimed ones are orphans whose blob may be removed.
pub fn stale_intents(
    conn: &mut DbConn,
    before: Micros,
) -> StoreResult<Vec<(String, String, String, bool)>> {
    let rows: Vec<(String, String, String)> = blob_intents::table
        .filter(blob_intents::created_at.lt(before))
        .select((
            blob_intents::id,
            blob_intents::blob_key,
            blob_intents::sha256,
        ))
        .order(blob_intents::created_at.asc())
        .limit(500)
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, key, sha) in rows {
        // A newer intent for the same bytes is an upload in flight that needs the blob.
        let in_flight: i64 = blob_intents::table
            .filter(blob_intents::sha256.eq(&sha))
            .filter(blob_intents::created_at.ge(before))
            .count()
            .get_result(conn)?;
        let claimed = in_flight > 0 || find(conn, &sha)?.is_some();
        out.push((id, key, sha, claimed));
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = uploads)]
pub struct Upload {
    pub id: String,
    pub user_id: String,
    pub sha256: String,
    pub size: i64,
    pub received: i64,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// Records a new resumable upload, unless its user would then have more than `max_open`
/// unfinished: returns whether it was recorded. The user's row is held first, so two at
/// once are counted one after the other (on PostgreSQL each would otherwise count without
/// the other's row and both pass).
pub fn create_upload(conn: &mut DbConn, upload: &Upload, max_open: i64) -> StoreResult<bool> {
    use diesel::result::Error::RollbackTransaction;
    let created = conn.transaction(|conn| {
        crate::backend::lock_user(conn, &upload.user_id)?;
        diesel::insert_into(uploads::table)
            .values(upload)
            .execute(conn)?;
        let open: i64 = uploads::table
            .filter(uploads::user_id.eq(&upload.user_id))
            .count()
            .get_result(conn)?;
        if open > max_open {
            return Err(RollbackTransaction);
        }
        Ok(())
    });
    match created {
        Ok(()) => Ok(true),
        Err(RollbackTransaction) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// An upload, only for the user who created it.
pub fn find_upload(conn: &mut DbConn, id: &str, user_id: &str) -> StoreResult<Option<Upload>> {
    Ok(uploads::table
        .filter(uploads::id.eq(id))
        .filter(uploads::user_id.eq(user_id))
        .select(Upload::as_select())
        .first(conn)
        .optional()?)
}

/// Moves the offset from `from` to `to`; false when another request moved it first.
pub fn advance_upload(
    conn: &mut DbConn,
    id: &str,
    from: i64,
    to: i64,
    at: Micros,
) -> StoreResult<bool> {
    let n = diesel::update(
        uploads::table
            .filter(uploads::id.eq(id))
            .filter(uploads::received.eq(from)),
    )
    .set((uploads::received.eq(to), uploads::updated_at.eq(at)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn remove_upload(conn: &mut DbConn, id: &str) -> StoreResult<()> {
    diesel::delete(uploads::table.find(id)).execute(conn)?;
    Ok(())
}

/// Uploads untouched since `before` (abandoned), to remove with their staged bytes.
pub fn stale_uploads(conn: &mut DbConn, before: Micros) -> StoreResult<Vec<String>> {
    Ok(uploads::table
        .filter(uploads::updated_at.lt(before))
        .select(uploads::id)
        .limit(500)
        .load(conn)?)
}
