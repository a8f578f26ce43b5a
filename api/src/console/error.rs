//! What a console page answers when it cannot show what was asked: the API's errors as a
//! page in Chinese, a login that is needed, a form that failed its CSRF check.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use maud::html;

use super::page;
use super::session::see_other;
use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: to the login page, then back to `next`.
    #[error("login needed")]
    LoginNeeded { next: Option<String>, expired: bool },
    /// The one-time password must be changed before anything else.
    #[error("password change needed")]
    PasswordChange,
    /// A form without its session's token, or posted from another origin.
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    #[error(transparent)]
    Api(#[from] ApiError),
}

pub type ConsoleResult = Result<HttpResponse, ConsoleError>;

/// The page's title for an API error's status.
fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "提交的内容有误",
        401 => "请重新登录",
        403 => "无权访问",
        404 => "找不到该页面或记录",
        409 => "当前状态下不能这样做",
        413 => "提交的内容过大",
        429 => "操作过于频繁，请稍后再试",
        503 => "服务暂时不可用，请稍后再试",
        _ => "系统出错了",
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::LoginNeeded { .. } | ConsoleError::PasswordChange => {
                StatusCode::SEE_OTHER
            }
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::LoginNeeded { next, expired } => {
                let mut to = "/console/login".to_string();
                let mut query = form_urlencoded::Serializer::new(String::new());
                if let Some(next) = next {
                    query.append_pair("next", next);
                }
                if *expired {
                    query.append_pair("expired", "1");
                }
                let query = query.finish();
                if !query.is_empty() {
                    to = format!("{to}?{query}");
                }
                see_other(&to)
            }
            ConsoleError::PasswordChange => see_other("/console/password"),
            ConsoleError::Csrf => page::error_page(
                StatusCode::FORBIDDEN,
                "表单已失效",
                html! { p { "这个表单不是从本系统的页面提交的，或页面已过期。请返回上一页，刷新后重新提交。" } },
            ),
            ConsoleError::Api(e) => {
                let status = e.status_code();
                if status.is_server_error() {
                    tracing::error!(error = %e, "console page failed");
                }
                let detail = match e {
                    ApiError::Validation(errors) => html! {
                        ul { @for f in errors { li { code { (f.field) } "：" (f.reason) } } }
                    },
                    ApiError::RulesUnmet { unmet, .. } => html! {
                        p { "还缺少：" }
                        ul { @for u in unmet { li { (u.reason) } } }
                    },
                    e if status.is_server_error() => html! {
                        p { "请稍后再试；如果问题仍然存在，请联系系统管理员。" }
                        @let _ = e;
                    },
                    e => html! { p.detail { (e.to_string()) } },
                };
                page::error_page(status, title(status), detail)
            }
        }
    }
}
