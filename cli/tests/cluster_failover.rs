//! Three `adama serve --cluster` processes on loopback: a stream of sends to a document through
//! a node that does not lead its partition (so every request is proxied), the partition's
//! leader killed with SIGKILL in the middle, a new leader serving within seconds, every
//! acknowledged send present, the killed node restarted, caught up and leading its share of the
//! partitions again; then a node stopped with SIGSTOP while the majority goes on.

mod cluster_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cluster_support::{Client, Nodes};

const PARTITIONS: u32 = 8;
const DOCUMENT: &str = "counter/failover";
const KEY: &str = "failover";

fn partition() -> u32 {
    adama_node::cluster::partition_of(DOCUMENT, PARTITIONS)
}

/// The document's count as a fresh stream on `address` sees it.
async fn count_at(address: SocketAddr) -> i64 {
    let mut client = Client::connect(address, KEY).await;
    client.open().await.expect("the document opens");
    client
        .field("count")
        .expect("the first delta holds the count")
}

#[test]
fn a_killed_leader_loses_no_acknowledged_send_and_its_node_catches_up() {
    let mut cluster = Nodes::new(3, PARTITIONS);
    let everyone = cluster.spawn_all_led();
    let partition = partition();
    let leader = cluster.leader(partition, &everyone).expect("a leader");
    let entry = everyone
        .iter()
        .copied()
        .find(|id| *id != leader)
        .expect("another node");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let mut client = Client::connect(cluster.address(entry), KEY).await;
        let create = client.create().await;
        assert!(
            create.is_ok(),
            "the document is created through a follower: {create:?}"
        );
        let before = client.bumps(40, Duration::from_secs(60)).await;

        cluster.kill(leader);
        let killed = Instant::now();
        let (after, first) = client.timed_bumps(40, Duration::from_secs(60)).await;
        let failover = first.expect("a send after the kill") - killed;
        eprintln!("failover: first acknowledged send {failover:?} after the leader's death");
        assert!(
            failover < Duration::from_secs(8),
            "a new leader served after {failover:?}"
        );

        let survivors: Vec<u64> = everyone
            .iter()
            .copied()
            .filter(|id| *id != leader)
            .collect();
        let count = count_at(cluster.address(entry)).await;
        assert!(
            count >= (before + after) as i64,
            "{} sends were acknowledged but the count is {count}",
            before + after
        );

        // The killed node comes back and catches up with the partition's log.
        cluster.spawn(leader);
        let new_leader = cluster
            .leader(partition, &survivors)
            .expect("a leader among the survivors");
        cluster.wait_for(
            "the restarted node catches up",
            Duration::from_secs(30),
            || {
                let caught_up = cluster
                    .view(new_leader, partition)
                    .is_some_and(|view| view["lag"][leader.to_string()] == 0);
                // Once caught up, it may lead the partition again already (below).
                let leads = cluster
                    .view(leader, partition)
                    .is_some_and(|view| view["state"] == "leader");
                (caught_up || leads).then_some(())
            },
        );
        // Leadership spreads back: the partitions the placement prefers the returning node
        // for (their first member) are handed back to it.
        let file = adama_node::cluster::ClusterFile::parse(
            "cluster.toml",
            &std::fs::read_to_string(&cluster.file).expect("the file"),
        )
        .expect("parses");
        let preferred: Vec<u32> = (0..PARTITIONS)
            .filter(|partition| file.members(*partition).first() == Some(&leader))
            .collect();
        assert!(!preferred.is_empty());
        let returned = Instant::now();
        cluster.wait_for(
            "the returning node leads its share again",
            Duration::from_secs(30),
            || {
                preferred
                    .iter()
                    .all(|partition| cluster.leader(*partition, &everyone) == Some(leader))
                    .then_some(())
            },
        );
        eprintln!(
            "node {leader} led partitions {preferred:?} again {:?} after it caught up",
            returned.elapsed()
        );
        // It serves the document from its own store when asked through it.
        assert_eq!(count_at(cluster.address(leader)).await, count);

        // One node stopped: the two others still commit.
        let stopped = cluster.leader(partition, &everyone).expect("a leader");
        let entry = everyone
            .iter()
            .copied()
            .find(|id| *id != stopped)
            .expect("another node");
        cluster.signal(stopped, "STOP");
        let mut client = Client::connect(cluster.address(entry), KEY).await;
        let paused = Instant::now();
        let during = client.bumps(20, Duration::from_secs(60)).await;
        eprintln!(
            "with a node stopped: {during} sends acknowledged in {:?}",
            paused.elapsed()
        );
        cluster.signal(stopped, "CONT");
        let final_count = count_at(cluster.address(entry)).await;
        assert!(
            final_count >= count + during as i64,
            "{final_count} < {count} + {during}"
        );
    });
}
