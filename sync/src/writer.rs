//! The write path for pushes: who writes ([`Author`]), the engine's settings
//! ([`Settings`]), and the group commit of sync pushes ([`Pushes`]).
//!
//! Group commit of sync pushes. Every push waits for the one write lock anyway (the change
//! counter's, which keeps commit order equal to change-number order), so the push whose
//! turn it is applies the chunks of every push queued behind it too, in one transaction
//! (`engine::apply_group`), and hands each its answers. The pages they share (the ends
//! of the indexes, the log, the counter) are then written and synced once per group.
//!
//! A database error fails a group as a whole; its pushes are then applied one by one, so
//! one phone's failing push is never another's. Waiting here, in the process, also wakes
//! the next writer as soon as the last commits, where SQLite's busy handler would sleep
//! and retry.
//!
//! Whichever request's thread applies a group, it writes through one pool connection
//! kept with the turn (`liuqing_schema::db::make_writer`), so what the last group read
//! stays in that connection's cache. It is taken only if one is idle (the turn is never
//! held waiting for a connection): until then the request's own connection writes. A
//! group that fails gives the writer's connection back (its state may be broken); one
//! that fails because the connection no longer answers (the database restarted, failed
//! over, or a firewall dropped it) is applied again once, on another.

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use liuqing_schema::domain::follow_ups::Months;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::NaiveDate;
use liuqing_schema::crypto::FieldCipher;
use liuqing_schema::db::{self, DbPool, PooledConn};
use liuqing_schema::scope::Scope;
use liuqing_schema::throttle::Spend;
use liuqing_schema::time::Micros;
use liuqing_schema::users::Role;
use liuqing_schema::{DbConn, StoreError};

use liuqing_schema::entities::Entity;
use liuqing_schema::records::{self, Record};
use serde_json::{Map, Value};

use crate::engine::{self, Env, Exhausted, Part, PartAnswer, Prepared, Writer, CHUNK};
use crate::hlc::Hlc;
use crate::protocol::{Mutation, MutationResult, Op, PushAnswer};

/// Who writes, owned: what a queued push carries to whichever thread applies it.
#[derive(Debug, Clone)]
pub struct Author {
    pub user_id: String,
    pub device_id: String,
    pub role: Role,
    /// The device is retiring: it may push what it holds once, then it is locked, in the
    /// transaction of its push's last chunk.
    pub retiring: bool,
}

impl Author {
    /// The author as the engine's writer of an edit through the API (not from an outbox).
    pub fn writer(&self) -> Writer<'_> {
        Writer {
            user_id: &self.user_id,
            device_id: &self.device_id,
            role: self.role,
            lifecycle: false,
            from_outbox: false,
        }
    }

    /// The author as the engine's writer of a push: a device sending its outbox.
    fn pusher(&self) -> Writer<'_> {
        Writer {
            from_outbox: true,
            ..self.writer()
        }
    }
}

/// The deployment's settings that every write reads.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The stations' offset from UTC: their day is the one dates and deadlines count in.
    pub utc_offset_minutes: i32,
    /// How far ahead of the server a phone's clock may be before it is clamped.
    pub max_skew_ms: u64,
    /// Days a rejected applicant waits before applying again.
    pub reapply_wait_days: u32,
    /// When a placement's follow-ups fall due.
    pub follow_up_months: Months,
}

impl Settings {
    /// The stations' day at an instant.
    pub fn day_at(&self, at: Micros) -> NaiveDate {
        let offset = chrono::Duration::minutes(i64::from(self.utc_offset_minutes));
        let at = chrono::DateTime::from_timestamp_micros(at).unwrap_or_else(chrono::Utc::now);
        (at + offset).date_naive()
    }

    /// The engine's surroundings for one request: the caller's scope, the cipher, the time.
    pub fn env<'a>(&self, scope: &'a Scope, cipher: &'a FieldCipher, now: Micros) -> Env<'a> {
        Env {
            scope,
            cipher,
            now,
            // The request's day, not the clock's: a push's values are checked before the
            // write lock and merged under it, perhaps after midnight.
            today: self.day_at(now),
            max_skew_ms: self.max_skew_ms,
            reapply_wait_days: self.reapply_wait_days,
            follow_up_months: self.follow_up_months,
        }
    }
}

