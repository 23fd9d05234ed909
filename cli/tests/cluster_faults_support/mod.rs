//! `adama serve --cluster` processes on loopback for the cluster's process tests: starting,
//! killing, pausing and restarting nodes, reading their status and stored documents, a seeded
//! random source for fault schedules, and a client that retries a send until it is known to be
//! applied.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;

/// The runtime's code for a send whose dedupe marker was already applied.
pub const DUPLICATE_MARKER: i64 = 143_407;
/// The node's code for a document that exists already.
pub const ALREADY_CREATED: i64 = 130_092;

/// A small seeded random source (splitmix64), so that a schedule replays from its seed.
#[derive(Debug, Clone)]
pub struct Schedule {
    state: u64,
}

impl Schedule {
    pub fn new(seed: u64) -> Schedule {
        Schedule { state: seed }
    }

    pub fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// What is wrong with a node now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Down,
    Paused,
}

type ExtraArgs = Box<dyn Fn(&Path, u64) -> Vec<String>>;

pub struct Cluster {
    file: PathBuf,
    addresses: Vec<SocketAddr>,
    children: Vec<Option<Child>>,
    paused: Vec<bool>,
    root: tempfile::TempDir,
    extra: ExtraArgs,
    /// The node under a fault and when the schedule heals it.
    fault: Option<(u64, Fault, Instant)>,
}

impl Cluster {
    /// Starts `nodes` nodes with `partitions` partitions and further `settings` of the cluster
    /// file (TOML lines such as `replicas = 2`); `extra` gives each node's further arguments
    /// (it may write files under the root).
    pub fn start_with(
        nodes: usize,
        partitions: u32,
        settings: &str,
        extra: impl Fn(&Path, u64) -> Vec<String> + 'static,
    ) -> Cluster {
        let root = tempfile::tempdir().expect("a directory");
        let addresses: Vec<SocketAddr> = (0..nodes)
            .map(|_| {
                let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
                listener.local_addr().expect("an address")
            })
            .collect();
        let mut text = format!("partitions = {partitions}\n{settings}\n");
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
            children: (0..nodes).map(|_| None).collect(),
            paused: vec![false; nodes],
            root,
            extra: Box::new(extra),
            fault: None,
        };
        for id in 1..=nodes as u64 {
            cluster.spawn(id);
        }
        cluster
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn ids(&self) -> Vec<u64> {
        (1..=self.addresses.len() as u64).collect()
    }

    pub fn spawn(&mut self, id: u64) {
        let data = self.root.path().join(format!("data{id}"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.path().join(format!("node{id}.log")))
            .expect("a log file");
        let extra = (self.extra)(self.root.path(), id);
        let child = Command::new(env!("CARGO_BIN_EXE_adama"))
            .args(["serve", "--node-id", &id.to_string(), "--cluster"])
            .arg(&self.file)
            .arg("--data")
            .arg(&data)
            .args(extra)
            .env("RUST_LOG", "warn,adama_node=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the node starts");
        self.children[(id - 1) as usize] = Some(child);
        self.paused[(id - 1) as usize] = false;
    }

    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.children[(id - 1) as usize].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused[(id - 1) as usize] = false;
    }

    pub fn running(&self, id: u64) -> bool {
        self.children[(id - 1) as usize].is_some()
    }

    pub fn signal(&mut self, id: u64, signal: &str) {
        let Some(child) = self.children[(id - 1) as usize].as_ref() else {
            return;
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} reaches node {id}");
        self.paused[(id - 1) as usize] = signal == "STOP";
    }

    /// Every node running and none paused.
    pub fn heal(&mut self) {
        for id in self.ids() {
            if self.paused[(id - 1) as usize] {
                self.signal(id, "CONT");
            }
            if !self.running(id) {
                self.spawn(id);
            }
        }
        self.fault = None;
    }

    /// One step of a fault schedule: heal the node under a fault once its time is up, or
    /// else, at random, kill a node for a while, pause one, restart one at once, or do nothing.
    /// At most one node is under a fault at a time. Says what it did.
    pub fn step(&mut self, schedule: &mut Schedule) -> String {
        if let Some((id, fault, until)) = self.fault {
            if Instant::now() < until {
                return format!("wait node {id} is {fault:?}");
            }
            self.heal();
            return format!("heal node {id} ({fault:?})");
        }
        let nodes = self.addresses.len() as u64;
        let id = 1 + schedule.below(nodes);
        let hold = Duration::from_millis(1000 + schedule.below(5000));
        match schedule.below(10) {
            0..=3 => {
                self.kill(id);
                self.fault = Some((id, Fault::Down, Instant::now() + hold));
                format!("kill node {id} (SIGKILL) for {hold:?}")
            }
            4..=6 => {
                self.signal(id, "STOP");
                self.fault = Some((id, Fault::Paused, Instant::now() + hold));
                format!("pause node {id} (SIGSTOP) for {hold:?}")
            }
            7..=8 => {
                self.kill(id);
                self.spawn(id);
                format!("restart node {id} (SIGKILL, then start)")
            }
            _ => "nothing".into(),
        }
    }

