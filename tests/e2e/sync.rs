//! The sync protocol end to end: push, merge, conflicts, idempotency, pull, scope.

use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// A valid ID number for tests (GB 11643 check character computed).
pub fn id_number(birth: &str, seq: u32) -> String {
    let first17 = format!("110105{birth}{seq:03}");
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

/// A phone: its session, and a clock it stamps edits with.
pub struct Phone {
    pub s: Session,
    counter: AtomicU32,
    /// Milliseconds added to the real clock (a phone whose clock is wrong).
    pub skew_ms: i64,
}

impl Phone {
    pub fn new(s: Session) -> Phone {
        Phone {
            s,
            counter: AtomicU32::new(0),
            skew_ms: 0,
        }
    }

    pub fn hlc(&self) -> String {
        let ms = chrono::Utc::now().timestamp_millis() + self.skew_ms;
        let c = self.counter.fetch_add(1, Ordering::SeqCst);
        format!("{ms:015}-{c:05}-{}", self.s.device_id)
    }

    pub fn upsert(&self, entity: &str, id: &str, base: Option<i64>, fields: Value) -> Value {
        json!({ "mutation_id": new_id(), "entity": entity, "id": id, "op": "upsert",
                "base_version": base, "hlc": self.hlc(), "fields": fields })
    }

    pub fn set_ops(&self, entity: &str, id: &str, base: Option<i64>, ops: Value) -> Value {
        json!({ "mutation_id": new_id(), "entity": entity, "id": id, "op": "upsert",
                "base_version": base, "hlc": self.hlc(), "set_ops": ops })
    }
}

pub async fn push(app: &TestApp, phone: &Phone, mutations: Vec<Value>) -> Reply {
    app.post(
        "/v1/sync/push",
        Some(&phone.s.access),
        json!({ "schema_version": 1, "mutations": mutations }),
    )
    .await
}

/// Pushes and returns the results, asserting the request itself succeeded.
pub async fn push_ok(app: &TestApp, phone: &Phone, mutations: Vec<Value>) -> Vec<Value> {
    let r = push(app, phone, mutations).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["results"].as_array().expect("results").clone()
}

/// Pulls every page from `cursor`; returns the changes and the final page.
pub async fn pull_all(app: &TestApp, token: &str, cursor: Option<&str>) -> (Vec<Value>, Value) {
    let mut changes = Vec::new();
    let mut cursor = cursor.map(str::to_string);
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/sync/pull?schema_version=1&limit=50&cursor={c}"),
            None => "/v1/sync/pull?schema_version=1&limit=50".to_string(),
        };
        let r = app.get(&path, token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        changes.extend(
            r.body["changes"]
                .as_array()
                .expect("changes")
                .iter()
                .cloned(),
        );
        cursor = r.body["cursor"].as_str().map(str::to_string);
        if r.body["has_more"] == false {
            return (changes, r.body);
        }
    }
}

pub struct World {
    pub app: TestApp,
    pub admin: Session,
    pub tree: Tree,
    pub a1: Phone,
    pub a2: Phone,
    pub staff: Session,
}

/// Two coordinators sharing community A, station staff of station 1.
pub async fn world() -> World {
    world_with(|_| {}).await
}

/// [`world`] on a server whose configuration `adjust` changes.
pub async fn world_with(adjust: impl FnOnce(&mut liuqing_api::Config)) -> World {
    let app = TestApp::spawn_with(adjust).await;
    let admin = app.admin().await;
    let tree = tree(&app, &admin).await;
    let a1 = Phone::new(
        app.user(&admin, "coord-a1", "coordinator", &[&tree.community_a])
            .await,
    );
    let a2 = Phone::new(
        app.user(&admin, "coord-a2", "coordinator", &[&tree.community_a])
            .await,
    );
    let staff = app
        .user(&admin, "staff-1", "station_staff", &[&tree.station1])
        .await;
    World {
        app,
        admin,
        tree,
        a1,
        a2,
        staff,
    }
}

/// A household and a person in community A, created by `phone`; returns their ids and the
/// person's version.
pub async fn household_with_person(
    app: &TestApp,
    phone: &Phone,
    community: &str,
    seq: u32,
) -> (String, String, i64) {
    let h = new_id();
    let p = new_id();
    let results = push_ok(
        app,
        phone,
        vec![
            phone.upsert("household", &h, None, json!({ "community_id": community, "address": "华林路1号" })),
            phone.upsert(
                "person",
                &p,
                None,
                json!({ "household_id": h, "name": "张三", "id_number": id_number("19700101", seq), "phone": "13800001234" }),
            ),
        ],
    )
    .await;
    assert_eq!(results[0]["status"], "applied", "{results:?}");
    assert_eq!(results[1]["status"], "applied", "{results:?}");
    (h, p, results[1]["version"].as_i64().expect("version"))
}

#[actix_web::test]
async fn a_phone_creates_records_and_pulls_them_back_masked() {
    let w = world().await;
    let (h, p, _) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 11).await;
    let results = push_ok(
        &w.app,
        &w.a1,
        vec![w.a1.upsert(
            "six_clears",
            &p,
            None,
            json!({ "person_id": p, "basic.health": "healthy", "needs.hours": "daytime",
                    "difficulty.categories": ["long_term_unemployed"] }),
        )],
    )
    .await;
    assert_eq!(results[0]["status"], "applied", "{results:?}");

    // The other phone of the same community receives everything.
    let (changes, last) = pull_all(&w.app, &w.a2.s.access, None).await;
    let person = changes
        .iter()
        .find(|c| c["id"] == p.as_str() && c["entity"] == "person")
        .expect("person");
    assert_eq!(person["data"]["name"], "张三");
    let shown = person["data"]["id_number"].as_str().expect("id");
    assert!(
        shown.starts_with("1101") && shown.contains("**********"),
        "{shown}"
    );
    assert_eq!(person["data"]["phone"], "138****1234");
    assert_eq!(person["data"]["sex"], "male", "derived from the ID number");
    // A coordinator is shown the birth year only (the date is part of the ID number:
    // hardening::a_coordinator_sees_a_birth_year_so_a_masked_id_number_stays_hidden).
    assert_eq!(person["data"]["birth_date"], "1970-**-**");
    assert!(changes
        .iter()
        .any(|c| c["id"] == h.as_str() && c["entity"] == "household"));
    let six = changes
        .iter()
        .find(|c| c["entity"] == "six_clears")
        .expect("six clears");
    assert_eq!(six["data"]["basic"]["health"], "healthy");
    assert_eq!(
        six["data"]["difficulty"]["categories"],
        json!(["long_term_unemployed"])
    );
    assert_eq!(last["scope_digest"]["count"], 3);

    // Nothing new: an empty page from the returned cursor.
    let (again, _) = pull_all(&w.app, &w.a2.s.access, last["cursor"].as_str()).await;
    assert!(again.is_empty(), "{again:?}");
}

#[actix_web::test]
async fn id_numbers_and_phones_are_never_stored_in_clear() {
    let w = world().await;
    let number = id_number("19800229", 21);
    let p = new_id();
    let h = new_id();
    push_ok(
        &w.app,
        &w.a1,
        vec![
            w.a1.upsert("household", &h, None, json!({ "community_id": w.tree.community_a, "address": "x" })),
            w.a1.upsert("person", &p, None, json!({ "household_id": h, "name": "李四", "id_number": number, "phone": "13912345678" })),
        ],
    )
    .await;
    if on_postgres() {
        return; // the file check below reads SQLite's file; the row check covers both
    }
    // Neither the database file nor its WAL holds the clear values anywhere.
    for file in ["liuqing.db", "liuqing.db-wal"] {
        let path = w.app.data.path().join(file);
        if let Ok(bytes) = std::fs::read(&path) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(&number),
                "{file} holds the ID number in clear"
            );
            assert!(
                !text.contains(&number[..17]),
                "{file} holds the ID number's digits"
            );
            assert!(
                !text.contains("13912345678"),
                "{file} holds the phone in clear"
            );
        }
    }
}

