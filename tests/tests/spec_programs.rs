//! The programs written after the rules the language specification cites by name
//! (`tests/corpus/spec_*_success.a`): every `test` block they hold passes, so the values the
//! specification describes for them are the values the runtime computes.

use std::path::Path;

use adama_runtime::{compile, run_tests};

fn test_blocks_pass(path: &Path) -> datatest_stable::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let program = compile("spec.a", &text).map_err(|diagnostics| {
        format!(
            "does not compile: {:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    })?;
    // The interpreter recurses over nested code; give it the stack a host gives it.
    let results = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || run_tests(&program))?
        .join()
        .map_err(|_| "the runtime panicked".to_owned())?;
    let failures: Vec<String> = results
        .iter()
        .filter(|result| !result.succeeded())
        .map(|result| {
            format!(
                "test {} passed {}/{} ({:?})",
                result.name, result.passed, result.total, result.error
            )
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n").into())
    }
}

datatest_stable::harness! {
    { test = test_blocks_pass, root = "corpus", pattern = r"spec_[A-Za-z]+_[A-Za-z]+_success\.a$" },
}
