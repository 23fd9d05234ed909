//! Live read replicas with real processes on loopback: a primary `adama serve` and a replica
//! started with `--replica-of`. A viewer on the replica sees every change, made through the
//! primary or through the replica, in order; the copy's stored document equals the primary's;
//! the replica stops following when its last viewer leaves; a primary killed with SIGKILL gives
//! the replica's viewers a clean failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;

struct Node {
    child: Child,
    address: String,
    _data: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(extra: &[&str]) -> Node {
    let data = tempfile::tempdir().expect("a data directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_adama"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("REPLICA_TEST_LOGS").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
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
    Node {
        child,
        address,
        _data: data,
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next frame that is not a ping, within ten seconds.
async fn next(socket: &mut Socket) -> Option<Json> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame: Json = serde_json::from_str(text.as_str()).ok()?;
                if let Some(ping) = frame.get("ping") {
                    let pong = json!({"ping": ping, "pong": true}).to_string();
                    let _ = socket.send(Message::Text(pong.into())).await;
                    continue;
                }
                return Some(frame);
            }
            Ok(Some(Ok(_))) => {}
            _ => return None,
        }
    }
}

async fn open(address: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/~s"))
        .await
        .expect("the socket opens");
    let hello = next(&mut socket).await.expect("the connected frame");
    assert_eq!(hello["status"], "connected", "{hello}");
    socket
}

async fn request(socket: &mut Socket, request: Json) {
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .expect("sent");
}

/// Reads frames until one answers `id` (a reply or a failure); the frames read before it.
async fn answer(socket: &mut Socket, id: i64, seen: &mut Vec<Json>) -> Json {
    loop {
        let frame = next(socket).await.expect("an answer");
        if frame["deliver"] == id && frame["done"] == true || frame["failure"] == id {
            return frame;
        }
        seen.push(frame);
    }
}

fn http(address: &str, method: &str, path: &str, body: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("the node answers");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (_, body) = response.split_once("\r\n\r\n").expect("a body");
    body.to_owned()
}

fn get(address: &str, path: &str) -> Json {
    let body = http(address, "GET", path, "");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON from {path}: {body}"))
}

/// The primary's stored document, as a follower receives it first.
async fn primary_dump(address: &str, key: &str) -> Json {
    let url = format!("ws://{address}/~replica/follow?space=counter&key={key}");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the follow stream opens");
    let first = next(&mut socket).await.expect("a first frame");
    assert_eq!(first["kind"], "reset", "{first}");
    assert_eq!(first["reason"], "start", "{first}");
    let _ = socket.close(None).await;
    first
}

/// The `count` a viewer's frames show, in order (deltas of the replica's view).
fn counts(frames: &[Json], stream: i64) -> Vec<i64> {
    frames
        .iter()
        .filter(|frame| frame["deliver"] == stream)
        .filter_map(|frame| frame["response"]["delta"]["data"]["count"].as_i64())
        .collect()
}

/// Reads the viewer's frames until its count reaches `target`; the counts seen.
async fn watch_until(viewer: &mut Socket, stream: i64, target: i64, seen: &mut Vec<Json>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while counts(seen, stream).last().copied() != Some(target) {
        assert!(
            Instant::now() < deadline,
            "the viewer never saw {target}: {:?}",
            counts(seen, stream)
        );
        let frame = next(viewer).await.expect("a frame for the viewer");
        seen.push(frame);
    }
}

fn run(body: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(120), body)
                .await
                .expect("the test ends in time");
        });
}

