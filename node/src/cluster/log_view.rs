//! A partition's raft log as this node holds it, in order, for looking at how the writes of
//! documents, deploys and files interleave (`GET /~cluster/log?partition=P`). Entries purged
//! behind a snapshot are gone; the answer says from which index it starts.

use openraft::{EntryPayload, RaftLogReader};
use serde::Serialize;

use super::Cluster;
use super::types::ReplicatedWrite;

/// One entry of a partition's log.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedEntry {
    pub index: u64,
    pub term: u64,
    /// `writes`, `membership` or `blank`.
    pub kind: &'static str,
    pub writes: Vec<ReplicatedWrite>,
}

/// How many entries one answer holds at most.
pub const MAX_ENTRIES: u64 = 10_000;

impl Cluster {
    /// The entries of a partition's log from `from` on (at most [`MAX_ENTRIES`]).
    pub async fn log_entries(&self, partition: u32, from: u64) -> Result<Vec<LoggedEntry>, String> {
        if partition >= self.file.partitions {
            return Err(format!(
                "partition {partition} does not exist (the cluster has {})",
                self.file.partitions
            ));
        }
        let mut log = self
            .groups
            .get(&partition)
            .map(|group| group.log.clone())
            .ok_or_else(|| {
                format!(
                    "node {} runs no group of partition {partition}",
                    self.node_id
                )
            })?;
        let entries = log
            .try_get_log_entries(from..from.saturating_add(MAX_ENTRIES))
            .await
            .map_err(|error| error.to_string())?;
        Ok(entries
            .into_iter()
            .map(|entry| {
                let (kind, writes) = match entry.payload {
                    EntryPayload::Normal(proposal) => ("writes", proposal.writes),
                    EntryPayload::Membership(_) => ("membership", Vec::new()),
                    EntryPayload::Blank => ("blank", Vec::new()),
                };
                LoggedEntry {
                    index: entry.log_id.index,
                    term: entry.log_id.leader_id.term,
                    kind,
                    writes,
                }
            })
            .collect())
    }
}
