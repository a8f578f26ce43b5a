//! Job development and matching (岗位开发、人岗匹配), as phones and stations use it: the
//! employers and vacancies a street shares, the referrals, placements and follow-ups of a
//! person, and the rules that keep them whole — on both backends.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::sync::{household_with_person, pull_all, push, push_ok, world, Phone, World};

/// A unified social credit code with a valid check character (Tencent's, public record).
const CREDIT_CODE: &str = "91440300708461136T";

fn employer(phone: &Phone, id: &str, street: &str, community: &str) -> Value {
    phone.upsert(
        "employer",
        id,
        None,
        json!({ "street_id": street, "community_id": community, "name": "华林超市",
                "credit_code": CREDIT_CODE, "address": "华林路12号", "contact_name": "陈经理",
                "contact_phone": "13912345678", "industry": "零售", "size": "small" }),
    )
}

fn vacancy(phone: &Phone, id: &str, employer: &str, fields: Value) -> Value {
    let mut all = json!({ "employer_id": employer, "title": "理货员", "job_type": "理货",
                          "count": 3, "kind": "market", "hours": "daytime",
                          "wage_min": 3000, "wage_max": 3800, "age_min": 18, "age_max": 55 });
    if let (Some(all), Some(more)) = (all.as_object_mut(), fields.as_object()) {
        all.extend(more.clone());
    }
    phone.upsert("vacancy", id, None, all)
}

/// An employer of the test street in `community`, with one vacancy (no extra fields),
/// pushed by coordinator A1: their ids.
async fn employer_with_vacancy(w: &World, community: &str) -> (String, String) {
    let (e, v) = (new_id(), new_id());
    push_ok(
        &w.app,
        &w.a1,
        vec![
            employer(&w.a1, &e, &w.tree.street, community),
            vacancy(&w.a1, &v, &e, json!({})),
        ],
    )
    .await;
    (e, v)
}

/// A second street, with a station and a community, and a coordinator there.
async fn other_street(w: &World) -> (String, String, Phone) {
    let street = w
        .app
        .create_node(&w.admin, Some(&w.tree.district), "street", "东街街道")
        .await;
    let station = w
        .app
        .create_node(&w.admin, Some(&street), "station", "东街社区服务站")
        .await;
    let community = w
        .app
        .create_node(&w.admin, Some(&station), "community", "东街社区")
        .await;
    let phone = Phone::new(
        w.app
            .user(&w.admin, "coord-x", "coordinator", &[&community])
            .await,
    );
    (street, community, phone)
}

fn status(result: &Value) -> &str {
    result["status"].as_str().unwrap_or_default()
}

