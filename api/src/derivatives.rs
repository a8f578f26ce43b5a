//! The worker that makes thumbnails and review images off the request path, from jobs in
//! the database: a restart never loses one (an unfinished claim expires and is taken
//! again), and making one twice is harmless (the same keys are written again).

use std::time::Duration;

use actix_web::web;
use liuqing_schema::attachments as store;
use liuqing_schema::jobs::{self, Job};
use liuqing_schema::time::{now_micros, seconds};

use crate::blob::BlobKey;
use crate::error::ApiError;
use crate::media::{self, Kind};
use crate::state::AppState;

/// The job that makes an attachment's derivatives (thumbnail, review size).
pub const DERIVE_JOB: &str = "derive_images";

const IDLE: Duration = Duration::from_millis(500);
const LEASE_SECS: i64 = 300;
const RETRY_SECS: i64 = 60;
const MAX_ATTEMPTS: i32 = 5;

pub async fn run(state: web::Data<AppState>) {
    loop {
        match work_one(&state).await {
            Ok(true) => {}
            Ok(false) => actix_web::rt::time::sleep(IDLE).await,
            Err(e) => {
                tracing::warn!(error = ?e, "the job queue failed; retrying");
                actix_web::rt::time::sleep(IDLE * 4).await;
            }
        }
    }
}

/// Claims and does one due job; false when there was none.
pub async fn work_one(state: &AppState) -> Result<bool, ApiError> {
    let job = state
        .db
        .run(|conn| Ok(jobs::claim(conn, now_micros(), seconds(LEASE_SECS))?))
        .await?;
    let Some(job) = job else { return Ok(false) };
    let outcome = match job.kind.as_str() {
        DERIVE_JOB => derive(state, &job.target).await,
        other => Err(anyhow::anyhow!("unknown job kind `{other}`")),
    };
    settle(state, job, outcome).await?;
    Ok(true)
}

async fn settle(state: &AppState, job: Job, outcome: anyhow::Result<()>) -> Result<(), ApiError> {
    state
        .db
        .run(move |conn| {
            let now = now_micros();
            match outcome {
                Ok(()) => jobs::finish(conn, &job.id, now)?,
                Err(e) => {
                    tracing::warn!(job = %job.id, kind = %job.kind, error = %e, "job failed");
                    jobs::fail(
                        conn,
                        &job,
                        &e.to_string(),
                        now,
                        seconds(RETRY_SECS),
                        MAX_ATTEMPTS,
                    )?
                }
            }
            Ok(())
        })
        .await
}

async fn derive(state: &AppState, sha: &str) -> anyhow::Result<()> {
    let lookup = sha.to_string();
    let Some(a) = state
        .db
        .run(move |conn| Ok(store::find(conn, &lookup)?))
        .await?
    else {
        return Ok(());
    };
    let kind = Kind::from_media_type(&a.media_type)
        .ok_or_else(|| anyhow::anyhow!("unknown media type {}", a.media_type))?;
    let key = BlobKey::attachment(sha).ok_or_else(|| anyhow::anyhow!("bad hash"))?;
    let original = state
        .blobs
        .get(&key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the original is not in the blob store"))?;
    let orientation = serde_json::from_str::<serde_json::Value>(&a.metadata)
        .ok()
        .and_then(|m| m.get("orientation").and_then(|o| o.as_u64()))
        .and_then(|o| u8::try_from(o).ok());
    let limits = state.config.image_limits();
    let derived =
        web::block(move || media::derive(&original, kind, orientation, &limits)).await??;
    for (which, bytes) in [("thumbnail", derived.thumbnail), ("review", derived.review)] {
        let key = BlobKey::derivative(sha, which).ok_or_else(|| anyhow::anyhow!("bad hash"))?;
        state.blobs.put(&key, bytes.into()).await?;
    }
    let sha = sha.to_string();
    state
        .db
        .run(move |conn| Ok(store::mark_derived(conn, &sha, now_micros())?))
        .await?;
    Ok(())
}
