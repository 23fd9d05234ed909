//! What `adama cluster status` shows: each node's view of its partitions (`GET
//! /~cluster/status`), and the cluster's view put together from them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use openraft::ServerState;
use openraft::async_runtime::WatchReceiver;
use serde::{Deserialize, Serialize};

use super::network::Peer;
use super::{Cluster, ClusterFile};

/// One node's view of one partition it is a member of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionView {
    pub partition: u32,
    /// `leader`, `follower`, `candidate`, `learner` or `shutdown`.
    pub state: String,
    pub term: u64,
    pub leader: Option<u64>,
    pub last_log_index: Option<u64>,
    pub last_applied: Option<u64>,
    /// The voters of the group's current membership.
    pub members: Vec<u64>,
    /// On the leader: how many entries each member is behind the leader's log.
    pub lag: BTreeMap<u64, u64>,
    /// Space → the hash of the source the partition's log deployed last, as applied on this
    /// node (absent while the space runs the code the node started with).
    #[serde(default)]
    pub code: BTreeMap<String, String>,
}

/// One node's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node: u64,
    pub partitions: Vec<PartitionView>,
}

fn state_name(state: ServerState) -> &'static str {
    match state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    }
}

impl Cluster {
    /// This node's view of its partitions.
    pub fn status(&self) -> NodeStatus {
        let mut partitions: Vec<PartitionView> = self
            .groups
            .iter()
            .filter_map(|(partition, group)| {
                let metrics = group.raft.metrics();
                let metrics = metrics.borrow_watched();
                // The groups of partitions this node is not a member of (yet, or any more).
                let membership = metrics.membership_config.membership();
                let member = membership.voter_ids().any(|id| id == self.node_id)
                    || membership.learner_ids().any(|id| id == self.node_id);
                if !member {
                    return None;
                }
                let last = metrics.last_log_index.unwrap_or(0);
                let lag = metrics
                    .replication
                    .as_ref()
                    .map(|replication| {
                        replication
                            .iter()
                            .map(|(node, matched)| {
                                let at = matched.as_ref().map_or(0, |log_id| log_id.index);
                                (*node, last.saturating_sub(at))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Some(PartitionView {
                    partition: *partition,
                    state: state_name(metrics.state).into(),
                    term: metrics.current_term,
                    leader: metrics.current_leader,
                    last_log_index: metrics.last_log_index,
                    last_applied: metrics.last_applied.as_ref().map(|log_id| log_id.index),
                    members: metrics.membership_config.membership().voter_ids().collect(),
                    lag,
                    code: self.code.hashes(*partition).into_iter().collect(),
                })
            })
            .collect();
        partitions.sort_by_key(|view| view.partition);
        NodeStatus {
            node: self.node_id,
            partitions,
        }
    }
}

/// Every node's status, or why it could not be read.
#[derive(Debug, Clone)]
pub struct ClusterStatus {
    pub nodes: BTreeMap<u64, Result<NodeStatus, String>>,
    pub partitions: u32,
}

/// Asks every node of the file for its status.
pub async fn collect(file: &ClusterFile) -> ClusterStatus {
    let mut nodes = BTreeMap::new();
    for (id, address) in &file.nodes {
        let mut peer = Peer::new(*address);
        let answer = peer
            .get::<NodeStatus>("/~cluster/status", Duration::from_secs(3))
            .await
            .map_err(|error| error.to_string());
        nodes.insert(*id, answer);
    }
    ClusterStatus {
        nodes,
        partitions: file.partitions,
    }
}

impl ClusterStatus {
    /// The table `adama cluster status` prints: per partition its leader, term, members (with
    /// each one's lag behind the leader) and the members that could not be asked.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (id, node) in &self.nodes {
            match node {
                Ok(status) => {
                    let leads = status
                        .partitions
                        .iter()
                        .filter(|view| view.state == "leader")
                        .count();
                    let _ = writeln!(
                        out,
                        "node {id}: up, member of {} partition(s), leads {leads}",
                        status.partitions.len()
                    );
                }
                Err(error) => {
                    let _ = writeln!(out, "node {id}: unreachable ({error})");
                }
            }
        }
        let _ = writeln!(out, "partition  leader  term  members (lag)");
        for partition in 0..self.partitions {
            let views: Vec<(u64, &PartitionView)> = self
                .nodes
                .iter()
                .filter_map(|(id, node)| node.as_ref().ok().map(|status| (*id, status)))
                .filter_map(|(id, status)| {
                    status
                        .partitions
                        .iter()
                        .find(|view| view.partition == partition)
                        .map(|view| (id, view))
                })
                .collect();
            let leading = views.iter().find(|(_, view)| view.state == "leader");
            let (leader, term, members) = match leading {
                Some((id, view)) => {
                    let members: Vec<String> = view
                        .members
                        .iter()
                        .map(|member| match view.lag.get(member) {
                            Some(lag) => format!("{member}({lag})"),
                            None => format!("{member}(?)"),
                        })
                        .collect();
                    (id.to_string(), view.term.to_string(), members.join(" "))
                }
                None => {
                    let term = views.iter().map(|(_, view)| view.term).max();
                    let members: Vec<String> =
                        views.iter().map(|(id, _)| format!("{id}(?)")).collect();
                    (
                        "none".to_owned(),
                        term.map_or("?".to_owned(), |term| term.to_string()),
                        members.join(" "),
                    )
                }
            };
            let _ = writeln!(out, "{partition:>9}  {leader:>6}  {term:>4}  {members}");
        }
        // Deployed code: which source hashes the members' copies run, per space.
        let mut code: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        for status in self.nodes.values().filter_map(|node| node.as_ref().ok()) {
            for view in &status.partitions {
                for (space, hash) in &view.code {
                    *code
                        .entry(space.as_str())
                        .or_default()
                        .entry(hash.as_str())
                        .or_default() += 1;
                }
            }
        }
        for (space, hashes) in code {
            let hashes: Vec<String> = hashes
                .iter()
                .map(|(hash, copies)| format!("{hash} ({copies} partition copies)"))
                .collect();
            let _ = writeln!(out, "deployed code of {space}: {}", hashes.join(", "));
        }
        out
    }
}
