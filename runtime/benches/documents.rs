//! Document throughput: a counter without viewers, a chat room with many viewers, and how cost
//! grows with rows and viewers. Benchmarks time themselves; the runtime never reads a clock.
#![allow(clippy::disallowed_methods)]

use std::alloc::{GlobalAlloc, Layout};
use std::fmt::Write;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod support;

use adama_runtime::Document;
use adama_runtime::compile;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use support::rooms::{CHAT, COUNTER, connected};

fn counter(c: &mut Criterion) {
    let (mut document, _) = connected(COUNTER, 0);
    let command = Arc::new(
        json!({"command": "send", "who": {"agent": "user0", "authority": "bench"}, "channel": "add", "message": {"by": 1}, "timestamp": 5}),
    );
    let mut group = c.benchmark_group("counter");
    group.throughput(Throughput::Elements(1));
    group.bench_function("send, no viewers", |b| {
        b.iter(|| black_box(document.execute_shared(Arc::clone(&command)).expect("send")));
    });
    group.finish();
}

/// One chat message appended to a room that holds `rows` lines, with `viewers` views each
/// receiving its delta as text (what a host sends). A fresh room is built every 1,000 messages,
/// outside the timing, so the room stays within 1,000 lines of its label.
fn chat(c: &mut Criterion) {
    let mut group = c.benchmark_group("chat");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    let command = Arc::new(
        json!({"command": "send", "who": {"agent": "user0", "authority": "bench"}, "channel": "say", "message": {"what": "hello there"}, "timestamp": 5}),
    );
    for (rows, viewers) in [
        (0, 100),
        (1000, 100),
        (10_000, 100),
        (100_000, 100),
        (0, 1),
        (0, 10),
        (0, 1000),
        (10_000, 1),
        (10_000, 1000),
    ] {
        let room = || {
            let (mut document, views) = connected(CHAT, viewers);
            for _ in 0..rows {
                document.execute_shared(Arc::clone(&command)).expect("fill");
            }
            for view in &views {
                document.view_delta_text(*view).expect("sync");
            }
            (document, views)
        };
        group.bench_function(
            BenchmarkId::new(
                "message with view deltas",
                format!("{rows} rows, {viewers} viewers"),
            ),
            |b| {
                b.iter_custom(|iterations| {
                    let mut spent = Duration::ZERO;
                    let mut left = iterations;
                    while left > 0 {
                        let (mut document, views) = room();
                        let batch = left.min(1000);
                        let start = Instant::now();
                        for _ in 0..batch {
                            document.execute_shared(Arc::clone(&command)).expect("say");
                            for view in &views {
                                black_box(document.view_delta_text(*view).expect("delta"));
                            }
                        }
                        spent += start.elapsed();
                        left -= batch;
                    }
                    spent
                });
            },
        );
    }
    group.finish();
}

/// The chat room's steady cost: after the room is built and every view has caught up, and
/// after 100 more messages, 2,000 messages each followed by every view's delta, printed once.
/// The `chat` group above builds a fresh room every 1,000 messages at most, so it also counts
/// the first messages after a catch-up, whose cost grows with the rows just sent.
fn steady(c: &mut Criterion) {
    let _ = c;
    if !selected("steady") {
        return;
    }
    for (rows, viewers) in [(0, 100), (1000, 100), (10_000, 100), (100_000, 100)] {
        let cost = steady_cost(rows, viewers, 2000);
        println!(
            "steady: {rows} rows, {viewers} viewers: {:.0} messages/s ({:.1} µs a message)",
            1e6 / cost,
            cost
        );
    }
}

/// How the cost of a chat message grows with the rows already in the room and with the
/// viewers receiving it, printed as a table of µs per message (steady cost, as above).
fn growth(c: &mut Criterion) {
    let _ = c;
    if !selected("growth") {
        return;
    }
    let rows = [0usize, 1000, 10_000, 100_000];
    let viewers = [1usize, 10, 100, 1000];
    println!("growth: µs per chat message (rows down, viewers across)");
    let mut header = format!("{:>8}", "rows");
    for count in viewers {
        let _ = write!(header, " | {:>9}", format!("{count} views"));
    }
    println!("{header}");
    for count in rows {
        let mut line = format!("{count:>8}");
        for watching in viewers {
            // Fewer messages where each costs more, so every cell takes a similar time.
            let messages = (200_000 / (watching + 10)).clamp(200, 4000) as u32;
            let _ = write!(line, " | {:>9.1}", steady_cost(count, watching, messages));
        }
        println!("{line}");
    }
}

