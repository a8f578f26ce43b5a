//! The station's case files over the staff API: a person from first visit to recognition,
//! tiering, obligations and exit; masking and reveal; duplicates; scope on every endpoint;
//! bad input; and the demo district.

use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::sync::{id_number, push_ok, Phone};

struct Station {
    app: TestApp,
    tree: Tree,
    /// Coordinator of community A.
    a1: Phone,
    /// Station staff of station 1 (communities A and B).
    staff: Session,
    /// Station staff of station 2 (community C).
    staff2: Session,
    /// Street supervisor (both stations).
    supervisor: Session,
    /// Coordinator of community C.
    coord_c: Session,
    admin: Session,
}

async fn station() -> Station {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let tree = tree(&app, &admin).await;
    let a1 = Phone::new(
        app.user(&admin, "coord-a1", "coordinator", &[&tree.community_a])
            .await,
    );
    let staff = app
        .user(&admin, "staff-1", "station_staff", &[&tree.station1])
        .await;
    let staff2 = app
        .user(&admin, "staff-2", "station_staff", &[&tree.station2])
        .await;
    let supervisor = app
        .user(&admin, "supervisor", "supervisor", &[&tree.street])
        .await;
    let coord_c = app
        .user(&admin, "coord-c", "coordinator", &[&tree.community_c])
        .await;
    Station {
        app,
        tree,
        a1,
        staff,
        staff2,
        supervisor,
        coord_c,
        admin,
    }
}

