//! The convergence property: phones and station staff make random offline edits to the
//! same records (the same fields too), sync in random orders, and sometimes never hear the
//! answer to a push they made (the server committed; they retry later). Afterwards every
//! device holds exactly the server's data, and every value ever written is the current
//! value, a recorded conflict value, or was overwritten by an edit made after seeing it
//! (by a writer whose base version included it, or by the same device later: a phone
//! knows its own edits).

use std::collections::BTreeMap;

use liuqing_sync::client::Client;
use liuqing_sync::protocol::{MutationResult, PullPage, SetOp, Status};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::helpers::*;

const FIELDS: &[&str] = &["name", "employment_card_no", "education"];
const EDUCATION: &[&str] = &[
    "primary",
    "junior_high",
    "senior_high",
    "college",
    "bachelor",
];
const JOBS: &[&str] = &["保洁", "保安", "家政", "物流"];

#[derive(Debug, Clone)]
enum Step {
    Edit {
        device: usize,
        field: usize,
        value: usize,
    },
    Jobs {
        device: usize,
        add: bool,
        item: usize,
    },
    Sync {
        device: usize,
        drop_answer: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..4usize, 0..FIELDS.len(), 0..5usize).prop_map(|(device, field, value)| Step::Edit { device, field, value }),
        2 => (0..4usize, any::<bool>(), 0..JOBS.len()).prop_map(|(device, add, item)| Step::Jobs { device, add, item }),
        3 => (0..4usize, prop::bool::weighted(0.25)).prop_map(|(device, drop_answer)| Step::Sync { device, drop_answer }),
    ]
}

fn value_for(field: &str, v: usize) -> Value {
    match field {
        "education" => json!(EDUCATION[v % EDUCATION.len()]),
        "name" => json!(format!("名{v}")),
        _ => json!(format!("E-{v}")),
    }
}

/// A device: its session and its reference client.
struct Device {
    s: Session,
    c: Client,
}

/// Every accepted write of a field: its value, the version the writer had seen, the
/// version it produced, the device that wrote it.
#[derive(Debug, Clone)]
struct Written {
    mutation_id: String,
    field: String,
    value: Value,
    base: i64,
    version: i64,
    device: String,
}

fn now_ms() -> u64 {
    chrono::Utc::now().timestamp_millis().max(0) as u64
}

async fn push(app: &TestApp, d: &mut Device, drop_answer: bool, log: &mut Vec<Written>) {
    if d.c.outbox.is_empty() {
        return;
    }
    let sent = d.c.outbox.clone();
    let r = app
        .post("/v1/sync/push", Some(&d.s.access), d.c.push_body())
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let results: Vec<MutationResult> =
        serde_json::from_value(r.body["results"].clone()).expect("results");
    for (m, res) in sent.iter().zip(&results) {
        assert_ne!(res.status, Status::Rejected, "{m:?} → {res:?}");
        // A replayed answer repeats the first one: log each mutation once.
        if log.iter().any(|w| w.mutation_id == res.mutation_id) {
            continue;
        }
        // The property is checked on the shared person's fields. A write that changed
        // nothing (the value was already current) answers the record's existing version:
        // it is no new write, and the earlier one that set the value is logged already.
        let version = res.version.unwrap_or(0);
        if m.entity != "person" || log.iter().any(|w| w.version >= version) {
            continue;
        }
        for (field, value) in &m.fields {
            // A field decided against the phone is a conflict record, not a write.
            if res.conflicts.iter().any(|c| c.field == *field) {
                continue;
            }
            log.push(Written {
                mutation_id: res.mutation_id.clone(),
                field: field.clone(),
                value: value.clone(),
                base: m.base_version.unwrap_or(0),
                version: res.version.unwrap_or(0),
                device: d.s.device_id.clone(),
            });
        }
    }
    if !drop_answer {
        d.c.on_pushed(&results);
    }
}

