//! Idle documents leave memory and come back: on the next request, or from the wake-up table
//! when a timer of theirs is due, also across a restart.

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use support::{Client, config, run, space};

const TICKER: &str = r#"
@static {
  create { return true; }
}
@connected {
  return true;
}
public int ticks;
@construct {
  transition #tick in 1;
}
#tick {
  ticks++;
  transition #tick in 1;
}
"#;

fn ticker_config(data: &std::path::Path) -> adama_node::Config {
    let mut settings = config(data, vec![space("ticker", TICKER)]);
    settings.idle_unload = Duration::from_millis(150);
    settings
}

async fn loaded(node: &adama_node::Running) -> i64 {
    node.node.metrics.documents_loaded.load(Ordering::Relaxed)
}

/// Waits (up to 5 s) until `check` holds.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen in time");
}

async fn ticks(address: std::net::SocketAddr) -> i64 {
    let mut viewer = Client::connect(address).await;
    let first = viewer.open(1, "anonymous:viewer", "ticker", "t").await;
    first["response"]["delta"]["data"]["ticks"]
        .as_i64()
        .expect("ticks")
}

#[test]
fn an_idle_document_unloads_and_its_timer_wakes_it_even_after_a_restart() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(ticker_config(data.path()))
            .await
            .expect("the node starts");
        let mut client = Client::connect(node.address).await;
        client.create_document(1, "ticker", "t").await;
        drop(client);
        eventually("the idle document unloads", async || {
            loaded(&node).await == 0
        })
        .await;
        // Its timer is due a second after construction: the wake-up table loads it again.
        eventually("the timer wakes the document", async || {
            loaded(&node).await == 1
        })
        .await;
        eventually("it unloads again", async || loaded(&node).await == 0).await;
        assert!(
            ticks(node.address).await >= 1,
            "the tick ran while nobody watched"
        );
        node.task.abort();
    });
    // A new node on the same data finds the wake-up in the store and keeps the timer going.
    run(async {
        let node = adama_node::start(ticker_config(data.path()))
            .await
            .expect("the node restarts");
        eventually(
            "the restarted node wakes the document by itself",
            async || loaded(&node).await == 1,
        )
        .await;
        eventually("it unloads after its tick", async || {
            loaded(&node).await == 0
        })
        .await;
        assert!(ticks(node.address).await >= 2);
        node.task.abort();
    });
}

#[test]
fn a_timer_of_a_document_loaded_when_the_node_stopped_wakes_it_after_a_restart() {
    let data = tempfile::tempdir().expect("a data directory");
    let long_idle = |data: &std::path::Path| {
        let mut settings = ticker_config(data);
        settings.idle_unload = Duration::from_secs(600);
        settings
    };
    run(async {
        let node = adama_node::start(long_idle(data.path()))
            .await
            .expect("the node starts");
        let mut client = Client::connect(node.address).await;
        client.create_document(1, "ticker", "t").await;
        drop(client);
        // The node stops with the document loaded and its timer pending: it never unloads.
        assert_eq!(loaded(&node).await, 1);
        node.task.abort();
    });
    run(async {
        let node = adama_node::start(long_idle(data.path()))
            .await
            .expect("the node restarts");
        eventually(
            "the restarted node wakes the document for its timer",
            async || loaded(&node).await == 1,
        )
        .await;
        assert!(
            ticks(node.address).await >= 1,
            "the tick ran after the restart"
        );
        node.task.abort();
    });
}

const DELETABLE: &str = r#"
@static {
  create { return true; }
}
@connected {
  return true;
}
@delete {
  return true;
}
public int made;
@construct {
  made = 1;
}
"#;

#[test]
fn a_document_deleted_and_created_again_at_once_is_both() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("box", DELETABLE)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        // Deletes and creates sent without waiting: the document's rounds take several of
        // them at once. Each is done, or refused for what it asks (deleting what is not there,
        // creating what is); none fails the round it shares.
        let mut id = 1;
        for _ in 0..10 {
            for method in ["document/create", "document/delete"] {
                ann.request(
                    json!({"method": method, "id": id, "identity": "anonymous:ann",
                    "space": "box", "key": "b", "arg": {}}),
                )
                .await;
                id += 1;
            }
        }
        for asked in 1..id {
            let answer = ann.reply(asked).await;
            assert_ne!(
                answer["reason"], 144_416,
                "request {asked} failed with the round: {answer}"
            );
        }
        node.task.abort();
    });
}
