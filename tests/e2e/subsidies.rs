//! The subsidies (#23): a flexible-employment social insurance subsidy (灵活就业社保补贴)
//! application through its approval chain, each step by its level, with the months and
//! the amount computed by the server.

use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::sync::{id_number, pull_all, push_ok, world, Phone, World};

/// A man born in March 1966: his original retirement month (2026-03) falls after the 2025
/// reform began, so it moves four months (one a four months from January 2025) to 2026-07.
pub(crate) const BORN: &str = "19660315";

pub(crate) async fn act(app: &TestApp, who: &Session, id: &str, body: Value) -> Reply {
    app.post(
        &format!("/v1/subsidies/{id}/actions"),
        Some(&who.access),
        body,
    )
    .await
}

pub(crate) fn code(r: &Reply) -> &str {
    r.body["code"].as_str().unwrap_or_default()
}

/// A household and a recognised man born in [`BORN`], and his application: pension 800
/// and medical 200 a month paid for 2026, applied for all of 2026.
async fn applicant(w: &World, phone: &Phone) -> (String, String) {
    applicant_born(w, phone, BORN, 71).await
}

/// [`applicant`], born on `born` (`YYYYMMDD`); `seq` odd for a man.
async fn applicant_born(w: &World, phone: &Phone, born: &str, seq: u32) -> (String, String) {
    let (h, p, s) = (new_id(), new_id(), new_id());
    let r = push_ok(
        &w.app,
        phone,
        vec![
            phone.upsert(
                "household",
                &h,
                None,
                json!({ "community_id": w.tree.community_a, "address": "华林路9号" }),
            ),
            phone.upsert(
                "person",
                &p,
                None,
                json!({ "household_id": h, "name": "林建国", "id_number": id_number(born, seq) }),
            ),
            phone.upsert(
                "flexible_subsidy",
                &s,
                None,
                json!({ "person_id": p, "work": "flexible", "work_place": "华林路菜市场",
                        "work_job": "摊位帮工", "work_hours": "每天 6 小时", "monthly_income": 2600,
                        "pension_monthly": 800, "medical_monthly": 200, "unemployment_monthly": 30,
                        "paid_from": "2026-01", "paid_to": "2026-12",
                        "account": "6222 0212 3456 7890",
                        "period_from": "2026-01", "period_to": "2026-12" }),
            ),
        ],
    )
    .await;
    for result in &r {
        assert_eq!(result["status"], "applied", "{r:?}");
    }
    (p, s)
}

pub(crate) fn evidence(phone: &Phone, person: &str, kind: &str) -> Value {
    let sha = format!("{:064x}", rand_u128());
    phone.upsert(
        "evidence",
        &new_id(),
        None,
        json!({ "person_id": person, "evidence_type": kind, "attachment_sha256": sha }),
    )
}

fn rand_u128() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

/// A supervisor of the test street and one of the district: the two levels above the
/// station.
pub(crate) async fn supervisors(w: &World) -> (Session, Session) {
    let street = w
        .app
        .user(&w.admin, "sup-street", "supervisor", &[&w.tree.street])
        .await;
    let district = w
        .app
        .user(&w.admin, "sup-district", "supervisor", &[&w.tree.district])
        .await;
    (street, district)
}

/// Marks a person recognised, as a recognition's steps would (tested elsewhere).
pub(crate) fn recognise(app: &TestApp, person: &str) {
    use liuqing_schema::tables::persons_index;
    let backend = liuqing_schema::Backend::from_url(&app.config.database_url).expect("url");
    let mut conn = backend.connect().expect("connect");
    diesel::update(persons_index::table.filter(persons_index::id.eq(person)))
        .set(persons_index::status.eq("recognised"))
        .execute(&mut conn)
        .expect("recognise");
}

