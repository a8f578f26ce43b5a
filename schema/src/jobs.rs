//! A job queue in the database, so a restart never loses work. A job is unique per
//! `(kind, target)` (enqueueing twice is harmless) and is claimed with a lease: a plain
//! conditional UPDATE that works the same on SQLite and PostgreSQL. A worker that dies
//! leaves a lease that expires, and the job is claimed again; jobs must be idempotent.

use diesel::prelude::*;

use crate::error::{StoreError, StoreResult};
use crate::tables::jobs;
use crate::time::Micros;
use crate::DbConn;

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub target: String,
    pub state: String,
    pub attempts: i32,
    pub run_after: Micros,
    pub lease_until: Option<Micros>,
    pub last_error: Option<String>,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// Queues a job unless one of this kind and target exists. Runs in a savepoint so a
/// concurrent duplicate does not abort the caller's transaction.
pub fn enqueue(conn: &mut DbConn, kind: &str, target: &str, now: Micros) -> StoreResult<()> {
    use diesel::Connection;
    let job = Job {
        id: uuid::Uuid::now_v7().to_string(),
        kind: kind.into(),
        target: target.into(),
        state: QUEUED.into(),
        attempts: 0,
        run_after: now,
        lease_until: None,
        last_error: None,
        created_at: now,
        updated_at: now,
    };
    let inserted = conn.transaction(|c| diesel::insert_into(jobs::table).values(&job).execute(c));
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(()),
        Err(e) if e.is_unique_violation() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Claims the oldest job that is due: queued, or running with an expired lease.
pub fn claim(conn: &mut DbConn, now: Micros, lease: Micros) -> StoreResult<Option<Job>> {
    let due = |conn: &mut DbConn| -> StoreResult<Vec<Job>> {
        Ok(jobs::table
            .filter(
                jobs::state
                    .eq(QUEUED)
                    .and(jobs::run_after.le(now))
                    .or(jobs::state.eq(RUNNING).and(jobs::lease_until.lt(now))),
            )
            .order(jobs::run_after.asc())
            .select(Job::as_select())
            .limit(5)
            .load(conn)?)
    };
    for job in due(conn)? {
        // Only one claimer's UPDATE matches the row as it was read.
        let n = diesel::update(
            jobs::table
                .filter(jobs::id.eq(&job.id))
                .filter(jobs::state.eq(&job.state))
                .filter(jobs::attempts.eq(job.attempts)),
        )
        .set((
            jobs::state.eq(RUNNING),
            jobs::attempts.eq(job.attempts + 1),
            jobs::lease_until.eq(now + lease),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
        if n == 1 {
            return Ok(Some(Job {
                state: RUNNING.into(),
                attempts: job.attempts + 1,
                lease_until: Some(now + lease),
                ..job
            }));
        }
    }
    Ok(None)
}

pub fn finish(conn: &mut DbConn, id: &str, now: Micros) -> StoreResult<()> {
    diesel::update(jobs::table.find(id))
        .set((
            jobs::state.eq(DONE),
            jobs::lease_until.eq(None::<i64>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A failed attempt: retried after `retry_after`, or given up after `max_attempts`.
pub fn fail(
    conn: &mut DbConn,
    job: &Job,
    error: &str,
    now: Micros,
    retry_after: Micros,
    max_attempts: i32,
) -> StoreResult<()> {
    let state = if job.attempts >= max_attempts {
        FAILED
    } else {
        QUEUED
    };
    diesel::update(jobs::table.find(&job.id))
        .set((
            jobs::state.eq(state),
            jobs::run_after.eq(now + retry_after),
            jobs::lease_until.eq(None::<i64>),
            jobs::last_error.eq(error.chars().take(500).collect::<String>()),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, kind: &str, target: &str) -> StoreResult<Option<Job>> {
    Ok(jobs::table
        .filter(jobs::kind.eq(kind))
        .filter(jobs::target.eq(target))
        .select(Job::as_select())
        .first(conn)
        .optional()?)
}
