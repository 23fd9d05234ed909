//! Times a chat room with 100 viewers, to see where a message's cost goes.
#![allow(clippy::disallowed_methods)]

use adama_runtime::Document;
use adama_runtime::Principal;
use adama_runtime::compile;
use serde_json::json;

fn main() {
    let program = compile(
        "chat.a",
        r#"
@connected { return true; }
record Line { public int id; public principal who; public string what; }
table<Line> _lines;
public formula lines = iterate _lines;
message Say { string what; }
channel say(Say s) { _lines <- {who: @who, what: s.what}; }
"#,
    )
    .expect("compiles");
    let mut document = Document::new(program, "b", "d").expect("doc");
    document.execute_batch(&json!({"command":"construct","who":{"agent":"?","authority":"?"},"arg":{},"timestamp":0})).expect("c");
    let mut views = Vec::new();
    for i in 0..100 {
        let agent = format!("u{i}");
        document
            .execute_batch(
                &json!({"command":"connect","who":{"agent":agent,"authority":"b"},"timestamp":1}),
            )
            .expect("c");
        let v = document.open_view(Principal::new(&agent, "b"), json!({}));
        document.view_delta(v).expect("v");
        views.push(v);
    }
    let command = json!({"command":"send","who":{"agent":"u0","authority":"b"},"channel":"say","message":{"what":"hello"},"timestamp":5});
    let prefill: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    for _ in 0..prefill {
        document.execute(&command).expect("fill");
    }
    for v in &views {
        document.view_delta_text(*v).expect("sync");
    }
    for round in 0..5 {
        let mut spent = [std::time::Duration::ZERO; 3];
        for _ in 0..200 {
            let start = std::time::Instant::now();
            document.execute(&command).expect("s");
            spent[0] += start.elapsed();
            let start = std::time::Instant::now();
            document.view_delta_text(views[0]).expect("d");
            spent[1] += start.elapsed();
            let start = std::time::Instant::now();
            for v in &views[1..] {
                document.view_delta_text(*v).expect("d");
            }
            spent[2] += start.elapsed();
        }
        println!(
            "round {round}: 200 messages: transactions {:?}, first view {:?}, other views {:?}",
            spent[0], spent[1], spent[2]
        );
    }
}
