//! The ledgers (台账) a station files and a supervisor checks: the employment-assistance
//! ledger (就业援助台账, one row per person through the whole process), the visit ledger
//! (走访台账), the zero-employment household ledger (零就业家庭台账) and the demand ledger
//! (就业需求台账, from the six clears' needs) and the flexible-employment subsidy ledger
//! (社保补贴申报台账: applicant, flexible work, period, amount, approvals, stops) and the
//! public-welfare job subsidy ledger (公益性岗位补贴受理工作台账: a row per person of each
//! employer's application). Rows are built one community at a time and
//! handed to a [`Sink`] (an XLSX sheet per station, or CSV) that writes them out at once,
//! so memory holds one community's records, never the whole export. ID numbers and phones
//! are masked as everywhere; ages are shown, not birth dates (a birth date beside a masked
//! ID number would give back the digits it hides).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use liuqing_schema::casefile::{self, HouseholdRow, PersonRow};
use liuqing_schema::coverage::{Period, Settings};
use liuqing_schema::domain::visit_flags::Flag;
use liuqing_schema::domain::{
    age_on, obligations, Category, ExitReason, ObligationState, ServiceKind, Tier,
};
use liuqing_schema::entities::{get_path, Entity};
use liuqing_schema::org::OrgNode;
use liuqing_schema::records::{self, Record};
use liuqing_schema::tables::{households_index, persons_index, users};
use liuqing_schema::DbConn;
use liuqing_sync::values::shown_document;
use serde_json::Value;

use crate::error::ApiError;

liuqing_schema::text_enum! {
    /// The ledgers there are.
    pub enum Ledger {
        Assistance = "assistance",
        Visits = "visits",
        ZeroEmployment = "zero_employment",
        Demand = "demand",
        FlexibleSubsidies = "flexible_subsidies",
        WelfareSubsidies = "welfare_subsidies",
    }
}

/// One cell: dates are written as dates, numbers as numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    Int(i64),
    Empty,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s)
        }
    }

    fn date(d: Option<NaiveDate>) -> Cell {
        d.map_or(Cell::Empty, Cell::Date)
    }
}

/// A column: its header and its width in characters.
pub struct Column {
    pub header: &'static str,
    pub width: f64,
}

const fn col(header: &'static str, width: f64) -> Column {
    Column { header, width }
}

impl Ledger {
    /// The ledger's name, as the guide calls it (and the file is named).
    pub fn title(self) -> &'static str {
        match self {
            Ledger::Assistance => "就业援助台账",
            Ledger::Visits => "走访台账",
            Ledger::ZeroEmployment => "零就业家庭台账",
            Ledger::Demand => "就业需求台账",
            Ledger::FlexibleSubsidies => "社保补贴申报台账",
            Ledger::WelfareSubsidies => "公益性岗位补贴受理工作台账",
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Ledger::Assistance => ASSISTANCE,
            Ledger::Visits => VISITS,
            Ledger::ZeroEmployment => ZERO_EMPLOYMENT,
            Ledger::Demand => DEMAND,
            Ledger::FlexibleSubsidies => FLEXIBLE_SUBSIDIES,
            Ledger::WelfareSubsidies => WELFARE_SUBSIDIES,
        }
    }
}

const ASSISTANCE: &[Column] = &[
    col("服务站", 18.0),
    col("社区", 12.0),
    col("姓名", 10.0),
    col("性别", 6.0),
    col("年龄", 6.0),
    col("身份证号", 22.0),
    col("联系电话", 14.0),
    col("就业困难类别", 30.0),
    col("状态", 10.0),
    col("申请受理日期", 13.0),
    col("认定日期", 12.0),
    col("分级", 6.0),
    col("评估日期", 12.0),
    col("援助计划签订日期", 16.0),
    col("本期服务次数", 12.0),
    col("本期服务记录", 40.0),
    col("131服务", 10.0),
    col("退出日期", 12.0),
    col("退出原因", 20.0),
];

const VISITS: &[Column] = &[
    col("服务站", 18.0),
    col("社区", 12.0),
    col("走访时间", 18.0),
    col("时长（分钟）", 12.0),
    col("住户地址", 30.0),
    col("走访结果", 10.0),
    col("走访人", 10.0),
    col("定位", 6.0),
    col("异常标记", 24.0),
];

