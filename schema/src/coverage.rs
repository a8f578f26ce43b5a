//! Visit coverage for supervisors (走访覆盖): for a period of station-local days and a part of
//! the org tree, how many households there were, how many a coordinator reached, which are
//! due a visit, how complete the six clears are, and which visits look unreal. Everything
//! is counted from the projections (`visits_index`, `persons_index`) and `records`, inside
//! the communities the caller may see.
//!
//! A visit counts in the period it was made (`started_at`), not the one it was synced in: a
//! visit made offline last month and pushed today changes last month's figures. Each answer
//! says when it was computed (`as_of`).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use diesel::dsl::{count_star, exists, max};
use diesel::prelude::*;
use serde::Serialize;

use crate::domain::visit_flags::{self, Flag, Flagged, Thresholds, VisitFix};
use crate::domain::Role;
use crate::entities::Entity;
use crate::error::StoreResult;
use crate::org::{OrgKind, OrgNode};
use crate::tables::{
    households_index, org_nodes, persons_index, records, user_org_nodes, users, visits_index,
};
use crate::time::Micros;
use crate::DbConn;

const DAY: Micros = 86_400_000_000;
/// Lists of ids go to the database in chunks well under both backends' bind limits.
const CHUNK: usize = 5_000;

/// The deployment's settings the report reads.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub utc_offset_minutes: i32,
    /// A household not reached for this many days is due a visit.
    pub visit_interval_days: u32,
    /// Six clears not updated for this many days are stale.
    pub six_clears_stale_days: u32,
    pub flags: Thresholds,
}

impl Settings {
    /// The instant a station-local day starts.
    pub fn start_of(&self, day: NaiveDate) -> Micros {
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        midnight.timestamp_micros() - i64::from(self.utc_offset_minutes) * 60_000_000
    }

    /// The station-local day of an instant.
    pub fn day_of(&self, at: Micros) -> NaiveDate {
        let local = at + i64::from(self.utc_offset_minutes) * 60_000_000;
        chrono::DateTime::from_timestamp_micros(local)
            .unwrap_or_default()
            .date_naive()
    }
}

/// A period of station-local days, `from` to `to` inclusive, as instants: `end` is the
/// start of the day after `to`, or now if that is sooner (a period is counted up to now).
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub start: Micros,
    pub end: Micros,
}

impl Period {
    pub fn new(settings: &Settings, from: NaiveDate, to: NaiveDate, now: Micros) -> Period {
        let end = settings.start_of(to + chrono::Days::new(1)).min(now);
        Period {
            from,
            to,
            start: settings.start_of(from),
            end,
        }
    }

    /// The station-local month holding `today`.
    pub fn month_of(settings: &Settings, today: NaiveDate, now: Micros) -> Period {
        let from = today.with_day(1).unwrap_or(today);
        let to = (from + chrono::Months::new(1)).pred_opt().unwrap_or(from);
        Period::new(settings, from, to, now)
    }
}

crate::text_enum! {
    /// How the rows of a report are grouped.
    pub enum GroupBy {
        Street = "street",
        Station = "station",
        Community = "community",
        /// The user who made the visits (households: those of the communities they serve).
        Coordinator = "coordinator",
    }
}

/// What a row counts: an org node, or a user.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GroupKey {
    pub kind: String,
    pub id: String,
    pub name: String,
}

/// The communities a report counts, with the org nodes above them.
pub struct Area {
    /// The node the report is for (`None`: the caller's whole scope).
    pub node: Option<OrgNode>,
    communities: Vec<OrgNode>,
    nodes: HashMap<String, OrgNode>,
}

