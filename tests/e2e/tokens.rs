//! Access tokens: expiry, forgery, `alg: none`, tampering, revoked and retiring devices,
//! and keys that survive a restart.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

fn sign(claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .expect("sign")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[actix_web::test]
async fn missing_and_malformed_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let r = app
        .request(reqwest::Method::GET, "/v1/me", None, None)
        .await;
    r.problem(401, "unauthenticated");
    assert!(r.headers.contains_key("www-authenticate"));
    app.get("/v1/me", "garbage")
        .await
        .problem(401, "invalid_token");
}

#[actix_web::test]
async fn an_expired_token_is_refused() {
    let app = TestApp::spawn_with(|c| c.jwt_leeway_secs = 0).await;
    let s = app.admin().await;
    let mut claims = claims_of(&s.access);
    claims["iat"] = json!(now() - 3600);
    claims["exp"] = json!(now() - 60);
    app.get("/v1/me", &sign(&claims, JWT_SECRET.as_bytes()))
        .await
        .problem(401, "token_expired");
}

#[actix_web::test]
async fn a_token_signed_with_another_key_is_refused() {
    let app = TestApp::spawn().await;
    let s = app.admin().await;
    let claims = claims_of(&s.access);
    app.get(
        "/v1/me",
        &sign(&claims, b"some other key that is also long enough"),
    )
    .await
    .problem(401, "invalid_token");
}

#[actix_web::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = TestApp::spawn().await;
    let s = app.admin().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = s.access.split('.').nth(1).expect("payload");
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}"),
    ] {
        app.get("/v1/me", &token)
            .await
            .problem(401, "invalid_token");
    }
}

#[actix_web::test]
async fn tampered_claims_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let coord = app
        .user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;

    // The coordinator edits `sub` to the admin's id, keeping the old signature.
    let mut claims = claims_of(&coord.access);
    claims["sub"] = admin.user["id"].clone();
    let parts: Vec<&str> = coord.access.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("json")),
        parts[2]
    );
    app.get("/v1/admin/users", &forged)
        .await
        .problem(401, "invalid_token");

    // Even correctly signed, claims that disagree with the session they name are refused.
    let resigned = sign(&claims, JWT_SECRET.as_bytes());
    app.get("/v1/admin/users", &resigned)
        .await
        .problem(401, "invalid_token");

    // A wrong issuer is refused.
    let mut claims = claims_of(&coord.access);
    claims["iss"] = json!("someone-else");
    app.get("/v1/me", &sign(&claims, JWT_SECRET.as_bytes()))
        .await
        .problem(401, "invalid_token");
}

#[actix_web::test]
async fn a_revoked_device_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let coord = app
        .user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;
    assert_eq!(
        app.get("/v1/me", &coord.access).await.status,
        StatusCode::OK
    );

    let r = app
        .patch(
            &format!("/v1/devices/{}", coord.device_id),
            &admin.access,
            json!({ "state": "revoked", "reason": "phone lost" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state"], "revoked");

    // The still-unexpired access token stops working now, not at expiry.
    app.get("/v1/me", &coord.access)
        .await
        .problem(401, "device_revoked");
    app.post(
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": coord.refresh }),
    )
    .await
    .problem(401, "session_revoked");
    // Logging in again on the lost phone is refused too.
    app.login_raw("coord-a", PASSWORD, &coord.device_id)
        .await
        .problem(403, "device_revoked");
    // The coordinator can go on from a new phone.
    app.login("coord-a", PASSWORD).await;
    // Revocation is final.
    app.patch(
        &format!("/v1/devices/{}", coord.device_id),
        &admin.access,
        json!({ "state": "active" }),
    )
    .await
    .problem(409, "illegal_transition");
}

#[actix_web::test]
async fn a_retiring_device_keeps_working_until_revoked() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let staff = app
        .user(&admin, "staff-1", "station_staff", &[&t.station1])
        .await;
    let coord = app
        .user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;

    let r = app
        .patch(
            &format!("/v1/devices/{}", coord.device_id),
            &staff.access,
            json!({ "state": "retiring" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["state_changed_by"], staff.user["id"]);
    // The phone may still sync what it holds: its tokens work and it learns its state.
    let me = app.get("/v1/me", &coord.access).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["device"]["state"], "retiring");
    let refreshed = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": coord.refresh }),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    // Then it is locked.
    let r = app
        .patch(
            &format!("/v1/devices/{}", coord.device_id),
            &staff.access,
            json!({ "state": "revoked" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let access = refreshed.body["access_token"].as_str().expect("access");
    app.get("/v1/me", access)
        .await
        .problem(401, "device_revoked");
}

#[actix_web::test]
async fn sessions_survive_a_restart_with_the_generated_key() {
    // No configured key: one is generated into the data folder and reused after restart.
    let app = TestApp::spawn_with(|c| c.jwt_secret = Default::default()).await;
    let s = app.admin().await;
    assert!(app.data.path().join("jwt.key").exists());
    let (config, data) = app.stop().await;
    let app = TestApp::start(config, data).await;
    assert_eq!(app.get("/v1/me", &s.access).await.status, StatusCode::OK);
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": s.refresh }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
