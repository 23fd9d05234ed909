//! `adama check`: report the problems of Adama files, for people or for tools.

use std::io::Write;
use std::path::PathBuf;

use adama_compiler::{Database, Diagnostic, Severity, SourceFile, queries};
use clap::{Args, ValueEnum};

use super::Outcome;
use crate::input::{Input, describe_io_error, read_source};
use crate::report::{FileReport, human, json};

/// Arguments of `adama check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// How to print the diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// The Adama files to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Output formats of `adama check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// `file:line:col: error: message`, then the source line and a caret.
    Human,
    /// A JSON array of diagnostics on stdout (a stable contract; see docs/cli.md).
    Json,
}

/// Runs the command.
pub fn run(args: &CheckArgs) -> Outcome {
    let mut reports = Vec::new();
    let mut io_failed = false;
    for path in &args.files {
        let name = path.display().to_string();
        match read_source(path) {
            Ok(Input::Text(text)) => {
                let diagnostics = check_text(&name, &text);
                reports.push(FileReport::from_text(name, text, diagnostics));
            }
            Ok(Input::NotText(error)) => reports.push(FileReport::not_text(name, &error)),
            Err(error) => {
                eprintln!("error: {}", describe_io_error(&name, &error));
                io_failed = true;
            }
        }
    }

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = match args.format {
        Format::Human => human::write(&mut out, &reports),
        Format::Json => json::write(&mut out, &reports),
    };
    // A closed stdout (for example `| head`) is not worth a panic; the exit code still tells.
    let _ = written.and_then(|()| out.flush());

    let has_errors = reports
        .iter()
        .flat_map(|report| &report.entries)
        .any(|entry| entry.severity == Severity::Error);
    if io_failed {
        Outcome::Failure
    } else if has_errors {
        Outcome::Errors
    } else {
        Outcome::Clean
    }
}

/// The stack the compiler runs on: checking recurses over nested code, bounded by the lowering's
/// nesting limit, and this leaves a wide margin for it.
const COMPILER_STACK_BYTES: usize = 256 * 1024 * 1024;

/// Checks one file's text on a thread with a large stack.
fn check_text(name: &str, text: &str) -> Vec<Diagnostic> {
    let path = name.to_owned();
    let text = text.to_owned();
    let worker = std::thread::Builder::new()
        .stack_size(COMPILER_STACK_BYTES)
        .spawn(move || {
            let db = Database::default();
            let file = SourceFile::new(&db, path, text);
            let diagnostics = queries::diagnostics(&db, file).clone();
            // Freeing every tree, item and memo one by one costs about a sixth of a cold check,
            // and the process ends soon after: the operating system takes the memory back.
            std::mem::forget(db);
            diagnostics
        });
    match worker.map(std::thread::JoinHandle::join) {
        Ok(Ok(diagnostics)) => diagnostics,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(error) => panic!("cannot start the compiler thread: {error}"),
    }
}
