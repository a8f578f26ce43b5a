//! Login sessions and their refresh-token families.
//!
//! A session is one login on one device. Each refresh spends the presented token and issues
//! the next one in the same family. Presenting a spent token means it was copied: the whole
//! session is revoked, so neither the thief nor the owner can go on with it.

use diesel::prelude::*;

use crate::devices::DeviceState;
use crate::error::StoreResult;
use crate::tables::{devices, refresh_tokens, sessions, users};
use crate::time::{now_micros, Micros};
use crate::users::Role;
use crate::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub device_id: String,
    pub created_at: Micros,
    pub revoked_at: Option<Micros>,
    pub revoked_reason: Option<String>,
}

pub fn create(conn: &mut DbConn, id: &str, user_id: &str, device_id: &str) -> StoreResult<()> {
    diesel::insert_into(sessions::table)
        .values(&Session {
            id: id.to_string(),
            user_id: user_id.to_string(),
            device_id: device_id.to_string(),
            created_at: now_micros(),
            revoked_at: None,
            revoked_reason: None,
        })
        .execute(conn)?;
    Ok(())
}

pub fn add_refresh_token(
    conn: &mut DbConn,
    session_id: &str,
    token_hash: &str,
    expires_at: Micros,
) -> StoreResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::issued_at.eq(now_micros()),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// What presenting a refresh token amounts to.
#[derive(Debug, PartialEq, Eq)]
pub enum Spend {
    /// The token was live and is now spent; issue the next one for this session.
    Fresh {
        session_id: String,
        user_id: String,
        device_id: String,
    },
    Unknown,
    Expired,
    /// The session was already revoked (logout, reuse, device revoked, password reset).
    Revoked,
    /// The token had been spent before: the session is now revoked.
    Reused,
    DeviceRevoked,
    UserDisabled,
}

/// Spends a refresh token. Run it inside a transaction with the issuing of the next token.
pub fn spend_refresh_token(conn: &mut DbConn, token_hash: &str) -> StoreResult<Spend> {
    let now = now_micros();
    let found: Option<(Micros, Option<Micros>, Session, DeviceState, bool)> = refresh_tokens::table
        .inner_join(
            sessions::table
                .inner_join(devices::table)
                .inner_join(users::table),
        )
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            Session::as_select(),
            devices::state,
            users::disabled,
        ))
        .first(conn)
        .optional()?;
    let Some((expires_at, used_at, session, device_state, disabled)) = found else {
        return Ok(Spend::Unknown);
    };
    if session.revoked_at.is_some() {
        return Ok(Spend::Revoked);
    }
    if used_at.is_some() {
        revoke(conn, Sessions::One(&session.id), "refresh_token_reused")?;
        return Ok(Spend::Reused);
    }
    if device_state == DeviceState::Revoked {
        return Ok(Spend::DeviceRevoked);
    }
    if disabled {
        return Ok(Spend::UserDisabled);
    }
    if expires_at <= now {
        return Ok(Spend::Expired);
    }
    // Only one of two racing refreshes with the same token may spend it.
    let spent = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    if spent != 1 {
        revoke(conn, Sessions::One(&session.id), "refresh_token_reused")?;
        return Ok(Spend::Reused);
    }
    Ok(Spend::Fresh {
        session_id: session.id,
        user_id: session.user_id,
        device_id: session.device_id,
    })
}

/// Which live sessions to end.
#[derive(Debug, Clone, Copy)]
pub enum Sessions<'a> {
    One(&'a str),
    OfUser(&'a str),
    /// Every session of the user but the one they are using (after a password change).
    OfUserExcept {
        user_id: &'a str,
        keep: &'a str,
    },
    /// Every session on a device (when it is revoked).
    OnDevice(&'a str),
}

/// Ends the chosen sessions that are still live; the reason is kept for the audit trail.
pub fn revoke(conn: &mut DbConn, which: Sessions<'_>, reason: &str) -> StoreResult<()> {
    let live = sessions::table
        .filter(sessions::revoked_at.is_null())
        .into_boxed();
    let chosen = match which {
        Sessions::One(id) => live.filter(sessions::id.eq(id)),
        Sessions::OfUser(user) => live.filter(sessions::user_id.eq(user)),
        Sessions::OfUserExcept { user_id, keep } => live
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep)),
        Sessions::OnDevice(device) => live.filter(sessions::device_id.eq(device)),
    };
    let ids: Vec<String> = chosen.select(sessions::id).load(conn)?;
    diesel::update(sessions::table.filter(sessions::id.eq_any(&ids)))
        .set((
            sessions::revoked_at.eq(now_micros()),
            sessions::revoked_reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}

/// Everything a request needs to know about its access token's session, in one indexed
/// query: checked on every request so that revocation takes effect at once.
#[derive(Debug, Clone)]
pub struct Principal {
    pub session_id: String,
    pub session_revoked: bool,
    pub session_created_at: Micros,
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub must_change_password: bool,
    pub user_disabled: bool,
    pub device_id: String,
    pub device_state: DeviceState,
}

pub fn principal(conn: &mut DbConn, session_id: &str) -> StoreResult<Option<Principal>> {
    let row: Option<(Session, String, String, Role, bool, bool, DeviceState)> = sessions::table
        .inner_join(users::table)
        .inner_join(devices::table)
        .filter(sessions::id.eq(session_id))
        .select((
            Session::as_select(),
            users::username,
            users::display_name,
            users::role,
            users::must_change_password,
            users::disabled,
            devices::state,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(
            session,
            username,
            display_name,
            role,
            must_change_password,
            user_disabled,
            device_state,
        )| Principal {
            session_revoked: session.revoked_at.is_some(),
            session_created_at: session.created_at,
            session_id: session.id,
            user_id: session.user_id,
            username,
            display_name,
            role,
            must_change_password,
            user_disabled,
            device_id: session.device_id,
            device_state,
        },
    ))
}
