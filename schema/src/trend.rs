//! Month-by-month trends for supervisors: coverage and households reached, recognitions,
//! exits and placements, and zero-employment households open at each month's end, for a
//! range of station-local months, for the area and (optionally) each of its streets,
//! stations or communities. The definitions are the coverage and cases reports': a month
//! here counts what those reports count for that month.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use diesel::dsl::min;
use diesel::prelude::*;
use serde::Serialize;

use crate::coverage::{Area, GroupBy, GroupKey, Settings};
use crate::domain::follow_ups::is_placement;
use crate::domain::zero_employment::still_open_at;
use crate::domain::ExitReason;
use crate::entities::{get_path, Entity};
use crate::error::StoreResult;
use crate::records;
use crate::tables::{records as records_table, visits_index};
use crate::time::Micros;
use crate::DbConn;

const CHUNK: usize = 5_000;

/// One month of one series.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    pub households: u64,
    pub reached: u64,
    pub coverage: Option<f64>,
    pub recognitions: u64,
    pub exits: u64,
    pub placements: u64,
    pub zero_employment_open: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub group: GroupKey,
    pub months: Vec<Month>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub rows: Vec<Series>,
    pub total: Series,
}

/// A station-local month, as instants and days.
#[derive(Debug, Clone, Copy)]
struct Span {
    first: NaiveDate,
    last: NaiveDate,
    start: Micros,
    /// The next month's start, or now if sooner.
    end: Micros,
}

/// The months from `first` to `last` (both the first of their month).
fn spans(settings: &Settings, first: NaiveDate, last: NaiveDate, now: Micros) -> Vec<Span> {
    let mut out = Vec::new();
    let mut m = first;
    while m <= last {
        let next = m + chrono::Months::new(1);
        out.push(Span {
            first: m,
            last: next.pred_opt().unwrap_or(m),
            start: settings.start_of(m),
            end: settings.start_of(next).min(now),
        });
        m = next;
    }
    out
}

