//! Login throttling, kept in the database so that it holds across API replicas and
//! restarts. A row counts the login attempts of one key in a window: the caller makes the
//! keys (a keyed hash of a username, of a source address, or of the pair), so no row ever
//! holds what someone typed. Unknown usernames are counted like known ones, so the answer
//! does not tell an attacker which usernames exist; their rows are removed once their
//! window and lock are over ([`purge`]).
//!
//! An attempt is counted *before* its password is checked ([`begin`]), in one transaction
//! that holds the row, so however many attempts arrive at once, at most `max_failures`
//! passwords are checked per key and window.

use diesel::prelude::*;

use crate::attachments::insert_once;
use crate::error::StoreResult;
use crate::tables::login_throttle as t;
use crate::time::Micros;
use crate::DbConn;

/// The throttling policy of one kind of key (from configuration).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Attempts allowed inside one window; a failure that reaches it locks the key.
    pub max_failures: i32,
    /// How long attempts are counted before the count starts again.
    pub window: Micros,
    /// How long a locked key stays locked.
    pub lockout: Micros,
}

/// What an attempt may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Check the password: this is attempt `number` of the window.
    Allowed { number: i32 },
    /// Refused without checking: the key is locked until then.
    Locked { until: Micros },
}

/// Counts an attempt for `key`, unless it is locked. An attempt past the policy's
/// number locks the key and is refused.
pub fn begin(conn: &mut DbConn, key: &str, now: Micros, policy: Policy) -> StoreResult<Attempt> {
    // A concurrent `clear` (a successful login) may delete the row between the statements
    // below: the attempt is then counted again on a fresh row rather than failing.
    count(conn, key, 1, Past::Refused, now, policy)
}

/// Counts `amount` uses of `key` at once if they all fit in what is left of the window's
/// allowance; otherwise counts none and answers when the window ends.
pub fn spend(
    conn: &mut DbConn,
    key: &str,
    amount: i32,
    now: Micros,
    policy: Policy,
) -> StoreResult<Attempt> {
    count(conn, key, amount, Past::Whole, now, policy)
}

/// Uses of a key to count at once, all or none ([`spend`]), made by whoever holds the
/// transaction they belong in: a push's allowance is spent in its group commit, so it
/// takes no write lock of its own.
#[derive(Debug, Clone)]
pub struct Spend {
    pub key: String,
    pub amount: i32,
    pub policy: Policy,
}

impl Spend {
    pub fn make(&self, conn: &mut DbConn, now: Micros) -> StoreResult<Attempt> {
        spend(conn, &self.key, self.amount, now, self.policy)
    }
}

/// What becomes of uses that go past the limit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Past {
    /// The one use past the limit is counted, locks the key and is refused (logins).
    Refused,
    /// A batch that does not fit is not counted at all and is refused (lookups).
    Whole,
}

fn count(
    conn: &mut DbConn,
    key: &str,
    amount: i32,
    past: Past,
    now: Micros,
    policy: Policy,
) -> StoreResult<Attempt> {
    loop {
        let tried = conn.transaction(|conn| try_count(conn, key, amount, past, now, policy))?;
        if let Some(attempt) = tried {
            return Ok(attempt);
        }
    }
}

/// One try of [`count`]; `None` when the row vanished under it.
fn try_count(
    conn: &mut DbConn,
    key: &str,
    amount: i32,
    past: Past,
    now: Micros,
    policy: Policy,
) -> StoreResult<Option<Attempt>> {
    insert_once(conn, |c| {
        diesel::insert_into(t::table)
            .values((
                t::throttle_key.eq(key),
                t::failures.eq(0),
                t::window_started_at.eq(now),
                t::locked_until.eq(None::<Micros>),
            ))
            .execute(c)
    })?;
    let unlocked = t::locked_until.is_null().or(t::locked_until.le(now));
    // A window that is over starts again (the first statement that takes the row).
    diesel::update(
        t::table
            .find(key)
            .filter(t::window_started_at.le(now - policy.window))
            .filter(unlocked),
    )
    .set((
        t::failures.eq(0),
        t::window_started_at.eq(now),
        t::locked_until.eq(None::<Micros>),
    ))
    .execute(conn)?;
    let counted = match past {
        Past::Refused => diesel::update(t::table.find(key).filter(unlocked))
            .set(t::failures.eq(t::failures + amount))
            .execute(conn)?,
        // All of it fits in what is left of the allowance, or none of it is counted.
        Past::Whole => diesel::update(
            t::table
                .find(key)
                .filter(unlocked)
                .filter(t::failures.le(policy.max_failures - amount)),
        )
        .set(t::failures.eq(t::failures + amount))
        .execute(conn)?,
    };
    let Some((number, until, started)) = t::table
        .find(key)
        .select((t::failures, t::locked_until, t::window_started_at))
        .first::<(i32, Option<Micros>, Micros)>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    if counted == 0 {
        // Locked, or (a batch) too big for what is left: free again when the window ends.
        let until = until
            .filter(|u| *u > now)
            .unwrap_or(started + policy.window);
        return Ok(Some(Attempt::Locked { until }));
    }
    if number > policy.max_failures {
        let until = lock(conn, key, now, policy)?;
        return Ok(Some(Attempt::Locked { until }));
    }
    Ok(Some(Attempt::Allowed { number }))
}

/// The attempt numbered `number` failed: when it was the last one allowed, the key is
/// locked (returns until when).
pub fn failed(
    conn: &mut DbConn,
    key: &str,
    number: i32,
    now: Micros,
    policy: Policy,
) -> StoreResult<Option<Micros>> {
    if number < policy.max_failures {
        return Ok(None);
    }
    lock(conn, key, now, policy).map(Some)
}

/// Locks `key` from `now`; its count starts again when the lock ends.
fn lock(conn: &mut DbConn, key: &str, now: Micros, policy: Policy) -> StoreResult<Micros> {
    let until = now + policy.lockout;
    diesel::update(t::table.find(key))
        .set((
            t::failures.eq(0),
            t::window_started_at.eq(until),
            t::locked_until.eq(Some(until)),
        ))
        .execute(conn)?;
    Ok(until)
}

/// Takes one attempt back from `key`'s count (an attempt that was not a failure).
pub fn uncount(conn: &mut DbConn, key: &str) -> StoreResult<()> {
    diesel::update(t::table.find(key).filter(t::failures.gt(0)))
        .set(t::failures.eq(t::failures - 1))
        .execute(conn)?;
    Ok(())
}

/// A successful login: the key's count starts again.
pub fn clear(conn: &mut DbConn, key: &str) -> StoreResult<()> {
    diesel::delete(t::table.find(key)).execute(conn)?;
    Ok(())
}

/// Removes the rows whose window (the longest of the policies', `window`) and lock are
/// over. Returns how many.
pub fn purge(conn: &mut DbConn, now: Micros, window: Micros) -> StoreResult<usize> {
    Ok(diesel::delete(
        t::table
            .filter(t::window_started_at.le(now - window))
            .filter(t::locked_until.is_null().or(t::locked_until.le(now))),
    )
    .execute(conn)?)
}
