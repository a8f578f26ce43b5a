//! The case file read for matching (人岗匹配): open vacancies and job seekers as
//! [`crate::domain::matching`] takes them, always inside a scope. The scoring itself is
//! the domain module's; this module only reads.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::Value;

use crate::casefile::{PersonRow, PersonStatus};
use crate::domain::age_on;
use crate::domain::matching::{education_rank, Opening, Place, Seeker};
use crate::entities::{get_path, Entity};
use crate::error::StoreResult;
use crate::org::{self, OrgKind};
use crate::records::{self, Record};
use crate::scope::Scope;
use crate::tables::{org_nodes, persons_index, visits_index};
use crate::{DbConn, StoreError};

/// A vacancy's stored document, the fields matching reads. Parsed straight into this
/// shape (not through a `serde_json::Value`): a city's 20,000 vacancies are read per
/// request.
#[derive(Deserialize)]
struct VacancyDoc {
    employer_id: String,
    title: String,
    job_type: String,
    count: i64,
    #[serde(default)]
    filled: Option<i64>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    hours: Option<String>,
    #[serde(default)]
    community_id: Option<String>,
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(default)]
    wage_min: Option<i64>,
    #[serde(default)]
    wage_max: Option<i64>,
    #[serde(default)]
    age_min: Option<u32>,
    #[serde(default)]
    age_max: Option<u32>,
    #[serde(default)]
    skills: Option<Vec<String>>,
    #[serde(default)]
    education_min: Option<String>,
    #[serde(default)]
    disability_suitable: Option<bool>,
    #[serde(default)]
    open_from: Option<NaiveDate>,
    #[serde(default)]
    open_until: Option<NaiveDate>,
    #[serde(default)]
    approval: Option<String>,
}

/// A vacancy record as matching reads it.
pub fn opening_of(record: &Record) -> StoreResult<Opening> {
    opening(&record.id, &record.community_id, &record.data)
}

/// A vacancy from its id, partition (its employer's street) and document.
fn opening(id: &str, street: &str, data: &str) -> StoreResult<Opening> {
    let doc: VacancyDoc = serde_json::from_str(data).map_err(|e| StoreError::Corrupt {
        column: "records.data (vacancy)",
        value: e.to_string(),
    })?;
    Ok(Opening {
        vacancy_id: id.to_string(),
        employer_id: doc.employer_id,
        title: doc.title,
        job_type: doc.job_type,
        count: doc.count,
        filled: doc.filled.unwrap_or(0),
        approved: doc.approval.as_deref() == Some("approved"),
        public_welfare: doc.kind.as_deref() == Some("public_welfare"),
        hours: doc.hours.and_then(|h| h.parse().ok()),
        place: Place {
            community_id: doc.community_id,
            street_id: Some(street.to_string()),
            gps: doc.latitude.zip(doc.longitude),
        },
        wage_min: doc.wage_min,
        wage_max: doc.wage_max,
        age_min: doc.age_min,
        age_max: doc.age_max,
        education_min: doc.education_min.as_deref().and_then(education_rank),
        skills: doc.skills.unwrap_or_default(),
        disability_suitable: doc.disability_suitable,
        open_from: doc.open_from,
        open_until: doc.open_until,
    })
}

/// The vacancies of each street, parsed, kept between requests while the street is
/// unchanged: a street's newest change number says whether it is (every write to one of
/// its employers, vacancies or employer visits gives it a higher one, a purge a lower).
/// One per process: replicas each keep their own, checked against the database on every
/// use, so none serves what another has changed.
#[derive(Default)]
pub struct VacancyCache(Mutex<Streets>);

/// Each street's vacancies, with the street's newest change number when they were read.
type Streets = HashMap<String, (i64, Arc<Vec<Opening>>)>;

