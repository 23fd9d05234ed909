//! Runtime scenarios as data: each folder of `tests/scenarios/` holds a program (`program.a`), a
//! script of commands (`script.jsonl`, one JSON object per line, as `adama run` takes) and the
//! recorded output (`expected.jsonl`, what `adama run` prints). The test replays the script
//! through a fresh document and compares the output byte for byte.
//!
//! A new scenario is a new folder; `ADAMA_RECORD=1 cargo test -p adama-runtime --test scenarios`
//! writes (or rewrites) the `expected.jsonl` of every scenario, to be read and committed.

// Tests read their fixtures and the recording switch; the runtime itself does no IO.
#![allow(clippy::disallowed_methods)]

use std::path::Path;

use adama_runtime::{compile, run_script};

fn scenario(script: &Path) -> datatest_stable::Result<()> {
    let folder = script.parent().ok_or("a script outside a folder")?;
    let source = std::fs::read_to_string(folder.join("program.a"))?;
    let program = compile("program.a", &source).map_err(|diagnostics| {
        format!(
            "program.a does not compile: {:?}",
            diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
        )
    })?;
    let lines: Vec<String> = std::fs::read_to_string(script)?
        .lines()
        .map(str::to_owned)
        .collect();
    // The interpreter recurses over nested code; give it the stack a host gives it.
    let worker = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || run_script(program, "space", "key", &lines))?;
    let output = worker
        .join()
        .map_err(|_| "the runtime panicked")?
        .map_err(|line| format!("no document: {line}"))?;
    let mut actual = output.join("\n");
    actual.push('\n');
    let expected_path = folder.join("expected.jsonl");
    if std::env::var_os("ADAMA_RECORD").is_some() {
        std::fs::write(&expected_path, &actual)?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path).map_err(|error| {
        format!(
            "{}: {error} (record it with ADAMA_RECORD=1)",
            expected_path.display()
        )
    })?;
    if actual != expected {
        let line = actual
            .lines()
            .zip(expected.lines())
            .position(|(actual, expected)| actual != expected)
            .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
        return Err(format!(
            "the output differs from {} at line {}:\n  expected: {}\n  actual:   {}\n(re-record with ADAMA_RECORD=1 if the change is intended)",
            expected_path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>"),
        )
        .into());
    }
    Ok(())
}

datatest_stable::harness! {
    { test = scenario, root = "tests/scenarios", pattern = r"script\.jsonl$" },
}
