//! Logging in and out of the console, and changing one's password.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::error::{ConsoleError, ConsoleResult};
use super::page::{self, Section};
use super::session::{
    self, browser_cookie, check_origin, check_token, cookie, removal, safe_next, state_of, Console,
    Posted, LOGIN_COOKIE, SESSION_COOKIE,
};
use crate::auth::login::{sign_in, Credentials, LoginDevice};
use crate::auth::password::{MAX_LEN, MIN_LEN};
use crate::auth::{throttling, Caller};
use crate::error::ApiError;
use crate::routes::auth::{change_password_in, end_session, ChangePasswordRequest};

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    bye: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// What the login page says above the form.
enum Notice<'a> {
    None,
    Expired,
    LoggedOut,
    Refused(&'a str),
}

fn login_page(csrf: &str, next: Option<&str>, username: &str, notice: Notice<'_>) -> Markup {
    page::document(
        "登录",
        html! {
            main.login #main {
                h1 { "六清 · 就业援助工作台" }
                @match notice {
                    Notice::None => {},
                    Notice::Expired => p.notice role="status" { "登录已超时，请重新登录。" },
                    Notice::LoggedOut => p.notice role="status" { "已安全退出。" },
                    Notice::Refused(why) => p.error role="alert" { (why) },
                }
                form method="post" action="/console/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    @if let Some(next) = next { input type="hidden" name="next" value=(next); }
                    label { "用户名" input name="username" autocomplete="username" required autofocus maxlength="64" value=(username); }
                    label { "密码" input name="password" type="password" autocomplete="current-password" required maxlength="256"; }
                    button type="submit" { "登录" }
                }
                p.hint { "与手机端使用同一账户。" }
            }
        },
    )
}

/// `GET /console/login`.
pub async fn form(req: HttpRequest, query: web::Query<LoginQuery>) -> ConsoleResult {
    let state = state_of(&req)?;
    let secure = session::secure(&state, &req);
    let token = session::random_hex();
    let q = query.into_inner();
    let notice = if q.bye.is_some() {
        Notice::LoggedOut
    } else if q.expired.is_some() {
        Notice::Expired
    } else {
        Notice::None
    };
    let next = q.next.as_deref().and_then(safe_next);
    let mut res = html_response(StatusCode::OK, login_page(&token, next, "", notice));
    let _ = res.add_cookie(&cookie(LOGIN_COOKIE, token, secure));
    if let (_, Some(new)) = browser_cookie(&req, secure) {
        let _ = res.add_cookie(&new);
    }
    Ok(res)
}

