//! The one write path: a commitment is sealed whichever way it arrives, and a pull page,
//! its cursor and the scope digest are read from one snapshot while phones push.

use liuqing_sync::client::Client;
use liuqing_sync::protocol::PullPage;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::sync::{household_with_person, world, Phone};

#[actix_web::test]
async fn a_commitment_entered_by_staff_is_sealed_like_a_pushed_one() {
    let w = world().await;
    let app = &w.app;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 93).await;
    // Staff enter a commitment signed on paper.
    let r = app
        .post(
            "/v1/records/commitment",
            Some(&w.staff.access),
            json!({ "fields": { "person_id": p, "template_version": "2026-1",
                    "text_sha256": "d".repeat(64), "signature_sha256": "e".repeat(64),
                    "signed_at": "2026-11-20T03:00:00Z" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = r.body["id"].as_str().expect("id").to_string();
    let b = app
        .get(&format!("/v1/commitments/{c}/binding"), &w.staff.access)
        .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.body);
    assert!(b.body["seal"].is_string(), "sealed: {}", b.body);
    assert_eq!(b.body["seal"], b.body["current"]);
    assert_eq!(b.body["intact"], true, "{}", b.body);
}

/// One pull pass from the phone's cursor, page by page to the last: whether the last
/// page's scope digest agrees with the copy it completed, and how many changes came.
async fn pull_pass(app: &TestApp, token: &str, phone: &mut Client) -> (bool, usize) {
    let mut delivered = 0;
    loop {
        let r = app
            .get(&format!("/v1/sync/pull?{}", phone.pull_query(20)), token)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let page: PullPage = serde_json::from_value(r.body).expect("a pull page");
        delivered += page.changes.len();
        let last = !page.has_more;
        let server = page.scope_digest.clone();
        if !last {
            phone.on_pulled(page);
            continue;
        }
        // Take the page without the client's own drift check, then compare as it would.
        let mut copy = page;
        copy.scope_digest = None;
        phone.on_pulled(copy);
        let agrees = server.as_ref() == Some(&phone.digest());
        return (agrees, delivered);
    }
}

/// Three phones push households one at a time while a fourth pulls from its cursor again
/// and again: every pass must end with a scope digest that agrees with the records it was
/// sent. (Read in separate statements, a change committed between the page and the digest
/// was counted in the digest but missing from the page, and the phone re-pulled its
/// whole scope.)
#[actix_web::test]
async fn a_pull_during_pushes_never_sees_a_digest_that_disagrees_with_its_pages() {
    const PUSHES: usize = 120;
    let w = world().await;
    let app = &w.app;
    let admin = &w.admin;
    let writer = Phone::new(
        app.user(admin, "coord-a3", "coordinator", &[&w.tree.community_a])
            .await,
    );
    let writers = [&w.a1, &w.a2, &writer];
    let reader = app
        .user(admin, "coord-a4", "coordinator", &[&w.tree.community_a])
        .await;
    let mut phone = Client::new(reader.device_id.clone());
    let (agrees, _) = pull_pass(app, &reader.access, &mut phone).await;
    assert!(agrees, "the first pull agrees with itself");

    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (n, writer) in writers.iter().enumerate() {
        let (client, url) = (app.client.clone(), format!("{}/v1/sync/push", app.base));
        let mutations: Vec<_> = (0..PUSHES)
            .map(|i| {
                writer.upsert(
                    "household",
                    &new_id(),
                    None,
                    json!({ "community_id": w.tree.community_a, "address": format!("{n}-{i}号") }),
                )
            })
            .collect();
        let token = writer.s.access.clone();
        let done = done.clone();
        tasks.push(actix_web::rt::spawn(async move {
            for m in mutations {
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "schema_version": 1, "mutations": [m] }))
                    .send()
                    .await
                    .expect("sent");
                let r = reply(sent).await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.body);
                assert_eq!(r.body["results"][0]["status"], "applied", "{}", r.body);
            }
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }));
    }
    let (mut passes, mut disagreed, mut passes_with_changes) = (0, 0, 0);
    while done.load(std::sync::atomic::Ordering::SeqCst) < writers.len() {
        let (agrees, delivered) = pull_pass(app, &reader.access, &mut phone).await;
        passes += 1;
        if !agrees {
            disagreed += 1;
        }
        if delivered > 0 {
            passes_with_changes += 1;
        }
    }
    for task in tasks {
        task.await.expect("a writer finished");
    }
    // After the writers: the copy holds every household, and the digest still agrees.
    let (agrees, _) = pull_pass(app, &reader.access, &mut phone).await;
    assert!(agrees);
    let households = phone
        .records()
        .keys()
        .filter(|(entity, _)| entity == "household")
        .count();
    assert_eq!(households, 3 * PUSHES, "every household reached the phone");
    assert!(
        passes_with_changes >= 5,
        "pulls ran while pushes committed: {passes_with_changes} of {passes} passes saw changes"
    );
    assert_eq!(
        disagreed, 0,
        "{disagreed} of {passes} pull passes ended with a digest that disagreed"
    );
}

/// A record whose stored document no longer parses is an error where it is read, never
/// an empty document: the case file answers 500 (its cause in the log) instead of a
/// person with no data, and an edit or a delete of it changes nothing.
#[actix_web::test]
async fn a_corrupt_record_is_loud_not_empty() {
    use diesel::prelude::*;
    use liuqing_schema::tables::records;

    let w = world().await;
    let app = &w.app;
    let (h, p, v) = household_with_person(app, &w.a1, &w.tree.community_a, 94).await;
    let backend = app.config.backend().expect("backend");
    let mut conn = backend.connect().expect("connect");
    diesel::update(records::table.filter(records::id.eq(&h)))
        .set(records::data.eq("{\"address\": "))
        .execute(&mut conn)
        .expect("corrupt the household");

    let r = app.get(&format!("/v1/persons/{p}"), &w.staff.access).await;
    r.problem(500, "internal_error");
    let r = app
        .get(&format!("/v1/records/household/{h}"), &w.staff.access)
        .await;
    r.problem(500, "internal_error");
    let r = app
        .patch(
            &format!("/v1/records/household/{h}"),
            &w.staff.access,
            json!({ "fields": { "address": "华林路2号" } }),
        )
        .await;
    r.problem(500, "internal_error");
    // The person beside it is whole and still edits.
    let r = app
        .patch(
            &format!("/v1/records/person/{p}"),
            &w.staff.access,
            json!({ "base_version": v, "fields": { "name": "李四" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let stored: String = records::table
        .filter(records::id.eq(&h))
        .select(records::data)
        .first(&mut conn)
        .expect("household");
    assert_eq!(
        stored, "{\"address\": ",
        "nothing wrote over the corrupt row"
    );
}
