//! Background upkeep, idempotent so that every replica may run it: removing tombstones
//! past their retention, blobs orphaned by a crash between storing and committing, and
//! resumable uploads abandoned for `upload_expiry_hours`, raising tasks for certificates
//! that expired while their case is open, and checking the communities'
//! scope digests against their records (rebuilt if they drifted). It runs at start and
//! then hourly; a failed round is logged and retried at the next.

use std::time::Duration;

use actix_web::web;
use liuqing_schema::attachments as store;
use liuqing_schema::time::{now_micros, seconds, Micros};
use liuqing_schema::{db, records};

use crate::blob::{BlobKey, BlobStore};
use crate::db::Db;
use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(3600);
/// An intent this old belongs to an upload that died: no request runs for an hour.
const ORPHAN_AFTER_SECS: i64 = 3600;

/// Checkpoints SQLite's WAL four times a second, off the writers' path (see
/// `liuqing_schema::db::checkpoint`, which also starts a long WAL over). Under a stream
/// of pushes the WAL grows by 10,000 to 40,000 pages a second, depending on the machine.
/// Measured with the load generator, runs alternating with the 250 ms build: pushes were
/// 20–30% slower at 1 s and at 500 ms, and about 10–20% slower at 100 ms (BENCHMARKS.md,
/// fifth session). On an idle database a checkpoint finds nothing to do. A failed
/// checkpoint is logged and tried again.
pub async fn checkpoint_wal(db: Db) {
    loop {
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
        if let Err(e) = db.run(|conn| Ok(db::checkpoint(conn)?)).await {
            tracing::warn!(error = ?e, "WAL checkpoint failed; retrying");
        }
    }
}

pub async fn run(state: web::Data<AppState>) {
    // The station day the new-matches run last completed (it runs once a day).
    let mut matched_on = None;
    loop {
        let retention =
            seconds(state.config.tombstone_retention_days.saturating_mul(86_400) as i64);
        let before = now_micros().saturating_sub(retention);
        match state
            .db
            .run(move |conn| Ok(records::purge_tombstones(conn, before)?))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed expired tombstones"),
            Err(e) => tracing::warn!(error = ?e, "tombstone cleanup failed; retrying later"),
        }
        // Throttle rows whose window and lock are over: an unknown name's row (keyed by
        // a hash) lives no longer than throttling needs. (The longest window: logins',
        // or the hour of exact lookups.)
        let window = seconds(state.config.login_window_secs.max(3600) as i64);
        match state
            .db
            .run(move |conn| Ok(liuqing_schema::throttle::purge(conn, now_micros(), window)?))
            .await
        {
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "login throttle cleanup failed; retrying later"),
        }
        let cutoff = now_micros().saturating_sub(seconds(ORPHAN_AFTER_SECS));
        match sweep_orphans(&state.db, state.blobs.as_ref(), cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed orphaned blobs"),
            Err(e) => tracing::warn!(error = ?e, "orphan cleanup failed; retrying later"),
        }
        match state
            .db
            .run(|conn| Ok(liuqing_sync::feed::check_digests(conn)?))
            .await
        {
            Ok(differed) if differed.is_empty() => {}
            Ok(differed) => tracing::warn!(
                communities = ?differed,
                "scope digests had drifted from the records; rebuilt them"
            ),
            Err(e) => tracing::warn!(error = ?e, "scope digest check failed; retrying later"),
        }
        let upkeep = state.clone();
        match state
            .db
            .write(move |conn| raise_expired_evidence_tasks(conn, &upkeep))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                tasks = n,
                "asked coordinators for certificates that expired"
            ),
            Err(e) => tracing::warn!(error = ?e, "expired evidence check failed; retrying later"),
        }
        let today = state.config.day_at(now_micros());
        if matched_on != Some(today) {
            match raise_match_tasks(&state).await {
                Ok(n) => {
                    matched_on = Some(today);
                    if n > 0 {
                        tracing::info!(tasks = n, "proposed new job matches to coordinators");
                    }
                }
                Err(e) => tracing::warn!(error = ?e, "new matches run failed; retrying later"),
            }
        }
        let upkeep = state.clone();
        match state
            .db
            .write(move |conn| {
                let scope = liuqing_schema::scope::Scope::All;
                let env =
                    crate::staff::engine_env(&scope, &upkeep.cipher, &upkeep.config, now_micros());
                let checks = crate::subsidies::checks::raise(conn, &env)?;
                let stops = crate::subsidies::recommend_stops(conn, &env, &upkeep.config)?;
                Ok((checks, stops))
            })
            .await
        {
            Ok((checks, stops)) => {
                if checks > 0 {
                    tracing::info!(
                        tasks = checks,
                        "asked coordinators to verify running subsidies"
                    );
                }
                if stops > 0 {
                    tracing::info!(
                        subsidies = stops,
                        "recommended stopping subsidies whose stop conditions are met"
                    );
                }
            }
            Err(e) => tracing::warn!(error = ?e, "subsidy upkeep failed; retrying later"),
        }
        match raise_due_visit_tasks(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tasks = n, "asked coordinators to visit households due"),
            Err(e) => tracing::warn!(error = ?e, "due visit check failed; retrying later"),
        }
        let expiry = seconds(state.config.upload_expiry_hours.saturating_mul(3600) as i64);
        let cutoff = now_micros().saturating_sub(expiry);
        if let Err(e) = expire_uploads(&state, cutoff).await {
            tracing::warn!(error = ?e, "upload cleanup failed; retrying later");
        }
        actix_web::rt::time::sleep(EVERY).await;
    }
}

