//! Proposes the store writes of a partition's documents to its raft group. One entry
//! replicates at a time; while it does, the writes that arrive wait and then go together as the
//! next entry, so under load many documents' records share one entry (the cluster's group
//! commit).

use std::future::Future;

use std::sync::Arc;

use openraft::async_runtime::WatchReceiver;
use openraft::errors::ClientWriteError;
use openraft::impls::ProgressResponder;
use openraft::raft::ClientWriteResponse;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::PartitionRaft;
use super::stats::ProposalStats;
use super::types::{Proposal, ReplicatedWrite, TypeConfig};
use crate::store::{StoreError, Write};

/// The most writes one entry carries.
const MAX_ENTRY_WRITES: usize = 4_096;

struct Job {
    writes: Vec<Write>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle writes are proposed through.
#[derive(Debug, Clone)]
pub struct Proposer {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Proposer {
    /// `node_slots` is shared by every partition of the node: see [`NODE_IN_FLIGHT`].
    pub fn start(
        partition: u32,
        raft: PartitionRaft,
        stats: Arc<ProposalStats>,
        node_slots: Arc<Semaphore>,
    ) -> Proposer {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(partition, raft, queue, stats, node_slots));
        Proposer { jobs }
    }

    /// The slots shared by the partitions of one node.
    pub fn node_slots() -> Arc<Semaphore> {
        Arc::new(Semaphore::new(NODE_IN_FLIGHT))
    }

