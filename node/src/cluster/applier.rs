//! The one thread that applies the committed entries of the node's partitions to the document
//! database. redb runs one write transaction at a time, so the partitions' applies queue here
//! instead of each holding a thread of the node's pools while it waits for the database (with
//! many partitions, those waits could take every thread the runtime has).
//!
//! The applies that wait together are made in one transaction: under load many partitions
//! have entries committed at once, and a transaction's fixed costs (its commit, the pages it
//! copies on the way to each table's root) are then paid once for all of them rather than once
//! per partition. A shared transaction the store refuses changes nothing; its partitions are
//! then applied one by one, as each would have been alone.
//!
//! The thread also paces the durable commits of applied entries: at most one per
//! [`DURABLE_EVERY`] for all the partitions, so that a node that restarts after a crash applies
//! again only about the last second of entries, and applying rarely waits for an fsync.

use std::io;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use openraft::storage::EntryResponder;

use super::state_machine::{Answers, AppliedState, StateMachine};
use super::types::{Applied, ReplicatedWrite, TypeConfig};

/// How often applied entries are made durable in the document database.
const DURABLE_EVERY: Duration = Duration::from_secs(1);

/// The most partitions' applies one transaction takes.
const MOST_TOGETHER: usize = 64;

/// What an apply hands back: the answers, the deploys it applied (space, source), the
/// partition's new state.
pub(super) type Applying = (Answers, Vec<(String, String)>, AppliedState);

/// One partition's batch of committed entries, on a copy of its state machine.
struct Apply {
    machine: StateMachine,
    batch: Vec<EntryResponder<TypeConfig>>,
    done: tokio::sync::oneshot::Sender<io::Result<Applying>>,
}

#[derive(Debug)]
pub struct Applier {
    jobs: mpsc::Sender<Apply>,
    last_durable: Mutex<Option<Instant>>,
}

impl Default for Applier {
    fn default() -> Applier {
        let (jobs, queue) = mpsc::channel::<Apply>();
        let started = std::thread::Builder::new()
            .name("raft-apply".into())
            .spawn(move || run(&queue));
        if let Err(error) = started {
            tracing::error!(%error, "the apply thread cannot start");
        }
        Applier {
            jobs,
            last_durable: Mutex::new(None),
        }
    }
}

impl Applier {
    /// Applies `batch` on `machine` (a copy of a partition's state machine) after the applies
    /// queued before it.
    pub(super) async fn apply(
        &self,
        machine: StateMachine,
        batch: Vec<EntryResponder<TypeConfig>>,
    ) -> io::Result<Applying> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Apply {
                machine,
                batch,
                done,
            })
            .map_err(|_| io::Error::other("the apply thread has stopped"))?;
        answer
            .await
            .map_err(|_| io::Error::other("applying entries failed unexpectedly"))?
    }

    /// Whether the commit being made now should be durable.
    pub(super) fn durable_due(&self) -> bool {
        let mut last = crate::lock(&self.last_durable);
        if last.is_some_and(|at| at.elapsed() < DURABLE_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// Takes each apply with those waiting behind it, until every state machine sharing the
/// thread is gone.
fn run(queue: &mpsc::Receiver<Apply>) {
    while let Ok(first) = queue.recv() {
        let applies: Vec<Apply> = std::iter::once(first)
            .chain(std::iter::from_fn(|| queue.try_recv().ok()))
            .take(MOST_TOGETHER)
            .collect();
        // A panic fails only these applies (their answers are dropped).
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| apply_together(applies)));
    }
}

