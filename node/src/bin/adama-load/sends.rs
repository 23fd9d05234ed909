//! Acknowledged, durable sends: every connection opens a stream on its document, waits until
//! all have, then sends (in a closed loop, or paced to a total rate) for the measured seconds.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{Semaphore, watch};

use crate::Options;
use crate::client::{self, Socket};
use crate::target::Target;

/// Sockets opened at once, so that the node's accept queue does not overflow.
const OPENING: usize = 128;

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    failures: u64,
    first_failure: Option<String>,
}

impl Outcome {
    fn fail(mut self, why: String) -> Outcome {
        self.failures += 1;
        self.first_failure.get_or_insert(why);
        self
    }
}

struct Plan {
    window: usize,
    /// Time between two sends of one connection, when paced.
    pace: Option<Duration>,
    opening: Arc<Semaphore>,
    ready: Arc<AtomicUsize>,
    start: watch::Receiver<bool>,
    stop: Arc<AtomicBool>,
}

async fn opened(plan: &Plan, address: &str, key: &str, who: &str) -> Result<Socket, String> {
    let _permit = plan.opening.acquire().await.map_err(|e| e.to_string())?;
    let mut socket = client::open(address).await?;
    client::connect(&mut socket, 1, key, who).await?;
    // The stream is open once its first delta arrives.
    loop {
        let (frame, text) = client::read(&mut socket)
            .await
            .ok_or("the socket closed while connecting")?;
        if frame.failure.is_some() {
            return Err(format!("the stream failed: {text}"));
        }
        if frame.deliver == Some(1) {
            return Ok(socket);
        }
    }
}

async fn connection(
    plan: Arc<Plan>,
    index: usize,
    address: String,
    key: String,
    who: String,
) -> Outcome {
    let outcome = Outcome::default();
    let socket = opened(&plan, &address, &key, &who).await;
    plan.ready.fetch_add(1, Ordering::Relaxed);
    let mut socket = match socket {
        Ok(socket) => socket,
        Err(why) => return outcome.fail(why),
    };
    let mut start = plan.start.clone();
    if start.wait_for(|started| *started).await.is_err() {
        return outcome;
    }
    match plan.pace {
        Some(pace) => paced(&plan, &mut socket, pace, spread(index), outcome).await,
        None => closed_loop(&plan, &mut socket, outcome).await,
    }
}

fn send_request(id: i64) -> serde_json::Value {
    json!({"method": "connection/send", "id": id, "connection": 1, "channel": "bump",
        "message": {"by": 1}})
}

/// Takes one frame into account: an acknowledgement or failure of a send in flight.
fn account(
    frame: &client::Frame,
    text: &str,
    in_flight: &mut HashMap<i64, Instant>,
    outcome: &mut Outcome,
) -> Result<(), String> {
    if let Some(id) = frame.failure {
        if in_flight.remove(&id).is_some() {
            outcome.failures += 1;
            outcome.first_failure.get_or_insert_with(|| text.to_owned());
            return Ok(());
        }
        return Err(format!("the stream failed: {text}"));
    }
    if let Some(id) = frame.deliver
        && frame.done
        && let Some(sent) = in_flight.remove(&id)
    {
        outcome.latencies.push(sent.elapsed());
    }
    Ok(())
}

async fn closed_loop(plan: &Plan, socket: &mut Socket, mut outcome: Outcome) -> Outcome {
    let mut in_flight = HashMap::new();
    let mut next_id = 10;
    loop {
        while in_flight.len() < plan.window && !plan.stop.load(Ordering::Relaxed) {
            if let Err(why) = client::send(socket, &send_request(next_id)).await {
                return outcome.fail(why);
            }
            in_flight.insert(next_id, Instant::now());
            next_id += 1;
        }
        if in_flight.is_empty() {
            return outcome;
        }
        let Some((frame, text)) = client::read(socket).await else {
            return outcome.fail("the socket closed".into());
        };
        if let Err(why) = account(&frame, &text, &mut in_flight, &mut outcome) {
            return outcome.fail(why);
        }
    }
}

async fn paced(
    plan: &Plan,
    socket: &mut Socket,
    pace: Duration,
    phase: f64,
    mut outcome: Outcome,
) -> Outcome {
    let mut in_flight = HashMap::new();
    let mut next_id = 10;
    // Connections start spread over one period, so that the sends are spread too.
    let offset = pace.mul_f64(phase);
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, pace);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if plan.stop.load(Ordering::Relaxed) {
                    break;
                }
                if in_flight.len() >= plan.window {
                    // The node is behind: this send is late, and counts as such when answered.
                    continue;
                }
                if let Err(why) = client::send(socket, &send_request(next_id)).await {
                    return outcome.fail(why);
                }
                in_flight.insert(next_id, Instant::now());
                next_id += 1;
            }
            read = client::read(socket) => {
                let Some((frame, text)) = read else {
                    return outcome.fail("the socket closed".into());
                };
                if let Err(why) = account(&frame, &text, &mut in_flight, &mut outcome) {
                    return outcome.fail(why);
                }
            }
        }
    }
    while !in_flight.is_empty() {
        let Some((frame, text)) = client::read(socket).await else {
            return outcome.fail("the socket closed".into());
        };
        if let Err(why) = account(&frame, &text, &mut in_flight, &mut outcome) {
            return outcome.fail(why);
        }
    }
    outcome
}

