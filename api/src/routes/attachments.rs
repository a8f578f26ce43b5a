//! Attachments: content-addressed upload (whole, or resumable in chunks over bad networks),
//! validation, and serving by scope. Bodies are streamed to a staging file under the size
//! limit and hashed on the way; nothing is kept unless the hash and the image check out.
//!
//! Write order, so a crash never leaves an unaccounted blob: an intent row commits first,
//! then the blob is stored, then the attachment row, its derivative job and the intent's
//! removal commit together. A leftover intent is an orphan the cleanup removes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use liuqing_schema::attachments::{self as store, Attachment, Upload};
use liuqing_schema::audit;
use liuqing_schema::domain::Permission;
use liuqing_schema::jobs;
use liuqing_schema::records;
use liuqing_schema::time::now_micros;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use validator::Validate;

use super::views;
use crate::auth::Caller;
use crate::blob::BlobKey;
use crate::derivatives;
use crate::error::{ApiError, ApiResult};
use crate::extract::Body;
use crate::files;
use crate::media::{self, MediaError};
use crate::staging::SealedWriter;
use crate::state::AppState;

/// The job that makes an attachment's thumbnail and review image.
/// Checks a hash from the path or a body: 64 lower-case hex characters.
pub fn parse_sha256(field: &str, s: &str) -> ApiResult<String> {
    if s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(s.to_string())
    } else {
        Err(ApiError::validation(
            field,
            "must be 64 lower-case hex characters (a SHA-256)",
        ))
    }
}

fn blob_key(sha: &str) -> ApiResult<BlobKey> {
    BlobKey::attachment(sha).ok_or_else(|| ApiError::validation("sha256", "is not a valid hash"))
}

fn internal(e: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(e.into())
}

/// A staged file that is removed when dropped, so a failed request leaves nothing behind.
struct Staged(PathBuf);

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::PayloadTooLarge { limit }
}

fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// The answer about an attachment.
#[derive(Debug, Serialize)]
pub struct AttachmentView {
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    pub width: i32,
    pub height: i32,
    pub metadata: Value,
    pub derivatives_ready: bool,
    pub created_at: String,
}

pub fn view(a: &Attachment) -> Result<AttachmentView, ApiError> {
    Ok(AttachmentView {
        sha256: a.sha256.clone(),
        size: a.size,
        media_type: a.media_type.clone(),
        width: a.width,
        height: a.height,
        metadata: records::parse_json("attachments.metadata", &a.metadata)?,
        derivatives_ready: a.derived_at.is_some(),
        created_at: views::time(a.created_at),
    })
}

fn media_error(e: MediaError) -> ApiError {
    match e {
        MediaError::Unsupported(_) => ApiError::UnsupportedMediaType(e.to_string()),
        MediaError::TooLarge(reason) => ApiError::validation("body", reason),
        MediaError::Damaged(_) => ApiError::validation("body", e.to_string()),
        MediaError::Io(io) => internal(io),
    }
}

/// Validates the staged bytes as an image and commits them as the attachment `sha`.
/// Bytes already held are not stored again; the caller becomes one of their uploaders.
async fn commit(
    state: &AppState,
    caller: &Caller,
    staged: &Path,
    sha: &str,
    size: u64,
) -> ApiResult<(bool, Attachment)> {
    let user = caller.user_id.clone();
    let lookup = sha.to_string();
    let held = state
        .db
        .run(move |conn| {
            let found = store::find(conn, &lookup)?;
            if found.is_some() {
                store::add_uploader(conn, &lookup, &user, now_micros())?;
            }
            Ok(found)
        })
        .await?;
    if let Some(a) = held {
        return Ok((false, a));
    }
    let limits = state.config.image_limits();
    let path = staged.to_path_buf();
    // Held until the decode is done: bounds the memory all uploads' decoders take together.
    let _turn = state.decodes.acquire().await.map_err(internal)?;
    let info = web::block(move || media::validate(&path, &limits))
        .await
        .map_err(internal)?
        .map_err(media_error)?;
    let key = blob_key(sha)?;
    let intent = uuid::Uuid::now_v7().to_string();
    {
        let (intent, key, sha) = (intent.clone(), key.as_str().to_string(), sha.to_string());
        state
            .db
            .run(move |conn| Ok(store::add_intent(conn, &intent, &key, &sha, now_micros())?))
            .await?;
    }
    state.blobs.put_file(&key, staged).await.map_err(internal)?;
    let now = now_micros();
    let attachment = Attachment {
        sha256: sha.to_string(),
        size: i64::try_from(size).map_err(internal)?,
        media_type: info.kind.media_type().to_string(),
        width: i32::try_from(info.width).map_err(internal)?,
        height: i32::try_from(info.height).map_err(internal)?,
        metadata: info.metadata.to_string(),
        derived_at: None,
        created_by: caller.user_id.clone(),
        created_at: now,
    };
    let user = caller.user_id.clone();
    let row = attachment.clone();
    state
        .db
        .transaction(move |conn| {
            let new = store::add(conn, &row, &user)?;
            if new {
                jobs::enqueue(conn, derivatives::DERIVE_JOB, &row.sha256, now)?;
            }
            store::remove_intent(conn, &intent)?;
            let stored =
                store::find(conn, &row.sha256)?.ok_or_else(|| ApiError::not_found("attachment"))?;
            Ok((new, stored))
        })
        .await
}

