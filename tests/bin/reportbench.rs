//! `liuqing-reportbench`: builds a district at scale directly through the storage layer
//! (records and their projections, as the engine would leave them) and times the
//! supervisors' reports on it with the functions the routes call. The default district:
//! 10 streets, 40 stations, 400 communities; 200,000 households, 500,000 persons, 1,000,000
//! visits over the two years to now, 1% of persons recognised with a tier, services and
//! six clears; 1,000 employers and 20,000 open vacancies, and matching timed on them.
//! `--scale 0.1` builds a tenth of it. See BENCHMARKS.md ("Reports at district scale").

use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate};
use clap::Parser;
use diesel::prelude::*;
use liuqing_api::ledgers::{self, Ledger};
use liuqing_api::sheets::{self, FileFormat};
use liuqing_schema::coverage::{self, Area, Facts, GroupBy, Period, Settings};
use liuqing_schema::domain::matching;
use liuqing_schema::domain::visit_flags::Thresholds;
use liuqing_schema::entities::Entity;
use liuqing_schema::matches;
use liuqing_schema::org::{self, OrgKind, OrgNode};
use liuqing_schema::records::{self, Record};
use liuqing_schema::scope::Scope;
use liuqing_schema::tables::{households_index, persons_index, visits_index};
use liuqing_schema::{db, Backend, DbConn};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(
    name = "liuqing-reportbench",
    about = "Supervision reports at district scale"
)]
struct Args {
    /// A PostgreSQL URL (its database is used as it is: give a fresh one), or a SQLite file
    /// (default: a new one in a temporary folder).
    #[arg(long)]
    database_url: Option<String>,
    /// The share of the full district to build (1.0: 200,000 households).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Times each report is run (the median is printed).
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

const SETTINGS: Settings = Settings {
    utc_offset_minutes: 480,
    visit_interval_days: 90,
    six_clears_stale_days: 180,
    flags: Thresholds {
        far_m: 500.0,
        min_minutes: 5,
    },
};

/// A small deterministic generator (xorshift): the same district every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn id(kind: u64, n: u64) -> String {
    format!("{:08x}-0000-7000-8000-{:012x}", kind, n)
}

fn record(
    entity: Entity,
    id: String,
    community: &str,
    parent: Option<String>,
    version: i64,
    data: serde_json::Value,
    at: i64,
) -> Record {
    Record {
        entity,
        id,
        community_id: community.to_string(),
        parent_id: parent,
        version,
        deleted: false,
        data: data.to_string(),
        clocks: "{}".into(),
        created_at: at,
        updated_at: at,
        created_by: Some("bench-coordinator".into()),
        updated_by: Some("bench-coordinator".into()),
        updated_device: Some("bench-device".into()),
    }
}

#[derive(Insertable)]
#[diesel(table_name = households_index, treat_none_as_default_value = false)]
struct HouseholdRow {
    id: String,
    community_id: String,
    address: String,
    zero_employment: bool,
    zero_employment_found_on: Option<String>,
    zero_employment_cleared_on: Option<String>,
    deleted: bool,
    version: i64,
}

#[derive(Insertable)]
#[diesel(table_name = persons_index, treat_none_as_default_value = false)]
struct PersonRow {
    id: String,
    community_id: String,
    household_id: String,
    name: String,
    sex: Option<String>,
    birth_date: Option<String>,
    status: String,
    tier: Option<String>,
    categories: String,
    deleted: bool,
    version: i64,
    assessed_on: Option<String>,
    enrolled_on: Option<String>,
    six_clears_complete: bool,
}

#[derive(Insertable)]
#[diesel(table_name = visits_index, treat_none_as_default_value = false)]
struct VisitRow {
    id: String,
    community_id: String,
    household_id: String,
    user_id: Option<String>,
    device_id: Option<String>,
    started_at: i64,
    ended_at: Option<i64>,
    outcome: String,
    latitude: Option<f64>,
    longitude: Option<f64>,
    deleted: bool,
}

/// What is written in one transaction: a community's rows.
#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    households: Vec<HouseholdRow>,
    persons: Vec<PersonRow>,
    visits: Vec<VisitRow>,
}

