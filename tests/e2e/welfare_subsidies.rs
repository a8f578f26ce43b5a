//! The public-welfare job subsidy (#23, 社区公益性岗位补贴): an employer's application for
//! two persons it placed on public-welfare jobs, through the station's rules (the form,
//! the persons' standing and materials, the on-site check), every level, the per-person
//! figures, and a stop that is one person's.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::subsidies::{act, code, evidence, recognise, supervisors, upkeep, BORN};
use crate::sync::{id_number, push_ok, world, Phone, World};

/// A household and a person born on `born` (`YYYYMMDD`; `seq` odd for a man).
async fn resident(w: &World, phone: &Phone, name: &str, born: &str, seq: u32) -> String {
    let (h, p) = (new_id(), new_id());
    applied(
        &w.app,
        phone,
        vec![
            phone.upsert(
                "household",
                &h,
                None,
                json!({ "community_id": w.tree.community_a, "address": "华林路11号" }),
            ),
            phone.upsert(
                "person",
                &p,
                None,
                json!({ "household_id": h, "name": name, "id_number": id_number(born, seq) }),
            ),
        ],
    )
    .await;
    p
}

/// Pushes `mutations` and asserts each one applied.
async fn applied(app: &TestApp, phone: &Phone, mutations: Vec<Value>) {
    let results = push_ok(app, phone, mutations).await;
    for r in &results {
        assert_eq!(r["status"], "applied", "{results:?}");
    }
}