impl Area {
    /// The communities under `node` (already checked to be in scope), or, without one, the
    /// communities of `in_scope` (ids the caller may see).
    pub fn load(
        conn: &mut DbConn,
        node: Option<OrgNode>,
        in_scope: &[String],
    ) -> StoreResult<Area> {
        let all: Vec<OrgNode> = org_nodes::table.select(OrgNode::as_select()).load(conn)?;
        let allowed: HashSet<&str> = in_scope.iter().map(String::as_str).collect();
        let communities = all
            .iter()
            .filter(|n| n.kind == OrgKind::Community && allowed.contains(n.id.as_str()))
            .filter(|n| {
                node.as_ref()
                    .is_none_or(|top| n.path.starts_with(&top.path))
            })
            .cloned()
            .collect();
        Ok(Area {
            node,
            communities,
            nodes: all.into_iter().map(|n| (n.id.clone(), n)).collect(),
        })
    }

    pub fn community_ids(&self) -> Vec<String> {
        self.communities.iter().map(|c| c.id.clone()).collect()
    }

    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.nodes.get(id).map(|n| n.name.as_str())
    }

    /// The node of `kind` above (or at) a community.
    fn ancestor(&self, community: &OrgNode, kind: OrgKind) -> Option<&OrgNode> {
        community
            .path
            .split('/')
            .filter_map(|id| self.nodes.get(id))
            .find(|n| n.kind == kind)
    }

    /// The communities by station, each in name order: a ledger's sheets.
    pub fn by_station(&self) -> Vec<(OrgNode, Vec<OrgNode>)> {
        let mut stations: BTreeMap<(String, String), (OrgNode, Vec<OrgNode>)> = BTreeMap::new();
        for c in &self.communities {
            let Some(station) = self.ancestor(c, OrgKind::Station) else {
                continue;
            };
            stations
                .entry((station.name.clone(), station.id.clone()))
                .or_insert_with(|| (station.clone(), Vec::new()))
                .1
                .push(c.clone());
        }
        stations
            .into_values()
            .map(|(s, mut cs)| {
                cs.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
                (s, cs)
            })
            .collect()
    }

    /// The row a community's figures count in, for a grouping by org node (`None` for
    /// [`GroupBy::Coordinator`], whose rows are users).
    pub fn group_of(&self, community: &OrgNode, group_by: GroupBy) -> Option<GroupKey> {
        let kind = match group_by {
            GroupBy::Street => OrgKind::Street,
            GroupBy::Station => OrgKind::Station,
            GroupBy::Community => OrgKind::Community,
            GroupBy::Coordinator => return None,
        };
        self.ancestor(community, kind).map(node_key)
    }

    /// The communities counted, in no particular order.
    pub fn communities(&self) -> &[OrgNode] {
        &self.communities
    }

    /// The key a report's total row carries.
    pub fn total_key(&self) -> GroupKey {
        match &self.node {
            Some(n) => node_key(n),
            None => GroupKey {
                kind: "scope".into(),
                id: String::new(),
                name: "全部".into(),
            },
        }
    }
}

fn node_key(n: &OrgNode) -> GroupKey {
    GroupKey {
        kind: n.kind.as_str().into(),
        id: n.id.clone(),
        name: n.name.clone(),
    }
}

/// How many visits of each kind were flagged.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FlagCounts {
    /// Visits with at least one flag.
    pub visits: u64,
    pub far: u64,
    pub short: u64,
    pub simultaneous: u64,
}

/// One row of the coverage report (`CoverageRow` in openapi.yaml).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageRow {
    pub group: GroupKey,
    /// Households in the case files at the period's end.
    pub households: u64,
    /// Households with a `met` visit in the period.
    pub reached: u64,
    /// Households visited but not reached, by the outcome of their last visit.
    pub not_home: u64,
    pub refused: u64,
    pub moved: u64,
    /// reached / households (absent when there are no households).
    pub coverage: Option<f64>,
    /// Households not reached within `visit_interval_days` up to the period's end.
    pub due: u64,
    /// Of those, never reached at all.
    pub never_reached: u64,
    /// The oldest last `met` visit among the due households that have one.
    pub oldest_last_reached_on: Option<NaiveDate>,
    /// Persons in the case files who have not exited (as of now).
    pub persons: u64,
    pub six_clears_complete: u64,
    /// Persons whose six clears were not updated within `six_clears_stale_days` (or who
    /// have none).
    pub six_clears_stale: u64,
    pub visits: u64,
    pub median_minutes: Option<f64>,
    /// Share of the period's visits with a GPS position.
    pub gps_share: Option<f64>,
    pub flagged: FlagCounts,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    pub rows: Vec<CoverageRow>,
    pub total: CoverageRow,
}

