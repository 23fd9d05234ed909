//! `replication<service:method> name = expr;`: the persisted state machine that pushes the
//! value of `expr` to a service.
//!
//! The document records its intent before any call is made: a value whose hash differs from
//! the last one pushed asks for a put (`PutRequested`), and only a later step, once that
//! request is durable, issues the call. The runtime has no service host, so the call fails at
//! once as every service call does (`PutFailed`, counted in `failures`), and is retried after a
//! back-off that doubles with each failure. A value that becomes empty after a put deletes the
//! remote copy the same way (`DeleteRequested`, `DeleteFailed`).

use std::collections::HashMap;
use std::sync::Arc;

use adama_compiler::ir::{FieldKind, Program, RecordId, ReplicationDef};
use serde_json::{Map, Value as Json};

use crate::document::Document;
use crate::error::{Fault, codes};
use crate::eval::Frame;
use crate::transaction::CommandError;
use crate::value::{Principal, RecordRef, Value};

/// Where a replication stands; the numbers are its stored form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicationState {
    Invalid = 50,
    Nothing = 100,
    PutRequested = 110,
    PutInflight = 120,
    PutFailed = 150,
    DeleteRequested = 310,
    DeleteInflight = 320,
    DeleteFailed = 350,
    Gone = 400,
}

impl ReplicationState {
    fn from_code(code: i64) -> ReplicationState {
        match code {
            100 => ReplicationState::Nothing,
            110 => ReplicationState::PutRequested,
            120 => ReplicationState::PutInflight,
            150 => ReplicationState::PutFailed,
            310 => ReplicationState::DeleteRequested,
            320 => ReplicationState::DeleteInflight,
            350 => ReplicationState::DeleteFailed,
            400 => ReplicationState::Gone,
            _ => ReplicationState::Invalid,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ReplicationState::Invalid => "Invalid",
            ReplicationState::Nothing => "Nothing",
            ReplicationState::PutRequested => "PutRequested",
            ReplicationState::PutInflight => "PutInflight",
            ReplicationState::PutFailed => "PutFailed",
            ReplicationState::DeleteRequested => "DeleteRequested",
            ReplicationState::DeleteInflight => "DeleteInflight",
            ReplicationState::DeleteFailed => "DeleteFailed",
            ReplicationState::Gone => "Gone",
        }
    }
}

/// The first retry waits this long; each further failure doubles it, up to the cap.
const FIRST_BACKOFF_MS: i64 = 1_000;
const MAX_BACKOFF_MS: i64 = 60_000;

/// A replication's persisted status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationStatus {
    pub state: ReplicationState,
    /// The hash of the value last pushed (or being pushed).
    pub hash: Option<String>,
    /// The remote key the value is pushed under.
    pub key: Option<String>,
    /// When the state last changed (document time, ms).
    pub time: i64,
    /// Failed calls since the last success.
    pub failures: i32,
}

impl Default for ReplicationStatus {
    fn default() -> ReplicationStatus {
        ReplicationStatus {
            state: ReplicationState::Nothing,
            hash: None,
            key: None,
            time: 0,
            failures: 0,
        }
    }
}

impl ReplicationStatus {
    /// `{"state":100}`, with `hash`, `key`, `time` and `failures` when they are set.
    pub fn stored(&self) -> Json {
        let mut object = Map::new();
        object.insert("state".into(), Json::from(self.state as i32));
        if let Some(hash) = &self.hash {
            object.insert("hash".into(), Json::String(hash.clone()));
        }
        if let Some(key) = &self.key {
            object.insert("key".into(), Json::String(key.clone()));
        }
        if self.time != 0 {
            object.insert("time".into(), Json::String(self.time.to_string()));
        }
        if self.failures != 0 {
            object.insert("failures".into(), Json::from(self.failures));
        }
        Json::Object(object)
    }

    pub fn from_stored(json: &Json) -> ReplicationStatus {
        let text = |name: &str| json.get(name).and_then(Json::as_str).map(str::to_owned);
        let number = |name: &str| match json.get(name) {
            Some(Json::Number(number)) => number.as_i64().unwrap_or(0),
            Some(Json::String(text)) => text.parse().unwrap_or(0),
            _ => 0,
        };
        ReplicationStatus {
            state: match json.get("state") {
                Some(_) => ReplicationState::from_code(number("state")),
                None => ReplicationState::Nothing,
            },
            hash: text("hash"),
            key: text("key"),
            time: number("time"),
            failures: i32::try_from(number("failures")).unwrap_or(i32::MAX),
        }
    }