const ZERO_EMPLOYMENT: &[Column] = &[
    col("服务站", 18.0),
    col("社区", 12.0),
    col("住户地址", 30.0),
    col("家庭人数", 10.0),
    col("发现日期", 12.0),
    col("清零日期", 12.0),
    col("状态", 10.0),
];

const DEMAND: &[Column] = &[
    col("服务站", 18.0),
    col("社区", 12.0),
    col("姓名", 10.0),
    col("性别", 6.0),
    col("年龄", 6.0),
    col("联系电话", 14.0),
    col("求职意向", 24.0),
    col("培训需求", 20.0),
    col("工作时间", 10.0),
    col("期望工作地点", 16.0),
    col("期望月薪（元）", 14.0),
    col("创业意向", 8.0),
    col("六清更新时间", 18.0),
    col("岗位推荐（次）", 14.0),
    col("最近推荐", 36.0),
    col("上岗情况", 36.0),
];

const FLEXIBLE_SUBSIDIES: &[Column] = &[
    col("服务站", 18.0),
    col("社区", 12.0),
    col("姓名", 10.0),
    col("性别", 6.0),
    col("年龄", 6.0),
    col("身份证号", 22.0),
    col("就业形式", 10.0),
    col("工作地点", 18.0),
    col("岗位", 14.0),
    col("月收入（元）", 12.0),
    col("参保险种及月缴费（元）", 28.0),
    col("缴费月份", 18.0),
    col("申请期限", 18.0),
    col("享受期限", 18.0),
    col("月数", 6.0),
    col("补贴金额（元）", 14.0),
    col("账户", 12.0),
    col("状态", 10.0),
    col("受理日期", 12.0),
    col("审批", 48.0),
    col("核定拨付日期", 14.0),
    col("停止", 30.0),
];

const WELFARE_SUBSIDIES: &[Column] = &[
    col("服务站", 18.0),
    col("社区", 12.0),
    col("用人单位", 24.0),
    col("岗位类别", 14.0),
    col("姓名", 10.0),
    col("性别", 6.0),
    col("年龄", 6.0),
    col("身份证号", 22.0),
    col("上岗日期", 12.0),
    col("月工资（元）", 12.0),
    col("申请期限", 18.0),
    col("享受期限", 18.0),
    col("月数", 6.0),
    col("补贴金额（元）", 14.0),
    col("单位账户", 12.0),
    col("状态", 10.0),
    col("受理日期", 12.0),
    col("实地核查", 12.0),
    col("审批", 48.0),
    col("核定拨付日期", 14.0),
    col("停止", 30.0),
];

/// Where rows go: a workbook or a CSV file.
pub trait Sink {
    /// Starts the part of the file for a station (a sheet, in a workbook).
    fn station(&mut self, name: &str, columns: &[Column]) -> Result<(), ApiError>;
    fn row(&mut self, cells: &[Cell]) -> Result<(), ApiError>;
}

/// What every community's rows are built with.
pub struct Context {
    pub period: Period,
    pub settings: Settings,
    /// The day ages and obligations are counted at: the period's last, or today if sooner.
    pub at: NaiveDate,
}

/// Writes the ledger of `stations` (each with its communities, in order) to `sink`;
/// returns how many rows it wrote.
pub fn write(
    conn: &mut DbConn,
    ledger: Ledger,
    stations: &[(OrgNode, Vec<OrgNode>)],
    cx: &Context,
    sink: &mut dyn Sink,
) -> Result<u64, ApiError> {
    let mut rows = 0;
    for (station, communities) in stations {
        sink.station(&station.name, ledger.columns())?;
        for community in communities {
            let lead = [Cell::text(&station.name), Cell::text(&community.name)];
            let body = match ledger {
                Ledger::Assistance => assistance(conn, community, cx)?,
                Ledger::Visits => visits(conn, community, cx)?,
                Ledger::ZeroEmployment => zero_employment(conn, community, cx)?,
                Ledger::Demand => demand(conn, community, cx)?,
                Ledger::FlexibleSubsidies => flexible_subsidies(conn, community, cx)?,
                Ledger::WelfareSubsidies => welfare_subsidies(conn, community, cx)?,
            };
            for cells in body {
                let row: Vec<Cell> = lead.iter().cloned().chain(cells).collect();
                sink.row(&row)?;
                rows += 1;
            }
        }
    }
    Ok(rows)
}

