//! The programs written after the rules the language specification cites by name
//! (`tests/corpus/spec_*_success.a`): every `test` block they hold passes, so the values the
//! specification describes for them are the values the runtime computes.
//!
//! The programs of `tests/test_reports/` are valid programs whose test blocks are meant to fail
//! as the specification describes: each states the score of every test block in its first
//! lines, one `// expect test: NAME PASSED/TOTAL` line per block, and scores exactly that.

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

/// The `// expect test: NAME PASSED/TOTAL` lines at the head of a program.
fn expected_scores(text: &str) -> Vec<String> {
    text.lines()
        .map_while(|line| line.trim().strip_prefix("// expect test:"))
        .map(|score| score.trim().to_owned())
        .collect()
}

fn test_blocks_score(path: &Path) -> datatest_stable::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let expected = expected_scores(&text);
    if expected.is_empty() {
        return Err("the first line must be `// expect test: NAME PASSED/TOTAL`".into());
    }
    let program = compile("spec.a", &text).map_err(|diagnostics| {
        format!(
            "does not compile: {:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    })?;
    let results = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || run_tests(&program))?
        .join()
        .map_err(|_| "the runtime panicked".to_owned())?;
    if let Some(result) = results.iter().find(|result| result.error.is_some()) {
        return Err(format!("test {} failed to run: {:?}", result.name, result.error).into());
    }
    let scores: Vec<String> = results
        .iter()
        .map(|result| format!("{} {}/{}", result.name, result.passed, result.total))
        .collect();
    if scores == expected {
        Ok(())
    } else {
        Err(format!("expected scores {expected:?}, got {scores:?}").into())
    }
}

datatest_stable::harness! {
    { test = test_blocks_pass, root = "corpus", pattern = r"spec_[A-Za-z]+_[A-Za-z]+_success\.a$" },
    { test = test_blocks_score, root = "test_reports", pattern = r"\.a$" },
}
