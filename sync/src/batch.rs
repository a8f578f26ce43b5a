//! What the mutations of one writing transaction share: the change numbers, the records
//! they read, the mutation log's earlier answers, and the writes they have decided on.
//!
//! A push of 100 mutations used to ask the database, for each mutation, for a change
//! number, for an earlier answer and for the record and its parent, and to write each
//! mutation's rows inside a savepoint of its own: about ten statements a mutation, each a
//! round trip on PostgreSQL. A batch reads once per transaction, after taking the write
//! lock, and keeps what it learns in step with what the transaction decides. No other
//! writer can change any of it meanwhile: they all wait for the lock.
//!
//! Writes wait in the batch until [`Batch::flush`], which writes them in order, records
//! and the log in one statement each. A mutation's writes join them only once it is
//! decided and kept, so a rejected mutation has nothing to roll back: that is what the
//! savepoints were for. A database error fails the whole transaction, as before.

use std::collections::{hash_map, BTreeMap, HashMap};
use std::rc::Rc;

use chrono::NaiveDate;
use liuqing_schema::digests::{self, Digest};
use liuqing_schema::entities::{self, Entity, FieldType};
use liuqing_schema::records::{self, Conflict, LoggedMutation, Record};
use liuqing_schema::{org, seals, DbConn, StoreError};
use serde_json::Value;

use crate::feed::key_hash;
use crate::projection::{self, Change};
use crate::protocol::Mutation;
use crate::values::sealed_hash;

/// What the scope said of each org node during one request (`None`: outside it, or no
/// such node). The scope is fixed for the request, so the first answer holds.
pub type ScopeMemo = BTreeMap<String, Option<org::OrgKind>>;

/// A write a mutation decided on.
enum Write {
    /// A record's new state, with its document (for the projections) and the fields the
    /// mutation wrote. The state is shared with [`Batch::records`], not copied: it holds
    /// the whole document and its clocks.
    Record {
        record: Rc<Record>,
        doc: Value,
        created: bool,
        touched: Vec<&'static str>,
        /// The stations' day of the write (its request's): a new person's enrolment day.
        day: NaiveDate,
    },
    Conflict(Box<Conflict>),
}

/// The state one transaction's mutations share. Made by [`Batch::begin`], which takes the
/// write lock; [`Batch::finish`] must run before the transaction commits.
pub struct Batch {
    /// The counter as the transaction found it.
    counter: i64,
    /// The last change number a kept mutation's record took.
    last: i64,
    /// Records as the transaction sees them, read or decided (`None`: no such record).
    records: HashMap<(Entity, String), Option<Rc<Record>>>,
    /// `mutation_id` → (device, answer) of every mutation logged before or during this one.
    logged: HashMap<String, (String, String)>,
    /// The current mutation's writes, until it is kept (or dropped with it).
    staged: Vec<Write>,
    /// Kept mutations' writes, in order, not yet in the database.
    pending: Vec<Write>,
    /// Their answers, not yet in the log.
    answers: Vec<LoggedMutation>,
    /// ID number hash → (person, community) of persons created since the last flush.
    enrolling: HashMap<String, (String, String)>,
    /// ID number hash → the person enrolled with it (and their community) as the database
    /// held it since the last flush, for the hashes asked for in advance
    /// ([`Batch::look_up_enrolled`]).
    enrolled: HashMap<String, Option<(String, String)>>,
    /// Whether a person was edited or deleted since the last flush: the hashes the
    /// database holds may then be out of date.
    persons_changed: bool,
    /// `(version, deleted)` of each record read, as the database holds it (after the
    /// last flush): what a write takes out of its community's digest.
    stored: HashMap<(Entity, String), (i64, bool)>,
}