    /// Resolves once the writes are committed by a majority and applied to this node's store.
    pub fn propose(
        &self,
        writes: Vec<Write>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let (done, wait) = oneshot::channel();
        let sent = self.jobs.send(Job { writes, done });
        async move {
            if sent.is_err() {
                return Err(StoreError::Io("the node is shutting down".into()));
            }
            wait.await
                .unwrap_or_else(|_| Err(StoreError::Io("the node is shutting down".into())))
        }
    }
}

/// How many entries of one partition may be replicating at once. Entries are proposed in the
/// order their writes arrived; a document has at most one round in flight, so its writes are
/// never reordered. One: the writes that arrive while an entry replicates all go in the next.
/// With eight in flight, entries carried 10 records under load (1,000 documents × 10
/// sockets), with two 30, with one 50; each entry's fixed costs (its request to each member,
/// its log write, its apply) cost more than the waiting saved, and one in flight gave the
/// most replicated sends a second.
const IN_FLIGHT: usize = 1;

/// How many entries the partitions a node leads may be replicating at once, all together.
/// Each entry costs about a millisecond of CPU over the members whatever it carries (its
/// append requests, its log writes, its apply, openraft's work for it), so when many
/// partitions are busy at once their writes wait for a slot and go in fewer, fuller entries.
/// A partition alone is not slowed: it takes a free slot at once. Over 64 partitions under
/// load (1,000 documents × 10 sockets) entries carried 54 records with no limit, 104 with 8
/// slots and 114 with 4, and the cluster acknowledged about 6 % more sends a second with 4;
/// 2 and 1 slot gave no more.
const NODE_IN_FLIGHT: usize = 4;

/// A node slot is given back after this long even if its entry is not answered yet, so that a
/// partition stuck without a quorum holds up the node's other partitions for no longer.
const NODE_SLOT_HOLD: std::time::Duration = std::time::Duration::from_secs(1);

async fn run(
    partition: u32,
    raft: PartitionRaft,
    mut queue: mpsc::UnboundedReceiver<Job>,
    stats: Arc<ProposalStats>,
    node_slots: Arc<Semaphore>,
) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = queue.recv().await {
        // While every slot is taken, the writes that arrive wait and join this entry.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Ok(node_slot) = Arc::clone(&node_slots).acquire_owned().await else {
            return;
        };
        let mut count = first.writes.len();
        let mut jobs = vec![first];
        while count < MAX_ENTRY_WRITES {
            match queue.try_recv() {
                Ok(job) => {
                    count += job.writes.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let proposal = Proposal {
            writes: jobs
                .iter()
                .flat_map(|job| job.writes.iter())
                .map(ReplicatedWrite::from_write)
                .collect(),
        };
        stats.proposed(records(&proposal));
        let (responder, done) = ProgressResponder::complete_only();
        if let Err(error) = raft.client_write_ff(proposal, Some(responder)).await {
            let error = StoreError::Io(format!("partition {partition}: {error}"));
            for job in jobs {
                let _ = job.done.send(Err(error.clone()));
            }
            continue;
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            tokio::pin!(done);
            let early = tokio::time::timeout(NODE_SLOT_HOLD, &mut done).await;
            drop(node_slot);
            let answer = match early {
                Ok(answer) => Some(answer),
                Err(_) => answer_unless(done, removed(&raft), NODE_SLOT_HOLD).await,
            };
            let result = match answer {
                Some(Ok(result)) => outcome(partition, result),
                Some(Err(_)) => Err(Refused {
                    error: StoreError::Io("the node is shutting down".into()),
                    shared: true,
                }),
                // The waiting documents close and are asked again where the partition is led.
                None => Err(Refused {
                    error: StoreError::Io(format!(
                        "partition {partition}: this node left the partition's group with the \
                         write in flight; what became of it is the group's to say"
                    )),
                    shared: true,
                }),
            };
            drop(slot);
            match result {
                Err(refused) if jobs.len() > 1 && !refused.shared => {
                    // One document's refused batch must not fail the others: each goes alone.
                    for job in jobs {
                        let result = propose(partition, &raft, job.writes.iter().collect())
                            .await
                            .map_err(|refused| refused.error);
                        let _ = job.done.send(result);
                    }
                }
                result => {
                    let result = result.map_err(|refused| refused.error);
                    for job in jobs {
                        let _ = job.done.send(result.clone());
                    }
                }
            }
        });
    }
}

/// An entry's answer, or `None` when `gone` comes first and no answer follows within `grace`.
/// A member removed from a partition's group never hears what became of the entries it
/// proposed (openraft answers an entry when this member applies, truncates or purges it, and a
/// removed member does none of these again), so its waiting writers are answered here.
async fn answer_unless<T>(
    answer: impl Future<Output = T>,
    gone: impl Future<Output = ()>,
    grace: std::time::Duration,
) -> Option<T> {
    tokio::pin!(answer);
    tokio::select! {
        answer = &mut answer => return Some(answer),
        () = gone => {}
    }
    // An answer already on its way still counts.
    tokio::time::timeout(grace, answer).await.ok()
}

/// Resolves once this node is no longer a member (voter or learner) of the partition's group.
async fn removed(raft: &PartitionRaft) {
    let mut metrics = raft.server_metrics();
    loop {
        let gone = {
            let metrics = metrics.borrow_watched();
            metrics
                .membership_config
                .membership()
                .get_node(&metrics.id)
                .is_none()
        };
        if gone {
            return;
        }
        if metrics.changed().await.is_err() {
            // The group stopped: its entries are answered as it stops.
            return std::future::pending().await;
        }
    }
}

/// The transaction records an entry carries.
fn records(proposal: &Proposal) -> usize {
    proposal
        .writes
        .iter()
        .filter(|write| matches!(write, ReplicatedWrite::Append { .. }))
        .count()
}

struct Refused {
    error: StoreError,
    /// The failure is the group's (no leader, shutting down), not one writer's.
    shared: bool,
}

async fn propose(partition: u32, raft: &PartitionRaft, writes: Vec<&Write>) -> Result<(), Refused> {
    let proposal = Proposal {
        writes: writes
            .into_iter()
            .map(ReplicatedWrite::from_write)
            .collect(),
    };
    match raft.client_write(proposal).await {
        Ok(response) => outcome(partition, Ok(response)),
        Err(error) => Err(Refused {
            error: StoreError::Io(format!("partition {partition}: {error}")),
            shared: true,
        }),
    }
}

fn outcome(
    partition: u32,
    result: Result<ClientWriteResponse<TypeConfig>, ClientWriteError<TypeConfig>>,
) -> Result<(), Refused> {
    match result {
        Ok(response) => match response.data.refused {
            None => Ok(()),
            Some(reason) => Err(Refused {
                error: StoreError::Io(format!("partition {partition}: {reason}")),
                shared: false,
            }),
        },
        Err(error) => Err(Refused {
            error: StoreError::Io(format!("partition {partition}: {error}")),
            shared: true,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use openraft::BasicNode;

    use super::*;
    use crate::cluster::applier::Applier;
    use crate::cluster::flusher::Flusher;
    use crate::cluster::log_store::LogStore;
    use crate::cluster::network::NetworkFactory;
    use crate::cluster::state_machine::StateMachine;
    use crate::store::redb::RedbStore;

    /// A partition whose group has this node as its only member, so that it leads at once.
    async fn partition_alone(directory: &std::path::Path) -> PartitionRaft {
        let store = Arc::new(RedbStore::open(directory).expect("the store opens"));
        let logs = crate::cluster::open_logs(&store)
            .await
            .expect("the logs open");
        let log = LogStore::new(Arc::clone(&logs), 0, Flusher::start(logs));
        let machine = StateMachine::open(store, 0, 1)
            .expect("the state opens")
            .with_applier(Arc::new(Applier::default()));
        let config = crate::cluster::raft_config().expect("a valid configuration");
        let raft = openraft::Raft::new(1, config, NetworkFactory { partition: 0 }, log, machine)
            .await
            .expect("the group starts");
        raft.initialize(BTreeMap::from([(1, BasicNode::new("127.0.0.1:1"))]))
            .await
            .expect("the group initializes");
        raft.wait(Some(Duration::from_secs(10)))
            .current_leader(1, "this node leads")
            .await
            .expect("this node leads");
        raft
    }

    fn wake(document: &str) -> Vec<Write> {
        vec![Write::Wake {
            document: Arc::from(document),
            at: Some(1),
        }]
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_that_wait_for_a_node_slot_go_together_in_one_entry() {
        let directory = tempfile::tempdir().expect("a directory");
        let raft = partition_alone(directory.path()).await;
        let stats = Arc::new(ProposalStats::default());
        let node_slots = Proposer::node_slots();
        let proposer =
            Proposer::start(0, raft.clone(), Arc::clone(&stats), Arc::clone(&node_slots));

        // Every slot of the node is taken by the node's other partitions.
        let taken = Arc::clone(&node_slots)
            .acquire_many_owned(NODE_IN_FLIGHT as u32)
            .await
            .expect("the slots");
        let waiting: Vec<_> = (0..5)
            .map(|n| tokio::spawn(proposer.propose(wake(&format!("space/d{n}")))))
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            stats.entries.load(Ordering::Relaxed),
            0,
            "nothing goes while no slot is free"
        );

        drop(taken);
        for write in waiting {
            write.await.expect("joined").expect("committed");
        }
        assert_eq!(
            stats.entries.load(Ordering::Relaxed),
            1,
            "the writes that waited went in one entry"
        );
        raft.shutdown().await.expect("the group stops");
    }

    #[tokio::test]
    async fn a_writer_is_answered_when_this_node_leaves_the_group_with_its_entry_unanswered() {
        let never = std::future::pending::<()>();
        let left = std::future::ready(());
        assert_eq!(
            answer_unless(never, left, Duration::from_millis(50)).await,
            None
        );

        // An answer that follows the departure within the grace counts.
        let late = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            7
        };
        assert_eq!(
            answer_unless(late, std::future::ready(()), Duration::from_secs(5)).await,
            Some(7)
        );

        // While this node stays a member, the answer is waited for.
        let answer = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            8
        };
        assert_eq!(
            answer_unless(answer, std::future::pending(), Duration::ZERO).await,
            Some(8)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_member_of_its_group_is_not_taken_for_removed() {
        let directory = tempfile::tempdir().expect("a directory");
        let raft = partition_alone(directory.path()).await;
        assert!(
            tokio::time::timeout(Duration::from_millis(200), removed(&raft))
                .await
                .is_err()
        );
        raft.shutdown().await.expect("the group stops");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_partition_alone_takes_a_free_slot_at_once() {
        let directory = tempfile::tempdir().expect("a directory");
        let raft = partition_alone(directory.path()).await;
        let stats = Arc::new(ProposalStats::default());
        let proposer = Proposer::start(0, raft.clone(), Arc::clone(&stats), Proposer::node_slots());
        for n in 0..3 {
            tokio::time::timeout(
                Duration::from_secs(5),
                proposer.propose(wake(&format!("space/d{n}"))),
            )
            .await
            .expect("answered without waiting for other partitions")
            .expect("committed");
        }
        assert_eq!(
            stats.entries.load(Ordering::Relaxed),
            3,
            "one entry each, in turn"
        );
        raft.shutdown().await.expect("the group stops");
    }
}
