//! The debugger's speed targets, on generated logs. Run them optimised:
//! `cargo test -p adama-debugger --release --test speed -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use adama_compiler::ty::Ty;
use adama_debugger::code::{Local, Seen, field_type, held_type};
use adama_debugger::log::{log_lines, parse_log};
use adama_debugger::replay::{DEFAULT_INTERVAL, Replay, Stop};
use adama_runtime::{Document, TransactionRecord};
use serde_json::json;

const PROGRAM: &str = r#"
@static {
  create {
    return true;
  }
}

@connected {
  return true;
}

record Row {
  public int id;
  public int value;
  public string tag;
}

table<Row> _rows;
public int total;

message Add {
  int value;
}

message Bump {
  int row;
}

channel add(Add a) {
  _rows <- {value: a.value, tag: "row"};
  total += a.value;
}

channel bump(Bump b) {
  if (_rows[b.row] as row) {
    row.value++;
  }
  total++;
}
"#;

fn on_big_stack(body: impl FnOnce() + Send + 'static) {
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(body)
        .unwrap_or_else(|error| panic!("{error}"));
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

/// A log: construct, connect, `rows` adds, then `bumps` bumps spread over the rows.
fn generate(
    rows: usize,
    bumps: usize,
) -> (Arc<adama_compiler::ir::Program>, Vec<TransactionRecord>) {
    let program = adama_runtime::compile("speed.a", PROGRAM).unwrap_or_else(|e| panic!("{e:?}"));
    let mut document =
        Document::new(Arc::clone(&program), "space", "key").unwrap_or_else(|e| panic!("{e}"));
    let who = json!({"agent": "ann", "authority": "acme"});
    let mut commands = vec![
        json!({"command": "construct", "who": who, "arg": {}, "timestamp": 0, "entropy": 7}),
        json!({"command": "connect", "who": who, "timestamp": 1}),
    ];
    for index in 0..rows {
        commands.push(json!({"command": "send", "who": who, "channel": "add",
            "message": {"value": index % 100}, "timestamp": 2 + index}));
    }
    for index in 0..bumps {
        commands.push(json!({"command": "send", "who": who, "channel": "bump",
            "message": {"row": 1 + (index * 7919) % rows.max(1)}, "timestamp": 2 + rows + index}));
    }
    let records = commands
        .iter()
        .map(|command| {
            document
                .execute_batch(command)
                .unwrap_or_else(|e| panic!("{e:?}"))
        })
        .collect();
    (program, records)
}

fn report(what: &str, took: Duration, limit_ms: u128) {
    println!(
        "{what}: {:.2} ms (target < {limit_ms} ms)",
        took.as_secs_f64() * 1000.0
    );
    assert!(took.as_millis() < limit_ms, "{what} took {took:?}");
}

#[test]
#[ignore = "a benchmark: run it with --release"]
fn jumping_anywhere_in_a_log_of_100000_transactions() {
    on_big_stack(|| {
        for rows in [10, 10_000] {
            let (program, records) = generate(rows, 100_000 - rows - 2);
            let mut replay =
                Replay::new(program, records, DEFAULT_INTERVAL).unwrap_or_else(|e| panic!("{e}"));
            let mut worst = Duration::ZERO;
            for step in [99_999, 50_000, 1, 77_777, 12_345, 100_000, 65_432, 99_998] {
                let started = Instant::now();
                assert_eq!(replay.goto(step), Ok(Stop::Step));
                worst = worst.max(started.elapsed());
            }
            report(
                &format!("worst jump, 100,000 steps, {rows} rows"),
                worst,
                200,
            );
        }
    });
}

#[test]
#[ignore = "a benchmark: run it with --release"]
fn stepping_in_a_document_of_10000_rows() {
    on_big_stack(|| {
        let (program, records) = generate(10_000, 100);
        let mut replay =
            Replay::new(program, records, DEFAULT_INTERVAL).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(replay.goto(10_050), Ok(Stop::Step));
        let (mut forward, mut back) = (Duration::ZERO, Duration::ZERO);
        // The first step forward after a jump builds the live document; stepping goes on from it.
        let started = Instant::now();
        assert_eq!(replay.step_forward(), Stop::Step);
        report(
            "first step after a jump (builds the document), 10,000 rows",
            started.elapsed(),
            300,
        );
        for _ in 0..20 {
            let started = Instant::now();
            assert_eq!(replay.step_forward(), Stop::Step);
            forward = forward.max(started.elapsed());
            let started = Instant::now();
            assert_eq!(replay.step_back(), Stop::Step);
            back = back.max(started.elapsed());
            assert_eq!(replay.step_forward(), Stop::Step);
        }
        report("worst step forward, 10,000 rows", forward, 10);
        report("worst step back, 10,000 rows", back, 10);
    });
}

#[test]
#[ignore = "a benchmark: run it with --release"]
fn opening_a_session_on_a_log_of_10000_transactions() {
    on_big_stack(|| {
        let (_, records) = generate(5_000, 5_000 - 2);
        let text = log_lines(&records).join("\n");
        let started = Instant::now();
        let program =
            adama_runtime::compile("speed.a", PROGRAM).unwrap_or_else(|e| panic!("{e:?}"));
        let records = parse_log(&text).unwrap_or_else(|e| panic!("{e}"));
        let mut replay =
            Replay::new(program, records, DEFAULT_INTERVAL).unwrap_or_else(|e| panic!("{e}"));
        let scopes = replay.scopes();
        assert_eq!(scopes.len(), 3);
        report("launch to first stop, 10,000 steps", started.elapsed(), 300);
    });
}

#[test]
#[ignore = "a benchmark: run it with --release"]
fn evaluating_an_expression_on_a_document_of_10000_rows() {
    on_big_stack(|| {
        let (program, records) = generate(10_000, 100);
        let mut replay =
            Replay::new(program, records, DEFAULT_INTERVAL).unwrap_or_else(|e| panic!("{e}"));
        replay.set_source(Arc::from(PROGRAM));
        assert_eq!(replay.goto(10_050), Ok(Stop::Step));
        let expression = "(iterate _rows where value > 50).size() + total";
        let started = Instant::now();
        let first = replay
            .evaluate(expression)
            .unwrap_or_else(|e| panic!("{e}"));
        report(
            "first evaluate (compiles), 10,000 rows",
            started.elapsed(),
            500,
        );
        let started = Instant::now();
        let again = replay
            .evaluate(expression)
            .unwrap_or_else(|e| panic!("{e}"));
        report("evaluate again, 10,000 rows", started.elapsed(), 200);
        assert_eq!(first, again);
        assert_eq!(first.ty, "int");

        // A local no document field can hold, as big as the table, inside an expression.
        let list = Ty::List(Box::new(Ty::Int));
        let values: Vec<i64> = (0..10_000).collect();
        let seen = Seen {
            locals: vec![Local {
                name: "xs".to_owned(),
                ty: list.to_string(),
                value: json!(values),
                field_type: field_type(replay.program(), &list),
                held: held_type(replay.program(), &list, "xs"),
            }],
            document: replay.document().clone(),
        };
        let expression = "xs.size() + total";
        let started = Instant::now();
        let first = replay
            .evaluate_on(expression, &seen)
            .unwrap_or_else(|e| panic!("{e}"));
        report(
            "first evaluate with a list local of 10,000 (compiles), 10,000 rows",
            started.elapsed(),
            500,
        );
        let started = Instant::now();
        let again = replay
            .evaluate_on(expression, &seen)
            .unwrap_or_else(|e| panic!("{e}"));
        report(
            "evaluate again with a list local of 10,000, 10,000 rows",
            started.elapsed(),
            200,
        );
        assert_eq!(first, again);
        assert_eq!(first.ty, "int");
        let total = replay.document()["total"].as_i64().unwrap_or(0);
        assert_eq!(first.value, json!(10_000 + total));
    });
}
