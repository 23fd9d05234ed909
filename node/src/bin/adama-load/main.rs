//! A load client for the node. It measures, against counter documents:
//!
//! - `--measure sends` (the default): acknowledged, durable sends per second, acknowledgement
//!   latency percentiles and transactions per fsync, with `--connections` sockets on each of
//!   `--documents` documents, each sending in a closed loop (`--window` in flight) or, with
//!   `--rate R`, R sends per second in total;
//! - `--measure idle`: the node's memory per idle connection and per loaded idle document;
//! - `--measure upgrade`: the time from deploying new code until every viewer has its delta;
//! - `--measure reload --transactions N`: the load of a document whose log holds N transactions;
//! - `--measure replica --rate R`: the lag of a read replica (`--replica-of`) behind its primary,
//!   from the primary's acknowledgement to the replica viewer's delta;
//! - `--measure cluster`: replicated sends on a three-node cluster, and the proxy's added
//!   latency; `--measure failover --kills N`: the time from a leader's SIGKILL to the first
//!   acknowledged send on the new leader (see `cluster.rs`);
//! - `--measure floor`: the sends measure against a server that only moves the frames (no
//!   program, no store), what the machine's transport allows beside the load client (`floor.rs`).
//!
//! The node runs in a child process (this binary, started with `--serve-node`) unless
//! `--connect ADDR` names a running one (`adama serve`; `--pid` lets the memory be read) or
//! `--in-process 1` asks for one in this process.
//!
//! `cargo run --release -p adama-node --bin adama-load -- --documents 1000 --connections 10 --seconds 10`

#[global_allocator]
static ALLOCATOR: adama_node::Allocator = adama_node::Allocator;

mod client;
mod cluster;
mod floor;
mod idle;
mod reload;
mod replica;
mod sends;
mod target;
mod upgrade;
mod wire;

/// How the load is made; see the module documentation.
#[derive(Debug, Clone)]
pub struct Options {
    pub measure: String,
    pub documents: usize,
    pub connections: usize,
    pub seconds: u64,
    /// Sends each connection keeps in flight.
    pub window: usize,
    /// Sends per second in total (paced); `None`: every connection sends in a closed loop.
    pub rate: Option<u64>,
    /// For `reload`: the transactions in the document's log.
    pub transactions: u64,
    /// For `reload`: the space's `maximum_history` (how much of the log is kept as history).
    pub history: u64,
    /// A running node to load instead of a child process.
    pub connect: Option<String>,
    /// The process id of the node given by `--connect`, to read its memory.
    pub pid: Option<u32>,
    pub in_process: bool,
    /// For `cluster` and `failover`: the cluster's partitions.
    pub partitions: u32,
    /// For `failover`: how many leaders to kill.
    pub kills: u64,
    /// floor: CPU work added to each send, in microseconds.
    pub floor_work: u64,
}

const USAGE: &str = "\
adama-load: measures a node under load (docs/node.md, \"Measured\")

  --measure sends|idle|upgrade|reload|replica|cluster|failover|floor
                     what to measure (default: sends; floor: the sends measure against
                     a server that only moves the frames, see floor.rs)
  --documents N      counter documents (default 100)
  --connections N    sockets per document (default 10)
  --seconds N        how long to send (default 10)
  --window N         sends each socket keeps in flight (default 1)
  --rate R           R sends per second in total, paced (default: closed loop)
  --transactions N   reload: transactions in the document's log (default 100000)
  --history N        reload: the space's maximum_history (default 1000)
  --partitions N     cluster, failover: the partitions of the 3-node cluster (default 64)
  --kills N          failover: leaders killed, one after the other (default 20)
  --floor-work US    floor: CPU work added to each send, in microseconds (default 0)
  --connect ADDR     load a running `adama serve` instead of a child node (cluster: the
                     three nodes' addresses, comma-separated)
  --pid PID          with --connect: the node's process, to read its memory
  --in-process 1     run the node in this process";

fn number(flag: &str, value: &str) -> Result<u64, String> {
    value
        .parse::<u64>()
        .map_err(|_| format!("{flag} needs a number, not '{value}'"))
}

fn options(args: Vec<String>) -> Result<Options, String> {
    let mut options = Options {
        measure: "sends".into(),
        documents: 100,
        connections: 10,
        seconds: 10,
        window: 1,
        rate: None,
        transactions: 100_000,
        history: 1000,
        connect: None,
        pid: None,
        in_process: false,
        partitions: 64,
        kills: 20,
        floor_work: 0,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--measure" => options.measure = value,
            "--documents" => options.documents = number(&flag, &value)? as usize,
            "--connections" => options.connections = number(&flag, &value)? as usize,
            "--seconds" => options.seconds = number(&flag, &value)?,
            "--window" => options.window = (number(&flag, &value)? as usize).max(1),
            "--rate" => options.rate = Some(number(&flag, &value)?.max(1)),
            "--transactions" => options.transactions = number(&flag, &value)?,
            "--history" => options.history = number(&flag, &value)?.max(1),
            "--connect" => options.connect = Some(value),
            "--pid" => options.pid = Some(number(&flag, &value)? as u32),
            "--in-process" => options.in_process = number(&flag, &value)? != 0,
            "--partitions" => options.partitions = (number(&flag, &value)? as u32).max(1),
            "--kills" => options.kills = number(&flag, &value)?,
            "--floor-work" => options.floor_work = number(&flag, &value)?,
            other => {
                return Err(format!(
                    "unknown option {other} (--measure sends|idle|upgrade|reload|replica|cluster|failover|floor, \
                     --documents, --connections, --seconds, --window, --rate, --transactions, \
                     --history, --partitions, --kills, --floor-work, --connect, --pid, --in-process)"
                ));
            }
        }
    }
    if ![
        "sends", "idle", "upgrade", "reload", "replica", "cluster", "failover", "floor",
    ]
    .contains(&options.measure.as_str())
    {
        return Err(format!(
            "unknown measure '{}' (sends, idle, upgrade, reload, replica, cluster, failover or floor)",
            options.measure
        ));
    }
    Ok(options)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return;
    }
    let runtime = match adama_node::runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            std::process::exit(2);
        }
    };
    if args.first().map(String::as_str) == Some(target::SERVE_NODE) {
        runtime.block_on(target::serve_node(
            args.get(1).cloned(),
            args.get(2).cloned(),
        ));
        return;
    }
    if args.first().map(String::as_str) == Some(floor::SERVE_FLOOR) {
        runtime.block_on(floor::serve(args.get(1).cloned()));
        return;
    }
    if args.first().map(String::as_str) == Some(cluster::SERVE_CLUSTER_NODE) {
        runtime.block_on(cluster::serve_node(
            args.get(1).cloned(),
            args.get(2).cloned(),
            args.get(3).cloned(),
        ));
        return;
    }
    let options = match options(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    let outcome = runtime.block_on(async move {
        match options.measure.as_str() {
            "reload" => reload::run(&options).await,
            "idle" => idle::run(&options).await,
            "upgrade" => upgrade::run(&options).await,
            "replica" => replica::run(&options).await,
            "cluster" => cluster::measure(&options).await,
            "failover" => cluster::failover(&options).await,
            _ => sends::run(&options).await,
        }
    });
    if let Err(message) = outcome {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}
