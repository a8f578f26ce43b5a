//! The job-development report (岗位开发): for each street of a scope, its employers and
//! how many were visited lately (employer coverage), its vacancies with their places and
//! fill rates, the referrals and hires they led to; and the gap list, the job seekers for
//! whom no open vacancy of their street reaches a suitable score (where job development
//! should look next).

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::domain::matching::{self, Exclusion};
use crate::entities::{get_path, Entity};
use crate::error::StoreResult;
use crate::matches::{self, VacancyCache};
use crate::org::OrgKind;
use crate::records;
use crate::scope::Scope;
use crate::tables::{org_nodes, persons_index};
use crate::time::Micros;
use crate::DbConn;

/// What the report reads against.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub today: NaiveDate,
    /// A visit this recent counts an employer as covered (the households' visit interval).
    pub covered_since: Micros,
    /// The least score that makes a vacancy suitable for a person.
    pub suitable_score: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct StreetJobs {
    pub street_id: String,
    pub name: String,
    pub employers: usize,
    /// Employers with a visit (单位走访) within the visit interval.
    pub employers_visited: usize,
    /// Approved vacancies, and those open today.
    pub vacancies: usize,
    pub open: usize,
    /// Places of the approved vacancies, and how many are filled.
    pub places: i64,
    pub filled: i64,
    /// Filled places per hundred (none without places).
    pub fill_rate: Option<u32>,
    pub referrals: usize,
    pub hired: usize,
}

/// One employer as the street's list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EmployerLine {
    pub employer_id: String,
    pub street_id: String,
    pub name: String,
    pub industry: Option<String>,
    /// Station staff checked its details.
    pub verified: bool,
    /// The newest visit (单位走访), and how many there were.
    pub last_visit_at: Option<chrono::DateTime<chrono::Utc>>,
    pub visits: usize,
    /// Approved vacancies, and those open today.
    pub vacancies: usize,
    pub open: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct VacancyLine {
    pub vacancy_id: String,
    pub street_id: String,
    pub employer_id: String,
    pub employer_name: String,
    pub title: String,
    pub job_type: String,
    pub public_welfare: bool,
    pub count: i64,
    pub filled: i64,
    pub fill_rate: Option<u32>,
    /// `open`, or why not: `not_approved`, `not_yet_open`, `closed`, `filled`.
    pub state: String,
    pub referrals: usize,
    pub hired: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub person_id: String,
    pub name: String,
    pub community_id: String,
    pub status: String,
    /// What they want to do (six clears).
    pub job_types: Vec<String>,
    /// The best score an open vacancy of their street reaches (none: no vacancy open to
    /// them at all).
    pub best_score: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub as_of: NaiveDate,
    pub suitable_score: u32,
    pub streets: Vec<StreetJobs>,
    /// By street, then name.
    pub employers: Vec<EmployerLine>,
    pub vacancies: Vec<VacancyLine>,
    /// Job seekers with no suitable vacancy, lowest best score first.
    pub gaps: Vec<Gap>,
}

fn rate(filled: i64, places: i64) -> Option<u32> {
    (places > 0).then(|| (filled.clamp(0, places) * 100 / places) as u32)
}

