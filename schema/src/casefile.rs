//! Reading the case file for station staff and supervisors: searches over the typed
//! projections and the records under a person or household, always inside a scope (the
//! scope is a condition in each query). Writing goes through the sync engine.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use crate::domain::{self, ObligationState, ObligationStatus, ServiceKind, Tier};
use crate::entities::{get_path, Entity};
use crate::error::StoreResult;
use crate::records::Record;
use crate::scope::Scope;
use crate::tables::{households_index, persons_index, records};
use crate::DbConn;

/// A person as the projection holds them: what lists and searches show.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = persons_index)]
pub struct PersonRow {
    pub id: String,
    pub community_id: String,
    pub household_id: String,
    pub name: String,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    #[serde(skip)]
    pub id_number_hash: Option<String>,
    #[serde(skip)]
    pub phone_hash: Option<String>,
    pub status: String,
    pub tier: Option<String>,
    /// JSON array of category names.
    #[serde(skip)]
    pub categories: String,
    pub last_contact_on: Option<String>,
    #[serde(skip)]
    pub deleted: bool,
    pub version: i64,
    pub assessed_on: Option<String>,
    pub enrolled_on: Option<String>,
}

impl HouseholdRow {
    pub fn found_on(&self) -> Option<NaiveDate> {
        PersonRow::date(&self.zero_employment_found_on)
    }

    pub fn cleared_on(&self) -> Option<NaiveDate> {
        PersonRow::date(&self.zero_employment_cleared_on)
    }
}

impl PersonRow {
    pub fn category_names(&self) -> StoreResult<Vec<String>> {
        serde_json::from_str(&self.categories).map_err(|e| crate::StoreError::Corrupt {
            column: "persons.categories",
            value: e.to_string(),
        })
    }

    pub fn tier(&self) -> Option<Tier> {
        self.tier.as_deref().and_then(|t| t.parse().ok())
    }

    fn date(text: &Option<String>) -> Option<NaiveDate> {
        text.as_deref()
            .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
    }

    pub fn assessed(&self) -> Option<NaiveDate> {
        Self::date(&self.assessed_on)
    }

    pub fn last_contact(&self) -> Option<NaiveDate> {
        Self::date(&self.last_contact_on)
    }

    pub fn enrolled(&self) -> Option<NaiveDate> {
        Self::date(&self.enrolled_on)
    }

    pub fn birth(&self) -> Option<NaiveDate> {
        Self::date(&self.birth_date)
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = households_index)]
pub struct HouseholdRow {
    pub id: String,
    pub community_id: String,
    pub address: String,
    pub zero_employment: bool,
    pub zero_employment_found_on: Option<String>,
    pub zero_employment_cleared_on: Option<String>,
    #[serde(skip)]
    pub deleted: bool,
    pub version: i64,
}

crate::text_enum! {
    /// Where a person stands in the case lifecycle (the projection's `status`).
    pub enum PersonStatus {
        /// Enrolled from a visit; no application yet.
        Registered = "registered",
        /// An application is in progress.
        Applied = "applied",
        Recognised = "recognised",
        Rejected = "rejected",
        Exited = "exited",
    }
}

/// What a person search may ask for; every part narrows it.
#[derive(Debug, Clone, Default)]
pub struct PersonFilter {
    /// Part of the name.
    pub name: Option<String>,
    pub community_id: Option<String>,
    pub household_id: Option<String>,
    pub category: Option<String>,
    pub tier: Option<Tier>,
    pub status: Option<PersonStatus>,
    /// Keyed hash of a full ID number: exact lookup.
    pub id_number_hash: Option<String>,
    pub phone_hash: Option<String>,
    /// Checked per person at `today` (it depends on the date and the services delivered).
    pub obligation: Option<ObligationState>,
}

crate::text_enum! {
    /// The order of a list.
    pub enum PersonSort {
        /// By name, then id.
        Name = "name",
        /// Most recently changed first.
        Recent = "recent",
    }
}

/// Where the previous page ended: the sort key and id of its last row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub key: String,
    pub id: String,
}

/// One page of a list and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<After>,
}