/// Applies the batches in one transaction when they can share one, else each alone.
fn apply_together(mut applies: Vec<Apply>) {
    if applies.len() > 1 {
        let before: Vec<AppliedState> = applies
            .iter()
            .map(|apply| apply.machine.state.clone())
            .collect();
        let committed = {
            let mut machines: Vec<&StateMachine> = Vec::with_capacity(applies.len());
            let mut writes: Vec<&ReplicatedWrite> = Vec::new();
            let mut shared = true;
            for Apply { machine, batch, .. } in &mut applies {
                let batch: &Vec<EntryResponder<TypeConfig>> = batch;
                match machine.shared_writes(batch) {
                    Some(more) => writes.extend(more),
                    None => {
                        shared = false;
                        break;
                    }
                }
                machines.push(machine);
            }
            if shared {
                StateMachine::commit_shared(&machines, &writes)
            } else {
                Ok(false)
            }
        };
        match committed {
            Ok(true) => {
                for apply in applies {
                    let answers = apply
                        .batch
                        .into_iter()
                        .map(|(_, responder)| (responder, Applied::default()))
                        .collect();
                    let _ = apply
                        .done
                        .send(Ok((answers, Vec::new(), apply.machine.state)));
                }
                return;
            }
            Err(error) => {
                for apply in applies {
                    let _ = apply
                        .done
                        .send(Err(io::Error::new(error.kind(), error.to_string())));
                }
                return;
            }
            Ok(false) => {
                for (apply, state) in applies.iter_mut().zip(before) {
                    apply.machine.state = state;
                }
            }
        }
    }
    for mut apply in applies {
        let result = apply
            .machine
            .apply_batch(apply.batch)
            .map(|(answers, code)| (answers, code, apply.machine.state));
        let _ = apply.done.send(result);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use openraft::entry::RaftEntry;
    use openraft::testing::log_id;

    use super::*;
    use crate::cluster::config::partition_of;
    use crate::cluster::types::Proposal;
    use crate::store::Store;
    use crate::store::redb::RedbStore;

    const PARTITIONS: u32 = 16;

    /// A document of `partition`.
    fn document_of(partition: u32) -> String {
        (0..)
            .map(|n| format!("counter/d{n}"))
            .find(|name| partition_of(name, PARTITIONS) == partition)
            .expect("a name in every partition")
    }

    fn append(document: &str, index: u64) -> EntryResponder<TypeConfig> {
        let record = format!(
            r#"{{"seq":{index},"time":0,"command":{{}},"redo":{{"n":{index}}},"undo":{{}}}}"#
        );
        let proposal = Proposal {
            writes: vec![ReplicatedWrite::Append {
                document: document.to_owned(),
                index,
                record,
            }],
        };
        (
            openraft::Entry::new_normal(log_id::<TypeConfig>(1, 1, index), proposal),
            None,
        )
    }

    /// Queues two partitions' batches as the apply thread finds them when both wait, and
    /// returns what each is answered.
    fn apply_both(
        machines: [&StateMachine; 2],
        batches: [Vec<EntryResponder<TypeConfig>>; 2],
    ) -> Vec<Applying> {
        let mut applies = Vec::new();
        let mut answers = Vec::new();
        for (machine, batch) in machines.into_iter().zip(batches) {
            let (done, answer) = tokio::sync::oneshot::channel();
            applies.push(Apply {
                machine: machine.clone(),
                batch,
                done,
            });
            answers.push(answer);
        }
        apply_together(applies);
        answers
            .into_iter()
            .map(|mut answer| {
                answer
                    .try_recv()
                    .expect("answered")
                    .expect("applied without an error of the database")
            })
            .collect()
    }

    #[test]
    fn partitions_applied_together_land_as_each_alone_would_and_a_refusal_stays_its_own() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(RedbStore::open(dir.path()).expect("the store opens"));
        let applier = Arc::new(Applier::default());
        let open = |partition| {
            StateMachine::open(Arc::clone(&store), partition, PARTITIONS)
                .expect("the state machine opens")
                .with_applier(Arc::clone(&applier))
        };
        let (first, second) = (open(0), open(1));
        let (a, b) = (document_of(0), document_of(1));

        // Both in order: one transaction holds both.
        let applied = apply_both(
            [&first, &second],
            [vec![append(&a, 1), append(&a, 2)], vec![append(&b, 1)]],
        );
        for (answers, _, _) in &applied {
            assert!(answers.iter().all(|(_, applied)| applied.refused.is_none()));
        }
        let (mut first, mut second) = (first, second);
        first.state = applied[0].2.clone();
        second.state = applied[1].2.clone();
        assert_eq!(
            (first.state.index(), second.state.index()),
            (Some(2), Some(1))
        );

        // The second partition's append skips an index: the store refuses the shared
        // transaction, and each partition is applied alone: the first's append stands, the
        // second's is refused, and both move past their entries.
        let applied = apply_both(
            [&first, &second],
            [vec![append(&a, 3)], vec![append(&b, 3)]],
        );
        assert!(applied[0].0[0].1.refused.is_none());
        assert!(applied[1].0[0].1.refused.is_some());
        assert_eq!(applied[0].2.index(), Some(3));
        assert_eq!(applied[1].2.index(), Some(3));

        let stored = |name: &str| {
            store
                .load(name)
                .expect("the store reads")
                .expect("the document is there")
                .last_index()
        };
        assert_eq!(stored(&a), 3);
        assert_eq!(stored(&b), 1);
    }
}
