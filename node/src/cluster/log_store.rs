//! The raft log of every partition this node is a member of, in the node's segment files
//! ([`Wal`], `raft-log/` beside the documents' database): entries by (partition, index), and per
//! partition the vote, the committed log id and the last purged log id. Every write goes
//! through the node's [`Flusher`], which makes the writes of every partition durable together;
//! an appended entry is kept in memory until then, and read from there.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::{Arc, Mutex};

use openraft::alias::{EntryOf, LogIdOf, VoteOf};
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogReader};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableError};
use serde::de::DeserializeOwned;

use super::codec;
use super::flusher::{Flusher, Unflushed, Work, blocking};
use super::types::TypeConfig;
use super::wal::{Op, Wal};
use crate::lock;

/// Where earlier versions kept the logs, in a redb database: (partition, index) → the entry
/// ([`codec`]).
const RAFT_LOG: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("raft_log");
/// (partition, "vote" | "committed" | "purged") → JSON, beside [`RAFT_LOG`].
const RAFT_META: TableDefinition<(u32, &str), &[u8]> = TableDefinition::new("raft_meta");

fn other(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(error.to_string())
}

/// The raft log of one partition. Cheap to clone: clones share the segment files and the
/// entries not yet durable.
#[derive(Clone)]
pub struct LogStore {
    wal: Arc<Wal>,
    partition: u32,
    flusher: Flusher,
    unflushed: Unflushed,
    /// The committed mark last saved, which may not be written yet.
    committed: Arc<Mutex<Option<Option<LogIdOf<TypeConfig>>>>>,
}

impl Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("partition", &self.partition)
            .finish()
    }
}

/// Moves the raft logs an earlier version kept in a redb database (`from`: the documents'
/// database, or a `raft.redb` of their own) into the segment files (`into`): copied durably
/// first, then dropped from `from`. Logs already in `into` are kept as they are. Answers how
/// many entries moved.
pub fn adopt(from: &Database, into: &Wal) -> io::Result<u64> {
    let read = from.begin_read().map_err(other)?;
    let (log, meta) = match (read.open_table(RAFT_LOG), read.open_table(RAFT_META)) {
        (Ok(log), Ok(meta)) => (log, meta),
        (Err(TableError::TableDoesNotExist(_)), _) | (_, Err(TableError::TableDoesNotExist(_))) => {
            return Ok(0);
        }
        (Err(error), _) | (_, Err(error)) => return Err(other(error)),
    };
    let mut moved = 0;
    if into.is_empty() {
        // A few thousand entries a write, so that memory stays bounded.
        let mut rows = log.iter().map_err(other)?;
        loop {
            let chunk: Vec<((u32, u64), Vec<u8>)> = rows
                .by_ref()
                .take(4_096)
                .map(|row| {
                    let (key, value) = row.map_err(other)?;
                    Ok((key.value(), value.value().to_vec()))
                })
                .collect::<io::Result<_>>()?;
            if chunk.is_empty() {
                break;
            }
            let ops: Vec<Op<'_>> = chunk
                .iter()
                .map(|((partition, index), bytes)| Op::Append {
                    partition: *partition,
                    index: *index,
                    bytes,
                })
                .collect();
            into.write(&ops, true)?;
            moved += chunk.len() as u64;
        }
        let values: Vec<((u32, String), Vec<u8>)> = meta
            .iter()
            .map_err(other)?
            .map(|row| {
                let (key, value) = row.map_err(other)?;
                let (partition, name) = key.value();
                Ok(((partition, name.to_owned()), value.value().to_vec()))
            })
            .collect::<io::Result<_>>()?;
        let ops: Vec<Op<'_>> = values
            .iter()
            .map(|((partition, name), bytes)| Op::Meta {
                partition: *partition,
                name,
                bytes,
            })
            .collect();
        into.write(&ops, true)?;
    }
    drop((log, meta, read));
    let write = from.begin_write().map_err(other)?;
    write.delete_table(RAFT_LOG).map_err(other)?;
    write.delete_table(RAFT_META).map_err(other)?;
    write.commit().map_err(other)?;
    Ok(moved)
}

/// The directory of the raft logs' segment files in the data directory.
pub const LOG_DIRECTORY: &str = "raft-log";

/// The database earlier versions kept the raft logs in, in the data directory.
pub const EARLIER_LOG_DATABASE: &str = "raft.redb";

/// Opens the raft logs' segment files in the data directory `data` ([`LOG_DIRECTORY`]), apart
/// from the documents' database so that appending never waits on applying nor the reverse. The
/// logs earlier versions kept in a redb database ([`EARLIER_LOG_DATABASE`], or before it the
/// documents' database) move there first.
pub fn open_logs(data: &Path, documents: &Database) -> Result<Wal, String> {
    let directory = data.join(LOG_DIRECTORY);
    let earlier = data.join(EARLIER_LOG_DATABASE);
    let hint = "hint: the node's data directory must be writable";
    let logs = Wal::open(&directory).map_err(|error| {
        format!(
            "cannot open the raft logs in {}: {error}\n{hint}",
            directory.display()
        )
    })?;
    let cannot_move = |error: io::Error| {
        format!(
            "cannot move the raft logs into {}: {error}\n{hint}",
            directory.display()
        )
    };
    let mut moved = 0;
    if earlier.exists() {
        let database = Database::create(&earlier)
            .map_err(|error| format!("cannot open {}: {error}\n{hint}", earlier.display()))?;
        moved += adopt(&database, &logs).map_err(cannot_move)?;
        drop(database);
        std::fs::remove_file(&earlier).map_err(cannot_move)?;
    }
    moved += adopt(documents, &logs).map_err(cannot_move)?;
    if moved > 0 {
        tracing::info!(moved, path = %directory.display(), "the raft logs moved to their segment files");
    }
    Ok(logs)
}

