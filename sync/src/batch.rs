//! What the mutations of one writing transaction share: the change numbers, the records
//! they read, and the mutation log's earlier answers.
//!
//! A push of 100 mutations used to ask the database, for each mutation, for a change
//! number, for an earlier answer and for the record and its parent: four statements of
//! about ten. A batch asks once per transaction, after taking the write lock, and keeps
//! what it learns in step with what the transaction writes. No other writer can change
//! any of it meanwhile: they all wait for the lock.

use std::collections::{BTreeMap, HashMap};

use liuqing_schema::entities::{self, Entity};
use liuqing_schema::records::{self, Record};
use liuqing_schema::{org, DbConn, StoreError};

use crate::protocol::Mutation;

/// What the scope said of each org node during one request (`None`: outside it, or no
/// such node). The scope is fixed for the request, so the first answer holds.
pub type ScopeMemo = BTreeMap<String, Option<org::OrgKind>>;

/// The state one transaction's mutations share. Made by [`Batch::begin`], which takes the
/// write lock; [`Batch::finish`] must run before the transaction commits.
pub struct Batch {
    /// The counter as the transaction found it.
    counter: i64,
    /// The last change number a kept mutation's record took.
    last: i64,
    /// Records read or written so far (`None`: the database holds no such record).
    records: HashMap<(Entity, String), Option<Record>>,
    /// The record the current mutation wrote, until its savepoint is released.
    staged: Option<Record>,
    /// `mutation_id` → (device, answer) of every mutation logged before or during this one.
    logged: HashMap<String, (String, String)>,
}

impl Batch {
    /// Takes the write lock, then reads what `mutations` will look up: their earlier
    /// answers, their records and their parents.
    pub fn begin(conn: &mut DbConn, mutations: &[Mutation]) -> Result<Batch, StoreError> {
        let counter = records::lock_for_write(conn)?;
        let ids: Vec<String> = mutations
            .iter()
            .map(|m| m.mutation_id.to_string())
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let logged = records::logged_mutations(conn, &ids)?
            .into_iter()
            .map(|(id, device, result)| (id, (device, result)))
            .collect();

        let mut wanted: BTreeMap<Entity, Vec<String>> = BTreeMap::new();
        for m in mutations {
            let Ok(entity) = m.entity.parse::<Entity>() else {
                continue;
            };
            wanted.entry(entity).or_default().push(m.id.to_string());
            if let Some((field, parent)) = entities::spec(entity).parent {
                if let Some(id) = m.fields.get(field).and_then(|v| v.as_str()) {
                    wanted.entry(parent).or_default().push(id.to_string());
                }
            }
        }
        let mut records = HashMap::new();
        for (entity, ids) in wanted {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            for id in &ids {
                records.insert((entity, id.to_string()), None);
            }
            for record in records::find_many(conn, entity, &ids)? {
                records.insert((entity, record.id.clone()), Some(record));
            }
        }
        Ok(Batch {
            counter,
            last: counter,
            records,
            staged: None,
            logged,
        })
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
    ) -> Result<Option<Record>, StoreError> {
        let key = (entity, id.to_string());
        if let Some(known) = self.records.get(&key) {
            return Ok(known.clone());
        }
        let found = records::find(conn, entity, id)?;
        self.records.insert(key, found.clone());
        Ok(found)
    }

    /// The current mutation wrote `record` (kept only if its savepoint is released).
    pub fn stage(&mut self, record: Record) {
        self.staged = Some(record);
    }

    /// The earlier answer to `mutation_id`, with the device that sent it.
    pub fn logged(&self, mutation_id: &str) -> Option<&(String, String)> {
        self.logged.get(mutation_id)
    }

    /// The current mutation's answer, logged: `kept` if its savepoint was released, and
    /// not rolled back. A record it wrote took the next change number.
    pub fn settle(&mut self, kept: bool, mutation_id: &str, device: &str, answer: &str) {
        if let Some(record) = self.staged.take().filter(|_| kept) {
            self.last = self.last.max(record.version);
            self.records
                .insert((record.entity, record.id.clone()), Some(record));
        }
        self.logged.insert(
            mutation_id.to_string(),
            (device.to_string(), answer.to_string()),
        );
    }

    /// Stores the last change number taken; call it before the transaction commits.
    pub fn finish(self, conn: &mut DbConn) -> Result<(), StoreError> {
        if self.last > self.counter {
            records::set_counter(conn, self.last)?;
        }
        Ok(())
    }
}
