//! Document throughput: a counter without viewers, a chat room with many viewers, and how cost
//! grows with rows and viewers.

use std::hint::black_box;

use adama_runtime::Document;
use adama_runtime::program::compile;
use adama_runtime::value::Principal;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const COUNTER: &str = r#"
@connected { return true; }
public int count;
message Add { int by; }
channel add(Add a) { count += a.by; }
"#;

const CHAT: &str = r#"
@connected { return true; }
record Line { public int id; public principal who; public string what; }
table<Line> _lines;
public formula lines = iterate _lines;
message Say { string what; }
channel say(Say s) { _lines <- {who: @who, what: s.what}; }
"#;

fn constructed(source: &str) -> Document {
    let program = compile("bench.a", source).expect("compiles");
    let mut document = Document::new(program, "bench", "doc").expect("document");
    document
        .execute_batch(&json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0}))
        .expect("construct");
    document
}

fn connected(source: &str, viewers: usize) -> (Document, Vec<usize>) {
    let mut document = constructed(source);
    let mut views = Vec::new();
    for index in 0..viewers.max(1) {
        let agent = format!("user{index}");
        document
            .execute_batch(&json!({"command": "connect", "who": {"agent": agent, "authority": "bench"}, "timestamp": 1}))
            .expect("connect");
        if index < viewers {
            let view = document.open_view(Principal::new(&agent, "bench"), json!({}));
            document.view_delta(view).expect("first view");
            views.push(view);
        }
    }
    (document, views)
}

fn counter(c: &mut Criterion) {
    let (mut document, _) = connected(COUNTER, 0);
    let command = json!({"command": "send", "who": {"agent": "user0", "authority": "bench"}, "channel": "add", "message": {"by": 1}, "timestamp": 5});
    let mut group = c.benchmark_group("counter");
    group.throughput(Throughput::Elements(1));
    group.bench_function("send, no viewers", |b| {
        b.iter(|| black_box(document.execute(&command).expect("send")));
    });
    group.finish();
}

/// One chat message appended to a room that already holds `rows` lines, with `viewers` views
/// each receiving its delta. The room grows by one line per iteration, so long runs measure a
/// somewhat larger room than `rows`.
fn chat(c: &mut Criterion) {
    let mut group = c.benchmark_group("chat");
    group.throughput(Throughput::Elements(1));
    for (rows, viewers) in [(100, 100), (1000, 100), (100, 10), (100, 1000)] {
        let (mut document, views) = connected(CHAT, viewers);
        let command = json!({"command": "send", "who": {"agent": "user0", "authority": "bench"}, "channel": "say", "message": {"what": "hello there"}, "timestamp": 5});
        for _ in 0..rows {
            document.execute(&command).expect("fill");
        }
        for view in &views {
            document.view_delta(*view).expect("sync");
        }
        group.bench_with_input(
            BenchmarkId::new(
                "message with view deltas",
                format!("{rows} rows, {viewers} viewers"),
            ),
            &(),
            |b, ()| {
                b.iter(|| {
                    document.execute(&command).expect("say");
                    for view in &views {
                        black_box(document.view_delta(*view).expect("delta"));
                    }
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, counter, chat);
criterion_main!(benches);