fn text<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    get_path(doc, path).and_then(Value::as_str)
}

fn day(doc: &Value, path: &str) -> Option<NaiveDate> {
    text(doc, path).and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

fn sex(s: Option<&str>) -> Cell {
    match s {
        Some("male") => Cell::text("男"),
        Some("female") => Cell::text("女"),
        _ => Cell::Empty,
    }
}

fn age(person: &PersonRow, at: NaiveDate) -> Cell {
    person
        .birth()
        .map_or(Cell::Empty, |b| Cell::Int(i64::from(age_on(b, at))))
}

fn yes_no(v: Option<bool>) -> Cell {
    match v {
        Some(true) => Cell::text("是"),
        Some(false) => Cell::text("否"),
        None => Cell::Empty,
    }
}

/// A list of strings in a document, joined for a cell.
fn list(doc: &Value, path: &str) -> Cell {
    let items: Vec<&str> = get_path(doc, path)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Cell::text(items.join("、"))
}

fn persons_of(conn: &mut DbConn, community: &str) -> Result<Vec<PersonRow>, ApiError> {
    Ok(persons_index::table
        .filter(persons_index::community_id.eq(community))
        .filter(persons_index::deleted.eq(false))
        .order((persons_index::name.asc(), persons_index::id.asc()))
        .select(PersonRow::as_select())
        .load(conn)
        .map_err(liuqing_schema::StoreError::from)?)
}

/// The live records of `entity` in a community, by the person they belong to.
fn by_person(
    conn: &mut DbConn,
    entity: Entity,
    community: &str,
) -> Result<HashMap<String, Vec<Value>>, ApiError> {
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    let mut found = records::live_of_entity(conn, entity, &[community.to_string()])?;
    found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    for record in found {
        let key = record.parent_id.clone().unwrap_or_default();
        out.entry(key).or_default().push(shown(&record)?);
    }
    Ok(out)
}

/// A record's document as shown (sealed values masked).
fn shown(record: &Record) -> Result<Value, ApiError> {
    Ok(shown_document(record.document()?))
}

fn assistance(
    conn: &mut DbConn,
    community: &OrgNode,
    cx: &Context,
) -> Result<Vec<Vec<Cell>>, ApiError> {
    let id = community.id.as_str();
    let persons = persons_of(conn, id)?;
    let docs: HashMap<String, Value> = records::live_of_entity(conn, Entity::Person, &[id.into()])?
        .iter()
        .map(|r| Ok((r.id.clone(), shown(r)?)))
        .collect::<Result<_, ApiError>>()?;
    let recognitions = by_person(conn, Entity::Recognition, id)?;
    let plans = by_person(conn, Entity::Plan, id)?;
    // Service records and referrals: what the "131" counts (`casefile::delivery`).
    let mut services: HashMap<String, Vec<(ServiceKind, NaiveDate)>> = HashMap::new();
    for entity in casefile::DELIVERING {
        for (person, docs) in by_person(conn, entity, id)? {
            let delivered = docs.iter().filter_map(|d| casefile::delivery(entity, d));
            services.entry(person).or_default().extend(delivered);
        }
    }
    let exits = by_person(conn, Entity::Exit, id)?;
    let mut rows = Vec::with_capacity(persons.len());
    for p in &persons {
        let doc = docs.get(&p.id).cloned().unwrap_or(Value::Null);
        let categories: Vec<&str> = p
            .category_names()?
            .iter()
            .filter_map(|c| c.parse::<Category>().ok())
            .map(Category::chinese_name)
            .collect();
        // The latest application: the one the case stands on.
        let recognition = recognitions.get(&p.id).and_then(|r| r.last());
        let recognised_on = recognition
            .filter(|r| text(r, "state") == Some("recognised"))
            .and_then(|r| day(r, "decided_on"));
        let plan = plans.get(&p.id).and_then(|r| r.last());
        let delivered: Vec<(ServiceKind, NaiveDate)> =
            services.get(&p.id).cloned().unwrap_or_default();
        let in_period: Vec<String> = delivered
            .iter()
            .filter(|(_, on)| (cx.period.from..=cx.period.to).contains(on))
            .map(|(kind, on)| format!("{on} {}", kind.chinese_name()))
            .collect();
        let obligation = match (p.tier(), p.assessed()) {
            (Some(tier), Some(assessed)) if p.status != "exited" => {
                match obligations(tier, assessed, &delivered, cx.at).state {
                    ObligationState::Done => "已完成",
                    ObligationState::OnTrack => "进行中",
                    ObligationState::Overdue => "已逾期",
                }
            }
            _ => "",
        };
        let exit = exits.get(&p.id).and_then(|e| e.last());
        rows.push(vec![
            Cell::text(&p.name),
            sex(p.sex.as_deref()),
            age(p, cx.at),
            Cell::text(text(&doc, "id_number").unwrap_or_default()),
            Cell::text(text(&doc, "phone").unwrap_or_default()),
            Cell::text(categories.join("、")),
            Cell::text(status_name(&p.status)),
            Cell::date(recognition.and_then(|r| day(r, "received_on"))),
            Cell::date(recognised_on),
            Cell::text(p.tier().map(Tier::as_str).unwrap_or_default()),
            Cell::date(p.assessed()),
            Cell::date(plan.and_then(|r| day(r, "agreed_on"))),
            Cell::Int(in_period.len() as i64),
            Cell::text(in_period.join("；")),
            Cell::text(obligation),
            Cell::date(exit.and_then(|e| day(e, "exit_on"))),
            Cell::text(
                exit.and_then(|e| text(e, "reason")?.parse::<ExitReason>().ok())
                    .map(ExitReason::chinese_name)
                    .unwrap_or_default(),
            ),
        ]);
    }
    Ok(rows)
}

fn status_name(status: &str) -> &'static str {
    match status {
        "registered" => "已登记",
        "applied" => "申请中",
        "recognised" => "已认定",
        "rejected" => "未认定",
        "exited" => "已退出",
        _ => "",
    }
}