/// The columns of a [`VisitRow`], in its order.
const VISIT_COLUMNS: (
    visits_index::id,
    visits_index::community_id,
    visits_index::household_id,
    visits_index::user_id,
    visits_index::device_id,
    visits_index::started_at,
    visits_index::ended_at,
    visits_index::outcome,
    visits_index::latitude,
    visits_index::longitude,
) = (
    visits_index::id,
    visits_index::community_id,
    visits_index::household_id,
    visits_index::user_id,
    visits_index::device_id,
    visits_index::started_at,
    visits_index::ended_at,
    visits_index::outcome,
    visits_index::latitude,
    visits_index::longitude,
);

/// A period visit with what the report needs of it.
#[derive(Debug, Clone, Queryable)]
pub struct VisitRow {
    pub id: String,
    pub community_id: String,
    pub household_id: String,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub started_at: Micros,
    pub ended_at: Option<Micros>,
    pub outcome: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl VisitRow {
    fn position(&self) -> Option<(f64, f64)> {
        Some((self.latitude?, self.longitude?))
    }
}

/// What the report reads for an area and a period, before grouping.
pub struct Facts {
    /// Household → community, for the households in the case files at the period's end.
    households: HashMap<String, String>,
    /// Community → how many of those households.
    per_community: HashMap<String, u64>,
    /// Household → its last `met` visit before the period's end.
    last_met: HashMap<String, Micros>,
    /// The period's visits to those households, in time order.
    pub visits: Vec<VisitRow>,
    /// Flags of the period's visits (flagged ones only).
    pub flags: HashMap<String, Flagged>,
    /// Community → (persons, complete six clears, fresh six clears).
    persons: HashMap<String, (u64, u64, u64)>,
}

impl Facts {
    pub fn load(
        conn: &mut DbConn,
        area: &Area,
        period: Period,
        settings: &Settings,
        now: Micros,
    ) -> StoreResult<Facts> {
        let ids = area.community_ids();
        let households = households_at(conn, &ids, period.end)?;
        let mut last_met = HashMap::new();
        let mut visits = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            last_met.extend(last_met_in(conn, chunk, period.end)?);
            visits.extend(
                visits_index::table
                    .filter(visits_index::community_id.eq_any(chunk))
                    .filter(visits_index::deleted.eq(false))
                    .filter(visits_index::started_at.ge(period.start))
                    .filter(visits_index::started_at.lt(period.end))
                    .select(VISIT_COLUMNS)
                    .load::<VisitRow>(conn)?,
            );
        }
        // Visits of households no longer (or not yet) in the case files are not counted.
        visits.retain(|v| households.contains_key(&v.household_id));
        visits.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        let flags = flags_of(conn, &visits, period.end, settings.flags)?;
        let stale_before = now - i64::from(settings.six_clears_stale_days) * DAY;
        let persons = person_counts(conn, &ids, stale_before)?;
        let mut per_community: HashMap<String, u64> = HashMap::new();
        for c in households.values() {
            *per_community.entry(c.clone()).or_default() += 1;
        }
        Ok(Facts {
            households,
            per_community,
            last_met,
            visits,
            flags,
            persons,
        })
    }

    /// Households due a visit at the period's end (see [`due_among`]).
    pub fn due(&self, period: Period, settings: &Settings) -> Vec<Due> {
        due_among(&self.households, &self.last_met, period.end, settings)
    }
}

/// A household due a visit: `(household, community, its last met visit)`.
pub type Due = (String, String, Option<Micros>);

