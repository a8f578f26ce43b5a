//! `liuqing demo`: loads a realistic demo district into the configured database, so a
//! newcomer can try every part of the API with real-looking cases: 2 streets, 4 stations,
//! 8 communities, about 200 households, and cases in every state of the lifecycle.
//!
//! Everything is written through the sync engine as the demo users (coordinators create
//! households and persons, staff and supervisors take the decisions), with times set back
//! so that publicity periods are over, obligations are due or overdue, and some persons
//! have been out of contact for months. The data is generated from a fixed seed, so every
//! load is the same district.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use liuqing_schema::audit::{self, Actor};
use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::domain::credit_code::CreditCode;
use liuqing_schema::domain::recognition::publicity_last_day;
use liuqing_schema::domain::{EvidenceType, IdNumber, RecognitionAction};
use liuqing_schema::entities::Entity;
use liuqing_schema::org::{self, OrgKind};
use liuqing_schema::scope::Scope;
use liuqing_schema::time::Micros;
use liuqing_schema::users::{self, NewUser, Role};
use liuqing_schema::{attachments, devices, jobs, DbConn};
use liuqing_sync::engine::{self, Env, Writer};
use liuqing_sync::hlc::Hlc;
use liuqing_sync::protocol::{Mutation, Op, Status};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::auth::password;
use crate::auth::Caller;
use crate::config::Config;
use crate::demo_photos::DemoPhotos;
use crate::recognitions::{self, Step};

/// The environment variable holding the demo users' password.
pub const PASSWORD_VAR: &str = "LIUQING_DEMO_PASSWORD";

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "林", "何", "高", "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "志强", "玉兰", "海燕", "国庆",
];
const STREETS: &[&str] = &[
    "华林路",
    "鼓屏路",
    "湖东路",
    "五四路",
    "东街",
    "杨桥路",
    "铜盘路",
];

/// Who the demo writes as.
struct DemoUser {
    user_id: String,
    device_id: String,
    role: Role,
}

/// A demo user as the caller of the functions the API's routes call.
fn caller(who: &DemoUser) -> Caller {
    Caller {
        user_id: who.user_id.clone(),
        username: String::new(),
        display_name: String::new(),
        role: who.role,
        device_id: who.device_id.clone(),
        device_state: devices::DeviceState::Active,
        session_id: String::new(),
        must_change_password: false,
    }
}

/// The service commitment the demo's persons sign, and its version.
const COMMITMENT_TEMPLATE: &str = "2026-1";
const COMMITMENT_TEXT: &str = "本人自愿接受就业援助，如实提供个人情况，积极参加职业指导、\
岗位推荐和职业培训，就业或情况变化后及时告知社区劳动保障协理员。";

/// The demo district's people and places.
struct District {
    communities: Vec<(String, String)>,
    /// Coordinators per community index.
    coordinators: Vec<DemoUser>,
    coordinator_of: Vec<usize>,
    staff: Vec<DemoUser>,
    supervisor: DemoUser,
    /// One supervisor a street (the street's 复审), by street index (community index / 4).
    street_supervisors: Vec<DemoUser>,
}

/// Loads the demo district. Refuses when the demo users exist already, so a second run
/// never doubles the data.
pub fn load(
    conn: &mut DbConn,
    config: &Config,
    cipher: &FieldCipher,
    photos: &DemoPhotos,
) -> anyhow::Result<()> {
    if users::find_by_username(conn, "demo-admin")?.is_some() {
        anyhow::bail!("the demo district is already loaded in this database");
    }
    let (secret, printed) = match std::env::var(PASSWORD_VAR) {
        Ok(p) if p.len() >= 10 => (p, false),
        Ok(_) => anyhow::bail!("{PASSWORD_VAR} must be at least 10 characters"),
        Err(_) => (password::generate(), true),
    };
    let hash = password::hash(&secret)?;
    use diesel::Connection;
    let summary = conn.transaction::<_, anyhow::Error, _>(|conn| {
        let district = people_and_places(conn, &hash)?;
        add_photos(conn, &district, photos)?;
        let mut loader = Loader {
            photos,
            conn,
            cipher,
            config,
            rng: StdRng::seed_from_u64(20261126),
            today: config.today(),
            counts: Counts::default(),
            id_seq: 0,
            used_numbers: Default::default(),
            previous: None,
            jobs: Default::default(),
        };
        loader.jobs(&district)?;
        loader.cases(&district)?;
        loader.subsidies(&district)?;
        loader.welfare_subsidies(&district)?;
        audit::record(
            loader.conn,
            Actor::default(),
            "demo_loaded",
            "system",
            "demo",
            None,
            None,
        )?;
        Ok(loader.counts)
    })?;
    println!(
        "Loaded the demo district: 2 streets, 4 stations, 8 communities, {} households, {} persons, \
         {} applications, {} service records, {} visits.",
        summary.households,
        summary.persons,
        summary.recognitions,
        summary.services,
        summary.visits
    );
    println!(
        "Users: demo-admin, demo-supervisor (district), demo-street-1…2 (streets), \
         demo-staff-1…4, demo-coord-1…9 (demo-coord-1 and demo-coord-2 share 华林社区)."
    );
    if printed {
        // Shown once, to whoever loaded the demo; not in the structured log.
        println!("Their password (shown once): {secret}");
    } else {
        println!("Their password is the value of {PASSWORD_VAR}.");
    }
    Ok(())
}

/// The pictures' rows, sent by every coordinator (each holds the bytes of the evidence
/// they record, as a phone would after uploading them), and their thumbnails queued.
fn add_photos(conn: &mut DbConn, district: &District, photos: &DemoPhotos) -> anyhow::Result<()> {
    for photo in photos.all() {
        let mut row = photo.clone();
        let first = district
            .coordinators
            .first()
            .ok_or_else(|| anyhow::anyhow!("the demo has no coordinator"))?;
        row.created_by = first.user_id.clone();
        if attachments::add(conn, &row, &first.user_id)? {
            jobs::enqueue(
                conn,
                crate::derivatives::DERIVE_JOB,
                &row.sha256,
                row.created_at,
            )?;
        }
        for coordinator in &district.coordinators {
            attachments::add_uploader(conn, &row.sha256, &coordinator.user_id, row.created_at)?;
        }
    }
    Ok(())
}

/// A nested document as the protocol's dotted field paths (`{"basic": {"health": …}}` →
/// `{"basic.health": …}`); lists are values.
fn dotted(doc: Value) -> Value {
    fn walk(prefix: &str, value: Value, out: &mut Map<String, Value>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let path = if prefix.is_empty() {
                        k
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other);
            }
        }
    }
    let mut out = Map::new();
    walk("", doc, &mut out);
    Value::Object(out)
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn node(
    conn: &mut DbConn,
    parent: Option<&str>,
    kind: OrgKind,
    name: &str,
) -> anyhow::Result<String> {
    let id = new_id();
    org::create(conn, &id, parent, kind, name)?
        .map_err(|e| anyhow::anyhow!("demo org tree: {e:?}"))?;
    Ok(id)
}