/// `LIKE` pattern matching `text` anywhere, with the wildcards in it taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// At most this many rows are read for one page when a filter is checked per person, so a
/// rare match never makes a request scan the whole district; the page then ends early and
/// its cursor continues the scan.
const MAX_SCAN: usize = 5_000;

/// Persons in the scope matching the filter, one page.
pub fn list_persons(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &PersonFilter,
    sort: PersonSort,
    after: Option<&After>,
    limit: usize,
    today: NaiveDate,
) -> StoreResult<Page<PersonRow>> {
    let mut items = Vec::new();
    let mut cursor = after.cloned();
    let mut scanned = 0;
    let chunk = if filter.obligation.is_some() {
        limit.max(100)
    } else {
        limit + 1
    };
    loop {
        let rows = persons_chunk(conn, scope, filter, sort, cursor.as_ref(), chunk)?;
        let exhausted = rows.len() < chunk;
        for row in rows {
            scanned += 1;
            if items.len() == limit {
                // One more match exists: the page is full and the next one starts here.
                return Ok(Page {
                    next: items.last().map(|r: &PersonRow| sort_key(sort, r)),
                    items,
                });
            }
            cursor = Some(sort_key(sort, &row));
            let keep = match filter.obligation {
                None => true,
                Some(state) => {
                    obligation_of(conn, &row, today)?.is_some_and(|status| status.state == state)
                }
            };
            if keep {
                items.push(row);
            }
        }
        if exhausted {
            return Ok(Page { items, next: None });
        }
        if scanned >= MAX_SCAN {
            return Ok(Page {
                items,
                next: cursor,
            });
        }
    }
}

fn sort_key(sort: PersonSort, row: &PersonRow) -> After {
    let key = match sort {
        PersonSort::Name => row.name.clone(),
        PersonSort::Recent => row.version.to_string(),
    };
    After {
        key,
        id: row.id.clone(),
    }
}