fn visits(
    conn: &mut DbConn,
    community: &OrgNode,
    cx: &Context,
) -> Result<Vec<Vec<Cell>>, ApiError> {
    let found = liuqing_schema::coverage::visits_of(conn, &community.id, cx.period)?;
    let flags = liuqing_schema::coverage::flags_of(conn, &found, cx.period.end, cx.settings.flags)?;
    let addresses: HashMap<String, String> = households_index::table
        .filter(households_index::community_id.eq(&community.id))
        .select((households_index::id, households_index::address))
        .load(conn)
        .map_err(liuqing_schema::StoreError::from)?
        .into_iter()
        .collect();
    let maker_ids: Vec<&str> = found.iter().filter_map(|v| v.user_id.as_deref()).collect();
    let makers: HashMap<String, String> = users::table
        .filter(users::id.eq_any(&maker_ids))
        .select((users::id, users::display_name))
        .load(conn)
        .map_err(liuqing_schema::StoreError::from)?
        .into_iter()
        .collect();
    let offset = i64::from(cx.settings.utc_offset_minutes) * 60_000_000;
    let local =
        |at: i64| chrono::DateTime::from_timestamp_micros(at + offset).map(|t| t.naive_utc());
    Ok(found
        .into_iter()
        .map(|v| {
            let (started, ended) = (v.started_at, v.ended_at);
            let marks: Vec<&str> = flags
                .get(&v.id)
                .map(|f| {
                    f.flags
                        .iter()
                        .map(|flag| match flag {
                            Flag::Far => "定位偏离常住地",
                            Flag::Short => "时长过短",
                            Flag::Simultaneous => "同一设备同时走访多户",
                        })
                        .collect()
                })
                .unwrap_or_default();
            vec![
                local(started).map_or(Cell::Empty, Cell::DateTime),
                ended
                    .filter(|e| *e >= started)
                    .map_or(Cell::Empty, |e| Cell::Int((e - started) / 60_000_000)),
                Cell::text(addresses.get(&v.household_id).cloned().unwrap_or_default()),
                Cell::text(match v.outcome.as_str() {
                    "met" => "见到",
                    "not_home" => "不在家",
                    "refused" => "拒绝",
                    "moved" => "已搬离",
                    _ => "其他",
                }),
                Cell::text(
                    v.user_id
                        .as_ref()
                        .and_then(|u| makers.get(u).cloned())
                        .unwrap_or_default(),
                ),
                yes_no(Some(v.latitude.is_some())),
                Cell::text(marks.join("、")),
            ]
        })
        .collect())
}

