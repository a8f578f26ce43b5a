//! What an attacker (or a buggy client) sends that an honest phone never would: each
//! test here is an attack that used to work.

use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::sync::{household_with_person, push, push_ok, world, Phone, World};

/// A mutation with a chosen `base_version` and clock (milliseconds since 1970).
fn edit_at(phone: &Phone, person: &str, base: Option<i64>, millis: u64, name: &str) -> Value {
    json!({ "mutation_id": new_id(), "entity": "person", "id": person, "op": "upsert",
            "base_version": base, "hlc": format!("{millis:015}-00000-{}", phone.s.device_id),
            "fields": { "name": name } })
}

async fn conflict_values(app: &TestApp, staff: &Session, person: &str) -> Vec<(Value, Value)> {
    let r = app.get("/v1/sync/conflicts", &staff.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|c| c["record_id"] == person && c["field"] == "name")
        .map(|c| (c["kept"].clone(), c["yours"].clone()))
        .collect()
}

async fn name_of(app: &TestApp, staff: &Session, person: &str) -> Value {
    let r = app
        .get(&format!("/v1/records/person/{person}"), &staff.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"]["name"].clone()
}

#[actix_web::test]
async fn a_base_version_from_the_future_is_refused_not_a_silent_overwrite() {
    let w = world().await;
    let app = &w.app;
    let (_, p, v) = household_with_person(app, &w.a1, &w.tree.community_a, 71).await;
    // A newer value, written by the other phone.
    let newer = push_ok(
        app,
        &w.a2,
        vec![w
            .a2
            .upsert("person", &p, Some(v), json!({ "name": "新名" }))],
    )
    .await;
    assert_eq!(newer[0]["status"], "applied");
    // The attack: a base far above any version the record had, and a clock from 1970.
    let r = push_ok(
        app,
        &w.a1,
        vec![edit_at(
            &w.a1,
            &p,
            Some(4_611_686_018_427_387_904),
            1,
            "旧名",
        )],
    )
    .await;
    assert_eq!(r[0]["status"], "rejected", "{r:?}");
    assert_eq!(r[0]["reason"], "invalid");
    assert_eq!(r[0]["errors"][0]["field"], "base_version");
    assert_eq!(name_of(app, &w.staff, &p).await, "新名");
    // A negative base is no version either.
    let r = push_ok(app, &w.a1, vec![edit_at(&w.a1, &p, Some(-1), 1, "旧名")]).await;
    assert_eq!(r[0]["errors"][0]["field"], "base_version", "{r:?}");
}

/// One case of the property: phone 2 writes a newer name; phone 1 then sends an edit
/// with any base and any clock. The newer name is the current one afterwards, or kept in a
/// conflict record, or phone 1 had seen it (its base is the newer name's version).
async fn newer_value_survives(w: &World, seq: u32, base: BaseChoice, millis: u64) {
    let app = &w.app;
    let (_, p, v) = household_with_person(app, &w.a1, &w.tree.community_a, seq).await;
    let newer = push_ok(
        app,
        &w.a2,
        vec![w
            .a2
            .upsert("person", &p, Some(v), json!({ "name": "新名" }))],
    )
    .await;
    let newer_version = newer[0]["version"].as_i64().expect("version");
    let base = match base {
        BaseChoice::None => None,
        BaseChoice::Before => Some(v),
        BaseChoice::Seen => Some(newer_version),
        BaseChoice::Ahead(n) => Some(newer_version + n),
        BaseChoice::Any(n) => Some(n),
    };
    let r = push_ok(app, &w.a1, vec![edit_at(&w.a1, &p, base, millis, "旧名")]).await;
    let current = name_of(app, &w.staff, &p).await;
    let kept_in_conflict = conflict_values(app, &w.staff, &p)
        .await
        .iter()
        .any(|(kept, yours)| kept == "新名" || yours == "新名");
    // Seen: the base is the newer name's own version (the record's version now).
    let seen = base == Some(newer_version);
    assert!(
        current == "新名" || kept_in_conflict || seen,
        "base {base:?}, clock {millis}: the newer name vanished (now {current}; answer {r:?})"
    );
    if base.is_some_and(|b| b > newer_version || b < 0) {
        assert_eq!(r[0]["status"], "rejected", "base {base:?}: {r:?}");
    }
}

#[derive(Debug, Clone, Copy)]
enum BaseChoice {
    None,
    Before,
    Seen,
    Ahead(i64),
    Any(i64),
}

fn base_choice() -> impl Strategy<Value = BaseChoice> {
    prop_oneof![
        Just(BaseChoice::None),
        Just(BaseChoice::Before),
        Just(BaseChoice::Seen),
        (1i64..1_000_000).prop_map(BaseChoice::Ahead),
        any::<i64>().prop_map(BaseChoice::Any),
    ]
}

fn clock() -> impl Strategy<Value = u64> {
    let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
    prop_oneof![
        Just(0u64),
        0u64..now,
        Just(now),
        now..now + 400 * 86_400_000,
        Just(999_999_999_999_999u64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    /// No `base_version` and no clock a client can send makes a newer value disappear
    /// without a conflict record.
    #[test]
    fn no_base_or_clock_makes_a_newer_value_vanish(
        cases in prop::collection::vec((base_choice(), clock()), 8)
    ) {
        actix_web::rt::System::new().block_on(async move {
            let w = world().await;
            for (i, (base, millis)) in cases.into_iter().enumerate() {
                newer_value_survives(&w, 200 + i as u32, base, millis).await;
            }
        });
    }
}

/// Every JSON answer, personal data or not, tells browsers and proxies to keep no copy
/// and not to guess its type.
#[actix_web::test]
async fn answers_with_personal_data_are_never_cached_nor_sniffed() {
    let w = world().await;
    let app = &w.app;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 72).await;
    let login = app.login_raw("staff-1", PASSWORD, &new_id()).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let answers = [
        ("login", login),
        (
            "case file",
            app.get(&format!("/v1/persons/{p}"), &w.staff.access).await,
        ),
        (
            "pull",
            app.get("/v1/sync/pull?schema_version=1", &w.a1.s.access)
                .await,
        ),
        (
            "reveal",
            app.post(
                &format!("/v1/persons/{p}/reveal"),
                Some(&w.staff.access),
                json!({ "field": "id_number", "reason": "核对身份证原件" }),
            )
            .await,
        ),
        (
            "problem",
            app.get("/v1/persons/nobody", &w.staff.access).await,
        ),
        (
            "health",
            app.request(reqwest::Method::GET, "/healthz", None, None)
                .await,
        ),
    ];
    for (what, r) in &answers {
        assert_eq!(
            r.headers.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{what}: {:?}",
            r.headers
        );
        assert_eq!(
            r.headers
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{what}"
        );
    }
    assert_eq!(answers[3].1.status, StatusCode::OK, "{}", answers[3].1.body);
}

/// An administrator runs the system and reads no case file, by any road: not through
/// sync (pull, push, status), conflicts, the review queue, a commitment's binding, photos
/// others uploaded, lists and reports. Station staff still can.
#[actix_web::test]
async fn an_admin_reads_and_writes_no_case_file_by_any_road() {
    use crate::attachments::{put_image, wait_for_derivatives};
    use crate::images::{jpeg, sha256};

    let w = world().await;
    let app = &w.app;
    let (h, p, v) = household_with_person(app, &w.a1, &w.tree.community_a, 73).await;
    let photo = jpeg(64, 48, 73);
    let sha = sha256(&photo);
    let e = new_id();
    let r = push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "evidence",
            &e,
            None,
            json!({ "person_id": p,
            "evidence_type": "resident_id_card", "attachment_sha256": sha }),
        )],
    )
    .await;
    assert_eq!(r[0]["status"], "applied", "{r:?}");
    assert_eq!(
        put_image(app, &w.a1.s.access, &photo).await.status,
        StatusCode::CREATED
    );
    wait_for_derivatives(app, &w.a1.s.access, &sha).await;
    // A conflict for the conflict routes.
    push_ok(
        app,
        &w.a2,
        vec![w
            .a2
            .upsert("person", &p, Some(v), json!({ "name": "新名" }))],
    )
    .await;
    let c = push_ok(app, &w.a1, vec![edit_at(&w.a1, &p, Some(v), 1, "旧名")]).await;
    let conflict = c[0]["conflicts"][0]["conflict_id"]
        .as_str()
        .expect("a conflict")
        .to_string();
    let commitment = new_id();
    push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "commitment",
            &commitment,
            None,
            json!({ "person_id": p,
            "template_version": "2026-1", "text_sha256": "d".repeat(64),
            "signature_sha256": "e".repeat(64), "signed_at": "2026-11-20T03:00:00Z" }),
        )],
    )
    .await;

    let push_body = json!({ "schema_version": 1, "mutations": [w.a1.upsert("household", &h,
        Some(v), json!({ "address": "admin was here" }))] });
    let gets = [
        "/v1/sync/pull?schema_version=1".to_string(),
        "/v1/sync/status".to_string(),
        "/v1/sync/conflicts".to_string(),
        "/v1/review/evidence".to_string(),
        format!("/v1/commitments/{commitment}/binding"),
        format!("/v1/attachments/{sha}"),
        format!("/v1/attachments/{sha}/info"),
        format!("/v1/attachments/{sha}/thumbnail"),
        format!("/v1/attachments/{sha}/review"),
        // A hash the server does not hold is refused alike: no oracle.
        format!("/v1/attachments/{}/info", "0".repeat(64)),
        format!("/v1/persons/{p}"),
        "/v1/persons".to_string(),
        format!("/v1/households/{h}"),
        format!("/v1/records/evidence/{e}"),
        "/v1/publicity".to_string(),
        "/v1/exit-candidates".to_string(),
    ];
    for path in &gets {
        let r = app.get(path, &w.admin.access).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "admin GET {path}: {}",
            r.body
        );
        assert_eq!(r.code(), "forbidden_role", "{path}");
    }
    let posts = [
        ("/v1/sync/push".to_string(), push_body),
        (
            format!("/v1/sync/conflicts/{conflict}/resolve"),
            json!({ "resolution": "take_phone" }),
        ),
        (
            format!("/v1/review/evidence/{e}/decision"),
            json!({ "decision": "approved" }),
        ),
        (
            format!("/v1/recognitions/{}/actions", new_id()),
            json!({ "action": "start_review" }),
        ),
    ];
    for (path, body) in &posts {
        let r = app.post(path, Some(&w.admin.access), body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "admin POST {path}: {}",
            r.body
        );
    }
    assert_eq!(name_of(app, &w.staff, &p).await, "新名", "nothing changed");

    // Station staff keep every one of these roads.
    for path in gets.iter().filter(|p| !p.contains(&"0".repeat(64))) {
        let r = app.get(path, &w.staff.access).await;
        assert_eq!(r.status, StatusCode::OK, "staff GET {path}: {}", r.body);
    }
}