fn persons_chunk(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &PersonFilter,
    sort: PersonSort,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Vec<PersonRow>> {
    use persons_index as p;
    let mut query = p::table
        .filter(p::deleted.eq(false))
        .select(PersonRow::as_select())
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(in_scope) = scope.nodes_condition("persons_index.community_id") {
        query = query.filter(in_scope);
    }
    if let Some(name) = &filter.name {
        query = query.filter(p::name.like(contains_pattern(name)).escape('\\'));
    }
    if let Some(c) = &filter.community_id {
        query = query.filter(p::community_id.eq(c.clone()));
    }
    if let Some(h) = &filter.household_id {
        query = query.filter(p::household_id.eq(h.clone()));
    }
    if let Some(category) = &filter.category {
        // Category names are fixed identifiers, so their quoted form is unambiguous.
        query = query.filter(
            p::categories
                .like(contains_pattern(&format!("\"{category}\"")))
                .escape('\\'),
        );
    }
    if let Some(tier) = filter.tier {
        query = query.filter(p::tier.eq(tier.as_str()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(p::status.eq(status.as_str()));
    }
    if let Some(hash) = &filter.id_number_hash {
        query = query.filter(p::id_number_hash.eq(hash.clone()));
    }
    if let Some(hash) = &filter.phone_hash {
        query = query.filter(p::phone_hash.eq(hash.clone()));
    }
    if filter.obligation.is_some() {
        query = query.filter(p::tier.is_not_null().and(p::assessed_on.is_not_null()));
    }
    query = match (sort, after) {
        (PersonSort::Name, None) => query.order((p::name.asc(), p::id.asc())),
        (PersonSort::Name, Some(a)) => query
            .filter(
                p::name
                    .gt(a.key.clone())
                    .or(p::name.eq(a.key.clone()).and(p::id.gt(a.id.clone()))),
            )
            .order((p::name.asc(), p::id.asc())),
        (PersonSort::Recent, None) => query.order(p::version.desc()),
        (PersonSort::Recent, Some(a)) => {
            let version: i64 = a.key.parse().unwrap_or(i64::MAX);
            query
                .filter(p::version.lt(version))
                .order(p::version.desc())
        }
    };
    Ok(query.load(conn)?)
}

/// One person of the scope.
pub fn person_in_scope(
    conn: &mut DbConn,
    scope: &Scope,
    id: &str,
) -> StoreResult<Option<PersonRow>> {
    let mut query = persons_index::table
        .filter(persons_index::id.eq(id))
        .filter(persons_index::deleted.eq(false))
        .select(PersonRow::as_select())
        .into_boxed();
    if let Some(in_scope) = scope.nodes_condition("persons_index.community_id") {
        query = query.filter(in_scope);
    }
    Ok(query.first(conn).optional()?)
}

/// The persons of a household.
pub fn household_members(conn: &mut DbConn, household_id: &str) -> StoreResult<Vec<PersonRow>> {
    Ok(persons_index::table
        .filter(persons_index::household_id.eq(household_id))
        .filter(persons_index::deleted.eq(false))
        .order((persons_index::name.asc(), persons_index::id.asc()))
        .select(PersonRow::as_select())
        .load(conn)?)
}

/// What a household search may ask for.
#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    pub community_id: Option<String>,
    /// Part of the address.
    pub address: Option<String>,
    /// Only zero-employment households still open (not cleared).
    pub zero_employment_open: Option<bool>,
}

/// Households in the scope, by address then id.
pub fn list_households(
    conn: &mut DbConn,
    scope: &Scope,
    filter: &HouseholdFilter,
    after: Option<&After>,
    limit: usize,
) -> StoreResult<Page<HouseholdRow>> {
    use households_index as h;
    let mut query = h::table
        .filter(h::deleted.eq(false))
        .select(HouseholdRow::as_select())
        .order((h::address.asc(), h::id.asc()))
        .limit(i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(in_scope) = scope.nodes_condition("households_index.community_id") {
        query = query.filter(in_scope);
    }
    if let Some(c) = &filter.community_id {
        query = query.filter(h::community_id.eq(c.clone()));
    }
    if let Some(a) = &filter.address {
        query = query.filter(h::address.like(contains_pattern(a)).escape('\\'));
    }
    match filter.zero_employment_open {
        Some(true) => {
            query = query.filter(
                h::zero_employment
                    .eq(true)
                    .and(h::zero_employment_cleared_on.is_null()),
            )
        }
        Some(false) => {
            query = query.filter(
                h::zero_employment
                    .eq(false)
                    .or(h::zero_employment_cleared_on.is_not_null()),
            )
        }
        None => {}
    }
    if let Some(a) = after {
        query = query.filter(
            h::address
                .gt(a.key.clone())
                .or(h::address.eq(a.key.clone()).and(h::id.gt(a.id.clone()))),
        );
    }
    let mut items: Vec<HouseholdRow> = query.load(conn)?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|r| After {
            key: r.address.clone(),
            id: r.id.clone(),
        })
    } else {
        None
    };
    Ok(Page { items, next })
}

/// Zero-employment households of the scope that were ever found (for the monthly report),
/// oldest found first.
pub fn zero_employment_households(
    conn: &mut DbConn,
    scope: &Scope,
) -> StoreResult<Vec<HouseholdRow>> {
    use households_index as h;
    let mut query = h::table
        .filter(h::deleted.eq(false))
        .filter(h::zero_employment_found_on.is_not_null())
        .select(HouseholdRow::as_select())
        .order((h::zero_employment_found_on.asc(), h::id.asc()))
        .into_boxed();
    if let Some(in_scope) = scope.nodes_condition("households_index.community_id") {
        query = query.filter(in_scope);
    }
    Ok(query.load(conn)?)
}

/// The live records directly under a parent (a person's six clears, evidence, …), oldest
/// first.
pub fn children(conn: &mut DbConn, parent_id: &str) -> StoreResult<Vec<Record>> {
    Ok(records::table
        .filter(records::parent_id.eq(parent_id))
        .filter(records::deleted.eq(false))
        .order((records::created_at.asc(), records::id.asc()))
        .select(Record::as_select())
        .load(conn)?)
}

/// The live records of one entity under a parent.
pub fn children_of(conn: &mut DbConn, parent_id: &str, entity: Entity) -> StoreResult<Vec<Record>> {
    Ok(records::table
        .filter(records::parent_id.eq(parent_id))
        .filter(records::entity.eq(entity))
        .filter(records::deleted.eq(false))
        .order((records::created_at.asc(), records::id.asc()))
        .select(Record::as_select())
        .load(conn)?)
}

/// The records that deliver a service the "131" counts: service records, and referrals
/// (each job recommended from a vacancy is one of the "3").
pub const DELIVERING: [Entity; 2] = [Entity::ServiceRecord, Entity::Referral];

/// The service a record of [`DELIVERING`] delivered, and on what day; `None` for a record
/// without a kind or a day (it delivers nothing).
pub fn delivery(entity: Entity, doc: &serde_json::Value) -> Option<(ServiceKind, NaiveDate)> {
    let day = |path: &str| {
        doc.get(path)
            .and_then(|d| NaiveDate::parse_from_str(d.as_str()?, "%Y-%m-%d").ok())
    };
    match entity {
        Entity::ServiceRecord => Some((
            doc.get("kind").and_then(|k| k.as_str()?.parse().ok())?,
            day("delivered_on")?,
        )),
        Entity::Referral => Some((ServiceKind::JobRecommendation, day("referred_on")?)),
        _ => None,
    }
}

/// The services delivered to a person: kind and day, from their service records and
/// referrals.
pub fn deliveries(
    conn: &mut DbConn,
    person_id: &str,
) -> StoreResult<Vec<(ServiceKind, NaiveDate)>> {
    let mut out = Vec::new();
    for entity in DELIVERING {
        for r in children_of(conn, person_id, entity)? {
            // A corrupt row is an error; a record without a kind or day delivers nothing.
            out.extend(delivery(entity, &r.document()?));
        }
    }
    Ok(out)
}

/// A person's obligations at `today`; `None` when they have no assessment (no tier yet) or
/// have exited.
pub fn obligation_of(
    conn: &mut DbConn,
    person: &PersonRow,
    today: NaiveDate,
) -> StoreResult<Option<ObligationStatus>> {
    let (Some(tier), Some(assessed)) = (person.tier(), person.assessed()) else {
        return Ok(None);
    };
    if person.status == "exited" {
        return Ok(None);
    }
    let delivered = deliveries(conn, &person.id)?;
    Ok(Some(domain::obligations(tier, assessed, &delivered, today)))
}

/// A recognised person staff may exit, and why: out of contact for six months, or in work
/// (a placement that holds today). Shown for a decision, never exited automatically.
#[derive(Debug, Clone, PartialEq)]
pub struct ExitCandidate {
    pub person: PersonRow,
    pub reason: domain::ExitReason,
    /// Out of contact since, or in work since.
    pub since: NaiveDate,
    /// The placement behind an exit for work.
    pub placement_id: Option<String>,
}

/// The exit candidates of the scope at `today`, the longest-standing first. A person both
/// out of contact and in work is listed once, for the work: the more specific reason.
pub fn exit_candidates(
    conn: &mut DbConn,
    scope: &Scope,
    today: NaiveDate,
    limit: usize,
) -> StoreResult<Vec<ExitCandidate>> {
    let mut found = in_work(conn, scope, today)?;
    let working: std::collections::HashSet<String> =
        found.iter().map(|c| c.person.id.clone()).collect();
    found.extend(
        out_of_contact(conn, scope, today)?
            .into_iter()
            .filter(|c| !working.contains(&c.person.id)),
    );
    found.sort_by(|a, b| {
        a.since
            .cmp(&b.since)
            .then_with(|| a.person.id.cmp(&b.person.id))
    });
    found.truncate(limit);
    Ok(found)
}

/// Recognised persons with no contact for six months or more at `today`.
fn out_of_contact(
    conn: &mut DbConn,
    scope: &Scope,
    today: NaiveDate,
) -> StoreResult<Vec<ExitCandidate>> {
    use persons_index as p;
    // A coarse bound in SQL (a few days of slack for month-end clamping: 31 Aug + 6 months
    // is 28 Feb), then the exact rule per person.
    let horizon = today
        .checked_sub_months(chrono::Months::new(domain::exits::NO_CONTACT_MONTHS))
        .and_then(|d| d.checked_add_days(chrono::Days::new(4)))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string();
    let mut query = p::table
        .filter(p::deleted.eq(false))
        // Only recognised persons receive assistance to exit from.
        .filter(p::status.eq("recognised"))
        .filter(
            p::last_contact_on
                .le(horizon.clone())
                .or(p::last_contact_on.is_null().and(p::enrolled_on.le(horizon))),
        )
        .select(PersonRow::as_select())
        .into_boxed();
    if let Some(in_scope) = scope.nodes_condition("persons_index.community_id") {
        query = query.filter(in_scope);
    }
    Ok(query
        .load(conn)?
        .into_iter()
        .filter_map(|person: PersonRow| {
            let enrolled = person.enrolled()?;
            let since = domain::exits::no_contact_since(person.last_contact(), enrolled);
            (today >= since).then_some(ExitCandidate {
                person,
                reason: domain::ExitReason::NoContactSixMonths,
                since,
                placement_id: None,
            })
        })
        .collect())
}

/// The work a placement's document stands for; `None` without a readable start date.
/// `left`: a follow-up found the person gone from it.
pub fn work_of(placement: &serde_json::Value, left: bool) -> Option<domain::exits::Work> {
    let date = |path| {
        get_path(placement, path)
            .and_then(|v| v.as_str())
            .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
    };
    date("started_on").map(|started_on| domain::exits::Work {
        started_on,
        ended_on: date("ended_on"),
        self_employed: get_path(placement, "kind").and_then(|v| v.as_str())
            == Some("self_employed"),
        left,
    })
}

/// The placement a follow-up's document found the person gone from, if it did.
pub fn left_placement(follow_up: &serde_json::Value) -> Option<&str> {
    if get_path(follow_up, "still_employed") != Some(&serde_json::Value::Bool(false)) {
        return None;
    }
    get_path(follow_up, "placement_id").and_then(|v| v.as_str())
}

/// The work a person is in at `today`, from their placements' documents (with ids) and
/// their follow-ups': the earliest placement that holds, with its id.
pub fn current_work(
    placements: &[(&str, serde_json::Value)],
    follow_ups: &[serde_json::Value],
    today: NaiveDate,
) -> Option<(String, domain::exits::Work)> {
    let left: Vec<&str> = follow_ups.iter().filter_map(left_placement).collect();
    placements
        .iter()
        .filter_map(|(id, doc)| Some((*id, work_of(doc, left.contains(id))?)))
        .filter(|(_, work)| work.holds_on(today))
        .min_by_key(|(id, work)| (work.started_on, *id))
        .map(|(id, work)| (id.to_string(), work))
}

/// Recognised persons in work at `today` by a placement of theirs, each once (their
/// earliest placement that holds).
fn in_work(conn: &mut DbConn, scope: &Scope, today: NaiveDate) -> StoreResult<Vec<ExitCandidate>> {
    type Docs<'a> = (Vec<(&'a str, serde_json::Value)>, Vec<serde_json::Value>);
    let communities = crate::records::communities_in_scope(conn, scope)?;
    let placements = crate::records::live_of_entity(conn, Entity::Placement, &communities)?;
    let owners: Vec<&str> = placements
        .iter()
        .filter_map(|r| r.parent_id.as_deref())
        .collect();
    let follow_ups = crate::records::live_children_of(conn, &owners, &[Entity::FollowUp])?;
    // Per person: their placements and follow-ups.
    let mut by_person: std::collections::HashMap<&str, Docs> = Default::default();
    for placement in &placements {
        if let Some(person) = placement.parent_id.as_deref() {
            let docs = by_person.entry(person).or_default();
            docs.0.push((placement.id.as_str(), placement.document()?));
        }
    }
    for follow_up in &follow_ups {
        if let Some(docs) = follow_up
            .parent_id
            .as_deref()
            .and_then(|p| by_person.get_mut(p))
        {
            docs.1.push(follow_up.document()?);
        }
    }
    let earliest: std::collections::HashMap<String, (String, domain::exits::Work)> = by_person
        .into_iter()
        .filter_map(|(person, (placed, followed))| {
            current_work(&placed, &followed, today).map(|work| (person.to_string(), work))
        })
        .collect();
    let ids: Vec<&String> = earliest.keys().collect();
    let mut rows = Vec::new();
    for chunk in ids.chunks(1000) {
        rows.extend(
            persons_index::table
                .filter(persons_index::id.eq_any(chunk))
                .filter(persons_index::deleted.eq(false))
                .filter(persons_index::status.eq("recognised"))
                .select(PersonRow::as_select())
                .load(conn)?,
        );
    }
    let mut found = Vec::with_capacity(rows.len());
    for person in rows {
        let Some((placement_id, work)) = earliest.get(&person.id).cloned() else {
            continue;
        };
        found.push(ExitCandidate {
            person,
            reason: work.exit_reason(),
            since: work.started_on,
            placement_id: Some(placement_id),
        });
    }
    Ok(found)
}

