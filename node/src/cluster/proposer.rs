//! Proposes the store writes of a partition's documents to its raft group. One entry
//! replicates at a time; while it does, the writes that arrive wait and then go together as the
//! next entry, so under load many documents' records share one entry (the cluster's group
//! commit).

use std::future::Future;

use std::sync::Arc;

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
    pub fn start(partition: u32, raft: PartitionRaft, stats: Arc<ProposalStats>) -> Proposer {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(partition, raft, queue, stats));
        Proposer { jobs }
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

async fn run(
    partition: u32,
    raft: PartitionRaft,
    mut queue: mpsc::UnboundedReceiver<Job>,
    stats: Arc<ProposalStats>,
) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = queue.recv().await {
        // While every slot is taken, the writes that arrive wait and join this entry.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
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
            let result = match done.await {
                Ok(result) => outcome(partition, result),
                Err(_) => Err(Refused {
                    error: StoreError::Io("the node is shutting down".into()),
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
