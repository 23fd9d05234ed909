//! The programs and rooms the documents bench and the profiling driver
//! (`examples/profile_room.rs`) run, so both measure the same thing.

use adama_runtime::{Document, Principal, compile};
use serde_json::json;

pub const COUNTER: &str = r#"
@connected { return true; }
public int count;
message Add { int by; }
channel add(Add a) { count += a.by; }
"#;

pub const CHAT: &str = r#"
@connected { return true; }
record Line { public int id; public principal who; public string what; }
table<Line> _lines;
public formula lines = iterate _lines;
message Say { string what; }
channel say(Say s) { _lines <- {who: @who, what: s.what}; }
"#;

pub fn constructed(source: &str) -> Document {
    let program = compile("bench.a", source).expect("compiles");
    let mut document = Document::new(program, "bench", "doc").expect("document");
    document
        .execute_batch(&json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0}))
        .expect("construct");
    document
}

pub fn connected(source: &str, viewers: usize) -> (Document, Vec<usize>) {
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
