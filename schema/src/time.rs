//! Times are stored as UTC microseconds since the Unix epoch (`BIGINT`) on both backends, so
//! round trips are exact and comparisons are plain integer comparisons.

use chrono::{DateTime, TimeZone, Utc};

/// UTC microseconds since the Unix epoch.
pub type Micros = i64;

pub fn now_micros() -> Micros {
    Utc::now().timestamp_micros()
}

pub fn to_datetime(micros: Micros) -> DateTime<Utc> {
    Utc.timestamp_micros(micros)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub fn seconds(n: i64) -> Micros {
    n.saturating_mul(1_000_000)
}

/// Serialises microseconds as RFC 3339 text (`2026-11-26T04:13:52.271322Z`) in API bodies.
pub fn rfc3339<S: serde::Serializer>(micros: &Micros, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_datetime(*micros).to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}