/// Why two or more persons may be one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateReason {
    SamePhone,
    SameNameAndBirthDate,
}

#[derive(Debug, Clone, Serialize)]
pub struct DuplicateGroup {
    pub reason: DuplicateReason,
    pub persons: Vec<PersonRow>,
}

/// Persons in the scope who may be the same person (same phone, or same name and birth
/// date), for staff to review. The same ID number cannot be enrolled twice at all.
pub fn possible_duplicates(conn: &mut DbConn, scope: &Scope) -> StoreResult<Vec<DuplicateGroup>> {
    use persons_index as p;
    let mut query = p::table
        .filter(p::deleted.eq(false))
        .select(PersonRow::as_select())
        .order((p::name.asc(), p::id.asc()))
        .into_boxed();
    if let Some(in_scope) = scope.nodes_condition("persons_index.community_id") {
        query = query.filter(in_scope);
    }
    let rows: Vec<PersonRow> = query.load(conn)?;
    let mut groups = Vec::new();
    let mut by_phone: std::collections::BTreeMap<&str, Vec<&PersonRow>> = Default::default();
    let mut by_name: std::collections::BTreeMap<(&str, &str), Vec<&PersonRow>> = Default::default();
    for row in &rows {
        if let Some(phone) = row.phone_hash.as_deref() {
            by_phone.entry(phone).or_default().push(row);
        }
        if let Some(birth) = row.birth_date.as_deref() {
            by_name
                .entry((row.name.as_str(), birth))
                .or_default()
                .push(row);
        }
    }
    let mut push = |reason, persons: Vec<&PersonRow>| {
        if persons.len() > 1 {
            groups.push(DuplicateGroup {
                reason,
                persons: persons.into_iter().cloned().collect(),
            });
        }
    };
    for persons in by_phone.into_values() {
        push(DuplicateReason::SamePhone, persons);
    }
    for persons in by_name.into_values() {
        push(DuplicateReason::SameNameAndBirthDate, persons);
    }
    Ok(groups)
}

