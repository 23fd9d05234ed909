//! Adding and removing a node while the cluster serves (`adama cluster add` / `remove`, through
//! `POST /~cluster/admin/add` and `/remove` on any node). The node asked coordinates:
//!
//! - every node learns the new set of nodes (`POST /~cluster/admin/nodes`) and keeps it in its
//!   store, so restarts come back with it;
//! - each partition's members become the placement of `ClusterFile::members` over the new set,
//!   through openraft's membership changes on the partition's leader: a node that comes in is
//!   added as a learner first and becomes a voter once it caught up with the log (joint
//!   consensus then moves the voters in one change), so the partition keeps a majority that
//!   holds every committed entry throughout.
//!
//! A node is removed from the placement before it is forgotten: once no partition counts it,
//! the operator may stop it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use openraft::BasicNode;
use openraft::async_runtime::WatchReceiver;
use serde::{Deserialize, Serialize};

use super::leader::FORWARDED_WAIT;
use super::network::Peer;
use super::{Cluster, ClusterFile, roster};

/// `POST /~cluster/admin/add`: the node to add.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddNode {
    pub id: u64,
    pub address: SocketAddr,
}

/// `POST /~cluster/admin/remove`: the node to remove.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveNode {
    pub id: u64,
}

/// `POST /~cluster/admin/nodes` and `POST /~cluster/<partition>/members`: a set of nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Nodes {
    pub nodes: BTreeMap<u64, SocketAddr>,
}

/// How long a partition's change of members may take (a new member catching up included).
const CHANGE_WAIT: Duration = Duration::from_secs(60);

impl Cluster {
    /// Keeps a new set of nodes: in the store first, then for routing.
    pub(crate) fn take_nodes(&self, nodes: BTreeMap<u64, SocketAddr>) -> Result<(), String> {
        roster::save(&self.database, &nodes)?;
        self.set_layout(self.file.with_nodes(nodes));
        Ok(())
    }

    /// Adds a node: every node learns of it, then the partitions the placement gives it take it
    /// as a member. Answers what changed.
    pub async fn add_node(&self, add: &AddNode) -> Result<String, String> {
        let layout = self.layout();
        if layout.nodes.contains_key(&add.id) {
            return Err(format!(
                "node {} is a member already\nhint: `adama cluster status` lists the nodes",
                add.id
            ));
        }
        if let Some((other, _)) = layout.nodes.iter().find(|(_, at)| **at == add.address) {
            return Err(format!(
                "{} is the address of node {other}\nhint: give the new node its own address",
                add.address
            ));
        }
        let mut nodes = layout.nodes.clone();
        nodes.insert(add.id, add.address);
        // The new node must know the cluster before its groups are asked to follow.
        self.tell_nodes(&nodes, [(add.id, add.address)], true)
            .await?;
        self.take_nodes(nodes.clone())?;
        let others: Vec<(u64, SocketAddr)> = nodes
            .iter()
            .filter(|(id, _)| **id != add.id && **id != self.node_id)
            .map(|(id, at)| (*id, *at))
            .collect();
        self.tell_nodes(&nodes, others, false).await?;
        let moved = self.spread(&self.file.with_nodes(nodes)).await?;
        Ok(format!(
            "node {} added at {}; {moved} partition(s) changed members",
            add.id, add.address
        ))
    }

    /// Removes a node: the partitions it is a member of move to the others, then every node
    /// forgets it.
    pub async fn remove_node(&self, remove: &RemoveNode) -> Result<String, String> {
        let layout = self.layout();
        if !layout.nodes.contains_key(&remove.id) {
            return Err(format!(
                "node {} is not a member\nhint: `adama cluster status` lists the nodes",
                remove.id
            ));
        }
        if layout.nodes.len() <= 1 {
            return Err("the cluster's last node cannot be removed".into());
        }
        let mut nodes = layout.nodes.clone();
        let address = nodes.remove(&remove.id);
        let moved = self.spread(&self.file.with_nodes(nodes.clone())).await?;
        let mut told: Vec<(u64, SocketAddr)> = nodes
            .iter()
            .filter(|(id, _)| **id != self.node_id)
            .map(|(id, at)| (*id, *at))
            .collect();
        told.extend(address.map(|address| (remove.id, address)));
        self.take_nodes(nodes.clone())?;
        self.tell_nodes(&nodes, told, false).await?;
        Ok(format!(
            "node {} removed; {moved} partition(s) changed members; it may be stopped",
            remove.id
        ))
    }

