//! The raft log of every partition this node is a member of, in the node's redb database
//! (tables of its own beside the documents'): entries by (partition, index), and per partition
//! the vote, the committed log id and the last purged log id. Every change is one durable redb
//! commit, so an append is reported flushed only once it is on disk.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::alias::{EntryOf, LogIdOf, VoteOf};
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogReader};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::types::TypeConfig;

/// (partition, index) → the entry as JSON.
const RAFT_LOG: TableDefinition<(u32, u64), &[u8]> = TableDefinition::new("raft_log");
/// (partition, "vote" | "committed" | "purged") → JSON.
const RAFT_META: TableDefinition<(u32, &str), &[u8]> = TableDefinition::new("raft_meta");

fn other(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(error.to_string())
}

/// The raft log of one partition. Cheap to clone: clones share the database.
#[derive(Clone)]
pub struct LogStore {
    db: Arc<Database>,
    partition: u32,
}

impl Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore")
            .field("partition", &self.partition)
            .finish()
    }
}

impl LogStore {
    pub fn new(db: Arc<Database>, partition: u32) -> io::Result<LogStore> {
        let write = db.begin_write().map_err(other)?;
        write.open_table(RAFT_LOG).map_err(other)?;
        write.open_table(RAFT_META).map_err(other)?;
        write.commit().map_err(other)?;
        Ok(LogStore { db, partition })
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

    fn set_meta<T: Serialize>(&self, name: &str, value: &T, durable: bool) -> io::Result<()> {
        let bytes = serde_json::to_vec(value).map_err(other)?;
        let mut write = self.db.begin_write().map_err(other)?;
        if !durable {
            write.set_durability(Durability::None).map_err(other)?;
        }
        write
            .open_table(RAFT_META)
            .map_err(other)?
            .insert((self.partition, name), bytes.as_slice())
            .map_err(other)?;
        write.commit().map_err(other)
    }

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
                serde_json::from_slice(value.value())
                    .map(Some)
                    .map_err(other)
            }
            None => Ok(None),
        }
    }

    /// Removes the entries with an index in `from..=to`.
    fn remove(&self, from: u64, to: u64) -> io::Result<()> {
        let write = self.db.begin_write().map_err(other)?;
        write
            .open_table(RAFT_LOG)
            .map_err(other)?
            .retain_in((self.partition, from)..=(self.partition, to), |_, _| false)
            .map_err(other)?;
        write.commit().map_err(other)
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
        let read = self.db.begin_read().map_err(other)?;
        let table = read.open_table(RAFT_LOG).map_err(other)?;
        let mut entries = Vec::new();
        for entry in table
            .range((self.partition, start)..=(self.partition, end))
            .map_err(other)?
        {
            let (_, value) = entry.map_err(other)?;
            entries.push(serde_json::from_slice(value.value()).map_err(other)?);
        }
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
        let last_log_id = match self.last_entry()? {
            Some(entry) => Some(entry.log_id),
            None => last_purged_log_id,
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
        self.set_meta("vote", vote, true)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogIdOf<TypeConfig>>,
    ) -> Result<(), io::Error> {
        // The committed mark is a hint for a faster restart (openraft may re-learn it from
        // the leader), so it does not cost an fsync of its own; the next durable commit
        // carries it.
        self.set_meta("committed", &committed, false)
    }

    async fn read_committed(&mut self) -> Result<Option<LogIdOf<TypeConfig>>, io::Error> {
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
        let result = (|| {
            let write = self.db.begin_write().map_err(other)?;
            {
                let mut table = write.open_table(RAFT_LOG).map_err(other)?;
                for entry in entries {
                    let bytes = serde_json::to_vec(&entry).map_err(other)?;
                    table
                        .insert((self.partition, entry.log_id.index), bytes.as_slice())
                        .map_err(other)?;
                }
            }
            write.commit().map_err(other)
        })();
        match result {
            Ok(()) => {
                crate::metrics::RAFT_LOG_FSYNCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                callback.io_completed(Ok(()));
                Ok(())
            }
            Err(error) => {
                callback.io_completed(Err(io::Error::other(error.to_string())));
                Err(error)
            }
        }
    }

    async fn truncate_after(
        &mut self,
        last_log_id: Option<LogIdOf<TypeConfig>>,
    ) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |log_id| log_id.index + 1);
        self.remove(from, u64::MAX)
    }

    async fn purge(&mut self, log_id: LogIdOf<TypeConfig>) -> Result<(), io::Error> {
        // The purge mark and the removal go together, so the log state read after a crash
        // is one or the other.
        let bytes = serde_json::to_vec(&log_id).map_err(other)?;
        let write = self.db.begin_write().map_err(other)?;
        write
            .open_table(RAFT_META)
            .map_err(other)?
            .insert((self.partition, "purged"), bytes.as_slice())
            .map_err(other)?;
        write
            .open_table(RAFT_LOG)
            .map_err(other)?
            .retain_in(
                (self.partition, 0)..=(self.partition, log_id.index),
                |_, _| false,
            )
            .map_err(other)?;
        write.commit().map_err(other)
    }
}