/// A write through the API (station staff's edits, review decisions, recognition
/// actions, the tasks they raise): `f` reads what it decides on and applies its edits
/// ([`apply_edit`]) in one transaction that holds the write lock from its start, so what
/// it read is what it writes over, and two staff acting at once are serialised. An error
/// from `f` (a rejection mapped to one) rolls all of it back.
pub fn transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<StoreError> + From<diesel::result::Error>,
{
    use diesel::Connection;
    conn.transaction(|conn| {
        records::lock_for_write(conn)?;
        f(conn)
    })
}

/// One edit through the API: which record, and what to set.
#[derive(Debug, Clone)]
pub struct Edit {
    pub entity: Entity,
    pub id: uuid::Uuid,
    pub op: Op,
    /// The version the writer saw; `None` for a new record.
    pub base_version: Option<i64>,
    pub fields: Map<String, Value>,
    pub set_ops: Map<String, Value>,
    /// A recognition action, whose state machine has been checked (see `Writer`).
    pub lifecycle: bool,
}

impl Edit {
    /// A new record with these fields.
    pub fn create(entity: Entity, fields: Map<String, Value>) -> Edit {
        Edit {
            entity,
            id: uuid::Uuid::now_v7(),
            op: Op::Upsert,
            base_version: None,
            fields,
            set_ops: Map::new(),
            lifecycle: false,
        }
    }

    /// Changes to a record the writer read at `record.version`.
    pub fn update(record: &Record, fields: Map<String, Value>) -> Result<Edit, StoreError> {
        Ok(Edit {
            entity: record.entity,
            id: record
                .id
                .parse()
                .map_err(|e: uuid::Error| StoreError::Corrupt {
                    column: "records.id",
                    value: e.to_string(),
                })?,
            op: Op::Upsert,
            base_version: Some(record.version),
            fields,
            set_ops: Map::new(),
            lifecycle: false,
        })
    }
}

/// Applies an edit as `author`, as one mutation through the engine (the path phones' pushes
/// take: a change number, merges by the field policies, the phones pull it), inside the
/// caller's [`transaction`]. A rejection is an answer, not an error: the caller maps it,
/// and its error rolls the transaction back.
pub fn apply_edit(
    conn: &mut DbConn,
    author: &Author,
    env: &Env<'_>,
    edit: Edit,
) -> Result<MutationResult, StoreError> {
    let mutation = Mutation {
        mutation_id: uuid::Uuid::now_v7(),
        entity: edit.entity.to_string(),
        id: edit.id,
        op: edit.op,
        base_version: edit.base_version,
        hlc: Hlc {
            millis: (env.now / 1000).max(0) as u64,
            counter: 0,
            node: author.device_id.clone(),
        }
        .to_string(),
        fields: edit.fields,
        set_ops: edit.set_ops,
    };
    let mut mutation = mutation;
    mutation.normalise();
    let who = Writer {
        lifecycle: edit.lifecycle,
        ..author.writer()
    };
    engine::apply(conn, who, env, &mutation)
}

/// At most this many mutations go in one group (whole chunks: a group holds at least
/// one). It bounds the transaction, and so how long the lock is held.
const GROUP: usize = 4 * CHUNK;

/// The smallest pool from which the writer keeps a connection of its own.
const WRITER_KEEPS_FROM: u32 = 4;

type Answer = Result<PushAnswer, PushError>;

/// Why a push was not answered.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The push's allowance is spent (nothing of it was applied or counted).
    #[error("the allowance is spent until {}", .0.until)]
    Exhausted(Exhausted),
}

fn part_answer(answer: PartAnswer) -> Answer {
    answer.map_err(PushError::Exhausted)
}

/// One chunk of a push, waiting for its turn.
struct Queued {
    author: Author,
    scope: Scope,
    now: Micros,
    mutations: Vec<Mutation>,
    /// What could be done for them without the lock (see `engine::prepare`).
    prepared: Vec<Prepared>,
    /// The last chunk of a retiring device's push.
    retire_device: bool,
    /// What the push spends, carried by its first chunk.
    spend: Option<Spend>,
    answer: Sender<Answer>,
}

