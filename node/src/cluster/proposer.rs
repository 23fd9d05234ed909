//! Proposes the store writes of a partition's documents to its raft group. While one entry is
//! being replicated, the writes that arrive wait and then go together as the next entry, so
//! under load many documents' records share one entry (the cluster's group commit).

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use super::PartitionRaft;
use super::types::{Proposal, ReplicatedWrite};
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
    pub fn start(partition: u32, raft: PartitionRaft) -> Proposer {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(partition, raft, queue));
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

async fn run(partition: u32, raft: PartitionRaft, mut queue: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = queue.recv().await {
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
        let all: Vec<&Write> = jobs.iter().flat_map(|job| job.writes.iter()).collect();
        match propose(partition, &raft, all).await {
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
    }
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