/// A visit may name as seen only persons of its household's community (likewise a task's
/// person): an id from another community, or no record at all, is refused by name.
#[actix_web::test]
async fn a_visit_cannot_name_a_person_of_another_community() {
    let w = world().await;
    let app = &w.app;
    let (h, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 74).await;
    let far = Phone::new(
        app.user(&w.admin, "coord-c", "coordinator", &[&w.tree.community_c])
            .await,
    );
    let (_, stranger, _) = household_with_person(app, &far, &w.tree.community_c, 75).await;
    let visit = |seen: Vec<&str>| {
        w.a1.upsert(
            "visit",
            &new_id(),
            None,
            json!({ "household_id": h, "started_at": "2026-12-01T02:00:00Z",
                    "outcome": "met", "persons_seen": seen }),
        )
    };
    let nobody = new_id();
    let r = push_ok(
        app,
        &w.a1,
        vec![
            visit(vec![&p, &stranger]),
            visit(vec![&nobody]),
            visit(vec![&p]),
        ],
    )
    .await;
    for (i, bad) in [(0, &stranger), (1, &nobody)] {
        assert_eq!(r[i]["status"], "rejected", "{r:?}");
        assert_eq!(r[i]["reason"], "invalid");
        assert_eq!(r[i]["errors"][0]["field"], "persons_seen");
        let reason = r[i]["errors"][0]["reason"].as_str().expect("reason");
        assert!(reason.contains(bad.as_str()), "{reason}");
    }
    assert_eq!(r[2]["status"], "applied", "{r:?}");
    // Staff's task for a person of another community is refused the same way.
    let t = app
        .post(
            "/v1/records/task",
            Some(&w.staff.access),
            json!({ "fields": { "household_id": h, "person_id": stranger,
                    "assignee_id": w.a1.s.user["id"], "kind": "follow_up_due", "title": "回访" } }),
        )
        .await;
    assert_eq!(t.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", t.body);
    assert_eq!(t.body["errors"][0]["field"], "person_id");
}

/// A six-clears record has its person's id, so a push may leave out `person_id`; one
/// that names another person is refused with a reason that says so (it used to read "no
/// such person").
#[actix_web::test]
async fn six_clears_takes_its_person_from_its_id() {
    let w = world().await;
    let app = &w.app;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 76).await;
    let (_, other, _) = household_with_person(app, &w.a1, &w.tree.community_a, 77).await;
    let r = push_ok(
        app,
        &w.a1,
        vec![
            w.a1.upsert(
                "six_clears",
                &p,
                None,
                json!({ "basic.education": "junior_high" }),
            ),
            w.a1.upsert("six_clears", &other, None, json!({ "person_id": p })),
        ],
    )
    .await;
    assert_eq!(r[0]["status"], "applied", "{r:?}");
    assert_eq!(r[1]["status"], "rejected", "{r:?}");
    assert_eq!(r[1]["errors"][0]["field"], "person_id");
    assert!(
        r[1]["errors"][0]["reason"]
            .as_str()
            .is_some_and(|t| t.contains("same id as its person")),
        "{r:?}"
    );
}