/// Creates a record as `who` through the staff API and returns it.
async fn create(app: &TestApp, who: &Session, entity: &str, fields: Value) -> Value {
    let r = app
        .post(
            &format!("/v1/records/{entity}"),
            Some(&who.access),
            json!({ "fields": fields }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{entity}: {}", r.body);
    r.body
}

async fn act(app: &TestApp, who: &Session, recognition: &str, body: Value) -> Reply {
    app.post(
        &format!("/v1/recognitions/{recognition}/actions"),
        Some(&who.access),
        body,
    )
    .await
}

async fn case_file(app: &TestApp, who: &Session, person: &str) -> Value {
    let r = app.get(&format!("/v1/persons/{person}"), &who.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// A household and a person in community A, enrolled by the coordinator's phone at the
/// door, with the six clears; returns (household, person).
async fn enrol_at_the_door(s: &Station, seq: u32, name: &str) -> (String, String) {
    let h = new_id();
    let p = new_id();
    let results = push_ok(
        &s.app,
        &s.a1,
        vec![
            s.a1.upsert("household", &h, None, json!({ "community_id": s.tree.community_a, "address": "华林路8号" })),
            s.a1.upsert("person", &p, None, json!({
                "household_id": h, "name": name,
                "id_number": id_number("19700302", seq), "phone": "13800001234",
                "unemployment_registered_on": "2024-03-01",
            })),
            s.a1.upsert("six_clears", &p, None, json!({
                "person_id": p,
                "basic.education": "junior_high", "basic.health": "healthy", "basic.phone": "13800001234",
                "difficulty.categories": ["older_worker", "long_term_unemployed"],
                "family.members": 3, "family.employed_members": 1, "family.monthly_income": 2000,
                "family.zero_employment": false,
            })),
            s.a1.upsert("visit", &new_id(), None, json!({
                "household_id": h, "started_at": "2026-11-02T09:00:00+08:00",
                "ended_at": "2026-11-02T09:40:00+08:00", "outcome": "met", "persons_seen": [p],
            })),
        ],
    )
    .await;
    for r in &results {
        assert_eq!(r["status"], "applied", "{results:?}");
    }
    (h, p)
}

/// Moves an application's publicity period into the past, as if its working days had
/// passed: the one thing a test cannot wait for.
pub fn publicity_passed(app: &TestApp, recognition: &str) {
    use liuqing_schema::tables::records;
    let backend = liuqing_schema::Backend::from_url(&app.config.database_url).expect("url");
    let mut conn = backend.connect().expect("connect");
    let data: String = records::table
        .filter(records::id.eq(recognition))
        .select(records::data)
        .first(&mut conn)
        .expect("recognition");
    let mut doc: Value = serde_json::from_str(&data).expect("json");
    doc["publicity_started_on"] = json!("2026-01-05");
    doc["publicity_ends_on"] = json!("2026-01-14");
    diesel::update(records::table.filter(records::id.eq(recognition)))
        .set(records::data.eq(doc.to_string()))
        .execute(&mut conn)
        .expect("backdate");
}

#[actix_web::test]
async fn a_station_runs_a_person_from_first_visit_to_exit() {
    let s = station().await;
    let (h, p) = enrol_at_the_door(&s, 11, "王秀英").await;

    // The station sees the person the phone enrolled, six clears partly done.
    let file = case_file(&s.app, &s.staff, &p).await;
    assert_eq!(file["summary"]["status"], "registered");
    assert_eq!(
        file["summary"]["categories"],
        json!(["long_term_unemployed", "older_worker"])
    );
    assert_eq!(file["six_clears"]["sections"]["basic"]["complete"], true);
    assert_eq!(
        file["six_clears"]["sections"]["insurance"]["complete"],
        false
    );
    assert_eq!(file["visits"].as_array().map(Vec::len), Some(1));
    assert_eq!(file["household"]["id"], h);

    // 受理: the application, with the one-time notice of every missing material at once.
    let application = create(
        &s.app,
        &s.staff,
        "recognition",
        json!({
            "person_id": p, "claimed_categories": ["older_worker", "long_term_unemployed"],
        }),
    )
    .await;
    let rid = application["id"].as_str().expect("id").to_string();
    assert_eq!(application["data"]["state"], "received");
    let notice = s
        .app
        .get(&format!("/v1/persons/{p}/notice"), &s.staff.access)
        .await;
    assert_eq!(notice.status, StatusCode::OK, "{}", notice.body);
    let missing: Vec<&str> = notice.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["evidence_type"].as_str())
        .collect();
    assert!(missing.contains(&"household_register"), "{missing:?}");
    assert!(missing.contains(&"resident_id_card"), "{missing:?}");
    assert!(missing.contains(&"employment_card"), "{missing:?}");

    // 初审 → 公示 by the station; the period is counted in working days.
    let r = act(&s.app, &s.staff, &rid, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // 公示 needs every claimed category confirmed and the always-required materials on
    // file. Both categories are derived from the person's data; the materials are not
    // photographed: refused, with exactly what is missing.
    let file = case_file(&s.app, &s.staff, &p).await;
    let standings: Vec<(&str, &str)> = file["eligibility"]
        .as_array()
        .expect("eligibility")
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap_or(""),
                c["standing"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        standings,
        [
            ("long_term_unemployed", "confirmed"),
            ("older_worker", "confirmed")
        ]
    );
    let refused = act(&s.app, &s.staff, &rid, json!({ "action": "publicise" })).await;
    let problem = refused.problem(409, "rules_unmet");
    assert_eq!(
        problem["unmet"],
        json!([{ "rule": "always_required",
                 "reason": "materials every application needs are not on file",
                 "evidence": ["household_register", "resident_id_card", "employment_card"] }])
    );
    // The station saw the originals at its window: it overrides, with a reason, logged.
    let checked = "户口簿、身份证、就业创业证原件已在窗口核验";
    let r = act(
        &s.app,
        &s.staff,
        &rid,
        json!({ "action": "publicise", "override_reason": checked }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["state"], "publicity");
    let last = r.body["data"]["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .expect("history");
    assert_eq!(last["override"]["reason"], checked);
    assert_eq!(last["override"]["unmet"][0]["rule"], "always_required");
    let (started, ends) = (
        r.body["data"]["publicity_started_on"]
            .as_str()
            .unwrap_or(""),
        r.body["data"]["publicity_ends_on"].as_str().unwrap_or(""),
    );
    assert!(ends > started, "{started} .. {ends}");

    // It is on the publicity list, with what is posted and nothing else.
    let list = s.app.get("/v1/publicity", &s.staff.access).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let entry = &list.body["items"][0];
    let mut keys: Vec<&str> = entry
        .as_object()
        .expect("entry")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "age",
            "categories",
            "community",
            "handler",
            "name",
            "publicity_ends_on",
            "publicity_started_on",
            "sex"
        ]
    );
    assert_eq!(entry["name"], "王秀英");
    assert_eq!(entry["handler"], "staff-1");
    assert!(!entry.to_string().contains("13800001234"));

    // 认定 only by the level above, and only after the publicity period.
    act(
        &s.app,
        &s.supervisor,
        &rid,
        json!({ "action": "recognise" }),
    )
    .await
    .problem(409, "publicity_not_over");
    publicity_passed(&s.app, &rid);
    act(&s.app, &s.staff, &rid, json!({ "action": "recognise" }))
        .await
        .problem(403, "forbidden_role");
    // A neighbour objects during publicity; the coordinator records it at the door.
    let objection = new_id();
    let results = push_ok(
        &s.app,
        &s.a1,
        vec![s.a1.upsert(
            "objection",
            &objection,
            None,
            json!({ "person_id": p, "recognition_id": rid, "raised_on": "2026-01-08",
                    "raised_by": "邻居（匿名）", "content": "反映申请人在外地务工" }),
        )],
    )
    .await;
    assert_eq!(results[0]["status"], "applied", "{results:?}");
    // An objection is decided, not deleted; the claim posted is the claim recognised.
    let results = push_ok(
        &s.app,
        &s.a1,
        vec![
            json!({ "mutation_id": new_id(), "entity": "objection", "id": objection, "op": "delete",
                "hlc": s.a1.hlc() }),
        ],
    )
    .await;
    assert_eq!(results[0]["status"], "rejected", "{results:?}");
    let r = s
        .app
        .patch(
            &format!("/v1/records/recognition/{rid}"),
            &s.staff.access,
            json!({ "fields": {}, "set_ops": { "claimed_categories": { "add": ["disabled"] } } }),
        )
        .await;
    let problem = r.problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "claimed_categories");
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("fixed once")),
        "{problem}"
    );
    // No override passes an objection: it must be decided first.
    let r = act(
        &s.app,
        &s.supervisor,
        &rid,
        json!({ "action": "recognise", "override_reason": checked }),
    )
    .await;
    let unmet = r.problem(409, "rules_unmet")["unmet"].clone();
    assert!(
        unmet
            .as_array()
            .expect("unmet")
            .iter()
            .any(|u| u["rule"] == "objection"),
        "{unmet:#}"
    );
    let file = case_file(&s.app, &s.staff, &p).await;
    assert_eq!(file["objections"][0]["data"]["outcome"], "pending");
    let r = s
        .app
        .patch(
            &format!("/v1/records/objection/{objection}"),
            &s.staff.access,
            json!({ "fields": { "outcome": "dismissed", "resolved_on": "2026-01-12",
                    "resolution": "经上门核实，申请人在本地居住，未在外务工" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // 认定 checks again on its own day: still refused without the materials.
    act(
        &s.app,
        &s.supervisor,
        &rid,
        json!({ "action": "recognise" }),
    )
    .await
    .problem(409, "rules_unmet");
    let r = act(
        &s.app,
        &s.supervisor,
        &rid,
        json!({ "action": "recognise", "override_reason": checked }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["data"]["state"], "recognised");
    assert_overrides_logged(&s.app, &rid, 2);
    // A recognised person applies again only once their status ends.
    let again = s
        .app
        .post(
            "/v1/records/recognition",
            Some(&s.staff.access),
            json!({ "fields": { "person_id": p, "claimed_categories": ["older_worker"] } }),
        )
        .await;
    let problem = again.problem(422, "validation_failed");
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("recognised")),
        "{problem}"
    );
    let history = r.body["data"]["history"].as_array().expect("history");
    let states: Vec<&str> = history.iter().filter_map(|e| e["state"].as_str()).collect();
    assert_eq!(
        states,
        ["received", "preliminary_review", "publicity", "recognised"]
    );
    assert_eq!(history[3]["by"], s.supervisor.user["id"]);

    // Tier I assessed; the "131" service is due within three months.
    let today = chrono::Utc::now().date_naive().to_string();
    create(
        &s.app,
        &s.staff,
        "assessment",
        json!({
            "person_id": p, "general_causes": ["年龄偏大"], "tier": "I", "assessed_on": today,
        }),
    )
    .await;
    create(&s.app, &s.staff, "plan", json!({
        "person_id": p, "measures": ["career_guidance", "job_recommendation"], "agreed_on": today,
    }))
    .await;
    let file = case_file(&s.app, &s.staff, &p).await;
    assert_eq!(file["summary"]["status"], "recognised");
    assert_eq!(file["summary"]["tier"], "I");
    assert_eq!(
        file["obligations"]["state"], "on_track",
        "{}",
        file["obligations"]
    );
    let on_track = s
        .app
        .get("/v1/persons?obligation=on_track", &s.staff.access)
        .await;
    assert_eq!(on_track.body["items"][0]["id"], p, "{}", on_track.body);

    // The services, recorded by the station (and by phones through sync alike).
    for kind in [
        "career_guidance",
        "job_recommendation",
        "job_recommendation",
        "job_recommendation",
        "training_recommendation",
    ] {
        create(
            &s.app,
            &s.staff,
            "service_record",
            json!({
                "person_id": p, "kind": kind, "delivered_on": today,
            }),
        )
        .await;
    }
    let file = case_file(&s.app, &s.staff, &p).await;
    assert_eq!(
        file["obligations"]["state"], "done",
        "{}",
        file["obligations"]
    );
    assert_eq!(file["service_records"].as_array().map(Vec::len), Some(5));
    let done = s
        .app
        .get("/v1/persons?obligation=done", &s.staff.access)
        .await;
    assert_eq!(
        done.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        done.body
    );

    // Exit: employed. The phone hears about all of it on its next pull.
    create(
        &s.app,
        &s.staff,
        "exit",
        json!({
            "person_id": p, "reason": "employed", "exit_on": today, "notes": "物业公司保洁岗位",
        }),
    )
    .await;
    let file = case_file(&s.app, &s.staff, &p).await;
    assert_eq!(file["summary"]["status"], "exited");
    assert_eq!(file["exit"]["data"]["reason"], "employed");
    assert!(file["obligations"].is_null());
    let (changes, _) = crate::sync::pull_all(&s.app, &s.a1.s.access, None).await;
    let recognition = changes
        .iter()
        .find(|c| c["id"] == rid)
        .expect("the phone gets the application");
    assert_eq!(recognition["data"]["state"], "recognised");
    assert!(changes.iter().any(|c| c["entity"] == "exit"));
}

#[actix_web::test]
async fn illegal_recognition_actions_name_the_current_state() {
    let s = station().await;
    let (_, p) = enrol_at_the_door(&s, 12, "李强").await;
    let rid = create(
        &s.app,
        &s.staff,
        "recognition",
        json!({ "person_id": p, "claimed_categories": ["older_worker"] }),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = act(&s.app, &s.staff, &rid, json!({ "action": "publicise" })).await;
    let problem = r.problem(409, "illegal_transition");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("received"),
        "{problem}"
    );
    act(&s.app, &s.staff, &rid, json!({ "action": "reject" }))
        .await
        .problem(422, "validation_failed");
    act(&s.app, &s.a1.s, &rid, json!({ "action": "start_review" }))
        .await
        .problem(403, "forbidden_role");
    let r = act(
        &s.app,
        &s.staff,
        &rid,
        json!({ "action": "reject", "reason": "收入高于标准" }),
    )
    .await;
    assert_eq!(r.body["data"]["state"], "rejected", "{}", r.body);
    let r = act(&s.app, &s.staff, &rid, json!({ "action": "start_review" })).await;
    let problem = r.problem(409, "illegal_transition");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("rejected"),
        "{problem}"
    );
    // The lifecycle cannot be bypassed by an edit.
    let r = s
        .app
        .patch(
            &format!("/v1/records/recognition/{rid}"),
            &s.staff.access,
            json!({ "fields": { "state": "recognised" } }),
        )
        .await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "state"
    );
    // Nor through sync from a staff device.
    let staff_device = Phone::new(s.staff.clone());
    let results = push_ok(
        &s.app,
        &staff_device,
        vec![staff_device.upsert("recognition", &rid, None, json!({ "state": "recognised" }))],
    )
    .await;
    assert_eq!(results[0]["status"], "rejected", "{results:?}");
    assert_eq!(results[0]["errors"][0]["field"], "state", "{results:?}");
}

/// Two browser tabs of one staff session edit the same field from the same version: the
/// second is concurrent with the first (its base version says it had not seen it), so the
/// first value is kept as a conflict record, as for two phones.
#[actix_web::test]
async fn two_tabs_of_one_session_editing_one_field_leave_a_conflict() {
    let s = station().await;
    let (_, p) = enrol_at_the_door(&s, 61, "赵六").await;
    let version = case_file(&s.app, &s.staff, &p).await["person"]["version"]
        .as_i64()
        .expect("version");
    let path = format!("/v1/records/person/{p}");
    let edit = |name: &str| {
        s.app.patch(
            &path,
            &s.staff.access,
            json!({ "base_version": version, "fields": { "name": name } }),
        )
    };
    let first = edit("赵六一").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["status"], "applied", "{}", first.body);
    let second = edit("赵六二").await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.body["status"], "merged", "{}", second.body);
    assert_eq!(second.body["record"]["data"]["name"], "赵六二");
    let open = s.app.get("/v1/sync/conflicts", &s.staff.access).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    let listed = open.body["items"].as_array().expect("items");
    assert!(
        listed
            .iter()
            .any(|c| c["field"] == "name" && c["yours"] == "赵六一"),
        "the first tab's value is kept: {}",
        open.body
    );
}