fn zero_employment(
    conn: &mut DbConn,
    community: &OrgNode,
    cx: &Context,
) -> Result<Vec<Vec<Cell>>, ApiError> {
    let households: Vec<HouseholdRow> = households_index::table
        .filter(households_index::community_id.eq(&community.id))
        .filter(households_index::deleted.eq(false))
        .filter(households_index::zero_employment_found_on.is_not_null())
        .order((
            households_index::zero_employment_found_on.asc(),
            households_index::id.asc(),
        ))
        .select(HouseholdRow::as_select())
        .load(conn)
        .map_err(liuqing_schema::StoreError::from)?;
    let mut members: HashMap<String, i64> = HashMap::new();
    for p in persons_of(conn, &community.id)? {
        *members.entry(p.household_id).or_default() += 1;
    }
    Ok(households
        .into_iter()
        // Found by the period's end, and not cleared before it began.
        .filter(|h| h.found_on().is_some_and(|f| f <= cx.period.to))
        .filter(|h| h.cleared_on().is_none_or(|c| c >= cx.period.from))
        .map(|h| {
            let cleared = h.cleared_on().filter(|c| *c <= cx.period.to);
            vec![
                Cell::text(&h.address),
                Cell::Int(members.get(&h.id).copied().unwrap_or(0)),
                Cell::date(h.found_on()),
                Cell::date(cleared),
                Cell::text(if cleared.is_some() {
                    "已清零"
                } else {
                    "未清零"
                }),
            ]
        })
        .collect())
}

fn demand(
    conn: &mut DbConn,
    community: &OrgNode,
    cx: &Context,
) -> Result<Vec<Vec<Cell>>, ApiError> {
    let id = community.id.as_str();
    let persons = persons_of(conn, id)?;
    let six: HashMap<String, Record> =
        records::live_of_entity(conn, Entity::SixClears, &[id.into()])?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
    let referrals = by_person(conn, Entity::Referral, id)?;
    let placements = by_person(conn, Entity::Placement, id)?;
    let mut titles = VacancyTitles::default();
    let offset = i64::from(cx.settings.utc_offset_minutes) * 60_000_000;
    let mut rows = Vec::new();
    for p in persons.iter().filter(|p| p.status != "exited") {
        let Some(record) = six.get(&p.id) else {
            continue;
        };
        let referred = referrals.get(&p.id).map(Vec::as_slice).unwrap_or_default();
        let last_referral = match referred.last() {
            Some(r) => {
                let title = titles.of(conn, text(r, "vacancy_id").unwrap_or_default())?;
                // The console's words, so the ledger and the case file agree.
                let outcome = crate::console::labels::referral_outcome(text(r, "outcome"));
                format!(
                    "{} {title}（{outcome}）",
                    text(r, "referred_on").unwrap_or_default()
                )
            }
            None => String::new(),
        };
        let placed = placements
            .get(&p.id)
            .and_then(|all| all.last())
            .map(|pl| {
                let job = text(pl, "job_title")
                    .or(text(pl, "employer_name"))
                    .unwrap_or("");
                match text(pl, "ended_on") {
                    Some(end) => format!(
                        "{} 上岗 {job}，{end} 离岗",
                        text(pl, "started_on").unwrap_or_default()
                    ),
                    None => format!("{} 上岗 {job}", text(pl, "started_on").unwrap_or_default()),
                }
            })
            .unwrap_or_default();
        let doc = shown(record)?;
        let needs = get_path(&doc, "needs");
        if needs.is_none_or(|n| n.as_object().is_none_or(|o| o.is_empty())) {
            continue;
        }
        rows.push(vec![
            Cell::text(&p.name),
            sex(p.sex.as_deref()),
            age(p, cx.at),
            Cell::text(text(&doc, "basic.phone").unwrap_or_default()),
            list(&doc, "needs.job_types"),
            list(&doc, "needs.training"),
            Cell::text(match text(&doc, "needs.hours") {
                Some("daytime") => "白天",
                Some("part_time") => "非全日制",
                Some("flexible") => "灵活",
                Some("shifts") => "倒班",
                Some("any") => "均可",
                _ => "",
            }),
            Cell::text(text(&doc, "needs.location").unwrap_or_default()),
            get_path(&doc, "needs.expected_pay")
                .and_then(Value::as_i64)
                .map_or(Cell::Empty, Cell::Int),
            yes_no(get_path(&doc, "needs.startup_intent").and_then(Value::as_bool)),
            chrono::DateTime::from_timestamp_micros(record.updated_at + offset)
                .map_or(Cell::Empty, |t| Cell::DateTime(t.naive_utc())),
            Cell::Int(referred.len() as i64),
            Cell::text(last_referral),
            Cell::text(placed),
        ]);
    }
    Ok(rows)
}