fn html_response(status: StatusCode, page: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

/// The console's device for this browser and user: one per pair, so a shared desktop is a
/// device of each user who logs in on it.
fn device_id(browser: &str, username: &str) -> String {
    let digest = Sha256::digest(format!(
        "console device\0{browser}\0{}",
        username.to_lowercase()
    ));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// `POST /console/login`.
pub async fn submit(req: HttpRequest, Posted(body): Posted) -> ConsoleResult {
    let state = state_of(&req)?;
    check_origin(&req)?;
    let expected = req
        .cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    check_token(&body, &expected)?;
    let form: LoginForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| ApiError::BadRequest(format!("form: {e}")))?;
    let secure = session::secure(&state, &req);
    let (browser, new_browser) = browser_cookie(&req, secure);
    let next = form
        .next
        .as_deref()
        .and_then(safe_next)
        .unwrap_or("/console/")
        .to_string();
    let who = Credentials {
        source: throttling::source_address(&req, state.config.trusted_proxy),
        username: form.username.clone(),
        password: form.password,
    };
    let device = LoginDevice {
        id: device_id(&browser, &form.username),
        name: "工作台（浏览器）".into(),
        platform: "web".into(),
    };
    let keys = state.console_keys.clone();
    let signed = sign_in(&state, who, device, move |_, started| {
        Ok(keys.issue(&started.user.id, started.session_id, &started.device.id)?)
    })
    .await;
    let refused = |why: &str, status| {
        let mut res = html_response(
            status,
            login_page(&expected, Some(&next), &form.username, Notice::Refused(why)),
        );
        if let Some(new) = &new_browser {
            let _ = res.add_cookie(new);
        }
        Ok(res)
    };
    match signed {
        Ok(token) => {
            let mut res = session::see_other(&next);
            let _ = res.add_cookie(&cookie(SESSION_COOKIE, token, secure));
            let _ = res.add_cookie(&removal(LOGIN_COOKIE, secure));
            if let Some(new) = &new_browser {
                let _ = res.add_cookie(new);
            }
            Ok(res)
        }
        Err(ApiError::Unauthenticated(..)) => {
            refused("用户名或密码错误。", StatusCode::UNAUTHORIZED)
        }
        Err(ApiError::TooManyRequests { retry_after_secs }) => refused(
            &format!(
                "尝试次数过多，请 {} 分钟后再试。",
                retry_after_secs.div_ceil(60)
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(ApiError::LoginBusy { .. }) => {
            refused("登录的人太多，请稍后再试。", StatusCode::TOO_MANY_REQUESTS)
        }
        Err(ApiError::Forbidden("device_revoked", _)) => refused(
            "这个浏览器已被管理员停用，请换一台电脑或联系管理员。",
            StatusCode::FORBIDDEN,
        ),
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/logout`: ends the session (as the API's logout does) and forgets it.
pub async fn logout(req: HttpRequest, console: Console, Posted(body): Posted) -> ConsoleResult {
    check_token(&body, &console.csrf)?;
    let state = state_of(&req)?;
    let caller = console.caller.clone();
    state
        .db
        .transaction(move |conn| end_session(conn, &caller))
        .await?;
    let mut res = session::see_other("/console/login?bye=1");
    let _ = res.add_cookie(&removal(SESSION_COOKIE, session::secure(&state, &req)));
    Ok(res)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

fn password_page(c: &Console, error: Option<&str>, done: bool) -> Markup {
    page::shell(
        c,
        Section::Account,
        "修改密码",
        html! {
            @if c.caller.must_change_password {
                p.notice role="status" { "这是管理员给的一次性密码，请先设置自己的密码。" }
            }
            @if done { p.notice role="status" { "密码已修改。其他设备上的登录已结束。" } }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form.narrow method="post" action="/console/password" {
                input type="hidden" name="csrf" value=(c.csrf);
                label { "当前密码" input name="current_password" type="password" autocomplete="current-password" required; }
                label { "新密码" input name="new_password" type="password" autocomplete="new-password" required minlength=(MIN_LEN) maxlength=(MAX_LEN); }
                label { "再输入一次新密码" input name="confirm_password" type="password" autocomplete="new-password" required minlength=(MIN_LEN) maxlength=(MAX_LEN); }
                p.hint { "新密码至少 " (MIN_LEN) " 个字符。" }
                button type="submit" { "修改密码" }
            }
        },
    )
}

/// `GET /console/password`.
pub async fn password_form(console: Console) -> ConsoleResult {
    Ok(console.html(password_page(&console, None, false)))
}

/// `POST /console/password`.
pub async fn change_password(
    req: HttpRequest,
    console: Console,
    Posted(body): Posted,
) -> ConsoleResult {
    let form: PasswordForm = console.form(&body)?;
    if form.new_password != form.confirm_password {
        return Ok(console.html(password_page(
            &console,
            Some("两次输入的新密码不一致。"),
            false,
        )));
    }
    let state = state_of(&req)?;
    let caller: Caller = console.caller.clone();
    let changed = state
        .db
        .run(move |conn| {
            change_password_in(
                conn,
                &caller,
                &ChangePasswordRequest {
                    current_password: form.current_password,
                    new_password: form.new_password,
                },
            )
        })
        .await;
    match changed {
        Ok(()) => {
            let mut console = console;
            console.caller.must_change_password = false;
            Ok(console.html(password_page(&console, None, true)))
        }
        Err(ApiError::Validation(errors)) => {
            let why = errors
                .iter()
                .map(|e| match e.field.as_str() {
                    "current_password" => "当前密码不正确。".to_string(),
                    _ if e.reason.contains("differ") => "新密码不能与当前密码相同。".to_string(),
                    _ => format!("新密码需要 {MIN_LEN} 到 {MAX_LEN} 个字符。"),
                })
                .collect::<Vec<_>>()
                .join(" ");
            Ok(console.html(password_page(&console, Some(&why), false)))
        }
        Err(e) => Err(ConsoleError::Api(e)),
    }
}
