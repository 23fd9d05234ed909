//! Durable storage of documents, behind a trait so that a replicated store can take the place
//! of the embedded one.
//!
//! Per document the store keeps an append-only log of transaction records, numbered from 1 by
//! the node, and at most one snapshot: the whole stored document as of a log index. Loading
//! folds the redo patches of the entries after the snapshot into it.

pub mod asset_files;
pub mod conformance;
mod pending;
pub mod redb;

use std::sync::Arc;

use serde_json::Value as Json;

use crate::engine::Record;

/// A document's name in the store: `space/key`.
pub type DocumentName = str;

/// One change to the store. A batch of writes (of many documents) commits atomically and
/// durably, or not at all.
#[derive(Debug, Clone)]
pub enum Write {
    /// Appends a record at `index` (the previous index + 1).
    Append {
        document: Arc<str>,
        index: u64,
        entry: Entry,
    },
    /// Records the whole document as of `index`, and drops the log entries that are older
    /// than the newest `keep`.
    Snapshot {
        document: Arc<str>,
        index: u64,
        json: Arc<Json>,
        keep: u64,
    },
    /// Removes the document: its log, snapshot and wake-up.
    Delete { document: Arc<str> },
    /// When an unloaded document must be woken (epoch ms), or no wake-up.
    Wake { document: Arc<str>, at: Option<i64> },
}

impl Write {
    pub fn document(&self) -> &str {
        match self {
            Write::Append { document, .. }
            | Write::Snapshot { document, .. }
            | Write::Delete { document }
            | Write::Wake { document, .. } => document,
        }
    }
}

/// A log entry in its stored form (the record's JSON), encoded by the writer so that the commit,
/// which is serial, only copies bytes.
#[derive(Debug, Clone)]
pub struct Entry {
    pub bytes: Arc<[u8]>,
}

impl Entry {
    pub fn new(record: &Record) -> Result<Entry, StoreError> {
        let bytes = serde_json::to_vec(record)
            .map_err(|error| StoreError::Io(format!("a record does not encode: {error}")))?;
        Ok(Entry {
            bytes: Arc::from(bytes),
        })
    }

    /// A record's stored form as another member sent it, checked to be a record (its fields
    /// there, with their types) without building its values: the store keeps the bytes as
    /// they are.
    pub fn received(stored: &str) -> Result<Entry, serde_json::Error> {
        serde_json::from_str::<RecordShape>(stored)?;
        Ok(Entry {
            bytes: Arc::from(stored.as_bytes()),
        })
    }
}

/// What a stored record must hold to load: the fields of [`Record`] that have no default.
#[derive(serde::Deserialize)]
#[allow(
    dead_code,
    reason = "the fields are read only to check their presence and types"
)]
struct RecordShape {
    seq: i32,
    time: i64,
    command: serde::de::IgnoredAny,
    redo: serde::de::IgnoredAny,
    undo: serde::de::IgnoredAny,
}

/// What the store holds of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The snapshot's log index and document, if one was taken.
    pub snapshot: Option<(u64, Json)>,
    /// The log entries after the snapshot, in order.
    pub tail: Vec<(u64, Record)>,
    /// When the wake-up table says the document must be loaded for a timer (epoch ms).
    pub wake: Option<i64>,
}

impl Stored {
    /// The index of the last entry (or of the snapshot when no entry follows it).
    pub fn last_index(&self) -> u64 {
        self.tail
            .last()
            .map(|(index, _)| *index)
            .or(self.snapshot.as_ref().map(|(index, _)| *index))
            .unwrap_or(0)
    }

    /// The stored document: the snapshot with every later redo folded in.
    pub fn fold(&self) -> Json {
        let mut document = self
            .snapshot
            .as_ref()
            .map(|(_, json)| json.clone())
            .unwrap_or_else(|| Json::Object(serde_json::Map::new()));
        for (_, record) in &self.tail {
            crate::engine::fold(&mut document, &record.redo);
        }
        document
    }
}

/// What a commit cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    pub bytes: u64,
    pub fsyncs: u64,
}

/// A failure of the store; the batch that met it was not committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the store failed: {0}")]
    Io(String),
    #[error("the log of '{document}' is damaged at entry {index}: {reason}")]
    Corrupt {
        document: String,
        index: u64,
        reason: String,
    },
    #[error("'{document}' gets entry {index} but its log ends at {last}")]
    OutOfOrder {
        document: String,
        index: u64,
        last: u64,
    },
}

