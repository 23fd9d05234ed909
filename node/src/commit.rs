//! Group commit: writes of many documents queue here and go to the store in one batch (one
//! durable commit, one fsync), on a thread of its own: what queues while one batch is being
//! written is the next batch, and under load commits are spaced so that each takes many.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

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
    commits: Arc<Loop>,
    replicate: Option<Arc<dyn Replicate>>,
    metrics: Arc<Metrics>,
}

/// The commit loop's queue and thread. When the last handle goes, the queue closes and the
/// thread is waited for: a commit under way when the node stops ends, and the store closes,
/// before the process does.
#[derive(Debug)]
struct Loop {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Loop {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("writes", &self.writes.len())
            .finish()
    }
}

impl Committer {
    /// Starts the commit loop on a thread of its own. The loop holds the store weakly: it
    /// closes with the node that owns it, not when the loop next looks.
    pub fn start(store: &Arc<dyn Store>, metrics: Arc<Metrics>) -> Committer {
        let (jobs, queue) = mpsc::unbounded_channel();
        let (store, loop_metrics) = (Arc::downgrade(store), Arc::clone(&metrics));
        let thread = std::thread::Builder::new()
            .name("adama-commit".into())
            .spawn(move || run(&store, &loop_metrics, queue))
            .inspect_err(|error| {
                // Without its loop every commit fails (its queue is closed) and says so.
                tracing::error!(%error, "the commit thread could not start");
            })
            .ok();
        Committer {
            commits: Arc::new(Loop {
                jobs: Some(jobs),
                thread,
            }),
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
        let jobs = self.commits.jobs.as_ref().ok_or_else(closing)?;
        jobs.send(job).map_err(|_| closing())?;
        wait.await.unwrap_or_else(|_| {
            Err(StoreError::Io(
                "the commit stopped before it was durable".into(),
            ))
        })
    }
}

/// How soon after a commit began the next may begin, when that commit took the writes of more
/// than one document round: under load the writes of this long make one commit, rather than a
/// commit each (a commit costs about 300 µs of CPU besides its writes); a lone round after a
/// quiet spell is committed at once.
const SPACING: Duration = Duration::from_millis(2);

/// Takes what queued while the last batch was written as the next batch, and writes it.
///
/// A thread of its own rather than a task: a task that waits for each batch is woken behind
/// every ready task of the runtime, and under load that wait was most of a commit's latency.
fn run(store: &Weak<dyn Store>, metrics: &Metrics, mut queue: mpsc::UnboundedReceiver<Job>) {
    // When the last commit began, and whether it took several rounds' writes.
    let mut last: Option<(Instant, bool)> = None;
    while let Some(first) = queue.blocking_recv() {
        if let Some((began, true)) = last {
            let next = began + SPACING;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
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
        last = Some((Instant::now(), jobs.len() > 1));
        let answers = match store.upgrade() {
            Some(store) => {
                // A panic fails only this batch: its answers are dropped, which its writers
                // take for a failed commit, and the loop goes on.
                let answers = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    commit_batch(&*store, metrics, jobs)
                }))
                .unwrap_or_else(|_| {
                    tracing::error!(
                        "a commit batch stopped unexpectedly; its writers see a failure"
                    );
                    Vec::new()
                });
                drop(store);
                answers
            }
            None => jobs
                .into_iter()
                .map(|job| (job.done, Err(closing())))
                .collect(),
        };
        // Told after the store is let go: a writer told its commit is durable may close the
        // node, and the store must close with it, not when this loop next wakes.
        for (done, result) in answers {
            let _ = done.send(result);
        }
    }
}

fn closing() -> StoreError {
    StoreError::Io("the node is shutting down".into())
}

/// A writer's outcome, told once the store is let go.
type Answer = (
    oneshot::Sender<Result<(), StoreError>>,
    Result<(), StoreError>,
);

