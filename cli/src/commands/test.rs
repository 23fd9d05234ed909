//! `adama test`: run each `test` block of a file on a fresh document and report the assertions.

use std::io::Write;
use std::path::PathBuf;

use adama_runtime::testing::run_tests;
use clap::{Args, ValueEnum};
use serde_json::json;

use super::Outcome;
use super::program::{load, on_big_stack};

/// Arguments of `adama test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// How to print the results.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// The Adama file whose tests run.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A line per test.
    Human,
    /// `{"tests":[{"name","passed","total","error"}]}` (a stable contract; see docs/cli.md).
    Json,
}

/// Runs the command.
pub fn run(args: &TestArgs) -> Outcome {
    let program = match load(&args.file) {
        Ok(program) => program,
        Err(outcome) => return outcome,
    };
    let results = on_big_stack(move || run_tests(&program));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = match args.format {
        Format::Json => {
            let tests: Vec<_> = results
                .iter()
                .map(|result| {
                    json!({"name": result.name, "passed": result.passed, "total": result.total,
                        "error": result.error, "aborted": result.aborted, "logs": result.logs})
                })
                .collect();
            writeln!(out, "{}", json!({ "tests": tests }))
        }
        Format::Human => {
            for result in &results {
                let status = if result.succeeded() { "ok" } else { "FAILED" };
                let _ = write!(
                    out,
                    "test {} ... {status} ({}/{} asserts)",
                    result.name, result.passed, result.total
                );
                if result.aborted {
                    let _ = write!(out, ", aborted");
                }
                if let Some(error) = &result.error {
                    let _ = write!(out, ", error: {error}");
                }
                let _ = writeln!(out);
                for log in &result.logs {
                    let _ = writeln!(out, "  log: {log}");
                }
            }
            let failed = results.iter().filter(|result| !result.succeeded()).count();
            writeln!(
                out,
                "{} tests, {} passed, {failed} failed",
                results.len(),
                results.len() - failed
            )
        }
    };
    if results
        .iter()
        .all(adama_runtime::testing::TestResult::succeeded)
    {
        Outcome::Clean
    } else {
        Outcome::Errors
    }
}
