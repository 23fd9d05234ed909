//! A code upgrade under viewers: `--documents` loaded documents with `--connections` streams
//! each; new code (one more field) is deployed over `PUT /~adama/deploy/counter`, and the time
//! until every stream has received its view under the new code is measured.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};

use crate::Options;
use crate::client;
use crate::sends::percentile;
use crate::target::{COUNTER, Target};

async fn viewer(
    address: String,
    key: String,
    who: String,
    opening: Arc<Semaphore>,
    ready: Arc<AtomicUsize>,
    mut deployed: watch::Receiver<Option<Instant>>,
) -> Result<Duration, String> {
    let mut socket = {
        let _permit = opening.acquire().await.map_err(|e| e.to_string())?;
        let mut socket = client::open(&address).await;
        if let Ok(socket) = &mut socket {
            client::connect(socket, 1, &key, &who).await?;
            loop {
                let (frame, text) = client::read(socket).await.ok_or("the socket closed")?;
                if frame.failure.is_some() {
                    ready.fetch_add(1, Ordering::Relaxed);
                    return Err(format!("the stream failed: {text}"));
                }
                if frame.deliver == Some(1) {
                    break;
                }
            }
        }
        ready.fetch_add(1, Ordering::Relaxed);
        socket?
    };
    let at = deployed
        .wait_for(Option::is_some)
        .await
        .map_err(|_| "the deploy never started")?
        .ok_or("the deploy never started")?;
    loop {
        let (frame, text) = client::read(&mut socket)
            .await
            .ok_or("the socket closed before the new view")?;
        if frame.deliver == Some(1) && text.contains("upgraded") {
            return Ok(at.elapsed());
        }
    }
}

pub async fn run(options: &Options) -> Result<(), String> {
    let target = Target::start(options).await?;
    client::create_documents(&target.address, options.documents).await?;
    let total = options.documents * options.connections;
    let opening = Arc::new(Semaphore::new(128));
    let ready = Arc::new(AtomicUsize::new(0));
    let (deploy, deployed) = watch::channel(None);
    let mut tasks = Vec::with_capacity(total);
    for document in 0..options.documents {
        for client in 0..options.connections {
            tasks.push(tokio::spawn(viewer(
                target.address.clone(),
                format!("d{document}"),
                format!("c{client}"),
                Arc::clone(&opening),
                Arc::clone(&ready),
                deployed.clone(),
            )));
        }
    }
    while ready.load(Ordering::Relaxed) < total {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let source = format!("{COUNTER}\npublic int upgraded = 1;\n");
    let started = Instant::now();
    let _ = deploy.send(Some(started));
    let (status, body) =
        client::http(&target.address, "PUT", "/~adama/deploy/counter", &source).await?;
    let answered = started.elapsed();
    if status != 200 {
        return Err(format!("the deploy answered {status}: {body}"));
    }
    let mut times = Vec::with_capacity(total);
    let mut failures = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(time)) => times.push(time),
            Ok(Err(why)) => {
                if failures == 0 {
                    eprintln!("first failure: {why}");
                }
                failures += 1;
            }
            Err(_) => failures += 1,
        }
    }
    times.sort();
    println!(
        "upgrade of {} documents with {} viewers each ({failures} failed): deploy answered in {:.1} ms",
        options.documents,
        options.connections,
        answered.as_secs_f64() * 1000.0
    );
    println!(
        "viewers with the new view, ms after the deploy: p50 {:.1}  p99 {:.1}  all {:.1}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 1.0)
    );
    Ok(())
}