impl VacancyCache {
    fn street(&self, conn: &mut DbConn, street: &str) -> StoreResult<Arc<Vec<Opening>>> {
        use crate::tables::records as r;
        let newest: Option<i64> = r::table
            .filter(r::community_id.eq(street))
            .select(diesel::dsl::max(r::version))
            .first(conn)?;
        let newest = newest.unwrap_or(0);
        if let Some((seen, openings)) = self.lock().get(street) {
            if *seen == newest {
                return Ok(Arc::clone(openings));
            }
        }
        let parsed = records::live_rows_of_entity(conn, Entity::Vacancy, &[street.to_string()])?
            .iter()
            .map(|row| opening(&row.id, &row.community_id, &row.data))
            .collect::<StoreResult<Vec<_>>>()?;
        let parsed = Arc::new(parsed);
        self.lock()
            .insert(street.to_string(), (newest, Arc::clone(&parsed)));
        Ok(parsed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Streets> {
        // A panic while holding it leaves a map that is still whole: entries are replaced,
        // never edited in place.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The vacancies of a scope's streets, as the cache holds them.
pub struct Vacancies(Vec<Arc<Vec<Opening>>>);

impl Vacancies {
    /// Every vacancy, open or not.
    pub fn all(&self) -> impl Iterator<Item = &Opening> {
        self.0.iter().flat_map(|street| street.iter())
    }

    /// Those open on `today`, by street (a person is offered their own street's).
    pub fn open_by_street(&self, today: NaiveDate) -> HashMap<&str, Vec<&Opening>> {
        let mut by_street: HashMap<&str, Vec<&Opening>> = HashMap::new();
        for opening in self.open_on(today) {
            if let Some(street) = opening.place.street_id.as_deref() {
                by_street.entry(street).or_default().push(opening);
            }
        }
        by_street
    }

    /// Those open on `today` (approved, within their dates, places left).
    pub fn open_on(&self, today: NaiveDate) -> Vec<&Opening> {
        self.all().filter(|o| o.open_on(today).is_ok()).collect()
    }
}

/// The vacancies of the scope's streets.
pub fn vacancies(conn: &mut DbConn, scope: &Scope, cache: &VacancyCache) -> StoreResult<Vacancies> {
    let partitions = records::partitions_in_scope(conn, scope)?;
    let streets: Vec<String> = org_nodes::table
        .filter(org_nodes::id.eq_any(&partitions))
        .filter(org_nodes::kind.eq(OrgKind::Street))
        .select(org_nodes::id)
        .load(conn)?;
    let mut all = Vec::with_capacity(streets.len());
    for street in &streets {
        all.push(cache.street(conn, street)?);
    }
    Ok(Vacancies(all))
}

/// Who matching looks for work for: persons enrolled or in recognition, and recognised
/// ones; not those who exited.
pub const SEEKING: [PersonStatus; 4] = [
    PersonStatus::Registered,
    PersonStatus::Applied,
    PersonStatus::Recognised,
    PersonStatus::Rejected,
];

/// One person as a seeker at `today`; `None` when they are not looking for work (exited,
/// or in a job they have not left).
pub fn seeker_of(
    conn: &mut DbConn,
    row: &PersonRow,
    today: NaiveDate,
) -> StoreResult<Option<Seeker>> {
    let person = records::find(conn, Entity::Person, &row.id)?;
    let children = crate::casefile::children(conn, &row.id)?;
    let street = org::street_of(conn, &row.community_id)?;
    let gps = last_gps(conn, Households::One(&row.household_id))?.remove(&row.household_id);
    let facts = Facts {
        person: person.as_ref(),
        children: children.iter().collect(),
        street,
        gps,
    };
    facts.seeker(row, today)
}

/// Every seeker of the scope's communities at `today`, `statuses` narrowing who counts
/// (the nightly run reads recognised persons only), by person id.
pub fn seekers_in_scope(
    conn: &mut DbConn,
    scope: &Scope,
    today: NaiveDate,
    statuses: &[PersonStatus],
) -> StoreResult<Vec<Seeker>> {
    let communities = records::communities_in_scope(conn, scope)?;
    let statuses: Vec<String> = statuses
        .iter()
        .filter(|s| SEEKING.contains(s))
        .map(|s| s.to_string())
        .collect();
    let rows: Vec<PersonRow> = persons_index::table
        .filter(persons_index::community_id.eq_any(&communities))
        .filter(persons_index::deleted.eq(false))
        .filter(persons_index::status.eq_any(&statuses))
        .order(persons_index::id.asc())
        .select(PersonRow::as_select())
        .load(conn)?;
    // The records matching reads of each person (their own and their six clears,
    // referrals and placements), a few statements for them all.
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut under: HashMap<String, Vec<Record>> = HashMap::new();
    for chunk in ids.chunks(1000) {
        let keys: Vec<(Entity, &str)> = chunk.iter().map(|id| (Entity::Person, *id)).collect();
        for record in records::find_many(conn, &keys)? {
            under.entry(record.id.clone()).or_default().push(record);
        }
    }
    let children = records::live_children_of(
        conn,
        &ids,
        &[Entity::SixClears, Entity::Referral, Entity::Placement],
    )?;
    for record in children {
        if let Some(owner) = record.parent_id.clone() {
            under.entry(owner).or_default().push(record);
        }
    }
    let streets = streets_of(conn, &communities)?;
    let gps = last_gps(conn, Households::In(&communities))?;
    let mut seekers = Vec::with_capacity(rows.len());
    for row in &rows {
        let records = under.get(&row.id).map(Vec::as_slice).unwrap_or_default();
        let facts = Facts {
            person: records.iter().find(|r| r.entity == Entity::Person),
            children: records
                .iter()
                .filter(|r| r.entity != Entity::Person)
                .collect(),
            street: streets.get(&row.community_id).cloned(),
            gps: gps.get(&row.household_id).copied(),
        };
        if let Some(seeker) = facts.seeker(row, today)? {
            seekers.push(seeker);
        }
    }
    Ok(seekers)
}

/// What is known of one person, read from the store, before it becomes a [`Seeker`].
struct Facts<'a> {
    person: Option<&'a Record>,
    /// Their six clears, referrals and placements (other records are ignored).
    children: Vec<&'a Record>,
    street: Option<String>,
    gps: Option<(f64, f64)>,
}

impl Facts<'_> {
    fn seeker(&self, row: &PersonRow, today: NaiveDate) -> StoreResult<Option<Seeker>> {
        let status: Option<PersonStatus> = row.status.parse().ok();
        if !status.is_some_and(|s| SEEKING.contains(&s)) {
            return Ok(None);
        }
        let of = |entity: Entity| self.children.iter().filter(move |r| r.entity == entity);
        for placement in of(Entity::Placement) {
            let doc = placement.document()?;
            let ended = get_path(&doc, "ended_on")
                .and_then(Value::as_str)
                .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok());
            if ended.is_none_or(|end| end > today) {
                return Ok(None);
            }
        }
        let six = match of(Entity::SixClears).next() {
            Some(r) => r.document()?,
            None => Value::Null,
        };
        let person = match self.person {
            Some(r) => r.document()?,
            None => Value::Null,
        };
        let text = |doc: &Value, path: &str| {
            get_path(doc, path)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let list = |path: &str| -> Vec<String> {
            match get_path(&six, path) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            }
        };
        let mut declined = Vec::new();
        let mut referred = Vec::new();
        for referral in of(Entity::Referral) {
            let doc = referral.document()?;
            let Some(vacancy) = text(&doc, "vacancy_id") else {
                continue;
            };
            if text(&doc, "outcome").as_deref() == Some("declined") {
                declined.push(vacancy);
            } else {
                referred.push(vacancy);
            }
        }
        let categories = list("difficulty.categories");
        Ok(Some(Seeker {
            person_id: row.id.clone(),
            age: row.birth().map(|birth| age_on(birth, today)),
            education: text(&six, "basic.education")
                .or_else(|| text(&person, "education"))
                .as_deref()
                .and_then(education_rank),
            job_types: list("needs.job_types"),
            skills: list("basic.skills"),
            hours: text(&six, "needs.hours").and_then(|h| h.parse().ok()),
            expected_pay: get_path(&six, "needs.expected_pay").and_then(Value::as_i64),
            disabled: text(&six, "basic.health").as_deref() == Some("disabled")
                || categories.iter().any(|c| c == "disabled"),
            recognised: status == Some(PersonStatus::Recognised),
            tier: row
                .tier()
                .filter(|_| status == Some(PersonStatus::Recognised)),
            place: Place {
                community_id: Some(row.community_id.clone()),
                street_id: self.street.clone(),
                gps: self.gps,
            },
            declined,
            referred,
        }))
    }
}

/// Each household's position at its latest visit with a GPS fix: of one household, or of
/// every household of the communities.
enum Households<'a> {
    One(&'a str),
    In(&'a [String]),
}

fn last_gps(conn: &mut DbConn, of: Households<'_>) -> StoreResult<HashMap<String, (f64, f64)>> {
    let mut query = visits_index::table
        .filter(visits_index::deleted.eq(false))
        .filter(visits_index::latitude.is_not_null())
        .filter(visits_index::longitude.is_not_null())
        .order(visits_index::started_at.asc())
        .select((
            visits_index::household_id,
            visits_index::latitude,
            visits_index::longitude,
        ))
        .into_boxed();
    query = match of {
        Households::One(id) => query.filter(visits_index::household_id.eq(id)),
        Households::In(communities) => query.filter(visits_index::community_id.eq_any(communities)),
    };
    let rows: Vec<(String, Option<f64>, Option<f64>)> = query.load(conn)?;
    // In time order: a household's last fix stays.
    Ok(rows
        .into_iter()
        .filter_map(|(household, lat, lon)| Some((household, lat.zip(lon)?)))
        .collect())
}

/// The street of each community.
fn streets_of(conn: &mut DbConn, communities: &[String]) -> StoreResult<HashMap<String, String>> {
    let rows: Vec<(String, String)> = org_nodes::table
        .filter(org_nodes::id.eq_any(communities))
        .select((org_nodes::id, org_nodes::path))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, path)| org::street_in_path(&path).map(|street| (id, street)))
        .collect())
}

