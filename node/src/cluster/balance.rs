//! Leadership follows the placement. A partition's first member in the placement
//! (`ClusterFile::members`) is its preferred leader; since the first member differs from one
//! partition to the next, leading the partitions spreads evenly over the nodes. Elections do
//! not keep it so: a node that was down, or a node just added, leads nothing until elections
//! happen. So each node hands the partitions it leads to their preferred leaders through
//! openraft's leader transfer, once the preferred member has caught up with the log: the
//! leader stops taking writes, the preferred member makes sure it holds the leader's whole log
//! and stands for election at once. The documents' streams fail with the retryable code and
//! reopen on the new leader, as after an election.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use openraft::ServerState;
use openraft::async_runtime::WatchReceiver;
use tokio::time::Instant;

use super::Cluster;

/// How often a node looks at the partitions it leads.
const TICK: Duration = Duration::from_millis(500);

/// How many entries behind the leader the preferred member may be and still count as caught
/// up (under load the last few entries are always on their way).
const CAUGHT_UP: u64 = 64;

/// For how many ticks in a row the preferred member must be caught up: a node that has just
/// come back gets a moment to show that it stays.
const STEADY_TICKS: u32 = 3;

/// How long a transfer is given before the same partition is tried again.
const RETRY: Duration = Duration::from_secs(10);

/// How many partitions one node hands over per tick, so that a returning node takes its share
/// over a few seconds rather than in one burst of elections.
const PER_TICK: usize = 4;

#[derive(Debug, Default)]
struct Balance {
    /// Partition → ticks in a row its preferred leader was caught up.
    steady: HashMap<u32, u32>,
    /// Partition → when it was last handed over.
    tried: HashMap<u32, Instant>,
}

impl Cluster {
    /// Hands each partition this node leads to its preferred leader when that one is ready.
    pub fn balance_leadership(self: &Arc<Cluster>) {
        let cluster: Weak<Cluster> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut balance = Balance::default();
            loop {
                tokio::time::sleep(TICK).await;
                let Some(cluster) = cluster.upgrade() else {
                    return;
                };
                cluster.balance_once(&mut balance).await;
            }
        });
    }

    /// The partitions this node leads whose preferred leader is another node, caught up.
    fn ready_to_hand_over(&self, balance: &mut Balance) -> Vec<(u32, u64)> {
        let layout = self.layout();
        let mut ready = Vec::new();
        let mut partitions: Vec<u32> = self.groups.keys().copied().collect();
        partitions.sort_unstable();
        for partition in partitions {
            let group = &self.groups[&partition];
            let preferred = layout
                .members(partition)
                .first()
                .copied()
                .filter(|preferred| *preferred != self.node_id);
            let metrics = group.raft.metrics();
            let metrics = metrics.borrow_watched();
            let membership = metrics.membership_config.membership();
            let caught_up = preferred.filter(|preferred| {
                metrics.state == ServerState::Leader
                    // Not while the members change (joint consensus).
                    && membership.get_joint_config().len() == 1
                    && membership.voter_ids().any(|id| id == *preferred)
                    && metrics.replication.as_ref().is_some_and(|replication| {
                        let last = metrics.last_log_index.unwrap_or(0);
                        replication.get(preferred).is_some_and(|matched| {
                            let at = matched.as_ref().map_or(0, |log_id| log_id.index);
                            last.saturating_sub(at) <= CAUGHT_UP
                        })
                    })
            });
            let Some(preferred) = caught_up else {
                balance.steady.remove(&partition);
                continue;
            };
            let steady = balance.steady.entry(partition).or_insert(0);
            *steady += 1;
            let recently = balance
                .tried
                .get(&partition)
                .is_some_and(|at| at.elapsed() < RETRY);
            if *steady >= STEADY_TICKS && !recently {
                ready.push((partition, preferred));
            }
        }
        ready
    }

    async fn balance_once(&self, balance: &mut Balance) {
        let ready = self.ready_to_hand_over(balance);
        for (partition, preferred) in ready.into_iter().take(PER_TICK) {
            balance.tried.insert(partition, Instant::now());
            balance.steady.remove(&partition);
            tracing::info!(
                partition,
                to = preferred,
                "handing the partition over to its preferred leader"
            );
            if let Err(error) = self.groups[&partition]
                .raft
                .trigger()
                .transfer_leader(preferred)
                .await
            {
                tracing::warn!(partition, %error, "the partition's group stopped");
            }
        }
    }
}
