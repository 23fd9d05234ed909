//! A three-node cluster on loopback (docs/cluster.md, "Measured"):
//!
//! - `--measure cluster`: acknowledged sends with each document's sockets on the node leading
//!   its partition, then one socket sending one at a time through the leader and through a
//!   node that does not lead (the proxy's added latency), and the records per raft entry;
//! - `--measure failover --kills N`: in a stream of sends through a node that does not lead the
//!   document's partition, SIGKILL of the leader, the time until the first send made after
//!   the kill is acknowledged (by the new leader), then the node's restart and catch-up.
//!
//! The nodes are children running this binary (`--serve-cluster-node`) unless `--connect`
//! lists the three running nodes (`adama serve --cluster`; not for `failover`, which kills
//! them).

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adama_node::cluster::{ClusterConfig, ClusterFile, partition_of};
use serde_json::{Value as Json, json};
use tokio::sync::watch;

use crate::Options;
use crate::client::{self, Socket};
use crate::sends;

/// The first argument that makes this binary a cluster node for a parent load client.
pub const SERVE_CLUSTER_NODE: &str = "--serve-cluster-node";

/// How long the cluster gets to have a leader for every partition, or a restarted node to
/// catch up.
const SETTLE: Duration = Duration::from_secs(60);

/// The cluster under load.
struct Nodes {
    file: Option<PathBuf>,
    root: Option<PathBuf>,
    addresses: Vec<String>,
    children: Vec<Option<std::process::Child>>,
    partitions: u32,
}

impl Nodes {
    async fn start(options: &Options) -> Result<Nodes, String> {
        if let Some(connect) = &options.connect {
            let addresses: Vec<String> = connect.split(',').map(str::to_owned).collect();
            let status = status(&addresses[0]).await?;
            let partitions = status["partitions"].as_array().map_or(0, Vec::len) as u32;
            return Ok(Nodes {
                file: None,
                root: None,
                addresses,
                children: Vec::new(),
                partitions: partitions.max(1),
            });
        }
        let root = std::env::temp_dir().join(format!("adama-cluster-{}", std::process::id()));
        std::fs::create_dir_all(&root)
            .map_err(|error| format!("cannot create {}: {error}", root.display()))?;
        let mut text = format!("partitions = {}\n", options.partitions);
        let mut addresses = Vec::new();
        for id in 1..=3 {
            let address = free_address()?;
            text.push_str(&format!("[[node]]\nid = {id}\naddress = \"{address}\"\n"));
            addresses.push(address.to_string());
        }
        let file = root.join("cluster.toml");
        std::fs::write(&file, text).map_err(|error| format!("cannot write the file: {error}"))?;
        let mut nodes = Nodes {
            file: Some(file),
            root: Some(root),
            addresses,
            children: vec![None, None, None],
            partitions: options.partitions,
        };
        for id in 1..=3 {
            nodes.spawn(id)?;
        }
        Ok(nodes)
    }

    fn spawn(&mut self, id: u64) -> Result<(), String> {
        let (Some(root), Some(file)) = (&self.root, &self.file) else {
            return Err("the nodes were not started here".into());
        };
        let exe = std::env::current_exe()
            .map_err(|error| format!("cannot find this program: {error}"))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.join(format!("node{id}.log")))
            .map_err(|error| format!("cannot open the node's log: {error}"))?;
        let child = std::process::Command::new(exe)
            .arg(SERVE_CLUSTER_NODE)
            .arg(root.join(format!("data{id}")))
            .arg(file)
            .arg(id.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|error| format!("cannot start node {id}: {error}"))?;
        self.children[(id - 1) as usize] = Some(child);
        Ok(())
    }

    /// SIGKILL.
    fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.children[(id - 1) as usize].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn address(&self, id: u64) -> &str {
        &self.addresses[(id - 1) as usize]
    }

    /// The leader of `partition` as the answering nodes among `among` see it.
    async fn leader(&self, partition: u32, among: &[u64]) -> Option<u64> {
        for id in among {
            if let Ok(status) = status(self.address(*id)).await
                && let Some(view) = partition_view(&status, partition)
                && view["state"] == "leader"
            {
                return Some(*id);
            }
        }
        None
    }

    /// Waits until every partition has a leader.
    async fn settled(&self) -> Result<(), String> {
        let began = Instant::now();
        let everyone: Vec<u64> = (1..=self.addresses.len() as u64).collect();
        'wait: while began.elapsed() < SETTLE {
            for partition in 0..self.partitions {
                if self.leader(partition, &everyone).await.is_none() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue 'wait;
                }
            }
            return Ok(());
        }
        Err(format!(
            "the partitions have no leader after {} s",
            SETTLE.as_secs()
        ))
    }

    /// A counter summed over the nodes' `/metrics`.
    async fn metric(&self, name: &str) -> f64 {
        let mut sum = 0.0;
        for address in &self.addresses {
            if let Ok((200, body)) = client::http(address, "GET", "/metrics", "").await {
                sum += body
                    .lines()
                    .find_map(|line| {
                        let (key, value) = line.rsplit_once(' ')?;
                        (key == name).then(|| value.parse::<f64>().ok()).flatten()
                    })
                    .unwrap_or(0.0);
            }
        }
        sum
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(root) = &self.root {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

fn free_address() -> Result<SocketAddr, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|error| format!("no free port: {error}"))
}

