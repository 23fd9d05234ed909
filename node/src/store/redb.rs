//! The embedded store on redb: one database file, one write transaction (one fsync) per batch
//! of writes (and one per uploaded file).
//!
//! A batch's log entries, of however many documents, go to the write-ahead table as one value,
//! so that a commit touches a few pages rather than one leaf of every document's log. They
//! move to the per-document log (`log`) later, many at once (see [`super::pending`]); `moved`
//! records, per document, up to which index its entries are there, so that a reopen knows
//! which write-ahead entries are still pending.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition, WriteTransaction};
use serde_json::{Value as Json, json};

use super::pending::{self, Pending, WalEntry};
use super::{AssetMeta, CommitStats, DocumentName, Store, StoreError, Stored, Write};
use crate::engine::Record;

/// `(document, index)` → the record as JSON.
const LOG: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("log");
/// batch number → the log entries of one commit (see [`pending::encode`]).
const WAL: TableDefinition<u64, &[u8]> = TableDefinition::new("wal");
/// document → the index up to which its entries are in `log` rather than `wal`.
const MOVED: TableDefinition<&str, u64> = TableDefinition::new("moved");
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
/// Past this many pending entries, each commit also moves the entries of the documents of the
/// oldest write-ahead batches to their logs.
const BACKLOG: usize = 50_000;
/// Past this many bytes of pending entries (they are held in memory), commits drain too.
const BACKLOG_BYTES: usize = 64 * 1024 * 1024;
/// The fewest entries a draining commit moves, beyond twice its own appends.
const DRAIN_STEP: usize = 512;

/// The redb store. Every commit is `Durability::Immediate`: it returns after an fsync.
#[derive(Debug)]
pub struct RedbStore {
    db: Arc<Database>,
    /// Held through a whole commit, and by readers while they take their read transaction and
    /// the pending entries, so that the two always agree.
    pending: Mutex<Pending>,
    /// How many pending entries the write-ahead table may hold before commits drain it.
    backlog: usize,
    /// The bytes of uploaded files, as files beside the database.
    files: super::asset_files::AssetFiles,
    /// The data directory the database is in.
    directory: std::path::PathBuf,
}

fn io(error: impl std::fmt::Display) -> StoreError {
    StoreError::Io(error.to_string())
}

fn damaged(document: &str, index: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        document: document.to_owned(),
        index,
        reason: reason.into(),
    }
}

impl RedbStore {
    /// Opens (or creates) the store in `directory` (file `documents.redb`).
    pub fn open(directory: &Path) -> Result<RedbStore, StoreError> {
        RedbStore::open_with_backlog(directory, BACKLOG)
    }

    /// Opens the store with another bound on the entries pending in the write-ahead table.
    pub fn open_with_backlog(directory: &Path, backlog: usize) -> Result<RedbStore, StoreError> {
        std::fs::create_dir_all(directory).map_err(|error| {
            StoreError::Io(format!("cannot create {}: {error}", directory.display()))
        })?;
        let path = directory.join("documents.redb");
        let db = Database::create(&path)
            .map_err(|error| StoreError::Io(format!("cannot open {}: {error}", path.display())))?;
        let write = db.begin_write().map_err(io)?;
        let pending = {
            write.open_table(LOG).map_err(io)?;
            write.open_table(SNAPSHOTS).map_err(io)?;
            write.open_table(WAKES).map_err(io)?;
            write.open_table(HEADS).map_err(io)?;
            write.open_table(ASSET_META).map_err(io)?;
            write.open_table(ASSET_DATA).map_err(io)?;
            write.open_table(MOVED).map_err(io)?;
            let pending = recover(&write)?;
            let mut wal = write.open_table(WAL).map_err(io)?;
            // Batches none of whose entries is pending any more.
            let live: HashSet<u64> = pending.1;
            let mut dead = Vec::new();
            for entry in wal.iter().map_err(io)? {
                let key = entry.map_err(io)?.0.value();
                if !live.contains(&key) {
                    dead.push(key);
                }
            }
            for key in dead {
                wal.remove(key).map_err(io)?;
            }
            pending.0
        };
        write.commit().map_err(io)?;
        Ok(RedbStore {
            db: Arc::new(db),
            pending: Mutex::new(pending),
            backlog,
            files: super::asset_files::AssetFiles::new(directory),
            directory: directory.to_owned(),
        })
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        crate::lock(&self.pending)
    }

