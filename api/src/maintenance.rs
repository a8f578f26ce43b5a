//! Background upkeep, idempotent so that every replica may run it: removing tombstones
//! past their retention. It runs at start and then hourly; a failed round is logged and
//! retried at the next.

use std::time::Duration;

use actix_web::web;
use liuqing_schema::records;
use liuqing_schema::time::{now_micros, seconds};

use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(3600);

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
        actix_web::rt::time::sleep(EVERY).await;
    }
}