impl Batch {
    fn write(&mut self, conn: &mut DbConn) -> Result<()> {
        use diesel::Connection;
        let batch = std::mem::take(self);
        conn.transaction::<_, anyhow::Error, _>(|conn| {
            for chunk in batch.records.chunks(1000) {
                records::insert_many(conn, &chunk.iter().collect::<Vec<_>>())?;
            }
            let done: Result<(), anyhow::Error> = liuqing_schema::backend::insert_rows!(
                &mut *conn,
                households_index::table,
                HouseholdRow,
                batch.households
            );
            done?;
            let done: Result<(), anyhow::Error> = liuqing_schema::backend::insert_rows!(
                &mut *conn,
                persons_index::table,
                PersonRow,
                batch.persons
            );
            done?;
            let done: Result<(), anyhow::Error> = liuqing_schema::backend::insert_rows!(
                &mut *conn,
                visits_index::table,
                VisitRow,
                batch.visits
            );
            done?;
            Ok(())
        })
    }
}

/// Builds the district; returns (the district node, a station, a community).
fn build(conn: &mut DbConn, scale: f64, now: i64) -> Result<(OrgNode, OrgNode, OrgNode)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let households_total = (200_000.0 * scale).round() as u64;
    let communities_total = 400u64;
    let per_community = households_total.div_ceil(communities_total);
    let today = SETTINGS.day_of(now);
    let two_years = 730 * 86_400_000_000i64;
    let district = org::create(conn, &id(1, 0), None, OrgKind::District, "基准区")?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut version = 0i64;
    let (mut first_station, mut first_community) = (None, None);
    let (mut n_persons, mut n_visits) = (0u64, 0u64);
    for s in 0..10u64 {
        let street = org::create(
            conn,
            &id(2, s),
            Some(&district.id),
            OrgKind::Street,
            &format!("第{}街道", s + 1),
        )?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for t in 0..4u64 {
            let st = s * 4 + t;
            let station = org::create(
                conn,
                &id(3, st),
                Some(&street.id),
                OrgKind::Station,
                &format!("第{}服务站", st + 1),
            )?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            for c in 0..10u64 {
                let cn = st * 10 + c;
                let community = org::create(
                    conn,
                    &id(4, cn),
                    Some(&station.id),
                    OrgKind::Community,
                    &format!("第{}社区", cn + 1),
                )?
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                let mut batch = Batch::default();
                let base = (26.0 + (cn as f64) * 0.001, 119.0 + (cn as f64) * 0.001);
                for h in 0..per_community {
                    let hn = cn * per_community + h;
                    if hn >= households_total {
                        break;
                    }
                    let hid = id(5, hn);
                    let created = now - two_years - 86_400_000_000;
                    version += 1;
                    let zero = rng.below(100) == 0;
                    let found = zero.then(|| today - chrono::Days::new(rng.below(700)));
                    let cleared = found
                        .filter(|_| rng.below(2) == 0)
                        .map(|f| f + chrono::Days::new(rng.below(40)));
                    batch.records.push(record(
                        Entity::Household,
                        hid.clone(),
                        &community.id,
                        None,
                        version,
                        json!({ "community_id": community.id, "address": format!("{}号", hn) }),
                        created,
                    ));
                    batch.households.push(HouseholdRow {
                        id: hid.clone(),
                        community_id: community.id.clone(),
                        address: format!("{hn}号"),
                        zero_employment: zero,
                        zero_employment_found_on: found.map(|d| d.to_string()),
                        zero_employment_cleared_on: cleared.map(|d| d.to_string()),
                        deleted: false,
                        version,
                    });
                    // Two or three persons a household: 500,000 in all.
                    for p in 0..(2 + u64::from(h % 2 == 0)) {
                        let pid = id(6, hn * 3 + p);
                        version += 1;
                        n_persons += 1;
                        let birth = NaiveDate::from_ymd_opt(
                            1960 + rng.below(40) as i32,
                            1 + rng.below(12) as u32,
                            1 + rng.below(28) as u32,
                        )
                        .unwrap_or(today);
                        let recognised = rng.below(100) == 0;
                        let tier = ["I", "II", "III"][rng.below(3) as usize];
                        let assessed = today - chrono::Days::new(rng.below(180));
                        let name = format!("居民{}", hn * 3 + p);
                        batch.records.push(record(
                            Entity::Person,
                            pid.clone(),
                            &community.id,
                            Some(hid.clone()),
                            version,
                            json!({ "household_id": hid, "name": name, "birth_date": birth.to_string() }),
                            created,
                        ));
                        batch.persons.push(PersonRow {
                            id: pid.clone(),
                            community_id: community.id.clone(),
                            household_id: hid.clone(),
                            name,
                            sex: Some(if p % 2 == 0 { "male" } else { "female" }.into()),
                            birth_date: Some(birth.to_string()),
                            status: if recognised {
                                "recognised"
                            } else {
                                "registered"
                            }
                            .into(),
                            tier: recognised.then(|| tier.to_string()),
                            categories: "[\"older_worker\"]".into(),
                            deleted: false,
                            version,
                            assessed_on: recognised.then(|| assessed.to_string()),
                            enrolled_on: Some((today - chrono::Days::new(730)).to_string()),
                            six_clears_complete: rng.below(3) > 0,
                        });
                        if recognised {
                            version += 1;
                            batch.records.push(record(
                                Entity::SixClears,
                                pid.clone(),
                                &community.id,
                                Some(pid.clone()),
                                version,
                                six_clears(&mut rng, &pid),
                                created,
                            ));
                            version += 1;
                            batch.records.push(record(
                                Entity::Recognition,
                                id(7, hn * 3 + p),
                                &community.id,
                                Some(pid.clone()),
                                version,
                                json!({ "person_id": pid, "state": "recognised",
                                        "received_on": (assessed - chrono::Days::new(20)).to_string(),
                                        "decided_on": (assessed - chrono::Days::new(3)).to_string() }),
                                created,
                            ));
                            for k in 0..3u64 {
                                version += 1;
                                let kind = [
                                    "career_guidance",
                                    "job_recommendation",
                                    "training_recommendation",
                                ][k as usize];
                                batch.records.push(record(
                                    Entity::ServiceRecord,
                                    id(8, (hn * 3 + p) * 3 + k),
                                    &community.id,
                                    Some(pid.clone()),
                                    version,
                                    json!({ "person_id": pid, "kind": kind,
                                            "delivered_on": (assessed + chrono::Days::new(10 * k)).min(today).to_string() }),
                                    created,
                                ));
                            }
                        }
                    }
                    // Five visits a household over two years: 1,000,000 in all.
                    for v in 0..5u64 {
                        let vn = hn * 5 + v;
                        n_visits += 1;
                        version += 1;
                        let started =
                            now - two_years + (rng.below(730 * 24) as i64) * 3_600_000_000;
                        let minutes = 5 + rng.below(40) as i64;
                        let outcome = match rng.below(10) {
                            0 => "not_home",
                            1 => "refused",
                            _ => "met",
                        };
                        let gps = rng.below(4) > 0;
                        let at = (
                            base.0 + (rng.below(100) as f64) * 0.00001,
                            base.1 + (rng.below(100) as f64) * 0.00001,
                        );
                        let started_text = chrono::DateTime::from_timestamp_micros(started)
                            .map(|t| t.to_rfc3339())
                            .unwrap_or_default();
                        batch.records.push(record(
                            Entity::Visit,
                            id(9, vn),
                            &community.id,
                            Some(hid.clone()),
                            version,
                            json!({ "household_id": hid, "started_at": started_text, "outcome": outcome }),
                            started,
                        ));
                        batch.visits.push(VisitRow {
                            id: id(9, vn),
                            community_id: community.id.clone(),
                            household_id: hid.clone(),
                            user_id: Some(format!("bench-coordinator-{cn}")),
                            device_id: Some(format!("bench-device-{cn}")),
                            started_at: started,
                            ended_at: Some(started + minutes * 60_000_000),
                            outcome: outcome.into(),
                            latitude: gps.then_some(at.0),
                            longitude: gps.then_some(at.1),
                            deleted: false,
                        });
                    }
                }
                batch.write(conn)?;
                first_community.get_or_insert(community);
            }
            first_station.get_or_insert(station);
        }
        jobs_of_street(conn, &mut rng, &mut version, &street.id, s, today, now)?;
    }
    records::set_counter(conn, version)?;
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query("ANALYZE").execute(pg)?;
    } else if let DbConn::Sqlite(sq) = conn {
        diesel::sql_query("ANALYZE").execute(sq)?;
    }
    println!(
        "built: {households_total} households, {n_persons} persons, {n_visits} visits, 400 communities"
    );
    Ok((
        district,
        first_station.context("a station")?,
        first_community.context("a community")?,
    ))
}

