//! Login, refresh rotation and reuse, logout, throttling, first-login password change.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn login_answers_a_token_pair_the_user_and_the_device() {
    let app = TestApp::spawn().await;
    let device = new_id();
    let r = app.login_raw("admin", ADMIN_PASSWORD, &device).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["access_token"]
        .as_str()
        .is_some_and(|t| t.split('.').count() == 3));
    assert!(r.body["refresh_token"]
        .as_str()
        .is_some_and(|t| t.len() >= 40));
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert_eq!(r.body["user"]["username"], "admin");
    assert_eq!(r.body["user"]["role"], "admin");
    assert!(r.body["user"].get("password_hash").is_none());
    assert_eq!(r.body["device"]["id"], device.as_str());
    assert_eq!(r.body["device"]["state"], "active");

    let me = app
        .get("/v1/me", r.body["access_token"].as_str().unwrap_or(""))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["device"]["id"], device.as_str());
}

#[actix_web::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let wrong = app.login_raw("admin", "not the password", &new_id()).await;
    wrong.problem(401, "invalid_credentials");
    let unknown = app.login_raw("nobody", "not the password", &new_id()).await;
    unknown.problem(401, "invalid_credentials");
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
}

#[actix_web::test]
async fn refresh_rotates_the_pair() {
    let app = TestApp::spawn().await;
    let s = app.admin().await;
    let r = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": s.refresh }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let access = r.body["access_token"].as_str().expect("access");
    let refresh = r.body["refresh_token"].as_str().expect("refresh");
    assert_ne!(refresh, s.refresh);
    assert_eq!(app.get("/v1/me", access).await.status, StatusCode::OK);
    // The new refresh token works in turn.
    let again = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh }),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}

#[actix_web::test]
async fn reusing_a_spent_refresh_token_ends_the_whole_family() {
    let app = TestApp::spawn().await;
    let s = app.admin().await;
    let first = app
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": s.refresh }),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let next_refresh = first.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let next_access = first.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();

    // Someone presents the spent token again: a copy exists, so the session ends.
    app.post(
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": s.refresh }),
    )
    .await
    .problem(401, "refresh_token_reused");
    // The legitimate holder's newer tokens are dead too, refresh and access alike.
    app.post(
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": next_refresh }),
    )
    .await
    .problem(401, "session_revoked");
    app.get("/v1/me", &next_access)
        .await
        .problem(401, "session_revoked");
    app.get("/v1/me", &s.access)
        .await
        .problem(401, "session_revoked");
    // Other sessions of the same user are untouched.
    let other = app.admin().await;
    assert_eq!(
        app.get("/v1/me", &other.access).await.status,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn unknown_refresh_tokens_are_refused() {
    let app = TestApp::spawn().await;
    app.post(
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": "not-a-token" }),
    )
    .await
    .problem(401, "invalid_refresh_token");
}

#[actix_web::test]
async fn expired_refresh_tokens_are_refused() {
    let app = TestApp::spawn_with(|c| c.refresh_token_ttl_secs = 1).await;
    let s = app.admin().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.post(
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": s.refresh }),
    )
    .await
    .problem(401, "refresh_token_expired");
}

#[actix_web::test]
async fn logout_ends_the_session_at_once() {
    let app = TestApp::spawn().await;
    let s = app.admin().await;
    let r = app
        .request(
            reqwest::Method::POST,
            "/v1/auth/logout",
            Some(&s.access),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.get("/v1/me", &s.access)
        .await
        .problem(401, "session_revoked");
    app.post(
        "/v1/auth/refresh",
        None,
        json!({ "refresh_token": s.refresh }),
    )
    .await
    .problem(401, "session_revoked");
}

#[actix_web::test]
async fn failed_logins_are_throttled_per_username() {
    let app = TestApp::spawn_with(|c| {
        c.login_max_failures = 3;
        c.login_lockout_secs = 600;
    })
    .await;
    for _ in 0..2 {
        app.login_raw("admin", "wrong password", &new_id())
            .await
            .problem(401, "invalid_credentials");
    }
    let locked = app.login_raw("admin", "wrong password", &new_id()).await;
    locked.problem(429, "too_many_requests");
    let retry_after: u64 = locked.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((590..=600).contains(&retry_after), "{retry_after}");
    // Locked means locked: even the right password waits.
    app.login_raw("admin", ADMIN_PASSWORD, &new_id())
        .await
        .problem(429, "too_many_requests");
    // Another username is not affected; unknown usernames are throttled the same way.
    for _ in 0..2 {
        app.login_raw("ghost", "wrong password", &new_id())
            .await
            .problem(401, "invalid_credentials");
    }
    app.login_raw("ghost", "wrong password", &new_id())
        .await
        .problem(429, "too_many_requests");
}

#[actix_web::test]
async fn a_successful_login_clears_the_failure_count() {
    let app = TestApp::spawn_with(|c| c.login_max_failures = 3).await;
    for _ in 0..2 {
        app.login_raw("admin", "wrong password", &new_id())
            .await
            .problem(401, "invalid_credentials");
    }
    app.admin().await;
    for _ in 0..2 {
        app.login_raw("admin", "wrong password", &new_id())
            .await
            .problem(401, "invalid_credentials");
    }
    app.admin().await;
}

#[actix_web::test]
async fn a_user_with_a_one_time_password_must_change_it_before_anything_else() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/v1/admin/users",
            Some(&admin.access),
            json!({ "username": "staff1", "display_name": "Staff", "password": "initial password 1", "role": "station_staff" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["must_change_password"], true);
    let s = app.login("staff1", "initial password 1").await;
    assert_eq!(s.user["must_change_password"], true);
    app.get("/v1/org/nodes", &s.access)
        .await
        .problem(403, "password_change_required");
    // /v1/me still answers, so the app can show why.
    assert_eq!(app.get("/v1/me", &s.access).await.status, StatusCode::OK);
    app.post(
        "/v1/auth/password",
        Some(&s.access),
        json!({ "current_password": "wrong", "new_password": PASSWORD }),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        "/v1/auth/password",
        Some(&s.access),
        json!({ "current_password": "initial password 1", "new_password": "short" }),
    )
    .await
    .problem(422, "validation_failed");
    let r = app
        .post(
            "/v1/auth/password",
            Some(&s.access),
            json!({ "current_password": "initial password 1", "new_password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        app.get("/v1/org/nodes", &s.access).await.status,
        StatusCode::OK
    );
    app.login_raw("staff1", "initial password 1", &new_id())
        .await
        .problem(401, "invalid_credentials");
    app.login("staff1", PASSWORD).await;
}
