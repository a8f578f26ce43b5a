//! Supervision: visit coverage, the due list and flagged visits, checked figure by figure
//! against counts made here from the records a supervisor pulls, and scope on each.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::sync::{id_number, pull_all, push_ok, Phone};

/// Home positions of two households, and a point about 1.1 km north of the second.
const HOME_A1: (f64, f64) = (26.0870, 119.2960);
const HOME_B1: (f64, f64) = (26.0920, 119.3010);
const AWAY_B1: (f64, f64) = (26.1020, 119.3010);

struct District {
    app: TestApp,
    tree: Tree,
    /// Coordinator of community A.
    a1: Phone,
    /// Coordinator of communities A and B, on one phone.
    ab: Phone,
    /// Coordinator of community C.
    c1: Phone,
    staff1: Session,
    supervisor: Session,
    admin: Session,
    /// Households by name (`hA1` …).
    h: BTreeMap<&'static str, String>,
}

fn visit(
    phone: &Phone,
    household: &str,
    start: &str,
    minutes: i64,
    outcome: &str,
    at: Option<(f64, f64)>,
) -> Value {
    let started = chrono::DateTime::parse_from_rfc3339(start).expect("start");
    let mut fields = json!({
        "household_id": household, "started_at": start,
        "ended_at": (started + chrono::Duration::minutes(minutes)).to_rfc3339(),
        "outcome": outcome,
    });
    if let Some((lat, lon)) = at {
        fields["latitude"] = json!(lat);
        fields["longitude"] = json!(lon);
    }
    phone.upsert("visit", &new_id(), None, fields)
}

/// Seven households in three communities, visited over the summer and in November 2026.
async fn district() -> District {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let tree = tree(&app, &admin).await;
    let a1 = Phone::new(
        app.user(&admin, "coord-a1", "coordinator", &[&tree.community_a])
            .await,
    );
    let ab = Phone::new(
        app.user(
            &admin,
            "coord-ab",
            "coordinator",
            &[&tree.community_a, &tree.community_b],
        )
        .await,
    );
    let c1 = Phone::new(
        app.user(&admin, "coord-c1", "coordinator", &[&tree.community_c])
            .await,
    );
    let staff1 = app
        .user(&admin, "staff-1", "station_staff", &[&tree.station1])
        .await;
    let supervisor = app
        .user(&admin, "supervisor", "supervisor", &[&tree.street])
        .await;
    let mut h = BTreeMap::new();
    for (name, phone, community) in [
        ("hA1", &a1, &tree.community_a),
        ("hA2", &a1, &tree.community_a),
        ("hA3", &a1, &tree.community_a),
        ("hA4", &a1, &tree.community_a),
        ("hB1", &ab, &tree.community_b),
        ("hB2", &ab, &tree.community_b),
        ("hC1", &c1, &tree.community_c),
    ] {
        let id = new_id();
        push_ok(
            &app,
            phone,
            vec![phone.upsert(
                "household",
                &id,
                None,
                json!({ "community_id": community, "address": format!("{name}号") }),
            )],
        )
        .await;
        h.insert(name, id);
    }
    let d = District {
        app,
        tree,
        a1,
        ab,
        c1,
        staff1,
        supervisor,
        admin,
        h,
    };
    // Persons: one with the six clears complete, one partly, one with none.
    let (p1, p2, p3) = (new_id(), new_id(), new_id());
    let complete = json!({
        "person_id": p1,
        "basic.education": "junior_high", "basic.health": "healthy", "basic.phone": "13800001234",
        "difficulty.categories": ["older_worker"],
        "family.members": 3, "family.employed_members": 0, "family.monthly_income": 900,
        "family.zero_employment": true,
        "needs.job_types": ["保洁"], "needs.training": [], "needs.hours": "daytime",
        "insurance.pension": "resident", "insurance.medical": "resident",
        "insurance.unemployment": false, "insurance.paying": false,
        "policies.enjoyed": [],
    });
    let results = push_ok(
        &d.app,
        &d.a1,
        vec![
            d.a1.upsert("person", &p1, None, json!({
                "household_id": d.h["hA1"], "name": "陈秀兰", "id_number": id_number("19700302", 11),
            })),
            d.a1.upsert("six_clears", &p1, None, complete),
            d.a1.upsert("person", &p2, None, json!({
                "household_id": d.h["hA2"], "name": "林建国", "id_number": id_number("19710405", 12),
            })),
            d.a1.upsert("six_clears", &p2, None, json!({
                "person_id": p2, "basic.education": "senior_high",
            })),
        ],
    )
    .await;
    assert!(
        results.iter().all(|r| r["status"] == "applied"),
        "{results:?}"
    );
    push_ok(
        &d.app,
        &d.ab,
        vec![d.ab.upsert("person", &p3, None, json!({
            "household_id": d.h["hB1"], "name": "黄志明", "id_number": id_number("19680711", 13),
        }))],
    )
    .await;

    let h = |n: &str| d.h[n].clone();
    // Summer: where hA1 and hB1 are usually found; hA3 last reached in July.
    let summer = vec![
        visit(
            &d.a1,
            &h("hA1"),
            "2026-08-03T09:00:00+08:00",
            30,
            "met",
            Some(HOME_A1),
        ),
        visit(
            &d.a1,
            &h("hA1"),
            "2026-08-20T09:00:00+08:00",
            30,
            "met",
            Some(HOME_A1),
        ),
        visit(
            &d.a1,
            &h("hA3"),
            "2026-07-01T10:00:00+08:00",
            30,
            "met",
            None,
        ),
    ];
    push_ok(&d.app, &d.a1, summer).await;
    push_ok(
        &d.app,
        &d.ab,
        vec![
            visit(
                &d.ab,
                &h("hB1"),
                "2026-08-04T09:00:00+08:00",
                30,
                "met",
                Some(HOME_B1),
            ),
            visit(
                &d.ab,
                &h("hB1"),
                "2026-08-21T09:00:00+08:00",
                30,
                "met",
                Some(HOME_B1),
            ),
        ],
    )
    .await;
    // November, station time.
    push_ok(
        &d.app,
        &d.a1,
        vec![
            // 23:30 on the month's last day is November's (15:30 UTC).
            visit(
                &d.a1,
                &h("hA1"),
                "2026-11-30T23:30:00+08:00",
                20,
                "met",
                Some(HOME_A1),
            ),
            // Ten past midnight on 1 December is December's, though still 30 November in UTC.
            visit(
                &d.a1,
                &h("hA2"),
                "2026-12-01T00:10:00+08:00",
                20,
                "met",
                None,
            ),
            visit(
                &d.a1,
                &h("hA2"),
                "2026-11-10T15:00:00+08:00",
                10,
                "not_home",
                None,
            ),
        ],
    )
    .await;
    push_ok(
        &d.app,
        &d.ab,
        vec![
            // One phone at two households at once.
            visit(
                &d.ab,
                &h("hA3"),
                "2026-11-05T10:00:00+08:00",
                20,
                "refused",
                None,
            ),
            visit(
                &d.ab,
                &h("hB2"),
                "2026-11-05T10:10:00+08:00",
                20,
                "met",
                None,
            ),
            // Far from where hB1 is found, and three minutes long.
            visit(
                &d.ab,
                &h("hB1"),
                "2026-11-12T14:00:00+08:00",
                3,
                "met",
                Some(AWAY_B1),
            ),
        ],
    )
    .await;
    push_ok(
        &d.app,
        &d.c1,
        vec![visit(
            &d.c1,
            &h("hC1"),
            "2026-11-20T09:00:00+08:00",
            45,
            "moved",
            Some(HOME_A1),
        )],
    )
    .await;
    d
}

