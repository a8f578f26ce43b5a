//! Signing in: the one way a session starts, for a phone (`POST /v1/auth/login`) and for
//! the console's login form alike. The attempt is counted before the password is checked
//! (see [`super::throttling`]), and the check waits for the hasher only behind a bounded
//! number of others.

use actix_web::web;
use liuqing_schema::audit::{self, Actor};
use liuqing_schema::devices::{self, Device, DeviceState};
use liuqing_schema::sessions;
use liuqing_schema::time::now_micros;
use liuqing_schema::users::{self, User};
use liuqing_schema::DbConn;

use super::password;
use super::throttling::LoginGuard;
use crate::error::ApiError;
use crate::state::AppState;

/// What a login says of the device it comes from.
#[derive(Debug, Clone)]
pub struct LoginDevice {
    pub id: String,
    pub name: String,
    pub platform: String,
}

/// Someone who asks to sign in: the name and password they typed, from where.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// The source address the throttle counts (`throttling::source_address`).
    pub source: String,
}

/// A session just started: for whom, on which device.
pub struct Started<'a> {
    pub session_id: &'a str,
    pub user: &'a User,
    pub device: &'a Device,
}

/// Checks the credentials and starts a session on the device; `issue` makes what the
/// caller hands back (tokens, a cookie) in the same transaction as the session.
pub async fn sign_in<T, F>(
    state: &AppState,
    who: Credentials,
    device: LoginDevice,
    issue: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, Started<'_>) -> Result<T, ApiError> + Send + 'static,
{
    let config = state.config.clone();
    let guard = LoginGuard::new(&config, &state.cipher, &who.username, &who.source);
    let now = now_micros();
    // Three steps, so that no database connection is held while the password waits for
    // the hasher: a flood of logins must not take the pool from everyone else.
    let (counted, user) = {
        let (guard, username) = (guard.clone(), who.username.clone());
        state
            .db
            .run(move |conn| {
                let counted = guard.begin(conn, now)?;
                Ok((counted, users::find_by_username(conn, &username)?))
            })
            .await?
    };
    let verdict = {
        let (password, phc) = (
            who.password.clone(),
            user.as_ref().map(|u| u.password_hash.clone()),
        );
        let limit = config.login_max_waiting;
        web::block(move || password::verify_login(&password, phc.as_deref(), limit))
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("password check failed: {e}")))?
    };
    state
        .db
        .run(move |conn| {
            let Ok(valid) = verdict else {
                guard.not_tried(conn)?;
                return Err(ApiError::LoginBusy {
                    retry_after_secs: 1,
                });
            };
            let user = match user {
                Some(u) if valid && !u.disabled => u,
                _ => return Err(guard.failed(conn, counted, now)),
            };
            crate::db::transaction(conn, |conn| {
                guard.succeeded(conn)?;
                if let Some(existing) = devices::find(conn, &device.id)? {
                    if existing.user_id != user.id {
                        return Err(ApiError::Conflict(
                            "device_belongs_to_another_user",
                            "this device is registered to another user; reinstall the app to get a new device id".into(),
                        ));
                    }
                    if existing.state == DeviceState::Revoked {
                        return Err(ApiError::Forbidden(
                            "device_revoked",
                            "this device has been revoked; wipe its local data".into(),
                        ));
                    }
                }
                let device =
                    devices::register(conn, &device.id, &user.id, &device.name, &device.platform)?;
                let session_id = uuid::Uuid::now_v7().to_string();
                sessions::create(conn, &session_id, &user.id, &device.id)?;
                audit::record(
                    conn,
                    Actor { user_id: Some(&user.id), device_id: Some(&device.id) },
                    "login",
                    "session",
                    &session_id,
                    None,
                    None,
                )?;
                issue(conn, Started { session_id: &session_id, user: &user, device: &device })
            })
        })
        .await
}