fn user(
    conn: &mut DbConn,
    username: &str,
    display_name: &str,
    role: Role,
    hash: &str,
    nodes: &[String],
) -> anyhow::Result<DemoUser> {
    let id = new_id();
    users::create(
        conn,
        &NewUser {
            id: &id,
            username,
            display_name,
            password_hash: hash,
            role,
            must_change_password: false,
        },
    )?;
    users::set_org_nodes(conn, &id, nodes)?;
    // The device the demo's records were "made on".
    let device_id = new_id();
    devices::register(
        conn,
        &device_id,
        &id,
        &format!("{display_name}的设备"),
        "demo",
    )?;
    Ok(DemoUser {
        user_id: id,
        device_id,
        role,
    })
}

fn people_and_places(conn: &mut DbConn, hash: &str) -> anyhow::Result<District> {
    let district = node(conn, None, OrgKind::District, "鼓楼区")?;
    let mut stations = Vec::new();
    let mut communities = Vec::new();
    // Street → stations → communities.
    type Station = (&'static str, [&'static str; 2]);
    let plan: [(&str, [Station; 2]); 2] = [
        (
            "华林街道",
            [
                ("华林社区服务站", ["华林社区", "屏山社区"]),
                ("湖滨社区服务站", ["湖滨社区", "树兜社区"]),
            ],
        ),
        (
            "东街街道",
            [
                ("东街社区服务站", ["东街社区", "卫前社区"]),
                ("庆城社区服务站", ["庆城社区", "津泰社区"]),
            ],
        ),
    ];
    let mut streets = Vec::new();
    for (street_name, street_stations) in plan {
        let street = node(conn, Some(&district), OrgKind::Street, street_name)?;
        streets.push((street.clone(), street_name));
        for (station_name, station_communities) in street_stations {
            let station = node(conn, Some(&street), OrgKind::Station, station_name)?;
            for name in station_communities {
                let c = node(conn, Some(&station), OrgKind::Community, name)?;
                communities.push((c, name.to_string()));
            }
            stations.push(station);
        }
    }
    user(
        conn,
        "demo-admin",
        "演示管理员",
        Role::Admin,
        hash,
        std::slice::from_ref(&district),
    )?;
    let supervisor = user(
        conn,
        "demo-supervisor",
        "区就业局 陈科长",
        Role::Supervisor,
        hash,
        &[district],
    )?;
    let mut staff = Vec::new();
    for (i, station) in stations.iter().enumerate() {
        staff.push(user(
            conn,
            &format!("demo-staff-{}", i + 1),
            &format!("服务站工作人员{}", i + 1),
            Role::StationStaff,
            hash,
            std::slice::from_ref(station),
        )?);
    }
    // demo-coord-1 and demo-coord-2 share the first community; the others have one each.
    let mut coordinators = Vec::new();
    let mut coordinator_of = Vec::new();
    for i in 0..9usize {
        let community = i.saturating_sub(1);
        coordinators.push(user(
            conn,
            &format!("demo-coord-{}", i + 1),
            &format!("协理员{}", i + 1),
            Role::Coordinator,
            hash,
            std::slice::from_ref(&communities[community].0),
        )?);
        coordinator_of.push(community);
    }
    let mut street_supervisors = Vec::new();
    for (i, (street, name)) in streets.iter().enumerate() {
        street_supervisors.push(user(
            conn,
            &format!("demo-street-{}", i + 1),
            &format!("{name} 复审员"),
            Role::Supervisor,
            hash,
            std::slice::from_ref(street),
        )?);
    }
    Ok(District {
        communities,
        coordinators,
        coordinator_of,
        staff,
        supervisor,
        street_supervisors,
    })
}

#[derive(Default)]
struct Counts {
    households: usize,
    persons: usize,
    recognitions: usize,
    services: usize,
    visits: usize,
}

struct Loader<'a> {
    conn: &'a mut DbConn,
    photos: &'a DemoPhotos,
    cipher: &'a FieldCipher,
    config: &'a Config,
    rng: StdRng,
    today: NaiveDate,
    counts: Counts,
    id_seq: u32,
    used_numbers: std::collections::HashSet<String>,
    /// The last person made (name, birth date, phone), for a few look-alikes that staff
    /// should find in the possible-duplicates queue.
    previous: Option<(String, NaiveDate, String)>,
    /// Each street's approved vacancies, for the placements of persons who found work.
    jobs: std::collections::HashMap<String, Vec<DemoJob>>,
}

/// A demo vacancy a person may be placed in.
#[derive(Debug, Clone)]
struct DemoJob {
    employer: String,
    vacancy: String,
    title: &'static str,
    wage: i64,
    welfare: bool,
}

/// The demo's employers (name after the street's, industry, size) and the vacancies each
/// offers: title, job type, hours, wage range, age range, skills asked, public welfare.
type DemoVacancy = (
    &'static str,
    &'static str,
    &'static str,
    (i64, i64),
    (i64, i64),
    &'static [&'static str],
    bool,
);
const EMPLOYERS: [(&str, &str, &str, [DemoVacancy; 2]); 4] = [
    (
        "物业管理有限公司",
        "物业管理",
        "medium",
        [
            (
                "保洁员",
                "保洁",
                "daytime",
                (2800, 3400),
                (18, 55),
                &["保洁"],
                false,
            ),
            (
                "保安员",
                "保安",
                "shifts",
                (3200, 3800),
                (18, 50),
                &[],
                false,
            ),
        ],
    ),
    (
        "惠民超市",
        "零售",
        "small",
        [
            (
                "理货员",
                "理货",
                "daytime",
                (3000, 3600),
                (18, 50),
                &[],
                false,
            ),
            (
                "收银员",
                "收银",
                "part_time",
                (2600, 3000),
                (18, 45),
                &["收银"],
                false,
            ),
        ],
    ),
    (
        "安心家政服务中心",
        "家政服务",
        "small",
        [
            (
                "家政服务员",
                "家政",
                "daytime",
                (3500, 4500),
                (25, 55),
                &["保洁", "烹饪"],
                false,
            ),
            (
                "配送员",
                "配送",
                "full_day",
                (4000, 6000),
                (18, 45),
                &["驾驶"],
                false,
            ),
        ],
    ),
    (
        "颐康养老院",
        "养老服务",
        "medium",
        [
            (
                "养老护理员",
                "养老护理",
                "shifts",
                (3800, 4800),
                (20, 55),
                &["护理"],
                false,
            ),
            (
                "社区公益岗（环境保洁）",
                "保洁",
                "daytime",
                (2300, 2300),
                (40, 60),
                &[],
                true,
            ),
        ],
    ),
];

