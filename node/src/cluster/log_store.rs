//! The raft log of every partition this node is a member of, in a redb database of its own
//! (`raft.redb` beside the documents'): entries by (partition, index), and per partition the
//! vote, the committed log id and the last purged log id. Every write goes through the node's
//! [`Flusher`], which makes the writes of every partition durable together; an appended entry
//! is kept in memory until then, and read from there.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Mutex};

use openraft::alias::{EntryOf, LogIdOf, VoteOf};
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogReader};
use redb::{Database, ReadableDatabase, ReadableTable, TableError};
use serde::de::DeserializeOwned;

use super::codec;
use super::flusher::{Flusher, RAFT_LOG, RAFT_META, Unflushed, Work, blocking, lock};
use super::types::TypeConfig;

fn other(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(error.to_string())
}

/// The raft log of one partition. Cheap to clone: clones share the database and the entries
/// not yet durable.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
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

/// Moves the raft logs an earlier version kept in the document database (`from`) into their
/// own database (`into`): copied durably first, then dropped from `from`. A log already in
/// `into` is kept as it is. Answers how many entries moved.
pub fn adopt(from: &Database, into: &Database) -> io::Result<u64> {
    let read = from.begin_read().map_err(other)?;
    let (log, meta) = match (read.open_table(RAFT_LOG), read.open_table(RAFT_META)) {
        (Ok(log), Ok(meta)) => (log, meta),
        (Err(TableError::TableDoesNotExist(_)), _) | (_, Err(TableError::TableDoesNotExist(_))) => {
            return Ok(0);
        }
        (Err(error), _) | (_, Err(error)) => return Err(other(error)),
    };
    let fresh = {
        let target = into.begin_read().map_err(other)?;
        match target.open_table(RAFT_META) {
            Ok(table) => table.first().map_err(other)?.is_none(),
            Err(TableError::TableDoesNotExist(_)) => true,
            Err(error) => return Err(other(error)),
        }
    };
    let mut moved = 0;
    if fresh {
        let write = into.begin_write().map_err(other)?;
        {
            let mut target = write.open_table(RAFT_LOG).map_err(other)?;
            for row in log.iter().map_err(other)? {
                let (key, value) = row.map_err(other)?;
                target.insert(key.value(), value.value()).map_err(other)?;
                moved += 1;
            }
            let mut target = write.open_table(RAFT_META).map_err(other)?;
            for row in meta.iter().map_err(other)? {
                let (key, value) = row.map_err(other)?;
                target.insert(key.value(), value.value()).map_err(other)?;
            }
        }
        write.commit().map_err(other)?;
    }
    drop((log, meta, read));
    let write = from.begin_write().map_err(other)?;
    write.delete_table(RAFT_LOG).map_err(other)?;
    write.delete_table(RAFT_META).map_err(other)?;
    write.commit().map_err(other)?;
    Ok(moved)
}

impl LogStore {
    /// The log of `partition` in `db`, written through `flusher` (the writer of `db`).
    pub fn new(db: Arc<Database>, partition: u32, flusher: Flusher) -> io::Result<LogStore> {
        let write = db.begin_write().map_err(other)?;
        write.open_table(RAFT_LOG).map_err(other)?;
        write.open_table(RAFT_META).map_err(other)?;
        write.commit().map_err(other)?;
        Ok(LogStore {
            db,
            partition,
            flusher,
            unflushed: Unflushed::default(),
            committed: Arc::default(),
        })
    }

    fn meta<T: DeserializeOwned>(&self, name: &str) -> io::Result<Option<T>> {
        let read = self.db.begin_read().map_err(other)?;
        let table = read.open_table(RAFT_META).map_err(other)?;
        match table.get((self.partition, name)).map_err(other)? {
            Some(bytes) => serde_json::from_slice(bytes.value())
                .map(Some)
                .map_err(other),
            None => Ok(None),
        }
    }

    /// The last entry on disk.
    fn last_entry(&self) -> io::Result<Option<EntryOf<TypeConfig>>> {
        let read = self.db.begin_read().map_err(other)?;
        let table = read.open_table(RAFT_LOG).map_err(other)?;
        let last = table
            .range((self.partition, 0)..=(self.partition, u64::MAX))
            .map_err(other)?
            .next_back();
        match last {
            Some(entry) => {
                let (_, value) = entry.map_err(other)?;
                codec::decode(value.value()).map(Some).map_err(other)
            }
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
            blocking(|| -> io::Result<()> {
                let read = self.db.begin_read().map_err(other)?;
                let table = read.open_table(RAFT_LOG).map_err(other)?;
                for entry in table
                    .range((self.partition, start)..=(self.partition, disk_end))
                    .map_err(other)?
                {
                    let (_, value) = entry.map_err(other)?;
                    entries.push(codec::decode(value.value()).map_err(other)?);
                }
                Ok(())
            })?;
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