/// The report for the streets and communities of `scope`.
pub fn job_report(
    conn: &mut DbConn,
    scope: &Scope,
    cache: &VacancyCache,
    rules: Rules,
) -> StoreResult<JobReport> {
    let partitions = records::partitions_in_scope(conn, scope)?;
    let streets: Vec<(String, String)> = org_nodes::table
        .filter(org_nodes::id.eq_any(&partitions))
        .filter(org_nodes::kind.eq(OrgKind::Street))
        .order(org_nodes::name.asc())
        .select((org_nodes::id, org_nodes::name))
        .load(conn)?;
    let street_ids: Vec<String> = streets.iter().map(|(id, _)| id.clone()).collect();
    let communities = records::communities_in_scope(conn, scope)?;

    let mut employers: HashMap<String, (String, String)> = HashMap::new();
    let mut employer_lines: Vec<EmployerLine> = Vec::new();
    for row in records::live_rows_of_entity(conn, Entity::Employer, &street_ids)? {
        let doc = records::parse_json("records.data (employer)", &row.data)?;
        let name = text(&doc, "name").unwrap_or_default().to_string();
        employer_lines.push(EmployerLine {
            employer_id: row.id.clone(),
            street_id: row.community_id.clone(),
            name: name.clone(),
            industry: text(&doc, "industry").map(str::to_string),
            verified: get_path(&doc, "verified") == Some(&Value::Bool(true)),
            last_visit_at: None,
            visits: 0,
            vacancies: 0,
            open: 0,
        });
        employers.insert(row.id, (row.community_id, name));
    }
    let mut visited: std::collections::HashSet<String> = Default::default();
    // Per employer: the number of visits and the newest.
    let mut visits: HashMap<String, (usize, Micros)> = HashMap::new();
    for visit in records::live_of_entity(conn, Entity::EmployerVisit, &street_ids)? {
        let doc = visit.document()?;
        let at = text(&doc, "visited_at")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or(visit.created_at, |t| t.timestamp_micros());
        if let Some(employer) = &visit.parent_id {
            let seen = visits.entry(employer.clone()).or_insert((0, at));
            seen.0 += 1;
            seen.1 = seen.1.max(at);
        }
        if at >= rules.covered_since {
            visited.extend(visit.parent_id);
        }
    }
    // Referrals of the scope's persons, by vacancy: (all, hired).
    let mut referred: HashMap<String, (usize, usize)> = HashMap::new();
    for row in records::live_rows_of_entity(conn, Entity::Referral, &communities)? {
        let doc = records::parse_json("records.data (referral)", &row.data)?;
        if let Some(vacancy) = text(&doc, "vacancy_id") {
            let counts = referred.entry(vacancy.to_string()).or_default();
            counts.0 += 1;
            counts.1 += usize::from(text(&doc, "outcome") == Some("hired"));
        }
    }

    let all = matches::vacancies(conn, scope, cache)?;
    let mut lines: Vec<VacancyLine> = all
        .all()
        .map(|job| {
            let (refs, hired) = referred.get(&job.vacancy_id).copied().unwrap_or_default();
            VacancyLine {
                vacancy_id: job.vacancy_id.clone(),
                street_id: job.place.street_id.clone().unwrap_or_default(),
                employer_id: job.employer_id.clone(),
                employer_name: employers
                    .get(&job.employer_id)
                    .map(|e| e.1.clone())
                    .unwrap_or_default(),
                title: job.title.clone(),
                job_type: job.job_type.clone(),
                public_welfare: job.public_welfare,
                count: job.count,
                filled: job.filled,
                fill_rate: rate(job.filled, job.count),
                state: match job.open_on(rules.today) {
                    Ok(()) => "open".to_string(),
                    Err(why) => why.to_string(),
                },
                referrals: refs,
                hired,
            }
        })
        .collect();
    lines.sort_by(|a, b| {
        (&a.street_id, &a.employer_name, &a.title, &a.vacancy_id).cmp(&(
            &b.street_id,
            &b.employer_name,
            &b.title,
            &b.vacancy_id,
        ))
    });

    // Per employer: approved vacancies, and those open.
    let mut offered: HashMap<&str, (usize, usize)> = HashMap::new();
    for l in lines
        .iter()
        .filter(|l| l.state != Exclusion::NotApproved.to_string())
    {
        let counts = offered.entry(l.employer_id.as_str()).or_default();
        counts.0 += 1;
        counts.1 += usize::from(l.state == "open");
    }
    for line in &mut employer_lines {
        if let Some((count, newest)) = visits.get(&line.employer_id) {
            line.visits = *count;
            line.last_visit_at = chrono::DateTime::from_timestamp_micros(*newest);
        }
        (line.vacancies, line.open) = offered
            .get(line.employer_id.as_str())
            .copied()
            .unwrap_or_default();
    }
    employer_lines.sort_by(|a, b| {
        (&a.street_id, &a.name, &a.employer_id).cmp(&(&b.street_id, &b.name, &b.employer_id))
    });

    let street_rows = streets
        .iter()
        .map(|(id, name)| {
            let of_street = |e: &&(String, String)| e.0 == *id;
            let approved: Vec<&VacancyLine> = lines
                .iter()
                .filter(|l| l.street_id == *id && l.state != Exclusion::NotApproved.to_string())
                .collect();
            let places = approved.iter().map(|l| l.count).sum();
            let filled = approved.iter().map(|l| l.filled.min(l.count)).sum();
            StreetJobs {
                street_id: id.clone(),
                name: name.clone(),
                employers: employers.values().filter(of_street).count(),
                employers_visited: employers
                    .iter()
                    .filter(|(e, at)| of_street(at) && visited.contains(*e))
                    .count(),
                vacancies: approved.len(),
                open: approved.iter().filter(|l| l.state == "open").count(),
                places,
                filled,
                fill_rate: rate(filled, places),
                referrals: approved.iter().map(|l| l.referrals).sum(),
                hired: approved.iter().map(|l| l.hired).sum(),
            }
        })
        .collect();

    // The gap list: seekers whose street has no open vacancy suitable for them.
    let by_street = all.open_by_street(rules.today);
    let seekers = matches::seekers_in_scope(conn, scope, rules.today, &matches::SEEKING)?;
    let mut gaps = Vec::new();
    for seeker in &seekers {
        let street = seeker.place.street_id.as_deref().unwrap_or_default();
        let openings = by_street.get(street).map(Vec::as_slice).unwrap_or_default();
        let best = matching::vacancies_for(seeker, openings, rules.today, 1)
            .first()
            .map(|r| r.score);
        if best.is_some_and(|s| s >= rules.suitable_score) {
            continue;
        }
        gaps.push((seeker, best));
    }
    let ids: Vec<&str> = gaps.iter().map(|(s, _)| s.person_id.as_str()).collect();
    let mut rows: HashMap<String, (String, String)> = HashMap::new();
    for chunk in ids.chunks(1000) {
        let found: Vec<(String, String, String)> = persons_index::table
            .filter(persons_index::id.eq_any(chunk))
            .select((
                persons_index::id,
                persons_index::name,
                persons_index::status,
            ))
            .load(conn)?;
        rows.extend(
            found
                .into_iter()
                .map(|(id, name, status)| (id, (name, status))),
        );
    }
    let mut gaps: Vec<Gap> = gaps
        .into_iter()
        .map(|(seeker, best)| {
            let (name, status) = rows.get(&seeker.person_id).cloned().unwrap_or_default();
            Gap {
                person_id: seeker.person_id.clone(),
                name,
                community_id: seeker.place.community_id.clone().unwrap_or_default(),
                status,
                job_types: seeker.job_types.clone(),
                best_score: best,
            }
        })
        .collect();
    gaps.sort_by(|a, b| {
        (a.best_score, &a.community_id, &a.name, &a.person_id).cmp(&(
            b.best_score,
            &b.community_id,
            &b.name,
            &b.person_id,
        ))
    });
    Ok(JobReport {
        as_of: rules.today,
        suitable_score: rules.suitable_score,
        streets: street_rows,
        employers: employer_lines,
        vacancies: lines,
        gaps,
    })
}