/// Applications currently in publicity in the scope (the 公示名单), with their persons.
pub fn in_publicity(conn: &mut DbConn, scope: &Scope) -> StoreResult<Vec<(Record, PersonRow)>> {
    applications_in(conn, scope, &["publicity"])
}

/// Applications in one of `states` in the scope, oldest first, with their persons.
pub fn applications_in(
    conn: &mut DbConn,
    scope: &Scope,
    states: &[&str],
) -> StoreResult<Vec<(Record, PersonRow)>> {
    let mut out = Vec::new();
    for state in states {
        // The stored document is compact JSON, so this narrows the scan; the state is
        // then checked on the parsed document.
        let mut query = records::table
            .filter(records::entity.eq(Entity::Recognition))
            .filter(records::deleted.eq(false))
            .filter(records::data.like(format!("%\"state\":\"{state}\"%")))
            .select(Record::as_select())
            .order((records::created_at.asc(), records::id.asc()))
            .into_boxed();
        if let Some(in_scope) = scope.nodes_condition("records.community_id") {
            query = query.filter(in_scope);
        }
        for rec in query.load::<Record>(conn)? {
            let doc = rec.document()?;
            if doc.get("state").and_then(|s| s.as_str()) != Some(state) {
                continue;
            }
            let Some(person_id) = rec.parent_id.clone() else {
                continue;
            };
            if let Some(person) = person_in_scope(conn, scope, &person_id)? {
                out.push((rec, person));
            }
        }
    }
    out.sort_by(|(a, _), (b, _)| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(out)
}

/// What the recognition rules know of a person (`domain::gates`): their birth date, sex
/// and unemployment registration from the person record, and their evidence with its
/// review state, validity and whether its photo arrived from its author.
pub fn eligibility_facts(
    conn: &mut DbConn,
    person: &Record,
    children: &[Record],
    shared: &[domain::EvidenceType],
) -> StoreResult<domain::gates::Facts> {
    let doc = person.document()?;
    let date = |doc: &serde_json::Value, path: &str| {
        crate::entities::get_path(doc, path)
            .and_then(|v| v.as_str())
            .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
    };
    let text = |doc: &serde_json::Value, path: &str| {
        crate::entities::get_path(doc, path)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let mut evidence = Vec::new();
    for r in children.iter().filter(|r| r.entity == Entity::Evidence) {
        let e = r.document()?;
        let Some(evidence_type) = text(&e, "evidence_type").and_then(|t| t.parse().ok()) else {
            continue;
        };
        let received = match text(&e, "attachment_sha256") {
            Some(sha) => {
                crate::attachments::held_for(conn, &sha, r.created_by.as_deref())?.is_some()
            }
            None => false,
        };
        evidence.push(domain::gates::Evidence {
            evidence_type,
            approved: text(&e, "review_state").as_deref() == Some("approved"),
            received,
            valid_until: date(&e, "valid_until"),
        });
    }
    Ok(domain::gates::Facts {
        birth_date: date(&doc, "birth_date"),
        sex: text(&doc, "sex").and_then(|s| s.parse().ok()),
        unemployment_registered_on: date(&doc, "unemployment_registered_on"),
        evidence,
        shared: shared.to_vec(),
        unresolved_objections: 0,
        open_site_checks: 0,
        applied_on: None,
    })
}

/// A person's row whatever the scope (the write path has checked it already).
pub fn person_row(conn: &mut DbConn, id: &str) -> StoreResult<Option<PersonRow>> {
    Ok(persons_index::table
        .filter(persons_index::id.eq(id))
        .filter(persons_index::deleted.eq(false))
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether an on-site check asked for the application `recognition_id` (a `site_check`
/// task of the person's household) is still to be done: done means a visit with purpose
/// `site_check` naming the application, not a task someone marked done. Returns 1 or 0.
pub fn open_site_checks(
    conn: &mut DbConn,
    household_id: &str,
    recognition_id: &str,
) -> StoreResult<usize> {
    let names_it = |doc: &serde_json::Value, key: &str, value: &str| {
        crate::entities::get_path(doc, key).and_then(|v| v.as_str()) == Some(value)
            && crate::entities::get_path(doc, "recognition_id").and_then(|v| v.as_str())
                == Some(recognition_id)
    };
    let mut asked = false;
    for r in children_of(conn, household_id, Entity::Task)? {
        asked |= names_it(&r.document()?, "kind", "site_check");
    }
    if !asked {
        return Ok(0);
    }
    for r in children_of(conn, household_id, Entity::Visit)? {
        if names_it(&r.document()?, "purpose", "site_check") {
            return Ok(0);
        }
    }
    Ok(1)
}

/// How many objections to the application `recognition_id` among a person's records are
/// pending or upheld.
pub fn unresolved_objections(children: &[Record], recognition_id: &str) -> StoreResult<usize> {
    let mut n = 0;
    for r in children.iter().filter(|r| r.entity == Entity::Objection) {
        let doc = r.document()?;
        let text = |path: &str| crate::entities::get_path(&doc, path).and_then(|v| v.as_str());
        if text("recognition_id") == Some(recognition_id) && text("outcome") != Some("dismissed") {
            n += 1;
        }
    }
    Ok(n)
}