#[actix_web::test]
async fn a_retried_push_is_answered_the_same_and_applied_once() {
    let w = world().await;
    let h = new_id();
    let batch = vec![
        w.a1.upsert(
            "household",
            &h,
            None,
            json!({ "community_id": w.tree.community_a, "address": "一号" }),
        ),
        w.a1.upsert(
            "household",
            &new_id(),
            None,
            json!({ "community_id": w.tree.community_a }),
        ),
    ];
    let first = push(&w.app, &w.a1, batch.clone()).await;
    assert_eq!(first.body["results"][0]["status"], "applied");
    assert_eq!(
        first.body["results"][1]["status"], "rejected",
        "address is required"
    );
    // A storm of concurrent retries: identical answers, nothing duplicated.
    let retries = (0..50).map(|_| push(&w.app, &w.a1, batch.clone()));
    for r in futures_util::future::join_all(retries).await {
        assert_eq!(r.body["results"], first.body["results"]);
    }
    let (changes, _) = pull_all(&w.app, &w.a2.s.access, None).await;
    assert_eq!(
        changes
            .iter()
            .filter(|c| c["entity"] == "household")
            .count(),
        1
    );
}

/// Pushes are written through one connection the writer keeps. When PostgreSQL drops it
/// (a restart, a failover, an administrator), the group that finds it lost is applied
/// again on another connection: the phone sees nothing of it, and nothing is applied
/// twice. (SQLite is a file: it has no connection to drop. There the test only shows
/// the pushes on either side of that moment applied.)
#[actix_web::test]
async fn pushes_go_on_after_the_database_drops_the_writers_connection() {
    let w = world().await;
    household_with_person(&w.app, &w.a1, &w.tree.community_a, 141).await;
    if on_postgres() {
        use diesel::RunQueryDsl;
        let backend = w.app.config.backend().expect("backend");
        let mut conn = backend.connect().expect("connect");
        let liuqing_schema::DbConn::Pg(pg) = &mut conn else {
            panic!("a PostgreSQL connection")
        };
        // Every other connection to the app's database: the writer's and the pool's.
        let dropped = diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .execute(pg)
        .expect("terminate");
        assert!(dropped > 0, "the app had connections open");
    }
    let h = new_id();
    let batch = vec![w.a1.upsert(
        "household",
        &h,
        None,
        json!({ "community_id": w.tree.community_a, "address": "二号" }),
    )];
    let answer = push_ok(&w.app, &w.a1, batch.clone()).await;
    assert_eq!(answer[0]["status"], "applied", "{answer:?}");
    let again = push_ok(&w.app, &w.a1, batch).await;
    assert_eq!(again, answer);
    let (changes, _) = pull_all(&w.app, &w.a2.s.access, None).await;
    assert_eq!(changes.iter().filter(|c| c["id"] == h.as_str()).count(), 1);
}

/// Pushes that arrive together are committed together (group commit): each phone must
/// still get its own answers, in its order, and every record must be applied once.
#[actix_web::test]
async fn concurrent_pushes_from_several_phones_each_get_their_own_answers() {
    let w = world().await;
    let mut phones = vec![w.a1, w.a2];
    for i in 0..3 {
        phones.push(Phone::new(
            w.app
                .user(
                    &w.admin,
                    &format!("coord-x{i}"),
                    "coordinator",
                    &[&w.tree.community_a],
                )
                .await,
        ));
    }
    // 150 mutations a phone: a chunk and a half. The 7th is refused (no address).
    let batches: Vec<Vec<Value>> = phones
        .iter()
        .enumerate()
        .map(|(p, phone)| {
            (0..150)
                .map(|i| {
                    let fields = if i == 7 {
                        json!({ "community_id": w.tree.community_a })
                    } else {
                        json!({ "community_id": w.tree.community_a, "address": format!("{p}-{i}") })
                    };
                    phone.upsert("household", &new_id(), None, fields)
                })
                .collect()
        })
        .collect();
    let check = |answers: Vec<Reply>| {
        let mut versions = std::collections::HashSet::new();
        for (batch, answer) in batches.iter().zip(answers) {
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            let results = answer.body["results"].as_array().expect("results");
            assert_eq!(results.len(), batch.len());
            for (i, (m, r)) in batch.iter().zip(results).enumerate() {
                assert_eq!(
                    r["mutation_id"], m["mutation_id"],
                    "answer {i} out of order"
                );
                if i == 7 {
                    assert_eq!(r["status"], "rejected", "{r}");
                } else {
                    assert_eq!(r["status"], "applied", "{r}");
                    assert!(versions.insert(r["version"].as_i64().expect("version")));
                }
            }
        }
    };
    let push_all = || {
        futures_util::future::join_all(
            phones
                .iter()
                .zip(&batches)
                .map(|(phone, b)| push(&w.app, phone, b.clone())),
        )
    };
    let first = push_all().await;
    let first_bodies: Vec<Value> = first.iter().map(|r| r.body.clone()).collect();
    check(first);
    // All of it again at once, as retries: the same answers, nothing applied twice.
    let again = push_all().await;
    for (a, b) in again.iter().zip(&first_bodies) {
        assert_eq!(a.body["results"], b["results"]);
    }
    let (changes, _) = pull_all(&w.app, &phones[0].s.access, None).await;
    let mut addresses: Vec<String> = changes
        .iter()
        .filter(|c| c["entity"] == "household")
        .map(|c| c["data"]["address"].as_str().expect("address").to_string())
        .collect();
    assert_eq!(addresses.len(), phones.len() * 149);
    addresses.sort();
    addresses.dedup();
    assert_eq!(
        addresses.len(),
        phones.len() * 149,
        "a household applied twice"
    );
}

#[actix_web::test]
async fn concurrent_edits_of_one_field_keep_the_loser_as_a_conflict() {
    let w = world().await;
    let (_, p, v) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 31).await;
    // Both phones edit the name offline from the same version; a2's edit is later.
    let early =
        w.a1.upsert("person", &p, Some(v), json!({ "name": "张三丰" }));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let late =
        w.a2.upsert("person", &p, Some(v), json!({ "name": "张三峰" }));
    let r2 = push_ok(&w.app, &w.a2, vec![late]).await;
    assert_eq!(r2[0]["status"], "applied");
    let r1 = push_ok(&w.app, &w.a1, vec![early]).await;
    assert_eq!(r1[0]["status"], "conflict", "{r1:?}");
    assert_eq!(r1[0]["conflicts"][0]["field"], "name");
    assert_eq!(r1[0]["conflicts"][0]["kept"], "张三峰");
    assert_eq!(r1[0]["conflicts"][0]["yours"], "张三丰");
    let (changes, _) = pull_all(&w.app, &w.staff.access, None).await;
    let person = changes
        .iter()
        .find(|c| c["id"] == p.as_str())
        .expect("person");
    assert_eq!(person["data"]["name"], "张三峰");

    // The same value from both sides is no conflict.
    let v2 = person["version"].as_i64().expect("v");
    let r = push_ok(
        &w.app,
        &w.a1,
        vec![w
            .a1
            .upsert("person", &p, Some(v), json!({ "name": "张三峰" }))],
    )
    .await;
    assert_eq!(r[0]["status"], "applied");
    assert_eq!(r[0]["version"], v2, "nothing changed");
}

