//! A deploy across the cluster: the node that receives new code (from `adama deploy` or its
//! watched file) compiles it, then has each partition's leader propose it as an entry of the
//! partition's log. Every member applies that entry at the same point of the log (see
//! `code.rs`), so every copy of a document changes code between the same two records.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Cluster;
use super::leader::FORWARDED_WAIT;
use super::types::{Proposal, ReplicatedWrite};

/// What `POST /~cluster/<partition>/deploy` carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeployBody {
    pub space: String,
    pub source: String,
}

/// How long a deploy waits for every partition to commit it.
const DEPLOY_WAIT: Duration = Duration::from_secs(30);

impl Cluster {
    /// Makes `source` the code of `space` in every partition; resolves once each partition's
    /// log committed it. The source must have compiled on this node already.
    pub async fn deploy(&self, space: &str, source: &str) -> Result<(), String> {
        let body = DeployBody {
            space: space.to_owned(),
            source: source.to_owned(),
        };
        let waits = (0..self.file.partitions)
            .map(|partition| self.deploy_to(partition, &body, DEPLOY_WAIT));
        let failed: Vec<String> = futures_util::future::join_all(waits)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        match failed.first() {
            None => Ok(()),
            Some(first) => Err(format!(
                "{} of {} partitions did not take the new code (the others run it): {first}\nhint: deploy again once `adama cluster status` shows a leader for every partition",
                failed.len(),
                self.file.partitions
            )),
        }
    }

    /// Has the partition's leader propose the deploy, retrying while leadership moves.
    pub(crate) async fn deploy_to(
        &self,
        partition: u32,
        body: &DeployBody,
        wait: Duration,
    ) -> Result<(), String> {
        self.on_leader(partition, "deploy", body, wait, || {
            self.propose_deploy(partition, body)
        })
        .await
    }

    /// On the partition's leader: the deploy as an entry of its own, proposed once no round of
    /// the partition's documents is in flight and applied before the next one starts, so the
    /// records on either side of it ran on the code of their side (`rounds.rs`).
    async fn propose_deploy(&self, partition: u32, body: &DeployBody) -> Result<(), String> {
        let raft = self.raft(partition).ok_or_else(|| {
            format!(
                "node {} is not a member of partition {partition}",
                self.node_id
            )
        })?;
        let proposal = Proposal {
            writes: vec![ReplicatedWrite::Deploy {
                space: body.space.clone(),
                source: body.source.clone(),
            }],
        };
        let between_rounds = self.rounds.deploy(partition).await;
        // The answer comes once the entry is applied here, which makes the new code the
        // partition's (`code.rs`) before the next round reads it.
        let written = raft.client_write(proposal).await;
        drop(between_rounds);
        written
            .map(|_| ())
            .map_err(|error| format!("partition {partition}: {error}"))
    }

    /// `POST /~cluster/<partition>/deploy` from another member.
    pub(crate) async fn deploy_forwarded(
        &self,
        partition: u32,
        body: &DeployBody,
    ) -> Result<(), String> {
        self.deploy_to(partition, body, FORWARDED_WAIT).await
    }
}