/// Removes blobs whose write began before `before` and whose attachment row never
/// committed. Returns how many blobs were removed.
pub async fn sweep_orphans(
    db: &Db,
    blobs: &dyn BlobStore,
    before: Micros,
) -> anyhow::Result<usize> {
    let intents = db
        .run(move |conn| Ok(store::stale_intents(conn, before)?))
        .await?;
    let mut removed = 0;
    for (id, key, _sha, claimed) in intents {
        if !claimed {
            blobs.delete(&BlobKey::parse(&key)?).await?;
            removed += 1;
        }
        db.run(move |conn| Ok(store::remove_intent(conn, &id)?))
            .await?;
    }
    Ok(removed)
}

async fn expire_uploads(state: &AppState, before: Micros) -> anyhow::Result<()> {
    let ids = state
        .db
        .run(move |conn| Ok(store::stale_uploads(conn, before)?))
        .await?;
    for id in ids {
        let _ =
            tokio::fs::remove_file(state.config.staging_path().join(format!("{id}.upload"))).await;
        state
            .db
            .run(move |conn| Ok(store::remove_upload(conn, &id)?))
            .await?;
    }
    Ok(())
}

/// Evidence that counted for an open case (approved, of a person who applied or is
/// recognised) and has since passed its `valid_until`: the coordinator who photographed it
/// gets a task to photograph the current certificate, once per certificate and date (the
/// task's id is derived from them, so every replica's upkeep writes the same one). Returns
/// how many tasks were raised.
pub fn raise_expired_evidence_tasks(
    conn: &mut liuqing_schema::DbConn,
    state: &AppState,
) -> Result<usize, crate::error::ApiError> {
    use liuqing_schema::casefile;
    use liuqing_schema::entities::{get_path, Entity};
    use liuqing_schema::scope::Scope;

    let today = state.config.today();
    let caller = crate::auth::Caller::server();
    let env = crate::staff::engine_env(&Scope::All, &state.cipher, &state.config, now_micros());
    let communities = records::communities_in_scope(conn, &Scope::All)?;
    let all = records::live_of_entity(conn, Entity::Evidence, &communities)?;
    // A current certificate of the same kind for the same person: already replaced.
    let mut current = std::collections::HashSet::new();
    for e in &all {
        let doc = e.document()?;
        let text = |path| get_path(&doc, path).and_then(|v| v.as_str());
        let valid = text("valid_until")
            .and_then(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
            .is_none_or(|d| d >= today);
        if valid && text("review_state") != Some("rejected") {
            if let (Some(p), Some(t)) = (text("person_id"), text("evidence_type")) {
                current.insert((p.to_string(), t.to_string()));
            }
        }
    }
    let mut raised = 0;
    for evidence in all {
        let doc = evidence.document()?;
        let text = |path| get_path(&doc, path).and_then(|v| v.as_str());
        let Some(until) = text("valid_until") else {
            continue;
        };
        let expired = chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").is_ok_and(|d| d < today);
        if !expired || text("review_state") != Some("approved") {
            continue;
        }
        let (Some(person_id), Some(assignee)) = (text("person_id"), evidence.created_by.clone())
        else {
            continue;
        };
        let open_case = casefile::person_row(conn, person_id)?
            .is_some_and(|p| p.status == "applied" || p.status == "recognised");
        let replaced = text("evidence_type")
            .is_some_and(|t| current.contains(&(person_id.to_string(), t.to_string())));
        let active = liuqing_schema::users::find(conn, &assignee)?.is_some_and(|u| !u.disabled);
        if !open_case || replaced || !active {
            continue;
        }
        let id = liuqing_sync::follow_on::derived_id(&format!(
            "expired evidence\0{}\0{until}",
            evidence.id
        ));
        if records::find(conn, Entity::Task, &id.to_string())?.is_some() {
            continue;
        }
        let kind = text("evidence_type")
            .and_then(|t| t.parse::<liuqing_schema::domain::EvidenceType>().ok())
            .map_or("证件", |e| e.chinese_name());
        let task = crate::staff::NewTask {
            id: Some(id),
            of: crate::staff::TaskOf::Person(person_id.to_string()),
            assignee_id: assignee,
            kind: "retake_photo",
            title: format!("证件已过期，请拍摄新证：{kind}"),
            due_on: Some(today + chrono::Days::new(7)),
            notes: Some(format!("原证件有效期至 {until}")),
            links: Vec::new(),
        };
        // Each in a savepoint: one that cannot be written is logged, not the end of all.
        match crate::db::transaction(conn, |conn| {
            crate::staff::add_task(conn, &caller, &env, task)
        }) {
            Ok(_) => raised += 1,
            Err(e) => {
                tracing::warn!(evidence = %evidence.id, error = ?e, "could not raise an expired-certificate task")
            }
        }
    }
    Ok(raised)
}

/// Households due a visit written per transaction: the write lock is let go between
/// them, so pushes are not held up behind a first run that raises thousands.
const DUE_TASKS_PER_WRITE: usize = 200;

/// Households not reached within `visit_interval_days` get a `visit` task for a
/// coordinator of their community (the one who enrolled the household, if they still
/// serve it), once per spell of being due: the task's id is derived from the household and
/// its last `met` visit, so every replica's upkeep writes the same one, and a `met` visit
/// closes it (`liuqing_sync::follow_on`). A household with an open visit task already
/// (one staff raised) gets none. Returns how many tasks were raised.
pub async fn raise_due_visit_tasks(
    state: &web::Data<AppState>,
) -> Result<usize, crate::error::ApiError> {
    use liuqing_schema::coverage;
    use liuqing_schema::scope::Scope;

    if !state.config.visit_tasks {
        return Ok(0);
    }
    let settings = state.config.coverage_settings();
    let now = now_micros();
    let due = state
        .db
        .run(move |conn| {
            let communities = records::communities_in_scope(conn, &Scope::All)?;
            Ok(coverage::due_now(conn, &communities, now, &settings)?)
        })
        .await?;
    let mut raised = 0;
    for chunk in due.chunks(DUE_TASKS_PER_WRITE) {
        let chunk = chunk.to_vec();
        let state2 = state.clone();
        raised += state
            .db
            .write(move |conn| raise_visit_tasks(conn, &state2, &chunk, now))
            .await?;
    }
    Ok(raised)
}

fn raise_visit_tasks(
    conn: &mut liuqing_schema::DbConn,
    state: &AppState,
    due: &[liuqing_schema::coverage::Due],
    now: Micros,
) -> Result<usize, crate::error::ApiError> {
    use liuqing_schema::casefile;
    use liuqing_schema::entities::{get_path, Entity};
    use liuqing_schema::scope::Scope;

    let settings = state.config.coverage_settings();
    let today = state.config.day_at(now);
    let caller = crate::auth::Caller::server();
    let env = crate::staff::engine_env(&Scope::All, &state.cipher, &state.config, now);
    let mut assignees = Assignees::default();
    let mut raised = 0;
    for (household, _, last) in due {
        let spell = last.map_or_else(|| "never".to_string(), |at| at.to_string());
        let id = liuqing_sync::follow_on::derived_id(&format!("due visit\0{household}\0{spell}"));
        if records::find(conn, Entity::Task, &id.to_string())?.is_some() {
            continue;
        }
        let open = casefile::children_of(conn, household, Entity::Task)?
            .iter()
            .map(|t| t.document())
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .any(|d| {
                let text = |p| get_path(d, p).and_then(|v| v.as_str());
                text("kind") == Some("visit") && text("state") == Some("open")
            });
        if open {
            continue;
        }
        let Some(record) = records::find(conn, Entity::Household, household)? else {
            continue;
        };
        let Some(assignee) = assignees.of(conn, &record)? else {
            continue; // No coordinator serves the community: the station's due list shows it.
        };
        let address = get_path(&record.document()?, "address")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let fell_due = last.map(|at| {
            settings.day_of(at) + chrono::Days::new(u64::from(settings.visit_interval_days))
        });
        let task = crate::staff::NewTask {
            id: Some(id),
            of: crate::staff::TaskOf::Household(household.clone()),
            assignee_id: assignee,
            kind: "visit",
            title: format!("入户走访：{address}"),
            due_on: Some(fell_due.map_or(today, |d| d.max(today))),
            notes: Some(match fell_due {
                Some(_) => format!(
                    "{}天内未见到住户，上次见到在 {}",
                    settings.visit_interval_days,
                    last.map(|at| settings.day_of(at).to_string())
                        .unwrap_or_default()
                ),
                None => "尚未入户见到住户".to_string(),
            }),
            links: Vec::new(),
        };
        match crate::db::transaction(conn, |conn| {
            crate::staff::add_task(conn, &caller, &env, task)
        }) {
            Ok(_) => raised += 1,
            Err(e) => {
                tracing::warn!(household = %household, error = ?e, "could not raise a due visit task")
            }
        }
    }
    Ok(raised)
}

/// Whom the server gives a household's tasks: the coordinator who enrolled it while they
/// still serve its community, else the community's first coordinator; `None` when no
/// coordinator serves it (the station's lists still show what the task would have).
#[derive(Default)]
pub(crate) struct Assignees(std::collections::HashMap<String, Vec<String>>);

impl Assignees {
    pub(crate) fn of(
        &mut self,
        conn: &mut liuqing_schema::DbConn,
        household: &records::Record,
    ) -> Result<Option<String>, liuqing_schema::StoreError> {
        let community = &household.community_id;
        if !self.0.contains_key(community) {
            let ids = liuqing_schema::users::coordinators_of(conn, community)?;
            self.0.insert(community.clone(), ids);
        }
        let serving = &self.0[community];
        let enroller = household.created_by.clone().filter(|u| serving.contains(u));
        Ok(enroller.or_else(|| serving.first().cloned()))
    }
}

/// Recognised persons' new matches (人岗匹配) become `job_match` tasks for their
/// coordinator, once a station day: each proposes one open vacancy of the person's street
/// that scores at least `match_task_min_score`, never the same one twice, and no person
/// holds more than `match_tasks_per_person` open. A referral to the vacancy closes the
/// task (`liuqing_sync::follow_on`). Returns how many were raised.
pub async fn raise_match_tasks(
    state: &web::Data<AppState>,
) -> Result<usize, crate::error::ApiError> {
    use liuqing_schema::matches;
    use liuqing_schema::scope::Scope;

    let per_person = state.config.match_tasks_per_person as usize;
    let min_score = state.config.match_task_min_score;
    let now = now_micros();
    let today = state.config.day_at(now);
    let cache = std::sync::Arc::clone(&state.vacancies);
    let found = state
        .db
        .run(move |conn| {
            Ok(matches::new_matches(
                conn,
                &Scope::All,
                &cache,
                today,
                min_score,
                per_person,
            )?)
        })
        .await?;
    let mut raised = 0;
    for chunk in found.chunks(MATCH_TASKS_PER_WRITE) {
        let chunk = chunk.to_vec();
        let state2 = state.clone();
        raised += state
            .db
            .write(move |conn| raise_matches(conn, &state2.cipher, &state2.config, &chunk, now))
            .await?;
    }
    Ok(raised)
}

/// New matches written in one transaction (the upkeep's, and the benchmark's).
pub const MATCH_TASKS_PER_WRITE: usize = DUE_TASKS_PER_WRITE;

/// Raises the `job_match` tasks of `found` not raised before, as the server; the caller
/// holds the write transaction. Returns how many were raised.
pub fn raise_matches(
    conn: &mut liuqing_schema::DbConn,
    cipher: &liuqing_schema::crypto::FieldCipher,
    config: &crate::config::Config,
    found: &[liuqing_schema::matches::NewMatch],
    now: Micros,
) -> Result<usize, crate::error::ApiError> {
    use liuqing_schema::entities::Entity;
    use liuqing_schema::scope::Scope;

    let today = config.day_at(now);
    let caller = crate::auth::Caller::server();
    let env = crate::staff::engine_env(&Scope::All, cipher, config, now);
    let mut assignees = Assignees::default();
    let mut raised = 0;
    // What each task needs, read for the whole batch: which are raised already, and each
    // person's household.
    let ids: Vec<String> = found
        .iter()
        .map(|m| {
            liuqing_sync::follow_on::derived_id(&format!(
                "job match\0{}\0{}",
                m.person_id, m.vacancy_id
            ))
            .to_string()
        })
        .collect();
    let keys: Vec<(Entity, &str)> = ids.iter().map(|id| (Entity::Task, id.as_str())).collect();
    let raised_before: std::collections::HashSet<String> = records::find_many(conn, &keys)?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let keys: Vec<(Entity, &str)> = found
        .iter()
        .map(|m| (Entity::Person, m.person_id.as_str()))
        .collect();
    let household_of: std::collections::HashMap<String, String> = records::find_many(conn, &keys)?
        .into_iter()
        .filter_map(|p| Some((p.id, p.parent_id?)))
        .collect();
    let keys: Vec<(Entity, &str)> = household_of
        .values()
        .map(|h| (Entity::Household, h.as_str()))
        .collect();
    let households: std::collections::HashMap<String, records::Record> =
        records::find_many(conn, &keys)?
            .into_iter()
            .map(|h| (h.id.clone(), h))
            .collect();
    for (m, id) in found.iter().zip(&ids) {
        if raised_before.contains(id) {
            continue;
        }
        let Some(household) = household_of
            .get(&m.person_id)
            .and_then(|h| households.get(h))
        else {
            continue;
        };
        let Some(assignee) = assignees.of(conn, household)? else {
            continue;
        };
        let task = crate::staff::NewTask {
            id: uuid::Uuid::parse_str(id).ok(),
            of: crate::staff::TaskOf::PersonIn {
                person: m.person_id.clone(),
                household: household.id.clone(),
            },
            assignee_id: assignee,
            kind: "job_match",
            title: format!("推荐岗位：{}（匹配 {} 分）", m.title, m.score),
            due_on: Some(today + chrono::Days::new(MATCH_TASK_DAYS)),
            notes: Some(m.reasons.clone()),
            links: vec![("vacancy_id", m.vacancy_id.clone())],
        };
        match crate::db::transaction(conn, |conn| {
            crate::staff::add_task(conn, &caller, &env, task)
        }) {
            Ok(_) => raised += 1,
            Err(e) => {
                tracing::warn!(person = %m.person_id, error = ?e, "could not raise a match task")
            }
        }
    }
    Ok(raised)
}

/// Days a coordinator has to put a new match to the person.
const MATCH_TASK_DAYS: u64 = 7;