fn micros(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("time")
        .timestamp_micros()
}

/// The figures of one community for a period, counted here from pulled records with the
/// report's definitions.
#[derive(Debug, Default, PartialEq)]
struct Counted {
    households: u64,
    reached: u64,
    not_home: u64,
    refused: u64,
    moved: u64,
    due: u64,
    never_reached: u64,
    visits: u64,
    located: u64,
}

fn count_independently(changes: &[Value], start: i64, end: i64) -> BTreeMap<String, Counted> {
    let visits: Vec<&Value> = changes.iter().filter(|c| c["entity"] == "visit").collect();
    let start_of = |v: &Value| micros(v["data"]["started_at"].as_str().unwrap_or_default());
    let mut out: BTreeMap<String, Counted> = BTreeMap::new();
    for h in changes.iter().filter(|c| c["entity"] == "household") {
        let id = h["id"].as_str().unwrap_or_default();
        let mine: Vec<&&Value> = visits
            .iter()
            .filter(|v| v["data"]["household_id"] == id)
            .collect();
        // All these households were enrolled after the period: they count as there at its
        // end if they were visited before it ended.
        if !mine.iter().any(|v| start_of(v) < end) {
            continue;
        }
        let c = out
            .entry(h["community_id"].as_str().unwrap_or_default().to_string())
            .or_default();
        c.households += 1;
        let mut in_period: Vec<&&&Value> = mine
            .iter()
            .filter(|v| (start..end).contains(&start_of(v)))
            .collect();
        in_period.sort_by_key(|v| start_of(v));
        c.visits += in_period.len() as u64;
        c.located += in_period
            .iter()
            .filter(|v| v["data"]["latitude"].is_number())
            .count() as u64;
        if in_period.iter().any(|v| v["data"]["outcome"] == "met") {
            c.reached += 1;
        } else if let Some(last) = in_period.last() {
            match last["data"]["outcome"].as_str() {
                Some("not_home") => c.not_home += 1,
                Some("refused") => c.refused += 1,
                Some("moved") => c.moved += 1,
                _ => {}
            }
        }
        let last_met = mine
            .iter()
            .filter(|v| v["data"]["outcome"] == "met" && start_of(v) < end)
            .map(|v| start_of(v))
            .max();
        if last_met.is_none_or(|at| at < end - 90 * 86_400_000_000) {
            c.due += 1;
            if last_met.is_none() {
                c.never_reached += 1;
            }
        }
    }
    out
}

