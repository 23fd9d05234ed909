//! `adama test`: run each `test` block of a file on a fresh document and report the assertions.
//!
//! `--test NAME` narrows the run to the named blocks; editors run one test that way from the
//! language server's "Run test" code lens.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adama_compiler::ir::Program;
use adama_runtime::run_tests;
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
    /// Run only the test with this name (repeat the option to run several).
    #[arg(long = "test", value_name = "NAME")]
    tests: Vec<String>,
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
    let mut program = match load(&args.file) {
        Ok(program) => program,
        Err(outcome) => return outcome,
    };
    if !args.tests.is_empty() {
        let unknown: Vec<&str> = args
            .tests
            .iter()
            .filter(|name| !program.tests.iter().any(|test| &test.name == *name))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            eprintln!("{}", unknown_tests_message(&args.file, &unknown, &program));
            return Outcome::Failure;
        }
        // `load` hands over the only reference, so the program can be narrowed in place; the
        // runtime then runs only what is left, in the file's order.
        let Some(program) = Arc::get_mut(&mut program) else {
            eprintln!("error: cannot select tests: the program is shared");
            return Outcome::Failure;
        };
        program.tests.retain(|test| args.tests.contains(&test.name));
    }
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
    if results.iter().all(adama_runtime::TestResult::succeeded) {
        Outcome::Clean
    } else {
        Outcome::Errors
    }
}

/// Names the tests that do not exist and the ones that do, so that a typo is easy to fix.
fn unknown_tests_message(file: &Path, unknown: &[&str], program: &Program) -> String {
    let quoted = |names: &mut dyn Iterator<Item = &str>| {
        names
            .map(|name| format!("'{name}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut message = format!(
        "error: no test named {} in {}",
        quoted(&mut unknown.iter().copied()),
        file.display()
    );
    if program.tests.is_empty() {
        message.push_str(" (it has no tests)");
    } else {
        message.push_str(&format!(
            " (its tests: {})",
            quoted(&mut program.tests.iter().map(|test| test.name.as_str()))
        ));
    }
    message
}