    /// A read transaction and a document's pending entries, as of the same commit.
    fn read(
        &self,
        document: &str,
    ) -> Result<(redb::ReadTransaction, Vec<pending::PendingEntry>), StoreError> {
        let pending = self.pending();
        let read = self.db.begin_read().map_err(io)?;
        Ok((read, pending.of(document).to_vec()))
    }
}

/// Rebuilds the pending entries from the write-ahead table: an entry is pending when its
/// document exists and the index lies after what moved to the log and up to the head. When a
/// deleted document's name was used again, the later batch holds the entry that counts.
/// Also answers which batches hold a pending entry.
fn recover(transaction: &WriteTransaction) -> Result<(Pending, HashSet<u64>), StoreError> {
    let heads = transaction.open_table(HEADS).map_err(io)?;
    let moved = transaction.open_table(MOVED).map_err(io)?;
    let wal = transaction.open_table(WAL).map_err(io)?;
    // document → index → (batch, record)
    type Found = BTreeMap<u64, (u64, Arc<[u8]>)>;
    let mut by_document: HashMap<Arc<str>, Found> = HashMap::new();
    let mut last_key = None;
    for entry in wal.iter().map_err(io)? {
        let (key, value) = entry.map_err(io)?;
        let key = key.value();
        last_key = Some(key);
        let entries = pending::decode(value.value())
            .ok_or_else(|| damaged("wal", key, "a write-ahead batch does not decode"))?;
        for (document, index, bytes) in entries {
            let Some(head) = heads.get(&*document).map_err(io)?.map(|v| v.value()) else {
                continue;
            };
            let through = moved.get(&*document).map_err(io)?.map_or(0, |v| v.value());
            if index > through && index <= head {
                by_document
                    .entry(document)
                    .or_default()
                    .insert(index, (key, bytes));
            }
        }
    }
    // Batches are re-formed in key order so that the oldest drain first.
    let mut batches: BTreeMap<u64, Vec<WalEntry>> = BTreeMap::new();
    for (document, entries) in by_document {
        for (index, (key, bytes)) in entries {
            batches
                .entry(key)
                .or_default()
                .push((Arc::clone(&document), index, bytes));
        }
    }
    let mut pending = Pending::default();
    let live = batches.keys().copied().collect();
    for (key, entries) in batches {
        pending.add_batch(key, entries);
    }
    if let Some(key) = last_key {
        pending.add_batch(key, Vec::new());
    }
    Ok((pending, live))
}

fn decode(document: &str, index: u64, bytes: &[u8]) -> Result<Record, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| damaged(document, index, error.to_string()))
}

type LogTable<'t> = Table<'t, (&'static str, u64), &'static [u8]>;

/// The writes of one commit being applied inside its write transaction.
struct Commit<'t> {
    log: LogTable<'t>,
    moved: Table<'t, &'static str, u64>,
    snapshots: Table<'t, &'static str, &'static [u8]>,
    heads: Table<'t, &'static str, u64>,
    wakes: Table<'t, &'static str, i64>,
    asset_meta: Table<'t, (&'static str, &'static str), &'static [u8]>,
    asset_data: Table<'t, (&'static str, &'static str), &'static [u8]>,
    pending: &'t Pending,
    /// This batch's appends still bound for the write-ahead table.
    appends: Vec<WalEntry>,
    /// Documents whose earlier pending entries are settled by this commit.
    cleared: HashSet<Arc<str>>,
    /// Documents this commit deletes: their uploaded files go once it is durable.
    deleted: HashSet<Arc<str>>,
    moved_entries: usize,
    stats: CommitStats,
}

