//! Acknowledged, durable sends: every connection opens a stream on its document, waits until
//! all have, then sends (in a closed loop, or paced to a total rate) for the measured seconds.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore, watch};

use crate::Options;
use crate::client;
use crate::target::{Target, process_cpu};
use crate::wire::{self, Kind, Outbox, Reader};
use adama_node::lock;

/// Sockets opened at once, so that the node's accept queue does not overflow.
const OPENING: usize = 128;

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    failures: u64,
    first_failure: Option<String>,
    /// The stream's items (view deltas) received while sending.
    deltas: u64,
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
    opening: Arc<Semaphore>,
    ready: Arc<AtomicUsize>,
    start: watch::Receiver<bool>,
    stop: Arc<AtomicBool>,
}

/// A socket with its stream open on a document.
type Socket = (Reader, Arc<Outbox>);

async fn opened(plan: &Plan, address: &str, key: &str, who: &str) -> Result<Socket, String> {
    let _permit = plan.opening.acquire().await.map_err(|e| e.to_string())?;
    let (mut reader, outbox) = wire::open(address).await?;
    let open = serde_json::json!({"method": "connection/create", "id": 1,
        "identity": format!("anonymous:{who}"), "space": "counter", "key": key,
        "viewer-state": {}});
    outbox.text(&open.to_string())?;
    // The stream is open once its first delta arrives.
    loop {
        match reader.next(&outbox).await? {
            (Kind::Failure(_), text) => return Err(format!("the stream failed: {text}")),
            (Kind::Item(1) | Kind::Done(1), _) => return Ok((reader, outbox)),
            _ => {}
        }
    }
}

async fn connection(plan: Arc<Plan>, address: String, key: String, who: String) -> Outcome {
    let outcome = Outcome::default();
    let socket = opened(&plan, &address, &key, &who).await;
    plan.ready.fetch_add(1, Ordering::Relaxed);
    let (mut reader, outbox) = match socket {
        Ok(socket) => socket,
        Err(why) => return outcome.fail(why),
    };
    let mut start = plan.start.clone();
    if start.wait_for(|started| *started).await.is_err() {
        return outcome;
    }
    closed_loop(&plan, &mut reader, &outbox, outcome).await
}

fn send_request(id: i64) -> String {
    format!(
        r#"{{"method":"connection/send","id":{id},"connection":1,"channel":"bump","message":{{"by":1}}}}"#
    )
}

/// Sends in flight, by request id, with when each was written (a window holds a few).
type InFlight = Vec<(i64, Instant)>;

fn take(in_flight: &mut InFlight, id: i64) -> Option<Instant> {
    let at = in_flight.iter().position(|(sent, _)| *sent == id)?;
    Some(in_flight.swap_remove(at).1)
}

/// Takes one frame into account: an acknowledgement or failure of a send in flight, or a
/// delta of the connection's stream (1).
fn account(
    kind: Kind,
    text: &str,
    in_flight: &mut InFlight,
    outcome: &mut Outcome,
) -> Result<(), String> {
    match kind {
        Kind::Failure(id) => {
            if take(in_flight, id).is_none() {
                return Err(format!("the stream failed: {text}"));
            }
            outcome.failures += 1;
            outcome.first_failure.get_or_insert_with(|| text.to_owned());
        }
        Kind::Done(id) => {
            if let Some(sent) = take(in_flight, id) {
                outcome.latencies.push(sent.elapsed());
            }
        }
        Kind::Item(1) => outcome.deltas += 1,
        _ => {}
    }
    Ok(())
}

async fn closed_loop(
    plan: &Plan,
    reader: &mut Reader,
    outbox: &Arc<Outbox>,
    mut outcome: Outcome,
) -> Outcome {
    let mut in_flight = InFlight::with_capacity(plan.window);
    let mut next_id = 10;
    loop {
        while in_flight.len() < plan.window && !plan.stop.load(Ordering::Relaxed) {
            if let Err(why) = outbox.text(&send_request(next_id)) {
                return outcome.fail(why);
            }
            in_flight.push((next_id, Instant::now()));
            next_id += 1;
        }
        if in_flight.is_empty() {
            return outcome;
        }
        let accounted = match reader.next(outbox).await {
            Ok((kind, text)) => account(kind, text, &mut in_flight, &mut outcome),
            Err(why) => Err(why),
        };
        if let Err(why) = accounted {
            return outcome.fail(why);
        }
    }
}

/// A paced connection as the pacer sees it: where to write, and what is in flight.
struct Lane {
    outbox: Arc<Outbox>,
    in_flight: Arc<Mutex<InFlight>>,
    next_id: i64,
    /// When in each period the lane sends.
    offset: Duration,
    /// Told when the pacer has sent its last: the lane's reader stops once all is answered.
    /// One per lane: a signal shared by every reader was a lock they all took on every frame.
    finished: Arc<Notify>,
}

/// What the pacer did: sends left out because the lane's window was full (the node was behind),
/// and how late (behind its schedule) the pacer itself got.
#[derive(Default)]
struct Pacing {
    skipped: u64,
    latest: Duration,
    failure: Option<String>,
}