fn commit_batch(store: &dyn Store, metrics: &Metrics, jobs: Vec<Job>) -> Vec<Answer> {
    let writes: Vec<Write> = jobs
        .iter()
        .flat_map(|job| job.writes.iter().cloned())
        .collect();
    match store.commit(&writes) {
        Ok(stats) => {
            account(metrics, stats, writes.len());
            jobs.into_iter()
                .map(|job| {
                    metrics.observe_commit(job.queued.elapsed());
                    (job.done, Ok(()))
                })
                .collect()
        }
        Err(error) if jobs.len() > 1 => {
            // One writer's bad batch must not fail the others: each is retried on its own.
            tracing::warn!(%error, "a group commit failed; committing its writers one by one");
            jobs.into_iter()
                .map(|job| {
                    let result = store.commit(&job.writes);
                    if let Ok(stats) = &result {
                        account(metrics, *stats, job.writes.len());
                        metrics.observe_commit(job.queued.elapsed());
                    }
                    (job.done, result.map(|_| ()))
                })
                .collect()
        }
        Err(error) => {
            tracing::error!(%error, "a commit failed");
            jobs.into_iter()
                .map(|job| (job.done, Err(error.clone())))
                .collect()
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::mpsc as std_mpsc;

    use super::*;
    use crate::engine::Record;
    use crate::store::{DocumentName, Stored};

    /// A store that tells each commit's batch size, and holds the first commit until told.
    struct Held {
        batches: mpsc::UnboundedSender<usize>,
        release: Mutex<Option<std_mpsc::Receiver<()>>>,
    }

    impl Store for Held {
        fn commit(&self, writes: &[Write]) -> Result<crate::store::CommitStats, StoreError> {
            assert!(
                writes.iter().all(|write| write.document() != "panic/0"),
                "a store that fails as a bug would"
            );
            let _ = self.batches.send(writes.len());
            if let Some(release) = crate::lock(&self.release).take() {
                let _ = release.recv();
            }
            Ok(crate::store::CommitStats {
                bytes: 0,
                fsyncs: 1,
            })
        }
        fn load(&self, _: &DocumentName) -> Result<Option<Stored>, StoreError> {
            Ok(None)
        }
        fn log(&self, _: &DocumentName) -> Result<Vec<(u64, Record)>, StoreError> {
            Ok(Vec::new())
        }
        fn documents(&self) -> Result<Vec<String>, StoreError> {
            Ok(Vec::new())
        }
        fn wakes(&self) -> Result<Vec<(String, i64)>, StoreError> {
            Ok(Vec::new())
        }
    }

    /// A committer over a `Held` store (its first commit held until released, if `hold`), what
    /// the store tells of its batches, and the release.
    fn held(
        hold: bool,
    ) -> (
        Arc<dyn Store>,
        Committer,
        mpsc::UnboundedReceiver<usize>,
        std_mpsc::Sender<()>,
    ) {
        let (batches, told) = mpsc::unbounded_channel();
        let (release, held) = std_mpsc::channel();
        let store: Arc<dyn Store> = Arc::new(Held {
            batches,
            release: Mutex::new(hold.then_some(held)),
        });
        let committer = Committer::start(&store, Arc::new(Metrics::default()));
        (store, committer, told, release)
    }

    fn wake(document: &str) -> Vec<Write> {
        vec![Write::Wake {
            document: Arc::from(document),
            at: None,
        }]
    }

    #[tokio::test]
    async fn rounds_queued_while_a_commit_runs_share_the_next_commit() {
        let (_store, committer, mut told, release) = held(true);
        let first = tokio::spawn({
            let committer = committer.clone();
            async move { committer.commit(wake("a/0")).await }
        });
        assert_eq!(
            told.recv().await,
            Some(1),
            "the first round is committed alone"
        );
        let rounds: Vec<_> = (1..=5)
            .map(|round| {
                let committer = committer.clone();
                tokio::spawn(async move { committer.commit(wake(&format!("a/{round}"))).await })
            })
            .collect();
        // On this test's one thread, the five run up to their wait before it goes on.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let _ = release.send(());
        assert_eq!(first.await.ok(), Some(Ok(())));
        for round in rounds {
            assert_eq!(round.await.ok(), Some(Ok(())));
        }
        assert_eq!(
            told.recv().await,
            Some(5),
            "the five queued rounds are one commit"
        );
    }

    #[test]
    fn the_last_handle_waits_for_the_commit_under_way() {
        let (store, committer, mut told, release) = held(true);
        let (done, answer) = oneshot::channel();
        let job = Job {
            writes: wake("a/0"),
            queued: Instant::now(),
            done,
        };
        let queued = committer.commits.jobs.as_ref().map(|jobs| jobs.send(job));
        assert!(matches!(queued, Some(Ok(()))));
        assert_eq!(told.blocking_recv(), Some(1), "the commit is under way");
        let weak = Arc::downgrade(&store);
        drop(store);
        // The commit is held until a moment after the handle is dropped.
        let releasing = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            let _ = release.send(());
        });
        drop(committer);
        assert!(
            weak.upgrade().is_none(),
            "the store closed before the drop returned"
        );
        assert_eq!(answer.blocking_recv().ok(), Some(Ok(())));
        let _ = releasing.join();
    }

    #[tokio::test]
    async fn a_commit_that_panics_fails_its_writers_and_the_next_commit_goes_through() {
        let (_store, committer, _told, _release) = held(false);
        let failed = committer.commit(wake("panic/0")).await;
        assert!(
            matches!(&failed, Err(StoreError::Io(why)) if why.contains("before it was durable")),
            "{failed:?}"
        );
        assert_eq!(committer.commit(wake("a/0")).await, Ok(()));
    }

    #[tokio::test]
    async fn the_commit_loop_does_not_keep_the_store_open() {
        let (store, committer, _told, _release) = held(false);
        assert_eq!(committer.commit(wake("a/0")).await, Ok(()));
        let weak = Arc::downgrade(&store);
        drop(store);
        assert!(weak.upgrade().is_none(), "the store closed with its owner");
        assert_eq!(committer.commit(wake("a/0")).await, Err(closing()));
    }
}