/// The job types of six clears and vacancies alike, and the skills asked and had.
const JOB_TYPES: [&str; 20] = [
    "保洁",
    "保安",
    "理货",
    "收银",
    "配送",
    "仓储",
    "餐饮服务",
    "厨师",
    "家政",
    "育婴",
    "养老护理",
    "绿化",
    "物业维修",
    "电工",
    "驾驶",
    "客服",
    "销售",
    "缝纫",
    "装配",
    "公益岗位",
];
const SKILLS: [&str; 10] = [
    "驾驶",
    "烹饪",
    "电工",
    "计算机",
    "缝纫",
    "护理",
    "焊接",
    "叉车",
    "普通话",
    "收银",
];
const HOURS_WANTED: [&str; 5] = ["daytime", "part_time", "flexible", "shifts", "any"];
const JOB_HOURS: [&str; 4] = ["full_day", "part_time", "shifts", "daytime"];
const EDUCATION: [&str; 4] = ["primary", "junior_high", "senior_high", "college"];

fn pick<'a>(rng: &mut Rng, from: &[&'a str], n: u64) -> Vec<&'a str> {
    let mut out: Vec<&str> = (0..n)
        .map(|_| from[rng.below(from.len() as u64) as usize])
        .collect();
    out.dedup();
    out
}