/// Names and addresses that would print differently from what they say are refused by
/// name, from phones, staff and admins alike.
#[actix_web::test]
async fn text_that_reorders_or_hides_itself_is_refused() {
    let w = world().await;
    let app = &w.app;
    let lying = "华林路\u{202E}号1";
    let r = push_ok(
        app,
        &w.a1,
        vec![
            w.a1.upsert(
                "household",
                &new_id(),
                None,
                json!({ "community_id": w.tree.community_a, "address": lying }),
            ),
            w.a1.upsert(
                "household",
                &new_id(),
                None,
                json!({ "community_id": w.tree.community_a, "address": "华林路\u{200B}1号" }),
            ),
        ],
    )
    .await;
    for (i, named) in [(0, "U+202E"), (1, "U+200B")] {
        assert_eq!(r[i]["status"], "rejected", "{r:?}");
        assert_eq!(r[i]["errors"][0]["field"], "address");
        assert!(
            r[i]["errors"][0]["reason"]
                .as_str()
                .is_some_and(|t| t.contains(named)),
            "{r:?}"
        );
    }
    let (h, _, _) = household_with_person(app, &w.a1, &w.tree.community_a, 78).await;
    let staff = app
        .patch(
            &format!("/v1/records/household/{h}"),
            &w.staff.access,
            json!({ "fields": { "address": lying } }),
        )
        .await;
    assert_eq!(
        staff.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        staff.body
    );
    assert_eq!(staff.body["errors"][0]["field"], "address");
    let admin = app
        .post(
            "/v1/admin/users",
            Some(&w.admin.access),
            json!({ "username": "liar", "display_name": "张\u{2066}三", "password": PASSWORD,
                    "role": "coordinator", "org_node_ids": [w.tree.community_a] }),
        )
        .await;
    assert_eq!(
        admin.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        admin.body
    );
    assert_eq!(admin.body["errors"][0]["field"], "display_name");
}

