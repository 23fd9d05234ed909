//! Runs many counter transactions, for a profiler.
use adama_runtime::Document;
use adama_runtime::compile;
use serde_json::json;

fn main() {
    let program = compile("counter.a", "@connected { return true; }\npublic int count;\nmessage Add { int by; }\nchannel add(Add a) { count += a.by; }\n").expect("compiles");
    let mut document = Document::new(program, "b", "d").expect("doc");
    document.execute_batch(&json!({"command":"construct","who":{"agent":"?","authority":"?"},"arg":{},"timestamp":0})).expect("c");
    document
        .execute_batch(
            &json!({"command":"connect","who":{"agent":"u","authority":"b"},"timestamp":1}),
        )
        .expect("c");
    let command = std::sync::Arc::new(
        json!({"command":"send","who":{"agent":"u","authority":"b"},"channel":"add","message":{"by":1},"timestamp":5}),
    );
    for _ in 0..2_000_000 {
        document
            .execute_shared(std::sync::Arc::clone(&command))
            .expect("send");
    }
    println!("{}", document.dump()["count"]);
}