/// A recognised person's six clears: what matching reads.
fn six_clears(rng: &mut Rng, person: &str) -> serde_json::Value {
    let wanted = 1 + rng.below(2);
    let skills = rng.below(3);
    // Stored as the engine stores a document: sections as nested objects.
    json!({ "person_id": person,
            "needs": { "job_types": pick(rng, &JOB_TYPES, wanted),
                       "hours": HOURS_WANTED[rng.below(5) as usize],
                       "expected_pay": 2500 + 100 * rng.below(25) as i64 },
            "basic": { "skills": pick(rng, &SKILLS, skills),
                       "education": EDUCATION[rng.below(4) as usize] },
            "difficulty": { "categories": ["older_worker"] } })
}

/// A street's 100 employers and 2,000 approved, open vacancies (20,000 in the district),
/// each placed in one of the street's communities near its households.
fn jobs_of_street(
    conn: &mut DbConn,
    rng: &mut Rng,
    version: &mut i64,
    street: &str,
    s: u64,
    today: NaiveDate,
    now: i64,
) -> Result<()> {
    let mut batch = Batch::default();
    for e in 0..100u64 {
        let en = s * 100 + e;
        *version += 1;
        batch.records.push(record(
            Entity::Employer,
            id(10, en),
            street,
            None,
            *version,
            json!({ "street_id": street, "name": format!("单位{en}") }),
            now,
        ));
    }
    for v in 0..2_000u64 {
        let vn = s * 2_000 + v;
        let cn = s * 40 + rng.below(40);
        let base = (26.0 + (cn as f64) * 0.001, 119.0 + (cn as f64) * 0.001);
        let wage_min = 2200 + 100 * rng.below(30) as i64;
        let asked = rng.below(3);
        let mut doc = json!({
            "employer_id": id(10, s * 100 + rng.below(100)), "title": format!("岗位{vn}"),
            "job_type": JOB_TYPES[rng.below(20) as usize], "count": 1 + rng.below(5),
            "filled": 0, "kind": if rng.below(20) == 0 { "public_welfare" } else { "market" },
            "hours": JOB_HOURS[rng.below(4) as usize], "community_id": id(4, cn),
            "latitude": base.0 + (rng.below(100) as f64) * 0.0001,
            "longitude": base.1 + (rng.below(100) as f64) * 0.0001,
            "wage_min": wage_min, "wage_max": wage_min + 100 * rng.below(15) as i64,
            "age_min": 18, "age_max": 45 + rng.below(16),
            "skills": pick(rng, &SKILLS, asked),
            "disability_suitable": rng.below(3) == 0, "approval": "approved",
            "open_from": (today - chrono::Days::new(rng.below(60))).to_string(),
        });
        if rng.below(5) == 0 {
            doc["education_min"] = json!("junior_high");
        }
        *version += 1;
        batch.records.push(record(
            Entity::Vacancy,
            id(11, vn),
            street,
            None,
            *version,
            doc,
            now,
        ));
    }
    batch.write(conn)
}