/// A phone's own earlier write is no concurrent edit: a person made offline and renamed
/// before the first push, or a field edited twice between syncs, carries a base version
/// older than the phone's own write, and must not leave a conflict of the coordinator
/// against themself in the staff's queue. Another phone's write still does.
#[actix_web::test]
async fn a_phone_overwriting_its_own_unsynced_edit_makes_no_conflict() {
    let w = world().await;
    let (h, p) = (new_id(), new_id());
    let results = push_ok(
        &w.app,
        &w.a1,
        vec![
            w.a1.upsert("household", &h, None, json!({ "community_id": w.tree.community_a, "address": "三号" })),
            w.a1.upsert("person", &p, None, json!({ "household_id": h, "name": "张三", "id_number": id_number("19800101", 151) })),
            // Renamed before the phone ever heard of a version.
            w.a1.upsert("person", &p, None, json!({ "name": "张叁" })),
        ],
    )
    .await;
    assert_eq!(results[2]["status"], "applied", "{results:?}");
    let v = results[2]["version"].as_i64().expect("version");

    // Twice more from the same stale base, between two syncs.
    let results = push_ok(
        &w.app,
        &w.a1,
        vec![
            w.a1.upsert("person", &p, Some(v), json!({ "name": "张珊" })),
            w.a1.upsert("person", &p, Some(v), json!({ "name": "张山" })),
        ],
    )
    .await;
    assert_eq!(results[0]["status"], "applied", "{results:?}");
    assert_eq!(results[1]["status"], "applied", "{results:?}");
    assert!(conflicts(&w.app, &w.staff.access).await.is_empty());

    // Another phone from that same base: a concurrent edit, recorded as ever.
    let other = push_ok(
        &w.app,
        &w.a2,
        vec![w
            .a2
            .upsert("person", &p, Some(v), json!({ "name": "张杉" }))],
    )
    .await;
    assert_eq!(other[0]["status"], "merged", "{other:?}");
    let open = conflicts(&w.app, &w.staff.access).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["field"], "name");
    let (changes, _) = pull_all(&w.app, &w.staff.access, None).await;
    let person = changes
        .iter()
        .find(|c| c["id"] == p.as_str())
        .expect("person");
    assert_eq!(person["data"]["name"], "张杉");
}

#[actix_web::test]
async fn a_later_concurrent_edit_wins_and_the_overwritten_value_is_kept() {
    let w = world().await;
    let (_, p, v) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 41).await;
    let early = w.a1.upsert(
        "person",
        &p,
        Some(v),
        json!({ "employment_card_no": "E-1" }),
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let late = w.a2.upsert(
        "person",
        &p,
        Some(v),
        json!({ "employment_card_no": "E-2" }),
    );
    assert_eq!(
        push_ok(&w.app, &w.a1, vec![early]).await[0]["status"],
        "applied"
    );
    let r = push_ok(&w.app, &w.a2, vec![late]).await;
    assert_eq!(r[0]["status"], "merged", "{r:?}");
    let backend = w.app.config.backend().expect("backend");
    let pid = p.clone();
    let conflicts = tokio::task::spawn_blocking(move || {
        let mut conn = backend.connect().expect("connect");
        liuqing_schema::records::conflicts_of(
            &mut conn,
            liuqing_schema::entities::Entity::Person,
            &pid,
        )
        .expect("conflicts")
    })
    .await
    .expect("join");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].kept, "\"E-2\"");
    assert_eq!(conflicts[0].yours, "\"E-1\"");
    assert_eq!(conflicts[0].status, "open");
}

#[actix_web::test]
async fn sets_merge_adds_and_removes_without_conflicts() {
    let w = world().await;
    let (_, p, _) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 51).await;
    let r = push_ok(
        &w.app,
        &w.a1,
        vec![w.a1.upsert(
            "six_clears",
            &p,
            None,
            json!({ "person_id": p, "needs.job_types": ["保洁"] }),
        )],
    )
    .await;
    let v = r[0]["version"].as_i64();
    let a = w.a1.set_ops(
        "six_clears",
        &p,
        v,
        json!({ "needs.job_types": { "add": ["保安"], "remove": ["保洁"] } }),
    );
    let b = w.a2.set_ops(
        "six_clears",
        &p,
        v,
        json!({ "needs.job_types": { "add": ["家政"] } }),
    );
    push_ok(&w.app, &w.a1, vec![a]).await;
    let r = push_ok(&w.app, &w.a2, vec![b]).await;
    assert_eq!(r[0]["status"], "merged");
    let (changes, _) = pull_all(&w.app, &w.a1.s.access, None).await;
    let six = changes
        .iter()
        .find(|c| c["entity"] == "six_clears")
        .expect("six");
    assert_eq!(six["data"]["needs"]["job_types"], json!(["保安", "家政"]));
    // A set is not replaced whole on an existing record.
    let r = push_ok(
        &w.app,
        &w.a1,
        vec![w
            .a1
            .upsert("six_clears", &p, None, json!({ "needs.job_types": ["x"] }))],
    )
    .await;
    assert_eq!(r[0]["status"], "rejected");
}

#[actix_web::test]
async fn staff_owned_fields_become_proposals_from_phones() {
    let w = world().await;
    let (_, p, _) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 61).await;
    let e = new_id();
    let hash = "a".repeat(64);
    let r = push_ok(
        &w.app,
        &w.a1,
        vec![w.a1.upsert(
            "evidence",
            &e,
            None,
            json!({ "person_id": p, "evidence_type": "resident_id_card", "attachment_sha256": hash, "review_state": "approved" }),
        )],
    )
    .await;
    assert_eq!(r[0]["status"], "conflict", "{r:?}");
    assert_eq!(r[0]["conflicts"][0]["field"], "review_state");
    assert_eq!(r[0]["conflicts"][0]["yours"], "approved");
    let (changes, _) = pull_all(&w.app, &w.a1.s.access, None).await;
    let ev = changes
        .iter()
        .find(|c| c["entity"] == "evidence")
        .expect("evidence");
    assert_eq!(ev["data"]["review_state"], "pending");
}

#[actix_web::test]
async fn bad_mutations_are_rejected_one_by_one_without_blocking_the_rest() {
    let w = world().await;
    let h = new_id();
    let results = push_ok(
        &w.app,
        &w.a1,
        vec![
            w.a1.upsert(
                "person",
                &new_id(),
                None,
                json!({ "household_id": new_id(), "name": "孤儿" }),
            ),
            w.a1.upsert(
                "household",
                &h,
                None,
                json!({ "community_id": w.tree.community_a, "address": "x", "colour": "red" }),
            ),
            w.a1.upsert("spaceship", &new_id(), None, json!({})),
            w.a1.upsert(
                "person",
                &new_id(),
                None,
                json!({ "household_id": new_id(), "name": "x", "id_number": "110105197001010010" }),
            ),
            w.a1.upsert(
                "household",
                &h,
                None,
                json!({ "community_id": w.tree.community_a, "address": "ok" }),
            ),
        ],
    )
    .await;
    assert_eq!(results[0]["reason"], "unknown_parent");
    assert_eq!(results[0]["errors"][0]["field"], "household_id");
    assert_eq!(results[1]["reason"], "invalid");
    assert_eq!(
        results[1]["errors"][0],
        json!({ "field": "colour", "reason": "unknown field" })
    );
    assert_eq!(results[2]["errors"][0]["field"], "entity");
    assert_eq!(results[3]["status"], "rejected");
    assert_eq!(
        results[4]["status"], "applied",
        "the last one still applies"
    );
}

#[actix_web::test]
async fn a_person_is_enrolled_once() {
    let w = world().await;
    let (h, p, _) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 71).await;
    let r = push_ok(
        &w.app,
        &w.a2,
        vec![w.a2.upsert(
            "person",
            &new_id(),
            None,
            json!({ "household_id": h, "name": "张三", "id_number": id_number("19700101", 71) }),
        )],
    )
    .await;
    assert_eq!(r[0]["reason"], "duplicate_person", "{r:?}");
    assert_eq!(r[0]["existing_id"], p.as_str());
    // Correcting another person's number to an enrolled one is refused the same way.
    let (_, other, version) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 73).await;
    let r = push_ok(
        &w.app,
        &w.a2,
        vec![w.a2.upsert(
            "person",
            &other,
            Some(version),
            json!({ "id_number": id_number("19700101", 71) }),
        )],
    )
    .await;
    assert_eq!(r[0]["reason"], "duplicate_person", "{r:?}");
    assert_eq!(r[0]["existing_id"], p.as_str());
    // A wrong check character is a clear rejection naming the field.
    let mut bad = id_number("19700101", 72);
    bad.pop();
    bad.push(if id_number("19700101", 72).ends_with('0') {
        '1'
    } else {
        '0'
    });
    let r = push_ok(
        &w.app,
        &w.a2,
        vec![w.a2.upsert(
            "person",
            &new_id(),
            None,
            json!({ "household_id": h, "name": "王五", "id_number": bad }),
        )],
    )
    .await;
    assert_eq!(r[0]["errors"][0]["field"], "id_number");
}