/// What the demo's persons want to do (six clears' `needs.job_types`), the vacancies'
/// words.
const JOB_TYPES: [&str; 7] = ["保洁", "保安", "理货", "收银", "家政", "养老护理", "配送"];

/// Where a demo person's case stands; the district has some of each.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Registered,
    Received,
    InReview,
    InPublicity,
    Rejected,
    /// Recognised and tiered, with obligations on track.
    OnTrack,
    /// Recognised, tiered, all services delivered.
    Done,
    /// Recognised, tiered, three months passed without all services.
    Overdue,
    Exited,
}

const STAGES: &[(Stage, u32)] = &[
    (Stage::Registered, 30),
    (Stage::Received, 8),
    (Stage::InReview, 8),
    (Stage::InPublicity, 8),
    (Stage::Rejected, 5),
    (Stage::OnTrack, 15),
    (Stage::Done, 10),
    (Stage::Overdue, 10),
    (Stage::Exited, 6),
];

impl<'a> Loader<'a> {
    fn pick<'s>(&mut self, items: &'s [&'s str]) -> &'s str {
        items[self.rng.gen_range(0..items.len())]
    }

    fn stage(&mut self) -> Stage {
        let total: u32 = STAGES.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.gen_range(0..total);
        for (stage, weight) in STAGES {
            if roll < *weight {
                return *stage;
            }
            roll -= weight;
        }
        Stage::Registered
    }

    fn day(&self, days_ago: i64) -> NaiveDate {
        self.today - Duration::days(days_ago)
    }

    /// The instant a demo write `days_ago` days back happens at (distinct for each), and
    /// its day.
    fn instant(&mut self, days_ago: i64) -> (Micros, NaiveDate) {
        let today = self.day(days_ago);
        let noon = Utc
            .from_utc_datetime(&today.and_hms_opt(2, 0, 0).unwrap_or_default())
            .timestamp_micros();
        let now: Micros = noon + i64::from(self.id_seq % 1000) * 1000;
        self.id_seq += 1;
        (now, today)
    }

    /// The engine's surroundings for a demo write at `now`, on the station's day `today`.
    fn env(&self, now: Micros, today: NaiveDate) -> Env<'a> {
        Env {
            scope: &Scope::All,
            cipher: self.cipher,
            now,
            today,
            max_skew_ms: 0,
            reapply_wait_days: self.config.reapply_wait_days,
            follow_up_months: self.config.follow_ups(),
        }
    }

    /// Takes a step of the application `id` as `who`, `days_ago` days back, through the
    /// same function as `POST /v1/recognitions/{id}/actions`: its rules hold here too.
    fn step(
        &mut self,
        who: &DemoUser,
        days_ago: i64,
        id: &str,
        action: RecognitionAction,
        reason: Option<&str>,
    ) -> anyhow::Result<()> {
        let (now, today) = self.instant(days_ago);
        let env = self.env(now, today);
        let caller = caller(who);
        let step = Step {
            action,
            reason: reason.map(str::to_string),
            override_reason: None,
        };
        recognitions::take(self.conn, &caller, &env, self.config, id, &step)
            .map_err(|e| anyhow::anyhow!("demo {action} of {id} was refused: {e}"))?;
        Ok(())
    }

    /// Takes a step of the subsidy application `id` as `who`, `days_ago` days back,
    /// through the same function as `POST /v1/subsidies/{id}/actions`.
    fn subsidy_step(
        &mut self,
        who: &DemoUser,
        days_ago: i64,
        id: &str,
        step: crate::subsidies::Step,
    ) -> anyhow::Result<()> {
        let (now, today) = self.instant(days_ago);
        let env = self.env(now, today);
        let caller = caller(who);
        crate::subsidies::take(self.conn, &caller, &env, self.config, id, &step)
            .map_err(|e| anyhow::anyhow!("demo {} of {id} was refused: {e}", step.action))?;
        Ok(())
    }

    /// Flexible-employment subsidy applications (灵活就业社保补贴) of eight recognised
    /// persons, one in each state of the chain (and a second funded one), each step
    /// taken by its level: the station's staff, the street's supervisor, the district's.
    fn subsidies(&mut self, district: &District) -> anyhow::Result<()> {
        use diesel::prelude::*;
        use liuqing_schema::casefile::PersonRow;
        use liuqing_schema::domain::months::Month;
        use liuqing_schema::domain::subsidies::{StopCondition, SubsidyAction as A, SubsidyKind};
        use liuqing_schema::tables::persons_index;
        let year = Month::of(self.today).year();
        // Those who work on past January (the station refuses the retired).
        let january = Month::new(year, 1).ok_or_else(|| anyhow::anyhow!("demo year"))?;
        let persons: Vec<(String, String)> = persons_index::table
            .filter(persons_index::status.eq("recognised"))
            .filter(persons_index::deleted.eq(false))
            .order(persons_index::id.asc())
            .select(PersonRow::as_select())
            .load(self.conn)?
            .into_iter()
            .filter(|p| self.works_past(p, SubsidyKind::FlexibleInsurance, january))
            .map(|p| (p.id, p.community_id))
            .take(8)
            .collect();
        let month = |m: u32| {
            Month::new(year, m)
                .map(|m| m.to_string())
                .unwrap_or_default()
        };
        for (i, (person, community)) in persons.iter().enumerate() {
            let Some(index) = district
                .communities
                .iter()
                .position(|(c, _)| c == community)
            else {
                continue;
            };
            let staff = &district.staff[index / 2];
            let street = &district.street_supervisors[index / 4];
            let own_business = i % 3 == 2;
            let mut materials = vec![
                EvidenceType::EmploymentCard,
                EvidenceType::InsuranceReceipt,
                EvidenceType::FlexibleWorkStatement,
                EvidenceType::BankCard,
            ];
            if own_business {
                materials.push(EvidenceType::BusinessLicence);
            }
            for kind in materials {
                let fields = json!({
                    "person_id": person, "evidence_type": kind,
                    "attachment_sha256": self.photos.sha(kind),
                });
                self.write(staff, 70, Entity::Evidence, &new_id(), fields)?;
            }
            let id = new_id();
            let place = ["华林路农贸市场", "屏山小区", "湖滨路夜市"][i % 3];
            let job = ["摊位帮工", "钟点家政", "小吃摊经营"][i % 3];
            let mut fields = json!({
                "person_id": person,
                "work": if own_business { "self_employed" } else { "flexible" },
                "work_place": place,
                "work_job": job,
                "work_hours": "每天约 6 小时",
                "monthly_income": 2200 + 100 * i as i64,
                "pension_monthly": 760, "medical_monthly": 230,
                "paid_from": month(1), "paid_to": month(12),
                "account": format!("6217 0018 3000 {:04}", 1200 + i),
                "period_from": month(1), "period_to": month(12),
            });
            if own_business {
                fields["business_name"] = json!("林记小吃店");
                fields["business_credit_code"] = json!(CreditCode::complete("92350102MA3100000")
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_default());
            }
            self.write(staff, 60, Entity::FlexibleSubsidy, &id, fields)?;
            // The steps to the application's state: received, station_review,
            // street_review, district_approval, funded, returned, stopped, funded.
            let levels = [staff, street, &district.supervisor];
            let opinions = Opinions {
                station: "材料齐全，初审通过",
                street: "复审通过",
                district: "审批通过，拨付",
                returned: "缴费单据只有半年，请补齐全年单据",
            };
            let steps = chain_steps(i, levels, &opinions);
            for (who, days_ago, s) in steps {
                self.subsidy_step(who, days_ago, &id, s)?;
            }
            if i == 6 {
                let stop = crate::subsidies::Step {
                    action: A::Stop,
                    reason: Some("回访核实已中止灵活就业".into()),
                    stop_from: Some(Month::of(self.day(10))),
                    stop_condition: Some(StopCondition::FlexibleWorkStopped),
                    person_id: None,
                };
                self.subsidy_step(&district.supervisor, 10, &id, stop)?;
            }
        }
        Ok(())
    }

