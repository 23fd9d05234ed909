//! Crash safety with real processes: `adama serve` is killed with SIGKILL while clients stream
//! sends, restarted on the same data, and every acknowledged send must be there, nothing
//! half-applied, and viewers must resume at or after the last acknowledged seq.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;

struct Node {
    child: Child,
    address: String,
}

fn start(data: &std::path::Path) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_adama"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("adama serve starts");
    let stdout = child.stdout.take().expect("its stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    let address = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("the node prints its address: {first}"))
        .to_owned();
    Node { child, address }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next(socket: &mut Socket) -> Option<Json> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame: Json = serde_json::from_str(text.as_str()).ok()?;
                if frame.get("ping").is_none() {
                    return Some(frame);
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => return None,
        }
    }
}

async fn open(address: &str, who: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/~s"))
        .await
        .expect("the socket opens");
    next(&mut socket).await.expect("the connected frame");
    for request in [
        json!({"method": "document/create", "id": 1, "identity": format!("anonymous:{who}"),
            "space": "chat", "key": "crash", "arg": {}}),
        json!({"method": "connection/create", "id": 2, "identity": format!("anonymous:{who}"),
            "space": "chat", "key": "crash", "viewer-state": {}}),
    ] {
        socket
            .send(Message::Text(request.to_string().into()))
            .await
            .expect("sent");
    }
    socket
}

/// Sends until the socket dies; the bodies and seqs the node acknowledged.
async fn stream_sends(
    address: String,
    who: String,
    counter: Arc<AtomicUsize>,
) -> Vec<(String, i64)> {
    let mut socket = open(&address, &who).await;
    let mut acknowledged = Vec::new();
    let mut bodies = std::collections::HashMap::new();
    for id in 10..100_000 {
        let body = format!("{who}-{id}");
        let send = json!({"method": "connection/send", "id": id, "connection": 2,
            "channel": "say", "message": {"body": body}});
        if socket
            .send(Message::Text(send.to_string().into()))
            .await
            .is_err()
        {
            break;
        }
        bodies.insert(id, body);
        // Read replies until this send's reply (keeps a few in flight from the node's view).
        loop {
            let Some(frame) = next(&mut socket).await else {
                return acknowledged;
            };
            if let (Some(reply), Some(seq)) =
                (frame["deliver"].as_i64(), frame["response"]["seq"].as_i64())
                && frame["done"] == true
                && let Some(body) = bodies.remove(&reply)
            {
                acknowledged.push((body, seq));
                counter.fetch_add(1, Ordering::Relaxed);
                if reply == id {
                    break;
                }
            }
        }
    }
    acknowledged
}

/// The chat as a fresh viewer sees it: (bodies, line count, seq).
async fn observe(address: &str) -> (Vec<String>, i64, i64) {
    let mut socket = open(address, "auditor").await;
    loop {
        let frame = next(&mut socket).await.expect("the first view");
        if frame["deliver"] == 2 && frame["done"] == false {
            let delta = &frame["response"]["delta"];
            let chat = delta["data"]["chat"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let bodies = chat
                .iter()
                .filter(|(key, _)| !key.starts_with('@'))
                .filter_map(|(_, line)| line["body"].as_str().map(str::to_owned))
                .collect();
            return (
                bodies,
                delta["data"]["lines"].as_i64().unwrap_or(-1),
                delta["seq"].as_i64().unwrap_or(-1),
            );
        }
    }
}

fn random_millis(low: u64, high: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(low);
    low + hasher.finish() % (high - low)
}

#[test]
fn acknowledged_sends_survive_sigkill() {
    let data = tempfile::tempdir().expect("a data directory");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut all_acknowledged: Vec<(String, i64)> = Vec::new();
    for round in 0..3 {
        let mut node = start(data.path());
        let address = node.address.clone();
        let acknowledged = runtime.block_on(async {
            let counter = Arc::new(AtomicUsize::new(0));
            let clients: Vec<_> = (0..4)
                .map(|client| {
                    let who = format!("r{round}c{client}");
                    tokio::spawn(stream_sends(address.clone(), who, Arc::clone(&counter)))
                })
                .collect();
            // The kill lands at a random moment once sends are flowing.
            while counter.load(Ordering::Relaxed) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(random_millis(20, 600))).await;
            node.child.kill().expect("SIGKILL");
            let _ = node.child.wait();
            let mut acknowledged = Vec::new();
            for client in clients {
                acknowledged.extend(client.await.expect("a client"));
            }
            acknowledged
        });
        assert!(
            !acknowledged.is_empty(),
            "round {round} acknowledged sends before the kill"
        );
        all_acknowledged.extend(acknowledged);
        let mut node = start(data.path());
        let (bodies, lines, seq) = runtime.block_on(observe(&node.address));
        let present: BTreeSet<&String> = bodies.iter().collect();
        for (body, _) in &all_acknowledged {
            assert!(
                present.contains(body),
                "round {round}: the acknowledged '{body}' survived"
            );
        }
        assert_eq!(
            lines,
            bodies.len() as i64,
            "round {round}: the count and the lines agree"
        );
        let last_acknowledged = all_acknowledged
            .iter()
            .map(|(_, seq)| *seq)
            .max()
            .unwrap_or(0);
        assert!(
            seq >= last_acknowledged,
            "round {round}: the view resumes at {seq} ≥ {last_acknowledged}"
        );
        node.child.kill().expect("stop");
        let _ = node.child.wait();
    }
    // The log reads back as JSON lines in order.
    let export = Command::new(env!("CARGO_BIN_EXE_adama"))
        .args([
            "log", "export", "--space", "chat", "--key", "crash", "--data",
        ])
        .arg(data.path())
        .output()
        .expect("adama log export runs");
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let lines: Vec<Json> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON lines"))
        .collect();
    assert!(lines.len() > all_acknowledged.len() / 2);
    assert!(
        lines
            .windows(2)
            .all(|pair| pair[0]["index"].as_u64() < pair[1]["index"].as_u64())
    );
    assert!(
        lines
            .iter()
            .any(|line| line["command"]["command"] == "send")
    );
}