/// The policies a person's six clears say they enjoyed (政策享受清).
pub(crate) async fn enjoyed(app: &TestApp, who: &Session, person: &str) -> Vec<Value> {
    let r = app.get(&format!("/v1/persons/{person}"), &who.access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["six_clears"]["record"]["data"]["policies"]["enjoyed"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn rules(r: &Reply) -> Vec<String> {
    r.body["unmet"]
        .as_array()
        .map(|u| {
            u.iter()
                .filter_map(|u| u["rule"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn line<'a>(data: &'a Value, person: &str) -> &'a Value {
    data["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["person_id"] == person))
        .unwrap_or(&Value::Null)
}

/// What [`setup`] made.
struct Setup {
    older: String,
    younger: String,
    employer: String,
    application: String,
}

/// An employer with a public-welfare vacancy and two persons placed on it, and its
/// application for both, without the form (the persons not recognised yet, no materials).
async fn setup(w: &World) -> Setup {
    let app = &w.app;
    // An older man who reaches retirement age in 2026-07 (see `BORN`), on the job since
    // January; a woman born 1985, on it since March.
    let older = resident(w, &w.a1, "林建国", BORN, 71).await;
    let younger = resident(w, &w.a1, "陈秀英", "19850520", 82).await;
    let (e, v, pa, pb, s) = (new_id(), new_id(), new_id(), new_id(), new_id());
    let placement = |id: &str, person: &str, started: &str| {
        w.a1.upsert(
            "placement",
            id,
            None,
            json!({ "person_id": person, "employer_id": e, "vacancy_id": v,
                    "started_on": started, "kind": "public_welfare", "job_title": "保洁员",
                    "monthly_wage": 2300 }),
        )
    };
    applied(
        app,
        &w.a1,
        vec![
            w.a1.upsert(
                "employer",
                &e,
                None,
                json!({ "street_id": w.tree.street, "name": "华林社区物业服务中心",
                        "community_id": w.tree.community_a }),
            ),
            w.a1.upsert(
                "vacancy",
                &v,
                None,
                json!({ "employer_id": e, "title": "社区保洁员", "job_type": "保洁",
                        "count": 2, "kind": "public_welfare" }),
            ),
            placement(&pa, &older, "2026-01-05"),
            placement(&pb, &younger, "2026-03-01"),
            w.a1.upsert(
                "welfare_subsidy",
                &s,
                None,
                json!({ "community_id": w.tree.community_a, "employer_id": e,
                        "job": "cleaning", "placement_ids": [pa, pb],
                        "account": "6222 0212 3456 1234",
                        "period_from": "2026-01", "period_to": "2026-12" }),
            ),
        ],
    )
    .await;

    Setup {
        older,
        younger,
        employer: e,
        application: s,
    }
}

/// [`setup`], made ready for the station: the persons recognised with their materials,
/// the form photographed.
async fn ready(w: &World) -> Setup {
    let made = setup(w).await;
    let app = &w.app;
    for person in [&made.older, &made.younger] {
        recognise(app, person);
        applied(
            app,
            &w.a1,
            vec![
                evidence(&w.a1, person, "labour_contract"),
                evidence(&w.a1, person, "wage_record"),
            ],
        )
        .await;
    }
    let r = app
        .get(
            &format!("/v1/records/welfare_subsidy/{}", made.application),
            &w.staff.access,
        )
        .await;
    let form = format!("{:064x}", uuid::Uuid::new_v4().as_u128());
    applied(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "welfare_subsidy",
            &made.application,
            r.body["data"]["version"].as_i64(),
            json!({ "form_sha256": form }),
        )],
    )
    .await;
    made
}

/// A coordinator's on-site check of the application, as an employer visit.
fn site_check(w: &World, employer: &str, application: &str) -> Value {
    w.a1.upsert(
        "employer_visit",
        &new_id(),
        None,
        json!({ "employer_id": employer, "visited_at": "2026-12-01T09:30:00+08:00",
                "purpose": "site_check", "welfare_subsidy_id": application,
                "notes": "两人在岗，保洁区域与申报一致" }),
    )
}

#[actix_web::test]
async fn an_employers_public_welfare_subsidy_for_two_persons_runs_and_stops_person_by_person() {
    let w = world().await;
    let app = &w.app;
    let (street, district) = supervisors(&w).await;
    let Setup {
        older,
        younger,
        employer: e,
        application: s,
    } = setup(&w).await;

    // 初审 names everything missing at once: the form, each person's standing and
    // materials.
    let r = act(app, &w.staff, &s, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(code(&r), "rules_unmet");
    assert_eq!(
        rules(&r),
        [
            "application_form",
            "recognised",
            "materials",
            "recognised",
            "materials"
        ],
        "{}",
        r.body
    );
    assert!(
        r.body["unmet"][1]["reason"]
            .as_str()
            .is_some_and(|t| t.contains("林建国")),
        "{}",
        r.body
    );
    for person in [&older, &younger] {
        recognise(app, person);
        applied(app, &w.a1, vec![evidence(&w.a1, person, "labour_contract")]).await;
    }
    applied(app, &w.a1, vec![evidence(&w.a1, &younger, "wage_record")]).await;
    let r = app
        .get(&format!("/v1/records/welfare_subsidy/{s}"), &w.staff.access)
        .await;
    assert_eq!(r.body["data"]["account"], "****1234", "{}", r.body);
    let version = r.body["data"]["version"].as_i64();
    let form = format!("{:064x}", uuid::Uuid::new_v4().as_u128());
    applied(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "welfare_subsidy",
            &s,
            version,
            json!({ "form_sha256": form }),
        )],
    )
    .await;
    let r = act(app, &w.staff, &s, json!({ "action": "start_review" })).await;
    assert_eq!(rules(&r), ["materials"], "{}", r.body);
    assert_eq!(r.body["unmet"][0]["evidence"], json!(["wage_record"]));
    applied(app, &w.a1, vec![evidence(&w.a1, &older, "wage_record")]).await;

    // The street takes none of the station's steps; the station's own starts the review,
    // and computes each person's months: his January to June (retirement in July), hers
    // March to December; 2030 yuan a person a month.
    let r = act(app, &street, &s, json!({ "action": "start_review" })).await;
    assert_eq!(code(&r), "forbidden_level", "{}", r.body);
    let r = act(app, &w.staff, &s, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let data = &r.body["data"];
    let figures = |l: &Value| {
        (
            l["payable_from"].clone(),
            l["payable_to"].clone(),
            l["months"].clone(),
        )
    };
    assert_eq!(
        figures(line(data, &older)),
        (json!("2026-01"), json!("2026-06"), json!(6)),
        "{data}"
    );
    assert_eq!(
        figures(line(data, &younger)),
        (json!("2026-03"), json!("2026-12"), json!(10)),
        "{data}"
    );
    assert_eq!(data["months"], 16);
    assert_eq!(data["amount_fen"], 16 * 2030 * 100);
    assert_eq!(
        (&data["payable_from"], &data["payable_to"]),
        (&json!("2026-01"), &json!("2026-12"))
    );
    // Nobody writes the lines or the totals but an action.
    let r = app
        .patch(
            &format!("/v1/records/welfare_subsidy/{s}"),
            &w.staff.access,
            json!({ "fields": { "amount_fen": 1, "lines": [] } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // 初审 passes only after the on-site check: a coordinator's visit to the employer
    // naming the application.
    let r = act(app, &w.staff, &s, json!({ "action": "pass" })).await;
    assert_eq!(rules(&r), ["site_check"], "{}", r.body);
    applied(app, &w.a1, vec![site_check(&w, &e, &s)]).await;
    // The street returns it for a missing material; the station completes it and it goes
    // up again to be funded.
    for (who, body, state) in [
        (&w.staff, json!({ "action": "pass" }), "street_review"),
        (
            &street,
            json!({ "action": "return", "reason": "缺少单位盖章的工资发放花名册" }),
            "returned",
        ),
        (&w.staff, json!({ "action": "resubmit" }), "received"),
        (
            &w.staff,
            json!({ "action": "start_review" }),
            "station_review",
        ),
        (&w.staff, json!({ "action": "pass" }), "street_review"),
        (&street, json!({ "action": "pass" }), "district_approval"),
        (&district, json!({ "action": "pass" }), "funded"),
    ] {
        let r = act(app, who, &s, body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.body);
        assert_eq!(r.body["data"]["state"], state, "{body}");
    }
    // What the levels approved is fixed: the phone may not change the persons or the
    // period now, nor delete the application.
    let r = app
        .get(&format!("/v1/records/welfare_subsidy/{s}"), &w.staff.access)
        .await;
    let version = r.body["data"]["version"].as_i64();
    let results = push_ok(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "welfare_subsidy",
            &s,
            version,
            json!({ "period_to": "2027-12" }),
        )],
    )
    .await;
    assert_eq!(results[0]["status"], "rejected", "{results:?}");
    assert_eq!(results[0]["errors"][0]["field"], "period_to", "{results:?}");
    let results = push_ok(
        app,
        &w.a1,
        vec![
            json!({ "mutation_id": new_id(), "entity": "welfare_subsidy", "id": s,
                     "op": "delete", "base_version": version, "hlc": w.a1.hlc() }),
        ],
    )
    .await;
    assert_eq!(results[0]["status"], "rejected", "{results:?}");
    // Funded: each person's six clears say the subsidy enjoyed and its months.
    assert_eq!(
        enjoyed(app, &w.staff, &older).await,
        [json!({ "policy": "社区公益性岗位补贴", "from": "2026-01-01", "to": "2026-06-30" })]
    );
    let r = app
        .get(
            "/v1/subsidies?kind=public_welfare_job&state=funded",
            &district.access,
        )
        .await;
    assert_eq!(
        r.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );

    // The upkeep finds he has reached retirement age (it is December 2026 or later) and
    // recommends his stop alone; hers runs on.
    assert_eq!(upkeep(app), 1);
    assert_eq!(upkeep(app), 0, "once");
    let r = app
        .get("/v1/subsidies?stop_recommended=true", &district.access)
        .await;
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{}", r.body);
    let data = &items[0]["data"];
    assert_eq!(
        (
            &line(data, &older)["recommended_stop"],
            &line(data, &older)["recommended_stop_from"]
        ),
        (&json!("retirement_age"), &json!("2026-07")),
        "{data}"
    );
    assert!(line(data, &younger)["recommended_stop"].is_null(), "{data}");

    // Her monthly verification finds her paid below the minimum wage: a recommendation
    // for her too, from the month verified.
    applied(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "subsidy_check",
            &new_id(),
            None,
            json!({ "person_id": younger, "welfare_subsidy_id": s, "month": "2026-11",
                    "checked_on": "2026-11-28", "with": "employer", "still_working": true,
                    "wage": 1800, "job_as_declared": true }),
        )],
    )
    .await;
    assert_eq!(upkeep(app), 1);
    let r = app
        .get(&format!("/v1/records/welfare_subsidy/{s}"), &w.staff.access)
        .await;
    let data = &r.body["data"];
    assert_eq!(
        (
            &line(data, &younger)["recommended_stop"],
            &line(data, &younger)["recommended_stop_from"]
        ),
        (&json!("wage_below_minimum"), &json!("2026-11")),
        "{data}"
    );

    // A stop names its person: none, or one not on the application, is refused.
    let stop = |person: Option<&str>, from: &str, condition: &str| {
        json!({ "action": "stop", "reason": "回访核实", "stop_from": from,
                "stop_condition": condition, "person_id": person })
    };
    let r = act(app, &district, &s, stop(None, "2026-07", "retirement_age")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = act(
        app,
        &district,
        &s,
        stop(Some(&new_id()), "2026-07", "retirement_age"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = act(
        app,
        &district,
        &s,
        stop(Some(&older), "2026-07", "imprisoned"),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not this subsidy's: {}",
        r.body
    );

    // What was approved stays: his placement edited now changes no figure.
    let pa = line(data, &older)["placement_id"]
        .as_str()
        .expect("his placement")
        .to_string();
    let r = app
        .get(&format!("/v1/records/placement/{pa}"), &w.staff.access)
        .await;
    applied(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "placement",
            &pa,
            r.body["data"]["version"].as_i64(),
            json!({ "job_title": "保洁组长", "monthly_wage": 2500 }),
        )],
    )
    .await;

    // His stop: the application runs on for her, and her recommendation still waits.
    let r = act(
        app,
        &district,
        &s,
        stop(Some(&older), "2026-07", "retirement_age"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let data = &r.body["data"];
    assert_eq!(data["state"], "funded", "{data}");
    assert_eq!(line(data, &older)["stopped_from"], "2026-07");
    assert_eq!(
        data["recommended_stop"], "wage_below_minimum",
        "hers still waits: {data}"
    );
    assert!(data["stopped_from"].is_null(), "{data}");
    assert_eq!(data["months"], 16);
    assert_eq!(
        figures(line(data, &older)),
        (json!("2026-01"), json!("2026-06"), json!(6)),
        "{data}"
    );
    // A person stopped is not stopped again.
    let r = act(
        app,
        &district,
        &s,
        stop(Some(&older), "2026-09", "retirement_age"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Hers, from October (she left the job): the application stops with her, and her
    // months are March to September.
    let r = act(app, &district, &s, stop(Some(&younger), "2026-10", "other")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let data = &r.body["data"];
    assert_eq!(data["state"], "stopped", "{data}");
    assert_eq!(
        figures(line(data, &younger)),
        (json!("2026-03"), json!("2026-09"), json!(7)),
        "{data}"
    );
    assert_eq!(data["months"], 13);
    assert_eq!(data["amount_fen"], 13 * 2030 * 100);
    assert_eq!(data["stopped_from"], "2026-10");
    assert_eq!(
        enjoyed(app, &w.staff, &younger).await,
        [json!({ "policy": "社区公益性岗位补贴", "from": "2026-03-01", "to": "2026-09-30" })],
        "the stop moved the end"
    );

    // The monthly totals: this month's steps, and the persons paid each month of 2026.
    let this_month = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    let r = app
        .get(
            &format!("/v1/reports/subsidies?from={this_month}&to={this_month}"),
            &district.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let now = &r.body["months"][0]["public_welfare_job"];
    assert_eq!(
        (
            &now["received"],
            &now["returned"],
            &now["funded"],
            &now["funded_amount_fen"],
            &now["stopped"]
        ),
        (
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(13 * 2030 * 100),
            &json!(2)
        ),
        "{}",
        r.body
    );
    assert_eq!(r.body["months"][0]["flexible_insurance"]["received"], 0);
    let r = app
        .get(
            "/v1/reports/subsidies?from=2026-01&to=2026-12",
            &district.access,
        )
        .await;
    let paid: Vec<i64> = r.body["months"]
        .as_array()
        .expect("months")
        .iter()
        .map(|m| {
            m["public_welfare_job"]["persons_paid"]
                .as_i64()
                .unwrap_or(-1)
        })
        .collect();
    assert_eq!(paid, [1, 1, 2, 2, 2, 2, 1, 1, 1, 0, 0, 0], "{}", r.body);
    let r = app
        .get(
            "/v1/reports/subsidies?from=2026-12&to=2026-01",
            &district.access,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // 公益性岗位补贴受理工作台账: a row for each person, masked, with the unit and the
    // server's figures.
    let (status, _, bytes) = crate::supervision::download(
        app,
        "/v1/exports/welfare_subsidies?format=csv&reason=%E6%9C%88%E5%BA%A6%E6%A0%B8%E6%9F%A5",
        &street.access,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8_lossy(&bytes).to_string();
    let mut csv = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<String> = csv
        .records()
        .map(|r| r.expect("row").iter().collect::<Vec<_>>().join("|"))
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    for shown in [
        "华林社区物业服务中心",
        "公共卫生保洁",
        "林建国",
        "2026-01 至 2026-06",
        "12180.00",
        "****1234",
        "自 2026-07 停止：到达法定退休年龄",
        "街道退回",
    ] {
        assert!(
            rows[0].contains(shown) || rows[1].contains(shown),
            "{shown}: {text}"
        );
    }
    assert!(!text.contains(&id_number(BORN, 71)), "masked: {text}");

    // The period cap counts from a person's first month ever paid, with any
    // application: hers began in 2026-03, so a later application for 2028-07 to 2029-12
    // pays until 2029-02, three years on.
    let placement = line(data, &younger)["placement_id"].clone();
    let later = new_id();
    applied(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "welfare_subsidy",
            &later,
            None,
            json!({ "community_id": w.tree.community_a, "employer_id": e, "job": "cleaning",
                    "placement_ids": [placement], "form_sha256": format!("{:064x}", 7),
                    "period_from": "2028-07", "period_to": "2029-12" }),
        )],
    )
    .await;
    let r = act(app, &w.staff, &later, json!({ "action": "start_review" })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        figures(line(&r.body["data"], &younger)),
        (json!("2028-07"), json!("2029-02"), json!(8)),
        "{}",
        r.body
    );

    // No month is paid twice: another application for months she was paid is refused
    // at every level's pass, here at the station's.
    let again = new_id();
    applied(
        app,
        &w.a1,
        vec![w.a1.upsert(
            "welfare_subsidy",
            &again,
            None,
            json!({ "community_id": w.tree.community_a, "employer_id": e, "job": "cleaning",
                    "placement_ids": [line(data, &younger)["placement_id"]],
                    "form_sha256": format!("{:064x}", 8),
                    "period_from": "2026-06", "period_to": "2026-12" }),
        )],
    )
    .await;
    let r = act(app, &w.staff, &again, json!({ "action": "start_review" })).await;
    assert_eq!(rules(&r), ["already_paid"], "{}", r.body);

    // Another station's staff do not find it.
    app.user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    let other = app.login("staff-2", PASSWORD).await;
    let r = act(app, &other, &s, json!({ "action": "resubmit" })).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

/// The console: each level finds the application in its queue (补贴 → 待我办理), takes its
/// steps on the application's page, a refusal says what is missing, a stop names its
/// person, and a returned application is on the printable roster with its reason.
#[actix_web::test]
async fn each_level_works_a_public_welfare_application_in_the_console() {
    use crate::console::Web;
    let w = world().await;
    let app = &w.app;
    supervisors(&w).await;
    let Setup {
        older,
        employer,
        application,
        ..
    } = ready(&w).await;
    let page_of = format!("/console/subsidies/{application}");

    let staff = Web::signed_in(app, "staff-1", PASSWORD).await;
    let queue = staff.get("/console/subsidies").await;
    assert!(
        queue.body.contains("华林社区物业服务中心（2 人）")
            && queue.body.contains(&format!("href=\"{page_of}\"")),
        "{}",
        queue.body
    );
    let page = staff.get(&page_of).await;
    assert!(page.body.contains("****1234") && !page.body.contains("6222021234561234"));
    assert!(page.body.contains("尚未核查"), "{}", page.body);
    let r = staff
        .post(
            &page_of,
            &[("csrf", &page.csrf()), ("action", "start_review")],
        )
        .await;
    assert_eq!(r.location(), format!("{page_of}?done=start_review"));
    let page = staff.get(r.location()).await;
    assert!(
        page.body.contains("已办理：受理初审") && page.body.contains("林建国"),
        "{}",
        page.body
    );
    // 初审 does not pass without the on-site check, and the page says so.
    let r = staff
        .post(&page_of, &[("csrf", &page.csrf()), ("action", "pass")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("初审须实地核查"), "{}", r.body);
    applied(app, &w.a1, vec![site_check(&w, &employer, &application)]).await;
    let page = staff.get(&page_of).await;
    assert!(!page.body.contains("尚未核查"), "{}", page.body);
    let r = staff
        .post(&page_of, &[("csrf", &page.csrf()), ("action", "pass")])
        .await;
    assert_eq!(r.location(), format!("{page_of}?done=pass"));
    let queue = staff.get("/console/subsidies").await;
    assert!(
        !queue.body.contains(&page_of),
        "the street's turn: {}",
        queue.body
    );

    // The street returns it: on the roster of unsuccessful applicants with the reason.
    let street = Web::signed_in(app, "sup-street", PASSWORD).await;
    let queue = street.get("/console/subsidies").await;
    assert!(queue.body.contains(&page_of), "{}", queue.body);
    let page = street.get(&page_of).await;
    let r = street
        .post(
            &page_of,
            &[
                ("csrf", &page.csrf()),
                ("action", "return"),
                ("reason", "工资发放记录缺单位盖章"),
            ],
        )
        .await;
    assert_eq!(r.location(), format!("{page_of}?done=return"));
    let roster = staff.get("/console/subsidies?view=returned").await;
    assert!(
        roster.body.contains("补贴申请不成功人员花名册")
            && roster.body.contains("工资发放记录缺单位盖章"),
        "{}",
        roster.body
    );
    for (who, action) in [
        (&staff, "resubmit"),
        (&staff, "start_review"),
        (&staff, "pass"),
        (&street, "pass"),
    ] {
        let page = who.get(&page_of).await;
        let r = who
            .post(&page_of, &[("csrf", &page.csrf()), ("action", action)])
            .await;
        assert_eq!(r.location(), format!("{page_of}?done={action}"), "{action}");
    }
    let district = Web::signed_in(app, "sup-district", PASSWORD).await;
    let page = district.get(&page_of).await;
    let r = district
        .post(&page_of, &[("csrf", &page.csrf()), ("action", "pass")])
        .await;
    assert_eq!(r.location(), format!("{page_of}?done=pass"));

    // Funded: the district stops one person's subsidy; the application runs on.
    let page = district.get(&page_of).await;
    assert!(
        page.body.contains("已核定拨付") && page.body.contains("name=\"person_id\""),
        "{}",
        page.body
    );
    let r = district
        .post(
            &page_of,
            &[
                ("csrf", &page.csrf()),
                ("action", "stop"),
                ("reason", "已到法定退休年龄"),
                ("person_id", &older),
                ("stop_from", "2026-07"),
                ("stop_condition", "retirement_age"),
            ],
        )
        .await;
    assert_eq!(r.location(), format!("{page_of}?done=stop"));
    let page = district.get(&page_of).await;
    assert!(
        page.body.contains("自 2026-07 停止：到达法定退休年龄") && page.body.contains("已核定拨付"),
        "{}",
        page.body
    );
    // The monthly totals count this month's funding.
    let months = district.get("/console/subsidies?view=months").await;
    let this_month = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m")
        .to_string();
    assert!(
        months.body.contains(&format!("<td>{this_month}</td>")) && months.body.contains("核定金额"),
        "{}",
        months.body
    );
    // The employer's file lists the application.
    let file = staff
        .get(&format!("/console/jobs/employers/{employer}"))
        .await;
    assert!(
        file.body.contains("公益性岗位补贴申请") && file.body.contains(&page_of),
        "{}",
        file.body
    );
    // Another station's staff do not find it.
    app.user(&w.admin, "staff-2", "station_staff", &[&w.tree.station2])
        .await;
    let other = Web::signed_in(app, "staff-2", PASSWORD).await;
    let r = other.get(&page_of).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
