//! Read replicas for hot documents. A node outside a partition's members serves its clients'
//! viewers through the proxy, one stream on the leader per viewer. When a document has many
//! viewers on such a node (the cluster file's `hot_viewers`, a [`HeatPolicy`]), the node
//! follows the document from the partition's leader (`/~replica/follow`) and opens the next
//! viewers on its local copy, which costs the leader one stream for all of them; their writes
//! still go to the leader. The node stops following when the copy's last viewer leaves.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use serde_json::{Map, Value as Json};

use super::proxy::{BY_CONNECTION, document_in, stream_in};
use super::{Cluster, Route};
use crate::lock;
use crate::replica::HeatPolicy;
use crate::replica::host::{Host, Locate};
use crate::replica::streams::Streams;

/// A document is hot on a node once the node has at least this many viewers of it.
#[derive(Debug, Clone, Copy)]
pub struct HotPolicy {
    pub viewers: usize,
}

impl HeatPolicy for HotPolicy {
    fn follow(&self, viewers: usize) -> bool {
        viewers >= self.viewers
    }
}

/// How many viewers this node proxies to each document's leader.
#[derive(Debug)]
pub struct Heat {
    counts: Mutex<HashMap<String, usize>>,
    policy: Box<dyn HeatPolicy>,
}

/// One proxied viewer of a document, counted while it lives.
#[derive(Debug)]
pub struct Viewing {
    heat: Arc<Heat>,
    document: String,
}

impl Drop for Viewing {
    fn drop(&mut self) {
        let mut counts = lock(&self.heat.counts);
        if let Some(count) = counts.get_mut(&self.document) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.document);
            }
        }
    }
}

impl Heat {
    pub fn new(policy: Box<dyn HeatPolicy>) -> Arc<Heat> {
        Arc::new(Heat {
            counts: Mutex::new(HashMap::new()),
            policy,
        })
    }

    /// Counts a viewer of `document` until the returned guard drops.
    pub fn enter(self: &Arc<Heat>, document: &str) -> Viewing {
        *lock(&self.counts).entry(document.to_owned()).or_default() += 1;
        Viewing {
            heat: Arc::clone(self),
            document: document.to_owned(),
        }
    }

    /// The viewers of `document` this node proxies now.
    pub fn viewers(&self, document: &str) -> usize {
        lock(&self.counts).get(document).copied().unwrap_or(0)
    }

    /// Whether one more viewer makes `document` hot.
    fn hot_with_one_more(&self, document: &str) -> bool {
        self.policy.follow(self.viewers(document) + 1)
    }
}

/// Whether a request of a client's socket goes to this node's local copy of a document: a
/// viewer of a document outside this node's partitions that this node follows already, or that
/// this viewer makes hot; or a later request of a stream opened that way.
pub fn to_copy(
    cluster: &Cluster,
    host: &Host,
    streams: &Streams,
    method: &str,
    frame: &Map<String, Json>,
) -> bool {
    if BY_CONNECTION.contains(&method) {
        let stream = stream_in(frame, "connection");
        return stream.is_some_and(|stream| streams.holds(stream));
    }
    if method != "connection/create" {
        return false;
    }
    let Some(document) = document_in(frame) else {
        return false;
    };
    if cluster.is_member(cluster.partition_of(&document)) {
        // A member holds the document's log itself: it proxies to the leader or leads.
        return false;
    }
    host.follows(&document) || cluster.heat.hot_with_one_more(&document)
}

impl Cluster {
    /// The address of the node that leads the partition of `document` now: this node's own
    /// view when it is a member, else what the members say.
    pub async fn leader_address(&self, document: &str) -> Result<SocketAddr, String> {
        let partition = self.partition_of(document);
        let route = if self.is_member(partition) {
            self.route(document).await?
        } else {
            // A copy must come from the leader itself, not a member that would refuse it.
            self.outside_route(partition, true).await?
        };
        match route {
            Route::Local => self
                .layout()
                .nodes
                .get(&self.node_id)
                .copied()
                .ok_or_else(|| "this node is not in the cluster file".to_owned()),
            Route::Remote { address, .. } => Ok(address),
        }
    }
}

/// The primary of a followed document in a cluster: its partition's leader now.
#[derive(Debug)]
pub struct LeaderOf(pub Arc<Cluster>);

impl Locate for LeaderOf {
    fn primary(&self, document: &str) -> BoxFuture<'static, Result<String, String>> {
        let cluster = Arc::clone(&self.0);
        let document = document.to_owned();
        Box::pin(async move {
            cluster
                .leader_address(&document)
                .await
                .map(|address| address.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_hot_once_its_proxied_viewers_reach_the_policy_and_cools_as_they_leave() {
        let heat = Heat::new(Box::new(HotPolicy { viewers: 3 }));
        let first = heat.enter("chat/lobby");
        assert!(!heat.hot_with_one_more("chat/lobby"));
        let second = heat.enter("chat/lobby");
        let _elsewhere = heat.enter("chat/other");
        assert!(heat.hot_with_one_more("chat/lobby"));
        assert_eq!(heat.viewers("chat/lobby"), 2);
        drop(first);
        drop(second);
        assert_eq!(heat.viewers("chat/lobby"), 0);
        assert!(!heat.hot_with_one_more("chat/lobby"));
        assert_eq!(heat.viewers("chat/other"), 1);
    }
}
