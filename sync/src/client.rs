//! The reference phone client: what the app does, as a state machine with no I/O of its
//! own (the caller moves requests and answers), so tests and the load generator drive it
//! as phones.
//!
//! It keeps a local copy of its scope and an outbox of mutations stamped with its own
//! hybrid logical clock. Sync is push then pull: answered mutations leave the outbox,
//! rejected ones are kept aside for the user, pulled records replace local ones and the
//! edits still pending are replayed on top (rebase), and the scope digest of the last page
//! is compared with the local copy: a difference starts a full pull, keeping the outbox.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::feed::digest_of;
use crate::hlc::Hlc;
use crate::protocol::{Mutation, MutationResult, Op, PullPage, SetOp, Status, SCHEMA_VERSIONS};
use crate::values;

/// A record's key: entity and id.
pub type Key = (String, String);

/// A record as the server last sent it. Its document is kept as the JSON text it came in,
/// as the app's local database does: parsing every pulled document only to store it again
/// was most of a phone's pull.
#[derive(Debug, Clone)]
pub struct Held {
    pub community_id: String,
    pub version: i64,
    pub data: Box<RawValue>,
}

impl Held {
    fn shown(&self) -> Local {
        Local {
            community_id: self.community_id.clone(),
            version: self.version,
            data: serde_json::from_str(self.data.get()).unwrap_or(Value::Null),
        }
    }
}

/// A record as the user sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Local {
    pub community_id: String,
    pub version: i64,
    pub data: Value,
}