/// Of `households` (household → community), those not reached within
/// `visit_interval_days` before `end`: never reached first, then the longest unvisited.
fn due_among(
    households: &HashMap<String, String>,
    last_met: &HashMap<String, Micros>,
    end: Micros,
    settings: &Settings,
) -> Vec<Due> {
    let since = end - i64::from(settings.visit_interval_days) * DAY;
    let mut due: Vec<Due> = households
        .iter()
        .map(|(h, c)| (h.clone(), c.clone(), last_met.get(h).copied()))
        .filter(|(_, _, last)| last.is_none_or(|at| at < since))
        .collect();
    due.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    due
}

/// The households of `communities` due a visit at `now` (what the upkeep raises tasks for).
pub fn due_now(
    conn: &mut DbConn,
    communities: &[String],
    now: Micros,
    settings: &Settings,
) -> StoreResult<Vec<Due>> {
    let households = households_at(conn, communities, now)?;
    let mut last_met = HashMap::new();
    for chunk in communities.chunks(CHUNK) {
        last_met.extend(last_met_in(conn, chunk, now)?);
    }
    Ok(due_among(&households, &last_met, now, settings))
}

/// Each household's last `met` visit before `end`, in `communities`.
fn last_met_in(
    conn: &mut DbConn,
    communities: &[String],
    end: Micros,
) -> StoreResult<HashMap<String, Micros>> {
    let met: Vec<(String, Option<Micros>)> = visits_index::table
        .filter(visits_index::community_id.eq_any(communities))
        .filter(visits_index::outcome.eq("met"))
        .filter(visits_index::deleted.eq(false))
        .filter(visits_index::started_at.lt(end))
        .group_by(visits_index::household_id)
        .select((visits_index::household_id, max(visits_index::started_at)))
        .load(conn)?;
    Ok(met
        .into_iter()
        .filter_map(|(h, at)| Some((h, at?)))
        .collect())
}

/// The period's visits of one community, in time order.
pub fn visits_of(conn: &mut DbConn, community: &str, period: Period) -> StoreResult<Vec<VisitRow>> {
    Ok(visits_index::table
        .filter(visits_index::community_id.eq(community))
        .filter(visits_index::deleted.eq(false))
        .filter(visits_index::started_at.ge(period.start))
        .filter(visits_index::started_at.lt(period.end))
        .order((visits_index::started_at.asc(), visits_index::id.asc()))
        .select(VISIT_COLUMNS)
        .load::<VisitRow>(conn)?)
}