#[actix_web::test]
async fn a_flexible_subsidy_goes_through_every_level_and_its_figures_are_the_servers() {
    let w = world().await;
    let app = &w.app;
    let (street, district) = supervisors(&w).await;
    let (p, s) = applicant(&w, &w.a1).await;

    // The account is sealed and shown by its last four digits, to the phone and to staff.
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    let pulled = changes
        .iter()
        .find(|c| c["id"] == s.as_str())
        .expect("pulled");
    assert_eq!(pulled["data"]["account"], "****7890", "{pulled}");
    assert!(!pulled.to_string().contains("6222021234567890"));

    // 初审 needs a recognised applicant and the materials: everything missing, at once.
    let r = act(app, &w.staff, &s, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(code(&r), "rules_unmet");
    let rules: Vec<&str> = r.body["unmet"]
        .as_array()
        .expect("unmet")
        .iter()
        .filter_map(|u| u["rule"].as_str())
        .collect();
    assert_eq!(rules, ["recognised", "materials"], "{}", r.body);
    recognise(app, &p);
    push_ok(
        app,
        &w.a1,
        [
            "employment_card",
            "insurance_receipt",
            "flexible_work_statement",
        ]
        .iter()
        .map(|k| evidence(&w.a1, &p, k))
        .collect(),
    )
    .await;
    let r = act(app, &w.staff, &s, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["unmet"][0]["rule"], "materials");
    assert_eq!(r.body["unmet"][0]["evidence"], json!(["bank_card"]));
    push_ok(app, &w.a1, vec![evidence(&w.a1, &p, "bank_card")]).await;

    // A coordinator takes no step; the street takes none of the station's.
    let r = act(app, &w.a1.s, &s, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = act(app, &street, &s, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(code(&r), "forbidden_level");

    // 初审: the figures are the server's. He reaches retirement age in 2026-07 (within
    // five years of his first month, so the three-year cap gives way to retirement):
    // January to June are paid; each month the pension at its 600 standard, the medical
    // insurance at the 200 paid, the unemployment insurance not at all (standard 0).
    let r = act(app, &w.staff, &s, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let data = &r.body["data"];
    assert_eq!(data["state"], "station_review");
    assert_eq!(
        (&data["payable_from"], &data["payable_to"], &data["months"]),
        (&json!("2026-01"), &json!("2026-06"), &json!(6)),
        "{data}"
    );
    assert_eq!(data["amount_fen"], 6 * (600 + 200) * 100);
    assert!(data["received_on"].is_string(), "{data}");
    // Nobody writes the figures or the state but an action: not staff, not a phone.
    let r = app
        .patch(
            &format!("/v1/records/flexible_subsidy/{s}"),
            &w.staff.access,
            json!({ "fields": { "state": "funded", "amount_fen": 99999999 } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let version = data["version"].as_i64();
    let r = push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "flexible_subsidy",
            &s,
            version,
            json!({ "amount_fen": 99999999 }),
        )],
    )
    .await;
    assert_ne!(r[0]["status"], "applied", "{r:?}");

    // The station passes it up; the street returns it for a reason; the station takes it
    // back once complete; and up it goes again, each level its own step.
    let r = act(app, &w.staff, &s, json!({ "action": "pass" })).await;
    assert_eq!(r.body["data"]["state"], "street_review", "{}", r.body);
    let r = act(app, &w.staff, &s, json!({ "action": "pass" })).await;
    assert_eq!(code(&r), "forbidden_level", "the street's step: {}", r.body);
    let r = act(app, &district, &s, json!({ "action": "pass" })).await;
    assert_eq!(code(&r), "forbidden_level", "the street's step: {}", r.body);
    let r = act(app, &street, &s, json!({ "action": "return" })).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason: {}",
        r.body
    );
    let r = act(
        app,
        &street,
        &s,
        json!({ "action": "return", "reason": "缴费单据月数与申请不符，请补充全年单据" }),
    )
    .await;
    assert_eq!(r.body["data"]["state"], "returned", "{}", r.body);
    assert_eq!(
        r.body["data"]["reason"],
        "缴费单据月数与申请不符，请补充全年单据"
    );
    for (who, action, state) in [
        (&w.staff, "resubmit", "received"),
        (&w.staff, "start_review", "station_review"),
        (&w.staff, "pass", "street_review"),
        (&street, "pass", "district_approval"),
        (&district, "pass", "funded"),
    ] {
        let r = act(app, who, &s, json!({ "action": action })).await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
        assert_eq!(r.body["data"]["state"], state, "{action}");
    }
    let r = app
        .get(
            &format!("/v1/records/flexible_subsidy/{s}"),
            &w.staff.access,
        )
        .await;
    let data = &r.body["data"];
    assert!(data["decided_on"].is_string(), "{data}");
    let steps: Vec<(&str, &str)> = data["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap_or(""),
                h["level"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(steps.len(), 8, "{steps:?}");
    assert_eq!(steps[2], ("return", "street"));
    assert_eq!(steps[7], ("pass", "district"));

    // Hired by a unit from April: the district stops it, and March is the last month paid.
    let r = act(
        app,
        &district,
        &s,
        json!({ "action": "stop", "reason": "回访得知已被单位录用", "stop_from": "2026-04" }),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a condition: {}",
        r.body
    );
    let r = act(
        app,
        &district,
        &s,
        json!({ "action": "stop", "reason": "回访得知已被单位录用", "stop_from": "2026-04",
                "stop_condition": "wage_below_minimum" }),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not this subsidy's: {}",
        r.body
    );
    let r = act(
        app,
        &district,
        &s,
        json!({ "action": "stop", "reason": "回访得知已被单位录用", "stop_from": "2026-04",
                "stop_condition": "employed_by_unit" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let data = &r.body["data"];
    assert_eq!(
        (
            &data["state"],
            &data["stopped_from"],
            &data["stop_condition"]
        ),
        (
            &json!("stopped"),
            &json!("2026-04"),
            &json!("employed_by_unit")
        )
    );
    assert_eq!(
        (&data["months"], &data["payable_to"]),
        (&json!(3), &json!("2026-03"))
    );
    assert_eq!(data["amount_fen"], 3 * (600 + 200) * 100);
    // His six clears say what he enjoyed: January to March.
    assert_eq!(
        crate::welfare_subsidies::enjoyed(app, &w.staff, &p).await,
        [json!({ "policy": "灵活就业社会保险补贴", "from": "2026-01-01", "to": "2026-03-31" })]
    );
    // Nothing follows a stop.
    let r = act(app, &district, &s, json!({ "action": "pass" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(code(&r), "illegal_transition");
    assert!(
        r.body["detail"].as_str().unwrap_or("").contains("stopped"),
        "{}",
        r.body
    );

    // 社保补贴申报台账: the street's supervisor downloads it; the figures are the server's,
    // the ID number and the account masked.
    let (status, _, bytes) = crate::supervision::download(
        app,
        "/v1/exports/flexible_subsidies?format=csv&reason=%E6%9C%88%E5%BA%A6%E6%A0%B8%E6%9F%A5",
        &street.access,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8_lossy(&bytes).to_string();
    let mut csv = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<Vec<String>> = csv
        .records()
        .map(|r| r.expect("row").iter().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 1, "{text}");
    let row = rows[0].join("|");
    for shown in [
        "林建国",
        "灵活就业",
        "养老 800；医疗 200；失业 30",
        "2026-01 至 2026-12",
        "2026-01 至 2026-03",
        "2400.00",
        "****7890",
        "已停止",
        "街道退回",
        "区审核通过",
        "自 2026-04 停止：被用人单位招收录用",
    ] {
        assert!(row.contains(shown), "{shown}: {row}");
    }
    assert!(
        !row.contains(&id_number(BORN, 71)),
        "the ID number is masked: {row}"
    );

    // Another station's staff do not find it; nor does an unknown action pass.
    app.user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    let other = app.login("staff-2", PASSWORD).await;
    let r = act(app, &other, &s, json!({ "action": "resubmit" })).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = act(app, &w.staff, &s, json!({ "action": "approve_all" })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

/// Recognises a person and puts the subsidy's four materials on file.
async fn ready(w: &World, person: &str) {
    recognise(&w.app, person);
    push_ok(
        &w.app,
        &w.a1,
        [
            "employment_card",
            "insurance_receipt",
            "flexible_work_statement",
            "bank_card",
        ]
        .iter()
        .map(|k| evidence(&w.a1, person, k))
        .collect(),
    )
    .await;
}

/// Runs `f` as the server's upkeep does: the whole scope, now, in a transaction.
fn as_upkeep<T>(
    app: &TestApp,
    f: impl FnOnce(
        &mut liuqing_schema::DbConn,
        &liuqing_sync::engine::Env<'_>,
    ) -> Result<T, liuqing_api::error::ApiError>,
) -> T {
    let backend = liuqing_schema::Backend::from_url(&app.config.database_url).expect("url");
    let mut conn = backend.connect().expect("connect");
    let cipher = liuqing_api::startup::field_cipher(&app.config).expect("the server's key");
    let scope = liuqing_schema::scope::Scope::All;
    let env = liuqing_api::staff::engine_env(
        &scope,
        &cipher,
        &app.config,
        liuqing_schema::time::now_micros(),
    );
    liuqing_sync::writer::transaction(&mut conn, |c| f(c, &env)).expect("the upkeep's step")
}

/// Runs the upkeep's stop check, as the server's loop does each round.
pub(crate) fn upkeep(app: &TestApp) -> usize {
    as_upkeep(app, |c, env| {
        liuqing_api::subsidies::recommend_stops(c, env, &app.config)
    })
}

#[actix_web::test]
async fn the_upkeep_recommends_stops_it_finds_and_the_district_decides() {
    let w = world().await;
    let app = &w.app;
    let (street, district) = supervisors(&w).await;
    // One reached retirement age in 2026-07; the other, born 1975, is hired this month.
    let (retired, a) = applicant(&w, &w.a1).await;
    let (hired, b) = applicant_born(&w, &w.a1, "19750520", 73).await;
    for (person, s) in [(&retired, &a), (&hired, &b)] {
        ready(&w, person).await;
        for (who, action) in [
            (&w.staff, "start_review"),
            (&w.staff, "pass"),
            (&street, "pass"),
            (&district, "pass"),
        ] {
            let r = act(app, who, s, json!({ "action": action })).await;
            assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
        }
    }
    let r = app
        .get("/v1/subsidies?state=funded", &district.access)
        .await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.body
    );
    assert_eq!(
        upkeep(app),
        1,
        "only the retired man's condition is in the data yet"
    );
    // The stations' day (UTC+8), as the server judges "this month".
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let (e, v) = (new_id(), new_id());
    push_ok(
        app,
        &w.a1,
        vec![
            w.a1.upsert(
                "employer",
                &e,
                None,
                json!({ "street_id": w.tree.street, "name": "华林物业" }),
            ),
            w.a1.upsert(
                "placement",
                &v,
                None,
                json!({ "person_id": hired, "employer_id": e, "started_on": today.to_string(),
                        "kind": "market", "job_title": "保洁员" }),
            ),
        ],
    )
    .await;
    assert_eq!(upkeep(app), 1, "the hire");
    assert_eq!(upkeep(app), 0, "each recommended once");

    // The district's list: both, each with its condition and first month not paid.
    let r = app
        .get("/v1/subsidies?stop_recommended=true", &district.access)
        .await;
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{}", r.body);
    let of = |id: &str| {
        items
            .iter()
            .find(|i| i["id"] == id)
            .map(|i| i["data"].clone())
            .expect("listed")
    };
    let this_month = today.format("%Y-%m").to_string();
    assert_eq!(
        (
            &of(&a)["recommended_stop"],
            &of(&a)["recommended_stop_from"]
        ),
        (&json!("retirement_age"), &json!("2026-07"))
    );
    assert_eq!(
        (
            &of(&b)["recommended_stop"],
            &of(&b)["recommended_stop_from"]
        ),
        (&json!("employed_by_unit"), &json!(this_month))
    );
    // A recommendation is not a stop: the district decides, from the month it names.
    let r = act(
        app,
        &district,
        &b,
        json!({ "action": "stop", "reason": "核实已被单位录用", "stop_from": this_month,
                "stop_condition": "employed_by_unit" }),
    )
    .await;
    assert_eq!(r.body["data"]["state"], "stopped", "{}", r.body);
    let r = app
        .get("/v1/subsidies?stop_recommended=true", &district.access)
        .await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );
    // The station may recommend a stop itself; the street may not.
    let r = act(
        app,
        &street,
        &a,
        json!({ "action": "recommend_stop", "reason": "x", "stop_from": "2026-07",
                "stop_condition": "retirement_age" }),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app
        .get("/v1/subsidies?state=nonsense", &district.access)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

/// The console: each level finds on the case file the steps that are its own, takes them
/// with a form, and sees the server's figures and the history.
#[actix_web::test]
async fn each_level_takes_its_steps_in_the_console() {
    use crate::console::Web;
    let w = world().await;
    let app = &w.app;
    supervisors(&w).await;
    let (p, s) = applicant(&w, &w.a1).await;
    let file = format!("/console/persons/{p}");
    let form = format!("/console/persons/{p}/subsidies/{s}");

    let staff = Web::signed_in(app, "staff-1", PASSWORD).await;
    let page = staff.get(&file).await;
    assert!(page.body.contains("灵活就业社保补贴") && page.body.contains("已受理"));
    assert!(page.body.contains("****7890") && !page.body.contains("6222021234567890"));
    assert!(
        page.body.contains(&format!("action=\"{form}\"")),
        "a step: {}",
        page.body
    );
    // Not ready yet: the file says what is missing, with the rules' status.
    let r = staff
        .post(&form, &[("csrf", &page.csrf()), ("action", "start_review")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body.contains("缺少材料") && r.body.contains("社会保障卡或银行卡复印件"),
        "{}",
        r.body
    );
    ready(&w, &p).await;
    for action in ["start_review", "pass"] {
        let page = staff.get(&file).await;
        let r = staff
            .post(&form, &[("csrf", &page.csrf()), ("action", action)])
            .await;
        assert_eq!(
            r.location(),
            format!("{file}?done=subsidy_{action}#subsidies")
        );
    }
    let page = staff.get(&file).await;
    assert!(
        page.body.contains("街道复审") && page.body.contains("4800.00 元"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(&format!("action=\"{form}\"")),
        "the street's step, not the station's"
    );

    let street = Web::signed_in(app, "sup-street", PASSWORD).await;
    let page = street.get(&file).await;
    assert!(
        page.body.contains("data-action=\"pass\"") && page.body.contains("data-action=\"return\"")
    );
    let r = street
        .post(
            &form,
            &[("csrf", &page.csrf()), ("action", "return"), ("reason", "")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason: {}",
        r.body
    );
    let r = street
        .post(&form, &[("csrf", &page.csrf()), ("action", "pass")])
        .await;
    assert_eq!(r.location(), format!("{file}?done=subsidy_pass#subsidies"));
    let district = Web::signed_in(app, "sup-district", PASSWORD).await;
    let page = district.get(&file).await;
    let r = district
        .post(&form, &[("csrf", &page.csrf()), ("action", "pass")])
        .await;
    assert_eq!(r.location(), format!("{file}?done=subsidy_pass#subsidies"));
    let page = district.get(&file).await;
    assert!(
        page.body.contains("已核定拨付") && page.body.contains("审核通过"),
        "{}",
        page.body
    );
    // Funded: the district may stop it, naming the month and the condition.
    assert!(page.body.contains("data-action=\"stop\""));
    let r = district
        .post(
            &form,
            &[
                ("csrf", &page.csrf()),
                ("action", "stop"),
                ("reason", "回访得知已退休"),
                ("stop_from", "2026-04"),
                ("stop_condition", "retirement_age"),
            ],
        )
        .await;
    assert_eq!(r.location(), format!("{file}?done=subsidy_stop#subsidies"));
    let page = district.get(&file).await;
    assert!(
        page.body.contains("已停止") && page.body.contains("自 2026-04 停止：到达法定退休年龄")
    );
}

/// Nobody enjoys a subsidy from the month they reach retirement age: the station's review
/// refuses an applicant retired by the first month applied for, and says when.
#[actix_web::test]
async fn the_station_refuses_an_applicant_retired_before_the_period() {
    let w = world().await;
    // A man born in 1960 reached 60 in 2020, before the 2025 reform.
    let (p, s) = applicant_born(&w, &w.a1, "19600101", 71).await;
    ready(&w, &p).await;
    let r = act(&w.app, &w.staff, &s, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["unmet"][0]["rule"], "retirement_age", "{}", r.body);
    assert!(
        r.body["unmet"][0]["reason"]
            .as_str()
            .is_some_and(|t| t.contains("2020-01")),
        "{}",
        r.body
    );
}

/// Raises this month's verification tasks, as the server's upkeep does each round.
fn raise_checks(app: &TestApp) -> usize {
    as_upkeep(app, liuqing_api::subsidies::checks::raise)
}

/// While a subsidy pays, its person's coordinator is asked each month to verify it (补贴
/// 跟踪回访); their answer closes the task, and what they found is a stop condition the
/// upkeep recommends.
#[actix_web::test]
async fn a_running_subsidy_is_verified_each_month_and_what_is_found_can_stop_it() {
    let w = world().await;
    let app = &w.app;
    let (street, district) = supervisors(&w).await;
    // The stations' month, and an application running from last month for half a year.
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let this_month = liuqing_schema::domain::months::Month::of(today);
    let (h, p, s) = (new_id(), new_id(), new_id());
    push_ok(
        app,
        &w.a1,
        vec![
            w.a1.upsert(
                "household",
                &h,
                None,
                json!({ "community_id": w.tree.community_a, "address": "华林路9号" }),
            ),
            w.a1.upsert(
                "person",
                &p,
                None,
                json!({ "household_id": h, "name": "郑海", "id_number": id_number("19800101", 75) }),
            ),
            w.a1.upsert(
                "flexible_subsidy",
                &s,
                None,
                json!({ "person_id": p, "work": "flexible", "monthly_income": 2400,
                        "pension_monthly": 700, "paid_from": this_month.plus(-1).to_string(),
                        "paid_to": this_month.plus(5).to_string(),
                        "period_from": this_month.plus(-1).to_string(),
                        "period_to": this_month.plus(5).to_string() }),
            ),
        ],
    )
    .await;
    ready(&w, &p).await;
    for (who, action) in [
        (&w.staff, "start_review"),
        (&w.staff, "pass"),
        (&street, "pass"),
        (&district, "pass"),
    ] {
        let r = act(app, who, &s, json!({ "action": action })).await;
        assert_eq!(r.status, StatusCode::OK, "{action}: {}", r.body);
    }
    assert_eq!(raise_checks(app), 1);
    assert_eq!(raise_checks(app), 0, "one a person, a subsidy and a month");
    let (changes, _) = pull_all(app, &w.a1.s.access, None).await;
    let task = changes
        .iter()
        .find(|c| c["entity"] == "task" && c["data"]["kind"] == "subsidy_check")
        .expect("the coordinator's phone has the task");
    assert_eq!(
        (
            &task["data"]["subsidy_id"],
            &task["data"]["month"],
            &task["data"]["state"]
        ),
        (&json!(s), &json!(this_month.to_string()), &json!("open")),
        "{task}"
    );
    let task_id = task["id"].as_str().expect("id").to_string();
    assert_eq!(upkeep(app), 0, "nothing found yet");

    // A verification names one subsidy.
    let check = |fields: Value| w.a1.upsert("subsidy_check", &new_id(), None, fields);
    let r = push_ok(
        app,
        &w.a1,
        vec![check(
            json!({ "person_id": p, "month": this_month.to_string(),
                            "checked_on": today.to_string(), "with": "person" }),
        )],
    )
    .await;
    assert_eq!(r[0]["status"], "rejected", "{r:?}");
    // The coordinator finds the flexible work stopped: the task closes, and the upkeep
    // recommends a stop from the month verified.
    let r = push_ok(
        app,
        &w.a1,
        vec![check(json!({ "person_id": p, "flexible_subsidy_id": s,
                            "month": this_month.to_string(), "checked_on": today.to_string(),
                            "with": "person", "still_working": false, "insurance_paid": true,
                            "notes": "摊位已转让，本月起不再经营" }))],
    )
    .await;
    assert_eq!(r[0]["status"], "applied", "{r:?}");
    let r = app
        .get(&format!("/v1/records/task/{task_id}"), &w.staff.access)
        .await;
    assert_eq!(r.body["data"]["state"], "done", "{}", r.body);
    assert_eq!(upkeep(app), 1);
    let r = app
        .get(
            &format!("/v1/records/flexible_subsidy/{s}"),
            &w.staff.access,
        )
        .await;
    assert_eq!(
        (
            &r.body["data"]["recommended_stop"],
            &r.body["data"]["recommended_stop_from"]
        ),
        (
            &json!("flexible_work_stopped"),
            &json!(this_month.to_string())
        ),
        "{}",
        r.body
    );
}
