//! The embedded store on redb: one database file, six tables, one write transaction (one
//! fsync) per batch of writes (and one per uploaded file).

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::{Value as Json, json};

use super::{AssetMeta, CommitStats, DocumentName, Store, StoreError, Stored, Write};
use crate::engine::Record;

/// `(document, index)` → the record as JSON.
const LOG: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("log");
/// document → `{"index":n,"document":{…}}`.
const SNAPSHOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshots");
/// document → the index of its last entry; a document exists when it has a head.
const HEADS: TableDefinition<&str, u64> = TableDefinition::new("heads");
/// document → when it must be woken (epoch ms).
const WAKES: TableDefinition<&str, i64> = TableDefinition::new("wakes");

/// `(document, asset id)` → the file's [`AssetMeta`] as JSON.
const ASSET_META: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("asset_meta");
/// `(document, asset id)` → the file's bytes.
const ASSET_DATA: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("asset_data");
/// Above every asset id (ids are ASCII letters and digits), to range over a document's files.
const LAST_ID: &str = "\u{7f}";

/// The redb store. Every commit is `Durability::Immediate`: it returns after an fsync.
#[derive(Debug)]
pub struct RedbStore {
    db: Database,
}

fn io(error: impl std::fmt::Display) -> StoreError {
    StoreError::Io(error.to_string())
}

impl RedbStore {
    /// Opens (or creates) the store in `directory` (file `documents.redb`).
    pub fn open(directory: &Path) -> Result<RedbStore, StoreError> {
        std::fs::create_dir_all(directory).map_err(|error| {
            StoreError::Io(format!("cannot create {}: {error}", directory.display()))
        })?;
        let path = directory.join("documents.redb");
        let db = Database::create(&path)
            .map_err(|error| StoreError::Io(format!("cannot open {}: {error}", path.display())))?;
        let write = db.begin_write().map_err(io)?;
        {
            write.open_table(LOG).map_err(io)?;
            write.open_table(SNAPSHOTS).map_err(io)?;
            write.open_table(HEADS).map_err(io)?;
            write.open_table(WAKES).map_err(io)?;
            write.open_table(ASSET_META).map_err(io)?;
            write.open_table(ASSET_DATA).map_err(io)?;
        }
        write.commit().map_err(io)?;
        Ok(RedbStore { db })
    }
}

fn decode(document: &str, index: u64, bytes: &[u8]) -> Result<Record, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| StoreError::Corrupt {
        document: document.to_owned(),
        index,
        reason: error.to_string(),
    })
}

impl Store for RedbStore {
    fn commit(&self, writes: &[Write]) -> Result<CommitStats, StoreError> {
        let mut stats = CommitStats::default();
        let transaction = self.db.begin_write().map_err(io)?;
        {
            let mut log = transaction.open_table(LOG).map_err(io)?;
            let mut snapshots = transaction.open_table(SNAPSHOTS).map_err(io)?;
            let mut heads = transaction.open_table(HEADS).map_err(io)?;
            let mut wakes = transaction.open_table(WAKES).map_err(io)?;
            let mut asset_meta = transaction.open_table(ASSET_META).map_err(io)?;
            let mut asset_data = transaction.open_table(ASSET_DATA).map_err(io)?;
            for write in writes {
                match write {
                    Write::Append {
                        document,
                        index,
                        entry,
                    } => {
                        let last = heads.get(&**document).map_err(io)?.map_or(0, |v| v.value());
                        if *index != last + 1 {
                            return Err(StoreError::OutOfOrder {
                                document: document.to_string(),
                                index: *index,
                                last,
                            });
                        }
                        stats.bytes += entry.bytes.len() as u64;
                        log.insert((&**document, *index), &*entry.bytes)
                            .map_err(io)?;
                        heads.insert(&**document, *index).map_err(io)?;
                    }
                    Write::Snapshot {
                        document,
                        index,
                        json,
                        keep,
                    } => {
                        let bytes =
                            serde_json::to_vec(&json!({"index": index, "document": &**json}))
                                .map_err(io)?;
                        stats.bytes += bytes.len() as u64;
                        snapshots
                            .insert(&**document, bytes.as_slice())
                            .map_err(io)?;
                        let last = heads.get(&**document).map_err(io)?.map_or(0, |v| v.value());
                        heads.insert(&**document, last.max(*index)).map_err(io)?;
                        let cut = index.saturating_sub(*keep);
                        if cut > 0 {
                            log.retain_in((&**document, 0)..=(&**document, cut), |_, _| false)
                                .map_err(io)?;
                        }
                    }
                    Write::Delete { document } => {
                        log.retain_in((&**document, 0)..=(&**document, u64::MAX), |_, _| false)
                            .map_err(io)?;
                        snapshots.remove(&**document).map_err(io)?;
                        heads.remove(&**document).map_err(io)?;
                        wakes.remove(&**document).map_err(io)?;
                        let files = (&**document, "")..=(&**document, LAST_ID);
                        asset_meta
                            .retain_in(files.clone(), |_, _| false)
                            .map_err(io)?;
                        asset_data.retain_in(files, |_, _| false).map_err(io)?;
                    }
                    Write::Wake { document, at } => match at {
                        Some(at) => {
                            wakes.insert(&**document, *at).map_err(io)?;
                        }
                        None => {
                            wakes.remove(&**document).map_err(io)?;
                        }
                    },
                }
            }
        }
        transaction.commit().map_err(io)?;
        stats.fsyncs = 1;
        Ok(stats)
    }