fn first_error(result: &Value) -> (String, String) {
    (
        result["errors"][0]["field"]
            .as_str()
            .unwrap_or_default()
            .into(),
        result["errors"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .into(),
    )
}

#[actix_web::test]
async fn employers_and_vacancies_are_shared_by_the_street_and_go_no_further() {
    let w = world().await;
    let app = &w.app;
    let (x_street, x_community, x_phone) = other_street(&w).await;
    let c_phone = Phone::new(
        app.user(&w.admin, "coord-c", "coordinator", &[&w.tree.community_c])
            .await,
    );
    let (e, v) = (new_id(), new_id());
    let r = push_ok(
        app,
        &w.a1,
        vec![
            employer(&w.a1, &e, &w.tree.street, &w.tree.community_a),
            vacancy(&w.a1, &v, &e, json!({})),
        ],
    )
    .await;
    assert_eq!(status(&r[0]), "applied", "{r:?}");
    assert_eq!(status(&r[1]), "applied", "{r:?}");

    // Community C is under another station of the same street: it works with the same
    // employers. The records live in the street; the contact's phone is masked.
    let (changes, last) = pull_all(app, &c_phone.s.access, None).await;
    let got: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap_or(""),
                c["id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(got, [("employer", e.as_str()), ("vacancy", v.as_str())]);
    for c in &changes {
        assert_eq!(c["community_id"], w.tree.street.as_str());
    }
    let data = &changes[0]["data"];
    assert_eq!(data["credit_code"], CREDIT_CODE);
    assert_ne!(data["contact_phone"], "13912345678");
    assert!(!changes[0].to_string().contains("13912345678"));
    assert_eq!(
        changes[1]["data"]["approval"], "pending",
        "staff approve it"
    );
    // The digest counts the street's records with the community's.
    let keys: Vec<(String, String, i64)> = changes
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap_or("").to_string(),
                c["id"].as_str().unwrap_or("").to_string(),
                c["version"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    let mine =
        liuqing_sync::feed::digest_of(keys.iter().map(|(e, i, v)| (e.as_str(), i.as_str(), *v)));
    assert_eq!(last["scope_digest"]["count"], 2);
    assert_eq!(last["scope_digest"]["hash"], mine.hash.as_str());
    // Station staff of either station read them through the API.
    let r = app
        .get(&format!("/v1/records/vacancy/{v}"), &w.staff.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Another street sees none of it, and cannot write under it.
    let (changes, last) = pull_all(app, &x_phone.s.access, None).await;
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(last["scope_digest"]["count"], 0);
    let r = app
        .get(&format!("/v1/records/employer/{e}"), &x_phone.s.access)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = push_ok(
        app,
        &x_phone,
        vec![vacancy(&x_phone, &new_id(), &e, json!({}))],
    )
    .await;
    assert_eq!(r[0]["reason"], "unknown_parent", "{r:?}");
    // Nor may a coordinator place an employer in a street not theirs, in a community
    // (not a street), or in a community of another street.
    for (street, community, field) in [
        (x_street.as_str(), w.tree.community_a.as_str(), "street_id"),
        (
            w.tree.community_a.as_str(),
            w.tree.community_a.as_str(),
            "street_id",
        ),
        (w.tree.street.as_str(), x_community.as_str(), "community_id"),
    ] {
        let r = push_ok(
            app,
            &w.a1,
            vec![employer(&w.a1, &new_id(), street, community)],
        )
        .await;
        assert_eq!(status(&r[0]), "rejected", "{r:?}");
        assert_eq!(first_error(&r[0]).0, field, "{r:?}");
    }

    // Losing the community loses the street with it: both are purged.
    let (_, last) = pull_all(app, &w.a2.s.access, None).await;
    let cursor = last["cursor"].as_str().expect("cursor").to_string();
    let uid = w.a2.s.user["id"].as_str().expect("id").to_string();
    let r = app
        .put(
            &format!("/v1/admin/users/{uid}/org-nodes"),
            &w.admin.access,
            json!({ "org_node_ids": [x_community] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .get(
            &format!("/v1/sync/pull?schema_version=1&cursor={cursor}"),
            &w.a2.s.access,
        )
        .await;
    let mut purged: Vec<&str> = r.body["purge"]
        .as_array()
        .expect("purge")
        .iter()
        .filter_map(|p| p["community_id"].as_str())
        .collect();
    purged.sort();
    let mut want = vec![w.tree.community_a.as_str(), w.tree.street.as_str()];
    want.sort();
    assert_eq!(purged, want, "{}", r.body);
}

#[actix_web::test]
async fn employer_and_vacancy_fields_are_checked_and_neither_is_deleted() {
    let w = world().await;
    let app = &w.app;
    let (e, v) = employer_with_vacancy(&w, &w.tree.community_a).await;
    let cases = [
        // A mistyped credit code: its check character does not match.
        (
            w.a1.upsert(
                "employer",
                &new_id(),
                None,
                json!({ "street_id": w.tree.street, "name": "某公司", "credit_code": "91440300708461136U" }),
            ),
            "credit_code",
            "check character",
        ),
        (
            w.a1.upsert(
                "employer",
                &new_id(),
                None,
                json!({ "street_id": w.tree.street, "name": "某公司", "credit_code": "9144030070846113" }),
            ),
            "credit_code",
            "18 characters",
        ),
        (
            vacancy(&w.a1, &new_id(), &e, json!({ "wage_min": 5000, "wage_max": 4000 })),
            "wage_max",
            "wage_min",
        ),
        (
            vacancy(&w.a1, &new_id(), &e, json!({ "age_min": 40, "age_max": 30 })),
            "age_max",
            "age_min",
        ),
        (
            vacancy(&w.a1, &new_id(), &e, json!({ "count": 2, "filled": 3 })),
            "count",
            "filled",
        ),
        (
            vacancy(
                &w.a1,
                &new_id(),
                &e,
                json!({ "open_from": "2026-12-01", "open_until": "2026-11-01" }),
            ),
            "open_until",
            "open_from",
        ),
        (
            vacancy(&w.a1, &new_id(), &e, json!({ "hours": "nights" })),
            "hours",
            "one of",
        ),
        (
            vacancy(&w.a1, &new_id(), &e, json!({ "age_min": 12 })),
            "age_min",
            "16",
        ),
    ];
    for (mutation, field, says) in cases {
        let r = push_ok(app, &w.a1, vec![mutation]).await;
        assert_eq!(status(&r[0]), "rejected", "{field}: {r:?}");
        let (got_field, reason) = first_error(&r[0]);
        assert_eq!(got_field, field, "{r:?}");
        assert!(reason.contains(says), "{field}: {reason}");
    }
    // Referrals and placements name them: they are closed, not deleted.
    for (entity, id) in [("vacancy", &v), ("employer", &e)] {
        let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
        let version = changes
            .iter()
            .find(|c| c["id"] == id.as_str())
            .and_then(|c| c["version"].as_i64());
        let r = push_ok(
            app,
            &w.a1,
            vec![
                json!({ "mutation_id": new_id(), "entity": entity, "id": id, "op": "delete",
                         "base_version": version, "hlc": w.a1.hlc() }),
            ],
        )
        .await;
        assert_eq!(status(&r[0]), "rejected", "{entity}: {r:?}");
    }
}

#[actix_web::test]
async fn staff_approve_a_vacancy_and_a_coordinators_approval_is_only_a_proposal() {
    let w = world().await;
    let app = &w.app;
    let (_, v) = employer_with_vacancy(&w, &w.tree.community_a).await;
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    let version = changes
        .iter()
        .find(|c| c["id"] == v.as_str())
        .and_then(|c| c["version"].as_i64());
    // The coordinator cannot approve their own vacancy: it is a proposal for staff.
    let r = push_ok(
        app,
        &w.a1,
        vec![w
            .a1
            .upsert("vacancy", &v, version, json!({ "approval": "approved" }))],
    )
    .await;
    assert_eq!(status(&r[0]), "conflict", "{r:?}");
    let open = app.get("/v1/sync/conflicts", &w.staff.access).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.body);
    assert!(
        open.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|c| c["record_id"] == v.as_str() || c.to_string().contains(&v)),
        "station staff see the street's proposals: {}",
        open.body
    );
    let r = app
        .get(&format!("/v1/records/vacancy/{v}"), &w.staff.access)
        .await;
    assert_eq!(r.body["data"]["approval"], "pending");
    // Station staff approve it.
    let r = app
        .patch(
            &format!("/v1/records/vacancy/{v}"),
            &w.staff.access,
            json!({ "fields": { "approval": "approved", "approval_reason": "已电话核实用工需求" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    let pulled = changes
        .iter()
        .rev()
        .find(|c| c["id"] == v.as_str())
        .expect("the vacancy");
    assert_eq!(pulled["data"]["approval"], "approved");
}

#[actix_web::test]
async fn a_person_is_referred_placed_and_followed_up_and_each_record_keeps_to_its_person() {
    let w = world().await;
    let app = &w.app;
    let (x_street, _, x_phone) = other_street(&w).await;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 71).await;
    let (_, other, _) = household_with_person(app, &w.a1, &w.tree.community_a, 72).await;
    let (e, v) = employer_with_vacancy(&w, &w.tree.community_b).await;
    // A vacancy of another street is not one to refer to.
    let (xe, xv) = (new_id(), new_id());
    push_ok(
        app,
        &x_phone,
        vec![
            x_phone.upsert(
                "employer",
                &xe,
                None,
                json!({ "street_id": x_street, "name": "东街饭店" }),
            ),
            vacancy(&x_phone, &xv, &xe, json!({})),
        ],
    )
    .await;

    // The station's day (UTC+8), as the server judges "after today".
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .date_naive();
    let tomorrow = (today + chrono::Days::new(1)).to_string();
    let today = today.to_string();
    let referral = new_id();
    let placement = new_id();
    let r = push_ok(
        app,
        &w.a1,
        vec![
            w.a1.upsert(
                "referral",
                &new_id(),
                None,
                json!({ "person_id": p, "vacancy_id": xv,
                "referred_on": today, "channel": "visit" }),
            ),
            w.a1.upsert(
                "referral",
                &new_id(),
                None,
                json!({ "person_id": p, "vacancy_id": v,
                "referred_on": tomorrow, "channel": "visit" }),
            ),
            w.a1.upsert(
                "referral",
                &referral,
                None,
                json!({ "person_id": p, "vacancy_id": v,
                "referred_on": today, "channel": "visit" }),
            ),
        ],
    )
    .await;
    assert_eq!(first_error(&r[0]).0, "vacancy_id", "{r:?}");
    assert!(first_error(&r[0]).1.contains("street"), "{r:?}");
    assert_eq!(first_error(&r[1]).0, "referred_on", "{r:?}");
    assert_eq!(status(&r[2]), "applied", "{r:?}");
    let version = r[2]["version"].as_i64();
    // The person is hired: the referral's outcome, then the placement.
    let r = push_ok(
        app,
        &w.a1,
        vec![
            w.a1.upsert(
                "referral",
                &referral,
                version,
                json!({ "outcome": "hired" }),
            ),
            // A placement must name its employer somehow.
            w.a1.upsert(
                "placement",
                &new_id(),
                None,
                json!({ "person_id": p,
                "started_on": today, "kind": "market" }),
            ),
            // Nor may it name a vacancy of another employer than the one it names.
            w.a1.upsert(
                "placement",
                &new_id(),
                None,
                json!({ "person_id": p,
                "employer_id": e, "vacancy_id": v, "started_on": today, "kind": "market" }),
            ),
            w.a1.upsert(
                "placement",
                &placement,
                None,
                json!({ "person_id": p,
                "employer_id": e, "vacancy_id": v, "job_title": "理货员", "started_on": today,
                "kind": "market", "contract_signed": true, "monthly_wage": 3500 }),
            ),
        ],
    )
    .await;
    assert_eq!(status(&r[0]), "applied", "{r:?}");
    assert_eq!(first_error(&r[1]).0, "employer_name", "{r:?}");
    assert_eq!(status(&r[2]), "applied", "{r:?}");
    assert_eq!(status(&r[3]), "applied", "{r:?}");
    // A follow-up follows one of the person's own placements.
    let r = push_ok(
        app,
        &w.a1,
        vec![
            w.a1.upsert(
                "follow_up",
                &new_id(),
                None,
                json!({ "person_id": other,
                "placement_id": placement, "followed_on": today, "with": "person" }),
            ),
            w.a1.upsert(
                "follow_up",
                &new_id(),
                None,
                json!({ "person_id": p,
                "placement_id": placement, "followed_on": today, "with": "both",
                "still_employed": true, "wages_on_time": true, "contract_signed": true,
                "insurance_paid": false, "workload": "normal",
                "problems": "单位尚未缴纳社保", "action": "已与单位沟通，下月补缴" }),
            ),
        ],
    )
    .await;
    assert_eq!(first_error(&r[0]).0, "placement_id", "{r:?}");
    assert_eq!(status(&r[1]), "applied", "{r:?}");

    // The case file has all of it; the referral counts as contact.
    let r = app.get(&format!("/v1/persons/{p}"), &w.staff.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let file = &r.body;
    assert_eq!(
        file["referrals"].as_array().map(Vec::len),
        Some(1),
        "{file}"
    );
    assert_eq!(file["referrals"][0]["data"]["outcome"], "hired");
    assert_eq!(
        file["placements"].as_array().map(Vec::len),
        Some(2),
        "{file}"
    );
    assert_eq!(file["follow_ups"].as_array().map(Vec::len), Some(1));
    // Their unemployment has ended: the case file says they are in work, since when.
    assert_eq!(file["work"]["since"], today.as_str(), "{file}");
    assert_eq!(file["work"]["reason"], "employed", "{file}");
    let r = app
        .get(&format!("/v1/persons/{other}"), &w.staff.access)
        .await;
    assert_eq!(r.body["work"], Value::Null, "{}", r.body);
    assert_eq!(file["summary"]["last_contact_on"], today.as_str());
    // Each running placement on the vacancy fills one of its places, as the server's
    // edit of the vacancy, which the phones pull.
    let (changes, _) = pull_all(app, &w.a2.s.access, None).await;
    let pulled = changes
        .iter()
        .rev()
        .find(|c| c["id"] == v.as_str())
        .expect("the vacancy");
    assert_eq!(pulled["data"]["filled"], 2, "{pulled}");
    // The other coordinator of the community pulls them like any record.
    for id in [&referral, &placement] {
        assert!(changes.iter().any(|c| c["id"] == id.as_str()), "{id}");
    }
    let r = push(app, &w.a1, vec![]).await;
    assert_eq!(r.status, StatusCode::OK);

    // Each placement scheduled its follow-ups at 1, 3 and 6 months, as tasks for the
    // coordinator who enrolled the household; the follow-up recorded closed the first.
    let tasks_of = |changes: &[Value], placement: &str| -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = changes
            .iter()
            .filter(|c| c["entity"] == "task" && c["data"]["placement_id"] == placement)
            .map(|c| {
                assert_eq!(c["data"]["kind"], "follow_up_due", "{c}");
                assert_eq!(c["data"]["assignee_id"], w.a1.s.user["id"], "{c}");
                assert_eq!(c["data"]["person_id"], p.as_str(), "{c}");
                (
                    c["data"]["due_on"].as_str().unwrap_or("").to_string(),
                    c["data"]["state"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        found.sort();
        found
    };
    let started: chrono::NaiveDate = today.parse().expect("a date");
    let month = |m| {
        started
            .checked_add_months(chrono::Months::new(m))
            .expect("date")
            .to_string()
    };
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    assert_eq!(
        tasks_of(&changes, &placement),
        [(month(1), "done"), (month(3), "open"), (month(6), "open")]
            .map(|(d, s)| (d, s.to_string()))
            .to_vec()
    );
    // Once recognised, a person in work is listed for an exit, with the placement behind
    // it; the unplaced person beside them is not.
    {
        use diesel::prelude::*;
        use liuqing_schema::tables::persons_index;
        let backend = liuqing_schema::Backend::from_url(&app.config.database_url).expect("url");
        let mut conn = backend.connect().expect("connect");
        diesel::update(persons_index::table.filter(persons_index::id.eq_any([&p, &other])))
            .set((
                persons_index::status.eq("recognised"),
                persons_index::enrolled_on.eq(today.as_str()),
            ))
            .execute(&mut conn)
            .expect("recognise");
    }
    let r = app.get("/v1/exit-candidates", &w.staff.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", r.body);
    assert_eq!(items[0]["id"], p.as_str());
    assert_eq!(items[0]["reason"], "employed");
    assert_eq!(items[0]["since"], today.as_str());
    let placed: Vec<&Value> = file["placements"]
        .as_array()
        .expect("placements")
        .iter()
        .map(|r| &r["id"])
        .collect();
    assert!(placed.contains(&&items[0]["placement_id"]), "{}", r.body);
    // An exit for work after a recorded placement schedules nothing more: one cadence.
    let r = app
        .post(
            "/v1/records/exit",
            Some(&w.staff.access),
            json!({ "fields": { "person_id": p, "reason": "employed", "exit_on": today } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (after, _) = pull_all(app, &w.a1.s.access, None).await;
    let due = |changes: &[Value]| {
        changes
            .iter()
            .filter(|c| c["entity"] == "task" && c["data"]["kind"] == "follow_up_due")
            .count()
    };
    assert_eq!(
        due(&after),
        due(&changes),
        "the exit raised no second schedule"
    );
    assert_eq!(
        due(&changes),
        6,
        "two placements recorded, three follow-ups each"
    );
    // Exited, they are no longer a candidate.
    let r = app.get("/v1/exit-candidates", &w.staff.access).await;
    assert_eq!(r.body["items"], json!([]), "{}", r.body);
}

/// 单位档案 in the console: the station reads an employer with its visits and vacancies
/// (the contact's phone masked) and confirms its details; another street's coordinator
/// finds no such employer, and an admin reads none.
#[actix_web::test]
async fn an_employers_file_in_the_console_keeps_to_its_street_and_staff_confirm_it() {
    use crate::console::Web;
    let w = world().await;
    let app = &w.app;
    let (_, _, _x_phone) = other_street(&w).await;
    let (e, _) = employer_with_vacancy(&w, &w.tree.community_a).await;
    push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "employer_visit",
            &new_id(),
            None,
            json!({ "employer_id": e, "visited_at": chrono::Utc::now().to_rfc3339(),
                    "vacancies_found": 1, "notes": "首次走访，了解用工需求" }),
        )],
    )
    .await;
    let path = format!("/console/jobs/employers/{e}");

    let staff = Web::signed_in(app, "staff-1", PASSWORD).await;
    let jobs = staff.get("/console/jobs").await;
    assert!(jobs.body.contains(&path), "the list links the employer");
    let page = staff.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "华林超市",
        CREDIT_CODE,
        "139****5678",
        "首次走访，了解用工需求",
        "理货员",
        "未核实",
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    assert!(!page.body.contains("13912345678"), "the phone is masked");
    // Confirming needs the session's token; with it, the phones pull the verified flag.
    let r = staff.post(&path, &[("verified", "true")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = staff
        .post(&path, &[("csrf", &page.csrf()), ("verified", "true")])
        .await;
    assert_eq!(r.location(), format!("{path}?done=1"));
    let page = staff.get(&path).await;
    assert!(page.body.contains("已核实") && !page.body.contains("未核实"));
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    let pulled = changes
        .iter()
        .rev()
        .find(|c| c["id"] == e.as_str())
        .expect("pulled");
    assert_eq!(pulled["data"]["verified"], true);

    // Another street's coordinator: no such employer, to read or to confirm.
    let other = Web::signed_in(app, "coord-x", PASSWORD).await;
    assert_eq!(other.get(&path).await.status, StatusCode::NOT_FOUND);
    // Confirming is the station's: the street's own coordinator reads the file but may
    // not confirm, and is offered no button.
    let coord = Web::signed_in(app, "coord-a1", PASSWORD).await;
    let page = coord.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("name=\"verified\""), "{}", page.body);
    let r = coord
        .post(&path, &[("csrf", &page.csrf()), ("verified", "false")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // An admin reads no case file and no employer either.
    let admin = Web::signed_in(app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(admin.get(&path).await.status, StatusCode::FORBIDDEN);
}

/// A follow-up not made by its due day is overdue: the API's list and the supervisors'
/// console list show it, with the person and the coordinator, inside their scope only.
#[actix_web::test]
async fn an_overdue_follow_up_is_on_the_supervisors_list() {
    use crate::console::Web;
    let w = world().await;
    let app = &w.app;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 73).await;
    let (e, v) = employer_with_vacancy(&w, &w.tree.community_a).await;
    // Placed 40 days ago: the first follow-up (a month after) is overdue.
    let started = chrono::Utc::now().date_naive() - chrono::Days::new(40);
    push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "placement",
            &new_id(),
            None,
            json!({ "person_id": p, "employer_id": e, "vacancy_id": v,
                    "job_title": "理货员", "started_on": started.to_string(), "kind": "market" }),
        )],
    )
    .await;
    let r = app.get("/v1/tasks/overdue", &w.staff.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(
        items.len(),
        1,
        "one month after, only the first: {}",
        r.body
    );
    assert_eq!(items[0]["data"]["kind"], "follow_up_due");
    assert_eq!(items[0]["data"]["person_id"], p.as_str());

    app.user(&w.admin, "sup-street", "supervisor", &[&w.tree.street])
        .await;
    let sup = Web::signed_in(app, "sup-street", PASSWORD).await;
    assert!(sup
        .get("/console/supervision")
        .await
        .body
        .contains("/console/supervision/overdue"));
    let page = sup.get("/console/supervision/overdue").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "跟踪回访（第1次，共3次）",
        "跟踪回访",
        &format!("/console/persons/{p}"),
    ] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    // Another station's staff see none of it.
    app.user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    let other = Web::signed_in(app, "staff-2", PASSWORD).await;
    let page = other.get("/console/supervision/overdue").await;
    assert!(page.body.contains("没有逾期任务。"), "{}", page.body);
    assert!(!page.body.contains(&p));
}

/// A vacancy of the test street approved by station staff; `fields` add to the defaults.
async fn approved_vacancy(w: &World, employer: &str, fields: Value) -> String {
    let v = new_id();
    let r = push_ok(&w.app, &w.a1, vec![vacancy(&w.a1, &v, employer, fields)]).await;
    assert_eq!(status(&r[0]), "applied", "{r:?}");
    let r = w
        .app
        .patch(
            &format!("/v1/records/vacancy/{v}"),
            &w.staff.access,
            json!({ "fields": { "approval": "approved", "approval_reason": "已核实" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    v
}

fn ids_of(matches: &Value, key: &str) -> Vec<String> {
    matches["matches"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|x| x[key].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[actix_web::test]
async fn matching_ranks_with_reasons_excludes_what_cannot_be_and_recommends_in_one_call() {
    let w = world().await;
    let app = &w.app;
    let (x_street, _, x_phone) = other_street(&w).await;
    // Born 1970: 56 this year. Wants 理货 by day at 3,500 a month, and can drive.
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 81).await;
    let b_phone = Phone::new(
        app.user(&w.admin, "coord-b", "coordinator", &[&w.tree.community_b])
            .await,
    );
    let (_, q, _) = household_with_person(app, &b_phone, &w.tree.community_b, 82).await;
    push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "six_clears",
            &p,
            None,
            json!({ "person_id": p, "needs.job_types": ["理货"], "needs.hours": "daytime",
                    "needs.expected_pay": 3500, "basic.skills": ["驾驶"] }),
        )],
    )
    .await;
    let (e, pending) = employer_with_vacancy(&w, &w.tree.community_a).await;
    let near = approved_vacancy(
        &w,
        &e,
        json!({ "community_id": w.tree.community_a, "age_max": 60, "skills": ["驾驶"] }),
    )
    .await;
    let guard = approved_vacancy(
        &w,
        &e,
        json!({ "community_id": w.tree.community_c, "age_max": 60, "job_type": "保安",
                "hours": "shifts" }),
    )
    .await;
    let too_old = approved_vacancy(&w, &e, json!({ "age_max": 55 })).await;
    let filled = approved_vacancy(&w, &e, json!({ "age_max": 60, "count": 1, "filled": 1 })).await;
    let (xe, xv) = (new_id(), new_id());
    push_ok(
        app,
        &x_phone,
        vec![
            x_phone.upsert(
                "employer",
                &xe,
                None,
                json!({ "street_id": x_street, "name": "东街饭店" }),
            ),
            vacancy(&x_phone, &xv, &xe, json!({ "age_max": 60 })),
        ],
    )
    .await;

    // For the person: the open, approved vacancies of the street, best first, each with
    // its reasons; the pending, the filled and the one outside the age range are not there,
    // nor another street's.
    let r = app
        .get(&format!("/v1/persons/{p}/matches"), &w.staff.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        ids_of(&r.body, "vacancy_id"),
        [near.as_str(), guard.as_str()],
        "{}",
        r.body
    );
    assert_eq!(
        r.body["considered"], 3,
        "approved, open, in the street: {}",
        r.body
    );
    let best = &r.body["matches"][0];
    let reasons: Vec<(&str, i64, &str)> = best["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap_or(""),
                x["points"].as_i64().unwrap_or(-1),
                x["text"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("job_type", 40, "job type matches"),
            ("distance", 20, "same community"),
            ("hours", 15, "hours: daytime"),
            ("skills", 5, "1 skill(s) asked for"),
            ("wage", 10, "pay reaches expectation"),
        ]
    );
    assert_eq!(best["score"], 90, "the reasons add up to the score");
    let second = &r.body["matches"][1];
    assert_eq!(second["score"], 20, "same street 10, pay 10: {second}");
    assert!(
        second.to_string().contains("hours: shifts, not as wanted"),
        "{second}"
    );
    let limited = app
        .get(&format!("/v1/persons/{p}/matches?limit=1"), &w.a1.s.access)
        .await;
    assert_eq!(
        ids_of(&limited.body, "vacancy_id"),
        [near.as_str()],
        "{}",
        limited.body
    );
    for bad in ["0", "101", "x"] {
        let r = app
            .get(
                &format!("/v1/persons/{p}/matches?limit={bad}"),
                &w.staff.access,
            )
            .await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.body);
        assert!(r.body.to_string().contains("limit"), "{}", r.body);
    }

    // For the vacancy: the street's seekers it suits, best first.
    let r = app
        .get(&format!("/v1/vacancies/{near}/matches"), &w.staff.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        ids_of(&r.body, "person_id"),
        [p.as_str(), q.as_str()],
        "{}",
        r.body
    );
    let r = app
        .get(&format!("/v1/vacancies/{pending}/matches"), &w.staff.access)
        .await;
    assert_eq!(
        ids_of(&r.body, "person_id"),
        Vec::<String>::new(),
        "not approved: {}",
        r.body
    );

    // Scope: another street's coordinator sees neither the person nor the vacancy, and
    // staff cannot reach the other street's vacancy.
    for path in [
        format!("/v1/persons/{p}/matches"),
        format!("/v1/vacancies/{near}/matches"),
    ] {
        let r = app.get(&path, &x_phone.s.access).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    let r = app
        .get(&format!("/v1/vacancies/{xv}/matches"), &w.staff.access)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // A recommendation from a match is a referral, in one call, by station staff.
    let path = format!("/v1/persons/{p}/referrals");
    let r = app
        .post(&path, Some(&w.a1.s.access), json!({ "vacancy_id": near }))
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "phones refer by sync: {}",
        r.body
    );
    for (vacancy, why) in [
        (&too_old, "age_outside_range"),
        (&filled, "filled"),
        (&pending, "not_approved"),
    ] {
        let r = app
            .post(
                &path,
                Some(&w.staff.access),
                json!({ "vacancy_id": vacancy }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{why}: {}", r.body);
        assert_eq!(r.body["code"], "match_excluded");
        assert!(
            r.body["detail"].as_str().unwrap_or("").contains(why),
            "{}",
            r.body
        );
    }
    let r = app
        .post(&path, Some(&w.staff.access), json!({ "vacancy_id": xv }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "vacancy_id", "{}", r.body);
    let r = app
        .post(
            &path,
            Some(&w.staff.access),
            json!({ "vacancy_id": near, "channel": "phone", "notes": "电话告知面试地址" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["entity"], "referral");
    assert_eq!(r.body["data"]["vacancy_id"], near.as_str());
    assert_eq!(r.body["data"]["channel"], "phone");
    // The demand ledger (就业需求台账) shows the need with the referral made for it.
    let (code, _, bytes) = crate::supervision::download(
        app,
        "/v1/exports/demand?format=csv&reason=%E6%A0%B8%E6%9F%A5",
        &w.staff.access,
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
    let mut csv = csv::Reader::from_reader(bytes.get(3..).unwrap_or_default());
    let header: Vec<String> = csv
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows: Vec<Vec<String>> = csv
        .records()
        .map(|r| r.expect("a row").iter().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 1, "only the person with needs: {rows:?}");
    let cell = |name: &str| {
        let at = header.iter().position(|h| h == name).expect(name);
        rows[0][at].clone()
    };
    assert_eq!(cell("求职意向"), "理货");
    assert_eq!(cell("岗位推荐（次）"), "1");
    assert!(cell("最近推荐").ends_with("理货员（待反馈）"), "{rows:?}");
    assert_eq!(cell("上岗情况"), "");

    // Not offered twice; the case file has the referral, and the phone pulls it.
    let r = app
        .post(&path, Some(&w.staff.access), json!({ "vacancy_id": near }))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body["detail"]
        .as_str()
        .unwrap_or("")
        .contains("already_referred"));
    let r = app
        .get(&format!("/v1/persons/{p}/matches"), &w.staff.access)
        .await;
    assert_eq!(
        ids_of(&r.body, "vacancy_id"),
        [guard.as_str()],
        "{}",
        r.body
    );
    let file = app.get(&format!("/v1/persons/{p}"), &w.staff.access).await;
    assert_eq!(
        file.body["referrals"].as_array().map(Vec::len),
        Some(1),
        "{}",
        file.body
    );
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    assert!(changes
        .iter()
        .any(|c| c["entity"] == "referral" && c["data"]["person_id"] == p.as_str()));

    // Declined at the door: that vacancy is not offered again.
    let declined = new_id();
    let r = push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "referral",
            &declined,
            None,
            json!({ "person_id": p, "vacancy_id": guard, "referred_on": file.body["referrals"][0]["data"]["referred_on"],
                    "channel": "visit", "outcome": "declined", "decline_reason": "夜班不便" }),
        )],
    )
    .await;
    assert_eq!(status(&r[0]), "applied", "{r:?}");
    let r = app
        .post(&path, Some(&w.staff.access), json!({ "vacancy_id": guard }))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("declined_before"),
        "{}",
        r.body
    );
    let r = app
        .get(&format!("/v1/persons/{p}/matches"), &w.staff.access)
        .await;
    assert_eq!(
        ids_of(&r.body, "vacancy_id"),
        Vec::<String>::new(),
        "{}",
        r.body
    );

    // The job-development report: the street's places and fill rate, every vacancy with
    // its state, and the gap list — both persons lack a suitable vacancy now.
    let r = app.get("/v1/reports/jobs", &w.staff.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let street = &r.body["streets"][0];
    assert_eq!(
        r.body["streets"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );
    assert_eq!(street["street_id"], w.tree.street.as_str());
    assert_eq!(
        (&street["employers"], &street["employers_visited"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(
        (
            &street["vacancies"],
            &street["open"],
            &street["places"],
            &street["filled"]
        ),
        (&json!(4), &json!(3), &json!(10), &json!(1)),
        "approved only: {street}"
    );
    assert_eq!(street["fill_rate"], 10);
    assert_eq!(
        (&street["referrals"], &street["hired"]),
        (&json!(2), &json!(0))
    );
    // Its one employer, never visited, with the same vacancies.
    let employers = r.body["employers"].as_array().expect("employers");
    assert_eq!(employers.len(), 1, "{}", r.body);
    let employer = &employers[0];
    assert_eq!(employer["street_id"], w.tree.street.as_str());
    assert_eq!(
        (
            &employer["visits"],
            &employer["last_visit_at"],
            &employer["verified"]
        ),
        (&json!(0), &Value::Null, &json!(false))
    );
    assert_eq!(
        (&employer["vacancies"], &employer["open"]),
        (&json!(4), &json!(3)),
        "{employer}"
    );
    let states: std::collections::BTreeMap<String, String> = r.body["vacancies"]
        .as_array()
        .expect("vacancies")
        .iter()
        .map(|v| {
            (
                v["vacancy_id"].as_str().unwrap_or("").to_string(),
                v["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(states.len(), 5, "{states:?}");
    assert_eq!(states[&pending], "not_approved");
    assert_eq!(states[&filled], "filled");
    assert_eq!(states[&near], "open");
    let gaps: Vec<(String, Value)> = r.body["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|g| {
            (
                g["person_id"].as_str().unwrap_or("").to_string(),
                g["best_score"].clone(),
            )
        })
        .collect();
    assert_eq!(
        gaps,
        [(p.clone(), Value::Null), (q.clone(), json!(10))],
        "{}",
        r.body
    );
    // Another street's coordinator sees only their street.
    let r = app.get("/v1/reports/jobs", &x_phone.s.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.to_string().contains(&near), "{}", r.body);
    assert_eq!(r.body["streets"][0]["street_id"], x_street.as_str());
}

const DEMO_PASSWORD: &str = "demo password 1";

/// The `job_match` tasks of a phone's pull: (person, vacancy) → (state, assignee, title).
fn match_tasks(changes: &[Value]) -> std::collections::BTreeMap<(String, String), Value> {
    changes
        .iter()
        .filter(|c| c["entity"] == "task" && c["data"]["kind"] == "job_match")
        .map(|c| {
            let text = |f: &str| c["data"][f].as_str().unwrap_or_default().to_string();
            ((text("person_id"), text("vacancy_id")), c["data"].clone())
        })
        .collect()
}

/// The demo district has employers, vacancies and placements; the upkeep's daily run
/// (at start, then once a station day) proposes recognised persons' best new matches as
/// `job_match` tasks, at most three open a person, never the same vacancy twice, and a
/// referral to the vacancy closes its task.
#[actix_web::test]
async fn the_demo_has_jobs_and_the_daily_run_proposes_new_matches_once() {
    let app = demo_app(DEMO_PASSWORD).await;
    let coord = Phone::new(app.login("demo-coord-3", DEMO_PASSWORD).await);
    let staff = app.login("demo-staff-1", DEMO_PASSWORD).await;
    let coord_id = coord.s.user["id"].as_str().unwrap_or_default().to_string();

    // The street's employers (verified), their visits and vacancies reach the phone; one
    // vacancy is still a proposal. Exited persons were placed and followed up.
    let mut tasks = Default::default();
    let mut changes = Vec::new();
    for _ in 0..100 {
        changes = pull_all(&app, &coord.s.access, None).await.0;
        tasks = match_tasks(&changes);
        if !tasks.is_empty() {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let of = |entity: &str| -> Vec<&Value> {
        changes.iter().filter(|c| c["entity"] == entity).collect()
    };
    assert_eq!(of("employer").len(), 4);
    // The station has checked all but the newest employer.
    let verified = of("employer")
        .iter()
        .filter(|e| e["data"]["verified"] == true)
        .count();
    assert_eq!(verified, 3);
    // A routine call on each employer; the public-welfare employer's on-site checks of
    // subsidy applications besides.
    let routine = of("employer_visit")
        .iter()
        .filter(|v| v["data"]["purpose"] != "site_check")
        .count();
    assert_eq!(routine, 4);
    let vacancies = of("vacancy");
    assert_eq!(vacancies.len(), 8);
    let approved: Vec<&str> = vacancies
        .iter()
        .filter(|v| v["data"]["approval"] == "approved")
        .filter_map(|v| v["id"].as_str())
        .collect();
    assert_eq!(approved.len(), 7, "one proposal waits for the station");
    assert!(!of("placement").is_empty(), "placements in the demo");

    // The daily run's tasks: for the coordinator's recognised persons, approved vacancies
    // of the street, at most three a person, each with its score in the title.
    assert!(!tasks.is_empty(), "the daily run raised match tasks");
    let mut per_person: std::collections::BTreeMap<&str, usize> = Default::default();
    for ((person, vacancy), task) in &tasks {
        assert!(approved.contains(&vacancy.as_str()), "{task}");
        assert_eq!(task["assignee_id"], coord_id.as_str(), "{task}");
        assert_eq!(task["state"], "open", "{task}");
        assert!(
            task["title"]
                .as_str()
                .unwrap_or("")
                .starts_with("推荐岗位："),
            "{task}"
        );
        *per_person.entry(person).or_default() += 1;
        let file = app
            .get(&format!("/v1/persons/{person}"), &staff.access)
            .await;
        assert_eq!(
            file.body["summary"]["status"], "recognised",
            "{}",
            file.body
        );
    }
    assert!(per_person.values().all(|n| *n <= 3), "{per_person:?}");

    // Station staff recommend one: the referral closes its task in the same write.
    let ((person, vacancy), _) = tasks.iter().next().expect("a task");
    let r = app
        .post(
            &format!("/v1/persons/{person}/referrals"),
            Some(&staff.access),
            json!({ "vacancy_id": vacancy }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let after = match_tasks(&pull_all(&app, &coord.s.access, None).await.0);
    assert_eq!(after[&(person.clone(), vacancy.clone())]["state"], "done");

    // Another day's run (a restart runs it again) proposes no pair twice.
    let (config, data) = app.stop().await;
    let app = TestApp::start(config, data).await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1500)).await;
    let coord = Phone::new(app.login("demo-coord-3", DEMO_PASSWORD).await);
    let again = match_tasks(&pull_all(&app, &coord.s.access, None).await.0);
    for (pair, task) in &after {
        assert_eq!(again[pair]["state"], task["state"], "{pair:?}");
    }
    let open = |tasks: &std::collections::BTreeMap<(String, String), Value>, who: &str| {
        tasks
            .iter()
            .filter(|((p, _), t)| p == who && t["state"] == "open")
            .count()
    };
    assert!(open(&again, person) <= 3);
}