/// Opens a paced connection; its frames are read by a task of its own, its sends are written
/// by the pacer.
async fn paced_connection(
    plan: Arc<Plan>,
    address: String,
    key: String,
    who: String,
    lanes: Arc<Mutex<Vec<Lane>>>,
    offset: Duration,
) -> Outcome {
    let outcome = Outcome::default();
    let socket = opened(&plan, &address, &key, &who).await;
    let socket = match socket {
        Ok(socket) => socket,
        Err(why) => {
            plan.ready.fetch_add(1, Ordering::Relaxed);
            return outcome.fail(why);
        }
    };
    let (reader, outbox) = socket;
    let in_flight = Arc::new(Mutex::new(InFlight::with_capacity(4)));
    let finished = Arc::new(Notify::new());
    lock(&lanes).push(Lane {
        outbox: Arc::clone(&outbox),
        in_flight: Arc::clone(&in_flight),
        next_id: 10,
        offset,
        finished: Arc::clone(&finished),
    });
    plan.ready.fetch_add(1, Ordering::Relaxed);
    read_paced(reader, outbox, in_flight, finished, outcome).await
}

/// Reads a paced connection's frames until the pacer is done and nothing is in flight.
async fn read_paced(
    mut reader: Reader,
    outbox: Arc<Outbox>,
    in_flight: Arc<Mutex<InFlight>>,
    finished: Arc<Notify>,
    mut outcome: Outcome,
) -> Outcome {
    let mut done = false;
    let finishing = finished.notified();
    tokio::pin!(finishing);
    loop {
        if done && lock(&in_flight).is_empty() {
            return outcome;
        }
        let next = tokio::select! {
            biased;
            next = reader.next(&outbox) => next,
            () = &mut finishing, if !done => {
                done = true;
                continue;
            }
        };
        let accounted = match next {
            Ok((kind, text)) => account(kind, text, &mut lock(&in_flight), &mut outcome),
            Err(why) => Err(why),
        };
        if let Err(why) = accounted {
            return outcome.fail(why);
        }
    }
}

/// How long a paced run waits for its last sends' answers before its readers stop.
const LAST_ANSWERS: Duration = Duration::from_secs(30);

/// How often the pacer wakes; it writes every send that is due by then.
const PACER_TICK: Duration = Duration::from_millis(1);

/// Writes every paced send, each lane once per period at its offset: one task and one timer
/// for all sends (a timer and a wake-up per send cost the client more than its sends).
async fn pacer(mut lanes: Vec<Lane>, period: Duration, window: usize, seconds: u64) -> Pacing {
    let mut pacing = Pacing::default();
    lanes.sort_by_key(|lane| lane.offset);
    let began = tokio::time::Instant::now();
    let end = began + Duration::from_secs(seconds);
    let mut ticks = tokio::time::interval(PACER_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The next lane to send, and the start of its period.
    let (mut next, mut round) = (0, began);
    loop {
        ticks.tick().await;
        let now = tokio::time::Instant::now();
        while next < lanes.len() && round + lanes[next].offset <= now {
            let due = round + lanes[next].offset;
            if due >= end {
                return pacing;
            }
            pacing.latest = pacing.latest.max(now - due);
            let lane = &mut lanes[next];
            if lock(&lane.in_flight).len() >= window {
                pacing.skipped += 1;
            } else {
                let id = lane.next_id;
                lane.next_id += 1;
                // Recorded first: the acknowledgement may be read before the write returns.
                lock(&lane.in_flight).push((id, Instant::now()));
                if let Err(why) = lane.outbox.text(&send_request(id)) {
                    take(&mut lock(&lane.in_flight), id);
                    pacing.failure.get_or_insert(why);
                }
            }
            next += 1;
            if next == lanes.len() {
                next = 0;
                round += period;
            }
        }
        if now >= end {
            return pacing;
        }
    }
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
    /// Time between two sends of one connection, when paced.
    pace: Option<Duration>,
    lanes: Arc<Mutex<Vec<Lane>>>,
}

/// What a load run measured.
pub struct Driven {
    /// The acknowledgement latencies, sorted.
    pub latencies: Vec<Duration>,
    pub failures: u64,
    pub first_failure: Option<String>,
    /// Deltas the viewers received while sending.
    pub deltas: u64,
    pub elapsed: f64,
    /// What the pacer did, when paced.
    pacing: Option<Pacing>,
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
        opening: Arc::new(Semaphore::new(OPENING)),
        ready: Arc::new(AtomicUsize::new(0)),
        start,
        stop: Arc::new(AtomicBool::new(false)),
    });
    let opening = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    let lanes = Arc::new(Mutex::new(Vec::with_capacity(total)));
    for document in 0..options.documents {
        for client in 0..options.connections {
            let address = address_of(document);
            let (key, who) = (format!("d{document}"), format!("c{client}"));
            let task = match pace {
                Some(pace) => tokio::spawn(paced_connection(
                    Arc::clone(&plan),
                    address,
                    key,
                    who,
                    Arc::clone(&lanes),
                    // Connections send spread over one period, so that the sends are spread too.
                    pace.mul_f64(spread(tasks.len())),
                )),
                None => tokio::spawn(connection(Arc::clone(&plan), address, key, who)),
            };
            tasks.push(task);
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
        pace,
        lanes,
    })
}