    fn load(&self, document: &DocumentName) -> Result<Option<Stored>, StoreError> {
        let read = self.db.begin_read().map_err(io)?;
        let heads = read.open_table(HEADS).map_err(io)?;
        let Some(head) = heads.get(document).map_err(io)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let snapshots = read.open_table(SNAPSHOTS).map_err(io)?;
        let snapshot = match snapshots.get(document).map_err(io)? {
            Some(bytes) => {
                let parsed: Json =
                    serde_json::from_slice(bytes.value()).map_err(|error| StoreError::Corrupt {
                        document: document.to_owned(),
                        index: 0,
                        reason: format!("the snapshot is not JSON: {error}"),
                    })?;
                let index = parsed.get("index").and_then(Json::as_u64);
                let json = parsed.get("document").cloned();
                match (index, json) {
                    (Some(index), Some(json)) => Some((index, json)),
                    _ => {
                        return Err(StoreError::Corrupt {
                            document: document.to_owned(),
                            index: 0,
                            reason: "the snapshot lacks its index or document".into(),
                        });
                    }
                }
            }
            None => None,
        };
        let from = snapshot.as_ref().map_or(0, |(index, _)| *index) + 1;
        let log = read.open_table(LOG).map_err(io)?;
        let mut tail = Vec::new();
        let mut expected = from;
        for entry in log
            .range((document, from)..=(document, u64::MAX))
            .map_err(io)?
        {
            let (key, value) = entry.map_err(io)?;
            let index = key.value().1;
            if index != expected {
                return Err(StoreError::Corrupt {
                    document: document.to_owned(),
                    index: expected,
                    reason: format!("entry {expected} is missing (next is {index})"),
                });
            }
            tail.push((index, decode(document, index, value.value())?));
            expected += 1;
        }
        if expected <= head && snapshot.as_ref().is_none_or(|(index, _)| *index < head) {
            return Err(StoreError::Corrupt {
                document: document.to_owned(),
                index: expected,
                reason: format!("the log ends before its head {head}"),
            });
        }
        Ok(Some(Stored { snapshot, tail }))
    }

    fn log(&self, document: &DocumentName) -> Result<Vec<(u64, Record)>, StoreError> {
        let read = self.db.begin_read().map_err(io)?;
        let log = read.open_table(LOG).map_err(io)?;
        let mut entries = Vec::new();
        for entry in log
            .range((document, 0)..=(document, u64::MAX))
            .map_err(io)?
        {
            let (key, value) = entry.map_err(io)?;
            let index = key.value().1;
            entries.push((index, decode(document, index, value.value())?));
        }
        Ok(entries)
    }

    fn documents(&self) -> Result<Vec<String>, StoreError> {
        let read = self.db.begin_read().map_err(io)?;
        let heads = read.open_table(HEADS).map_err(io)?;
        let mut names = Vec::new();
        for entry in heads.iter().map_err(io)? {
            let (key, _) = entry.map_err(io)?;
            names.push(key.value().to_owned());
        }
        Ok(names)
    }

    fn wakes(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let read = self.db.begin_read().map_err(io)?;
        let wakes = read.open_table(WAKES).map_err(io)?;
        let mut all = Vec::new();
        for entry in wakes.iter().map_err(io)? {
            let (key, value) = entry.map_err(io)?;
            all.push((key.value().to_owned(), value.value()));
        }
        Ok(all)
    }

    fn put_asset(
        &self,
        document: &DocumentName,
        id: &str,
        meta: &AssetMeta,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let meta = serde_json::to_vec(meta).map_err(io)?;
        let transaction = self.db.begin_write().map_err(io)?;
        {
            let mut metas = transaction.open_table(ASSET_META).map_err(io)?;
            let mut data = transaction.open_table(ASSET_DATA).map_err(io)?;
            metas.insert((document, id), meta.as_slice()).map_err(io)?;
            data.insert((document, id), bytes).map_err(io)?;
        }
        transaction.commit().map_err(io)
    }

    fn asset(
        &self,
        document: &DocumentName,
        id: &str,
    ) -> Result<Option<(AssetMeta, Vec<u8>)>, StoreError> {
        let read = self.db.begin_read().map_err(io)?;
        let metas = read.open_table(ASSET_META).map_err(io)?;
        let Some(meta) = metas.get((document, id)).map_err(io)? else {
            return Ok(None);
        };
        let meta: AssetMeta = serde_json::from_slice(meta.value()).map_err(io)?;
        let data = read.open_table(ASSET_DATA).map_err(io)?;
        let bytes = data
            .get((document, id))
            .map_err(io)?
            .map(|bytes| bytes.value().to_vec())
            .unwrap_or_default();
        Ok(Some((meta, bytes)))
    }

    fn remove_asset(&self, document: &DocumentName, id: &str) -> Result<(), StoreError> {
        let transaction = self.db.begin_write().map_err(io)?;
        {
            let mut metas = transaction.open_table(ASSET_META).map_err(io)?;
            let mut data = transaction.open_table(ASSET_DATA).map_err(io)?;
            metas.remove((document, id)).map_err(io)?;
            data.remove((document, id)).map_err(io)?;
        }
        transaction.commit().map_err(io)
    }
}