/// Sends a request's head and the first bytes of a body that never finishes; returns
/// what the server answered, and how long it took (it must not wait forever).
fn stalled_body(
    base: &str,
    method_path: &str,
    token: Option<&str>,
    declared: usize,
) -> (String, std::time::Duration) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method_path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}Content-Length: {declared}\r\n\r\n{{\"username\""
    );
    let started = std::time::Instant::now();
    s.write_all(head.as_bytes()).expect("sent");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

/// A stranger's body is small (login, refresh) and every body has a deadline: a body
/// declared large is refused at once, one that stalls is answered 408 and its connection
/// closed, so neither holds memory or a connection for long.
#[actix_web::test]
async fn bodies_are_bounded_in_size_for_strangers_and_in_time_for_everyone() {
    let w = crate::sync::world_with(|c| c.body_read_timeout_secs = 1).await;
    let app = &w.app;
    // Declared too large for a login, with or without an Authorization header.
    for token in [None, Some(w.staff.access.as_str())] {
        let mut req = app
            .client
            .post(format!("{}/v1/auth/login", app.base))
            .header("content-type", "application/json")
            .body(vec![b' '; 2 * 1024 * 1024]);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = reply(req.send().await.expect("sent")).await;
        r.problem(413, "payload_too_large");
    }
    // Stalled bodies: a login, a refresh and an authenticated push.
    let base = app.base.clone();
    let token = w.a1.s.access.clone();
    let answers = tokio::task::spawn_blocking(move || {
        [
            stalled_body(&base, "POST /v1/auth/login", None, 200),
            stalled_body(&base, "POST /v1/auth/refresh", None, 200),
            stalled_body(&base, "POST /v1/sync/push", Some(&token), 100_000),
            stalled_body(
                &base,
                &format!("PUT /v1/attachments/{}", "a".repeat(64)),
                Some(&token),
                100_000,
            ),
        ]
    })
    .await
    .expect("stalled requests");
    let (upload, took) = &answers[3];
    assert!(upload.starts_with("HTTP/1.1 400"), "{upload}");
    assert!(
        *took < std::time::Duration::from_secs(10),
        "answered after {took:?}"
    );
    for (answer, took) in answers.into_iter().take(3) {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request_timeout"), "{answer}");
        assert!(
            took < std::time::Duration::from_secs(10),
            "answered after {took:?}"
        );
    }
    // The server still answers.
    assert_eq!(
        app.login_raw("staff-1", PASSWORD, &new_id()).await.status,
        StatusCode::OK
    );
}

/// A login as sent from `source` (behind a trusted proxy that names it).
async fn login_from(app: &TestApp, source: &str, username: &str, password: &str) -> Reply {
    let res = app
        .client
        .post(format!("{}/v1/auth/login", app.base))
        .header("x-forwarded-for", source)
        .json(&json!({ "username": username, "password": password,
            "device": { "id": new_id(), "name": "phone", "platform": "android" } }))
        .send()
        .await
        .expect("sent");
    reply(res).await
}

/// `n` logins sent at once, the `i`-th with `who(i)` as username and password; their
/// answers, in order.
async fn logins_at_once(
    app: &TestApp,
    n: usize,
    who: impl Fn(usize) -> (String, String),
) -> Vec<Reply> {
    let sent: Vec<_> = (0..n)
        .map(|i| {
            let (username, password) = who(i);
            let (client, base) = (app.client.clone(), app.base.clone());
            actix_web::rt::spawn(async move {
                let res = client
                    .post(format!("{base}/v1/auth/login"))
                    .json(&json!({ "username": username, "password": password,
                        "device": { "id": new_id(), "name": "x", "platform": "x" } }))
                    .send()
                    .await
                    .expect("sent");
                reply(res).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(n);
    for login in sent {
        answers.push(login.await.expect("answered"));
    }
    answers
}

/// The throttle keeps no row of what was typed: a password typed into the username
/// field is not stored in clear, nor is any username.
#[actix_web::test]
async fn the_login_throttle_stores_no_typed_text() {
    use diesel::prelude::*;
    use liuqing_schema::tables::login_throttle;

    let w = world().await;
    let app = &w.app;
    let typed = "my-secret-password-2026";
    let r = app.login_raw(typed, "whatever it is", &new_id()).await;
    r.problem(401, "invalid_credentials");
    app.login_raw("staff-1", "a wrong password", &new_id())
        .await
        .problem(401, "invalid_credentials");
    let mut conn = app
        .config
        .backend()
        .expect("backend")
        .connect()
        .expect("connect");
    let keys: Vec<String> = login_throttle::table
        .select(login_throttle::throttle_key)
        .load(&mut conn)
        .expect("rows");
    assert!(!keys.is_empty());
    for key in &keys {
        assert_eq!(key.len(), 64, "{key}");
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
        assert!(!key.contains(typed) && !key.contains("staff-1"));
    }
}

/// A hundred guesses at one account at once: no more passwords are checked than the
/// limit (they are counted before the check), and the rest are refused with 429.
#[actix_web::test]
async fn concurrent_guesses_check_no_more_passwords_than_the_limit() {
    let w = world().await;
    let app = &w.app;
    let guesses = logins_at_once(app, 100, |i| {
        ("staff-1".to_string(), format!("guess number {i}"))
    });
    let mut checked_and_wrong = 0;
    for r in guesses.await {
        match r.status.as_u16() {
            401 => checked_and_wrong += 1,
            429 => assert!(r.headers.contains_key("retry-after")),
            other => panic!("{other}: {}", r.body),
        }
    }
    // Attempts 1–4 are answered 401; the 5th fails and locks (429); the rest are refused.
    assert_eq!(checked_and_wrong, 4);
}

/// A stranger who fails at a coordinator's username locks out only themselves: the
/// coordinator logs in from their own address. An address sweeping usernames is locked
/// too. Without a trusted proxy, a forged X-Forwarded-For changes nothing.
#[actix_web::test]
async fn a_stranger_cannot_lock_out_a_coordinator() {
    let w = crate::sync::world_with(|c| {
        c.trusted_proxy = true;
        c.login_max_failures_per_source = 8;
    })
    .await;
    let app = &w.app;
    for _ in 0..5 {
        login_from(app, "203.0.113.9", "coord-a1", "not the password").await;
    }
    login_from(app, "203.0.113.9", "coord-a1", PASSWORD)
        .await
        .problem(429, "too_many_requests");
    let r = login_from(app, "198.51.100.7", "coord-a1", PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the coordinator's own login: {}",
        r.body
    );
    // Keeping at it from the one address past the username's own limit (50): refused
    // attempts are not counted against the username, so the coordinator still gets in.
    for _ in 0..55 {
        login_from(app, "203.0.113.9", "coord-a1", "not the password").await;
    }
    let r = login_from(app, "198.51.100.7", "coord-a1", PASSWORD).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "after 60 refused guesses: {}",
        r.body
    );
    // A station behind one address logs in all day: successes do not fill the address's
    // counter (its limit here is 8).
    for _ in 0..12 {
        let r = login_from(app, "192.0.2.50", "staff-1", PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    // A sweep of usernames from one address is locked at the address's limit.
    let mut refused = 0;
    for i in 0..10 {
        let r = login_from(app, "192.0.2.44", &format!("guess{i}"), "a wrong password").await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused >= 2, "{refused}");
    login_from(app, "192.0.2.44", "staff-1", PASSWORD)
        .await
        .problem(429, "too_many_requests");
    // Writing another address in front of the one the proxy appends changes nothing:
    // the last entry is counted.
    let spoofed = format!("{}, 192.0.2.44", "10.9.8.7");
    login_from(app, &spoofed, "staff-1", PASSWORD)
        .await
        .problem(429, "too_many_requests");

    // Not behind a proxy: the header is the client's word, and is ignored.
    let w = world().await;
    for i in 0..5 {
        login_from(
            &w.app,
            &format!("203.0.113.{i}"),
            "coord-a1",
            "not the password",
        )
        .await;
    }
    login_from(&w.app, "198.51.100.7", "coord-a1", PASSWORD)
        .await
        .problem(429, "too_many_requests");
}

/// A flood of logins does not make everyone wait: past `login_max_waiting` they are
/// answered 429 `login_busy` with Retry-After at once, and the server stays usable.
#[actix_web::test]
async fn a_flood_of_logins_is_told_to_come_back_not_made_to_wait() {
    let w = crate::sync::world_with(|c| {
        c.login_max_waiting = 2;
        c.login_max_failures_per_source = 1000;
        c.login_max_failures_per_user = 1000;
    })
    .await;
    let app = &w.app;
    let flood = logins_at_once(app, 60, |i| {
        (format!("nobody{i}"), "flooding here".to_string())
    });
    let mut busy = 0;
    for r in flood.await {
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            r.problem(429, "login_busy");
            assert_eq!(
                r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
                Some("1")
            );
            busy += 1;
        } else {
            r.problem(401, "invalid_credentials");
        }
    }
    assert!(busy > 0, "no login was told to come back");
    let r = app.login_raw("staff-1", PASSWORD, &new_id()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// Knowing a photo's hash is no capability: a record naming a hash whose bytes its author
/// never sent is answered as if the server did not hold them (the phone is asked for the
/// bytes), and shares nothing: not the info, thumbnail, review image or original, to a
/// coordinator or to another station's staff. Sending the bytes proves possession.
#[actix_web::test]
async fn a_photo_is_not_read_by_knowing_its_hash() {
    use crate::attachments::{put_image, wait_for_derivatives};
    use crate::images::{jpeg, sha256};

    let w = world().await;
    let app = &w.app;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 79).await;
    let photo = jpeg(64, 48, 79);
    let sha = sha256(&photo);
    let evidence = |phone: &Phone, person: &str, hash: &str| {
        phone.upsert(
            "evidence",
            &new_id(),
            None,
            json!({ "person_id": person,
            "evidence_type": "resident_id_card", "attachment_sha256": hash }),
        )
    };
    push_ok(app, &w.a1, vec![evidence(&w.a1, &p, &sha)]).await;
    assert_eq!(
        put_image(app, &w.a1.s.access, &photo).await.status,
        StatusCode::CREATED
    );
    wait_for_derivatives(app, &w.a1.s.access, &sha).await;

    // A coordinator of another community names the hash in a record of their own.
    let c3 = Phone::new(
        app.user(&w.admin, "coord-c3", "coordinator", &[&w.tree.community_c])
            .await,
    );
    let (_, own, _) = household_with_person(app, &c3, &w.tree.community_c, 80).await;
    let unheld = "f".repeat(64);
    let r = push(
        app,
        &c3,
        vec![evidence(&c3, &own, &sha), evidence(&c3, &own, &unheld)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The same answer as for a hash the server does not hold: no oracle.
    assert_eq!(r.body["missing_attachments"], json!([sha, unheld]));
    let reads = ["/info", "/thumbnail", "/review", ""];
    for path in reads {
        let r = app
            .get(&format!("/v1/attachments/{sha}{path}"), &c3.s.access)
            .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "coordinator {path}: {}",
            r.body
        );
    }
    // Staff of another station, through REST.
    let staff2 = app
        .user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    let r = app
        .post(
            "/v1/records/evidence",
            Some(&staff2.access),
            json!({ "fields": { "person_id": own, "evidence_type": "resident_id_card",
                    "attachment_sha256": sha } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    for path in reads {
        let r = app
            .get(&format!("/v1/attachments/{sha}{path}"), &staff2.access)
            .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "staff of station 2 {path}: {}",
            r.body
        );
    }
    // Nor does the review queue tell them the server holds those bytes.
    let queue = app.get("/v1/review/evidence", &staff2.access).await;
    assert_eq!(queue.status, StatusCode::OK, "{}", queue.body);
    let items = queue.body["items"].as_array().expect("items");
    assert!(!items.is_empty(), "{}", queue.body);
    for item in items {
        assert_eq!(item["attachment_received"], false, "{item}");
        assert_eq!(item["derivatives_ready"], false, "{item}");
    }
    // The photo's own station still sees it.
    let r = app
        .get(&format!("/v1/attachments/{sha}/info"), &w.staff.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Sending the bytes proves possession (stored once): now the record shares it.
    let again = put_image(app, &c3.s.access, &photo).await;
    assert!(again.status.is_success(), "{}", again.body);
    let r = app
        .get(&format!("/v1/attachments/{sha}/info"), &c3.s.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = push(app, &c3, vec![evidence(&c3, &own, &sha)]).await;
    assert_eq!(r.body["missing_attachments"], json!([]), "{}", r.body);
}

/// One user cannot open hundreds of resumable uploads, each declaring the largest size:
/// past `max_open_uploads_per_user` a new one is refused by name.
#[actix_web::test]
async fn open_resumable_uploads_are_capped_per_user() {
    use crate::attachments::create_upload;

    let w = crate::sync::world_with(|c| c.max_open_uploads_per_user = 3).await;
    let app = &w.app;
    for i in 0..3 {
        let r = create_upload(app, &w.a1.s.access, &format!("{i:064x}"), 20 * 1024 * 1024).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    create_upload(app, &w.a1.s.access, &"e".repeat(64), 1024)
        .await
        .problem(409, "too_many_uploads");
    // Another user's are their own, and asked for all at once they are still capped.
    let hashes: Vec<String> = (0..12).map(|i| format!("{:064x}", 1000 + i)).collect();
    let at_once = futures_util::future::join_all(
        hashes
            .iter()
            .map(|sha| create_upload(app, &w.a2.s.access, sha, 1024)),
    )
    .await;
    let created = at_once
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(
        created,
        3,
        "{:?}",
        at_once.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in at_once.iter().filter(|r| r.status != StatusCode::CREATED) {
        r.problem(409, "too_many_uploads");
    }
}

/// Exact lookups by full ID number or phone (the question a sweep of the candidates for a
/// masked value asks) are logged, hit or miss, and limited per user and hour: a sweep is
/// refused with 429 long before it finds anything.
#[actix_web::test]
async fn exact_lookups_are_logged_and_limited() {
    use diesel::prelude::*;
    use liuqing_schema::tables::audit_log;

    let w = crate::sync::world_with(|c| c.lookup_max_per_hour = 5).await;
    let app = &w.app;
    let (_, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 81).await;
    // The person's phone is 13800001234; a sweep of the masked middle digits.
    let mut answers = Vec::new();
    for middle in ["0000", "0001", "0002", "0003", "0004", "0005", "0006"] {
        let r = app
            .get(
                &format!("/v1/persons?phone=138{middle}1234"),
                &w.staff.access,
            )
            .await;
        answers.push(r);
    }
    assert_eq!(answers[0].status, StatusCode::OK, "{}", answers[0].body);
    assert_eq!(answers[0].body["items"][0]["id"], p.as_str());
    for r in &answers[1..5] {
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["items"], json!([]));
    }
    for r in &answers[5..] {
        r.problem(429, "too_many_requests");
        assert!(r.headers.contains_key("retry-after"));
    }
    // An ID number lookup counts against the same allowance.
    let id = crate::sync::id_number("19700101", 81);
    app.get(&format!("/v1/persons?id_number={id}"), &w.staff.access)
        .await
        .problem(429, "too_many_requests");
    // Another user's allowance is their own.
    let r = app
        .get(&format!("/v1/persons?id_number={id}"), &w.a1.s.access)
        .await;
    assert_eq!(r.body["items"][0]["id"], p.as_str(), "{}", r.body);

    let mut conn = app
        .config
        .backend()
        .expect("backend")
        .connect()
        .expect("connect");
    let logged: Vec<(String, String, Option<String>)> = audit_log::table
        .filter(audit_log::action.like("lookup_%"))
        .order(audit_log::at.asc())
        .select((audit_log::action, audit_log::target_id, audit_log::detail))
        .load(&mut conn)
        .expect("the access log");
    assert_eq!(
        logged.len(),
        6,
        "five of the staff's, one of the coordinator's: {logged:?}"
    );
    assert_eq!(logged[0].0, "lookup_phone");
    assert_eq!(logged[0].1, p);
    assert!(logged[0]
        .2
        .as_deref()
        .is_some_and(|d| d.contains("\"hit\":true")));
    assert_eq!(logged[1].1, "*");
    assert!(logged[1]
        .2
        .as_deref()
        .is_some_and(|d| d.contains("\"hit\":false")));
    assert_eq!(logged[5].0, "lookup_id_number");
}

/// The mode bits of a path (permissions only).
#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// A resumable upload left unfinished on a bad network holds an ID card's photo for up
/// to days: its staging file is sealed, and every file the server writes is its owner's
/// only (folders 0700, files 0600).
#[cfg(unix)]
#[actix_web::test]
async fn unfinished_uploads_are_sealed_and_every_file_is_the_owners_only() {
    use crate::attachments::{chunk, create_upload};
    use crate::images::{jpeg, sha256};

    let w = world().await;
    let app = &w.app;
    let photo = jpeg(400, 300, 82);
    let sha = sha256(&photo);
    let r = create_upload(app, &w.a1.s.access, &sha, photo.len()).await;
    let id = r.body["id"].as_str().expect("id").to_string();
    let half = photo.len() / 2;
    let r = chunk(app, &w.a1.s.access, &id, 0, &photo[..half]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let data = app.config.data_dir.clone();
    let staged = data.join("staging").join(format!("{id}.upload"));
    let stored = std::fs::read(&staged).expect("the staging file");
    assert!(
        !stored.windows(3).any(|w| w == [0xFF, 0xD8, 0xFF]),
        "no JPEG magic at rest"
    );
    let runs: std::collections::HashSet<&[u8]> = photo[..half].windows(32).collect();
    assert!(
        !stored.windows(32).any(|w| runs.contains(w)),
        "no run of the photo's bytes at rest"
    );
    assert_eq!(mode(&staged), 0o600);

    // The rest, then the photo comes back byte-exact.
    let r = chunk(app, &w.a1.s.access, &id, half, &photo[half..]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .post(
            &format!("/v1/uploads/{id}/finish"),
            Some(&w.a1.s.access),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let res = app
        .client
        .get(format!("{}/v1/attachments/{sha}", app.base))
        .bearer_auth(&w.a1.s.access)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.bytes().await.expect("bytes").as_ref(), photo.as_slice());
    let left: Vec<_> = std::fs::read_dir(data.join("staging"))
        .expect("staging")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "nothing left in staging: {left:?}");

    // Every folder the server made is 0700 and every file in it 0600.
    assert_eq!(mode(&data), 0o700);
    let mut stack = vec![data.clone()];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                assert_eq!(mode(&path), 0o700, "{}", path.display());
                stack.push(path);
            } else {
                files += 1;
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
    }
    // At least the field key (and on SQLite the database, with local blobs the photo).
    assert!(files >= 1, "{files}");
    assert_eq!(mode(&data.join("field.key")), 0o600);
}

/// Issue item 2: the masked ID number plus the clear fields beside it must not narrow the
/// number to a handful of candidates. A coordinator is shown a birth year, not the date:
/// everywhere they can read a person (pull, case file, lists, household, record).
#[actix_web::test]
async fn a_coordinator_sees_a_birth_year_so_a_masked_id_number_stays_hidden() {
    let w = world().await;
    let app = &w.app;
    let (h, p, _) = household_with_person(app, &w.a1, &w.tree.community_a, 82).await;
    let coordinator = &w.a1.s.access;

    let (changes, _) = crate::sync::pull_all(app, coordinator, None).await;
    let pulled = changes
        .iter()
        .find(|c| c["id"] == p.as_str())
        .expect("the person is pulled");
    assert_eq!(pulled["data"]["birth_date"], "1970-**-**");
    let masked_id = pulled["data"]["id_number"].as_str().expect("masked id");

    let file = app.get(&format!("/v1/persons/{p}"), coordinator).await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.body);
    assert_eq!(file.body["person"]["data"]["birth_date"], "1970-**-**");
    assert_eq!(file.body["summary"]["birth_date"], "1970-**-**");
    assert!(file.body["summary"]["age"]
        .as_u64()
        .is_some_and(|a| a >= 55));
    let list = app
        .get(&format!("/v1/persons?household_id={h}"), coordinator)
        .await;
    assert_eq!(list.body["items"][0]["birth_date"], "1970-**-**");
    let household = app.get(&format!("/v1/households/{h}"), coordinator).await;
    assert_eq!(household.body["members"][0]["birth_date"], "1970-**-**");
    let record = app
        .get(&format!("/v1/records/person/{p}"), coordinator)
        .await;
    assert_eq!(record.body["data"]["birth_date"], "1970-**-**");
    for shown in [&file.body, &list.body, &household.body, &record.body] {
        assert!(!shown.to_string().contains("1970-01-01"), "{shown}");
    }

    // A birth date is the ID number's: it is not typed in beside it.
    let results = push(
        app,
        &w.a1,
        vec![w
            .a1
            .upsert("person", &p, None, json!({ "birth_date": "1970-06-01" }))],
    )
    .await;
    assert_eq!(
        results.body["results"][0]["status"], "rejected",
        "{}",
        results.body
    );
    assert_eq!(
        results.body["results"][0]["errors"][0]["field"], "birth_date",
        "{}",
        results.body
    );
    // A group of look-alikes by name and birth date would tell the date: coordinators
    // are not shown them.
    let look_alike = crate::sync::id_number("19700101", 83);
    push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "person",
            &new_id(),
            None,
            json!({ "household_id": h, "name": "张三", "id_number": look_alike }),
        )],
    )
    .await;
    let groups = app.get("/v1/duplicates", coordinator).await;
    assert!(
        !groups.body.to_string().contains("same_name_and_birth_date"),
        "{}",
        groups.body
    );
    let staff_groups = app.get("/v1/duplicates", &w.staff.access).await;
    assert!(
        staff_groups
            .body
            .to_string()
            .contains("same_name_and_birth_date"),
        "{}",
        staff_groups.body
    );

    // Station staff, who may reveal the ID number anyway, see the whole date.
    let staff = app.get(&format!("/v1/persons/{p}"), &w.staff.access).await;
    assert_eq!(staff.body["person"]["data"]["birth_date"], "1970-01-01");

    // What the coordinator sees leaves thousands of numbers that pass the check
    // character; with the date in clear it would have been a handful.
    let candidates = |dates: &[chrono::NaiveDate]| {
        let (prefix, tail) = (&masked_id[..4], &masked_id[14..]);
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        let mut n = 0;
        for county in 0..100 {
            for date in dates {
                let number = format!("{prefix}{county:02}{}{tail}", date.format("%Y%m%d"));
                if liuqing_schema::domain::IdNumber::parse(&number, today).is_ok() {
                    n += 1;
                }
            }
        }
        n
    };
    let year: Vec<chrono::NaiveDate> = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .expect("date")
        .iter_days()
        .take(365)
        .collect();
    let with_year = candidates(&year);
    let with_date = candidates(&year[..1]);
    assert!(with_date <= 15, "{with_date}");
    assert!(with_year >= 2_000, "{with_year}");

    // A corrected ID number brings its own birth date.
    let corrected = crate::sync::id_number("19850505", 82);
    let results = push_ok(
        app,
        &w.a1,
        vec![w
            .a1
            .upsert("person", &p, None, json!({ "id_number": corrected }))],
    )
    .await;
    assert_eq!(results[0]["status"], "applied", "{results:?}");
    let staff_view = app.get(&format!("/v1/persons/{p}"), &w.staff.access).await;
    assert_eq!(
        staff_view.body["person"]["data"]["birth_date"],
        "1985-05-05"
    );
    let mine = app.get(&format!("/v1/persons/{p}"), coordinator).await;
    assert_eq!(mine.body["person"]["data"]["birth_date"], "1985-**-**");
}

/// A push that writes a person with an ID number asks the server whether that number is
/// enrolled (`duplicate_person` or `applied`): the same question as an exact lookup, so it
/// spends the same allowance, all of the push's or none; pushes that write no ID number are
/// never counted.
#[actix_web::test]
async fn pushing_id_numbers_spends_the_lookup_allowance() {
    let w = crate::sync::world_with(|c| c.lookup_max_per_hour = 3).await;
    let app = &w.app;
    let h = new_id();
    let mut outbox = vec![w.a1.upsert(
        "household",
        &h,
        None,
        json!({ "community_id": w.tree.community_a, "address": "华林路2号" }),
    )];
    for seq in 0..3 {
        outbox.push(w.a1.upsert(
            "person",
            &new_id(),
            None,
            json!({ "household_id": h, "name": format!("李{seq}"),
                    "id_number": crate::sync::id_number("19800101", 900 + seq) }),
        ));
    }
    // A push of four numbers against an allowance of three is refused whole, uncounted.
    let mut too_many = outbox.clone();
    too_many.push(w.a1.upsert(
        "person",
        &new_id(),
        None,
        json!({ "household_id": h, "name": "李多",
                "id_number": crate::sync::id_number("19800101", 949) }),
    ));
    push(app, &w.a1, too_many)
        .await
        .problem(429, "too_many_requests");
    // Nothing of it was applied: not even the household, which asked no lookup.
    app.get(&format!("/v1/households/{h}"), &w.a1.s.access)
        .await
        .problem(404, "not_found");
    // Three fit.
    let results = push_ok(app, &w.a1, outbox).await;
    assert!(
        results.iter().all(|r| r["status"] == "applied"),
        "{results:?}"
    );

    // The next candidate is refused before it is compared with anything.
    let probe = w.a1.upsert(
        "person",
        &new_id(),
        None,
        json!({ "household_id": h, "name": "王五",
                "id_number": crate::sync::id_number("19800101", 950) }),
    );
    let r = push(app, &w.a1, vec![probe]).await;
    r.problem(429, "too_many_requests");
    assert!(r.headers.contains_key("retry-after"));
    // So is an exact lookup: it is one allowance.
    let id = crate::sync::id_number("19800101", 951);
    app.get(&format!("/v1/persons?id_number={id}"), &w.a1.s.access)
        .await
        .problem(429, "too_many_requests");
    // A push that names no ID number is not counted.
    let visit =
        w.a1.upsert("household", &h, None, json!({ "address": "华林路2号之一" }));
    let results = push_ok(app, &w.a1, vec![visit]).await;
    assert_eq!(results[0]["status"], "applied", "{results:?}");
}
