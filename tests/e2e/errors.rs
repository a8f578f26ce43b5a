//! Every kind of error is a problem document with a stable code, and a request id.

use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn unknown_routes_and_wrong_methods() {
    let app = TestApp::spawn().await;
    let r = app
        .request(reqwest::Method::GET, "/v1/nothing-here", None, None)
        .await;
    r.problem(404, "not_found");
    let r = app
        .request(reqwest::Method::DELETE, "/v1/auth/login", None, None)
        .await;
    r.problem(405, "method_not_allowed");
    assert_eq!(r.headers["allow"], "POST");
}

#[actix_web::test]
async fn broken_json_is_a_400_and_wrong_fields_a_422_naming_them() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .post(format!("{}/v1/auth/login", app.base))
        .header(CONTENT_TYPE, "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .expect("sent");
    reply(res).await.problem(400, "bad_request");

    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "username": "admin", "password": "x" }),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(
        r.body["errors"],
        json!([{ "field": "device", "reason": "missing field `device`" }])
    );

    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "username": "admin", "password": "x", "device": { "id": "not-a-uuid", "name": "p", "platform": "a" } }),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "device.id");

    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "username": "admin", "password": "x", "device": { "id": new_id(), "name": "", "platform": "a" } }),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "device.name");

    // Unknown fields are refused, not dropped.
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "username": "admin", "password": "x", "role": "admin",
                    "device": { "id": new_id(), "name": "p", "platform": "a" } }),
        )
        .await;
    r.problem(422, "validation_failed");
    assert!(r.body["errors"][0]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("unknown field `role`"));
}

#[actix_web::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .post(format!("{}/v1/auth/login", app.base))
        .header(CONTENT_TYPE, "text/plain")
        .body("username=admin")
        .send()
        .await
        .expect("sent");
    reply(res).await.problem(415, "unsupported_media_type");
}

#[actix_web::test]
async fn an_oversized_body_is_a_413() {
    let app = TestApp::spawn_with(|c| c.max_json_body_bytes = 4096).await;
    let big = "x".repeat(8192);
    let r = app
        .post(
            "/v1/auth/login",
            None,
            json!({ "username": big, "password": "x", "device": {} }),
        )
        .await;
    r.problem(413, "payload_too_large");

    // Also when the size is not declared up front (chunked body).
    let stream = futures_stream(vec![
        b"{\"username\": \"".to_vec(),
        vec![b'x'; 8192],
        b"\"}".to_vec(),
    ]);
    let res = app
        .client
        .post(format!("{}/v1/auth/login", app.base))
        .header(CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("sent");
    reply(res).await.problem(413, "payload_too_large");
}

fn futures_stream(
    chunks: Vec<Vec<u8>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures_util::stream::iter(chunks.into_iter().map(Ok))
}

#[actix_web::test]
async fn ids_that_name_nothing_are_404s() {
    let app = TestApp::spawn().await;
    let s = app.admin().await;
    let long = "x".repeat(300);
    app.get(&format!("/v1/org/nodes/{long}"), &s.access)
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn every_response_carries_a_request_id_and_keeps_a_plain_one_given() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "phone-req-42")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.headers()["x-request-id"], "phone-req-42");
    let res = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .expect("sent");
    let id = res.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_ne!(id, "bad id with spaces");
    assert_eq!(id.len(), 36);
}

#[actix_web::test]
async fn health_readiness_and_the_contract_are_served() {
    let app = TestApp::spawn().await;
    let r = app
        .request(reqwest::Method::GET, "/healthz", None, None)
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::OK, json!({ "status": "ok" }))
    );
    let r = app
        .request(reqwest::Method::GET, "/readyz", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let kind = if s3_settings().is_some() {
        "s3"
    } else {
        "local"
    };
    assert_eq!(r.body["blob_store"], kind);
    let res = app
        .client
        .get(format!("{}/openapi.yaml", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.expect("text").starts_with("openapi: 3.1"));
}

#[actix_web::test]
async fn readiness_fails_cleanly_when_the_blob_store_is_gone() {
    let app = TestApp::spawn_with(|c| c.s3_bucket = "no-such-bucket".into()).await;
    if s3_settings().is_none() {
        std::fs::remove_dir_all(app.config.blob_path()).expect("remove blobs");
        std::fs::write(app.config.blob_path(), b"not a folder").expect("block it");
    }
    let r = app
        .request(reqwest::Method::GET, "/readyz", None, None)
        .await;
    r.problem(503, "not_ready");
    assert!(
        !r.body["detail"].as_str().unwrap_or("").contains("os error"),
        "internal text leaked"
    );
}

#[actix_web::test]
async fn responses_are_compressed_when_the_client_accepts_it() {
    let app = TestApp::spawn().await;
    let res = app
        .client
        .get(format!("{}/openapi.yaml", app.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.headers()["content-encoding"], "gzip");
}

/// PostgreSQL cannot hold NUL in text: a NUL in a parameter or a body is a 422, not a 500.
#[actix_web::test]
async fn nul_characters_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let tree = tree(&app, &admin).await;
    let staff = app
        .user(&admin, "staff-nul", "station_staff", &[&tree.station1])
        .await;
    let r = app
        .get("/v1/publicity?org_node_id=a%00b", &staff.access)
        .await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "org_node_id"
    );
    let r = app
        .post(
            "/v1/records/household",
            Some(&staff.access),
            serde_json::json!({ "fields": { "community_id": tree.community_a, "address": "a\u{0}b" } }),
        )
        .await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "body"
    );
}