impl Opened {
    /// Sends for `seconds`, then waits for what is in flight.
    pub async fn drive(self, seconds: u64) -> Driven {
        let began = Instant::now();
        let mut pacing = None;
        match self.pace {
            Some(pace) => {
                let lanes = std::mem::take(&mut *lock(&self.lanes));
                let finishes: Vec<(Arc<Notify>, Arc<Mutex<InFlight>>)> = lanes
                    .iter()
                    .map(|lane| (Arc::clone(&lane.finished), Arc::clone(&lane.in_flight)))
                    .collect();
                pacing = Some(pacer(lanes, pace, self.plan.window, seconds).await);
                // The readers are told to stop once the last sends are answered: told at once,
                // ten thousand readers woke together and those answers waited behind them.
                let waiting = Instant::now();
                while waiting.elapsed() < LAST_ANSWERS
                    && finishes
                        .iter()
                        .any(|(_, in_flight)| !lock(in_flight).is_empty())
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                for (finished, _) in finishes {
                    finished.notify_one();
                }
            }
            None => {
                let _ = self.started.send(true);
                tokio::time::sleep(Duration::from_secs(seconds)).await;
                self.plan.stop.store(true, Ordering::Relaxed);
            }
        }
        let mut latencies = Vec::new();
        let mut failures = 0;
        let mut first_failure = None;
        let mut deltas = 0;
        for task in self.tasks {
            if let Ok(outcome) = task.await {
                latencies.extend(outcome.latencies);
                failures += outcome.failures;
                deltas += outcome.deltas;
                first_failure = first_failure.or(outcome.first_failure);
            }
        }
        let elapsed = began.elapsed().as_secs_f64();
        latencies.sort();
        Driven {
            latencies,
            failures,
            first_failure,
            deltas,
            elapsed,
            pacing,
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
    // The floor's server is no node: it has no metrics.
    let floor = options.measure == "floor";
    let target = if floor {
        Target::start_floor(options.floor_work).await?
    } else {
        Target::start(options).await?
    };
    client::create_documents(&target.address, options.documents).await?;
    let opened = open(options, |_| target.address.clone()).await?;
    let commits_before = if floor {
        None
    } else {
        Some(target.commits().await?)
    };
    let cpu_before = target.cpu();
    let own_cpu_before = process_cpu(std::process::id());
    let driven = opened.drive(options.seconds).await;
    let elapsed = driven.elapsed;
    let cpu = target
        .cpu()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let own_cpu = process_cpu(std::process::id())
        .zip(own_cpu_before)
        .map(|(after, before)| after - before);
    let commits = match commits_before {
        Some((committed_before, fsyncs_before)) => {
            let (committed, fsyncs) = target.commits().await?;
            Some((committed - committed_before, fsyncs - fsyncs_before))
        }
        None => None,
    };
    let sends = driven.latencies.len().max(1) as f64;
    println!(
        "{} documents x {} connections, {}, {elapsed:.1} s",
        options.documents,
        options.connections,
        mode(options)
    );
    println!(
        "acknowledged sends: {} ({:.0}/s), failures: {}, deltas received: {}",
        driven.latencies.len(),
        driven.per_second(),
        driven.failures,
        driven.deltas
    );
    if let Some(why) = &driven.first_failure {
        println!("first failure: {why}");
    }
    if let Some(pacing) = &driven.pacing {
        println!(
            "pacer: {} sends left out (their connection's window was full), at most {:.1} ms behind schedule",
            pacing.skipped,
            pacing.latest.as_secs_f64() * 1000.0
        );
        if let Some(why) = &pacing.failure {
            println!("pacer failure: {why}");
        }
    }
    println!("ack latency ms: {}", driven.percentiles());
    if let Some((committed, fsyncs)) = commits {
        println!(
            "transactions committed: {committed}, fsyncs: {fsyncs}, transactions per fsync: {:.1}",
            committed / fsyncs.max(1.0)
        );
    }
    if let Some(cpu) = cpu
        && !options.in_process
    {
        // What the node would sustain with every core to itself, at this cost per send.
        let per_send = cpu.as_secs_f64() / sends;
        println!(
            "node CPU: {:.2} s over {elapsed:.1} s ({:.0}% of one core), {:.1} us per acknowledged send",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() / elapsed * 100.0,
            per_send * 1e6
        );
    }
    if let Some(cpu) = own_cpu
        && !options.in_process
    {
        // The load client shares the machine: what it costs is taken from the node.
        println!(
            "load client CPU: {:.2} s ({:.0}% of one core), {:.1} us per acknowledged send",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() / elapsed * 100.0,
            cpu.as_secs_f64() / sends * 1e6
        );
    }
    Ok(())
}
