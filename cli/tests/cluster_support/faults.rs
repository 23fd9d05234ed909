//! Faults for the cluster's process tests: a seeded schedule of kills, pauses and restarts
//! of [`Nodes`], and a client that enters the cluster through one node, moves to the next when
//! that one fails it, and retries a send until it is known to be applied.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;

use super::{Nodes, Socket};

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
pub enum Fault {
    Down,
    Paused,
}

impl Nodes {
    /// Every node running and none paused.
    pub fn heal(&mut self) {
        for id in self.ids() {
            if self.paused.contains(&id) {
                self.signal(id, "CONT");
            }
            if !self.is_running(id) {
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
}

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
pub struct RetryingClient {
    addresses: Vec<SocketAddr>,
    entry: usize,
    identity: String,
    socket: Option<Socket>,
    next: i64,
    streams: HashMap<String, i64>,
}

impl RetryingClient {
    pub fn new(addresses: Vec<SocketAddr>, entry: usize, identity: &str) -> RetryingClient {
        RetryingClient {
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