    /// What code reads: `"<state>;<key>;<hash>;<time>"`, `null` for what is not set.
    pub fn text(&self) -> String {
        format!(
            "{};{};{};{}",
            self.state.name(),
            self.key.as_deref().unwrap_or("null"),
            self.hash.as_deref().unwrap_or("null"),
            self.time
        )
    }

    /// One step of the machine at time `now`, for a value with this hash (`None`: the value is
    /// empty) under this remote key. A call the step issues fails, as there is no service host.
    /// Whether anything changed.
    pub fn step(&mut self, hash: Option<&str>, key: &str, now: i64) -> bool {
        use ReplicationState::*;
        let due = now >= self.time.saturating_add(self.backoff());
        let before = self.clone();
        match self.state {
            Nothing => match hash {
                Some(hash) if self.hash.as_deref() != Some(hash) => {
                    self.state = PutRequested;
                    self.hash = Some(hash.to_owned());
                    self.key = Some(key.to_owned());
                    self.time = now;
                }
                None if self.key.is_some() => {
                    self.state = DeleteRequested;
                    self.time = now;
                }
                _ => {}
            },
            PutRequested | PutInflight => self.fail(PutFailed, now),
            PutFailed if due => {
                // A retry pushes the value as it is now.
                if let Some(hash) = hash {
                    self.hash = Some(hash.to_owned());
                }
                self.fail(PutFailed, now);
            }
            DeleteRequested | DeleteInflight => self.fail(DeleteFailed, now),
            DeleteFailed if due => self.fail(DeleteFailed, now),
            PutFailed | DeleteFailed | Gone | Invalid => {}
        }
        *self != before
    }

    /// The call was issued and failed at once.
    fn fail(&mut self, state: ReplicationState, now: i64) {
        self.state = state;
        self.failures = self.failures.saturating_add(1);
        self.time = now;
    }

    /// How long a failed state waits before calling again.
    fn backoff(&self) -> i64 {
        let doublings = self.failures.saturating_sub(1).clamp(0, 16) as u32;
        (FIRST_BACKOFF_MS << doublings).min(MAX_BACKOFF_MS)
    }
}

impl Document {
    /// `replicate`: each replication computes its value and takes one step (a new value is
    /// requested; a requested or due call is made and, with no service host, fails). Refused
    /// with 131205 when no replication has a step to take; otherwise one transaction, whose
    /// `seq` moves.
    pub(crate) fn replicate(
        &mut self,
        timestamp: Option<i64>,
    ) -> Result<(Json, Json), CommandError> {
        let now = timestamp.unwrap_or(self.meta.time);
        let key = format!("{}/{}", self.space, self.key);
        let (redo, undo) = self.patches(|document, program| {
            let holders = document.replication_holders(program, &key);
            for replication in &program.replications {
                for (record, remote) in holders.get(&replication.record).into_iter().flatten() {
                    document.replicate_one(program, replication, *record, remote, now)?;
                }
            }
            if document.store.journal.is_empty() {
                return Err(Fault::error(
                    codes::NOTHING_TO_REPLICATE,
                    "no replication has a step to take",
                ));
            }
            document.clock(timestamp);
            document.meta.seq += 1;
            Ok(())
        })?;
        Ok((redo, undo))
    }
}

impl Document {
    /// One replication of one record takes its step.
    fn replicate_one(
        &mut self,
        program: &Program,
        replication: &ReplicationDef,
        record: RecordRef,
        remote: &str,
        now: i64,
    ) -> Result<(), Fault> {
        let mut frame = Frame::new(program, replication.unit, Principal::no_one());
        if record != self.root {
            frame.this = Value::Record(record);
        }
        let value = self.eval(program, &mut frame, replication.value)?;
        let hash = match value {
            Value::Maybe(None) | Value::Void => None,
            value => Some(value_hash(&self.to_stored_json(&value))),
        };
        let mut status = match self.store.get(record, replication.slot) {
            Value::Replication(status) => Arc::clone(status),
            _ => Arc::default(),
        };
        if Arc::make_mut(&mut status).step(hash.as_deref(), remote, now) {
            self.store
                .write(record, replication.slot, Value::Replication(status));
        }
        Ok(())
    }