async fn status(address: &str) -> Result<Json, String> {
    let (code, body) = client::http(address, "GET", "/~cluster/status", "").await?;
    if code != 200 {
        return Err(format!("{address}/~cluster/status answered {code}"));
    }
    serde_json::from_str(&body).map_err(|error| format!("a status that is not JSON: {error}"))
}

fn partition_view(status: &Json, partition: u32) -> Option<&Json> {
    status["partitions"]
        .as_array()?
        .iter()
        .find(|view| view["partition"] == partition)
}

/// The child's side: node `id` of the cluster `file`, serving the counter space from `data`
/// until the parent closes stdin.
pub async fn serve_node(data: Option<String>, file: Option<String>, id: Option<String>) {
    let (Some(data), Some(path), Some(id)) = (data, file, id) else {
        eprintln!("error: {SERVE_CLUSTER_NODE} DATA FILE ID");
        std::process::exit(2);
    };
    let started = async {
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {path}: {error}"))?;
        let file = ClusterFile::parse(&path, &text)?;
        let node_id: u64 = id.parse().map_err(|_| format!("not a node id: {id}"))?;
        let listen = *file
            .nodes
            .get(&node_id)
            .ok_or_else(|| format!("node {node_id} is not in {path}"))?;
        let mut config = crate::target::config(PathBuf::from(&data), None);
        config.listen = listen;
        config.cluster = Some(ClusterConfig {
            node_id,
            file,
            join: false,
        });
        adama_node::start(config).await
    };
    let running = match started.await {
        Ok(running) => running,
        Err(message) => {
            eprintln!("error {message}");
            std::process::exit(2);
        }
    };
    crate::target::wait_for_parent().await;
    running.task.abort();
}

/// One socket with one stream on a counter document, sending one bump at a time and
/// reopening its stream (and socket) when they fail.
struct Bumper {
    address: String,
    key: String,
    socket: Option<Socket>,
    next: i64,
    stream: Option<i64>,
}

enum Answer {
    Done,
    Failed,
}

impl Bumper {
    fn new(address: &str, key: &str) -> Bumper {
        Bumper {
            address: address.to_owned(),
            key: key.to_owned(),
            socket: None,
            next: 1,
            stream: None,
        }
    }

