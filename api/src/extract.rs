//! Request extractors whose failures are problems naming the field: a JSON body read under
//! the size limit, deserialised with the path of any bad field, then validated.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::Validate;

use crate::error::{ApiError, FieldError};

/// The body limits, registered as app data by the server builder.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest JSON body of an authenticated route.
    pub json: usize,
    /// Largest JSON body of a route that needs no login ([`PublicBody`]).
    pub public: usize,
    /// How long a body may take to arrive, whole.
    pub read_timeout: std::time::Duration,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            json: 64 * 1024,
            public: 4 * 1024,
            read_timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// A JSON request body that deserialised and passed its `validator` rules, read under
/// the size limit and the read timeout. `PUBLIC` bodies (routes that need no login) get
/// the small limit: a stranger's body is held before anything about them is known.
#[derive(Debug)]
pub struct Body<T, const PUBLIC: bool = false>(pub T);

/// The body of a route that needs no login (login, refresh): `Body(req): PublicBody<T>`.
pub type PublicBody<T> = Body<T, true>;

impl<T, const PUBLIC: bool> FromRequest for Body<T, PUBLIC>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limits = req
            .app_data::<web::Data<BodyLimits>>()
            .map(|l| *l.get_ref())
            .unwrap_or_default();
        let limit = if PUBLIC { limits.public } else { limits.json };
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let mime = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType(
                    "the body must be JSON (Content-Type: application/json)".into(),
                ));
            }
            let body = read_body(&mut payload, declared, limit, limits.read_timeout).await?;
            if has_nul_escape(&body) {
                // PostgreSQL cannot store NUL in text; no real text has one.
                return Err(ApiError::validation(
                    "body",
                    "text must not contain NUL characters (\\u0000)",
                ));
            }
            let value = parse_json::<T>(&body)?;
            value.validate()?;
            Ok(Body(value))
        })
    }
}

/// Reads a whole body under `limit` bytes within `timeout` (a body still arriving then is
/// a 408, and its connection is closed).
async fn read_body(
    payload: &mut Payload,
    declared: Option<usize>,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<web::BytesMut, ApiError> {
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let read = async {
        let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::BadRequest(format!("reading the body: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| ApiError::RequestTimeout {
            secs: timeout.as_secs(),
        })?
}

/// The largest form a console page posts.
pub const FORM_LIMIT: usize = 64 * 1024;

/// A posted HTML form's body (`application/x-www-form-urlencoded`), read whole under
/// [`FORM_LIMIT`] and the read timeout; the console checks its CSRF token, then reads it.
#[derive(Debug)]
pub struct FormBody(pub web::Bytes);

impl FromRequest for FormBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limits = req
            .app_data::<web::Data<BodyLimits>>()
            .map(|l| *l.get_ref())
            .unwrap_or_default();
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_form {
                return Err(ApiError::UnsupportedMediaType(
                    "the body must be a form (application/x-www-form-urlencoded)".into(),
                ));
            }
            let body = read_body(&mut payload, declared, FORM_LIMIT, limits.read_timeout).await?;
            Ok(FormBody(body.freeze()))
        })
    }
}

/// Whether a JSON text holds the escape `\u0000` (a NUL inside a string): a `\` that
/// starts an escape is one preceded by an even number of backslashes.
fn has_nul_escape(json: &[u8]) -> bool {
    memchr::memmem::find_iter(json, b"\\u0000")
        .any(|i| json[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0)
}

/// Deserialises JSON; a wrong or missing field is a 422 naming its path, broken JSON a 400.
/// The path is tracked only to explain a failure: tracking it on every body doubled the
/// cost of reading a push of a hundred mutations.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_data() {
            let field = match missing_field(&inner) {
                Some(name) if path == "." => name,
                Some(name) => format!("{path}.{name}"),
                None => path,
            };
            ApiError::Validation(vec![FieldError::new(field, strip_position(&inner))])
        } else {
            ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
        }
    })
}

/// serde reports a missing field at its parent's path; this finds the field's own name.
fn missing_field(err: &serde_json::Error) -> Option<String> {
    let msg = err.to_string();
    let rest = msg.strip_prefix("missing field `")?;
    rest.split('`').next().map(str::to_string)
}

fn strip_position(err: &serde_json::Error) -> String {
    let msg = err.to_string();
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

/// Query parameters deserialised with the name of any bad one: a 422 naming the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // PostgreSQL cannot store or compare text with NUL; no real parameter has one.
        if let Some((name, _)) =
            form_urlencoded_pairs(req.query_string()).find(|(_, value)| value.contains('\0'))
        {
            return std::future::ready(Err(ApiError::validation(
                name.into_owned(),
                "must not contain NUL characters",
            )));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_pairs(req.query_string()));
        std::future::ready(
            serde_path_to_error::deserialize(de)
                .map(Query)
                .map_err(|err| {
                    let field = err.path().to_string();
                    let reason = err.into_inner().to_string();
                    let field = match reason.strip_prefix("unknown field `") {
                        Some(rest) => rest.split('`').next().unwrap_or("query").to_string(),
                        None if field == "." => "query".to_string(),
                        None => field,
                    };
                    ApiError::validation(field, reason)
                }),
        )
    }
}

fn form_urlencoded_pairs(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// A `validator` check for names typed through the API (users, org nodes): text that
/// prints as it reads (`liuqing_schema::domain::text`).
pub fn plain_text(value: &str) -> Result<(), validator::ValidationError> {
    liuqing_schema::domain::text::check_plain(value)
        .map_err(|reason| validator::ValidationError::new("plain_text").with_message(reason.into()))
}

#[cfg(test)]
mod tests {
    use super::has_nul_escape;

    #[test]
    fn only_a_real_nul_escape_counts() {
        assert!(has_nul_escape(br#"{"a":"x\u0000y"}"#));
        assert!(has_nul_escape(br#"{"a":"\\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a":"\\u0000"}"#));
        assert!(!has_nul_escape(br#"{"a":"u0000"}"#));
    }
}
