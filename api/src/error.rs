//! The API's one error type and its mapping to HTTP: every error leaves the server as
//! `application/problem+json` (RFC 9457) with a stable machine `code`. 5xx bodies carry no
//! internal text; the log carries the cause and the request id.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use liuqing_schema::domain::gates::Unmet;
use liuqing_schema::entities::Entity;
use liuqing_schema::time::{now_micros, Micros};
use liuqing_schema::StoreError;
use liuqing_sync::protocol::{MutationResult, Reason};
use liuqing_sync::writer::PushError;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field that failed validation, by its path in the request (`device.id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid: {0}")]
    BadRequest(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("{1}")]
    Unauthenticated(&'static str, String),
    #[error("{1}")]
    Forbidden(&'static str, String),
    #[error("not found")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{1}")]
    Conflict(&'static str, String),
    /// The guide's rules refuse the action: every unmet rule is listed (`unmet`).
    #[error("{action} needs what the application does not have: {}", summary(.unmet))]
    RulesUnmet { action: String, unmet: Vec<Unmet> },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The body did not arrive in time.
    #[error("the request body did not arrive within {secs} s")]
    RequestTimeout { secs: u64 },
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// Too many logins wait for the password hasher: try again shortly.
    #[error("too many logins at once; try again in {retry_after_secs} seconds")]
    LoginBusy { retry_after_secs: u64 },
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    UpgradeRequired(String),
    #[error("the service is not ready: {0}")]
    Unavailable(String),
    /// The database could not be reached, or dropped the connection: a 503 like
    /// `Unavailable`, its cause logged but not shown.
    #[error("the database is unavailable: {0}")]
    DatabaseUnavailable(StoreError),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

/// Unmet rules in one line, for the problem's `detail`.
fn summary(unmet: &[Unmet]) -> String {
    unmet
        .iter()
        .map(|u| match u.category {
            Some(c) => format!("{c}: {}", u.reason),
            None => u.reason.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        ApiError::Validation(vec![FieldError::new(field, reason)])
    }

    /// The HTTP problem for a mutation the engine rejected (a staff edit through REST):
    /// each rejection reason has one status and code.
    pub fn rejected(entity: Entity, result: &MutationResult) -> ApiError {
        let errors: Vec<FieldError> = result
            .errors
            .iter()
            .map(|e| FieldError::new(e.field.clone(), e.reason.clone()))
            .collect();
        let detail = || {
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect::<Vec<_>>()
                .join("; ")
        };
        match result.reason {
            Some(Reason::UnknownRecord) => ApiError::not_found(entity.to_string()),
            Some(Reason::Forbidden) => ApiError::Forbidden("forbidden", detail()),
            Some(
                reason @ (Reason::DuplicatePerson
                | Reason::Deleted
                | Reason::AppendOnly
                | Reason::HasChildren),
            ) => ApiError::Conflict(reason.as_str(), detail()),
            Some(Reason::Invalid | Reason::UnknownParent) | None => ApiError::Validation(errors),
        }
    }

    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::NotFound(what.into())
    }

    /// The stable machine code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Validation(_) => "validation_failed",
            ApiError::Unauthenticated(code, _) => code,
            ApiError::Forbidden(code, _) => code,
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(code, _) => code,
            ApiError::RulesUnmet { .. } => "rules_unmet",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RequestTimeout { .. } => "request_timeout",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::LoginBusy { .. } => "login_busy",
            ApiError::Gone(_) => "cursor_expired",
            ApiError::UpgradeRequired(_) => "unsupported_schema_version",
            ApiError::Unavailable(_) | ApiError::DatabaseUnavailable(_) => "not_ready",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "Bad request",
            ApiError::Validation(_) => "Validation failed",
            ApiError::Unauthenticated(..) => "Not authenticated",
            ApiError::Forbidden(..) => "Forbidden",
            ApiError::NotFound(_) => "Not found",
            ApiError::MethodNotAllowed => "Method not allowed",
            ApiError::Conflict(..) | ApiError::RulesUnmet { .. } => "Conflict",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::RequestTimeout { .. } => "Request timeout",
            ApiError::UnsupportedMediaType(_) => "Unsupported media type",
            ApiError::TooManyRequests { .. } | ApiError::LoginBusy { .. } => "Too many requests",
            ApiError::Gone(_) => "Gone",
            ApiError::UpgradeRequired(_) => "Upgrade required",
            ApiError::Unavailable(_) | ApiError::DatabaseUnavailable(_) => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::NotFound(what) => format!("{what} was not found"),
            ApiError::UnsupportedMediaType(detail) => detail.clone(),
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("too many failed attempts; try again in {retry_after_secs} seconds")
            }
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.reason))
                .collect::<Vec<_>>()
                .join("; "),
            // Never show internal causes to the client.
            ApiError::Internal(_) => "an internal error occurred; quote the request id".into(),
            ApiError::DatabaseUnavailable(_) => "the database is unavailable; try again".into(),
            other => other.to_string(),
        }
    }
}

/// The problem document (RFC 9457) with Liuqing's extension members.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The rules an action does not meet (`rules_unmet`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unmet: Vec<Unmet>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            type_: format!("https://liuqing.invalid/problems/{code}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.into(),
            errors: Vec::new(),
            unmet: Vec::new(),
        }
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
            .json(self)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthenticated(..) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(..) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(..) | ApiError::RulesUnmet { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } | ApiError::LoginBusy { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            ApiError::Unavailable(_) | ApiError::DatabaseUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // The chain goes to the log (with the request id from the span), not the client.
            tracing::error!(error = ?self, "request failed");
        }
        let mut problem = Problem::new(status, self.code(), self.title(), self.detail());
        match self {
            ApiError::Validation(errors) => problem.errors = errors.clone(),
            ApiError::RulesUnmet { unmet, .. } => problem.unmet = unmet.clone(),
            _ => {}
        }
        let mut response = problem.response();
        match self {
            ApiError::TooManyRequests { retry_after_secs }
            | ApiError::LoginBusy { retry_after_secs } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            ApiError::Unauthenticated(..) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"liuqing\""),
                );
            }
            // The rest of a body that stalled may never come: the connection is done.
            ApiError::RequestTimeout { .. } => response
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close),
            _ => {}
        }
        response
    }
}

impl ApiError {
    /// Refused until `until`: 429 with the seconds left (at least one).
    pub fn too_many(until: Micros, now: Micros) -> ApiError {
        let secs = ((until - now) / 1_000_000).max(1) as u64;
        ApiError::TooManyRequests {
            retry_after_secs: secs,
        }
    }
}

impl From<PushError> for ApiError {
    fn from(e: PushError) -> Self {
        match e {
            PushError::Store(e) => e.into(),
            PushError::Exhausted(spent) => ApiError::too_many(spent.until, now_micros()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            return ApiError::DatabaseUnavailable(e);
        }
        ApiError::Internal(anyhow::Error::new(e))
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut out = Vec::new();
        flatten_validation("", &errors, &mut out);
        out.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::Validation(out)
    }
}

fn flatten_validation(
    prefix: &str,
    errors: &validator::ValidationErrors,
    out: &mut Vec<FieldError>,
) {
    use validator::ValidationErrorsKind;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let reason = e
                        .message
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| e.code.to_string());
                    out.push(FieldError::new(path.clone(), reason));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten_validation(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten_validation(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that cannot be reached is a state to retry, not a bug: 503 `not_ready`.
    #[test]
    fn an_unreachable_database_is_a_503_and_other_store_errors_a_500() {
        let lost = StoreError::Connect(diesel::ConnectionError::BadConnection("gone".into()));
        let e = ApiError::from(lost);
        assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.code(), "not_ready");
        // The cause goes to the log, not to the client.
        assert!(!e.detail().contains("gone"), "{}", e.detail());
        let closed = StoreError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ClosedConnection,
            Box::new("closed".to_string()),
        ));
        assert_eq!(
            ApiError::from(closed).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let corrupt = StoreError::Corrupt {
            column: "records.data",
            value: "x".into(),
        };
        assert_eq!(
            ApiError::from(corrupt).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
