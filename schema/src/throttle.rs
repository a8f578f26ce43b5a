//! Failed-login throttling per username, kept in the database so that it holds across API
//! replicas and restarts. Unknown usernames are throttled like known ones, so the answer
//! does not tell an attacker which usernames exist.

use diesel::prelude::*;

use crate::error::StoreResult;
use crate::tables::login_throttle;
use crate::time::Micros;
use crate::DbConn;

/// The throttling policy (from configuration).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed inside one window before the username is locked.
    pub max_failures: i32,
    /// How long failures are counted before the count starts again.
    pub window: Micros,
    /// How long a locked username stays locked.
    pub lockout: Micros,
}

/// When the username may try again, if it is locked now.
pub fn locked_until(conn: &mut DbConn, username: &str, now: Micros) -> StoreResult<Option<Micros>> {
    let until: Option<Option<Micros>> = login_throttle::table
        .find(username)
        .select(login_throttle::locked_until)
        .first(conn)
        .optional()?;
    Ok(until.flatten().filter(|t| *t > now))
}

/// Counts a failure; returns the lock's end when this failure locks the username.
pub fn record_failure(
    conn: &mut DbConn,
    username: &str,
    now: Micros,
    policy: Policy,
) -> StoreResult<Option<Micros>> {
    let row: Option<(i32, Micros)> = login_throttle::table
        .find(username)
        .select((login_throttle::failures, login_throttle::window_started_at))
        .first(conn)
        .optional()?;
    let (failures, window_started_at) = match row {
        Some((n, started)) if now - started < policy.window => (n + 1, started),
        _ => (1, now),
    };
    let locked_until = (failures >= policy.max_failures).then_some(now + policy.lockout);
    // Reset the count once locked, so the next window starts clean after the lock ends.
    let stored_failures = if locked_until.is_some() { 0 } else { failures };
    let updated = diesel::update(login_throttle::table.find(username))
        .set((
            login_throttle::failures.eq(stored_failures),
            login_throttle::window_started_at.eq(window_started_at),
            login_throttle::locked_until.eq(locked_until),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(login_throttle::table)
            .values((
                login_throttle::username.eq(username),
                login_throttle::failures.eq(stored_failures),
                login_throttle::window_started_at.eq(window_started_at),
                login_throttle::locked_until.eq(locked_until),
            ))
            .execute(conn)?;
    }
    Ok(locked_until)
}

/// A successful login clears the count.
pub fn clear(conn: &mut DbConn, username: &str) -> StoreResult<()> {
    diesel::delete(login_throttle::table.find(username)).execute(conn)?;
    Ok(())
}
