//! `adama serve --cluster` processes on loopback, for the cluster tests: starting, stopping,
//! killing and pausing nodes (and a seeded schedule of such faults, `faults.rs`), asking them
//! over HTTP, and clients: one of the counter example on one node's socket (here) and one that
//! moves between nodes and retries a send until it is known to be applied (`faults.rs`).
#![allow(dead_code)] // each test file uses its own part

pub mod faults;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;

pub fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address")
}

pub fn adama() -> Command {
    Command::new(env!("CARGO_BIN_EXE_adama"))
}

/// Each node's further arguments, given the root directory and the node's id (it may write
/// files under the root).
type ArgsOf = Box<dyn Fn(&Path, u64) -> Vec<String>>;

pub struct Nodes {
    pub file: PathBuf,
    pub addresses: BTreeMap<u64, SocketAddr>,
    children: BTreeMap<u64, Child>,
    pub root: tempfile::TempDir,
    /// Flags every node is started with (spaces, for instance).
    pub extra: Vec<String>,
    /// Flags of each node of its own.
    args_of: Option<ArgsOf>,
    pub partitions: u32,
    /// Further lines of the cluster file (`replicas = 2`, for instance).
    settings: String,
    /// The nodes stopped with SIGSTOP.
    paused: BTreeSet<u64>,
    /// The node under a fault of a schedule and when the schedule heals it (`faults.rs`).
    fault: Option<(u64, faults::Fault, Instant)>,
}

impl Nodes {
    /// Writes a cluster file of `count` nodes; starts none.
    pub fn new(count: u64, partitions: u32) -> Nodes {
        let root = tempfile::tempdir().expect("a directory");
        let addresses: BTreeMap<u64, SocketAddr> =
            (1..=count).map(|id| (id, free_address())).collect();
        let file = root.path().join("cluster.toml");
        let nodes = Nodes {
            file,
            addresses,
            children: BTreeMap::new(),
            root,
            extra: Vec::new(),
            args_of: None,
            partitions,
            settings: String::new(),
            paused: BTreeSet::new(),
            fault: None,
        };
        nodes.write_file();
        nodes
    }

    /// Starts `count` nodes with `partitions` partitions and further `settings` of the cluster
    /// file (TOML lines such as `replicas = 2`); `args_of` gives each node's further arguments
    /// (it may write files under the root).
    pub fn start_with(
        count: u64,
        partitions: u32,
        settings: &str,
        args_of: impl Fn(&Path, u64) -> Vec<String> + 'static,
    ) -> Nodes {
        let mut nodes = Nodes::new(count, partitions);
        nodes.settings = settings.to_owned();
        nodes.args_of = Some(Box::new(args_of));
        nodes.write_file();
        for id in 1..=count {
            nodes.spawn(id);
        }
        nodes
    }

    /// Starts `count` nodes with `partitions` partitions serving one space, `name`, from
    /// `source` (written once under the root for each node, so that a node started again
    /// serves what its file holds then).
    pub fn start_with_space(
        count: u64,
        partitions: u32,
        name: &str,
        source: &'static str,
    ) -> Nodes {
        let name = name.to_owned();
        Nodes::start_with(count, partitions, "", move |root, id| {
            let file = root.join(format!("{name}{id}.a"));
            if !file.exists() {
                std::fs::write(&file, source).expect("the source is written");
            }
            vec!["--space".into(), format!("{name}={}", file.display())]
        })
    }

    /// The ids of the cluster file's nodes.
    pub fn ids(&self) -> Vec<u64> {
        self.addresses.keys().copied().collect()
    }

    pub fn write_file(&self) {
        let mut text = format!("partitions = {}\n{}\n", self.partitions, self.settings);
        for (id, address) in &self.addresses {
            text.push_str(&format!("[[node]]\nid = {id}\naddress = \"{address}\"\n"));
        }
        std::fs::write(&self.file, text).expect("written");
    }

    /// Starts every node of the cluster file and waits until each partition has a leader;
    /// returns the nodes' ids.
    pub fn spawn_all_led(&mut self) -> Vec<u64> {
        let everyone = self.ids();
        for id in &everyone {
            self.spawn(*id);
        }
        self.wait_all_led(
            "every partition has a leader",
            &everyone,
            Duration::from_secs(30),
        );
        everyone
    }

    /// Waits until every node of `among` answers its status and each partition has a leader
    /// among them.
    pub fn wait_all_led(&self, what: &str, among: &[u64], limit: Duration) {
        self.wait_for(what, limit, || {
            among
                .iter()
                .all(|id| self.status(*id).is_some())
                .then_some(())?;
            self.all_partitions_led(among)
        });
    }

    pub fn data(&self, id: u64) -> PathBuf {
        self.root.path().join(format!("data{id}"))
    }

