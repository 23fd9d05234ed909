//! The forms the reference implementation accepts and our grammar once rejected (annotations
//! after any type, parenthesised query statements, query lambda bodies, single-statement bodies)
//! and the checks that once rejected valid code (bubble guards in records, functions mapped by
//! name) run as written: every `test` block of their corpus programs passes.

use std::path::Path;

use adama_runtime::{compile, run_tests};

/// The corpus programs of those rules, by file-name prefix.
const PREFIXES: &[&str] = &["a1_", "a2_", "a3_", "a4_", "c1_", "c3_"];

#[test]
fn reference_forms_run_and_their_tests_pass() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut programs = 0;
    let mut tests = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|error| panic!("{error}"))
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.ends_with("_success.a") && PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        })
        .collect();
    entries.sort();
    for name in entries {
        let text =
            std::fs::read_to_string(corpus.join(&name)).unwrap_or_else(|error| panic!("{error}"));
        let program = compile(&name, &text)
            .unwrap_or_else(|diagnostics| panic!("{name} does not compile: {diagnostics:?}"));
        programs += 1;
        // The interpreter recurses over nested code; give it the stack a host gives it.
        let results = std::thread::Builder::new()
            .stack_size(64 * 1024 * 1024)
            .spawn(move || run_tests(&program))
            .unwrap_or_else(|error| panic!("{error}"))
            .join()
            .unwrap_or_else(|_| panic!("{name}: the runtime panicked"));
        for result in results {
            tests += 1;
            if !result.succeeded() {
                failures.push(format!(
                    "{name}: test {} passed {}/{} ({:?})",
                    result.name, result.passed, result.total, result.error
                ));
            }
        }
    }
    assert!(programs >= 6, "found {programs} programs");
    assert!(tests >= 8, "found {tests} test blocks");
    assert!(failures.is_empty(), "{failures:#?}");
}
