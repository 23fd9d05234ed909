//! A hostile program meets its space's memory budget: the transaction rolls back with its code
//! and the node, the document and every other document keep running.

mod support;

use adama_node::MemoryBudget;
use serde_json::{Value as Json, json};
use support::{Client, config, run, space};

/// The runtime's code for a transaction over its memory budget.
const MEMORY_EXHAUSTED: i64 = 180_980;

const HOSTILE: &str = r#"
@static {
  create { return true; }
  invent { return true; }
}
@connected { return true; }
record Row { public int x; }
table<Row> _rows;
public int rows;
public string text = "x";
public int count;
message Go { int n; }
channel twice(Go g) {
  string s = "0123456789abcdef";
  for (int i = 0; i < 36; i++) { s = s + s; }
  text = s;
}
channel grow(Go g) {
  for (int i = 0; i < g.n; i++) { _rows <- {x: i}; }
  rows = _rows.size();
}
channel bump(Go g) { count += g.n; }
"#;

async fn send(client: &mut Client, id: i64, connection: i64, channel: &str, n: i64) -> Json {
    client
        .request(
            json!({"method": "connection/send", "id": id, "connection": connection,
            "channel": channel, "message": {"n": n}}),
        )
        .await;
    client.reply(id).await
}

/// The document as a fresh viewer sees it.
async fn view(address: std::net::SocketAddr, key: &str) -> Json {
    let mut viewer = Client::connect(address).await;
    let first = viewer.open(1, "anonymous:viewer", "hostile", key).await;
    first["response"]["delta"]["data"].clone()
}

#[test]
fn a_doubling_string_and_a_row_flood_are_refused_and_everything_keeps_running() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let mut source = space("hostile", HOSTILE);
        source.budget = MemoryBudget {
            transaction_bytes: 32 << 20,
            document_bytes: 256 << 20,
        };
        let node = adama_node::start(config(data.path(), vec![source]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.open(2, "anonymous:ann", "hostile", "one").await;
        let mut bob = Client::connect(node.address).await;
        bob.open(2, "anonymous:bob", "hostile", "two").await;

        let reply = send(&mut ann, 10, 2, "twice", 0).await;
        assert_eq!(reply["reason"], json!(MEMORY_EXHAUSTED), "{reply}");
        let reply = send(&mut ann, 11, 2, "grow", 3_000_000).await;
        assert_eq!(reply["reason"], json!(MEMORY_EXHAUSTED), "{reply}");

        // The same socket, the same document and another document carry on.
        let reply = send(&mut ann, 12, 2, "bump", 2).await;
        assert!(reply.get("failure").is_none(), "{reply}");
        let reply = send(&mut bob, 13, 2, "bump", 5).await;
        assert!(reply.get("failure").is_none(), "{reply}");
        let one = view(node.address, "one").await;
        assert_eq!(one["count"], json!(2));
        assert_eq!(one["text"], json!("x"), "the refused doubling left nothing");
        assert_eq!(one["rows"], json!(0), "the refused flood left no row");
        assert_eq!(view(node.address, "two").await["count"], json!(5));
    });
}

#[test]
fn a_document_stops_growing_at_its_budget() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let mut source = space("hostile", HOSTILE);
        source.budget = MemoryBudget {
            transaction_bytes: 32 << 20,
            document_bytes: 4 << 20,
        };
        let node = adama_node::start(config(data.path(), vec![source]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.open(2, "anonymous:ann", "hostile", "one").await;
        let mut accepted = 0;
        let mut refusal = Json::Null;
        for id in 10..40 {
            let reply = send(&mut ann, id, 2, "grow", 1_000).await;
            if reply.get("failure").is_some() {
                refusal = reply;
                break;
            }
            accepted += 1;
        }
        assert_eq!(refusal["reason"], json!(MEMORY_EXHAUSTED), "{refusal}");
        assert!(
            accepted >= 5,
            "the budget allows some thousands of rows, not {accepted}"
        );
        let reply = send(&mut ann, 50, 2, "bump", 1).await;
        assert!(reply.get("failure").is_none(), "{reply}");
        let seen = view(node.address, "one").await;
        assert_eq!(seen["rows"], json!(accepted * 1_000));
        assert_eq!(seen["count"], json!(1));
    });
}

/// A document whose size lies in strings inside a map and inside rows.
const PAGES: &str = r#"
@static { create { return true; } invent { return true; } }
@connected { return true; }
record Note { public int id; public string text; }
table<Note> _notes;
map<int, string> pages;
public int stored;
message Put { int n; string text; }
channel page(Put p) { pages[p.n] = p.text; stored = pages.size() + _notes.size(); }
channel note(Put p) { _notes <- {text: p.text}; stored = pages.size() + _notes.size(); }
"#;

#[test]
fn a_document_whose_size_lies_in_nested_strings_is_held_to_its_space_budget() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let mut source = space("pages", PAGES);
        source.budget = MemoryBudget {
            transaction_bytes: 32 << 20,
            document_bytes: 1 << 20,
        };
        let node = adama_node::start(config(data.path(), vec![source]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.open(1, "anonymous:ann", "pages", "book").await;
        let text = "x".repeat(300_000);
        let put = |id: i64, channel: &str, n: i64| {
            json!({"method": "connection/send", "id": id, "connection": 1,
                "channel": channel, "message": {"n": n, "text": text}})
        };
        for (id, channel, n) in [(2, "page", 1), (3, "note", 0), (4, "page", 2)] {
            ann.request(put(id, channel, n)).await;
            let reply = ann.reply(id).await;
            assert!(reply.get("failure").is_none(), "{reply}");
        }
        // A fourth 300 kB string, in the map or in a row, crosses 1 MiB.
        for (id, channel, n) in [(5, "page", 3), (6, "note", 0)] {
            ann.request(put(id, channel, n)).await;
            let reply = ann.reply(id).await;
            assert_eq!(reply["reason"], json!(MEMORY_EXHAUSTED), "{reply}");
        }
        // Replacing a page with a short one makes room; the socket and document carry on.
        ann.request(
            json!({"method": "connection/send", "id": 7, "connection": 1,
            "channel": "page", "message": {"n": 1, "text": "short"}}),
        )
        .await;
        assert!(ann.reply(7).await.get("failure").is_none());
        ann.request(put(8, "page", 3)).await;
        assert!(ann.reply(8).await.get("failure").is_none());
        let mut viewer = Client::connect(node.address).await;
        let seen = viewer.open(1, "anonymous:viewer", "pages", "book").await;
        assert_eq!(seen["response"]["delta"]["data"]["stored"], 4, "{seen}");
        node.task.abort();
    });
}
