//! Runs a chat room (or the counter) for a profiler or for `perf stat`: `profile_room VIEWERS
//! ROWS MESSAGES [counter]` fills the room with ROWS messages, lets every view catch up, then
//! sends MESSAGES more, each followed by every view's delta as text. The CPU time of a run with
//! MESSAGES minus that of the same run with none is what the messages cost.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::sync::Arc;

use serde_json::json;

#[path = "../benches/support/rooms.rs"]
mod rooms;

use rooms::{CHAT, COUNTER, connected};

fn number(arguments: &[String], index: usize, name: &str) -> usize {
    arguments
        .get(index)
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            eprintln!("usage: profile_room VIEWERS ROWS MESSAGES [counter] ({name} is missing)");
            std::process::exit(2)
        })
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    let viewers = number(&arguments, 1, "VIEWERS");
    let rows = number(&arguments, 2, "ROWS");
    let messages = number(&arguments, 3, "MESSAGES");
    let counter = arguments.get(4).is_some_and(|word| word == "counter");
    let (mut document, views) = connected(if counter { COUNTER } else { CHAT }, viewers);
    let command = Arc::new(if counter {
        json!({"command": "send", "who": {"agent": "user0", "authority": "bench"}, "channel": "add", "message": {"by": 1}, "timestamp": 5})
    } else {
        json!({"command": "send", "who": {"agent": "user0", "authority": "bench"}, "channel": "say", "message": {"what": "hello there"}, "timestamp": 5})
    });
    for _ in 0..rows {
        document.execute_shared(Arc::clone(&command)).expect("fill");
    }
    for view in &views {
        document.view_delta_text(*view).expect("sync");
    }
    let start = std::time::Instant::now();
    for _ in 0..messages {
        black_box(document.execute_shared(Arc::clone(&command)).expect("send"));
        for view in &views {
            black_box(document.view_delta_text(*view).expect("delta"));
        }
    }
    if messages > 0 {
        eprintln!(
            "{:.2} µs a message (wall clock)",
            start.elapsed().as_secs_f64() * 1e6 / messages as f64
        );
    }
}