/// The pushes waiting for the write lock, and the lock.
pub struct Pushes {
    cipher: Arc<FieldCipher>,
    settings: Settings,
    pool: DbPool,
    waiting: Mutex<Vec<Queued>>,
    /// The turn to write, holding the writer's connection (`None` until one is taken, or
    /// after a group failed on it).
    turn: Mutex<Option<PooledConn>>,
}

/// What became of a group.
enum Outcome {
    /// Every chunk was answered; `failed` if the group's transaction failed (its chunks
    /// were then applied one by one).
    Answered { failed: bool },
    /// The connection no longer answers: nothing was answered, and the group comes back
    /// to be applied on another.
    Lost(Vec<Queued>),
}

/// A poisoned lock only means a writer panicked; its transaction rolled back, so what the
/// lock guards is whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Pushes {
    pub fn new(cipher: Arc<FieldCipher>, settings: Settings, pool: DbPool) -> Pushes {
        Pushes {
            cipher,
            settings,
            pool,
            waiting: Mutex::default(),
            turn: Mutex::default(),
        }
    }

    /// Applies a push's mutations for the author, in order, a chunk of [`CHUNK`] per
    /// transaction, each chunk possibly committed with other pushes' chunks. A retiring
    /// device is locked in the transaction of its push's last chunk (an empty push is one
    /// empty chunk then). `spend` is made in the first chunk's transaction: if it does not
    /// fit, nothing of the push is applied.
    pub fn apply(
        &self,
        conn: &mut DbConn,
        author: &Author,
        scope: &Scope,
        now: Micros,
        mutations: Vec<Mutation>,
        mut spend: Option<Spend>,
    ) -> Answer {
        let mut answer = PushAnswer {
            results: Vec::with_capacity(mutations.len()),
            missing_attachments: Vec::new(),
        };
        if mutations.is_empty() && !author.retiring {
            return Ok(answer);
        }
        let env = self.settings.env(scope, &self.cipher, now);
        let mut mutations = mutations;
        mutations.iter_mut().for_each(Mutation::normalise);
        // Chunks are moved into the queue (another push's thread may apply them), not copied.
        let mut rest = mutations;
        loop {
            let tail = rest.split_off(CHUNK.min(rest.len()));
            let chunk = std::mem::replace(&mut rest, tail);
            // On this thread, while another holds the lock: the writer is left less to do.
            let prepared = chunk
                .iter()
                .map(|m| engine::prepare(author.pusher(), &env, m))
                .collect();
            let (sender, answered) = mpsc::channel();
            lock(&self.waiting).push(Queued {
                author: author.clone(),
                scope: scope.clone(),
                now,
                mutations: chunk,
                prepared,
                retire_device: author.retiring && rest.is_empty(),
                spend: spend.take(),
                answer: sender,
            });
            let part = self.wait(conn, &answered)?;
            answer.results.extend(part.results);
            for hash in part.missing_attachments {
                if !answer.missing_attachments.contains(&hash) {
                    answer.missing_attachments.push(hash);
                }
            }
            if rest.is_empty() {
                return Ok(answer);
            }
        }
    }

    /// Waits for the turn; then, unless the writer before has answered this chunk
    /// already, applies the queue's first group, until this chunk is answered.
    fn wait(&self, own: &mut DbConn, answered: &Receiver<Answer>) -> Answer {
        let mut turn = self.turn.lock().unwrap_or_else(|poisoned| {
            // A writer panicked: its connection may be left inside a transaction.
            self.turn.clear_poison();
            let mut turn = poisoned.into_inner();
            *turn = None;
            turn
        });
        loop {
            match answered.try_recv() {
                Ok(answer) => return answer,
                Err(TryRecvError::Disconnected) => {
                    return Err(PushError::Store(StoreError::Config(
                        "the writer applying this push stopped before answering".into(),
                    )))
                }
                Err(TryRecvError::Empty) => {}
            }
            let mut group = self.next_group();
            // A group whose connection was lost is applied once more, on another.
            for retry in [false, true] {
                if turn.is_none() {
                    *turn = self.writer_connection();
                }
                let conn: &mut DbConn = match turn.as_mut() {
                    Some(writer) => writer,
                    None => own,
                };
                match apply(conn, &self.cipher, self.settings, group) {
                    Outcome::Answered { failed } => {
                        if failed {
                            *turn = None;
                        }
                        break;
                    }
                    Outcome::Lost(back) => {
                        tracing::warn!("the writer's database connection was lost");
                        *turn = None;
                        if retry {
                            answer_lost(back);
                            break;
                        }
                        group = back;
                    }
                }
            }
        }
    }

    /// An idle pool connection made the writer's, if there is one (validated by the pool
    /// as it is taken). A pool of fewer than [`WRITER_KEEPS_FROM`] connections keeps
    /// them all for requests.
    fn writer_connection(&self) -> Option<PooledConn> {
        if self.pool.max_size() < WRITER_KEEPS_FROM {
            return None;
        }
        let mut conn = self.pool.try_get()?;
        match db::make_writer(&mut conn) {
            Ok(()) => Some(conn),
            Err(e) => {
                tracing::warn!(error = %e, "cannot make a connection the writer's");
                None
            }
        }
    }

    /// The oldest waiting chunks, up to [`GROUP`] mutations (at least one chunk).
    fn next_group(&self) -> Vec<Queued> {
        let mut waiting = lock(&self.waiting);
        let mut size = 0;
        let mut take = 0;
        for q in waiting.iter() {
            if take > 0 && size + q.mutations.len() > GROUP {
                break;
            }
            size += q.mutations.len();
            take += 1;
        }
        waiting.drain(..take).collect()
    }
}