impl<'t> Commit<'t> {
    fn new(
        transaction: &'t WriteTransaction,
        pending: &'t Pending,
    ) -> Result<Commit<'t>, StoreError> {
        Ok(Commit {
            log: transaction.open_table(LOG).map_err(io)?,
            moved: transaction.open_table(MOVED).map_err(io)?,
            snapshots: transaction.open_table(SNAPSHOTS).map_err(io)?,
            heads: transaction.open_table(HEADS).map_err(io)?,
            wakes: transaction.open_table(WAKES).map_err(io)?,
            asset_meta: transaction.open_table(ASSET_META).map_err(io)?,
            asset_data: transaction.open_table(ASSET_DATA).map_err(io)?,
            pending,
            appends: Vec::new(),
            cleared: HashSet::new(),
            deleted: HashSet::new(),
            moved_entries: 0,
            stats: CommitStats::default(),
        })
    }

    /// Moves a document's pending entries, earlier and of this batch, to its log, except those
    /// at or below `cut` (which compaction drops).
    fn move_to_log(&mut self, document: &Arc<str>, cut: u64) -> Result<(), StoreError> {
        let mut through = None;
        if !self.cleared.contains(document) {
            for entry in self.pending.of(document) {
                if entry.index > cut {
                    self.log
                        .insert((&**document, entry.index), &*entry.bytes)
                        .map_err(io)?;
                    self.moved_entries += 1;
                }
                through = Some(entry.index);
            }
        }
        let mut kept = Vec::with_capacity(self.appends.len());
        for append in std::mem::take(&mut self.appends) {
            if append.0 == *document {
                if append.1 > cut {
                    self.log
                        .insert((&**document, append.1), &*append.2)
                        .map_err(io)?;
                    self.moved_entries += 1;
                }
                through = Some(append.1);
            } else {
                kept.push(append);
            }
        }
        self.appends = kept;
        // Nothing of the document waits in the write-ahead table now, up to its head: also
        // when no entry moved (a whole document written as a snapshot in place of its log), so
        // that a reopen does not take older entries there for waiting ones.
        let through = match through {
            Some(through) => through,
            None => self.head(document)?,
        };
        if through > 0 {
            self.moved.insert(&**document, through).map_err(io)?;
        }
        self.cleared.insert(Arc::clone(document));
        Ok(())
    }

    fn head(&self, document: &str) -> Result<u64, StoreError> {
        Ok(self
            .heads
            .get(document)
            .map_err(io)?
            .map_or(0, |v| v.value()))
    }

    fn apply(&mut self, write: &Write) -> Result<(), StoreError> {
        match write {
            Write::Append {
                document,
                index,
                entry,
            } => {
                let last = self.head(document)?;
                if *index != last + 1 {
                    return Err(StoreError::OutOfOrder {
                        document: document.to_string(),
                        index: *index,
                        last,
                    });
                }
                self.stats.bytes += entry.bytes.len() as u64;
                self.heads.insert(&**document, *index).map_err(io)?;
                self.appends
                    .push((Arc::clone(document), *index, Arc::clone(&entry.bytes)));
            }
            Write::Snapshot {
                document,
                index,
                json,
                keep,
            } => {
                let bytes = serde_json::to_vec(&json!({"index": index, "document": &**json}))
                    .map_err(io)?;
                self.stats.bytes += bytes.len() as u64;
                self.snapshots
                    .insert(&**document, bytes.as_slice())
                    .map_err(io)?;
                let last = self.head(document)?;
                self.heads
                    .insert(&**document, last.max(*index))
                    .map_err(io)?;
                let cut = index.saturating_sub(*keep);
                self.move_to_log(document, cut)?;
                if cut > 0 {
                    self.log
                        .retain_in((&**document, 0)..=(&**document, cut), |_, _| false)
                        .map_err(io)?;
                }
            }
            Write::Delete { document } => {
                self.log
                    .retain_in((&**document, 0)..=(&**document, u64::MAX), |_, _| false)
                    .map_err(io)?;
                self.snapshots.remove(&**document).map_err(io)?;
                self.heads.remove(&**document).map_err(io)?;
                self.moved.remove(&**document).map_err(io)?;
                self.wakes.remove(&**document).map_err(io)?;
                let files = (&**document, "")..=(&**document, LAST_ID);
                self.asset_meta
                    .retain_in(files.clone(), |_, _| false)
                    .map_err(io)?;
                self.asset_data.retain_in(files, |_, _| false).map_err(io)?;
                self.appends.retain(|append| append.0 != *document);
                self.cleared.insert(Arc::clone(document));
                self.deleted.insert(Arc::clone(document));
            }
            Write::Wake { document, at } => match at {
                Some(at) => {
                    self.wakes.insert(&**document, *at).map_err(io)?;
                }
                None => {
                    self.wakes.remove(&**document).map_err(io)?;
                }
            },
        }
        Ok(())
    }

    /// When too much is pending, moves the entries of the oldest batches' documents to their
    /// logs: at least twice what this commit appends, so that the backlog shrinks.
    fn drain(&mut self, backlog: usize) -> Result<(), StoreError> {
        let appended: usize = self.appends.iter().map(|append| append.2.len()).sum();
        let entries = self.pending.len() + self.appends.len();
        if entries <= backlog && self.pending.bytes() + appended <= BACKLOG_BYTES {
            return Ok(());
        }
        let budget = (self.appends.len() * 2).max(DRAIN_STEP.min(backlog / 4));
        let pending = self.pending;
        for document in pending.oldest_documents() {
            if self.moved_entries >= budget {
                break;
            }
            if !self.cleared.contains(document) {
                self.move_to_log(document, 0)?;
            }
        }
        Ok(())
    }
}