fn created_or_ok(new: bool, a: &Attachment) -> ApiResult<HttpResponse> {
    let mut res = if new {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(res
        .insert_header((header::ETAG, format!("\"{}\"", a.sha256)))
        .json(view(a)?))
}

/// Streams the request body to `file` under `limit`, hashing it, skipping the first
/// `skip` bytes (already held). Returns the bytes written, and whether the client stopped
/// sending midway (what arrived is still written, so an upload resumes from it).
/// Where received bytes go: a plain staging file (a whole upload, for its request's
/// duration only) or a sealed one (a resumable upload, kept between requests).
enum Sink<'f> {
    Plain(&'f mut tokio::fs::File),
    Sealed(&'f mut SealedWriter),
}

impl Sink<'_> {
    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Plain(file) => file.write_all(bytes).await,
            Sink::Sealed(writer) => writer.write_all(bytes).await,
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(file) => file.flush().await,
            Sink::Sealed(writer) => writer.finish().await,
        }
    }
}

async fn receive(
    payload: &mut web::Payload,
    mut sink: Sink<'_>,
    mut skip: u64,
    room: u64,
    mut hasher: Option<&mut Sha256>,
    idle: std::time::Duration,
) -> ApiResult<(u64, bool)> {
    let mut written: u64 = 0;
    // A body that goes silent for `idle` is cut like a dropped connection: a photo may take
    // long over a weak signal, but not stall for ever holding a connection.
    loop {
        let Ok(next) = tokio::time::timeout(idle, payload.next()).await else {
            sink.flush().await.map_err(internal)?;
            return Ok((written, true));
        };
        let Some(chunk) = next else {
            break;
        };
        let Ok(chunk) = chunk else {
            sink.flush().await.map_err(internal)?;
            return Ok((written, true));
        };
        let mut bytes = &chunk[..];
        if skip > 0 {
            let n = usize::try_from(skip.min(bytes.len() as u64)).unwrap_or(bytes.len());
            bytes = &bytes[n..];
            skip -= n as u64;
        }
        if written + bytes.len() as u64 > room {
            return Err(ApiError::PayloadTooLarge {
                limit: usize::try_from(room).unwrap_or(usize::MAX),
            });
        }
        if let Some(h) = hasher.as_deref_mut() {
            h.update(bytes);
        }
        sink.write_all(bytes).await.map_err(internal)?;
        written += bytes.len() as u64;
    }
    sink.flush().await.map_err(internal)?;
    Ok((written, false))
}

fn staging_file(state: &AppState, name: &str) -> ApiResult<PathBuf> {
    let dir = state.config.staging_path();
    files::private_dir(&dir).map_err(internal)?;
    Ok(dir.join(name))
}

/// `PUT /v1/attachments/{sha256}`: the whole file in one request.
pub async fn put(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let sha = parse_sha256("sha256", &path.into_inner())?;
    let limit = state.config.max_upload_bytes;
    if declared_length(&req).is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let staged = Staged(staging_file(
        &state,
        &format!("{}.put", uuid::Uuid::new_v4()),
    )?);
    let mut file = files::create_private(&staged.0).await.map_err(internal)?;
    let mut hasher = Sha256::new();
    let idle = std::time::Duration::from_secs(state.config.body_read_timeout_secs);
    let (size, cut) = receive(
        &mut payload,
        Sink::Plain(&mut file),
        0,
        limit as u64,
        Some(&mut hasher),
        idle,
    )
    .await
    .map_err(|e| match e {
        ApiError::PayloadTooLarge { .. } => too_large(limit),
        other => other,
    })?;
    drop(file);
    if cut {
        return Err(ApiError::BadRequest(
            "the body ended early; use a resumable upload on bad networks".into(),
        ));
    }
    if size == 0 {
        return Err(ApiError::validation("body", "is empty"));
    }
    let got = hex::encode(hasher.finalize());
    if got != sha {
        return Err(ApiError::validation(
            "sha256",
            format!("does not match the bytes received (their SHA-256 is {got})"),
        ));
    }
    let (new, a) = commit(&state, &caller, &staged.0, &sha, size).await?;
    created_or_ok(new, &a)
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    pub sha256: String,
    pub size: i64,
}

