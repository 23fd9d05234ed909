//! `adama run`: run a document through a script of commands, printing one JSON line per command
//! (its record and every view's delta) and then the whole stored document. The output format is
//! a contract for tools (docs/cli.md).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Outcome;
use super::program::{load, on_big_stack};

/// Arguments of `adama run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The output format (JSON lines).
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// The Adama file to run.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// A file of commands, one JSON object per line.
    #[arg(long, value_name = "SCRIPT")]
    script: PathBuf,
    /// The space and key of the document, as `space/key`.
    #[arg(long, default_value = "space/key")]
    document: String,
    /// Also write the record of every committed transaction to this file, one JSON line each:
    /// a log for `adama replay`, `adama log show` and `adama dap`.
    #[arg(long, value_name = "LOG")]
    record: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
}

/// Runs the command.
pub fn run(args: &RunArgs) -> Outcome {
    let program = match load(&args.file) {
        Ok(program) => program,
        Err(outcome) => return outcome,
    };
    let script = match std::fs::File::open(&args.script) {
        Ok(file) => file,
        Err(error) => {
            eprintln!(
                "error: {}",
                crate::input::describe_io_error(&args.script.display().to_string(), &error)
            );
            return Outcome::Failure;
        }
    };
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(script).lines() {
        match line {
            Ok(line) => lines.push(line),
            Err(error) => {
                eprintln!("error: cannot read the script: {error}");
                return Outcome::Failure;
            }
        }
    }
    let (space, key) = args.document.split_once('/').unwrap_or(("space", "key"));
    let (space, key) = (space.to_owned(), key.to_owned());
    let output = on_big_stack(move || execute_script(program, &space, &key, &lines));
    if let Some(path) = &args.record {
        let mut text = adama_debugger::log::log_lines(&output.records).join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        if let Err(error) = std::fs::write(path, text) {
            eprintln!(
                "error: cannot write the log: {}",
                crate::input::describe_io_error(&path.display().to_string(), &error)
            );
            return Outcome::Failure;
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in &output.lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    output.outcome
}

struct ScriptOutput {
    lines: Vec<String>,
    records: Vec<adama_runtime::TransactionRecord>,
    outcome: Outcome,
}

fn execute_script(
    program: std::sync::Arc<adama_compiler::ir::Program>,
    space: &str,
    key: &str,
    lines: &[String],
) -> ScriptOutput {
    match adama_runtime::run_script_recorded(program, space, key, lines) {
        Ok((lines, records)) => ScriptOutput {
            lines,
            records,
            outcome: Outcome::Clean,
        },
        Err(line) => ScriptOutput {
            lines: vec![line],
            records: Vec::new(),
            outcome: Outcome::Errors,
        },
    }
}