/// Whether a connection still answers (after a failed group).
fn is_usable(conn: &mut DbConn) -> bool {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SELECT 1").is_ok()
}

/// Answers every chunk of a group whose connection was lost twice: the database is
/// unavailable (a 503 the phone retries).
fn answer_lost(group: Vec<Queued>) {
    for q in group {
        let lost = diesel::ConnectionError::BadConnection(
            "the database connection was lost while applying the push".into(),
        );
        let _ = q.answer.send(Err(StoreError::Connect(lost).into()));
    }
}

/// Applies a group in one transaction and answers each chunk; if the group fails, each
/// chunk on its own, unless the connection no longer answers.
fn apply(
    conn: &mut DbConn,
    cipher: &FieldCipher,
    settings: Settings,
    mut group: Vec<Queued>,
) -> Outcome {
    let prepared: Vec<Vec<Prepared>> = group
        .iter_mut()
        .map(|q| std::mem::take(&mut q.prepared))
        .collect();
    let envs: Vec<_> = group
        .iter()
        .map(|q| settings.env(&q.scope, cipher, q.now))
        .collect();
    let mut parts: Vec<Part<'_>> = group
        .iter()
        .zip(&envs)
        .zip(prepared)
        .map(|((q, env), prepared)| Part {
            who: q.author.pusher(),
            env,
            mutations: &q.mutations,
            prepared,
            retire_device: q.retire_device,
            spend: q.spend.as_ref(),
        })
        .collect();
    let started = std::time::Instant::now();
    let applied = engine::apply_group(conn, &mut parts);
    tracing::debug!(
        pushes = parts.len(),
        mutations = parts.iter().map(|p| p.mutations.len()).sum::<usize>(),
        micros = started.elapsed().as_micros() as u64,
        "group commit"
    );
    match applied {
        Ok(answers) => {
            for (q, answer) in group.iter().zip(answers) {
                // A push whose request was dropped is not waiting any more.
                let _ = q.answer.send(part_answer(answer));
            }
            Outcome::Answered { failed: false }
        }
        Err(_) if !is_usable(conn) => {
            // (What was prepared may be used up: the engine then makes it under the lock.)
            drop(parts);
            Outcome::Lost(group)
        }
        Err(e) if group.len() == 1 => {
            let _ = group[0].answer.send(Err(e.into()));
            Outcome::Answered { failed: true }
        }
        Err(_) => {
            for (q, part) in group.iter().zip(&mut parts) {
                let answer = engine::apply_group(conn, std::slice::from_mut(part))
                    .map_err(PushError::from)
                    .and_then(|mut answers| {
                        part_answer(answers.pop().unwrap_or(Ok(PushAnswer::default())))
                    });
                let _ = q.answer.send(answer);
            }
            Outcome::Answered { failed: true }
        }
    }
}