    /// Public-welfare job subsidy applications (公益性岗位补贴): in eight communities, the
    /// street's public-welfare employer applies for two recognised persons of the
    /// community it placed on its public-welfare job half a year ago, with the form, their
    /// contracts and wage records, and the coordinator's on-site check; one application in
    /// each state of the chain, and a funded one with one person's subsidy stopped.
    fn welfare_subsidies(&mut self, district: &District) -> anyhow::Result<()> {
        use diesel::prelude::*;
        use liuqing_schema::casefile::PersonRow;
        use liuqing_schema::domain::months::Month;
        use liuqing_schema::domain::subsidies::{StopCondition, SubsidyAction as A, SubsidyKind};
        use liuqing_schema::tables::persons_index;
        let stop = |person: &str, from: Month, condition: StopCondition, why: &str| {
            crate::subsidies::Step {
                action: A::Stop,
                reason: Some(why.into()),
                stop_from: Some(from),
                stop_condition: Some(condition),
                person_id: Some(person.to_string()),
            }
        };
        let mut made = 0;
        for (index, (community, _)) in district.communities.iter().enumerate() {
            if made == 8 {
                break;
            }
            // The flexible-employment demo took the first recognised persons; these are
            // the community's last two.
            let started = 200;
            let from = Month::of(self.day(started));
            let persons: Vec<String> = persons_index::table
                .filter(persons_index::status.eq("recognised"))
                .filter(persons_index::deleted.eq(false))
                .filter(persons_index::community_id.eq(community))
                .order(persons_index::id.desc())
                .select(PersonRow::as_select())
                .load(self.conn)?
                .into_iter()
                .filter(|p| self.works_past(p, SubsidyKind::PublicWelfareJob, from.plus(12)))
                .map(|p| p.id)
                .take(2)
                .collect();
            let street = org::street_of(self.conn, community)?.unwrap_or_default();
            let job = self
                .jobs
                .get(&street)
                .and_then(|jobs| jobs.iter().find(|j| j.welfare))
                .cloned();
            let (Some(job), [first, second]) = (job, persons.as_slice()) else {
                continue;
            };
            let staff = &district.staff[index / 2];
            let street_supervisor = &district.street_supervisors[index / 4];
            let coordinator = district
                .coordinator_of
                .iter()
                .position(|c| *c == index)
                .map_or(staff, |i| &district.coordinators[i]);
            let mut placements = Vec::new();
            let mut materials = Vec::new();
            for person in [first, second] {
                let placement = new_id();
                self.write(
                    coordinator,
                    started,
                    Entity::Placement,
                    &placement,
                    json!({
                        "person_id": person, "employer_id": job.employer,
                        "vacancy_id": job.vacancy, "job_title": job.title,
                        "started_on": self.day(started).to_string(), "kind": "public_welfare",
                        "contract_signed": true, "insurance_paid": true, "monthly_wage": 2300,
                    }),
                )?;
                placements.push(placement);
                for kind in [EvidenceType::LabourContract, EvidenceType::WageRecord] {
                    let fields = json!({
                        "person_id": person, "evidence_type": kind,
                        "attachment_sha256": self.photos.sha(kind),
                    });
                    let evidence = new_id();
                    self.write(
                        coordinator,
                        started - 20,
                        Entity::Evidence,
                        &evidence,
                        fields,
                    )?;
                    materials.push(evidence);
                }
            }
            let id = new_id();
            self.write(
                staff,
                70,
                Entity::WelfareSubsidy,
                &id,
                json!({
                    "community_id": community, "employer_id": job.employer, "job": "cleaning",
                    "placement_ids": placements,
                    "account": format!("3501 0187 0000 5200 {:04}", 100 + made),
                    "period_from": from.to_string(), "period_to": from.plus(11).to_string(),
                    "form_sha256": self.photos.signature.sha256.clone(),
                    "notes": "社区公益性岗位（环境保洁）两人",
                }),
            )?;
            // 受理 checks the materials the employer brings (核查相关材料).
            for evidence in &materials {
                let approved = json!({ "review_state": "approved" });
                self.write(staff, 69, Entity::Evidence, evidence, approved)?;
            }
            let checked = self
                .day(52)
                .and_hms_opt(2, 0, 0)
                .map(|t| t.and_utc().to_rfc3339());
            let site_check = json!({
                "employer_id": job.employer, "visited_at": checked,
                "purpose": "site_check", "welfare_subsidy_id": id,
                "notes": "实地核查：两人在岗，工作内容与申报岗位一致",
            });
            let levels = [staff, street_supervisor, &district.supervisor];
            let opinions = Opinions {
                station: "材料齐全，实地核查属实，初审通过",
                street: "复审通过",
                district: "审核通过，拨付至单位基本账户",
                returned: "工资发放记录缺单位盖章，请补齐",
            };
            // The states: received, station_review, street_review, district_approval,
            // funded, returned, stopped, funded with one person stopped.
            let steps = chain_steps(made, levels, &opinions);
            for (who, days_ago, s) in steps {
                if s.action == A::Pass && who.user_id == staff.user_id {
                    self.write(
                        coordinator,
                        52,
                        Entity::EmployerVisit,
                        &new_id(),
                        site_check.clone(),
                    )?;
                }
                self.subsidy_step(who, days_ago, &id, s)?;
            }
            let left = Month::of(self.day(10));
            if made >= 6 {
                let why = "回访核实已离开公益性岗位";
                self.subsidy_step(
                    &district.supervisor,
                    10,
                    &id,
                    stop(first, left, StopCondition::Other, why),
                )?;
            }
            if made == 6 {
                let why = "单位已不再安排该岗位";
                self.subsidy_step(
                    &district.supervisor,
                    10,
                    &id,
                    stop(second, left, StopCondition::JobNotAsDeclared, why),
                )?;
            }
            made += 1;
        }
        Ok(())
    }

