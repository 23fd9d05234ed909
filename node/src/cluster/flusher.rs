//! One fsync for the raft log appends of every partition of the node.
//!
//! A partition's append is written to the database at once without an fsync of its own, so
//! that it is readable (the leader's replication reads it back to send it to the followers)
//! while it is not yet durable. Its completion is handed here; the flusher makes everything
//! written so far durable with one empty durable commit (redb persists every earlier commit of
//! the database with it) and only then reports the appends flushed to openraft. While one fsync
//! runs, the appends of all partitions that arrive wait for the next: a busy node pays one fsync
//! per round, not one per partition and entry, and the leader's fsync runs while its followers
//! receive the same entries instead of before.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use openraft::storage::IOFlushed;
use redb::Database;
use tokio::sync::mpsc;

use super::types::TypeConfig;

/// Runs synchronous store work on a worker thread without stalling the tasks queued behind it
/// (another thread takes them over), when the runtime allows it.
pub fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// The handle appends report their completion through. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Flusher {
    waiting: mpsc::UnboundedSender<IOFlushed<TypeConfig>>,
    fsyncs: Arc<AtomicU64>,
}

impl Flusher {
    /// Starts the flush loop of `db` on the current tokio runtime.
    pub fn start(db: Arc<Database>) -> Flusher {
        let (waiting, queue) = mpsc::unbounded_channel();
        let fsyncs = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(db, queue, Arc::clone(&fsyncs)));
        Flusher { waiting, fsyncs }
    }

    /// Reports `callback` flushed once what the database holds now is durable.
    pub fn after_next_fsync(&self, callback: IOFlushed<TypeConfig>) {
        if let Err(unsent) = self.waiting.send(callback) {
            unsent
                .0
                .io_completed(Err(io::Error::other("the node is shutting down")));
        }
    }

    /// The durable commits made so far.
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
}

async fn run(
    db: Arc<Database>,
    mut queue: mpsc::UnboundedReceiver<IOFlushed<TypeConfig>>,
    fsyncs: Arc<AtomicU64>,
) {
    while let Some(first) = queue.recv().await {
        let mut callbacks = vec![first];
        while let Ok(next) = queue.try_recv() {
            callbacks.push(next);
        }
        let db = Arc::clone(&db);
        let result = tokio::task::spawn_blocking(move || -> Result<(), String> {
            // Every append above was committed before its callback was queued, so this commit
            // comes after them and makes them durable.
            let write = db.begin_write().map_err(|error| error.to_string())?;
            write.commit().map_err(|error| error.to_string())
        })
        .await
        .unwrap_or_else(|_| Err("the flush stopped unexpectedly".into()));
        if result.is_ok() {
            fsyncs.fetch_add(1, Ordering::Relaxed);
            crate::metrics::RAFT_LOG_FSYNCS.fetch_add(1, Ordering::Relaxed);
        } else if let Err(error) = &result {
            tracing::error!(%error, "the raft logs cannot be made durable");
        }
        for callback in callbacks {
            callback.io_completed(result.clone().map_err(io::Error::other));
        }
    }
}