    pub fn address(&self, id: u64) -> SocketAddr {
        self.addresses[(id - 1) as usize]
    }

    fn get(&self, id: u64, path: &str) -> Option<Json> {
        let mut stream =
            TcpStream::connect_timeout(&self.address(id), Duration::from_millis(500)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.1 200") {
            return None;
        }
        serde_json::from_str(body).ok()
    }

    /// A gauge or counter of a node's `/metrics`, if it answers.
    pub fn metric(&self, id: u64, name: &str) -> Option<i64> {
        let mut stream =
            TcpStream::connect_timeout(&self.address(id), Duration::from_millis(500)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.lines().find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
    }

    /// A node's status, if it answers.
    pub fn status(&self, id: u64) -> Option<Json> {
        self.get(id, "/~cluster/status")
    }

    /// A node's stored copy of a document (`/~cluster/document`), if it answers and holds it.
    pub fn document(&self, id: u64, space: &str, key: &str) -> Option<Json> {
        self.get(id, &format!("/~cluster/document?space={space}&key={key}"))
    }

    pub fn view(&self, id: u64, partition: u32) -> Option<Json> {
        let status = self.status(id)?;
        status["partitions"]
            .as_array()?
            .iter()
            .find(|view| view["partition"] == partition)
            .cloned()
    }

    /// The leader of a partition, as a node that leads it says.
    pub fn leader(&self, partition: u32, among: &[u64]) -> Option<u64> {
        among.iter().copied().find(|id| {
            self.view(*id, partition)
                .is_some_and(|view| view["state"] == "leader")
        })
    }

    pub fn partitions(&self) -> u32 {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        text.lines()
            .find_map(|line| line.strip_prefix("partitions = ")?.trim().parse().ok())
            .unwrap_or(64)
    }

    pub fn all_partitions_led(&self, among: &[u64]) -> Option<()> {
        let statuses: Vec<Json> = among.iter().filter_map(|id| self.status(*id)).collect();
        (0..self.partitions())
            .all(|partition| {
                statuses.iter().any(|status| {
                    status["partitions"].as_array().is_some_and(|views| {
                        views
                            .iter()
                            .any(|view| view["partition"] == partition && view["state"] == "leader")
                    })
                })
            })
            .then_some(())
    }

    /// Every partition has one leader, and each of its members has applied the leader's whole
    /// log.
    pub fn converged(&self, among: &[u64]) -> Option<()> {
        let statuses: Vec<Json> = among
            .iter()
            .map(|id| self.status(*id))
            .collect::<Option<_>>()?;
        for partition in 0..self.partitions() {
            let views: Vec<&Json> = statuses
                .iter()
                .filter_map(|status| {
                    status["partitions"]
                        .as_array()?
                        .iter()
                        .find(|view| view["partition"] == partition)
                })
                .collect();
            let leaders: Vec<&&Json> = views
                .iter()
                .filter(|view| view["state"] == "leader")
                .collect();
            let [leader] = leaders.as_slice() else {
                return None;
            };
            let last = leader["last_log_index"].as_u64()?;
            if views
                .iter()
                .any(|view| view["last_applied"].as_u64() != Some(last))
            {
                return None;
            }
        }
        Some(())
    }

    pub fn wait_for<T>(
        &self,
        what: &str,
        limit: Duration,
        mut probe: impl FnMut() -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            if let Some(found) = probe() {
                return found;
            }
            if start.elapsed() > limit {
                self.dump_logs();
                panic!("{what}: not within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn dump_logs(&self) {
        for id in self.ids() {
            let log = std::fs::read_to_string(self.root.path().join(format!("node{id}.log")))
                .unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- node {id} ---");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for id in self.ids() {
            if self.paused[(id - 1) as usize] {
                self.signal(id, "CONT");
            }
            self.kill(id);
        }
        if std::thread::panicking() {
            // Kept for a look at the nodes' logs and stores after a failure.
            let root = std::mem::replace(&mut self.root, tempfile::tempdir().expect("a dir"));
            eprintln!("the nodes' files are kept in {}", root.keep().display());
        }
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How a call ended without an answer.
#[derive(Debug)]
pub enum Fail {
    /// The node answered with a failure code.
    Code(i64),
    /// The socket broke or the node did not answer in time.
    Broken(String),
}

/// How a send in hand ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged with a seq, or refused as a duplicate of one applied before.
    Acknowledged,
    /// Given up on at the end of the run: it may or may not be applied.
    GaveUp,
}

/// A client that enters the cluster through one node and moves to the next when that one
/// fails it, keeping one stream per document it sends to.
pub struct Client {
    addresses: Vec<SocketAddr>,
    entry: usize,
    identity: String,
    socket: Option<Socket>,
    next: i64,
    streams: HashMap<String, i64>,
}

impl Client {
    pub fn new(addresses: Vec<SocketAddr>, entry: usize, identity: &str) -> Client {
        Client {
            addresses,
            entry,
            identity: identity.to_owned(),
            socket: None,
            next: 1,
            streams: HashMap::new(),
        }
    }

    /// Leaves the node it entered through for the next one.
    fn move_on(&mut self) {
        self.socket = None;
        self.streams.clear();
        self.entry += 1;
    }

    async fn connected(&mut self) -> Result<(), Fail> {
        if self.socket.is_some() {
            return Ok(());
        }
        let address = self.addresses[self.entry % self.addresses.len()];
        let opened = tokio::time::timeout(
            Duration::from_secs(3),
            tokio_tungstenite::connect_async(format!("ws://{address}/~s")),
        )
        .await;
        match opened {
            Ok(Ok((socket, _))) => {
                self.socket = Some(socket);
                Ok(())
            }
            Ok(Err(error)) => Err(Fail::Broken(error.to_string())),
            Err(_) => Err(Fail::Broken(format!("{address} does not answer"))),
        }
    }

    /// Sends a request and reads until its answer, answering pings and noting streams that end.
    pub async fn call(&mut self, mut frame: Json, limit: Duration) -> Result<Json, Fail> {
        self.connected().await?;
        let id = self.next;
        self.next += 1;
        frame["id"] = json!(id);
        let socket = self.socket.as_mut().expect("connected");
        if let Err(error) = socket.send(Message::Text(frame.to_string().into())).await {
            return Err(Fail::Broken(error.to_string()));
        }
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let socket = self.socket.as_mut().expect("connected");
            let next = tokio::time::timeout_at(deadline, socket.next())
                .await
                .map_err(|_| Fail::Broken(format!("no answer to request {id}")))?;
            let Some(Ok(message)) = next else {
                return Err(Fail::Broken("the socket closed".into()));
            };
            let Message::Text(text) = message else {
                continue;
            };
            let Ok(frame) = serde_json::from_str::<Json>(text.as_str()) else {
                continue;
            };
            if frame.get("ping").is_some() {
                let pong = json!({"ping": frame["ping"], "pong": true}).to_string();
                let _ = socket.send(Message::Text(pong.into())).await;
                continue;
            }
            let ended = frame["failure"]
                .as_i64()
                .or_else(|| (frame["done"] == true).then(|| frame["deliver"].as_i64())?);
            if let Some(ended) = ended {
                self.streams.retain(|_, stream| *stream != ended);
            }
            if frame["failure"] == id {
                return Err(Fail::Code(frame["reason"].as_i64().unwrap_or(0)));
            }
            if frame["deliver"] == id
                && (frame["done"] == true || frame["response"].get("delta").is_some())
            {
                return Ok(frame["response"].clone());
            }
        }
    }

    /// Creates a document, retrying through the nodes; true once it exists.
    pub async fn create(&mut self, space: &str, key: &str, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            let request = json!({"method": "document/create", "identity": self.identity,
                "space": space, "key": key, "arg": {}});
            match self.call(request, Duration::from_secs(15)).await {
                Ok(_) | Err(Fail::Code(ALREADY_CREATED)) => return true,
                Err(Fail::Code(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
                Err(Fail::Broken(_)) => {
                    self.move_on();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        false
    }

    /// The client's stream on a document, opened if it has none.
    pub async fn stream(&mut self, space: &str, key: &str) -> Result<i64, Fail> {
        let name = format!("{space}/{key}");
        if let Some(stream) = self.streams.get(&name) {
            return Ok(*stream);
        }
        let stream = self.next;
        let request = json!({"method": "connection/create", "identity": self.identity,
            "space": space, "key": key, "viewer-state": {}});
        self.call(request, Duration::from_secs(15)).await?;
        self.streams.insert(name, stream);
        Ok(stream)
    }

    /// Sends `message` on `channel` with `tag` as its dedupe marker until the cluster says it
    /// is applied (a seq, or a refusal as a duplicate), or `give_up` says to stop.
    pub async fn send_once(
        &mut self,
        space: &str,
        key: &str,
        channel: &str,
        tag: &str,
        message: Json,
        give_up: impl Fn() -> bool,
    ) -> Outcome {
        loop {
            if give_up() {
                return Outcome::GaveUp;
            }
            let stream = match self.stream(space, key).await {
                Ok(stream) => stream,
                Err(Fail::Code(_)) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(Fail::Broken(_)) => {
                    self.move_on();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let request = json!({"method": "connection/send-once", "connection": stream,
                "channel": channel, "dedupe": tag, "message": message});
            match self.call(request, Duration::from_secs(10)).await {
                Ok(response) if response["seq"].is_number() => return Outcome::Acknowledged,
                Err(Fail::Code(DUPLICATE_MARKER)) => return Outcome::Acknowledged,
                Ok(_) | Err(Fail::Code(_)) => {
                    self.streams.remove(&format!("{space}/{key}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(Fail::Broken(_)) => {
                    self.move_on();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}