#[test]
fn a_replica_serves_every_change_in_order_and_holds_the_same_document() {
    let primary = start(&[]);
    let replica = start(&["--replica-of", &primary.address]);
    run(async {
        let mut writer = open(&primary.address).await;
        request(
            &mut writer,
            json!({"method": "document/create", "id": 1, "identity": "anonymous:ann",
                "space": "counter", "key": "live", "arg": {}}),
        )
        .await;
        let created = answer(&mut writer, 1, &mut Vec::new()).await;
        assert_eq!(created["done"], true, "{created}");
        request(
            &mut writer,
            json!({"method": "connection/create", "id": 2, "identity": "anonymous:ann",
                "space": "counter", "key": "live", "viewer-state": {}}),
        )
        .await;

        let mut viewer = open(&replica.address).await;
        request(
            &mut viewer,
            json!({"method": "connection/create", "id": 7, "identity": "anonymous:bo",
                "space": "counter", "key": "live", "viewer-state": {}}),
        )
        .await;
        let mut seen = Vec::new();
        watch_until(&mut viewer, 7, 0, &mut seen).await;
        let status = get(&replica.address, "/~replica/status");
        assert_eq!(status["following"], json!(["counter/live"]), "{status}");

        // Changes made on the primary reach the replica's viewer, each in order.
        for id in 10..40 {
            request(
                &mut writer,
                json!({"method": "connection/send", "id": id, "connection": 2,
                    "channel": "bump", "message": {"by": 1}}),
            )
            .await;
            let acked = answer(&mut writer, id, &mut Vec::new()).await;
            assert!(acked["response"]["seq"].is_i64(), "{acked}");
        }
        watch_until(&mut viewer, 7, 30, &mut seen).await;
        let shown = counts(&seen, 7);
        assert!(
            shown.windows(2).all(|pair| pair[0] < pair[1]),
            "counts go up one change at a time: {shown:?}"
        );

        // A send through the replica goes to the primary and is acknowledged from there.
        request(
            &mut viewer,
            json!({"method": "connection/send", "id": 8, "connection": 7, "channel": "bump",
                "message": {"by": 100}}),
        )
        .await;
        let acked = answer(&mut viewer, 8, &mut seen).await;
        assert!(acked["response"]["seq"].is_i64(), "{acked}");
        watch_until(&mut viewer, 7, 130, &mut seen).await;

        // The copy is the primary's document, byte for byte.
        let copy = get(&replica.address, "/~replica/status?space=counter&key=live");
        let original = primary_dump(&primary.address, "live").await;
        assert_eq!(copy["seq"], original["seq"]);
        assert_eq!(copy["dump"].to_string(), original["dump"].to_string());

        // The last viewer leaves: the replica stops following, and the primary loses a follower.
        request(
            &mut viewer,
            json!({"method": "connection/end", "id": 9, "connection": 7}),
        )
        .await;
        let ended = answer(&mut viewer, 9, &mut seen).await;
        assert_eq!(ended["done"], true, "{ended}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let replica_status = get(&replica.address, "/~replica/status");
            let primary_status = get(&primary.address, "/~replica/status");
            if replica_status["following"] == json!([]) && primary_status["followers"] == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "still following: {replica_status} {primary_status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

#[test]
fn a_killed_primary_fails_the_replicas_viewers_cleanly() {
    let mut primary = start(&[]);
    let replica = start(&["--replica-of", &primary.address]);
    run(async {
        let mut viewer = open(&replica.address).await;
        // A create on the replica is the primary's.
        request(
            &mut viewer,
            json!({"method": "document/create", "id": 1, "identity": "anonymous:cy",
                "space": "counter", "key": "doomed", "arg": {}}),
        )
        .await;
        let created = answer(&mut viewer, 1, &mut Vec::new()).await;
        assert_eq!(created["done"], true, "{created}");
        request(
            &mut viewer,
            json!({"method": "connection/create", "id": 3, "identity": "anonymous:cy",
                "space": "counter", "key": "doomed", "viewer-state": {}}),
        )
        .await;
        let mut seen = Vec::new();
        watch_until(&mut viewer, 3, 0, &mut seen).await;
        primary.child.kill().expect("the primary is killed");
        let _ = primary.child.wait();
        let killed = Instant::now();
        let failed = loop {
            let frame = next(&mut viewer)
                .await
                .expect("the viewer hears about the loss, not silence");
            if frame["failure"] == 3 {
                break frame;
            }
        };
        assert!(killed.elapsed() < Duration::from_secs(10), "{failed}");
        assert_eq!(failed["retry"], true, "{failed}");
        // A send now fails rather than hangs.
        request(
            &mut viewer,
            json!({"method": "connection/send", "id": 4, "connection": 3, "channel": "bump",
                "message": {"by": 1}}),
        )
        .await;
        let answered = answer(&mut viewer, 4, &mut Vec::new()).await;
        assert_eq!(answered["failure"], 4, "{answered}");
    });
}

#[test]
fn new_code_on_the_primary_reaches_the_replicas_viewers() {
    let primary = start(&[]);
    let replica = start(&["--replica-of", &primary.address]);
    run(async {
        let mut viewer = open(&replica.address).await;
        request(
            &mut viewer,
            json!({"method": "document/create", "id": 1, "identity": "anonymous:di",
                "space": "counter", "key": "moving", "arg": {}}),
        )
        .await;
        answer(&mut viewer, 1, &mut Vec::new()).await;
        request(
            &mut viewer,
            json!({"method": "connection/create", "id": 2, "identity": "anonymous:di",
                "space": "counter", "key": "moving", "viewer-state": {}}),
        )
        .await;
        let mut seen = Vec::new();
        watch_until(&mut viewer, 2, 0, &mut seen).await;
        let source = include_str!("../../examples/counter/counter.a").replace(
            "public formula doubled",
            "public formula tripled = count * 3;\npublic formula doubled",
        );
        let deployed = http(&primary.address, "PUT", "/~adama/deploy/counter", &source);
        assert_eq!(deployed, "deployed");
        request(
            &mut viewer,
            json!({"method": "connection/send", "id": 3, "connection": 2, "channel": "bump",
                "message": {"by": 2}}),
        )
        .await;
        answer(&mut viewer, 3, &mut seen).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let tripled: Vec<i64> = seen
                .iter()
                .filter(|frame| frame["deliver"] == 2)
                .filter_map(|frame| frame["response"]["delta"]["data"]["tripled"].as_i64())
                .collect();
            if tripled.last() == Some(&6) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no new code on the replica: {seen:?}"
            );
            seen.push(next(&mut viewer).await.expect("a frame"));
        }
        let copy = get(
            &replica.address,
            "/~replica/status?space=counter&key=moving",
        );
        let original = primary_dump(&primary.address, "moving").await;
        assert_eq!(copy["dump"].to_string(), original["dump"].to_string());
        assert_eq!(original["source"].as_str(), Some(source.as_str()));
    });
}

#[test]
fn what_the_primary_s_code_sends_a_viewer_reaches_it_on_the_replica() {
    let primary = start(&[]);
    let replica = start(&["--replica-of", &primary.address]);
    run(async {
        let source = format!(
            "{}\nmessage LeaveNow {{}}\nchannel leave(LeaveNow l) {{ ViewState.goto(\"/bye\"); Document.disconnect(@who); }}\n",
            include_str!("../../examples/counter/counter.a")
        );
        let deployed = http(&primary.address, "PUT", "/~adama/deploy/counter", &source);
        assert_eq!(deployed, "deployed");
        let mut viewer = open(&replica.address).await;
        request(
            &mut viewer,
            json!({"method": "document/create", "id": 1, "identity": "anonymous:eve",
                "space": "counter", "key": "kicked", "arg": {}}),
        )
        .await;
        answer(&mut viewer, 1, &mut Vec::new()).await;
        request(
            &mut viewer,
            json!({"method": "connection/create", "id": 2, "identity": "anonymous:eve",
                "space": "counter", "key": "kicked", "viewer-state": {}}),
        )
        .await;
        let mut seen = Vec::new();
        watch_until(&mut viewer, 2, 0, &mut seen).await;
        request(
            &mut viewer,
            json!({"method": "connection/send", "id": 3, "connection": 2, "channel": "leave",
                "message": {}}),
        )
        .await;
        // The stream's failure comes last; the items the code sent come before it, in order.
        let mut frames = Vec::new();
        while frames
            .last()
            .is_none_or(|frame: &Json| frame["failure"] != 2)
        {
            frames.push(next(&mut viewer).await.expect("a frame"));
        }
        let position = |wanted: Json| {
            frames
                .iter()
                .position(|frame| frame["deliver"] == 2 && frame["response"]["delta"] == wanted)
        };
        let goto = position(json!({"goto": "/bye"}));
        let kicked = position(json!({"force-disconnect": true}));
        assert!(goto.is_some() && goto < kicked, "{frames:?}");
        assert_eq!(frames.last().expect("the failure")["reason"], 403_500);
    });
}
