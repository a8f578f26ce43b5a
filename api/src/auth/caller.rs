//! The authenticated caller of a request.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::TryFutureExt;
use liuqing_schema::audit::Actor;
use liuqing_schema::devices::DeviceState;
use liuqing_schema::domain::Permission;
use liuqing_schema::scope::Scope;
use liuqing_schema::sessions::{self, Principal};
use liuqing_schema::time::Micros;
use liuqing_schema::users::{self, Role};
use liuqing_schema::DbConn;
use liuqing_sync::narrowing::BirthDates;

use super::tokens::{Claims, TokenError};
use crate::error::ApiError;
use crate::state::AppState;

/// Who is calling: a user on a device in a live session. Only built by the extractor.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
    /// The name people know them by (the console shows it).
    pub display_name: String,
    pub role: Role,
    pub device_id: String,
    pub device_state: DeviceState,
    pub session_id: String,
    pub must_change_password: bool,
}

impl Caller {
    /// The server itself, as the author of what its upkeep writes to case files (tasks it
    /// raises): a station-level writer with no session, no device and no login.
    pub fn server() -> Caller {
        Caller {
            user_id: "server".into(),
            username: "server".into(),
            display_name: "系统".into(),
            role: Role::StationStaff,
            device_id: "server".into(),
            device_state: DeviceState::Active,
            session_id: String::new(),
            must_change_password: false,
        }
    }

    /// How much of a birth date this caller is shown: the whole date only to roles that
    /// may reveal the ID number it is part of.
    pub fn birth_dates(&self) -> BirthDates {
        if self.role.may(Permission::RevealIdentity) {
            BirthDates::Full
        } else {
            BirthDates::YearOnly
        }
    }

    /// Refuses callers whose role does not hold `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.may(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "forbidden_role",
                format!("the role `{}` may not {}", self.role, permission.describe()),
            ))
        }
    }

    /// Whether the caller's role holds `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.role.may(permission)
    }

    pub fn actor(&self) -> Actor<'_> {
        Actor {
            user_id: Some(&self.user_id),
            device_id: Some(&self.device_id),
        }
    }

    /// The caller as the author of writes to the case file.
    pub fn author(&self) -> liuqing_sync::writer::Author {
        liuqing_sync::writer::Author {
            user_id: self.user_id.clone(),
            device_id: self.device_id.clone(),
            role: self.role,
            retiring: self.device_state == DeviceState::Retiring,
        }
    }

    /// The part of the org tree this caller may see, for use inside the same unit of work.
    pub fn scope(&self, conn: &mut DbConn) -> Result<Scope, ApiError> {
        Ok(users::scope_for(conn, &self.user_id, self.role)?)
    }
}

/// The caller, also when they still have to change a one-time password (only the routes
/// that let them do so, and logout, take this).
#[derive(Debug, Clone)]
pub struct CallerAllowingPasswordChange(pub Caller);

fn unauthenticated(code: &'static str, detail: &str) -> ApiError {
    ApiError::Unauthenticated(code, detail.to_string())
}

async fn authenticate(req: HttpRequest) -> Result<Caller, ApiError> {
    let state = app_state(&req)?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            unauthenticated(
                "unauthenticated",
                "an `Authorization: Bearer` token is required",
            )
        })?;
    let claims = state.keys.verify(token).map_err(|e| match e {
        TokenError::Expired => {
            unauthenticated("token_expired", "the access token has expired; refresh it")
        }
        TokenError::Invalid => unauthenticated("invalid_token", "the access token is not valid"),
    })?;
    Ok(in_session(&state, &claims).await?.0)
}

pub(crate) fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))
}

/// The caller the verified `claims` name, if their session, device and account are all
/// still live (checked on every request, so logout and revocation end it at once), with
/// when the session started. The API's bearer tokens and the console's cookie both come
/// here.
pub(crate) async fn in_session(
    state: &AppState,
    claims: &Claims,
) -> Result<(Caller, Micros), ApiError> {
    let sid = claims.sid.clone();
    let principal: Option<Principal> = state
        .db
        .run(move |conn| Ok(sessions::principal(conn, &sid)?))
        .await?;
    let p = principal
        .ok_or_else(|| unauthenticated("invalid_token", "the access token is not valid"))?;
    // The claims must agree with the session they name.
    if p.user_id != claims.sub || p.device_id != claims.did {
        return Err(unauthenticated(
            "invalid_token",
            "the access token is not valid",
        ));
    }
    if p.device_state == DeviceState::Revoked {
        return Err(unauthenticated(
            "device_revoked",
            "this device has been revoked; wipe its local data",
        ));
    }
    if p.user_disabled {
        return Err(unauthenticated(
            "user_disabled",
            "this user account is disabled",
        ));
    }
    if p.session_revoked {
        return Err(unauthenticated(
            "session_revoked",
            "this session has ended; log in again",
        ));
    }
    let started = p.session_created_at;
    Ok((
        Caller {
            user_id: p.user_id,
            username: p.username,
            display_name: p.display_name,
            role: p.role,
            device_id: p.device_id,
            device_state: p.device_state,
            session_id: p.session_id,
            must_change_password: p.must_change_password,
        },
        started,
    ))
}

impl FromRequest for CallerAllowingPasswordChange {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()).map_ok(CallerAllowingPasswordChange))
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = authenticate(req).await?;
            if caller.must_change_password {
                return Err(ApiError::Forbidden(
                    "password_change_required",
                    "change the one-time password first (POST /v1/auth/password)".into(),
                ));
            }
            Ok(caller)
        })
    }
}