    /// Sends `frame` with a fresh id and reads until its first answer.
    async fn call(&mut self, mut frame: Json, limit: Duration) -> Answer {
        if self.socket.is_none() {
            match client::open(&self.address).await {
                Ok(socket) => self.socket = Some(socket),
                Err(_) => return Answer::Failed,
            }
        }
        let Some(socket) = self.socket.as_mut() else {
            return Answer::Failed;
        };
        let id = self.next;
        self.next += 1;
        frame["id"] = json!(id);
        if client::send(socket, &frame).await.is_err() {
            self.socket = None;
            self.stream = None;
            return Answer::Failed;
        }
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let read = tokio::time::timeout_at(deadline, client::read(socket)).await;
            let Ok(Some((frame, _))) = read else {
                self.socket = None;
                self.stream = None;
                return Answer::Failed;
            };
            if frame.failure.is_some() && frame.failure == self.stream {
                self.stream = None;
            }
            if frame.failure == Some(id) {
                return Answer::Failed;
            }
            if frame.deliver == Some(id) {
                return Answer::Done;
            }
        }
    }

    /// One bump, reopening the stream first when it is gone; true when acknowledged.
    async fn bump(&mut self) -> bool {
        if self.stream.is_none() {
            let id = self.next;
            let open = json!({"method": "connection/create", "identity": "anonymous:failover",
                "space": "counter", "key": self.key, "viewer-state": {}});
            match self.call(open, Duration::from_secs(15)).await {
                Answer::Done => self.stream = Some(id),
                Answer::Failed => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    return false;
                }
            }
        }
        let Some(stream) = self.stream else {
            return false;
        };
        let send = json!({"method": "connection/send", "connection": stream,
            "channel": "bump", "message": {"by": 1}});
        match self.call(send, Duration::from_secs(10)).await {
            Answer::Done => true,
            Answer::Failed => {
                self.stream = None;
                false
            }
        }
    }
}

/// Bumps one at a time for `seconds`; the latencies, sorted.
async fn sequential(bumper: &mut Bumper, seconds: u64) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        let sent = Instant::now();
        if bumper.bump().await {
            latencies.push(sent.elapsed());
        }
    }
    latencies.sort();
    latencies
}

fn document(index: usize) -> String {
    format!("counter/d{index}")
}

pub async fn measure(options: &Options) -> Result<(), String> {
    let nodes = Nodes::start(options).await?;
    nodes.settled().await?;
    let everyone: Vec<u64> = (1..=3).collect();
    client::create_documents(nodes.address(1), options.documents).await?;
    // Each document's sockets go to the node leading its partition.
    let mut leaders = Vec::with_capacity(options.documents);
    for index in 0..options.documents {
        let partition = partition_of(&document(index), nodes.partitions);
        let leader = nodes.leader(partition, &everyone).await.unwrap_or(1);
        leaders.push(nodes.address(leader).to_owned());
    }
    let opened = sends::open(options, |index| leaders[index].clone()).await?;
    let entries_before = nodes.metric("adama_cluster_entries_total").await;
    let records_before = nodes.metric("adama_cluster_entry_records_total").await;
    let fsyncs_before = nodes.metric("adama_cluster_log_fsyncs_total").await;
    let driven = opened.drive(options.seconds).await;
    let entries = nodes.metric("adama_cluster_entries_total").await - entries_before;
    let records = nodes.metric("adama_cluster_entry_records_total").await - records_before;
    let fsyncs = nodes.metric("adama_cluster_log_fsyncs_total").await - fsyncs_before;
    println!(
        "3 nodes, {} partitions, {} documents x {} connections (each on its partition's leader), {}, {:.1} s",
        nodes.partitions,
        options.documents,
        options.connections,
        sends::mode(options),
        driven.elapsed
    );
    println!(
        "replicated acknowledged sends: {} ({:.0}/s), failures: {}, deltas received: {}",
        driven.latencies.len(),
        driven.per_second(),
        driven.failures,
        driven.deltas
    );
    if let Some(why) = &driven.first_failure {
        println!("first failure: {why}");
    }
    println!("ack latency ms: {}", driven.percentiles());
    println!(
        "raft entries proposed: {entries}, records per entry: {:.1}; log fsyncs on the 3 nodes: {fsyncs}, records per fsync: {:.1}",
        records / entries.max(1.0),
        records * 3.0 / fsyncs.max(1.0)
    );
    // The proxy: one socket, one send at a time, on the leader and on a node that does not lead.
    let partition = partition_of(&document(0), nodes.partitions);
    let leader = nodes
        .leader(partition, &everyone)
        .await
        .ok_or("the first document's partition has no leader")?;
    let follower = everyone
        .iter()
        .copied()
        .find(|id| *id != leader)
        .unwrap_or(leader);
    let seconds = options.seconds.clamp(1, 5);
    for (label, id) in [("through the leader", leader), ("proxied", follower)] {
        let mut bumper = Bumper::new(nodes.address(id), "d0");
        let latencies = sequential(&mut bumper, seconds).await;
        println!(
            "one socket {label} (node {id}): {} sends, ms p50 {:.2}  p99 {:.2}",
            latencies.len(),
            sends::percentile(&latencies, 0.5),
            sends::percentile(&latencies, 0.99)
        );
    }
    Ok(())
}