    pub fn spawn(&mut self, id: u64) {
        self.spawn_with(id, &[]);
    }

    pub fn spawn_with(&mut self, id: u64, flags: &[&str]) {
        let file = self.file.clone();
        self.spawn_with_file(id, &file, flags);
    }

    /// Starts a node with a cluster file of its own (a node that joins, for instance).
    pub fn spawn_with_file(&mut self, id: u64, file: &std::path::Path, flags: &[&str]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.path().join(format!("node{id}.log")))
            .expect("a log file");
        let child = adama()
            .args(["serve", "--node-id", &id.to_string(), "--cluster"])
            .arg(file)
            .arg("--data")
            .arg(self.data(id))
            .args(&self.extra)
            .args(
                self.args_of
                    .as_ref()
                    .map(|args_of| args_of(self.root.path(), id))
                    .unwrap_or_default(),
            )
            .args(flags)
            .env("RUST_LOG", "warn,adama_node=info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the node starts");
        self.children.insert(id, child);
        self.paused.remove(&id);
    }

    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.children.remove(&id) {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.paused.remove(&id);
    }

    /// Stops a node as Ctrl-C does (it makes what it applied durable), or kills it after 15 s.
    pub fn stop(&mut self, id: u64) {
        let Some(mut child) = self.children.remove(&id) else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Sends a signal to a running node (`STOP`, `CONT`); a node that is not running is left
    /// alone.
    pub fn signal(&mut self, id: u64, signal: &str) {
        let Some(child) = self.children.get(&id) else {
            return;
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} reaches node {id}");
        if signal == "STOP" {
            self.paused.insert(id);
        } else {
            self.paused.remove(&id);
        }
    }

    pub fn running(&self) -> Vec<u64> {
        self.children.keys().copied().collect()
    }

    pub fn is_running(&self, id: u64) -> bool {
        self.children.contains_key(&id)
    }

    pub fn address(&self, id: u64) -> SocketAddr {
        self.addresses[&id]
    }

    /// An HTTP exchange with a node: the status code and the body.
    pub fn http(&self, id: u64, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
        http(self.address(id), method, path, &[], body.as_bytes())
    }

    /// A JSON answer of a node to a GET, if it answers 200.
    pub fn get(&self, id: u64, path: &str) -> Option<Json> {
        let (code, body) = http_within(
            self.address(id),
            "GET",
            path,
            &[],
            &[],
            Duration::from_secs(5),
        )?;
        (code == 200).then_some(())?;
        serde_json::from_str(&body).ok()
    }

    /// A node's status, if it answers.
    pub fn status(&self, id: u64) -> Option<Json> {
        self.get(id, "/~cluster/status")
    }

    /// A node's stored copy of a document (`/~cluster/document`), if it answers and holds it.
    pub fn document(&self, id: u64, space: &str, key: &str) -> Option<Json> {
        self.get(id, &format!("/~cluster/document?space={space}&key={key}"))
    }

    /// A gauge or counter of a node's `/metrics`, if it answers.
    pub fn metric(&self, id: u64, name: &str) -> Option<i64> {
        let (_, text) = http_within(
            self.address(id),
            "GET",
            "/metrics",
            &[],
            &[],
            Duration::from_secs(5),
        )?;
        text.lines().find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
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

    pub fn all_partitions_led(&self, among: &[u64]) -> Option<()> {
        let statuses: Vec<Json> = among.iter().filter_map(|id| self.status(*id)).collect();
        (0..self.partitions)
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
        for partition in 0..self.partitions {
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
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `members` report the same last applied entry of `partition`.
    pub fn wait_until_applied_alike(&self, members: &[u64], partition: u32) {
        self.wait_for(
            "every member applied the log",
            Duration::from_secs(30),
            || {
                let applied: Vec<Json> = members
                    .iter()
                    .map(|id| {
                        self.view(*id, partition)
                            .map(|view| view["last_applied"].clone())
                    })
                    .collect::<Option<_>>()?;
                applied
                    .windows(2)
                    .all(|pair| pair[0] == pair[1])
                    .then_some(())
            },
        );
    }

    pub fn dump_logs(&self) {
        for id in self.addresses.keys() {
            let log = std::fs::read_to_string(self.root.path().join(format!("node{id}.log")))
                .unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- node {id} ---");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }

    /// A document as a stopped node's store holds it: its log lines and the whole document.
    pub fn stored(&self, id: u64, space: &str, key: &str) -> (Vec<String>, Json) {
        use adama_node::store::Store;
        let lines = adama_node::export::log_lines(&self.data(id), space, key)
            .unwrap_or_else(|error| panic!("node {id}: {error}"));
        let store = adama_node::store::redb::RedbStore::open(&self.data(id)).expect("the store");
        let whole = store
            .load(&format!("{space}/{key}"))
            .expect("loads")
            .expect("the document is there")
            .fold();
        (lines, whole)
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let ids: Vec<u64> = self.children.keys().copied().collect();
        for id in ids {
            if let Some(child) = self.children.get(&id) {
                let _ = Command::new("kill")
                    .arg("-CONT")
                    .arg(child.id().to_string())
                    .status();
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

/// One HTTP/1.1 exchange: the status code and the body.
pub fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    http_within(
        address,
        method,
        path,
        headers,
        body,
        Duration::from_secs(30),
    )
}

/// As [`http`], giving up on an answer after `limit` (a paused node never answers).
pub fn http_within(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    limit: Duration,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(limit)).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Some((
        code,
        if chunked {
            unchunk(body)
        } else {
            body.to_owned()
        },
    ))
}

fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A client on one node's socket, with one stream open on a counter document.
pub struct Client {
    socket: Socket,
    next: i64,
    pub space: String,
    pub key: String,
    pub stream: Option<i64>,
    /// The document's fields as the stream's deltas left them.
    pub view: serde_json::Map<String, Json>,
}

impl Client {
    pub async fn connect(address: SocketAddr, key: &str) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/~s"))
            .await
            .expect("the socket opens");
        Client {
            socket,
            next: 1,
            space: "counter".to_owned(),
            key: key.to_owned(),
            stream: None,
            view: serde_json::Map::new(),
        }
    }

    pub fn field(&self, name: &str) -> Option<i64> {
        self.view.get(name).and_then(Json::as_i64)
    }

    /// Sends a request and reads until its answer (`Ok(response)` or `Err(reason)`).
    pub async fn call(&mut self, mut frame: Json, limit: Duration) -> Result<Json, String> {
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
            if let Some(data) = frame["response"]["delta"]["data"].as_object() {
                for (name, value) in data {
                    self.view.insert(name.clone(), value.clone());
                }
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

    /// Sends a request; its id.
    pub async fn request(&mut self, mut frame: Json) -> i64 {
        let id = self.next;
        self.next += 1;
        frame["id"] = json!(id);
        self.socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("the request goes");
        id
    }

    /// Reads frames until one `pick` takes.
    pub async fn until(&mut self, limit: Duration, pick: impl Fn(&Json) -> bool) -> Json {
        let deadline = tokio::time::Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let Ok(next) = tokio::time::timeout_at(deadline, self.socket.next()).await else {
                panic!("the awaited frame did not come; came: {seen:?}");
            };
            let Some(Ok(Message::Text(text))) = next else {
                panic!("the socket closed");
            };
            let frame: Json = serde_json::from_str(text.as_str()).expect("JSON");
            if let Some(data) = frame["response"]["delta"]["data"].as_object() {
                for (name, value) in data {
                    self.view.insert(name.clone(), value.clone());
                }
            }
            if pick(&frame) {
                return frame;
            }
            seen.push(frame);
        }
    }

    pub async fn create(&mut self) -> Result<Json, String> {
        self.call(
            json!({"method": "document/create", "identity": "anonymous:tester",
                "space": self.space, "key": self.key, "arg": {}}),
            Duration::from_secs(15),
        )
        .await
    }

    /// Creates the document, again while the cluster answers with the retryable code (a
    /// partition changing leaders); an answer that it exists already counts as created.
    pub async fn create_retrying(&mut self, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            match self.create().await {
                Ok(_) => return Ok(()),
                Err(error) if error.contains("130092") => return Ok(()),
                Err(error) if error.contains("144416") && start.elapsed() < limit => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub async fn open(&mut self) -> Result<(), String> {
        let id = self.next;
        self.call(
            json!({"method": "connection/create", "identity": "anonymous:tester",
                "space": self.space, "key": self.key, "viewer-state": {}}),
            Duration::from_secs(15),
        )
        .await?;
        self.stream = Some(id);
        Ok(())
    }

    /// One bump through the stream, reopening it when it is gone; true when acknowledged.
    pub async fn bump(&mut self) -> bool {
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

    /// Bumps until `count` more are acknowledged (within `limit`); how many were.
    pub async fn bumps(&mut self, count: usize, limit: Duration) -> usize {
        self.timed_bumps(count, limit).await.0
    }

    /// As [`Client::bumps`], with the time of the first acknowledgement.
    pub async fn timed_bumps(&mut self, count: usize, limit: Duration) -> (usize, Option<Instant>) {
        let start = Instant::now();
        let mut acknowledged = 0;
        let mut first = None;
        while acknowledged < count {
            assert!(
                start.elapsed() < limit,
                "only {acknowledged} of {count} sends acknowledged in {limit:?}"
            );
            if self.bump().await {
                acknowledged += 1;
                first.get_or_insert_with(Instant::now);
            }
        }
        (acknowledged, first)
    }
}
