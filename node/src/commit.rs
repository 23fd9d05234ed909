//! Group commit: writes of many documents queue here and go to the store in one batch (one
//! durable commit, one fsync) while the previous batch is being written.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;
use crate::store::{Store, StoreError, Write};

/// The most writes one batch takes, so that one commit stays short.
const MAX_BATCH_WRITES: usize = 20_000;

struct Job {
    writes: Vec<Write>,
    queued: Instant,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// Where writes go instead of the local group commit when the node is a member of a cluster:
/// the writes are durable once a majority of their partition's members logged them.
pub trait Replicate: Send + Sync + std::fmt::Debug + 'static {
    fn replicate(
        &self,
        writes: Vec<Write>,
    ) -> futures_util::future::BoxFuture<'static, Result<(), StoreError>>;
}

/// The handle documents commit through.
#[derive(Debug, Clone)]
pub struct Committer {
    jobs: mpsc::UnboundedSender<Job>,
    replicate: Option<Arc<dyn Replicate>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("writes", &self.writes.len())
            .finish()
    }
}

impl Committer {
    /// Starts the commit loop on the current tokio runtime.
    pub fn start(store: Arc<dyn Store>, metrics: Arc<Metrics>) -> Committer {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(store, Arc::clone(&metrics), queue));
        Committer {
            jobs,
            replicate: None,
            metrics,
        }
    }

    /// Commits through a cluster rather than to the local store alone.
    pub fn replicated(self, replicate: Arc<dyn Replicate>) -> Committer {
        Committer {
            replicate: Some(replicate),
            ..self
        }
    }

    /// Makes writes durable; returns once they are (or once the store refused them).
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        if let Some(replicate) = &self.replicate {
            // Durable once a majority logged it: that is the commit the metrics count (the
            // raft logs' own fsyncs are counted where they happen).
            let queued = Instant::now();
            let records = writes.len() as u64;
            let bytes: u64 = writes
                .iter()
                .map(|write| match write {
                    Write::Append { entry, .. } => entry.bytes.len() as u64,
                    _ => 0,
                })
                .sum();
            replicate.replicate(writes).await?;
            self.metrics.observe_commit(queued.elapsed());
            self.metrics
                .records_written
                .fetch_add(records, Ordering::Relaxed);
            self.metrics
                .bytes_written
                .fetch_add(bytes, Ordering::Relaxed);
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        let job = Job {
            writes,
            queued: Instant::now(),
            done,
        };
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Io("the node is shutting down".into()))?;
        wait.await
            .unwrap_or_else(|_| Err(StoreError::Io("the node is shutting down".into())))
    }
}

async fn run(
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    mut queue: mpsc::UnboundedReceiver<Job>,
) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        let mut count = jobs[0].writes.len();
        while count < MAX_BATCH_WRITES {
            match queue.try_recv() {
                Ok(job) => {
                    count += job.writes.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let store = Arc::clone(&store);
        let metrics_for_batch = Arc::clone(&metrics);
        let finished = tokio::task::spawn_blocking(move || {
            commit_batch(&*store, &metrics_for_batch, jobs);
        })
        .await;
        if finished.is_err() {
            tracing::error!("a commit batch stopped unexpectedly; its writers see a failure");
        }
    }
}

fn commit_batch(store: &dyn Store, metrics: &Metrics, jobs: Vec<Job>) {
    let writes: Vec<Write> = jobs
        .iter()
        .flat_map(|job| job.writes.iter().cloned())
        .collect();
    match store.commit(&writes) {
        Ok(stats) => {
            account(metrics, stats, writes.len());
            for job in jobs {
                metrics.observe_commit(job.queued.elapsed());
                let _ = job.done.send(Ok(()));
            }
        }
        Err(error) if jobs.len() > 1 => {
            // One writer's bad batch must not fail the others: each is retried on its own.
            tracing::warn!(%error, "a group commit failed; committing its writers one by one");
            for job in jobs {
                let result = store.commit(&job.writes);
                if let Ok(stats) = &result {
                    account(metrics, *stats, job.writes.len());
                    metrics.observe_commit(job.queued.elapsed());
                }
                let _ = job.done.send(result.map(|_| ()));
            }
        }
        Err(error) => {
            tracing::error!(%error, "a commit failed");
            for job in jobs {
                let _ = job.done.send(Err(error.clone()));
            }
        }
    }
}

fn account(metrics: &Metrics, stats: crate::store::CommitStats, writes: usize) {
    metrics
        .bytes_written
        .fetch_add(stats.bytes, Ordering::Relaxed);
    metrics.fsyncs.fetch_add(stats.fsyncs, Ordering::Relaxed);
    metrics
        .records_written
        .fetch_add(writes as u64, Ordering::Relaxed);
}