#[actix_web::test]
async fn id_numbers_are_masked_and_revealing_one_is_logged() {
    let s = station().await;
    let (_, p) = enrol_at_the_door(&s, 13, "张伟").await;
    let number = id_number("19700302", 13);
    let file = case_file(&s.app, &s.staff, &p).await;
    let text = file.to_string();
    assert!(!text.contains(&number), "{text}");
    assert!(!text.contains("13800001234"), "{text}");
    assert_eq!(
        file["person"]["data"]["id_number"],
        format!("1101**********{}", &number[14..])
    );
    let list = s.app.get("/v1/persons", &s.staff.access).await;
    assert!(
        !list.body.to_string().contains(&number[10..]),
        "lists carry no ID number"
    );

    // Coordinators and admins may not reveal; staff may, with a reason, and it is logged.
    let body = json!({ "field": "id_number", "reason": "核对身份证原件" });
    s.app
        .post(
            &format!("/v1/persons/{p}/reveal"),
            Some(&s.a1.s.access),
            body.clone(),
        )
        .await
        .problem(403, "forbidden_role");
    s.app
        .post(
            &format!("/v1/persons/{p}/reveal"),
            Some(&s.staff.access),
            json!({ "field": "id_number", "reason": "" }),
        )
        .await
        .problem(422, "validation_failed");
    let r = s
        .app
        .post(
            &format!("/v1/persons/{p}/reveal"),
            Some(&s.staff.access),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["value"], number);
    let r = s
        .app
        .post(
            &format!("/v1/persons/{p}/reveal"),
            Some(&s.supervisor.access),
            json!({ "field": "phone", "reason": "电话回访" }),
        )
        .await;
    assert_eq!(r.body["value"], "13800001234", "{}", r.body);

    let backend = liuqing_schema::Backend::from_url(&s.app.config.database_url).expect("url");
    let mut conn = backend.connect().expect("connect");
    let log = liuqing_schema::audit::for_target(&mut conn, "person", &p).expect("log");
    let reveals: Vec<_> = log.iter().filter(|e| e.action == "reveal").collect();
    assert_eq!(reveals.len(), 2);
    assert_eq!(reveals[0].user_id.as_deref(), s.staff.user["id"].as_str());
    assert_eq!(reveals[0].reason.as_deref(), Some("核对身份证原件"));
    assert!(
        log.iter().any(|e| e.action == "read_person"),
        "case-file reads are logged"
    );

    // Exact lookup by the full number, through the keyed hash.
    let found = s
        .app
        .get(&format!("/v1/persons?id_number={number}"), &s.staff.access)
        .await;
    assert_eq!(found.body["items"][0]["id"], p, "{}", found.body);
    let other = id_number("19700302", 99);
    let none = s
        .app
        .get(&format!("/v1/persons?id_number={other}"), &s.staff.access)
        .await;
    assert_eq!(none.body["items"], json!([]));
}

#[actix_web::test]
async fn an_id_number_is_enrolled_once_and_the_409_names_the_community() {
    let s = station().await;
    let (_, _) = enrol_at_the_door(&s, 14, "赵敏").await;
    // Station 2 enrols the same person in its own community.
    let h = create(
        &s.app,
        &s.staff2,
        "household",
        json!({ "community_id": s.tree.community_c, "address": "湖滨路1号" }),
    )
    .await;
    let number = id_number("19700302", 14);
    let r = s
        .app
        .post(
            "/v1/records/person",
            Some(&s.staff2.access),
            json!({ "fields": {
                "household_id": h["id"], "name": "赵敏", "id_number": number,
            }}),
        )
        .await;
    let problem = r.problem(409, "duplicate_person");
    let detail = problem["detail"].as_str().unwrap_or("");
    assert!(detail.contains("华林社区"), "{detail}");
    assert!(!detail.contains(&number), "{detail}");
    assert!(detail.contains(&number[14..]), "{detail}");
}

#[actix_web::test]
async fn possible_duplicates_and_exit_candidates_are_listed_for_staff() {
    let s = station().await;
    let (_, p1) = enrol_at_the_door(&s, 15, "陈静").await;
    let (_, p2) = enrol_at_the_door(&s, 16, "陈静二").await;
    let r = s.app.get("/v1/duplicates", &s.staff.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let group = &r.body["items"][0];
    assert_eq!(group["reason"], "same_phone");
    let ids: Vec<&str> = group["persons"]
        .as_array()
        .expect("persons")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(
        ids.contains(&p1.as_str()) && ids.contains(&p2.as_str()),
        "{ids:?}"
    );
    // Station 2 sees neither.
    let r = s.app.get("/v1/duplicates", &s.staff2.access).await;
    assert_eq!(r.body["items"], json!([]));

    // Both enrolled a year ago and last seen eight months ago; p1 is recognised, p2 only
    // registered: only a recognised person has assistance to exit from.
    {
        use liuqing_schema::tables::persons_index;
        let backend = liuqing_schema::Backend::from_url(&s.app.config.database_url).expect("url");
        let mut conn = backend.connect().expect("connect");
        for (person, status) in [(&p1, "recognised"), (&p2, "registered")] {
            diesel::update(persons_index::table.filter(persons_index::id.eq(person)))
                .set((
                    persons_index::enrolled_on.eq("2025-09-01"),
                    persons_index::last_contact_on.eq("2026-03-01"),
                    persons_index::status.eq(status),
                ))
                .execute(&mut conn)
                .expect("backdate");
        }
    }
    let r = s.app.get("/v1/exit-candidates", &s.staff.access).await;
    let ids: Vec<&str> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, [p1.as_str()], "{}", r.body);
    assert_eq!(r.body["items"][0]["reason"], "no_contact_six_months");
    assert_eq!(
        r.body["items"][0]["since"], "2026-09-01",
        "six months after the contact"
    );
    assert_eq!(r.body["items"][0]["placement_id"], Value::Null);
    let r = s.app.get("/v1/exit-candidates", &s.staff2.access).await;
    assert_eq!(r.body["items"], json!([]));
}