/// A person's enrolment day, from which the no-contact exit rule counts, is the stations'
/// day of the push, not the UTC day: the app runs at an offset that puts the two on
/// different days at the moment of the test (half an hour or more from either midnight).
#[actix_web::test]
async fn a_person_is_enrolled_on_the_stations_day() {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    let minutes = i32::try_from(now.hour() * 60 + now.minute()).expect("minutes of a day");
    let offset = if minutes <= 13 * 60 + 30 {
        -(minutes + 30)
    } else {
        24 * 60 - minutes + 30
    };
    let w = world_with(|c| c.utc_offset_minutes = offset).await;
    let (_, p, _) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 81).await;
    let stations_day = (chrono::Utc::now() + chrono::Duration::minutes(offset.into())).date_naive();
    assert_ne!(stations_day, chrono::Utc::now().date_naive());
    let r = w
        .app
        .get(&format!("/v1/persons/{p}"), &w.staff.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["summary"]["enrolled_on"],
        stations_day.format("%Y-%m-%d").to_string(),
        "{}",
        r.body
    );
}

/// The ids of the persons station staff find under `category`.
async fn with_category(w: &World, category: &str) -> Vec<Value> {
    let r = w
        .app
        .get(&format!("/v1/persons?category={category}"), &w.staff.access)
        .await;
    let items = r.body["items"].as_array().cloned().unwrap_or_default();
    items.iter().map(|i| i["id"].clone()).collect()
}

/// A person's projection row (what searches and reports read) takes the categories of
/// their six-clears record. When both arrive in one push the row is inserted with them,
/// from the record's last state in the push; a later change to the record updates it.
#[actix_web::test]
async fn a_persons_categories_follow_their_six_clears_record() {
    let w = world().await;
    let phone = &w.a1;
    let (h, p) = (new_id(), new_id());
    let r = push_ok(
        &w.app,
        phone,
        vec![
            phone.upsert(
                "household",
                &h,
                None,
                json!({ "community_id": w.tree.community_a, "address": "类别路1号" }),
            ),
            phone.upsert(
                "person",
                &p,
                None,
                json!({ "household_id": h, "name": "类别", "id_number": id_number("19800101", 81) }),
            ),
            phone.upsert(
                "six_clears",
                &p,
                None,
                json!({ "person_id": p, "difficulty.categories": ["older_worker"] }),
            ),
            phone.set_ops(
                "six_clears",
                &p,
                None,
                json!({ "difficulty.categories": { "add": ["disabled"], "remove": [] } }),
            ),
        ],
    )
    .await;
    assert!(r.iter().all(|x| x["status"] != "rejected"), "{r:?}");
    assert_eq!(with_category(&w, "older_worker").await, [json!(p)]);
    assert_eq!(with_category(&w, "disabled").await, [json!(p)]);

    let version = r[3]["version"].as_i64();
    let r = push_ok(
        &w.app,
        phone,
        vec![phone.set_ops(
            "six_clears",
            &p,
            version,
            json!({ "difficulty.categories": { "add": [], "remove": ["older_worker"] } }),
        )],
    )
    .await;
    assert_eq!(r[0]["status"], "applied", "{r:?}");
    assert_eq!(with_category(&w, "older_worker").await, Vec::<Value>::new());
    assert_eq!(with_category(&w, "disabled").await, [json!(p)]);
}

