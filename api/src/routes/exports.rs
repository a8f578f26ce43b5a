//! Ledger exports (台账导出): `GET /v1/exports/{ledger}` writes a ledger of the caller's
//! scope for a period as XLSX or CSV, with a required reason, and streams the file. Every
//! export is in the access log (who, when, which ledger, filters, reason, rows).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{Datelike, NaiveDate};
use futures_util::stream;
use liuqing_schema::audit;
use liuqing_schema::domain::Permission;
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::supervision::{area, period};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::ledgers::{self, Context, Ledger};
use crate::sheets::{self, FileFormat};
use crate::state::AppState;

const REASON_MAX_CHARS: usize = 500;
const CHUNK_BYTES: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    pub node: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub format: Option<String>,
    /// Why the ledger is exported (logged).
    pub reason: Option<String>,
}

/// `2026-12` for a whole month, else `2026-11-03至2026-11-20`.
fn period_label(from: NaiveDate, to: NaiveDate) -> String {
    let whole_month = from.day() == 1
        && to.month() == from.month()
        && to.year() == from.year()
        && to.succ_opt().is_none_or(|d| d.month() != to.month());
    if whole_month {
        from.format("%Y-%m").to_string()
    } else {
        format!("{from}至{to}")
    }
}

/// `attachment` with an ASCII name for old clients and the real one in RFC 5987's
/// `filename*` (UTF-8, percent-encoded), as RFC 6266 describes.
fn disposition(ascii: &str, name: &str) -> String {
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

pub async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    Query(q): Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    export_as(state, caller, &path, q).await
}

/// The ledger `ledger` as `q` asks for it, as a download (the API's export and the
/// console's export form).
pub(crate) async fn export_as(
    state: web::Data<AppState>,
    caller: Caller,
    ledger: &str,
    q: ExportQuery,
) -> ApiResult<HttpResponse> {
    caller.require(Permission::ReadCaseFiles)?;
    let ledger: Ledger = ledger.parse().map_err(|_| ApiError::not_found("ledger"))?;
    let format: FileFormat = match q.format.as_deref() {
        None => FileFormat::Xlsx,
        Some(f) => f
            .parse()
            .map_err(|_| ApiError::validation("format", "must be xlsx or csv"))?,
    };
    let reason = q
        .reason
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    if reason.is_empty() {
        return Err(ApiError::validation(
            "reason",
            "is required: say why the ledger is exported",
        ));
    }
    if reason.chars().count() > REASON_MAX_CHARS {
        return Err(ApiError::validation(
            "reason",
            format!("must be at most {REASON_MAX_CHARS} characters"),
        ));
    }
    let now = liuqing_schema::time::now_micros();
    let period = period(&state, q.from.as_deref(), q.to.as_deref(), now)?;
    let cx = Context {
        period,
        settings: state.config.coverage_settings(),
        at: period.to.min(state.config.day_at(now)),
    };
    let staging = state.config.staging_path();
    let (file, name, ascii) = state
        .db
        .run(move |conn| {
            let area = area(conn, &caller, q.node.as_deref())?;
            let place = area
                .node
                .as_ref()
                .map_or_else(|| "全部".to_string(), |n| n.name.clone());
            let label = period_label(period.from, period.to);
            let ext = format.as_str();
            let name = format!("{}_{place}_{label}.{ext}", ledger.title());
            let ascii = format!("{}_{}_{}.{ext}", ledger.as_str(), period.from, period.to);
            let temp = tempfile::NamedTempFile::new_in(&staging)
                .map_err(|e| ApiError::Internal(e.into()))?;
            let out = temp.reopen().map_err(|e| ApiError::Internal(e.into()))?;
            let mut writer = sheets::writer(format, ledger.columns(), out, &staging)?;
            let rows = ledgers::write(conn, ledger, &area.by_station(), &cx, writer.as_mut())?;
            writer.finish()?;
            audit::record(
                conn,
                caller.actor(),
                "export",
                "ledger",
                ledger.as_str(),
                Some(&reason),
                Some(json!({
                    "format": format.as_str(),
                    "node": area.node.as_ref().map(|n| n.id.clone()),
                    "from": period.from,
                    "to": period.to,
                    "rows": rows,
                    "file": name,
                })),
            )?;
            // The open handle keeps the bytes; the name goes at once (nothing to clean up
            // if the download is abandoned).
            let file = temp.reopen().map_err(|e| ApiError::Internal(e.into()))?;
            drop(temp);
            Ok((file, name, ascii))
        })
        .await?;
    let length = file
        .metadata()
        .map_err(|e| ApiError::Internal(e.into()))?
        .len();
    let file = tokio::fs::File::from_std(file);
    let body = stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK_BYTES];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(format.media_type())
        .insert_header((header::CONTENT_DISPOSITION, disposition(&ascii, &name)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .no_chunking(length)
        .streaming(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn a_whole_month_is_named_by_the_month() {
        assert_eq!(period_label(d("2026-12-01"), d("2026-12-31")), "2026-12");
        assert_eq!(period_label(d("2028-02-01"), d("2028-02-29")), "2028-02");
        assert_eq!(
            period_label(d("2026-11-03"), d("2026-11-20")),
            "2026-11-03至2026-11-20"
        );
    }

    #[test]
    fn the_chinese_name_goes_in_filename_star() {
        let h = disposition("assistance.xlsx", "就业援助台账_华林社区_2026-12.xlsx");
        assert!(h.starts_with("attachment; filename=\"assistance.xlsx\"; filename*=UTF-8''"));
        assert!(h.contains("%E5%B0%B1"), "{h}");
        assert!(h.ends_with("_2026-12.xlsx"));
    }
}