#[actix_web::test]
async fn zero_employment_households_are_judged_by_their_month() {
    let s = station().await;
    let month = |d: &str| d[..7].to_string();
    let today = chrono::Utc::now().date_naive();
    let this_month = today.format("%Y-%m-01").to_string();
    // Found last month and never cleared; found and cleared this month; found this month.
    let last_month = (today - chrono::Duration::days(40))
        .format("%Y-%m-15")
        .to_string();
    let households = [
        json!({ "zero_employment": true, "zero_employment_found_on": last_month }),
        json!({ "zero_employment": true, "zero_employment_found_on": this_month, "zero_employment_cleared_on": this_month }),
        json!({ "zero_employment": true, "zero_employment_found_on": this_month }),
        json!({ "zero_employment": false }),
    ];
    let mut ids = Vec::new();
    for (i, extra) in households.iter().enumerate() {
        let mut fields =
            json!({ "community_id": s.tree.community_a, "address": format!("零就业{i}号") });
        for (k, v) in extra.as_object().expect("fields") {
            fields[k] = v.clone();
        }
        ids.push(
            create(&s.app, &s.staff, "household", fields).await["id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    let r = s
        .app
        .get(
            &format!("/v1/zero-employment?month={}", month(&this_month)),
            &s.staff.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let standing = |id: &str| {
        r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|h| h["id"] == id)
            .map(|h| h["standing"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(standing(&ids[0]).as_deref(), Some("open_overdue"));
    assert_eq!(standing(&ids[1]).as_deref(), Some("cleared_in_time"));
    assert_eq!(standing(&ids[2]).as_deref(), Some("open"));
    assert_eq!(standing(&ids[3]), None);
    assert_eq!(r.body["open"], 2);
    s.app
        .get("/v1/zero-employment?month=2026-13", &s.staff.access)
        .await
        .problem(422, "validation_failed");
    let r = s.app.get("/v1/zero-employment", &s.staff2.access).await;
    assert_eq!(r.body["items"], json!([]));
}

#[actix_web::test]
async fn lists_search_filter_and_page_without_gaps() {
    let s = station().await;
    let names = ["甲一", "甲二", "乙三", "乙四", "丙五", "丙六", "丁七"];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (_, p) = enrol_at_the_door(&s, 20 + i as u32, name).await;
        ids.push(p);
    }
    // Pages of 3 by name: every person once, in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let path = match &cursor {
            Some(c) => format!("/v1/persons?limit=3&cursor={c}"),
            None => "/v1/persons?limit=3".to_string(),
        };
        let r = s.app.get(&path, &s.staff.access).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for item in r.body["items"].as_array().expect("items") {
            seen.push(item["name"].as_str().expect("name").to_string());
        }
        cursor = r.body["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected);

    let r = s
        .app
        .get("/v1/persons?name=%E4%B9%99", &s.staff.access)
        .await; // 乙
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.body
    );
    let r = s.app.get("/v1/persons?name=%25", &s.staff.access).await; // a literal %
    assert_eq!(r.body["items"], json!([]), "{}", r.body);
    let r = s
        .app
        .get(
            "/v1/persons?category=older_worker&status=registered&sort=recent&limit=2",
            &s.staff.access,
        )
        .await;
    assert_eq!(
        r.body["items"][0]["id"], ids[6],
        "most recent first: {}",
        r.body
    );
    let r = s
        .app
        .get("/v1/persons?category=disabled", &s.staff.access)
        .await;
    assert_eq!(r.body["items"], json!([]));
    let r = s.app.get("/v1/households?limit=2", &s.staff.access).await;
    assert_eq!(r.body["items"].as_array().map(Vec::len), Some(2));
    assert!(r.body["next_cursor"].is_string());
}

#[actix_web::test]
async fn every_casefile_endpoint_keeps_to_the_callers_scope() {
    let s = station().await;
    let (h, p) = enrol_at_the_door(&s, 30, "周杰").await;
    let rid = create(
        &s.app,
        &s.staff,
        "recognition",
        json!({ "person_id": p, "claimed_categories": ["older_worker"] }),
    )
    .await["id"]
        .as_str()
        .expect("id")
        .to_string();
    // Station 2's staff and community C's coordinator: the records do not exist for them.
    for outsider in [&s.staff2, &s.coord_c] {
        for path in [
            format!("/v1/persons/{p}"),
            format!("/v1/persons/{p}/notice"),
            format!("/v1/households/{h}"),
            format!("/v1/records/person/{p}"),
            format!("/v1/records/recognition/{rid}"),
        ] {
            s.app
                .get(&path, &outsider.access)
                .await
                .problem(404, "not_found");
        }
        for path in [
            "/v1/persons",
            "/v1/households",
            "/v1/duplicates",
            "/v1/exit-candidates",
            "/v1/publicity",
        ] {
            let r = s.app.get(path, &outsider.access).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
            assert_eq!(r.body["items"], json!([]), "{path}");
        }
    }
    s.app
        .post(
            &format!("/v1/persons/{p}/reveal"),
            Some(&s.staff2.access),
            json!({ "field": "id_number", "reason": "试图查看" }),
        )
        .await
        .problem(404, "not_found");
    act(&s.app, &s.staff2, &rid, json!({ "action": "start_review" }))
        .await
        .problem(404, "not_found");
    s.app
        .patch(
            &format!("/v1/records/person/{p}"),
            &s.staff2.access,
            json!({ "fields": { "name": "改名" } }),
        )
        .await
        .problem(404, "not_found");
    // Writing into another station's community is refused by the engine's placement.
    s.app
        .post(
            "/v1/records/household",
            Some(&s.staff2.access),
            json!({ "fields": { "community_id": s.tree.community_a, "address": "x" } }),
        )
        .await
        .problem(422, "validation_failed");
    // A coordinator reads their own community's files; only staff write through REST.
    let r = s.app.get(&format!("/v1/persons/{p}"), &s.a1.s.access).await;
    assert_eq!(r.status, StatusCode::OK);
    s.app
        .post(
            "/v1/records/household",
            Some(&s.a1.s.access),
            json!({ "fields": { "community_id": s.tree.community_a, "address": "x" } }),
        )
        .await
        .problem(403, "forbidden_role");
    // Admins run the system, not the cases.
    s.app
        .get("/v1/persons", &s.admin.access)
        .await
        .problem(403, "forbidden_role");
    s.app
        .get(&format!("/v1/persons/{p}"), &s.admin.access)
        .await
        .problem(403, "forbidden_role");
}

#[actix_web::test]
async fn bad_input_is_a_422_naming_the_field() {
    let s = station().await;
    let (h, p) = enrol_at_the_door(&s, 40, "吴涛").await;
    let good = id_number("19800101", 41);
    let mut wrong_check = good.clone();
    let last = if good.ends_with('0') { '1' } else { '0' };
    wrong_check.replace_range(17.., &last.to_string());
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "person",
            json!({ "household_id": h, "name": "x", "id_number": wrong_check }),
            "id_number",
        ),
        (
            "person",
            json!({ "household_id": h, "name": "x", "id_number": id_number("20991231", 1) }),
            "id_number",
        ),
        (
            "person",
            json!({ "household_id": h, "name": "x", "phone": "12345" }),
            "phone",
        ),
        (
            "person",
            json!({ "household_id": h, "name": "x", "shoe_size": 42 }),
            "shoe_size",
        ),
        (
            "recognition",
            json!({ "person_id": p, "claimed_categories": ["rich"] }),
            "claimed_categories",
        ),
        (
            "assessment",
            json!({ "person_id": p, "tier": "IV", "assessed_on": "2026-11-01" }),
            "tier",
        ),
        (
            "exit",
            json!({ "person_id": p, "reason": "bored", "exit_on": "2026-11-01" }),
            "reason",
        ),
        (
            "visit",
            json!({ "household_id": h, "started_at": "2026-11-02T10:00:00+08:00",
                          "ended_at": "2026-11-02T09:00:00+08:00", "outcome": "met" }),
            "ended_at",
        ),
        (
            "household",
            json!({ "community_id": s.tree.community_a, "address": "y",
                              "zero_employment_found_on": "2026-11-10", "zero_employment_cleared_on": "2026-11-01" }),
            "zero_employment_cleared_on",
        ),
        (
            "service_record",
            json!({ "person_id": p, "kind": "career_guidance", "delivered_on": "2026-02-30" }),
            "delivered_on",
        ),
    ];
    for (entity, fields, field) in cases {
        let r = s
            .app
            .post(
                &format!("/v1/records/{entity}"),
                Some(&s.staff.access),
                json!({ "fields": fields }),
            )
            .await;
        let problem = r.problem(422, "validation_failed");
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(named.contains(&field), "{entity} {field}: {problem}");
    }
    let r = s
        .app
        .post(
            "/v1/records/spaceship",
            Some(&s.staff.access),
            json!({ "fields": {} }),
        )
        .await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "entity"
    );
    let r = s.app.get("/v1/persons?tier=IV", &s.staff.access).await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "tier"
    );
    let r = s.app.get("/v1/persons?colour=red", &s.staff.access).await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "colour"
    );
    let r = s
        .app
        .get("/v1/persons?cursor=garbage", &s.staff.access)
        .await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "cursor"
    );
    let r = s.app.get("/v1/persons?limit=0", &s.staff.access).await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "limit"
    );
    let r = s
        .app
        .get(
            &format!("/v1/persons?id_number={wrong_check}"),
            &s.staff.access,
        )
        .await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "id_number"
    );
    // Nothing half-written: the rejected household is not there.
    let r = s.app.get("/v1/households?address=y", &s.staff.access).await;
    assert_eq!(r.body["items"], json!([]));
}

