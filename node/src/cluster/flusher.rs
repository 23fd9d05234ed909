//! The writer of the raft logs of every partition of the node, in segment files of their own
//! ([`Wal`]).
//!
//! A partition's append is kept in memory at once (readable from there: the leader's
//! replication reads it back to send it to the followers) and queued here. The writer takes
//! everything queued, from every partition, in order, and writes it as one durable append
//! (one fsync); only then does it report the appends flushed to openraft and let go of their
//! copies in memory. While one fsync runs, what arrives waits for the next: a busy node pays one
//! fsync per round, not one per partition and entry.
//!
//! Votes, truncations and purges go through the same queue, so every write of the logs is
//! applied in the order it was made (openraft's rule), and their callers wait until they are
//! durable. The committed mark is queued without waiting: it is a hint for a faster restart.
//!
//! The documents the partitions apply are in the node's document database, so applying an
//! entry never waits on a log fsync either.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use openraft::alias::EntryOf;
use openraft::storage::IOFlushed;
use tokio::sync::{mpsc, oneshot};

use super::codec;
use super::types::TypeConfig;
use super::wal::{Op, Wal};
use crate::lock;

/// How many entries of a partition stay in memory after they are durable: the followers'
/// replication reads them from there rather than from the disk.
const KEEP_FLUSHED: u64 = 64;

/// The most queued writes one append takes, so that one append stays short.
const MAX_BATCH: usize = 8_192;

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

/// A partition's appended entries that are not durable yet, and the last few that are, by
/// index. Shared by the partition's log handles and the writer, which removes them once they
/// are on disk.
pub(crate) type Unflushed = Arc<Mutex<BTreeMap<u64, Arc<EntryOf<TypeConfig>>>>>;

/// One write of a partition's log, queued for the writer.
pub(crate) enum Work {
    Append {
        partition: u32,
        entries: Vec<Arc<EntryOf<TypeConfig>>>,
        unflushed: Unflushed,
        callback: IOFlushed<TypeConfig>,
    },
    Meta {
        partition: u32,
        name: &'static str,
        bytes: Vec<u8>,
        /// Told once the value is durable; `None`: nobody waits for it.
        done: Option<oneshot::Sender<io::Result<()>>>,
    },
    /// Removes the entries with an index in `from..=to` and, for a purge, records the purged
    /// log id in the same commit.
    Remove {
        partition: u32,
        from: u64,
        to: u64,
        purged: Option<Vec<u8>>,
        done: oneshot::Sender<io::Result<()>>,
    },
}

impl Work {
    /// Whether someone waits for this write to be durable.
    fn awaited(&self) -> bool {
        !matches!(self, Work::Meta { done: None, .. })
    }

    fn complete(self, result: &Result<(), String>) {
        let answer = || result.clone().map_err(io::Error::other);
        match self {
            Work::Append {
                entries,
                unflushed,
                callback,
                ..
            } => {
                if result.is_ok()
                    && let Some(last) = entries.last().map(|entry| entry.log_id)
                {
                    // What this write and every earlier one put on disk may leave memory, but
                    // for the last few entries, which the replication is about to read. An
                    // entry that replaced a truncated one has a newer leader, hence a greater
                    // log id, and stays until its own write is done.
                    let keep_from = last.index.saturating_sub(KEEP_FLUSHED);
                    lock(&unflushed)
                        .retain(|index, entry| *index >= keep_from || entry.log_id > last);
                }
                callback.io_completed(answer());
            }
            Work::Meta { done, .. } => {
                if let Some(done) = done {
                    let _ = done.send(answer());
                }
            }
            Work::Remove { done, .. } => {
                let _ = done.send(answer());
            }
        }
    }
}

/// The handle the partitions' logs queue their writes through. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Flusher {
    queue: mpsc::UnboundedSender<Work>,
    fsyncs: Arc<AtomicU64>,
}

impl Flusher {
    /// Starts the writer of the raft logs kept in `wal`. It has a thread of its own, so that
    /// an fsync never waits for a thread of the node's pools, nor holds one; the thread ends
    /// once the last handle is gone.
    pub fn start(wal: Arc<Wal>) -> Flusher {
        let (queue, work) = mpsc::unbounded_channel();
        let fsyncs = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&fsyncs);
        let started = std::thread::Builder::new()
            .name("raft-log-writer".into())
            .spawn(move || run(&wal, work, &counted));
        if let Err(error) = started {
            // The queue's receiver is gone with the closure: every write fails, and says why.
            tracing::error!(%error, "the raft log writer cannot start");
        }
        Flusher { queue, fsyncs }
    }

    /// Queues a write; it fails at once when the writer has stopped.
    pub(crate) fn queue(&self, work: Work) {
        if let Err(unsent) = self.queue.send(work) {
            unsent
                .0
                .complete(&Err("the node is shutting down".to_owned()));
        }
    }

    /// Queues a write and waits until it is durable.
    pub(crate) async fn durably(
        &self,
        work: impl FnOnce(oneshot::Sender<io::Result<()>>) -> Work,
    ) -> io::Result<()> {
        let (done, wait) = oneshot::channel();
        self.queue(work(done));
        wait.await
            .unwrap_or_else(|_| Err(io::Error::other("the node is shutting down")))
    }

    /// The durable appends made so far.
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
}

fn run(wal: &Wal, mut queue: mpsc::UnboundedReceiver<Work>, fsyncs: &AtomicU64) {
    while let Some(first) = queue.blocking_recv() {
        let batch: Vec<Work> = std::iter::once(first)
            .chain(std::iter::from_fn(|| queue.try_recv().ok()))
            .take(MAX_BATCH)
            .collect();
        let durable = batch.iter().any(Work::awaited);
        let result = write(wal, &batch, durable);
        match &result {
            Ok(()) if durable => {
                fsyncs.fetch_add(1, Ordering::Relaxed);
                crate::metrics::RAFT_LOG_FSYNCS.fetch_add(1, Ordering::Relaxed);
            }
            Ok(()) => {}
            Err(error) => tracing::error!(%error, "the raft logs cannot be written"),
        }
        for work in batch {
            work.complete(&result);
        }
    }
}

/// Writes a batch in order as one append; durable unless nobody waits for any of it.
fn write(wal: &Wal, batch: &[Work], durable: bool) -> Result<(), String> {
    // The entries' bytes first: the ops borrow them.
    let mut encoded: Vec<Vec<u8>> = Vec::new();
    for work in batch {
        if let Work::Append { entries, .. } = work {
            for entry in entries {
                encoded.push(codec::encode(&**entry)?);
            }
        }
    }
    let mut bytes = encoded.iter();
    let mut ops = Vec::with_capacity(encoded.len() + batch.len());
    for work in batch {
        match work {
            Work::Append {
                partition, entries, ..
            } => {
                for (entry, bytes) in entries.iter().zip(bytes.by_ref()) {
                    ops.push(Op::Append {
                        partition: *partition,
                        index: entry.log_id.index,
                        bytes,
                    });
                }
            }
            Work::Meta {
                partition,
                name,
                bytes,
                ..
            } => ops.push(Op::Meta {
                partition: *partition,
                name,
                bytes,
            }),
            Work::Remove {
                partition,
                from,
                to,
                purged,
                ..
            } => {
                if let Some(purged) = purged {
                    ops.push(Op::Meta {
                        partition: *partition,
                        name: "purged",
                        bytes: purged,
                    });
                }
                ops.push(Op::Remove {
                    partition: *partition,
                    from: *from,
                    to: *to,
                });
            }
        }
    }
    wal.write(&ops, durable).map_err(|error| error.to_string())
}