    /// The records that hold replications, by layout, each with the remote key its values are
    /// pushed under: the document's own key for the document, and for a record the document's
    /// key followed by the path to the record (field names, row ids, map keys), so that every
    /// record pushes under a key of its own. Records are listed in document order.
    fn replication_holders(
        &self,
        program: &Program,
        document_key: &str,
    ) -> HashMap<RecordId, Vec<(RecordRef, String)>> {
        let mut holders: HashMap<RecordId, Vec<(RecordRef, String)>> = HashMap::new();
        holders.insert(RecordId::ROOT, vec![(self.root, document_key.to_owned())]);
        let wanted: Vec<RecordId> = program
            .replications
            .iter()
            .map(|replication| replication.record)
            .filter(|record| *record != RecordId::ROOT)
            .collect();
        if !wanted.is_empty() {
            self.collect_holders(program, &wanted, self.root, document_key, &mut holders);
        }
        holders
    }

    fn collect_holders(
        &self,
        program: &Program,
        wanted: &[RecordId],
        record: RecordRef,
        path: &str,
        holders: &mut HashMap<RecordId, Vec<(RecordRef, String)>>,
    ) {
        let layout = self.store.record(record).layout;
        for (slot, field) in program.records[layout].fields.iter().enumerate() {
            if !matches!(field.kind, FieldKind::Stored { .. }) || field.records.is_none() {
                continue;
            }
            let here = format!("{path}/{}", field.name);
            self.collect_value(
                program,
                wanted,
                self.store.get(record, slot as u32),
                &here,
                holders,
            );
        }
    }

    fn collect_value(
        &self,
        program: &Program,
        wanted: &[RecordId],
        value: &Value,
        path: &str,
        holders: &mut HashMap<RecordId, Vec<(RecordRef, String)>>,
    ) {
        match value {
            Value::Record(child) => {
                let layout = self.store.record(*child).layout;
                if wanted.contains(&layout) {
                    holders
                        .entry(layout)
                        .or_default()
                        .push((*child, path.to_owned()));
                }
                self.collect_holders(program, wanted, *child, path, holders);
            }
            Value::Maybe(Some(inner)) => self.collect_value(program, wanted, inner, path, holders),
            Value::Table(table) => {
                for (id, row) in &self.store.tables[table.0 as usize].rows {
                    let here = format!("{path}/{id}");
                    self.collect_value(program, wanted, &Value::Record(*row), &here, holders);
                }
            }
            Value::Map(map) => {
                for (key, entry) in map.iter() {
                    let here = format!("{path}/{}", key.json_key());
                    self.collect_value(program, wanted, entry, &here, holders);
                }
            }
            _ => {}
        }
    }
}

/// The hash a replication compares values by: SHA-256 of the value's stored JSON, in hex.
fn value_hash(json: &Json) -> String {
    crate::library::password::sha256(json.to_string().as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_value_is_requested_then_fails_and_retries_after_a_back_off() {
        let mut status = ReplicationStatus::default();
        assert_eq!(status.text(), "Nothing;null;null;0");
        assert!(status.step(Some("h1"), "k", 10));
        assert_eq!(status.state, ReplicationState::PutRequested);
        assert!(status.step(Some("h1"), "k", 20));
        assert_eq!(
            (status.state, status.failures),
            (ReplicationState::PutFailed, 1)
        );
        assert!(!status.step(Some("h1"), "k", 1_019));
        assert!(status.step(Some("h1"), "k", 1_020));
        assert_eq!(status.failures, 2);
        assert!(!status.step(Some("h1"), "k", 3_019));
        assert_eq!(status.text(), "PutFailed;k;h1;1020");
        assert_eq!(ReplicationStatus::from_stored(&status.stored()), status);
    }

    #[test]
    fn an_empty_value_after_a_put_asks_for_a_delete() {
        let mut status = ReplicationStatus::from_stored(
            &serde_json::json!({"state": 100, "hash": "h", "key": "k", "time": "5"}),
        );
        assert!(!status.step(Some("h"), "k", 10));
        assert!(status.step(None, "k", 10));
        assert_eq!(status.state, ReplicationState::DeleteRequested);
        assert!(status.step(None, "k", 11));
        assert_eq!(status.state, ReplicationState::DeleteFailed);
    }
}