async fn pull(app: &TestApp, d: &mut Device) {
    let mut drifts = 0;
    for _ in 0..100 {
        let r = app
            .get(
                &format!("/v1/sync/pull?{}", d.c.pull_query(50)),
                &d.s.access,
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        let page: PullPage = serde_json::from_value(r.body).expect("page");
        let last_page = !page.has_more;
        let shown = format!("{page:?}");
        let server_digest = page.scope_digest.clone();
        if !d.c.on_pulled(page) {
            return;
        }
        if last_page {
            // The drift check started a full pull; a second one means it did not help.
            drifts += 1;
            assert!(
                drifts < 2,
                "the copy still differs after a full pull: {:?} vs {:?}; page {shown}; user {}",
                server_digest,
                d.c.digest(),
                d.s.user["username"]
            );
        }
    }
    panic!("pulling never finished");
}

async fn run(steps: Vec<Step>) {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let t = tree(&app, &admin).await;
    let mut devices = Vec::new();
    for name in ["p1", "p2", "p3"] {
        let s = app
            .user(
                &admin,
                &format!("coord-{name}"),
                "coordinator",
                &[&t.community_a],
            )
            .await;
        devices.push(Device {
            c: Client::new(s.device_id.clone()),
            s,
        });
    }
    let staff = app
        .user(&admin, "staff-x", "station_staff", &[&t.station1])
        .await;
    devices.push(Device {
        c: Client::new(staff.device_id.clone()),
        s: staff,
    });

    // Phone 1 creates the shared household, person and six-clears record; all sync.
    let (h, p) = (new_id(), new_id());
    let mut log = Vec::new();
    let fields = |v: Value| v.as_object().cloned().unwrap_or_default();
    devices[0].c.edit(
        now_ms(),
        "household",
        &h,
        fields(json!({ "community_id": t.community_a, "address": "共享户" })),
    );
    devices[0].c.edit(
        now_ms(),
        "person",
        &p,
        fields(json!({ "household_id": h, "name": "名0" })),
    );
    devices[0].c.edit(
        now_ms(),
        "six_clears",
        &p,
        fields(json!({ "person_id": p })),
    );
    push(&app, &mut devices[0], false, &mut log).await;
    for d in devices.iter_mut() {
        pull(&app, d).await;
    }

    for s in &steps {
        match *s {
            Step::Edit {
                device,
                field,
                value,
            } => {
                let mut f = Map::new();
                f.insert(FIELDS[field].to_string(), value_for(FIELDS[field], value));
                devices[device].c.edit(now_ms(), "person", &p, f);
            }
            Step::Jobs { device, add, item } => {
                let op = if add {
                    SetOp {
                        add: vec![JOBS[item].to_string()],
                        remove: vec![],
                    }
                } else {
                    SetOp {
                        add: vec![],
                        remove: vec![JOBS[item].to_string()],
                    }
                };
                devices[device]
                    .c
                    .change_set(now_ms(), "six_clears", &p, "needs.job_types", op);
            }
            Step::Sync {
                device,
                drop_answer,
            } => {
                push(&app, &mut devices[device], drop_answer, &mut log).await;
                pull(&app, &mut devices[device]).await;
            }
        }
    }

    // Quiesce: everyone pushes until their outbox is empty, then everyone pulls.
    for d in devices.iter_mut() {
        push(&app, d, false, &mut log).await;
        assert!(d.c.outbox.is_empty());
    }
    for d in devices.iter_mut() {
        pull(&app, d).await;
    }

    // 1. Every device holds exactly what a fresh copy of the server holds.
    let mut fresh = Device {
        c: Client::new(devices[3].s.device_id.clone()),
        s: devices[3].s.clone(),
    };
    pull(&app, &mut fresh).await;
    for (i, d) in devices.iter().enumerate() {
        assert_eq!(d.c.records(), fresh.c.records(), "device {i} diverged");
        assert!(d.c.rejected.is_empty(), "device {i}: {:?}", d.c.rejected);
    }

    // 2. Nothing written was lost.
    let current = &fresh
        .c
        .record("person", &p)
        .expect("the person is on the fresh copy")
        .data;
    let backend = app.config.backend().expect("backend");
    let pid = p.clone();
    let (conflicts, shared) = tokio::task::spawn_blocking(move || {
        let mut conn = backend.connect().expect("connect");
        let conflicts = liuqing_schema::records::conflicts_of(
            &mut conn,
            liuqing_schema::entities::Entity::Person,
            &pid,
        )
        .expect("conflicts");
        let shared = liuqing_schema::records::shared_versions(&mut conn).expect("versions");
        (conflicts, shared)
    })
    .await
    .expect("join");
    // (A change number held twice could be skipped by a pull.)
    assert!(shared.is_empty(), "change numbers held twice: {shared:?}");
    let in_conflicts = |field: &str, value: &Value| {
        let text = value.to_string();
        conflicts
            .iter()
            .any(|c| c.field == field && (c.kept == text || c.yours == text))
    };
    let by_field: BTreeMap<&str, Vec<&Written>> = log.iter().fold(BTreeMap::new(), |mut m, w| {
        m.entry(w.field.as_str()).or_default().push(w);
        m
    });
    for (field, writes) in &by_field {
        for w in writes {
            let is_current = liuqing_schema::entities::get_path(current, field) == Some(&w.value);
            let superseded = writes.iter().any(|later| {
                later.version > w.version && (later.base >= w.version || later.device == w.device)
            });
            assert!(
                is_current || in_conflicts(field, &w.value) || superseded,
                "{field} = {} (v{}) was lost; current {current}",
                w.value,
                w.version
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn devices_converge_and_nothing_written_is_lost(steps in prop::collection::vec(step(), 10..40)) {
        actix_web::rt::System::new().block_on(run(steps));
    }
}