impl RedbStore {
    /// The database, for the tables of a layer above the document store (the cluster's raft
    /// state).
    pub fn database(&self) -> Arc<Database> {
        Arc::clone(&self.db)
    }

    /// The data directory the database is in (other databases of the node go beside it).
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Every uploaded file of a document: (id, meta, bytes), by id (a cluster partition's
    /// snapshot carries them).
    pub fn assets_of(
        &self,
        document: &DocumentName,
    ) -> Result<Vec<(String, AssetMeta, Vec<u8>)>, StoreError> {
        let read = self.db.begin_read().map_err(io)?;
        let metas = read.open_table(ASSET_META).map_err(io)?;
        let data = read.open_table(ASSET_DATA).map_err(io)?;
        let mut files = Vec::new();
        for row in metas
            .range((document, "")..(document, LAST_ID))
            .map_err(io)?
        {
            let (key, meta) = row.map_err(io)?;
            let id = key.value().1.to_owned();
            let meta: AssetMeta = serde_json::from_slice(meta.value()).map_err(io)?;
            let bytes = match self.files.read(document, &id).map_err(io)? {
                Some(bytes) => bytes,
                // Stores written before files were kept beside the database.
                None => data
                    .get((document, id.as_str()))
                    .map_err(io)?
                    .map(|bytes| bytes.value().to_vec())
                    .unwrap_or_default(),
            };
            files.push((id, meta, bytes));
        }
        Ok(files)
    }

    /// The ids of a document's uploaded files.
    fn attached(&self, document: &str) -> Result<HashSet<String>, StoreError> {
        let read = self.db.begin_read().map_err(io)?;
        let metas = read.open_table(ASSET_META).map_err(io)?;
        let mut ids = HashSet::new();
        for row in metas
            .range((document, "")..(document, LAST_ID))
            .map_err(io)?
        {
            ids.insert(row.map_err(io)?.0.value().1.to_owned());
        }
        Ok(ids)
    }

    /// Writes an uploaded file's bytes, durably, without recording it: [`attach_in`] records
    /// it in a transaction of the caller's (until then it is no file of the document's).
    pub fn put_asset_bytes(
        &self,
        document: &str,
        id: &str,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        self.files.write(document, id, bytes).map_err(io)
    }

    /// Where an uploaded file's bytes are kept, recorded or not.
    #[cfg(test)]
    pub(crate) fn file_path(&self, document: &str, id: &str) -> Option<std::path::PathBuf> {
        self.files.path(document, id)
    }

    /// Removes an uploaded file's bytes, once a committed transaction detached it
    /// ([`detach_in`]).
    pub fn remove_asset_bytes(&self, document: &str, id: &str) -> Result<(), StoreError> {
        self.files.remove(document, id).map_err(io)
    }

    /// Records an uploaded file whose bytes are in place.
    fn put_asset_meta(
        &self,
        document: &DocumentName,
        id: &str,
        meta: &AssetMeta,
    ) -> Result<(), StoreError> {
        let transaction = self.db.begin_write().map_err(io)?;
        attach_in(&transaction, document, id, meta)?;
        transaction.commit().map_err(io)
    }

    /// Commits a batch of writes and, in the same transaction after them, whatever `also`
    /// writes (the cluster's record of the raft entries that carried the batch, and the
    /// uploaded files they attach; it may also lower the transaction's durability when a raft
    /// log already holds the batch durably).
    pub fn commit_with(
        &self,
        writes: &[Write],
        also: &dyn Fn(&mut WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<CommitStats, StoreError> {
        let mut pending = self.pending();
        let mut transaction = self.db.begin_write().map_err(io)?;
        let (appends, cleared, deleted, mut stats) = {
            let mut commit = Commit::new(&transaction, &pending)?;
            for write in writes {
                commit.apply(write)?;
            }
            commit.drain(self.backlog)?;
            (commit.appends, commit.cleared, commit.deleted, commit.stats)
        };
        // After the writes, so that files it attaches outlive a deletion in `writes`.
        also(&mut transaction)?;
        let key = pending.next_batch();
        {
            let mut wal = transaction.open_table(WAL).map_err(io)?;
            if !appends.is_empty() {
                let value = pending::encode(&appends);
                stats.bytes += value.len() as u64;
                wal.insert(key, value.as_slice()).map_err(io)?;
            }
            for emptied in pending.emptied_by(cleared.iter()) {
                wal.remove(emptied).map_err(io)?;
            }
        }
        transaction.commit().map_err(io)?;
        for document in &cleared {
            pending.clear(document);
        }
        // A deleted document's entries that named its files are gone; the files follow, but
        // for those attached again in the same commit (a document deleted and created again).
        // A document whose entries only moved to its log keeps them.
        for document in &deleted {
            let pruned = self
                .attached(document)
                .and_then(|keep| self.files.prune(document, &keep).map_err(io));
            if let Err(error) = pruned {
                tracing::warn!(%document, %error, "a deleted document's files cannot be removed");
            }
        }
        pending.add_batch(key, appends);
        stats.fsyncs = 1;
        Ok(stats)
    }
}

impl Store for RedbStore {
    fn commit(&self, writes: &[Write]) -> Result<CommitStats, StoreError> {
        self.commit_with(writes, &|_| Ok(()))
    }

    fn load(&self, document: &DocumentName) -> Result<Option<Stored>, StoreError> {
        let (read, pending) = self.read(document)?;
        let heads = read.open_table(HEADS).map_err(io)?;
        let Some(head) = heads.get(document).map_err(io)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let snapshots = read.open_table(SNAPSHOTS).map_err(io)?;
        let snapshot = match snapshots.get(document).map_err(io)? {
            Some(bytes) => {
                let parsed: Json = serde_json::from_slice(bytes.value()).map_err(|error| {
                    damaged(document, 0, format!("the snapshot is not JSON: {error}"))
                })?;
                let index = parsed.get("index").and_then(Json::as_u64);
                let json = parsed.get("document").cloned();
                match (index, json) {
                    (Some(index), Some(json)) => Some((index, json)),
                    _ => {
                        return Err(damaged(
                            document,
                            0,
                            "the snapshot lacks its index or document",
                        ));
                    }
                }
            }
            None => None,
        };
        let from = snapshot.as_ref().map_or(0, |(index, _)| *index) + 1;
        let log = read.open_table(LOG).map_err(io)?;
        let mut tail = Vec::new();
        let mut expected = from;
        let mut take = |index: u64, bytes: &[u8]| -> Result<(), StoreError> {
            if index < expected {
                return Ok(());
            }
            if index != expected {
                return Err(damaged(
                    document,
                    expected,
                    format!("entry {expected} is missing (next is {index})"),
                ));
            }
            tail.push((index, decode(document, index, bytes)?));
            expected += 1;
            Ok(())
        };
        for entry in log
            .range((document, from)..=(document, u64::MAX))
            .map_err(io)?
        {
            let (key, value) = entry.map_err(io)?;
            take(key.value().1, value.value())?;
        }
        for entry in &pending {
            take(entry.index, &entry.bytes)?;
        }
        if expected <= head && snapshot.as_ref().is_none_or(|(index, _)| *index < head) {
            return Err(damaged(
                document,
                expected,
                format!("the log ends before its head {head}"),
            ));
        }
        let wake = read
            .open_table(WAKES)
            .map_err(io)?
            .get(document)
            .map_err(io)?
            .map(|at| at.value());
        Ok(Some(Stored {
            snapshot,
            tail,
            wake,
        }))
    }

    fn log(&self, document: &DocumentName) -> Result<Vec<(u64, Record)>, StoreError> {
        let (read, pending) = self.read(document)?;
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
        for entry in pending {
            entries.push((entry.index, decode(document, entry.index, &entry.bytes)?));
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
        self.files.write(document, id, bytes).map_err(io)?;
        self.put_asset_meta(document, id, meta)
    }

    fn put_asset_file(
        &self,
        document: &DocumentName,
        id: &str,
        meta: &AssetMeta,
        staged: &std::path::Path,
    ) -> Result<(), StoreError> {
        self.files.adopt(document, id, staged).map_err(io)?;
        self.put_asset_meta(document, id, meta)
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
        if let Some(bytes) = self.files.read(document, id).map_err(io)? {
            return Ok(Some((meta, bytes)));
        }
        // Stores written before files were kept beside the database hold the bytes in a table.
        let data = read.open_table(ASSET_DATA).map_err(io)?;
        let bytes = data
            .get((document, id))
            .map_err(io)?
            .map(|bytes| bytes.value().to_vec())
            .unwrap_or_default();
        Ok(Some((meta, bytes)))
    }

    fn asset_file(
        &self,
        document: &DocumentName,
        id: &str,
    ) -> Result<Option<(AssetMeta, std::path::PathBuf)>, StoreError> {
        let read = self.db.begin_read().map_err(io)?;
        let metas = read.open_table(ASSET_META).map_err(io)?;
        let Some(meta) = metas.get((document, id)).map_err(io)? else {
            return Ok(None);
        };
        let meta: AssetMeta = serde_json::from_slice(meta.value()).map_err(io)?;
        Ok(self
            .files
            .path(document, id)
            .filter(|path| path.is_file())
            .map(|path| (meta, path)))
    }

    fn remove_asset(&self, document: &DocumentName, id: &str) -> Result<(), StoreError> {
        let transaction = self.db.begin_write().map_err(io)?;
        detach_in(&transaction, document, id)?;
        transaction.commit().map_err(io)?;
        self.remove_asset_bytes(document, id)
    }
}

/// Records, in `transaction`, an uploaded file whose bytes are in place
/// ([`RedbStore::put_asset_bytes`]).
pub fn attach_in(
    transaction: &WriteTransaction,
    document: &str,
    id: &str,
    meta: &AssetMeta,
) -> Result<(), StoreError> {
    let meta = serde_json::to_vec(meta).map_err(io)?;
    transaction
        .open_table(ASSET_META)
        .map_err(io)?
        .insert((document, id), meta.as_slice())
        .map_err(io)?;
    Ok(())
}

/// Forgets, in `transaction`, an uploaded file; its bytes go once the transaction is durable
/// ([`RedbStore::remove_asset_bytes`]).
pub fn detach_in(
    transaction: &WriteTransaction,
    document: &str,
    id: &str,
) -> Result<(), StoreError> {
    transaction
        .open_table(ASSET_META)
        .map_err(io)?
        .remove((document, id))
        .map_err(io)?;
    transaction
        .open_table(ASSET_DATA)
        .map_err(io)?
        .remove((document, id))
        .map_err(io)?;
    Ok(())
}