    /// Whether `person` reaches retirement age, for a subsidy of `kind`, only after `month`.
    fn works_past(
        &self,
        person: &liuqing_schema::casefile::PersonRow,
        kind: liuqing_schema::domain::subsidies::SubsidyKind,
        month: liuqing_schema::domain::months::Month,
    ) -> bool {
        crate::subsidies::retirement_of(person, self.config, kind).is_some_and(|r| r > month)
    }

    /// Writes one record as `who`, `days_ago` days back.
    fn write(
        &mut self,
        who: &DemoUser,
        days_ago: i64,
        entity: Entity,
        id: &str,
        fields: Value,
    ) -> anyhow::Result<()> {
        let (now, today) = self.instant(days_ago);
        let existing = liuqing_schema::records::find(self.conn, entity, id)?;
        let Value::Object(fields) = fields else {
            anyhow::bail!("demo fields must be an object");
        };
        let mutation = Mutation {
            mutation_id: uuid::Uuid::now_v7(),
            entity: entity.to_string(),
            id: id.parse()?,
            op: Op::Upsert,
            base_version: existing.map(|r| r.version),
            hlc: Hlc {
                millis: (now / 1000).max(0) as u64,
                counter: self.id_seq % 60000,
                node: who.device_id.clone(),
            }
            .to_string(),
            fields,
            set_ops: Map::new(),
        };
        let env = self.env(now, today);
        let writer = Writer {
            user_id: &who.user_id,
            device_id: &who.device_id,
            role: who.role,
            // Recognition steps go through `step`; nothing else bypasses the state machine.
            lifecycle: false,
            from_outbox: false,
        };
        let result = engine::apply(self.conn, writer, &env, &mutation)?;
        if result.status == Status::Rejected {
            anyhow::bail!("demo {entity} was refused: {:?}", result.errors);
        }
        Ok(())
    }

    /// A referral to one of the person's street's vacancies `days_ago`, taken up: the
    /// referral's outcome and the placement.
    fn placement(
        &mut self,
        coordinator: &DemoUser,
        person: &str,
        days_ago: i64,
    ) -> anyhow::Result<()> {
        let community = liuqing_schema::records::find(self.conn, Entity::Person, person)?
            .map(|p| p.community_id)
            .unwrap_or_default();
        let street = org::street_of(self.conn, &community)?.unwrap_or_default();
        let Some(jobs) = self.jobs.get(&street).filter(|j| !j.is_empty()) else {
            return Ok(());
        };
        let job = jobs[self.counts.persons % jobs.len()].clone();
        let referral = new_id();
        self.write(
            coordinator,
            days_ago + 7,
            Entity::Referral,
            &referral,
            json!({
                "person_id": person, "vacancy_id": job.vacancy,
                "referred_on": self.day(days_ago + 7).to_string(), "channel": "visit",
                "outcome": "interested",
            }),
        )?;
        self.write(
            coordinator,
            days_ago,
            Entity::Referral,
            &referral,
            json!({ "outcome": "hired" }),
        )?;
        self.write(
            coordinator,
            days_ago,
            Entity::Placement,
            &new_id(),
            json!({
                "person_id": person, "employer_id": job.employer, "vacancy_id": job.vacancy,
                "job_title": job.title, "started_on": self.day(days_ago).to_string(),
                "kind": if job.welfare { "public_welfare" } else { "market" },
                "contract_signed": true, "insurance_paid": true,
                "monthly_wage": job.wage,
            }),
        )?;
        Ok(())
    }

    /// A valid, unused ID number for a person born on `birth`.
    fn id_number(&mut self, birth: NaiveDate, female: bool) -> anyhow::Result<String> {
        for _ in 0..500 {
            self.id_seq += 1;
            // The sequence digit's parity is the sex: odd for men, even for women.
            let seq = (self.id_seq % 499) * 2 + u32::from(!female);
            let first17 = format!("350102{}{seq:03}", birth.format("%Y%m%d"));
            let check = IdNumber::check_char(&first17)
                .ok_or_else(|| anyhow::anyhow!("demo ID number {first17}"))?;
            let number = format!("{first17}{check}");
            if self.used_numbers.insert(number.clone()) {
                return Ok(number);
            }
        }
        anyhow::bail!("no unused demo ID number for {birth}")
    }

