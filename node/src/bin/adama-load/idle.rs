//! Memory at rest: the node's resident memory before and after opening `--connections` idle
//! sockets, then after loading `--documents` idle documents.

use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::Options;
use crate::client;
use crate::target::Target;

/// How long the node is left to settle before its memory is read.
const SETTLE: Duration = Duration::from_secs(2);

async fn resident(target: &Target) -> Result<u64, String> {
    tokio::time::sleep(SETTLE).await;
    target
        .resident()
        .ok_or_else(|| "the node's memory cannot be read (give --pid with --connect)".to_owned())
}

pub async fn run(options: &Options) -> Result<(), String> {
    let target = Target::start(options).await?;
    let before = resident(&target).await?;
    let opening = Instant::now();
    let permits = std::sync::Arc::new(Semaphore::new(128));
    let mut tasks = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        let address = target.address.clone();
        let permits = std::sync::Arc::clone(&permits);
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire().await.map_err(|e| e.to_string())?;
            client::open(&address).await
        }));
    }
    let mut sockets = Vec::with_capacity(tasks.len());
    let mut failures = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(socket)) => sockets.push(socket),
            Ok(Err(why)) => {
                if failures == 0 {
                    eprintln!("first failure: {why}");
                }
                failures += 1;
            }
            Err(_) => failures += 1,
        }
    }
    println!(
        "{} idle connections open ({failures} failed) in {:.1} s; the node counts {}",
        sockets.len(),
        opening.elapsed().as_secs_f64(),
        target.metric("adama_connections").await?
    );
    let with_connections = resident(&target).await?;
    client::create_documents(&target.address, options.documents).await?;
    let with_documents = resident(&target).await?;
    let loaded = target.metric("adama_documents_loaded").await?;
    let per = |grown: u64, count: usize| grown as f64 / count.max(1) as f64 / 1024.0;
    println!(
        "resident memory: {:.1} MiB at rest, {:.1} MiB with the connections, {:.1} MiB with {loaded} loaded documents",
        before as f64 / 1048576.0,
        with_connections as f64 / 1048576.0,
        with_documents as f64 / 1048576.0
    );
    println!(
        "per idle connection: {:.1} KiB; per loaded idle document: {:.1} KiB",
        per(with_connections.saturating_sub(before), sockets.len()),
        per(
            with_documents.saturating_sub(with_connections),
            options.documents
        )
    );
    drop(sockets);
    Ok(())
}
