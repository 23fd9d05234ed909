//! Live code upgrades: a changed source moves loaded documents to the new code; connected
//! viewers get their delta without reconnecting; a source with errors leaves the running code.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{CHAT, Client, config, run};

#[test]
fn a_changed_source_upgrades_live_documents_and_a_broken_one_is_reported() {
    let data = tempfile::tempdir().expect("a data directory");
    let source = data.path().join("chat.a");
    std::fs::write(&source, CHAT).expect("the source is written");
    run(async {
        let spaces = vec![adama_node::SpaceSource {
            name: "chat".into(),
            file: "chat.a".into(),
            text: CHAT.into(),
            watch: Some(source.clone()),
            budget: Default::default(),
        }];
        let node = adama_node::start(config(&data.path().join("store"), spaces))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.create_document(1, "chat", "live").await;
        ann.open(2, "anonymous:ann", "chat", "live").await;
        ann.say(3, 2, "before").await;

        std::fs::write(&source, format!("{CHAT}\npublic int edition = 2;\n")).expect("v2");
        let delta = ann
            .until(|frame| {
                frame["deliver"] == 2 && frame["response"]["delta"]["data"]["edition"] == 2
            })
            .await;
        assert_eq!(delta["done"], false, "the same stream, no reconnect");
        let reply = ann.say(4, 2, "after").await;
        assert!(reply["response"]["seq"].is_i64(), "{reply}");
        let delta = ann
            .until(|frame| {
                frame["deliver"] == 2 && frame["response"]["delta"]["data"]["lines"] == 2
            })
            .await;
        assert_eq!(
            delta["response"]["delta"]["data"]["chat"]["2"]["body"],
            "after"
        );

        // Errors: reported, and the running code stays.
        std::fs::write(&source, format!("{CHAT}\npublic int broken = ;\n")).expect("v3");
        let mut reported = String::new();
        for _ in 0..100 {
            reported = node.node.diagnostics("chat").unwrap_or_default();
            if !reported.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            reported.contains("chat.a:"),
            "the errors name the file: {reported}"
        );
        let reply = ann.say(5, 2, "still running").await;
        assert!(reply["response"]["seq"].is_i64(), "{reply}");

        // A deploy through the node's API does the same as a changed file. Stored fields keep
        // their values (the initializer of `edition` does not run again); new ones start.
        let v4 = format!("{CHAT}\npublic int edition = 3;\npublic int revision = 4;\n");
        adama_node::upgrade::deploy_text(&node.node, "chat", v4)
            .await
            .expect("the deploy compiles");
        let delta = ann
            .until(|frame| {
                frame["deliver"] == 2 && frame["response"]["delta"]["data"]["revision"] == 4
            })
            .await;
        // Only the difference travels: `edition` kept its stored value, so it is not sent.
        assert!(
            delta["response"]["delta"]["data"].get("edition").is_none(),
            "{delta}"
        );
        assert_eq!(node.node.diagnostics("chat"), None);
        ann.request(json!({"method": "connection/end", "id": 6, "connection": 2}))
            .await;
        assert!(ann.reply(6).await.get("deliver").is_some());
        node.task.abort();
    });
}

const NOTES_V1: &str = r#"
@static { create { return true; } }
@connected { return true; }
record Note { public int id; public string text; public string mood; }
table<Note> _notes;
public int kept = 7;
public string dropped = "soon gone";
public formula notes = iterate _notes order by id asc;
message Add { string text; }
channel add(Add m) { _notes <- {text: m.text, mood: "calm"}; }
"#;

/// The same document without `dropped` and the notes' `mood`, with `added` and `stars`.
const NOTES_V2: &str = r#"
@static { create { return true; } }
@connected { return true; }
record Note { public int id; public string text; public int stars = 5; }
table<Note> _notes;
public int kept = 7;
public bool added = true;
public formula notes = iterate _notes order by id asc;
message Add { string text; }
channel add(Add m) { _notes <- {text: m.text}; }
"#;

#[test]
fn a_viewer_receives_only_what_the_new_code_changes_with_removed_fields_as_null() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(
            &data.path().join("store"),
            vec![support::space("notes", NOTES_V1)],
        ))
        .await
        .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.create_document(1, "notes", "n1").await;
        let first = ann.open(2, "anonymous:ann", "notes", "n1").await;
        assert_eq!(first["response"]["delta"]["data"]["dropped"], "soon gone");
        ann.request(
            json!({"method": "connection/send", "id": 3, "connection": 2,
            "channel": "add", "message": {"text": "hello"}}),
        )
        .await;
        ann.reply(3).await;
        let row = ann
            .until(|frame| {
                frame["deliver"] == 2 && frame["response"]["delta"]["data"]["notes"].is_object()
            })
            .await;
        assert_eq!(
            row["response"]["delta"]["data"]["notes"]["1"]["mood"],
            "calm"
        );

        adama_node::upgrade::deploy_text(&node.node, "notes", NOTES_V2.into())
            .await
            .expect("the deploy compiles");
        let delta = ann
            .until(|frame| {
                frame["deliver"] == 2 && frame["response"]["delta"]["data"]["added"] == true
            })
            .await;
        let data = &delta["response"]["delta"]["data"];
        assert_eq!(
            data,
            &json!({"dropped": null, "added": true,
                "notes": {"1": {"mood": null, "stars": 5}}}),
            "only the difference, removed fields as null: {delta}"
        );
        assert!(delta["response"]["delta"]["seq"].is_i64(), "{delta}");

        // The stream goes on under the new code, from the new view.
        ann.request(
            json!({"method": "connection/send", "id": 4, "connection": 2,
            "channel": "add", "message": {"text": "again"}}),
        )
        .await;
        assert!(ann.reply(4).await["response"]["seq"].is_i64());
        let row = ann
            .until(|frame| {
                frame["deliver"] == 2
                    && frame["response"]["delta"]["data"]["notes"]["2"].is_object()
            })
            .await;
        assert_eq!(
            row["response"]["delta"]["data"]["notes"]["2"],
            json!({"id": 2, "text": "again", "stars": 5})
        );
        node.task.abort();
    });
}
