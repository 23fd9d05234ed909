//! A three-node cluster serving a stream of sends gets a fourth node (`adama cluster add`),
//! then loses one by removal (`adama cluster remove`) and the removed node is stopped: every
//! partition keeps a majority and a leader, its members follow the placement over the nodes
//! left, no acknowledged send is lost, and the nodes, their stores and the cluster file agree
//! across a restart.

mod cluster_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use adama_node::cluster::ClusterFile;
use cluster_support::{Client, Nodes, adama, free_address};

const PARTITIONS: u32 = 8;
const KEY: &str = "membership";

/// Each partition's members as its leader reports them, when every partition has a leader
/// among `among` and every member caught up.
fn members(nodes: &Nodes, among: &[u64]) -> Option<BTreeMap<u32, Vec<u64>>> {
    let mut found = BTreeMap::new();
    for partition in 0..PARTITIONS {
        let leader = nodes.leader(partition, among)?;
        let view = nodes.view(leader, partition)?;
        let mut voters: Vec<u64> = view["members"]
            .as_array()?
            .iter()
            .filter_map(serde_json::Value::as_u64)
            .collect();
        voters.sort_unstable();
        let caught_up = voters
            .iter()
            .all(|id| view["lag"][id.to_string()].as_u64() == Some(0));
        if !caught_up {
            return None;
        }
        found.insert(partition, voters);
    }
    Some(found)
}

fn placement(file: &ClusterFile) -> BTreeMap<u32, Vec<u64>> {
    (0..PARTITIONS)
        .map(|partition| {
            let mut members = file.members(partition);
            members.sort_unstable();
            (partition, members)
        })
        .collect()
}

/// Partition → its leader, from the table `adama cluster status` prints.
fn status_leaders(shown: &str) -> BTreeMap<u32, String> {
    shown
        .lines()
        .skip_while(|line| !line.starts_with("partition"))
        .skip(1)
        .filter_map(|line| {
            let mut columns = line.split_whitespace();
            let partition = columns.next()?.parse().ok()?;
            Some((partition, columns.next()?.to_owned()))
        })
        .collect()
}

fn cluster_command(nodes: &Nodes, args: &[&str]) -> std::process::Output {
    adama()
        .arg("cluster")
        .args(args)
        .arg("--cluster")
        .arg(&nodes.file)
        .output()
        .expect("adama cluster runs")
}