fn text<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    get_path(doc, path).and_then(Value::as_str)
}

/// One employer's file (单位档案): its visits (newest first), its vacancies, and the
/// placements with it of the scope's persons (newest first), each with the person.
#[derive(Debug, Clone)]
pub struct EmployerFile {
    pub employer: records::Record,
    pub visits: Vec<records::Record>,
    pub vacancies: Vec<records::Record>,
    pub placements: Vec<(records::Record, Option<crate::casefile::PersonRow>)>,
}

/// The file of `employer`, which the caller has found in `scope`.
pub fn employer_file(
    conn: &mut DbConn,
    scope: &Scope,
    employer: records::Record,
) -> StoreResult<EmployerFile> {
    let mut visits = crate::casefile::children_of(conn, &employer.id, Entity::EmployerVisit)?;
    let visited_at = |r: &records::Record| -> StoreResult<Option<String>> {
        Ok(text(&r.document()?, "visited_at").map(str::to_string))
    };
    let mut keyed = Vec::with_capacity(visits.len());
    for visit in visits.drain(..) {
        keyed.push((visited_at(&visit)?, visit));
    }
    keyed.sort_by(|a, b| b.0.cmp(&a.0));
    let visits = keyed.into_iter().map(|(_, v)| v).collect();
    let vacancies = crate::casefile::children_of(conn, &employer.id, Entity::Vacancy)?;

    let communities = records::communities_in_scope(conn, scope)?;
    let mut placed = Vec::new();
    for placement in records::live_of_entity(conn, Entity::Placement, &communities)? {
        let doc = placement.document()?;
        if text(&doc, "employer_id") == Some(employer.id.as_str()) {
            let started = text(&doc, "started_on").unwrap_or_default().to_string();
            placed.push((started, placement));
        }
    }
    placed.sort_by(|a, b| b.0.cmp(&a.0));
    let ids: Vec<&str> = placed
        .iter()
        .filter_map(|(_, p)| p.parent_id.as_deref())
        .collect();
    let mut persons: HashMap<String, crate::casefile::PersonRow> = HashMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<crate::casefile::PersonRow> = persons_index::table
            .filter(persons_index::id.eq_any(chunk))
            .select(crate::casefile::PersonRow::as_select())
            .load(conn)?;
        persons.extend(rows.into_iter().map(|p| (p.id.clone(), p)));
    }
    let placements = placed
        .into_iter()
        .map(|(_, p)| {
            let person = p.parent_id.as_ref().and_then(|id| persons.get(id)).cloned();
            (p, person)
        })
        .collect();
    Ok(EmployerFile {
        employer,
        visits,
        vacancies,
        placements,
    })
}
