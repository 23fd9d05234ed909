//! Read replica lag: a primary and a replica (`--replica-of`) in child processes; one writer
//! sends to a counter document on the primary at `--rate` per second, one viewer watches it on
//! the replica. For each seq, the lag is the time from the writer's acknowledgement to the
//! replica viewer's delta that carries that seq.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use tokio_tungstenite::tungstenite::Message;

use crate::Options;
use crate::client::{self, Socket};
use crate::sends::percentile;
use crate::target::Target;

const KEY: &str = "replica-lag";

/// Reads text frames, answering pings; `None` when the socket ends.
async fn next(socket: &mut Socket) -> Option<Json> {
    loop {
        let text = match socket.next().await? {
            Ok(Message::Text(text)) => text,
            Ok(_) => continue,
            Err(_) => return None,
        };
        let frame: Json = serde_json::from_str(text.as_str()).ok()?;
        if let Some(ping) = frame.get("ping") {
            let pong = json!({"ping": ping, "pong": 0}).to_string();
            socket.send(Message::Text(pong.into())).await.ok()?;
            continue;
        }
        return Some(frame);
    }
}

/// Waits for the first answer to request `id` (for a stream: it is open).
async fn opened(socket: &mut Socket, id: i64) -> Result<(), String> {
    loop {
        let frame = next(socket)
            .await
            .ok_or("the socket closed while opening")?;
        if frame["failure"] == id {
            return Err(format!("the stream failed: {frame}"));
        }
        if frame["deliver"] == id {
            return Ok(());
        }
    }
}

pub async fn run(options: &Options) -> Result<(), String> {
    let primary = Target::start(options).await?;
    let replica = Target::start_replica(&primary.address).await?;
    let rate = options.rate.unwrap_or(1000);
    let mut writer = client::open(&primary.address).await?;
    let create = json!({"method": "document/create", "id": 1, "identity": "anonymous:bench",
        "space": "counter", "key": KEY, "arg": {}});
    client::send(&mut writer, &create).await?;
    opened(&mut writer, 1).await?;
    client::connect(&mut writer, 2, KEY, "writer").await?;
    opened(&mut writer, 2).await?;
    let mut viewer = client::open(&replica.address).await?;
    client::connect(&mut viewer, 5, KEY, "viewer").await?;
    opened(&mut viewer, 5).await?;

    let seconds = Duration::from_secs(options.seconds);
    let watching = tokio::spawn(async move {
        let mut seen: HashMap<i64, Instant> = HashMap::new();
        let deadline = tokio::time::Instant::now() + seconds + Duration::from_secs(5);
        while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, next(&mut viewer)).await {
            if frame["failure"] == 5 {
                return Err(format!("the replica's stream failed: {frame}"));
            }
            if let Some(seq) = frame["response"]["delta"]["seq"].as_i64() {
                seen.entry(seq).or_insert_with(Instant::now);
            }
        }
        Ok(seen)
    });

    let (mut outgoing, mut incoming) = writer.split();
    let sending = tokio::spawn(async move {
        let pace = Duration::from_secs_f64(1.0 / rate as f64);
        let mut ticks = tokio::time::interval(pace);
        let started = Instant::now();
        let mut id = 100i64;
        while started.elapsed() < seconds {
            ticks.tick().await;
            id += 1;
            let send = json!({"method": "connection/send", "id": id, "connection": 2,
                "channel": "bump", "message": {"by": 1}});
            if outgoing
                .send(Message::Text(send.to_string().into()))
                .await
                .is_err()
            {
                break;
            }
        }
        (id - 100, outgoing)
    });
    let mut acked: HashMap<i64, Instant> = HashMap::new();
    let mut failures = 0u64;
    let mut first_failure = None;
    let deadline = tokio::time::Instant::now() + seconds + Duration::from_secs(3);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, incoming.next()).await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Json>(text.as_str()) else {
            continue;
        };
        if frame.get("failure").is_some_and(|id| id != 2) {
            failures += 1;
            first_failure.get_or_insert_with(|| frame.to_string());
        }
        if frame["done"] == true
            && let Some(seq) = frame["response"]["seq"].as_i64()
        {
            acked.insert(seq, Instant::now());
        }
    }
    let (sent, _outgoing) = sending
        .await
        .map_err(|_| "the sender stopped unexpectedly")?;
    let seen = watching
        .await
        .map_err(|_| "the viewer stopped unexpectedly")??;

    let mut lags: Vec<Duration> = Vec::new();
    let mut early = 0u64;
    let mut unseen = 0u64;
    for (seq, at) in &acked {
        match seen.get(seq) {
            Some(shown) if shown >= at => lags.push(*shown - *at),
            // The replica's delta arrived before the writer's acknowledgement.
            Some(_) => {
                early += 1;
                lags.push(Duration::ZERO);
            }
            None => unseen += 1,
        }
    }
    lags.sort_unstable();
    if let Some(failure) = first_failure {
        println!("first failure: {failure}");
    }
    println!(
        "replica lag at {rate}/s for {}s: {sent} sent, {} acknowledged, {failures} failed; \
         {} seen on the replica ({early} before their acknowledgement, {unseen} never as their own delta)",
        options.seconds,
        acked.len(),
        lags.len()
    );
    println!(
        "acknowledgement on the primary to delta on the replica: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&lags, 0.5),
        percentile(&lags, 0.9),
        percentile(&lags, 0.99),
        percentile(&lags, 1.0)
    );
    drop(replica);
    Ok(())
}
