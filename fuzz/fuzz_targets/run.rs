//! Runs arbitrary command lines against the example documents, with two views open: the runtime
//! must never panic, whatever the commands say.
#![no_main]

use std::sync::{Arc, OnceLock};

use adama_compiler::ir::Program;
use adama_runtime::Document;
use adama_runtime::program::compile;
use adama_runtime::value::Principal;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

const SOURCES: [&str; 4] = [
    include_str!("../../examples/chat/chat.a"),
    include_str!("../../examples/counter/counter.a"),
    include_str!("../../examples/tictactoe/tictactoe.a"),
    include_str!("../../examples/cards/cards.a"),
];

fn programs() -> &'static Vec<Arc<Program>> {
    static PROGRAMS: OnceLock<Vec<Arc<Program>>> = OnceLock::new();
    PROGRAMS.get_or_init(|| {
        SOURCES
            .iter()
            .map(|source| compile("example.a", source).unwrap_or_else(|_| panic!("an example does not compile")))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let program = &programs()[choice as usize % SOURCES.len()];
    let Ok(mut document) = Document::new(Arc::clone(program), "fuzz", "doc") else {
        return;
    };
    document.limits.budget = 100_000;
    let _ = document.execute_batch(&json!({"command": "construct", "who": {"agent": "?", "authority": "?"}, "arg": {}, "timestamp": 0}));
    let views = [
        document.open_view(Principal::new("ann", "acme"), json!({})),
        document.open_view(Principal::no_one(), json!({})),
    ];
    let text = String::from_utf8_lossy(rest);
    for line in text.lines().take(64) {
        let Ok(command) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let _ = document.execute_batch(&command);
        for view in views {
            let _ = document.view_delta(view);
        }
    }
    let dump = document.dump();
    let mut rebuilt = Document::new(Arc::clone(program), "fuzz", "doc").expect("a fresh document");
    rebuilt.insert(&dump);
    assert_eq!(rebuilt.dump(), dump, "the stored document rebuilds the document");
});
