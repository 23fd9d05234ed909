//! `adama deploy` against one node of a three-node cluster, in the middle of a stream of sends:
//! a source with errors changes nothing and reports them; one that compiles reaches every
//! partition of every node through the partitions' logs, a node that was down catches up onto
//! it, and every node's copy of the document ends byte-identical and on the new code.

mod cluster_support;

use std::time::Duration;

use cluster_support::{Client, Nodes, adama};
use serde_json::Value as Json;

const PARTITIONS: u32 = 8;
const KEY: &str = "deployed";

/// The counter example with a field the old code does not have, which each send bumps.
fn new_code() -> String {
    include_str!("../../examples/counter/counter.a").replace(
        "channel bump(Bump b) {\n  count += b.by;\n}",
        "public int after;\n\nchannel bump(Bump b) {\n  count += b.by;\n  after += 1;\n}",
    )
}

fn deploy(nodes: &Nodes, node: u64, file: &std::path::Path) -> std::process::Output {
    adama()
        .args(["deploy", "--space", "counter", "--node"])
        .arg(nodes.address(node).to_string())
        .arg(file)
        .output()
        .expect("adama deploy runs")
}

/// The hashes of the counter space's deployed code on every partition a node reports.
fn hashes(nodes: &Nodes, id: u64) -> Option<Vec<Option<String>>> {
    let status = nodes.status(id)?;
    Some(
        status["partitions"]
            .as_array()?
            .iter()
            .map(|view| view["code"]["counter"].as_str().map(str::to_owned))
            .collect(),
    )
}

