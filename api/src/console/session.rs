//! Console sessions: a login from the console is a session on a device of platform `web`,
//! started by the same sign-in as a phone's (`auth::login`). The browser holds it in an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` over HTTPS) carrying a token signed
//! for the console alone, which expires after `console_idle_minutes` and is renewed by
//! every page; the session is checked against the database on every request, exactly as a
//! bearer token is, so logout and revocation end it at once. Nothing is kept in the
//! browser's storage.
//!
//! Every form carries a CSRF token bound to the session (a keyed hash of its id), checked
//! before the form is read; the login form, before there is a session, carries the value of
//! a cookie of its own. Posts from another origin are refused outright.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{time::Duration, Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use liuqing_schema::time::{now_micros, seconds};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::error::ConsoleError;
use crate::auth::caller::{app_state, in_session};
use crate::auth::tokens::TokenError;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::FormBody;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "lq_session";
/// The login form's CSRF value, before there is a session.
pub const LOGIN_COOKIE: &str = "lq_login";
/// A random name for this browser: with the username it makes the console's device id, so
/// one browser is one device per user, and two users of one station desktop are two.
pub const BROWSER_COOKIE: &str = "lq_browser";
/// Where the console's cookies are sent (and nowhere else on the server).
pub const COOKIE_PATH: &str = "/console";

/// A signed-in console user, on this request: the caller (the same as the API's, so every
/// page is held to the API's roles and scope) and what a page needs to stay signed in.
pub struct Console {
    pub caller: Caller,
    /// The token every form of this session carries.
    pub csrf: String,
    renewed: Cookie<'static>,
}

impl Console {
    /// An HTML page, renewing the session's idle deadline.
    pub fn html(&self, page: maud::Markup) -> HttpResponse {
        let mut res = HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page.into_string());
        let _ = res.add_cookie(&self.renewed);
        res
    }

    /// 303 to another console page (after a form), renewing the session.
    pub fn see_other(&self, location: &str) -> HttpResponse {
        let mut res = see_other(location);
        let _ = res.add_cookie(&self.renewed);
        res
    }

    /// Reads a posted form after checking its CSRF token.
    pub fn form<T: DeserializeOwned>(&self, body: &[u8]) -> Result<T, ConsoleError> {
        check_token(body, &self.csrf)?;
        serde_urlencoded::from_bytes(body)
            .map_err(|e| ConsoleError::Api(ApiError::BadRequest(format!("form: {e}"))))
    }
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

/// The token a session's forms carry: a keyed hash of the session id, so it cannot be
/// made without the server's key, and ends with the session.
pub fn csrf_token(state: &AppState, session_id: &str) -> String {
    state
        .cipher
        .lookup_hash(&format!("console csrf\0{session_id}"))
}

#[derive(Deserialize)]
struct Token {
    csrf: Option<String>,
}

/// The form's `csrf` field equals `expected` (compared in constant time).
pub fn check_token(body: &[u8], expected: &str) -> Result<(), ConsoleError> {
    let sent: Token = serde_urlencoded::from_bytes(body).map_err(|_| ConsoleError::Csrf)?;
    let sent = sent.csrf.unwrap_or_default();
    if expected.is_empty() || !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(ConsoleError::Csrf);
    }
    Ok(())
}

/// Whether the console's cookies are marked `Secure` for this request.
pub fn secure(state: &AppState, req: &HttpRequest) -> bool {
    state.config.console_secure_cookies
        || (state.config.trusted_proxy && req.connection_info().scheme() == "https")
}

pub fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .finish()
}

/// A cookie that removes `name` from the browser.
pub fn removal(name: &'static str, secure: bool) -> Cookie<'static> {
    let mut c = cookie(name, String::new(), secure);
    c.make_removal();
    c
}

/// The session cookie for a session just started or renewed.
pub fn session_cookie(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
) -> Result<Cookie<'static>, ApiError> {
    let token = state
        .console_keys
        .issue(&caller.user_id, &caller.session_id, &caller.device_id)?;
    Ok(cookie(SESSION_COOKIE, token, secure(state, req)))
}

/// This browser's name, made on its first login page.
pub fn browser_cookie(req: &HttpRequest, secure: bool) -> (String, Option<Cookie<'static>>) {
    match req.cookie(BROWSER_COOKIE) {
        Some(c) if c.value().len() == 32 && c.value().bytes().all(|b| b.is_ascii_hexdigit()) => {
            (c.value().to_string(), None)
        }
        _ => {
            let value = random_hex();
            let mut c = cookie(BROWSER_COOKIE, value.clone(), secure);
            c.set_max_age(Duration::days(400));
            (value, Some(c))
        }
    }
}

pub fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A console page's path to come back to after logging in: only a console path, never a
/// URL elsewhere (no open redirect).
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with("/console/")
        && !next.contains("//")
        && !next.contains('\\')
        && next.len() <= 512
        && next.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(next)
}

/// A post from a page of another origin (a browser always says where a post comes from)
/// is refused before anything else, whatever it carries.
fn foreign_post(req: &HttpRequest) -> bool {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return false;
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return false;
    };
    let host = req.connection_info().host().to_string();
    let origin = origin.to_str().unwrap_or_default();
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    origin_host != host
}

fn login_needed(req: &HttpRequest, expired: bool) -> ConsoleError {
    let here = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let next = if req.method() == Method::GET {
        safe_next(&here).map(str::to_string)
    } else {
        None
    };
    ConsoleError::LoginNeeded { next, expired }
}

async fn console(req: HttpRequest) -> Result<Console, ConsoleError> {
    let state = app_state(&req)?;
    if foreign_post(&req) {
        return Err(ConsoleError::Csrf);
    }
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Err(login_needed(&req, false));
    };
    let claims = match state.console_keys.verify(cookie.value()) {
        Ok(claims) => claims,
        Err(TokenError::Expired) => return Err(login_needed(&req, true)),
        Err(TokenError::Invalid) => return Err(login_needed(&req, false)),
    };
    let (caller, started) = match in_session(&state, &claims).await {
        Ok(found) => found,
        Err(ApiError::Unauthenticated(..)) => return Err(login_needed(&req, true)),
        Err(e) => return Err(e.into()),
    };
    let longest = seconds(i64::from(state.config.console_session_hours) * 3600);
    if now_micros() - started > longest {
        return Err(login_needed(&req, true));
    }
    if caller.must_change_password && req.path() != "/console/password" {
        return Err(ConsoleError::PasswordChange);
    }
    let renewed = session_cookie(&state, &req, &caller)?;
    Ok(Console {
        csrf: csrf_token(&state, &caller.session_id),
        caller,
        renewed,
    })
}

impl FromRequest for Console {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(console(req.clone()))
    }
}

/// A posted form's body ([`FormBody`]: limited in size and in time to arrive), whose
/// refusals are console pages.
pub struct Posted(pub web::Bytes);

impl FromRequest for Posted {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = FormBody::from_request(req, payload);
        Box::pin(async move { Ok(Posted(body.await?.0)) })
    }
}

/// The app state, for handlers that run before there is a session.
pub fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ConsoleError> {
    Ok(app_state(req)?)
}

/// Refuses a login form posted from another origin.
pub fn check_origin(req: &HttpRequest) -> Result<(), ConsoleError> {
    if foreign_post(req) {
        return Err(ConsoleError::Csrf);
    }
    Ok(())
}