/// Where in the period a connection starts: spread evenly by the golden ratio.
fn spread(index: usize) -> f64 {
    (index as f64 * 0.618_033_988_749_895).fract()
}

pub fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Sockets with their streams open, waiting for the start.
pub struct Opened {
    plan: Arc<Plan>,
    started: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Outcome>>,
}

/// What a load run measured.
pub struct Driven {
    /// The acknowledgement latencies, sorted.
    pub latencies: Vec<Duration>,
    pub failures: u64,
    pub first_failure: Option<String>,
    pub elapsed: f64,
}

impl Driven {
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed
    }

    /// `p50 … p90 … p99 … max …` in milliseconds.
    pub fn percentiles(&self) -> String {
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            percentile(&self.latencies, 0.5),
            percentile(&self.latencies, 0.9),
            percentile(&self.latencies, 0.99),
            percentile(&self.latencies, 1.0)
        )
    }
}

/// Opens `connections` streams on each of the documents `d0…`; document `d{i}`'s sockets go
/// to `address_of(i)`.
pub async fn open(
    options: &Options,
    address_of: impl Fn(usize) -> String,
) -> Result<Opened, String> {
    let total = options.documents * options.connections;
    let pace = options
        .rate
        .map(|rate| Duration::from_secs_f64(total as f64 / rate as f64));
    let (started, start) = watch::channel(false);
    let plan = Arc::new(Plan {
        window: options.window,
        pace,
        opening: Arc::new(Semaphore::new(OPENING)),
        ready: Arc::new(AtomicUsize::new(0)),
        start,
        stop: Arc::new(AtomicBool::new(false)),
    });
    let opening = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for document in 0..options.documents {
        for client in 0..options.connections {
            tasks.push(tokio::spawn(connection(
                Arc::clone(&plan),
                tasks.len(),
                address_of(document),
                format!("d{document}"),
                format!("c{client}"),
            )));
        }
    }
    while plan.ready.load(Ordering::Relaxed) < total {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "{total} connections opened in {:.1} s",
        opening.elapsed().as_secs_f64()
    );
    Ok(Opened {
        plan,
        started,
        tasks,
    })
}

impl Opened {
    /// Sends for `seconds`, then waits for what is in flight.
    pub async fn drive(self, seconds: u64) -> Driven {
        let began = Instant::now();
        let _ = self.started.send(true);
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        self.plan.stop.store(true, Ordering::Relaxed);
        let mut latencies = Vec::new();
        let mut failures = 0;
        let mut first_failure = None;
        for task in self.tasks {
            if let Ok(outcome) = task.await {
                latencies.extend(outcome.latencies);
                failures += outcome.failures;
                first_failure = first_failure.or(outcome.first_failure);
            }
        }
        let elapsed = began.elapsed().as_secs_f64();
        latencies.sort();
        Driven {
            latencies,
            failures,
            first_failure,
            elapsed,
        }
    }
}

pub fn mode(options: &Options) -> String {
    match options.rate {
        Some(rate) => format!("paced to {rate}/s"),
        None => format!("closed loop, window {}", options.window),
    }
}

pub async fn run(options: &Options) -> Result<(), String> {
    let target = Target::start(options).await?;
    client::create_documents(&target.address, options.documents).await?;
    let opened = open(options, |_| target.address.clone()).await?;
    let (committed_before, fsyncs_before) = target.commits().await?;
    let cpu_before = target.cpu();
    let driven = opened.drive(options.seconds).await;
    let elapsed = driven.elapsed;
    let cpu = target
        .cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let (committed, fsyncs) = target.commits().await?;
    let (committed, fsyncs) = (committed - committed_before, fsyncs - fsyncs_before);
    println!(
        "{} documents x {} connections, {}, {elapsed:.1} s",
        options.documents,
        options.connections,
        mode(options)
    );
    println!(
        "acknowledged sends: {} ({:.0}/s), failures: {}",
        driven.latencies.len(),
        driven.per_second(),
        driven.failures
    );
    if let Some(why) = &driven.first_failure {
        println!("first failure: {why}");
    }
    println!("ack latency ms: {}", driven.percentiles());
    println!(
        "transactions committed: {committed}, fsyncs: {fsyncs}, transactions per fsync: {:.1}",
        committed / fsyncs.max(1.0)
    );
    if let Some(cpu) = cpu
        && !options.in_process
    {
        // What the node would sustain with every core to itself, at this cost per send.
        let per_send = cpu.as_secs_f64() / driven.latencies.len().max(1) as f64;
        println!(
            "node CPU: {:.2} s over {elapsed:.1} s ({:.0}% of one core), {:.1} us per acknowledged send",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() / elapsed * 100.0,
            per_send * 1e6
        );
    }
    Ok(())
}
