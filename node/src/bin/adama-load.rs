//! A load client for the node: starts a node in this process on 127.0.0.1 (data in a fresh
//! temporary directory), opens `--connections` sockets on each of `--documents` counter
//! documents, and has every connection send in a closed loop for `--seconds`. Reports
//! acknowledged sends per second, acknowledgement latency percentiles, and transactions per
//! fsync.
//!
//! `cargo run --release -p adama-node --bin adama-load -- --documents 100 --connections 10 --seconds 10`
//!
//! With `--reload N` it instead writes a counter document whose log holds N transactions and
//! measures how long the node takes from a `connection/create` to the first delta (the load).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adama_node::{Config, SpaceSource};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;

const COUNTER: &str = include_str!("../../../examples/counter/counter.a");

struct Options {
    documents: usize,
    connections: usize,
    seconds: u64,
    /// Sends each connection keeps in flight.
    window: usize,
    /// Measure loading a document with this many logged transactions instead.
    reload: Option<u64>,
    /// With `--reload`: snapshot and compact as the node does (`--compact 0` keeps every entry).
    compact: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        documents: 100,
        connections: 10,
        seconds: 10,
        window: 1,
        reload: None,
        compact: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .parse::<u64>()
            .map_err(|_| format!("{flag} needs a number"))?;
        match flag.as_str() {
            "--documents" => options.documents = value as usize,
            "--connections" => options.connections = value as usize,
            "--seconds" => options.seconds = value,
            "--window" => options.window = (value as usize).max(1),
            "--reload" => options.reload = Some(value),
            "--compact" => options.compact = value != 0,
            other => {
                return Err(format!(
                    "unknown option {other} (--documents, --connections, --seconds, --window)"
                ));
            }
        }
    }
    Ok(options)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn read(socket: &mut Socket) -> Option<Json> {
    loop {
        match socket.next().await? {
            Ok(Message::Text(text)) => {
                let frame: Json = serde_json::from_str(text.as_str()).ok()?;
                if let Some(ping) = frame.get("ping") {
                    let mut pong = frame.clone();
                    pong["pong"] = json!(0.0);
                    let _ = ping;
                    socket
                        .send(Message::Text(pong.to_string().into()))
                        .await
                        .ok()?;
                    continue;
                }
                return Some(frame);
            }
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// One connection: open the document, then send in a closed loop; the latencies of its
/// acknowledged sends, and its failures.
async fn connection(
    address: String,
    key: String,
    who: String,
    stop: Arc<AtomicBool>,
    window: usize,
) -> (Vec<Duration>, u64) {
    let Ok((mut socket, _)) = tokio_tungstenite::connect_async(format!("ws://{address}/~s")).await
    else {
        return (Vec::new(), 1);
    };
    let open = json!({"method": "connection/create", "id": 1, "identity": format!("anonymous:{who}"),
        "space": "counter", "key": key, "viewer-state": {}});
    if socket
        .send(Message::Text(open.to_string().into()))
        .await
        .is_err()
    {
        return (Vec::new(), 1);
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut in_flight = std::collections::HashMap::new();
    let mut next_id = 10;
    loop {
        while in_flight.len() < window && !stop.load(Ordering::Relaxed) {
            let send = json!({"method": "connection/send", "id": next_id, "connection": 1,
                "channel": "bump", "message": {"by": 1}});
            if socket
                .send(Message::Text(send.to_string().into()))
                .await
                .is_err()
            {
                return (latencies, failures + 1);
            }
            in_flight.insert(next_id, Instant::now());
            next_id += 1;
        }
        if in_flight.is_empty() {
            return (latencies, failures);
        }
        let Some(frame) = read(&mut socket).await else {
            return (latencies, failures + 1);
        };
        let id = frame["deliver"]
            .as_i64()
            .or_else(|| frame["failure"].as_i64());
        if let Some(sent) = id.and_then(|id| in_flight.remove(&id)) {
            if frame.get("failure").is_some() {
                failures += 1;
                if failures == 1 {
                    eprintln!("first failure: {frame}");
                }
            } else {
                latencies.push(sent.elapsed());
            }
        } else if frame["failure"] == 1 {
            eprintln!("the stream failed: {frame}");
            return (latencies, failures + 1);
        }
    }
}

/// Writes a document with `transactions` logged sends straight into a store, then times the
/// node's load of it.
async fn reload(transactions: u64, compact: bool) {
    use adama_node::engine::{Context, Engine, Space, Who};
    use adama_node::store::redb::RedbStore;
    use adama_node::store::{Entry, Store, Write};
    let data = std::env::temp_dir().join(format!("adama-reload-{}", std::process::id()));
    let space = Space::compile("counter", "counter.a", COUNTER).expect("the counter compiles");
    let written = Instant::now();
    {
        let store = RedbStore::open(&data).expect("a store");
        let mut engine = Engine::fresh(&space, "big").expect("a document");
        let context = Context {
            who: Who::new("bench", "anonymous"),
            origin: String::new(),
            ip: String::new(),
        };
        let mut construct = context.command("construct", "big", 0);
        construct["arg"] = json!({});
        let mut index = 0;
        let mut writes = Vec::new();
        let mut push = |record, writes: &mut Vec<Write>| {
            index += 1;
            writes.push(Write::Append {
                document: Arc::from("counter/big"),
                index,
                entry: Entry::new(Arc::new(record)).expect("a record encodes"),
            });
        };
        push(engine.execute(construct).expect("constructed"), &mut writes);
        push(
            engine
                .execute(context.command("connect", "big", 1))
                .expect("connected"),
            &mut writes,
        );
        for at in 0..transactions.saturating_sub(2) {
            let mut send = context.command("send", "big", 2 + at as i64);
            send["channel"] = json!("bump");
            send["message"] = json!({"by": 1});
            push(engine.execute(send).expect("sent"), &mut writes);
            // Compaction as the node does it (maximum_history 1000), unless the raw log is asked.
            if compact && (at + 3) % 500 == 0 && at + 3 >= 1500 {
                writes.push(Write::Snapshot {
                    document: Arc::from("counter/big"),
                    index: at + 3,
                    json: Arc::new(engine.dump()),
                    keep: 1000,
                });
            }
            if writes.len() >= 10_000 {
                store.commit(&writes).expect("committed");
                writes.clear();
            }
        }
        store.commit(&writes).expect("committed");
    }
    println!(
        "wrote {transactions} transactions in {:.1} s",
        written.elapsed().as_secs_f64()
    );
    {
        let store = RedbStore::open(&data).expect("a store");
        let started = Instant::now();
        let stored = store.load("counter/big").expect("loads").expect("exists");
        let read = started.elapsed();
        let json = stored.fold();
        let folded = started.elapsed();
        Engine::restore(&space, "big", &json).expect("restores");
        println!(
            "store only: read {:.1} ms, fold {:.1} ms, insert {:.1} ms",
            read.as_secs_f64() * 1000.0,
            (folded - read).as_secs_f64() * 1000.0,
            (started.elapsed() - folded).as_secs_f64() * 1000.0
        );
    }
    let spaces = vec![SpaceSource {
        name: "counter".into(),
        file: "counter.a".into(),
        text: COUNTER.into(),
        watch: None,
        budget: Default::default(),
    }];
    let config = Config::new(
        "127.0.0.1:0".parse().expect("an address"),
        data.clone(),
        spaces,
    );
    let running = adama_node::start(config).await.expect("the node starts");
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/~s", running.address))
        .await
        .expect("a socket");
    read(&mut socket).await.expect("connected");
    let started = Instant::now();
    let open = json!({"method": "connection/create", "id": 1, "identity": "anonymous:reader",
        "space": "counter", "key": "big", "viewer-state": {}});
    socket
        .send(Message::Text(open.to_string().into()))
        .await
        .expect("sent");
    let first = read(&mut socket).await.expect("the first delta");
    let elapsed = started.elapsed();
    println!(
        "load of a document with {transactions} logged transactions, to the first delta: {:.1} ms (count {})",
        elapsed.as_secs_f64() * 1000.0,
        first["response"]["delta"]["data"]["count"]
    );
    running.task.abort();
    let _ = std::fs::remove_dir_all(&data);
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    let runtime = match adama_node::runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            std::process::exit(2);
        }
    };
    if let Some(transactions) = options.reload {
        runtime.block_on(reload(transactions, options.compact));
        return;
    }
    runtime.block_on(async move {
        let data = std::env::temp_dir().join(format!("adama-load-{}", std::process::id()));
        let spaces = vec![SpaceSource { name: "counter".into(), file: "counter.a".into(), text: COUNTER.into(), watch: None, budget: Default::default() }];
        let config = Config::new("127.0.0.1:0".parse().expect("an address"), data.clone(), spaces);
        let running = match adama_node::start(config).await {
            Ok(running) => running,
            Err(message) => {
                eprintln!("error: {message}");
                std::process::exit(2);
            }
        };
        let address = running.address.to_string();
        // Create every document first (one socket).
        let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{address}/~s")).await.expect("a socket");
        // In chunks: a socket may have 512 requests in flight.
        for chunk in (0..options.documents).collect::<Vec<_>>().chunks(256) {
            for document in chunk {
                let create = json!({"method": "document/create", "id": document + 1, "identity": "anonymous:bench",
                    "space": "counter", "key": format!("d{document}"), "arg": {}});
                socket.send(Message::Text(create.to_string().into())).await.expect("sent");
            }
            let mut created = 0;
            while created < chunk.len() {
                let frame = read(&mut socket).await.expect("replies");
                if frame.get("failure").is_some() {
                    eprintln!("a creation failed: {frame}");
                }
                if frame.get("deliver").is_some() || frame.get("failure").is_some() {
                    created += 1;
                }
            }
        }
        let fsyncs_before = running.node.metrics.fsyncs.load(Ordering::Relaxed);
        let committed_before = running.node.metrics.transactions_committed.load(Ordering::Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for document in 0..options.documents {
            for client in 0..options.connections {
                tasks.push(tokio::spawn(connection(
                    address.clone(),
                    format!("d{document}"),
                    format!("c{client}"),
                    Arc::clone(&stop),
                    options.window,
                )));
            }
        }
        tokio::time::sleep(Duration::from_secs(options.seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let mut latencies = Vec::new();
        let mut failures = 0;
        for task in tasks {
            if let Ok((mine, failed)) = task.await {
                latencies.extend(mine);
                failures += failed;
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort();
        let fsyncs = running.node.metrics.fsyncs.load(Ordering::Relaxed) - fsyncs_before;
        let committed = running.node.metrics.transactions_committed.load(Ordering::Relaxed) - committed_before;
        println!(
            "{} documents x {} connections, window {}, {:.1} s",
            options.documents, options.connections, options.window, elapsed
        );
        println!("acknowledged sends: {} ({:.0}/s), failures: {failures}", latencies.len(), latencies.len() as f64 / elapsed);
        println!(
            "ack latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.9),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0)
        );
        println!(
            "transactions committed: {committed}, fsyncs: {fsyncs}, transactions per fsync: {:.1}",
            committed as f64 / fsyncs.max(1) as f64
        );
        running.task.abort();
        let _ = std::fs::remove_dir_all(&data);
    });
}