#[test]
fn a_deploy_reaches_every_node_at_the_same_point_of_each_log() {
    let mut nodes = Nodes::new(3, PARTITIONS);
    let everyone = nodes.spawn_all_led();
    let partition = adama_node::cluster::partition_of(&format!("counter/{KEY}"), PARTITIONS);
    let leader = nodes.leader(partition, &everyone).expect("a leader");
    // The node that is down during the deploy follows the document's partition.
    let down = everyone
        .iter()
        .copied()
        .find(|id| *id != leader)
        .expect("a follower");
    let entry = everyone
        .iter()
        .copied()
        .find(|id| *id != leader && *id != down)
        .expect("a third node");
    let bad = nodes.root.path().join("bad.a");
    std::fs::write(
        &bad,
        "public int count;\nchannel bump(Bump b) { count += b.by; }\n",
    )
    .expect("written");
    let good = nodes.root.path().join("good.a");
    std::fs::write(&good, new_code()).expect("written");

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let acknowledged = runtime.block_on(async {
        let mut client = Client::connect(nodes.address(entry), KEY).await;
        client.create().await.expect("the document is created");
        let mut acknowledged = client.bumps(20, Duration::from_secs(60)).await;

        // Errors: reported with their place, and nothing changes anywhere.
        let refused = deploy(&nodes, entry, &bad);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("counter.a:2:"),
            "the errors name their line: {stderr}"
        );
        for &id in &everyone {
            let code = hashes(&nodes, id).expect("the node answers");
            assert!(code.iter().all(Option::is_none), "node {id} runs {code:?}");
        }

        nodes.kill(down);
        // The deploy runs while the sends go on.
        let address = nodes.address(entry);
        let good_file = good.clone();
        let started = std::time::Instant::now();
        let deploying = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_adama"))
                .args(["deploy", "--space", "counter", "--node"])
                .arg(address.to_string())
                .arg(good_file)
                .output()
                .expect("adama deploy runs")
        });
        while !deploying.is_finished() {
            if client.bump().await {
                acknowledged += 1;
            }
        }
        let deployed = deploying.await.expect("the deploy ends");
        eprintln!(
            "the deploy took {:?} with a node down; {acknowledged} sends acknowledged by its end",
            started.elapsed()
        );
        assert_eq!(
            deployed.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&deployed.stderr)
        );
        acknowledged += client.bumps(20, Duration::from_secs(60)).await;
        // The stream moved to the new code: its sends run the new handler.
        assert!(
            client.field("after").is_some_and(|after| after >= 20),
            "the viewer sees the new field: {:?}",
            client.view
        );
        acknowledged
    });

    let hash = {
        let text = new_code();
        adama_node::cluster::code::source_hash(&text)
    };
    let on_new_code = |nodes: &Nodes, id: u64| {
        hashes(nodes, id)
            .filter(|code| {
                code.len() == PARTITIONS as usize
                    && code.iter().all(|one| one.as_deref() == Some(hash.as_str()))
            })
            .map(|_| ())
    };
    for id in [leader, entry] {
        assert!(
            on_new_code(&nodes, id).is_some(),
            "node {id} runs {:?}",
            hashes(&nodes, id)
        );
    }
    // The node that was down catches up onto the new code.
    nodes.spawn(down);
    nodes.wait_for(
        "the restarted node runs the new code",
        Duration::from_secs(60),
        || on_new_code(&nodes, down),
    );
    let leader = nodes.leader(partition, &everyone).expect("a leader");
    nodes.wait_for(
        "every member holds the whole log",
        Duration::from_secs(60),
        || {
            let view = nodes.view(leader, partition)?;
            everyone
                .iter()
                .all(|id| view["lag"][id.to_string()] == 0)
                .then_some(())
        },
    );
    // Every member applied what the leader applied before they stop.
    nodes.wait_until_applied_alike(&everyone, partition);
    for &id in &everyone {
        nodes.stop(id);
    }
    let copies: Vec<(Vec<String>, Json)> = everyone
        .iter()
        .map(|id| nodes.stored(*id, "counter", KEY))
        .collect();
    for (id, copy) in everyone.iter().zip(&copies).skip(1) {
        if let Some(at) = (0..copy.0.len().max(copies[0].0.len()))
            .find(|at| copy.0.get(*at) != copies[0].0.get(*at))
        {
            panic!(
                "node {id}'s log ({} entries) differs from node 1's ({}) at entry {at}: {:?} against {:?}",
                copy.0.len(),
                copies[0].0.len(),
                copy.0.get(at),
                copies[0].0.get(at)
            );
        }
        assert_eq!(
            copy.1, copies[0].1,
            "node {id}'s document differs from node 1's"
        );
    }
    let whole = &copies[0].1;
    assert!(
        whole["count"].as_i64() >= Some(acknowledged as i64),
        "{acknowledged} sends were acknowledged: {whole}"
    );
    assert!(whole["after"].as_i64() >= Some(20), "{whole}");
    assert!(
        copies[0].0.iter().any(|line| line.contains("\"deploy\"")),
        "the log records the move to the new code"
    );
}

/// Whether a record of a bump ran the new handler (which bumps `after` as well).
fn bump_ran(record: &Json) -> Option<bool> {
    (record["command"]["channel"] == "bump").then(|| record["redo"].get("after").is_some())
}

