//! Counters of the node, rendered in the Prometheus text format at `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the commit latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

/// Durable appends to the cluster's raft logs in this process, which stand in a cluster for
/// the document store's own fsyncs.
pub static RAFT_LOG_FSYNCS: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, Default)]
pub struct Metrics {
    pub documents_loaded: AtomicI64,
    pub connections: AtomicI64,
    pub streams: AtomicI64,
    pub transactions_committed: AtomicU64,
    pub transactions_refused: AtomicU64,
    pub transactions_failed: AtomicU64,
    pub bytes_written: AtomicU64,
    pub fsyncs: AtomicU64,
    pub records_written: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
}

impl Metrics {
    /// Records how long one commit (from queueing to durable) took.
    pub fn observe_commit(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, help: &str, value: i64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        let load = |value: &AtomicI64| value.load(Ordering::Relaxed);
        let count = |value: &AtomicU64| value.load(Ordering::Relaxed);
        gauge(
            &mut out,
            "adama_documents_loaded",
            "Documents in memory.",
            load(&self.documents_loaded),
        );
        gauge(
            &mut out,
            "adama_connections",
            "Open WebSocket connections.",
            load(&self.connections),
        );
        gauge(
            &mut out,
            "adama_document_streams",
            "Open document streams (views).",
            load(&self.streams),
        );
        let _ = writeln!(
            out,
            "# HELP adama_transactions_total Transactions by outcome.\n# TYPE adama_transactions_total counter"
        );
        for (outcome, value) in [
            ("committed", &self.transactions_committed),
            ("refused", &self.transactions_refused),
            ("failed", &self.transactions_failed),
        ] {
            let _ = writeln!(
                out,
                "adama_transactions_total{{outcome=\"{outcome}\"}} {}",
                count(value)
            );
        }
        counter(
            &mut out,
            "adama_store_bytes_written_total",
            "Bytes of records and snapshots written.",
            count(&self.bytes_written),
        );
        counter(
            &mut out,
            "adama_store_fsyncs_total",
            "Durable commits of the store (in a cluster, of the raft logs too).",
            count(&self.fsyncs) + RAFT_LOG_FSYNCS.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "adama_store_records_total",
            "Writes made durable.",
            count(&self.records_written),
        );
        let _ = writeln!(
            out,
            "# HELP adama_commit_latency_seconds Time from queueing a write to its durability.\n# TYPE adama_commit_latency_seconds histogram"
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "adama_commit_latency_seconds_bucket{{le=\"{bound}\"}} {}",
                count(bucket)
            );
        }
        let total = count(&self.latency_count);
        let _ = writeln!(
            out,
            "adama_commit_latency_seconds_bucket{{le=\"+Inf\"}} {total}"
        );
        let _ = writeln!(
            out,
            "adama_commit_latency_seconds_sum {}",
            count(&self.latency_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "adama_commit_latency_seconds_count {total}");
        out
    }
}