fn row<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["group"]["id"] == id))
        .unwrap_or_else(|| panic!("no row {id} in {report}"))
}

async fn november(app: &TestApp, who: &Session, query: &str) -> Value {
    let r = app
        .get(
            &format!("/v1/reports/coverage?from=2026-11-01&to=2026-11-30{query}"),
            &who.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// Every figure of November's coverage, by community and for the street, equals a count
/// made from the records the supervisor pulls; the month is counted in station time.
#[actix_web::test]
async fn coverage_figures_equal_an_independent_count() {
    let d = district().await;
    let app = &d.app;
    let report = november(app, &d.supervisor, "&group_by=community").await;
    let (changes, _) = pull_all(app, &d.supervisor.access, None).await;
    let start = micros("2026-11-01T00:00:00+08:00");
    let end = micros("2026-12-01T00:00:00+08:00");
    let counted = count_independently(&changes, start, end);
    assert_eq!(counted.len(), 3, "{counted:?}");
    let mut total = Counted::default();
    for (community, c) in &counted {
        let r = row(&report, community);
        let got = Counted {
            households: r["households"].as_u64().unwrap_or(99),
            reached: r["reached"].as_u64().unwrap_or(99),
            not_home: r["not_home"].as_u64().unwrap_or(99),
            refused: r["refused"].as_u64().unwrap_or(99),
            moved: r["moved"].as_u64().unwrap_or(99),
            due: r["due"].as_u64().unwrap_or(99),
            never_reached: r["never_reached"].as_u64().unwrap_or(99),
            visits: r["visits"].as_u64().unwrap_or(99),
            located: (r["gps_share"].as_f64().unwrap_or(0.0) * r["visits"].as_f64().unwrap_or(0.0))
                .round() as u64,
        };
        assert_eq!(&got, c, "community {community}: {r}");
        for (sum, part) in [
            (&mut total.households, c.households),
            (&mut total.reached, c.reached),
            (&mut total.due, c.due),
            (&mut total.visits, c.visits),
        ] {
            *sum += part;
        }
    }
    let t = &report["total"];
    assert_eq!(t["households"], total.households);
    assert_eq!(t["reached"], total.reached);
    assert_eq!(t["due"], total.due);
    assert_eq!(t["visits"], total.visits);

    // The same figures by hand, for the reader.
    let a = row(&report, &d.tree.community_a);
    // hA4 was never visited and so was not yet in the files; hA2's midnight visit is
    // December's, its November visit found nobody home; hA3 refused.
    assert_eq!(a["households"], 3, "{a}");
    assert_eq!(a["reached"], 1);
    assert_eq!(a["not_home"], 1);
    assert_eq!(a["refused"], 1);
    assert_eq!(a["coverage"], 0.3333);
    // hA2 never reached by the month's end, hA3 last in July.
    assert_eq!(a["due"], 2);
    assert_eq!(a["never_reached"], 1);
    assert_eq!(a["oldest_last_reached_on"], "2026-07-01");
    assert_eq!(a["persons"], 2);
    assert_eq!(a["six_clears_complete"], 1);
    assert_eq!(a["six_clears_stale"], 0);
    let b = row(&report, &d.tree.community_b);
    assert_eq!(b["persons"], 1);
    assert_eq!(b["six_clears_complete"], 0);
    assert_eq!(b["six_clears_stale"], 1, "no six clears at all is stale");
    assert_eq!(b["median_minutes"], 11.5, "{b}");
    let c = row(&report, &d.tree.community_c);
    assert_eq!(
        (c["reached"].as_u64(), c["moved"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(c["gps_share"], 1.0);

    // Flags: hB1's visit is far and short; the two at once on one phone are simultaneous.
    assert_eq!(b["flagged"]["far"], 1, "{b}");
    assert_eq!(b["flagged"]["short"], 1);
    assert_eq!(b["flagged"]["simultaneous"], 1);
    assert_eq!(a["flagged"]["simultaneous"], 1);
    assert_eq!(a["flagged"]["far"], 0, "a visit at home is not far");
    assert_eq!(report["total"]["flagged"]["visits"], 3);
    let r = app
        .get(
            "/v1/reports/coverage/flags?from=2026-11-01&to=2026-11-30",
            &d.supervisor.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let flagged = r.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(flagged.len(), 3, "{}", r.body);
    let far = flagged
        .iter()
        .find(|f| f["household_id"] == d.h["hB1"].as_str())
        .expect("hB1's visit");
    assert_eq!(far["flags"], json!(["far", "short"]));
    assert!(
        far["distance_m"].as_f64().is_some_and(|m| m > 1000.0),
        "{far}"
    );
    assert_eq!(far["minutes"], 3.0);
    let together: Vec<&Value> = flagged
        .iter()
        .filter(|f| f["flags"] == json!(["simultaneous"]))
        .collect();
    assert_eq!(together.len(), 2);
    assert_eq!(together[0]["with"], json!([together[1]["visit_id"]]));

    // The street's one row is the total; stations split it.
    let by_street = november(app, &d.supervisor, "&group_by=street").await;
    let street = row(&by_street, &d.tree.street);
    for k in [
        "households",
        "reached",
        "due",
        "visits",
        "persons",
        "flagged",
    ] {
        assert_eq!(street[k], report["total"][k], "{k}");
    }
    let by_station = november(app, &d.supervisor, "&group_by=station").await;
    assert_eq!(row(&by_station, &d.tree.station1)["households"], 5);
    assert_eq!(row(&by_station, &d.tree.station2)["households"], 1);

    // By coordinator: the visits each made; households of the communities they serve.
    let by_coordinator = november(app, &d.supervisor, "&group_by=coordinator").await;
    let ab = row(
        &by_coordinator,
        d.ab.s.user["id"].as_str().unwrap_or_default(),
    );
    assert_eq!(ab["households"], 5, "{ab}");
    assert_eq!(ab["visits"], 3);
    assert_eq!(ab["reached"], 2);
    let a1 = row(
        &by_coordinator,
        d.a1.s.user["id"].as_str().unwrap_or_default(),
    );
    assert_eq!(
        (a1["households"].as_u64(), a1["visits"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(by_coordinator["total"]["visits"], report["total"]["visits"]);
}

/// A visit made offline in November and pushed in December counts in November: the report
/// for a past month changes, and says when it was counted.
#[actix_web::test]
async fn a_late_visit_counts_in_the_month_it_was_made() {
    let d = district().await;
    let app = &d.app;
    let before = november(app, &d.supervisor, "").await;
    let a = row(&before, &d.tree.community_a).clone();
    push_ok(
        app,
        &d.a1,
        vec![visit(
            &d.a1,
            &d.h["hA2"],
            "2026-11-28T16:00:00+08:00",
            25,
            "met",
            None,
        )],
    )
    .await;
    let after = november(app, &d.supervisor, "").await;
    let a2 = row(&after, &d.tree.community_a);
    assert_eq!(a2["reached"].as_u64(), a["reached"].as_u64().map(|n| n + 1));
    assert_eq!(a2["not_home"], 0, "reached now");
    assert_eq!(a2["due"].as_u64(), a["due"].as_u64().map(|n| n - 1));
    assert!(after["as_of"].as_str() > before["as_of"].as_str());
}

/// The due list: households not reached within the interval now, never reached first; a
/// coordinator sees their own communities' only.
#[actix_web::test]
async fn the_due_list_is_paged_and_scoped() {
    let d = district().await;
    let app = &d.app;
    let r = app
        .get(
            &format!(
                "/v1/reports/coverage/due?node={}&limit=1",
                d.tree.community_a
            ),
            &d.staff1.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let first = r.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(first.len(), 1);
    let cursor = r.body["next_cursor"].as_str().expect("more").to_string();
    let r = app
        .get(
            &format!(
                "/v1/reports/coverage/due?node={}&limit=10&cursor={cursor}",
                d.tree.community_a
            ),
            &d.staff1.access,
        )
        .await;
    let rest = r.body["items"].as_array().cloned().unwrap_or_default();
    assert!(r.body["next_cursor"].is_null());
    let all: Vec<Value> = first.into_iter().chain(rest).collect();
    let addresses: Vec<&str> = all.iter().filter_map(|i| i["address"].as_str()).collect();
    // Due now: never reached (hA4), then by the last met visit, oldest first. (hA1 and hA2
    // were reached at the end of November: due too once 90 days have passed since.)
    let since = chrono::Utc::now().timestamp_micros() - 90 * 86_400_000_000;
    let mut expected = vec!["hA4号", "hA3号"];
    for (address, last) in [
        ("hA1号", "2026-11-30T23:30:00+08:00"),
        ("hA2号", "2026-12-01T00:10:00+08:00"),
    ] {
        if micros(last) < since {
            expected.push(address);
        }
    }
    assert_eq!(addresses, expected, "{all:?}");
    assert_eq!(all[0]["last_reached_on"], Value::Null);
    assert_eq!(all[0]["days_since"], Value::Null);
    assert_eq!(all[1]["last_reached_on"], "2026-07-01");
    assert!(all[1]["days_since"].as_i64().is_some_and(|n| n > 90));

    // A coordinator's due list is their communities'.
    let r = app.get("/v1/reports/coverage/due", &d.c1.s.access).await;
    let items = r.body["items"].as_array().cloned().unwrap_or_default();
    assert!(
        items
            .iter()
            .all(|i| i["community_id"] == d.tree.community_c.as_str()),
        "{items:?}"
    );
}

/// Reports never count outside the caller's scope: another station's node is 404, a
/// coordinator's rows are their communities', an admin reads none.
#[actix_web::test]
async fn coverage_is_scoped() {
    let d = district().await;
    let app = &d.app;
    for path in [
        format!("/v1/reports/coverage?node={}", d.tree.station2),
        format!("/v1/reports/coverage/due?node={}", d.tree.community_c),
        format!("/v1/reports/coverage/flags?node={}", d.tree.district),
        format!("/v1/reports/coverage?node={}", new_id()),
    ] {
        app.get(&path, &d.staff1.access)
            .await
            .problem(404, "not_found");
    }
    let mine = november(app, &d.c1.s, "&group_by=community").await;
    let ids: Vec<&str> = mine["rows"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["group"]["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![d.tree.community_c.as_str()]);
    assert_eq!(mine["total"]["households"], 1);
    // A station's staff: its two communities, whatever the grouping asked for.
    let staff = november(app, &d.staff1, "&group_by=street").await;
    assert_eq!(staff["total"]["households"], 5);
    app.get("/v1/reports/coverage", &d.admin.access)
        .await
        .problem(403, "forbidden_role");
    // The cases report and the trend keep to the same scope.
    for report in ["cases", "trend"] {
        app.get(
            &format!("/v1/reports/{report}?node={}", d.tree.station2),
            &d.staff1.access,
        )
        .await
        .problem(404, "not_found");
        app.get(&format!("/v1/reports/{report}"), &d.admin.access)
            .await
            .problem(403, "forbidden_role");
    }
    let r = app
        .get("/v1/reports/cases?group_by=community", &d.c1.s.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ids: Vec<&str> = r.body["rows"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["group"]["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![d.tree.community_c.as_str()]);
    let r = app
        .get(
            "/v1/reports/trend?from=2026-11&to=2026-11&group_by=community",
            &d.staff1.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let november = &r.body["total"]["months"][0];
    assert_eq!(november["month"], "2026-11");
    // Station 1's five households and three reached, as its coverage counts them.
    assert_eq!(november["households"], staff["total"]["households"]);
    assert_eq!(november["reached"], staff["total"]["reached"]);
    assert_eq!(r.body["rows"].as_array().map(Vec::len), Some(2));
    // Bad input is named.
    for (query, field) in [
        ("from=2026-11-31", "from"),
        ("from=2026-11-10&to=2026-11-01", "to"),
        ("from=2025-01-01&to=2026-11-30", "to"),
        ("group_by=household", "group_by"),
    ] {
        let r = app
            .get(
                &format!("/v1/reports/coverage?{query}"),
                &d.supervisor.access,
            )
            .await;
        let p = r.problem(422, "validation_failed");
        assert_eq!(p["errors"][0]["field"], field, "{query}: {p}");
    }
}

/// The coverage migration rebuilt the visits projection and six-clears completeness from
/// the records already stored: run again over this district, it makes exactly what the
/// writes kept.
#[actix_web::test]
async fn the_migration_rebuilds_what_the_writes_keep() {
    use diesel::prelude::*;
    use liuqing_schema::tables::{persons_index, visits_index};
    type VisitRow = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
        Option<i64>,
        String,
        Option<f64>,
        Option<f64>,
        bool,
    );
    let d = district().await;
    let backend = liuqing_schema::Backend::from_url(&d.app.config.database_url).expect("url");
    let mut conn = backend.connect().expect("connect");
    let snapshot = |conn: &mut liuqing_schema::DbConn| {
        let visits: Vec<VisitRow> = visits_index::table
            .order(visits_index::id)
            .load(conn)
            .expect("visits");
        let complete: Vec<(String, bool)> = persons_index::table
            .order(persons_index::id)
            .select((persons_index::id, persons_index::six_clears_complete))
            .load(conn)
            .expect("persons");
        (visits, complete)
    };
    let kept = snapshot(&mut conn);
    assert_eq!(kept.0.len(), 12);
    assert_eq!(kept.1.iter().filter(|(_, c)| *c).count(), 1);
    liuqing_schema::db::redo_from(&mut conn, "20261206000012").expect("redo");
    assert_eq!(snapshot(&mut conn), kept);
}

/// The visit tasks in what `phone` pulls: household → (task id, state, assignee).
async fn visit_tasks(app: &TestApp, phone: &Phone) -> BTreeMap<String, (String, String, String)> {
    let (changes, _) = pull_all(app, &phone.s.access, None).await;
    changes
        .into_iter()
        .filter(|c| c["entity"] == "task" && c["data"]["kind"] == "visit")
        .map(|c| {
            let text = |k: &str| c["data"][k].as_str().unwrap_or_default().to_string();
            (
                text("household_id"),
                (
                    c["id"].as_str().unwrap_or_default().to_string(),
                    text("state"),
                    text("assignee_id"),
                ),
            )
        })
        .collect()
}

/// Households due a visit become `visit` tasks on their coordinator's phone when the
/// upkeep runs (at start, then hourly), once per spell; a `met` visit closes the task in
/// the push that brings it.
#[actix_web::test]
async fn households_due_become_visit_tasks_that_a_met_visit_closes() {
    let District { app, a1, c1, h, .. } = district().await;
    let (a1, c1, h) = (&a1, &c1, &h);
    let (config, data) = app.stop().await;
    let app = TestApp::start(config, data).await;
    let mut tasks = BTreeMap::new();
    for _ in 0..100 {
        tasks = visit_tasks(&app, a1).await;
        if tasks.len() >= 2 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Due now in community A: never reached (hA4), last reached in July (hA3); hA1 and
    // hA2 too once 90 days have passed since the end of November.
    let since = chrono::Utc::now().timestamp_micros() - 90 * 86_400_000_000;
    let mut expected = vec![h["hA3"].clone(), h["hA4"].clone()];
    for (name, last) in [
        ("hA1", "2026-11-30T23:30:00+08:00"),
        ("hA2", "2026-12-01T00:10:00+08:00"),
    ] {
        if micros(last) < since {
            expected.push(h[name].clone());
        }
    }
    expected.sort();
    assert_eq!(
        tasks.keys().cloned().collect::<Vec<_>>(),
        expected,
        "{tasks:#?}"
    );
    let a1_id = a1.s.user["id"].as_str().unwrap_or_default();
    for (_, state, assignee) in tasks.values() {
        assert_eq!((state.as_str(), assignee.as_str()), ("open", a1_id));
    }
    // Community C's coordinator has their own household's task, and sees no other.
    let theirs = visit_tasks(&app, c1).await;
    assert_eq!(theirs.keys().collect::<Vec<_>>(), vec![&h["hC1"]]);

    // The coordinator meets hA4's family: the push closes the task.
    let started = chrono::Utc::now().to_rfc3339();
    push_ok(
        &app,
        a1,
        vec![visit(a1, &h["hA4"], &started, 20, "met", None)],
    )
    .await;
    let after = visit_tasks(&app, a1).await;
    assert_eq!(after[&h["hA4"]].1, "done");
    assert_eq!(
        after[&h["hA3"]].1, "open",
        "a household not visited keeps its task"
    );

    // Another round of the upkeep raises nothing again for the same spell.
    let (config, data) = app.stop().await;
    let app = TestApp::start(config, data).await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1500)).await;
    let again = visit_tasks(&app, a1).await;
    assert_eq!(again.len(), after.len(), "{again:#?}");
    assert_eq!(again[&h["hA3"]].0, tasks[&h["hA3"]].0);
}

/// A file from the server: status, headers and bytes (the reply's status and media type
/// checked against openapi.yaml like every other reply).
pub(crate) async fn download(
    app: &TestApp,
    path: &str,
    token: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = res.bytes().await.expect("body").to_vec();
    let media = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = if media.as_deref().is_some_and(|m| m.contains("json")) {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    crate::conformance::check(
        &reqwest::Method::GET,
        path,
        status.as_u16(),
        media.as_deref(),
        &body,
    );
    (status, headers, bytes)
}

/// The file name a Content-Disposition gives in `filename*` (RFC 5987), decoded.
fn file_name(headers: &reqwest::header::HeaderMap) -> String {
    let value = headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let encoded = value.split("filename*=UTF-8''").nth(1).unwrap_or_default();
    let mut bytes = Vec::new();
    let mut chars = encoded.bytes();
    while let Some(b) = chars.next() {
        if b == b'%' {
            let hex: String = [chars.next(), chars.next()]
                .iter()
                .flatten()
                .map(|c| *c as char)
                .collect();
            bytes.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).unwrap_or_default()
}

type Sheets = Vec<(String, Vec<Vec<String>>)>;

/// Every sheet of an XLSX file, its cells as text (dates as Excel shows them).
fn read_xlsx(bytes: &[u8]) -> Sheets {
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX");
    let names = book.sheet_names().to_vec();
    names
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).expect("sheet");
            let rows = range
                .rows()
                .map(|r| {
                    r.iter()
                        .map(|c| match c {
                            Data::DateTime(t) => t
                                .as_datetime()
                                .map(|d| {
                                    if d.time() == chrono::NaiveTime::MIN {
                                        d.date().to_string()
                                    } else {
                                        d.format("%Y-%m-%d %H:%M").to_string()
                                    }
                                })
                                .unwrap_or_default(),
                            Data::Empty => String::new(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .collect();
            (name, rows)
        })
        .collect()
}

/// The ledgers export the scope's rows for the period, masked, as XLSX with a sheet per
/// station and as CSV that Excel opens; each export is in the access log with its reason.
#[actix_web::test]
async fn ledgers_export_masked_and_logged() {
    let d = district().await;
    let app = &d.app;
    let november = "from=2026-11-01&to=2026-11-30";
    let (status, headers, bytes) = download(
        app,
        &format!(
            "/v1/exports/assistance?node={}&{november}&reason=月度督导",
            d.tree.street
        ),
        &d.supervisor.access,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(file_name(&headers), "就业援助台账_华林街道_2026-11.xlsx");
    let sheets = read_xlsx(&bytes);
    let names: Vec<&str> = sheets.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["华林社区服务站", "湖滨社区服务站"]);
    let (_, rows) = &sheets[0];
    assert_eq!(
        rows[0][..6],
        ["服务站", "社区", "姓名", "性别", "年龄", "身份证号"]
    );
    // Community A's two persons and B's one; C has none.
    let persons: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(persons.len(), 3, "{rows:?}");
    for name in ["陈秀兰", "林建国", "黄志明"] {
        assert!(persons.contains(&name), "{persons:?}");
    }
    let chen = rows.iter().find(|r| r[2] == "陈秀兰").expect("陈秀兰");
    let full = id_number("19700302", 11);
    assert!(
        chen[5].contains('*') && !chen[5].contains(&full[6..14]),
        "{chen:?}"
    );
    assert_eq!(
        chen[4], "56",
        "the age at the period's end, not the birth date"
    );
    assert!(rows.iter().flatten().all(|c| !c.contains(&full)));
    assert_eq!(sheets[1].1.len(), 1, "only the header: no persons in C");

    // The visit ledger as CSV: a BOM, a header, November's visits in station time.
    let (status, headers, bytes) = download(
        app,
        &format!("/v1/exports/visits?format=csv&{november}&reason=%E6%A0%B8%E6%9F%A5"),
        &d.supervisor.access,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .is_ok_and(|t| t.starts_with("text/csv")));
    assert_eq!(file_name(&headers), "走访台账_全部_2026-11.csv");
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    let mut csv = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = csv
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header[..4], ["服务站", "社区", "走访时间", "时长（分钟）"]);
    let records: Vec<Vec<String>> = csv
        .records()
        .map(|r| r.expect("row").iter().map(str::to_string).collect())
        .collect();
    assert_eq!(records.len(), 6, "{records:?}");
    assert!(records
        .iter()
        .any(|r| r[2] == "2026-11-30 23:30" && r[4] == "hA1号"));
    assert!(records.iter().all(|r| !r[2].starts_with("2026-12")));
    // Visits that look unreal say so.
    let far = records
        .iter()
        .find(|r| r[4] == "hB1号")
        .expect("hB1's visit");
    assert_eq!(far[8], "定位偏离常住地、时长过短", "{far:?}");
    let home = records
        .iter()
        .find(|r| r[4] == "hA1号")
        .expect("hA1's visit");
    assert_eq!(home[8], "");

    // Both exports are in the access log, with the reason and the row count.
    let auditor = app
        .user(&d.admin, "district-sup", "supervisor", &[&d.tree.district])
        .await;
    let log = app
        .get("/v1/admin/access-log?action=export", &auditor.access)
        .await;
    let entries = log.body["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2, "{}", log.body);
    let visits = &entries[0];
    assert_eq!(visits["target_id"], "visits");
    assert_eq!(visits["reason"], "核查");
    assert_eq!(visits["detail"]["rows"], 6);
    assert_eq!(visits["detail"]["format"], "csv");
    assert_eq!(entries[1]["detail"]["rows"], 3);
    assert_eq!(entries[1]["detail"]["node"], d.tree.street.as_str());
}

/// Exports keep to the caller's scope and refuse what they cannot do, by name.
#[actix_web::test]
async fn ledger_exports_are_scoped_and_checked() {
    let d = district().await;
    let app = &d.app;
    // A coordinator's ledger is their community's.
    let (status, _, bytes) = download(
        app,
        "/v1/exports/visits?format=csv&from=2026-11-01&to=2026-11-30&reason=x",
        &d.c1.s.access,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8_lossy(&bytes).to_string();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("湖滨社区") && !text.contains("华林社区,"));
    // Text a spreadsheet would run as a formula stays text.
    let p = new_id();
    push_ok(
        app,
        &d.c1,
        vec![d.c1.upsert(
            "person",
            &p,
            None,
            json!({
                "household_id": d.h["hC1"], "name": "=HYPERLINK(1)",
            }),
        )],
    )
    .await;
    let (_, _, bytes) = download(
        app,
        "/v1/exports/assistance?format=csv&reason=x",
        &d.c1.s.access,
    )
    .await;
    assert!(String::from_utf8_lossy(&bytes).contains(",'=HYPERLINK(1),"));

    for (path, status, code, field) in [
        (
            "/v1/exports/assistance",
            422,
            "validation_failed",
            Some("reason"),
        ),
        (
            "/v1/exports/assistance?reason=%20%20",
            422,
            "validation_failed",
            Some("reason"),
        ),
        (
            "/v1/exports/assistance?reason=x&format=pdf",
            422,
            "validation_failed",
            Some("format"),
        ),
        (
            "/v1/exports/assistance?reason=x&from=2026-13-01",
            422,
            "validation_failed",
            Some("from"),
        ),
        ("/v1/exports/payroll?reason=x", 404, "not_found", None),
    ] {
        let r = app.get(path, &d.staff1.access).await;
        let p = r.problem(status, code);
        if let Some(field) = field {
            assert_eq!(p["errors"][0]["field"], field, "{path}: {p}");
        }
    }
    app.get(
        &format!("/v1/exports/assistance?reason=x&node={}", d.tree.station2),
        &d.staff1.access,
    )
    .await
    .problem(404, "not_found");
    app.get("/v1/exports/assistance?reason=x", &d.admin.access)
        .await
        .problem(403, "forbidden_role");
}

/// The cases report and the trend over the demo district, checked against counts made from
/// the records the supervisor pulls, and against each other and the coverage report.
/// (Called from the demo test, which has loaded the district.)
pub async fn demo_reports_agree_with_the_records(app: &TestApp, sup: &Session) {
    use chrono::Datelike;
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
        .date_naive();
    let from = today - chrono::Days::new(365);
    let period = format!("from={from}&to={today}");
    let r = app
        .get(
            &format!("/v1/reports/cases?{period}&group_by=street"),
            &sup.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cases = r.body;
    let (changes, _) = pull_all(app, &sup.access, None).await;
    let live = |entity: &str| -> Vec<Value> {
        changes
            .iter()
            .filter(|c| c["entity"] == entity && c["deleted"] == false)
            .map(|c| c["data"].clone())
            .collect()
    };
    let day = |v: &Value| {
        v.as_str()
            .and_then(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
    };
    let within = |v: &Value| day(v).is_some_and(|d| d >= from && d <= today);

    let mut states: BTreeMap<String, u64> = BTreeMap::new();
    let mut recognised_in_period = 0;
    let mut recognised_persons = std::collections::BTreeSet::new();
    for r in live("recognition") {
        let state = r["state"].as_str().unwrap_or("received").to_string();
        if state == "recognised" {
            recognised_persons.insert(r["person_id"].as_str().unwrap_or_default().to_string());
            if within(&r["decided_on"]) {
                recognised_in_period += 1;
            }
        }
        *states.entry(state).or_default() += 1;
    }
    let exits = live("exit");
    for e in &exits {
        recognised_persons.remove(e["person_id"].as_str().unwrap_or_default());
    }
    let t = &cases["total"];
    // The demo has something in each: a count of nothing would prove nothing.
    assert!(recognised_in_period > 0 && !states.is_empty(), "{t}");
    for (state, n) in &states {
        assert_eq!(t["applications"][state], *n, "{state}: {t}");
    }
    assert_eq!(t["recognised_in_period"], recognised_in_period);
    let tiers = &t["recognised_persons"];
    let tiered: u64 = ["I", "II", "III", "none"]
        .iter()
        .map(|k| tiers[k].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(tiered, recognised_persons.len() as u64, "{t}");
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for e in exits.iter().filter(|e| within(&e["exit_on"])) {
        *by_reason
            .entry(e["reason"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    assert_eq!(t["exits_by_reason"], json!(by_reason), "{t}");
    let placements = by_reason.get("employed").copied().unwrap_or(0)
        + by_reason.get("self_employed").copied().unwrap_or(0);
    assert_eq!(t["placements_in_period"], placements);
    let open = live("household")
        .iter()
        .filter(|h| {
            day(&h["zero_employment_found_on"]).is_some_and(|f| f <= today)
                && day(&h["zero_employment_cleared_on"]).is_none_or(|c| c > today)
        })
        .count();
    assert_eq!(t["zero_employment"]["open"], open as u64, "{t}");
    assert!(open > 0 && !by_reason.is_empty(), "{t}");
    // The street rows add up to the total.
    let rows = cases["rows"].as_array().cloned().unwrap_or_default();
    let summed: u64 = rows
        .iter()
        .map(|r| r["recognised_in_period"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(summed, recognised_in_period);

    // This month in the trend is this month in the other reports.
    let r = app
        .get("/v1/reports/trend?group_by=station", &sup.access)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let months = r.body["total"]["months"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(months.len(), 12);
    let now = months.last().cloned().unwrap_or_default();
    assert_eq!(now["month"], today.format("%Y-%m").to_string());
    let coverage = app.get("/v1/reports/coverage", &sup.access).await;
    assert_eq!(now["households"], coverage.body["total"]["households"]);
    assert_eq!(now["reached"], coverage.body["total"]["reached"]);
    let first = today.with_day(1).expect("first");
    let month_cases = app
        .get(
            &format!("/v1/reports/cases?from={first}&to={today}"),
            &sup.access,
        )
        .await;
    let mt = &month_cases.body["total"];
    assert_eq!(now["recognitions"], mt["recognised_in_period"]);
    assert_eq!(now["exits"], mt["exits_in_period"]);
    assert_eq!(now["placements"], mt["placements_in_period"]);
    assert_eq!(now["zero_employment_open"], mt["zero_employment"]["open"]);
    let stations = r.body["rows"].as_array().map(Vec::len).unwrap_or(0);
    assert!(stations >= 2, "a series per station: {}", r.body);
    for bad in [
        "from=2026-13",
        "to=2026-1",
        "from=2024-01&to=2026-12",
        "group_by=coordinator",
    ] {
        app.get(&format!("/v1/reports/trend?{bad}"), &sup.access)
            .await
            .problem(422, "validation_failed");
    }
}