/// A push is applied in chunks whose writes reach the database together at the end; each
/// mutation must still be decided on everything the mutations before it in the same push
/// did, and a rejected one must leave nothing behind.
#[actix_web::test]
async fn each_mutation_of_a_push_sees_what_the_ones_before_it_did() {
    let w = world().await;
    let phone = &w.a1;
    let (h, empty, a, b, c, d) = (new_id(), new_id(), new_id(), new_id(), new_id(), new_id());
    let number = id_number("19750505", 301);
    let person = |id: &str, name: &str, number: &str| {
        phone.upsert(
            "person",
            id,
            None,
            json!({ "household_id": h, "name": name, "id_number": number }),
        )
    };
    let delete = |entity: &str, id: &str| json!({ "mutation_id": new_id(), "entity": entity, "id": id, "op": "delete", "hlc": phone.hlc() });
    let mutations = vec![
        phone.upsert(
            "household",
            &h,
            None,
            json!({ "community_id": w.tree.community_a, "address": "同批路1号" }),
        ),
        person(&a, "甲", &number),
        // The same ID number again, in the same push: refused, naming the first.
        person(&b, "乙", &number),
        // A household whose person came in this push keeps it.
        delete("household", &h),
        // Edited twice in the push, without a base version (the phone has not heard of the
        // record yet): the phone's own creation is no concurrent edit, so the rename simply
        // applies; the phone number was never set.
        phone.upsert("person", &a, None, json!({ "name": "甲二" })),
        phone.upsert("person", &a, None, json!({ "phone": "13900002222" })),
        // Created and deleted in one push.
        phone.upsert(
            "household",
            &empty,
            None,
            json!({ "community_id": w.tree.community_a, "address": "空" }),
        ),
        delete("household", &empty),
        // A deleted person frees the number for the next enrolment in the same push.
        delete("person", &a),
        person(&c, "丙", &number),
        person(&d, "丁", &number),
    ];
    let r = push_ok(&w.app, phone, mutations.clone()).await;
    let status: Vec<&str> = r
        .iter()
        .map(|x| x["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        status,
        [
            "applied", "applied", "rejected", "rejected", "applied", "applied", "applied",
            "applied", "applied", "applied", "rejected"
        ],
        "{r:#?}"
    );
    assert_eq!(r[2]["reason"], "duplicate_person");
    assert_eq!(r[2]["existing_id"], a.as_str());
    assert_eq!(r[3]["reason"], "has_children");
    assert_eq!(r[10]["reason"], "duplicate_person");
    assert_eq!(r[10]["existing_id"], c.as_str());
    let versions: Vec<i64> = r
        .iter()
        .filter(|x| x["status"] != "rejected")
        .map(|x| x["version"].as_i64().expect("version"))
        .collect();
    assert!(
        versions.windows(2).all(|v| v[0] < v[1]),
        "kept mutations take increasing change numbers: {versions:?}"
    );

    // The retry of the whole push is answered the same and changes nothing.
    let (before, _) = pull_all(&w.app, &w.a2.s.access, None).await;
    assert_eq!(push_ok(&w.app, phone, mutations).await, r);
    let (after_first, last) = pull_all(&w.app, &w.a2.s.access, None).await;
    assert_eq!(before, after_first);
    let live: Vec<&Value> = after_first
        .iter()
        .filter(|x| x["deleted"] != true)
        .collect();
    let ids: Vec<&str> = live
        .iter()
        .map(|x| x["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(ids.len(), 2, "the household and 丙: {after_first:#?}");
    assert!(ids.contains(&h.as_str()) && ids.contains(&c.as_str()));
    assert_eq!(last["scope_digest"]["count"], 2);
    // The edited-then-deleted person went out as one tombstone at its last version.
    let a_row = after_first
        .iter()
        .find(|x| x["id"] == a.as_str())
        .expect("a's tombstone");
    assert_eq!(a_row["deleted"], true);
    assert_eq!(a_row["version"].as_i64(), versions.get(6).copied());
    // Nothing of the rejected mutations reached the case file.
    assert!(after_first
        .iter()
        .all(|x| x["id"] != b.as_str() && x["id"] != d.as_str()));
    // The projections followed: 丙 is the one enrolled with the number.
    let found = w
        .app
        .get(&format!("/v1/persons?id_number={number}"), &w.staff.access)
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let items = found.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", found.body);
    assert_eq!(items[0]["id"], c.as_str());
    // The phone renamed its own new person: nothing for the staff to review.
    let open = conflicts(&w.app, &w.staff.access).await;
    assert!(open.is_empty(), "{open:#?}");
}

#[actix_web::test]
async fn a_phone_sees_and_writes_only_its_own_communities() {
    let w = world().await;
    let c_phone = Phone::new(
        w.app
            .user(&w.admin, "coord-c", "coordinator", &[&w.tree.community_c])
            .await,
    );
    let (h, _, _) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 81).await;
    let (changes, last) = pull_all(&w.app, &c_phone.s.access, None).await;
    assert!(
        changes.is_empty(),
        "community A leaked to community C: {changes:?}"
    );
    assert_eq!(last["scope_digest"]["count"], 0);
    let r = push_ok(
        &w.app,
        &c_phone,
        vec![
            c_phone.upsert(
                "person",
                &new_id(),
                None,
                json!({ "household_id": h, "name": "x" }),
            ),
            c_phone.upsert(
                "household",
                &new_id(),
                None,
                json!({ "community_id": w.tree.community_a, "address": "x" }),
            ),
            c_phone.upsert("household", &h, Some(1), json!({ "address": "hijacked" })),
        ],
    )
    .await;
    assert_eq!(r[0]["reason"], "unknown_parent");
    assert_eq!(r[1]["reason"], "unknown_parent");
    assert_eq!(r[2]["reason"], "unknown_record");
}

#[actix_web::test]
async fn gaining_a_community_delivers_it_whole_and_losing_it_purges() {
    let w = world().await;
    household_with_person(&w.app, &w.a1, &w.tree.community_a, 91).await;
    let c_user = w
        .app
        .user(&w.admin, "coord-c", "coordinator", &[&w.tree.community_c])
        .await;
    let c_phone = Phone::new(c_user.clone());
    let (_, last) = pull_all(&w.app, &c_phone.s.access, None).await;
    let cursor = last["cursor"].as_str().expect("cursor").to_string();
    let uid = c_user.user["id"].as_str().expect("id").to_string();
    let path = format!("/v1/admin/users/{uid}/org-nodes");
    let rebind = |nodes: Vec<&String>| {
        w.app
            .put(&path, &w.admin.access, json!({ "org_node_ids": nodes }))
    };
    assert_eq!(
        rebind(vec![&w.tree.community_c, &w.tree.community_a])
            .await
            .status,
        StatusCode::OK
    );
    let (changes, last) = pull_all(&w.app, &c_phone.s.access, Some(&cursor)).await;
    assert_eq!(
        changes.len(),
        2,
        "community A arrives whole from an old cursor: {changes:?}"
    );
    assert_eq!(last["scope_digest"]["count"], 2);
    let cursor = last["cursor"].as_str().expect("cursor").to_string();
    assert_eq!(
        rebind(vec![&w.tree.community_c]).await.status,
        StatusCode::OK
    );
    let r = w
        .app
        .get(
            &format!("/v1/sync/pull?schema_version=1&cursor={cursor}"),
            &c_phone.s.access,
        )
        .await;
    assert_eq!(
        r.body["purge"],
        json!([{ "community_id": w.tree.community_a }])
    );
    assert_eq!(r.body["scope_digest"]["count"], 0);
}

#[actix_web::test]
async fn records_of_one_visit_are_append_only_and_deletes_are_tombstones() {
    let w = world().await;
    let (h, p, _) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 101).await;
    let visit = new_id();
    let r = push_ok(
        &w.app,
        &w.a1,
        vec![w.a1.upsert(
            "visit",
            &visit,
            None,
            json!({ "household_id": h, "started_at": "2026-11-20T09:30:00+08:00", "outcome": "met", "persons_seen": [p] }),
        )],
    )
    .await;
    assert_eq!(r[0]["status"], "applied", "{r:?}");
    let r = push_ok(
        &w.app,
        &w.a1,
        vec![w
            .a1
            .upsert("visit", &visit, None, json!({ "outcome": "refused" }))],
    )
    .await;
    assert_eq!(r[0]["status"], "rejected");
    let del = json!({ "mutation_id": new_id(), "entity": "visit", "id": visit, "op": "delete", "hlc": w.a1.hlc() });
    assert_eq!(
        push_ok(&w.app, &w.a1, vec![del]).await[0]["reason"],
        "append_only"
    );

    // A household with people in it is not deleted; an empty one becomes a tombstone.
    let empty = new_id();
    push_ok(
        &w.app,
        &w.a1,
        vec![w.a1.upsert(
            "household",
            &empty,
            None,
            json!({ "community_id": w.tree.community_a, "address": "空" }),
        )],
    )
    .await;
    let (_, last) = pull_all(&w.app, &w.a2.s.access, None).await;
    let cursor = last["cursor"].as_str().expect("cursor").to_string();
    let del = |id: &str| json!({ "mutation_id": new_id(), "entity": "household", "id": id, "op": "delete", "hlc": w.a1.hlc() });
    assert_eq!(
        push_ok(&w.app, &w.a1, vec![del(&h)]).await[0]["reason"],
        "has_children"
    );
    assert_eq!(
        push_ok(&w.app, &w.a1, vec![del(&empty)]).await[0]["status"],
        "applied"
    );
    let (changes, last) = pull_all(&w.app, &w.a2.s.access, Some(&cursor)).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["deleted"], true);
    assert!(changes[0].get("data").is_none());
    assert_eq!(
        last["scope_digest"]["count"], 3,
        "household, person and visit; not the tombstone"
    );
}

#[actix_web::test]
async fn a_phone_clock_two_days_fast_is_clamped_and_recorded() {
    let w = world().await;
    let mut fast = Phone::new(w.a1.s.clone());
    fast.skew_ms = 2 * 24 * 3600 * 1000;
    let r = push_ok(
        &w.app,
        &fast,
        vec![fast.upsert(
            "household",
            &new_id(),
            None,
            json!({ "community_id": w.tree.community_a, "address": "x" }),
        )],
    )
    .await;
    assert_eq!(r[0]["status"], "applied");
    assert_eq!(r[0]["clock_clamped"], true);
    // A clock that names another device is refused.
    let mut m = w.a1.upsert(
        "household",
        &new_id(),
        None,
        json!({ "community_id": w.tree.community_a, "address": "x" }),
    );
    m["hlc"] = json!(w.a2.hlc());
    assert_eq!(
        push_ok(&w.app, &w.a1, vec![m]).await[0]["errors"][0]["field"],
        "hlc"
    );
}

#[actix_web::test]
async fn protocol_limits_and_versions_are_clear_problems() {
    let app = TestApp::spawn_with(|c| {
        c.sync_max_mutations = 3;
        c.sync_max_page = 10;
    })
    .await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let s = app
        .user(&admin, "coord-p", "coordinator", &[&t.community_a])
        .await;
    let phone = Phone::new(s.clone());
    let r = app
        .post(
            "/v1/sync/push",
            Some(&s.access),
            json!({ "schema_version": 9, "mutations": [] }),
        )
        .await;
    r.problem(426, "unsupported_schema_version");
    let many: Vec<Value> = (0..4)
        .map(|_| phone.upsert("household", &new_id(), None, json!({})))
        .collect();
    let r = app
        .post(
            "/v1/sync/push",
            Some(&s.access),
            json!({ "schema_version": 1, "mutations": many }),
        )
        .await;
    r.problem(413, "payload_too_large");
    app.get("/v1/sync/pull?schema_version=1&limit=11", &s.access)
        .await
        .problem(422, "validation_failed");
    app.get("/v1/sync/pull?schema_version=1&cursor=garbage", &s.access)
        .await
        .problem(422, "validation_failed");
    app.get("/v1/sync/pull?schema_version=2", &s.access)
        .await
        .problem(426, "unsupported_schema_version");
    app.get("/v1/sync/pull", &s.access)
        .await
        .problem(400, "bad_request");
    let r = app
        .post(
            "/v1/sync/push",
            Some(&s.access),
            json!({ "schema_version": 1, "mutations": [{ "mutation_id": "x" }] }),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "mutations[0].mutation_id");
    let status = app.get("/v1/sync/status?schema_version=1", &s.access).await;
    assert_eq!(status.status, StatusCode::OK, "{}", status.body);
    assert_eq!(status.body["schema_versions"], json!([1]));
    assert_eq!(status.body["device_state"], "active");
    assert_eq!(status.body["open_tasks"], 0);
}

#[actix_web::test]
async fn a_retiring_device_pushes_once_then_is_locked() {
    let w = world().await;
    let r = w
        .app
        .patch(
            &format!("/v1/devices/{}", w.a1.s.device_id),
            &w.staff.access,
            json!({ "state": "retiring" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let results = push_ok(
        &w.app,
        &w.a1,
        vec![w.a1.upsert(
            "household",
            &new_id(),
            None,
            json!({ "community_id": w.tree.community_a, "address": "last" }),
        )],
    )
    .await;
    assert_eq!(results[0]["status"], "applied");
    push(&w.app, &w.a1, vec![])
        .await
        .problem(401, "device_revoked");
}

async fn conflicts(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app.get("/v1/sync/conflicts", token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"].as_array().expect("items").clone()
}

#[actix_web::test]
async fn staff_resolve_conflicts_and_the_decision_reaches_the_phones() {
    let w = world().await;
    let (_, p, v) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 111).await;
    let early =
        w.a1.upsert("person", &p, Some(v), json!({ "name": "旧名" }));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let late =
        w.a2.upsert("person", &p, Some(v), json!({ "name": "新名" }));
    push_ok(&w.app, &w.a2, vec![late]).await;
    assert_eq!(
        push_ok(&w.app, &w.a1, vec![early]).await[0]["status"],
        "conflict"
    );

    // Coordinators have no queue; another station's staff do not see this one.
    w.app
        .get("/v1/sync/conflicts", &w.a1.s.access)
        .await
        .problem(403, "forbidden_role");
    let staff2 = w
        .app
        .user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    assert!(conflicts(&w.app, &staff2.access).await.is_empty());

    let queue = conflicts(&w.app, &w.staff.access).await;
    assert_eq!(queue.len(), 1);
    assert_eq!(
        (queue[0]["kept"].as_str(), queue[0]["yours"].as_str()),
        (Some("新名"), Some("旧名"))
    );
    let cid = queue[0]["id"].as_str().expect("id").to_string();
    let path = format!("/v1/sync/conflicts/{cid}/resolve");
    w.app
        .post(
            &path,
            Some(&staff2.access),
            json!({ "resolution": "take_phone" }),
        )
        .await
        .problem(404, "not_found");
    w.app
        .post(
            &path,
            Some(&w.staff.access),
            json!({ "resolution": "new_value" }),
        )
        .await
        .problem(422, "validation_failed");

    let (_, last) = pull_all(&w.app, &w.a2.s.access, None).await;
    let cursor = last["cursor"].as_str().expect("cursor").to_string();
    let r = w
        .app
        .post(
            &path,
            Some(&w.staff.access),
            json!({ "resolution": "take_phone" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "resolved");
    assert_eq!(r.body["resolution"], "take_phone");
    w.app
        .post(
            &path,
            Some(&w.staff.access),
            json!({ "resolution": "keep_server" }),
        )
        .await
        .problem(409, "already_resolved");
    assert!(conflicts(&w.app, &w.staff.access).await.is_empty());

    // The decision is a change like any other: the phone's next pull brings it.
    let (changes, _) = pull_all(&w.app, &w.a2.s.access, Some(&cursor)).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["data"]["name"], "旧名");
}

#[actix_web::test]
async fn staff_accept_a_coordinators_proposal_for_a_staff_owned_field() {
    let w = world().await;
    let (_, p, _) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 121).await;
    let e = new_id();
    push_ok(
        &w.app,
        &w.a1,
        vec![w.a1.upsert(
            "evidence",
            &e,
            None,
            json!({ "person_id": p, "evidence_type": "employment_card", "attachment_sha256": "b".repeat(64), "review_state": "approved" }),
        )],
    )
    .await;
    let queue = conflicts(&w.app, &w.staff.access).await;
    assert_eq!(queue[0]["policy"], "staff_locked");
    let cid = queue[0]["id"].as_str().expect("id");
    let r = w
        .app
        .post(
            &format!("/v1/sync/conflicts/{cid}/resolve"),
            Some(&w.staff.access),
            json!({ "resolution": "new_value", "value": "retake" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (changes, _) = pull_all(&w.app, &w.a1.s.access, None).await;
    let ev = changes
        .iter()
        .find(|c| c["entity"] == "evidence")
        .expect("evidence");
    assert_eq!(ev["data"]["review_state"], "retake");
    // A value the field cannot hold is refused, naming it.
    let e2 = new_id();
    push_ok(
        &w.app,
        &w.a1,
        vec![w.a1.upsert(
            "evidence",
            &e2,
            None,
            json!({ "person_id": p, "evidence_type": "resident_id_card", "attachment_sha256": "c".repeat(64), "review_state": "approved" }),
        )],
    )
    .await;
    let queue = conflicts(&w.app, &w.staff.access).await;
    let cid = queue[0]["id"].as_str().expect("id");
    w.app
        .post(
            &format!("/v1/sync/conflicts/{cid}/resolve"),
            Some(&w.staff.access),
            json!({ "resolution": "new_value", "value": "maybe" }),
        )
        .await
        .problem(422, "validation_failed");
}

/// On PostgreSQL a writer that took its change number can commit after one that took a
/// later number would, if numbers were a plain sequence. Here a writer holds its
/// transaction open after taking a number; a phone pushes and a pull runs meanwhile; no
/// change may be skipped by the cursor that pull returns.
#[actix_web::test]
async fn a_pull_never_skips_a_change_committed_out_of_order() {
    let w = world().await;
    let (h, _, _) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 131).await;
    let (_, last) = pull_all(&w.app, &w.a2.s.access, None).await;
    let cursor = last["cursor"].as_str().expect("cursor").to_string();

    // A slow writer: takes a change number and writes a record, then waits.
    let backend = w.app.config.backend().expect("backend");
    let community = w.tree.community_a.clone();
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<i64>();
    let slow_id = new_id();
    let slow_record = slow_id.clone();
    let slow = std::thread::spawn(move || {
        use diesel::Connection;
        let mut conn = backend.connect().expect("connect");
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            let version = liuqing_schema::records::lock_for_write(conn).expect("lock") + 1;
            liuqing_schema::records::set_counter(conn, version).expect("number");
            let now = chrono::Utc::now().timestamp_micros();
            liuqing_schema::records::save(
                conn,
                &liuqing_schema::records::Record {
                    entity: liuqing_schema::entities::Entity::Household,
                    id: slow_record,
                    community_id: community,
                    parent_id: None,
                    version,
                    deleted: false,
                    data: json!({ "address": "slow" }).to_string(),
                    clocks: "{}".into(),
                    created_at: now,
                    updated_at: now,
                    created_by: None,
                    updated_by: None,
                    updated_device: None,
                },
            )
            .expect("save");
            ready_tx.send(version).expect("ready");
            hold_rx.recv().expect("hold");
            Ok(())
        })
        .expect("commit");
    });
    let slow_version = ready_rx.recv().expect("slow writer ready");

    // Meanwhile a phone pushes (it must wait for, or follow, the slow writer) …
    let app = &w.app;
    let fast =
        w.a1.upsert("household", &h, None, json!({ "address": "fast" }));
    let push = push_ok(app, &w.a1, vec![fast]);
    // … and a pull runs while the slow transaction is still open.
    let during = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let r = app
            .get(
                &format!("/v1/sync/pull?schema_version=1&cursor={cursor}"),
                &w.a2.s.access,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        hold_tx.send(()).expect("release");
        r
    };
    let (pushed, during) = tokio::join!(push, during);
    slow.join().expect("slow writer");
    assert!(
        pushed[0]["version"].as_i64().expect("v") > slow_version,
        "numbers follow commit order"
    );
    let seen_during: Vec<String> = during.body["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        !seen_during.contains(&slow_id),
        "an uncommitted change was shown"
    );

    // From the cursor that pull returned, both changes arrive: nothing was skipped.
    let (after, _) = pull_all(app, &w.a2.s.access, during.body["cursor"].as_str()).await;
    let ids: Vec<&str> = after.iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(
        ids.contains(&slow_id.as_str()),
        "the slow writer's change was skipped: {after:?}"
    );
    assert!(
        ids.contains(&h.as_str()),
        "the phone's change was skipped: {after:?}"
    );
}

#[actix_web::test]
async fn a_cursor_older_than_the_kept_tombstones_is_gone() {
    let w = world().await;
    let empty = new_id();
    push_ok(
        &w.app,
        &w.a1,
        vec![w.a1.upsert(
            "household",
            &empty,
            None,
            json!({ "community_id": w.tree.community_a, "address": "x" }),
        )],
    )
    .await;
    let (_, last) = pull_all(&w.app, &w.a2.s.access, None).await;
    let old_cursor = last["cursor"].as_str().expect("cursor").to_string();
    let del = json!({ "mutation_id": new_id(), "entity": "household", "id": empty, "op": "delete", "hlc": w.a1.hlc() });
    push_ok(&w.app, &w.a1, vec![del]).await;
    // Still within retention: the tombstone is delivered.
    let (changes, _) = pull_all(&w.app, &w.a2.s.access, Some(&old_cursor)).await;
    assert_eq!(changes[0]["deleted"], true);
    // Retention passes and the cleanup removes it: the old cursor is now gone.
    let backend = w.app.config.backend().expect("backend");
    let removed = tokio::task::spawn_blocking(move || {
        let mut conn = backend.connect().expect("connect");
        liuqing_schema::records::purge_tombstones(
            &mut conn,
            chrono::Utc::now().timestamp_micros() + 1,
        )
        .expect("purge")
    })
    .await
    .expect("join");
    assert_eq!(removed, 1);
    let r = w
        .app
        .get(
            &format!("/v1/sync/pull?schema_version=1&cursor={old_cursor}"),
            &w.a2.s.access,
        )
        .await;
    r.problem(410, "cursor_expired");
    // Starting again from no cursor works, without the removed record.
    let (changes, last) = pull_all(&w.app, &w.a2.s.access, None).await;
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(last["scope_digest"]["count"], 0);
}

/// The scope digest is kept up by every write (a new record, an edit's new version, a
/// deletion), and matches what a phone computes over the records; a database without
/// digests (one written before they were kept) has them filled from its records when the
/// server starts, and wrong ones are rebuilt, to the same value.
#[actix_web::test]
async fn scope_digests_are_kept_up_filled_at_start_up_and_healed_when_they_drift() {
    use diesel::RunQueryDsl;
    // The upkeep's visit tasks for these never-visited households would change the digests
    // compared across its restarts.
    let w = world_with(|c| c.visit_tasks = false).await;
    let (_, p, version) = household_with_person(&w.app, &w.a1, &w.tree.community_a, 21).await;
    household_with_person(&w.app, &w.a1, &w.tree.community_a, 22).await;
    let lone = new_id();
    let results = push_ok(
        &w.app,
        &w.a1,
        vec![
            w.a1.upsert("person", &p, Some(version), json!({ "name": "李四" })),
            w.a1.upsert(
                "household",
                &lone,
                None,
                json!({ "community_id": w.tree.community_a, "address": "x" }),
            ),
        ],
    )
    .await;
    assert!(
        results.iter().all(|r| r["status"] == "applied"),
        "{results:?}"
    );
    let delete = json!({ "mutation_id": new_id(), "entity": "household", "id": lone, "op": "delete", "hlc": w.a1.hlc() });
    let results = push_ok(&w.app, &w.a1, vec![delete]).await;
    assert_eq!(results[0]["status"], "applied", "{results:?}");

    let (changes, last) = pull_all(&w.app, &w.a2.s.access, None).await;
    let live: Vec<(String, String, i64)> = changes
        .iter()
        .filter(|c| c["deleted"] == false)
        .map(|c| {
            let text = |k: &str| c[k].as_str().expect("text").to_string();
            (
                text("entity"),
                text("id"),
                c["version"].as_i64().expect("version"),
            )
        })
        .collect();
    assert_eq!(live.len(), 4, "two households and two persons: {changes:?}");
    let computed =
        liuqing_sync::feed::digest_of(live.iter().map(|(e, id, v)| (e.as_str(), id.as_str(), *v)));
    let kept = last["scope_digest"].clone();
    assert_eq!(kept["count"], computed.count);
    assert_eq!(kept["hash"], computed.hash.as_str());

    // Lose the digests, as a database from before them would have none; a restart fills
    // them from the records.
    let (config, data) = w.app.stop().await;
    {
        let mut conn = config
            .backend()
            .expect("backend")
            .connect()
            .expect("connect");
        diesel::sql_query("DELETE FROM community_digests")
            .execute(&mut conn)
            .expect("delete digests");
        diesel::sql_query("DELETE FROM sync_state WHERE name = 'community_digests_built'")
            .execute(&mut conn)
            .expect("delete the mark");
    }
    let app = TestApp::start(config, data).await;
    let (_, again) = pull_all(&app, &w.a2.s.access, None).await;
    assert_eq!(again["scope_digest"], kept);

    // Digests gone wrong (as a server that did not keep them would leave them) are
    // computed again by `liuqing rebuild-digests`.
    let (config, data) = app.stop().await;
    {
        let mut conn = config
            .backend()
            .expect("backend")
            .connect()
            .expect("connect");
        diesel::sql_query("UPDATE community_digests SET live = live + 1, sum = 7")
            .execute(&mut conn)
            .expect("spoil the digests");
        let communities = liuqing_sync::feed::rebuild_digests(&mut conn).expect("rebuild");
        assert_eq!(communities, 1);
    }
    let app = TestApp::start(config, data).await;
    let (_, rebuilt) = pull_all(&app, &w.a2.s.access, None).await;
    assert_eq!(rebuilt["scope_digest"], kept);

    // The upkeep's first round runs at start-up and heals a drift the last server left.
    // (Waiting for it also keeps that round, which may run late on a busy machine, out of
    // the hourly check tested below.)
    let (config, data) = app.stop().await;
    {
        let mut conn = config
            .backend()
            .expect("backend")
            .connect()
            .expect("connect");
        diesel::sql_query("UPDATE community_digests SET live = live + 1")
            .execute(&mut conn)
            .expect("spoil the digests");
    }
    let app = TestApp::start(config, data).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, page) = pull_all(&app, &w.a2.s.access, None).await;
        if page["scope_digest"] == kept {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the start-up round never healed the digests"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The upkeep's hourly check leaves digests in step alone, and finds one that drifted
    // while the server runs, names its community and heals it.
    let mut conn = app
        .config
        .backend()
        .expect("backend")
        .connect()
        .expect("connect");
    let check = |conn: &mut liuqing_schema::DbConn| {
        liuqing_sync::feed::check_digests(conn).expect("check the digests")
    };
    assert!(check(&mut conn).is_empty());
    diesel::sql_query("UPDATE community_digests SET live = live + 1")
        .execute(&mut conn)
        .expect("spoil the digests");
    let (_, spoiled) = pull_all(&app, &w.a2.s.access, None).await;
    assert_ne!(spoiled["scope_digest"], kept);
    assert_eq!(check(&mut conn), vec![w.tree.community_a.clone()]);
    assert!(check(&mut conn).is_empty());
    let (_, healed) = pull_all(&app, &w.a2.s.access, None).await;
    assert_eq!(healed["scope_digest"], kept);
}

/// A push builds a record that looks new (no base version) before taking the write lock,
/// and one that does not under it: the same creations give the same answers and records
/// either way, rejections included, and in the same order of precedence.
#[actix_web::test]
async fn a_new_record_is_judged_the_same_whether_it_was_built_before_the_lock_or_not() {
    let (h, p, q, r, s, t) = (new_id(), new_id(), new_id(), new_id(), new_id(), new_id());
    let number = id_number("19800101", 401);
    let creations = |phone: &Phone, community: &str, base: Option<i64>| {
        let raw = |entity: &str, id: &str, fields: Value, ops: Value| {
            json!({ "mutation_id": new_id(), "entity": entity, "id": id, "op": "upsert",
                    "base_version": base, "hlc": phone.hlc(), "fields": fields, "set_ops": ops })
        };
        vec![
            phone.upsert("household", &h, base, json!({ "community_id": community, "address": "同样路1号" })),
            // Sealed values, derived sex and birth date, and a staff-owned field proposed.
            phone.upsert(
                "person",
                &p,
                base,
                json!({ "household_id": h, "name": "张三", "id_number": number, "phone": "13800001234", "identity_verified": true }),
            ),
            raw(
                "six_clears",
                &p,
                json!({ "person_id": p, "basic.education": "junior_high" }),
                json!({ "difficulty.categories": { "add": ["older_worker"], "remove": [] } }),
            ),
            // An unknown field is named before an unknown parent.
            phone.upsert("person", &q, base, json!({ "household_id": new_id(), "name": "x", "colour": "red" })),
            // An unknown parent is named before a malformed set operation…
            raw("six_clears", &r, json!({ "person_id": r }), json!({ "basic.skills": "nope" })),
            // …which is named on its own under a known parent. (An edit of the six clears
            // made above, so with no base: a base above the record's version is refused.)
            json!({ "mutation_id": new_id(), "entity": "six_clears", "id": p, "op": "upsert",
                    "hlc": phone.hlc(), "fields": { "person_id": p },
                    "set_ops": { "basic.skills": "nope" } }),
            // A missing name, a birth date the ID number contradicts, a duplicate number:
            // the duplicate is the answer.
            phone.upsert("person", &s, base, json!({ "household_id": h, "id_number": number, "birth_date": "1990-01-01" })),
            // Without the duplicate, every field problem is named.
            phone.upsert(
                "person",
                &t,
                base,
                json!({ "household_id": h, "id_number": id_number("19800101", 402), "birth_date": "1990-01-01", "phone": "123" }),
            ),
        ]
    };
    // What may differ between two servers: ids they made, clocks, community ids.
    fn comparable(mut v: Value) -> Value {
        match &mut v {
            Value::Object(map) => {
                for key in [
                    "mutation_id",
                    "conflict_id",
                    "community_id",
                    "hlc",
                    "version",
                ] {
                    map.remove(key);
                }
                for value in map.values_mut() {
                    *value = comparable(value.take());
                }
            }
            Value::Array(items) => {
                for item in items.iter_mut() {
                    *item = comparable(item.take());
                }
            }
            _ => {}
        }
        v
    }
    let mut outcomes = Vec::new();
    for base in [None, Some(7)] {
        let w = world().await;
        let answers = push_ok(&w.app, &w.a1, creations(&w.a1, &w.tree.community_a, base)).await;
        let (changes, _) = pull_all(&w.app, &w.a2.s.access, None).await;
        let open = conflicts(&w.app, &w.staff.access).await;
        outcomes.push((answers, changes, open));
    }
    let (answers, changes, open) = &outcomes[0];
    let status: Vec<&str> = answers
        .iter()
        .map(|a| a["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        status,
        [
            "applied", "conflict", "applied", "rejected", "rejected", "rejected", "rejected",
            "rejected"
        ],
        "{answers:#?}"
    );
    assert_eq!(answers[1]["conflicts"][0]["field"], "identity_verified");
    assert_eq!(
        answers[3]["errors"],
        json!([{ "field": "colour", "reason": "unknown field" }])
    );
    assert_eq!(answers[4]["reason"], "unknown_parent");
    assert_eq!(answers[5]["errors"][0]["field"], "basic.skills");
    assert_eq!(answers[6]["reason"], "duplicate_person");
    let named: Vec<&str> = answers[7]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(named, ["phone", "name", "birth_date"], "{:#?}", answers[7]);
    assert_eq!(changes.len(), 3, "{changes:#?}");
    let person = changes
        .iter()
        .find(|c| c["entity"] == "person")
        .expect("person");
    assert_eq!(person["data"]["sex"], "male");
    assert_eq!(
        person["data"]["birth_date"], "1980-**-**",
        "a coordinator sees the year"
    );
    assert!(
        person["data"].get("identity_verified").is_none(),
        "{person}"
    );
    assert_eq!(open.len(), 1, "{open:#?}");

    let (again, again_changes, again_open) = &outcomes[1];
    let pair = |a: &Vec<Value>| comparable(Value::Array(a.clone()));
    assert_eq!(pair(answers), pair(again));
    assert_eq!(pair(changes), pair(again_changes));
    let judged = |open: &Vec<Value>| -> Vec<Value> {
        open.iter()
            .map(|c| {
                json!([
                    c["record_id"],
                    c["field"],
                    c["policy"],
                    c["kept"],
                    c["yours"]
                ])
            })
            .collect()
    };
    assert_eq!(judged(open), judged(again_open));
}

/// Renames in one push reach the staff's search by name, each person's last one (on
/// PostgreSQL they are written together at the end of the push's chunk), also when a
/// later edit of the same push writes the name with other fields.
#[actix_web::test]
async fn renames_in_one_push_reach_the_search_by_name() {
    let w = world().await;
    let phone = &w.a1;
    let (_, a, va) = household_with_person(&w.app, phone, &w.tree.community_a, 501).await;
    let (_, b, vb) = household_with_person(&w.app, phone, &w.tree.community_a, 502).await;
    let (_, c, vc) = household_with_person(&w.app, phone, &w.tree.community_a, 503).await;
    let r = push_ok(
        &w.app,
        phone,
        vec![
            phone.upsert("person", &a, Some(va), json!({ "name": "AliceFirst" })),
            phone.upsert("person", &b, Some(vb), json!({ "name": "BobNew" })),
            phone.upsert("person", &a, Some(va), json!({ "name": "AliceLast" })),
            phone.upsert("person", &c, Some(vc), json!({ "name": "CarolFirst" })),
            phone.upsert(
                "person",
                &c,
                Some(vc),
                json!({ "name": "CarolLast", "phone": "13900001111" }),
            ),
            phone.upsert("person", &b, Some(vb), json!({ "name": "BobLast" })),
        ],
    )
    .await;
    assert!(r.iter().all(|x| x["status"] != "rejected"), "{r:#?}");
    let found = |name: &str| {
        let app = &w.app;
        let token = w.staff.access.clone();
        let path = format!("/v1/persons?name={name}");
        async move {
            let r = app.get(&path, &token).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|p| p["id"].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("AliceLast").await, [a]);
    assert!(found("AliceFirst").await.is_empty());
    assert_eq!(found("BobLast").await, [b]);
    assert!(found("BobNew").await.is_empty());
    assert_eq!(found("CarolLast").await, [c]);
    assert!(found("CarolFirst").await.is_empty());
}
