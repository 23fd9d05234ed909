//! Every valid program of the corpus (and every example) run as a document through the script of
//! the reference's test harness: construct, invalidate, a view and a connect for `@no_one` and
//! for a second principal, then an invalidation. No command may fail except a refused
//! connection, every test block must run without a runtime error, and the stored document must
//! rebuild a document that dumps the same bytes.

use std::path::Path;
use std::sync::Arc;

use adama_runtime::Document;
use adama_runtime::Principal;
use adama_runtime::compile;
use adama_runtime::run_tests;
use serde_json::json;

/// The refusal of a connection by `@connected` (or its absence).
const CONNECTION_REJECTED: i32 = 184_333;

fn harness(path: &Path) -> datatest_stable::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let program = compile("corpus.a", &text).map_err(|diagnostics| {
        format!(
            "does not compile: {:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    })?;
    // The interpreter recurses over nested code; give it the stack a host gives it.
    let worker = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || run(&program))?;
    worker
        .join()
        .map_err(|_| "the runtime panicked".to_owned())??;
    Ok(())
}

fn run(program: &Arc<adama_compiler::ir::Program>) -> Result<(), String> {
    let mut document =
        Document::new(Arc::clone(program), "0", "0").map_err(|fault| fault.to_string())?;
    let no_one = json!({"agent": "?", "authority": "?"});
    let rando = json!({"agent": "rando", "authority": "random-place"});
    let steps = [
        json!({"command": "construct", "who": no_one, "arg": {}, "entropy": 0, "timestamp": 0}),
        json!({"command": "invalidate", "timestamp": 25}),
        json!({"command": "connect", "who": no_one, "timestamp": 50}),
        json!({"command": "connect", "who": rando, "timestamp": 75}),
        json!({"command": "invalidate", "timestamp": 100}),
    ];
    let mut views = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        if index == 2 {
            views.push(document.open_view(Principal::no_one(), json!({})));
        }
        if index == 3 {
            views.push(document.open_view(Principal::new("rando", "random-place"), json!({})));
        }
        match document.execute_batch(step) {
            Ok(_) => {}
            Err(error) if error.code == CONNECTION_REJECTED => {}
            // An `await` where code cannot wait (`@construct`, `@connected`) fails its request.
            Err(error) if error.message.contains("where it cannot wait") => {}
            Err(error) => {
                return Err(format!(
                    "step {index} failed: {} ({})",
                    error.message, error.code
                ));
            }
        }
        for view in &views {
            document
                .view_delta(*view)
                .map_err(|fault| format!("view failed: {fault}"))?;
        }
    }
    let dump = document.dump();
    let mut rebuilt =
        Document::new(Arc::clone(program), "0", "0").map_err(|fault| fault.to_string())?;
    rebuilt.insert(&dump);
    if rebuilt.dump() != dump {
        return Err(format!(
            "the stored document does not rebuild it:\n{dump}\n{}",
            rebuilt.dump()
        ));
    }
    for result in run_tests(program) {
        if let Some(error) = result.error {
            return Err(format!("test {} failed to run: {error}", result.name));
        }
    }
    Ok(())
}

datatest_stable::harness! {
    { test = harness, root = "corpus", pattern = r"_success\.a$" },
    { test = harness, root = "../examples", pattern = r"\.a$" },
}