#[test]
fn a_node_added_then_one_removed_while_serving_loses_no_acknowledged_send() {
    let mut nodes = Nodes::new(3, PARTITIONS);
    nodes.spawn_all_led();

    // A stream of sends through node 1 for the whole test.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let address = nodes.address(1);
    let sender = {
        let (acknowledged, stop) = (Arc::clone(&acknowledged), Arc::clone(&stop));
        runtime.spawn(async move {
            let mut client = Client::connect(address, KEY).await;
            client.create().await.expect("the document is created");
            while !stop.load(Ordering::Relaxed) {
                if client.bump().await {
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let sent_at_least = |nodes: &Nodes, count: usize| {
        nodes.wait_for("sends are acknowledged", Duration::from_secs(60), || {
            (acknowledged.load(Ordering::Relaxed) >= count).then_some(())
        });
    };
    sent_at_least(&nodes, 10);

    // Node 4 starts with a file that lists it, joins, and is added.
    let fourth = free_address();
    let joining = nodes.root.path().join("joining.toml");
    let mut with_fourth = nodes.addresses.clone();
    with_fourth.insert(4, fourth);
    let text = std::fs::read_to_string(&nodes.file).expect("the file");
    let file = ClusterFile::parse("cluster.toml", &text).expect("parses");
    std::fs::write(&joining, file.with_nodes(with_fourth.clone()).render()).expect("written");
    nodes.addresses.insert(4, fourth);
    nodes.spawn_with_file(4, &joining, &["--join"]);
    nodes.wait_for("node 4 answers", Duration::from_secs(30), || {
        nodes.status(4)
    });
    let started = std::time::Instant::now();
    let added = cluster_command(
        &nodes,
        &["add", "--node-id", "4", "--addr", &fourth.to_string()],
    );
    eprintln!(
        "adama cluster add took {:?}: {}",
        started.elapsed(),
        String::from_utf8_lossy(&added.stdout).trim()
    );
    assert_eq!(
        added.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let written = ClusterFile::parse(
        "cluster.toml",
        &std::fs::read_to_string(&nodes.file).expect("the file"),
    )
    .expect("the file written back parses");
    assert_eq!(written.nodes, with_fourth);
    let four = file.with_nodes(with_fourth.clone());
    let expected = placement(&four);
    nodes.wait_for(
        "every partition has the members of four nodes",
        Duration::from_secs(60),
        || (members(&nodes, &[1, 2, 3, 4])? == expected).then_some(()),
    );
    assert!(
        expected.values().any(|members| members.contains(&4)),
        "node 4 takes a share"
    );
    // Node 4 comes to lead the partitions the placement prefers it for (their first member),
    // handed over by their leaders, and `adama cluster status` shows it.
    let preferred: Vec<u32> = (0..PARTITIONS)
        .filter(|partition| four.members(*partition).first() == Some(&4))
        .collect();
    assert!(!preferred.is_empty(), "node 4 is preferred somewhere");
    let started = std::time::Instant::now();
    let shown = nodes.wait_for(
        "node 4 leads the partitions it is preferred for",
        Duration::from_secs(30),
        || {
            let status = cluster_command(&nodes, &["status"]);
            let shown = String::from_utf8_lossy(&status.stdout).into_owned();
            let leaders = status_leaders(&shown);
            preferred
                .iter()
                .all(|partition| leaders.get(partition).map(String::as_str) == Some("4"))
                .then_some(shown)
        },
    );
    eprintln!(
        "node 4 led partitions {preferred:?} {:?} after it was added",
        started.elapsed()
    );
    let leads: usize = shown
        .lines()
        .find(|line| line.starts_with("node 4: up"))
        .and_then(|line| line.rsplit("leads ").next()?.trim().parse().ok())
        .unwrap_or_else(|| panic!("node 4's line: {shown}"));
    assert!(leads >= preferred.len(), "{shown}");
    let before = acknowledged.load(Ordering::Relaxed);
    sent_at_least(&nodes, before + 10);

    // Node 2 is removed while the sends go on, then stopped.
    let started = std::time::Instant::now();
    let removed = cluster_command(&nodes, &["remove", "--node-id", "2"]);
    eprintln!(
        "adama cluster remove took {:?}: {}",
        started.elapsed(),
        String::from_utf8_lossy(&removed.stdout).trim()
    );
    assert_eq!(
        removed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    nodes.kill(2);
    let mut without_second = with_fourth.clone();
    without_second.remove(&2);
    let three = file.with_nodes(without_second.clone());
    let expected = placement(&three);
    assert!(
        expected
            .values()
            .all(|members| members.len() == 3 && !members.contains(&2))
    );
    let left = [1, 3, 4];
    nodes.wait_for(
        "every partition has three members without node 2",
        Duration::from_secs(60),
        || (members(&nodes, &left)? == expected).then_some(()),
    );
    let before = acknowledged.load(Ordering::Relaxed);
    sent_at_least(&nodes, before + 10);
    stop.store(true, Ordering::Relaxed);
    runtime.block_on(sender).expect("the sender ends");
    let acknowledged = acknowledged.load(Ordering::Relaxed);
    eprintln!("{acknowledged} sends acknowledged through the changes");

    // Every acknowledged send is in the document, read through any node left.
    let count = runtime.block_on(async {
        let mut client = Client::connect(nodes.address(4), KEY).await;
        client.open().await.expect("the document opens");
        client.field("count").expect("the count")
    });
    assert!(
        count >= acknowledged as i64,
        "{acknowledged} sends were acknowledged but the count is {count}"
    );

    // The file lists the nodes left; a restarted node comes back with the same members.
    let written = ClusterFile::parse(
        "cluster.toml",
        &std::fs::read_to_string(&nodes.file).expect("the file"),
    )
    .expect("parses");
    assert_eq!(written.nodes, without_second);
    nodes.kill(4);
    nodes.spawn_with_file(4, &joining, &[]);
    nodes.wait_for(
        "the restarted node serves with the same members",
        Duration::from_secs(60),
        || (members(&nodes, &left)? == expected).then_some(()),
    );
    let status = cluster_command(&nodes, &["status"]);
    let shown = String::from_utf8_lossy(&status.stdout);
    assert_eq!(status.status.code(), Some(0), "{shown}");
    assert!(shown.contains("node 4: up"), "{shown}");
    assert!(!shown.contains("node 2"), "{shown}");
}