/// The µs a chat message costs with every view's delta taken, in a room of `rows` lines and
/// `viewers` views that have caught up, over `messages` messages after 100 unmeasured ones.
fn steady_cost(rows: usize, viewers: usize, messages: u32) -> f64 {
    let command = Arc::new(
        json!({"command": "send", "who": {"agent": "user0", "authority": "bench"}, "channel": "say", "message": {"what": "hello there"}, "timestamp": 5}),
    );
    let (mut document, views) = connected(CHAT, viewers);
    for _ in 0..rows {
        document.execute_shared(Arc::clone(&command)).expect("fill");
    }
    for view in &views {
        document.view_delta_text(*view).expect("sync");
    }
    let message = |document: &mut Document| {
        document.execute_shared(Arc::clone(&command)).expect("say");
        for view in &views {
            black_box(document.view_delta_text(*view).expect("delta"));
        }
    };
    for _ in 0..100 {
        message(&mut document);
    }
    let start = Instant::now();
    for _ in 0..messages {
        message(&mut document);
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(messages)
}

/// Whether a printed measurement was asked for: criterion's filter (the first argument that is
/// not an option or an option's value) names it, or there is no filter.
fn selected(name: &str) -> bool {
    const WITH_VALUE: [&str; 12] = [
        "--warm-up-time",
        "--measurement-time",
        "--profile-time",
        "--sample-size",
        "--save-baseline",
        "--baseline",
        "--load-baseline",
        "--output-format",
        "--color",
        "--nresamples",
        "--noise-threshold",
        "--significance-level",
    ];
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let mut index = 0;
    while index < arguments.len() {
        let argument = &arguments[index];
        if WITH_VALUE.contains(&argument.as_str()) {
            index += 2;
            continue;
        }
        if !argument.starts_with('-') {
            return name.contains(argument.as_str());
        }
        index += 1;
    }
    true
}

/// Memory of an idle document holding `rows` rows of five fields: the growth of the process's
/// heap while building it, printed once (criterion measures time, not memory). The compiled
/// program is shared by every document of it, so it is counted apart: "per row" is what the
/// document holds beyond the empty one, divided by its rows.
fn memory(c: &mut Criterion) {
    let _ = c;
    if !selected("memory") {
        return;
    }
    COUNTING.store(true, Ordering::Relaxed);
    let before = allocated();
    let program = compile("bench.a", ROWS).expect("compiles");
    let loaded = adama_runtime::Loaded::new(program);
    println!(
        "memory: the program: {} bytes",
        allocated().wrapping_sub(before)
    );
    let command = json!({"command": "send", "who": {"agent": "?", "authority": "?"}, "channel": "add", "message": {"a": 1, "b": "some text", "c": 2.5, "d": true}, "timestamp": 5});
    for rows in [1000usize, 10_000, 100_000] {
        let before = allocated();
        let mut document =
            Document::of_loaded(Arc::clone(&loaded), "bench", "doc").expect("document");
        document
            .execute_batch(&json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0}))
            .expect("construct");
        let empty = allocated().wrapping_sub(before);
        for _ in 0..rows {
            document.execute(&command).expect("add");
        }
        let held = allocated().wrapping_sub(before);
        println!(
            "memory: {rows} rows of 5 fields: {held} bytes, the empty document {empty} bytes ({} bytes per row)",
            (held - empty) / rows
        );
        black_box(&document);
    }
    COUNTING.store(false, Ordering::Relaxed);
}

const ROWS: &str = r#"
@static { send { return true; } }
record Row { public int a; public string b; public double c; public bool d; }
table<Row> _rows;
message Add { int a; string b; double c; bool d; }
channel add(Add m) { _rows <- m; }
"#;

/// Bytes allocated less bytes freed while counting, counted by the allocator below. Only
/// differences taken while counting mean anything (a block allocated before may be freed during).
fn allocated() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

/// Counting is on only while memory is measured: an atomic add on every allocation would cost
/// the timed benches a tenth of a counter transaction.
static COUNTING: AtomicBool = AtomicBool::new(false);

struct Counting;

/// The allocator the `adama` binary runs documents on, so that the figures are those users get.
static INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;

// SAFETY: every call is forwarded to the inner allocator unchanged; the counter only observes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { INNER.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { INNER.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What `adama run` does with a script: a room with 100 viewers, then `messages` chat messages,
/// each printed with every view's delta. A flat cost per message makes 12,000 messages take four
/// times as long as 3,000.
fn script(c: &mut Criterion) {
    let mut group = c.benchmark_group("script");
    group.sample_size(10);
    let program = compile("bench.a", CHAT).expect("compiles");
    for messages in [3000usize, 12_000] {
        let mut lines = vec![
            json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0}).to_string(),
        ];
        for index in 0..100 {
            let who = json!({"agent": format!("user{index}"), "authority": "bench"});
            lines.push(json!({"command": "connect", "who": who, "timestamp": 1}).to_string());
            lines.push(json!({"command": "view", "who": who, "viewer_state": {}}).to_string());
        }
        let say = json!({"command": "send", "who": {"agent": "user0", "authority": "bench"}, "channel": "say", "message": {"what": "hello there"}, "timestamp": 5}).to_string();
        lines.extend(std::iter::repeat_n(say, messages));
        group.throughput(Throughput::Elements(messages as u64));
        group.bench_function(
            BenchmarkId::new("chat, 100 viewers", format!("{messages} messages")),
            |b| {
                b.iter(|| {
                    black_box(
                        adama_runtime::run_script(Arc::clone(&program), "bench", "doc", &lines)
                            .expect("runs"),
                    )
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, memory, steady, growth, counter, chat, script);
criterion_main!(benches);
