//! `@connected` decides who may connect; `@disconnected` runs when a principal's last stream
//! of the document closes, by `connection/end` or by its socket closing.

mod support;

use serde_json::json;
use support::{Client, config, run, space};

const DOOR: &str = r#"
@static {
  create { return true; }
}
public int joined;
public int left;
@connected {
  if (@who.agent() == "mallory") {
    return false;
  }
  joined++;
  return true;
}
@disconnected {
  left++;
}
"#;

async fn counts(address: std::net::SocketAddr) -> (i64, i64) {
    let mut viewer = Client::connect(address).await;
    let first = viewer.open(1, "anonymous:auditor", "door", "d").await;
    let data = &first["response"]["delta"]["data"];
    let counts = (
        data["joined"].as_i64().expect("joined"),
        data["left"].as_i64().unwrap_or(0),
    );
    viewer
        .request(json!({"method": "connection/end", "id": 2, "connection": 1}))
        .await;
    viewer.reply(2).await;
    counts
}

#[test]
fn the_last_stream_of_a_principal_disconnects_it_and_connected_can_refuse() {
    let data = tempfile::tempdir().expect("a data directory");
    run(async {
        let node = adama_node::start(config(data.path(), vec![space("door", DOOR)]))
            .await
            .expect("the node starts");
        let mut ann = Client::connect(node.address).await;
        ann.create_document(1, "door", "d").await;
        ann.open(2, "anonymous:ann", "door", "d").await;
        ann.open(3, "anonymous:ann", "door", "d").await;
        // Each audit connects (and then leaves): ann joined once for her two streams.
        assert_eq!(counts(node.address).await, (2, 0));
        ann.request(json!({"method": "connection/end", "id": 4, "connection": 2}))
            .await;
        ann.reply(4).await;
        let (joined, left) = counts(node.address).await;
        assert_eq!(
            (joined, left),
            (3, 1),
            "ann still has a stream: only the first audit left"
        );
        drop(ann);
        // Closing the socket ends ann's last stream.
        let mut settled = (0, 0);
        for _ in 0..50 {
            settled = counts(node.address).await;
            if settled.0 - settled.1 == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            settled.0 - settled.1,
            1,
            "only the auditor itself is connected: {settled:?}"
        );

        let mut mallory = Client::connect(node.address).await;
        mallory
            .request(
                json!({"method": "connection/create", "id": 1, "identity": "anonymous:mallory",
                "space": "door", "key": "d"}),
            )
            .await;
        assert_eq!(mallory.reply(1).await["reason"], 184_333);
        node.task.abort();
    });
}