/// A match the nightly run proposes as a `job_match` task.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMatch {
    pub person_id: String,
    pub community_id: String,
    pub vacancy_id: String,
    pub title: String,
    pub score: u32,
    /// The reasons, in words, for the task's notes.
    pub reasons: String,
}

/// The nightly "new matches" (新匹配岗位) of `scope`: for each recognised person, the best
/// open vacancies of their own street (those their coordinator sees and may refer to)
/// scoring at least `min_score`, none ever proposed to them before (a `job_match` task in
/// any state), and only so many that no person holds more than `per_person` open match
/// tasks. Reads only; the caller raises the tasks.
pub fn new_matches(
    conn: &mut DbConn,
    scope: &Scope,
    cache: &VacancyCache,
    today: NaiveDate,
    min_score: u32,
    per_person: usize,
) -> StoreResult<Vec<NewMatch>> {
    if per_person == 0 {
        return Ok(Vec::new());
    }
    let all = vacancies(conn, scope, cache)?;
    let by_street = all.open_by_street(today);
    let communities = records::communities_in_scope(conn, scope)?;
    // The match tasks raised before: which pairs, and how many each person has open.
    let mut proposed: HashMap<String, HashSet<String>> = HashMap::new();
    let mut open: HashMap<String, usize> = HashMap::new();
    for task in records::live_rows_of_entity(conn, Entity::Task, &communities)? {
        let doc = records::parse_json("records.data (task)", &task.data)?;
        let text = |p| get_path(&doc, p).and_then(Value::as_str);
        if text("kind") != Some("job_match") {
            continue;
        }
        let (Some(person), Some(vacancy)) = (text("person_id"), text("vacancy_id")) else {
            continue;
        };
        if text("state") == Some("open") {
            *open.entry(person.to_string()).or_default() += 1;
        }
        proposed
            .entry(person.to_string())
            .or_default()
            .insert(vacancy.to_string());
    }
    let seekers = seekers_in_scope(conn, scope, today, &[PersonStatus::Recognised])?;
    let mut found = Vec::new();
    for seeker in &seekers {
        let room = per_person.saturating_sub(open.get(&seeker.person_id).copied().unwrap_or(0));
        let street = seeker.place.street_id.as_deref().unwrap_or_default();
        let Some(openings) = by_street.get(street).filter(|_| room > 0) else {
            continue;
        };
        let before = proposed.get(&seeker.person_id);
        let ranked = crate::domain::matching::vacancies_for(
            seeker,
            openings,
            today,
            room + before.map_or(0, HashSet::len),
        );
        let fresh = ranked.into_iter().filter(|r| {
            r.score >= min_score
                && !before.is_some_and(|b| b.contains(&openings[r.index].vacancy_id))
        });
        for r in fresh.take(room) {
            let job = &openings[r.index];
            found.push(NewMatch {
                person_id: seeker.person_id.clone(),
                community_id: seeker.place.community_id.clone().unwrap_or_default(),
                vacancy_id: job.vacancy_id.clone(),
                title: job.title.clone(),
                score: r.score,
                reasons: r
                    .factors
                    .iter()
                    .filter(|f| f.points > 0)
                    .map(|f| f.reason.text())
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
    }
    Ok(found)
}