/// `from 至 to`, when both are given.
fn span(doc: &Value, from: &str, to: &str) -> Cell {
    match (text(doc, from), text(doc, to)) {
        (Some(a), Some(b)) => Cell::text(format!("{a} 至 {b}")),
        _ => Cell::Empty,
    }
}

/// A subsidy's amount (`amount_fen`), in yuan.
fn yuan(doc: &Value) -> Cell {
    get_path(doc, "amount_fen")
        .and_then(Value::as_i64)
        .map_or(Cell::Empty, |f| {
            Cell::text(liuqing_schema::domain::subsidies::Fen(f).to_string())
        })
}

/// A subsidy application's steps: the day, the level, what it did.
fn approvals(doc: &Value) -> Cell {
    use liuqing_schema::domain::subsidies::SubsidyAction;
    let steps: Vec<String> = get_path(doc, "history")
        .and_then(Value::as_array)
        .map(|steps| {
            steps
                .iter()
                .filter_map(|h| {
                    let action: SubsidyAction = text(h, "action")?.parse().ok()?;
                    let level = match text(h, "level") {
                        Some("station") => "服务站",
                        Some("street") => "街道",
                        Some("district") => "区",
                        _ => "",
                    };
                    let what = crate::console::labels::subsidy_action(action);
                    Some(format!(
                        "{} {level}{what}",
                        text(h, "on").unwrap_or_default()
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Cell::text(steps.join("；"))
}

/// A stop, or a stop recommended, of an application or of one person's line (the same
/// fields in both).
fn stop(doc: &Value) -> Cell {
    Cell::text(crate::console::labels::subsidy_stop(doc).unwrap_or_default())
}

/// 公益性岗位补贴受理工作台账: each public-welfare job subsidy application the community's
/// station received, a row for each person it is for: the unit, the job, the person
/// (masked), their placement, the months and amount the server computed for them, where
/// the application stands, the on-site check, the approvals, and the person's stop.
fn welfare_subsidies(
    conn: &mut DbConn,
    community: &OrgNode,
    cx: &Context,
) -> Result<Vec<Vec<Cell>>, ApiError> {
    use crate::subsidies::welfare;
    use liuqing_schema::domain::subsidies::WelfareJob;
    let mut applications = records::live_of_entity(
        conn,
        Entity::WelfareSubsidy,
        std::slice::from_ref(&community.id),
    )?;
    applications.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut rows = Vec::new();
    for application in applications {
        let doc = shown(&application)?;
        let employer_id = text(&doc, "employer_id").unwrap_or_default().to_string();
        let employer = welfare::employer_name(conn, &employer_id)?.unwrap_or_default();
        let site_checked = welfare::site_checks(conn, &employer_id, &application.id)?
            .last()
            .map(|v| v.document())
            .transpose()?
            .and_then(|v| text(&v, "visited_at").map(|t| t.chars().take(10).collect::<String>()));
        let job = text(&doc, "job")
            .and_then(|j| j.parse::<WelfareJob>().ok())
            .map(|j| j.chinese_name())
            .unwrap_or_default();
        let state = crate::subsidies::state_of(&doc);
        for line in crate::subsidies::lines_of(&doc) {
            let person_id = text(&line, "person_id").unwrap_or_default();
            let Some(person) = casefile::person_row(conn, person_id)? else {
                continue;
            };
            let person_doc = match records::find(conn, Entity::Person, person_id)? {
                Some(r) => shown(&r)?,
                None => Value::Null,
            };
            let placement = match text(&line, "placement_id") {
                Some(id) => records::find(conn, Entity::Placement, id)?
                    .map(|r| r.document())
                    .transpose()?
                    .unwrap_or(Value::Null),
                None => Value::Null,
            };
            rows.push(vec![
                Cell::text(&employer),
                Cell::text(job),
                Cell::text(&person.name),
                sex(person.sex.as_deref()),
                age(&person, cx.at),
                Cell::text(text(&person_doc, "id_number").unwrap_or_default()),
                Cell::date(day(&placement, "started_on")),
                get_path(&placement, "monthly_wage")
                    .and_then(Value::as_i64)
                    .map_or(Cell::Empty, Cell::Int),
                span(&doc, "period_from", "period_to"),
                span(&line, "payable_from", "payable_to"),
                get_path(&line, "months")
                    .and_then(Value::as_i64)
                    .map_or(Cell::Empty, Cell::Int),
                yuan(&line),
                Cell::text(text(&doc, "account").unwrap_or_default()),
                Cell::text(crate::console::labels::subsidy_state(state)),
                Cell::date(day(&doc, "received_on")),
                Cell::text(site_checked.clone().unwrap_or_default()),
                approvals(&doc),
                Cell::date(day(&doc, "decided_on")),
                stop(&line),
            ]);
        }
    }
    Ok(rows)
}

/// 社保补贴申报台账: each flexible-employment subsidy application of the community, with
/// the applicant, the flexible work, the months applied for and paid, the amount the
/// server computed, where it stands, who passed each step and when, and any stop.
fn flexible_subsidies(
    conn: &mut DbConn,
    community: &OrgNode,
    cx: &Context,
) -> Result<Vec<Vec<Cell>>, ApiError> {
    let id = community.id.as_str();
    let docs: HashMap<String, Value> = records::live_of_entity(conn, Entity::Person, &[id.into()])?
        .iter()
        .map(|r| Ok((r.id.clone(), shown(r)?)))
        .collect::<Result<_, ApiError>>()?;
    let mut applications = by_person(conn, Entity::FlexibleSubsidy, id)?;
    let mut rows = Vec::new();
    // By the applicant's name, each one's applications oldest first.
    for p in &persons_of(conn, id)? {
        let Some(applications) = applications.remove(&p.id) else {
            continue;
        };
        let person = docs.get(&p.id).cloned().unwrap_or(Value::Null);
        for doc in applications {
            let state = crate::subsidies::state_of(&doc);
            let paid: Vec<String> = [
                ("pension_monthly", "养老"),
                ("medical_monthly", "医疗"),
                ("unemployment_monthly", "失业"),
            ]
            .iter()
            .filter_map(|(path, name)| {
                let yuan = get_path(&doc, path).and_then(Value::as_i64)?;
                Some(format!("{name} {yuan}"))
            })
            .collect();
            rows.push(vec![
                Cell::text(&p.name),
                sex(p.sex.as_deref()),
                age(p, cx.at),
                Cell::text(text(&person, "id_number").unwrap_or_default()),
                Cell::text(match text(&doc, "work") {
                    Some("self_employed") => "个体经营",
                    Some("flexible") => "灵活就业",
                    _ => "",
                }),
                Cell::text(text(&doc, "work_place").unwrap_or_default()),
                Cell::text(text(&doc, "work_job").unwrap_or_default()),
                get_path(&doc, "monthly_income")
                    .and_then(Value::as_i64)
                    .map_or(Cell::Empty, Cell::Int),
                Cell::text(paid.join("；")),
                span(&doc, "paid_from", "paid_to"),
                span(&doc, "period_from", "period_to"),
                span(&doc, "payable_from", "payable_to"),
                get_path(&doc, "months")
                    .and_then(Value::as_i64)
                    .map_or(Cell::Empty, Cell::Int),
                yuan(&doc),
                Cell::text(text(&doc, "account").unwrap_or_default()),
                Cell::text(crate::console::labels::subsidy_state(state)),
                Cell::date(day(&doc, "received_on")),
                approvals(&doc),
                Cell::date(day(&doc, "decided_on")),
                stop(&doc),
            ]);
        }
    }
    Ok(rows)
}

/// Vacancies' titles, each read once (a ledger names the same ones many times).
#[derive(Default)]
pub(crate) struct VacancyTitles(HashMap<String, String>);

impl VacancyTitles {
    /// The vacancy's title ("" if there is none).
    pub(crate) fn of(&mut self, conn: &mut DbConn, id: &str) -> Result<String, ApiError> {
        if let Some(title) = self.0.get(id) {
            return Ok(title.clone());
        }
        let title = match records::find(conn, Entity::Vacancy, id)? {
            Some(v) => text(&v.document()?, "title")
                .unwrap_or_default()
                .to_string(),
            None => String::new(),
        };
        self.0.insert(id.to_string(), title.clone());
        Ok(title)
    }
}