impl LogStore {
    /// The log of `partition` in `wal`, written through `flusher` (the writer of `wal`).
    pub fn new(wal: Arc<Wal>, partition: u32, flusher: Flusher) -> LogStore {
        LogStore {
            wal,
            partition,
            flusher,
            unflushed: Unflushed::default(),
            committed: Arc::default(),
        }
    }

    fn meta<T: DeserializeOwned>(&self, name: &str) -> io::Result<Option<T>> {
        match self.wal.meta(self.partition, name) {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(other),
            None => Ok(None),
        }
    }

    /// The last entry on disk.
    fn last_entry(&self) -> io::Result<Option<EntryOf<TypeConfig>>> {
        match blocking(|| self.wal.last_entry(self.partition))? {
            Some(bytes) => codec::decode(&bytes).map(Some).map_err(other),
            None => Ok(None),
        }
    }

    /// Removes the entries with an index in `from..=to`, durably, recording `purged` with it.
    async fn remove(&self, from: u64, to: u64, purged: Option<Vec<u8>>) -> io::Result<()> {
        lock(&self.unflushed).retain(|index, _| *index < from || *index > to);
        let partition = self.partition;
        self.flusher
            .durably(|done| Work::Remove {
                partition,
                from,
                to,
                purged,
                done,
            })
            .await
    }
}

fn bounds(range: &impl RangeBounds<u64>) -> Option<(u64, u64)> {
    let start = match range.start_bound() {
        Bound::Included(start) => *start,
        Bound::Excluded(start) => start.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(end) => *end,
        Bound::Excluded(end) => end.checked_sub(1)?,
        Bound::Unbounded => u64::MAX,
    };
    (start <= end).then_some((start, end))
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<EntryOf<TypeConfig>>, io::Error> {
        let Some((start, end)) = bounds(&range) else {
            return Ok(Vec::new());
        };
        // Memory first: an entry leaves it only once it is on disk, so what is not found there
        // now is found on disk below.
        let recent: Vec<Arc<EntryOf<TypeConfig>>> = lock(&self.unflushed)
            .range(start..=end)
            .map(|(_, entry)| Arc::clone(entry))
            .collect();
        let disk_end = recent
            .first()
            .map_or(Some(end), |entry| entry.log_id.index.checked_sub(1));
        let mut entries = Vec::new();
        if let Some(disk_end) = disk_end.filter(|disk_end| *disk_end >= start) {
            for bytes in blocking(|| self.wal.entries(self.partition, start, disk_end))? {
                entries.push(codec::decode(&bytes).map_err(other)?);
            }
        }
        entries.extend(recent.iter().map(|entry| (**entry).clone()));
        Ok(entries)
    }

    async fn read_vote(&mut self) -> Result<Option<VoteOf<TypeConfig>>, io::Error> {
        self.meta("vote")
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let last_purged_log_id: Option<LogIdOf<TypeConfig>> = self.meta("purged")?;
        let in_memory = lock(&self.unflushed)
            .last_key_value()
            .map(|(_, entry)| entry.log_id);
        let last_log_id = match in_memory {
            Some(log_id) => Some(log_id),
            None => match self.last_entry()? {
                Some(entry) => Some(entry.log_id),
                None => last_purged_log_id,
            },
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &VoteOf<TypeConfig>) -> Result<(), io::Error> {
        let bytes = serde_json::to_vec(vote).map_err(other)?;
        let partition = self.partition;
        self.flusher
            .durably(|done| Work::Meta {
                partition,
                name: "vote",
                bytes,
                done: Some(done),
            })
            .await
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogIdOf<TypeConfig>>,
    ) -> Result<(), io::Error> {
        // The committed mark is a hint for a faster restart (openraft may re-learn it from
        // the leader), so nothing waits for it: the writer's next commit carries it.
        let bytes = serde_json::to_vec(&committed).map_err(other)?;
        *lock(&self.committed) = Some(committed);
        self.flusher.queue(Work::Meta {
            partition: self.partition,
            name: "committed",
            bytes,
            done: None,
        });
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogIdOf<TypeConfig>>, io::Error> {
        if let Some(committed) = *lock(&self.committed) {
            return Ok(committed);
        }
        Ok(self
            .meta::<Option<LogIdOf<TypeConfig>>>("committed")?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = EntryOf<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        // Readable at once (the leader's replication reads the entries back), durable with the
        // writer's next commit, which reports the append flushed.
        let entries: Vec<Arc<EntryOf<TypeConfig>>> = entries.into_iter().map(Arc::new).collect();
        {
            let mut memory = lock(&self.unflushed);
            for entry in &entries {
                memory.insert(entry.log_id.index, Arc::clone(entry));
            }
        }
        self.flusher.queue(Work::Append {
            partition: self.partition,
            entries,
            unflushed: Arc::clone(&self.unflushed),
            callback,
        });
        Ok(())
    }

    async fn truncate_after(
        &mut self,
        last_log_id: Option<LogIdOf<TypeConfig>>,
    ) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |log_id| log_id.index + 1);
        self.remove(from, u64::MAX, None).await
    }

    async fn purge(&mut self, log_id: LogIdOf<TypeConfig>) -> Result<(), io::Error> {
        // The purge mark and the removal go together, so the log state read after a crash
        // is one or the other.
        let bytes = serde_json::to_vec(&log_id).map_err(other)?;
        self.remove(0, log_id.index, Some(bytes)).await
    }
}