#[test]
fn no_record_that_ran_on_the_old_code_follows_the_deploy_entry() {
    let mut nodes = Nodes::new(3, PARTITIONS);
    let everyone = nodes.spawn_all_led();
    let keys: Vec<String> = (0..6).map(|at| format!("streaming{at}")).collect();
    let good = nodes.root.path().join("good.a");
    std::fs::write(&good, new_code()).expect("written");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // How many senders had sends acknowledged on the old code.
    let ready = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    // The senders' connections stay open until the copies are compared: a connection that
    // closes appends a disconnect to its document's log, which would race the comparison.
    let _connections = runtime.block_on(async {
        // Each document gets a stream of sends, through a different node each, from before
        // the deploy to after it.
        let mut senders = Vec::new();
        for (at, key) in keys.iter().enumerate() {
            let address = nodes.address(everyone[at % 3]);
            let (key, stop, ready) = (
                key.clone(),
                std::sync::Arc::clone(&stop),
                std::sync::Arc::clone(&ready),
            );
            senders.push(tokio::spawn(async move {
                let mut client = Client::connect(address, &key).await;
                client
                    .create_retrying(Duration::from_secs(30))
                    .await
                    .expect("the document is created");
                let (mut before, mut after) = (0, 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) || after < 10 {
                    if client.bump().await {
                        if client.field("after").is_some() {
                            after += 1;
                        } else {
                            before += 1;
                            if before == 5 {
                                ready.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                    }
                }
                client
            }));
        }
        let waiting = std::time::Instant::now();
        while ready.load(std::sync::atomic::Ordering::Relaxed) < keys.len() {
            assert!(
                waiting.elapsed() < Duration::from_secs(60),
                "every document gets sends on the old code"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let address = nodes.address(1);
        let deployed = tokio::task::spawn_blocking(move || {
            adama()
                .args(["deploy", "--space", "counter", "--node"])
                .arg(address.to_string())
                .arg(good)
                .output()
                .expect("adama deploy runs")
        })
        .await
        .expect("the deploy ends");
        assert_eq!(
            deployed.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&deployed.stderr)
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut connections = Vec::new();
        for sender in senders {
            connections.push(
                tokio::time::timeout(Duration::from_secs(120), sender)
                    .await
                    .expect("the sends go on on the new code")
                    .expect("the sender ends"),
            );
        }
        connections
    });

    let partitions: std::collections::BTreeSet<u32> = keys
        .iter()
        .map(|key| adama_node::cluster::partition_of(&format!("counter/{key}"), PARTITIONS))
        .collect();
    for partition in partitions {
        nodes.wait_until_applied_alike(&everyone, partition);
        let (code, body) = nodes
            .http(
                1,
                "GET",
                &format!("/~cluster/log?partition={partition}"),
                "",
            )
            .expect("node 1 answers");
        assert_eq!(code, 200, "{body}");
        let log: Json = serde_json::from_str(&body).expect("JSON");
        let mut deployed_at = None;
        let (mut old, mut new) = (0, 0);
        for entry in log["entries"].as_array().expect("entries") {
            for write in entry["writes"].as_array().expect("writes") {
                match write["kind"].as_str() {
                    Some("deploy") => deployed_at = Some(entry["index"].clone()),
                    Some("append") => {
                        let record: Json = serde_json::from_str(
                            write["record"].as_str().expect("the record's text"),
                        )
                        .expect("a record");
                        let Some(ran_new) = bump_ran(&record) else {
                            continue;
                        };
                        assert_eq!(
                            ran_new,
                            deployed_at.is_some(),
                            "partition {partition}: entry {} of {} holds a record that ran on the {} code, {} the deploy entry ({deployed_at:?}): {record}",
                            entry["index"],
                            write["document"],
                            if ran_new { "new" } else { "old" },
                            if ran_new { "before" } else { "after" },
                        );
                        if ran_new {
                            new += 1;
                        } else {
                            old += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        assert!(
            deployed_at.is_some() && old > 0 && new > 0,
            "partition {partition}: a deploy at {deployed_at:?}, {old} bumps before, {new} after"
        );
        // Every member holds the same copy of each document.
        for key in &keys {
            let name = format!("counter/{key}");
            if adama_node::cluster::partition_of(&name, PARTITIONS) != partition {
                continue;
            }
            let copies: Vec<String> = everyone
                .iter()
                .map(|id| {
                    let (code, body) = nodes
                        .http(
                            *id,
                            "GET",
                            &format!("/~cluster/document?space=counter&key={key}"),
                            "",
                        )
                        .expect("the node answers");
                    assert_eq!(code, 200, "node {id}: {body}");
                    let copy: Json = serde_json::from_str(&body).expect("JSON");
                    copy["document"].to_string()
                })
                .collect();
            assert!(
                copies.windows(2).all(|pair| pair[0] == pair[1]),
                "the copies of {name} differ: {copies:#?}"
            );
        }
    }
}
