//! What the node reads from a program's `@static` block: who may create and invent documents,
//! and how much history a compaction keeps.

mod support;

use serde_json::json;
use support::{Client, config, run, space};

const GUARDED: &str = r#"
@static {
  create { return @who.agent() == "ann"; }
  invent { return @who.agent() != "eve"; }
  maximum_history = 4;
}
@connected { return true; }
public int count;
message Go { int n; }
channel bump(Go g) { count += g.n; }
"#;

const CREATION_REJECTED: i64 = 134_259;
const LOOKUP_FAILED: i64 = 625_676;

#[test]
fn static_policies_decide_who_creates_and_invents() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("guarded", GUARDED)]))
            .await
            .expect("the node starts");
        let mut client = Client::connect(node.address).await;
        let create = |id: i64, identity: &str, key: &str| {
            json!({"method": "document/create", "id": id, "identity": identity,
                "space": "guarded", "key": key, "arg": {}})
        };
        client.request(create(1, "anonymous:bob", "made")).await;
        assert_eq!(client.reply(1).await["reason"], json!(CREATION_REJECTED));
        client.request(create(2, "anonymous:ann", "made")).await;
        let reply = client.reply(2).await;
        assert!(reply.get("failure").is_none(), "ann may create: {reply}");

        let open = |id: i64, identity: &str| {
            json!({"method": "connection/create", "id": id, "identity": identity,
                "space": "guarded", "key": "invented", "viewer-state": {}})
        };
        client.request(open(3, "anonymous:eve")).await;
        assert_eq!(client.reply(3).await["reason"], json!(LOOKUP_FAILED));
        client.request(open(4, "anonymous:bob")).await;
        assert_eq!(
            client.reply(4).await["reason"],
            json!(CREATION_REJECTED),
            "bob may invent but not create"
        );
        let first = client.open(5, "anonymous:ann", "guarded", "invented").await;
        assert_eq!(first["response"]["delta"]["data"]["count"], json!(0));
    });
}

#[test]
fn compaction_keeps_the_maximum_history_the_program_sets() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("guarded", GUARDED)]))
            .await
            .expect("the node starts");
        let mut client = Client::connect(node.address).await;
        client.open(2, "anonymous:ann", "guarded", "busy").await;
        for id in 10..40 {
            client
                .request(
                    json!({"method": "connection/send", "id": id, "connection": 2,
                    "channel": "bump", "message": {"n": 1}}),
                )
                .await;
            let reply = client.reply(id).await;
            assert!(reply.get("failure").is_none(), "{reply}");
        }
        node.task.abort();
    });
    let lines = adama_node::export::log_lines(data.path(), "guarded", "busy")
        .expect("the log reads once the node is gone");
    assert!(
        (4..=6).contains(&lines.len()),
        "a compaction keeps 4 entries and runs past 6, yet {} remain",
        lines.len()
    );
}
