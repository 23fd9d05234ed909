//! The load of a document with a long history: a counter document whose log holds
//! `--transactions` sends is written into a store as the node writes it (snapshots at the
//! node's interval, history kept by `--history`), then a node is started on that store and
//! the time from `connection/create` to the first delta is measured.

use std::sync::Arc;
use std::time::Instant;

use adama_node::document::snapshot_interval;
use adama_node::engine::{Context, Engine, Space, Who};
use adama_node::store::redb::RedbStore;
use adama_node::store::{Entry, Store, Write};
use serde_json::json;

use crate::Options;
use crate::client;
use crate::target::{COUNTER, config};

const DOCUMENT: &str = "counter/big";

fn write_history(data: &std::path::Path, transactions: u64, history: u64) -> Result<(), String> {
    let space = Space::compile("counter", "counter.a", COUNTER)?;
    let store = RedbStore::open(data).map_err(|error| error.to_string())?;
    let mut engine = Engine::fresh(&space, "big")?;
    let context = Context {
        who: Who::new("bench", "anonymous"),
        origin: String::new(),
        ip: String::new(),
    };
    let interval = snapshot_interval(history as usize);
    let mut since_snapshot = 0;
    let mut writes = Vec::new();
    for at in 0..transactions {
        let command = match at {
            0 => {
                let mut construct = context.command("construct", "big", 0);
                construct["arg"] = json!({});
                construct
            }
            1 => context.command("connect", "big", 1),
            _ => {
                let mut send = context.command("send", "big", at as i64);
                send["channel"] = json!("bump");
                send["message"] = json!({"by": 1});
                send
            }
        };
        let record = engine.execute(command).map_err(|refusal| refusal.message)?;
        let index = at + 1;
        since_snapshot += 1;
        let entry = Entry::new(&record).map_err(|error| error.to_string())?;
        writes.push(Write::Append {
            document: Arc::from(DOCUMENT),
            index,
            entry,
        });
        // The node snapshots after a round; a round of one transaction is the worst case.
        if since_snapshot >= interval {
            writes.push(Write::Snapshot {
                document: Arc::from(DOCUMENT),
                index,
                json: Arc::new(engine.dump()),
                keep: history,
            });
            since_snapshot = 0;
        }
        if writes.len() >= 10_000 {
            store.commit(&writes).map_err(|error| error.to_string())?;
            writes.clear();
        }
    }
    store.commit(&writes).map_err(|error| error.to_string())?;
    Ok(())
}

pub async fn run(options: &Options) -> Result<(), String> {
    let data = std::env::temp_dir().join(format!("adama-reload-{}", std::process::id()));
    let (transactions, history) = (options.transactions.max(2), options.history);
    let written = Instant::now();
    {
        let data = data.clone();
        tokio::task::spawn_blocking(move || write_history(&data, transactions, history))
            .await
            .map_err(|_| "writing the history stopped unexpectedly")??;
    }
    println!(
        "wrote {transactions} transactions (maximum_history {history}) in {:.1} s",
        written.elapsed().as_secs_f64()
    );
    {
        let store = RedbStore::open(&data).map_err(|error| error.to_string())?;
        let started = Instant::now();
        let stored = store
            .load(DOCUMENT)
            .map_err(|error| error.to_string())?
            .ok_or("the document is not in the store")?;
        println!(
            "store: {} entries after the snapshot, read in {:.1} ms; the log holds {} entries",
            stored.tail.len(),
            started.elapsed().as_secs_f64() * 1000.0,
            store
                .log(DOCUMENT)
                .map_err(|error| error.to_string())?
                .len()
        );
    }
    let running = adama_node::start(config(data.clone(), Some(history))).await?;
    let address = running.address.to_string();
    let mut socket = client::open(&address).await?;
    let started = Instant::now();
    client::connect(&mut socket, 1, "big", "reader").await?;
    let (_, first) = client::read(&mut socket)
        .await
        .ok_or("the socket closed before the first delta")?;
    let elapsed = started.elapsed();
    let count = serde_json::from_str::<serde_json::Value>(&first)
        .map(|frame| frame["response"]["delta"]["data"]["count"].clone())
        .unwrap_or_default();
    println!(
        "load of a document with {transactions} logged transactions, to the first delta: {:.1} ms (count {count})",
        elapsed.as_secs_f64() * 1000.0,
    );
    running.task.abort();
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