impl Batch {
    /// Takes the write lock, then reads what `mutations` will look up: their earlier
    /// answers, their records, the records they name and the parents of new ones.
    pub fn begin<'m>(
        conn: &mut DbConn,
        mutations: impl IntoIterator<Item = &'m Mutation> + Clone,
    ) -> Result<Batch, StoreError> {
        let counter = records::lock_for_write(conn)?;
        let ids: Vec<String> = mutations
            .clone()
            .into_iter()
            .map(|m| m.mutation_id.to_string())
            .collect();
        let size = ids.len();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let logged = records::logged_mutations(conn, &ids)?
            .into_iter()
            .map(|(id, device, result)| (id, (device, result)))
            .collect();

        let mut wanted: Vec<(Entity, String)> = Vec::new();
        // (record, its parent): the parent is read only if the record is new, below.
        let mut parents: Vec<((Entity, String), (Entity, String))> = Vec::new();
        for m in mutations {
            let Ok(entity) = m.entity.parse::<Entity>() else {
                continue;
            };
            let spec = entities::spec(entity);
            let parent = spec.parent.map(|(field, _)| field);
            wanted.push((entity, m.id.to_string()));
            // Its parent and the other records it names (all checked under the lock).
            for field in spec.fields {
                let (FieldType::Ref(named) | FieldType::RefList(named)) = field.ty else {
                    continue;
                };
                match m.fields.get(field.path) {
                    Some(Value::String(id)) if parent == Some(field.path) => {
                        parents.push(((entity, m.id.to_string()), (named, id.clone())));
                    }
                    Some(Value::String(id)) => wanted.push((named, id.clone())),
                    Some(Value::Array(ids)) => wanted.extend(
                        ids.iter()
                            .filter_map(Value::as_str)
                            .map(|id| (named, id.to_string())),
                    ),
                    _ => {}
                }
            }
        }
        let mut batch = Batch {
            counter,
            last: counter,
            records: HashMap::new(),
            logged,
            staged: Vec::new(),
            pending: Vec::with_capacity(size),
            answers: Vec::with_capacity(size),
            enrolling: HashMap::new(),
            enrolled: HashMap::new(),
            persons_changed: false,
            stored: HashMap::new(),
        };
        batch.read_ahead(conn, wanted)?;
        // Only a new record is placed by its parent: an edit cannot move its record, and
        // never reads the parent. Every six-clears edit names its person (`person_id`, which
        // `Mutation::normalise` fills in), and reading those persons with the records was
        // about 7% of the server's CPU in the load generator's edits.
        let new_ones_parents = parents
            .into_iter()
            .filter(|(record, _)| matches!(batch.records.get(record), Some(None)))
            .map(|(_, parent)| parent)
            .filter(|parent| !batch.records.contains_key(parent))
            .collect();
        batch.read_ahead(conn, new_ones_parents)?;
        Ok(batch)
    }

    /// Reads the records with `keys` together, noting those the database does not hold.
    fn read_ahead(
        &mut self,
        conn: &mut DbConn,
        mut keys: Vec<(Entity, String)>,
    ) -> Result<(), StoreError> {
        keys.sort();
        keys.dedup();
        let wanted: Vec<(Entity, &str)> = keys.iter().map(|(e, id)| (*e, id.as_str())).collect();
        let found = records::find_many(conn, &wanted)?;
        for key in keys {
            self.records.insert(key, None);
        }
        for record in found {
            let key = (record.entity, record.id.clone());
            self.stored
                .insert(key.clone(), (record.version, record.deleted));
            self.records.insert(key, Some(Rc::new(record)));
        }
        Ok(())
    }

    /// The change number the next kept mutation gets.
    pub fn next_version(&self) -> i64 {
        self.last + 1
    }

    /// A record as the transaction sees it.
    pub fn find(
        &mut self,
        conn: &mut DbConn,
        entity: Entity,
        id: &str,
    ) -> Result<Option<Rc<Record>>, StoreError> {
        let key = (entity, id.to_string());
        if let Some(known) = self.records.get(&key) {
            return Ok(known.clone());
        }
        let found = records::find(conn, entity, id)?.map(Rc::new);
        if let Some(record) = &found {
            self.stored
                .insert(key.clone(), (record.version, record.deleted));
        }
        self.records.insert(key, found.clone());
        Ok(found)
    }

    /// The earlier answer to `mutation_id`, with the device that sent it.
    pub fn logged(&self, mutation_id: &str) -> Option<&(String, String)> {
        self.logged.get(mutation_id)
    }

    /// Reads in one statement who is enrolled with each of `hashes` (the ID numbers of the
    /// persons the mutations create), so that [`Batch::enrolled`] need not ask one by one.
    pub fn look_up_enrolled(
        &mut self,
        conn: &mut DbConn,
        hashes: &[&str],
    ) -> Result<(), StoreError> {
        for hash in hashes {
            self.enrolled.insert(hash.to_string(), None);
        }
        for (hash, person, community) in projection::enrolled_any(conn, hashes)? {
            self.enrolled.insert(hash, Some((person, community)));
        }
        Ok(())
    }

    /// The person other than `except` enrolled with this ID number hash, and their
    /// community, as the transaction sees it.
    pub fn enrolled(
        &mut self,
        conn: &mut DbConn,
        hash: &str,
        except: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        if self.persons_changed {
            self.flush(conn)?;
        }
        if let Some((id, community)) = self.enrolling.get(hash) {
            if id != except {
                return Ok(Some((id.clone(), community.clone())));
            }
        }
        if let Some(known) = self.enrolled.get(hash) {
            return Ok(known.as_ref().filter(|(id, _)| id != except).cloned());
        }
        projection::enrolled(conn, hash, except)
    }

    /// Whether any live record names `parent_id` as its parent.
    pub fn has_live_children(
        &mut self,
        conn: &mut DbConn,
        parent_id: &str,
    ) -> Result<bool, StoreError> {
        // Rare (deletions only): the database answers once it holds every decided write.
        self.flush(conn)?;
        records::has_live_children(conn, parent_id)
    }

    /// The current mutation will write `record` if it is kept.
    pub fn stage_record(
        &mut self,
        record: Record,
        doc: Value,
        created: bool,
        touched: Vec<&'static str>,
        day: NaiveDate,
    ) {
        self.staged.push(Write::Record {
            record: Rc::new(record),
            doc,
            created,
            touched,
            day,
        });
    }

    /// The current mutation will record `conflict` if it is kept.
    pub fn stage_conflict(&mut self, conflict: Conflict) {
        self.staged.push(Write::Conflict(Box::new(conflict)));
    }

    /// The current mutation is decided: `kept`, its staged writes join the pending ones
    /// (a record it wrote took the next change number); otherwise they are dropped. Its
    /// answer is logged either way.
    pub fn settle(&mut self, kept: bool, answer: LoggedMutation) {
        let staged = std::mem::take(&mut self.staged);
        if kept {
            for write in staged {
                if let Write::Record {
                    record,
                    doc,
                    created,
                    ..
                } = &write
                {
                    self.last = self.last.max(record.version);
                    if record.entity == Entity::Person {
                        self.note_person(record, doc, *created);
                    }
                    self.records
                        .insert((record.entity, record.id.clone()), Some(Rc::clone(record)));
                }
                self.pending.push(write);
            }
        }
        self.logged.insert(
            answer.mutation_id.clone(),
            (answer.device_id.clone(), answer.result.clone()),
        );
        self.answers.push(answer);
    }

    /// Keeps the duplicate check's view of enrolled ID numbers: a new person's number is
    /// listed; any other change to a person may have changed or freed one.
    fn note_person(&mut self, record: &Record, doc: &Value, created: bool) {
        if !created {
            self.persons_changed = true;
        } else if let Some(hash) = entities::get_path(doc, "id_number").and_then(sealed_hash) {
            self.enrolling.insert(
                hash.to_string(),
                (record.id.clone(), record.community_id.clone()),
            );
        }
    }

    /// Writes every pending write, in the order the mutations were decided: projections
    /// one by one, then records (each in its last state; new ones in one statement, and
    /// changed ones in one on PostgreSQL), the digests of the communities they are in (a
    /// read and a write per community), new commitments' seals, conflicts and answers in one
    /// statement each.
    pub fn flush(&mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut self.pending);
        let folded = folded_six_clears(&pending);
        let mut new_rows = projection::NewRows::default();
        let mut renames = projection::Renames::default();
        let mut conflicts = Vec::new();
        let mut seals = Vec::new();
        let mut latest: Vec<(Rc<Record>, bool)> = Vec::new();
        let mut at: HashMap<(Entity, String), usize> = HashMap::new();
        for write in pending {
            match write {
                Write::Record {
                    record,
                    doc,
                    created,
                    touched,
                    day,
                } => {
                    if created && record.entity == Entity::Commitment {
                        // Bound the moment it is first written (append-only: never again).
                        if let Some(binding) = seals::binding_of(&doc) {
                            seals.push((record.id.clone(), binding, record.updated_at));
                        }
                    }
                    let fold = folded.get(record.id.as_str());
                    if record.entity == Entity::SixClears && fold.is_some() {
                        // The person's new row carries what it keeps of it.
                    } else if !(created && new_rows.add(&record, &doc, fold, day)) {
                        // Anything else may read or change those rows: they go first.
                        new_rows.write(conn)?;
                        let change = if created {
                            Change::Created
                        } else {
                            Change::Edited(&touched)
                        };
                        projection::update(conn, &record, &doc, change, &mut renames, day)?;
                    }
                    match at.entry((record.entity, record.id.clone())) {
                        // Written twice in this flush: the last state is the one to keep,
                        // inserted if the first write created it.
                        hash_map::Entry::Occupied(i) => latest[*i.get()].0 = record,
                        hash_map::Entry::Vacant(slot) => {
                            slot.insert(latest.len());
                            latest.push((record, created));
                        }
                    }
                }
                Write::Conflict(c) => conflicts.push(*c),
            }
        }
        new_rows.write(conn)?;
        renames.write(conn)?;
        let (mut created, mut saved) = (Vec::new(), Vec::new());
        for (record, new) in &latest {
            if *new { &mut created } else { &mut saved }.push(&**record);
        }
        records::insert_many(conn, &created)?;
        records::save_many(conn, &saved)?;
        digests::apply(conn, &self.digest_changes(&latest))?;
        for (id, binding, at) in &seals {
            seals::add(conn, id, binding, *at)?;
        }
        records::add_conflicts(conn, &conflicts)?;
        records::log_mutations(conn, &std::mem::take(&mut self.answers))?;
        // The database now holds what those two described, and perhaps changes to persons
        // that make what was read in advance out of date.
        self.enrolling.clear();
        self.enrolled.clear();
        self.persons_changed = false;
        Ok(())
    }

    /// What writing `latest` changes in the communities' digests: a record's stored key
    /// leaves it (if it was live), its new key joins it (if it is). The written states
    /// become the stored ones.
    fn digest_changes(&mut self, latest: &[(Rc<Record>, bool)]) -> BTreeMap<String, Digest> {
        let mut changes: BTreeMap<String, Digest> = BTreeMap::new();
        for (record, _) in latest {
            let key = (record.entity, record.id.clone());
            let entity = record.entity.as_str();
            let change = changes.entry(record.community_id.clone()).or_default();
            if let Some((version, false)) = self.stored.get(&key) {
                change.remove(key_hash(entity, &record.id, *version));
            }
            if !record.deleted {
                change.add(key_hash(entity, &record.id, record.version));
            }
            self.stored.insert(key, (record.version, record.deleted));
        }
        changes
    }

    /// Writes what is pending and stores the last change number taken; call it before the
    /// transaction commits.
    pub fn finish(mut self, conn: &mut DbConn) -> Result<(), StoreError> {
        self.flush(conn)?;
        if self.last > self.counter {
            records::set_counter(conn, self.last)?;
        }
        Ok(())
    }
}

/// What the projection keeps of the six-clears record of each person created among
/// `pending` whose six-clears record is written there too (its last live state): the
/// person's projection row is then inserted with it, not inserted and then updated (a new person usually comes with
/// their six-clears record, so that was one more statement per person). A six-clears
/// record always follows its person: it cannot be written before its parent exists.
fn folded_six_clears(pending: &[Write]) -> HashMap<String, projection::SixClearsFacts> {
    let mut created = std::collections::HashSet::new();
    let mut folded = HashMap::new();
    for write in pending {
        let Write::Record {
            record,
            doc,
            created: new,
            ..
        } = write
        else {
            continue;
        };
        match record.entity {
            Entity::Person if *new => {
                created.insert(record.id.as_str());
            }
            Entity::SixClears if !record.deleted && created.contains(record.id.as_str()) => {
                folded.insert(record.id.clone(), projection::SixClearsFacts::of(doc));
            }
            _ => {}
        }
    }
    folded
}
