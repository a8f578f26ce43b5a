//! The reference phone client: what the app does, as a state machine with no I/O of its
//! own (the caller moves requests and answers), so tests and the load generator drive it
//! as phones.
//!
//! It keeps a local copy of its scope and an outbox of mutations stamped with its own
//! hybrid logical clock. Sync is push then pull: answered mutations leave the outbox,
//! rejected ones are kept aside for the user, pulled records replace local ones and the
//! edits still pending are replayed on top (rebase), and the scope digest of the last page
//! is compared with the local copy: a difference starts a full pull, keeping the outbox.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::feed::digest_of;
use crate::hlc::Hlc;
use crate::protocol::{Mutation, MutationResult, Op, PullPage, SetOp, Status, SCHEMA_VERSIONS};

/// A record as the phone holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Local {
    pub community_id: String,
    pub version: i64,
    pub data: Value,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub device_id: String,
    /// What the server last sent for each record.
    pub server: BTreeMap<(String, String), Local>,
    /// What the user sees: the server's copy with the pending edits replayed on top.
    pub records: BTreeMap<(String, String), Local>,
    pub outbox: Vec<Mutation>,
    /// Mutations the server refused, with its answer, for the user to fix.
    pub rejected: Vec<(Mutation, MutationResult)>,
    pub cursor: Option<String>,
    clock: (u64, u32),
}

impl Client {
    pub fn new(device_id: impl Into<String>) -> Client {
        Client {
            device_id: device_id.into(),
            server: BTreeMap::new(),
            records: BTreeMap::new(),
            outbox: Vec::new(),
            rejected: Vec::new(),
            cursor: None,
            clock: (0, 0),
        }
    }

    /// The next clock reading; never goes back, whatever the wall clock does.
    pub fn tick(&mut self, now_ms: u64) -> String {
        self.clock = if now_ms > self.clock.0 {
            (now_ms, 0)
        } else {
            (self.clock.0, self.clock.1 + 1)
        };
        Hlc {
            millis: self.clock.0,
            counter: self.clock.1,
            node: self.device_id.clone(),
        }
        .to_string()
    }

    fn base_version(&self, entity: &str, id: &str) -> Option<i64> {
        self.server
            .get(&(entity.to_string(), id.to_string()))
            .map(|r| r.version)
    }

    /// Rebase: the shown copy is the server's copy with every pending edit replayed, so an
    /// edit the server answered without changing anything leaves no trace behind. The
    /// client does it per record (`rebuild_keys`); the tests hold the two equal.
    #[cfg(test)]
    fn rebuild(&mut self) {
        self.records = self.server.clone();
        for m in &self.outbox {
            show(&mut self.records, m);
        }
    }

    /// The same rebase for a few records only: what changed in a pull or a push answer.
    /// Rebuilding the whole copy for each edit would make a phone's work grow with the
    /// square of its scope (the load generator holds thousands of records per phone).
    fn rebuild_keys(&mut self, keys: &BTreeSet<(String, String)>) {
        for key in keys {
            match self.server.get(key) {
                Some(local) => self.records.insert(key.clone(), local.clone()),
                None => self.records.remove(key),
            };
        }
        for m in &self.outbox {
            if keys.contains(&(m.entity.clone(), m.id.to_string())) {
                show(&mut self.records, m);
            }
        }
    }

    /// Records an edit of fields (dotted paths) in the outbox and shows it locally at once.
    pub fn edit(
        &mut self,
        now_ms: u64,
        entity: &str,
        id: &str,
        fields: Map<String, Value>,
    ) -> Mutation {
        self.queue(now_ms, entity, id, fields, Map::new())
    }

    /// Records set operations (`union` fields) in the outbox and shows them locally.
    pub fn change_set(
        &mut self,
        now_ms: u64,
        entity: &str,
        id: &str,
        path: &str,
        op: SetOp,
    ) -> Mutation {
        let mut ops = Map::new();
        ops.insert(path.to_string(), json!(op));
        self.queue(now_ms, entity, id, Map::new(), ops)
    }

    fn queue(
        &mut self,
        now_ms: u64,
        entity: &str,
        id: &str,
        fields: Map<String, Value>,
        set_ops: Map<String, Value>,
    ) -> Mutation {
        let m = Mutation {
            mutation_id: uuid::Uuid::now_v7(),
            entity: entity.to_string(),
            id: uuid::Uuid::parse_str(id).unwrap_or_else(|_| uuid::Uuid::nil()),
            op: Op::Upsert,
            base_version: self.base_version(entity, id),
            hlc: self.tick(now_ms),
            fields,
            set_ops,
        };
        // Pending edits are replayed in outbox order, so the newest goes on top as it is.
        show(&mut self.records, &m);
        self.outbox.push(m.clone());
        m
    }

    /// The body of the next push.
    pub fn push_body(&self) -> Value {
        json!({ "schema_version": SCHEMA_VERSIONS[0], "mutations": self.outbox })
    }

    /// Takes a push answer: answered mutations leave the outbox; rejected ones are kept aside.
    pub fn on_pushed(&mut self, results: &[MutationResult]) {
        let mut touched = BTreeSet::new();
        for result in results {
            let Some(pos) = self
                .outbox
                .iter()
                .position(|m| m.mutation_id.to_string() == result.mutation_id)
            else {
                continue;
            };
            let m = self.outbox.remove(pos);
            touched.insert((m.entity.clone(), m.id.to_string()));
            if result.status == Status::Rejected {
                self.rejected.push((m, result.clone()));
            }
        }
        self.rebuild_keys(&touched);
    }