/// Runs `f` `runs` times; returns the median seconds.
/// The first night's `job_match` tasks written as the upkeep writes them (the engine,
/// `MATCH_TASKS_PER_WRITE` a transaction), after giving each community a coordinator to
/// assign them to. Once only: a second night finds them raised. How many, and seconds.
fn write_match_tasks(
    conn: &mut DbConn,
    cache: &matches::VacancyCache,
    today: NaiveDate,
    now: i64,
) -> Result<(usize, f64)> {
    use liuqing_api::maintenance::{raise_matches, MATCH_TASKS_PER_WRITE};
    use liuqing_schema::users::{self, NewUser, Role};
    for (i, community) in records::communities_in_scope(conn, &Scope::All)?
        .iter()
        .enumerate()
    {
        let id = uuid::Uuid::new_v4().to_string();
        let username = format!("bench-coordinator-{i}");
        users::create(
            conn,
            &NewUser {
                id: &id,
                username: &username,
                display_name: &username,
                password_hash: "not a login",
                role: Role::Coordinator,
                must_change_password: false,
            },
        )?;
        users::set_org_nodes(conn, &id, std::slice::from_ref(community))?;
    }
    let found = matches::new_matches(conn, &Scope::All, cache, today, 50, 3)?;
    let config = liuqing_api::config::Config::default();
    let cipher = liuqing_schema::crypto::FieldCipher::new(&[7; 32], &[]);
    let start = Instant::now();
    let mut raised = 0;
    for chunk in found.chunks(MATCH_TASKS_PER_WRITE) {
        raised += liuqing_sync::writer::transaction(conn, |c| {
            raise_matches(c, &cipher, &config, chunk, now)
        })
        .map_err(|e| anyhow::anyhow!("raising match tasks: {e:?}"))?;
    }
    Ok((raised, start.elapsed().as_secs_f64()))
}