/// What the store keeps of an uploaded file beside its bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssetMeta {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Lower-case hex digests of the bytes.
    pub md5: String,
    pub sha384: String,
}

/// The storage contract of the node (runtime spec §8.1).
pub trait Store: Send + Sync + 'static {
    /// Commits a batch of writes, of any number of documents, atomically; when it returns
    /// `Ok` the batch is durable.
    fn commit(&self, writes: &[Write]) -> Result<CommitStats, StoreError>;

    /// What is stored of a document; `None` when it does not exist.
    fn load(&self, document: &DocumentName) -> Result<Option<Stored>, StoreError>;

    /// The whole log of a document still held (older entries are compacted away).
    fn log(&self, document: &DocumentName) -> Result<Vec<(u64, Record)>, StoreError>;

    /// The documents that exist.
    fn documents(&self) -> Result<Vec<String>, StoreError>;

    /// The documents to wake, with their wake time.
    fn wakes(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// Keeps an uploaded file of a document under `id`, durably, before any transaction
    /// names it. Deleting the document deletes its files.
    fn put_asset(
        &self,
        document: &DocumentName,
        id: &str,
        meta: &AssetMeta,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let _ = (document, id, meta, bytes);
        Err(StoreError::Io("this store keeps no uploaded files".into()))
    }

    /// Keeps an uploaded file that was received into `staged` (a complete, durable file in the
    /// data directory), as [`Store::put_asset`] does. A store that keeps files moves it in
    /// without reading it; this default reads it into memory, for stores that do not.
    fn put_asset_file(
        &self,
        document: &DocumentName,
        id: &str,
        meta: &AssetMeta,
        staged: &std::path::Path,
    ) -> Result<(), StoreError> {
        let bytes = std::fs::read(staged)
            .map_err(|error| StoreError::Io(format!("{}: {error}", staged.display())))?;
        self.put_asset(document, id, meta, &bytes)?;
        let _ = std::fs::remove_file(staged);
        Ok(())
    }

    /// An uploaded file of a document; `None` when the document has none by that id.
    fn asset(
        &self,
        document: &DocumentName,
        id: &str,
    ) -> Result<Option<(AssetMeta, Vec<u8>)>, StoreError> {
        let _ = (document, id);
        Ok(None)
    }

    /// Where an uploaded file's bytes are, for a store that keeps them as files, so that they
    /// are served without being read whole; `None` otherwise (then [`Store::asset`] reads them).
    fn asset_file(
        &self,
        document: &DocumentName,
        id: &str,
    ) -> Result<Option<(AssetMeta, std::path::PathBuf)>, StoreError> {
        let _ = (document, id);
        Ok(None)
    }

    /// Forgets an uploaded file (one that no transaction came to name).
    fn remove_asset(&self, document: &DocumentName, id: &str) -> Result<(), StoreError> {
        let _ = (document, id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::{Entry, Record};

    #[test]
    fn a_received_record_is_kept_byte_for_byte_and_a_non_record_is_refused() {
        let record = Record {
            seq: 4,
            time: 1_700_000_000_000,
            command: Arc::new(json!({"command": "send", "message": {"text": "hi"}})),
            redo: json!({"n": 4}),
            undo: json!({"n": 3}),
            response: None,
        };
        let stored = Entry::new(&record).expect("encodes");
        let text = std::str::from_utf8(&stored.bytes).expect("JSON is text");
        let received = Entry::received(text).expect("a record is received");
        assert_eq!(received.bytes, stored.bytes);
        let back: Record = serde_json::from_slice(&received.bytes).expect("it loads");
        assert_eq!(back, record);

        for not_a_record in [
            "not json",
            r#"{"seq":4,"time":1,"command":{},"redo":{}}"#,
            r#"{"seq":"4","time":1,"command":{},"redo":{},"undo":{}}"#,
            r#"{"seq":4,"time":1.5,"command":{},"redo":{},"undo":{}}"#,
        ] {
            assert!(
                Entry::received(not_a_record).is_err(),
                "{not_a_record} is refused"
            );
        }
    }
}
