//! Evidence end to end: a photo taken offline reaches the station's review queue over an
//! interrupted connection, is reviewed, and the decision reaches the phone; and a signed
//! commitment is bound so a later change is detectable.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::attachments::{chunk, create_upload, wait_for_derivatives};
use crate::helpers::*;
use crate::images::*;
use crate::sync::{household_with_person, pull_all, push_ok, world};

#[actix_web::test]
async fn an_offline_photo_is_reviewed_and_the_decision_reaches_the_phone() {
    let w = world().await;
    let app = &w.app;
    let (h, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 81).await;

    // Offline, the phone photographed two certificates and queued the records. Back in
    // signal, it pushes the records first; the server says which bytes it lacks.
    // Unique bytes per run: an S3 bucket outlives the test's database.
    let seed = uuid::Uuid::new_v4().as_u128() as u32;
    let photo = jpeg_with_exif(1200, 900, seed);
    let other = jpeg(640, 480, seed.wrapping_add(1));
    let (sha, other_sha) = (sha256(&photo), sha256(&other));
    let (e, e2) = (new_id(), new_id());
    let r = app
        .post(
            "/v1/sync/push",
            Some(&w.a1.s.access),
            json!({ "schema_version": 1, "mutations": [
                w.a1.upsert("evidence", &e, None, json!({ "person_id": p, "evidence_type": "resident_id_card", "attachment_sha256": sha, "captured_at": "2026-11-20T02:30:00Z" })),
                w.a1.upsert("evidence", &e2, None, json!({ "person_id": p, "evidence_type": "household_register", "attachment_sha256": other_sha })),
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let missing: Vec<&str> = r.body["missing_attachments"]
        .as_array()
        .expect("missing")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(missing.contains(&sha.as_str()) && missing.contains(&other_sha.as_str()));

    // The photo goes up in pieces; the line drops between them, and the phone asks where
    // to resume.
    let id = create_upload(app, &w.a1.s.access, &sha, photo.len())
        .await
        .body["id"]
        .as_str()
        .expect("upload id")
        .to_string();
    let third = photo.len() / 3;
    assert_eq!(
        chunk(app, &w.a1.s.access, &id, 0, &photo[..third])
            .await
            .status,
        StatusCode::OK
    );
    let r = app.get(&format!("/v1/uploads/{id}"), &w.a1.s.access).await;
    let resume = r.body["offset"].as_u64().expect("offset") as usize;
    assert_eq!(resume, third);
    assert_eq!(
        chunk(app, &w.a1.s.access, &id, resume, &photo[resume..2 * third])
            .await
            .status,
        StatusCode::OK
    );
    // The last chunk is sent twice (the phone never saw the answer): harmless.
    for _ in 0..2 {
        let r = chunk(app, &w.a1.s.access, &id, 2 * third, &photo[2 * third..]).await;
        assert_eq!(r.body["offset"], photo.len(), "{}", r.body);
    }
    let r = app
        .post(
            &format!("/v1/uploads/{id}/finish"),
            Some(&w.a1.s.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // The next push finds nothing missing for this photo.
    let r = app
        .post(
            "/v1/sync/push",
            Some(&w.a1.s.access),
            json!({ "schema_version": 1, "mutations": [
                w.a1.upsert("evidence", &e, None, json!({ "person_id": p, "evidence_type": "resident_id_card", "attachment_sha256": sha, "captured_at": "2026-11-20T02:30:00Z" })),
            ]}),
        )
        .await;
    assert!(
        !r.body["missing_attachments"]
            .as_array()
            .expect("list")
            .iter()
            .any(|m| m == sha.as_str()),
        "{}",
        r.body
    );

    // The station's queue: pending evidence in scope, oldest first, filterable.
    let r = app.get("/v1/review/evidence", &w.staff.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().expect("items");
    let ids: Vec<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
    assert_eq!(ids, vec![e.as_str(), e2.as_str()], "oldest first");
    assert_eq!(items[0]["attachment_received"], true);
    assert_eq!(items[1]["attachment_received"], false);
    let r = app
        .get(
            &format!(
                "/v1/review/evidence?evidence_type=household_register&community_id={}",
                w.tree.community_a
            ),
            &w.staff.access,
        )
        .await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );
    let r = app
        .get("/v1/review/evidence?min_age_days=1", &w.staff.access)
        .await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(0),
        "{}",
        r.body
    );
    app.get("/v1/review/evidence?state=lost", &w.staff.access)
        .await
        .problem(422, "validation_failed");
    // Coordinators do not review; other stations do not see it.
    app.get("/v1/review/evidence", &w.a1.s.access)
        .await
        .problem(403, "forbidden_role");
    let far = app
        .user(&w.admin, "staff-far", "station_staff", &[&w.tree.station2])
        .await;
    let r = app.get("/v1/review/evidence", &far.access).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(0));
    app.post(
        &format!("/v1/review/evidence/{e}/decision"),
        Some(&far.access),
        json!({ "decision": "approved" }),
    )
    .await
    .problem(404, "not_found");

    // Staff look at the review image and decide.
    wait_for_derivatives(app, &w.staff.access, &sha).await;
    let r = app
        .get(&format!("/v1/attachments/{sha}/review"), &w.staff.access)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .post(
            &format!("/v1/review/evidence/{e}/decision"),
            Some(&w.staff.access),
            json!({ "decision": "retake" }),
        )
        .await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "reason"
    );
    let r = app
        .post(
            &format!("/v1/review/evidence/{e}/decision"),
            Some(&w.staff.access),
            json!({ "decision": "retake", "reason": "照片模糊，请重新拍摄" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["evidence"]["review_state"], "retake");
    let task_id = r.body["task_id"].as_str().expect("task").to_string();
    // Evidence whose photo never arrived cannot be approved: it proves nothing yet.
    app.post(
        &format!("/v1/review/evidence/{e2}/decision"),
        Some(&w.staff.access),
        json!({ "decision": "approved" }),
    )
    .await
    .problem(409, "attachment_missing");
    let sent = crate::attachments::put_image(app, &w.a1.s.access, &other).await;
    assert!(sent.status.is_success(), "{}", sent.body);
    let r = app
        .post(
            &format!("/v1/review/evidence/{e2}/decision"),
            Some(&w.staff.access),
            json!({ "decision": "approved" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["task_id"], Value::Null);

    // The phone pulls: the decision, the reason and a task for the coordinator.
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    let ev = changes
        .iter()
        .find(|c| c["entity"] == "evidence" && c["id"] == e.as_str())
        .expect("evidence");
    assert_eq!(ev["data"]["review_state"], "retake");
    assert_eq!(ev["data"]["review_reason"], "照片模糊，请重新拍摄");
    let task = changes
        .iter()
        .find(|c| c["entity"] == "task" && c["id"] == task_id.as_str())
        .expect("task");
    assert_eq!(task["data"]["kind"], "retake_photo");
    assert_eq!(task["data"]["household_id"], h.as_str());
    assert_eq!(task["data"]["person_id"], p.as_str());
    assert_eq!(task["data"]["assignee_id"], w.a1.s.user["id"]);
    assert_eq!(task["data"]["state"], "open");
    let status = app.get("/v1/sync/status", &w.a1.s.access).await;
    assert_eq!(status.body["open_tasks"], 1, "{}", status.body);

    // Approved evidence feeds the one-time notice: the household register is no longer
    // missing; the ID card (to be retaken) still is.
    let r = app
        .get(&format!("/v1/persons/{p}/notice"), &w.staff.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let missing: Vec<&str> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["evidence_type"].as_str())
        .collect();
    assert!(!missing.contains(&"household_register"), "{missing:?}");
    assert!(missing.contains(&"resident_id_card"), "{missing:?}");
}

#[actix_web::test]
async fn a_signed_commitment_is_bound_and_a_later_change_is_detected() {
    use diesel::prelude::*;
    let w = world().await;
    let app = &w.app;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 91).await;
    let sig = signature_png(300, 120);
    let sig_sha = sha256(&sig);
    let c = new_id();
    let r = push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "commitment",
            &c,
            None,
            json!({ "person_id": p, "template_version": "2026-1", "text_sha256": "d".repeat(64),
                    "signature_sha256": sig_sha, "signed_at": "2026-11-20T03:00:00Z", "place": "华林路1号" }),
        )],
    )
    .await;
    assert_eq!(r[0]["status"], "applied", "{r:?}");
    let res = app
        .client
        .put(format!("{}/v1/attachments/{sig_sha}", app.base))
        .bearer_auth(&w.a1.s.access)
        .body(sig.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), StatusCode::CREATED);

    let r = app
        .get(&format!("/v1/commitments/{c}/binding"), &w.staff.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["intact"], true, "{}", r.body);
    assert_eq!(r.body["signature_is_png"], true);
    assert_eq!(r.body["seal"], r.body["current"]);
    // Staff of the station may fetch the signature (the commitment names it).
    let r2 = app
        .get(&format!("/v1/attachments/{sig_sha}/info"), &w.staff.access)
        .await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.body);

    // Someone changes the signed time behind the server's back (directly in the database).
    let backend = app.config.backend().expect("backend");
    let mut conn = backend.connect().expect("conn");
    use liuqing_schema::tables::records;
    let data: String = records::table
        .filter(records::id.eq(&c))
        .select(records::data)
        .first(&mut conn)
        .expect("record");
    let forged = data.replace("2026-11-20T03:00:00", "2026-11-21T03:00:00");
    assert_ne!(forged, data);
    diesel::update(records::table.filter(records::id.eq(&c)))
        .set(records::data.eq(&forged))
        .execute(&mut conn)
        .expect("forge");
    let r = app
        .get(&format!("/v1/commitments/{c}/binding"), &w.staff.access)
        .await;
    assert_eq!(r.body["intact"], false, "{}", r.body);
    assert_ne!(r.body["seal"], r.body["current"]);
}