    /// Gives `nodes` to each of `to`; when `required`, a node that does not take them fails
    /// the change, else it is logged (it learns them at its next restart from a peer's change,
    /// and routes through the groups' own members meanwhile).
    async fn tell_nodes(
        &self,
        nodes: &BTreeMap<u64, SocketAddr>,
        to: impl IntoIterator<Item = (u64, SocketAddr)>,
        required: bool,
    ) -> Result<(), String> {
        let body = Nodes {
            nodes: nodes.clone(),
        };
        for (id, address) in to {
            let answer = Peer::new(address)
                .call::<_, Result<(), String>>("/~cluster/admin/nodes", &body, FORWARDED_WAIT)
                .await
                .map_err(|error| error.to_string())
                .and_then(|answer| answer);
            match answer {
                Ok(()) => {}
                Err(error) if required => {
                    return Err(format!(
                        "node {id} at {address} did not take the cluster's nodes: {error}\nhint: start it first with `adama serve --node-id {id} --cluster FILE --join`"
                    ));
                }
                Err(error) => {
                    tracing::warn!(node = id, %error, "a node did not take the cluster's nodes");
                }
            }
        }
        Ok(())
    }

    /// Moves every partition to the placement of `layout`; how many changed.
    async fn spread(&self, layout: &ClusterFile) -> Result<usize, String> {
        let changes = (0..self.file.partitions).map(|partition| {
            let voters: BTreeMap<u64, SocketAddr> = layout
                .members(partition)
                .into_iter()
                .filter_map(|id| Some((id, *layout.nodes.get(&id)?)))
                .collect();
            async move {
                let body = Nodes { nodes: voters };
                self.members_to(partition, &body, CHANGE_WAIT).await
            }
        });
        let results = futures_util::future::join_all(changes).await;
        let failed: Vec<&String> = results
            .iter()
            .filter_map(|result| result.as_ref().err())
            .collect();
        if let Some(first) = failed.first() {
            return Err(format!(
                "{} of {} partitions did not change members: {first}\nhint: run the command again once `adama cluster status` shows a leader for every partition",
                failed.len(),
                self.file.partitions
            ));
        }
        Ok(results
            .iter()
            .filter(|result| matches!(result, Ok(true)))
            .count())
    }

    /// Has the partition's leader make `voters` its members; whether they changed.
    pub(crate) async fn members_to(
        &self,
        partition: u32,
        voters: &Nodes,
        wait: Duration,
    ) -> Result<bool, String> {
        self.on_leader(partition, "members", voters, wait, || {
            self.change_members_here(partition, voters)
        })
        .await
    }

    /// On the partition's leader: each new voter as a learner until it caught up, then the
    /// voters replaced in one membership change.
    async fn change_members_here(&self, partition: u32, voters: &Nodes) -> Result<bool, String> {
        let raft = self.raft(partition).ok_or_else(|| {
            format!(
                "node {} has no group of partition {partition}",
                self.node_id
            )
        })?;
        let current: BTreeSet<u64> = raft
            .metrics()
            .borrow_watched()
            .membership_config
            .membership()
            .voter_ids()
            .collect();
        let wanted: BTreeSet<u64> = voters.nodes.keys().copied().collect();
        if current == wanted {
            return Ok(false);
        }
        for (id, address) in &voters.nodes {
            if !current.contains(id) {
                raft.add_learner(*id, BasicNode::new(address.to_string()), true)
                    .await
                    .map_err(|error| {
                        format!("node {id} does not join partition {partition}: {error}")
                    })?;
            }
        }
        raft.change_membership(wanted, false)
            .await
            .map_err(|error| format!("partition {partition} does not change members: {error}"))?;
        tracing::info!(partition, from = ?current, to = ?voters.nodes.keys().collect::<Vec<_>>(), "the partition's members changed");
        Ok(true)
    }

    /// `POST /~cluster/<partition>/members` from the coordinating node.
    pub(crate) async fn members_forwarded(
        &self,
        partition: u32,
        voters: &Nodes,
    ) -> Result<bool, String> {
        self.members_to(partition, voters, FORWARDED_WAIT * 4).await
    }
}
