//! Identities are cluster-wide. A document's logins and `sign(agent)` are tokens signed with
//! the key of the node that runs the document (`signing.rs`), and a client may present one on
//! any node: to the copy of a hot document on a node outside its partition, or to a document
//! whose partition moved to another leader. So every node publishes its public keys
//! (`GET /~cluster/keys`) and keeps the other nodes' keys, asked again every few seconds (a
//! rotation shows there), beside its own: a token any node of the cluster issued verifies on
//! every node. A node that does not answer keeps the keys it last gave.

use std::collections::BTreeMap;
use std::sync::Weak;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::network::Peer;
use crate::node::Node;
use crate::signing::PeerKey;

/// `GET /~cluster/keys`: a node's public keys in PEM, current first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicKeys {
    pub node: u64,
    pub keys: Vec<String>,
}

/// How often a node asks the others for their keys.
const SHARE_EVERY: Duration = Duration::from_secs(2);

/// Keeps this node's ring holding the public keys of the cluster's other nodes.
pub async fn share(node: Weak<Node>) {
    let mut known: BTreeMap<u64, Vec<PeerKey>> = BTreeMap::new();
    loop {
        let Some(running) = node.upgrade() else {
            return;
        };
        let Some(cluster) = running.cluster.clone() else {
            return;
        };
        let layout = cluster.layout();
        drop(running);
        for (id, address) in layout
            .nodes
            .iter()
            .filter(|(id, _)| **id != cluster.node_id)
        {
            let answer = Peer::new(*address)
                .get::<PublicKeys>("/~cluster/keys", Duration::from_secs(2))
                .await;
            let Ok(answer) = answer else { continue };
            let keys: Vec<PeerKey> = answer
                .keys
                .iter()
                .filter_map(|pem| match PeerKey::from_pem(pem) {
                    Ok(key) => Some(key),
                    Err(error) => {
                        tracing::warn!(node = id, %error, "a node's public key does not read");
                        None
                    }
                })
                .collect();
            known.insert(*id, keys);
        }
        // The keys of nodes that left the cluster go with them.
        known.retain(|id, _| layout.nodes.contains_key(id));
        let Some(running) = node.upgrade() else {
            return;
        };
        if running
            .keys
            .set_peers(known.values().flatten().cloned().collect())
        {
            tracing::info!(
                nodes = ?known.keys().collect::<Vec<_>>(),
                "the cluster's node keys changed; identities they signed verify here"
            );
        }
        drop(running);
        tokio::time::sleep(SHARE_EVERY).await;
    }
}