    /// Each street's employers, visited by a coordinator of the street, with their
    /// vacancies: approved by the station, but for one a street still a proposal.
    fn jobs(&mut self, district: &District) -> anyhow::Result<()> {
        let mut streets: Vec<(String, usize)> = Vec::new();
        for (index, (community, _)) in district.communities.iter().enumerate() {
            let street = org::street_of(self.conn, community)?
                .ok_or_else(|| anyhow::anyhow!("demo community {community} has no street"))?;
            if !streets.iter().any(|(s, _)| *s == street) {
                streets.push((street, index));
            }
        }
        for (s, (street, first_community)) in streets.iter().enumerate() {
            let street_name = org::find(self.conn, street)?
                .map(|n| n.name.trim_end_matches("街道").to_string())
                .unwrap_or_default();
            let coordinator = district
                .coordinator_of
                .iter()
                .position(|c| c == first_community)
                .map(|i| &district.coordinators[i])
                .ok_or_else(|| anyhow::anyhow!("no demo coordinator in street {street}"))?;
            let staff = &district.staff[first_community / 2];
            let community = &district.communities[*first_community].0;
            for (e, (name, industry, size, vacancies)) in EMPLOYERS.iter().enumerate() {
                let employer = new_id();
                let n = s * EMPLOYERS.len() + e;
                let code = CreditCode::complete(&format!("91350102MA{:07}", 3_100_000 + n * 7))
                    .ok_or_else(|| anyhow::anyhow!("demo credit code {n}"))?;
                let days_ago = 120 - 5 * n as i64;
                self.write(
                    coordinator,
                    days_ago,
                    Entity::Employer,
                    &employer,
                    json!({
                        "street_id": street, "community_id": community,
                        "name": format!("福州市鼓楼区{street_name}{name}"),
                        "credit_code": code.as_str(), "industry": industry, "size": size,
                        "address": format!("{street_name}路{}号", 10 + n * 3),
                        "contact_name": format!("{}经理", SURNAMES[n % SURNAMES.len()]),
                        "contact_phone": format!("1395010{:04}", 2000 + n),
                    }),
                )?;
                // The street's newest employer is still to be checked by the station.
                if e + 1 < EMPLOYERS.len() {
                    self.write(
                        staff,
                        days_ago - 1,
                        Entity::Employer,
                        &employer,
                        json!({ "verified": true }),
                    )?;
                }
                // Called on again lately: the street's employer coverage counts it.
                let visited_ago = 5 + 4 * n as i64;
                self.write(
                    coordinator,
                    visited_ago,
                    Entity::EmployerVisit,
                    &new_id(),
                    json!({
                        "employer_id": employer,
                        "visited_at": self.day(visited_ago).and_hms_opt(2, 30, 0)
                            .map(|t| format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S")))
                            .unwrap_or_default(),
                        "vacancies_found": vacancies.len(),
                        "notes": "走访了解用工需求，登记岗位信息",
                    }),
                )?;
                for (v, (title, job_type, hours, wage, age, skills, welfare)) in
                    vacancies.iter().enumerate()
                {
                    let vacancy = new_id();
                    self.write(
                        coordinator,
                        days_ago - 1,
                        Entity::Vacancy,
                        &vacancy,
                        json!({
                            "employer_id": employer, "title": title, "job_type": job_type,
                            "count": 2 + (n + v) % 4,
                            "kind": if *welfare { "public_welfare" } else { "market" },
                            "hours": hours, "community_id": community,
                            "wage_min": wage.0, "wage_max": wage.1,
                            "age_min": age.0, "age_max": age.1, "skills": skills,
                            "disability_suitable": *welfare || *job_type == "收银",
                            "open_from": self.day(days_ago - 1).to_string(),
                        }),
                    )?;
                    if (e, v) == (1, 1) {
                        continue; // A proposal the station has still to look at.
                    }
                    self.write(
                        staff,
                        days_ago - 2,
                        Entity::Vacancy,
                        &vacancy,
                        json!({ "approval": "approved", "approval_reason": "已电话核实用工需求" }),
                    )?;
                    self.jobs.entry(street.clone()).or_default().push(DemoJob {
                        employer: employer.clone(),
                        vacancy,
                        title,
                        wage: (wage.0 + wage.1) / 2,
                        welfare: *welfare,
                    });
                }
            }
        }
        Ok(())
    }

    fn cases(&mut self, district: &District) -> anyhow::Result<()> {
        for (index, (community_id, community_name)) in district.communities.iter().enumerate() {
            let station_staff = &district.staff[index / 2];
            let coordinator = district
                .coordinator_of
                .iter()
                .position(|c| *c == index)
                .map(|i| &district.coordinators[i])
                .unwrap_or(station_staff);
            for n in 0..25 {
                self.household(
                    district,
                    coordinator,
                    station_staff,
                    community_id,
                    community_name,
                    n,
                )?;
            }
        }
        Ok(())
    }

    fn household(
        &mut self,
        district: &District,
        coordinator: &DemoUser,
        staff: &DemoUser,
        community_id: &str,
        community_name: &str,
        n: usize,
    ) -> anyhow::Result<()> {
        let household = new_id();
        let enrolled_days_ago = self.rng.gen_range(20..400);
        let zero = n % 9 == 0;
        let mut fields = json!({
            "community_id": community_id,
            "address": format!("{}{}{}号{}室", community_name.trim_end_matches("社区"),
                self.pick(STREETS), self.rng.gen_range(1..200), self.rng.gen_range(101..1205)),
        });
        if zero {
            let found_ago = self.rng.gen_range(5..60);
            let found = self.day(found_ago);
            fields["zero_employment"] = json!(true);
            fields["zero_employment_found_on"] = json!(found.to_string());
            if n % 2 == 0 {
                let cleared = (found + Duration::days(self.rng.gen_range(3..25))).min(self.today);
                fields["zero_employment_cleared_on"] = json!(cleared.to_string());
            }
        }
        self.write(
            coordinator,
            enrolled_days_ago,
            Entity::Household,
            &household,
            fields,
        )?;
        self.counts.households += 1;
        let members = self.rng.gen_range(1..=3);
        // Some households have had no contact for more than six months: their recognised
        // members are exit candidates.
        let quiet = enrolled_days_ago > 260 && n % 4 == 0;
        let mut seen = Vec::new();
        for m in 0..members {
            let person = self.person(
                district,
                coordinator,
                staff,
                &household,
                enrolled_days_ago,
                zero,
                m,
                quiet,
            )?;
            seen.push(person);
        }
        // A visit when enrolled; the others also have a recent one.
        self.visit(coordinator, &household, &seen, enrolled_days_ago)?;
        if quiet {
            return Ok(());
        }
        let recent = self.rng.gen_range(1..enrolled_days_ago.min(90));
        self.visit(coordinator, &household, &seen, recent)?;
        Ok(())
    }

    fn visit(
        &mut self,
        coordinator: &DemoUser,
        household: &str,
        seen: &[String],
        days_ago: i64,
    ) -> anyhow::Result<()> {
        let start = Utc.from_utc_datetime(
            &self
                .day(days_ago)
                .and_hms_opt(1 + self.rng.gen_range(0..8), self.rng.gen_range(0..60), 0)
                .unwrap_or_default(),
        );
        let end = start + Duration::minutes(self.rng.gen_range(15..50));
        let outcome = if seen.is_empty() { "not_home" } else { "met" };
        let latitude = 26.08 + self.rng.gen_range(0.0..0.02);
        let longitude = 119.29 + self.rng.gen_range(0.0..0.02);
        self.write(
            coordinator,
            days_ago,
            Entity::Visit,
            &new_id(),
            json!({
                "household_id": household,
                "started_at": start.to_rfc3339(),
                "ended_at": end.to_rfc3339(),
                "latitude": latitude,
                "longitude": longitude,
                "accuracy_m": 8.0,
                "outcome": outcome,
                "persons_seen": seen,
                "notes": "入户走访，登记六清信息",
            }),
        )?;
        self.counts.visits += 1;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn person(
        &mut self,
        district: &District,
        coordinator: &DemoUser,
        staff: &DemoUser,
        household: &str,
        enrolled_days_ago: i64,
        zero: bool,
        member: usize,
        quiet: bool,
    ) -> anyhow::Result<String> {
        let person = new_id();
        let female = self.rng.gen_bool(0.5);
        let age = self.rng.gen_range(22..58);
        let birth = NaiveDate::from_ymd_opt(
            self.today.year() - age,
            self.rng.gen_range(1..=12),
            self.rng.gen_range(1..=28),
        )
        .unwrap_or(self.today);
        let name = format!("{}{}", self.pick(SURNAMES), self.pick(GIVEN));
        let (name, birth) = match &self.previous {
            // Now and then the same name and birth date as someone else (a different ID).
            Some((n, b, _)) if self.counts.persons % 97 == 96 => (n.clone(), *b),
            _ => (name, birth),
        };
        // The age that counts is the birth date's, a look-alike's included.
        let age = liuqing_schema::domain::age_on(birth, self.today);
        let number = self.id_number(birth, female)?;
        let education = self.pick(&[
            "junior_high",
            "senior_high",
            "vocational",
            "college",
            "primary",
        ]);
        let registered_ago = enrolled_days_ago + self.rng.gen_range(30..900);
        let phone = format!(
            "13{}{:08}",
            self.rng.gen_range(0..10),
            self.rng.gen_range(0..100_000_000)
        );
        let phone = match &self.previous {
            // Now and then a phone number someone else also gave.
            Some((_, _, p)) if self.counts.persons % 61 == 60 => p.clone(),
            _ => phone,
        };
        self.previous = Some((name.clone(), birth, phone.clone()));
        self.write(
            coordinator,
            enrolled_days_ago,
            Entity::Person,
            &person,
            json!({
                "household_id": household,
                "name": name,
                "id_number": number,
                "phone": phone,
                "education": education,
                "unemployment_registered_on": self.day(registered_ago).to_string(),
            }),
        )?;
        self.counts.persons += 1;
        // A year over the age, so the category held on every step's day of the case.
        let older = (female && age >= 41) || (!female && age >= 51);
        let mut categories = Vec::new();
        if older {
            categories.push("older_worker");
        }
        if zero {
            categories.push("urban_zero_employment_family");
        }
        // Registered unemployed more than a year before enrolling (so before applying).
        if registered_ago - enrolled_days_ago >= 400 && self.rng.gen_bool(0.5) {
            categories.push("long_term_unemployed");
        }
        if self.rng.gen_bool(0.15) {
            categories.push("low_income_family");
        }
        if self.rng.gen_bool(0.08) {
            categories.push("disabled");
        }
        let complete = member == 0 || self.rng.gen_bool(0.7);
        let mut six = json!({
            "person_id": person,
            "basic": {"education": education,
                      "health": if categories.contains(&"disabled") { "disabled" } else { "healthy" },
                      "skills": ["驾驶", "保洁"], "phone": phone},
            "difficulty": {"categories": categories},
            "family": {"members": 3, "employed_members": if zero { 0 } else { 1 }, "dependants": 1,
                       "monthly_income": self.rng.gen_range(0..4000), "zero_employment": zero},
            "needs": {"job_types": [JOB_TYPES[self.counts.persons % 7], JOB_TYPES[(self.counts.persons + 3) % 7]],
                      "training": ["育婴师"], "hours": "daytime",
                      "location": "鼓楼区内", "expected_pay": 3000, "startup_intent": false},
        });
        if complete {
            six["insurance"] = json!({"pension": "resident", "medical": "resident", "unemployment": false, "paying": true});
            six["policies"] = json!({"enjoyed": []});
        }
        self.write(
            coordinator,
            enrolled_days_ago,
            Entity::SixClears,
            &person,
            dotted(six),
        )?;
        if categories.is_empty() {
            return Ok(person);
        }
        let stage = self.stage();
        self.case(
            district,
            coordinator,
            staff,
            &person,
            &categories,
            enrolled_days_ago,
            stage,
            quiet,
        )?;
        Ok(person)
    }

    /// The photographed materials of an application, as the coordinator records them on
    /// `days_ago`: the always-required documents and each claimed category's certificate
    /// (the derivable categories need none); a just-received application lacks its last
    /// certificate. Returns the evidence ids.
    fn evidence(
        &mut self,
        coordinator: &DemoUser,
        person: &str,
        categories: &[&str],
        days_ago: i64,
        stage: Stage,
    ) -> anyhow::Result<Vec<String>> {
        use liuqing_schema::domain::category::evidence_for;
        use liuqing_schema::domain::{Category, EvidenceType, ALWAYS_REQUIRED};
        let mut wanted: Vec<(EvidenceType, Option<Category>)> =
            ALWAYS_REQUIRED.iter().map(|e| (*e, None)).collect();
        for category in categories.iter().filter_map(|c| c.parse::<Category>().ok()) {
            for e in evidence_for(category) {
                if !wanted.iter().any(|(w, _)| w == e) {
                    wanted.push((*e, Some(category)));
                }
            }
        }
        if matches!(stage, Stage::Received) && wanted.len() > 1 {
            wanted.pop();
        }
        let captured = Utc
            .from_utc_datetime(&self.day(days_ago).and_hms_opt(2, 30, 0).unwrap_or_default())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // Certificates with a validity period run a year past the day the demo is loaded.
        let valid_until = (self.today + Duration::days(365)).to_string();
        let mut ids = Vec::new();
        for (evidence_type, category) in wanted {
            let id = new_id();
            let mut fields = json!({
                "person_id": person,
                "evidence_type": evidence_type,
                "attachment_sha256": self.photos.sha(evidence_type),
                "captured_at": captured,
            });
            if let Some(category) = category {
                fields["category"] = json!(category);
            }
            if matches!(
                evidence_type,
                EvidenceType::LowIncomeCertificate | EvidenceType::HardshipWorkerCertificate
            ) {
                fields["valid_until"] = json!(valid_until);
            }
            self.write(coordinator, days_ago, Entity::Evidence, &id, fields)?;
            ids.push(id);
        }
        Ok(ids)
    }

    /// Runs a person's case as far as `stage`, each step by the role that takes it.
    #[allow(clippy::too_many_arguments)]
    fn case(
        &mut self,
        district: &District,
        coordinator: &DemoUser,
        staff: &DemoUser,
        person: &str,
        categories: &[&str],
        enrolled_days_ago: i64,
        stage: Stage,
        quiet: bool,
    ) -> anyhow::Result<()> {
        if matches!(stage, Stage::Registered) {
            return Ok(());
        }
        // Applications move on in weeks; recognised cases started long enough ago that
        // their publicity is over and their services are (or should be) under way.
        let applied = match stage {
            // In a quiet household a recognised case ran its services long ago.
            Stage::OnTrack | Stage::Done | Stage::Overdue if quiet => enrolled_days_ago,
            Stage::Received | Stage::InReview => self.rng.gen_range(1..10),
            Stage::InPublicity => self.rng.gen_range(3..6),
            Stage::OnTrack => self.rng.gen_range(40..60),
            Stage::Done | Stage::Rejected => self.rng.gen_range(60..150),
            Stage::Overdue | Stage::Exited => self.rng.gen_range(130..200),
            Stage::Registered => 0,
        }
        .min(enrolled_days_ago);
        let recognition = new_id();
        let on = |d: NaiveDate| d.to_string();
        // 受理: the engine records the state, the day and the history's first entry.
        self.write(
            staff,
            applied,
            Entity::Recognition,
            &recognition,
            json!({"person_id": person, "claimed_categories": categories}),
        )?;
        self.counts.recognitions += 1;
        // The materials come with the application; a fresh one still lacks some.
        let evidence = self.evidence(coordinator, person, categories, applied, stage)?;
        if matches!(stage, Stage::Received) {
            return Ok(());
        }
        let review = (applied - 1).max(0);
        if !matches!(stage, Stage::InReview) {
            // Reviewed at 初审: every photo approved before the case goes on.
            for id in &evidence {
                self.write(
                    staff,
                    review,
                    Entity::Evidence,
                    id,
                    json!({"review_state": "approved"}),
                )?;
            }
        }
        // Each step as a station takes it: the same function as the API's, on its day.
        self.step(
            staff,
            review,
            &recognition,
            RecognitionAction::StartReview,
            None,
        )?;
        if matches!(stage, Stage::InReview) {
            return Ok(());
        }
        if matches!(stage, Stage::Rejected) {
            let reason = "经核查，家庭人均收入高于认定标准";
            self.step(
                staff,
                review,
                &recognition,
                RecognitionAction::Reject,
                Some(reason),
            )?;
            return Ok(());
        }
        let posted = (review - 1).max(0);
        let last = publicity_last_day(
            self.day(posted),
            self.config.publicity_working_days,
            &self.config.calendar(),
        );
        self.step(
            staff,
            posted,
            &recognition,
            RecognitionAction::Publicise,
            None,
        )?;
        if matches!(stage, Stage::InPublicity) {
            return Ok(());
        }
        let decided_on = last + Duration::days(1);
        let decided = (self.today - decided_on).num_days().max(0);
        let supervisor = &district.supervisor;
        self.step(
            supervisor,
            decided,
            &recognition,
            RecognitionAction::Recognise,
            None,
        )?;
        // Assessment and tier, then the plan, then the services of the tier.
        let tier = ["I", "II", "III"][self.rng.gen_range(0..3)];
        let assessed = (decided - 2).max(0);
        self.write(
            staff,
            assessed,
            Entity::Assessment,
            &new_id(),
            json!({
                "person_id": person,
                "general_causes": ["年龄偏大", "技能单一"],
                "specific_causes": ["长期失业"],
                "tier": tier,
                "assessed_on": on(self.day(assessed)),
            }),
        )?;
        self.write(
            coordinator,
            assessed,
            Entity::Plan,
            &new_id(),
            json!({
                "person_id": person,
                "measures": ["career_guidance", "job_recommendation", "training_recommendation"],
                "notes": "一人一策：先职业指导，再推荐保洁、保安岗位，同时推荐育婴师培训",
                "agreed_on": on(self.day(assessed)),
                "signature_sha256": self.photos.signature.sha256,
            }),
        )?;
        // The signed service commitment (就业援助服务承诺), sealed as it is written.
        let signed_at = Utc
            .from_utc_datetime(&self.day(assessed).and_hms_opt(3, 0, 0).unwrap_or_default())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.write(
            coordinator,
            assessed,
            Entity::Commitment,
            &new_id(),
            json!({
                "person_id": person,
                "template_version": COMMITMENT_TEMPLATE,
                "text_sha256": hex::encode(Sha256::digest(COMMITMENT_TEXT.as_bytes())),
                "signature_sha256": self.photos.signature.sha256,
                "signed_at": signed_at,
                "place": "社区服务站",
            }),
        )?;
        let mut services: Vec<&str> = vec![
            "career_guidance",
            "job_recommendation",
            "job_recommendation",
            "job_recommendation",
            "training_recommendation",
        ];
        if tier != "I" {
            services.extend([
                "delivery_policy",
                "delivery_jobs",
                "delivery_skills",
                "delivery_subsidies",
                "delivery_services",
            ]);
        }
        if tier == "III" {
            services.push("public_welfare_placement");
        }
        let delivered = match stage {
            Stage::Done | Stage::Exited => services.len(),
            Stage::OnTrack => services.len() / 2,
            _ => services.len().saturating_sub(3),
        };
        for (i, kind) in services.iter().take(delivered).enumerate() {
            let days_ago = (assessed - 2 - i as i64 * 3).max(0);
            self.write(
                coordinator,
                days_ago,
                Entity::ServiceRecord,
                &new_id(),
                json!({
                    "person_id": person,
                    "kind": kind,
                    "delivered_on": on(self.day(days_ago)),
                    "notes": "已提供服务并记录台账",
                }),
            )?;
            self.counts.services += 1;
        }
        if matches!(stage, Stage::Done) && self.counts.persons % 3 == 0 {
            // Placed six weeks ago and not yet exited: the station's exit list shows them
            // for work, and the first follow-up (a month after) is overdue. (No draw from
            // the generator, so the rest of the demo stays as it was.)
            self.placement(coordinator, person, 40)?;
        }
        if matches!(stage, Stage::Exited) {
            let exit_days_ago = self.rng.gen_range(1..20);
            // Recommended a vacancy of the street, hired, placed: the placement schedules
            // the follow-ups; the exit for work follows it.
            self.placement(coordinator, person, exit_days_ago + 10)?;
            let exit = new_id();
            self.write(
                staff,
                exit_days_ago,
                Entity::Exit,
                &exit,
                json!({
                    "person_id": person,
                    "reason": "employed",
                    "exit_on": on(self.day(exit_days_ago)),
                    "notes": "已在辖区物业公司稳定就业",
                }),
            )?;
        }
        if matches!(stage, Stage::Overdue) {
            // The station asks the coordinator to catch up.
            let household = liuqing_schema::records::find(self.conn, Entity::Person, person)?
                .and_then(|p| p.parent_id)
                .unwrap_or_default();
            self.write(
                staff,
                1,
                Entity::Task,
                &new_id(),
                json!({
                    "household_id": household,
                    "person_id": person,
                    "assignee_id": coordinator.user_id,
                    "kind": "follow_up_due",
                    "title": "131服务已逾期，请尽快补齐岗位推荐",
                    "due_on": on(self.today + Duration::days(7)),
                }),
            )?;
        }
        Ok(())
    }
}

/// What each level says when it passes a demo application, and why the street returns one.
struct Opinions {
    station: &'static str,
    street: &'static str,
    district: &'static str,
    returned: &'static str,
}

/// The steps that take the `i`th demo application of a subsidy to its state — received,
/// station_review, street_review, district_approval, funded, returned, then funded — each
/// by its level (`[station, street, district]`) on its day.
fn chain_steps<'a>(
    i: usize,
    [station, street, district]: [&'a DemoUser; 3],
    says: &Opinions,
) -> Vec<(&'a DemoUser, i64, crate::subsidies::Step)> {
    use liuqing_schema::domain::subsidies::SubsidyAction as A;
    let step = |action: A, reason: Option<&str>| crate::subsidies::Step {
        action,
        reason: reason.map(str::to_string),
        stop_from: None,
        stop_condition: None,
        person_id: None,
    };
    let to_street = [
        (station, 55, step(A::StartReview, None)),
        (station, 50, step(A::Pass, Some(says.station))),
    ];
    let to_funded = [
        (street, 40, step(A::Pass, Some(says.street))),
        (district, 30, step(A::Pass, Some(says.district))),
    ];
    match i {
        0 => vec![],
        1 => to_street[..1].to_vec(),
        2 => to_street.to_vec(),
        3 => to_street.iter().chain(&to_funded[..1]).cloned().collect(),
        5 => to_street
            .iter()
            .cloned()
            .chain([(street, 45, step(A::Return, Some(says.returned)))])
            .collect(),
        _ => to_street.iter().chain(&to_funded).cloned().collect(),
    }
}