fn time<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<f64> {
    let mut secs = Vec::new();
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        secs.push(start.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    Ok(secs[secs.len() / 2])
}

/// Resident memory now, and the peak since the last reset, in MB (Linux).
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| dir.path().join("bench.db").display().to_string());
    let backend = Backend::from_url(&url).map_err(|e| anyhow::anyhow!(e))?;
    let mut conn = backend.connect()?;
    db::migrate_up(&mut conn)?;
    let now = liuqing_schema::time::now_micros();
    let start = Instant::now();
    let (district, station, community) = build(&mut conn, args.scale, now)?;
    println!(
        "build: {:.1} s on {}",
        start.elapsed().as_secs_f64(),
        backend.name()
    );

    let today = SETTINGS.day_of(now);
    let month = Period::month_of(&SETTINGS, today, now);
    let all = records::communities_in_scope(&mut conn, &Scope::All)?;
    let area_of = |conn: &mut DbConn, node: &OrgNode| Area::load(conn, Some(node.clone()), &all);
    let runs = args.runs;

    let t = time(runs, || {
        let area = area_of(&mut conn, &district)?;
        let facts = Facts::load(&mut conn, &area, month, &SETTINGS, now)?;
        Ok(coverage::coverage(
            &mut conn,
            &area,
            &facts,
            month,
            &SETTINGS,
            GroupBy::Community,
        )?)
    })?;
    println!("coverage, district, this month, by community: {t:.3} s");
    let first = today.with_day(1).unwrap_or(today) - chrono::Months::new(11);
    let last = today.with_day(1).unwrap_or(today);
    let t = time(runs, || {
        let area = area_of(&mut conn, &district)?;
        Ok(liuqing_schema::trend::trend(
            &mut conn, &area, &SETTINGS, first, last, None, now,
        )?)
    })?;
    println!("trend, district, 12 months: {t:.3} s");
    let t = time(runs, || {
        let area = area_of(&mut conn, &community)?;
        let facts = Facts::load(&mut conn, &area, month, &SETTINGS, now)?;
        Ok(coverage::coverage(
            &mut conn,
            &area,
            &facts,
            month,
            &SETTINGS,
            GroupBy::Coordinator,
        )?)
    })?;
    println!("coverage, one community: {:.1} ms", t * 1000.0);
    let rules = liuqing_schema::cases::Rules {
        calendar: Default::default(),
        initial_review_working_days: 7,
        at: today,
    };
    let t = time(runs, || {
        let area = area_of(&mut conn, &community)?;
        Ok(liuqing_schema::cases::cases(
            &mut conn,
            &area,
            month,
            &rules,
            GroupBy::Community,
        )?)
    })?;
    println!("cases, one community: {:.1} ms", t * 1000.0);

    // Matching: one recognised person against the district's 20,000 vacancies, as the
    // route does it (read the open vacancies and the person, rank), then the ranking alone;
    // then the nightly run of every recognised person.
    let person: String = persons_index::table
        .filter(persons_index::status.eq("recognised"))
        .order(persons_index::id.asc())
        .select(persons_index::id)
        .first(&mut conn)?;
    let row = liuqing_schema::casefile::person_row(&mut conn, &person)?.context("the person")?;
    // The first request of a process parses the streets' vacancies; later ones find them
    // in the cache while the streets are unchanged (one newest-version query a street).
    let cold = {
        let start = Instant::now();
        let cache = matches::VacancyCache::default();
        let vacancies = matches::vacancies(&mut conn, &Scope::All, &cache)?;
        let seeker = matches::seeker_of(&mut conn, &row, today)?.context("a seeker")?;
        matching::vacancies_for(&seeker, &vacancies.open_on(today), today, 20);
        start.elapsed().as_secs_f64()
    };
    let cache = matches::VacancyCache::default();
    let mut open = 0;
    let t = time(runs, || {
        let vacancies = matches::vacancies(&mut conn, &Scope::All, &cache)?;
        let openings = vacancies.open_on(today);
        open = openings.len();
        let seeker = matches::seeker_of(&mut conn, &row, today)?.context("a seeker")?;
        Ok(matching::vacancies_for(&seeker, &openings, today, 20))
    })?;
    println!(
        "matching, one person, {open} open vacancies: {:.1} ms (the process's first: {:.1} ms)",
        t * 1000.0,
        cold * 1000.0
    );
    let vacancies = matches::vacancies(&mut conn, &Scope::All, &cache)?;
    let openings = vacancies.open_on(today);
    let seeker = matches::seeker_of(&mut conn, &row, today)?.context("a seeker")?;
    let t = time(runs, || {
        Ok(matching::vacancies_for(&seeker, &openings, today, 20))
    })?;
    println!("matching, one person, ranking alone: {:.2} ms", t * 1000.0);
    // The nightly run as the upkeep calls it (each person against their own street's
    // vacancies, the ones their coordinator may refer to), then every recognised person
    // against all 20,000.
    let mut found = 0;
    let t = time(runs, || {
        found = matches::new_matches(&mut conn, &Scope::All, &cache, today, 50, 3)?.len();
        Ok(())
    })?;
    println!("matching, nightly new matches (own street, score >= 50, 3 a person): {found} found in {t:.2} s");
    let (raised, t) = write_match_tasks(&mut conn, &cache, today, now)?;
    println!("matching, nightly tasks written (the first night, through the engine): {raised} in {t:.2} s");
    let mut seekers = 0;
    let t = time(runs, || {
        let all = matches::seekers_in_scope(
            &mut conn,
            &Scope::All,
            today,
            &[liuqing_schema::casefile::PersonStatus::Recognised],
        )?;
        seekers = all.len();
        for s in &all {
            matching::vacancies_for(s, &openings, today, 20);
        }
        Ok(())
    })?;
    println!(
        "matching, {seekers} recognised persons x {} vacancies each: {t:.2} s",
        openings.len()
    );

    // The assistance ledger of a station as XLSX, and the memory it took above what the
    // process held before (the peak is reset first: /proc/self/clear_refs).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (before, _) = memory();
    let year = Period::new(&SETTINGS, today - chrono::Days::new(365), today, now);
    let cx = ledgers::Context {
        period: year,
        settings: SETTINGS,
        at: today,
    };
    let out_path = dir.path().join("ledger.xlsx");
    let start = Instant::now();
    let area = area_of(&mut conn, &station)?;
    let out = std::fs::File::create(&out_path)?;
    let mut writer = sheets::writer(
        FileFormat::Xlsx,
        Ledger::Assistance.columns(),
        out,
        dir.path(),
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let rows = ledgers::write(
        &mut conn,
        Ledger::Assistance,
        &area.by_station(),
        &cx,
        writer.as_mut(),
    )
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    writer.finish().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let secs = start.elapsed().as_secs_f64();
    let (_, peak) = memory();
    let size = std::fs::metadata(&out_path)?.len() as f64 / 1e6;
    println!(
        "assistance ledger, one station ({rows} persons), XLSX: {secs:.2} s, {size:.1} MB, peak memory {:.0} MB above the {before:.0} MB before",
        (peak - before).max(0.0)
    );
    Ok(())
}
