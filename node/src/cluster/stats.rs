//! The replication's counters at `/metrics`: how many raft entries this node proposed as a
//! leader, how many documents' records they carried, and the raft logs' fsyncs.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct ProposalStats {
    pub entries: AtomicU64,
    pub records: AtomicU64,
}

impl ProposalStats {
    /// Counts one entry carrying `records` transaction records.
    pub fn proposed(&self, records: usize) {
        self.entries.fetch_add(1, Ordering::Relaxed);
        self.records.fetch_add(records as u64, Ordering::Relaxed);
    }
}

/// The counters in the Prometheus text format.
pub fn render(stats: &ProposalStats, fsyncs: u64) -> String {
    let mut out = String::new();
    for (name, help, value) in [
        (
            "adama_cluster_entries_total",
            "Raft entries proposed by this node as a partition's leader.",
            stats.entries.load(Ordering::Relaxed),
        ),
        (
            "adama_cluster_entry_records_total",
            "Transaction records carried by those entries.",
            stats.records.load(Ordering::Relaxed),
        ),
        (
            "adama_cluster_log_fsyncs_total",
            "Durable commits that made the raft logs' appends durable.",
            fsyncs,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    out
}
