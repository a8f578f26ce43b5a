//! Liveness, readiness and the contract.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The contract, served as written.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

#[derive(Serialize)]
struct Ready {
    status: &'static str,
    database: &'static str,
    blob_store: &'static str,
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Ready when the database answers and the blob store can be written.
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state
        .db
        .run(|conn| {
            use diesel::connection::SimpleConnection;
            Ok(conn.batch_execute("SELECT 1")?)
        })
        .await
        .map_err(|e| {
            tracing::warn!(error = ?e, "database not ready");
            ApiError::Unavailable("database unreachable".into())
        })?;
    state.blobs.check().await.map_err(|e| {
        tracing::warn!(error = %e, "blob store not ready");
        ApiError::Unavailable(format!("blob store ({}) unreachable", state.blobs.kind()))
    })?;
    Ok(HttpResponse::Ok().json(Ready {
        status: "ready",
        database: "ok",
        blob_store: state.blobs.kind(),
    }))
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}
