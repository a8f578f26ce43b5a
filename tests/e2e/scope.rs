//! Least access: roles decide what a user may do, scope decides what they may see. A caller
//! asking for something outside their scope gets a 404, never the data.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn ids(reply: &Reply) -> Vec<String> {
    reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

#[actix_web::test]
async fn a_coordinator_sees_only_their_community() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let coord = app
        .user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;

    let listed = app.get("/v1/org/nodes", &coord.access).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(ids(&listed), vec![t.community_a.clone()]);
    assert_eq!(
        app.get(&format!("/v1/org/nodes/{}", t.community_a), &coord.access)
            .await
            .status,
        StatusCode::OK
    );
    for other in [&t.community_b, &t.community_c, &t.station1, &t.district] {
        app.get(&format!("/v1/org/nodes/{other}"), &coord.access)
            .await
            .problem(404, "not_found");
    }
}

#[actix_web::test]
async fn station_staff_see_their_station_and_its_communities() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let staff = app
        .user(&admin, "staff-1", "station_staff", &[&t.station1])
        .await;
    let mut seen = ids(&app.get("/v1/org/nodes", &staff.access).await);
    seen.sort();
    let mut expected = vec![
        t.station1.clone(),
        t.community_a.clone(),
        t.community_b.clone(),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    app.get(&format!("/v1/org/nodes/{}", t.community_c), &staff.access)
        .await
        .problem(404, "not_found");
    let staff2 = app
        .user(&admin, "staff-2", "station_staff", &[&t.station2])
        .await;
    let mut seen = ids(&app.get("/v1/org/nodes", &staff2.access).await);
    seen.sort();
    let mut expected = vec![t.station2.clone(), t.community_c.clone()];
    expected.sort();
    assert_eq!(seen, expected);

    // A supervisor bound to the street sees both stations.
    let sup = app.user(&admin, "sup-1", "supervisor", &[&t.street]).await;
    assert_eq!(ids(&app.get("/v1/org/nodes", &sup.access).await).len(), 6);
}

#[actix_web::test]
async fn devices_are_managed_only_inside_the_scope() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let staff1 = app
        .user(&admin, "staff-1", "station_staff", &[&t.station1])
        .await;
    let coord_a = app
        .user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;
    let coord_c = app
        .user(&admin, "coord-c", "coordinator", &[&t.community_c])
        .await;

    let listed = app.get("/v1/devices", &staff1.access).await;
    assert_eq!(listed.status, StatusCode::OK);
    let seen = ids(&listed);
    assert!(seen.contains(&coord_a.device_id));
    assert!(
        !seen.contains(&coord_c.device_id),
        "station 2's phone leaked into station 1"
    );

    app.get(
        &format!("/v1/devices/{}", coord_c.device_id),
        &staff1.access,
    )
    .await
    .problem(404, "not_found");
    app.patch(
        &format!("/v1/devices/{}", coord_c.device_id),
        &staff1.access,
        json!({ "state": "revoked" }),
    )
    .await
    .problem(404, "not_found");
    // Nothing changed for the other station's phone.
    assert_eq!(
        app.get("/v1/me", &coord_c.access).await.body["device"]["state"],
        "active"
    );
}

#[actix_web::test]
async fn roles_are_enforced() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let coord = app
        .user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;
    let staff = app
        .user(&admin, "staff-1", "station_staff", &[&t.station1])
        .await;
    let sup = app.user(&admin, "sup-1", "supervisor", &[&t.street]).await;

    // Coordinators manage no devices and see no device list.
    app.get("/v1/devices", &coord.access)
        .await
        .problem(403, "forbidden_role");
    app.patch(
        &format!("/v1/devices/{}", coord.device_id),
        &coord.access,
        json!({ "state": "revoked" }),
    )
    .await
    .problem(403, "forbidden_role");
    // Supervisors may look but not revoke.
    assert_eq!(
        app.get("/v1/devices", &sup.access).await.status,
        StatusCode::OK
    );
    app.patch(
        &format!("/v1/devices/{}", coord.device_id),
        &sup.access,
        json!({ "state": "revoked" }),
    )
    .await
    .problem(403, "forbidden_role");
    // Only admins administer.
    for s in [&coord, &staff, &sup] {
        app.get("/v1/admin/users", &s.access)
            .await
            .problem(403, "forbidden_role");
        app.post(
            "/v1/admin/org/nodes",
            Some(&s.access),
            json!({ "kind": "district", "name": "x" }),
        )
        .await
        .problem(403, "forbidden_role");
        app.post(
            &format!(
                "/v1/admin/users/{}/password-reset",
                coord.user["id"].as_str().unwrap_or("")
            ),
            Some(&s.access),
            json!({}),
        )
        .await
        .problem(403, "forbidden_role");
    }
}

#[actix_web::test]
async fn a_user_bound_nowhere_sees_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    tree(&app, &admin).await;
    let staff = app.user(&admin, "staff-0", "station_staff", &[]).await;
    assert!(ids(&app.get("/v1/org/nodes", &staff.access).await).is_empty());
    assert!(ids(&app.get("/v1/devices", &staff.access).await).is_empty());
}

#[actix_web::test]
async fn rebinding_a_user_changes_their_scope_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let coord = app
        .user(&admin, "coord-a", "coordinator", &[&t.community_a])
        .await;
    let r = app
        .put(
            &format!(
                "/v1/admin/users/{}/org-nodes",
                coord.user["id"].as_str().unwrap_or("")
            ),
            &admin.access,
            json!({ "org_node_ids": [t.community_c] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        ids(&app.get("/v1/org/nodes", &coord.access).await),
        vec![t.community_c.clone()]
    );
}