#[derive(Debug, Serialize)]
struct UploadView {
    id: String,
    sha256: String,
    size: i64,
    offset: i64,
}

fn upload_response(status: actix_web::http::StatusCode, u: &Upload) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Upload-Offset", u.received.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(UploadView {
            id: u.id.clone(),
            sha256: u.sha256.clone(),
            size: u.size,
            offset: u.received,
        })
}

/// `POST /v1/uploads`: declares a resumable upload by its hash and size.
pub async fn create_upload(
    state: web::Data<AppState>,
    caller: Caller,
    Body(req): Body<NewUpload>,
) -> ApiResult<HttpResponse> {
    let sha = parse_sha256("sha256", &req.sha256)?;
    let limit = state.config.max_upload_bytes;
    if req.size <= 0 {
        return Err(ApiError::validation("size", "must be at least 1 byte"));
    }
    if req.size > limit as i64 {
        return Err(too_large(limit));
    }
    let now = now_micros();
    let upload = Upload {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: caller.user_id.clone(),
        sha256: sha,
        size: req.size,
        received: 0,
        created_at: now,
        updated_at: now,
    };
    let row = upload.clone();
    let max_open = i64::from(state.config.max_open_uploads_per_user);
    let created = state
        .db
        .run(move |conn| Ok(store::create_upload(conn, &row, max_open)?))
        .await?;
    if !created {
        // Each declares up to max_upload_bytes of staging: a user may not hold hundreds.
        return Err(ApiError::Conflict(
            "too_many_uploads",
            format!(
                "{max_open} resumable uploads are already open; finish or wait for them to expire"
            ),
        ));
    }
    files::create_private(&staging_file(&state, &format!("{}.upload", upload.id))?)
        .await
        .map_err(internal)?;
    let mut res = upload_response(actix_web::http::StatusCode::CREATED, &upload);
    if let Ok(v) = header::HeaderValue::from_str(&format!("/v1/uploads/{}", upload.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

async fn load_upload(state: &AppState, caller: &Caller, id: String) -> ApiResult<Upload> {
    let user = caller.user_id.clone();
    state
        .db
        .run(move |conn| {
            store::find_upload(conn, &id, &user)?.ok_or_else(|| ApiError::not_found("upload"))
        })
        .await
}

/// `GET /v1/uploads/{id}`: how many bytes the server holds.
pub async fn get_upload(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let upload = load_upload(&state, &caller, id.into_inner()).await?;
    Ok(upload_response(actix_web::http::StatusCode::OK, &upload))
}

/// Uploads being written by a request of this process: one chunk at a time per upload.
fn busy() -> &'static Mutex<HashSet<String>> {
    static BUSY: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    BUSY.get_or_init(Default::default)
}

struct BusyGuard(String);

impl BusyGuard {
    fn take(id: &str) -> ApiResult<BusyGuard> {
        let mut set = busy()
            .lock()
            .map_err(|_| internal(anyhow::anyhow!("lock poisoned")))?;
        if !set.insert(id.to_string()) {
            return Err(ApiError::Conflict(
                "upload_busy",
                "another request is sending bytes to this upload".into(),
            ));
        }
        Ok(BusyGuard(id.to_string()))
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if let Ok(mut set) = busy().lock() {
            set.remove(&self.0);
        }
    }
}

/// `PATCH /v1/uploads/{id}` with `Upload-Offset`: bytes from that offset. Bytes the server
/// already holds are skipped, so sending them twice is harmless; an offset beyond what the
/// server holds is a 409 (ask `GET` for the offset).
pub async fn send_chunk(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let offset: i64 = req
        .headers()
        .get("Upload-Offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .filter(|n: &i64| *n >= 0)
        .ok_or_else(|| {
            ApiError::validation("Upload-Offset", "header must be a whole number of bytes")
        })?;
    let upload = load_upload(&state, &caller, id.into_inner()).await?;
    let _guard = BusyGuard::take(&upload.id)?;
    // Read again under the guard: another request may have moved it meanwhile.
    let upload = load_upload(&state, &caller, upload.id.clone()).await?;
    if offset > upload.received {
        return Err(ApiError::Conflict(
            "offset_mismatch",
            format!(
                "the server holds {} bytes; send from there",
                upload.received
            ),
        ));
    }
    let path = staging_file(&state, &format!("{}.upload", upload.id))?;
    // Bytes past the recorded offset were never confirmed (a crash mid-chunk): the sealed
    // file is cut back to it.
    let held = u64::try_from(upload.received).map_err(internal)?;
    let mut writer = state
        .staging
        .append_after(&path, &upload.id, held)
        .await
        .map_err(internal)?;
    let skip = u64::try_from(upload.received - offset).map_err(internal)?;
    let room = u64::try_from(upload.size - upload.received).map_err(internal)?;
    let idle = std::time::Duration::from_secs(state.config.body_read_timeout_secs);
    let received = receive(
        &mut payload,
        Sink::Sealed(&mut writer),
        skip,
        room,
        None,
        idle,
    )
    .await;
    let (written, cut) = match received {
        Ok(r) => r,
        // (What was written past the offset is cut off by the next chunk.)
        Err(ApiError::PayloadTooLarge { .. }) => {
            return Err(ApiError::validation(
                "size",
                format!("more bytes were sent than the {} declared", upload.size),
            ));
        }
        Err(e) => return Err(e),
    };
    drop(writer);
    let to = upload.received + i64::try_from(written).map_err(internal)?;
    let (id, from) = (upload.id.clone(), upload.received);
    let moved = state
        .db
        .run(move |conn| Ok(store::advance_upload(conn, &id, from, to, now_micros())?))
        .await?;
    if !moved {
        return Err(ApiError::Conflict(
            "offset_mismatch",
            "the upload moved meanwhile; ask for its offset".into(),
        ));
    }
    if cut {
        return Err(ApiError::BadRequest(format!(
            "the body ended early; the server holds {to} bytes"
        )));
    }
    Ok(upload_response(
        actix_web::http::StatusCode::OK,
        &Upload {
            received: to,
            ..upload
        },
    ))
}

/// `POST /v1/uploads/{id}/finish`: verifies the hash and the image, and commits.
/// A mismatch keeps nothing: the upload and its bytes are removed.
pub async fn finish_upload(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let upload = load_upload(&state, &caller, id.into_inner()).await?;
    let _guard = BusyGuard::take(&upload.id)?;
    if upload.received != upload.size {
        return Err(ApiError::Conflict(
            "upload_incomplete",
            format!(
                "the server holds {} of {} bytes",
                upload.received, upload.size
            ),
        ));
    }
    let path = staging_file(&state, &format!("{}.upload", upload.id))?;
    let staged = Staged(path.clone());
    let size = u64::try_from(upload.size).map_err(internal)?;
    // The bytes in clear only while they are checked and committed (owner-only, removed
    // when this request ends, whatever its outcome).
    let plain = Staged(staging_file(&state, &format!("{}.plain", upload.id))?);
    let (sealed, unsealed, sealing) = (path.clone(), plain.0.clone(), state.staging.clone());
    let upload_id = upload.id.clone();
    let got = web::block(move || {
        sealing.unseal_to(&sealed, &upload_id, size, &unsealed)?;
        hash_file(&unsealed, size)
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    let remove = |state: &web::Data<AppState>, id: String| {
        let db = state.db.clone();
        async move {
            db.run(move |conn| Ok(store::remove_upload(conn, &id)?))
                .await
        }
    };
    if got != upload.sha256 {
        remove(&state, upload.id.clone()).await?;
        return Err(ApiError::validation(
            "sha256",
            format!("does not match the bytes received (their SHA-256 is {got})"),
        ));
    }
    let result = commit(&state, &caller, &plain.0, &upload.sha256, size).await;
    // An image refused is refused for good: the same bytes will never pass.
    if matches!(
        result,
        Ok(_) | Err(ApiError::Validation(_)) | Err(ApiError::UnsupportedMediaType(_))
    ) {
        remove(&state, upload.id.clone()).await?;
    } else {
        std::mem::forget(staged);
    }
    let (new, a) = result?;
    created_or_ok(new, &a)
}

/// The SHA-256 of the first `size` bytes of a file, read in pieces.
fn hash_file(path: &Path, size: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?.take(size);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Whether the caller may see the attachment, and it exists: a record in their scope names
/// it, or they uploaded it. Anything else is a 404, so hashes cannot be probed.
async fn visible(state: &AppState, caller: &Caller, sha: &str) -> ApiResult<(Attachment, bool)> {
    let (caller, sha) = (caller.clone(), sha.to_string());
    state
        .db
        .run(move |conn| {
            let uploaded = store::uploaded_by(conn, &sha, &caller.user_id)?;
            if !uploaded {
                // Another's photo is case data: admins see only what they uploaded (told
                // so before anything is looked up, so the answer says nothing of the hash).
                caller.require(Permission::ReadCaseFiles)?;
                let scope = caller.scope(conn)?;
                if !store::referenced_in_scope(conn, &scope, &sha)? {
                    return Err(ApiError::not_found("attachment"));
                }
            }
            let a = store::find(conn, &sha)?.ok_or_else(|| ApiError::not_found("attachment"))?;
            Ok((a, uploaded))
        })
        .await
}

fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

fn serve(req: &HttpRequest, etag: String, media_type: &str, bytes: bytes::Bytes) -> HttpResponse {
    // Content-addressed: the bytes under a hash never change, so caches may keep them; only
    // the caller's own cache (`private`), as they are personal data.
    let cache = "private, max-age=31536000, immutable";
    if not_modified(req, &etag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media_type.to_string()))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes)
}

/// `GET /v1/attachments/{sha256}`: the original, byte-exact, to roles that may see it;
/// every view is written to the access log.
pub async fn get_original(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    original_of(state, caller, path.into_inner(), req).await
}

/// The original of `sha` for the caller (the API's and the console's), logged.
pub(crate) async fn original_of(
    state: web::Data<AppState>,
    caller: Caller,
    sha: String,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let sha = parse_sha256("sha256", &sha)?;
    let (a, uploaded) = visible(&state, &caller, &sha).await?;
    if !uploaded && !caller.may(Permission::ViewOriginals) {
        return Err(ApiError::Forbidden(
            "forbidden_role",
            format!(
                "the role `{}` sees the thumbnail and review image, not the original",
                caller.role
            ),
        ));
    }
    let etag = format!("\"{sha}\"");
    if not_modified(&req, &etag) {
        return Ok(serve(&req, etag, &a.media_type, bytes::Bytes::new()));
    }
    let bytes = state
        .blobs
        .get(&blob_key(&sha)?)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::not_found("attachment bytes"))?;
    let who = caller.clone();
    let target = sha.clone();
    state
        .db
        .run(move |conn| {
            Ok(audit::record(
                conn,
                who.actor(),
                "attachment.view_original",
                "attachment",
                &target,
                None,
                None,
            )?)
        })
        .await?;
    Ok(serve(&req, etag, &a.media_type, bytes))
}

/// `GET /v1/attachments/{sha256}/info`: size, type, dimensions, EXIF metadata.
pub async fn get_info(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let sha = parse_sha256("sha256", &path.into_inner())?;
    let (a, _) = visible(&state, &caller, &sha).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .json(view(&a)?))
}

pub(crate) async fn get_derivative(
    state: web::Data<AppState>,
    caller: Caller,
    sha: String,
    req: HttpRequest,
    which: &'static str,
) -> ApiResult<HttpResponse> {
    let sha = parse_sha256("sha256", &sha)?;
    let (a, _) = visible(&state, &caller, &sha).await?;
    if a.derived_at.is_none() {
        return Err(ApiError::not_found(format!(
            "the {which} image (not made yet)"
        )));
    }
    let key = BlobKey::derivative(&sha, which)
        .ok_or_else(|| ApiError::validation("sha256", "is not a valid hash"))?;
    let etag = format!("\"{sha}-{which}\"");
    let bytes = if not_modified(&req, &etag) {
        bytes::Bytes::new()
    } else {
        state
            .blobs
            .get(&key)
            .await
            .map_err(internal)?
            .ok_or_else(|| ApiError::not_found(format!("the {which} image")))?
    };
    let media_type = derivative_media_type(&bytes, &a);
    Ok(serve(&req, etag, media_type, bytes))
}

fn derivative_media_type(bytes: &[u8], a: &Attachment) -> &'static str {
    match media::sniff(bytes) {
        Ok(kind) => kind.media_type(),
        Err(_) if a.media_type == "image/png" => "image/png",
        Err(_) => "image/jpeg",
    }
}

/// `GET /v1/attachments/{sha256}/thumbnail` (~320 px, no metadata).
pub async fn get_thumbnail(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    get_derivative(state, caller, path.into_inner(), req, "thumbnail").await
}

/// `GET /v1/attachments/{sha256}/review` (~1280 px, no metadata).
pub async fn get_review(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    get_derivative(state, caller, path.into_inner(), req, "review").await
}