#[actix_web::test]
async fn the_demo_district_is_ready_to_try() {
    let data = tempfile::tempdir().expect("dir");
    let config = test_config(data.path());
    let out = load_demo(&config, data.path(), "demo password 1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("200 households"), "{stdout}");
    // A second load is refused, never doubled.
    let again = load_demo(&config, data.path(), "demo password 1");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already loaded"));

    let app = TestApp::start(config, data).await;
    let c1 = app.login("demo-coord-1", "demo password 1").await;
    let c2 = app.login("demo-coord-2", "demo password 1").await;
    let staff = app.login("demo-staff-1", "demo password 1").await;
    let sup = app.login("demo-supervisor", "demo password 1").await;
    // Both subsidies in every state of the chain, each step by its level.
    for kind in ["flexible_insurance", "public_welfare_job"] {
        let r = app
            .get(&format!("/v1/subsidies?kind={kind}"), &sup.access)
            .await;
        let states: std::collections::BTreeSet<&str> = r.body["items"]
            .as_array()
            .expect("items")
            .iter()
            // (As created, an application has no state yet: it is received.)
            .map(|a| a["data"]["state"].as_str().unwrap_or("received"))
            .collect();
        assert_eq!(
            states.into_iter().collect::<Vec<_>>(),
            [
                "district_approval",
                "funded",
                "received",
                "returned",
                "station_review",
                "stopped",
                "street_review"
            ],
            "{kind}: {}",
            r.body
        );
    }
    let street = app.login("demo-street-1", "demo password 1").await;
    let r = app
        .get("/v1/subsidies?state=street_review", &street.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // demo-coord-1 and demo-coord-2 share a community and see the same households.
    let h1 = app.get("/v1/households?limit=200", &c1.access).await;
    let h2 = app.get("/v1/households?limit=200", &c2.access).await;
    assert_eq!(h1.body["items"], h2.body["items"]);
    assert_eq!(h1.body["items"].as_array().map(Vec::len), Some(25));
    // Cases in every state, across the district.
    for status in ["registered", "applied", "recognised", "rejected", "exited"] {
        let r = app
            .get(&format!("/v1/persons?status={status}&limit=1"), &sup.access)
            .await;
        assert_eq!(
            r.body["items"].as_array().map(Vec::len),
            Some(1),
            "{status}: {}",
            r.body
        );
    }
    for obligation in ["done", "on_track", "overdue"] {
        let r = app
            .get(
                &format!("/v1/persons?obligation={obligation}&limit=1"),
                &sup.access,
            )
            .await;
        assert_eq!(
            r.body["items"].as_array().map(Vec::len),
            Some(1),
            "{obligation}: {}",
            r.body
        );
    }
    for path in ["/v1/publicity", "/v1/duplicates", "/v1/exit-candidates"] {
        let r = app.get(path, &sup.access).await;
        assert!(
            !r.body["items"].as_array().expect("items").is_empty(),
            "{path}"
        );
    }
    let r = app
        .get("/v1/households?zero_employment_open=true", &staff.access)
        .await;
    assert!(!r.body["items"].as_array().expect("items").is_empty());
    demo_keeps_the_rules(&app, &sup).await;
    crate::supervision::demo_reports_agree_with_the_records(&app, &sup).await;
    app.stop().await;
}

/// Every recognised person of the demo, read through the API as the supervisor, keeps
/// the guide's rules: each claimed category confirmed, no material missing, a signed and
/// sealed commitment, a signed plan; and every six clears agrees with its person.
async fn demo_keeps_the_rules(app: &TestApp, sup: &Session) {
    let mut recognised = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/persons?status=recognised&limit=200&cursor={c}"),
            None => "/v1/persons?status=recognised&limit=200".to_string(),
        };
        let page = app.get(&path, &sup.access).await;
        for p in page.body["items"].as_array().expect("items") {
            recognised.push(p["id"].as_str().expect("id").to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert!(recognised.len() > 50, "{}", recognised.len());
    for id in &recognised {
        let file = case_file(app, sup, id).await;
        let checks = file["eligibility"].as_array().expect("eligibility");
        assert!(!checks.is_empty(), "{id}: no category");
        for check in checks {
            assert_eq!(check["standing"], "confirmed", "{id}: {check}");
        }
        assert_eq!(file["missing_materials"]["items"], json!([]), "{id}");
        let commitment = &file["commitments"][0];
        let cid = commitment["id"].as_str().expect("a commitment");
        let binding = app
            .get(&format!("/v1/commitments/{cid}/binding"), &sup.access)
            .await;
        assert_eq!(binding.body["intact"], true, "{id}: {}", binding.body);
        assert_eq!(binding.body["signature_received"], true, "{id}");
        assert!(file["plan"]["data"]["signature_sha256"].is_string(), "{id}");
        assert!(!file["service_records"]
            .as_array()
            .expect("services")
            .is_empty());
        assert_eq!(
            file["six_clears"]["record"]["data"]["basic"]["education"],
            file["person"]["data"]["education"],
            "{id}"
        );
    }
}

/// The access log holds `n` gate overrides of the application.
fn assert_overrides_logged(app: &TestApp, recognition: &str, n: usize) {
    use liuqing_schema::tables::audit_log;
    let backend = liuqing_schema::Backend::from_url(&app.config.database_url).expect("url");
    let mut conn = backend.connect().expect("connect");
    let reasons: Vec<Option<String>> = audit_log::table
        .filter(audit_log::action.eq("gate_override"))
        .filter(audit_log::target_id.eq(recognition))
        .select(audit_log::reason)
        .load(&mut conn)
        .expect("access log");
    assert_eq!(reasons.len(), n, "{reasons:?}");
    assert!(reasons
        .iter()
        .all(|r| r.as_deref().is_some_and(|r| r.contains("核验"))));
}

/// The guide's rules refuse a step with everything that is missing, at once: no claimed
/// category, a derived category the facts deny, evidence that proves nothing yet.
#[actix_web::test]
async fn recognition_steps_are_refused_with_every_unmet_rule() {
    let s = station().await;
    let app = &s.app;
    let household = create(
        app,
        &s.staff,
        "household",
        json!({ "community_id": s.tree.community_a, "address": "鼓楼路9号" }),
    )
    .await;
    // A man of 35, registered unemployed ten months ago.
    let person = create(
        app,
        &s.staff,
        "person",
        json!({ "household_id": household["id"], "name": "陈明",
                "id_number": id_number("19910302", 13), "unemployment_registered_on": "2026-02-01" }),
    )
    .await;
    let p = person["id"].as_str().expect("id");

    // 初审 needs a claimed category.
    let empty = create(app, &s.staff, "recognition", json!({ "person_id": p })).await;
    let rid = empty["id"].as_str().expect("id");
    let r = act(app, &s.staff, rid, json!({ "action": "start_review" })).await;
    assert_eq!(
        r.problem(409, "rules_unmet")["unmet"][0]["rule"],
        "claimed_category"
    );
    // Rejecting needs nothing but a reason.
    let r = act(
        app,
        &s.staff,
        rid,
        json!({ "action": "reject", "reason": "未申报类别" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // A rejected applicant waits (reapply_wait_days, 30) before applying again.
    let r = app
        .post(
            "/v1/records/recognition",
            Some(&s.staff.access),
            json!({ "fields": { "person_id": p, "claimed_categories": ["disabled"] } }),
        )
        .await;
    let problem = r.problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "person_id", "{problem}");
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("rejected on")),
        "{problem}"
    );

    // Another man of 35 claims what the facts deny, and a certificate not on file.
    let person = create(
        app,
        &s.staff,
        "person",
        json!({ "household_id": household["id"], "name": "陈亮",
                "id_number": id_number("19910302", 15), "unemployment_registered_on": "2026-02-01" }),
    )
    .await;
    let p = person["id"].as_str().expect("id");
    let claim = create(
        app,
        &s.staff,
        "recognition",
        json!({ "person_id": p,
                "claimed_categories": ["older_worker", "long_term_unemployed", "disabled"] }),
    )
    .await;
    let rid = claim["id"].as_str().expect("id");
    let r = act(app, &s.staff, rid, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = act(app, &s.staff, rid, json!({ "action": "publicise" })).await;
    let unmet = r.problem(409, "rules_unmet")["unmet"].clone();
    let rows: Vec<(&str, &str, &str)> = unmet
        .as_array()
        .expect("unmet")
        .iter()
        .map(|u| {
            (
                u["rule"].as_str().unwrap_or(""),
                u["category"].as_str().unwrap_or(""),
                u["standing"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("category", "disabled", "evidence_missing"),
            ("category", "long_term_unemployed", "not_eligible"),
            ("category", "older_worker", "not_eligible"),
            ("always_required", "", ""),
        ],
        "{unmet:#}"
    );
    assert_eq!(unmet[0]["evidence"], json!(["disability_certificate"]));
    assert!(
        unmet[2]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("needs 50")),
        "{unmet:#}"
    );
    // The case file says the same, per category.
    let file = case_file(app, &s.staff, p).await;
    assert_eq!(file["eligibility"][2]["standing"], "not_eligible");

    // An override needs a real reason; nothing changed meanwhile.
    let r = act(
        app,
        &s.staff,
        rid,
        json!({ "action": "publicise", "override_reason": "ok" }),
    )
    .await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "override_reason"
    );
    // Coordinators take no step at all, override or not.
    let r = app
        .post(
            &format!("/v1/recognitions/{rid}/actions"),
            Some(&s.a1.s.access),
            json!({ "action": "publicise", "override_reason": "我确认材料齐全，请公示" }),
        )
        .await;
    r.problem(403, "forbidden_role");
    let file = case_file(app, &s.staff, p).await;
    let latest = file["recognitions"]
        .as_array()
        .and_then(|r| r.last())
        .cloned()
        .expect("application");
    assert_eq!(latest["data"]["state"], "preliminary_review");
}

/// Evidence proves something only if its photo arrived and it has not expired: such
/// evidence cannot be approved, and an approved certificate past its date does not count.
#[actix_web::test]
async fn expired_or_unsent_evidence_is_not_approved_and_does_not_count() {
    let s = station().await;
    let app = &s.app;
    let (_, p) = enrol_at_the_door(&s, 31, "林芳").await;
    let photo = crate::images::jpeg(64, 48, 31);
    let sha = crate::images::sha256(&photo);
    let sent = crate::attachments::put_image(app, &s.a1.s.access, &photo).await;
    assert!(sent.status.is_success(), "{}", sent.body);
    let expired = new_id();
    push_ok(
        app,
        &s.a1,
        vec![s.a1.upsert(
            "evidence",
            &expired,
            None,
            json!({ "person_id": p, "evidence_type": "low_income_certificate",
                    "attachment_sha256": sha, "valid_until": "2020-01-01" }),
        )],
    )
    .await;
    app.post(
        &format!("/v1/review/evidence/{expired}/decision"),
        Some(&s.staff.access),
        json!({ "decision": "approved" }),
    )
    .await
    .problem(409, "evidence_expired");
    let application = create(
        app,
        &s.staff,
        "recognition",
        json!({ "person_id": p, "claimed_categories": ["low_income_family"] }),
    )
    .await;
    let file = case_file(app, &s.staff, &p).await;
    assert_eq!(file["eligibility"][0]["standing"], "evidence_missing");
    assert_eq!(
        file["eligibility"][0]["missing"],
        json!(["low_income_certificate"])
    );
    let notice: Vec<&str> = file["missing_materials"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["evidence_type"].as_str())
        .collect();
    assert!(notice.contains(&"low_income_certificate"), "{notice:?}");
    assert_eq!(application["data"]["state"], "received");
}

/// ID numbers must start with a province code and phones be in a mobile range; what
/// Chinese input methods type in full width is read as the digits it shows.
#[actix_web::test]
async fn id_numbers_and_phones_are_checked_against_their_references() {
    let s = station().await;
    let app = &s.app;
    let household = create(
        app,
        &s.staff,
        "household",
        json!({ "community_id": s.tree.community_a, "address": "鼓楼路10号" }),
    )
    .await;
    let person = |id_number: String, phone: &str| {
        json!({ "fields": { "household_id": household["id"], "name": "郑华",
                "id_number": id_number, "phone": phone } })
    };
    let bad_province = id_number("19800101", 41).replacen("11", "99", 1);
    let r = app
        .post(
            "/v1/records/person",
            Some(&s.staff.access),
            person(bad_province, "13800001234"),
        )
        .await;
    let problem = r.problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "id_number", "{problem}");
    let r = app
        .post(
            "/v1/records/person",
            Some(&s.staff.access),
            person(id_number("19800101", 42), "14012345678"),
        )
        .await;
    assert_eq!(
        r.problem(422, "validation_failed")["errors"][0]["field"],
        "phone"
    );

    // Full width, as a Chinese keyboard types it.
    let plain = id_number("19800101", 43);
    let wide: String = plain
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap_or(c))
        .collect();
    let r = app
        .post(
            "/v1/records/person",
            Some(&s.staff.access),
            person(wide, "１３８００００１２３４"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["data"]["phone"], "138****1234");
    let found = app
        .get(&format!("/v1/persons?id_number={plain}"), &s.staff.access)
        .await;
    assert_eq!(found.body["items"][0]["id"], r.body["id"], "{}", found.body);
}

/// The records of a case keep to the guide: one open application, tiers and plans only
/// for recognised persons, no service dated in the future, exits checked against their
/// facts and never twice.
#[actix_web::test]
async fn case_records_keep_to_the_guide() {
    let s = station().await;
    let app = &s.app;
    let (_, p) = enrol_at_the_door(&s, 41, "黄丽").await;
    let refused = |r: Reply, field: &str| {
        let problem = r.problem(422, "validation_failed").clone();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        problem["errors"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let token = s.staff.access.as_str();
    let post = move |entity: &'static str, fields: Value| async move {
        let path = format!("/v1/records/{entity}");
        app.post(&path, Some(token), json!({ "fields": fields }))
            .await
    };
    let today = chrono::Utc::now().date_naive();

    // A tier for a person who is not recognised.
    let why = refused(
        post(
            "assessment",
            json!({ "person_id": p, "tier": "II", "assessed_on": today.to_string() }),
        )
        .await,
        "person_id",
    );
    assert!(why.contains("not recognised"), "{why}");
    // A service dated next month.
    let later = today + chrono::Days::new(40);
    refused(
        post(
            "service_record",
            json!({ "person_id": p, "kind": "career_guidance",
              "delivered_on": later.to_string() }),
        )
        .await,
        "delivered_on",
    );
    // "No contact for six months" for a person enrolled today.
    let why = refused(
        post(
            "exit",
            json!({ "person_id": p, "reason": "no_contact_six_months",
              "exit_on": today.to_string() }),
        )
        .await,
        "reason",
    );
    assert!(why.contains("six months"), "{why}");
    // One application at a time.
    let first = create(
        app,
        &s.staff,
        "recognition",
        json!({ "person_id": p, "claimed_categories": ["older_worker"] }),
    )
    .await;
    assert_eq!(first["data"]["state"], "received");
    let why = refused(
        post(
            "recognition",
            json!({ "person_id": p, "claimed_categories": ["disabled"] }),
        )
        .await,
        "person_id",
    );
    assert!(why.contains("already open"), "{why}");
    // One exit.
    create(
        app,
        &s.staff,
        "exit",
        json!({ "person_id": p, "reason": "employed", "exit_on": today.to_string() }),
    )
    .await;
    let why = refused(
        post(
            "exit",
            json!({ "person_id": p, "reason": "employed", "exit_on": today.to_string() }),
        )
        .await,
        "person_id",
    );
    assert!(why.contains("exited already"), "{why}");
}

/// An application still in initial review (初审) past its deadline, 7 working days after
/// 受理, is listed as overdue; one within it is not.
#[actix_web::test]
async fn initial_reviews_past_their_deadline_are_listed() {
    use liuqing_schema::tables::records;
    let s = station().await;
    let app = &s.app;
    let (_, late) = enrol_at_the_door(&s, 51, "周强").await;
    let (_, fresh) = enrol_at_the_door(&s, 52, "周敏").await;
    let old = create(
        app,
        &s.staff,
        "recognition",
        json!({ "person_id": late, "claimed_categories": ["older_worker"] }),
    )
    .await;
    create(
        app,
        &s.staff,
        "recognition",
        json!({ "person_id": fresh, "claimed_categories": ["older_worker"] }),
    )
    .await;
    let rid = old["id"].as_str().expect("id");
    // Received on Monday 2026-11-02: seven working days later is Wednesday 2026-11-11.
    {
        let backend = liuqing_schema::Backend::from_url(&app.config.database_url).expect("url");
        let mut conn = backend.connect().expect("connect");
        let data: String = records::table
            .filter(records::id.eq(rid))
            .select(records::data)
            .first(&mut conn)
            .expect("application");
        let mut doc: Value = serde_json::from_str(&data).expect("json");
        doc["received_on"] = json!("2026-11-02");
        diesel::update(records::table.filter(records::id.eq(rid)))
            .set(records::data.eq(doc.to_string()))
            .execute(&mut conn)
            .expect("backdate");
    }
    let r = app.get("/v1/reviews/overdue", &s.staff.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", r.body);
    assert_eq!(items[0]["application_id"], rid);
    assert_eq!(items[0]["person_id"], late.as_str());
    assert_eq!(items[0]["review_due_on"], "2026-11-11");
    assert_eq!(items[0]["state"], "received");
    // Another station sees none of it.
    let r = app.get("/v1/reviews/overdue", &s.staff2.access).await;
    assert_eq!(r.body["items"], json!([]));
}

/// A placement is followed up at 1, 3 and 6 months: tasks on the coordinator's phone, and
/// the ones past their day listed as overdue.
#[actix_web::test]
async fn a_placement_is_followed_up_at_set_months() {
    let s = station().await;
    let app = &s.app;
    let (_, placed) = enrol_at_the_door(&s, 61, "吴刚").await;
    let (_, other) = enrol_at_the_door(&s, 62, "吴芳").await;
    let today = chrono::Utc::now().date_naive();
    let exit_on = today - chrono::Days::new(100);
    create(
        app,
        &s.staff,
        "exit",
        json!({ "person_id": placed, "reason": "employed", "exit_on": exit_on.to_string() }),
    )
    .await;
    create(
        app,
        &s.staff,
        "exit",
        json!({ "person_id": other, "reason": "ended_job_search", "exit_on": today.to_string() }),
    )
    .await;

    let (changes, _) = crate::sync::pull_all(app, &s.a1.s.access, None).await;
    let mut due: Vec<(String, String)> = changes
        .iter()
        .filter(|c| c["entity"] == "task" && c["data"]["kind"] == "follow_up_due")
        .map(|c| {
            assert_eq!(c["data"]["assignee_id"], s.a1.s.user["id"], "{c}");
            assert_eq!(c["data"]["person_id"], placed.as_str(), "{c}");
            (
                c["data"]["due_on"].as_str().unwrap_or("").to_string(),
                c["data"]["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    due.sort();
    let month = |m| {
        exit_on
            .checked_add_months(chrono::Months::new(m))
            .expect("date")
            .to_string()
    };
    assert_eq!(
        due,
        [1, 3, 6].map(|m| (month(m), "open".to_string())).to_vec(),
        "{changes:#?}"
    );

    let r = app.get("/v1/tasks/overdue", &s.staff.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let overdue: Vec<&str> = r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["data"]["due_on"].as_str())
        .collect();
    assert_eq!(overdue, [month(1), month(3)], "{}", r.body);
    let r = app.get("/v1/tasks/overdue", &s.staff2.access).await;
    assert_eq!(r.body["items"], json!([]));
}

/// The station may ask for an on-site check (上门核实) of an application: a task for the
/// coordinator, open until the check is done, holds publicity back.
#[actix_web::test]
async fn an_on_site_check_asked_for_holds_the_application_until_done() {
    let s = station().await;
    let app = &s.app;
    let (h, p) = enrol_at_the_door(&s, 71, "郭敏").await;
    let application = create(
        app,
        &s.staff,
        "recognition",
        json!({ "person_id": p, "claimed_categories": ["older_worker"] }),
    )
    .await;
    let rid = application["id"].as_str().expect("id");
    let r = act(app, &s.staff, rid, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let task = create(
        app,
        &s.staff,
        "task",
        json!({
        "household_id": h, "person_id": p, "assignee_id": s.a1.s.user["id"],
        "kind": "site_check", "title": "上门核实家庭情况", "recognition_id": rid }),
    )
    .await;
    let rules = |r: &Reply| -> Vec<String> {
        r.body["unmet"]
            .as_array()
            .map(|u| {
                u.iter()
                    .filter_map(|x| x["rule"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let r = act(app, &s.staff, rid, json!({ "action": "publicise" })).await;
    r.problem(409, "rules_unmet");
    assert!(rules(&r).contains(&"site_check".to_string()), "{}", r.body);

    // Marking the task done, or deleting it from the phone, does not pass the check: only
    // the visit does.
    let tid = task["id"].as_str().expect("task id");
    let version = task["version"].as_i64().expect("version");
    let results = push_ok(
        app,
        &s.a1,
        vec![
            s.a1.upsert("task", tid, Some(version), json!({ "state": "done" })),
            json!({ "mutation_id": new_id(), "entity": "task", "id": tid, "op": "delete",
                "base_version": version, "hlc": s.a1.hlc() }),
        ],
    )
    .await;
    assert_eq!(results[0]["status"], "applied", "{results:?}");
    assert_eq!(results[1]["status"], "rejected", "{results:?}");
    assert_eq!(results[1]["reason"], "forbidden", "{results:?}");
    let r = act(app, &s.staff, rid, json!({ "action": "publicise" })).await;
    assert!(rules(&r).contains(&"site_check".to_string()), "{}", r.body);

    // The coordinator goes and records what was found.
    let results = push_ok(
        app,
        &s.a1,
        vec![s.a1.upsert(
            "visit",
            &new_id(),
            None,
            json!({
                "household_id": h, "started_at": "2026-11-20T09:00:00+08:00",
                "ended_at": "2026-11-20T09:30:00+08:00", "outcome": "met", "persons_seen": [p],
                "purpose": "site_check", "recognition_id": rid,
                "findings": "本人在家，家庭情况与申报一致" }),
        )],
    )
    .await;
    assert!(
        results.iter().all(|r| r["status"] == "applied"),
        "{results:?}"
    );
    let r = act(app, &s.staff, rid, json!({ "action": "publicise" })).await;
    assert!(!rules(&r).contains(&"site_check".to_string()), "{}", r.body);
}

/// A certificate that expires while its case is open asks its coordinator for the current
/// one: a task raised by the server's upkeep, once, whatever the number of runs.
#[actix_web::test]
async fn an_expired_certificate_of_an_open_case_raises_a_task_once() {
    let s = station().await;
    let app = &s.app;
    let (_, p) = enrol_at_the_door(&s, 81, "钱丽").await;
    let photo = crate::images::jpeg(64, 48, 81);
    let sha = crate::images::sha256(&photo);
    let sent = crate::attachments::put_image(app, &s.a1.s.access, &photo).await;
    assert!(sent.status.is_success(), "{}", sent.body);
    let evidence = new_id();
    approved_certificate(
        app,
        &s.a1,
        &s.staff,
        &p,
        &evidence,
        "low_income_certificate",
        &sha,
    )
    .await;
    create(
        app,
        &s.staff,
        "recognition",
        json!({ "person_id": p, "claimed_categories": ["low_income_family"] }),
    )
    .await;
    // Time passes: the certificate is now past its date.
    backdate_validity(app, &evidence);
    let coordinator = s.a1.s.access.clone();
    // The upkeep runs at start (then hourly): restart, and wait for its round.
    let (config, data) = s.app.stop().await;
    let app = TestApp::start(config, data).await;
    let mut tasks = Vec::new();
    for _ in 0..100 {
        tasks = expired_tasks(&app, &coordinator).await;
        if !tasks.is_empty() {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    assert_eq!(tasks[0]["data"]["assignee_id"], s.a1.s.user["id"]);
    assert_eq!(tasks[0]["data"]["kind"], "retake_photo");
    assert_eq!(tasks[0]["data"]["person_id"], p.as_str());
    // Another round raises the task of a second certificate that expired meanwhile, and
    // nothing new for the first.
    let second = new_id();
    approved_certificate(
        &app,
        &s.a1,
        &s.staff,
        &p,
        &second,
        "hardship_worker_certificate",
        &sha,
    )
    .await;
    backdate_validity(&app, &second);
    // A certificate already replaced by a current one raises nothing.
    let (old, new) = (new_id(), new_id());
    for id in [&old, &new] {
        approved_certificate(
            &app,
            &s.a1,
            &s.staff,
            &p,
            id,
            "disability_certificate",
            &sha,
        )
        .await;
    }
    backdate_validity(&app, &old);
    let (config, data) = app.stop().await;
    let app = TestApp::start(config, data).await;
    for _ in 0..100 {
        tasks = expired_tasks(&app, &coordinator).await;
        if tasks.len() > 1 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(tasks.len(), 2, "{tasks:#?}");
    assert!(
        tasks
            .iter()
            .all(|t| !t["data"]["title"].as_str().unwrap_or("").contains("残疾")),
        "{tasks:#?}"
    );
}

/// A certificate photographed by the coordinator, valid far ahead, approved by the station.
async fn approved_certificate(
    app: &TestApp,
    phone: &Phone,
    staff: &Session,
    person: &str,
    id: &str,
    kind: &str,
    sha: &str,
) {
    push_ok(
        app,
        phone,
        vec![phone.upsert(
            "evidence",
            id,
            None,
            json!({
        "person_id": person, "evidence_type": kind,
        "attachment_sha256": sha, "valid_until": "2099-12-31" }),
        )],
    )
    .await;
    let r = app
        .post(
            &format!("/v1/review/evidence/{id}/decision"),
            Some(&staff.access),
            json!({ "decision": "approved" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// Moves an evidence record's `valid_until` into the past, as time would.
fn backdate_validity(app: &TestApp, evidence: &str) {
    use liuqing_schema::tables::records;
    let backend = liuqing_schema::Backend::from_url(&app.config.database_url).expect("url");
    let mut conn = backend.connect().expect("connect");
    let data: String = records::table
        .filter(records::id.eq(evidence))
        .select(records::data)
        .first(&mut conn)
        .expect("evidence");
    let mut doc: Value = serde_json::from_str(&data).expect("json");
    doc["valid_until"] = json!("2026-01-31");
    diesel::update(records::table.filter(records::id.eq(evidence)))
        .set(records::data.eq(doc.to_string()))
        .execute(&mut conn)
        .expect("backdate");
}

/// The coordinator's tasks about expired certificates, as their phone pulls them.
async fn expired_tasks(app: &TestApp, token: &str) -> Vec<Value> {
    let (changes, _) = crate::sync::pull_all(app, token, None).await;
    changes
        .into_iter()
        .filter(|c| {
            c["entity"] == "task"
                && c["data"]["title"]
                    .as_str()
                    .is_some_and(|t| t.contains("过期"))
        })
        .collect()
}

/// The access log is read for an audit by a supervisor of the whole district, filtered
/// and paged; the read is itself logged; nobody else reads it.
#[actix_web::test]
async fn the_access_log_is_read_by_the_district_supervisor_only() {
    let s = station().await;
    let app = &s.app;
    let (_, p) = enrol_at_the_door(&s, 91, "孙悦").await;
    case_file(app, &s.staff, &p).await;
    case_file(app, &s.staff, &p).await;
    let auditor = app
        .user(&s.admin, "district-sup", "supervisor", &[&s.tree.district])
        .await;
    let r = app
        .get(
            "/v1/admin/access-log?action=read_person&limit=1",
            &auditor.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let first = &r.body["items"][0];
    assert_eq!(first["action"], "read_person");
    assert_eq!(first["target_id"], p.as_str());
    assert_eq!(first["username"], "staff-1");
    let next = r.body["next_cursor"].as_str().expect("a second page");
    let r = app
        .get(
            &format!("/v1/admin/access-log?action=read_person&limit=1&cursor={next}"),
            &auditor.access,
        )
        .await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );
    assert_ne!(r.body["items"][0]["id"], first["id"]);
    // The reads of the log are in it.
    let r = app
        .get(
            "/v1/admin/access-log?action=read_access_log",
            &auditor.access,
        )
        .await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.body
    );
    assert_eq!(r.body["items"][1]["detail"]["action"], "read_person");
    app.get("/v1/admin/access-log?from=yesterday", &auditor.access)
        .await
        .problem(422, "validation_failed");
    // A street's supervisor, station staff, a coordinator and the admin do not read it.
    app.get("/v1/admin/access-log", &s.supervisor.access)
        .await
        .problem(403, "forbidden_scope");
    for who in [&s.staff, &s.coord_c, &s.admin] {
        app.get("/v1/admin/access-log", &who.access)
            .await
            .problem(403, "forbidden_role");
    }
}