    /// The query of the next pull.
    pub fn pull_query(&self, limit: i64) -> String {
        let v = SCHEMA_VERSIONS[0];
        match &self.cursor {
            Some(c) => format!("schema_version={v}&limit={limit}&cursor={c}"),
            None => format!("schema_version={v}&limit={limit}"),
        }
    }

    /// Takes a pull page (its documents move into the copy); returns whether another
    /// page should be pulled.
    pub fn on_pulled(&mut self, page: PullPage) -> bool {
        let mut touched = BTreeSet::new();
        for purge in &page.purge {
            self.server.retain(|key, r| {
                let keep = r.community_id != purge.community_id;
                if !keep {
                    touched.insert(key.clone());
                }
                keep
            });
        }
        for change in page.changes {
            let key = (change.entity, change.id);
            touched.insert(key.clone());
            if change.deleted {
                self.server.remove(&key);
                continue;
            }
            let local = Local {
                community_id: change.community_id,
                version: change.version,
                data: change.data.unwrap_or(Value::Null),
            };
            self.server.insert(key, local);
        }
        // Rebase: edits not yet accepted stay visible on top of the server's state.
        self.rebuild_keys(&touched);
        self.cursor = Some(page.cursor);
        if page.has_more {
            return true;
        }
        // Drift check: when the copy differs from the server's, pull everything again.
        if let Some(server) = &page.scope_digest {
            if *server != self.digest() {
                self.cursor = None;
                return true;
            }
        }
        false
    }

    /// The digest of the local copy, computed as the server computes it.
    pub fn digest(&self) -> crate::protocol::ScopeDigest {
        digest_of(
            self.server
                .iter()
                .map(|((entity, id), r)| (entity.as_str(), id.as_str(), r.version)),
        )
    }
}

/// Shows a pending mutation on top of the record it edits (a new one for a creation).
fn show(records: &mut BTreeMap<(String, String), Local>, m: &Mutation) {
    let local = records
        .entry((m.entity.clone(), m.id.to_string()))
        .or_insert_with(|| Local {
            community_id: String::new(),
            version: 0,
            data: Value::Object(Map::new()),
        });
    apply_locally(&mut local.data, m);
}

/// Shows a mutation's edits in a local document (as the server would, barring conflicts).
fn apply_locally(doc: &mut Value, m: &Mutation) {
    for (path, value) in &m.fields {
        liuqing_schema::entities::set_path(doc, path, value.clone());
    }
    for (path, op) in &m.set_ops {
        let Ok(op) = serde_json::from_value::<SetOp>(op.clone()) else {
            continue;
        };
        let mut set: Vec<String> = liuqing_schema::entities::get_path(doc, path)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        set.retain(|s| !op.remove.contains(s));
        set.extend(op.add.iter().cloned());
        set.sort();
        set.dedup();
        liuqing_schema::entities::set_path(doc, path, json!(set));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_never_goes_back() {
        let mut c = Client::new("dev");
        let a = c.tick(1000);
        let b = c.tick(900);
        let d = c.tick(1000);
        assert!(a < b && b < d, "{a} {b} {d}");
    }

    #[test]
    fn pending_edits_stay_visible_over_a_pull() {
        let mut c = Client::new("dev");
        let id = uuid::Uuid::now_v7().to_string();
        let mut fields = Map::new();
        fields.insert("name".into(), json!("local"));
        c.edit(1, "person", &id, fields);
        let page = PullPage {
            changes: vec![crate::protocol::Change {
                entity: "person".into(),
                id: id.clone(),
                community_id: "c".into(),
                version: 5,
                deleted: false,
                data: Some(json!({ "name": "server", "sex": "male" })),
            }],
            purge: vec![],
            cursor: "x".into(),
            has_more: true,
            scope_digest: None,
        };
        c.on_pulled(page);
        let local = &c.records[&("person".to_string(), id)];
        assert_eq!(local.data, json!({ "name": "local", "sex": "male" }));
        assert_eq!(local.version, 5);
    }

    #[test]
    fn rebasing_a_few_records_equals_rebasing_all() {
        let mut c = Client::new("dev");
        let ids: Vec<String> = (0..4).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        let change = |id: &str, version: i64, deleted: bool| crate::protocol::Change {
            entity: "person".into(),
            id: id.to_string(),
            community_id: if version % 2 == 0 { "c" } else { "d" }.into(),
            version,
            deleted,
            data: (!deleted).then(|| json!({ "name": format!("v{version}") })),
        };
        let page = |changes, purge: Vec<&str>| PullPage {
            changes,
            purge: purge
                .into_iter()
                .map(|c| crate::protocol::Purge {
                    community_id: c.into(),
                })
                .collect(),
            cursor: "x".into(),
            has_more: true,
            scope_digest: None,
        };
        c.on_pulled(page(
            ids.iter()
                .zip(1..)
                .map(|(id, v)| change(id, v, false))
                .collect(),
            vec![],
        ));
        let mut fields = Map::new();
        fields.insert("education".into(), json!("college"));
        let first = c.edit(1, "person", &ids[0], fields.clone());
        c.edit(2, "person", &ids[1], fields.clone());
        c.edit(3, "person", &uuid::Uuid::now_v7().to_string(), fields);
        let check = |c: &Client| {
            let mut full = c.clone();
            full.rebuild();
            assert_eq!(c.records, full.records);
        };
        check(&c);
        c.on_pulled(page(
            vec![change(&ids[0], 6, false), change(&ids[2], 7, true)],
            vec!["c"],
        ));
        check(&c);
        let mut answer =
            MutationResult::rejected(&first.mutation_id.to_string(), "invalid", vec![]);
        answer.status = Status::Rejected;
        c.on_pushed(&[answer]);
        check(&c);
        assert_eq!(c.rejected.len(), 1);
    }
}
