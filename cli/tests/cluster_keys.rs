//! Identities are cluster-wide: a token signed by any node's key (what a document's login or
//! `sign(agent)` issues there) verifies on every node of the cluster, including one that leads
//! the document itself; a token of a key no node of the cluster holds is refused.

mod cluster_support;

use std::time::Duration;

use adama_node::signing::NodeKey;
use cluster_support::{Client, Nodes};
use serde_json::json;

const PARTITIONS: u32 = 8;
const KEY: &str = "keys";

#[test]
fn a_token_any_node_issued_verifies_on_every_node() {
    let mut nodes = Nodes::new(3, PARTITIONS);
    // Outside the devbox mode, where a token no key verifies would pass as no one.
    nodes.extra = vec!["--dev".into(), "false".into()];
    let everyone = nodes.spawn_all_led();
    let partition = adama_node::cluster::partition_of(&format!("counter/{KEY}"), PARTITIONS);
    let leader = nodes.leader(partition, &everyone).expect("a leader");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let mut client = Client::connect(nodes.address(leader), KEY).await;
        client
            .create_retrying(Duration::from_secs(30))
            .await
            .expect("the document is created");
    });
    let connect = |address, identity: &str| {
        let identity = identity.to_owned();
        runtime.block_on(async move {
            let mut client = Client::connect(address, KEY).await;
            client
                .call(
                    json!({"method": "connection/create", "identity": identity,
                        "space": "counter", "key": KEY, "viewer-state": {}}),
                    Duration::from_secs(10),
                )
                .await
        })
    };
    // Each node's key signs a token; the leader, which runs the document and so resolves the
    // identity itself, takes every one of them (once the keys went round).
    for issuer in everyone {
        let key = NodeKey::load_or_create(&nodes.data(issuer)).expect("the node's key");
        let token = key.issue("counter", KEY, &format!("agent{issuer}"));
        nodes.wait_for(
            &format!("node {leader} takes a token of node {issuer}'s key"),
            Duration::from_secs(15),
            || connect(nodes.address(leader), &token).ok(),
        );
    }
    // A key that is no node's is refused (403403: a document's token no node key verifies).
    let stranger = NodeKey::generate().expect("a key");
    let refused = connect(
        nodes.address(leader),
        &stranger.issue("counter", KEY, "mallory"),
    );
    assert!(
        refused.as_ref().is_err_and(
            |error| error.contains(&adama_node::protocol::codes::AUTH_FORBIDDEN.to_string())
        ),
        "a stranger's token: {refused:?}"
    );
}
