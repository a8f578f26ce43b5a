//! Obligations and cases for supervisors (援助工作进展): applications by state, overdue
//! initial reviews, recognitions in a period and how long they took, recognised persons
//! by tier and by how their "131" obligations stand, exits and placements, and the
//! zero-employment households found and cleared, per street, station or community.
//! Counted from `records` and the projections within the caller's communities.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use crate::coverage::{Area, GroupBy, GroupKey, Period};
use crate::domain::follow_ups::is_placement;
use crate::domain::recognition::initial_review_due;
use crate::domain::zero_employment::{cleared_within_month, still_open_at};
use crate::domain::{obligations, ExitReason, ObligationState, ServiceKind, WorkCalendar};
use crate::entities::{get_path, Entity};
use crate::error::StoreResult;
use crate::records;
use crate::tables::{households_index, persons_index};
use crate::DbConn;

/// What the report reads beyond the period.
pub struct Rules {
    pub calendar: WorkCalendar,
    pub initial_review_working_days: u32,
    /// The day states are counted at: the period's last, or today if sooner.
    pub at: NaiveDate,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ByState {
    pub received: u64,
    pub preliminary_review: u64,
    pub publicity: u64,
    pub recognised: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ByTier {
    #[serde(rename = "I")]
    pub one: u64,
    #[serde(rename = "II")]
    pub two: u64,
    #[serde(rename = "III")]
    pub three: u64,
    /// Recognised, not yet assessed.
    pub none: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ByObligation {
    pub done: u64,
    pub on_track: u64,
    pub overdue: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ZeroEmployment {
    /// Found in the period.
    pub found: u64,
    /// Of those, cleared within the month they were found (当月清零).
    pub cleared_within_month: u64,
    /// Open at the period's end.
    pub open: u64,
}

/// One row (`CasesRow` in openapi.yaml).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CasesRow {
    pub group: GroupKey,
    /// Every application, by the state it is in now.
    pub applications: ByState,
    pub overdue_initial_reviews: u64,
    /// Recognised (认定) in the period.
    pub recognised_in_period: u64,
    /// Median working days from 受理 to 认定 of those.
    pub median_working_days_to_recognition: Option<f64>,
    /// Persons recognised now, by tier.
    pub recognised_persons: ByTier,
    /// Of those assessed, how their obligations stand at the period's end.
    pub obligations: ByObligation,
    pub exits_in_period: u64,
    pub exits_by_reason: BTreeMap<String, u64>,
    /// Exits for a job or a business in the period (上岗).
    pub placements_in_period: u64,
    pub zero_employment: ZeroEmployment,
    #[serde(skip)]
    days: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cases {
    pub rows: Vec<CasesRow>,
    pub total: CasesRow,
}

fn date(doc: &serde_json::Value, path: &str) -> Option<NaiveDate> {
    get_path(doc, path)
        .and_then(|v| v.as_str())
        .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
}

fn text<'a>(doc: &'a serde_json::Value, path: &str) -> Option<&'a str> {
    get_path(doc, path).and_then(|v| v.as_str())
}

/// The cases report: one row per group of `group_by` (street, station or community) and
/// the total.
pub fn cases(
    conn: &mut DbConn,
    area: &Area,
    period: Period,
    rules: &Rules,
    group_by: GroupBy,
) -> StoreResult<Cases> {
    let ids = area.community_ids();
    let group: HashMap<&str, Option<GroupKey>> = area
        .communities()
        .iter()
        .map(|c| (c.id.as_str(), area.group_of(c, group_by)))
        .collect();
    let mut rows: BTreeMap<GroupKey, CasesRow> = group
        .values()
        .flatten()
        .map(|k| (k.clone(), CasesRow::default()))
        .collect();
    let mut total = CasesRow::default();
    // Each figure goes to the total and to its community's row.
    let mut count = |community: &str, f: &dyn Fn(&mut CasesRow)| {
        f(&mut total);
        if let Some(row) = group
            .get(community)
            .and_then(|k| k.as_ref())
            .and_then(|k| rows.get_mut(k))
        {
            f(row);
        }
    };
    let within = |d: NaiveDate| (period.from..=period.to).contains(&d);

    for r in records::live_of_entity(conn, Entity::Recognition, &ids)? {
        let doc = r.document()?;
        let state = text(&doc, "state").unwrap_or("received");
        let received = date(&doc, "received_on");
        let overdue = matches!(state, "received" | "preliminary_review")
            && received.is_some_and(|d| {
                rules.at > initial_review_due(d, rules.initial_review_working_days, &rules.calendar)
            });
        let decided = date(&doc, "decided_on").filter(|d| state == "recognised" && within(*d));
        let took = match (received, decided) {
            (Some(from), Some(to)) => {
                Some(f64::from(rules.calendar.working_days_between(from, to)))
            }
            _ => None,
        };
        count(&r.community_id, &|row| {
            let a = &mut row.applications;
            match state {
                "preliminary_review" => a.preliminary_review += 1,
                "publicity" => a.publicity += 1,
                "recognised" => a.recognised += 1,
                "rejected" => a.rejected += 1,
                _ => a.received += 1,
            }
            if overdue {
                row.overdue_initial_reviews += 1;
            }
            if decided.is_some() {
                row.recognised_in_period += 1;
            }
            if let Some(days) = took {
                row.days.push(days);
            }
        });
    }

    // Recognised persons, and the services they were given.
    let mut delivered: HashMap<String, Vec<(ServiceKind, NaiveDate)>> = HashMap::new();
    for entity in crate::casefile::DELIVERING {
        for s in records::live_of_entity(conn, entity, &ids)? {
            if let (Some(delivery), Some(person)) = (
                crate::casefile::delivery(entity, &s.document()?),
                s.parent_id,
            ) {
                delivered.entry(person).or_default().push(delivery);
            }
        }
    }
    let recognised: Vec<(String, String, Option<String>, Option<String>)> = persons_index::table
        .filter(persons_index::community_id.eq_any(&ids))
        .filter(persons_index::deleted.eq(false))
        .filter(persons_index::status.eq("recognised"))
        .select((
            persons_index::id,
            persons_index::community_id,
            persons_index::tier,
            persons_index::assessed_on,
        ))
        .load(conn)?;
    let none = Vec::new();
    for (person, community, tier, assessed) in recognised {
        let tier = tier.and_then(|t| t.parse::<crate::domain::Tier>().ok());
        let assessed = assessed.and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok());
        let state = match (tier, assessed) {
            (Some(tier), Some(on)) => {
                Some(obligations(tier, on, delivered.get(&person).unwrap_or(&none), rules.at).state)
            }
            _ => None,
        };
        count(&community, &|row| {
            let t = &mut row.recognised_persons;
            match tier.map(|t| t.as_str()) {
                Some("I") => t.one += 1,
                Some("II") => t.two += 1,
                Some("III") => t.three += 1,
                _ => t.none += 1,
            }
            let o = &mut row.obligations;
            match state {
                Some(ObligationState::Done) => o.done += 1,
                Some(ObligationState::OnTrack) => o.on_track += 1,
                Some(ObligationState::Overdue) => o.overdue += 1,
                None => {}
            }
        });
    }

    for e in records::live_of_entity(conn, Entity::Exit, &ids)? {
        let doc = e.document()?;
        if !date(&doc, "exit_on").is_some_and(within) {
            continue;
        }
        let reason = text(&doc, "reason").unwrap_or_default().to_string();
        let placed = reason.parse::<ExitReason>().is_ok_and(is_placement);
        count(&e.community_id, &|row| {
            row.exits_in_period += 1;
            *row.exits_by_reason.entry(reason.clone()).or_default() += 1;
            if placed {
                row.placements_in_period += 1;
            }
        });
    }

    let households = zero_employment_of(conn, &ids)?;
    for (community, found, cleared) in households {
        let found_now = within(found);
        let in_month = found_now && cleared_within_month(found, cleared) == Some(true);
        let open = still_open_at(found, cleared, rules.at);
        count(&community, &|row| {
            let z = &mut row.zero_employment;
            z.found += u64::from(found_now);
            z.cleared_within_month += u64::from(in_month);
            z.open += u64::from(open);
        });
    }

    let finish = |mut row: CasesRow, key: GroupKey| {
        row.median_working_days_to_recognition = crate::domain::visit_flags::median(&mut row.days);
        row.group = key;
        row
    };
    Ok(Cases {
        rows: rows.into_iter().map(|(k, r)| finish(r, k)).collect(),
        total: finish(total, area.total_key()),
    })
}

/// The households of `communities` ever found zero-employment: (community, found on,
/// cleared on).
pub(crate) fn zero_employment_of(
    conn: &mut DbConn,
    communities: &[String],
) -> StoreResult<Vec<(String, NaiveDate, Option<NaiveDate>)>> {
    let rows: Vec<(String, Option<String>, Option<String>)> = households_index::table
        .filter(households_index::community_id.eq_any(communities))
        .filter(households_index::deleted.eq(false))
        .filter(households_index::zero_employment_found_on.is_not_null())
        .select((
            households_index::community_id,
            households_index::zero_employment_found_on,
            households_index::zero_employment_cleared_on,
        ))
        .load(conn)?;
    let parse = |t: Option<String>| t.and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok());
    Ok(rows
        .into_iter()
        .filter_map(|(c, found, cleared)| Some((c, parse(found)?, parse(cleared))))
        .collect())
}