impl Local {
    /// What a record the server has not sent yet looks like before its first edit.
    fn new_record() -> Local {
        Local {
            community_id: String::new(),
            version: 0,
            data: Value::Object(Map::new()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub device_id: String,
    /// What the server last sent for each record.
    pub server: HashMap<Key, Held>,
    /// The records with pending edits, as the user sees them: the server's copy with those
    /// edits replayed on top. Every other record is shown as the server sent it.
    pending: HashMap<Key, Local>,
    pub outbox: Vec<Mutation>,
    /// Mutations the server refused, with its answer, for the user to fix.
    pub rejected: Vec<(Mutation, MutationResult)>,
    pub cursor: Option<String>,
    /// During a pull from no cursor over a copy already held: the records it has sent so
    /// far. The server sends the whole scope then, so a held record it does not send is
    /// gone (its tombstone may have been purged long ago) and is dropped at the end.
    refreshing: Option<HashSet<Key>>,
    clock: (u64, u32),
}

impl Client {
    pub fn new(device_id: impl Into<String>) -> Client {
        Client {
            device_id: device_id.into(),
            server: HashMap::new(),
            pending: HashMap::new(),
            outbox: Vec::new(),
            rejected: Vec::new(),
            cursor: None,
            refreshing: None,
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

    /// One record as the user sees it.
    pub fn record(&self, entity: &str, id: &str) -> Option<Local> {
        let key = (entity.to_string(), id.to_string());
        match self.pending.get(&key) {
            Some(local) => Some(local.clone()),
            None => self.server.get(&key).map(Held::shown),
        }
    }

    /// Every record as the user sees it.
    pub fn records(&self) -> BTreeMap<Key, Local> {
        let mut all: BTreeMap<Key, Local> = self
            .server
            .iter()
            .map(|(key, held)| (key.clone(), held.shown()))
            .collect();
        all.extend(self.pending.iter().map(|(k, l)| (k.clone(), l.clone())));
        all
    }

    /// Rebase: a record's shown copy is the server's copy with its pending edits replayed,
    /// so an edit the server answered without changing anything leaves no trace behind.
    /// Only the records a pull or a push answer touched are replayed: replaying the whole
    /// copy for each would make a phone's work grow with the square of its scope.
    fn rebase(&mut self, keys: &HashSet<Key>) {
        for key in keys {
            self.pending.remove(key);
        }
        for m in &self.outbox {
            if keys.contains(&(m.entity.clone(), m.id.to_string())) {
                show(&mut self.pending, &self.server, m);
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
        show(&mut self.pending, &self.server, &m);
        self.outbox.push(m.clone());
        m
    }

    /// The body of the next push.
    pub fn push_body(&self) -> Value {
        json!({ "schema_version": SCHEMA_VERSIONS[0], "mutations": self.outbox })
    }

    /// Takes a push answer: answered mutations leave the outbox; rejected ones are kept aside.
    pub fn on_pushed(&mut self, results: &[MutationResult]) {
        // By id, not searched for one by one: a push of a hundred made that 5,000
        // comparisons of ids written out as text.
        let answered: HashMap<uuid::Uuid, &MutationResult> = results
            .iter()
            .filter_map(|r| Some((uuid::Uuid::parse_str(&r.mutation_id).ok()?, r)))
            .collect();
        let mut touched = HashSet::new();
        for m in std::mem::take(&mut self.outbox) {
            let Some(result) = answered.get(&m.mutation_id) else {
                self.outbox.push(m);
                continue;
            };
            touched.insert((m.entity.clone(), m.id.to_string()));
            if result.status == Status::Rejected {
                self.rejected.push((m, (*result).clone()));
            }
        }
        self.rebase(&touched);
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
        if self.cursor.is_none() {
            self.refreshing = (!self.server.is_empty()).then(HashSet::new);
        }
        let mut touched = HashSet::new();
        for purge in &page.purge {
            self.drop_held(&mut touched, |_, r| r.community_id != purge.community_id);
        }
        // With no edit pending there is nothing to replay, and no need to note the keys.
        let rebasing = !self.outbox.is_empty();
        for change in page.changes {
            let key = (change.entity, change.id);
            if rebasing {
                touched.insert(key.clone());
            }
            if let Some(seen) = &mut self.refreshing {
                seen.insert(key.clone());
            }
            if change.deleted {
                self.server.remove(&key);
                continue;
            }
            let held = Held {
                community_id: change.community_id,
                version: change.version,
                data: change.data.unwrap_or_else(values::null),
            };
            self.server.insert(key, held);
        }
        if !page.has_more {
            if let Some(seen) = self.refreshing.take() {
                self.drop_held(&mut touched, |key, _| seen.contains(key));
            }
        }
        // Rebase: edits not yet accepted stay visible on top of the server's state.
        self.rebase(&touched);
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

    /// Drops the held records `keep` refuses, noting their keys for the rebase.
    fn drop_held(&mut self, touched: &mut HashSet<Key>, keep: impl Fn(&Key, &Held) -> bool) {
        self.server.retain(|key, held| {
            let kept = keep(key, held);
            if !kept {
                touched.insert(key.clone());
            }
            kept
        });
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

/// Shows a pending mutation on top of the record it edits: the record as already shown
/// with earlier pending edits, else as the server sent it, else a new one.
fn show(pending: &mut HashMap<Key, Local>, server: &HashMap<Key, Held>, m: &Mutation) {
    let local = match pending.entry((m.entity.clone(), m.id.to_string())) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(e) => {
            let shown = server
                .get(e.key())
                .map_or_else(Local::new_record, Held::shown);
            e.insert(shown)
        }
    };
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

    fn raw(doc: Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&doc).expect("JSON")
    }

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
                data: Some(raw(json!({ "name": "server", "sex": "male" }))),
            }],
            purge: vec![],
            cursor: "x".into(),
            has_more: true,
            scope_digest: None,
        };
        c.on_pulled(page);
        let local = c.record("person", &id).expect("shown");
        assert_eq!(local.data, json!({ "name": "local", "sex": "male" }));
        assert_eq!(local.version, 5);
    }

    /// A record deleted while the phone was away, whose tombstone the server has since
    /// purged, is never sent again: the full pull the drift check starts must drop it, or
    /// the digests never agree and the phone pulls everything again and again.
    #[test]
    fn a_full_pull_drops_what_the_server_no_longer_has() {
        let mut c = Client::new("dev");
        let (a, b) = (
            uuid::Uuid::now_v7().to_string(),
            uuid::Uuid::now_v7().to_string(),
        );
        let change = |id: &str, version: i64| crate::protocol::Change {
            entity: "person".into(),
            id: id.to_string(),
            community_id: "c".into(),
            version,
            deleted: false,
            data: Some(raw(json!({ "name": format!("v{version}") }))),
        };
        let only_a = digest_of([("person", a.as_str(), 5)].into_iter());
        let page = |changes, cursor: &str, has_more| PullPage {
            changes,
            purge: vec![],
            cursor: cursor.into(),
            has_more,
            scope_digest: (!has_more).then(|| only_a.clone()),
        };
        // The phone holds a and b; b is gone on the server, which now has only a.
        assert!(c.on_pulled(page(vec![change(&a, 5)], "1", true)));
        assert!(c.on_pulled(page(vec![change(&b, 6)], "2", true)));
        assert!(
            c.on_pulled(page(vec![], "3", false)),
            "the digest differs: pull everything again"
        );
        assert!(c.cursor.is_none());
        assert!(!c.on_pulled(page(vec![change(&a, 5)], "4", false)));
        assert_eq!(c.digest(), only_a);
        assert!(c.record("person", &b).is_none());
        assert!(c.record("person", &a).is_some());
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
            data: (!deleted).then(|| raw(json!({ "name": format!("v{version}") }))),
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
        // Every pending edit replayed from scratch over the server's copy.
        let check = |c: &Client| {
            let mut full = c.clone();
            full.pending.clear();
            for m in &c.outbox {
                show(&mut full.pending, &full.server, m);
            }
            assert_eq!(c.records(), full.records());
        };
        check(&c);
        c.on_pulled(page(
            vec![change(&ids[0], 6, false), change(&ids[2], 7, true)],
            vec!["c"],
        ));
        check(&c);
        let mut answer = MutationResult::rejected(
            &first.mutation_id.to_string(),
            crate::protocol::Reason::Invalid,
            vec![],
        );
        answer.status = Status::Rejected;
        c.on_pushed(&[answer]);
        check(&c);
        assert_eq!(c.rejected.len(), 1);
    }
}