/// The trend over the months `first` ..= `last` (firsts of months).
pub fn trend(
    conn: &mut DbConn,
    area: &Area,
    settings: &Settings,
    first: NaiveDate,
    last: NaiveDate,
    group_by: Option<GroupBy>,
    now: Micros,
) -> StoreResult<Trend> {
    let months = spans(settings, first, last, now);
    let today = settings.day_of(now);
    let ids = area.community_ids();
    let group: HashMap<String, Option<GroupKey>> = area
        .communities()
        .iter()
        .map(|c| (c.id.clone(), group_by.and_then(|g| area.group_of(c, g))))
        .collect();
    let mut series: BTreeMap<GroupKey, Vec<Month>> = group
        .values()
        .flatten()
        .map(|k| (k.clone(), blank(&months)))
        .collect();
    let mut total = blank(&months);
    let (Some(begin), Some(end)) = (
        months.first().map(|m| m.start),
        months.last().map(|m| m.end),
    ) else {
        return Ok(Trend {
            rows: Vec::new(),
            total: Series {
                group: area.total_key(),
                months: total,
            },
        });
    };
    // Adds `f` to month `i` of the total and of the community's series.
    let mut add = |community: &str, i: usize, f: &dyn Fn(&mut Month)| {
        f(&mut total[i]);
        if let Some(s) = group
            .get(community)
            .and_then(|k| k.as_ref())
            .and_then(|k| series.get_mut(k))
        {
            f(&mut s[i]);
        }
    };

    // Households in the files at each month's end: created (or first visited) before it,
    // not deleted by then.
    // Household → (community, in the files from, deleted at).
    let mut known: HashMap<String, (String, Micros, Option<Micros>)> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, String, Micros, bool, Micros)> = records_table::table
            .filter(records_table::entity.eq(Entity::Household.as_str()))
            .filter(records_table::community_id.eq_any(chunk))
            .select((
                records_table::id,
                records_table::community_id,
                records_table::created_at,
                records_table::deleted,
                records_table::updated_at,
            ))
            .load(conn)?;
        let first_visits: HashMap<String, Micros> = visits_index::table
            .filter(visits_index::community_id.eq_any(chunk))
            .group_by(visits_index::household_id)
            .select((visits_index::household_id, min(visits_index::started_at)))
            .load::<(String, Option<Micros>)>(conn)?
            .into_iter()
            .filter_map(|(h, at)| Some((h, at?)))
            .collect();
        for (id, community, created, deleted, updated) in rows {
            let since = first_visits.get(&id).map_or(created, |v| created.min(*v));
            for (i, m) in months.iter().enumerate() {
                if since < m.end && (!deleted || updated >= m.end) {
                    add(&community, i, &|x| x.households += 1);
                }
            }
            known.insert(id, (community, since, deleted.then_some(updated)));
        }
    }

    // Households reached in each month.
    let mut reached: Vec<HashSet<String>> = vec![HashSet::new(); months.len()];
    for chunk in ids.chunks(CHUNK) {
        let met: Vec<(String, Micros)> = visits_index::table
            .filter(visits_index::community_id.eq_any(chunk))
            .filter(visits_index::outcome.eq("met"))
            .filter(visits_index::deleted.eq(false))
            .filter(visits_index::started_at.ge(begin))
            .filter(visits_index::started_at.lt(end))
            .select((visits_index::household_id, visits_index::started_at))
            .load(conn)?;
        for (household, at) in met {
            if let Some(i) = months.iter().position(|m| at >= m.start && at < m.end) {
                reached[i].insert(household);
            }
        }
    }
    for (i, households) in reached.iter().enumerate() {
        let end = months[i].end;
        for h in households {
            match known.get(h) {
                // Only a household in the files at the month's end, as its count.
                Some((c, since, gone)) if *since < end && gone.is_none_or(|g| g >= end) => {
                    add(c, i, &|x| x.reached += 1)
                }
                _ => {}
            }
        }
    }

    let month_of = |d: NaiveDate| months.iter().position(|m| d >= m.first && d <= m.last);
    let day = |doc: &serde_json::Value, path: &str| {
        get_path(doc, path)
            .and_then(|v| v.as_str())
            .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
    };
    for r in records::live_of_entity(conn, Entity::Recognition, &ids)? {
        let doc = r.document()?;
        if get_path(&doc, "state").and_then(|v| v.as_str()) != Some("recognised") {
            continue;
        }
        if let Some(i) = day(&doc, "decided_on").and_then(month_of) {
            add(&r.community_id, i, &|x| x.recognitions += 1);
        }
    }
    for e in records::live_of_entity(conn, Entity::Exit, &ids)? {
        let doc = e.document()?;
        let Some(i) = day(&doc, "exit_on").and_then(month_of) else {
            continue;
        };
        let placed = get_path(&doc, "reason")
            .and_then(|v| v.as_str())
            .and_then(|r| r.parse::<ExitReason>().ok())
            .is_some_and(is_placement);
        add(&e.community_id, i, &|x| {
            x.exits += 1;
            x.placements += u64::from(placed);
        });
    }
    for (community, found, cleared) in crate::cases::zero_employment_of(conn, &ids)? {
        for (i, m) in months.iter().enumerate() {
            if still_open_at(found, cleared, m.last.min(today)) {
                add(&community, i, &|x| x.zero_employment_open += 1);
            }
        }
    }
    let finish = |mut months: Vec<Month>| {
        for m in &mut months {
            m.coverage = (m.households > 0)
                .then(|| (m.reached as f64 / m.households as f64 * 10_000.0).round() / 10_000.0);
        }
        months
    };
    Ok(Trend {
        rows: series
            .into_iter()
            .map(|(group, months)| Series {
                group,
                months: finish(months),
            })
            .collect(),
        total: Series {
            group: area.total_key(),
            months: finish(total),
        },
    })
}

fn blank(months: &[Span]) -> Vec<Month> {
    months
        .iter()
        .map(|m| Month {
            month: format!("{:04}-{:02}", m.first.year(), m.first.month()),
            ..Month::default()
        })
        .collect()
}