/// Households in the case files at `end`: created before it (or visited before it, for one
/// enrolled offline and synced later) and not deleted by then.
fn households_at(
    conn: &mut DbConn,
    communities: &[String],
    end: Micros,
) -> StoreResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in communities.chunks(CHUNK) {
        let visited_before = visits_index::table
            .filter(visits_index::household_id.eq(records::id))
            .filter(visits_index::started_at.lt(end));
        let rows: Vec<(String, String)> = records::table
            .filter(records::entity.eq(Entity::Household.as_str()))
            .filter(records::community_id.eq_any(chunk))
            .filter(records::deleted.eq(false).or(records::updated_at.ge(end)))
            .filter(records::created_at.lt(end).or(exists(visited_before)))
            .select((records::id, records::community_id))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Community → (persons not exited, of them with complete six clears, of them with six
/// clears updated since `fresh_since`).
fn person_counts(
    conn: &mut DbConn,
    communities: &[String],
    fresh_since: Micros,
) -> StoreResult<HashMap<String, (u64, u64, u64)>> {
    let mut out: HashMap<String, (u64, u64, u64)> = HashMap::new();
    for chunk in communities.chunks(CHUNK) {
        let counts: Vec<(String, bool, i64)> = persons_index::table
            .filter(persons_index::community_id.eq_any(chunk))
            .filter(persons_index::deleted.eq(false))
            .filter(persons_index::status.ne("exited"))
            .group_by((
                persons_index::community_id,
                persons_index::six_clears_complete,
            ))
            .select((
                persons_index::community_id,
                persons_index::six_clears_complete,
                count_star(),
            ))
            .load(conn)?;
        for (community, complete, n) in counts {
            let e = out.entry(community).or_default();
            e.0 += n as u64;
            if complete {
                e.1 += n as u64;
            }
        }
        let fresh = records::table
            .filter(records::entity.eq(Entity::SixClears.as_str()))
            .filter(records::community_id.eq_any(chunk))
            .filter(records::deleted.eq(false))
            .filter(records::updated_at.ge(fresh_since))
            .select(records::id);
        let fresh: Vec<(String, i64)> = persons_index::table
            .filter(persons_index::community_id.eq_any(chunk))
            .filter(persons_index::deleted.eq(false))
            .filter(persons_index::status.ne("exited"))
            .filter(persons_index::id.eq_any(fresh))
            .group_by(persons_index::community_id)
            .select((persons_index::community_id, count_star()))
            .load(conn)?;
        for (community, n) in fresh {
            out.entry(community).or_default().2 += n as u64;
        }
    }
    Ok(out)
}

/// The flags of the period's visits; the far test reads every fix of their households up
/// to the period's end.
pub fn flags_of(
    conn: &mut DbConn,
    visits: &[VisitRow],
    end: Micros,
    thresholds: Thresholds,
) -> StoreResult<HashMap<String, Flagged>> {
    let located: Vec<String> = visits
        .iter()
        .filter(|v| v.position().is_some())
        .map(|v| v.household_id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut history = visit_flags::Fixes::new();
    for chunk in located.chunks(CHUNK) {
        let fixes: Vec<(String, Micros, Option<f64>, Option<f64>)> = visits_index::table
            .filter(visits_index::household_id.eq_any(chunk))
            .filter(visits_index::deleted.eq(false))
            .filter(visits_index::started_at.lt(end))
            .filter(visits_index::latitude.is_not_null())
            .filter(visits_index::longitude.is_not_null())
            .select((
                visits_index::household_id,
                visits_index::started_at,
                visits_index::latitude,
                visits_index::longitude,
            ))
            .load(conn)?;
        for (h, at, lat, lon) in fixes {
            if let (Some(lat), Some(lon)) = (lat, lon) {
                history.entry(h).or_default().push((at, (lat, lon)));
            }
        }
    }
    let fixes: Vec<VisitFix> = visits
        .iter()
        .map(|v| VisitFix {
            id: v.id.clone(),
            household_id: v.household_id.clone(),
            device_id: v.device_id.clone(),
            started_at: v.started_at,
            ended_at: v.ended_at,
            position: v.position(),
        })
        .collect();
    Ok(visit_flags::flag(&fixes, &history, thresholds))
}

/// The figures of one row while they are counted.
#[derive(Default)]
struct Tally {
    households: u64,
    reached: HashSet<String>,
    /// Household → outcome of its last visit in the period.
    last_outcome: HashMap<String, String>,
    due: u64,
    never_reached: u64,
    oldest: Option<Micros>,
    persons: u64,
    complete: u64,
    fresh: u64,
    visits: u64,
    minutes: Vec<f64>,
    located: u64,
    flagged: FlagCounts,
}

impl Tally {
    fn add_community(&mut self, community: &str, facts: &Facts, due: &DueByCommunity) {
        let (persons, complete, fresh) = facts.persons.get(community).copied().unwrap_or_default();
        self.persons += persons;
        self.complete += complete;
        self.fresh += fresh;
        self.households += facts.per_community.get(community).copied().unwrap_or(0);
        if let Some((n, never, oldest)) = due.get(community) {
            self.due += n;
            self.never_reached += never;
            self.oldest = match (self.oldest, *oldest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }

    fn add_visit(&mut self, v: &VisitRow, flags: Option<&Flagged>) {
        self.visits += 1;
        if v.outcome == "met" {
            self.reached.insert(v.household_id.clone());
        }
        self.last_outcome
            .insert(v.household_id.clone(), v.outcome.clone());
        if let Some(end) = v.ended_at.filter(|e| *e >= v.started_at) {
            self.minutes
                .push((end - v.started_at) as f64 / 60_000_000.0);
        }
        if v.position().is_some() {
            self.located += 1;
        }
        if let Some(f) = flags {
            self.flagged.visits += 1;
            for flag in &f.flags {
                match flag {
                    Flag::Far => self.flagged.far += 1,
                    Flag::Short => self.flagged.short += 1,
                    Flag::Simultaneous => self.flagged.simultaneous += 1,
                }
            }
        }
    }

    fn row(mut self, group: GroupKey, settings: &Settings) -> CoverageRow {
        let mut outcomes = (0, 0, 0);
        for (h, outcome) in &self.last_outcome {
            if self.reached.contains(h) {
                continue;
            }
            match outcome.as_str() {
                "not_home" => outcomes.0 += 1,
                "refused" => outcomes.1 += 1,
                "moved" => outcomes.2 += 1,
                _ => {}
            }
        }
        let reached = self.reached.len() as u64;
        let share = |n: u64, of: u64| (of > 0).then(|| round4(n as f64 / of as f64));
        CoverageRow {
            group,
            households: self.households,
            reached,
            not_home: outcomes.0,
            refused: outcomes.1,
            moved: outcomes.2,
            coverage: share(reached, self.households),
            due: self.due,
            never_reached: self.never_reached,
            oldest_last_reached_on: self.oldest.map(|at| settings.day_of(at)),
            persons: self.persons,
            six_clears_complete: self.complete,
            six_clears_stale: self.persons.saturating_sub(self.fresh),
            visits: self.visits,
            median_minutes: visit_flags::median(&mut self.minutes)
                .map(|m| (m * 10.0).round() / 10.0),
            gps_share: share(self.located, self.visits),
            flagged: self.flagged,
        }
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Community → (due households, of them never reached, oldest last reached).
type DueByCommunity = HashMap<String, (u64, u64, Option<Micros>)>;

/// The coverage report: one row per group, and the total for the area.
pub fn coverage(
    conn: &mut DbConn,
    area: &Area,
    facts: &Facts,
    period: Period,
    settings: &Settings,
    group_by: GroupBy,
) -> StoreResult<Coverage> {
    let mut due: DueByCommunity = HashMap::new();
    for (_, community, last) in facts.due(period, settings) {
        let e = due.entry(community).or_default();
        e.0 += 1;
        match last {
            None => e.1 += 1,
            Some(at) => e.2 = Some(e.2.map_or(at, |o: Micros| o.min(at))),
        }
    }
    // Which rows each community's households and persons count in.
    let mut rows_of: HashMap<String, Vec<GroupKey>> = HashMap::new();
    let mut tallies: BTreeMap<GroupKey, Tally> = BTreeMap::new();
    let ids = area.community_ids();
    if group_by == GroupBy::Coordinator {
        for (community, user) in coordinators_of(conn, &ids)? {
            rows_of.entry(community).or_default().push(user.clone());
            tallies.entry(user).or_default();
        }
    } else {
        for c in &area.communities {
            if let Some(key) = area.group_of(c, group_by) {
                rows_of.entry(c.id.clone()).or_default().push(key.clone());
                tallies.entry(key).or_default();
            }
        }
    }
    let mut total = Tally::default();
    for c in &ids {
        total.add_community(c, facts, &due);
        for key in rows_of.get(c).into_iter().flatten() {
            if let Some(t) = tallies.get_mut(key) {
                t.add_community(c, facts, &due);
            }
        }
    }
    let makers = if group_by == GroupBy::Coordinator {
        user_keys(conn, facts)?
    } else {
        HashMap::new()
    };
    for v in &facts.visits {
        let flags = facts.flags.get(&v.id);
        total.add_visit(v, flags);
        let keys: Vec<GroupKey> = if group_by == GroupBy::Coordinator {
            v.user_id
                .as_ref()
                .and_then(|u| makers.get(u))
                .cloned()
                .into_iter()
                .collect()
        } else {
            rows_of.get(&v.community_id).cloned().unwrap_or_default()
        };
        for key in keys {
            tallies.entry(key).or_default().add_visit(v, flags);
        }
    }
    Ok(Coverage {
        rows: tallies
            .into_iter()
            .map(|(k, t)| t.row(k, settings))
            .collect(),
        total: total.row(area.total_key(), settings),
    })
}

/// (community, coordinator) for each coordinator serving one of `communities`.
fn coordinators_of(
    conn: &mut DbConn,
    communities: &[String],
) -> StoreResult<Vec<(String, GroupKey)>> {
    let mut out = Vec::new();
    for chunk in communities.chunks(CHUNK) {
        let rows: Vec<(String, String, String)> = user_org_nodes::table
            .inner_join(users::table)
            .filter(user_org_nodes::org_node_id.eq_any(chunk))
            .filter(users::role.eq(Role::Coordinator.as_str()))
            .select((user_org_nodes::org_node_id, users::id, users::display_name))
            .load(conn)?;
        out.extend(rows.into_iter().map(|(c, id, name)| {
            (
                c,
                GroupKey {
                    kind: "coordinator".into(),
                    id,
                    name,
                },
            )
        }));
    }
    Ok(out)
}

/// The row key of each user who made one of the period's visits.
fn user_keys(conn: &mut DbConn, facts: &Facts) -> StoreResult<HashMap<String, GroupKey>> {
    let ids: Vec<String> = facts
        .visits
        .iter()
        .filter_map(|v| v.user_id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, String)> = users::table
            .filter(users::id.eq_any(chunk))
            .select((users::id, users::display_name))
            .load(conn)?;
        for (id, name) in rows {
            let key = GroupKey {
                kind: "coordinator".into(),
                id: id.clone(),
                name,
            };
            out.insert(id, key);
        }
    }
    Ok(out)
}

/// The addresses of `households`.
pub fn addresses(conn: &mut DbConn, households: &[String]) -> StoreResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in households.chunks(CHUNK) {
        let rows: Vec<(String, String)> = households_index::table
            .filter(households_index::id.eq_any(chunk))
            .select((households_index::id, households_index::address))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CN: Settings = Settings {
        utc_offset_minutes: 480,
        visit_interval_days: 90,
        six_clears_stale_days: 180,
        flags: Thresholds {
            far_m: 500.0,
            min_minutes: 5,
        },
    };

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn at(rfc3339: &str) -> Micros {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .map(|t| t.timestamp_micros())
            .unwrap_or_default()
    }

    #[test]
    fn a_period_is_station_local_days() {
        let p = Period::new(&CN, day("2026-11-01"), day("2026-11-30"), i64::MAX);
        assert_eq!(p.start, at("2026-11-01T00:00:00+08:00"));
        assert_eq!(p.end, at("2026-12-01T00:00:00+08:00"));
        // 23:30 on the last day, station time, is 15:30 UTC: inside.
        assert!(at("2026-11-30T15:30:00Z") < p.end);
        assert_eq!(CN.day_of(at("2026-11-30T15:30:00Z")), day("2026-11-30"));
        assert_eq!(CN.day_of(at("2026-11-30T16:30:00Z")), day("2026-12-01"));
    }

    #[test]
    fn a_current_period_ends_now_and_a_month_is_whole() {
        let now = at("2026-12-05T10:00:00+08:00");
        let p = Period::month_of(&CN, day("2026-12-05"), now);
        assert_eq!((p.from, p.to), (day("2026-12-01"), day("2026-12-31")));
        assert_eq!(p.end, now);
        let feb = Period::month_of(&CN, day("2028-02-10"), i64::MAX);
        assert_eq!(feb.to, day("2028-02-29"));
    }
}
