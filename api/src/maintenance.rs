//! Background upkeep, idempotent so that every replica may run it: removing tombstones
//! past their retention, blobs orphaned by a crash between storing and committing, and
//! resumable uploads abandoned for `upload_expiry_hours`, and checking the communities'
//! scope digests against their records (rebuilt if they drifted). It runs at start and
//! then hourly; a failed round is logged and retried at the next.

use std::time::Duration;

use actix_web::web;
use liuqing_schema::attachments as store;
use liuqing_schema::time::{now_micros, seconds, Micros};
use liuqing_schema::{db, records};

use crate::blob::{BlobKey, BlobStore};
use crate::db::Db;
use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(3600);
/// An intent this old belongs to an upload that died: no request runs for an hour.
const ORPHAN_AFTER_SECS: i64 = 3600;

/// Checkpoints SQLite's WAL four times a second, off the writers' path (see
/// `liuqing_schema::db::checkpoint`, which also starts a long WAL over). Under a stream
/// of pushes the WAL grows by 10,000 to 40,000 pages a second, depending on the machine.
/// Measured with the load generator, runs alternating with the 250 ms build: pushes were
/// 20–30% slower at 1 s and at 500 ms, and about 10–20% slower at 100 ms (BENCHMARKS.md,
/// fifth session). On an idle database a checkpoint finds nothing to do. A failed
/// checkpoint is logged and tried again.
pub async fn checkpoint_wal(db: Db) {
    loop {
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        if let Err(e) = db.run(|conn| Ok(db::checkpoint(conn)?)).await {
            tracing::warn!(error = ?e, "WAL checkpoint failed; retrying");
        }
    }
}

pub async fn run(state: web::Data<AppState>) {
    loop {
        let retention =
            seconds(state.config.tombstone_retention_days.saturating_mul(86_400) as i64);
        let before = now_micros().saturating_sub(retention);
        match state
            .db
            .run(move |conn| Ok(records::purge_tombstones(conn, before)?))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed expired tombstones"),
            Err(e) => tracing::warn!(error = ?e, "tombstone cleanup failed; retrying later"),
        }
        // Throttle rows whose window and lock are over: an unknown name's row (keyed by
        // a hash) lives no longer than throttling needs. (The longest window: logins',
        // or the hour of exact lookups.)
        let window = seconds(state.config.login_window_secs.max(3600) as i64);
        match state
            .db
            .run(move |conn| Ok(liuqing_schema::throttle::purge(conn, now_micros(), window)?))
            .await
        {
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "login throttle cleanup failed; retrying later"),
        }
        let cutoff = now_micros().saturating_sub(seconds(ORPHAN_AFTER_SECS));
        match sweep_orphans(&state.db, state.blobs.as_ref(), cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed orphaned blobs"),
            Err(e) => tracing::warn!(error = ?e, "orphan cleanup failed; retrying later"),
        }
        match state
            .db
            .run(|conn| Ok(liuqing_sync::feed::check_digests(conn)?))
            .await
        {
            Ok(differed) if differed.is_empty() => {}
            Ok(differed) => tracing::warn!(
                communities = ?differed,
                "scope digests had drifted from the records; rebuilt them"
            ),
            Err(e) => tracing::warn!(error = ?e, "scope digest check failed; retrying later"),
        }
        let expiry = seconds(state.config.upload_expiry_hours.saturating_mul(3600) as i64);
        let cutoff = now_micros().saturating_sub(expiry);
        if let Err(e) = expire_uploads(&state, cutoff).await {
            tracing::warn!(error = ?e, "upload cleanup failed; retrying later");
        }
        actix_web::rt::time::sleep(EVERY).await;
    }
}

/// Removes blobs whose write began before `before` and whose attachment row never
/// committed. Returns how many blobs were removed.
pub async fn sweep_orphans(
    db: &Db,
    blobs: &dyn BlobStore,
    before: Micros,
) -> anyhow::Result<usize> {
    let intents = db
        .run(move |conn| Ok(store::stale_intents(conn, before)?))
        .await?;
    let mut removed = 0;
    for (id, key, _sha, claimed) in intents {
        if !claimed {
            blobs.delete(&BlobKey::parse(&key)?).await?;
            removed += 1;
        }
        db.run(move |conn| Ok(store::remove_intent(conn, &id)?))
            .await?;
    }
    Ok(removed)
}

async fn expire_uploads(state: &AppState, before: Micros) -> anyhow::Result<()> {
    let ids = state
        .db
        .run(move |conn| Ok(store::stale_uploads(conn, before)?))
        .await?;
    for id in ids {
        let _ =
            tokio::fs::remove_file(state.config.staging_path().join(format!("{id}.upload"))).await;
        state
            .db
            .run(move |conn| Ok(store::remove_upload(conn, &id)?))
            .await?;
    }
    Ok(())
}