pub async fn failover(options: &Options) -> Result<(), String> {
    if options.connect.is_some() {
        return Err(
            "--measure failover kills nodes: it starts its own (leave out --connect)".into(),
        );
    }
    let mut nodes = Nodes::start(options).await?;
    nodes.settled().await?;
    client::create_documents(nodes.address(1), 1).await?;
    let partition = partition_of(&document(0), nodes.partitions);
    let everyone: Vec<u64> = (1..=3).collect();
    let mut times = Vec::new();
    for kill in 1..=options.kills {
        let leader = wait_for_leader(&nodes, partition, &everyone).await?;
        let through = everyone
            .iter()
            .copied()
            .find(|id| *id != leader)
            .unwrap_or(leader);
        let (killed_at, killed) = watch::channel(None::<Instant>);
        let acknowledged = Arc::new(AtomicU64::new(0));
        let client = tokio::spawn(stream_of_sends(
            nodes.address(through).to_owned(),
            killed,
            Arc::clone(&acknowledged),
        ));
        // In the middle of the stream: once it has had a few sends acknowledged.
        let began = Instant::now();
        while acknowledged.load(Ordering::Relaxed) < 20 && began.elapsed() < SETTLE {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        nodes.kill(leader);
        let _ = killed_at.send(Some(Instant::now()));
        let taken = tokio::time::timeout(SETTLE, client)
            .await
            .map_err(|_| {
                format!(
                    "kill {kill}: no send acknowledged in {} s",
                    SETTLE.as_secs()
                )
            })?
            .map_err(|_| "the sending task stopped unexpectedly".to_owned())?;
        println!(
            "kill {kill}: node {leader} killed; first acknowledged send through node {through} after {:.0} ms",
            taken.as_secs_f64() * 1000.0
        );
        times.push(taken);
        nodes.spawn(leader)?;
        caught_up(&nodes, partition, leader).await?;
    }
    times.sort();
    if times.is_empty() {
        return Ok(());
    }
    println!(
        "failover over {} kills ({} partitions): median {:.0} ms, worst {:.0} ms, best {:.0} ms",
        times.len(),
        nodes.partitions,
        sends::percentile(&times, 0.5),
        sends::percentile(&times, 1.0),
        sends::percentile(&times, 0.0)
    );
    Ok(())
}

async fn wait_for_leader(nodes: &Nodes, partition: u32, among: &[u64]) -> Result<u64, String> {
    let began = Instant::now();
    while began.elapsed() < SETTLE {
        if let Some(leader) = nodes.leader(partition, among).await {
            return Ok(leader);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("partition {partition} has no leader"))
}

/// Waits until the restarted node `id` answers and the partition's leader finds it no entry
/// behind.
async fn caught_up(nodes: &Nodes, partition: u32, id: u64) -> Result<(), String> {
    let began = Instant::now();
    let everyone: Vec<u64> = (1..=3).collect();
    while began.elapsed() < SETTLE {
        if status(nodes.address(id)).await.is_ok()
            && let Some(leader) = nodes.leader(partition, &everyone).await
            && let Ok(status) = status(nodes.address(leader)).await
            && partition_view(&status, partition)
                .and_then(|view| view["lag"][id.to_string()].as_u64())
                == Some(0)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("node {id} did not catch up"))
}

/// Sends in a loop through `address` until a send made after the kill is acknowledged; the
/// time from the kill to that acknowledgement.
async fn stream_of_sends(
    address: String,
    mut killed: watch::Receiver<Option<Instant>>,
    acknowledged: Arc<AtomicU64>,
) -> Duration {
    let mut bumper = Bumper::new(&address, "d0");
    loop {
        let kill = *killed.borrow_and_update();
        if bumper.bump().await {
            acknowledged.fetch_add(1, Ordering::Relaxed);
            // A send made after the kill can only have been committed by the new leader.
            if let Some(kill) = kill {
                return kill.elapsed();
            }
        }
    }
}
