//! Three `adama serve --cluster` processes on loopback: a stream of sends to a document through
//! a node that does not lead its partition (so every request is proxied), the partition's
//! leader killed with SIGKILL in the middle, a new leader serving within seconds, every
//! acknowledged send present, the killed node restarted and caught up; then a node stopped with
//! SIGSTOP while the majority goes on.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;

const PARTITIONS: u32 = 8;
const DOCUMENT: &str = "counter/failover";

struct Cluster {
    file: std::path::PathBuf,
    addresses: Vec<SocketAddr>,
    children: Vec<Option<Child>>,
    root: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let root = tempfile::tempdir().expect("a directory");
        let addresses: Vec<SocketAddr> = (0..3)
            .map(|_| {
                let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
                listener.local_addr().expect("an address")
            })
            .collect();
        let mut text = format!("partitions = {PARTITIONS}\n");
        for (index, address) in addresses.iter().enumerate() {
            text.push_str(&format!(
                "[[node]]\nid = {}\naddress = \"{address}\"\n",
                index + 1
            ));
        }
        let file = root.path().join("cluster.toml");
        std::fs::write(&file, text).expect("written");
        let mut cluster = Cluster {
            file,
            addresses,
            children: vec![None, None, None],
            root,
        };
        for id in 1..=3 {
            cluster.spawn(id);
        }
        cluster
    }

    fn spawn(&mut self, id: u64) {
        let data = self.root.path().join(format!("data{id}"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.path().join(format!("node{id}.log")))
            .expect("a log file");
        let child = Command::new(env!("CARGO_BIN_EXE_adama"))
            .args(["serve", "--node-id", &id.to_string(), "--cluster"])
            .arg(&self.file)
            .arg("--data")
            .arg(&data)
            .env("RUST_LOG", "warn,adama_node=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the node starts");
        self.children[(id - 1) as usize] = Some(child);
    }

    fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.children[(id - 1) as usize].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, id: u64, signal: &str) {
        let child = self.children[(id - 1) as usize]
            .as_ref()
            .expect("a running node");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    fn address(&self, id: u64) -> SocketAddr {
        self.addresses[(id - 1) as usize]
    }

    /// A node's status, if it answers.
    fn status(&self, id: u64) -> Option<Json> {
        let mut stream =
            TcpStream::connect_timeout(&self.address(id), Duration::from_millis(500)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(
            stream,
            "GET /~cluster/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (_, body) = response.split_once("\r\n\r\n")?;
        serde_json::from_str(body).ok()
    }

    fn view(&self, id: u64, partition: u32) -> Option<Json> {
        let status = self.status(id)?;
        status["partitions"]
            .as_array()?
            .iter()
            .find(|view| view["partition"] == partition)
            .cloned()
    }

    /// The leader of a partition, as a node that leads it says.
    fn leader(&self, partition: u32, among: &[u64]) -> Option<u64> {
        among.iter().copied().find(|id| {
            self.view(*id, partition)
                .is_some_and(|view| view["state"] == "leader")
        })
    }

    fn wait_for<T>(&self, what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(found) = probe() {
                return found;
            }
            if start.elapsed() > limit {
                self.dump_logs();
                panic!("{what}: not within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn dump_logs(&self) {
        for id in 1..=3 {
            let log = std::fs::read_to_string(self.root.path().join(format!("node{id}.log")))
                .unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!("--- node {id} ---");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for id in 1..=3 {
            if self.children[(id - 1) as usize].is_some() {
                let _ = self.signal_quiet(id, "CONT");
            }
            self.kill(id);
        }
    }
}

impl Cluster {
    fn signal_quiet(&self, id: u64, signal: &str) -> Option<()> {
        let child = self.children[(id - 1) as usize].as_ref()?;
        Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .ok()?;
        Some(())
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A client on one node's socket, with one stream open on the document.
struct Client {
    socket: Socket,
    next: i64,
    stream: Option<i64>,
    /// The document's `count` as the stream last showed it.
    count: Option<i64>,
}

impl Client {
    async fn connect(address: SocketAddr) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/~s"))
            .await
            .expect("the socket opens");
        Client {
            socket,
            next: 1,
            stream: None,
            count: None,
        }
    }

    /// Sends a request and reads until its answer (`Ok(response)` or `Err(code)`), or gives up.
    async fn call(&mut self, mut frame: Json, limit: Duration) -> Result<Json, String> {
        let id = self.next;
        self.next += 1;
        frame["id"] = json!(id);
        self.socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .map_err(|error| error.to_string())?;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .map_err(|_| format!("no answer to request {id}"))?;
            let Some(Ok(Message::Text(text))) = next else {
                return Err("the socket closed".into());
            };
            let frame: Json = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
            if let Some(count) = frame["response"]["delta"]["data"]["count"].as_i64() {
                self.count = Some(count);
            }
            if frame["failure"]
                .as_i64()
                .is_some_and(|failed| Some(failed) == self.stream)
            {
                self.stream = None;
            }
            if frame["failure"] == id {
                return Err(format!("failed with {}", frame["reason"]));
            }
            if frame["deliver"] == id
                && (frame["done"] == true || frame["response"].get("delta").is_some())
            {
                return Ok(frame["response"].clone());
            }
        }
    }

    async fn open(&mut self) -> Result<(), String> {
        let id = self.next;
        let key = DOCUMENT
            .split_once('/')
            .map(|(_, key)| key)
            .unwrap_or_default();
        self.call(
            json!({"method": "connection/create", "identity": "anonymous:tester",
                "space": "counter", "key": key, "viewer-state": {}}),
            Duration::from_secs(15),
        )
        .await?;
        self.stream = Some(id);
        Ok(())
    }

    /// One bump through the stream, reopening it when it is gone; true when acknowledged.
    async fn bump(&mut self) -> bool {
        if self.stream.is_none()
            && let Err(error) = self.open().await
        {
            eprintln!("open: {error}");
            tokio::time::sleep(Duration::from_millis(100)).await;
            return false;
        }
        let Some(stream) = self.stream else {
            return false;
        };
        let answer = self
            .call(
                json!({"method": "connection/send", "connection": stream, "channel": "bump",
                    "message": {"by": 1}}),
                Duration::from_secs(10),
            )
            .await;
        match answer {
            Ok(response) => response["seq"].is_number(),
            Err(error) => {
                eprintln!("send: {error}");
                self.stream = None;
                false
            }
        }
    }
}

fn partition() -> u32 {
    adama_node::cluster::partition_of(DOCUMENT, PARTITIONS)
}

/// Bumps until `count` more are acknowledged; the acknowledged count and the time of the
/// first acknowledgement.
async fn bumps(client: &mut Client, count: usize, limit: Duration) -> (usize, Option<Instant>) {
    let start = Instant::now();
    let mut acknowledged = 0;
    let mut first = None;
    while acknowledged < count {
        assert!(
            start.elapsed() < limit,
            "only {acknowledged} of {count} sends acknowledged in {limit:?}"
        );
        if client.bump().await {
            acknowledged += 1;
            first.get_or_insert_with(Instant::now);
        }
    }
    (acknowledged, first)
}

/// The document's count as a fresh stream on `address` sees it.
async fn count_at(address: SocketAddr) -> i64 {
    let mut client = Client::connect(address).await;
    client.open().await.expect("the document opens");
    client.count.expect("the first delta holds the count")
}

fn all_partitions_led(cluster: &Cluster, among: &[u64]) -> Option<()> {
    (0..PARTITIONS)
        .all(|partition| cluster.leader(partition, among).is_some())
        .then_some(())
}

#[test]
fn a_killed_leader_loses_no_acknowledged_send_and_its_node_catches_up() {
    let mut cluster = Cluster::start();
    let everyone = [1, 2, 3];
    cluster.wait_for(
        "every partition has a leader",
        Duration::from_secs(30),
        || all_partitions_led(&cluster, &everyone),
    );
    let partition = partition();
    let leader = cluster.leader(partition, &everyone).expect("a leader");
    let entry = everyone
        .iter()
        .copied()
        .find(|id| *id != leader)
        .expect("another node");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let mut client = Client::connect(cluster.address(entry)).await;
        let create = client
            .call(
                json!({"method": "document/create", "identity": "anonymous:tester",
                    "space": "counter", "key": "failover", "arg": {}}),
                Duration::from_secs(15),
            )
            .await;
        assert!(
            create.is_ok(),
            "the document is created through a follower: {create:?}"
        );
        let (before, _) = bumps(&mut client, 40, Duration::from_secs(60)).await;

        cluster.kill(leader);
        let killed = Instant::now();
        let (after, first) = bumps(&mut client, 40, Duration::from_secs(60)).await;
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
                let view = cluster.view(new_leader, partition)?;
                (view["lag"][leader.to_string()] == 0).then_some(())
            },
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
        let mut client = Client::connect(cluster.address(entry)).await;
        let paused = Instant::now();
        let (during, _) = bumps(&mut client, 20, Duration::from_secs(60)).await;
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
