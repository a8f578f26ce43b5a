//! Administration: the org tree's shape, users, bindings, password resets, disabling.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn the_org_tree_nests_district_street_station_community() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let bad = |parent: Option<&str>, kind: &str| json!({ "parent_id": parent, "kind": kind, "name": "x" });
    for body in [
        bad(Some(&t.district), "station"),
        bad(Some(&t.station1), "street"),
        bad(None, "community"),
        bad(Some(&t.community_a), "community"),
        bad(Some(&t.street), "district"),
    ] {
        let r = app
            .post("/v1/admin/org/nodes", Some(&admin.access), body)
            .await;
        r.problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], "parent_id");
    }
    let r = app
        .post(
            "/v1/admin/org/nodes",
            Some(&admin.access),
            bad(Some(&new_id()), "street"),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["reason"], "no such org node");
    let r = app
        .post(
            "/v1/admin/org/nodes",
            Some(&admin.access),
            json!({ "id": t.district, "kind": "district", "name": "again" }),
        )
        .await;
    r.problem(409, "already_exists");
    let r = app
        .post(
            "/v1/admin/org/nodes",
            Some(&admin.access),
            json!({ "kind": "province", "name": "x" }),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "kind");
}

#[actix_web::test]
async fn creating_users_validates_every_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let r = app
        .post(
            "/v1/admin/users",
            Some(&admin.access),
            json!({ "username": "A B", "display_name": "", "password": "short", "role": "coordinator" }),
        )
        .await;
    r.problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(fields, vec!["display_name", "password", "username"]);

    let r = app
        .post(
            "/v1/admin/users",
            Some(&admin.access),
            json!({ "username": "coord-x", "display_name": "X", "password": PASSWORD, "role": "coordinator",
                    "org_node_ids": [t.station1, new_id()] }),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "org_node_ids[0]");
    assert_eq!(r.body["errors"][1]["field"], "org_node_ids[1]");

    app.user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;
    app.post(
        "/v1/admin/users",
        Some(&admin.access),
        json!({ "username": "coord-a", "display_name": "X", "password": PASSWORD, "role": "coordinator" }),
    )
    .await
    .problem(409, "username_taken");
}

#[actix_web::test]
async fn a_password_reset_gives_a_one_time_password_and_ends_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let coord = app
        .user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;
    let id = coord.user["id"].as_str().expect("id");
    let r = app
        .post(
            &format!("/v1/admin/users/{id}/password-reset"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let temporary = r.body["temporary_password"].as_str().expect("password");
    app.get("/v1/me", &coord.access)
        .await
        .problem(401, "session_revoked");
    app.login_raw("coord-a", PASSWORD, &new_id())
        .await
        .problem(401, "invalid_credentials");
    let s = app.login("coord-a", temporary).await;
    assert_eq!(s.user["must_change_password"], true);
}

#[actix_web::test]
async fn disabling_a_user_ends_their_sessions_and_logins() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let coord = app
        .user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;
    let id = coord.user["id"].as_str().expect("id");
    let r = app
        .patch(
            &format!("/v1/admin/users/{id}"),
            &admin.access,
            json!({ "disabled": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["disabled"], true);
    assert_eq!(
        app.get("/v1/me", &coord.access).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login_raw("coord-a", PASSWORD, &new_id())
        .await
        .problem(401, "invalid_credentials");
    // An admin cannot lock themselves out.
    let own = admin.user["id"].as_str().expect("id");
    app.patch(
        &format!("/v1/admin/users/{own}"),
        &admin.access,
        json!({ "disabled": true }),
    )
    .await
    .problem(409, "self_lockout");
    app.post(
        &format!("/v1/admin/users/{own}/password-reset"),
        Some(&admin.access),
        json!({}),
    )
    .await
    .problem(409, "self_lockout");
    app.patch(
        &format!("/v1/devices/{}", admin.device_id),
        &admin.access,
        json!({ "state": "revoked" }),
    )
    .await
    .problem(409, "self_lockout");
    assert_eq!(
        app.get("/v1/me", &admin.access).await.status,
        StatusCode::OK
    );
    app.get(&format!("/v1/admin/users/{}", new_id()), &admin.access)
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn admin_actions_are_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let coord = app
        .user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;
    app.patch(
        &format!("/v1/devices/{}", coord.device_id),
        &admin.access,
        json!({ "state": "revoked", "reason": "lost" }),
    )
    .await;
    let backend = app.config.backend().expect("backend");
    let entries = tokio::task::spawn_blocking(move || {
        let mut conn = backend.connect().expect("connect");
        liuqing_schema::audit::for_target(&mut conn, "device", &coord.device_id).expect("audit")
    })
    .await
    .expect("join");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, "device_revoked");
    assert_eq!(entries[0].reason.as_deref(), Some("lost"));
    assert_eq!(entries[0].user_id.as_deref(), admin.user["id"].as_str());
}
